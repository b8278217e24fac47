"""Framing devices as a composition: a framing model plus a multi-label devices head.

:class:`WithDevices` wraps any framing model: the framing model decides the label, and every sentence it
calls promotional without devices of its own (the lexicon names the devices of the cues that fired) gets
the head's devices. It is saved like any other model, with its two parts in ``framing/`` and ``devices/``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from secframing.labels import DEVICES
from secframing.models.base import Prediction, SavedModel, SentenceModel, load_component
from secframing.models.io import save_components


class DevicesHead(SavedModel):
    """A multi-label classifier of the framing devices of promotional sentences."""

    labels = DEVICES
    task = "devices"

    @abc.abstractmethod
    def fit(self, texts: Sequence[str], label_sets: Sequence[Sequence[str]],
            sample_weight: Sequence[float] | None = None) -> DevicesHead:
        """Learn from promotional sentences and their device sets."""

    @abc.abstractmethod
    def predict_sets(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """The devices of each text, in the order of ``labels``."""


class WithDevices(SentenceModel):
    """A framing model whose promotional sentences get a devices head's devices."""

    backend = "devices"

    def __init__(self, framing: SentenceModel, head: DevicesHead):
        if "promotional" not in framing.labels:
            raise ValueError("the framing component must predict 'promotional'")
        self.framing, self.head = framing, head
        self.labels, self.task = framing.labels, framing.task

    @property
    def tasks(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(dict.fromkeys((*self.framing.tasks, "devices")))

    def fit(self, texts: Sequence[str], labels: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> WithDevices:
        """Fit the framing component (the head is fitted on its own data, see the runner)."""
        self.framing.fit(texts, labels, sample_weight)
        return self

    def tune(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any] | None:
        return self.framing.tune(texts, labels)

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        preds = self.framing.predict_many(texts)
        need = [i for i, p in enumerate(preds) if p.label == "promotional" and not p.devices]
        for i, devs in zip(need, self.head.predict_sets([texts[i] for i in need])):
            preds[i] = Prediction(preds[i].label, preds[i].probs, devs, preds[i].evidence)
        return preds

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        files = save_components(directory, {"framing": self.framing, "devices": self.head})
        return files, {"components": {"framing": "framing", "devices": "devices"}}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> WithDevices:
        return cls(load_component(directory, meta, "framing", SentenceModel),
                   load_component(directory, meta, "devices", DevicesHead))
