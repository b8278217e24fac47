"""``secframing study``: read a corpus, select the security coverage, segment, classify, aggregate, report.

Every input row is accounted for: it is either a reject (``rejects.jsonl``, with its reason) or an
article in ``articles.csv``; articles are either relevant (their sentences are classified) or not (kept
with the relevance evidence in ``relevance.jsonl``). ``accounting.json`` checks the sums.

Each relevant sentence gets a framing label with probabilities and devices (``model``) and a sentiment
label with probabilities (``sentiment_model``, optional: without it the study runs and the report says
sentiment is unavailable), plus the institutions and officials it names. Articles get their topics.
Estimates are computed three ways (raw, probability-weighted, misclassification-adjusted; see
``estimators``) with bootstrap CIs over articles; ``docs/study.md`` describes every output.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.io.readers import read_articles
from secframing.io.schema import Article, ArticleRules
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS
from secframing.manifest import (FileInfo, build_manifest, file_info, git_state, library_versions, now_iso,
                                 write_json, write_jsonl)
from secframing.models.base import ModelLoadError, SentenceModel, load_model
from secframing.paths import DEFAULT_MODEL_DIR, DEMO_CORPUS, MODELS_DIR
from secframing.select.relevance import RelevanceConfig, RelevanceScorer
from secframing.study.analysis import RegressionConfig, RegressionResult
from secframing.study.estimators import Boot, ErrorProfile, ProfileUnavailable, load_error_profile
from secframing.study.praise import MentionFinder, PraiseConfig
from secframing.study.topics import GENERAL, TopicsConfig, TopicTagger
from secframing.text.segment import segment_article


@dataclass(frozen=True)
class BootstrapConfig:
    n_resamples: int = 2000
    seed: int = 20261122
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.n_resamples < 100:
            raise ValueError("n_resamples must be at least 100 for a usable interval")
        if not 0.5 < self.confidence < 1:
            raise ValueError("confidence must be between 0.5 and 1")


@dataclass(frozen=True)
class CorrectionConfig:
    """Where the error rates for the misclassification-adjusted estimates come from."""

    enabled: bool = True
    split: str = "test"
    """Held-out gold split of the model's run files: ``test``, ``dev`` or ``dev+test``."""

    def __post_init__(self) -> None:
        if not self.split or any(s not in ("dev", "test") for s in self.split.split("+")):
            raise ValueError("split must be 'test', 'dev' or 'dev+test'")


@dataclass(frozen=True)
class CompareConfig:
    min_articles: int = 5
    """Groups with fewer articles are left out of the pairwise and group-vs-rest comparisons."""


@dataclass(frozen=True)
class ReportConfig:
    max_articles: int = 80
    """Articles shown in the HTML browser (most promotional first, then a spread of the rest)."""
    figures: bool = True
    embed_font: bool = True
    """Embed an installed Arabic font (Amiri, Noto Naskh Arabic...) in index.html so it renders the same
    on machines without one; without such a font the page falls back on the reader's system fonts."""


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study run depends on; saved resolved in ``manifest.json``."""

    corpus: str = str(DEMO_CORPUS)
    out: str = "reports/study"
    model: str = str(DEFAULT_MODEL_DIR)
    sentiment_model: str = str(MODELS_DIR / "sentiment")
    """Sentiment model directory; if it does not exist the study runs without sentiment."""
    format: str | None = None
    encoding: str | None = None
    rules: ArticleRules = field(default_factory=ArticleRules)
    relevance: RelevanceConfig = field(default_factory=RelevanceConfig)
    topics: TopicsConfig = field(default_factory=TopicsConfig)
    praise: PraiseConfig = field(default_factory=PraiseConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    correction: CorrectionConfig = field(default_factory=CorrectionConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    regression: RegressionConfig = field(default_factory=RegressionConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


@dataclass
class ModelInfo:
    """A model as the study used it: its meta, metrics, card and error profile (or why it has none)."""

    role: str
    path: str
    meta: dict[str, Any]
    metrics: dict[str, Any]
    card: str | None
    profile: ErrorProfile | None
    profile_note: str | None
    files: list[FileInfo]


@dataclass
class StudyResult:
    out: Path
    articles: pd.DataFrame
    sentences: pd.DataFrame
    aggregates: pd.DataFrame
    accounting: dict[str, Any]
    timings: dict[str, float]
    sentiment: pd.DataFrame = field(default_factory=pd.DataFrame)
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    regression: RegressionResult | None = None
    praise: pd.DataFrame = field(default_factory=pd.DataFrame)
    models: dict[str, ModelInfo] = field(default_factory=dict)
    sentiment_note: str | None = None


SENTENCE_COLUMNS = ["article_id", "sentence", "field", "start", "end", "text", "label", "score",
                    *[f"p_{k}" for k in FRAMING_LABELS], "devices", "cues", "sentiment", "sentiment_score",
                    *[f"p_{k}" for k in SENTIMENT_LABELS], "entities"]


def _sentence_rows(article: Article, model: SentenceModel, finder: MentionFinder) -> list[dict[str, Any]]:
    units = segment_article(article)
    preds = model.predict_many([u["text"] for u in units])
    rows = []
    for i, (u, pred) in enumerate(zip(units, preds)):
        rows.append({
            **u, "sentence": i, "label": pred.label, "score": round(pred.score, 4),
            **{f"p_{k}": pred.probs[k] for k in FRAMING_LABELS},
            "devices": list(pred.devices),
            "cues": [e["cue"] for e in pred.evidence if "cue" in e],
            "entities": finder.entities(u["text"]),
        })
    return rows


def _add_sentiment(rows: list[dict[str, Any]], model: SentenceModel | None) -> None:
    """Sentiment for every sentence row, in one batch (the TF-IDF model is fastest that way)."""
    if model is None:
        for r in rows:
            r.update({"sentiment": None, "sentiment_score": None, **{f"p_{k}": None for k in SENTIMENT_LABELS}})
        return
    for r, pred in zip(rows, model.predict_many([r["text"] for r in rows])):
        r.update({"sentiment": pred.label, "sentiment_score": round(pred.score, 4),
                  **{f"p_{k}": pred.probs.get(k, 0.0) for k in SENTIMENT_LABELS}})


def _article_row(article: Article, relevant: bool, rel_score: float, institutions: tuple[str, ...],
                 sents: list[dict[str, Any]], topics: tuple[str, ...] = (), topic: str | None = None) -> dict[str, Any]:
    counts = {lab: sum(1 for s in sents if s["label"] == lab) for lab in FRAMING_LABELS}
    content = counts["promotional"] + counts["factual"]
    psum = {k: float(sum(s[f"p_{k}"] for s in sents)) for k in FRAMING_LABELS}
    exp_den = psum["promotional"] + psum["factual"]
    row = {"article_id": article.id, "outlet": article.outlet, "date": article.date, "month": article.month,
           "year": article.year, "category": article.category, "title": article.title,
           "relevant": relevant, "relevance_score": round(rel_score, 3), "institutions": list(institutions),
           "topics": list(topics), "topic": topic,
           "n_sentences": len(sents), "n_content": content, "n_promotional": counts["promotional"],
           "n_factual": counts["factual"], "n_other": counts["other"],
           "promotional_share": counts["promotional"] / content if content else float("nan"),
           **{f"sum_p_{k}": round(v, 6) for k, v in psum.items()},
           "expected_share": psum["promotional"] / exp_den if content and exp_den else float("nan"),
           "warnings": list(article.warnings)}
    for d in DEVICES:
        row[f"device_{d}"] = sum(1 for s in sents if d in s["devices"])
    with_sent = [s for s in sents if s.get("sentiment")]
    for k in SENTIMENT_LABELS:
        row[f"n_{k}"] = sum(1 for s in with_sent if s["sentiment"] == k)
    row["net_tone"] = (row["n_positive"] - row["n_negative"]) / len(with_sent) if with_sent else float("nan")
    row["entities"] = sorted({e for s in sents for e in s.get("entities", [])})
    return row


def _load_model_info(role: str, path: str, labels: tuple[str, ...], correction: CorrectionConfig) -> ModelInfo:
    """Meta, metrics, card and error profile of a model directory (the model itself is loaded apart)."""
    d = Path(path)
    meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
    metrics_path = d / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    card = (d / "README.md").read_text(encoding="utf-8") if (d / "README.md").exists() else None
    profile, note = None, None
    if correction.enabled:
        try:
            profile = load_error_profile(d, labels, correction.split)
        except ProfileUnavailable as exc:
            note = str(exc)
    else:
        note = "correction disabled in the config (correction.enabled = false)"
    files = [file_info(d / name) for name in meta.get("files", {})]
    files += [file_info(d / n) for n in ("metrics.json", "README.md") if (d / n).exists()]
    if profile is not None:
        files += [file_info(p.strip()) for p in profile.source.split(",")]
    return ModelInfo(role, path, meta, metrics, card, profile, note, files)


def run_study(config: StudyConfig, progress: bool = False) -> StudyResult:
    """Run the whole study and write the report folder ``config.out``."""
    started, t0 = now_iso(), time.perf_counter()
    timings: dict[str, float] = {}
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)

    read = read_articles(config.corpus, config.rules, config.format, config.encoding)
    timings["read"] = time.perf_counter() - t0
    write_jsonl(out / "rejects.jsonl", (rej.to_dict() for rej in read.rejects))

    model = load_model(config.model)
    models = {"framing": _load_model_info("framing", config.model, FRAMING_LABELS, config.correction)}
    sentiment_model: SentenceModel | None = None
    sentiment_note = None
    if Path(config.sentiment_model).is_dir():
        sentiment_model = load_model(config.sentiment_model)  # a broken model directory is an error, not a skip
        if tuple(getattr(sentiment_model, "labels", ())) != SENTIMENT_LABELS:
            raise ModelLoadError(f"{config.sentiment_model}: labels {list(sentiment_model.labels)} are not the "
                                 f"sentiment labels {list(SENTIMENT_LABELS)}")
        models["sentiment"] = _load_model_info("sentiment", config.sentiment_model, SENTIMENT_LABELS,
                                               config.correction)
    else:
        sentiment_note = (f"sentiment unavailable: no model directory at {config.sentiment_model} "
                          "(build it with `make models`: configs/experiments/sentiment_layered.toml)")

    scorer = RelevanceScorer(config.relevance)
    tagger = TopicTagger(config.topics)
    finder = MentionFinder(config.praise)
    t = time.perf_counter()
    iterator: Any = read.articles
    if progress:
        from tqdm import tqdm

        iterator = tqdm(read.articles, desc="articles", unit="art")
    entries: list[tuple[Article, Any, list[dict[str, Any]]]] = []
    sentence_rows: list[dict[str, Any]] = []
    with open(out / "relevance.jsonl", "w", encoding="utf-8") as rel_fh:
        for art in iterator:
            rel = scorer.score(art)
            rel_fh.write(json.dumps(rel.to_dict(), ensure_ascii=False) + "\n")
            sents = _sentence_rows(art, model, finder) if rel.relevant else []
            sentence_rows.extend(sents)
            entries.append((art, rel, sents))
    timings["select_segment_classify"] = time.perf_counter() - t
    t = time.perf_counter()
    _add_sentiment(sentence_rows, sentiment_model)  # fills the sentence dicts the entries share
    timings["sentiment"] = time.perf_counter() - t

    article_rows, topic_evidence = [], []
    for art, rel, sents in entries:
        if not rel.relevant:
            article_rows.append(_article_row(art, False, rel.score, rel.institutions, []))
            continue
        tr = tagger.tag(art)
        topic_evidence.append({"article_id": art.id, "topics": list(tr.topics), "primary": tr.primary,
                               "scores": tr.scores, "evidence": list(tr.evidence)})
        article_rows.append(_article_row(art, True, rel.score, rel.institutions, sents,
                                         tr.topics or (GENERAL,), tr.primary))
    write_jsonl(out / "topics.jsonl", topic_evidence)

    columns = list(_article_row(Article("x", "x", None, None, "x"), False, 0.0, (), []).keys())
    articles = pd.DataFrame(article_rows, columns=columns)
    sentences = pd.DataFrame(sentence_rows, columns=SENTENCE_COLUMNS)

    t = time.perf_counter()
    from secframing.study.aggregate import aggregate, contrasts, sentiment_aggregate
    from secframing.study.analysis import fit_promotional_regression
    from secframing.study.praise import praise_table

    relevant = articles[articles["relevant"]]
    b = config.bootstrap
    boot = Boot(b.n_resamples, b.seed, b.confidence)
    profile = models["framing"].profile
    aggregates = pd.concat([aggregate(relevant, by, b.n_resamples, b.seed, b.confidence, profile)
                            for by in (None, "outlet", "category", "topics", "year", "month")], ignore_index=True)
    aggregates["group_by"] = aggregates["group_by"].replace({"topics": "topic"})
    sent_profile = models["sentiment"].profile if "sentiment" in models else None
    sentiment = pd.concat([sentiment_aggregate(relevant, by, boot, sent_profile)
                           for by in (None, "outlet", "topics")], ignore_index=True) \
        if sentiment_model is not None else pd.DataFrame()
    if len(sentiment):
        sentiment["group_by"] = sentiment["group_by"].replace({"topics": "topic"})
    n_min = config.compare.min_articles
    comparisons = pd.concat([contrasts(relevant, "outlet", boot, profile, "pairs", n_min),
                             contrasts(relevant, "topics", boot, profile, "rest", n_min),
                             contrasts(relevant, "year", boot, profile, "rest", n_min)], ignore_index=True)
    comparisons["group_by"] = comparisons["group_by"].replace({"topics": "topic"})
    regression = fit_promotional_regression(relevant, config.regression)
    praise = praise_table(sentences, finder, profile, boot)
    timings["aggregate"] = time.perf_counter() - t

    accounting = {
        "input_rows": read.n_rows, "rejected_rows": len(read.rejects), "articles": len(read.articles),
        "relevant_articles": int(articles["relevant"].sum()) if len(articles) else 0,
        "not_relevant_articles": int((~articles["relevant"]).sum()) if len(articles) else 0,
        "relevant_without_content": int(((articles["relevant"]) & (articles["n_content"] == 0)).sum()) if len(articles) else 0,
        "sentences": len(sentences),
        "sentences_by_label": {lab: int((sentences["label"] == lab).sum()) for lab in FRAMING_LABELS},
    }
    if sentiment_model is not None:
        accounting["sentences_by_sentiment"] = {lab: int((sentences["sentiment"] == lab).sum())
                                                for lab in SENTIMENT_LABELS}
    accounting["balanced"] = accounting["input_rows"] == accounting["rejected_rows"] + accounting["articles"] \
        and accounting["articles"] == accounting["relevant_articles"] + accounting["not_relevant_articles"]

    result = StudyResult(out, articles, sentences, aggregates, accounting, timings, sentiment, comparisons,
                         regression, praise, models, sentiment_note)
    t = time.perf_counter()
    _write_tables(out, {"articles": articles, "sentences": sentences, "aggregates": aggregates,
                        "sentiment": sentiment, "contrasts": comparisons, "regression": regression.table,
                        "praise": praise})
    write_json(out / "regression.json", {"fitted": regression.fitted, "reason": regression.reason,
                                         **regression.info})
    write_json(out / "accounting.json", accounting)

    inputs = [read.source] if read.source else []
    for info in models.values():
        inputs += info.files
    inputs += [file_info(p) for p in dict.fromkeys((config.relevance.lexicon, config.topics.lexicon,
                                                     config.praise.lexicon))]
    run = {"inputs": inputs, "git": git_state(), "libraries": library_versions(),
           "started": started}
    from secframing.study.report import write_report

    write_report(out, config, result, run)
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    manifest = build_manifest("study", config, inputs, started, timings["total"], {
        "accounting": accounting, "timings": {k: round(v, 3) for k, v in timings.items()},
        "model": {"backend": models["framing"].meta.get("backend"), "created": models["framing"].meta.get("created")},
        "sentiment_model": ({"backend": models["sentiment"].meta.get("backend"),
                             "created": models["sentiment"].meta.get("created")} if "sentiment" in models
                            else {"unavailable": sentiment_note}),
        "error_profiles": {k: (v.profile.source if v.profile else v.profile_note) for k, v in models.items()}})
    write_json(out / "manifest.json", manifest)
    return result



def _write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    """CSV (lists joined with ``|``) and Parquet copies of every table."""
    folder = out / "tables"
    for name, df in tables.items():
        flat = df.copy()
        for col in flat.columns:
            if flat[col].map(lambda v: isinstance(v, list)).any():
                flat[col] = flat[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, list) else v)
        flat.to_csv(folder / f"{name}.csv", index=False)
        df.to_parquet(folder / f"{name}.parquet", index=False)
