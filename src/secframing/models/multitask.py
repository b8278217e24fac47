"""Multi-task fine-tuning: auxiliary heads on the same encoder, for training only.

With ``model.transformer.auxiliary = ["sentiment", "devices"]`` a framing fine-tune also learns the
gold's other label layers from the same pooled representation: a linear head per auxiliary task
(sentiment: softmax over its labels; devices: one sigmoid per device), their losses added to the main
task's with ``auxiliary_weight``. Every gold, synthetic and Darija row carries all three layers; a row
without one (a transfer row) is masked out of that head's loss. The heads shape the encoder and are then
dropped: the saved model is the ordinary classifier, loaded and run as any other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS

AUX_TASKS: dict[str, tuple[tuple[str, ...], bool]] = {
    "framing": (FRAMING_LABELS, False),
    "sentiment": (SENTIMENT_LABELS, False),
    "devices": (DEVICES, True),
}
"""Auxiliary task -> (labels, multi-label)."""
IGNORE = -100
"""Target of a row without a label for a single-label head (cross-entropy's ``ignore_index``)."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def aux_targets(aux: Mapping[str, Sequence[Any]], n: int) -> dict[str, list[Any]]:
    """Dataset columns for the auxiliary targets: ``aux_<task>`` (a label index or :data:`IGNORE`; for a
    multi-label task a 0/1 vector) and, for a multi-label task, ``aux_<task>_mask`` (0 where missing)."""
    cols: dict[str, list[Any]] = {}
    for name, values in aux.items():
        if name not in AUX_TASKS:
            raise ValueError(f"unknown auxiliary task {name!r}; valid: {sorted(AUX_TASKS)}")
        values = list(values)
        if len(values) != n:
            raise ValueError(f"auxiliary task {name!r} has {len(values)} labels for {n} training rows")
        labels, multi = AUX_TASKS[name]
        given = {str(v) for vs in values if not _missing(vs) for v in vs} if multi else \
            {str(v) for v in values if not _missing(v)}
        bad = sorted(given - set(labels))
        if bad:
            raise ValueError(f"auxiliary task {name!r}: labels {bad} are not among {list(labels)}")
        if multi:
            cols[f"aux_{name}"] = [[0.0] * len(labels) if _missing(vs) else [float(lab in vs) for lab in labels]
                                   for vs in values]
            cols[f"aux_{name}_mask"] = [0.0 if _missing(vs) else 1.0 for vs in values]
        else:
            cols[f"aux_{name}"] = [IGNORE if _missing(v) else labels.index(v) for v in values]
    return cols


def with_auxiliary_heads(net: Any, pooling: str, tasks: Sequence[str]) -> Any:
    """``net`` (a ``BertForSequenceClassification`` or the mean-pooled classifier) with one extra linear
    head per auxiliary task on its pooled, dropped-out representation. ``forward`` is ``net``'s own (the
    main task); :meth:`forward_all` also returns the auxiliary logits."""
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class AuxiliaryHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.config = net.config
            hidden = net.config.hidden_size
            self.heads = torch.nn.ModuleDict({t: torch.nn.Linear(hidden, len(AUX_TASKS[t][0])) for t in tasks})

        def _pooled(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            if pooling == "mean":  # the mean-pooled classifier's own pooling
                pooled = self.net.pool(input_ids, attention_mask, token_type_ids)
            else:
                pooled = self.net.base_model(input_ids=input_ids, attention_mask=attention_mask,
                                             token_type_ids=token_type_ids).pooler_output
            return self.net.dropout(pooled)

        def forward_all(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                        **kw: Any) -> tuple[Any, dict[str, Any]]:
            x = self._pooled(input_ids, attention_mask, token_type_ids)
            return self.net.classifier(x), {t: head(x) for t, head in self.heads.items()}

        # ``labels`` in the signature: Trainer finds a model's label columns there (dev evaluation needs them)
        def forward(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
                    labels: Any = None, **kw: Any) -> Any:
            logits, _ = self.forward_all(input_ids, attention_mask, token_type_ids)
            return SequenceClassifierOutput(logits=logits)

    return AuxiliaryHeads()


def auxiliary_loss(aux_logits: Mapping[str, Any], inputs: dict[str, Any]) -> Any:
    """Sum of the auxiliary heads' mean losses (cross-entropy, or masked binary cross-entropy for a
    multi-label head); pops their targets from ``inputs``."""
    import torch

    total = None
    for name, logits in aux_logits.items():
        target = inputs.pop(f"aux_{name}")
        if AUX_TASKS[name][1]:
            mask = inputs.pop(f"aux_{name}_mask").float()
            per_row = torch.nn.functional.binary_cross_entropy_with_logits(
                logits.float(), target.float(), reduction="none").mean(dim=1)
            loss = (per_row * mask).sum() / mask.sum().clamp(min=1.0)
        elif (target != IGNORE).any():
            loss = torch.nn.functional.cross_entropy(logits.float(), target, ignore_index=IGNORE)
        else:
            loss = logits.sum() * 0.0
        total = loss if total is None else total + loss
    return total


__all__ = ["AUX_TASKS", "aux_targets", "auxiliary_loss", "with_auxiliary_heads"]
