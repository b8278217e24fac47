"""Experiment configs: one TOML file per run, grouped the way transformers' example scripts group their
argument dataclasses: ``[data]`` (which task and training rows), ``[model]`` (backend and its settings),
``[training]`` (seeds, learning curve) and ``[evaluation]`` (splits, bootstrap, extra eval sets).

``secframing train --explain-config`` prints every key with its default and help. Paths in a config file
are relative to that file; paths given with ``--set`` are relative to the working directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from secframing.config import ConfigError, FilePath, from_dict, path_fields, read_toml
from secframing.models.embeddings import EmbeddingsConfig
from secframing.models.lexicon import LexiconConfig
from secframing.models.student import DEFAULT_TFIDF as DEFAULT_STUDENT_TFIDF
from secframing.models.tfidf import TfidfConfig
from secframing.models.transformer import TransformerConfig
from secframing.paths import DEFAULT_MODEL_DIR, SYNTHETIC_SETS

Task = Literal["framing", "sentiment", "subjectivity", "persuasion", "mac_sentiment", "persuasion_coarse"]
Backend = Literal["lexicon", "tfidf", "embeddings", "transformer", "ensemble", "layered", "student"]
Learner = Literal["tfidf", "embeddings", "transformer"]


@dataclass(frozen=True)
class DataConfig:
    """Which task, and which rows train it."""

    task: Task = "framing"
    """framing, sentiment (in-domain gold), or an external benchmark: subjectivity (ThatiAR), persuasion
    (ArAIEval 2023 1A), mac_sentiment (MAC tweets), persuasion_coarse (ArMPro coarse classes, multi-label)."""
    synthetic_weight: float = 0.0
    """Weight of each synthetic training sentence (in-domain tasks; 0 = not used)."""
    transfer: tuple[str, ...] = ()
    """In-domain tasks: external tasks whose training rows are added, relabelled (``tasks.TRANSFER_MAPS``)."""
    transfer_weight: float = 0.3
    """Weight of each transferred training row."""
    darija_weight: float = 0.0
    """In-domain framing/sentiment: weight of each training sentence of the team-written Darija news set
    (``data/darija/``, its train split; 0 = not used). Its dev and test splits are transfer slices either way."""
    splits: str = "v2"
    """Gold split version: ``v2`` (``data/splits/gold_v2.json``: seed op-eds a test-only slice, 40
    promotional test articles) or ``v1`` (``gold_v1.json``, to reproduce runs made before gold v2)."""
    synthetic_sets: tuple[str, ...] = SYNTHETIC_SETS
    """Files of ``data/synthetic/`` (stems) that ``synthetic_weight`` applies to; ``rewrites_v3`` is opt-in."""
    split_seed: int = 20261122
    """Seed of the split for datasets without an official one (MAC); apart from the training seeds so
    that changing them never moves dev and test."""
    max_train: int = 0
    """Use at most this many training rows, a sample drawn with each training seed (0 = all): smoke tests."""
    unlabelled: tuple[str, ...] = ()
    """student only: unlabelled pools the teacher labels (``corpus``, ``mac``, ``darija_train``; see
    ``experiments.tasks.UNLABELLED_POOLS``); texts of dev, test and every slice are kept out."""
    max_unlabelled: int = 0
    """student only: label at most this many pool texts, a sample drawn with each training seed (0 = all):
    smoke tests."""


@dataclass(frozen=True)
class DevicesConfig:
    """The multi-label devices head (framing only): TF-IDF one-vs-rest logistic regressions, with the
    ``[model.tfidf]`` features, trained on the promotional gold sentences."""

    enabled: bool = False
    """Wrap the framing model with a devices head (``models.devices.WithDevices``)."""
    synthetic_weight: float = 1.0
    """Weight of each synthetic promotional sentence in the head's training rows."""
    seed: int = 0
    """The head's regression seed and its ``data.max_train`` sample."""


@dataclass(frozen=True)
class StudentConfig:
    """student only: which teacher is distilled, and how the training rows are weighted."""

    teacher: FilePath = ""
    """The teacher's experiment config (required): it is fitted on the student's training rows (give
    the student the teacher's ``[data]``, e.g. with ``extends``; refitted for leave-one-outlet-out), then
    labels the ``data.unlabelled`` pools."""
    gold_weight: float = 1.0
    """Weight of each training row's own (hard) label; the teacher's probabilities on those rows are
    not used."""
    pool_weight: float = 1.0
    """Weight of each unlabelled row, whose target is the teacher's probability distribution."""
    temperature: float = 1.0
    """Soften the teacher's distribution: p ** (1 / T), renormalised (T > 1 spreads mass to the runner-up)."""
    tfidf: TfidfConfig = field(default_factory=lambda: DEFAULT_STUDENT_TFIDF)
    """The student's own features and regression (``[model.student.tfidf]``; ``[model.tfidf]`` stays the
    devices head's): word n-grams by default, since character n-grams are most of TF-IDF's prediction
    time; no class weights, the teacher's probabilities carry the balance."""


@dataclass(frozen=True)
class ModelConfig:
    """The backend and its settings."""

    backend: Backend = "lexicon"
    """lexicon (rules, no learning), tfidf, embeddings, transformer, ensemble (the lexicon's promotional
    calls override ``learner``), layered (sentiment: positive = ``framing_model``'s promotional call,
    ``learner`` separates negative from neutral), student (``[model.student.tfidf]`` features fitted on a
    teacher's probabilities over ``data.unlabelled``, see ``[model.student]``)."""
    learner: Learner = "tfidf"
    """ensemble and layered: the learned component's backend."""
    framing_model: FilePath = str(DEFAULT_MODEL_DIR)
    """layered only: the framing model whose promotional calls are the positive sentences (trained on
    the same gold train split, so dev and test stay unseen)."""
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    lexicon: LexiconConfig = field(default_factory=LexiconConfig)
    tfidf: TfidfConfig = field(default_factory=TfidfConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    student: StudentConfig = field(default_factory=StudentConfig)


@dataclass(frozen=True)
class TrainingConfig:
    """How many fits, and which one is kept."""

    seeds: tuple[int, ...] = (20261122,)
    """One fit per seed (the only training seed: it reaches the backend's initialisation, sampling and
    batch order); the fit with the best dev macro-F1 is kept."""
    learning_curve: tuple[int, ...] = ()
    """Also fit on this many training sentences (a sample per seed; 0 = all) and record dev macro-F1."""
    select_on: str = "transfer"
    """Which fit is kept, for framing and sentiment: ``transfer`` = the best mean headline over the dev
    transfer slices (dev without the seed op-eds, the dev seed op-eds; see experiments/transfer.py), so
    that selection does not reward one outlet's style; ``dev`` = the best dev macro-F1. Other tasks
    always use dev macro-F1."""

    def __post_init__(self) -> None:
        if self.select_on not in ("transfer", "dev"):
            raise ValueError(f"training.select_on must be 'transfer' or 'dev', got {self.select_on!r}")


@dataclass(frozen=True)
class EvalSet:
    """An extra labelled file to score the model on."""

    name: str
    path: FilePath
    """JSONL with ``text`` and ``framing`` (optionally ``devices``)."""


@dataclass(frozen=True)
class EvaluationConfig:
    """What is scored, and how the intervals are drawn."""

    test: bool = True
    """Also score the test split (reported once; never used for selection)."""
    bootstrap_resamples: int = 1000
    """Resamples of each macro-F1 confidence interval."""
    bootstrap_seed: int = 0
    """Seed of the bootstrap resampling."""
    max_eval: int = 0
    """Score at most this many dev/test rows, a sample (0 = all): smoke tests only."""
    sample_seed: int = 0
    """Seed of the ``max_eval`` sample."""
    speed_sentences: int = 1000
    """Dev sentences timed for ``predict_sentences_per_s`` (caches off; at most ``max_eval`` when that is set)."""
    sets: tuple[EvalSet, ...] = ()
    """Extra eval files (``[[evaluation.sets]]`` tables)."""
    leave_out_outlets: tuple[str, ...] = ("Febrayer",)
    """Framing and sentiment: for each outlet, refit (first training seed) without its articles and score
    all its gold sentences (slice ``loo_<outlet>``); () = skip these extra fits."""


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: ``secframing train --config FILE --output DIR``."""

    name: str
    description: str = ""
    ablation: str = ""
    """Name of the ablation this run belongs to (RESULTS.md puts runs with the same name side by side)."""
    arm: str = ""
    """This run's arm in its ablation, e.g. "gold only", "+ synthetic"."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

    def __post_init__(self) -> None:
        backend, task = self.model.backend, self.data.task
        if backend in ("lexicon", "ensemble") and task != "framing":
            raise ValueError(f"the {backend} backend only does the framing task, not {task!r}")
        if backend == "layered" and task != "sentiment":
            raise ValueError("the layered backend only does the sentiment task")
        if backend == "student" and (task != "framing" or not self.model.student.teacher or not self.data.unlabelled):
            raise ValueError("the student backend needs data.task = 'framing', model.student.teacher (a config) "
                             "and data.unlabelled (pools for the teacher to label)")
        if self.data.unlabelled and backend != "student":
            raise ValueError("data.unlabelled is read by the student backend only")
        if self.model.devices.enabled and task != "framing":
            raise ValueError("model.devices.enabled needs data.task = 'framing'")
        if not self.training.seeds:
            raise ValueError("training.seeds must list at least one seed")


MOVED_KEYS: dict[str, str] = {
    "task": "data.task", "synthetic_weight": "data.synthetic_weight", "split_seed": "data.split_seed",
    "transfer": "data.transfer", "transfer_weight": "data.transfer_weight", "max_train": "data.max_train",
    "backend": "model.backend", "ensemble_learner": "model.learner", "framing_model": "model.framing_model",
    "devices_head": "model.devices.enabled", "devices_synthetic_weight": "model.devices.synthetic_weight",
    "lexicon": "model.lexicon", "tfidf": "model.tfidf", "embeddings": "model.embeddings",
    "transformer": "model.transformer", "seeds": "training.seeds", "learning_curve": "training.learning_curve",
    "evaluate_test": "evaluation.test", "bootstrap_resamples": "evaluation.bootstrap_resamples",
    "max_eval": "evaluation.max_eval", "eval": "evaluation.sets",
}
"""Keys of the flat configs before the grouping -> where they live now (for the error message)."""


def _check_moved(keys: Sequence[str], source: str) -> None:
    moved = [k for k in keys if k in MOVED_KEYS]
    if moved:
        where = ", ".join(f"{k} -> {MOVED_KEYS[k]}" for k in moved)
        raise ConfigError(f"{source}: key(s) moved into sections: {where} (see secframing train --explain-config)")


def load_experiment_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment TOML file (with ``extends``) and ``key=value`` overrides, type-checked."""
    data = read_toml(path, path_fields(ExperimentConfig))
    _check_moved(list(data), str(path))
    _check_moved([o.split("=", 1)[0].split(".")[0].strip() for o in overrides], "--set")
    return from_dict(ExperimentConfig, data, overrides, source=str(path))
