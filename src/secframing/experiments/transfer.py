"""Transfer slices: how a model does away from the outlet, annotators and op-eds it was tuned on.

The gold's dev and test splits share outlets, annotators and seed op-eds with training, so the in-domain
scores reward one outlet's style. Every framing and sentiment run therefore also reports, with
article-clustered bootstrap CIs (sentences of one article are not independent):

- ``{dev,test}_no_seeds``: the split without the three seed op-eds (corpus articles only; under splits
  v2 the whole split, since the seeds are in none);
- ``test_seeds``: the seed op-eds (splits v2: all three, a test-only slice, ``TaskData.slices``; under
  splits v1 ``{dev,test}_seeds`` were the seeds of that split);
- ``loo_<outlet>``: a model refitted without any article of the outlet, scored on all of that outlet's
  gold sentences (leave-one-outlet-out; see the runner);
- ``darija_news_{dev,test}``: the team-written Darija news set's dev and test splits (clustered by item);
- ``darija_renderings``: Darija renderings of gold test sentences, with the sources' labels (clustered by
  source article): what the register alone costs (``secframing.annotate.darija``).

The headline is what the study reports. Framing: promotional against the rest (a predicted ``other``
counts as not promotional, since the study's share is promotional / (promotional + factual)), as binary
macro-F1 and promotional recall. Sentiment: three-class macro-F1 and negative F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import bootstrap

from secframing.labels import SENTIMENT_LABELS

SEED_PREFIX = "seed_"
"""Article ids of the seed op-eds (``../shared/seeds``)."""
SLICE_TASKS = ("framing", "sentiment")
SELECTION_SLICES = ("dev_no_seeds", "dev_seeds", "darija_news_dev")
"""Slices whose mean headline picks the best training seed (dev side only: test stays unseen;
``dev_seeds`` exists only for splits v1 runs)."""
REPORTED_SLICES = ("test_no_seeds", "test_seeds", "darija_news_test", "darija_renderings")


# counts in numpy rather than sklearn's f1_score: the clustered bootstrap calls these 1,000 times a slice
def _f1(tp: float, fp: float, fn: float) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _framing_scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Promotional vs rest: binary macro-F1 and the promotional class's precision, recall and F1."""
    g, p = gold == "promotional", pred == "promotional"
    tp, fp, fn, tn = (g & p).sum(), (~g & p).sum(), (g & ~p).sum(), (~g & ~p).sum()
    promo_f1, rest_f1 = _f1(tp, fp, fn), _f1(tn, fn, fp)
    scored = [f for f, present in ((promo_f1, g.any() or p.any()), (rest_f1, (~g).any() or (~p).any())) if present]
    return {"macro_f1": float(np.mean(scored)) if scored else 0.0,
            "promotional_recall": float(tp / g.sum()) if g.any() else float("nan"),
            "promotional_precision": float(tp / p.sum()) if p.any() else float("nan"),
            "promotional_f1": promo_f1}


def _sentiment_scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Three-class macro-F1 (over the classes present) and the negative class's F1 and recall."""
    f1s = {}
    for lab in SENTIMENT_LABELS:
        g, p = gold == lab, pred == lab
        if g.any() or p.any():
            f1s[lab] = _f1((g & p).sum(), (~g & p).sum(), (g & ~p).sum())
    neg = gold == "negative"
    return {"macro_f1": float(np.mean(list(f1s.values()))) if f1s else 0.0,
            "negative_f1": f1s.get("negative", 0.0),
            "negative_recall": float((neg & (pred == "negative")).sum() / neg.sum()) if neg.any() else float("nan")}


SCORERS = {"framing": _framing_scores, "sentiment": _sentiment_scores}
HEADLINE = {"framing": ("macro_f1", "promotional_recall"), "sentiment": ("macro_f1", "negative_f1")}
"""Per task: the slice's headline metric (selection and the RESULTS table) and its second figure."""


def slice_report(task: str, gold: Sequence[str], pred: Sequence[str], clusters: Sequence[str],
                 n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """A slice's scores with 95% percentile CIs from a bootstrap over articles (``clusters``)."""
    if task not in SCORERS:
        raise ValueError(f"no transfer slices for task {task!r}; valid: {list(SCORERS)}")
    g, p, c = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object), np.asarray(clusters, dtype=object)
    if not len(g) == len(p) == len(c):
        raise ValueError(f"gold, predictions and clusters differ in length: {len(g)}, {len(p)}, {len(c)}")
    score = SCORERS[task]
    point = score(g, p)
    ids, inverse = np.unique(c.astype(str), return_inverse=True)
    members = [np.flatnonzero(inverse == k) for k in range(len(ids))]
    report: dict[str, Any] = {"n": int(len(g)), "n_articles": int(len(ids)),
                              **({"n_promotional": int((g == "promotional").sum())} if task == "framing"
                                 else {"n_negative": int((g == "negative").sum())})}
    for name, value in point.items():
        report[name] = None if np.isnan(value) else round(value, 4)
    unit = "article"
    if len(ids) < 2:
        # one article (a seed op-ed): resample its sentences instead, and say so
        unit, members = "sentence", [np.array([i]) for i in range(len(g))]
    if len(members) >= 2 and n_resamples > 0:
        def stat(sample: np.ndarray, name: str) -> float:
            rows = np.concatenate([members[int(k)] for k in sample])
            return score(g[rows], p[rows])[name]

        for name in HEADLINE[task]:
            if report[name] is None:
                continue
            res = bootstrap((np.arange(len(members)),), lambda s, name=name: stat(s, name), vectorized=False,
                            n_resamples=n_resamples, confidence_level=0.95, method="percentile",
                            random_state=np.random.default_rng(seed))
            low, high = res.confidence_interval
            report[f"{name}_ci95"] = [None if np.isnan(low) else round(float(low), 4),
                                      None if np.isnan(high) else round(float(high), 4)]
    report["bootstrap"] = {"resamples": n_resamples, "seed": seed, "unit": unit}
    return report


def split_slices(split: str, article_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Row masks of a dev or test split: without the seed op-eds, and the seed op-eds alone."""
    seeds = np.array([str(a).startswith(SEED_PREFIX) for a in article_ids], dtype=bool)
    return {f"{split}_no_seeds": ~seeds, f"{split}_seeds": seeds}


def headline(task: str, report: dict[str, Any]) -> float | None:
    """The slice's headline figure (macro-F1 as defined for the task)."""
    return report.get(HEADLINE[task][0])


def mean_headline(task: str, reports: dict[str, dict[str, Any]], names: Sequence[str]) -> float | None:
    """Mean headline over the named slices that exist and could be scored (None if none could)."""
    values = [headline(task, reports[n]) for n in names if n in reports]
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


__all__ = ["HEADLINE", "REPORTED_SLICES", "SELECTION_SLICES", "SLICE_TASKS", "headline",
           "mean_headline", "slice_report", "split_slices"]
