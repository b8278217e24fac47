"""Segmentation error rate against the hand-segmented gold in ``data/eval/segmentation_gold.jsonl``.

The gold stores offsets and a sha1 of each field, never the text: the text is hydrated from
``../shared`` at run time and a hash mismatch fails loudly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secframing.io.adapters import read_seed_articles, read_shared_corpus
from secframing.io.schema import Article
from secframing.paths import DATA_DIR
from secframing.text.segment import segment

GOLD_PATH = DATA_DIR / "eval" / "segmentation_gold.jsonl"


class GoldMismatch(ValueError):
    """The shared text a gold record points at has changed (sha1 differs)."""


@dataclass
class SegmentationScores:
    """Boundary precision/recall and the share of gold sentences not reproduced exactly."""

    n_fields: int = 0
    n_gold: int = 0
    n_pred: int = 0
    exact: int = 0
    boundary_tp: int = 0
    boundary_fp: int = 0
    boundary_fn: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sentence_error_rate(self) -> float:
        """1 - (gold sentences whose exact span the segmenter also produced) / (gold sentences)."""
        return 1 - self.exact / self.n_gold if self.n_gold else 0.0

    @property
    def boundary_precision(self) -> float:
        return self.boundary_tp / (self.boundary_tp + self.boundary_fp) if self.boundary_tp + self.boundary_fp else 1.0

    @property
    def boundary_recall(self) -> float:
        return self.boundary_tp / (self.boundary_tp + self.boundary_fn) if self.boundary_tp + self.boundary_fn else 1.0

    @property
    def boundary_f1(self) -> float:
        p, r = self.boundary_precision, self.boundary_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def summary(self) -> dict[str, Any]:
        return {"fields": self.n_fields, "gold_sentences": self.n_gold, "predicted_sentences": self.n_pred,
                "exact_matches": self.exact, "sentence_error_rate": round(self.sentence_error_rate, 4),
                "boundary_precision": round(self.boundary_precision, 4),
                "boundary_recall": round(self.boundary_recall, 4), "boundary_f1": round(self.boundary_f1, 4)}


def load_gold(path: str | Path = GOLD_PATH) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def hydrate_fields(gold: list[dict[str, Any]], articles: dict[str, Article]) -> list[tuple[dict[str, Any], str]]:
    """Pair each gold record with its field text, checking the sha1."""
    out = []
    for rec in gold:
        art = articles.get(rec["article_id"])
        if art is None:
            raise GoldMismatch(f"gold article {rec['article_id']!r} not found in the shared data")
        text = art.title if rec["field"] == "title" else art.text
        digest = hashlib.sha1((text or "").encode("utf-8")).hexdigest()
        if digest != rec["text_sha1"]:
            raise GoldMismatch(f"{rec['article_id']}/{rec['field']}: sha1 {digest} != gold {rec['text_sha1']}")
        out.append((rec, text))
    return out


def score(pairs: list[tuple[dict[str, Any], str]]) -> SegmentationScores:
    """Compare the segmenter with the gold spans field by field."""
    s = SegmentationScores()
    for rec, text in pairs:
        gold = [tuple(x) for x in rec["spans"]]
        pred = [(seg.start, seg.end) for seg in segment(text)]
        s.n_fields += 1
        s.n_gold += len(gold)
        s.n_pred += len(pred)
        s.exact += len(set(gold) & set(pred))
        # a boundary is where one sentence ends; compare by the start of the following one
        gstarts, pstarts = {a for a, _ in gold[1:]}, {a for a, _ in pred[1:]}
        s.boundary_tp += len(gstarts & pstarts)
        s.boundary_fp += len(pstarts - gstarts)
        s.boundary_fn += len(gstarts - pstarts)
        for a in sorted(pstarts ^ gstarts):
            s.errors.append({"article_id": rec["article_id"], "field": rec["field"], "offset": a,
                             "kind": "spurious split" if a in pstarts else "missed split",
                             "context": text[max(0, a - 30): a + 30]})
    return s


def evaluate_segmentation(path: str | Path = GOLD_PATH) -> SegmentationScores:
    """Score the segmenter on the gold file, hydrating texts from ``../shared``."""
    articles = {a.id: a for a in read_shared_corpus().articles}
    seeds = read_seed_articles()
    articles.update({a.id: a for a in seeds})
    seed_ids = {a.id for a in seeds}
    gold = load_gold(path)
    for rec in gold:  # the gold names seeds by "seed_<stem>"
        if rec["article_id"].startswith("seed_") and rec["article_id"] not in seed_ids:
            raise GoldMismatch(f"seed article {rec['article_id']!r} not found in ../shared/seeds")
    return score(hydrate_fields(gold, articles))
