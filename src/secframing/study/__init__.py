"""The framing study: corpus -> security coverage -> sentences -> labels -> aggregates -> report."""

from secframing.study.pipeline import StudyConfig, StudyResult, run_study

__all__ = ["StudyConfig", "StudyResult", "run_study"]
