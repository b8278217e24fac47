"""Sentences/s of saved models' ``predict_many`` on real gold sentences, beside a plain scikit-learn
TF-IDF + logistic regression pipeline timed in the same run (the floor every figure is a ratio to).

    python benchmarks/bench_models.py [--models models/default models/sentiment ...] [--n 1000] [--repeat 2]

Sentences: the gold dev split (needs ../shared), all of them or the first ``--n``. Each model is loaded
once (load time reported), warmed on 32 sentences, then timed ``--repeat`` times; the best is kept.
Prints one JSON object with the machine's load average alongside: other processes change the numbers.
Measured here, not asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any


def plain_pipeline_speed(train: list[str], labels: list[str], texts: list[str], repeat: int) -> float:
    """sentences/s of the few-line scikit-learn baseline (fitted on the gold train split)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(train, labels)
    best = min(_timed(lambda: pipe.predict_proba(texts)) for _ in range(repeat))
    return len(texts) / best


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["models/default", "models/sentiment"])
    ap.add_argument("--n", type=int, default=0, help="first N dev sentences (0 = all)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from secframing.experiments.tasks import TaskSpec, load_task
    from secframing.models import load_model
    from secframing.models.embeddings import caches_off

    data = load_task(TaskSpec("framing"))
    texts = data.dev["text"].tolist()[: args.n or None]
    out: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                       "load_avg_start": os.getloadavg()},
                           "sentences": len(texts), "source": "gold dev split"}
    floor = plain_pipeline_speed(data.train["text"].tolist(), data.train["label"].tolist(), texts, args.repeat)
    out["plain_tfidf_lr_sentences_per_s"] = round(floor)
    out["models"] = {}
    for d in args.models:
        t0 = time.perf_counter()
        model = load_model(Path(d))
        load_s = time.perf_counter() - t0
        model.predict_many(texts[:32])
        with caches_off():
            best = min(_timed(lambda m=model: m.predict_many(texts)) for _ in range(args.repeat))
        speed = len(texts) / best
        out["models"][d] = {"load_s": round(load_s, 2), "sentences_per_s": round(speed, 1),
                            "ratio_to_plain_pipeline": round(speed / floor, 3)}
    out["machine"]["load_avg_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
