"""Matplotlib figures with correctly shaped right-to-left Arabic labels.

Matplotlib from 3.11 shapes and orders complex scripts itself (libraqm); older versions draw glyphs
left to right without shaping, so there :func:`ar` shapes (``arabic-reshaper``) and reorders
(``python-bidi``) every Arabic string first. Doing both would reverse the text twice.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import font_manager, ft2font
from matplotlib.figure import Figure

from secframing.labels import DEVICES, SENTIMENT_POLARITIES

ARABIC_FONT = "DejaVu Sans"
"""Figures use DejaVu Sans: it ships with matplotlib and covers Arabic, so figures look the same everywhere."""
ARABIC_FONT_FILES = ("Amiri-Regular.ttf", "NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Regular.otf",
                     "NotoSansArabic-Regular.ttf", "ScheherazadeNew-Regular.ttf", "KacstOne.ttf")
"""Dedicated Arabic fonts the HTML report embeds when one is installed (first found wins)."""

DEVICE_AR = {"superlative": "المبالغة", "metaphor": "الاستعارة التمجيدية", "leader_credit": "نسب الفضل للقائد",
             "external_validation": "الإشادة الخارجية", "national_pride": "الاعتزاز الوطني",
             "rhetorical_question": "السؤال البلاغي", "effectiveness_claim": "ادعاء الفعالية", "contrast": "المقارنة"}


def matplotlib_shapes_text() -> bool:
    """Whether this matplotlib lays out complex scripts itself (built with libraqm)."""
    return bool(getattr(ft2font, "__libraqm_version__", ""))


def ar(text: str, shaped_by_renderer: bool | None = None) -> str:
    """Arabic ready for matplotlib: unchanged where matplotlib shapes text itself, otherwise shaped into
    presentation forms and put in visual (left-to-right) order.

    >>> ar("abc")
    'abc'
    >>> ar("لا", shaped_by_renderer=False) == "\ufefb"   # lam-alef ligature
    True
    """
    if shaped_by_renderer is None:
        shaped_by_renderer = matplotlib_shapes_text()
    if shaped_by_renderer:
        return str(text)
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(str(text)))


@lru_cache(maxsize=1)
def arabic_font_file() -> str | None:
    """Path of the first installed dedicated Arabic font, or None (looks in the system font folders
    directly: matplotlib's font cache may predate the font's installation)."""
    found = {Path(p).name: p for p in font_manager.findSystemFonts()}
    for name in ARABIC_FONT_FILES:
        if name in found:
            return found[name]
    return None


def _style() -> None:
    matplotlib.rcParams.update({"font.family": ARABIC_FONT, "figure.dpi": 110, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.titlesize": 11})


def _subplots(*grid: int, figsize: tuple[float, float], **kw):  # type: ignore[no-untyped-def]
    """A pyplot-free figure (drawn with Agg when saved), so importing or plotting never changes the
    caller's backend, e.g. a notebook's inline one."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, **kw)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    return path


def _whiskers(mid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    return [np.nan_to_num(np.clip(mid - lo, 0, None)), np.nan_to_num(np.clip(hi - mid, 0, None))]


RAW_COLOR, ADJ_COLOR = "#c0392b", "#2c3e50"


def share_by_group(agg: pd.DataFrame, by: str, title_ar: str, path: Path,
                   names: dict[str, str] | None = None, title_en: str = "") -> Path:
    """Promotional share per group with 95% CI whiskers: raw (classify and count) and
    misclassification-adjusted side by side. ``names`` maps group keys to display labels."""
    _style()
    df = agg[(agg["group_by"] == by) & (agg["group"] != "(none)")].sort_values("promotional_share")
    fig, ax = _subplots(figsize=(7.5, 0.5 * max(len(df), 3) + 1.6))
    y = np.arange(len(df))
    series = [("raw", "promotional_share", "ci_low", "ci_high", RAW_COLOR, "o", -0.15)]
    if "adjusted_share" in df and df["adjusted_share"].notna().any():
        series.append(("adjusted", "adjusted_share", "adjusted_ci_low", "adjusted_ci_high", ADJ_COLOR, "s", 0.15))
    right = 10.0
    for label, col, lo, hi, color, marker, dy in series:
        mid = df[col].to_numpy(float) * 100
        err = _whiskers(mid, df[lo].to_numpy(float) * 100, df[hi].to_numpy(float) * 100)
        ax.errorbar(mid, y + dy, xerr=err, fmt=marker, color=color, ecolor=color, capsize=3, lw=1.2, label=label)
        if len(mid):
            right = max(right, float(np.nanmax(np.where(np.isnan(mid + err[1]), 0, mid + err[1]))))
    labels = [(names or {}).get(g, g) for g in df["group"]]
    ax.set_yticks(y, [f"{ar(lab)} (n={n})" for lab, n in zip(labels, df["n_articles"])])
    ax.set_xlabel("promotional share of content sentences, %\n" + ar("نسبة الجمل الترويجية من جمل المحتوى"))
    ax.set_title((f"{title_en}\n" if title_en else "") + ar(title_ar))
    ax.set_xlim(0, min(100, right * 1.1))
    ax.grid(axis="x", alpha=0.3)
    if len(series) > 1:
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    return _save(fig, path)


def monthly_series(agg: pd.DataFrame, path: Path, min_articles: int = 1) -> Path:
    """Monthly pooled share with its 95% CI band, raw and adjusted, for months with at least
    ``min_articles`` articles; months without enough data leave a gap instead of a joining line."""
    _style()
    df = agg[(agg["group_by"] == "month") & (agg["group"] != "(none)") & (agg["n_articles"] >= min_articles)]
    fig, ax = _subplots(figsize=(8.5, 3.9))
    if len(df):
        df = df.assign(when=pd.to_datetime(df["group"] + "-01")).set_index("when").sort_index()
        full = pd.date_range(df.index.min(), df.index.max(), freq="MS")
        df = df.reindex(full)                             # NaN rows break the lines at the gaps
        for label, col, lo, hi, color in (("raw", "promotional_share", "ci_low", "ci_high", RAW_COLOR),
                                          ("adjusted", "adjusted_share", "adjusted_ci_low", "adjusted_ci_high", ADJ_COLOR)):
            if col not in df or df[col].isna().all():
                continue
            mid = df[col].to_numpy(float) * 100
            ax.errorbar(df.index, mid, yerr=_whiskers(mid, df[lo].to_numpy(float) * 100, df[hi].to_numpy(float) * 100),
                        fmt="o-", ms=3, lw=1.2, elinewidth=0.6, capsize=2, color=color, label=label)
            ax.fill_between(df.index, df[lo].fillna(df[col]) * 100, df[hi].fillna(df[col]) * 100, color=color, alpha=0.15)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, f"no month with at least {min_articles} dated articles", ha="center", transform=ax.transAxes)
    ax.set_ylabel("%")
    ax.set_ylim(bottom=0)
    ax.set_title(f"monthly promotional share (95% CI; months with ≥ {min_articles} articles)\n"
                 + ar("تطور الحصة الترويجية شهريا"))
    fig.autofmt_xdate()
    return _save(fig, path)


def device_counts(sentences: pd.DataFrame, path: Path) -> Path:
    """How often each framing device occurs in promotional sentences."""
    _style()
    counts = {d: int(sentences["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES} if len(sentences) else {d: 0 for d in DEVICES}
    order = sorted(DEVICES, key=lambda d: counts[d])
    fig, ax = _subplots(figsize=(7, 4))
    ax.barh(range(len(order)), [counts[d] for d in order], color="#8e44ad")
    ax.set_yticks(range(len(order)), [f"{ar(DEVICE_AR[d])}  {d}" for d in order])
    ax.set_xlabel("sentences")
    ax.set_title("framing devices\n" + ar("أدوات التأطير في الجمل الترويجية"))
    return _save(fig, path)


def sentiment_by_group(sent: pd.DataFrame, by: str, path: Path, names: dict[str, str] | None = None) -> Path:
    """Diverging bars: share of negative (left) and positive (right) sentences per group, 95% CIs."""
    _style()
    df = sent[(sent["group_by"] == by) & (sent["group"] != "(none)")].sort_values("net_tone")
    fig, ax = _subplots(figsize=(7.5, 0.5 * max(len(df), 3) + 1.6))
    y = np.arange(len(df))
    # SENTIMENT_POLARITIES is (positive, negative): positive bars to the right, negative to the left
    for pol, sign, color in zip(SENTIMENT_POLARITIES, (1, -1), ("#27ae60", "#c0392b")):
        mid = df[f"{pol}_share"].to_numpy(float) * 100
        err = _whiskers(mid, df[f"{pol}_ci_low"].to_numpy(float) * 100, df[f"{pol}_ci_high"].to_numpy(float) * 100)
        ax.barh(y, sign * mid, color=color, alpha=0.75, label=f"{pol}  {ar('إيجابي' if sign > 0 else 'سلبي')}")
        ax.errorbar(sign * mid, y, xerr=err[::-1] if sign < 0 else err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    labels = [(names or {}).get(g, g) for g in df["group"]]
    ax.set_yticks(y, [f"{ar(lab)} (n={n})" for lab, n in zip(labels, df["n_sentences"])])
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):g}" for t in ticks])
    ax.set_xlabel("% of sentences (n = sentences)")
    ax.set_title("sentiment toward the security institutions\n" + ar("النبرة تجاه المؤسسات الأمنية"))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return _save(fig, path)


def calibration(profiles: dict[str, tuple[np.ndarray, np.ndarray, tuple[str, ...]]], classes: dict[str, list[str]],
                path: Path, n_bins: int = 10) -> Path:
    """Reliability diagrams on the held-out gold split: mean predicted probability against the observed
    frequency, per class, in ten equal-width bins with Wilson 95% intervals (wide where a bin holds few
    sentences, as the high-probability bins of the rare classes do). ``profiles`` maps a panel title to (gold codes, probabilities, labels)."""
    from secframing.study.estimators import reliability_table

    _style()
    fig, axes = _subplots(1, max(1, len(profiles)), figsize=(5.2 * max(1, len(profiles)), 4.4), squeeze=False)
    colors = ["#c0392b", "#2980b9", "#7f8c8d", "#27ae60"]
    for ax, (title, (gold, probs, labels)) in zip(axes[0], profiles.items()):
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
        for color, lab in zip(colors, classes.get(title, list(labels))):
            k = labels.index(lab)
            tab = reliability_table((gold == k).astype(int), probs[:, k], n_bins)
            if tab.empty:
                continue
            ax.errorbar(tab["mean_p"], tab["observed"], yerr=[tab["observed"] - tab["ci_low"], tab["ci_high"] - tab["observed"]],
                        fmt="o-", color=color, capsize=2, lw=1, ms=4, label=f"{lab} (gold n={int((gold == k).sum())})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability (10 equal-width bins)")
        ax.set_ylabel("observed frequency in gold")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle("calibration on held-out gold  —  " + ar("معايرة الاحتمالات على عينة الاختبار"), fontsize=11)
    return _save(fig, path)


def odds_ratios(table: pd.DataFrame, path: Path) -> Path:
    """Forest plot of the regression's odds ratios (log scale) with 95% CIs."""
    _style()
    df = table[table["factor"] != ""].iloc[::-1]
    fig, ax = _subplots(figsize=(7.5, 0.42 * max(len(df), 3) + 1.6))
    y = np.arange(len(df))
    mid = df["odds_ratio"].to_numpy(float)
    ax.errorbar(mid, y, xerr=[mid - df["or_ci_low"].to_numpy(float), df["or_ci_high"].to_numpy(float) - mid],
                fmt="o", color=ADJ_COLOR, capsize=3, lw=1.2)
    ax.axvline(1, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{f}: {ar(lev)}  (vs {ar(ref)})" for f, lev, ref in zip(df["factor"], df["level"], df["reference"])])
    ax.set_xlabel("odds ratio of a promotional content sentence (95% CI, robust SE)")
    ax.set_title("regression of promotional share: odds ratios\n" + ar("الانحدار اللوجستي للحصة الترويجية"))
    return _save(fig, path)
