"""Hashed character n-gram features in compiled code, bit for bit those of scikit-learn's.

A TF-IDF model's prediction time here is mostly scikit-learn building every character n-gram of every
word as a Python string (hundreds per sentence) and hashing it. :func:`char_wb_counts` and
:func:`word_counts` compute the same ``HashingVectorizer`` count matrices (``char_wb`` and ``word``
analyzers) from the UTF-8 bytes of the text with a compiled MurmurHash3 (numba), without making those
strings; :func:`predict_proba` uses them for the branches of a fitted pipeline in
:func:`~secframing.models.tfidf.build_pipeline`'s hashed layout, normalising each text once, and
scikit-learn for everything else. The matrix is canonical CSR (sorted, duplicates summed), equal to
scikit-learn's element for element (the tests compare them), so predictions do not change. Without numba,
or for any pipeline it does not recognise, scikit-learn does all of it. Fitting always uses
scikit-learn.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from secframing.text.normalize import normalize

try:  # compiled on first call and cached on disk beside this file; without numba, scikit-learn does it all
    import numba

    _njit: Any = numba.njit(cache=True, nogil=True)
except ImportError:  # pragma: no cover - numba is a core dependency
    numba = None
    _njit = None


def _kernel() -> Any:
    """The compiled kernels (char_wb, word, to_csr), or None without numba."""
    return None if numba is None else (char_wb, word, to_csr)


if numba is not None:

    @_njit
    def murmur(buf: Any, start: int, end: int) -> int:
        """MurmurHash3 x86_32 (seed 0) of ``buf[start:end]``, as a signed 32-bit value."""
        mask = np.uint64(0xFFFFFFFF)
        c1, c2 = np.uint64(0xCC9E2D51), np.uint64(0x1B873593)
        h = np.uint64(0)
        length = end - start
        i = start
        for _ in range(length // 4):
            k = (np.uint64(buf[i]) | (np.uint64(buf[i + 1]) << np.uint64(8)) | (np.uint64(buf[i + 2]) << np.uint64(16))
                 | (np.uint64(buf[i + 3]) << np.uint64(24)))
            k = (k * c1) & mask
            k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & mask
            k = (k * c2) & mask
            h ^= k
            h = ((h << np.uint64(13)) | (h >> np.uint64(19))) & mask
            h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & mask
            i += 4
        rest = length & 3
        if rest:
            k = np.uint64(0)
            if rest == 3:
                k ^= np.uint64(buf[i + 2]) << np.uint64(16)
            if rest >= 2:
                k ^= np.uint64(buf[i + 1]) << np.uint64(8)
            k ^= np.uint64(buf[i])
            k = (k * c1) & mask
            k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & mask
            k = (k * c2) & mask
            h ^= k
        h ^= np.uint64(length)
        h ^= h >> np.uint64(16)
        h = (h * np.uint64(0x85EBCA6B)) & mask
        h ^= h >> np.uint64(13)
        h = (h * np.uint64(0xC2B2AE35)) & mask
        h ^= h >> np.uint64(16)
        signed = np.int64(h)
        if signed >= 2147483648:
            signed -= 4294967296
        return signed

    @_njit
    def char_wb(buf: Any, starts: Any, doc_words: Any, min_n: int, max_n: int, n_features: int) -> Any:
        """Column index and row of every char_wb n-gram. ``buf`` is the UTF-8 of the documents' padded
        words one after the other (" w1  w2 ..."), ``starts`` the byte offset of each character."""
        n_words = 0
        for d in range(doc_words.shape[0]):
            n_words += doc_words[d]
        word_len = np.empty(n_words, dtype=np.int64)
        char = 0
        for w in range(n_words):  # a padded word runs from its leading space to the next space
            end = char + 1
            while buf[starts[end]] != 32:
                end += 1
            word_len[w] = end - char + 1
            char = end + 1
        total = 0
        for w in range(n_words):
            size = word_len[w]
            for n in range(min_n, max_n + 1):
                if size <= n:
                    total += 1
                    break
                total += size - n + 1
        cols = np.empty(total, dtype=np.int64)
        rows = np.empty(total, dtype=np.int64)
        pos, char, w = 0, 0, 0
        for d in range(doc_words.shape[0]):
            for _ in range(doc_words[d]):
                size = word_len[w]
                for n in range(min_n, max_n + 1):
                    last = size - n + 1 if size > n else 1
                    width = n if size > n else size
                    for i in range(last):
                        h = murmur(buf, starts[char + i], starts[char + i + width])
                        if h == -2147483648:
                            cols[pos] = (2147483647 - (n_features - 1)) % n_features
                        else:
                            cols[pos] = abs(h) % n_features
                        rows[pos] = d
                        pos += 1
                    if size <= n:
                        break
                char += size
                w += 1
        return rows, cols

    @_njit
    def word(buf: Any, min_n: int, max_n: int, n_features: int, n_docs: int) -> Any:
        """Column index and row of every word n-gram of ``buf``: documents end with a newline byte and
        their tokens are separated by one space, so the bytes of an n-gram are one slice of ``buf``."""
        n_bytes = buf.shape[0]
        t_start = np.empty(n_bytes + 1, dtype=np.int64)
        t_end = np.empty(n_bytes + 1, dtype=np.int64)
        t_doc = np.empty(n_bytes + 1, dtype=np.int64)
        n_tok, d, i = 0, 0, 0
        while i < n_bytes:
            b = buf[i]
            if b == 10:
                d += 1
                i += 1
            elif b == 32:
                i += 1
            else:
                j = i
                while j < n_bytes and buf[j] != 32 and buf[j] != 10:
                    j += 1
                t_start[n_tok], t_end[n_tok], t_doc[n_tok] = i, j, d
                n_tok += 1
                i = j
        total = 0
        for n in range(min_n, max_n + 1):
            for t in range(n_tok - n + 1):
                if t_doc[t + n - 1] == t_doc[t]:
                    total += 1
        cols = np.empty(total, dtype=np.int64)
        rows = np.empty(total, dtype=np.int64)
        pos = 0
        for t in range(n_tok):  # n-grams starting at each token, grouped by document
            for n in range(min_n, max_n + 1):
                if t + n - 1 >= n_tok or t_doc[t + n - 1] != t_doc[t]:
                    break
                h = murmur(buf, t_start[t], t_end[t + n - 1])
                if h == -2147483648:
                    cols[pos] = (2147483647 - (n_features - 1)) % n_features
                else:
                    cols[pos] = abs(h) % n_features
                rows[pos] = t_doc[t]
                pos += 1
        return rows, cols

    @_njit
    def to_csr(rows: Any, cols: Any, n_docs: int, n_features: int) -> Any:
        """Canonical CSR arrays (indices sorted within a row, duplicates counted) of row-grouped pairs."""
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        indices = np.empty(cols.shape[0], dtype=np.int32)
        data = np.empty(cols.shape[0], dtype=np.float64)
        counts = np.zeros(n_features, dtype=np.int64)  # scratch, zero again after each row
        touched = np.empty(cols.shape[0], dtype=np.int64)
        pos, j = 0, 0
        for d in range(n_docs):
            k = 0
            while j < rows.shape[0] and rows[j] == d:
                c = cols[j]
                if counts[c] == 0:
                    touched[k] = c
                    k += 1
                counts[c] += 1
                j += 1
            uniq = np.sort(touched[:k])
            for c in uniq:
                indices[pos] = c
                data[pos] = counts[c]
                counts[c] = 0
                pos += 1
            indptr[d + 1] = pos
        return indptr, indices[:pos], data[:pos]


def char_wb_counts(texts: Sequence[str], min_n: int, max_n: int, n_features: int) -> Any | None:
    """``HashingVectorizer(analyzer="char_wb", ngram_range=(min_n, max_n), n_features=n_features,
    alternate_sign=False, norm=None).transform`` of already preprocessed ``texts``, or None without numba."""
    kernels = _kernel()
    if kernels is None:
        return None
    char_wb, _, to_csr = kernels
    # scikit-learn collapses whitespace runs, splits into words and pads each with a space: the padded
    # words of a document one after the other are " w1  w2 ... "
    doc_words, pieces = [], []
    for text in texts:
        words = text.split()
        doc_words.append(len(words))
        if words:
            pieces.append(" " + "  ".join(words) + " ")
    joined = "".join(pieces)
    buf = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    # byte offset of every character (and one past the end): lead bytes are the ones not 0b10xxxxxx
    starts = np.flatnonzero((buf & 0xC0) != 0x80)
    starts = np.append(starts, buf.shape[0]).astype(np.int64)
    rows, cols = char_wb(buf, starts, np.asarray(doc_words, dtype=np.int64), min_n, max_n, n_features)
    return _csr(to_csr, rows, cols, len(texts), n_features)


def word_counts(texts: Sequence[str], pattern: re.Pattern[str], min_n: int, max_n: int,
                n_features: int) -> Any | None:
    """``HashingVectorizer(analyzer="word", token_pattern=pattern, ...)`` counts of preprocessed ``texts``."""
    kernels = _kernel()
    if kernels is None:
        return None
    _, word, to_csr = kernels
    joined = "".join(" ".join(pattern.findall(t)) + "\n" for t in texts)
    buf = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    rows, cols = word(buf, min_n, max_n, n_features, len(texts))
    return _csr(to_csr, rows, cols, len(texts), n_features)


def _csr(to_csr: Any, rows: Any, cols: Any, n_rows: int, n_features: int) -> Any:
    """The count matrix of the kernels' (row, column) pairs."""
    import scipy.sparse as sp

    indptr, indices, data = to_csr(rows, cols, n_rows, n_features)
    # canonical already (sorted indices, no duplicates): what FeatureHasher's sum_duplicates leaves
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
    X.has_sorted_indices = True
    return X


def _compiled_counts(vec: Any, normed: list[str]) -> Any | None:
    """The count matrix of a ``HashingVectorizer`` branch computed by the kernels, or None when the
    vectorizer is not one they reproduce."""
    from sklearn.feature_extraction.text import HashingVectorizer

    if not (type(vec) is HashingVectorizer and vec.preprocessor is normalize and vec.input == "content"
            and not vec.binary and vec.norm is None and not vec.alternate_sign and vec.dtype == np.float64
            and vec.tokenizer is None and vec.stop_words is None):
        return None
    if vec.analyzer == "char_wb":
        return char_wb_counts(normed, *vec.ngram_range, vec.n_features)
    if vec.analyzer == "word":
        pattern = re.compile(vec.token_pattern)
        if pattern.groups or " " in pattern.pattern:
            return None  # a group changes what findall returns; a space could join two tokens
        return word_counts(normed, pattern, *vec.ngram_range, vec.n_features)
    return None


def _safe_counts(vec: Any, normed: list[str]) -> Any | None:
    """:func:`_compiled_counts`, or None (scikit-learn takes over, with the same numbers) if numba cannot
    compile or cache here, e.g. in a read-only install without a writable cache directory."""
    try:
        return _compiled_counts(vec, normed)
    except Exception as exc:  # numba's errors have no common base class worth naming
        global _FAILED
        if not _FAILED:
            warnings.warn(f"compiled n-gram hashing unavailable ({type(exc).__name__}: {exc}); "
                          "scikit-learn computes the features (same values, slower)", RuntimeWarning, stacklevel=3)
            _FAILED = True
        return None


_FAILED = False


def features(union: Any, texts: Sequence[str]) -> Any:
    """``union.transform(texts)`` for a fitted ``FeatureUnion``, its char_wb and word hashing branches
    compiled (the others, and everything without numba, by scikit-learn)."""
    import scipy.sparse as sp
    from sklearn.pipeline import FeatureUnion, Pipeline

    if type(union) is not FeatureUnion or union.transformer_weights or _kernel() is None \
            or any(not isinstance(t, str) for t in texts):
        return union.transform(list(texts))
    blocks = []
    normed = [normalize(t) for t in texts]  # once for every branch
    for _, branch in union.transformer_list:
        compiled = type(branch) is Pipeline and [n for n, _ in branch.steps] == ["hash", "tfidf"]
        counts = _safe_counts(branch.named_steps["hash"], normed) if compiled else None
        blocks.append(branch.transform(list(texts)) if counts is None else branch.named_steps["tfidf"].transform(counts))
    return sp.hstack(blocks, format="csr")  # CSR blocks side by side directly: the same matrix, no COO detour


def predict_proba(pipeline: Any, texts: Sequence[str]) -> Any:
    """``pipeline.predict_proba(texts)`` for a ``features`` + ``clf`` pipeline, with :func:`features`."""
    steps = getattr(pipeline, "named_steps", {})
    if list(steps) != ["features", "clf"]:
        return pipeline.predict_proba(list(texts))
    return steps["clf"].predict_proba(features(steps["features"], texts))
