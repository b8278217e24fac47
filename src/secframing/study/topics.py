"""Topics of an article (drug seizures, terrorism, cooperation, leadership...) from ``data/lexicons/topics.toml``.

A transparent rule like the relevance rule: weighted cues, title evidence counted more, repeats capped.
An article can have several topics (topic comparisons count it under each); its primary topic (the
highest score) is the single value the regression uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from secframing.config import FilePath
from secframing.io.schema import Article
from secframing.lexicon import CueScorer, Lexicon, load_lexicon
from secframing.paths import LEXICON_DIR

GENERAL = "general"
"""Primary topic of an article that reaches no topic's threshold."""


@dataclass(frozen=True)
class TopicsConfig:
    """Settings of the topic tagger (``[topics]`` in a study config)."""

    lexicon: FilePath = str(LEXICON_DIR / "topics.toml")
    """The topic cue lexicon (``[[topic]]`` names and ``[[cue]]`` entries with a ``topic``)."""
    min_score: float = 2.0
    """An article carries a topic when that topic's cues add up to at least this."""
    title_factor: float = 2.0
    """Evidence found in the headline counts this many times."""
    max_repeats: int = 3
    """A cue repeated more than this adds nothing more (long articles are not favoured)."""

    def __post_init__(self) -> None:
        if self.min_score <= 0 or self.title_factor < 0 or self.max_repeats < 1:
            raise ValueError("min_score must be > 0, title_factor >= 0 and max_repeats >= 1")


@dataclass(frozen=True)
class TopicResult:
    topics: tuple[str, ...]
    """Topics reaching the threshold, highest score first."""
    primary: str
    scores: dict[str, float] = field(default_factory=dict)
    evidence: tuple[dict[str, Any], ...] = field(default=(), repr=False)


class TopicTagger:
    """Scores articles against the topics lexicon."""

    def __init__(self, config: TopicsConfig | None = None, lexicon: Lexicon | None = None):
        self.config = config or TopicsConfig()
        self.lexicon = lexicon or load_lexicon(self.config.lexicon)
        self.names: dict[str, dict[str, str]] = {t["key"]: {"ar": t.get("ar", t["key"]), "en": t.get("en", t["key"])}
                                                 for t in self.lexicon.sections.get("topic", [])}
        unknown = sorted({c.get("topic") for c in self.lexicon.cues} - set(self.names))
        if unknown:
            raise ValueError(f"{self.lexicon.path}: cues name undeclared topic(s) {unknown}; add [[topic]] entries")
        self.order = list(self.names)
        # every hit counts, overlaps included: a topic is the sum of its cues, not one mention
        self.cues = CueScorer(self.lexicon, self.config.title_factor, self.config.max_repeats)

    def tag(self, article: Article) -> TopicResult:
        """Topics of one article with the evidence of the counted cues (field, cue, offsets, match)."""
        scores: Counter[str] = Counter()
        evidence = []
        for fh in self.cues.hits((("title", article.title), ("text", article.text))):
            if not fh.counted:
                continue
            hit = fh.hit
            scores[hit.cue.get("topic")] += fh.weight
            evidence.append({"field": fh.field, "cue": hit.cue.id, "topic": hit.cue.get("topic"),
                             "start": hit.start, "end": hit.end, "match": hit.text})
        ranked = sorted((t for t in scores if scores[t] >= self.config.min_score),
                        key=lambda t: (-scores[t], self.order.index(t)))
        return TopicResult(tuple(ranked), ranked[0] if ranked else GENERAL,
                           {t: round(v, 3) for t, v in scores.items()}, tuple(evidence))

    def label(self, key: str) -> dict[str, str]:
        """Arabic and English display names of a topic key (``general`` included)."""
        if key == GENERAL:
            return {"ar": "عام", "en": "general (no topic)"}
        return self.names.get(key, {"ar": key, "en": key})
