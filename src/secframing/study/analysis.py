"""Regression of articles' promotional share on outlet, topic and year (statsmodels).

Model: a binomial GLM (logit link) on article-level counts, promotional out of content sentences, with
heteroskedasticity-robust (sandwich, HC1 by default) standard errors. Robust errors make the intervals
valid when sentences of one article are correlated (overdispersion), which they are: an op-ed is
promotional throughout. Coefficients are reported as odds ratios against a reference level (the level
with most articles). Outcomes are the model's predicted labels, so effects are attenuated by classifier
error, not inflated; the report says so.

Small data are handled, not hidden: levels with fewer than ``min_articles`` articles, and levels with no
promotional or no factual sentence (no finite odds ratio: separation), are pooled into one "other" level;
if that pooled level still lacks an outcome its articles are left out; a factor left with a single level
is dropped, and so is a term collinear with earlier ones; when too little remains the regression is
skipped with the reason. Every such step is listed in the result's notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

OTHER = "other (pooled)"


@dataclass(frozen=True)
class RegressionConfig:
    enabled: bool = True
    factors: tuple[str, ...] = ("outlet", "topic", "year")
    """Article columns used as categorical predictors (``topic`` is the primary topic)."""
    min_articles: int = 5
    """Levels with fewer articles (with content sentences) are pooled into one "other" level."""
    min_total_articles: int = 20
    min_promotional: int = 5
    """Below this many articles or promotional sentences in all, the regression is skipped."""
    cov_type: str = "HC1"

    def __post_init__(self) -> None:
        if self.cov_type not in ("HC0", "HC1", "HC2", "HC3", "nonrobust"):
            raise ValueError("cov_type must be HC0, HC1, HC2, HC3 or nonrobust")
        if self.min_articles < 1 or self.min_total_articles < 2:
            raise ValueError("min_articles must be >= 1 and min_total_articles >= 2")


@dataclass
class RegressionResult:
    fitted: bool
    reason: str | None
    table: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


TABLE_COLUMNS = ["term", "factor", "level", "reference", "n_articles", "n_content", "n_promotional", "coef",
                 "se", "z", "p_value", "odds_ratio", "or_ci_low", "or_ci_high"]


def _as_level(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "(none)"
    return str(int(v)) if isinstance(v, float) else str(v)


def pool_levels(values: pd.Series, min_articles: int) -> pd.Series:
    """Replace levels with fewer than ``min_articles`` rows by one pooled level.

    >>> pool_levels(pd.Series(["a", "a", "a", "b", "c"]), 2).tolist()
    ['a', 'a', 'a', 'other (pooled)', 'other (pooled)']
    """
    counts = values.value_counts()
    small = set(counts[counts < min_articles].index)
    return values.where(~values.isin(small), OTHER)


def _reference(values: pd.Series) -> str:
    """The level with most articles (ties: alphabetical), preferring a real level over the pooled one."""
    counts = values.value_counts()
    real = counts.drop(OTHER, errors="ignore")
    pick = real if len(real) else counts
    return str(sorted(pick[pick == pick.max()].index)[0])


def fit_promotional_regression(articles: pd.DataFrame, config: RegressionConfig | None = None) -> RegressionResult:
    """Fit the regression on articles with content sentences; never raises on small or degenerate data
    (``fitted`` is False and ``reason`` says why)."""
    cfg = config or RegressionConfig()
    empty = pd.DataFrame(columns=TABLE_COLUMNS)
    if not cfg.enabled:
        return RegressionResult(False, "disabled in the config (regression.enabled = false)", empty)
    try:
        import statsmodels.api as sm
    except ImportError:
        return RegressionResult(False, "statsmodels is not installed (pip install statsmodels)", empty)
    df = articles[articles["n_content"] > 0].copy()
    notes: list[str] = []
    missing = [f for f in cfg.factors if f not in df.columns]
    if missing:
        return RegressionResult(False, f"article table lacks the factor column(s) {missing}", empty)
    for f in cfg.factors:
        df[f] = pool_levels(df[f].map(_as_level), cfg.min_articles)
        pooled = sorted(set(articles.loc[articles["n_content"] > 0, f].map(_as_level)) - set(df[f]))
        if pooled:
            notes.append(f"{f}: levels with fewer than {cfg.min_articles} articles pooled into '{OTHER}': "
                         + ", ".join(pooled))
    # a level without both outcomes has no finite odds ratio: pool it with the small levels; if the pooled
    # level itself lacks an outcome, leave its articles out. Both are listed in the notes.
    for f in cfg.factors:
        sums = df.groupby(f)[["n_promotional", "n_factual"]].sum()
        empty_levels = sorted(lev for lev, r in sums.iterrows()
                              if lev != OTHER and (r["n_promotional"] == 0 or r["n_factual"] == 0))
        if empty_levels and len(sums) > 1:
            df[f] = df[f].where(~df[f].isin(empty_levels), OTHER)
            notes.append(f"{f}: levels without any promotional (or factual) sentence pooled into '{OTHER}': "
                         + ", ".join(empty_levels))
        pooled = df[df[f] == OTHER]
        if len(pooled) and (pooled["n_promotional"].sum() == 0 or pooled["n_factual"].sum() == 0) \
                and df[f].nunique() > 1:
            notes.append(f"{f} = {OTHER}: {len(pooled)} article(s) left out, no promotional (or no factual) "
                         "sentence in the pooled level, so its odds ratio is not estimable")
            df = df[df[f] != OTHER]
    factors = [f for f in cfg.factors if df[f].nunique() > 1]
    # in config order: iterating a set of names would order the notes by the run's string hash seed
    notes += [f"{f}: dropped, a single level remains" for f in cfg.factors if f not in factors]
    n_art, n_promo = len(df), int(df["n_promotional"].sum()) if len(df) else 0
    info: dict[str, Any] = {"n_articles": n_art, "n_content": int(df["n_content"].sum()) if n_art else 0,
                            "n_promotional": n_promo, "factors": factors, "cov_type": cfg.cov_type,
                            "notes": notes, "model": "binomial GLM, logit link: promotional of content sentences "
                            "per article ~ " + (" + ".join(factors) or "1")}
    if n_art < cfg.min_total_articles:
        return RegressionResult(False, f"only {n_art} articles with content sentences remain "
                                f"(needs {cfg.min_total_articles})", empty, info)
    if n_promo < cfg.min_promotional:
        return RegressionResult(False, f"only {n_promo} promotional sentences (needs {cfg.min_promotional})",
                                empty, info)
    if not factors:
        return RegressionResult(False, "no factor has two levels with enough articles", empty, info)

    refs = {f: _reference(df[f]) for f in factors}
    info["reference"] = refs
    blocks = []
    for f in factors:
        levels = [refs[f]] + sorted(set(df[f]) - {refs[f]}, key=lambda v: (v == OTHER, v))
        dummies = pd.get_dummies(pd.Categorical(df[f], categories=levels), dtype=float).iloc[:, 1:]
        dummies.columns = [f"{f}[{lev}]" for lev in levels[1:]]
        blocks.append(dummies.set_axis(df.index))
    exog = sm.add_constant(pd.concat(blocks, axis=1), has_constant="add")
    # a level that coincides with levels of another factor (every 2021 article is on terrorism) makes the
    # design singular: keep the first of such columns and say which were dropped
    keep: list[str] = []
    for col in exog.columns:
        if np.linalg.matrix_rank(exog[keep + [col]].to_numpy()) == len(keep) + 1:
            keep.append(col)
        else:
            notes.append(f"{col}: dropped, collinear with the terms before it (its articles are explained by them)")
    exog = exog[keep]
    endog = df[["n_promotional", "n_factual"]].to_numpy(float)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sm.GLM(endog, exog, family=sm.families.Binomial()).fit(cov_type=cfg.cov_type)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return RegressionResult(False, f"the model could not be fitted: {exc}", empty, info)
    problems = [str(w.message) for w in caught if "separation" in str(w.message).lower()
                or "converge" in str(w.message).lower()]
    if not res.converged or problems or not np.all(np.isfinite(res.bse)):
        return RegressionResult(False, "the fit did not converge to finite estimates"
                                + (f" ({problems[0]})" if problems else ""), empty, info)

    conf = res.conf_int()
    rows = []
    for term in exog.columns:
        factor, level = (term.split("[", 1)[0], term.split("[", 1)[1].rstrip("]")) if "[" in term else ("", "")
        in_level = df[df[factor] == level] if factor else df[np.logical_and.reduce(
            [df[f] == refs[f] for f in factors])]
        rows.append({"term": "intercept (all references)" if term == "const" else term, "factor": factor,
                     "level": level, "reference": refs.get(factor, ""), "n_articles": len(in_level),
                     "n_content": int(in_level["n_content"].sum()),
                     "n_promotional": int(in_level["n_promotional"].sum()),
                     "coef": float(res.params[term]), "se": float(res.bse[term]), "z": float(res.tvalues[term]),
                     "p_value": float(res.pvalues[term]), "odds_ratio": float(np.exp(res.params[term])),
                     "or_ci_low": float(np.exp(conf.loc[term, 0])), "or_ci_high": float(np.exp(conf.loc[term, 1]))})
    info.update({"df_model": int(res.df_model), "df_resid": int(res.df_resid), "deviance": float(res.deviance),
                 "pearson_dispersion": float(res.pearson_chi2 / res.df_resid) if res.df_resid > 0 else float("nan"),
                 "pseudo_r2_mcfadden": float(res.pseudo_rsquared(kind="mcf")), "llf": float(res.llf),
                 "aic": float(res.aic)})
    return RegressionResult(True, None, pd.DataFrame(rows, columns=TABLE_COLUMNS), info, str(res.summary()))
