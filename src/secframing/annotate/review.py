"""The v1.3 re-review of gold labels (gold v2): which sentences are re-read, and how the two blind passes
and the adjudication become one override file.

Candidates (:func:`review_candidates`), each with the reasons it was drawn:

- ``low_confidence_promotional``: promotional labels the first annotator marked low confidence;
- ``accident_v11``: sentences about road accidents, fires or drownings labelled under v1.1, before the
  clarification that the facts of a case off the target are ``other`` (codebook rules 7-8);
- ``identical_text_conflict``: the same text with different labels in different articles;
- ``listed_cue_not_promotional``: factual or other sentences where a strong cue of the framing lexicon
  fires (a possibly missed listed phrase);
- ``voice``: every other promotional sentence, re-read so that each gets the v1.3 ``voice`` field.

Each candidate is labelled by two annotators who do not see the gold label or each other's; where they
agree their label stands, where they differ an adjudicator decides (:func:`merge_review`). The result is
``data/annotations/review_v1_3.jsonl``, the last entry of :data:`secframing.annotate.gold.OVERRIDES`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pandas as pd

from secframing.lexicon import load_lexicon
from secframing.paths import DATA_DIR
from secframing.text.match import match_view

REASONS = ("low_confidence_promotional", "accident_v11", "identical_text_conflict", "listed_cue_not_promotional",
           "voice")
LAYERS = ("framing", "devices", "sentiment", "voice")
STRONG_CUE = 1.5
"""Cue weight from which a hit in a non-promotional sentence is worth a second look."""

ACCIDENT_PATTERNS = (
    r"حادث(?:ة)? سير", r"حوادث (?:ال)?سير", r"حادث(?:ة)? (?:مروري|مرور)", r"انقلاب (?:سيار|حافل|شاحن)", r"اصطدام",
    r"دهس", r"حريق", r"حرائق", r"النيران", r"ألسنة اللهب", r"اندلاع", r"غرق", r"غريق", r"انتشال جث", r"مصرع", r"الوقاية المدنية", r"اختناق", r"صعق",
    r"لقي (?:\S+ )?حتف", r"إصاب(?:ة|ات) (?:خطيرة|بليغة|متفاوتة)",
)


def _accident_regex() -> re.Pattern[str]:
    return re.compile("|".join(match_view(p)[0] for p in ACCIDENT_PATTERNS))


def review_candidates(gold: pd.DataFrame, strong_cue: float = STRONG_CUE) -> pd.DataFrame:
    """The gold sentences to re-review, one row each, with ``reasons`` (a list of :data:`REASONS`).

    ``gold``: :func:`secframing.annotate.gold.gold_frame` with text, before the review is applied (labels
    made under v1.3 are not candidates). Seed op-eds are included (their promotional sentences need a
    voice too)."""
    df = gold[gold["guideline"] != "v1.3"].reset_index(drop=True)  # what was labelled before this review
    reasons: dict[int, list[str]] = {i: [] for i in df.index}
    promo = df["framing"] == "promotional"
    for i in df.index[promo & (df["confidence"] == "low")]:
        reasons[i].append("low_confidence_promotional")
    acc = _accident_regex()
    for i in df.index[df["guideline"].isin(["v1", "v1.1"])]:
        if acc.search(match_view(df.at[i, "text"])[0]):
            reasons[i].append("accident_v11")
    norm = df["text"].map(lambda t: " ".join(t.split()))
    for _, idx in df.groupby(norm).groups.items():
        if len(idx) > 1 and df.loc[idx, "framing"].nunique() > 1:
            for i in idx:
                reasons[i].append("identical_text_conflict")
    lex = load_lexicon(DATA_DIR / "lexicons" / "framing_cues.toml")
    for i in df.index[~promo]:
        if any(h.cue.weight >= strong_cue for h in lex.find(df.at[i, "text"])):
            reasons[i].append("listed_cue_not_promotional")
    for i in df.index[promo]:
        if not reasons[i]:
            reasons[i].append("voice")
    keep = [i for i in df.index if reasons[i]]
    out = df.loc[keep].copy()
    out["reasons"] = [reasons[i] for i in keep]
    return out


def merge_review(candidates: pd.DataFrame, first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]],
                 adjudication: dict[str, dict[str, Any]], annotators: tuple[str, str, str],
                 guideline: str, created: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One override record per candidate (keyed by ``unit``) and the counts for the datasheet.

    Framing, devices, sentiment and voice are taken together from the agreeing passes or from the
    adjudicator: the passes agree when framing and sentiment are equal (devices and voice are then the
    first pass's where the adjudicator did not decide). Every candidate must be in both passes, and every
    framing or sentiment disagreement must be adjudicated."""
    records, changed = [], Counter()
    agree = {"framing": 0, "sentiment": 0}
    for r in candidates.itertuples():
        a, b = first.get(r.unit), second.get(r.unit)
        if a is None or b is None:
            raise ValueError(f"unit {r.unit}: missing from the {'first' if a is None else 'second'} review pass")
        agree["framing"] += a["framing"] == b["framing"]
        agree["sentiment"] += a["sentiment"] == b["sentiment"]
        if r.unit in adjudication:
            final, by = adjudication[r.unit], annotators[2]
        elif a["framing"] == b["framing"] and a["sentiment"] == b["sentiment"]:
            final, by = a, f"{annotators[0]}+{annotators[1]}"
        else:
            raise ValueError(f"unit {r.unit}: the passes differ ({a['framing']}/{a['sentiment']} vs "
                             f"{b['framing']}/{b['sentiment']}) and there is no adjudication")
        voice = final.get("voice") if final["framing"] == "promotional" else None
        devices = list(final.get("devices") or []) if final["framing"] == "promotional" else []
        previous = {"framing": r.framing, "devices": list(r.devices), "sentiment": r.sentiment}
        now = {"framing": final["framing"], "devices": devices, "sentiment": final["sentiment"]}
        for layer in ("framing", "sentiment"):
            changed[layer] += previous[layer] != now[layer]
        changed["devices"] += sorted(previous["devices"]) != sorted(devices)
        changed["any"] += previous != now
        records.append({"unit": r.unit, "article_id": r.article_id, "field": r.field, "start": int(r.start),
                        "end": int(r.end), "sha1": r.sha1, "stratum": r.stratum, **now, "voice": voice,
                        "previous": previous, "changed": previous["framing"] != now["framing"],
                        "reasons": list(r.reasons), "rationale": final.get("note", ""), "annotator": by,
                        "guideline": guideline, "created": created})
    n = len(records)
    transitions = Counter(f"{x['previous']['framing']}->{x['framing']}" for x in records
                          if x["previous"]["framing"] != x["framing"])
    counts = {"units": n, "by_reason": dict(Counter(x for r in records for x in r["reasons"])),
              "raw_agreement": {k: round(v / max(1, n), 3) for k, v in agree.items()},
              "adjudicated": sum(1 for r in records if r["annotator"] == annotators[2]),
              "changed": dict(changed), "framing_transitions": dict(transitions)}
    return records, counts
