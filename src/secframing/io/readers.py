"""File readers for JSONL, CSV, TSV and Parquet that account for every row.

Each reader yields ``(line, raw, record_or_error)``; :func:`read_articles` turns records into
:class:`~secframing.io.schema.Article` objects and everything else into :class:`~secframing.io.schema.Reject`
rows with file, line, id and reason. A file that cannot be read at all raises :class:`InputFileError`
with a one-line message.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secframing.io.schema import Article, ArticleRules, Reject, RowError, make_article
from secframing.manifest import FileInfo, file_info

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
           ".parquet": "parquet", ".txt": "txt"}
MAX_INPUT_ECHO = 2000


class InputFileError(RuntimeError):
    """The whole file is unreadable (missing, wrong encoding, wrong format): a one-line message."""


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The reader to use, from ``fmt`` or the file extension."""
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise InputFileError(f"{path}: unknown format {fmt!r}; use one of jsonl, csv, tsv, parquet")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputFileError(
            f"{path}: cannot tell the format from the extension {path.suffix!r}; "
            "use .jsonl, .csv, .tsv or .parquet (or pass --format)"
        ) from None


def _guess_encoding(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        return best.encoding if best else "unknown"
    except ImportError:  # pragma: no cover - charset-normalizer is a core dependency
        return "unknown"


def decode_lines(path: Path, encoding: str | None = None) -> tuple[list[tuple[int, str | None, bytes]], str]:
    """Split a text file into numbered lines, decoding each; undecodable lines come back as ``None``.

    UTF-16 and UTF-8 with a byte-order mark are recognised. A file in which most lines are not UTF-8
    (e.g. cp1256) raises :class:`InputFileError` naming the likely encoding and how to convert it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from None
    if encoding is None:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
    if encoding and encoding.lower().replace("_", "-") in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path}: not valid {encoding}: {exc.reason} at byte {exc.start}") from None
        return [(i, line, line.encode("utf-8")) for i, line in enumerate(text.splitlines(), 1)], encoding
    enc = encoding or "utf-8"
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    out: list[tuple[int, str | None, bytes]] = []
    bad = 0
    for no, raw in enumerate(raw_lines, 1):
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if no == 1 and enc == "utf-8-sig":
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            out.append((no, raw.decode("utf-8" if enc == "utf-8-sig" else enc), raw))
        except UnicodeDecodeError:
            out.append((no, None, raw))
            bad += 1
        except LookupError:
            raise InputFileError(f"{path}: unknown encoding {enc!r}") from None
    if bad and (bad * 2 > len(out) or out[0][1] is None) and encoding is None:
        guess = _guess_encoding(data)
        raise InputFileError(
            f"{path}: not UTF-8 ({bad} of {len(out)} lines undecodable; looks like {guess}); "
            f"convert it (iconv -f {guess} -t utf-8) or pass --encoding {guess}"
        )
    return out, enc


def echo_input(raw: Any) -> str:
    """The raw input row as text for a rejects file, truncated when huge."""
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, bytes):
        text = raw.decode("utf-8", "replace")
    else:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_INPUT_ECHO else text[:MAX_INPUT_ECHO] + f"…[truncated, {len(text):,} chars]"


Row = tuple[int, str, "dict[str, Any] | RowError"]


def _iter_json_array(path: Path, lines: list[tuple[int, str | None, bytes]]) -> Iterator[Row]:
    text = "\n".join(line or "" for _, line, _ in lines)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}: malformed JSON array at line {exc.lineno}: {exc.msg}") from None
    for i, record in enumerate(data, 1):
        if isinstance(record, dict):
            yield i, echo_input(record), record
        else:
            yield i, echo_input(record), RowError(f"item {i} is a JSON {type(record).__name__}, not an object")


def _iter_jsonl(path: Path, encoding: str | None) -> Iterator[Row]:
    lines, _ = decode_lines(path, encoding)
    first = next((line for _, line, _ in lines if line and line.strip()), "")
    if first.lstrip().startswith("["):
        # a JSON array of objects (line = item number) rather than JSON Lines
        yield from _iter_json_array(path, lines)
        return
    for no, line, raw in lines:
        if line is None:
            yield no, echo_input(raw), RowError("line is not valid UTF-8")
            continue
        if not line.strip():
            continue  # blank separator lines are not rows
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield no, echo_input(line), RowError(f"malformed JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(record, dict):
            yield no, echo_input(line), RowError(f"row is a JSON {type(record).__name__}, not an object")
            continue
        yield no, line, record


def _iter_delimited(path: Path, encoding: str | None, delimiter: str, quoting: int) -> Iterator[Row]:
    lines, _ = decode_lines(path, encoding)
    header: list[str] | None = None
    if not lines:
        return
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # Rebuild the decoded text so the csv module handles quoted fields spanning lines;
    # undecodable lines are rejected one by one and left out of the text.
    good = [(no, line) for no, line, _ in lines if line is not None]
    for no, line, raw in lines:
        if line is None:
            yield no, echo_input(raw), RowError("line is not valid UTF-8")
    line_numbers = [no for no, _ in good]
    buffer = io.StringIO("\n".join(line for _, line in good) + "\n")
    reader = csv.reader(buffer, delimiter=delimiter, quoting=quoting, strict=True)
    last = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            no = line_numbers[min(reader.line_num, len(line_numbers)) - 1]
            yield no, "", RowError(f"malformed {'TSV' if delimiter == chr(9) else 'CSV'} row: {exc}")
            last = reader.line_num
            continue
        start, last = last, reader.line_num
        no = line_numbers[start] if start < len(line_numbers) else line_numbers[-1]
        raw_text = "\n".join(line for _, line in good[start:last])
        if header is None:
            header = [h.strip().lstrip("\ufeff") for h in fields]
            if len(set(header)) != len(header):
                raise InputFileError(f"{path}: line {no}: duplicate column names in header {header}")
            continue
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            yield no, echo_input(raw_text), RowError(
                f"row has {len(fields)} fields, header has {len(header)} ({', '.join(header)})"
            )
            continue
        yield no, raw_text, {h: (v if v != "" else None) for h, v in zip(header, fields, strict=True)}


def _iter_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(f"{path}: not a readable Parquet file: {exc}".splitlines()[0]) from None
    for no, record in enumerate(table.to_pylist(), 1):
        yield no, echo_input(record), record


def iter_records(path: str | Path, fmt: str | None = None, encoding: str | None = None) -> Iterator[Row]:
    """Yield ``(line, raw_text, record | RowError)`` for every row of a JSONL/CSV/TSV/Parquet file.

    ``line`` is the 1-based physical line (the row number for Parquet). TSV is read with quoting
    disabled, since news sentences are full of unbalanced quote marks.
    """
    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if kind == "jsonl":
        yield from _iter_jsonl(path, encoding)
    elif kind == "csv":
        yield from _iter_delimited(path, encoding, ",", csv.QUOTE_MINIMAL)
    elif kind == "tsv":
        yield from _iter_delimited(path, encoding, "\t", csv.QUOTE_NONE)
    elif kind == "parquet":
        yield from _iter_parquet(path)
    else:
        raise InputFileError(f"{path}: plain text is one article, read it with secframing.io.adapters.read_txt_article")


@dataclass
class ReadResult:
    """Articles and rejects from one file, with the file's hash for the run manifest."""

    articles: list[Article] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    source: FileInfo | None = None

    @property
    def n_rows(self) -> int:
        return len(self.articles) + len(self.rejects)


def read_articles(
    path: str | Path,
    rules: ArticleRules | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    field_map: dict[str, str] | None = None,
) -> ReadResult:
    """Read a corpus file into articles; every row is either an article or a reject.

    ``field_map`` renames input columns (``{"story": "text"}``) before the checks.
    Duplicate ids are rejected (the first occurrence is kept), as are exact repeats of a text
    within one outlet when ``rules.reject_duplicate_text``.
    """
    path = Path(path)
    rules = rules or ArticleRules()
    result = ReadResult()
    seen_ids: dict[str, int] = {}
    seen_text: dict[tuple[str, int], tuple[str, int, int]] = {}
    for no, raw, record in iter_records(path, fmt, encoding):
        if isinstance(record, RowError):
            result.rejects.append(Reject(str(path), no, record.reason, None, record.field, echo_input(raw)))
            continue
        if field_map:
            record = {field_map.get(k, k): v for k, v in record.items()}
        rid = record.get("id")
        rid = None if rid is None else str(rid)
        try:
            art = make_article(record, fallback_id=f"{path.stem}:{no}", rules=rules)
        except RowError as err:
            result.rejects.append(Reject(str(path), no, err.reason, rid, err.field, echo_input(raw)))
            continue
        if art.id in seen_ids:
            reason = f"duplicate id {art.id!r} (first seen at line {seen_ids[art.id]})"
            result.rejects.append(Reject(str(path), no, reason, art.id, "id", echo_input(raw)))
            continue
        key = (art.outlet, hash(art.text))
        if rules.reject_duplicate_text and key in seen_text and result.articles[seen_text[key][2]].text == art.text:
            first_id, first_line, _ = seen_text[key]
            reason = f"duplicate text of {first_id!r} (line {first_line}) in outlet {art.outlet!r}"
            result.rejects.append(Reject(str(path), no, reason, art.id, "text", echo_input(raw)))
            continue
        seen_ids[art.id] = no
        seen_text.setdefault(key, (art.id, no, len(result.articles)))
        result.articles.append(art)
    result.source = file_info(path, rows=result.n_rows, format=detect_format(path, fmt))
    return result



def read_table(path: str | Path, fmt: str | None = None,
               encoding: str | None = None) -> tuple[list[tuple[int, str, dict[str, Any]]], list[Reject]]:
    """Read any supported file into ``(line, raw, record)`` rows plus rejects for unreadable rows."""
    rows, rejects = [], []
    for no, raw, record in iter_records(path, fmt, encoding):
        if isinstance(record, RowError):
            rejects.append(Reject(str(path), no, record.reason, None, record.field, echo_input(raw)))
        else:
            rows.append((no, raw, record))
    return rows, rejects
