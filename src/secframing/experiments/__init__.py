"""Experiments: metrics (macro-F1 with bootstrap CIs), training runs and run directories."""
