"""Inter-annotator agreement per layer: Krippendorff's alpha and Cohen's kappa with bootstrap CIs.

Two passes over the same units (matched by ``unit`` or by article/field/offsets). Framing and sentiment
are nominal; devices are scored per device as binary decisions on the units both passes call
promotional, plus alpha over all (unit, device) decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from secframing.annotate.standoff import Annotation
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS


def key(a: Annotation) -> tuple[str, str, int, int]:
    return (a.article_id, a.field, a.start, a.end)


def pair_passes(first: Sequence[Annotation], second: Sequence[Annotation]) -> list[tuple[Annotation, Annotation]]:
    """Units annotated in both passes, in the first pass's order."""
    other = {key(a): a for a in second}
    return [(a, other[key(a)]) for a in first if key(a) in other]


def _alpha(x: Sequence[str], y: Sequence[str], labels: Sequence[str]) -> float:
    index = {lab: i for i, lab in enumerate(labels)}
    data = np.array([[index[v] for v in x], [index[v] for v in y]], dtype=float)
    if len(set(x) | set(y)) < 2:
        return float("nan")  # no variation: alpha is undefined
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _kappa(x: Sequence[str], y: Sequence[str], labels: Sequence[str]) -> float:
    if len(set(x) | set(y)) < 2:
        return float("nan")
    return float(cohen_kappa_score(x, y, labels=list(labels)))


def _boot(fn, x: Sequence[str], y: Sequence[str], labels: Sequence[str], n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    xa, ya = np.asarray(x), np.asarray(y)
    vals = []
    for _ in range(n):
        idx = rng.integers(0, len(xa), len(xa))
        v = fn(xa[idx].tolist(), ya[idx].tolist(), labels)
        if not np.isnan(v):
            vals.append(v)
    if not vals:
        return [float("nan"), float("nan")]
    return [round(float(np.percentile(vals, 2.5)), 4), round(float(np.percentile(vals, 97.5)), 4)]


def layer_agreement(x: Sequence[str], y: Sequence[str], labels: Sequence[str], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Alpha, kappa (with percentile bootstrap CIs over units), raw agreement and the confusion matrix."""
    return {
        "n": len(x),
        "krippendorff_alpha": round(_alpha(x, y, labels), 4),
        "alpha_ci95": _boot(_alpha, x, y, labels, n_boot, seed),
        "cohen_kappa": round(_kappa(x, y, labels), 4),
        "kappa_ci95": _boot(_kappa, x, y, labels, n_boot, seed),
        "raw_agreement": round(float(np.mean(np.asarray(x) == np.asarray(y))), 4) if len(x) else float("nan"),
        "confusion": {"labels": list(labels), "rows": "first pass", "cols": "second pass",
                      "matrix": confusion_matrix(x, y, labels=list(labels)).tolist()},
    }


def agreement(pairs: Sequence[tuple[Annotation, Annotation]], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Agreement on all three layers for paired annotations."""
    out: dict[str, Any] = {"units": len(pairs)}
    out["framing"] = layer_agreement([a.framing for a, _ in pairs], [b.framing for _, b in pairs], FRAMING_LABELS, n_boot, seed)
    content = [(a, b) for a, b in pairs]
    binary = lambda lab: lab == "promotional"  # noqa: E731 - the study's key contrast
    out["framing_promotional_vs_rest"] = layer_agreement(
        [str(binary(a.framing)) for a, _ in content], [str(binary(b.framing)) for _, b in content], ["True", "False"], n_boot, seed)
    out["sentiment"] = layer_agreement([a.sentiment for a, _ in pairs], [b.sentiment for _, b in pairs], SENTIMENT_LABELS, n_boot, seed)
    both_promo = [(a, b) for a, b in pairs if a.framing == b.framing == "promotional"]
    per_device = {}
    xs, ys = [], []
    for d in DEVICES:
        x = [str(d in a.devices) for a, _ in both_promo]
        y = [str(d in b.devices) for _, b in both_promo]
        xs += x
        ys += y
        per_device[d] = {"n": len(x), "first": x.count("True"), "second": y.count("True"),
                         "cohen_kappa": round(_kappa(x, y, ["True", "False"]), 4) if x else float("nan")}
    out["devices"] = {"units_both_promotional": len(both_promo),
                      "krippendorff_alpha_all_decisions": round(_alpha(xs, ys, ["True", "False"]), 4) if xs else float("nan"),
                      "alpha_ci95": _boot(_alpha, xs, ys, ["True", "False"], n_boot, seed) if xs else [float("nan")] * 2,
                      "per_device": per_device}
    return out
