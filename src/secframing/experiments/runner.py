"""``secframing train``: an experiment config in, a self-describing model/run directory out.

:func:`train` runs named steps: load the task data; fit the learned model once per training seed and keep
the best on dev (:func:`fit_best_of_seeds`); optionally a learning curve; fit the devices head; assemble
the final model (:func:`assemble`: the lexicon-override ensemble, the devices composite); evaluate it
on dev, test, their transfer slices and extra eval sets; refit without each left-out outlet and score
it there (:func:`leave_one_outlet_out`); time it; write the run directory (:func:`write_run`).

The run directory holds the model (``model.json`` + backend files, loadable by ``predict``), the
resolved config, ``metrics.json`` (macro-F1 with bootstrap CIs, per-class scores, confusion matrix,
calibration error, per-seed scores, devices), predictions on dev and test, and ``manifest.json`` (git
commit and dirty flag, sha256 of every data file, library versions, wall time). Model selection uses dev
only (for framing and sentiment, the mean over its transfer slices: ``training.select_on``); test is
evaluated once, for reporting, when ``evaluation.test`` is on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from secframing.config import as_saved, to_dict
from secframing.experiments.card import write_card
from secframing.experiments.config import EvalSet, ExperimentConfig, load_experiment_config
from secframing.experiments.metrics import (
    classification_report,
    expected_calibration_error,
    macro_f1,
    multilabel_classification_report,
    multilabel_ece,
    multilabel_report,
)
from secframing.experiments.tasks import IN_DOMAIN, TaskData, TaskSpec, describe, load_task
from secframing.experiments.transfer import (
    REPORTED_SLICES,
    SELECTION_SLICES,
    SLICE_TASKS,
    mean_headline,
    slice_report,
    split_slices,
)
from secframing.labels import DEVICES, FRAMING_LABELS, MULTILABEL_TASKS
from secframing.manifest import FileInfo, build_manifest, file_info, now_iso, sha256_file, write_json
from secframing.models.base import ModelLoadError, Prediction, SentenceModel, load_model
from secframing.models.devices import DevicesHead, WithDevices
from secframing.models.lexicon import LexiconModel
from secframing.paths import DATA_DIR

__all__ = ["EvalSet", "ExperimentConfig", "build_learner", "evaluate_model", "load_experiment_config", "run_all",
           "train"]

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


def _write_predictions(path: Path, df: Any, preds: list[Prediction], label_col: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row, p in zip(df.itertuples(index=False), preds):
            rid = getattr(row, "id", None)
            fh.write(json.dumps({"id": None if rid is None else str(rid),
                                 "text_sha1": hashlib.sha1(row.text.encode("utf-8")).hexdigest(),
                                 "gold": _jsonable(getattr(row, label_col)), "label": p.label, "score": p.score,
                                 "probs": p.probs, "devices": list(p.devices),
                                 **({"labels": list(p.labels)} if p.labels else {})}, ensure_ascii=False) + "\n")


def _jsonable(gold: Any) -> Any:
    """A gold label, or a multi-label item's label set as a list."""
    return gold if isinstance(gold, str) else list(gold)


def _data_inputs(data: TaskData | None) -> list[FileInfo]:
    if data is None:
        return []
    files: list[Path] = []
    if data.task in IN_DOMAIN:
        files += sorted((DATA_DIR / "annotations").glob("**/*.jsonl")) + sorted((DATA_DIR / "splits").glob("gold_v*.json"))
        if any("synthetic" in s for s in data.sources):
            files += sorted((DATA_DIR / "synthetic").glob("*.jsonl"))
        if any(s.startswith("data/darija") for s in data.sources):
            files += sorted((DATA_DIR / "darija").glob("*.jsonl"))
    else:
        from secframing.paths import shared_dir

        root = shared_dir()
        files += [p for src in data.sources for p in sorted((root / src.split(" ")[0]).glob("*")) if p.is_file()]
    return [file_info(p) for p in files]



def _tfidf(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    from secframing.models.tfidf import TfidfModel

    if cfg.data.task in MULTILABEL_TASKS:
        from secframing.models.multilabel import MultiLabelModel

        return MultiLabelModel.tfidf(cfg.data.task, cfg.model.tfidf, seed)
    return TfidfModel(cfg.model.tfidf, labels, cfg.data.task, seed)


def _embeddings(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    from secframing.models.embeddings import EmbeddingsModel

    return EmbeddingsModel(cfg.model.embeddings, labels, cfg.data.task, seed)


def _transformer(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    from secframing.models.transformer import TransformerModel

    return TransformerModel(cfg.model.transformer, labels, cfg.data.task, seed)


def _layered(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    from secframing.models.layered import REST, LayeredSentimentModel

    rest = LEARNERS[cfg.model.learner](cfg, REST, seed)
    return LayeredSentimentModel(load_model(cfg.model.framing_model), rest, cfg.model.framing_model)


def _student(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    from secframing.models.student import StudentModel

    return StudentModel(cfg.model.student.tfidf, labels, cfg.data.task, seed)


LEARNERS: dict[str, Callable[[ExperimentConfig, tuple[str, ...], int], SentenceModel]] = {
    "tfidf": _tfidf, "embeddings": _embeddings, "transformer": _transformer, "layered": _layered,
    "student": _student}
"""Backend -> builder of an unfitted model for (config, labels, seed). The ensemble's learned part is
``LEARNERS[model.learner]``; the lexicon learns nothing."""


def build_learner(cfg: ExperimentConfig, labels: tuple[str, ...], seed: int) -> SentenceModel:
    """The unfitted model the seed loop trains: the backend's, or for the ensemble its learned part."""
    backend = cfg.model.learner if cfg.model.backend == "ensemble" else cfg.model.backend
    if backend not in LEARNERS:
        raise ValueError(f"backend {backend!r} does not learn from data")
    return LEARNERS[backend](cfg, labels, seed)


# ------------------------------------------------------------------------------------------- the steps

def load_data(cfg: ExperimentConfig) -> TaskData | None:
    """The task's train/dev/test frames (the lexicon needs none, but is scored on the gold when
    ../shared is there); ``evaluation.max_eval`` samples dev and test for smoke tests."""
    if cfg.model.backend == "lexicon":
        from secframing.paths import shared_dir

        return load_task(TaskSpec("framing")) if shared_dir(required=False) is not None else None
    d = cfg.data
    data = load_task(TaskSpec(d.task, d.synthetic_weight, d.split_seed, d.transfer, d.transfer_weight, d.darija_weight,
                                d.splits, d.synthetic_sets, d.unlabelled))
    n, seed = cfg.evaluation.max_eval, cfg.evaluation.sample_seed
    for split in ("dev", "test"):
        df = getattr(data, split)
        if n and df is not None and len(df) > n:
            setattr(data, split, df.sample(n=n, random_state=seed).reset_index(drop=True))
    if n:
        data.slices = {k: df.sample(n=n, random_state=seed).reset_index(drop=True) if len(df) > n else df
                       for k, df in data.slices.items()}
    return data


def fit_learner(cfg: ExperimentConfig, data: TaskData, seed: int, n: int = 0) -> SentenceModel:
    """One fit on the training rows (``n`` or ``data.max_train`` of them, sampled with ``seed``; 0 = all)."""
    n = n or cfg.data.max_train
    train = data.train.sample(n=min(n, len(data.train)), random_state=seed) if n else data.train
    if cfg.model.backend == "student":
        return fit_student(cfg, dataclasses.replace(data, train=train), seed)
    model = build_learner(cfg, data.labels, seed)
    col = _label_col(data)
    extra: dict[str, Any] = {"dev": (data.dev["text"].tolist(), data.dev[col].tolist())} if model.uses_dev_in_fit else {}
    auxiliary = cfg.model.transformer.auxiliary if cfg.model.backend == "transformer" else ()
    if auxiliary:
        missing = [t for t in auxiliary if f"aux_{t}" not in train.columns]
        if missing:
            raise ValueError(f"{cfg.name}: model.transformer.auxiliary {missing} needs those label layers on the "
                             f"training rows; the {data.task!r} task has none (in-domain tasks only)")
        extra["aux"] = {t: train[f"aux_{t}"].tolist() for t in auxiliary}
    return model.fit(train["text"].tolist(), train[col].tolist(), train["weight"].tolist(), **extra)


def _label_col(data: TaskData) -> str:
    return "labels" if data.multilabel else "label"


def dev_score(data: TaskData, gold: list[Any], preds: list[Prediction]) -> float:
    """The dev macro-F1 seeds are compared on: over the classes, or over the labels of a multi-label task."""
    if data.multilabel:
        return multilabel_report([list(g) for g in gold], [list(p.labels) for p in preds], data.labels)["macro_f1"]
    return macro_f1(gold, [p.label for p in preds], data.labels)


def fit_student(cfg: ExperimentConfig, data: TaskData, seed: int) -> SentenceModel:
    """Distil: fit the teacher (``model.student.teacher``) on the training rows, let it label the
    unlabelled pool, and fit the student on the training rows' own labels plus the teacher's
    probabilities on the pool (each weighted as ``[model.student]`` says)."""
    from secframing.models.student import StudentModel, one_hot

    sc = cfg.model.student
    teacher_cfg = load_experiment_config(sc.teacher)
    if teacher_cfg.data.task != cfg.data.task:
        raise ValueError(f"{sc.teacher}: the teacher's task {teacher_cfg.data.task!r} is not the student's {cfg.data.task!r}")
    teacher = assemble(teacher_cfg, fit_learner(teacher_cfg, data, seed), None)
    if data.unlabelled is None or not len(data.unlabelled):
        raise ValueError(f"{cfg.name}: data.unlabelled gave no texts for the teacher to label")
    n = cfg.data.max_unlabelled
    pool_df = data.unlabelled.sample(n=min(n, len(data.unlabelled)), random_state=seed) if n else data.unlabelled
    pool = pool_df["text"].tolist()
    probs = np.asarray(teacher.predict_proba(pool), dtype=float) ** (1.0 / sc.temperature)
    probs /= probs.sum(axis=1, keepdims=True)
    gold = one_hot(data.train["label"].tolist(), data.labels)
    weight = np.concatenate([data.train["weight"].to_numpy(dtype=float) * sc.gold_weight,
                             np.full(len(pool), sc.pool_weight)])
    student = build_learner(cfg, data.labels, seed)
    assert isinstance(student, StudentModel)
    student.fit_soft([*data.train["text"], *pool], np.vstack([gold, probs]), weight)
    teacher_labels = np.asarray(data.labels)[probs.argmax(axis=1)]
    student.training_log = {"teacher": teacher_cfg.name, "pool": len(pool),
                            "pool_teacher_labels": {lab: int((teacher_labels == lab).sum()) for lab in data.labels}}
    return student


@dataclass
class SeedSelection:
    """The best fit over the training seeds and what each seed scored on dev."""

    model: SentenceModel
    per_seed: list[dict[str, Any]]
    scores: list[float] = field(default_factory=list)
    """Unrounded dev macro-F1 per seed (the learning curve's full-size point)."""


def fit_best_of_seeds(cfg: ExperimentConfig, data: TaskData) -> SeedSelection:
    """Fit once per training seed, let the model tune what it chooses on dev, keep the best on dev (the
    mean headline over the dev transfer slices, or dev macro-F1: ``training.select_on``; the first seed
    wins ties)."""
    best: SentenceModel | None = None
    best_f1, per_seed, scores = -1.0, [], []
    dev_texts, dev_gold = data.dev["text"].tolist(), data.dev[_label_col(data)].tolist()
    by_transfer = cfg.training.select_on == "transfer" and data.task in SLICE_TASKS and "article_id" in data.dev
    for seed in cfg.training.seeds:
        candidate = fit_learner(cfg, data, seed)
        tuned = candidate.tune(dev_texts, dev_gold)
        dev_full = candidate.predict_many(dev_texts)
        dev_pred = [p.label for p in dev_full]
        score = dev_score(data, dev_gold, dev_full)
        scores.append(score)
        row: dict[str, Any] = {"seed": seed, "dev_macro_f1": round(score, 4), **({"tuned_on_dev": tuned} if tuned else {})}
        key = round(score, 4)
        if by_transfer:
            slices = split_reports(data.task, "dev", data.dev, dev_pred, n_resamples=0)
            slices.update(extra_slice_reports(data, candidate, "dev", n_resamples=0))
            row["dev_transfer_mean"] = mean_headline(data.task, slices, SELECTION_SLICES)
            key = row["dev_transfer_mean"] if row["dev_transfer_mean"] is not None else key
        if candidate.training_log:
            row["training"] = dict(candidate.training_log)
        per_seed.append(row)
        if key > best_f1:
            best, best_f1 = candidate, key
    assert best is not None
    return SeedSelection(best, per_seed, scores)


def learning_curve(cfg: ExperimentConfig, data: TaskData, full: list[float] | None = None) -> list[dict[str, Any]]:
    """Dev macro-F1 of the learned model fitted on growing seeded samples of the training sentences
    (mean and spread over the training seeds); sizes beyond the training set are capped. ``full``: the
    per-seed scores of the models already fitted on the whole training set, which are not refitted."""
    points = []
    if data.multilabel:
        raise ValueError(f"{cfg.name}: training.learning_curve is not available for the multi-label task {data.task!r}; "
                         "set learning_curve = []")
    pool = len(data.train) if not cfg.data.max_train else min(cfg.data.max_train, len(data.train))
    sizes = sorted({min(n, pool) if n else pool for n in cfg.training.learning_curve})
    dev_texts, dev_gold = data.dev["text"].tolist(), data.dev["label"].tolist()
    for n in sizes:
        scores = full if n == pool and full is not None else [
            macro_f1(dev_gold, fit_learner(cfg, data, seed, n).predict(dev_texts), data.labels)
            for seed in cfg.training.seeds]
        points.append({"n_train": n, "dev_macro_f1_mean": round(float(np.mean(scores)), 4),
                       "dev_macro_f1_sd": round(float(np.std(scores)), 4), "seeds": len(scores)})
    return points


def fit_devices_head(cfg: ExperimentConfig) -> tuple[DevicesHead, dict[str, Any]]:
    """The TF-IDF devices head on the promotional gold sentences (+ weighted synthetic ones), with its
    multi-label scores on dev (and test)."""
    from secframing.models.tfidf import TfidfMultiLabel

    dc = cfg.model.devices
    data = load_task(TaskSpec("devices", dc.synthetic_weight))
    n = cfg.data.max_train
    train = data.train.sample(n=min(n, len(data.train)), random_state=dc.seed) if n else data.train
    head = TfidfMultiLabel(DEVICES, cfg.model.tfidf, seed=dc.seed)
    head.fit(train["text"].tolist(), train["labels"].tolist(), train["weight"].tolist())
    scores = {split: multilabel_report([list(x) for x in df["labels"]], head.predict_sets(df["text"].tolist()), DEVICES)
              for split, df in (("dev", data.dev), ("test", data.test))
              if df is not None and len(df) and (split == "dev" or cfg.evaluation.test)}
    return head, scores


def assemble(cfg: ExperimentConfig, learned: SentenceModel | None, head: DevicesHead | None) -> SentenceModel:
    """The model that is evaluated and saved: the lexicon alone, the learned model, or the ensemble of
    the lexicon and the learned model; wrapped with the devices head when there is one."""
    from secframing.models.ensemble import EnsembleModel

    backend = cfg.model.backend
    if backend == "lexicon" or learned is None:
        model: SentenceModel = LexiconModel(cfg.model.lexicon)
    elif backend == "ensemble":
        model = EnsembleModel(LexiconModel(cfg.model.lexicon), learned)
    else:
        model = learned
    return WithDevices(model, head) if head is not None else model


def _report(gold: list[Any], preds: list[Prediction], labels: tuple[str, ...], cfg: ExperimentConfig,
            multilabel: bool = False) -> dict[str, Any]:
    ev = cfg.evaluation
    if multilabel:
        gold_sets = [list(g) for g in gold]
        rep = multilabel_classification_report(gold_sets, [list(p.labels) for p in preds], labels,
                                               ev.bootstrap_resamples, ev.bootstrap_seed)
        rep["ece"] = multilabel_ece(gold_sets, [p.probs for p in preds], labels)
        return rep
    rep = classification_report(gold, [p.label for p in preds], labels, ev.bootstrap_resamples, ev.bootstrap_seed)
    rep["ece"] = expected_calibration_error(gold, [p.probs for p in preds])
    return rep


def split_reports(task: str, split: str, df: Any, pred: list[str], n_resamples: int = 1000,
                  seed: int = 0) -> dict[str, dict[str, Any]]:
    """The transfer slices of one scored split (see :mod:`secframing.experiments.transfer`)."""
    out = {}
    for name, mask in split_slices(split, df["article_id"].astype(str).tolist()).items():
        if mask.any():
            out[name] = slice_report(task, df["label"][mask].tolist(), [p for p, m in zip(pred, mask) if m],
                                     df["article_id"][mask].astype(str).tolist(), n_resamples, seed)
    return out


def extra_slice_reports(data: TaskData, model: SentenceModel, side: str, n_resamples: int = 1000,
                        seed: int = 0) -> dict[str, dict[str, Any]]:
    """The task's extra held-out slices (``TaskData.slices``: the Darija sets) of one side, ``dev`` (those
    model selection may look at, :data:`SELECTION_SLICES`) or ``test``."""
    out = {}
    for name, df in data.slices.items():
        if ("dev" if name in SELECTION_SLICES else "test") != side or not len(df):
            continue
        out[name] = slice_report(data.task, df["label"].tolist(), model.predict(df["text"].tolist()),
                                 df["article_id"].astype(str).tolist(), n_resamples, seed)
    return out


def evaluate(cfg: ExperimentConfig, model: SentenceModel, data: TaskData | None, out: Path) -> tuple[dict[str, Any], list[FileInfo]]:
    """Scores on dev, test (``evaluation.test``), their transfer slices and the extra eval sets; writes
    the dev/test predictions (hashes, no text) into ``out``. Returns the metrics and the eval files read."""
    metrics: dict[str, Any] = {}
    inputs: list[FileInfo] = []
    if data is not None:
        label_col = "label" if not data.multilabel else "labels"
        slices = data.task in SLICE_TASKS and "article_id" in data.dev
        for split, df in (("dev", data.dev), ("test", data.test)):
            if df is None or (split == "test" and not cfg.evaluation.test):
                continue
            preds = model.predict_many(df["text"].tolist())
            metrics[split] = _report(df[label_col].tolist(), preds, data.labels, cfg, data.multilabel)
            _write_predictions(out / f"predictions_{split}.jsonl", df, preds, label_col)
            if slices:
                metrics.setdefault("transfer", {}).update(split_reports(
                    data.task, split, df, [p.label for p in preds], cfg.evaluation.bootstrap_resamples,
                    cfg.evaluation.bootstrap_seed))
                metrics["transfer"].update(extra_slice_reports(
                    data, model, split, cfg.evaluation.bootstrap_resamples, cfg.evaluation.bootstrap_seed))
    for es in cfg.evaluation.sets:
        rows = _read_eval(Path(es.path))
        inputs.append(file_info(es.path, rows=len(rows)))
        preds = model.predict_many([r["text"] for r in rows])
        rep = _report([r["framing"] for r in rows], preds, FRAMING_LABELS, cfg)
        promo = [i for i, r in enumerate(rows) if r["framing"] == "promotional"]
        rep["devices_on_gold_promotional"] = multilabel_report([rows[i].get("devices", []) for i in promo],
                                                               [list(preds[i].devices) for i in promo], DEVICES)
        metrics[es.name] = rep
    return metrics, inputs


def leave_one_outlet_out(cfg: ExperimentConfig, data: TaskData | None) -> dict[str, dict[str, Any]]:
    """For each ``evaluation.leave_out_outlets``: the model refitted (first training seed) on the
    training rows of the other outlets (early stopping on their dev rows), scored on every gold sentence
    of the outlet (train, dev and test: none was seen). Framing and sentiment only."""
    out: dict[str, dict[str, Any]] = {}
    if data is None or data.task not in SLICE_TASKS or "outlet" not in data.train:
        return out
    ev = cfg.evaluation
    for outlet in ev.leave_out_outlets:
        name = "loo_" + re.sub(r"\W+", "_", outlet.lower()).strip("_")
        held = [df[df["outlet"] == outlet] for df in (data.train, data.dev, data.test) if df is not None]
        gold = [row for df in held for row in df[["text", "label", "article_id"]].itertuples(index=False)]
        if not gold:
            out[name] = {"outlet": outlet, "skipped": "no gold sentences from this outlet"}
            continue
        learned = None
        pool = None if data.unlabelled is None else data.unlabelled[data.unlabelled["outlet"] != outlet].reset_index(drop=True)
        kept = dataclasses.replace(data, train=data.train[data.train["outlet"] != outlet].reset_index(drop=True),
                                   dev=data.dev[data.dev["outlet"] != outlet].reset_index(drop=True), unlabelled=pool)
        if cfg.model.backend != "lexicon":
            learned = fit_learner(cfg, kept, cfg.training.seeds[0])
        pred = assemble(cfg, learned, None).predict([r.text for r in gold])
        rep = slice_report(data.task, [r.label for r in gold], pred, [str(r.article_id) for r in gold],
                           ev.bootstrap_resamples, ev.bootstrap_seed)
        out[name] = {"outlet": outlet, "n_train": len(kept.train), **rep}
    return out


def measure_speed(model: SentenceModel, texts: list[str]) -> int:
    """Sentences per second of ``predict_many`` with the embedding caches off, so the encoder is timed
    rather than lookups of vectors cached while evaluating."""
    from secframing.models.embeddings import caches_off

    texts = texts or ["نص قصير."] * 100
    with caches_off():
        t = time.perf_counter()
        model.predict_many(texts)
        return round(len(texts) / max(1e-9, time.perf_counter() - t))


def write_run(out: Path, cfg: ExperimentConfig, model: SentenceModel, metrics: dict[str, Any],
              inputs: list[FileInfo], started: str, seconds: float) -> None:
    """The model (its ``model.json`` records the experiment and a metrics summary), the resolved config,
    the metrics and the manifest."""
    summary = {k: {"macro_f1": v["macro_f1"], "macro_f1_ci95": v["macro_f1_ci95"], "n": v["n"]}
               for k, v in metrics.items() if isinstance(v, dict) and "macro_f1" in v and "n" in v}
    model.save(out, extra_meta={"experiment": cfg.name, "metrics_summary": summary})
    write_json(out / "config.resolved.json", to_dict(cfg))
    write_json(out / "metrics.json", metrics)
    write_json(out / "manifest.json", build_manifest("train", cfg, inputs, started, seconds))
    write_card(out)


def train(config_path: str | Path, output: str | Path, overrides: tuple[str, ...] = ()) -> dict[str, Any]:
    """Build the model an experiment config describes, evaluate it, and write the run directory."""
    started, t0 = now_iso(), time.perf_counter()
    cfg = load_experiment_config(config_path, overrides)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, Any] = {"experiment": cfg.name, "task": cfg.data.task, "backend": cfg.model.backend,
                               "ablation": cfg.ablation, "arm": cfg.arm}
    data = load_data(cfg)
    learned, head = None, None
    if cfg.model.backend != "lexicon":
        assert data is not None
        sel = fit_best_of_seeds(cfg, data)
        learned = sel.model
        metrics["seeds"] = sel.per_seed
        metrics["dev_macro_f1_mean"] = round(float(np.mean([s["dev_macro_f1"] for s in sel.per_seed])), 4)
        metrics["dev_macro_f1_sd"] = round(float(np.std([s["dev_macro_f1"] for s in sel.per_seed])), 4)
        if cfg.training.learning_curve:
            # the full-size point is the fit of every seed scored above (a model tuned on dev is refitted)
            tuned = any(s.get("tuned_on_dev") for s in sel.per_seed)
            metrics["learning_curve"] = learning_curve(cfg, data, None if tuned else sel.scores)
        if cfg.model.backend == "ensemble":
            metrics["learned_alone_dev"] = _report(data.dev["label"].tolist(), learned.predict_many(data.dev["text"].tolist()),
                                                   data.labels, cfg)
    if cfg.model.devices.enabled:
        head, metrics["devices"] = fit_devices_head(cfg)
    model = assemble(cfg, learned, head)
    if data is not None:
        metrics["data"] = describe(data)
    scores, eval_inputs = evaluate(cfg, model, data, out)
    metrics.update(scores)
    if "transfer" in metrics:
        metrics["transfer"].update(leave_one_outlet_out(cfg, data))
        loo = [k for k in metrics["transfer"] if k.startswith("loo_")]
        metrics["transfer_mean"] = mean_headline(cfg.data.task, metrics["transfer"], [*REPORTED_SLICES, *loo])
        metrics["dev_transfer_mean"] = mean_headline(cfg.data.task, metrics["transfer"], SELECTION_SLICES)
    ev = cfg.evaluation
    n_speed = min(ev.max_eval, ev.speed_sentences) if ev.max_eval else ev.speed_sentences
    speed_texts = data.dev["text"].tolist()[:n_speed] if data is not None else []
    metrics["predict_sentences_per_s"] = measure_speed(model, speed_texts)
    inputs = [file_info(config_path), *_data_inputs(data), *eval_inputs]
    write_run(out, cfg, model, metrics, inputs, started, time.perf_counter() - t0)
    return metrics


def evaluate_model(config_path: str | Path, model_dir: str | Path, test: bool = False) -> dict[str, Any]:
    """Metrics of a saved model on the dev (and test) split of a config's task."""
    cfg = load_experiment_config(config_path)
    model = load_model(model_dir)
    data = load_task(TaskSpec(cfg.data.task, 0.0, cfg.data.split_seed))
    out: dict[str, Any] = {"experiment": cfg.name, "task": cfg.data.task, "model": str(model_dir)}
    for split, df in (("dev", data.dev), ("test", data.test)):
        if df is None or (split == "test" and not test):
            continue
        preds = model.predict_many(df["text"].tolist())
        out[split] = _report(df[_label_col(data)].tolist(), preds, data.labels, cfg, data.multilabel)
    return out


def stale_reason(run_dir: Path, cfg: ExperimentConfig, hashes: dict[str, str] | None = None) -> str | None:
    """Why the finished run in ``run_dir`` does not stand for ``cfg`` (None: it does): no finished run,
    another resolved config, or an input file (config, data) whose sha256 changed since. Code changes
    are not looked at; RESULTS.md shows each run's commit. ``hashes`` (path -> sha256) is filled and
    reused, so files that many runs read (the corpus, the gold) are hashed once per ``run_all``."""
    if not all((run_dir / f).exists() for f in ("metrics.json", "model.json", "manifest.json", "config.resolved.json")):
        return "no finished run"
    if json.loads((run_dir / "config.resolved.json").read_text(encoding="utf-8")) != as_saved(cfg):
        return "config changed"
    hashes = {} if hashes is None else hashes
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for item in manifest.get("inputs", []):
        path = Path(item["path"])
        if not path.is_file():
            return f"input changed: {path}"
        if str(path) not in hashes:
            hashes[str(path)] = sha256_file(path)
        if hashes[str(path)] != item["sha256"]:
            return f"input changed: {path}"
    return None


def run_all(configs: str | Path, runs: str | Path, only: tuple[str, ...] = (),
            overrides: tuple[str, ...] = (), resume: bool = False) -> list[dict[str, Any]]:
    """Train every experiment config in ``configs`` into ``runs/NAME``. A run that cannot be made here
    for want of a resource outside the project (a hub model offline, an optional package missing) is
    recorded in ``runs/NAME/skipped.json`` with the reason, so RESULTS.md lists it; any other error stops.
    With ``resume``, a finished run whose config and inputs are unchanged (:func:`stale_reason`) is kept,
    so an interrupted ``make results`` continues where it stopped."""
    out = []
    hashes: dict[str, str] = {}
    for path in sorted(Path(configs).glob("*.toml")):
        if path.name == "targets.toml" or (only and path.stem not in only):
            continue
        cfg = load_experiment_config(path, overrides)
        run_dir = Path(runs) / path.stem
        if resume and stale_reason(run_dir, cfg, hashes) is None:
            metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
            out.append({"experiment": cfg.name, "dev": (metrics.get("dev") or {}).get("macro_f1"), "kept": True})
            continue
        try:
            metrics = train(path, run_dir, overrides)
        except (OSError, ImportError, ModelLoadError) as exc:
            if cfg.model.backend not in ("transformer", "embeddings") and cfg.model.learner == "tfidf":
                raise
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            run_dir.mkdir(parents=True, exist_ok=True)
            for stale in ("metrics.json", "model.json"):
                (run_dir / stale).unlink(missing_ok=True)
            write_json(run_dir / "skipped.json", {"experiment": cfg.name, "task": cfg.data.task, "backend": cfg.model.backend,
                                                  "reason": reason, "time": now_iso()})
            out.append({"experiment": cfg.name, "skipped": reason})
            continue
        (run_dir / "skipped.json").unlink(missing_ok=True)
        out.append({"experiment": cfg.name, "dev": (metrics.get("dev") or {}).get("macro_f1")})
    return out
