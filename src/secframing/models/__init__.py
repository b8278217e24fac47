"""Sentence models behind one interface; :func:`load_model` opens any saved model directory."""

from secframing.models.base import MODEL_FORMAT, ModelLoadError, Prediction, SentenceModel, load_model

__all__ = ["MODEL_FORMAT", "ModelLoadError", "Prediction", "SentenceModel", "load_model"]
