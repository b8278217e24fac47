"""A fast student: hashed word (and optionally character) n-gram TF-IDF with a logistic regression
learned from soft targets, the probabilities a teacher gave (knowledge distillation, Hinton et al. 2015).

scikit-learn's logistic regression takes hard labels only, so a row with target distribution ``p`` is
given once per class ``c`` with sample weight ``w * p[c]``: the weighted log-loss is then exactly the
cross-entropy against ``p``. Hard labels are the one-hot special case, so :meth:`StudentModel.fit` is an
ordinary classifier fit. Prediction and saving (skops) are the TF-IDF backend's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from secframing.labels import FRAMING_LABELS
from secframing.models.tfidf import TfidfConfig, TfidfModel, _slim, build_pipeline

DEFAULT_TFIDF = TfidfConfig(features="word", hashing_features=2**18, class_weight=None)
"""Word n-grams only (character n-grams are most of a TF-IDF model's prediction time), no class
weights (soft targets carry the teacher's balance)."""

MIN_TARGET = 1e-3
"""Soft-target mass below this is dropped (fewer rows, the same fit to three decimals)."""


def one_hot(labels: Sequence[str], label_set: Sequence[str]) -> np.ndarray:
    """Hard labels as target distributions over ``label_set`` (raises on a label outside it)."""
    unknown = sorted(set(labels) - set(label_set))
    if unknown:
        raise ValueError(f"labels {unknown} are not in the model's label set {list(label_set)}")
    index = {lab: i for i, lab in enumerate(label_set)}
    out = np.zeros((len(labels), len(label_set)))
    out[np.arange(len(labels)), [index[lab] for lab in labels]] = 1.0
    return out


def soft_rows(n: int, targets: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row index, class index, sample weight) of the expanded fit: each row once per class it gives
    at least :data:`MIN_TARGET` of its mass to."""
    if targets.ndim != 2 or len(targets) != n or len(weight) != n:
        raise ValueError(f"targets must be ({n}, k) and weight ({n},), got {targets.shape} and {weight.shape}")
    rows, cols = np.nonzero(targets >= MIN_TARGET)
    return rows, cols, weight[rows] * targets[rows, cols]


class StudentModel(TfidfModel):
    """The TF-IDF backend fitted on target distributions (prediction, saving and loading are its own)."""

    backend = "student"

    def __init__(self, config: TfidfConfig | None = None, labels: Sequence[str] = FRAMING_LABELS,
                 task: str = "framing", seed: int = 0):
        super().__init__(config or DEFAULT_TFIDF, labels, task, seed)

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None) -> StudentModel:
        """An ordinary fit on hard labels (one-hot targets)."""
        return self.fit_soft(texts, one_hot(labels, self.labels), sample_weight)

    def fit_soft(self, texts: Sequence[str], targets: Any, sample_weight: Sequence[float] | None = None) -> StudentModel:
        """Fit on target distributions: ``targets[i]`` is row i's probability over ``self.labels``."""
        texts = list(texts)
        targets = np.asarray(targets, dtype=float)
        weight = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        pipe = build_pipeline(self.config, self.seed)
        features = pipe.named_steps["features"].fit(texts)
        rows, cols, w = soft_rows(len(texts), targets, weight)
        X = features.transform(texts)[rows]
        y = np.asarray(self.labels, dtype=object)[cols]
        clf: LogisticRegression = pipe.named_steps["clf"]
        clf.fit(X, y, sample_weight=w)
        self.pipeline = _slim(pipe)
        return self
