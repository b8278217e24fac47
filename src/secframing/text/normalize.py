"""Arabic normalisation as small, pure, idempotent functions (in the spirit of CAMeL Tools).

Each function does one thing; :func:`normalize` composes them according to :class:`NormalizeOptions`.
Normalised text is for matching and modelling only: sentence offsets always point into the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DIACRITICS = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E8\u06EA-\u06ED]")
TATWEEL = "\u0640"
ALEF_VARIANTS = re.compile(r"[\u0622\u0623\u0625\u0671\u0672\u0673]")  # آ أ إ ٱ ...
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff\u00ad]")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def remove_diacritics(text: str) -> str:
    """Drop harakat, tanwin, shadda, sukun and Quranic marks.

    >>> remove_diacritics("الأَمْنُ الوَطَنِيُّ")
    'الأمن الوطني'
    """
    return DIACRITICS.sub("", text)


def remove_tatweel(text: str) -> str:
    """Drop the kashida (tatweel) used to stretch words.

    >>> remove_tatweel("الأمـــن")
    'الأمن'
    """
    return text.replace(TATWEEL, "")


def fold_alef(text: str) -> str:
    """Map hamza and madda alef forms to a bare alef.

    >>> fold_alef("أمن إقليمي آمن")
    'امن اقليمي امن'
    """
    return ALEF_VARIANTS.sub("\u0627", text)


def fold_ya(text: str) -> str:
    """Map alef maqsura to ya (the two are used interchangeably, notably in Moroccan print).

    >>> fold_ya("على مستوى")
    'علي مستوي'
    """
    return text.replace("\u0649", "\u064a")


def fold_ta_marbuta(text: str) -> str:
    """Map ta marbuta to ha.

    >>> fold_ta_marbuta("الشرطة القضائية")
    'الشرطه القضائيه'
    """
    return text.replace("\u0629", "\u0647")


def ascii_digits(text: str) -> str:
    """Arabic-Indic and extended (Persian) digits to ASCII digits.

    >>> ascii_digits("٢٠٢٣ و۱۹")
    '2023 و19'
    """
    return text.translate(_DIGITS)


def remove_invisible(text: str) -> str:
    """Drop zero-width and bidirectional control characters (LRM, RLM, embeddings, isolates, BOM).

    >>> remove_invisible("\u200fالأمن\u200e الوطني\u202c")
    'الأمن الوطني'
    """
    return INVISIBLE.sub("", text)


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces (including no-break and thin spaces) and trim; line breaks are kept.

    >>> normalize_whitespace("  الأمن\u00a0\u00a0 الوطني \\n  بلاغ ")
    'الأمن الوطني\\nبلاغ'
    """
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(lines).strip()


def unicode_nfkc(text: str) -> str:
    """Unicode NFKC, which also maps Arabic presentation forms (ﻻ, ﷲ) to plain letters.

    >>> unicode_nfkc("ﻻ")
    'لا'
    """
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class NormalizeOptions:
    """Which normalisation steps :func:`normalize` applies (all on by default)."""

    nfkc: bool = True
    invisible: bool = True
    diacritics: bool = True
    tatweel: bool = True
    alef: bool = True
    ya: bool = True
    ta_marbuta: bool = True
    digits: bool = True
    whitespace: bool = True


DEFAULT = NormalizeOptions()


_DELETED = re.compile("|".join((INVISIBLE.pattern, DIACRITICS.pattern, re.escape(TATWEEL))))
"""The characters the invisible, diacritics and tatweel steps delete, in one class (single characters
whose deletion cannot create another match, so one pass equals the three)."""
_NON_ASCII_DIGIT = re.compile("[\u0660-\u0669\u06f0-\u06f9]")


def _default_steps(text: str) -> str:
    """:func:`normalize` with every step on, in the same order, with fewer passes over the text."""
    text = _DELETED.sub("", unicodedata.normalize("NFKC", text))
    text = ALEF_VARIANTS.sub("\u0627", text).replace("\u0649", "\u064a").replace("\u0629", "\u0647")
    if _NON_ASCII_DIGIT.search(text):  # rare in news text: skip the translate pass when there are none
        text = text.translate(_DIGITS)
    return normalize_whitespace(text)


def normalize(text: str, options: NormalizeOptions = DEFAULT) -> str:
    """Apply the selected steps in a fixed order. Idempotent: ``normalize(normalize(t)) == normalize(t)``.

    >>> normalize("إنَّ الأمـــنَ الوطنيّ  نجح فى ٢٠٢٣")
    'ان الامن الوطني نجح في 2023'
    >>> normalize("الشرطة", NormalizeOptions(ta_marbuta=False))
    'الشرطة'
    """
    if options is DEFAULT or options == DEFAULT:
        # the hot path of every model and study (tests/test_text.py checks it equals _stepwise)
        return _default_steps(text)
    return _stepwise(text, options)


def _stepwise(text: str, options: NormalizeOptions) -> str:
    """:func:`normalize` one step after the other."""
    if options.nfkc:
        text = unicode_nfkc(text)
    if options.invisible:
        text = remove_invisible(text)
    if options.diacritics:
        text = remove_diacritics(text)
    if options.tatweel:
        text = remove_tatweel(text)
    if options.alef:
        text = fold_alef(text)
    if options.ya:
        text = fold_ya(text)
    if options.ta_marbuta:
        text = fold_ta_marbuta(text)
    if options.digits:
        text = ascii_digits(text)
    if options.whitespace:
        text = normalize_whitespace(text)
    return text
