"""A framing model against stand-off gold sentences, overall and per sampling stratum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secframing.annotate.standoff import hydrate, load_annotations, shared_articles
from secframing.experiments.metrics import classification_report, multilabel_report
from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.models.base import SentenceModel


def evaluate_framing(model: SentenceModel, gold_path: str | Path, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Macro-F1 with bootstrap CI and per-class scores, for all sentences and for each ``stratum``."""
    pairs = hydrate(load_annotations(gold_path), shared_articles())
    preds = model.predict_many([text for _, text in pairs])
    groups: dict[str, list[int]] = {"all": list(range(len(pairs)))}
    for i, (ann, _) in enumerate(pairs):
        groups.setdefault(f"stratum:{ann.extra.get('stratum', 'none')}", []).append(i)
    out: dict[str, Any] = {}
    for name, idx in groups.items():
        gold = [pairs[i][0].framing for i in idx]
        report = classification_report(gold, [preds[i].label for i in idx], FRAMING_LABELS, n_resamples, seed)
        promo = [i for i in idx if pairs[i][0].framing == "promotional"]
        if promo:
            report["devices_on_gold_promotional"] = multilabel_report(
                [list(pairs[i][0].devices) for i in promo], [list(preds[i].devices) for i in promo], DEVICES)
        out[name] = report
    return out
