"""Cue matching on normalised text with offsets mapped back to the original.

Lexicon patterns are written in natural Arabic and normalised like the text, so «الشرطة القضائية»
also matches «الشّرطة القضائيّة» or «للشرطة القضائيه». Matches report offsets into the original string.
"""

from __future__ import annotations

import re
import unicodedata

from secframing.text.normalize import ALEF_VARIANTS, DIACRITICS, INVISIBLE, TATWEEL, normalize  # noqa: F401 (doctests)

_FOLD = {0x0649: "\u064a", 0x0629: "\u0647"}
_FOLD.update({ord(c): "\u0627" for c in "\u0622\u0623\u0625\u0671\u0672\u0673"})
_FOLD.update({ord(d): str(i % 10) for i, d in enumerate("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹")})


def _drop(c: str) -> bool:
    return c == TATWEEL or bool(DIACRITICS.match(c)) or bool(INVISIBLE.match(c))


_CACHE: dict[str, str] = {}


def _map_char(ch: str) -> str:
    """What one original character becomes in the match view ('' when dropped, ' ' for any space)."""
    if ch.isspace():
        return " "
    if _drop(ch):
        return ""
    if ch.isascii():
        return ch
    return "".join(_FOLD.get(ord(c), c) for c in unicodedata.normalize("NFKC", ch) if not _drop(c))


def match_view(text: str) -> tuple[str, list[int]]:
    """Normalised text for matching plus, for each of its characters, the original index.

    Equivalent to :func:`~secframing.text.normalize.normalize` except that line breaks become spaces
    and runs of spaces collapse to one (no trimming), so offsets stay easy to map.

    >>> view, idx = match_view("الأَمْـنُ  الوطني")
    >>> view, idx[:3], idx[-1]
    ('الامن الوطني', [0, 1, 2], 16)
    """
    out: list[str] = []
    index: list[int] = []
    cache = _CACHE
    prev_space = False
    for i, ch in enumerate(text):
        rep = cache.get(ch)
        if rep is None:
            rep = cache[ch] = _map_char(ch)
        if rep == " ":
            if prev_space:
                continue
            prev_space = True
        elif not rep:
            continue
        else:
            prev_space = False
        out.append(rep)
        index.extend([i] * len(rep))
    return "".join(out), index


def compile_cue(pattern: str, proclitics: bool = True) -> re.Pattern[str]:
    """Compile a lexicon pattern: normalised like text, with a word boundary on the left and an
    optional proclitic (و ف ب ل ك and their combinations, ``لل`` for ``ل+ال``).

    >>> bool(compile_cue("الأمن الوطني").search(normalize("وللأمن الوطني دور")))
    True
    >>> bool(compile_cue("الأمن الوطني").search(normalize("اللاأمن الوطني")))
    False
    """
    # normalise letters only: regex syntax is ASCII and survives normalisation unchanged
    body = ALEF_VARIANTS.sub("\u0627", DIACRITICS.sub("", pattern.replace(TATWEEL, "")))
    body = body.translate(_FOLD)
    if not proclitics:
        return re.compile(rf"(?<!\w){body}")
    if body.startswith("ال"):
        return re.compile(rf"(?<!\w)(?:[وف]?[بك]?ال|[وف]?لل){body[2:]}")
    return re.compile(rf"(?<!\w)(?:[وف]?[بلك]?){body}")
