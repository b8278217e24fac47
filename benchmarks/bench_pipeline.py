"""Throughput and peak memory of each stage on a corpus (default: the shared real corpus).

    python benchmarks/bench_pipeline.py [--corpus FILE] [--repeat 3]

Prints one JSON object: articles/s for reading, relevance and segmentation, sentences/s for each
shipped model (framing, sentiment), and peak Python heap (tracemalloc) per stage. Measured here, not asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import tracemalloc

from secframing.io import read_articles
from secframing.models import load_model
from secframing.paths import DEFAULT_MODEL_DIR, shared_dir
from secframing.select import RelevanceScorer
from secframing.text import segment


def timed(fn, repeat):
    """Best wall time over ``repeat`` runs, then one extra run under tracemalloc for the peak heap
    (tracing slows Python several-fold, so it is kept out of the timing)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, best, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    default = shared_dir(required=False)
    ap.add_argument("--corpus",
                    default=str(default / "corpora/moroccan_news.jsonl") if default else "data/demo/articles.jsonl")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--models", nargs="+",
                    default=[str(DEFAULT_MODEL_DIR), str(DEFAULT_MODEL_DIR.parent / "sentiment")],
                    help="model directories whose prediction speed is measured on the relevant sentences")
    args = ap.parse_args()
    res, t_read, m_read = timed(lambda: read_articles(args.corpus), args.repeat)
    arts = res.articles
    scorer = RelevanceScorer()
    rel, t_rel, m_rel = timed(lambda: [scorer.score(a) for a in arts], args.repeat)
    sel = [a for a, r in zip(arts, rel, strict=True) if r.relevant]
    sents, t_seg, m_seg = timed(lambda: [s.text for a in arts for s in segment(a.text)], args.repeat)
    sel_sents = [s.text for a in sel for s in segment(a.text)]
    speeds, peaks = {}, {}
    for path in args.models:
        model = load_model(path)
        _, t_pred, m_pred = timed(lambda m=model: m.predict_many(sel_sents), args.repeat)
        speeds[path], peaks[path] = round(len(sel_sents) / t_pred), round(m_pred / 2**20, 1)
    print(json.dumps({
        "corpus": args.corpus, "articles": len(arts), "relevant": len(sel), "sentences_all": len(sents),
        "sentences_relevant": len(sel_sents), "python": platform.python_version(), "machine": platform.machine(),
        "read_articles_per_s": round(len(arts) / t_read), "relevance_articles_per_s": round(len(arts) / t_rel),
        "segment_articles_per_s": round(len(arts) / t_seg), "predict_sentences_per_s": speeds,
        "peak_mb": {"read": round(m_read / 2**20, 1), "relevance": round(m_rel / 2**20, 1),
                    "segment": round(m_seg / 2**20, 1), "predict": peaks},
    }, indent=2))


if __name__ == "__main__":
    main()
