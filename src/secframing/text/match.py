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


def literal_anchors(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Literals of which every match of ``regex`` contains at least one, or None when none is found.

    A cheap ``in`` test with them skips most regex scans (matching the cue lexicons was the slowest step
    of prediction). Read from the compiled pattern's parse tree; anything unexpected gives None, which
    only turns the shortcut off.

    >>> literal_anchors(compile_cue("(?:قل|منقطع) (?:ال)?نظير"))
    ('نظير',)
    >>> sorted(literal_anchors(compile_cue("(?:ال)?(?:رائد|ريادي|ريادة)")))
    ['رائد', 'رياده', 'ريادي']
    >>> literal_anchors(compile_cue("(?:DGSN|dgsn)"))
    ('DGSN', 'dgsn')
    >>> literal_anchors(compile_cue("(?:و|ف)")) is None
    True
    """
    try:
        from re import _parser  # the stdlib's own regex parser; private, hence the guard

        tree = _parser.parse(regex.pattern, regex.flags)
    except Exception:  # pragma: no cover - a future Python without it: no shortcut
        return None
    if regex.flags & re.IGNORECASE:
        return None
    literal, branch = _parser.LITERAL, _parser.BRANCH
    required: list[tuple[str, ...]] = []
    cur: list[str] = [""]

    def flush() -> None:
        nonlocal cur
        if all(cur):
            required.append(tuple(cur))
        cur = [""]

    for op, av in tree:
        if op is literal:
            cur = [c + chr(av) for c in cur]
        elif op is branch and all(all(o is literal for o, _ in alt) for alt in av[1]):
            cur = [c + "".join(chr(v) for _, v in alt) for c in cur for alt in av[1]]
        else:
            flush()
    flush()
    # an anchor must be selective and not match inside every Arabic word: at least two letters
    usable = [alts for alts in required if min(len(a.strip()) for a in alts) >= 2 and len(alts) <= 12]
    if not usable:
        return None
    return max(usable, key=lambda alts: min(len(a) for a in alts))


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
