"""Student families beyond the shipped n-gram student (issue 12), measured in one run beside a plain
scikit-learn TF-IDF + logistic regression pipeline (the speed floor):

1. static e5 embeddings (model2vec-style): every vocabulary piece the training texts use gets the e5
   encoder's mean-pooled output for ``<s> piece </s>``; a sentence is the mean of its pieces' vectors;
   a logistic regression learns from the gold labels plus the teacher's (``models/default``) soft
   targets over the unlabelled pool, exactly as ``framing_fast`` does;
2. a small transformer from the encoder's lower layers (2 layers of e5, dynamic int8): its prediction
   speed alone, which rules it out before any training.

Prints a JSON report: sentences/s of each beside the floor, and the student's transfer slices (binary
promotional-vs-rest macro-F1 and recall) beside the teacher's.

    python scripts/student_families.py [--layers 12] [--output report.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _timed(fn, texts, repeat: int = 3) -> float:
    fn(texts[:50])
    best = min(_once(fn, texts) for _ in range(repeat))
    return round(len(texts) / best)


def _once(fn, texts) -> float:
    t = time.perf_counter()
    fn(texts)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=12, help="encoder layers whose output gives the static vectors")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args()

    import scipy.sparse as sp
    import torch
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from transformers import AutoModel, AutoTokenizer

    from secframing.experiments.config import load_experiment_config
    from secframing.experiments.runner import load_data
    from secframing.experiments.transfer import slice_report
    from secframing.models import e5, load_model
    from secframing.models.student import one_hot, soft_rows
    from secframing.models.transformer import quiet_load

    torch.set_num_threads(1)  # the floor and the students are timed single-threaded
    cfg = load_experiment_config("configs/experiments/framing_fast.toml")
    data = load_data(cfg)
    labels = data.labels
    teacher = load_model("models/default")
    pool = data.unlabelled["text"].tolist()
    t0 = time.perf_counter()
    soft = np.asarray(teacher.predict_proba(pool), dtype=float)
    teach_s = time.perf_counter() - t0
    train_texts = [*data.train["text"], *pool]
    targets = np.vstack([one_hot(data.train["label"].tolist(), labels), soft])
    weight = np.concatenate([data.train["weight"].to_numpy(float), np.full(len(pool), cfg.model.student.pool_weight)])

    path = e5.encoder_dir()
    tok = AutoTokenizer.from_pretrained(path)
    with quiet_load(args.layers < 12):
        enc = AutoModel.from_pretrained(path, use_safetensors=True, add_pooling_layer=False,
                                        num_hidden_layers=args.layers).eval()
    ids = tok(train_texts, add_special_tokens=False, truncation=True, max_length=128)["input_ids"]
    used = np.unique(np.concatenate([np.asarray(x, dtype=np.int64) for x in ids if x]))
    index = np.full(len(tok), -1, dtype=np.int64)
    index[used] = np.arange(len(used))
    t0 = time.perf_counter()
    vecs = []
    with torch.inference_mode():
        for start in range(0, len(used), 2048):
            piece = torch.as_tensor(used[start:start + 2048]).unsqueeze(1)
            batch = torch.cat([torch.full_like(piece, tok.bos_token_id), piece,
                               torch.full_like(piece, tok.eos_token_id)], dim=1)
            vecs.append(enc(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state.mean(1))
    table = torch.cat(vecs).numpy().astype(np.float32)
    table_s = time.perf_counter() - t0

    def embed(texts: list[str]) -> np.ndarray:
        rows = tok(texts, add_special_tokens=False, truncation=True, max_length=128)["input_ids"]
        r = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
        c = index[np.concatenate([np.asarray(x, dtype=np.int64) for x in rows]) if r.size else np.zeros(0, np.int64)]
        keep = c >= 0
        m = sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], c[keep])), shape=(len(texts), len(used)))
        x = np.asarray(m @ table)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    rows, cols, w = soft_rows(len(train_texts), targets, weight)
    X = embed(train_texts)
    clf = LogisticRegression(C=4.0, max_iter=2000).fit(X[rows], np.asarray(labels, dtype=object)[cols], sample_weight=w)

    def static_predict(texts: list[str]) -> np.ndarray:
        return clf.predict_proba(embed(texts))

    slices = {"dev_no_seeds": data.dev, "test_no_seeds": data.test, **data.slices}
    report: dict = {"pool": len(pool), "pieces_used": int(len(used)), "table_mb": round(table.nbytes / 1e6, 1),
                    "static_table_seconds": round(table_s, 1), "teacher_pool_seconds": round(teach_s, 1),
                    "layers": args.layers, "slices": {}}
    for name, df in slices.items():
        texts = df["text"].tolist()
        student = np.asarray(clf.classes_)[static_predict(texts).argmax(1)]
        teach = teacher.predict(texts)
        report["slices"][name] = {
            who: {k: rep[k] for k in ("macro_f1", "promotional_recall")}
            for who, rep in (("static_student", slice_report("framing", df["label"].tolist(), list(student),
                                                             df["article_id"].astype(str).tolist(), 0)),
                             ("teacher", slice_report("framing", df["label"].tolist(), teach,
                                                      df["article_id"].astype(str).tolist(), 0)))}

    speed_texts = (data.dev["text"].tolist() * 3)[:4000]
    floor = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(
        data.train["text"].tolist(), data.train["label"].tolist())
    small = None
    with quiet_load(True):
        small = AutoModel.from_pretrained(path, use_safetensors=True, add_pooling_layer=False, num_hidden_layers=2).eval()
    small = torch.ao.quantization.quantize_dynamic(small, {torch.nn.Linear}, dtype=torch.qint8)

    def small_forward(texts: list[str]) -> None:
        with torch.inference_mode():
            for s in range(0, len(texts), 64):
                small(**tok(texts[s:s + 64], padding=True, truncation=True, max_length=128, return_tensors="pt"))

    report["speed"] = {"plain_pipeline_floor": _timed(floor.predict_proba, speed_texts),
                       "static_student": _timed(static_predict, speed_texts),
                       "models/fast": _timed(load_model("models/fast").predict_many, speed_texts),
                       "e5_2_layers_int8_forward_only": _timed(small_forward, speed_texts[:1000], repeat=1)}
    report["speed_ratio_to_floor"] = {k: round(v / report["speed"]["plain_pipeline_floor"], 3)
                                      for k, v in report["speed"].items()}
    text = json.dumps(report, indent=1)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
