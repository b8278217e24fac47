"""Evaluation of the text-processing stages against hand-made gold (segmentation, relevance)."""
