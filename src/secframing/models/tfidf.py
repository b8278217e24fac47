"""Character and word n-gram TF-IDF on normalised text with a class-balanced logistic regression,
saved with skops (never pickle)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from secframing.labels import FRAMING_LABELS, label_schema
from secframing.manifest import now_iso
from secframing.models.base import FORMAT_VERSION, MODEL_FORMAT, ModelLoadError, Prediction, SentenceModel, sha256_bytes
from secframing.text.normalize import normalize

SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "secframing.text.normalize.")


@dataclass(frozen=True)
class TfidfConfig:
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    min_df: int = 2
    C: float = 4.0
    class_weight: str | None = "balanced"
    max_iter: int = 3000
    seed: int = 0


class TfidfModel(SentenceModel):
    backend = "tfidf"
    tasks = ("framing",)

    def __init__(self, config: TfidfConfig | None = None, labels: Sequence[str] = FRAMING_LABELS):
        self.config = config or TfidfConfig()
        self.labels = tuple(labels)
        self.pipeline: Pipeline | None = None

    def _build(self) -> Pipeline:
        c = self.config
        feats = FeatureUnion([
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(c.char_ngrams), min_df=c.min_df,
                                     sublinear_tf=True, preprocessor=normalize)),
            ("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(c.word_ngrams), min_df=c.min_df,
                                     sublinear_tf=True, preprocessor=normalize, token_pattern=r"(?u)\b\w+\b")),
        ])
        clf = LogisticRegression(C=c.C, class_weight=c.class_weight, max_iter=c.max_iter, random_state=c.seed)
        return Pipeline([("features", feats), ("clf", clf)])

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TfidfModel:
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        self.pipeline = self._build().fit(list(texts), list(labels))
        return self

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        if not texts:
            return []
        proba = self.pipeline.predict_proba(list(texts))
        classes = list(self.pipeline.classes_)
        out = []
        for row in proba:
            probs = {lab: 0.0 for lab in self.labels}
            probs.update({c: float(p) for c, p in zip(classes, row)})
            out.append(Prediction(max(probs, key=probs.get), {k: round(v, 6) for k, v in probs.items()}))
        return out

    def save(self, directory: str | Path, extra_meta: dict[str, Any] | None = None) -> Path:
        import skops.io as sio

        if self.pipeline is None:
            raise RuntimeError("model is not fitted")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        sio.dump(self.pipeline, directory / "pipeline.skops")
        meta = {"format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "backend": self.backend,
                "tasks": list(self.tasks), "labels": label_schema(), "model_labels": list(self.labels),
                "config": asdict(self.config), "files": {"pipeline.skops": sha256_bytes((directory / "pipeline.skops").read_bytes())},
                "created": now_iso(), **(extra_meta or {})}
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> TfidfModel:
        import skops.io as sio

        path = directory / "pipeline.skops"
        untrusted = sio.get_untrusted_types(file=path)
        unsafe = [t for t in untrusted if not t.startswith(SAFE_PREFIXES)]
        if unsafe:
            raise ModelLoadError(f"{path}: refuses to load types outside sklearn/numpy/scipy: {unsafe}")
        cfg = dict(meta["config"])
        cfg["char_ngrams"], cfg["word_ngrams"] = tuple(cfg["char_ngrams"]), tuple(cfg["word_ngrams"])
        model = cls(TfidfConfig(**cfg), meta.get("model_labels", FRAMING_LABELS))
        model.pipeline = sio.load(path, trusted=untrusted)
        return model
