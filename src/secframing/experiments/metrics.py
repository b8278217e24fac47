"""Classification metrics: macro-F1 first, per-class scores, and bootstrap 95% confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import bootstrap
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> float:
    return float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0))


def bootstrap_ci(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
                 n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of macro-F1 over sentences (scipy's paired bootstrap)."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if len(t) < 2:
        return (float("nan"), float("nan"))
    res = bootstrap((t, p), lambda a, b: macro_f1(a, b, labels), paired=True, vectorized=False,
                    n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                    random_state=np.random.default_rng(seed))
    return (round(float(res.confidence_interval.low), 4), round(float(res.confidence_interval.high), 4))


def classification_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str],
                          n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Macro-F1 with its CI, per-class precision/recall/F1/support and the confusion matrix.

    Macro-F1 averages over the labels that occur in the gold or the predictions (``labels_scored``):
    a class absent from both says nothing about the model and would only pull the mean to zero.
    """
    labels = list(labels)
    scored = [lab for lab in labels if lab in set(y_true) | set(y_pred)]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": len(y_true),
        "macro_f1": round(macro_f1(y_true, y_pred, scored), 4),
        "macro_f1_ci95": list(bootstrap_ci(y_true, y_pred, scored, n_resamples, seed)),
        "labels_scored": scored,
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(labels)},
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist()},
        "bootstrap": {"resamples": n_resamples, "seed": seed, "method": "percentile"},
    }


def multilabel_report(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], labels: Sequence[str]) -> dict[str, Any]:
    """Micro and macro F1 over devices plus per-device scores."""
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=list(labels))
    t = mlb.fit_transform(y_true)
    p = mlb.transform(y_pred)
    pr, rc, f, s = precision_recall_fscore_support(t, p, zero_division=0)
    return {
        "micro_f1": round(float(f1_score(t, p, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(t, p, average="macro", zero_division=0)), 4),
        "per_label": {lab: {"precision": round(float(pr[i]), 4), "recall": round(float(rc[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(labels)},
    }


def multilabel_classification_report(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]],
                                     labels: Sequence[str], n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """A multi-label task's scores: macro-F1 over the labels (the headline) and micro-F1, each with a
    percentile bootstrap CI over items, and per-label precision/recall/F1/support (``per_class``)."""
    from sklearn.preprocessing import MultiLabelBinarizer

    mlb = MultiLabelBinarizer(classes=list(labels))
    t, p = mlb.fit_transform([list(x) for x in y_true]), mlb.transform([list(x) for x in y_pred])
    rep = multilabel_report(y_true, y_pred, labels)
    out: dict[str, Any] = {"n": len(t), "macro_f1": rep["macro_f1"], "micro_f1": rep["micro_f1"]}
    for average in ("macro", "micro"):
        ci: list[float | None] = [None, None]
        if len(t) >= 2 and n_resamples > 0:
            res = bootstrap((np.arange(len(t)),),
                            lambda i, a=average: f1_score(t[i], p[i], average=a, zero_division=0),
                            vectorized=False, n_resamples=n_resamples, confidence_level=0.95,
                            method="percentile", random_state=np.random.default_rng(seed))
            ci = [round(float(res.confidence_interval.low), 4), round(float(res.confidence_interval.high), 4)]
        out[f"{average}_f1_ci95"] = ci
    out["labels_scored"] = list(labels)
    out["per_class"] = rep["per_label"]
    out["bootstrap"] = {"resamples": n_resamples, "seed": seed, "method": "percentile", "unit": "item"}
    return out


def expected_calibration_error(y_true: Sequence[str], probs: Sequence[dict[str, float]], n_bins: int = 10) -> float:
    """ECE of the top-label probability (equal-width bins), the usual calibration summary.

    >>> expected_calibration_error(["a", "b"], [{"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0}])
    0.0
    """
    conf = np.array([max(p.values()) for p in probs])
    pred = [max(p, key=p.get) for p in probs]
    correct = np.array([t == q for t, q in zip(y_true, pred)], dtype=float)
    return _binned_ece(conf, correct, n_bins)


def _binned_ece(conf: np.ndarray, outcome: np.ndarray, n_bins: int) -> float:
    """Sum over equal-width probability bins of (share of forecasts) x |mean forecast - mean outcome|."""
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - outcome[mask].mean())
    return round(float(ece), 4)


def multilabel_ece(y_true: Sequence[Sequence[str]], probs: Sequence[dict[str, float]], labels: Sequence[str],
                   n_bins: int = 10) -> float:
    """ECE of a multi-label model's per-label probabilities: every (item, label) pair is one binary
    forecast, binned by its probability (equal-width bins).

    >>> multilabel_ece([["a"]], [{"a": 1.0, "b": 0.0}], ["a", "b"])
    0.0
    """
    p = np.array([[row[lab] for lab in labels] for row in probs], dtype=float).ravel()
    y = np.array([[lab in set(gold) for lab in labels] for gold in y_true], dtype=float).ravel()
    return _binned_ece(p, y, n_bins)
