"""Prevalence estimators that correct for classifier error, with bootstrap CIs over articles.

A share is ``sum(numerator labels) / sum(denominator labels)`` over the sentences of a group of articles
(the promotional share is promotional / (promotional + factual)). Three estimates are kept side by side:

* **raw** (classify and count): predicted labels counted as if they were true;
* **expected** (probabilistic classify and count): each sentence contributes its predicted
  probabilities, which is unbiased when the probabilities are calibrated;
* **adjusted** (misclassification-adjusted, "adjusted classify and count"): the predicted label
  distribution ``q`` of a group relates to its true distribution ``p`` by ``q = Mᵀ p``, where
  ``M[i, j] = P(predicted j | gold i)`` is estimated from the model's held-out gold split. The estimate
  is ``p = (Mᵀ)⁻¹ q``, clipped at 0 and renormalised (Buonaccorsi 2010, ch. 3; Forman 2008).

Intervals are percentile bootstrap intervals resampling articles (the sampling unit). For the adjusted
estimate each replicate also resamples the gold sentences behind ``M`` independently, so the interval
carries the uncertainty of the error rates too (it is wide when the gold split holds few examples of a
class).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from secframing.labels import (
    CONTENT_LABELS,
    FRAMING_LABELS,
    SENTIMENT_LABELS,
    SENTIMENT_POLARITIES,
)

NAN3 = (float("nan"), float("nan"), float("nan"))


@dataclass(frozen=True)
class BootstrapConfig:
    """Bootstrap settings shared by every interval of a run (``[bootstrap]`` in a study config)."""

    n_resamples: int = 2000
    """Resamples per interval."""
    seed: int = 20261122
    """Seed of every interval's resampling (each interval restarts from it)."""
    confidence: float = 0.95
    """Confidence level of the percentile intervals."""

    def __post_init__(self) -> None:
        if self.n_resamples < 100:
            raise ValueError("n_resamples must be at least 100 for a usable interval")
        if not 0.5 < self.confidence < 1:
            raise ValueError("confidence must be between 0.5 and 1")


@dataclass(frozen=True)
class ShareSpec:
    """Which labels make the numerator and the denominator of a share, in the order of ``labels``."""

    labels: tuple[str, ...]
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]

    def __post_init__(self) -> None:
        if not set(self.numerator) <= set(self.denominator) <= set(self.labels):
            raise ValueError("numerator labels must be in the denominator, and both in labels")

    @property
    def num_mask(self) -> np.ndarray:
        return np.array([lab in self.numerator for lab in self.labels], dtype=float)

    @property
    def den_mask(self) -> np.ndarray:
        return np.array([lab in self.denominator for lab in self.labels], dtype=float)


FRAMING_SPEC = ShareSpec(FRAMING_LABELS, ("promotional",), CONTENT_LABELS)
"""The promotional share: promotional / (promotional + factual) sentences."""


POLARITY_SPECS = tuple(ShareSpec(SENTIMENT_LABELS, (pol,), SENTIMENT_LABELS) for pol in SENTIMENT_POLARITIES)
"""The positive and negative shares of all sentiment-classified sentences (``SENTIMENT_POLARITIES`` order)."""


@dataclass(frozen=True)
class ErrorProfile:
    """A classifier's behaviour on held-out gold sentences: gold and predicted label codes and the
    predicted probabilities, in the order of ``labels``."""

    labels: tuple[str, ...]
    gold: np.ndarray
    pred: np.ndarray
    probs: np.ndarray
    source: str
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n(self) -> int:
        return len(self.gold)

    @property
    def codes(self) -> np.ndarray:
        """Each gold sentence's confusion cell, ``gold * k + pred`` (cheap to resample)."""
        return self.gold * len(self.labels) + self.pred

    def confusion(self) -> np.ndarray:
        """Counts, rows = gold, columns = predicted."""
        return confusion_counts(self.gold, self.pred, len(self.labels))


def confusion_counts(gold: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """Confusion counts (rows gold, columns predicted); leading axes of ``gold``/``pred`` are batches.

    >>> confusion_counts(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), 3).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    return code_counts(np.asarray(gold) * k + np.asarray(pred), k)


def code_counts(codes: np.ndarray, k: int) -> np.ndarray:
    """Confusion counts from cell codes ``gold * k + pred`` (leading axes are batches)."""
    codes = np.asarray(codes)
    batch = codes.shape[:-1]
    flat = codes.reshape(-1, codes.shape[-1])
    offsets = (np.arange(flat.shape[0]) * k * k)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * k * k)
    return counts.reshape(*batch, k, k)


def error_rates(confusion: np.ndarray) -> np.ndarray:
    """Row-normalised confusion ``M[i, j] = P(pred j | gold i)``. A gold class with no example gives
    an identity row: with no evidence of its errors, none are assumed."""
    confusion = np.asarray(confusion, dtype=float)
    rows = confusion.sum(axis=-1, keepdims=True)
    eye = np.broadcast_to(np.eye(confusion.shape[-1]), confusion.shape)
    return np.where(rows > 0, confusion / np.where(rows > 0, rows, 1.0), eye)


def adjusted_prevalence(pred_counts: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Misclassification-adjusted label distribution from predicted-label counts (batched on leading axes).

    Solves ``q = Mᵀ p`` (least squares if ``M`` is singular), clips negative
    proportions to 0 and renormalises, as adjusted classify-and-count does.

    >>> conf = np.array([[80, 20], [10, 90]])          # 80% recall, 10% false-positive rate
    >>> adjusted_prevalence(np.array([17, 83]), conf).round(3).tolist()   # q = 0.8 p + 0.1 (1 - p)
    [0.1, 0.9]
    """
    q = np.asarray(pred_counts, dtype=float)
    total = q.sum(axis=-1, keepdims=True)
    q = q / np.where(total > 0, total, np.nan)
    mt = np.swapaxes(error_rates(confusion), -1, -2)
    try:
        p = np.linalg.solve(mt, np.nan_to_num(q)[..., None])[..., 0]
    except np.linalg.LinAlgError:  # a singular M (two gold classes predicted alike): least squares
        p = (np.linalg.pinv(mt) @ np.nan_to_num(q)[..., None])[..., 0]
    p = np.where(np.isnan(q), np.nan, p)
    p = np.clip(p, 0.0, None)
    s = p.sum(axis=-1, keepdims=True)
    return p / np.where(s > 0, s, np.nan)


def share_of(dist: np.ndarray, spec: ShareSpec) -> np.ndarray:
    """``numerator / denominator`` of label distributions or counts (last axis = labels)."""
    dist = np.asarray(dist, dtype=float)
    den = dist @ spec.den_mask
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dist @ spec.num_mask) / den


RESAMPLE_BUDGET = 20_000_000
"""Values one batch of bootstrap resamples may hold (160 MB of float64): on an archive of millions of
articles the batch shrinks, so memory stays flat instead of growing with resamples × articles."""


def _batch(data: tuple[np.ndarray, ...]) -> int:
    """Resamples per batch: 500, or fewer where 500 copies of ``data`` would pass the budget."""
    size = sum(np.asarray(d).size for d in data)
    return max(1, min(500, RESAMPLE_BUDGET // max(size, 1)))


def _intervals(data: tuple[np.ndarray, ...], statistic: Any, boot: BootstrapConfig, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap intervals of a (vector-valued) statistic; one row per output."""
    with warnings.catch_warnings():
        # a group whose every resample gives the same share (e.g. no promotional sentence at all) has
        # a degenerate bootstrap distribution; its interval is reported as that single value below
        warnings.simplefilter("ignore")
        res = bootstrap(data, statistic, paired=paired, vectorized=True, n_resamples=boot.n_resamples,
                        confidence_level=boot.confidence, method="percentile", batch=_batch(data),
                        random_state=np.random.default_rng(boot.seed))
    lo = np.atleast_1d(np.asarray(res.confidence_interval.low, dtype=float)).copy()
    hi = np.atleast_1d(np.asarray(res.confidence_interval.high, dtype=float)).copy()
    dist = np.asarray(res.bootstrap_distribution, dtype=float).reshape(len(lo), -1)
    for r in range(len(lo)):
        if np.isnan(lo[r]) and np.isnan(hi[r]) and dist.shape[1] and np.all(dist[r] == dist[r, 0]):
            lo[r] = hi[r] = dist[r, 0]
    return lo, hi


def estimate_many(counts: np.ndarray, prob_sums: np.ndarray | None, profile: ErrorProfile | None,
                  specs: Sequence[ShareSpec], boot: BootstrapConfig) -> list[dict[str, float]]:
    """Raw, expected and adjusted estimates of several shares of one group, each with its CI, from one
    bootstrap: every replicate resamples the articles (and, for the adjusted estimates, the gold
    sentences), and every estimate is computed on that same replicate. NaN marks what is unavailable."""
    k = len(specs[0].labels)
    counts = np.asarray(counts, dtype=float).reshape(-1, k)
    probs = None if prob_sums is None else np.asarray(prob_sums, dtype=float).reshape(-1, k)
    conf = profile.confusion() if profile is not None else None
    kinds = ["raw"] + (["expected"] if probs is not None else []) + (["adjusted"] if conf is not None else [])

    def values(q: np.ndarray, qp: np.ndarray | None, c: np.ndarray | None) -> list[np.ndarray]:
        out = []
        for spec in specs:
            out.append(share_of(q, spec))
            if qp is not None:
                out.append(share_of(qp, spec))
            if c is not None:
                with np.errstate(invalid="ignore", divide="ignore"):
                    out.append(share_of(adjusted_prevalence(q, c), spec))
        return out

    with np.errstate(invalid="ignore", divide="ignore"):
        points = [float(v) for v in values(counts.sum(0), None if probs is None else probs.sum(0), conf)]
    lo = hi = np.full(len(points), np.nan)
    if len(counts) >= 2 and counts.sum() > 0:
        codes = profile.codes if profile is not None else None

        def stat(i: np.ndarray, *j: np.ndarray, axis: int = -1) -> np.ndarray:
            c = code_counts(codes[j[0]], k) if codes is not None else None
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.stack(values(counts[i].sum(axis=-2), None if probs is None else probs[i].sum(axis=-2), c))

        data = (np.arange(len(counts)),) + ((np.arange(profile.n),) if profile is not None else ())
        lo, hi = _intervals(data, stat, boot, paired=False)
    results: list[dict[str, float]] = []
    it = iter(range(len(points)))
    for _ in specs:
        row = {f"{n}{s}": float("nan") for n in ("raw", "expected", "adjusted") for s in ("", "_lo", "_hi")}
        for kind in kinds:
            r = next(it)
            row[kind], row[f"{kind}_lo"], row[f"{kind}_hi"] = points[r], float(lo[r]), float(hi[r])
            if np.isnan(points[r]):
                row[f"{kind}_lo"] = row[f"{kind}_hi"] = float("nan")
        results.append(row)
    return results


def estimate(counts: np.ndarray, prob_sums: np.ndarray | None, profile: ErrorProfile | None,
             spec: ShareSpec, boot: BootstrapConfig) -> dict[str, float]:
    """The three estimates of one share for one group, each with its CI (NaN where unavailable)."""
    return estimate_many(counts, prob_sums, profile, [spec], boot)[0]


def raw_share_ci(counts: np.ndarray, spec: ShareSpec, boot: BootstrapConfig) -> tuple[float, float, float]:
    """Classify-and-count share of per-article label counts with its bootstrap CI over articles.

    >>> raw_share_ci(np.array([[1, 3, 0], [0, 5, 2], [2, 2, 1]]), ShareSpec(("p", "f", "o"), ("p",), ("p", "f")), BootstrapConfig(200))[0]
    0.23076923076923078
    """
    e = estimate(counts, None, None, spec, boot)
    return (e["raw"], e["raw_lo"], e["raw_hi"])


def adjusted_share_ci(counts: np.ndarray, profile: ErrorProfile, spec: ShareSpec,
                      boot: BootstrapConfig) -> tuple[float, float, float]:
    """Misclassification-adjusted share of per-article predicted-label counts, with a bootstrap CI
    that resamples articles and, independently, the gold sentences behind the error rates."""
    e = estimate(counts, None, profile, spec, boot)
    return (e["adjusted"], e["adjusted_lo"], e["adjusted_hi"])


def difference_ci(counts_a: np.ndarray, counts_b: np.ndarray, spec: ShareSpec, boot: BootstrapConfig,
                  profile: ErrorProfile | None = None) -> dict[str, float]:
    """Share of group A minus share of group B, raw and (with ``profile``) adjusted, each with a
    bootstrap CI: each group's articles are resampled independently, and the gold sentences once per
    replicate for both groups (they share the error rates)."""
    k = len(spec.labels)
    a = np.asarray(counts_a, dtype=float).reshape(-1, k)
    b = np.asarray(counts_b, dtype=float).reshape(-1, k)
    out = {f"{n}{s}": float("nan") for n in ("raw", "adjusted") for s in ("", "_lo", "_hi")}
    if (a @ spec.den_mask).sum() == 0 or (b @ spec.den_mask).sum() == 0:
        return out
    conf = profile.confusion() if profile is not None else None

    def values(qa: np.ndarray, qb: np.ndarray, c: np.ndarray | None) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            v = [share_of(qa, spec) - share_of(qb, spec)]
            if c is not None:
                v.append(share_of(adjusted_prevalence(qa, c), spec) - share_of(adjusted_prevalence(qb, c), spec))
        return np.stack(v)

    points = values(a.sum(0), b.sum(0), conf)
    lo = hi = np.full(len(points), np.nan)
    if len(a) >= 2 and len(b) >= 2:
        codes = profile.codes if profile is not None else None

        def stat(i: np.ndarray, j: np.ndarray, *t: np.ndarray, axis: int = -1) -> np.ndarray:
            c = code_counts(codes[t[0]], k) if codes is not None else None
            return values(a[i].sum(axis=-2), b[j].sum(axis=-2), c)

        data = (np.arange(len(a)), np.arange(len(b))) + ((np.arange(profile.n),) if profile is not None else ())
        lo, hi = _intervals(data, stat, boot, paired=False)
    for r, name in enumerate(["raw", "adjusted"][:len(points)]):
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = float(points[r]), float(lo[r]), float(hi[r])
    return out


def reliability_table(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10,
                      strategy: str = "uniform") -> pd.DataFrame:
    """Calibration of one class's probabilities: bins of ``prob`` (``uniform`` over [0, 1], or
    ``quantile`` with ties merged), each non-empty bin with its count, mean probability, observed
    frequency of ``y_true`` and Wilson 95% interval (wide where a bin holds few sentences).

    >>> t = reliability_table(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]), 2)
    >>> t[["n", "mean_p", "observed"]].to_dict("records")
    [{'n': 2, 'mean_p': 0.15000000000000002, 'observed': 0.0}, {'n': 2, 'mean_p': 0.8500000000000001, 'observed': 1.0}]
    """
    from scipy.stats import binomtest

    y_true, prob = np.asarray(y_true, dtype=float), np.asarray(prob, dtype=float)
    ok = ~np.isnan(prob)
    y_true, prob = y_true[ok], prob[ok]
    cols = ["bin", "n", "mean_p", "observed", "ci_low", "ci_high"]
    if len(prob) == 0:
        return pd.DataFrame(columns=cols)
    if strategy == "quantile":
        edges = np.unique(np.quantile(prob, np.linspace(0, 1, n_bins + 1)))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    idx = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for b in np.unique(idx):
        m = idx == b
        n, pos = int(m.sum()), float(y_true[m].sum())
        wilson = binomtest(int(pos), n).proportion_ci(confidence_level=0.95, method="wilson")
        rows.append({"bin": int(b), "n": n, "mean_p": float(prob[m].mean()), "observed": pos / n,
                     "ci_low": float(wilson.low), "ci_high": float(wilson.high)})
    return pd.DataFrame(rows, columns=cols)


# -- loading a model's error profile ----------------------------------------------------------------

class ProfileUnavailable(RuntimeError):
    """The model directory has no usable held-out predictions; the corrected estimates are skipped."""


def load_error_profile(model_dir: str | Path, labels: Sequence[str], split: str = "test") -> ErrorProfile:
    """Read ``predictions_<split>.jsonl`` (``split`` may be ``dev+test``) of a model directory and
    check it against the confusion matrix that ``metrics.json`` reports for that split."""
    model_dir = Path(model_dir)
    splits = split.split("+")
    code = {lab: i for i, lab in enumerate(labels)}
    gold: list[int] = []
    pred: list[int] = []
    probs: list[list[float]] = []
    try:
        metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        metrics = {}
    except json.JSONDecodeError as exc:
        raise ProfileUnavailable(f"{model_dir / 'metrics.json'}: malformed JSON: {exc.msg}") from None
    for name in splits:
        path = model_dir / f"predictions_{name}.jsonl"
        if not path.exists():
            raise ProfileUnavailable(f"{path} not found: no held-out predictions to estimate the error rates")
        n_before = len(gold)
        with open(path, encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                row = json.loads(line)
                if row.get("gold") not in code or row.get("label") not in code:
                    raise ProfileUnavailable(f"{path}:{line_no}: labels {row.get('gold')!r}/{row.get('label')!r} "
                                             f"are not in {list(labels)}")
                gold.append(code[row["gold"]])
                pred.append(code[row["label"]])
                probs.append([float(row.get("probs", {}).get(lab, np.nan)) for lab in labels])
        reported = metrics.get(name, {}).get("confusion")
        if reported:
            order = [reported["labels"].index(lab) for lab in labels]
            want = np.asarray(reported["matrix"])[np.ix_(order, order)]
            got = confusion_counts(np.array(gold[n_before:]), np.array(pred[n_before:]), len(labels))
            if not np.array_equal(want, got):
                raise ProfileUnavailable(f"{path} disagrees with the {name} confusion matrix in metrics.json")
    if not gold:
        raise ProfileUnavailable(f"{model_dir}: the {split} predictions are empty")
    split_metrics = {name: metrics.get(name, {}) for name in splits}
    return ErrorProfile(tuple(labels), np.array(gold), np.array(pred), np.array(probs),
                        ", ".join(str(model_dir / f"predictions_{s}.jsonl") for s in splits), split_metrics)
