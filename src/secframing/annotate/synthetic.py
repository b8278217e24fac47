"""Team-written synthetic sentences (training augmentation only) and the check that a classifier
cannot easily tell them from real sentences of the same label.

Synthetic records live in ``data/synthetic/*.jsonl`` with ``synthetic: true``; they are never part of
an evaluation split. :func:`detectability` trains a character + word n-gram logistic regression to
separate synthetic from real sentences *within one framing label* (so it cannot use the label itself)
and reports cross-validated accuracy and ROC AUC: values near 0.5 mean the synthetic text does not
carry a learnable "synthetic style".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from secframing.annotate.standoff import AnnotationError
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS
from secframing.paths import DATA_DIR
from secframing.text.normalize import normalize

SYNTHETIC_DIR = DATA_DIR / "synthetic"


def synthetic_files(folder: Path = SYNTHETIC_DIR, sets: tuple[str, ...] | None = None) -> list[Path]:
    """The files of the named sets (every ``*.jsonl`` of ``folder`` when ``sets`` is None)."""
    if sets is None:
        return sorted(Path(folder).glob("*.jsonl"))
    missing = [s for s in sets if not (Path(folder) / f"{s}.jsonl").exists()]
    if missing:
        valid = sorted(p.stem for p in Path(folder).glob("*.jsonl"))
        raise AnnotationError(f"unknown synthetic set(s) {missing} in {folder}; valid: {valid}")
    return [Path(folder) / f"{s}.jsonl" for s in sets]


def load_synthetic(folder: Path = SYNTHETIC_DIR, sets: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The synthetic sentences of ``sets`` (all when None), validated (labels, devices only on
    promotional, flagged synthetic)."""
    rows = []
    for path in synthetic_files(folder, sets):
        with open(path, encoding="utf-8") as fh:
            for no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                where = f"{path}: line {no}"
                if rec.get("synthetic") is not True:
                    raise AnnotationError(f"{where}: field 'synthetic' must be true")
                if rec.get("framing") not in FRAMING_LABELS or rec.get("sentiment") not in SENTIMENT_LABELS:
                    raise AnnotationError(f"{where}: invalid framing/sentiment {rec.get('framing')!r}/{rec.get('sentiment')!r}")
                if any(d not in DEVICES for d in rec.get("devices", [])) or (rec.get("devices") and rec["framing"] != "promotional"):
                    raise AnnotationError(f"{where}: invalid devices {rec.get('devices')}")
                rows.append({**rec, "source": path.name})
    df = pd.DataFrame(rows)
    if len(df) and df["text"].duplicated().any():
        dup = df.loc[df["text"].duplicated(), "id"].iloc[0]
        raise AnnotationError(f"{folder}: duplicate synthetic text (id {dup})")
    return df


def synthetic_report(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Detectability per label for all synthetic files together and for each file."""
    return {"synthetic_sentences": len(synthetic),
            "by_label": [detectability(real, synthetic, lab) for lab in FRAMING_LABELS],
            "by_source": {src: [detectability(real, g, lab) for lab in FRAMING_LABELS]
                          for src, g in synthetic.groupby("source")}}


def detectability(real: pd.DataFrame, synthetic: pd.DataFrame, label: str, folds: int = 5, seed: int = 0,
                  max_per_class: int = 600) -> dict[str, Any]:
    """Cross-validated accuracy/AUC of telling synthetic from real sentences that share ``label``."""
    r = real.loc[real["framing"] == label, "text"].tolist()
    s = synthetic.loc[synthetic["framing"] == label, "text"].tolist()
    n = min(len(r), len(s), max_per_class)
    if n < folds * 2:
        return {"label": label, "n_per_class": n, "note": "too few sentences for cross-validation"}
    rng = np.random.default_rng(seed)
    texts = [normalize(t) for t in rng.choice(r, n, replace=False).tolist() + rng.choice(s, n, replace=False).tolist()]
    y = np.array([0] * n + [1] * n)
    accs, aucs = [], []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        xtr = hstack([char.fit_transform([texts[i] for i in train]), word.fit_transform([texts[i] for i in train])])
        xte = hstack([char.transform([texts[i] for i in test]), word.transform([texts[i] for i in test])])
        clf = LogisticRegression(max_iter=2000, C=1.0).fit(xtr, y[train])
        p = clf.predict_proba(xte)[:, 1]
        accs.append(accuracy_score(y[test], p >= 0.5))
        aucs.append(roc_auc_score(y[test], p))
    return {"label": label, "n_per_class": n, "folds": folds, "accuracy": round(float(np.mean(accs)), 4),
            "accuracy_sd": round(float(np.std(accs)), 4), "roc_auc": round(float(np.mean(aucs)), 4),
            "roc_auc_sd": round(float(np.std(aucs)), 4), "chance": 0.5}
