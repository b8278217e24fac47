"""Selecting the security coverage: relevance with the matched evidence kept for inspection."""

from secframing.select.relevance import Relevance, RelevanceConfig, RelevanceScorer

__all__ = ["Relevance", "RelevanceConfig", "RelevanceScorer"]
