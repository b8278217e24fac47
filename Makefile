# secframing: two entry points on a fresh machine — `make study` and `make test`.
# Each creates .venv and installs pinned dependencies (requirements/constraints.txt) on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CORPUS ?= data/demo/articles.jsonl
OUT ?= reports/study
MODEL ?=
STUDY_ARGS ?=

.PHONY: study lint test models pretrain results eval benchmarks clean-venv help

help:
	@echo "make study [CORPUS=path OUT=dir MODEL=dir]  run the framing study (default: bundled demo corpus -> reports/study/;"
	@echo "                                   MODEL=models/fast: the distilled student, for archives)"
	@echo "make test                         run the whole test suite"
	@echo "make models                       rebuild models/default, models/sentiment and models/fast (framing_default, sentiment_layered, framing_fast)"
	@echo "make pretrain                     domain-adaptive pretraining of the e5 encoder on Moroccan text (configs/pretrain/, ~45 min; resumable)"
	@echo "make results                      run every configs/experiments/*.toml into runs/ and regenerate models/RESULTS.md (runs make pretrain first;"
	@echo "                                   RESUME=1 keeps finished runs whose config and inputs are unchanged)"
	@echo "make eval                         segmentation and relevance scores against data/eval (needs ../shared)"
	@echo "make benchmarks                   predict and study speed and memory (1x/10x corpus, Ray) -> docs/benchmarks.md (needs ../shared)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade "pip>=24"

# the app includes the transformer extra (the transformer backend: CPU torch, pinned) and Ray (--engine ray)
$(VENV)/.app: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(PIP) install -q -c requirements/constraints.txt -e ".[transformer,ray]"
	@touch $@

$(VENV)/.dev: $(VENV)/.app
	$(PIP) install -q -c requirements/constraints.txt -e ".[dev]"
	@touch $@

study: $(VENV)/.app
	$(BIN)/secframing study --corpus "$(CORPUS)" --out "$(OUT)" $(if $(MODEL),--model "$(MODEL)") $(STUDY_ARGS)

# ruff and the import contracts of pyproject.toml ([tool.ruff], [tool.importlinter]); `make test` runs them first
lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

# -n auto: one pytest worker per core (pytest-xdist); session fixtures (corpus, gold) load once per worker
test: lint
	$(BIN)/python -m pytest -q -n auto

models: $(VENV)/.app
	$(BIN)/secframing train --config configs/experiments/framing_default.toml --output models/default
	$(BIN)/secframing train --config configs/experiments/sentiment_layered.toml --output models/sentiment
	$(BIN)/secframing train --config configs/experiments/framing_fast.toml --output models/fast

# the encoder of configs/pretrain/e5_moroccan.toml in the encoder cache (outside git); skipped when built,
# continued from its last checkpoint when interrupted
PRETRAINED ?= $(or $(SECFRAMING_CACHE),$(HOME)/.cache/secframing)/encoders/pretrained-e5_moroccan
pretrain: $(VENV)/.app
	@if [ -f "$(PRETRAINED)/secframing_encoder.json" ]; then echo "pretrained encoder up to date: $(PRETRAINED)"; \
	elif [ -f "$(PRETRAINED)/pretrain_state.json" ]; then \
	  $(BIN)/secframing encoder pretrain --config configs/pretrain/e5_moroccan.toml --resume; \
	else $(BIN)/secframing encoder pretrain --config configs/pretrain/e5_moroccan.toml; fi

results: pretrain
	$(BIN)/secframing experiments run --configs configs/experiments --runs runs --output models/RESULTS.md $(if $(RESUME),--resume)

# one run, on this machine, with a plain scikit-learn pipeline as the floor (about 25 minutes here)
benchmarks: $(VENV)/.dev
	$(BIN)/python benchmarks/bench_archive.py --output docs/benchmarks.md

eval: $(VENV)/.app
	$(BIN)/secframing eval segmentation
	$(BIN)/secframing eval relevance

clean-venv:
	rm -rf $(VENV)
