"""Fine-tuned Hugging Face encoders (``AutoModelForSequenceClassification``), saved as safetensors.

Any encoder checkpoint works: a hub name (needs internet, e.g. AraBERT) or a local directory holding
``config.json``, ``model.safetensors`` and a tokenizer. Training is a plain torch loop (AdamW with
linear warm-up and decay, gradient clipping, sample and class weights in the loss). A saved model
directory keeps the fine-tuned encoder and its tokenizer in ``hf/`` beside ``model.json``. Weights are
only ever read and written as safetensors: nothing is unpickled.

torch and transformers are imported inside the methods: the runner imports this module for its config.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from secframing.config import PathOrName
from secframing.labels import FRAMING_LABELS
from secframing.models.base import ModelLoadError, Prediction, SentenceModel
from secframing.models.io import sha256_file

HF_DIR = "hf"
"""Subfolder of a model directory with the Hugging Face model and tokenizer (``save_pretrained``)."""
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


@dataclass(frozen=True)
class TransformerConfig:
    model_name_or_path: PathOrName = "aubmindlab/bert-base-arabertv02"
    """A hub name (needs internet) or a local directory with ``config.json`` and a tokenizer (relative to
    the config file that names it, or to the working directory on the command line)."""
    max_length: int = 128
    """Tokens per sentence; longer sentences are truncated."""
    epochs: float = 3.0
    """Passes over the training rows; a fraction stops part-way through the last pass."""
    batch_size: int = 16
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    """AdamW weight decay, applied to weight matrices only (not to biases and LayerNorm)."""
    warmup_ratio: float = 0.1
    """Share of the optimisation steps over which the learning rate rises linearly; it then decays
    linearly to 0."""
    max_grad_norm: float = 1.0
    """Clip gradients to this global norm (0 = no clipping)."""
    class_weight: str | None = None
    """``"balanced"``: weight each class's loss by n / (n_classes * n_class), as scikit-learn does;
    None: unweighted (leave the key out of a TOML file)."""
    eval_batch_size: int = 64
    """Sentences per forward pass when predicting."""
    device: str = "auto"
    """``auto`` (CUDA when available, else CPU) or a torch device such as ``cpu`` or ``cuda:0``."""
    num_threads: int = 0
    """CPU threads torch may use (0 = torch's default)."""
    local_files_only: bool = False
    """Never contact the hub: ``model_name_or_path`` must be a local directory or already cached."""

    def __post_init__(self) -> None:
        if self.class_weight not in ("balanced", None):
            raise ValueError(f"class_weight must be 'balanced' or left out, got {self.class_weight!r}")
        if self.epochs <= 0 or self.batch_size < 1 or self.eval_batch_size < 1 or self.max_length < 1:
            raise ValueError("epochs, batch_size, eval_batch_size and max_length must be positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")


def loss_weights(y: Sequence[int], sample_weight: Sequence[float] | None, class_weight: str | None) -> np.ndarray:
    """Per-row loss weights: sample weight x class weight, scaled to mean 1 so that weighting changes
    the balance between rows but not the effective learning rate."""
    y = np.asarray(y, dtype=int)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w.shape != y.shape:
        raise ValueError(f"sample_weight has {w.size} values for {y.size} training rows")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("sample weights must be finite, non-negative and not all zero")
    if class_weight == "balanced":
        classes, counts = np.unique(y, return_counts=True)
        per_class = dict(zip(classes, len(y) / (len(classes) * counts)))
        w = w * np.array([per_class[c] for c in y])
    return w / w.mean()


class TransformerModel(SentenceModel):
    backend = "transformer"

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

    def fit(self, texts: Sequence[str], labels: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> TransformerModel:
        """Fine-tune ``model_name_or_path`` with a fresh classification head for ``self.labels``."""
        texts, labels = list(texts), list(labels)
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not in the model's label set {list(self.labels)}")
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"need as many labels as texts and at least one row, got {len(texts)} and {len(labels)}")
        y_idx = [self.labels.index(lab) for lab in labels]
        weights = loss_weights(y_idx, sample_weight, self.config.class_weight)

        import torch
        from transformers import get_linear_schedule_with_warmup, set_seed

        c = self.config
        set_seed(self.seed)  # python, numpy and torch RNGs: the new head's initialisation and dropout
        self._set_threads()
        device = self._device()
        self._load_base(device)
        y = torch.tensor(y_idx, device=device)
        w = torch.tensor(weights, dtype=torch.float32, device=device)

        # no decay on biases and normalisation weights, the one-dimensional parameters
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.ndim > 1], "weight_decay": c.weight_decay},
                  {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=c.learning_rate)
        total = max(1, math.ceil(c.epochs * math.ceil(len(texts) / c.batch_size)))
        scheduler = get_linear_schedule_with_warmup(optimizer, int(c.warmup_ratio * total), total)
        shuffle = torch.Generator().manual_seed(self.seed)  # own generator: batch order independent of dropout draws

        self.model.train()
        step = 0
        while step < total:
            for idx in torch.randperm(len(texts), generator=shuffle).split(c.batch_size):
                if step == total:
                    break
                batch = self._encode([texts[i] for i in idx.tolist()]).to(device)
                idx = idx.to(device)
                logits = self.model(**batch).logits
                losses = torch.nn.functional.cross_entropy(logits.float(), y[idx], reduction="none")
                (losses * w[idx]).mean().backward()
                if c.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
        self.model.eval()
        return self

    def _load_base(self, device: Any) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        c = self.config
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(c.model_name_or_path, local_files_only=c.local_files_only)
            # use_safetensors: never torch.load (pickle) a checkpoint; ignore_mismatched_sizes: a checkpoint
            # that already has a classifier for other labels gets a fresh head of the right size
            self.model = AutoModelForSequenceClassification.from_pretrained(
                c.model_name_or_path, num_labels=len(self.labels), id2label=dict(enumerate(self.labels)),
                label2id={lab: i for i, lab in enumerate(self.labels)}, use_safetensors=True,
                local_files_only=c.local_files_only, ignore_mismatched_sizes=True).to(device)
        except (OSError, ValueError) as exc:
            # the CLI shows the first line only: the remedy goes there
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelLoadError(f"cannot load the base model {c.model_name_or_path!r} ({reason}); a hub name needs "
                                 "internet, otherwise pass a local model directory "
                                 "(--set model.transformer.model_name_or_path=DIR)") from exc

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        if self.model is None:
            raise RuntimeError("model is not fitted")
        texts = list(texts)
        if not texts:
            return []
        import torch

        self._set_threads()
        device = next(self.model.parameters()).device
        # batches of similar length pad little; rows go back to input order through ``idx``
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        proba = np.empty((len(texts), len(self.labels)))
        self.model.eval()
        with torch.no_grad():
            for start in range(0, len(order), self.config.eval_batch_size):
                idx = order[start:start + self.config.eval_batch_size]
                logits = self.model(**self._encode([texts[i] for i in idx]).to(device)).logits
                proba[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return self.predictions_from_proba(proba, self.labels)

    def save_files(self, directory: Path) -> tuple[dict[str, str], dict[str, Any]]:
        if self.model is None:
            raise RuntimeError("model is not fitted")
        hf = directory / HF_DIR
        if hf.exists():
            shutil.rmtree(hf)  # files left by an earlier save would be unlisted and refused by load
        # safe_serialization matters to transformers 4; 5 writes only safetensors and ignores it
        self.model.save_pretrained(hf, safe_serialization=True)
        self.tokenizer.save_pretrained(hf)
        written = sorted(p for p in hf.rglob("*") if p.is_file())
        if not any(p.suffix == ".safetensors" for p in written) or any(p.suffix in PICKLE_SUFFIXES for p in written):
            raise RuntimeError(f"{hf}: save_pretrained did not write safetensors weights only: {[p.name for p in written]}")
        files = {p.relative_to(directory).as_posix(): sha256_file(p) for p in written}
        return files, {"config": asdict(self.config), "seed": self.seed}

    @classmethod
    def load(cls, directory: Path, meta: dict[str, Any]) -> TransformerModel:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        known = {f.name for f in fields(TransformerConfig)}
        saved = dict(meta.get("config", {}))
        legacy_seed = saved.pop("seed", 0)  # format 1 kept the seed inside the config
        extra = sorted(set(saved) - known)
        if extra:
            raise ModelLoadError(f"{directory}: config keys {extra} are unknown to this secframing (newer model?)")
        model = cls(TransformerConfig(**saved), meta.get("model_labels", FRAMING_LABELS),
                    meta.get("task", "framing"), meta.get("seed", legacy_seed))
        hf = directory / HF_DIR
        if not hf.is_dir():
            raise ModelLoadError(f"{directory}: no {HF_DIR}/ folder with the Hugging Face model")
        # read_model_meta checked the listed files' hashes; anything else in hf/ could be picked up unchecked
        unlisted = sorted(p.relative_to(directory).as_posix() for p in hf.rglob("*")
                          if p.is_file() and p.relative_to(directory).as_posix() not in meta.get("files", {}))
        if unlisted:
            raise ModelLoadError(f"{directory}: files not recorded in model.json: {unlisted}")
        try:
            model.tokenizer = AutoTokenizer.from_pretrained(str(hf), local_files_only=True)
            model.model = AutoModelForSequenceClassification.from_pretrained(str(hf), use_safetensors=True,
                                                                             local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"{hf}: cannot load the Hugging Face model: {exc}") from None
        cfg = model.model.config
        saved = [cfg.id2label.get(i) for i in range(cfg.num_labels)]
        if saved != list(model.labels):
            raise ModelLoadError(f"{hf}: checkpoint id2label {saved} differs from model_labels {list(model.labels)} "
                                 "in model.json")
        model.model.to(model._device()).eval()
        return model
