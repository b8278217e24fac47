"""The estimator interface every backend implements.

A model predicts one task's labels (``labels``, embedded when saved and checked on load); saving writes
the backend's files (:meth:`SentenceModel.save_files`) and then ``model.json`` through
:func:`secframing.models.io.write_model_json`, the one writer. Devices are not the base class's business:
a model with a devices head is the composite :class:`secframing.models.devices.WithDevices`.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from secframing.labels import FRAMING_LABELS
from secframing.models.io import MODEL_FORMAT, ModelLoadError, read_model_meta, sha256_bytes, write_model_json

__all__ = ["MODEL_FORMAT", "ModelLoadError", "Prediction", "SavedModel", "SentenceModel", "load_model",
           "read_model_meta", "sha256_bytes"]

M = TypeVar("M", bound="SavedModel")

BACKENDS: dict[str, tuple[str, str]] = {
    "lexicon": ("secframing.models.lexicon", "LexiconModel"),
    "tfidf": ("secframing.models.tfidf", "TfidfModel"),
    "tfidf_multilabel": ("secframing.models.tfidf", "TfidfMultiLabel"),
    "embeddings": ("secframing.models.embeddings", "EmbeddingsModel"),
    "transformer": ("secframing.models.transformer", "TransformerModel"),
    "ensemble": ("secframing.models.ensemble", "EnsembleModel"),
    "devices": ("secframing.models.devices", "WithDevices"),
    "layered_sentiment": ("secframing.models.layered", "LayeredSentimentModel"),
    "student": ("secframing.models.student", "StudentModel"),
    "multilabel": ("secframing.models.multilabel", "MultiLabelModel"),
}
"""Saved backend name -> (module, class). A new backend is one module plus one line here; modules are
imported only when a model of theirs is opened (torch and the sentence encoders are heavy)."""



@dataclass(frozen=True)
class Prediction:
    """One sentence's prediction."""

    label: str
    probs: dict[str, float]
    devices: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    labels: tuple[str, ...] = ()
    """A multi-label model's predicted set (``label`` is its most probable member); empty otherwise."""

    @property
    def score(self) -> float:
        """Probability of the predicted label."""
        return self.probs[self.label]


class SavedModel(abc.ABC):
    """Anything saved as a model directory: a backend name, a task and its labels, save and load."""

    backend: ClassVar[str]
    labels: tuple[str, ...] = FRAMING_LABELS
    task: str = "framing"

    @property
    def tasks(self) -> tuple[str, ...]:
        """The label layers this model predicts (their label sets are checked on load)."""
        return (self.task,)

    def save(self, directory: str | Path, extra_meta: dict[str, Any] | None = None) -> Path:
        """Write a self-contained model directory: the backend's files, then ``model.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files, fields = self.save_files(directory)
        write_model_json(directory, self, files, fields, extra_meta)
        return directory

    @abc.abstractmethod
    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        """Write the backend's own files into ``directory``; return ``{file: sha256}`` and the fields
        :meth:`load` needs back from ``model.json``."""

    @classmethod
    @abc.abstractmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> SavedModel:
        """Rebuild from a directory whose ``model.json`` (``meta``) was already checked."""


class SentenceModel(SavedModel):
    """fit / predict / predict_proba / save / load, with the label set embedded."""

    uses_dev_in_fit: ClassVar[bool] = False
    """True for a backend whose ``fit`` takes ``dev=(texts, labels)`` (early stopping); the runner then
    passes the dev split."""
    training_log: Mapping[str, Any] = MappingProxyType({})
    """What the last fit recorded beyond the model (epochs run, dev scores per epoch); empty for most
    backends. The runner copies it into the run's per-seed metrics."""

    def fit(self, texts: Sequence[str], labels: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> SentenceModel:
        raise NotImplementedError(f"{self.backend} does not learn from data")

    def tune(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any] | None:
        """Choose settings on held-out (dev) sentences after fitting; returns what was chosen, or None for
        a model with nothing to tune (the default)."""
        return None

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

    def predictions_from_proba(self, proba: Any, classes: Sequence[str]) -> list[Prediction]:
        """Predictions from a classifier's probability rows (columns in ``classes``), every label of
        the model present (0 for a class the classifier never saw), rounded to 6 digits."""
        out = []
        for row in proba:
            probs = {lab: 0.0 for lab in self.labels}
            probs.update({str(c): float(p) for c, p in zip(classes, row)})
            out.append(Prediction(max(probs, key=probs.get), {k: round(v, 6) for k, v in probs.items()}))
        return out


def load_component(directory: Path, meta: Mapping[str, Any], name: str, kind: type[M]) -> M:
    """Open the component ``name`` of a composite model (its folder is recorded in ``components``)."""
    folder = meta.get("components", {}).get(name)
    if folder is None:
        raise ModelLoadError(f"{directory}/model.json: no component {name!r} in 'components'")
    return load_model(Path(directory) / folder, kind)


def load_model(directory: str | Path, kind: type[M] | None = None) -> M:
    """Open any saved model directory, dispatching on its backend; ``kind`` (default
    :class:`~secframing.models.base.SentenceModel`) is the class the model must be an instance of."""
    directory = Path(directory)
    meta = read_model_meta(directory)
    backend = meta.get("backend")
    if backend not in BACKENDS:
        raise ModelLoadError(f"{directory}: unknown backend {backend!r}; known: {sorted(BACKENDS)}")
    cls = _backend_class(backend)
    model = _load_v1(cls, directory, meta) if meta.get("format_version", 1) < 2 else cls.load(directory, meta)
    kind = kind or SentenceModel  # type: ignore[assignment]
    if not isinstance(model, kind):  # type: ignore[arg-type]
        raise ModelLoadError(f"{directory}: a {backend} model is not a {kind.__name__}")  # type: ignore[union-attr]
    return model


def _load_v1(cls: Any, directory: Path, meta: dict[str, Any]) -> Any:
    """Format 1 kept the devices head inside the learned model (``meta["devices"]``) and the ensemble
    used it for the sentences it called promotional without lexicon devices; rebuild the same
    behaviour as format 2's composition: ``WithDevices(framing model, head)``."""
    # classes through the backend table, not imports: the composites import this module
    with_devices = _backend_class("devices")
    if meta.get("backend") == "ensemble":
        lexicon = load_model(directory / meta["components"]["lexicon"])
        learned = load_model(directory / meta["components"]["learned"])
        head = learned.head if isinstance(learned, with_devices) else None
        learned = learned.framing if isinstance(learned, with_devices) else learned
        model = cls(lexicon, learned, meta.get("rule", "lexicon_promotional_override"))
        return with_devices(model, head) if head is not None else model
    model = cls.load(directory, meta)
    info = meta.get("devices")
    if info:
        return with_devices(model, _backend_class("tfidf_multilabel").from_v1(directory, info))
    return model


def _backend_class(backend: str) -> Any:
    module, name = BACKENDS[backend]
    return getattr(importlib.import_module(module), name)
