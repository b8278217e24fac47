"""Relevance precision and recall against the hand-checked samples in ``data/eval/relevance_gold_*.jsonl``.

``relevance_gold_a`` (120 random articles) was used to tune the rule; ``relevance_gold_b`` (another 120
random articles from the same draw) was not, so its figures are the held-out ones. Intervals are Wilson
95% intervals for a binomial proportion.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from secframing.io.schema import Article
from secframing.paths import DATA_DIR
from secframing.select.relevance import RelevanceScorer

GOLD_FILES = {"tuning": DATA_DIR / "eval" / "relevance_gold_a.jsonl",
              "heldout": DATA_DIR / "eval" / "relevance_gold_b.jsonl"}
ENRICHED_FILE = DATA_DIR / "eval" / "relevance_gold_c.jsonl"
ENRICHED_STRATA = DATA_DIR / "eval" / "relevance_sample_c_strata.json"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n``.

    >>> [round(x, 3) for x in wilson(18, 20)]
    [0.699, 0.972]
    """
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def score_relevance(gold: list[dict[str, Any]], articles: dict[str, Article], scorer: RelevanceScorer) -> dict[str, Any]:
    """Confusion counts, precision and recall with Wilson intervals, and the disagreements."""
    tp = fp = fn = tn = 0
    errors = []
    for rec in gold:
        art = articles.get(rec["article_id"])
        if art is None:
            raise KeyError(f"gold article {rec['article_id']!r} not found in the corpus")
        pred = scorer.score(art)
        g = bool(rec["relevant"])
        tp += pred.relevant and g
        fp += pred.relevant and not g
        fn += g and not pred.relevant
        tn += not g and not pred.relevant
        if pred.relevant != g:
            errors.append({"article_id": art.id, "kind": "false positive" if pred.relevant else "false negative",
                           "gold_confidence": rec.get("confidence"), "gold_reason": rec.get("reason"),
                           "score": round(pred.score, 2), "cues": sorted({e["cue"] for e in pred.evidence})})
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    return {"n": len(gold), "gold_relevant": tp + fn, "predicted_relevant": tp + fp,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": round(precision, 4), "precision_ci95": [round(x, 4) for x in wilson(tp, tp + fp)],
            "recall": round(recall, 4), "recall_ci95": [round(x, 4) for x in wilson(tp, tp + fn)],
            "f1": round(2 * precision * recall / (precision + recall), 4) if tp else 0.0,
            "errors": errors}


def evaluate_relevance(scorer: RelevanceScorer | None = None) -> dict[str, Any]:
    """Scores on the tuning half, the held-out half and both, hydrating articles from ``../shared``."""
    from secframing.io.adapters import read_shared_corpus

    scorer = scorer or RelevanceScorer()
    articles = {a.id: a for a in read_shared_corpus().articles}
    golds = {name: load_gold(path) for name, path in GOLD_FILES.items()}
    out = {name: score_relevance(g, articles, scorer) for name, g in golds.items()}
    out["all"] = score_relevance(golds["tuning"] + golds["heldout"], articles, scorer)
    if ENRICHED_FILE.exists():
        out["enriched"] = enriched_precision(load_gold(ENRICHED_FILE), articles, scorer)
    out["config"] = {k: v for k, v in vars(scorer.config).items()}
    return out


def enriched_precision(gold: list[dict[str, Any]], articles: dict[str, Article], scorer: RelevanceScorer) -> dict[str, Any]:
    """The enriched sample: 80 random articles the rule selected and 40 random near-misses (institution
    evidence below the bar), labelled blind to which was which. The selected stratum estimates the
    rule's precision over the whole corpus; the near-miss stratum shows what the threshold leaves out."""
    strata = json.loads(ENRICHED_STRATA.read_text(encoding="utf-8"))
    by_id = {r["article_id"]: r for r in gold}
    out: dict[str, Any] = {}
    for name, ids in strata.items():
        recs = [by_id[i] for i in ids]
        k = sum(bool(r["relevant"]) for r in recs)
        out[name] = {"n": len(recs), "gold_relevant": k, "gold_relevant_low_confidence":
                     sum(bool(r["relevant"]) and r.get("confidence") == "low" for r in recs),
                     "share_relevant_ci95": [round(x, 4) for x in wilson(k, len(recs))]}
    sel = out.get("selected")
    if sel:
        sel["precision"] = round(sel["gold_relevant"] / sel["n"], 4)
    now = score_relevance(gold, articles, scorer)
    out["current_rule_on_all_120"] = {k: now[k] for k in ("tp", "fp", "fn", "tn", "precision", "precision_ci95", "recall", "recall_ci95")}
    return out
