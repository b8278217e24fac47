"""A multi-label task (ArMPro's coarse persuasion classes) as a sentence model.

:class:`MultiLabelModel` wraps a multi-label classifier (one binary logistic regression per label on
shared TF-IDF features, :class:`~secframing.models.tfidf.TfidfMultiLabel`) and decodes its independent
per-label probabilities into a set. The task's empty-set label (:data:`secframing.labels.MULTILABEL_TASKS`,
e.g. ``no_technique``) has a classifier of its own: when its probability is at least every other label's,
the set is that label alone; otherwise it is every other label whose probability reaches the threshold
(the empty-set label when none does). Letting the empty-set classifier veto was better on ArAIEval 1B
dev (macro-F1 0.418 vs 0.407 with thresholds alone). The threshold is chosen on dev (:meth:`tune`).
A prediction's ``labels`` is the set, ``label`` its most probable member and ``probs`` every label's own
probability (they do not sum to 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from secframing.labels import MULTILABEL_TASKS, TASK_LABELS
from secframing.models.base import Prediction, SentenceModel, load_component
from secframing.models.io import save_components
from secframing.models.tfidf import TfidfConfig, TfidfMultiLabel

THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.10, 0.91, 0.05))
"""The grid :meth:`MultiLabelModel.tune` searches."""


class MultiLabelModel(SentenceModel):
    """Label sets from per-label probabilities and one threshold."""

    backend = "multilabel"

    def __init__(self, task: str, classifier: TfidfMultiLabel, threshold: float = 0.5):
        if task not in MULTILABEL_TASKS or MULTILABEL_TASKS[task] is None:
            valid = sorted(t for t, none in MULTILABEL_TASKS.items() if none is not None)
            raise ValueError(f"{task!r} is not a multi-label task with an empty-set label; valid: {valid}")
        if tuple(classifier.labels) != TASK_LABELS[task]:
            raise ValueError(f"classifier labels {list(classifier.labels)} are not {task}'s {list(TASK_LABELS[task])}")
        if not 0 < threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.task, self.labels = task, TASK_LABELS[task]
        self.none_label: str = MULTILABEL_TASKS[task]  # type: ignore[assignment]
        self.classifier, self.threshold = classifier, threshold

    @classmethod
    def tfidf(cls, task: str, config: TfidfConfig | None = None, seed: int = 0) -> MultiLabelModel:
        """An unfitted model on a TF-IDF multi-label classifier."""
        return cls(task, TfidfMultiLabel(TASK_LABELS[task], config, seed=seed, task=task))

    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[str]],  # type: ignore[override]
            sample_weight: Sequence[float] | None = None) -> MultiLabelModel:
        """Fit on texts and their label sets (each a list of this task's labels)."""
        unknown = sorted({lab for s in labels for lab in s} - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not {self.task} labels {list(self.labels)}")
        counts = {lab: sum(lab in s for s in labels) for lab in self.labels}
        one_sided = [lab for lab, n in counts.items() if n in (0, len(labels))]
        if one_sided:  # each label's logistic regression needs both classes
            raise ValueError(f"labels {one_sided} are on every or no training item ({counts}); "
                             "train on more rows (data.max_train)")
        self.classifier.fit(texts, labels, sample_weight)
        return self

    def decode(self, probs: np.ndarray, threshold: float | None = None) -> list[tuple[str, ...]]:
        """Label sets from probability rows (columns in ``labels``)."""
        t = self.threshold if threshold is None else threshold
        none = self.labels.index(self.none_label)
        out = []
        for row in probs:
            others = np.delete(row, none)
            chosen = () if row[none] >= others.max() else tuple(
                lab for lab, p in zip(self.labels, row) if lab != self.none_label and p >= t)
            out.append(chosen or (self.none_label,))
        return out

    def tune(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> dict[str, Any]:  # type: ignore[override]
        """Choose the threshold (:data:`THRESHOLDS`) with the best macro-F1 over the labels on dev."""
        from sklearn.metrics import f1_score
        from sklearn.preprocessing import MultiLabelBinarizer

        mlb = MultiLabelBinarizer(classes=list(self.labels))
        probs = self.classifier.predict_proba(list(texts))
        gold = mlb.fit_transform([list(s) for s in labels])
        scored = [(round(float(f1_score(gold, mlb.transform(self.decode(probs, t)), average="macro", zero_division=0)), 4),
                   -abs(t - 0.5), t) for t in THRESHOLDS]
        best = max(scored)  # ties go to the threshold nearest 0.5
        self.threshold = best[2]
        return {"threshold": best[2], "dev_macro_f1": best[0]}

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probs = self.classifier.predict_proba(list(texts))
        out = []
        for row, chosen in zip(probs, self.decode(probs)):
            p = {lab: round(float(v), 6) for lab, v in zip(self.labels, row)}
            top = max(chosen, key=lambda lab: p[lab])
            out.append(Prediction(top, p, labels=chosen))
        return out

    def predict_sets(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        return [p.labels for p in self.predict_many(texts)]

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        files = save_components(directory, {"classifier": self.classifier})
        return files, {"threshold": self.threshold, "none_label": self.none_label,
                       "components": {"classifier": "classifier"}}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> MultiLabelModel:
        return cls(meta["task"], load_component(directory, meta, "classifier", TfidfMultiLabel), meta["threshold"])
