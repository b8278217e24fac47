"""The study's HTML report: right-to-left, sentences highlighted by label, devices and cues on hover."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from secframing.labels import DEVICES, FRAMING_LABELS, GUIDELINE_VERSION
from secframing.study import figures

LABEL_AR = {"promotional": "ترويجي", "factual": "إخباري", "other": "أخرى"}


def _pick_articles(articles: pd.DataFrame, n: int) -> pd.DataFrame:
    rel = articles[articles["relevant"]]
    promo = rel[rel["n_promotional"] > 0].sort_values(["promotional_share", "n_promotional"], ascending=False)
    rest = rel[rel["n_promotional"] == 0]
    k = min(len(promo), n // 2 + max(0, n // 2 - len(rest)))
    rest = rest.iloc[:: max(1, len(rest) // max(1, n - k))][: n - k] if len(rest) else rest
    return pd.concat([promo.head(k), rest])


def _fmt_pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def write_report(out: Path, config: Any, articles: pd.DataFrame, sentences: pd.DataFrame,
                 aggregates: pd.DataFrame, accounting: dict[str, Any], model_meta: dict[str, Any]) -> Path:
    """Write ``index.html`` and the PNG figures into ``out``."""
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    figs: list[dict[str, str]] = []
    if config.report.figures and len(aggregates):
        made = [
            ("الحصة الترويجية حسب المنبر — by outlet", figures.share_by_group(aggregates, "outlet", "الحصة الترويجية حسب المنبر", fig_dir / "share_by_outlet.png")),
            ("حسب القسم — by category", figures.share_by_group(aggregates, "category", "الحصة الترويجية حسب القسم", fig_dir / "share_by_category.png")),
            ("حسب السنة — by year", figures.share_by_group(aggregates, "year", "الحصة الترويجية حسب السنة", fig_dir / "share_by_year.png")),
            ("شهريا — monthly", figures.monthly_series(aggregates, fig_dir / "monthly_share.png")),
            ("أدوات التأطير — devices", figures.device_counts(sentences, fig_dir / "devices.png")),
        ]
        for caption, path in made:
            figs.append({"caption": caption, "file": f"figures/{path.name}",
                         "data": base64.b64encode(path.read_bytes()).decode("ascii")})

    overall = aggregates[aggregates["group_by"] == "all"].to_dict("records")
    by_tables = {}
    for by in ("outlet", "category", "year", "month"):
        df = aggregates[aggregates["group_by"] == by]
        by_tables[by] = [{**r, "share_fmt": _fmt_pct(r["promotional_share"]),
                          "ci_fmt": f"{_fmt_pct(r['ci_low'])} – {_fmt_pct(r['ci_high'])}"} for r in df.to_dict("records")]
    shown = _pick_articles(articles, config.report.max_articles)
    sent_by_article = {k: g.sort_values("sentence").to_dict("records") for k, g in sentences.groupby("article_id")} if len(sentences) else {}
    browser = []
    for art in shown.to_dict("records"):
        sents = sent_by_article.get(art["article_id"], [])
        browser.append({**art, "share_fmt": _fmt_pct(art["promotional_share"]),
                        "title_sents": [s for s in sents if s["field"] == "title"],
                        "text_sents": [s for s in sents if s["field"] == "text"]})
    env = Environment(loader=PackageLoader("secframing.study", "templates"), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        overall=overall[0] if overall else None, overall_fmt=(_fmt_pct(overall[0]["promotional_share"]), _fmt_pct(overall[0]["ci_low"]), _fmt_pct(overall[0]["ci_high"])) if overall else None,
        tables=by_tables, figures=figs, articles=browser, accounting=accounting, labels=FRAMING_LABELS,
        label_ar=LABEL_AR, devices=DEVICES, device_ar=figures.DEVICE_AR, guideline=GUIDELINE_VERSION,
        corpus=str(config.corpus), model=model_meta, confidence=int(config.bootstrap.confidence * 100),
        n_resamples=config.bootstrap.n_resamples)
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
