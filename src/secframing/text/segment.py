"""Sentence segmentation for Moroccan Arabic news, with character offsets into the original text.

The conventions are in ``docs/segmentation.md``. In short: sentences end at ``. ! ? ؟`` (also when the
next sentence is glued on without a space, as in the Hespress bodies), at line breaks and at the end of
the text; not at the Arabic comma or semicolon, not inside numbers, dates, times, URLs, initials, not at a
mid-line ellipsis, and not inside a quotation. Page furniture is split off.

>>> [s.text for s in segment("أوقفت الشرطة شخصين.وأضاف المصدر أن المبلغ بلغ 1.488,80 درهم؟ نعم")]
['أوقفت الشرطة شخصين.', 'وأضاف المصدر أن المبلغ بلغ 1.488,80 درهم؟', 'نعم']
>>> segment("  بلاغ.  ")
[Segment(start=2, end=7, text='بلاغ.')]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from itertools import pairwise
from typing import Any, NamedTuple

from secframing.paths import LEXICON_DIR


class Segment(NamedTuple):
    """A sentence: ``text == original[start:end]``."""

    start: int
    end: int
    text: str


TERMINATOR_RUN = re.compile(r"[.!?؟…]+")
CLOSERS = "»”’)]}\"'›"
OPEN_CLOSE = {"«": "»", "“": "”", "‹": "›"}
CONTINUATION = "،,؛;:)»”"
LATIN_ABBREVIATIONS = frozenset({"mr", "mrs", "dr", "st", "no", "vs", "etc", "jr", "sr", "m", "mm", "prof", "inc",
                                 "ltd", "co"})
ARABIC_ABBREVIATIONS = frozenset({"د", "ذ", "م", "ص", "ج", "ق", "ه", "ت", "ع", "س"})
BULLET = re.compile(r"(?<=\S)\s+(?=[•▪●◦■]\s)")
_LETTER = re.compile(r"[^\W\d_]+$")


@functools.lru_cache(maxsize=4)
def furniture_phrases(path: str | None = None) -> tuple[str, ...]:
    """Furniture phrases from ``data/lexicons/furniture.txt`` (comments and blank lines skipped)."""
    file = LEXICON_DIR / "furniture.txt" if path is None else path
    with open(file, encoding="utf-8") as fh:
        return tuple(line.strip() for line in fh if line.strip() and not line.startswith("#"))


@functools.lru_cache(maxsize=4)
def _furniture_regex(phrases: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    if not phrases:
        return None
    alts = "|".join(sorted((re.escape(p) for p in phrases), key=len, reverse=True))
    # Only a run of furniture phrases after a sentence end, at the end of a line, where pages append it;
    # elsewhere the same words may be content.
    tail = re.compile(rf"(?<=[.!?؟…»\"])\s*((?:{alts})(?:\s+(?:{alts}))*)\s*$")
    return tail, re.compile(alts)


def _quote_spans(line: str) -> list[tuple[int, int]]:
    """Matched quotation spans in a line; unmatched quote marks are ignored."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch in OPEN_CLOSE:
            j = line.find(OPEN_CLOSE[ch], i + 1)
            if j != -1:
                spans.append((i, j))
                i = j + 1
                continue
        elif ch == '"' and i + 1 < n and not line[i + 1].isspace():
            # a straight quote opens only before a non-space (it closes after one)
            j = line.find('"', i + 1)
            if j != -1 and line[j - 1].isspace() and j + 1 < n and not line[j + 1].isspace():
                i = j  # the next mark opens another quotation: this one was never closed
                continue
            if j != -1:
                spans.append((i, j))
                i = j + 1
                continue
        i += 1
    return spans


def _inside(pos: int, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    for a, b in spans:
        if a < pos < b:
            return a, b
    return None


def _token_before(line: str, pos: int) -> str:
    j = pos
    while j > 0 and not line[j - 1].isspace() and line[j - 1] not in ".،,؛;:()«»\"“”":
        j -= 1
    return line[j:pos]


def _is_boundary(line: str, start: int, end: int, quotes: list[tuple[int, int]]) -> int | None:
    """If the terminator run ``line[start:end]`` ends a sentence, the offset just after it (and any
    closing quotes/brackets); otherwise ``None``."""
    run = line[start:end]
    n = len(line)
    after = end
    while after < n and line[after] in CLOSERS:
        if (line[after] == '"' and not any(b == after for _, b in quotes) and after + 1 < n
                and not line[after + 1].isspace() and line[after + 1] not in CONTINUATION + "."):
            break  # a straight quote glued to the next word opens the next sentence
        after += 1
    rest = line[after:].lstrip()
    if not rest:
        return after
    strong = any(c in "!?؟" for c in run)
    if not strong and (run.count(".") >= 2 or "…" in run):
        return None  # mid-line ellipsis
    if rest[0] in CONTINUATION:
        return None
    quote = _inside(start, quotes)
    if quote is not None and quote[1] >= after:
        return None  # the sentence goes on inside the quotation
    if strong:
        return after
    prev = line[start - 1] if start > 0 else ""
    nxt = line[end] if end < n else ""
    if prev.isdigit() and nxt.isdigit():
        return None  # 1.488,80  25.06.2019  10.30
    if prev.isascii() and prev.isalnum() and nxt.isascii() and nxt.isalnum():
        return None  # hespress.com, e-mail, URLs
    token = _token_before(line, start)
    if _LETTER.match(token or "-"):
        low = token.lower()
        if len(token) == 1 or low in LATIN_ABBREVIATIONS or token in ARABIC_ABBREVIATIONS:
            return None  # initials and abbreviations: ع. الحموشي, M. Hammouchi, د.
    return after


def _split_line(line: str, offset: int,
                furniture: tuple[re.Pattern[str], re.Pattern[str]] | None) -> Iterable[tuple[int, int]]:
    cuts = [0]
    body = line
    if furniture is not None:
        tail, phrase = furniture
        m = tail.search(line)
        if m:
            body = line[: m.start(1)]
            cuts.extend(m.start(1) + x.start() for x in phrase.finditer(m.group(1)))
    quotes = _quote_spans(body)
    for m in TERMINATOR_RUN.finditer(body):
        cut = _is_boundary(body, m.start(), m.end(), quotes)
        if cut is not None:
            cuts.append(cut)
    cuts.extend(m.end() for m in BULLET.finditer(body))
    cuts = [*sorted({c for c in cuts if 0 <= c <= len(line)}), len(line)]
    for a, b in pairwise(cuts):
        piece = line[a:b]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            yield offset + a + lead, offset + a + lead + len(stripped)


def segment_article(article: Any) -> list[dict[str, Any]]:
    """Every sentence of an article's title and then text, as ``article_id, field, start, end, text``
    records (offsets into that field)."""
    return [{"article_id": article.id, "field": fld, "start": s.start, "end": s.end, "text": s.text}
            for fld, text in (("title", article.title), ("text", article.text)) for s in segment(text or "")]


def segment(text: str, furniture: bool = True) -> list[Segment]:
    """Split ``text`` into sentences; every ``Segment`` slices the original text exactly.

    >>> [s.text for s in segment("الشرطة تتصدر المشهد.. اقتناص الأهداف\\nع. الإدريسي\\nإرسال تعليق")]
    ['الشرطة تتصدر المشهد.. اقتناص الأهداف', 'ع. الإدريسي', 'إرسال تعليق']
    >>> [s.text for s in segment('قال: «انتهى التحقيق. وسنعلن النتائج» وأضاف أن الأبحاث جارية.')]
    ['قال: «انتهى التحقيق. وسنعلن النتائج» وأضاف أن الأبحاث جارية.']
    """
    pattern = _furniture_regex(furniture_phrases()) if furniture else None
    out: list[Segment] = []
    pos = 0
    for line in re.split(r"(\r\n|\r|\n|\u2028|\u2029)", text):
        if line and line not in ("\r\n", "\r", "\n", "\u2028", "\u2029"):
            for a, b in _split_line(line, pos, pattern):
                out.append(Segment(a, b, text[a:b]))
        pos += len(line)
    return out
