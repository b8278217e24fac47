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
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.config import FilePath
from secframing.io.readers import ReadResult, read_articles
from secframing.io.schema import Article, ArticleRules
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS
from secframing.manifest import (
    FileInfo,
    build_manifest,
    file_info,
    git_state,
    library_versions,
    now_iso,
    write_json,
    write_jsonl,
)
from secframing.models.base import ModelLoadError, SentenceModel, load_model
from secframing.paths import DEFAULT_MODEL_DIR, DEMO_CORPUS, MODELS_DIR
from secframing.select.relevance import Relevance, RelevanceConfig, RelevanceScorer
from secframing.study.analysis import RegressionConfig, RegressionResult
from secframing.study.estimators import (
    BootstrapConfig,
    ErrorProfile,
    ProfileUnavailable,
    load_error_profile,
)
from secframing.study.praise import MentionFinder, PraiseConfig
from secframing.study.topics import GENERAL, TopicsConfig, TopicTagger
from secframing.text.segment import segment_article


@dataclass(frozen=True)
class CorrectionConfig:
    """Where the error rates for the misclassification-adjusted estimates come from."""

    enabled: bool = True
    """Compute the misclassification-adjusted estimates."""
    split: str = "test"
    """Held-out gold split of the model's run files: ``test``, ``dev`` or ``dev+test``."""

    def __post_init__(self) -> None:
        if not self.split or any(s not in ("dev", "test") for s in self.split.split("+")):
            raise ValueError("split must be 'test', 'dev' or 'dev+test'")


@dataclass(frozen=True)
class CompareConfig:
    """Comparisons between groups (``tables/contrasts``)."""

    min_articles: int = 5
    """Groups with fewer articles are left out of the pairwise and group-vs-rest comparisons."""


@dataclass(frozen=True)
class ReportConfig:
    """What ``index.html`` shows."""

    max_articles: int = 80
    """Articles shown in the HTML browser (most promotional first, then a spread of the rest)."""
    figures: bool = True
    """Draw the PNG figures (and embed them in the page)."""
    embed_font: bool = True
    """Embed an installed Arabic font (Amiri, Noto Naskh Arabic...) in index.html so it renders the same
    on machines without one; without such a font the page falls back on the reader's system fonts."""


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study run depends on; saved resolved in ``manifest.json``. Paths in a config file are
    relative to that file, paths on the command line to the working directory."""

    corpus: FilePath = str(DEMO_CORPUS)
    """Corpus file (JSONL, CSV, TSV or Parquet); default: the bundled demo corpus."""
    out: FilePath = "reports/study"
    """Report folder to write."""
    model: FilePath = str(DEFAULT_MODEL_DIR)
    """Framing model directory (framing labels with probabilities, and devices)."""
    sentiment_model: FilePath = str(MODELS_DIR / "sentiment")
    """Sentiment model directory; if it does not exist the study runs without sentiment."""
    format: str | None = None
    """Force the input format (jsonl, csv, tsv, parquet); default: from the file name."""
    encoding: str | None = None
    """Input encoding when not UTF-8 (e.g. cp1256)."""
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
class StudyModels:
    """The models of a run: the framing model, the sentiment model (or why there is none) and their infos."""

    framing: SentenceModel
    sentiment: SentenceModel | None
    info: dict[str, ModelInfo]
    sentiment_note: str | None = None


@dataclass
class Estimates:
    """The group tables of a run (see ``docs/study.md``)."""

    aggregates: pd.DataFrame
    sentiment: pd.DataFrame
    contrasts: pd.DataFrame
    regression: RegressionResult
    praise: pd.DataFrame


@dataclass
class StudyResult:
    """What a run computed (everything it wrote is in ``out``)."""

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


SENTIMENT_COLUMNS = ["sentiment", "sentiment_score", *[f"p_{k}" for k in SENTIMENT_LABELS]]
SENTENCE_COLUMNS = ["article_id", "sentence", "field", "start", "end", "text", "label", "score",
                    *[f"p_{k}" for k in FRAMING_LABELS], "devices", "cues", *SENTIMENT_COLUMNS, "entities"]
ARTICLE_COLUMNS = ["article_id", "outlet", "date", "month", "year", "category", "title", "relevant",
                   "relevance_score", "institutions", "topics", "topic", "n_sentences", "n_content",
                   *[f"n_{k}" for k in FRAMING_LABELS], "promotional_share", *[f"sum_p_{k}" for k in FRAMING_LABELS],
                   "expected_share", "warnings", *[f"device_{d}" for d in DEVICES],
                   *[f"n_{k}" for k in SENTIMENT_LABELS], "net_tone", "entities"]
GROUPINGS = (None, "outlet", "category", "topics", "year", "month")
"""Groupings of the promotional-share table; ``topics`` (list-valued) is reported as ``topic``."""
SENTIMENT_GROUPINGS = (None, "outlet", "topics")


def run_study(config: StudyConfig, progress: bool = False) -> StudyResult:
    """Run the whole study and write the report folder ``config.out``."""
    started, t0 = now_iso(), time.perf_counter()
    timings: dict[str, float] = {}
    models = load_models(config)
    finder = MentionFinder(config.praise)
    with _timed(timings, "read"):
        read = read_articles(config.corpus, config.rules, config.format, config.encoding)
    with _timed(timings, "select_segment_classify"):
        decisions, sentences = classify(read.articles, RelevanceScorer(config.relevance), models.framing, finder,
                                        progress)
    with _timed(timings, "sentiment"):
        sentences = add_sentiment(sentences, models.sentiment)
    articles, topic_evidence = article_table(read.articles, decisions, sentences, TopicTagger(config.topics))
    with _timed(timings, "aggregate"):
        est = estimate_groups(articles, sentences, config, models, finder)
    result = StudyResult(Path(config.out), articles, sentences, est.aggregates,
                         account(read, articles, sentences, models.sentiment is not None), timings, est.sentiment,
                         est.contrasts, est.regression, est.praise, models.info, models.sentiment_note)
    with _timed(timings, "report"):
        run = write_outputs(result, config, read, decisions, topic_evidence, started)
    timings["total"] = time.perf_counter() - t0
    write_manifest(result, config, run)
    return result


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - t


def load_models(config: StudyConfig) -> StudyModels:
    """Load the framing model and, where its directory exists, the sentiment model, with their infos."""
    framing = load_model(config.model)
    info = {"framing": _load_model_info("framing", config.model, FRAMING_LABELS, config.correction)}
    if not Path(config.sentiment_model).is_dir():
        return StudyModels(framing, None, info,
                           f"sentiment unavailable: no model directory at {config.sentiment_model} "
                           "(build it with `make models`: configs/experiments/sentiment_layered.toml)")
    sentiment = load_model(config.sentiment_model)  # a broken model directory is an error, not a skip
    if tuple(getattr(sentiment, "labels", ())) != SENTIMENT_LABELS:
        raise ModelLoadError(f"{config.sentiment_model}: labels {list(sentiment.labels)} are not the "
                             f"sentiment labels {list(SENTIMENT_LABELS)}")
    info["sentiment"] = _load_model_info("sentiment", config.sentiment_model, SENTIMENT_LABELS, config.correction)
    return StudyModels(framing, sentiment, info)


def classify(articles: list[Article], scorer: RelevanceScorer, model: SentenceModel, finder: MentionFinder,
             progress: bool = False) -> tuple[list[Relevance], pd.DataFrame]:
    """Select, segment, classify: the relevance decision of every article, and the sentence table
    (:data:`SENTENCE_COLUMNS`; sentiment columns still empty) of the relevant ones."""
    iterator: Any = articles
    if progress:
        from tqdm import tqdm

        iterator = tqdm(articles, desc="articles", unit="art")
    decisions, rows = [], []
    for art in iterator:
        rel = scorer.score(art)
        decisions.append(rel)
        if rel.relevant:
            rows.extend(_sentence_rows(art, model, finder))
    return decisions, pd.DataFrame(rows, columns=SENTENCE_COLUMNS)


def _sentence_rows(article: Article, model: SentenceModel, finder: MentionFinder) -> list[dict[str, Any]]:
    """The sentences of one article with framing label, probabilities, devices, cues and entities."""
    units = segment_article(article)
    preds = model.predict_many([u["text"] for u in units])  # one batch per article
    return [{**u, "sentence": i, "label": pred.label, "score": round(pred.score, 4),
             **{f"p_{k}": pred.probs[k] for k in FRAMING_LABELS},
             "devices": list(pred.devices),
             "cues": [e["cue"] for e in pred.evidence if "cue" in e],
             "entities": finder.entities(u["text"])}
            for i, (u, pred) in enumerate(zip(units, preds))]


def add_sentiment(sentences: pd.DataFrame, model: SentenceModel | None) -> pd.DataFrame:
    """The sentence table with its sentiment columns filled, in one batch (the TF-IDF model is fastest
    that way); without a model they are None."""
    if not len(sentences):
        return sentences
    if model is None:
        return sentences.assign(**dict.fromkeys(SENTIMENT_COLUMNS))
    preds = model.predict_many(sentences["text"].tolist())
    return sentences.assign(sentiment=[p.label for p in preds],
                            sentiment_score=[round(p.score, 4) for p in preds],
                            **{f"p_{k}": [p.probs.get(k, 0.0) for p in preds] for k in SENTIMENT_LABELS})


def article_table(articles: list[Article], decisions: list[Relevance], sentences: pd.DataFrame,
                  tagger: TopicTagger) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One row per article (:data:`ARTICLE_COLUMNS`: metadata, relevance, topics, per-label counts and
    probability sums, devices, sentiment counts, entities), and the topic evidence of the relevant ones."""
    by_article: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sentences.to_dict("records"):
        by_article[row["article_id"]].append(row)
    rows, topic_evidence = [], []
    for art, rel in zip(articles, decisions):
        if not rel.relevant:
            rows.append(_article_row(art, rel, [], (), None))
            continue
        tr = tagger.tag(art)
        topic_evidence.append({"article_id": art.id, "topics": list(tr.topics), "primary": tr.primary,
                               "scores": tr.scores, "evidence": list(tr.evidence)})
        rows.append(_article_row(art, rel, by_article[art.id], tr.topics or (GENERAL,), tr.primary))
    return pd.DataFrame(rows, columns=ARTICLE_COLUMNS), topic_evidence


def _article_row(article: Article, rel: Relevance, sents: list[dict[str, Any]], topics: tuple[str, ...],
                 topic: str | None) -> dict[str, Any]:
    """One row of the article table (keys: :data:`ARTICLE_COLUMNS`)."""
    counts = {lab: sum(1 for s in sents if s["label"] == lab) for lab in FRAMING_LABELS}
    content = counts["promotional"] + counts["factual"]
    psum = {k: float(sum(s[f"p_{k}"] for s in sents)) for k in FRAMING_LABELS}
    exp_den = psum["promotional"] + psum["factual"]
    with_sent = [s for s in sents if s.get("sentiment")]
    sent_counts = {k: sum(1 for s in with_sent if s["sentiment"] == k) for k in SENTIMENT_LABELS}
    return {"article_id": article.id, "outlet": article.outlet, "date": article.date, "month": article.month,
            "year": article.year, "category": article.category, "title": article.title,
            "relevant": rel.relevant, "relevance_score": round(rel.score, 3), "institutions": list(rel.institutions),
            "topics": list(topics), "topic": topic, "n_sentences": len(sents), "n_content": content,
            **{f"n_{k}": counts[k] for k in FRAMING_LABELS},
            "promotional_share": counts["promotional"] / content if content else float("nan"),
            **{f"sum_p_{k}": round(v, 6) for k, v in psum.items()},
            "expected_share": psum["promotional"] / exp_den if content and exp_den else float("nan"),
            "warnings": list(article.warnings),
            **{f"device_{d}": sum(1 for s in sents if d in s["devices"]) for d in DEVICES},
            **{f"n_{k}": v for k, v in sent_counts.items()},
            "net_tone": (sent_counts["positive"] - sent_counts["negative"]) / len(with_sent) if with_sent
            else float("nan"),
            "entities": sorted({e for s in sents for e in s.get("entities", [])})}


def estimate_groups(articles: pd.DataFrame, sentences: pd.DataFrame, config: StudyConfig, models: StudyModels,
                    finder: MentionFinder) -> Estimates:
    """Promotional and sentiment shares by group, comparisons, the regression and who gets praised,
    over the relevant articles."""
    from secframing.study.aggregate import aggregate, contrasts, sentiment_aggregate
    from secframing.study.analysis import fit_promotional_regression
    from secframing.study.praise import praise_table

    relevant = articles[articles["relevant"]]
    boot = config.bootstrap
    profile = models.info["framing"].profile
    aggregates = _stacked([aggregate(relevant, by, boot, profile) for by in GROUPINGS])
    sentiment = pd.DataFrame()
    if models.sentiment is not None:
        sent_profile = models.info["sentiment"].profile
        sentiment = _stacked([sentiment_aggregate(relevant, by, boot, sent_profile) for by in SENTIMENT_GROUPINGS])
    n_min = config.compare.min_articles
    comparisons = _stacked([contrasts(relevant, "outlet", boot, profile, "pairs", n_min),
                            contrasts(relevant, "topics", boot, profile, "rest", n_min),
                            contrasts(relevant, "year", boot, profile, "rest", n_min)])
    return Estimates(aggregates, sentiment, comparisons, fit_promotional_regression(relevant, config.regression),
                     praise_table(sentences, finder, profile, boot))


def _stacked(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Group tables one under the other; the list-valued ``topics`` column is reported as ``topic``."""
    out = pd.concat(tables, ignore_index=True)
    if len(out):
        out["group_by"] = out["group_by"].replace({"topics": "topic"})
    return out


def account(read: ReadResult, articles: pd.DataFrame, sentences: pd.DataFrame, with_sentiment: bool) -> dict[str, Any]:
    """``accounting.json``: every input row is a reject or an article, every article relevant or not."""
    n = len(articles)
    acc: dict[str, Any] = {
        "input_rows": read.n_rows, "rejected_rows": len(read.rejects), "articles": len(read.articles),
        "relevant_articles": int(articles["relevant"].sum()) if n else 0,
        "not_relevant_articles": int((~articles["relevant"]).sum()) if n else 0,
        "relevant_without_content": int(((articles["relevant"]) & (articles["n_content"] == 0)).sum()) if n else 0,
        "sentences": len(sentences),
        "sentences_by_label": {lab: int((sentences["label"] == lab).sum()) for lab in FRAMING_LABELS},
    }
    if with_sentiment:
        acc["sentences_by_sentiment"] = {lab: int((sentences["sentiment"] == lab).sum()) for lab in SENTIMENT_LABELS}
    acc["balanced"] = acc["input_rows"] == acc["rejected_rows"] + acc["articles"] \
        and acc["articles"] == acc["relevant_articles"] + acc["not_relevant_articles"]
    return acc


def write_outputs(result: StudyResult, config: StudyConfig, read: ReadResult, decisions: list[Relevance],
                  topic_evidence: list[dict[str, Any]], started: str) -> dict[str, Any]:
    """Write the report folder (evidence files, tables, ``index.html``, figures) and return the run
    record (inputs with their sha256, git state, libraries) the manifest repeats."""
    from secframing.study.report import write_report

    out = result.out
    (out / "tables").mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "rejects.jsonl", (rej.to_dict() for rej in read.rejects))
    write_jsonl(out / "relevance.jsonl", (rel.to_dict() for rel in decisions))
    write_jsonl(out / "topics.jsonl", topic_evidence)
    reg = result.regression
    assert reg is not None
    _write_tables(out, {"articles": result.articles, "sentences": result.sentences, "aggregates": result.aggregates,
                        "sentiment": result.sentiment, "contrasts": result.contrasts, "regression": reg.table,
                        "praise": result.praise})
    write_json(out / "regression.json", {"fitted": reg.fitted, "reason": reg.reason, **reg.info})
    write_json(out / "accounting.json", result.accounting)
    inputs = [read.source] if read.source else []
    for info in result.models.values():
        inputs += info.files
    inputs += [file_info(p) for p in dict.fromkeys((config.relevance.lexicon, config.topics.lexicon,
                                                     config.praise.lexicon))]
    run = {"inputs": inputs, "git": git_state(), "libraries": library_versions(), "started": started}
    write_report(out, config, result, run)
    return run


def write_manifest(result: StudyResult, config: StudyConfig, run: dict[str, Any]) -> None:
    """``manifest.json``: resolved config, inputs, accounting, timings and the models used."""
    models, timings = result.models, result.timings
    manifest = build_manifest("study", config, run["inputs"], run["started"], timings["total"], {
        "accounting": result.accounting, "timings": {k: round(v, 3) for k, v in timings.items()},
        "model": {"backend": models["framing"].meta.get("backend"), "created": models["framing"].meta.get("created")},
        "sentiment_model": ({"backend": models["sentiment"].meta.get("backend"),
                             "created": models["sentiment"].meta.get("created")} if "sentiment" in models
                            else {"unavailable": result.sentiment_note}),
        "error_profiles": {k: (v.profile.source if v.profile else v.profile_note) for k, v in models.items()}})
    write_json(result.out / "manifest.json", manifest)


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
