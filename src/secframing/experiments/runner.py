"""``secframing train``: an experiment config in, a self-describing model/run directory out.

The directory holds the model files (``model.json`` + backend files, loadable by ``predict``), the
resolved config, ``metrics.json`` (macro-F1 with bootstrap CIs, per-class scores, confusion, devices),
``predictions.jsonl`` on each evaluation set, and ``manifest.json`` (git commit, data hashes, libraries,
time).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from secframing.config import load_config, to_dict
from secframing.experiments.metrics import classification_report, multilabel_report
from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.manifest import build_manifest, file_info, now_iso, write_json
from secframing.models.lexicon import LexiconConfig, LexiconModel
from secframing.paths import REPO_ROOT


@dataclass(frozen=True)
class EvalSet:
    name: str
    path: str
    """JSONL with ``text``, ``framing`` and optionally ``devices``; relative paths are from the repo root."""


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    backend: Literal["lexicon"] = "lexicon"
    seed: int = 20261122
    description: str = ""
    lexicon: LexiconConfig = field(default_factory=LexiconConfig)
    eval: tuple[EvalSet, ...] = ()
    bootstrap_resamples: int = 1000


def _resolve(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def _read_eval(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("framing") not in FRAMING_LABELS:
                raise ValueError(f"{path}: line {no}: field 'framing' is {row.get('framing')!r}, expected one of {list(FRAMING_LABELS)}")
            rows.append(row)
    return rows


def train(config_path: str | Path, output: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build the model an experiment config describes, evaluate it, and write the run directory."""
    started, t0 = now_iso(), time.perf_counter()
    cfg = load_config(ExperimentConfig, config_path, overrides)
    lex = cfg.lexicon
    lex = LexiconConfig(**{**to_dict(lex), **{k: str(_resolve(getattr(lex, k))) for k in ("cues", "institutions", "furniture", "other_patterns")}})
    model = LexiconModel(lex)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {}
    inputs = [file_info(config_path)]
    for es in cfg.eval:
        path = _resolve(es.path)
        rows = _read_eval(path)
        inputs.append(file_info(path, rows=len(rows)))
        preds = model.predict_many([r["text"] for r in rows])
        gold = [r["framing"] for r in rows]
        report = classification_report(gold, [p.label for p in preds], FRAMING_LABELS, cfg.bootstrap_resamples, cfg.seed)
        promo = [i for i, r in enumerate(rows) if r["framing"] == "promotional"]
        report["devices_on_gold_promotional"] = multilabel_report([rows[i].get("devices", []) for i in promo],
                                                                  [list(preds[i].devices) for i in promo], DEVICES)
        metrics[es.name] = report
        with open(out / f"predictions_{es.name}.jsonl", "w", encoding="utf-8") as fh:
            for r, p in zip(rows, preds):
                fh.write(json.dumps({"text_sha1": hashlib.sha1(r["text"].encode()).hexdigest(),
                                     "gold": r["framing"], "label": p.label, "score": p.score, "probs": p.probs,
                                     "devices": list(p.devices), "gold_devices": r.get("devices", [])},
                                    ensure_ascii=False) + "\n")
    model.save(out, extra_meta={"experiment": cfg.name, "metrics_summary": {k: {"macro_f1": v["macro_f1"], "macro_f1_ci95": v["macro_f1_ci95"], "n": v["n"]} for k, v in metrics.items()}})
    write_json(out / "config.resolved.json", to_dict(cfg))
    write_json(out / "metrics.json", metrics)
    manifest = build_manifest("train", cfg, inputs, started, time.perf_counter() - t0)
    write_json(out / "manifest.json", manifest)
    return metrics
