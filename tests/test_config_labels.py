"""Config loading (TOML -> frozen dataclasses, typed overrides) and the single label module."""

from __future__ import annotations

import dataclasses

import pytest

from secframing.config import ConfigError, load_config
from secframing.labels import (
    DEVICES,
    FRAMING_LABELS,
    LabelSetError,
    check_labels,
    label_schema,
)
from secframing.paths import CONFIG_DIR, DEFAULT_MODEL_DIR, MODELS_DIR
from secframing.study.pipeline import StudyConfig


def test_shipped_study_config_loads_and_is_frozen():
    cfg = load_config(StudyConfig, CONFIG_DIR / "study.toml")
    assert cfg.relevance.threshold == 3.0 and cfg.bootstrap.n_resamples == 2000
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.out = "x"  # type: ignore[misc]


def test_shipped_study_config_paths_are_relative_to_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                      # wherever it is run from
    cfg = load_config(StudyConfig, CONFIG_DIR / "study.toml")
    assert cfg.model == str(DEFAULT_MODEL_DIR) and cfg.sentiment_model == str(MODELS_DIR / "sentiment")


def test_overrides_are_type_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(StudyConfig, CONFIG_DIR / "study.toml", ["bootstrap.n_resamples=500", "out=reports/x"])
    # a path on the command line is relative to the working directory
    assert cfg.bootstrap.n_resamples == 500 and cfg.out == str(tmp_path / "reports" / "x")
    with pytest.raises(ConfigError, match="bootstrap.n_resamples must be int, got str 'many'"):
        load_config(StudyConfig, CONFIG_DIR / "study.toml", ["bootstrap.n_resamples=many"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) bootstrap.resamples; valid keys: .*bootstrap.n_resamples"):
        load_config(StudyConfig, CONFIG_DIR / "study.toml", ["bootstrap.resamples=5"])
    with pytest.raises(ConfigError, match="n_resamples must be at least 100"):
        load_config(StudyConfig, CONFIG_DIR / "study.toml", ["bootstrap.n_resamples=5"])


def test_config_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[relevance\nthreshold = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml: invalid TOML"):
        load_config(StudyConfig, bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(StudyConfig, tmp_path / "missing.toml")


def test_label_sets_match_the_codebook():
    assert FRAMING_LABELS == ("promotional", "factual", "other")
    assert len(DEVICES) == 8 and "external_validation" in DEVICES
    check_labels(label_schema(), ["framing", "devices", "sentiment"], "x")
    with pytest.raises(LabelSetError):
        check_labels({**label_schema(), "framing": ["promotional", "factual"]}, ["framing"], "x")
