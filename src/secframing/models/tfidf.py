"""Character and/or word n-gram TF-IDF on normalised text with a class-balanced logistic regression,
saved with skops (never pickle)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.models import fasthash
from secframing.models.base import Prediction, SentenceModel
from secframing.models.devices import DevicesHead
from secframing.models.io import dump_skops, load_skops
from secframing.text.normalize import normalize

FEATURES = ("char+word", "char", "word")
CHAR_ANALYZERS = ("char_wb", "char")


@dataclass(frozen=True)
class TfidfConfig:
    features: Literal["char+word", "char", "word"] = "char+word"
    """Which n-gram branches feed the classifier: both (the default), character n-grams only, or word
    n-grams only."""
    char_analyzer: Literal["char_wb", "char"] = "char_wb"
    """``char_wb``: character n-grams inside word boundaries (padded with spaces); ``char``: across them."""
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    sublinear_tf: bool = True
    """1 + log(tf) instead of raw term counts."""
    min_df: int = 2
    max_features: int | None = None
    """Per vectorizer; bounds the vocabulary (``stop_words_`` is dropped after fitting)."""
    hashing_features: int | None = None
    """Hash n-grams into this many columns instead of storing a vocabulary (``HashingVectorizer`` +
    ``TfidfTransformer``): keeps saved models small, which the shipped models need (< 50 MB)."""
    C: float = 4.0
    class_weight: str | None = "balanced"
    """``balanced`` or "" / None (none: e.g. a student whose soft targets already carry the balance)."""
    max_iter: int = 3000

    def __post_init__(self) -> None:
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {list(FEATURES)}, got {self.features!r}")
        if self.char_analyzer not in CHAR_ANALYZERS:
            raise ValueError(f"char_analyzer must be one of {list(CHAR_ANALYZERS)}, got {self.char_analyzer!r}")


def build_pipeline(c: TfidfConfig, seed: int = 0) -> Pipeline:
    """The unfitted feature union (char and/or word branches, hashed or with a vocabulary) and the
    class-balanced logistic regression; ``seed`` is the regression's ``random_state``."""
    branches = {"char": dict(analyzer=c.char_analyzer, ngram_range=tuple(c.char_ngrams)),
                "word": dict(analyzer="word", ngram_range=tuple(c.word_ngrams), token_pattern=r"(?u)\b\w+\b")}
    names = [name for name in ("char", "word") if name in c.features.split("+")]
    if c.hashing_features:
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

        def branch(**kw: Any) -> Pipeline:
            return Pipeline([("hash", HashingVectorizer(n_features=c.hashing_features, alternate_sign=False,
                                                         norm=None, preprocessor=normalize, **kw)),
                             ("tfidf", TfidfTransformer(sublinear_tf=c.sublinear_tf))])

        feats = FeatureUnion([(name, branch(**branches[name])) for name in names])
    else:
        feats = FeatureUnion([(name, TfidfVectorizer(min_df=c.min_df, max_features=c.max_features,
                                                     sublinear_tf=c.sublinear_tf, preprocessor=normalize,
                                                     **branches[name])) for name in names])
    clf = LogisticRegression(C=c.C, class_weight=c.class_weight or None, max_iter=c.max_iter, random_state=seed)
    return Pipeline([("features", feats), ("clf", clf)])


class TfidfModel(SentenceModel):
    backend = "tfidf"

    def __init__(self, config: TfidfConfig | None = None, labels: Sequence[str] = FRAMING_LABELS,
                 task: str = "framing", seed: int = 0):
        self.config = config or TfidfConfig()
        self.labels = tuple(labels)
        self.task = task
        self.seed = seed
        self.pipeline: Pipeline | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None) -> TfidfModel:
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        kw = {"clf__sample_weight": np.asarray(sample_weight, dtype=float)} if sample_weight is not None else {}
        self.pipeline = _slim(build_pipeline(self.config, self.seed).fit(list(texts), list(labels), **kw))
        return self

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        if not texts:
            return []
        proba = fasthash.predict_proba(self.pipeline, texts)  # pipeline.predict_proba, hashing compiled
        return self.predictions_from_proba(proba, list(self.pipeline.classes_))

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        files = {"pipeline.skops": dump_skops(self.pipeline, directory / "pipeline.skops")}
        return files, {"config": asdict(self.config), "seed": self.seed}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> TfidfModel:
        config, seed = _config(meta["config"], meta.get("seed"))
        model = cls(config, meta.get("model_labels", FRAMING_LABELS), meta.get("task", "framing"), seed)
        model.pipeline = load_skops(directory / "pipeline.skops")
        return model


def _slim(pipeline: Pipeline) -> Pipeline:
    """Drop the vectorisers' ``stop_words_`` (every pruned n-gram): sklearn keeps it only for
    introspection, and it is most of a saved model's size."""
    for _, vec in pipeline.named_steps["features"].transformer_list:
        if hasattr(vec, "stop_words_"):
            delattr(vec, "stop_words_")
    return pipeline


def _config(saved: dict[str, Any], seed: int | None) -> tuple[TfidfConfig, int]:
    """The config and seed a saved model records (format 1 kept the seed inside the config)."""
    cfg = dict(saved)
    legacy_seed = cfg.pop("seed", 0)
    cfg["char_ngrams"], cfg["word_ngrams"] = tuple(cfg["char_ngrams"]), tuple(cfg["word_ngrams"])
    return TfidfConfig(**cfg), legacy_seed if seed is None else seed


class TfidfMultiLabel(DevicesHead):
    """One logistic regression per device on shared TF-IDF features (multi-label framing devices)."""

    backend = "tfidf_multilabel"

    def __init__(self, labels: Sequence[str] = DEVICES, config: TfidfConfig | None = None, threshold: float = 0.5,
                 seed: int = 0, task: str = "devices"):
        self.labels = tuple(labels)
        self.task = task  # the label layer it predicts: devices, or another multi-label task's
        self.config = config or TfidfConfig()
        self.threshold = threshold
        self.seed = seed
        self.pipeline: Pipeline | None = None

    def fit(self, texts: Sequence[str], label_sets: Sequence[Sequence[str]],
            sample_weight: Sequence[float] | None = None) -> TfidfMultiLabel:
        from sklearn.multioutput import MultiOutputClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        y = MultiLabelBinarizer(classes=list(self.labels)).fit_transform([list(x) for x in label_sets])
        base = build_pipeline(self.config, self.seed)
        clf = base.named_steps["clf"]
        base.steps[-1] = ("clf", MultiOutputClassifier(clf))
        kw = {"clf__sample_weight": np.asarray(sample_weight, dtype=float)} if sample_weight is not None else {}
        self.pipeline = _slim(base.fit(list(texts), y, **kw))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        if not len(texts):
            return np.zeros((0, len(self.labels)))
        per_label = fasthash.predict_proba(self.pipeline, texts)  # one (n, 2) array per device
        return np.column_stack([p[:, 1] if p.shape[1] == 2 else np.zeros(len(texts)) for p in per_label])

    def predict_sets(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        probs = self.predict_proba(texts)
        return [tuple(lab for lab, p in zip(self.labels, row) if p >= self.threshold) for row in probs]

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        files = {"devices.skops": dump_skops(self.pipeline, directory / "devices.skops")}
        return files, {"threshold": self.threshold, "config": asdict(self.config), "seed": self.seed}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> TfidfMultiLabel:
        config, seed = _config(meta["config"], meta.get("seed"))
        model = cls(meta.get("model_labels", DEVICES), config, meta["threshold"], seed, meta.get("task", "devices"))
        model.pipeline = load_skops(directory / "devices.skops")
        return model

    @classmethod
    def from_v1(cls, directory: Path, info: dict[str, Any]) -> TfidfMultiLabel:
        """A head saved inside a format-1 learned model (``model.json``'s ``devices`` record; its file
        is listed, and so hash-checked, in that model's ``files``)."""
        config, seed = _config(info["config"], None)
        model = cls(info["labels"], config, info["threshold"], seed)
        model.pipeline = load_skops(Path(directory) / info["file"])
        return model
