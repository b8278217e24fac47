"""``secframing study``: read a corpus, select the security coverage, segment, classify, aggregate, report.

Every input row is accounted for: it is either a reject (``rejects.jsonl``, with its reason) or an
article in ``articles.csv``; articles are either relevant (their sentences are classified) or not (kept
with the relevance evidence in ``relevance.jsonl``). ``accounting.json`` checks the sums.

Each relevant sentence gets a framing label with probabilities and devices (``model``) and a sentiment
label with probabilities (``sentiment_model``, optional: without it the study runs and the report says
sentiment is unavailable), plus the institutions and officials it names. Articles get their topics.
Estimates are computed three ways (raw, probability-weighted, misclassification-adjusted; see
``estimators``) with bootstrap CIs over articles; ``docs/study.md`` describes every output.

The corpus is read as a stream and processed in shards (see :mod:`secframing.study.shards`): memory does
not grow with the corpus's text, an interrupted run resumes (``resume=True``) from its last finished
shard, and ``engine.kind = "ray"`` spreads the shards over Ray actors. Aggregation reads the shards.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.labels import FRAMING_LABELS, SENTIMENT_LABELS
from secframing.manifest import (
    FileInfo,
    build_manifest,
    file_info,
    git_state,
    library_versions,
    now_iso,
    write_json,
)
from secframing.models.io import read_model_meta
from secframing.study.analysis import RegressionResult
from secframing.study.config import (  # noqa: F401 - the study's config classes, importable from here
    CompareConfig,
    CorrectionConfig,
    EngineConfig,
    ReportConfig,
    StudyConfig,
)
from secframing.study.estimators import ErrorProfile, ProfileUnavailable, load_error_profile
from secframing.study.praise import MentionFinder
from secframing.study.process import (  # noqa: F401 - the table layouts, importable from here
    ARTICLE_COLUMNS,
    SENTENCE_COLUMNS,
    SENTIMENT_COLUMNS,
    ArticleProcessor,
    _article_row,
    arrow_schema,
    arrow_to_frame,
    missing_sentiment,
)
from secframing.study.shards import (
    RunDir,
    finish,
    iter_parts,
    prepare,
    process_shards,
    sources_of,
    split_input,
)

GROUPINGS = (None, "outlet", "category", "topics", "year", "month")
"""Groupings of the promotional-share table; ``topics`` (list-valued) is reported as ``topic``."""
SENTIMENT_GROUPINGS = (None, "outlet", "topics")
STAT_COLUMNS = ["article_id", "sentence", "field", "label", "score", *[f"p_{k}" for k in FRAMING_LABELS], "devices",
                *SENTIMENT_COLUMNS, "entities"]
"""The sentence columns aggregation needs: everything but the text, its offsets and the cues, so that the
table held in memory stays small on an archive."""


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
class Estimates:
    """The group tables of a run (see ``docs/study.md``)."""

    aggregates: pd.DataFrame
    sentiment: pd.DataFrame
    contrasts: pd.DataFrame
    regression: RegressionResult
    praise: pd.DataFrame


@dataclass
class StudyResult:
    """What a run computed (everything it wrote is in ``out``).

    ``sentence_stats`` is the sentence table without text (:data:`STAT_COLUMNS`); :attr:`sentences`, the
    full table, is read from ``tables/sentences.parquet`` when first asked for, and :meth:`sentences_of`
    reads the sentences of a few articles only."""

    out: Path
    articles: pd.DataFrame
    sentence_stats: pd.DataFrame
    aggregates: pd.DataFrame
    accounting: dict[str, Any]
    timings: dict[str, float]
    sentiment: pd.DataFrame = field(default_factory=pd.DataFrame)
    contrasts: pd.DataFrame = field(default_factory=pd.DataFrame)
    regression: RegressionResult | None = None
    praise: pd.DataFrame = field(default_factory=pd.DataFrame)
    models: dict[str, ModelInfo] = field(default_factory=dict)
    sentiment_note: str | None = None
    shards: dict[str, Any] = field(default_factory=dict)
    _sentences: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def sentences(self) -> pd.DataFrame:
        """The sentence table (:data:`SENTENCE_COLUMNS`) of the relevant articles, in corpus order."""
        if self._sentences is None:
            self._sentences = read_sentences(self.out)
        return self._sentences

    def sentences_of(self, article_ids: list[str]) -> pd.DataFrame:
        """The sentence rows of these articles only (read from the Parquet table with a filter)."""
        return read_sentences(self.out, article_ids)


def read_sentences(out: str | Path, article_ids: list[str] | None = None) -> pd.DataFrame:
    """``tables/sentences.parquet`` of a study folder, optionally only the rows of ``article_ids``."""
    import pyarrow.parquet as pq

    path = Path(out) / "tables" / "sentences.parquet"
    filters = [("article_id", "in", list(article_ids))] if article_ids is not None else None
    if article_ids is not None and not article_ids:
        return arrow_to_frame(arrow_schema(SENTENCE_COLUMNS).empty_table())
    return arrow_to_frame(pq.read_table(path, filters=filters, schema=arrow_schema(SENTENCE_COLUMNS)))


def run_study(config: StudyConfig, progress: bool = False, resume: bool = False) -> StudyResult:
    """Run the whole study and write the report folder ``config.out``.

    ``progress`` shows a bar (on a terminal) or a log line every few seconds (elsewhere) for the long
    steps; ``resume`` keeps the finished shards of an interrupted run of the same config and corpus."""
    started, t0 = now_iso(), time.perf_counter()
    timings: dict[str, float] = {}
    # the models first: a broken model directory fails before any work (the Ray actors load their own)
    processor = ArticleProcessor(config) if config.engine.kind == "local" else None
    infos, sentiment_note = load_model_infos(config)
    run = RunDir(config.out)
    resumed = prepare(run, config, resume)
    with _timed(timings, "read"):
        summary = split_input(run, config, progress)
    with _timed(timings, "select_segment_classify"):
        work = process_shards(run, config, summary, progress, processor)
    work["resumed"] = resumed
    with _timed(timings, "merge"):
        articles = _concat(run, "articles.parquet", summary["shards"], ARTICLE_COLUMNS)
        stats = merge_sentences(run, summary["shards"], Path(config.out) / "tables")
    finder = MentionFinder(config.praise)
    with _timed(timings, "aggregate"):
        est = estimate_groups(articles, stats, config, infos, finder)
    result = StudyResult(Path(config.out), articles, stats, est.aggregates,
                         account(summary, articles, stats, "sentiment" in infos), timings, est.sentiment,
                         est.contrasts, est.regression, est.praise, infos, sentiment_note, work)
    with _timed(timings, "report"):
        run_record = write_outputs(result, config, run, summary, started)
    finish(run, config)
    timings["total"] = time.perf_counter() - t0
    write_manifest(result, config, run_record)
    return result


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - t


def load_model_infos(config: StudyConfig) -> tuple[dict[str, ModelInfo], str | None]:
    """The infos (meta, metrics, card, error profile) of the framing and, where its directory exists,
    the sentiment model, and why there is no sentiment model if there is none. The models themselves
    load where the shards are processed."""
    info = {"framing": _load_model_info("framing", config.model, FRAMING_LABELS, config.correction)}
    note = missing_sentiment(config)
    if note:
        return info, note
    info["sentiment"] = _load_model_info("sentiment", config.sentiment_model, SENTIMENT_LABELS, config.correction)
    return info, None


def _concat(run: RunDir, kind: str, n_shards: int, columns: list[str]) -> pd.DataFrame:
    """One table from the shards' Parquet files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(columns)
    parts = [pq.read_table(p, schema=schema) for p in iter_parts(run, kind, n_shards)]
    return arrow_to_frame(pa.concat_tables(parts) if parts else schema.empty_table())


def merge_sentences(run: RunDir, n_shards: int, folder: Path) -> pd.DataFrame:
    """One pass over the sentence shards: ``tables/sentences.parquet`` and ``.csv`` written shard by shard
    (never the whole table at once), and the text-free :data:`STAT_COLUMNS` table returned."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    schema = arrow_schema(SENTENCE_COLUMNS)
    stats = []
    with pq.ParquetWriter(folder / "sentences.parquet", schema) as writer, \
            open(folder / "sentences.csv", "w", encoding="utf-8", newline="") as csv_out:
        for k, part in enumerate(iter_parts(run, "sentences.parquet", n_shards)):
            table = pq.read_table(part, schema=schema)
            writer.write_table(table)
            _flat(arrow_to_frame(table)).to_csv(csv_out, index=False, header=k == 0)
            stats.append(table.select(STAT_COLUMNS))
        if not stats:  # no shard: the header alone
            pd.DataFrame(columns=SENTENCE_COLUMNS).to_csv(csv_out, index=False)
    return arrow_to_frame(pa.concat_tables(stats) if stats else schema.empty_table().select(STAT_COLUMNS))


def estimate_groups(articles: pd.DataFrame, sentences: pd.DataFrame, config: StudyConfig,
                    infos: dict[str, ModelInfo], finder: MentionFinder) -> Estimates:
    """Promotional and sentiment shares by group, comparisons, the regression and who gets praised,
    over the relevant articles."""
    from secframing.study.aggregate import aggregate, contrasts, sentiment_aggregate
    from secframing.study.analysis import fit_promotional_regression
    from secframing.study.praise import praise_table

    relevant = articles[articles["relevant"]]
    boot = config.bootstrap
    profile = infos["framing"].profile
    aggregates = _stacked([aggregate(relevant, by, boot, profile) for by in GROUPINGS])
    sentiment = pd.DataFrame()
    if "sentiment" in infos:
        sent_profile = infos["sentiment"].profile
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


def account(summary: dict[str, Any], articles: pd.DataFrame, sentences: pd.DataFrame,
            with_sentiment: bool) -> dict[str, Any]:
    """``accounting.json``: every input row is a reject or an article, every article relevant or not
    (``summary``: the counts of :func:`~secframing.study.shards.split_input`)."""
    n = len(articles)
    acc: dict[str, Any] = {
        "input_rows": summary["rows"], "rejected_rows": summary["rejects"], "articles": summary["articles"],
        "relevant_articles": int(articles["relevant"].sum()) if n else 0,
        "not_relevant_articles": int((~articles["relevant"]).sum()) if n else 0,
        "relevant_without_content": int(((articles["relevant"]) & (articles["n_content"] == 0)).sum()) if n else 0,
        "sentences": len(sentences),
        "sentences_by_label": {lab: int((sentences["label"] == lab).sum()) for lab in FRAMING_LABELS},
    }
    if with_sentiment:
        acc["sentences_by_sentiment"] = {lab: int((sentences["sentiment"] == lab).sum()) for lab in SENTIMENT_LABELS}
    acc["balanced"] = acc["input_rows"] == acc["rejected_rows"] + acc["articles"] \
        and acc["articles"] == acc["relevant_articles"] + acc["not_relevant_articles"] == n
    return acc


def write_outputs(result: StudyResult, config: StudyConfig, run: RunDir, summary: dict[str, Any],
                  started: str) -> dict[str, Any]:
    """Write the report folder (evidence files, tables, ``index.html``, figures) and return the run
    record (inputs with their sha256, git state, libraries) the manifest repeats. ``rejects.jsonl`` was
    written while reading and ``tables/sentences.*`` while merging; the per-shard evidence files are
    joined here."""
    from secframing.study.report import write_report

    out = result.out
    (out / "tables").mkdir(parents=True, exist_ok=True)
    n = summary["shards"]
    for kind in ("relevance", "topics"):
        _join_files(iter_parts(run, f"{kind}.jsonl", n), out / f"{kind}.jsonl")
    reg = result.regression
    assert reg is not None
    _write_tables(out, {"articles": result.articles, "aggregates": result.aggregates,
                        "sentiment": result.sentiment, "contrasts": result.contrasts, "regression": reg.table,
                        "praise": result.praise})
    write_json(out / "regression.json", {"fitted": reg.fitted, "reason": reg.reason, **reg.info})
    write_json(out / "accounting.json", result.accounting)
    inputs = sources_of(summary)
    for info in result.models.values():
        inputs += info.files
    inputs += [file_info(p) for p in dict.fromkeys((config.relevance.lexicon, config.topics.lexicon,
                                                     config.praise.lexicon))]
    record = {"inputs": inputs, "git": git_state(), "libraries": library_versions(), "started": started}
    write_report(out, config, result, record)
    return record


def _join_files(parts: Iterator[Path], dest: Path) -> None:
    with open(dest, "wb") as fh:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, fh)


def write_manifest(result: StudyResult, config: StudyConfig, run: dict[str, Any]) -> None:
    """``manifest.json``: resolved config, inputs, accounting, timings and the models used."""
    models, timings = result.models, result.timings
    manifest = build_manifest("study", config, run["inputs"], run["started"], timings["total"], {
        "accounting": result.accounting, "timings": {k: round(v, 3) for k, v in timings.items()},
        "shards": result.shards, "engine": dataclasses.asdict(config.engine),
        "model": {"backend": models["framing"].meta.get("backend"), "created": models["framing"].meta.get("created")},
        "sentiment_model": ({"backend": models["sentiment"].meta.get("backend"),
                             "created": models["sentiment"].meta.get("created")} if "sentiment" in models
                            else {"unavailable": result.sentiment_note}),
        "error_profiles": {k: (v.profile.source if v.profile else v.profile_note) for k, v in models.items()}})
    write_json(result.out / "manifest.json", manifest)


def _load_model_info(role: str, path: str, labels: tuple[str, ...], correction: CorrectionConfig) -> ModelInfo:
    """Meta, metrics, card and error profile of a model directory (the model itself is loaded apart)."""
    d = Path(path)
    meta = read_model_meta(d)  # checked (format, labels, file hashes): a broken directory fails here, early
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


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with list cells joined with ``|`` (for CSV)."""
    flat = df.copy()
    for col in flat.columns:
        if flat[col].map(lambda v: isinstance(v, list)).any():
            flat[col] = flat[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, list) else v)
    return flat


def _write_tables(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    """CSV (lists joined with ``|``) and Parquet copies of every table."""
    folder = out / "tables"
    for name, df in tables.items():
        _flat(df).to_csv(folder / f"{name}.csv", index=False)
        df.to_parquet(folder / f"{name}.parquet", index=False)
