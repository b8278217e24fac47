"""What a study does to each article: select, segment, classify, score sentiment, tally (one shard at a time).

:class:`ArticleProcessor` holds the models and lexicons and turns a list of articles into the four
per-shard tables (articles, sentences, relevance evidence, topic evidence). Articles are independent of
each other here, so any cut of the corpus into shards gives the same rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.io.schema import Article
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS
from secframing.models.base import ModelLoadError, SentenceModel, load_model
from secframing.select.relevance import Relevance, RelevanceScorer
from secframing.study.config import StudyConfig
from secframing.study.praise import MentionFinder
from secframing.study.topics import GENERAL, TopicTagger
from secframing.text.segment import segment_article

SENTIMENT_COLUMNS = ["sentiment", "sentiment_score", *[f"p_{k}" for k in SENTIMENT_LABELS]]
SENTENCE_COLUMNS = ["article_id", "sentence", "field", "start", "end", "text", "label", "score",
                    *[f"p_{k}" for k in FRAMING_LABELS], "devices", "cues", *SENTIMENT_COLUMNS, "entities"]
ARTICLE_COLUMNS = ["article_id", "outlet", "date", "month", "year", "category", "title", "relevant",
                   "relevance_score", "institutions", "topics", "topic", "n_sentences", "n_content",
                   *[f"n_{k}" for k in FRAMING_LABELS], "promotional_share", *[f"sum_p_{k}" for k in FRAMING_LABELS],
                   "expected_share", "warnings", *[f"device_{d}" for d in DEVICES],
                   *[f"n_{k}" for k in SENTIMENT_LABELS], "net_tone", "entities"]


LIST_COLUMNS = ("devices", "cues", "entities", "institutions", "topics", "warnings")
"""List-valued columns of the article and sentence tables (lists of strings)."""
_INT_COLUMNS = {"sentence", "start", "end", "year", "n_sentences", "n_content",
                *[f"n_{k}" for k in (*FRAMING_LABELS, *SENTIMENT_LABELS)], *[f"device_{d}" for d in DEVICES]}
_STRING_COLUMNS = {"article_id", "field", "text", "label", "sentiment", "outlet", "date", "month", "category",
                   "title", "topic"}


def arrow_schema(columns: list[str]) -> Any:
    """The Arrow schema of a table with these columns: every shard is written with the same types, even
    one whose column is all empty."""
    import pyarrow as pa

    def kind(col: str) -> Any:
        if col in LIST_COLUMNS:
            return pa.list_(pa.string())
        if col in _INT_COLUMNS:
            return pa.int64()
        if col in _STRING_COLUMNS:
            return pa.string()
        if col == "relevant":
            return pa.bool_()
        return pa.float64()

    return pa.schema([(c, kind(c)) for c in columns])


def table_to_arrow(df: pd.DataFrame, columns: list[str]) -> Any:
    """``df`` (with exactly ``columns``) as an Arrow table of :func:`arrow_schema`."""
    import pyarrow as pa

    return pa.Table.from_pandas(df[columns], schema=arrow_schema(columns), preserve_index=False)


def arrow_to_frame(table: Any) -> pd.DataFrame:
    """An Arrow table of :func:`arrow_schema` as the DataFrame the study builds in memory (list columns as
    Python lists, not NumPy arrays)."""
    df = table.to_pandas()
    for col in LIST_COLUMNS:
        if col in df.columns:
            df[col] = pd.Series([list(v) if v is not None else [] for v in df[col]], index=df.index, dtype=object)
    return df


@dataclass
class SentenceModels:
    """The framing model and the sentiment model (None: see :func:`missing_sentiment`)."""

    framing: SentenceModel
    sentiment: SentenceModel | None


def missing_sentiment(config: StudyConfig) -> str | None:
    """Why the study runs without sentiment (no ``sentiment_model`` directory), or None."""
    if Path(config.sentiment_model).is_dir():
        return None
    return (f"sentiment unavailable: no model directory at {config.sentiment_model} "
            "(build it with `make models`: configs/experiments/sentiment_layered.toml)")


def load_sentence_models(config: StudyConfig) -> SentenceModels:
    """Load the framing model and, where its directory exists, the sentiment model."""
    framing = load_model(config.model)
    if missing_sentiment(config):
        return SentenceModels(framing, None)
    sentiment = load_model(config.sentiment_model)  # a broken model directory is an error, not a skip
    if tuple(getattr(sentiment, "labels", ())) != SENTIMENT_LABELS:
        raise ModelLoadError(f"{config.sentiment_model}: labels {list(sentiment.labels)} are not the "
                             f"sentiment labels {list(SENTIMENT_LABELS)}")
    return SentenceModels(framing, sentiment)


@dataclass
class ShardTables:
    """What :meth:`ArticleProcessor.process` makes of a list of articles."""

    articles: pd.DataFrame
    """:data:`ARTICLE_COLUMNS`, one row per article, in input order."""
    sentences: pd.DataFrame
    """:data:`SENTENCE_COLUMNS`, the sentences of the relevant articles."""
    relevance: list[dict[str, Any]]
    """The relevance decision and evidence of every article."""
    topics: list[dict[str, Any]]
    """The topic evidence of the relevant articles."""


class ArticleProcessor:
    """Models and lexicons of a study config, loaded once, applied shard after shard."""

    def __init__(self, config: StudyConfig, models: SentenceModels | None = None):
        self.config = config
        self.models = models or load_sentence_models(config)
        self.scorer = RelevanceScorer(config.relevance)
        self.finder = MentionFinder(config.praise)
        self.tagger = TopicTagger(config.topics)

    def process(self, articles: list[Article]) -> ShardTables:
        decisions, sentences = classify(articles, self.scorer, self.models.framing, self.finder)
        sentences = add_sentiment(sentences, self.models.sentiment)
        table, topics = article_table(articles, decisions, sentences, self.tagger)
        return ShardTables(table, sentences, [d.to_dict() for d in decisions], topics)


def classify(articles: list[Article], scorer: RelevanceScorer, model: SentenceModel,
             finder: MentionFinder) -> tuple[list[Relevance], pd.DataFrame]:
    """Select, segment, classify: the relevance decision of every article, and the sentence table
    (:data:`SENTENCE_COLUMNS`; sentiment columns still empty) of the relevant ones."""
    decisions, rows = [], []
    for art in articles:
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
