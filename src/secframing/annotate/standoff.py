"""Stand-off sentence annotations: one record per sentence and annotator, no third-party text.

A record names ``article_id``, ``field`` (``title``/``text``, default ``text``), ``start``/``end``
character offsets into that field, and the ``sha1`` of the sentence text; :func:`hydrate` loads the
text from ``../shared`` and fails loudly when a hash differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secframing.io.schema import Article
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS

REQUIRED = ("article_id", "start", "end", "sha1", "framing", "devices", "sentiment", "annotator", "guideline", "created")


class AnnotationError(ValueError):
    """A malformed annotation record; the message names file, line and field."""


class HashMismatch(AnnotationError):
    """The shared text no longer matches what was annotated."""


@dataclass(frozen=True)
class Annotation:
    article_id: str
    start: int
    end: int
    sha1: str
    framing: str
    devices: tuple[str, ...]
    sentiment: str
    annotator: str
    guideline: str
    created: str
    field: str = "text"
    source: str = ""
    line: int = 0
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)


def sha1_text(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _check(rec: dict[str, Any], where: str) -> None:
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise AnnotationError(f"{where}: missing field(s) {', '.join(missing)}")
    if rec["framing"] not in FRAMING_LABELS:
        raise AnnotationError(f"{where}: field 'framing' is {rec['framing']!r}, expected one of {list(FRAMING_LABELS)}")
    if rec["sentiment"] not in SENTIMENT_LABELS:
        raise AnnotationError(f"{where}: field 'sentiment' is {rec['sentiment']!r}, expected one of {list(SENTIMENT_LABELS)}")
    bad = [d for d in rec["devices"] if d not in DEVICES]
    if bad:
        raise AnnotationError(f"{where}: field 'devices' has unknown {bad}; valid: {list(DEVICES)}")
    if rec["devices"] and rec["framing"] != "promotional":
        raise AnnotationError(f"{where}: field 'devices' must be empty unless framing is promotional")
    if not (isinstance(rec["start"], int) and isinstance(rec["end"], int) and 0 <= rec["start"] < rec["end"]):
        raise AnnotationError(f"{where}: fields 'start'/'end' must be integers with 0 <= start < end")
    if rec.get("field", "text") not in ("title", "text"):
        raise AnnotationError(f"{where}: field 'field' must be 'title' or 'text'")


def load_annotations(path: str | Path) -> list[Annotation]:
    """Read and validate a stand-off JSONL file."""
    path = Path(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}: line {no}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AnnotationError(f"{where}: malformed JSON: {exc.msg}") from None
            _check(rec, where)
            known = set(REQUIRED) | {"field"}
            out.append(Annotation(**{k: rec[k] for k in REQUIRED if k != "devices"}, devices=tuple(rec["devices"]),
                                  field=rec.get("field", "text"), source=str(path), line=no,
                                  extra={k: v for k, v in rec.items() if k not in known}))
    return out


def hydrate(annotations: list[Annotation], articles: dict[str, Article]) -> list[tuple[Annotation, str]]:
    """Pair each annotation with its sentence text, checking article presence, offsets and sha1."""
    out = []
    for ann in annotations:
        where = f"{ann.source}: line {ann.line}"
        art = articles.get(ann.article_id)
        if art is None:
            raise HashMismatch(f"{where}: article {ann.article_id!r} not found in the shared data")
        text = (art.title if ann.field == "title" else art.text) or ""
        if ann.end > len(text):
            raise HashMismatch(f"{where}: offsets {ann.start}-{ann.end} beyond the {ann.field} of {ann.article_id} ({len(text)} chars)")
        sentence = text[ann.start:ann.end]
        if sha1_text(sentence) != ann.sha1:
            raise HashMismatch(f"{where}: sha1 of {ann.article_id}[{ann.start}:{ann.end}] differs from the annotation")
        out.append((ann, sentence))
    return out


def shared_articles() -> dict[str, Article]:
    """Corpus and seed articles from ``../shared`` by id (what annotations point at)."""
    from secframing.io.adapters import read_seed_articles, read_shared_corpus

    arts = {a.id: a for a in read_shared_corpus().articles}
    arts.update({a.id: a for a in read_seed_articles()})
    return arts
