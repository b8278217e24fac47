"""The study's HTML report: one self-contained, right-to-left ``index.html`` (figures and font embedded,
no network) with the findings and their CIs, figures, sortable tables, an article browser with every
sentence highlighted by label (devices, probability and sentiment on hover), and a methods section
generated from the run (input hashes, model cards, metrics, estimators, software versions).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from secframing.labels import (
    DEVICES,
    FRAMING_LABELS,
    GUIDELINE_VERSION,
    SENTIMENT_POLARITIES,
)
from secframing.study import figures
from secframing.study.praise import MentionFinder
from secframing.study.topics import TopicTagger

LABEL_AR = {"promotional": "ترويجي", "factual": "إخباري", "other": "أخرى"}
BY_AR = {"outlet": "حسب المنبر", "topic": "حسب الموضوع", "category": "حسب القسم", "year": "حسب السنة",
         "month": "حسب الشهر"}


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: Any, digits: int = 1) -> str:
    """A share as a percentage, or an em dash when undefined.

    >>> pct(0.1234), pct(float("nan"))
    ('12.3%', '—')
    """
    return "—" if _nan(x) else f"{100 * float(x):.{digits}f}%"


def ci(lo: Any, hi: Any) -> str:
    """A confidence interval in percent ("—" when it could not be computed)."""
    return "—" if _nan(lo) or _nan(hi) else f"{pct(lo)}–{pct(hi)}"


def est(share: Any, lo: Any, hi: Any) -> str:
    """``12.3% (95% CI 9.1%–15.8%)`` style, or just the share when the CI is undefined."""
    return pct(share) if _nan(lo) or _nan(hi) else f"{pct(share)} ({ci(lo, hi)})"


def num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; an em dash for anything missing or not numeric.

    >>> num(0.12345, 2), num(None)
    ('0.12', '—')
    """
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(value) else f"{value:.{digits}f}"


_LTR_RUN = re.compile(r"[0-9A-Za-z.%+\-–()/:_]*[0-9A-Za-z%][0-9A-Za-z.%+\-–()/:_]*(?: +[0-9A-Za-z.%+\-–()/:_]*[0-9A-Za-z%)][0-9A-Za-z.%+\-–()/:_]*)*")


def isolate_ltr(text: str) -> str:
    """Wrap runs of numbers, percentages, intervals, dates and Latin names in left-to-right isolates
    (U+2066 … U+2069), so that in Arabic text "3.0% (2.2%–3.9%)" or "2020-08" keep their order.
    Parentheses that do not pair inside a run stay outside it, with the Arabic text they enclose.

    >>> isolate_ltr("نسبة 3.0% (2.2%–3.9%) في 2020-08") == "نسبة \u20663.0% (2.2%–3.9%)\u2069 في \u20662020-08\u2069"
    True
    >>> isolate_ltr("(104 جملة)") == "(\u2066104\u2069 جملة)"
    True
    """
    def wrap(m: re.Match[str]) -> str:
        run, head, tail = m.group(0), "", ""
        while run.startswith("(") and run.count("(") > run.count(")"):
            head, run = head + "(", run[1:]
        while run.endswith(")") and run.count(")") > run.count("("):
            tail, run = ")" + tail, run[:-1]
        return f"{head}\u2066{run}\u2069{tail}" if run else m.group(0)

    return _LTR_RUN.sub(wrap, text)


def _pp(x: Any) -> str:
    return "—" if _nan(x) else f"{100 * float(x):+.1f} pp"


def _pick_articles(articles: pd.DataFrame, n: int) -> pd.DataFrame:
    rel = articles[articles["relevant"]]
    promo = rel[rel["n_promotional"] > 0].sort_values(["promotional_share", "n_promotional"], ascending=False)
    rest = rel[rel["n_promotional"] == 0]
    k = min(len(promo), n // 2 + max(0, n // 2 - len(rest)))
    rest = rest.iloc[:: max(1, len(rest) // max(1, n - k))][: n - k] if len(rest) else rest
    return pd.concat([promo.head(k), rest])


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [] if df is None or not len(df) else df.replace({np.nan: None}).to_dict("records")


# -- findings ------------------------------------------------------------------------------------------

def findings(result: Any, topic_names: dict[str, dict[str, str]],
             confidence: int, min_articles: int) -> list[dict[str, str]]:
    """The summary of findings, each in Arabic and English, every number with its CI."""
    agg, acc = result.aggregates, result.accounting
    out: list[dict[str, str]] = []
    overall = agg[agg["group_by"] == "all"]
    if not len(overall):
        return [{"ar": "لم يُعثر على أي تغطية أمنية ذات جمل محتوى في هذا المتن.",
                 "en": "No security coverage with content sentences was found in this corpus."}]
    o = overall.iloc[0]
    adj = "" if _nan(o["adjusted_share"]) else f"; corrected for classifier error {est(o['adjusted_share'], o['adjusted_ci_low'], o['adjusted_ci_high'])}"
    out.append({
        "ar": f"من بين {acc['articles']} مقالا، تناول {acc['relevant_articles']} المؤسسات الأمنية. نسبة الجمل الترويجية من جمل "
              f"المحتوى {est(o['promotional_share'], o['ci_low'], o['ci_high'])} حسب تصنيف النموذج"
              + ("" if _nan(o["adjusted_share"]) else f"، و{est(o['adjusted_share'], o['adjusted_ci_low'], o['adjusted_ci_high'])} بعد تصحيح أخطاء التصنيف")
              + f" ({o['n_content_sentences']} جملة محتوى في {o['n_articles']} مقالا).",
        "en": f"{acc['relevant_articles']} of {acc['articles']} articles cover the security institutions. Promotional share of "
              f"content sentences: {est(o['promotional_share'], o['ci_low'], o['ci_high'])} as classified{adj}; "
              f"probability-weighted {est(o['expected_share'], o['expected_ci_low'], o['expected_ci_high'])} "
              f"({o['n_content_sentences']} content sentences in {o['n_articles']} articles; {confidence}% bootstrap CIs over articles)."})

    for by, names, ar_by, en_by in (("outlet", {}, "المنابر", "outlets"), ("topic", topic_names, "المواضيع", "topics")):
        g = agg[(agg["group_by"] == by) & (agg["n_articles"] >= min_articles) & (agg["group"] != "(none)")]
        if len(g) < 2:
            continue
        hi_r, lo_r = g.loc[g["promotional_share"].idxmax()], g.loc[g["promotional_share"].idxmin()]

        def nm(key: str, lang: str) -> str:
            return names.get(key, {}).get(lang, key) if names else key  # noqa: B023 - called within this iteration only
        cmp = result.contrasts
        resolved = cmp[(cmp["group_by"] == by) & ((cmp["ci_low"] > 0) | (cmp["ci_high"] < 0))] if len(cmp) else cmp
        res_en = "; ".join(
            f"{nm(r.a, 'en')} vs {'the rest' if r.b.startswith('not ') else nm(r.b, 'en')} {_pp(r.difference)} "
            f"({_pp(r.ci_low)} to {_pp(r.ci_high)}; adjusted {_pp(r.adjusted_difference)}, "
            f"{_pp(r.adjusted_ci_low)} to {_pp(r.adjusted_ci_high)})" for r in resolved.itertuples()) \
            if len(resolved) else "none at this confidence"
        out.append({
            "ar": f"بين {ar_by} (بحد أدنى {min_articles} مقالات): الأعلى {nm(hi_r['group'], 'ar')} بنسبة {est(hi_r['promotional_share'], hi_r['ci_low'], hi_r['ci_high'])}، "
                  f"والأدنى {nm(lo_r['group'], 'ar')} بنسبة {est(lo_r['promotional_share'], lo_r['ci_low'], lo_r['ci_high'])}.",
            "en": f"Across {en_by} with at least {min_articles} articles, the most promotional is {nm(hi_r['group'], 'en')} at "
                  f"{est(hi_r['promotional_share'], hi_r['ci_low'], hi_r['ci_high'])} (adjusted "
                  f"{est(hi_r['adjusted_share'], hi_r['adjusted_ci_low'], hi_r['adjusted_ci_high'])}, n={hi_r['n_articles']}) and the least "
                  f"{nm(lo_r['group'], 'en')} at {est(lo_r['promotional_share'], lo_r['ci_low'], lo_r['ci_high'])} "
                  f"(n={lo_r['n_articles']}). Differences whose CI excludes 0: {res_en}."})

    months = agg[(agg["group_by"] == "month") & (agg["group"] != "(none)") & (agg["n_articles"] >= min_articles)]
    if len(months) >= 2:
        mx, mn = months.loc[months["promotional_share"].idxmax()], months.loc[months["promotional_share"].idxmin()]
        out.append({
            "ar": f"عبر الزمن ({len(months)} شهرا بحد أدنى {min_articles} مقالات): أعلى نسبة في {mx['group']} "
                  f"({est(mx['promotional_share'], mx['ci_low'], mx['ci_high'])}) وأدناها في {mn['group']} "
                  f"({est(mn['promotional_share'], mn['ci_low'], mn['ci_high'])}).",
            "en": f"Over time ({len(months)} months with at least {min_articles} articles, {months['group'].min()} to "
                  f"{months['group'].max()}): highest in {mx['group']} at {est(mx['promotional_share'], mx['ci_low'], mx['ci_high'])}, "
                  f"lowest in {mn['group']} at {est(mn['promotional_share'], mn['ci_low'], mn['ci_high'])}; the monthly CIs "
                  + ("overlap" if mn["ci_high"] >= mx["ci_low"] else "do not overlap") + "."})

    reg = result.regression
    if reg is not None:
        if reg.fitted:
            t = reg.table[(reg.table["factor"] != "") & (reg.table["p_value"] < 0.05)]
            terms = "; ".join(f"{r.factor} = {r.level} vs {r.reference}: OR {r.odds_ratio:.2f} "
                              f"({r.or_ci_low:.2f}–{r.or_ci_high:.2f}), p = {r.p_value:.3f}" for r in t.itertuples())
            out.append({
                "ar": f"انحدار لوجستي ثنائي الحدين للحصة الترويجية على {' و'.join(reg.info['factors'])} "
                      f"({reg.info['n_articles']} مقالا): {len(t)} معامل(ات) دال(ة) عند 5٪.",
                "en": f"Binomial regression of promotional share on {' + '.join(reg.info['factors'])} "
                      f"({reg.info['n_articles']} articles, {reg.info['n_content']} content sentences, robust {reg.info['cov_type']} SEs): "
                      + (f"terms with p < 0.05: {terms}." if len(t) else "no term is significant at p < 0.05.")})
        else:
            out.append({"ar": f"لم يُقدَّر الانحدار: {reg.reason}.", "en": f"Regression not fitted: {reg.reason}."})

    pr = result.praise
    if len(pr):
        top = pr[pr["n_content"] >= 10] if (pr["n_content"] >= 10).any() else pr
        best = top.iloc[0]
        most = pr.sort_values("n_sentences", ascending=False).iloc[0]
        out.append({
            "ar": f"من يُمدَح؟ أعلى نسبة ترويجية في الجمل التي تذكر {best['name_ar']}: "
                  f"{est(best['promotional_share'], best['ci_low'], best['ci_high'])} ({best['n_content']} جملة محتوى)؛ "
                  f"الأكثر ذكرا {most['name_ar']} ({most['n_sentences']} جملة، {est(most['promotional_share'], most['ci_low'], most['ci_high'])}).",
            "en": f"Who gets praised: among entities named in at least 10 content sentences, sentences naming {best['name_en']} are the most "
                  f"promotional, {est(best['promotional_share'], best['ci_low'], best['ci_high'])} of {best['n_content']} content sentences"
                  + ("" if _nan(best["positive_share"]) else f", positive sentiment {est(best['positive_share'], best['positive_ci_low'], best['positive_ci_high'])}")
                  + f"; the most named is {most['name_en']} ({most['n_sentences']} sentences, promotional "
                  f"{est(most['promotional_share'], most['ci_low'], most['ci_high'])})."})

    sent = result.sentiment
    if result.sentiment_note:
        out.append({"ar": "النبرة غير متاحة في هذا التشغيل (لا يوجد نموذج للمشاعر).", "en": result.sentiment_note + "."})
    elif len(sent) and (sent["group_by"] == "all").any():
        s = sent[sent["group_by"] == "all"].iloc[0]
        out.append({
            "ar": f"النبرة تجاه المؤسسات الأمنية: {est(s['positive_share'], s['positive_ci_low'], s['positive_ci_high'])} من الجمل إيجابية "
                  f"و{est(s['negative_share'], s['negative_ci_low'], s['negative_ci_high'])} سلبية.",
            "en": f"Sentiment toward the security institutions: positive {est(s['positive_share'], s['positive_ci_low'], s['positive_ci_high'])}"
                  f" (adjusted {est(s['positive_adjusted'], s['positive_adjusted_ci_low'], s['positive_adjusted_ci_high'])}), negative "
                  f"{est(s['negative_share'], s['negative_ci_low'], s['negative_ci_high'])} (adjusted "
                  f"{est(s['negative_adjusted'], s['negative_adjusted_ci_low'], s['negative_adjusted_ci_high'])}) of {s['n_sentences']} sentences."
                  + _recall_caveat(result)})

    sents = result.sentence_stats
    if len(sents):
        promo = sents[sents["label"] == "promotional"]
        counts = {d: int(promo["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES}
        top_d = [d for d in sorted(counts, key=lambda d: -counts[d]) if counts[d]][:3]
        if top_d:
            out.append({
                "ar": "أكثر أدوات التأطير تواترا: " + "، ".join(f"{figures.DEVICE_AR[d]} ({counts[d]})" for d in top_d) + ".",
                "en": f"Most frequent framing devices in the {len(promo)} promotional sentences: "
                      + ", ".join(f"{d} ({counts[d]})" for d in top_d) + "."})
    return [{"ar": isolate_ltr(f["ar"]), "en": f["en"]} for f in out]


def _recall_caveat(result: Any) -> str:
    """Why the sentiment shares are lower bounds: the model's test recall of the polar classes."""
    info = result.models.get("sentiment")
    per_class = (info.metrics.get("test") or {}).get("per_class", {}) if info else {}
    recalls = [f"{lab} {per_class[lab]['recall']:.2f}" for lab in SENTIMENT_POLARITIES if lab in per_class]
    if not recalls:
        return ""
    return (f" The sentiment model's recall on held-out gold is {', '.join(recalls)}: raw shares are lower bounds, "
            "and the adjusted intervals are wide because they carry that uncertainty.")


# -- methods ------------------------------------------------------------------------------------------

def _render_card(text: str | None) -> str | None:
    """A model card (Markdown) as HTML, raw HTML disabled; plain preformatted text if markdown-it is absent."""
    if not text:
        return None
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - markdown-it ships with rich, a dependency of typer
        import html

        return f"<pre>{html.escape(text)}</pre>"
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _model_view(info: Any) -> dict[str, Any]:
    meta, metrics = info.meta, info.metrics
    splits = {}
    for split in ("dev", "test"):
        m = metrics.get(split)
        if not m:
            continue
        conf = m.get("confusion", {})
        splits[split] = {"n": m.get("n"), "macro_f1": m.get("macro_f1"), "ci": m.get("macro_f1_ci95"),
                         "ece": m.get("ece"), "per_class": m.get("per_class", {}),
                         "labels": conf.get("labels", []), "matrix": conf.get("matrix", [])}
    return {"role": info.role, "path": info.path, "backend": meta.get("backend"), "created": meta.get("created"),
            "experiment": meta.get("experiment"), "files": [f.to_dict() for f in info.files], "splits": splits,
            "card": _render_card(info.card), "profile": info.profile.source if info.profile else None,
            "profile_n": info.profile.n if info.profile else None, "profile_note": info.profile_note,
            "devices": metrics.get("devices")}


def _font_face(config: Any) -> str | None:
    """Base64 ``@font-face`` source of an installed Arabic font, so the report renders alike everywhere."""
    if not config.report.embed_font:
        return None
    path = figures.arabic_font_file()
    if path is None:
        return None
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


# -- the report ---------------------------------------------------------------------------------------

def write_report(out: Path, config: Any, result: Any, run: dict[str, Any]) -> Path:
    """Write ``index.html`` and the PNG figures into ``out``."""
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    agg, articles, sentences = result.aggregates, result.articles, result.sentence_stats
    tagger = TopicTagger(config.topics)
    finder = MentionFinder(config.praise)
    topic_keys = sorted(set(agg.loc[agg["group_by"] == "topic", "group"])) if len(agg) else []
    topic_names = {k: tagger.label(k) for k in topic_keys}
    entity_names = {k: finder.label(k) for k in finder.names}
    confidence = int(round(config.bootstrap.confidence * 100))

    figs: list[dict[str, str]] = []
    if config.report.figures and len(agg):
        made: list[tuple[str, Path]] = [
            ("الحصة الترويجية حسب المنبر — promotional share by outlet (raw and adjusted, 95% CI)",
             figures.share_by_group(agg, "outlet", "الحصة الترويجية حسب المنبر", fig_dir / "share_by_outlet.png", title_en="by outlet")),
            ("حسب الموضوع — by topic (an article counts under each of its topics)",
             figures.share_by_group(agg, "topic", "الحصة الترويجية حسب الموضوع", fig_dir / "share_by_topic.png",
                                    {k: v["ar"] for k, v in topic_names.items()}, "by topic")),
            ("شهريا — monthly series with 95% CI bands", figures.monthly_series(agg, fig_dir / "monthly_share.png", config.compare.min_articles)),
            ("حسب القسم — by category", figures.share_by_group(agg, "category", "الحصة الترويجية حسب القسم", fig_dir / "share_by_category.png", title_en="by category")),
            ("حسب السنة — by year", figures.share_by_group(agg, "year", "الحصة الترويجية حسب السنة", fig_dir / "share_by_year.png", title_en="by year")),
            ("أدوات التأطير — framing devices", figures.device_counts(sentences, fig_dir / "devices.png")),
        ]
        if len(result.sentiment):
            made.append(("النبرة حسب المنبر — sentiment by outlet (raw, 95% CI)",
                         figures.sentiment_by_group(result.sentiment, "outlet", fig_dir / "sentiment_by_outlet.png")))
        if len(result.praise):
            pr = result.praise.assign(group_by="entity", group=result.praise["entity"])
            made.append(("من يُمدح — promotional share of sentences naming each institution or official",
                         figures.share_by_group(pr, "entity", "من يُمدح؟", fig_dir / "praise_by_entity.png",
                                                {k: v["ar"] for k, v in entity_names.items()}, "who gets praised")))
        if result.regression is not None and result.regression.fitted:
            made.append(("نسب الأرجحية — regression odds ratios (95% CI)", figures.odds_ratios(result.regression.table, fig_dir / "regression_odds_ratios.png")))
        panels, classes = {}, {}
        for role, info in result.models.items():
            if info.profile is not None:
                title = f"{role} model ({info.profile.n} gold sentences)"
                panels[title] = (info.profile.gold, info.profile.probs, info.profile.labels)
                classes[title] = list(FRAMING_LABELS if role == "framing" else SENTIMENT_POLARITIES)
        if panels:
            made.append(("المعايرة — calibration of the models' probabilities on held-out gold",
                         figures.calibration(panels, classes, fig_dir / "calibration.png")))
        for caption, path in made:
            figs.append({"caption": caption, "file": f"figures/{path.name}",
                         "data": base64.b64encode(path.read_bytes()).decode("ascii")})

    tables = {by: _records(agg[agg["group_by"] == by]) for by in ("outlet", "topic", "category", "year", "month")}
    for r in tables["topic"]:
        r["name"] = topic_names.get(r["group"], {"ar": r["group"], "en": r["group"]})
    sent_tables = {by: _records(result.sentiment[result.sentiment["group_by"] == by])
                   for by in ("all", "outlet", "topic", "category")} if len(result.sentiment) else {}
    for r in sent_tables.get("topic", []):
        r["name"] = topic_names.get(r["group"], {"ar": r["group"], "en": r["group"]})

    shown = _pick_articles(articles, config.report.max_articles)
    shown_sents = result.sentences_of(shown["article_id"].tolist())  # the text of the shown articles only
    sent_by_article = {k: g.sort_values("sentence").to_dict("records")
                       for k, g in shown_sents.groupby("article_id")} if len(shown_sents) else {}
    browser = []
    for art in shown.to_dict("records"):
        sents = sent_by_article.get(art["article_id"], [])
        for s in sents:
            s["hover"] = _hover(s, entity_names)
        browser.append({**art, "share_fmt": pct(art["promotional_share"]),
                        "topic_names": [topic_names.get(t, {"ar": t})["ar"] for t in art["topics"]],
                        "title_sents": [s for s in sents if s["field"] == "title"],
                        "text_sents": [s for s in sents if s["field"] == "text"]})

    overall = agg[agg["group_by"] == "all"]
    env = Environment(loader=PackageLoader("secframing.study", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters.update({"pct": pct, "ci": ci, "num": num, "v": lambda v: "" if _nan(v) else v})
    html = env.get_template("report.html.j2").render(
        findings=findings(result, topic_names, confidence, config.compare.min_articles),
        overall=_records(overall)[0] if len(overall) else None, tables=tables, sent_tables=sent_tables,
        contrasts=_records(result.contrasts), regression=result.regression, praise=_records(result.praise),
        figures=figs, articles=browser, accounting=result.accounting, labels=FRAMING_LABELS, label_ar=LABEL_AR,
        by_ar=BY_AR, devices=DEVICES, device_ar=figures.DEVICE_AR, guideline=GUIDELINE_VERSION,
        corpus=str(config.corpus), models={k: _model_view(v) for k, v in result.models.items()},
        confidence=confidence, n_resamples=config.bootstrap.n_resamples, config=config,
        config_json=json.dumps(asdict(config), ensure_ascii=False, indent=2, default=str), run=run,
        inputs=[f.to_dict() for f in run["inputs"]], sentiment_note=result.sentiment_note,
        outlets=sorted(set(a["outlet"] for a in browser)), topic_names=topic_names,
        topic_cues=_topic_cue_counts(tagger), font_b64=_font_face(config),
        correction_split=config.correction.split,
        device_totals={d: int(sentences["devices"].map(lambda ds, d=d: d in ds).sum()) if len(sentences) else 0 for d in DEVICES})
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def _hover(s: dict[str, Any], entity_names: dict[str, dict[str, str]]) -> str:
    """The tooltip of one sentence: label and probability, devices, sentiment, who it names, cues."""
    parts = [f"{s['label']} p={s['score']:.2f}"]
    if s.get("devices"):
        parts.append("devices: " + ", ".join(s["devices"]))
    if s.get("sentiment"):
        parts.append(f"sentiment: {s['sentiment']} p={s['sentiment_score']:.2f}")
    if s.get("entities"):
        parts.append("names: " + ", ".join(entity_names.get(e, {"en": e})["en"] for e in s["entities"]))
    if s.get("cues"):
        parts.append("cues: " + ", ".join(s["cues"]))
    return " · ".join(parts)


def _topic_cue_counts(tagger: TopicTagger) -> list[dict[str, Any]]:
    return [{"key": k, **tagger.label(k), "n_cues": sum(1 for c in tagger.lexicon.cues if c.get("topic") == k)}
            for k in tagger.order]
