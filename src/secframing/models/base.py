"""The estimator interface every backend implements, and the model-directory format.

A model directory holds ``model.json`` (format, backend, tasks, the embedded label sets, config, file
hashes) plus the backend's own files. :func:`load_model` checks the label sets against
:mod:`secframing.labels` and the recorded hashes before anything is used.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from secframing.labels import FRAMING_LABELS, LabelSetError, check_labels

MODEL_FORMAT = "secframing-model"
FORMAT_VERSION = 1


class ModelLoadError(RuntimeError):
    """A model directory is missing, incomplete, tampered with or for other labels."""


@dataclass(frozen=True)
class Prediction:
    """One sentence's framing prediction."""

    label: str
    probs: dict[str, float]
    devices: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def score(self) -> float:
        """Probability of the predicted label."""
        return self.probs[self.label]


class SentenceModel(abc.ABC):
    """fit / predict / predict_proba / save / load, with the label set embedded."""

    backend: ClassVar[str]
    labels: tuple[str, ...] = FRAMING_LABELS
    tasks: tuple[str, ...] = ("framing",)
    devices: Any = None
    """Optional multi-label devices head (``predict_sets(texts)``, ``save(dir)``); see :meth:`with_devices`."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SentenceModel:  # pragma: no cover - per backend
        raise NotImplementedError(f"{self.backend} does not learn from data")

    @abc.abstractmethod
    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        """Full predictions (label, probabilities, devices, evidence) for each text."""

    def predict_one(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [p.label for p in self.predict_many(texts)]

    def predict_proba(self, texts: Sequence[str]) -> list[list[float]]:
        """Probabilities in the order of ``self.labels``."""
        return [[p.probs[label] for label in self.labels] for p in self.predict_many(texts)]

    def with_devices(self, texts: Sequence[str], preds: list[Prediction]) -> list[Prediction]:
        """Give the devices head's devices to the sentences predicted promotional (no-op without a head)."""
        if self.devices is None:
            return preds
        promo = [i for i, p in enumerate(preds) if p.label == "promotional"]
        out = list(preds)
        for i, devs in zip(promo, self.devices.predict_sets([texts[i] for i in promo])):
            out[i] = Prediction(out[i].label, out[i].probs, devs, out[i].evidence)
        return out

    def predictions_from_proba(self, proba: Any, classes: Sequence[str]) -> list[Prediction]:
        """Predictions from a classifier's probability rows (columns in ``classes``), every label of
        the model present (0 for a class the classifier never saw), rounded to 6 digits."""
        out = []
        for row in proba:
            probs = {lab: 0.0 for lab in self.labels}
            probs.update({str(c): float(p) for c, p in zip(classes, row)})
            out.append(Prediction(max(probs, key=probs.get), {k: round(v, 6) for k, v in probs.items()}))
        return out

    def write_meta(self, directory: Path, files: dict[str, str], extra_meta: dict[str, Any] | None = None,
                   **fields: Any) -> None:
        """Write ``model.json``: format, backend, tasks, the label sets, the model's labels, backend
        ``fields``, the sha256 of every saved file, time, and ``extra_meta`` (e.g. the experiment)."""
        from secframing.labels import label_schema
        from secframing.manifest import now_iso

        meta = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "backend": self.backend,
                "tasks": list(self.tasks), "labels": label_schema(), "model_labels": list(self.labels),
                **fields, "files": files, "created": now_iso(), **(extra_meta or {})}
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def save_devices(self, directory: Path, files: dict[str, str]) -> dict[str, Any] | None:
        """Save the devices head beside the model; adds its file hash to ``files``; returns its meta."""
        if self.devices is None:
            return None
        info = self.devices.save(directory)
        files[info["file"]] = info["sha256"]
        return info

    def load_devices(self, directory: Path, meta: dict[str, Any]) -> None:
        if meta.get("devices"):
            from secframing.models.tfidf import TfidfMultiLabel

            self.devices = TfidfMultiLabel.load(directory, meta["devices"])

    @abc.abstractmethod
    def save(self, directory: str | Path) -> Path:
        """Write a self-contained model directory."""

    @classmethod
    @abc.abstractmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> SentenceModel:
        """Rebuild from a directory whose ``model.json`` (``meta``) was already checked."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
        if sha256_bytes(path.read_bytes()) != digest:
            raise ModelLoadError(f"{path}: sha256 differs from model.json (file changed after saving)")
    return meta


BACKENDS: dict[str, tuple[str, str]] = {
    "lexicon": ("secframing.models.lexicon", "LexiconModel"),
    "tfidf": ("secframing.models.tfidf", "TfidfModel"),
    "embeddings": ("secframing.models.embeddings", "EmbeddingsModel"),
    "transformer": ("secframing.models.transformer", "TransformerModel"),
    "ensemble": ("secframing.models.ensemble", "EnsembleModel"),
    "layered_sentiment": ("secframing.models.layered", "LayeredSentimentModel"),
}
"""Saved backend name -> (module, class); modules are imported only when a model of theirs is opened
(torch and the sentence encoders are heavy)."""


def load_model(directory: str | Path) -> SentenceModel:
    """Open any saved model directory, dispatching on its backend."""
    import importlib

    directory = Path(directory)
    meta = read_model_meta(directory)
    backend = meta.get("backend")
    if backend not in BACKENDS:
        raise ModelLoadError(f"{directory}: unknown backend {backend!r}; known: {sorted(BACKENDS)}")
    module, name = BACKENDS[backend]
    return getattr(importlib.import_module(module), name).load(directory, meta)
