"""Streaming readers for JSONL, CSV, TSV and Parquet files (plain or compressed), folders and globs of
shards and Hugging Face ``datasets``, that account for every row.

:func:`iter_records` yields ``(line, raw, record_or_error)`` for one file without holding it in memory;
:class:`ArticleStream` turns the rows of any :func:`corpus source <expand_sources>` into
:class:`~secframing.io.schema.Article` objects and everything else into :class:`~secframing.io.schema.Reject`
rows with file, line, id and reason; :func:`read_articles` collects such a stream. A file that cannot be
read at all raises :class:`InputFileError` with a one-line message.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import glob
import gzip
import hashlib
import io
import json
import lzma
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from secframing.io.schema import Article, ArticleRules, Reject, RowError, make_article
from secframing.manifest import FileInfo, file_info

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv",
           ".parquet": "parquet", ".txt": "txt"}
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
"""Compressed files are read as streams; the format is the suffix before the compression suffix."""
HF_PREFIX = "hf:"
MAX_INPUT_ECHO = 2000
HEAD_LINES = 1000
"""Lines buffered at the start of a file to decide whether it is UTF-8 at all (see :func:`iter_lines`)."""
PARQUET_BATCH = 1000


class InputFileError(RuntimeError):
    """The whole file is unreadable (missing, wrong encoding, wrong format): a one-line message."""


class _CorruptStream(Exception):
    """A compressed stream broke after some lines had been read."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line, self.reason = line, reason


def compression(path: Path) -> str | None:
    """``gzip``, ``bz2``, ``xz``, ``zstd`` from the last suffix, or ``None`` for a plain file."""
    return COMPRESSIONS.get(path.suffix.lower())


def format_suffix(path: Path) -> str:
    """The suffix that names the format: ``.jsonl`` for ``news.jsonl.gz`` as for ``news.jsonl``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def source_stem(path: Path) -> str:
    """The file name without its format and compression suffixes (``news`` for ``news.jsonl.gz``)."""
    name = path.name
    for _ in range(2):
        suffix = Path(name).suffix.lower()
        if suffix in COMPRESSIONS or suffix in FORMATS:
            name = name[: -len(suffix)]
    return name


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The reader to use, from ``fmt`` or the file extension (compression suffixes looked through)."""
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise InputFileError(f"{path}: unknown format {fmt!r}; use one of jsonl, csv, tsv, parquet")
        return fmt
    try:
        kind = FORMATS[format_suffix(path)]
    except KeyError:
        raise InputFileError(
            f"{path}: cannot tell the format from the extension {''.join(path.suffixes[-2:])!r}; "
            "use .jsonl, .csv, .tsv or .parquet, optionally compressed (.gz, .bz2, .xz, .zst), or pass --format"
        ) from None
    if kind == "parquet" and compression(path):
        raise InputFileError(f"{path}: Parquet is compressed inside the file; decompress it to .parquet")
    return kind


@dataclass
class ReadPosition:
    """How far reading has got in bytes of the input files (compressed bytes for a compressed file),
    for a progress ETA: ``total`` is their summed size (None when unknown, e.g. a dataset)."""

    total: int | None = None
    done: int = 0
    """Bytes of the files already finished."""
    raw: Any = None
    """The open file of the one being read (its ``tell()`` is the position)."""

    def bytes_read(self) -> int:
        try:
            here = self.raw.tell() if self.raw is not None and not self.raw.closed else 0
        except (OSError, ValueError):
            here = 0
        return self.done + here


def open_binary(path: Path, where: ReadPosition | None = None) -> IO[bytes]:
    """The file as a binary stream, decompressed on the fly by its suffix; with ``where``, its underlying
    file is recorded there so that the bytes read can be followed."""
    try:
        kind = compression(path)
        raw = open(path, "rb")  # returned to the caller (inside the decompressor), who closes it
        if kind == "gzip":
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")
        elif kind == "bz2":
            stream = bz2.BZ2File(raw, "rb")
        elif kind == "xz":
            stream = lzma.LZMAFile(raw, "rb")
        elif kind == "zstd":
            try:
                import zstandard
            except ImportError:  # pragma: no cover - zstandard is a core dependency
                raise InputFileError(f"{path}: reading .zst needs the zstandard package") from None
            stream = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
        else:
            stream = raw
        if where is not None:
            where.raw = raw
        return stream if stream is raw or kind == "zstd" else _ClosingBoth(stream, raw)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


class _ClosingBoth(io.BufferedReader):
    """A decompressing stream that also closes the file it reads from (``GzipFile``, ``BZ2File`` and
    ``LZMAFile`` leave a file object they were given open)."""

    def __init__(self, stream: Any, raw: IO[bytes]):
        super().__init__(stream)
        self._raw_file = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw_file.close()


_STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError)
try:  # zstandard raises its own error type for corrupt frames
    import zstandard as _zstd

    _STREAM_ERRORS += (_zstd.ZstdError,)
except ImportError:  # pragma: no cover
    pass


def _binary_lines(path: Path, stream: IO[bytes]) -> Iterator[bytes]:
    """The raw lines of a (decompressed) stream; a stream that breaks after the first line raises
    :class:`_CorruptStream` with the last line read, one that cannot be read at all ``InputFileError``."""
    no = 0
    try:
        for raw in stream:
            no += 1
            yield raw
    except _STREAM_ERRORS as exc:
        kind = compression(path) or "file"
        if no == 0:
            raise InputFileError(f"{path}: not a readable {kind} stream: {exc}".splitlines()[0]) from None
        raise _CorruptStream(no, f"{kind} stream is corrupt or truncated after line {no} ({exc}); "
                                 "the rest of the file could not be read") from None


def _guess_encoding(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:200_000]).best()
        return best.encoding if best else "unknown"
    except ImportError:  # pragma: no cover - charset-normalizer is a core dependency
        return "unknown"


Line = tuple[int, "str | None", bytes]


def iter_lines(path: str | Path, encoding: str | None = None, where: ReadPosition | None = None) -> Iterator[Line]:
    """Numbered lines of a text file (plain or compressed), decoded one by one without reading the file
    into memory; undecodable lines come back as ``None``.

    UTF-16 and UTF-8 with a byte-order mark are recognised. A file whose first line, or most of whose
    first :data:`HEAD_LINES` lines, are not UTF-8 (e.g. cp1256) raises :class:`InputFileError` naming the
    likely encoding and how to convert it.
    """
    path = Path(path)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputFileError(f"{path}: unknown encoding {encoding!r}") from None
    stream = open_binary(path, where)
    with stream:
        lines = _binary_lines(path, stream)
        try:
            first = next(lines)
        except StopIteration:
            return
        enc = encoding
        if enc is None and first.startswith((b"\xff\xfe", b"\xfe\xff")):
            enc = "utf-16"
        elif enc is None and first.startswith(b"\xef\xbb\xbf"):
            enc = "utf-8-sig"
        if enc and enc.lower().replace("_", "-") in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            yield from _wide_lines(path, enc, where)
            return
        enc = enc or "utf-8"
        codec = "utf-8" if enc == "utf-8-sig" else enc
        head: list[Line] = []
        bad = 0
        try:
            for item in _decoded(_chain_first(first, lines), enc, codec):
                no, bad = item[0], bad + (item[1] is None)
                if head is not None and no <= HEAD_LINES:
                    head.append(item)
                    if no == HEAD_LINES:
                        _check_head(path, head, bad, encoding)
                        yield from head
                        head = None  # type: ignore[assignment]
                    continue
                yield item
        except _CorruptStream:
            if head:  # the lines before the break are rows like any other
                _check_head(path, head, bad, encoding)
                yield from head
            raise
        if head:
            _check_head(path, head, bad, encoding)
            yield from head


def _decoded(raws: Iterable[bytes], enc: str, codec: str) -> Iterator[Line]:
    for no, raw in enumerate(raws, 1):
        raw = raw[:-1] if raw.endswith(b"\n") else raw
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if no == 1 and enc == "utf-8-sig":
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            yield no, raw.decode(codec), raw
        except UnicodeDecodeError:
            yield no, None, raw


def _chain_first(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _check_head(path: Path, head: list[Line], bad: int, encoding: str | None) -> None:
    if bad and (bad * 2 > len(head) or head[0][1] is None) and encoding is None:
        guess = _guess_encoding(b"\n".join(raw for _, _, raw in head))
        raise InputFileError(
            f"{path}: not UTF-8 ({bad} of the first {len(head)} lines undecodable; looks like {guess}); "
            f"convert it (iconv -f {guess} -t utf-8) or pass --encoding {guess}"
        )


def _wide_lines(path: Path, enc: str, where: ReadPosition | None) -> Iterator[Line]:
    """Lines of a UTF-16/32 file, decoded as a stream (opened afresh: the byte-level first line is no line)."""
    with open_binary(path, where) as stream:
        text = io.TextIOWrapper(stream, encoding=enc, newline=None)
        try:
            for no, line in enumerate(text, 1):
                line = line.removesuffix("\n")
                yield no, line, line.encode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path}: not valid {enc}: {exc.reason}") from None


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


def _iter_json_array(path: Path, lines: list[Line]) -> Iterator[Row]:
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


def _iter_jsonl(path: Path, encoding: str | None, where: ReadPosition | None = None) -> Iterator[Row]:
    lines = iter_lines(path, encoding, where)
    started = False
    for no, line, raw in lines:
        if not started and line is not None and line.strip():
            started = True
            if line.lstrip().startswith("["):
                # a JSON array of objects (line = item number) rather than JSON Lines: read it whole
                yield from _iter_json_array(path, [(no, line, raw), *lines])
                return
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


def _iter_delimited(path: Path, encoding: str | None, delimiter: str, quoting: int,
                    where: ReadPosition | None = None) -> Iterator[Row]:
    """CSV/TSV rows as a stream; a quoted field may span lines, and ``line`` is where its row starts."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # the csv module reads the decodable lines; undecodable ones are rejected one by one and left out.
    # ``window`` holds the (line number, text) of the lines read since the last complete row.
    window: list[tuple[int, str]] = []
    undecodable: list[Row] = []

    def good_lines() -> Iterator[str]:
        for no, line, raw in iter_lines(path, encoding, where):
            if line is None:
                undecodable.append((no, echo_input(raw), RowError("line is not valid UTF-8")))
                continue
            window.append((no, line))
            yield line + "\n"

    reader = csv.reader(good_lines(), delimiter=delimiter, quoting=quoting, strict=True)
    header: list[str] | None = None
    kind = "TSV" if delimiter == "\t" else "CSV"
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield from _drain(undecodable)
            no = window[0][0] if window else 0
            window.clear()
            yield no, "", RowError(f"malformed {kind} row: {exc}")
            continue
        yield from _drain(undecodable)
        if not window:
            continue
        no, raw_text = window[0][0], "\n".join(line for _, line in window)
        window.clear()
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
    yield from _drain(undecodable)


def _drain(pending: list[Row]) -> Iterator[Row]:
    while pending:
        yield pending.pop(0)


def _iter_parquet(path: Path) -> Iterator[Row]:
    try:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(f"{path}: not a readable Parquet file: {exc}".splitlines()[0]) from None
    no = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH):
        for record in batch.to_pylist():
            no += 1
            yield no, echo_input(record), record


def iter_records(path: str | Path, fmt: str | None = None, encoding: str | None = None,
                 where: ReadPosition | None = None) -> Iterator[Row]:
    """Yield ``(line, raw_text, record | RowError)`` for every row of a JSONL/CSV/TSV/Parquet file, plain
    or compressed (``.gz``, ``.bz2``, ``.xz``, ``.zst``), streaming.

    ``line`` is the 1-based physical line (the row number for Parquet). TSV is read with quoting
    disabled, since news sentences are full of unbalanced quote marks. A compressed stream that breaks
    part-way ends with one error row saying from which line on the file could not be read.
    """
    path = Path(path)
    kind = detect_format(path, fmt)
    if path.is_dir():
        raise InputFileError(f"{path}: is a directory, not a file")
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        if kind == "jsonl":
            yield from _iter_jsonl(path, encoding, where)
        elif kind == "csv":
            yield from _iter_delimited(path, encoding, ",", csv.QUOTE_MINIMAL, where)
        elif kind == "tsv":
            yield from _iter_delimited(path, encoding, "\t", csv.QUOTE_NONE, where)
        elif kind == "parquet":
            yield from _iter_parquet(path)
        else:
            raise InputFileError(f"{path}: plain text is one article, read it with "
                                 "secframing.io.adapters.read_txt_article")
    except _CorruptStream as exc:
        yield exc.line + 1, "", RowError(exc.reason)


# --- corpus sources: one file, a folder or glob of shards, a Hugging Face dataset ---------------------


@dataclass(frozen=True)
class Source:
    """One readable input: a file (``path``) or a Hugging Face dataset (``hf``: name, config, split)."""

    name: str
    """What rejects and the manifest call it: the file path, or ``hf:NAME[@CONFIG][:SPLIT]``."""
    path: Path | None = None
    stem: str = ""
    """Prefix of the fallback ids of rows without one (``<stem>:<line>``): unique across the sources."""
    hf: tuple[str, str | None, str | None] | None = None


def _is_corpus_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_")) and format_suffix(path) in FORMATS \
        and FORMATS[format_suffix(path)] != "txt"


def expand_sources(spec: str | Path) -> list[Source]:
    """The inputs named by ``spec``: a file; a folder (every JSONL/CSV/TSV/Parquet file under it, plain or
    compressed, in path order); a glob (``shards/*.jsonl.gz``); or ``hf:NAME[@CONFIG][:SPLIT]``, a
    Hugging Face dataset (hub name, local data folder or ``save_to_disk`` folder), read streaming."""
    text = str(spec)
    if text.startswith(HF_PREFIX):
        rest = text[len(HF_PREFIX):]
        name, _, split = rest.partition(":") if not Path(rest).exists() else (rest, "", "")
        name, _, config = name.partition("@")
        if not name:
            raise InputFileError(f"{text}: name a dataset, e.g. hf:org/news:train")
        return [Source(text, None, Path(name).name or name, (name, config or None, split or None))]
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if _is_corpus_file(p))
        if not files:
            raise InputFileError(f"{path}: no corpus files in this folder (.jsonl, .csv, .tsv, .parquet, "
                                 "plain or .gz/.bz2/.xz/.zst)")
        return [Source(str(p), p, _relative_stem(p, path)) for p in files]
    if not path.exists() and glob.has_magic(text):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise InputFileError(f"{text}: no file matches this pattern")
        root = Path(text.split("*")[0].split("?")[0].split("[")[0] or ".")
        root = root if root.is_dir() else root.parent
        return [Source(str(p), p, _relative_stem(p, root)) for p in files]
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    return [Source(text, path, source_stem(path))]


def _relative_stem(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = path
    return (rel.parent / source_stem(rel)).as_posix()


def iter_source(source: Source, fmt: str | None = None, encoding: str | None = None,
                where: ReadPosition | None = None) -> Iterator[Row]:
    """The rows of one source (see :func:`iter_records`); a dataset's ``line`` is its row number."""
    if source.hf is None:
        assert source.path is not None
        yield from iter_records(source.path, fmt, encoding, where)
        return
    for no, row in enumerate(_open_dataset(source), 1):
        yield no, echo_input(row), dict(row)


def _open_dataset(source: Source) -> Iterable[dict[str, Any]]:
    """A ``datasets`` dataset as an iterable of rows: ``load_from_disk`` for a saved folder, else
    ``load_dataset(..., streaming=True)`` (hub names, local data folders and files)."""
    assert source.hf is not None
    name, config, split = source.hf
    try:
        import datasets
    except ImportError:
        raise InputFileError(f"{source.name}: reading datasets needs the datasets package "
                             "(pip install 'secframing[hf]')") from None
    try:
        local = Path(name)
        if local.is_dir() and ((local / "dataset_info.json").exists() or (local / "dataset_dict.json").exists()):
            ds = datasets.load_from_disk(str(local))
            if isinstance(ds, datasets.DatasetDict):
                ds = ds[split or _only_split(source, list(ds))]
            return ds
        ds = datasets.load_dataset(name, config, split=split or "train", streaming=True)
    except InputFileError:
        raise
    except Exception as exc:  # datasets raises many types (missing, offline, bad split)
        raise InputFileError(f"{source.name}: cannot load the dataset: {exc}".splitlines()[0]) from None
    return ds


def _only_split(source: Source, splits: list[str]) -> str:
    if len(splits) == 1:
        return splits[0]
    raise InputFileError(f"{source.name}: the dataset has splits {splits}; name one, e.g. {source.name}:{splits[0]}")


def source_info(source: Source, rows: int, fmt: str | None = None) -> FileInfo:
    """What the manifest records of a source: path, sha256, bytes and rows (a dataset: its name and rows
    only, no hash)."""
    if source.path is not None:
        return file_info(source.path, rows=rows, format=detect_format(source.path, fmt))
    return FileInfo(source.name, "", 0, rows, "datasets")


# --- articles -------------------------------------------------------------------------------------------


class ArticleStream:
    """The articles and rejects of a corpus source (see :func:`expand_sources`), in input order, streaming.

    Iterating yields :class:`Article` and :class:`Reject` objects; every input row is exactly one of them.
    Duplicate ids are rejected across all files (the first occurrence is kept), as are exact repeats of a
    text within one outlet when ``rules.reject_duplicate_text``; only ids and text digests are remembered,
    so memory grows with the number of articles, not their size. After iteration ``sources`` holds what
    the manifest records of each input and ``n_rows`` the rows read.
    """

    def __init__(self, spec: str | Path, rules: ArticleRules | None = None, fmt: str | None = None,
                 encoding: str | None = None, field_map: dict[str, str] | None = None,
                 on_row: Callable[[], None] | None = None):
        self.spec, self.rules, self.fmt, self.encoding = spec, rules or ArticleRules(), fmt, encoding
        self.field_map = field_map
        self.on_row = on_row
        self.inputs = expand_sources(spec)
        self.sources: list[FileInfo] = []
        self.n_rows = 0
        self._sizes = [src.path.stat().st_size if src.path is not None else None for src in self.inputs]
        self.position = ReadPosition(None if None in self._sizes else sum(s or 0 for s in self._sizes))
        """Bytes read so far of the input files, and their total (for an ETA)."""

    def __iter__(self) -> Iterator[Article | Reject]:
        rules = self.rules
        seen_ids: dict[str, tuple[str, int]] = {}
        seen_text: dict[tuple[str, bytes], tuple[str, str, int]] = {}
        self.sources, self.n_rows = [], 0
        many = len(self.inputs) > 1
        self.position.done = 0
        for src, size in zip(self.inputs, self._sizes, strict=True):
            n = 0
            for no, raw, record in iter_source(src, self.fmt, self.encoding, self.position):
                n += 1
                self.n_rows += 1
                if self.on_row is not None:
                    self.on_row()
                if isinstance(record, RowError):
                    yield Reject(src.name, no, record.reason, None, record.field, echo_input(raw))
                    continue
                if self.field_map:
                    record = {self.field_map.get(k, k): v for k, v in record.items()}
                rid = record.get("id")
                rid = None if rid is None else str(rid)
                try:
                    art = make_article(record, fallback_id=f"{src.stem}:{no}", rules=rules)
                except RowError as err:
                    yield Reject(src.name, no, err.reason, rid, err.field, echo_input(raw))
                    continue
                if art.id in seen_ids:
                    where = _where(*seen_ids[art.id], many)
                    yield Reject(src.name, no, f"duplicate id {art.id!r} (first seen at {where})", art.id, "id",
                                 echo_input(raw))
                    continue
                key = (art.outlet, hashlib.blake2b(art.text.encode("utf-8"), digest_size=16).digest())
                if rules.reject_duplicate_text and key in seen_text:
                    first_id, first_src, first_line = seen_text[key]
                    reason = (f"duplicate text of {first_id!r} ({_where(first_src, first_line, many)}) "
                              f"in outlet {art.outlet!r}")
                    yield Reject(src.name, no, reason, art.id, "text", echo_input(raw))
                    continue
                seen_ids[art.id] = (src.name, no)
                seen_text.setdefault(key, (art.id, src.name, no))
                yield art
            self.sources.append(source_info(src, n, self.fmt))
            self.position.raw = None
            self.position.done += size or 0


def _where(source: str, line: int, many: bool) -> str:
    return f"{source} line {line}" if many else f"line {line}"


@dataclass
class ReadResult:
    """Articles and rejects of a corpus, with each input's hash for the run manifest."""

    articles: list[Article] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    sources: list[FileInfo] = field(default_factory=list)

    @property
    def source(self) -> FileInfo | None:
        """The first input (the only one for a single file)."""
        return self.sources[0] if self.sources else None

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
    """Read a corpus (file, folder or glob of shards, ``hf:`` dataset) into memory; every row is either
    an article or a reject (see :class:`ArticleStream`). ``field_map`` renames input columns
    (``{"story": "text"}``) before the checks."""
    stream = ArticleStream(path, rules, fmt, encoding, field_map)
    result = ReadResult()
    for item in stream:
        (result.articles if isinstance(item, Article) else result.rejects).append(item)
    result.sources = stream.sources
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
