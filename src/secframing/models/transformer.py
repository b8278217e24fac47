"""Fine-tuned Hugging Face encoders (``AutoModelForSequenceClassification``), saved as safetensors.

(Being implemented: see the issue. Only the configuration is fixed here so that experiment configs
and the runner can refer to it.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerConfig:
    model_name_or_path: str = "aubmindlab/bert-base-arabertv02"
    """A hub name (needs internet) or a local directory with ``config.json`` and a tokenizer."""
    max_length: int = 128
    epochs: float = 3.0
    batch_size: int = 16
    learning_rate: float = 3e-5
    seed: int = 0
