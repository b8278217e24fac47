"""Sentiment toward the security institutions, layered on the framing model.

In the gold set every promotional sentence is ``positive`` and no other sentence is (the codebook:
"promotional sentences are normally positive"; 190 of 190 in the gold), so a separate sentiment
classifier would relearn the rare promotional class from the same few examples. Instead, ``positive``
is the framing model's promotional call, and a learned model separates ``negative`` from ``neutral``
among the rest. The framing model is copied into the directory, so the model stays self-contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from secframing.labels import SENTIMENT_LABELS
from secframing.models.base import Prediction, SentenceModel, load_component
from secframing.models.io import save_components

REST = ("negative", "neutral")


class LayeredSentimentModel(SentenceModel):
    backend = "layered_sentiment"
    labels = SENTIMENT_LABELS
    task = "sentiment"

    def __init__(self, framing: SentenceModel, rest: SentenceModel, framing_source: str | None = None,
                 negative_threshold: float = 0.5):
        if "promotional" not in framing.labels:
            raise ValueError("the framing component must predict 'promotional'")
        if set(rest.labels) != set(REST):
            raise ValueError(f"the second component must predict {list(REST)}, not {list(rest.labels)}")
        self.framing, self.rest, self.framing_source = framing, rest, framing_source
        self.negative_threshold = negative_threshold
        """p(negative | not positive) at or above which a sentence is negative; chosen on dev by :meth:`tune`."""

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None
            ) -> LayeredSentimentModel:
        """Fit the negative-vs-neutral component on the non-positive sentences (the framing model is fixed)."""
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        keep = [i for i, lab in enumerate(labels) if lab != "positive"]
        weights = None if sample_weight is None else [sample_weight[i] for i in keep]
        self.rest.fit([texts[i] for i in keep], [labels[i] for i in keep], weights)
        return self

    def tune(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
        """Choose the negative threshold that maximises macro-F1 on held-out (dev) sentences.

        Negative sentences are few (73 in train), so the balanced classifier's default 0.5 cut-off
        rarely fires; the threshold is part of the model, chosen on dev only, never on test.
        """
        self.negative_threshold = 0.5
        base = self.predict_many(texts)
        p_neg = [p.probs["negative"] / max(1e-9, 1 - p.probs["positive"]) for p in base]
        best = (self._macro_f1(labels, [p.label for p in base]), 0.5)
        for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
            pred = [p.label if p.label == "positive" else ("negative" if q >= t else "neutral") for p, q in zip(base, p_neg)]
            best = max(best, (self._macro_f1(labels, pred), t))
        self.negative_threshold = best[1]
        return {"negative_threshold": best[1], "dev_macro_f1": round(best[0], 4)}

    def _macro_f1(self, gold: Sequence[str], pred: Sequence[str]) -> float:
        return float(f1_score(gold, pred, labels=list(self.labels), average="macro", zero_division=0))

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        texts = list(texts)
        framing = self.framing.predict_many(texts)
        rest = self.rest.predict_many(texts)
        out = []
        for f, r in zip(framing, rest):
            p_pos = f.probs["promotional"]
            probs = {"positive": p_pos, "negative": (1 - p_pos) * r.probs["negative"],
                     "neutral": (1 - p_pos) * r.probs["neutral"]}
            # the framing decision stands even where an override left p(promotional) below the others
            label = "positive" if f.label == "promotional" else (
                "negative" if r.probs["negative"] >= self.negative_threshold else "neutral")
            out.append(Prediction(label, {k: round(probs[k], 6) for k in self.labels}))
        return out

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        files = save_components(directory, {"framing": self.framing, "rest": self.rest})
        return files, {"components": {"framing": "framing", "rest": "rest"}, "framing_source": self.framing_source,
                       "negative_threshold": self.negative_threshold}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> LayeredSentimentModel:
        return cls(load_component(directory, meta, "framing", SentenceModel),
                   load_component(directory, meta, "rest", SentenceModel), meta.get("framing_source"),
                   meta.get("negative_threshold", 0.5))
