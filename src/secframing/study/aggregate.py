"""Article promotional shares and group aggregates with bootstrap confidence intervals over articles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import bootstrap


def _ratio(promo: np.ndarray, content: np.ndarray, axis: int = -1) -> np.ndarray:
    return promo.sum(axis=axis) / content.sum(axis=axis)


def share_ci(promo: np.ndarray, content: np.ndarray, n_resamples: int, seed: int,
             confidence: float = 0.95) -> tuple[float, float, float]:
    """Pooled promotional share (promotional / content sentences) and its percentile bootstrap CI,
    resampling articles (the unit of sampling) rather than sentences.

    >>> share_ci(np.array([1, 0, 2]), np.array([4, 5, 4]), 200, 0)[0]
    0.23076923076923078
    """
    promo = np.asarray(promo, dtype=float)
    content = np.asarray(content, dtype=float)
    if content.sum() == 0:
        return (float("nan"), float("nan"), float("nan"))
    point = float(promo.sum() / content.sum())
    if len(promo) < 2:
        return (point, float("nan"), float("nan"))
    res = bootstrap((promo, content), _ratio, paired=True, vectorized=True, n_resamples=n_resamples,
                    confidence_level=confidence, method="percentile", random_state=np.random.default_rng(seed))
    return (point, float(res.confidence_interval.low), float(res.confidence_interval.high))


def aggregate(articles: pd.DataFrame, by: str | None, n_resamples: int, seed: int,
              confidence: float = 0.95) -> pd.DataFrame:
    """One row per group (or one overall row when ``by`` is None) of the relevant articles with
    content sentences: counts, pooled share with CI, and the mean of article shares."""
    df = articles[articles["n_content"] > 0]
    groups: list[tuple[Any, pd.DataFrame]]
    if by is None:
        groups = [("all", df)]
    else:
        df = df.assign(**{by: df[by].fillna("(none)")})
        groups = list(df.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        share, lo, hi = share_ci(g["n_promotional"].to_numpy(), g["n_content"].to_numpy(), n_resamples, seed, confidence)
        rows.append({"group_by": by or "all", "group": str(key), "n_articles": len(g),
                     "n_content_sentences": int(g["n_content"].sum()),
                     "n_promotional": int(g["n_promotional"].sum()),
                     "promotional_share": share, "ci_low": lo, "ci_high": hi,
                     "mean_article_share": float(g["promotional_share"].mean()),
                     "articles_with_any_promotional": int((g["n_promotional"] > 0).sum())})
    return pd.DataFrame(rows)
