"""Per-process memory of values computed from files, keyed by the files' path, size and modification time.

Reading the shared corpus and hydrating the gold set take seconds, and a test session or an experiment
sweep asks for them many times. :class:`FileStampedCache` keeps the last value per key together with the
stamps of the files it was computed from, and computes again as soon as one of those files changes,
appears or disappears. Callers return copies of the cached value (see :func:`copy_frame`), so nobody
can change what the next caller gets.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from threading import Lock
from typing import Generic, TypeVar

import pandas as pd

T = TypeVar("T")

Stamp = tuple[tuple[str, int, int] | tuple[str, None, None], ...]


def file_stamps(paths: Iterable[str | Path]) -> Stamp:
    """``(path, size, mtime_ns)`` of each file, ``(path, None, None)`` for one that does not exist."""
    out: list[tuple[str, int, int] | tuple[str, None, None]] = []
    for p in paths:
        try:
            st = os.stat(p)
        except FileNotFoundError:
            out.append((str(p), None, None))
        else:
            out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


class FileStampedCache(Generic[T]):
    """The last value computed per key, reused while the stamps of its input files are unchanged."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[Stamp, T]] = {}
        self._lock = Lock()
        self.misses = 0
        """How many times a value was computed (for tests and diagnostics)."""

    def get(self, key: Hashable, files: Iterable[str | Path], compute: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``compute()`` when there is none or ``files`` changed since.

        The stamps are taken before computing, so a file changed while it is being read is read again
        next time.
        """
        stamp = file_stamps(files)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        value = compute()
        with self._lock:
            self._entries[key] = (stamp, value)
            self.misses += 1
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def copy_frame(df: pd.DataFrame, list_columns: Iterable[str] = ()) -> pd.DataFrame:
    """A deep copy of ``df``, including fresh lists in ``list_columns`` (``DataFrame.copy`` shares the
    Python objects of object columns; it does deep-copy ``attrs``)."""
    out = df.copy(deep=True)
    for col in list_columns:
        if col in out.columns:
            fresh = [list(v) if isinstance(v, list) else v for v in out[col]]
            out[col] = pd.Series(fresh, index=out.index, dtype=object)
    return out
