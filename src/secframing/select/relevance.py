"""Is an article coverage of the Moroccan security institutions? A transparent, evidence-keeping rule.

The rule (``docs/relevance.md``) is implemented as weighted cues from ``data/lexicons/institutions.toml``:
institution mentions carry the decision, typical actions (arrests, seizures, custody) support it, and
look-alikes (municipal administrative police, foreign police, "food security") count against it. Every
decision keeps the cues that fired with their offsets, so a researcher can see why an article was kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from secframing.io.schema import Article
from secframing.lexicon import Hit, Lexicon, load_lexicon, strongest_hits
from secframing.paths import LEXICON_DIR


@dataclass(frozen=True)
class RelevanceConfig:
    """Thresholds of the relevance rule (tuned on ``data/eval/relevance_gold_a.jsonl`` only)."""

    lexicon: str = str(LEXICON_DIR / "institutions.toml")
    threshold: float = 3.0
    """Minimum total evidence (institution + action + exclusion weights) for an article to be relevant."""
    min_institution: float = 2.0
    """Minimum evidence from institution mentions alone: actions never make an article relevant by themselves."""
    title_factor: float = 2.0
    """Evidence found in the headline counts this many times."""
    max_repeats: int = 3
    """A cue repeated more than this in one article adds nothing more (long articles are not favoured)."""

    def __post_init__(self) -> None:
        if self.title_factor < 0 or self.max_repeats < 1:
            raise ValueError("title_factor must be >= 0 and max_repeats >= 1")


@dataclass(frozen=True)
class Relevance:
    """The decision for one article and the evidence behind it."""

    article_id: str
    relevant: bool
    score: float
    institution_score: float
    institutions: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "relevant": self.relevant, "score": round(self.score, 3),
                "institution_score": round(self.institution_score, 3), "institutions": list(self.institutions),
                "evidence": list(self.evidence)}


class RelevanceScorer:
    """Scores articles with the institutions lexicon."""

    def __init__(self, config: RelevanceConfig | None = None, lexicon: Lexicon | None = None):
        self.config = config or RelevanceConfig()
        self.lexicon = lexicon or load_lexicon(self.config.lexicon)

    def hits(self, article: Article) -> list[tuple[str, Hit]]:
        """Cue hits in title and text; overlapping hits keep only the strongest (so «الدرك الملكي»
        is one mention, not also «الدرك»)."""
        out = [("title", h) for h in strongest_hits(self.lexicon.find(article.title))] if article.title else []
        out.extend(("text", h) for h in strongest_hits(self.lexicon.find(article.text)))
        return out

    def score(self, article: Article) -> Relevance:
        """Decide one article; the evidence lists every cue that fired with field and offsets."""
        cfg = self.config
        seen: Counter[str] = Counter()
        total = inst = 0.0
        institutions: Counter[str] = Counter()
        evidence = []
        for fld, hit in self.hits(article):
            evidence.append({"field": fld, **hit.to_dict()})
            seen[hit.cue.id] += 1
            if seen[hit.cue.id] > cfg.max_repeats:
                continue
            w = hit.cue.weight * (cfg.title_factor if fld == "title" else 1.0)
            total += w
            kind = hit.cue.get("kind")
            if kind == "institution":
                inst += w
                institutions[hit.cue.get("institution")] += 1
            elif kind == "exclude":
                inst += w
        relevant = inst >= cfg.min_institution and total >= cfg.threshold
        return Relevance(article.id, relevant, total, inst, tuple(k for k, _ in institutions.most_common()),
                         tuple(evidence))

