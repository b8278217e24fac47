"""Matplotlib figures with correctly shaped right-to-left Arabic labels."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the study runs on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from secframing.labels import DEVICES  # noqa: E402

ARABIC_FONT = "DejaVu Sans"  # ships with matplotlib and covers the Arabic block

DEVICE_AR = {"superlative": "المبالغة", "metaphor": "الاستعارة التمجيدية", "leader_credit": "نسب الفضل للقائد",
             "external_validation": "الإشادة الخارجية", "national_pride": "الاعتزاز الوطني",
             "rhetorical_question": "السؤال البلاغي", "effectiveness_claim": "ادعاء الفعالية", "contrast": "المقارنة"}


def ar(text: str) -> str:
    """Shape and reorder Arabic for renderers without complex-script support (matplotlib).

    >>> ar("abc")
    'abc'
    """
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(str(text)))


def _style() -> None:
    plt.rcParams.update({"font.family": ARABIC_FONT, "figure.dpi": 110, "axes.spines.top": False,
                         "axes.spines.right": False})


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def share_by_group(agg: pd.DataFrame, by: str, title_ar: str, path: Path) -> Path:
    """Horizontal bars of the pooled promotional share per group with 95% CI whiskers."""
    _style()
    df = agg[agg["group_by"] == by].sort_values("promotional_share")
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(df), 3) + 1.4))
    y = np.arange(len(df))
    share = df["promotional_share"].to_numpy() * 100
    lo = np.nan_to_num(share - df["ci_low"].to_numpy() * 100)
    hi = np.nan_to_num(df["ci_high"].to_numpy() * 100 - share)
    ax.barh(y, share, color="#c0392b", alpha=0.8)
    ax.errorbar(share, y, xerr=[lo, hi], fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_yticks(y, [f"{g} (n={n})" for g, n in zip(df["group"], df["n_articles"])])
    ax.set_xlabel("promotional share of content sentences, %  —  " + ar("نسبة الجمل الترويجية"))
    ax.set_title(ar(title_ar))
    ax.set_xlim(0, max(10, float(np.nanmax(share + hi)) * 1.15 if len(df) else 10))
    return _save(fig, path)


def monthly_series(agg: pd.DataFrame, path: Path) -> Path:
    """Monthly pooled share with its 95% CI band."""
    _style()
    df = agg[(agg["group_by"] == "month") & (agg["group"] != "(none)")].sort_values("group")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if len(df):
        x = pd.to_datetime(df["group"] + "-01")
        ax.plot(x, df["promotional_share"] * 100, marker="o", color="#c0392b")
        ax.fill_between(x, df["ci_low"].fillna(df["promotional_share"]) * 100,
                        df["ci_high"].fillna(df["promotional_share"]) * 100, color="#c0392b", alpha=0.2)
    else:
        ax.text(0.5, 0.5, "no dated articles", ha="center", transform=ax.transAxes)
    ax.set_ylabel("%")
    ax.set_title(ar("تطور الحصة الترويجية شهريا") + "  —  monthly promotional share (95% CI)")
    fig.autofmt_xdate()
    return _save(fig, path)


def device_counts(sentences: pd.DataFrame, path: Path) -> Path:
    """How often each framing device occurs in promotional sentences."""
    _style()
    counts = {d: int(sentences["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES} if len(sentences) else {d: 0 for d in DEVICES}
    order = sorted(DEVICES, key=lambda d: counts[d])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.barh(range(len(order)), [counts[d] for d in order], color="#8e44ad")
    ax.set_yticks(range(len(order)), [f"{ar(DEVICE_AR[d])}  {d}" for d in order])
    ax.set_xlabel("sentences")
    ax.set_title(ar("أدوات التأطير في الجمل الترويجية") + "  —  framing devices")
    return _save(fig, path)
