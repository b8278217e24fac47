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

from secframing.config import FilePath
from secframing.io.schema import Article
from secframing.lexicon import CueScorer, FieldHit, Lexicon, load_lexicon
from secframing.paths import LEXICON_DIR


@dataclass(frozen=True)
class RelevanceConfig:
    """Thresholds of the relevance rule (tuned on ``data/eval/relevance_gold_a.jsonl`` only)."""

    lexicon: FilePath = str(LEXICON_DIR / "institutions.toml")
    """The cue lexicon (institutions, actions, look-alikes)."""
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
        # overlapping hits keep only the strongest, so «الدرك الملكي» is one mention, not also «الدرك»
        self.cues = CueScorer(self.lexicon, self.config.title_factor, self.config.max_repeats, strongest=True)

    def hits(self, article: Article) -> list[FieldHit]:
        """Cue hits in title and text, repeats past the cap included (marked not counted)."""
        return self.cues.hits((("title", article.title), ("text", article.text)))

    def score(self, article: Article) -> Relevance:
        """Decide one article; the evidence lists every cue that fired with field and offsets, repeats
        past the cap included (they add nothing to the score)."""
        cfg = self.config
        total = inst = 0.0
        institutions: Counter[str] = Counter()
        evidence = []
        for fh in self.hits(article):
            evidence.append({"field": fh.field, **fh.hit.to_dict()})
            if not fh.counted:
                continue
            total += fh.weight
            kind = fh.hit.cue.get("kind")
            if kind == "institution":
                inst += fh.weight
                institutions[fh.hit.cue.get("institution")] += 1
            elif kind == "exclude":
                inst += fh.weight
        relevant = inst >= cfg.min_institution and total >= cfg.threshold
        return Relevance(article.id, relevant, total, inst, tuple(k for k, _ in institutions.most_common()),
                         tuple(evidence))
