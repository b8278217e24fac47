"""The model-directory format: the one place that writes and reads ``model.json``, saves and loads skops
files, and saves composite models' components (:func:`secframing.models.base.load_model` opens them).

A model directory holds ``model.json`` (format, backend, tasks, the embedded label sets, the model's own
labels, backend fields, the sha256 of every file it lists) plus the backend's files. A composite model
(ensemble, devices, layered sentiment) keeps each component in a subfolder with its own ``model.json``;
the parent lists the components' ``model.json`` hashes, so a changed file anywhere is found on load.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from secframing.labels import LabelSetError, check_labels, label_schema
from secframing.manifest import now_iso, sha256_file

MODEL_FORMAT = "secframing-model"
FORMAT_VERSION = 2
"""2: a devices head is a component of a ``devices`` composite (1: it lived inside the learned model,
still read by :func:`load_model`)."""

SAFE_SKOPS_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "secframing.text.normalize.")
"""The only types a skops file may hold: scikit-learn, numpy, scipy, and the text normaliser."""

class ModelLoadError(RuntimeError):
    """A model directory is missing, incomplete, tampered with or for other labels."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_model_json(directory: Path, model: Any, files: Mapping[str, str], fields: Mapping[str, Any] | None = None,
                     extra_meta: Mapping[str, Any] | None = None) -> Path:
    """Write ``model.json``: format, backend, tasks, the label sets, the model's labels, backend
    ``fields``, the sha256 of every saved file, the time, and ``extra_meta`` (e.g. the experiment)."""
    meta = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "backend": model.backend,
            "tasks": list(model.tasks), "labels": label_schema(), "model_labels": list(model.labels),
            "task": model.task, **(fields or {}), "files": dict(files), "created": now_iso(), **(extra_meta or {})}
    path = Path(directory) / "model.json"
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def read_model_meta(directory: str | Path) -> dict[str, Any]:
    """Read and check ``model.json``: format, label sets, and the hashes of the files it lists."""
    directory = Path(directory)
    meta_path = directory / "model.json"
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: model directory not found")
    if not meta_path.exists():
        raise ModelLoadError(f"{directory}: no model.json; not a secframing model directory")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"{meta_path}: malformed JSON: {exc.msg}") from None
    if meta.get("format") != MODEL_FORMAT:
        raise ModelLoadError(f"{meta_path}: format is {meta.get('format')!r}, expected {MODEL_FORMAT!r}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelLoadError(f"{meta_path}: format_version {meta['format_version']} is newer than this secframing reads")
    try:
        check_labels(meta.get("labels", {}), meta.get("tasks", ["framing"]), str(meta_path))
    except LabelSetError as exc:
        raise ModelLoadError(str(exc)) from None
    for name, digest in meta.get("files", {}).items():
        path = directory / name
        if not path.exists():
            raise ModelLoadError(f"{directory}: file {name} listed in model.json is missing")
        if sha256_file(path) != digest:
            raise ModelLoadError(f"{path}: sha256 differs from model.json (file changed after saving)")
    return meta


def dump_skops(obj: Any, path: Path) -> str:
    """Save a scikit-learn object with skops (never pickle); returns the file's sha256."""
    import skops.io as sio

    sio.dump(obj, path)
    return sha256_file(path)


def load_skops(path: Path) -> Any:
    """Load a skops file, trusting only sklearn/numpy/scipy types (and our normaliser)."""
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=path)
    unsafe = [t for t in untrusted if not t.startswith(SAFE_SKOPS_PREFIXES)]
    if unsafe:
        raise ModelLoadError(f"{path}: refuses to load types outside sklearn/numpy/scipy: {unsafe}")
    return sio.load(path, trusted=untrusted)


def save_components(directory: Path, components: Mapping[str, Any]) -> dict[str, str]:
    """Save each component model in ``directory/NAME`` (replacing an earlier save, whose stale files
    would otherwise stay unlisted); returns ``{NAME/model.json: sha256}`` for the parent's file list."""
    files = {}
    for name, model in components.items():
        sub = Path(directory) / name
        if sub.exists():
            shutil.rmtree(sub)
        model.save(sub)
        files[f"{name}/model.json"] = sha256_file(sub / "model.json")
    return files
