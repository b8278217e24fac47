"""Cue lexicons stored as TOML data files (with provenance), compiled for matching.

A lexicon file has a ``[meta]`` table and ``[[cue]]`` entries with at least ``id``, ``pattern`` and
``weight``; any other keys (``device``, ``institution``, ``kind``, ``source``...) are kept as attributes.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secframing.text.match import compile_cue, literal_anchors, match_view


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Cue:
    id: str
    pattern: str
    weight: float
    attrs: dict[str, Any] = field(default_factory=dict, compare=False)
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    anchors: tuple[str, ...] | None = field(default=None, compare=False, repr=False)
    """Every match contains one of these (see :func:`~secframing.text.match.literal_anchors`)."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)


@dataclass(frozen=True)
class Hit:
    """A cue that fired, with offsets into the original text."""

    cue: Cue
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"cue": self.cue.id, "weight": self.cue.weight, "start": self.start, "end": self.end,
                "match": self.text, **{k: v for k, v in self.cue.attrs.items() if k in ("device", "institution", "kind")}}


@dataclass(frozen=True)
class Lexicon:
    name: str
    path: str
    sha256: str
    meta: dict[str, Any]
    cues: tuple[Cue, ...]
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict, compare=False)

    def find(self, text: str, view: tuple[str, list[int]] | None = None) -> list[Hit]:
        """Every cue occurrence in ``text`` (overlaps between different cues allowed), in text order."""
        norm, index = view or match_view(text)
        hits = []
        for cue in self.cues:
            assert cue.regex is not None
            if cue.anchors is not None and not any(a in norm for a in cue.anchors):
                continue
            for m in cue.regex.finditer(norm):
                if m.end() == m.start():
                    continue
                a, b = index[m.start()], index[m.end() - 1] + 1
                hits.append(Hit(cue, a, b, text[a:b]))
        hits.sort(key=lambda h: (h.start, -h.end))
        return hits


@functools.lru_cache(maxsize=16)
def load_lexicon(path: str | Path) -> Lexicon:
    """Load and compile a lexicon TOML file; errors name the file and the cue."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LexiconError(f"{path}: invalid TOML: {exc}") from None
    meta = data.get("meta", {})
    cues, seen = [], set()
    for i, entry in enumerate(data.get("cue", []), 1):
        missing = [k for k in ("id", "pattern", "weight") if k not in entry]
        if missing:
            raise LexiconError(f"{path}: cue #{i} lacks {', '.join(missing)}")
        if entry["id"] in seen:
            raise LexiconError(f"{path}: duplicate cue id {entry['id']!r}")
        seen.add(entry["id"])
        try:
            regex = compile_cue(entry["pattern"], entry.get("proclitics", True))
        except re.error as exc:
            raise LexiconError(f"{path}: cue {entry['id']!r}: bad pattern {entry['pattern']!r}: {exc}") from None
        attrs = {k: v for k, v in entry.items() if k not in ("id", "pattern", "weight")}
        cues.append(Cue(entry["id"], entry["pattern"], float(entry["weight"]), attrs, regex, literal_anchors(regex)))
    sections = {k: v for k, v in data.items() if k not in ("meta", "cue") and isinstance(v, list)}
    return Lexicon(meta.get("name", path.stem), str(path), hashlib.sha256(raw).hexdigest(), meta, tuple(cues), sections)


def strongest_hits(hits: list[Hit]) -> list[Hit]:
    """Drop hits that overlap a stronger (larger |weight|, then longer) hit; text order is kept, so
    «الدرك الملكي» counts once, not also as «الدرك»."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (-abs(h.cue.weight), -(h.end - h.start), h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


@dataclass(frozen=True)
class FieldHit:
    """A cue hit in one field of a document and the weight it adds to the score."""

    field: str
    hit: Hit
    weight: float
    """The cue weight, times the title factor in the title; 0 when the hit is past the repeat cap."""
    counted: bool
    """False for a repeat past ``max_repeats``: listed as evidence by some callers, never scored."""


@dataclass(frozen=True)
class CueScorer:
    """The weighted-cue engine of the relevance rule and the topic tagger: every hit of a lexicon in
    the fields of a document, title evidence weighted up, each cue id counted at most ``max_repeats``
    times over all fields (so long articles are not favoured)."""

    lexicon: Lexicon
    title_factor: float = 2.0
    max_repeats: int = 3
    strongest: bool = False
    """Within each field, drop hits overlapping a stronger one (:func:`strongest_hits`)."""

    def hits(self, fields: Iterable[tuple[str, str | None]]) -> list[FieldHit]:
        """Hits of ``(field name, text)`` pairs in the order given; a field named ``title`` gets the
        title factor, empty fields are skipped."""
        seen: Counter[str] = Counter()
        out: list[FieldHit] = []
        for name, text in fields:
            if not text:
                continue
            found = self.lexicon.find(text)
            for hit in strongest_hits(found) if self.strongest else found:
                seen[hit.cue.id] += 1
                counted = seen[hit.cue.id] <= self.max_repeats
                weight = hit.cue.weight * (self.title_factor if name == "title" else 1.0) if counted else 0.0
                out.append(FieldHit(name, hit, weight, counted))
        return out
