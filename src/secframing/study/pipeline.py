"""``secframing study``: read a corpus, select the security coverage, segment, classify, aggregate, report.

Every input row is accounted for: it is either a reject (``rejects.jsonl``, with its reason) or an
article in ``articles.csv``; articles are either relevant (their sentences are classified) or not (kept
with the relevance evidence in ``relevance.jsonl``). ``accounting.json`` checks the sums.
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
from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.manifest import build_manifest, file_info, now_iso, write_json, write_jsonl
from secframing.models.base import SentenceModel, load_model
from secframing.paths import DEFAULT_MODEL_DIR, DEMO_CORPUS
from secframing.select.relevance import RelevanceConfig, RelevanceScorer
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
class ReportConfig:
    max_articles: int = 60
    """Articles shown in the HTML browser (most promotional first, then a spread of the rest)."""
    figures: bool = True


@dataclass(frozen=True)
class StudyConfig:
    """Everything a study run depends on; saved resolved in ``manifest.json``."""

    corpus: str = str(DEMO_CORPUS)
    out: str = "reports/study"
    model: str = str(DEFAULT_MODEL_DIR)
    format: str | None = None
    encoding: str | None = None
    rules: ArticleRules = field(default_factory=ArticleRules)
    relevance: RelevanceConfig = field(default_factory=RelevanceConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    report: ReportConfig = field(default_factory=ReportConfig)


@dataclass
class StudyResult:
    out: Path
    articles: pd.DataFrame
    sentences: pd.DataFrame
    aggregates: pd.DataFrame
    accounting: dict[str, Any]
    timings: dict[str, float]


def _sentence_rows(article: Article, model: SentenceModel) -> list[dict[str, Any]]:
    units = segment_article(article)
    preds = model.predict_many([u["text"] for u in units])
    rows = []
    for i, (u, pred) in enumerate(zip(units, preds)):
        rows.append({
            **u, "sentence": i, "label": pred.label, "score": round(pred.score, 4),
            **{f"p_{k}": pred.probs[k] for k in FRAMING_LABELS},
            "devices": list(pred.devices),
            "cues": [e["cue"] for e in pred.evidence if "cue" in e],
        })
    return rows


def _article_row(article: Article, relevant: bool, rel_score: float, institutions: tuple[str, ...],
                 sents: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {lab: sum(1 for s in sents if s["label"] == lab) for lab in FRAMING_LABELS}
    content = counts["promotional"] + counts["factual"]
    row = {"article_id": article.id, "outlet": article.outlet, "date": article.date, "month": article.month,
           "year": article.year, "category": article.category, "title": article.title,
           "relevant": relevant, "relevance_score": round(rel_score, 3), "institutions": list(institutions),
           "n_sentences": len(sents), "n_content": content, "n_promotional": counts["promotional"],
           "n_factual": counts["factual"], "n_other": counts["other"],
           "promotional_share": counts["promotional"] / content if content else float("nan"),
           "warnings": list(article.warnings)}
    for d in DEVICES:
        row[f"device_{d}"] = sum(1 for s in sents if d in s["devices"])
    return row


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
    scorer = RelevanceScorer(config.relevance)
    t = time.perf_counter()
    iterator: Any = read.articles
    if progress:
        from tqdm import tqdm

        iterator = tqdm(read.articles, desc="articles", unit="art")
    article_rows, sentence_rows = [], []
    with open(out / "relevance.jsonl", "w", encoding="utf-8") as rel_fh:
        for art in iterator:
            rel = scorer.score(art)
            rel_fh.write(json.dumps(rel.to_dict(), ensure_ascii=False) + "\n")
            sents = _sentence_rows(art, model) if rel.relevant else []
            sentence_rows.extend(sents)
            article_rows.append(_article_row(art, rel.relevant, rel.score, rel.institutions, sents))
    timings["select_segment_classify"] = time.perf_counter() - t

    articles = pd.DataFrame(article_rows, columns=list(_article_row(
        Article("x", "x", None, None, "x"), False, 0.0, (), []).keys()))
    sentences = pd.DataFrame(sentence_rows, columns=["article_id", "sentence", "field", "start", "end", "text",
                                                     "label", "score", *[f"p_{k}" for k in FRAMING_LABELS],
                                                     "devices", "cues"])
    t = time.perf_counter()
    from secframing.study.aggregate import aggregate

    relevant = articles[articles["relevant"]]
    b = config.bootstrap
    aggregates = pd.concat([aggregate(relevant, by, b.n_resamples, b.seed, b.confidence)
                            for by in (None, "outlet", "category", "year", "month")], ignore_index=True)
    timings["aggregate"] = time.perf_counter() - t

    accounting = {
        "input_rows": read.n_rows, "rejected_rows": len(read.rejects), "articles": len(read.articles),
        "relevant_articles": int(articles["relevant"].sum()) if len(articles) else 0,
        "not_relevant_articles": int((~articles["relevant"]).sum()) if len(articles) else 0,
        "relevant_without_content": int(((articles["relevant"]) & (articles["n_content"] == 0)).sum()) if len(articles) else 0,
        "sentences": len(sentences),
        "sentences_by_label": {lab: int((sentences["label"] == lab).sum()) for lab in FRAMING_LABELS},
    }
    accounting["balanced"] = accounting["input_rows"] == accounting["rejected_rows"] + accounting["articles"] \
        and accounting["articles"] == accounting["relevant_articles"] + accounting["not_relevant_articles"]

    t = time.perf_counter()
    _write_tables(out, articles, sentences, aggregates)
    write_json(out / "accounting.json", accounting)
    from secframing.study.report import write_report

    model_meta = json.loads((Path(config.model) / "model.json").read_text(encoding="utf-8"))
    write_report(out, config, articles, sentences, aggregates, accounting, model_meta)
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    inputs = [read.source] if read.source else []
    inputs += [file_info(Path(config.model) / name) for name in model_meta.get("files", {})]
    inputs.append(file_info(config.relevance.lexicon))
    manifest = build_manifest("study", config, inputs, started, timings["total"],
                              {"accounting": accounting, "timings": {k: round(v, 3) for k, v in timings.items()},
                               "model": {"backend": model_meta.get("backend"), "created": model_meta.get("created")}})
    write_json(out / "manifest.json", manifest)
    return StudyResult(out, articles, sentences, aggregates, accounting, timings)


def _write_tables(out: Path, articles: pd.DataFrame, sentences: pd.DataFrame, aggregates: pd.DataFrame) -> None:
    tables = out / "tables"
    for name, df in (("articles", articles), ("sentences", sentences), ("aggregates", aggregates)):
        flat = df.copy()
        for col in flat.columns:
            if flat[col].map(lambda v: isinstance(v, list)).any():
                flat[col] = flat[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, list) else v)
        flat.to_csv(tables / f"{name}.csv", index=False)
        df.to_parquet(tables / f"{name}.parquet", index=False)
