"""``docs/datasheet.md`` regenerated from the annotation files: every number comes from
:func:`secframing.annotate.stats.dataset_stats`, the prose from this module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.annotate.gold import ANNOTATIONS
from secframing.annotate.stats import dataset_stats
from secframing.labels import FRAMING_LABELS
from secframing.paths import REPO_ROOT


def _table(rows: dict[str, dict[str, Any]], first: str) -> str:
    head = (f"| {first} | articles | sentences | " + " | ".join(FRAMING_LABELS) + " |\n"
            + "|---" * (3 + len(FRAMING_LABELS)) + "|\n")
    body = ""
    for k, r in sorted(rows.items(), key=lambda kv: -sum(kv[1].get(x, 0) for x in FRAMING_LABELS)):
        n = sum(r.get(x, 0) for x in FRAMING_LABELS)
        body += f"| {k} | {r.get('articles', '')} | {n} | " + " | ".join(str(r.get(x, 0)) for x in FRAMING_LABELS) + " |\n"
    return head + body


def _ag(a: dict[str, Any]) -> str:
    return (f"{a['krippendorff_alpha']:.3f} ({a['alpha_ci95'][0]:.3f}–{a['alpha_ci95'][1]:.3f}) | "
            f"{a['cohen_kappa']:.3f} ({a['kappa_ci95'][0]:.3f}–{a['kappa_ci95'][1]:.3f}) | {a['raw_agreement']:.3f}")


def _kappa_ci(a: dict[str, Any]) -> str:
    return f"κ {a['cohen_kappa']:.3f} ({a['kappa_ci95'][0]:.3f}–{a['kappa_ci95'][1]:.3f}), n={a['n']}"


def _counts(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items())


def _gold_v2_lines(st: dict[str, Any]) -> list[str]:
    """The gold-v2 section: re-review, round-5 search, the Darija sets (from :func:`gold_v2_stats`)."""
    lines = ["", "## Gold v2 (guideline v1.3)", "",
             f"Promotional sentences from non-seed corpus articles: {st.get('promotional_corpus')} in "
             f"{st.get('promotional_corpus_articles')} articles (target of issue 11: ≥ 280 in ≥ 100; not reached, see round 5)."]
    rv = st.get("review_v1_3") or {}
    if rv.get("units"):
        lines += ["", f"**Re-review under v1.3** (`data/annotations/review_v1_3.jsonl`; two blind passes in `review_v1_3/`, "
                  f"disagreements adjudicated): {rv['units']} sentences; reasons drawn: "
                  + _counts(rv["by_reason"])
                  + f". Framing labels changed: {rv['framing_changed']} ("
                  + _counts(rv["framing_transitions"])
                  + f"); sentiment changed: {rv['sentiment_changed']}; adjudicated: {rv['adjudicated']}. Voice of the "
                  f"promotional sentences: " + _counts(rv["voice"]) + "."
                  + (" Applied to the gold (the last of `gold.OVERRIDES`): the counts above include it." if rv.get("applied_to_gold")
                     else " **Stored, not yet applied to the gold** (the counts above are the v1.1/v1.2 labels).")]
    elif rv.get("passes"):
        lines += ["", f"**Re-review under v1.3**: blind passes stored in `data/annotations/review_v1_3/` (pass A "
                  f"{rv['passes']['a']} sentences, pass B {rv['passes']['b']}); not yet applied to the gold (incomplete or "
                  "not adjudicated)."]
    if rv.get("agreement"):
        ag = rv["agreement"]
        lines += ["", f"Promotional-enriched agreement sample (the re-review's two blind passes; {ag['gold_promotional_share']:.0%} "
                  f"promotional in pass A): framing {_kappa_ci(ag['framing'])}; promotional vs rest "
                  f"{_kappa_ci(ag['framing_promotional_vs_rest'])}; sentiment {_kappa_ci(ag['sentiment'])}."]
    r5 = st.get("round5")
    if r5:
        lines += ["", f"**Round 5, corpus search** (`data/annotations/round5/`): {r5['sentences']} sentences from {r5['articles']} "
                  "articles (the top of the lexicon + shipped-model ranking of every undrawn sentence with security "
                  "evidence, and a random sample of the rest): " + _counts(r5["framing"])
                  + f"; promotional in {r5['promotional_articles']} articles. The corpus outside the drawn units holds "
                  "almost no further promotional framing, so the non-seed target cannot be reached from `../shared`. "
                  "Round 5 is part of the gold (`gold.EXTRA_PRIMARY`: its records carry their stratum; its design is "
                  "`round5/design.json`, the ranked stratum with weight 0, the random tail weighted), its articles placed by "
                  "splits v2."]
        if r5.get("agreement_top200"):
            ag = r5["agreement_top200"]
            lines += ["", f"Second pass on the 200 highest-ranked round-5 sentences: framing {_kappa_ci(ag['framing'])}; "
                      f"sentiment {_kappa_ci(ag['sentiment'])}."]
    dj = (st.get("darija") or {}).get("news")
    if dj:
        lines += ["", f"**Darija news set** (`data/darija/news_v1.jsonl`, team-written): {dj['sentences']} sentences in "
                  f"{dj['items']} items; " + _counts(dj["framing"]) + "; subregisters "
                  + _counts(dj["subregister"]) + "."]
        if dj.get("agreement"):
            ag = dj["agreement"]
            lines += ["", f"Blind second pass on {ag['units']} of them: framing {_kappa_ci(ag['framing'])}; sentiment "
                      f"{_kappa_ci(ag['sentiment'])}; labels changed by adjudication: {ag['changed_by_adjudication']}."]
    rd = (st.get("darija") or {}).get("renderings")
    if rd:
        lines += ["", f"**Darija renderings** (`data/darija/renderings_v1.jsonl`): {rd['sentences']} renderings of gold test "
                  f"and seed sentences from {rd['source_articles']} articles; " + _counts(rd["framing"])
                  + " (labels from the current gold)."]
    v3 = st.get("synthetic_v3")
    if v3:
        aucs = [d for d in v3.get("detectability", []) if "roc_auc" in d]
        check = ("Real-vs-synthetic detectability (5-fold ROC AUC, within one label): "
                 + ", ".join(f"{d['label']} {d['roc_auc']:.3f} (n={d['n_per_class']})" for d in aucs)
                 + f"; highest {max(d['roc_auc'] for d in aucs):.3f} (target ≤ 0.75).") if aucs else ""
        lines += ["", f"**Synthetic v3** (`data/synthetic/rewrites_v3.jsonl`, team-written rewrites of real training sentences: "
                  "a paraphrase that keeps the label and, for promotional and factual sources, a contrast that differs from the "
                  f"paraphrase only in its evaluative words and flips the label): {v3['sentences']} sentences from "
                  f"{v3['sources']} source sentences; " + _counts(v3["framing"]) + "; " + _counts(v3["kind"]) + ". " + check]
    return lines


def render(st: dict[str, Any], design: dict[str, Any], synthetic: dict[str, Any] | None) -> str:
    ag = st.get("agreement") or {}
    strata = design["strata"]
    r2 = design.get("round2", {})
    lines = [
        "# Datasheet: secframing gold annotations (guidelines v1.1 and v1.2)",
        "",
        "_Generated by `secframing annotate datasheet` from `data/annotations/`; do not edit the numbers by hand._",
        "",
        "## What it is",
        "",
        "Sentences of real Moroccan Arabic news (`../shared/corpora/moroccan_news.jsonl`, Hespress, Febrayer,",
        "Yabiladi, 2019–2022) and the three seed articles, each labelled on three layers by reading it in its",
        "article: framing (`promotional` / `factual` / `other`), framing devices (promotional sentences only) and",
        "sentiment toward the Moroccan security institutions. Stand-off: records hold article id, field, character",
        "offsets and the sha1 of the sentence, never the text, which is loaded from `../shared` at run time.",
        "",
        "## Counts",
        "",
        f"- **{st['sentences']} sentences**, of which **{st['content_sentences']} content sentences** "
        f"(promotional + factual), from **{st['articles']} articles**.",
        "- Framing: " + ", ".join(f"{k} {v}" for k, v in st["framing"].items()) + ".",
        f"- Real promotional sentences: {st['framing'].get('promotional', 0)} — {st['promotional_corpus']} from the corpus, "
        f"{st['framing'].get('promotional', 0) - st['promotional_corpus']} from the three seed articles.",
        "- Sentiment: " + ", ".join(f"{k} {v}" for k, v in st["sentiment"].items()) + ".",
        "- Devices (sentences carrying each): " + ", ".join(f"{k} {v}" for k, v in st["devices"].items()) + ".",
        f"- Low-confidence labels: {st['low_confidence']}; labels decided by adjudication or the v1.2 review: {st['adjudicated']}.",
        "- Guideline versions of the gold records: " + ", ".join(f"{k} ({v})" for k, v in st["guidelines"].items()) + ".",
        "- Annotators: " + ", ".join(f"{k} ({v})" for k, v in st["annotators"].items()) + ".",
        "",
        "### By split (by article; `data/splits/gold_v2.json`)",
        "",
        "Splits v2 (gold v2, `secframing annotate splits`): the three seed op-eds are a test-only slice of their own "
        "(`seeds`), in no train/dev/test split, so they never stand in for corpus data; every v1 corpus article keeps "
        "its v1 split except promotional articles moved from train and dev into test until the corpus test split holds "
        "promotional sentences from at least 40 articles (v1 test stays inside v2 test); the round-5 articles are "
        "split by near-duplicate group. `data/splits/gold_v1.json` is kept, unchanged, so runs made before gold v2 "
        "still resolve (`data.splits = \"v1\"`). Leave-one-outlet-out (Febrayer) and the Darija sets are slices of "
        "every framing and sentiment run.",
        "",
        _table(st["by_split"], "split"),
        "### By outlet",
        "",
        _table(st["by_outlet"], "outlet"),
        "### By category (Hespress sections; `(none)` for outlets without sections and the seeds)",
        "",
        _table(st["by_category"], "category"),
        "### By sampling stratum",
        "",
        _table(st["by_stratum"], "stratum"),
        "## Sampling design (`data/annotations/design.json`, `secframing annotate sample`)",
        "",
        "| stratum | unit | pool | drawn | weight | definition |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in strata.items():
        lines.append(f"| {name} | {s['unit']} | {s['pool']} | {s['n']} | {s['weight']:.3f} | {s['definition']} |")
    lines += [
        "",
        "Weights are inverse inclusion probabilities within a stratum. The `random` stratum is a probability sample",
        "of the security coverage (the articles the relevance rule selects; use its weight for prevalence from the",
        "sample alone); with the `census` stratum (round 4) every selected article has been read, so prevalence",
        "over the selected coverage can also be computed exactly from `random` + `census` (+ the selected articles",
        "of `likely_promotional`) with weight 1. The search strata were drawn to find rare promotional sentences",
        "and carry weight 0 for prevalence.",
        "",
        "### How promotional sentences were searched for",
        "",
        f"Round 1 read every sentence of {strata['random']['n'] - len(r2.get('extra_random_articles', []))} random and "
        f"{strata['likely_promotional']['n']} likely-promotional articles (articles naming the target with promotional",
        "cues or praise-prone topics: anniversaries, awards, cooperation, parliament and party statements, praise",
        f"verbs), {strata['candidates']['n']} cue-matched sentences from the rest of the corpus, and the seed articles.",
    ]
    if r2:
        lines += [
            f"Round 2 added {len(r2['extra_random_articles'])} random articles, then searched all "
            f"{r2['search_model']['pool_sentences']} unannotated sentences of articles naming the target: active learning",
            "for the rare class (a TF-IDF model trained on round-1 gold ranked them by promotional probability; the top",
            f"{r2['search_model']['ranked_top']} were diversified to {r2['search_model']['n']} by a k-centre pass) and a phrase search for the",
            f"praise wording annotators reported in round 1 ({r2['search_phrase']['n']} of {r2['search_phrase']['pool_sentences']} matching sentences).",
        ]
    r3 = design.get("round3")
    if r3:
        lines += [
            f"Round 3 (guideline v1.2) ranked all {r3['pool_sentences']} corpus sentences not yet drawn with a TF-IDF model",
            f"trained on rounds 1–2 plus the synthetic sentences and read the top {r3['n']} (promotional probability ≥",
            f"{r3['min_probability']:.2f}).",
        ]
    r4 = design.get("round4")
    if r4:
        lines += [
            f"Round 4 (guideline v1.2) read the remaining {r4['articles']} articles the relevance rule selects "
            f"({r4['sentences']} sentences not drawn before), so the selected security coverage is now read in full.",
        ]
    lines += [f"In all, {st['sentences']} sentences were read and labelled."]
    if st.get("selected_coverage"):
        sc = st["selected_coverage"]
        lines += ["", f"Every article the relevance rule selects ({sc['articles']}) has now been read in full: it holds "
                  f"{sc['promotional']} promotional and {sc['factual']} factual sentences, a promotional share of "
                  f"{100 * sc['share']:.1f}% of content sentences (a census figure for this corpus, not an estimate)."]
    lines += [
        "",
        "## Agreement (independent second pass, blind to the first labels)",
        "",
    ]
    if ag:
        lines += [
            f"{ag['units']} sentences (whole articles across every first-pass annotator and stratum; "
            "`data/annotations/agreement_sample.json`) were annotated again by two other annotators who did not see",
            "the first labels. 95% intervals: percentile bootstrap over sentences.",
            "",
            "| layer | Krippendorff's alpha (95% CI) | Cohen's kappa (95% CI) | raw agreement |",
            "|---|---|---|---|",
            f"| framing (3 labels) | {_ag(ag['framing'])} |",
            f"| framing, promotional vs rest | {_ag(ag['framing_promotional_vs_rest'])} |",
            f"| sentiment | {_ag(ag['sentiment'])} |",
            f"| devices (all device decisions on sentences both called promotional, n={ag['devices']['units_both_promotional']}) | "
            f"{ag['devices']['krippendorff_alpha_all_decisions']:.3f} ({ag['devices']['alpha_ci95'][0]:.3f}–{ag['devices']['alpha_ci95'][1]:.3f}) | | |",
            "",
            "Framing confusion (rows: first pass, columns: second pass; promotional, factual, other):",
            "",
            "```",
            *[" ".join(f"{v:5d}" for v in row) for row in ag["framing"]["confusion"]["matrix"]],
            "```",
            "",
            "**Adjudication.** Every sentence where the passes differed on any layer went to an adjudicator who saw",
            "both labels in random order (not who gave them), read the sentence in its article and decided by the",
            "codebook, naming the rule (`data/annotations/adjudication.jsonl`). The gold uses the adjudicated labels",
            "for those sentences and the first pass elsewhere. Framing alpha was above 0.7, so no full re-annotation",
            "was needed; the adjudicator's proposals became the v1.2 clarifications of `docs/codebook.md`, and every",
            "gold sentence whose label could turn on them (stock communiqué wording vs grading words) was reviewed",
            "under v1.2 (`data/annotations/review_v1_2.jsonl`).",
        ]
    if synthetic:
        lines += ["", "## Synthetic augmentation (training only)", "",
                  f"{synthetic['synthetic_sentences']} team-written sentences in `data/synthetic/` (flagged `synthetic: true`; never in",
                  "an evaluation split). How well a character + word n-gram classifier tells them from real gold",
                  "sentences of the same label (5-fold CV; 0.5 = cannot tell):", "",
                  "| label | n per class | accuracy | ROC AUC |", "|---|---|---|---|"]
        groups = [("all files", synthetic["by_label"])] + sorted(synthetic.get("by_source", {}).items())
        lines[-2] = "| file | label | n per class | accuracy | ROC AUC |"
        lines[-1] = "|---|---|---|---|---|"
        for name, rows in groups:
            for r in rows:
                if "accuracy" in r:
                    lines.append(f"| {name} | {r['label']} | {r['n_per_class']} | {r['accuracy']:.3f} ± {r['accuracy_sd']:.3f} | {r['roc_auc']:.3f} ± {r['roc_auc_sd']:.3f} |")
        lines += ["", "The classifier tells them apart well above chance. The v1 files carry a style (short sentences,",
                  "neat quotation, every device spelled out); `realistic_v2.jsonl` was written afterwards to match real",
                  "length and register and is somewhat harder to detect, but not undetectable: part of the signal is",
                  "topic (a third of the real promotional sentences come from the seed op-eds, most of the rest from",
                  "COVID-era statements). Use synthetic sentences only as down-weighted augmentation and judge any",
                  "benefit on real dev data."]
    lines += _gold_v2_lines(st)
    lines += [
        "",
        "## Known biases and limits",
        "",
        "- One outlet dominates (Hespress); Febrayer and Yabiladi are undated; Hespress dates cover Dec 2019 – Sep",
        "  2020 and June 2022, much of it the COVID-19 emergency, so lockdown enforcement is over-represented.",
        "- The population is what the relevance rule selects (precision about 0.84, recall about 0.94 on hand-checked",
        "  samples, see `docs/measurements.md`); coverage it misses is missing here too.",
        "- Promotional sentences are rare in this corpus; most found are mild effectiveness claims and attributed",
        "  thanks, not the glorifying register of the seed articles (which contribute a large share of the metaphor,",
        "  superlative and rhetorical-question examples).",
        "- Annotators are independent model-based annotation passes (helper-ann*, helper-second*, helper-adjudicator)",
        "  working from the codebook, not native-speaker journalists; low-confidence labels are flagged.",
        "- `other` is large because the codebook puts off-target sentences (party politics, COVID figures, foreign",
        "  police) there; models must learn target relevance, not only tone.",
        "",
        "## Licences",
        "",
        "The texts belong to their publishers (Hespress; The Moroccan News Corpus by E. Issa: Febrayer, Yabiladi; the",
        "seed articles' outlets): research use only, no redistribution; none is stored in this repository. The",
        "annotations (ids, offsets, hashes, labels) are the project's own. Citation for the corpus sources: see",
        "`../shared/corpora/SOURCE.md`.",
        "",
    ]
    return "\n".join(lines)


def selected_coverage(design: dict[str, Any], df: pd.DataFrame, arts: dict[str, Any]) -> dict[str, Any]:
    """Counts over every article the relevance rule selects (all read after the round-4 census)."""
    from secframing.select.relevance import RelevanceScorer

    st = design["strata"]
    scorer = RelevanceScorer()
    likely = [i for i in st["likely_promotional"]["articles"] if scorer.score(arts[i]).relevant]
    selected = set(st["random"]["articles"]) | set(st.get("census", {}).get("articles", [])) | set(likely)
    sub = df[df["article_id"].isin(selected)]
    p, f = int((sub["framing"] == "promotional").sum()), int((sub["framing"] == "factual").sum())
    return {"articles": len(selected), "promotional": p, "factual": f, "share": p / (p + f) if p + f else float("nan")}


def write_datasheet(path: Path = REPO_ROOT / "docs" / "datasheet.md", with_synthetic: bool = True) -> Path:
    from secframing.annotate.gold import gold_frame
    from secframing.annotate.standoff import shared_articles
    from secframing.annotate.synthetic import load_synthetic, synthetic_report

    arts = shared_articles()  # read the corpus once for stats, coverage and hydration
    gold = gold_frame(articles=arts)
    st = dataset_stats(gold=gold, articles=arts)
    design = json.loads((ANNOTATIONS / "design.json").read_text(encoding="utf-8"))
    if "census" in design["strata"]:
        st["selected_coverage"] = selected_coverage(design, gold, arts)
    synthetic = None
    if with_synthetic:
        synth = load_synthetic()
        if len(synth):
            synthetic = synthetic_report(gold, synth)
    path.write_text(render(st, design, synthetic), encoding="utf-8")
    return path
