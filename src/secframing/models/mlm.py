"""Continued masked-language-model pretraining of a BERT encoder (domain-adaptive pretraining).

The offline e5 encoder has no MLM head (e5 was trained contrastively and the conversion keeps the
encoder only), so :func:`masked_lm` puts a fresh BERT-style head on it: a dense layer, GELU, LayerNorm,
and the word-embedding matrix (tied, not copied) with a fresh bias as the decoder. Its 250k-way softmax
is computed at the masked positions only (about 15% of the tokens): over every position it would cost
several times the encoder itself on a CPU. The head's parameters learn at their own, higher rate
(:func:`pretrain_trainer`), since they start from random values while the encoder is only adapted.

Training runs on ``transformers``' ``Trainer`` (checkpoints in safetensors, resumable); the result is the
plain encoder, which the transformer backend loads like any other base model.
"""

from __future__ import annotations

from typing import Any


def masked_lm(encoder: Any) -> Any:
    """A ``torch.nn.Module`` computing the MLM loss of ``encoder`` (a ``BertModel``) at the positions
    whose ``labels`` are not -100; ``forward`` returns ``{"loss": ...}``."""
    import torch

    class MaskedLM(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder
            cfg = encoder.config
            self.config = cfg
            self.transform = torch.nn.Linear(cfg.hidden_size, cfg.hidden_size)
            self.norm = torch.nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
            self.bias = torch.nn.Parameter(torch.zeros(cfg.vocab_size))

        def head_parameters(self) -> list[Any]:
            return [*self.transform.parameters(), *self.norm.parameters(), self.bias]

        def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                    labels: Any = None, **kw: Any) -> dict[str, Any]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            masked = labels != -100
            x = self.norm(torch.nn.functional.gelu(self.transform(hidden[masked])))
            # the decoder is the input embedding matrix itself (weights tied, as in BERT's own MLM head)
            logits = torch.nn.functional.linear(x, self.encoder.get_input_embeddings().weight, self.bias)
            loss = torch.nn.functional.cross_entropy(logits.float(), labels[masked])
            return {"loss": loss}

    return MaskedLM(encoder)


def pretrain_trainer(head_learning_rate: float) -> type:
    """``Trainer`` whose optimiser gives the MLM head its own learning rate (AdamW; no weight decay on
    biases and LayerNorm, as ``Trainer`` does)."""
    import torch
    from transformers import Trainer

    class PretrainTrainer(Trainer):
        def create_optimizer(self) -> Any:
            if self.optimizer is None:
                head = {id(p) for p in self.model.head_parameters()}
                decay = set(self.get_decay_parameter_names(self.model))
                groups: dict[tuple[bool, bool], list[Any]] = {}
                for name, p in self.model.named_parameters():
                    if p.requires_grad:
                        groups.setdefault((id(p) in head, name in decay), []).append(p)
                a = self.args
                self.optimizer = torch.optim.AdamW(
                    [{"params": ps, "lr": head_learning_rate if is_head else a.learning_rate,
                      "weight_decay": a.weight_decay if decays else 0.0}
                     for (is_head, decays), ps in sorted(groups.items())],
                    lr=a.learning_rate, betas=(a.adam_beta1, a.adam_beta2), eps=a.adam_epsilon)
            return self.optimizer

    return PretrainTrainer


__all__ = ["masked_lm", "pretrain_trainer"]
