"""The article schema and the row-level checks that turn raw records into articles or rejects."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

CORE_FIELDS = ("id", "outlet", "date", "title", "text")
ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("body", "content", "story", "article", "article_text", "texte", "نص"),
    "title": ("headline", "titre", "عنوان"),
    "outlet": ("source", "site", "newspaper", "publisher", "media"),
    "date": ("published", "published_at", "pub_date", "publication_date", "datetime", "timestamp"),
    "id": ("article_id", "doc_id", "uid", "guid"),
}
"""Common column names of other corpora, used when a schema field is absent (recorded in ``warnings``)."""
OPTIONAL_FIELDS = ("url", "author", "category")

ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u0671-\u06D3\u06FA-\u06FF]")
ANY_LETTER = re.compile(r"[^\W\d_]")
HTML_TAG = re.compile(r"</?(?:p|br|div|span|a|b|i|strong|em|h[1-6]|ul|ol|li|img|table|tr|td|script|style)\b[^>]*>",
                      re.I)


@dataclass(frozen=True)
class Article:
    """One news article. ``text`` is the canonical body that sentence offsets point into."""

    id: str
    outlet: str
    date: str | None
    title: str | None
    text: str
    url: str | None = None
    author: str | None = None
    category: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    @property
    def month(self) -> str | None:
        return self.date[:7] if self.date else None

    def to_dict(self) -> dict[str, Any]:
        """Flat record: core and optional fields, then the extra fields carried through."""
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        row["warnings"] = list(self.warnings)
        for k, v in self.extra.items():
            row.setdefault(k, v)
        return row


@dataclass(frozen=True)
class Reject:
    """An input row that could not be used, with where it came from and why."""

    source: str
    line: int
    reason: str
    id: str | None = None
    field: str | None = None
    input: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ArticleRules:
    """How strictly raw rows are checked."""

    max_text_chars: int = 200_000
    """Longer texts are rejected: no real article is this long, it is a scraping or join error."""
    min_arabic_ratio: float = 0.3
    """Share of letters that must be Arabic; below it the row is rejected as non-Arabic."""
    default_outlet: str = "unknown"
    strip_html: bool = True
    """Convert HTML markup in text/title to plain text (flagged in ``warnings``) instead of rejecting."""
    reject_duplicate_text: bool = True
    """Reject an exact repeat of a text already read from the same outlet (syndication across outlets is kept)."""


class RowError(ValueError):
    """A row-level problem; becomes a :class:`Reject`."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field


class _TextExtractor(HTMLParser):
    BLOCK = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text from HTML: block tags become line breaks, scripts dropped, entities decoded.

    >>> html_to_text("<p>أوقفت الشرطة&nbsp;شخصين.</p><p>وأضاف المصدر</p>")
    'أوقفت الشرطة\\xa0شخصين.\\nوأضاف المصدر'
    """
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    text = re.sub(r"[ \t]*\n[ \t\n]*", "\n", text)
    return text.strip()


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML tags (not just a stray ``<``)."""
    return bool(HTML_TAG.search(text))


def arabic_ratio(text: str) -> float:
    """Share of letters that are Arabic letters (0.0 for text without letters).

    >>> arabic_ratio("الأمن الوطني DGSN")
    0.733
    """
    letters = ANY_LETTER.findall(text)
    if not letters:
        return 0.0
    return round(sum(1 for c in letters if ARABIC_LETTER.match(c)) / len(letters), 3)


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S",
                 "%d/%m/%Y", "%Y/%m/%d")


def normalise_date(value: Any) -> str | None:
    """ISO ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` from common date spellings; ``None`` stays ``None``.

    >>> normalise_date("2020-06-04T06:40")
    '2020-06-04T06:40'
    >>> normalise_date("04/06/2020")
    '2020-06-04'
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            parsed = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.strftime("%Y-%m-%dT%H:%M") if "H" in fmt else parsed.date().isoformat()
    try:  # ISO with seconds fraction or timezone
        return dt.datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M")
    except ValueError:
        raise RowError(f"field 'date' has unparseable value {text[:40]!r} (want ISO YYYY-MM-DD)", "date") from None


def _opt_str(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from pandas/parquet
        return None
    text = str(value).strip()
    return text or None


def apply_aliases(record: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Fill absent schema fields from their common aliases (``story`` -> ``text``), noting each use.

    >>> w = []; apply_aliases({"story": "نص", "headline": "عنوان"}, w)["text"], w
    ('نص', ['text_from:story', 'title_from:headline'])
    """
    out = dict(record)
    for name, alts in ALIASES.items():
        if out.get(name) is None:
            for alt in alts:
                if out.get(alt) is not None:
                    out[name] = out.pop(alt)
                    warnings.append(f"{name}_from:{alt}")
                    break
    return out


def make_article(record: dict[str, Any], fallback_id: str, rules: ArticleRules) -> Article:
    """Check one raw record and build an :class:`Article`, or raise :class:`RowError`."""
    if not isinstance(record, dict):
        raise RowError(f"row is a JSON {type(record).__name__}, not an object")
    warnings: list[str] = []
    record = apply_aliases(record, warnings)
    raw_text = record.get("text")
    if raw_text is None or (isinstance(raw_text, float) and raw_text != raw_text):
        raise RowError("missing field 'text'", "text")
    if not isinstance(raw_text, str):
        raise RowError(f"field 'text' must be a string, got {type(raw_text).__name__}", "text")
    if not raw_text.strip():
        raise RowError("empty field 'text'", "text")
    if len(raw_text) > rules.max_text_chars:
        raise RowError(
            f"field 'text' has {len(raw_text):,} characters, over max_text_chars={rules.max_text_chars:,}", "text"
        )
    text, title = raw_text, _opt_str(record, "title")
    if looks_like_html(text) or (title and looks_like_html(title)):
        if not rules.strip_html:
            raise RowError("field 'text' contains HTML markup", "text")
        text = html_to_text(text)
        title = html_to_text(title) if title else title
        warnings.append("html_stripped")
        if not text.strip():
            raise RowError("field 'text' is empty once HTML markup is removed", "text")
    if "\x00" in text:
        raise RowError("field 'text' contains NUL characters (binary data or a UTF-16 file read as UTF-8)", "text")
    ratio = arabic_ratio(text)
    if ratio < rules.min_arabic_ratio:
        raise RowError(
            f"field 'text' is not Arabic: {ratio:.0%} of its letters are Arabic "
            f"(min_arabic_ratio={rules.min_arabic_ratio})",
            "text",
        )
    raw_id = record.get("id")
    art_id = fallback_id if raw_id is None or str(raw_id).strip() == "" else str(raw_id).strip()
    if raw_id is None:
        warnings.append("id_derived")
    outlet = _opt_str(record, "outlet")
    if outlet is None:
        outlet = rules.default_outlet
        warnings.append("outlet_missing")
    date = normalise_date(record.get("date"))
    extra = {k: v for k, v in record.items() if k not in CORE_FIELDS + OPTIONAL_FIELDS + ("warnings",)}
    return Article(
        id=art_id,
        outlet=outlet,
        date=date,
        title=title,
        text=text,
        url=_opt_str(record, "url"),
        author=_opt_str(record, "author"),
        category=_opt_str(record, "category"),
        extra=extra,
        warnings=tuple(warnings),
    )
