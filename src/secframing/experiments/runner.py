"""``secframing train``: an experiment config in, a self-describing model/run directory out.

The run directory holds the model (``model.json`` + backend files, loadable by ``predict``), the
resolved config, ``metrics.json`` (macro-F1 with bootstrap CIs, per-class scores, confusion matrix,
calibration error, per-seed scores, devices), predictions on dev and test, and ``manifest.json`` (git
commit and dirty flag, sha256 of every data file, library versions, wall time). Model selection uses dev
only; test is evaluated once, for reporting, when ``evaluate_test`` is on.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from secframing.config import load_config, to_dict
from secframing.experiments.metrics import classification_report, expected_calibration_error, macro_f1, multilabel_report
from secframing.experiments.tasks import IN_DOMAIN, TaskData, TaskSpec, describe, load_task
from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.manifest import FileInfo, build_manifest, file_info, now_iso, write_json
from secframing.models.base import ModelLoadError, Prediction, SentenceModel
from secframing.models.lexicon import LexiconConfig, LexiconModel
from secframing.models.embeddings import EmbeddingsConfig
from secframing.models.tfidf import TfidfConfig, TfidfModel, TfidfMultiLabel
from secframing.models.transformer import TransformerConfig
from secframing.paths import DATA_DIR, REPO_ROOT


@dataclass(frozen=True)
class EvalSet:
    name: str
    path: str
    """JSONL with ``text`` and ``framing`` (optionally ``devices``); relative paths are from the repo root."""


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    task: Literal["framing", "sentiment", "subjectivity", "persuasion", "mac_sentiment"] = "framing"
    backend: Literal["lexicon", "tfidf", "embeddings", "transformer", "ensemble", "layered"] = "lexicon"
    ensemble_learner: Literal["tfidf", "embeddings", "transformer"] = "tfidf"
    """Ensemble and layered: the learned model (ensemble: overridden by the lexicon's promotional calls;
    layered: the negative-vs-neutral component)."""
    framing_model: str = "models/default"
    """Layered sentiment only: the framing model whose promotional calls are the positive sentences
    (trained on the same gold train split, so dev and test stay unseen)."""
    description: str = ""
    seeds: tuple[int, ...] = (20261122,)
    split_seed: int = 20261122
    """Seed of the split for datasets without an official one (MAC); fixed apart from ``seeds`` so that
    changing the training seeds never moves dev and test."""
    synthetic_weight: float = 0.0
    """Weight of each synthetic training sentence (in-domain tasks; 0 = not used)."""
    devices_head: bool = False
    """Framing only: also train a multi-label devices head (TF-IDF one-vs-rest)."""
    devices_synthetic_weight: float = 1.0
    evaluate_test: bool = True
    max_train: int = 0
    """Use at most this many training rows (0 = all): for smoke tests."""
    max_eval: int = 0
    """Score at most this many dev/test rows (0 = all; a seeded sample): for smoke tests only."""
    transfer: tuple[str, ...] = ()
    """In-domain tasks: external tasks whose training rows are added, relabelled (see ``tasks.TRANSFER_MAPS``)."""
    transfer_weight: float = 0.3
    learning_curve: tuple[int, ...] = ()
    """Also fit on this many training sentences (a seeded sample per seed) and record dev macro-F1."""
    ablation: str = ""
    """Name of the ablation this run belongs to (RESULTS.md puts runs with the same name side by side)."""
    arm: str = ""
    """This run's arm in its ablation, e.g. "gold only", "+ synthetic"."""
    bootstrap_resamples: int = 1000
    lexicon: LexiconConfig = field(default_factory=LexiconConfig)
    tfidf: TfidfConfig = field(default_factory=TfidfConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    eval: tuple[EvalSet, ...] = ()

    def __post_init__(self) -> None:
        if self.backend in ("lexicon", "ensemble") and self.task != "framing":
            raise ValueError(f"the {self.backend} backend only does the framing task")
        if self.backend == "layered" and self.task != "sentiment":
            raise ValueError("the layered backend only does the sentiment task")
        if not self.seeds:
            raise ValueError("seeds must list at least one seed")


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


def _report(gold: list[str], preds: list[Prediction], labels: tuple[str, ...], n: int, seed: int) -> dict[str, Any]:
    rep = classification_report(gold, [p.label for p in preds], labels, n, seed)
    rep["ece"] = expected_calibration_error(gold, [p.probs for p in preds])
    return rep


def _write_predictions(path: Path, df: Any, preds: list[Prediction], label_col: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row, p in zip(df.itertuples(index=False), preds):
            rid = getattr(row, "id", None)
            fh.write(json.dumps({"id": None if rid is None else str(rid),
                                 "text_sha1": hashlib.sha1(row.text.encode("utf-8")).hexdigest(),
                                 "gold": getattr(row, label_col), "label": p.label, "score": p.score,
                                 "probs": p.probs, "devices": list(p.devices)}, ensure_ascii=False) + "\n")


def _data_inputs(data: TaskData | None) -> list[FileInfo]:
    if data is None:
        return []
    files: list[Path] = []
    if data.task in IN_DOMAIN:
        files += sorted((DATA_DIR / "annotations").glob("**/*.jsonl")) + [DATA_DIR / "splits" / "gold_v1.json"]
        if any("synthetic" in s for s in data.sources):
            files += sorted((DATA_DIR / "synthetic").glob("*.jsonl"))
    else:
        from secframing.paths import shared_dir

        root = shared_dir()
        files += [p for src in data.sources for p in sorted((root / src.split(" ")[0]).glob("*")) if p.is_file()]
    return [file_info(p) for p in files]


def _tfidf_config(cfg: ExperimentConfig, seed: int) -> TfidfConfig:
    # asdict() turns the n-gram tuples into lists; the frozen config wants them back as tuples
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in to_dict(cfg.tfidf).items()}
    return TfidfConfig(**{**values, "seed": seed})


def _training_rows(cfg: ExperimentConfig, data: TaskData, seed: int) -> Any:
    train = data.train
    if cfg.max_train:
        train = train.sample(n=min(cfg.max_train, len(train)), random_state=seed)
    return train


def _limit_eval(cfg: ExperimentConfig, data: TaskData) -> TaskData:
    if not cfg.max_eval:
        return data
    for split in ("dev", "test"):
        df = getattr(data, split)
        if df is not None and len(df) > cfg.max_eval:
            setattr(data, split, df.sample(n=cfg.max_eval, random_state=cfg.seeds[0]).reset_index(drop=True))
    return data


def build_learner(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    """An unfitted model of the config's learned backend (the ensemble's ``ensemble_learner``)."""
    if cfg.backend == "layered":
        from secframing.models.base import load_model
        from secframing.models.layered import REST, LayeredSentimentModel

        rest = build_learner(replace(cfg, backend=cfg.ensemble_learner), REST, seed)
        return LayeredSentimentModel(load_model(_resolve(cfg.framing_model)), rest, cfg.framing_model)
    backend = cfg.ensemble_learner if cfg.backend == "ensemble" else cfg.backend
    if backend == "tfidf":
        return TfidfModel(_tfidf_config(cfg, seed), labels, cfg.task)
    if backend == "embeddings":
        from secframing.models.embeddings import EmbeddingsModel

        return EmbeddingsModel(replace(cfg.embeddings, seed=seed), labels, cfg.task)
    if backend == "transformer":
        from secframing.models.transformer import TransformerModel

        return TransformerModel(replace(cfg.transformer, seed=seed), labels, cfg.task)
    raise ValueError(f"backend {backend!r} does not learn from data")


def _fit(cfg: ExperimentConfig, data: TaskData, seed: int, n: int = 0) -> SentenceModel:
    train = _training_rows(cfg, data, seed) if not n else data.train.sample(n=min(n, len(data.train)), random_state=seed)
    return build_learner(cfg, data.labels, seed).fit(train["text"].tolist(), train["label"].tolist(),
                                                     train["weight"].tolist())


def learning_curve(cfg: ExperimentConfig, data: TaskData, full: list[float] | None = None) -> list[dict[str, Any]]:
    """Dev macro-F1 of the learned model fitted on growing seeded samples of the training sentences
    (mean and spread over the config's seeds); sizes beyond the training set are capped. ``full``: the
    per-seed scores of the models already fitted on the whole training set, which are not refitted."""
    points = []
    pool = len(data.train) if not cfg.max_train else min(cfg.max_train, len(data.train))
    sizes = sorted({min(n, pool) if n else pool for n in cfg.learning_curve})
    dev_gold = data.dev["label"].tolist()
    for n in sizes:
        scores = full if n == pool and full is not None else [
            macro_f1(dev_gold, _fit(cfg, data, seed, n).predict(data.dev["text"].tolist()), data.labels)
            for seed in cfg.seeds]
        points.append({"n_train": n, "dev_macro_f1_mean": round(float(np.mean(scores)), 4),
                       "dev_macro_f1_sd": round(float(np.std(scores)), 4), "seeds": len(scores)})
    return points


def train(config_path: str | Path, output: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build the model an experiment config describes, evaluate it, and write the run directory."""
    started, t0 = now_iso(), time.perf_counter()
    cfg = load_config(ExperimentConfig, config_path, overrides)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {"experiment": cfg.name, "task": cfg.task, "backend": cfg.backend,
                               "ablation": cfg.ablation, "arm": cfg.arm}
    inputs = [file_info(config_path)]
    data: TaskData | None = None
    model: SentenceModel

    lex = cfg.lexicon
    lexicon = LexiconModel(LexiconConfig(**{**to_dict(lex), **{k: str(_resolve(getattr(lex, k)))
                                                              for k in ("cues", "institutions", "furniture", "other_patterns")}}))
    if cfg.backend == "lexicon":
        model = lexicon
        from secframing.paths import shared_dir

        if shared_dir(required=False) is not None:
            data = load_task(TaskSpec("framing"))
    else:
        data = _limit_eval(cfg, load_task(TaskSpec(cfg.task, cfg.synthetic_weight, cfg.split_seed, cfg.transfer,
                                                   cfg.transfer_weight)))
        best, best_f1, per_seed, full_scores = None, -1.0, [], []
        for seed in cfg.seeds:
            candidate = _fit(cfg, data, seed)
            tuned = candidate.tune(data.dev["text"].tolist(), data.dev["label"].tolist()) if hasattr(candidate, "tune") else None
            score = macro_f1(data.dev["label"].tolist(), candidate.predict(data.dev["text"].tolist()), data.labels)
            full_scores.append(score)
            f1 = round(score, 4)
            per_seed.append({"seed": seed, "dev_macro_f1": f1, **({"tuned_on_dev": tuned} if tuned else {})})
            if f1 > best_f1:
                best, best_f1 = candidate, f1
        assert best is not None
        model = best
        learned = best
        metrics["seeds"] = per_seed
        metrics["dev_macro_f1_mean"] = round(float(np.mean([s["dev_macro_f1"] for s in per_seed])), 4)
        metrics["dev_macro_f1_sd"] = round(float(np.std([s["dev_macro_f1"] for s in per_seed])), 4)
        if cfg.learning_curve:
            # the full-size point is the fit of every seed scored above (a model tuned on dev is refitted)
            metrics["learning_curve"] = learning_curve(cfg, data, None if per_seed[0].get("tuned_on_dev") else full_scores)
        if cfg.devices_head and cfg.task == "framing":
            ddata = load_task(TaskSpec("devices", cfg.devices_synthetic_weight))
            tr = ddata.train.sample(n=min(cfg.max_train, len(ddata.train)), random_state=0) if cfg.max_train else ddata.train
            head = TfidfMultiLabel(DEVICES, _tfidf_config(cfg, cfg.seeds[0]))
            model.devices = head.fit(tr["text"].tolist(), tr["labels"].tolist(), tr["weight"].tolist())
            metrics["devices"] = {sp: multilabel_report([list(x) for x in df["labels"]], head.predict_sets(df["text"].tolist()), DEVICES)
                                  for sp, df in (("dev", ddata.dev), ("test", ddata.test)) if df is not None and len(df)
                                  and (sp == "dev" or cfg.evaluate_test)}

        if cfg.backend == "ensemble":
            from secframing.models.ensemble import EnsembleModel

            metrics["learned_alone_dev"] = _report(data.dev["label"].tolist(), learned.predict_many(data.dev["text"].tolist()),
                                                   data.labels, cfg.bootstrap_resamples, cfg.seeds[0])
            model = EnsembleModel(lexicon, learned)

    if data is not None:
        metrics["data"] = describe(data)
        inputs += _data_inputs(data)
        label_col = "label" if not data.multilabel else "labels"
        for split, df in (("dev", data.dev), ("test", data.test)):
            if df is None or (split == "test" and not cfg.evaluate_test):
                continue
            preds = model.predict_many(df["text"].tolist())
            metrics[split] = _report(df[label_col].tolist(), preds, data.labels, cfg.bootstrap_resamples, cfg.seeds[0])
            _write_predictions(out / f"predictions_{split}.jsonl", df, preds, label_col)
    for es in cfg.eval:
        path = _resolve(es.path)
        rows = _read_eval(path)
        inputs.append(file_info(path, rows=len(rows)))
        preds = model.predict_many([r["text"] for r in rows])
        rep = _report([r["framing"] for r in rows], preds, FRAMING_LABELS, cfg.bootstrap_resamples, cfg.seeds[0])
        promo = [i for i, r in enumerate(rows) if r["framing"] == "promotional"]
        rep["devices_on_gold_promotional"] = multilabel_report([rows[i].get("devices", []) for i in promo],
                                                               [list(preds[i].devices) for i in promo], DEVICES)
        metrics[es.name] = rep

    from secframing.models.embeddings import caches_off

    speed_texts = (data.dev["text"].tolist() if data is not None else [])[:cfg.max_eval or 1000] or ["نص قصير."] * 100
    with caches_off():  # time the encoders, not lookups of vectors cached while evaluating
        t = time.perf_counter()
        model.predict_many(speed_texts)
        metrics["predict_sentences_per_s"] = round(len(speed_texts) / max(1e-9, time.perf_counter() - t))
    summary = {k: {"macro_f1": v["macro_f1"], "macro_f1_ci95": v["macro_f1_ci95"], "n": v["n"]}
               for k, v in metrics.items() if isinstance(v, dict) and "macro_f1" in v and "n" in v}
    model.save(out, extra_meta={"experiment": cfg.name, "metrics_summary": summary})
    write_json(out / "config.resolved.json", to_dict(cfg))
    write_json(out / "metrics.json", metrics)
    write_json(out / "manifest.json", build_manifest("train", cfg, inputs, started, time.perf_counter() - t0))
    return metrics


def evaluate_model(config_path: str | Path, model_dir: str | Path, test: bool = False) -> dict[str, Any]:
    """Metrics of a saved model on the dev (and test) split of a config's task."""
    from secframing.models import load_model

    cfg = load_config(ExperimentConfig, config_path)
    model = load_model(model_dir)
    data = load_task(TaskSpec(cfg.task, 0.0, cfg.split_seed))
    out: dict[str, Any] = {"experiment": cfg.name, "task": cfg.task, "model": str(model_dir)}
    for split, df in (("dev", data.dev), ("test", data.test)):
        if df is None or (split == "test" and not test):
            continue
        preds = model.predict_many(df["text"].tolist())
        out[split] = _report(df["label"].tolist(), preds, data.labels, cfg.bootstrap_resamples, cfg.seeds[0])
    return out


def run_all(configs: str | Path, runs: str | Path, only: tuple[str, ...] = (),
            overrides: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Train every experiment config in ``configs`` into ``runs/NAME``. A run that cannot be made here
    for want of a resource outside the project (a hub model offline, an optional package missing) is
    recorded in ``runs/NAME/skipped.json`` with the reason, so RESULTS.md lists it; any other error stops."""
    out = []
    for path in sorted(Path(configs).glob("*.toml")):
        if path.name == "targets.toml" or (only and path.stem not in only):
            continue
        cfg = load_config(ExperimentConfig, path, overrides)
        run_dir = Path(runs) / path.stem
        try:
            metrics = train(path, run_dir, overrides)
        except (OSError, ImportError, ModelLoadError) as exc:
            if cfg.backend not in ("transformer", "embeddings") and cfg.ensemble_learner == "tfidf":
                raise
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            run_dir.mkdir(parents=True, exist_ok=True)
            for stale in ("metrics.json", "model.json"):
                (run_dir / stale).unlink(missing_ok=True)
            write_json(run_dir / "skipped.json", {"experiment": cfg.name, "task": cfg.task, "backend": cfg.backend,
                                                  "reason": reason, "time": now_iso()})
            out.append({"experiment": cfg.name, "skipped": reason})
            continue
        (run_dir / "skipped.json").unlink(missing_ok=True)
        out.append({"experiment": cfg.name, "dev": (metrics.get("dev") or {}).get("macro_f1")})
    return out
