"""Progress of long steps: a tqdm bar on a terminal, a plain line every few seconds in logs and CI.

A bar redrawn with carriage returns is unreadable in a CI log or a ``nohup`` file, and a silent job of
an hour looks hung; :class:`Progress` picks one or the other from ``stream.isatty()``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

DEFAULT_INTERVAL = 30.0
"""Seconds between log lines when not on a terminal (``SECFRAMING_PROGRESS_INTERVAL`` overrides it)."""


def _interval() -> float:
    try:
        return float(os.environ.get("SECFRAMING_PROGRESS_INTERVAL", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL


def format_duration(seconds: float) -> str:
    """``1:02:03`` / ``2:03``."""
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts work done on one step and shows it with rate and ETA (ETA only when ``total`` is known).

    ``enabled=False`` shows nothing (``--quiet``); ``interval`` is the seconds between log lines off a
    terminal. Use as a context manager, or call :meth:`close`, so that the last count is shown.
    """

    def __init__(self, desc: str, total: int | None = None, unit: str = "it", enabled: bool = True,
                 interval: float | None = None, stream: IO[str] | None = None, unit_bytes: bool = False):
        self.desc, self.total, self.unit, self.enabled = desc, total, unit, enabled
        self.unit_bytes = unit_bytes
        """Counts are bytes: shown in MB (the log line) or scaled units (the bar)."""
        self.interval = _interval() if interval is None else interval
        self.stream = stream or sys.stderr
        self.n = 0
        self._t0 = self._last = time.monotonic()
        self._bar: Any = None
        if enabled and _isatty(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="B" if unit_bytes else unit, unit_scale=unit_bytes,
                             file=self.stream, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._log(now)

    def line(self, now: float | None = None) -> str:
        """The log line: count, rate and (with a total) percentage and ETA."""
        elapsed = max((now or time.monotonic()) - self._t0, 1e-9)
        def shown(count: float) -> str:  # MB with one decimal for bytes, whole counts otherwise
            return f"{count / 1e6:,.1f}" if self.unit_bytes else f"{int(count):,}"

        unit = "MB" if self.unit_bytes else self.unit
        rate = self.n / elapsed / (1e6 if self.unit_bytes else 1.0)
        n = shown(self.n)
        if self.total:
            eta = (self.total - self.n) / (self.n / elapsed) if self.n > 0 else float("inf")
            eta_s = format_duration(eta) if eta != float("inf") else "?"
            return (f"{self.desc}: {n}/{shown(self.total)} {unit} ({100 * self.n / self.total:.0f}%), "
                    f"{rate:,.1f} {unit}/s, elapsed {format_duration(elapsed)}, ETA {eta_s}")
        return f"{self.desc}: {n} {unit}, {rate:,.1f} {unit}/s, elapsed {format_duration(elapsed)}"

    def _log(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        else:
            self._log(time.monotonic())
        self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
