"""Topics of an article (drug seizures, terrorism, cooperation, leadership...) from ``data/lexicons/topics.toml``.

A transparent rule like the relevance rule: weighted cues, title evidence counted more, repeats capped.
An article can have several topics (topic comparisons count it under each); its primary topic (the
highest score) is the single value the regression uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from secframing.io.schema import Article
from secframing.lexicon import Lexicon, load_lexicon
from secframing.paths import LEXICON_DIR

GENERAL = "general"
"""Primary topic of an article that reaches no topic's threshold."""


@dataclass(frozen=True)
class TopicsConfig:
    lexicon: str = str(LEXICON_DIR / "topics.toml")
    min_score: float = 2.0
    """An article carries a topic when that topic's cues add up to at least this."""
    title_factor: float = 2.0
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

    def tag(self, article: Article) -> TopicResult:
        """Topics of one article with the cue evidence (field, cue, offsets, match)."""
        cfg = self.config
        seen: Counter[str] = Counter()
        scores: Counter[str] = Counter()
        evidence = []
        for fld, text in (("title", article.title), ("text", article.text)):
            if not text:
                continue
            for hit in self.lexicon.find(text):
                seen[hit.cue.id] += 1
                if seen[hit.cue.id] > cfg.max_repeats:
                    continue
                scores[hit.cue.get("topic")] += hit.cue.weight * (cfg.title_factor if fld == "title" else 1.0)
                evidence.append({"field": fld, "cue": hit.cue.id, "topic": hit.cue.get("topic"),
                                 "start": hit.start, "end": hit.end, "match": hit.text})
        ranked = sorted((t for t in scores if scores[t] >= cfg.min_score),
                        key=lambda t: (-scores[t], self.order.index(t)))
        return TopicResult(tuple(ranked), ranked[0] if ranked else GENERAL,
                           {t: round(v, 3) for t, v in scores.items()}, tuple(evidence))

    def label(self, key: str) -> dict[str, str]:
        """Arabic and English display names of a topic key (``general`` included)."""
        if key == GENERAL:
            return {"ar": "عام", "en": "general (no topic)"}
        return self.names.get(key, {"ar": key, "en": key})
