"""Who gets praised: institutions and officials named in a sentence, linked to its framing and sentiment.

Mentions come from ``data/lexicons/institutions.toml``: its institution cues (the relevance evidence,
overlaps resolved to the strongest cue, so «الشرطة القضائية» is the judicial police and not also
«الشرطة») keyed by their ``entity`` or ``institution``, plus its ``[[mention]]`` entries for named
officials. A sentence is linked to every entity it names; praise that refers back with a pronoun
(«هذه المؤسسة») is not attributed, so the table describes explicit mentions only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from secframing.config import FilePath
from secframing.labels import (
    DEVICES,
    FRAMING_LABELS,
    SENTIMENT_LABELS,
    SENTIMENT_POLARITIES,
)
from secframing.lexicon import Lexicon, load_lexicon, strongest_hits
from secframing.paths import LEXICON_DIR
from secframing.study.estimators import (
    FRAMING_SPEC,
    POLARITY_SPECS,
    BootstrapConfig,
    ErrorProfile,
    estimate,
    estimate_many,
)
from secframing.text.match import compile_cue, match_view


@dataclass(frozen=True)
class PraiseConfig:
    """Who gets praised (``[praise]`` in a study config)."""

    lexicon: FilePath = str(LEXICON_DIR / "institutions.toml")
    """Institution cues plus ``[[mention]]`` (named officials) and ``[[entity]]`` (display names)."""
    min_sentences: int = 3
    """Entities named in fewer sentences are left out of the table (and its figure)."""

    def __post_init__(self) -> None:
        if self.min_sentences < 1:
            raise ValueError("min_sentences must be at least 1")


class MentionFinder:
    """Finds the entities (institutions and officials) a sentence names."""

    def __init__(self, config: PraiseConfig | None = None, lexicon: Lexicon | None = None):
        self.config = config or PraiseConfig()
        self.lexicon = lexicon or load_lexicon(self.config.lexicon)
        self.names: dict[str, dict[str, str]] = {
            e["key"]: {"ar": e.get("ar", e["key"]), "en": e.get("en", e["key"]), "kind": e.get("kind", "institution")}
            for e in self.lexicon.sections.get("entity", [])}
        self._mentions: list[tuple[str, re.Pattern[str]]] = [
            (m["entity"], compile_cue(p)) for m in self.lexicon.sections.get("mention", []) for p in m["patterns"]]

    @property
    def path(self) -> Path:
        return Path(self.lexicon.path)

    def entities(self, text: str) -> list[str]:
        """Entity keys named in ``text``, each once, in order of first mention."""
        view = match_view(text)
        found: list[tuple[int, str]] = []
        for hit in strongest_hits(self.lexicon.find(text, view)):
            if hit.cue.get("kind") == "institution":
                found.append((hit.start, hit.cue.get("entity") or hit.cue.get("institution")))
        for key, regex in self._mentions:
            m = regex.search(view[0])
            if m:
                found.append((view[1][m.start()], key))
        out: list[str] = []
        for _, key in sorted(found):
            if key not in out:
                out.append(key)
        return out

    def label(self, key: str) -> dict[str, str]:
        return self.names.get(key, {"ar": key, "en": key, "kind": "institution"})


def praise_table(sentences: pd.DataFrame, finder: MentionFinder, profile: ErrorProfile | None,
                 boot: BootstrapConfig) -> pd.DataFrame:
    """One row per entity named in at least ``min_sentences`` sentences: how often, in how many
    articles, the promotional share of those sentences (raw, expected, adjusted, with CIs over
    articles), their sentiment shares (raw: the sentiment model's positive recall is too low for a
    per-entity correction to be informative), and the devices of the promotional ones.

    ``sentences`` needs ``article_id``, ``label``, ``entities``, ``devices``, ``p_<framing label>``
    and, when sentiment is available, ``sentiment`` and ``p_<sentiment label>``.
    """
    cols = ["entity", "name_ar", "name_en", "kind", "n_sentences", "n_articles", "n_content", "n_promotional",
            "promotional_share", "ci_low", "ci_high", "expected_share", "expected_ci_low", "expected_ci_high",
            "adjusted_share", "adjusted_ci_low", "adjusted_ci_high", "positive_share", "positive_ci_low",
            "positive_ci_high", "negative_share", "negative_ci_low", "negative_ci_high", "top_devices"]
    if not len(sentences) or "entities" not in sentences:
        return pd.DataFrame(columns=cols)
    has_sent = "sentiment" in sentences and sentences["sentiment"].notna().any()
    long = sentences.explode("entities").dropna(subset=["entities"])
    rows = []
    for key, g in long.groupby("entities", sort=False):
        if len(g) < finder.config.min_sentences:
            continue
        per_art = _article_counts(g, "label", FRAMING_LABELS)
        probs = g.groupby("article_id")[[f"p_{k}" for k in FRAMING_LABELS]].sum().to_numpy()
        est = estimate(per_art, probs, profile, FRAMING_SPEC, boot)
        name = finder.label(str(key))
        promo = g[g["label"] == "promotional"]
        devs = {d: int(promo["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES}
        row = {"entity": key, "name_ar": name["ar"], "name_en": name["en"], "kind": name["kind"],
               "n_sentences": len(g), "n_articles": g["article_id"].nunique(),
               "n_content": int(g["label"].isin(FRAMING_SPEC.denominator).sum()), "n_promotional": len(promo),
               "promotional_share": est["raw"], "ci_low": est["raw_lo"], "ci_high": est["raw_hi"],
               "expected_share": est["expected"], "expected_ci_low": est["expected_lo"],
               "expected_ci_high": est["expected_hi"], "adjusted_share": est["adjusted"],
               "adjusted_ci_low": est["adjusted_lo"], "adjusted_ci_high": est["adjusted_hi"],
               "top_devices": ", ".join(d for d, n in sorted(devs.items(), key=lambda x: -x[1]) if n)}
        if has_sent:
            sent_counts = _article_counts(g, "sentiment", SENTIMENT_LABELS)
            for pol, s in zip(SENTIMENT_POLARITIES, estimate_many(sent_counts, None, None, POLARITY_SPECS, boot)):
                row.update({f"{pol}_share": s["raw"], f"{pol}_ci_low": s["raw_lo"], f"{pol}_ci_high": s["raw_hi"]})
        else:
            for pol in SENTIMENT_POLARITIES:
                row.update({f"{pol}_share": np.nan, f"{pol}_ci_low": np.nan, f"{pol}_ci_high": np.nan})
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["promotional_share", "n_sentences"], ascending=False, ignore_index=True)


def _article_counts(sents: pd.DataFrame, column: str, labels: tuple[str, ...]) -> np.ndarray:
    """Per-article counts of each label (rows: articles, columns: ``labels``)."""
    table = pd.crosstab(sents["article_id"], sents[column])
    return table.reindex(columns=list(labels), fill_value=0).to_numpy()
