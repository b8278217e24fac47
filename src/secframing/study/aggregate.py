"""Group estimates with bootstrap confidence intervals over articles: promotional share (raw, expected,
misclassification-adjusted), sentiment shares, and differences between groups.

Every function takes the article table of the study (one row per article with its per-label sentence
counts and probability sums) and resamples articles, the unit of sampling.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from secframing.labels import FRAMING_LABELS, SENTIMENT_LABELS, SENTIMENT_POLARITIES
from secframing.study.estimators import (
    FRAMING_SPEC,
    POLARITY_SPECS,
    BootstrapConfig,
    ErrorProfile,
    difference_ci,
    estimate,
    estimate_many,
)

COUNT_COLS = [f"n_{k}" for k in FRAMING_LABELS]
PROB_COLS = [f"sum_p_{k}" for k in FRAMING_LABELS]
SENT_COUNT_COLS = [f"n_{k}" for k in SENTIMENT_LABELS]
NONE = "(none)"


def groups_of(articles: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    """(group name, its articles) pairs; a list-valued column (``topics``) counts an article under
    each of its values; missing values are the group ``(none)``."""
    if by is None:
        return [("all", articles)]
    col = articles[by]
    if col.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        long = articles.assign(**{by: col.map(lambda v: list(v) if len(v) else [NONE])}).explode(by)
        return [(str(k), g) for k, g in long.groupby(by, sort=True)]
    df = articles.assign(**{by: col.map(lambda v: NONE if v is None or (isinstance(v, float) and np.isnan(v))
                                        else str(int(v)) if isinstance(v, float) else str(v))})
    return [(str(k), g) for k, g in df.groupby(by, sort=True)]


def aggregate(articles: pd.DataFrame, by: str | None, boot: BootstrapConfig,
              profile: ErrorProfile | None = None) -> pd.DataFrame:
    """One row per group (or one overall row when ``by`` is None) of the articles with content
    sentences: counts, the pooled promotional share with its CI (raw), the probability-weighted
    (expected) and misclassification-adjusted shares with theirs, and the mean of article shares."""
    df = articles[articles["n_content"] > 0]
    rows = []
    for key, g in groups_of(df, by) if len(df) else []:
        probs = g[PROB_COLS].to_numpy(float) if set(PROB_COLS) <= set(g.columns) else None
        est = estimate(g[COUNT_COLS].to_numpy(float), probs, profile, FRAMING_SPEC, boot)
        rows.append({"group_by": by or "all", "group": key, "n_articles": len(g),
                     "n_content_sentences": int(g["n_content"].sum()),
                     "n_promotional": int(g["n_promotional"].sum()),
                     "promotional_share": est["raw"], "ci_low": est["raw_lo"], "ci_high": est["raw_hi"],
                     "expected_share": est["expected"], "expected_ci_low": est["expected_lo"],
                     "expected_ci_high": est["expected_hi"],
                     "adjusted_share": est["adjusted"], "adjusted_ci_low": est["adjusted_lo"],
                     "adjusted_ci_high": est["adjusted_hi"],
                     "mean_article_share": float(g["promotional_share"].mean()),
                     "articles_with_any_promotional": int((g["n_promotional"] > 0).sum())})
    return pd.DataFrame(rows, columns=AGG_COLUMNS)


AGG_COLUMNS = ["group_by", "group", "n_articles", "n_content_sentences", "n_promotional", "promotional_share",
               "ci_low", "ci_high", "expected_share", "expected_ci_low", "expected_ci_high", "adjusted_share",
               "adjusted_ci_low", "adjusted_ci_high", "mean_article_share", "articles_with_any_promotional"]


def sentiment_aggregate(articles: pd.DataFrame, by: str | None, boot: BootstrapConfig,
                        profile: ErrorProfile | None = None) -> pd.DataFrame:
    """Positive and negative shares of all classified sentences per group (raw and adjusted, each with
    its CI), and the net tone (positive minus negative share, raw)."""
    df = articles[articles[SENT_COUNT_COLS].sum(axis=1) > 0] if set(SENT_COUNT_COLS) <= set(articles.columns) \
        else articles.iloc[0:0]
    rows = []
    for key, g in groups_of(df, by) if len(df) else []:
        counts = g[SENT_COUNT_COLS].to_numpy(float)
        row: dict[str, Any] = {"group_by": by or "all", "group": key, "n_articles": len(g),
                               "n_sentences": int(counts.sum())}
        for pol, est in zip(SENTIMENT_POLARITIES, estimate_many(counts, None, profile, POLARITY_SPECS, boot)):
            row.update({f"{pol}_share": est["raw"], f"{pol}_ci_low": est["raw_lo"], f"{pol}_ci_high": est["raw_hi"],
                        f"{pol}_adjusted": est["adjusted"], f"{pol}_adjusted_ci_low": est["adjusted_lo"],
                        f"{pol}_adjusted_ci_high": est["adjusted_hi"]})
        row["net_tone"] = row["positive_share"] - row["negative_share"]
        rows.append(row)
    return pd.DataFrame(rows, columns=SENT_COLUMNS)


SENT_COLUMNS = ["group_by", "group", "n_articles", "n_sentences",
                *[f"{p}_{s}" for p in SENTIMENT_POLARITIES
                  for s in ("share", "ci_low", "ci_high", "adjusted", "adjusted_ci_low", "adjusted_ci_high")],
                "net_tone"]


def contrasts(articles: pd.DataFrame, by: str, boot: BootstrapConfig, profile: ErrorProfile | None = None,
              mode: str = "pairs", min_articles: int = 5) -> pd.DataFrame:
    """Differences in promotional share between groups, raw and adjusted, with bootstrap CIs.

    ``mode="pairs"``: every pair of groups with at least ``min_articles`` articles (outlet vs outlet);
    ``mode="rest"``: each such group against all other articles (a topic against the other topics,
    fitting list-valued columns where an article can be in several groups). A CI that excludes 0 is
    a difference the data resolve at that confidence.
    """
    df = articles[articles["n_content"] > 0]
    groups = [(k, g) for k, g in groups_of(df, by) if len(g) >= min_articles and k != NONE] if len(df) else []
    if mode == "pairs":
        pairs = [((ka, ga), (kb, gb)) for (ka, ga), (kb, gb) in combinations(groups, 2)]
    elif mode == "rest":
        pairs = [((k, g), ("rest", df[~df["article_id"].isin(g["article_id"])])) for k, g in groups]
    else:
        raise ValueError(f"mode must be 'pairs' or 'rest', got {mode!r}")
    rows = []
    for (ka, ga), (kb, gb) in pairs:
        if len(gb) < 2:
            continue
        a, b = ga[COUNT_COLS].to_numpy(float), gb[COUNT_COLS].to_numpy(float)
        d = difference_ci(a, b, FRAMING_SPEC, boot, profile)
        rows.append({"group_by": by, "a": ka, "b": kb if mode == "pairs" else f"not {ka}",
                     "n_a": len(ga), "n_b": len(gb),
                     "share_a": float(ga["n_promotional"].sum() / ga["n_content"].sum()),
                     "share_b": float(gb["n_promotional"].sum() / gb["n_content"].sum()),
                     "difference": d["raw"], "ci_low": d["raw_lo"], "ci_high": d["raw_hi"],
                     "adjusted_difference": d["adjusted"], "adjusted_ci_low": d["adjusted_lo"],
                     "adjusted_ci_high": d["adjusted_hi"]})
    return pd.DataFrame(rows, columns=["group_by", "a", "b", "n_a", "n_b", "share_a", "share_b", "difference",
                                       "ci_low", "ci_high", "adjusted_difference", "adjusted_ci_low",
                                       "adjusted_ci_high"])
