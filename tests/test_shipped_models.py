"""The shipped models and the model-directory format: the committed models reproduce the dev predictions
recorded when they were trained (so a refactor that changes what they say fails here), and directories of
the previous format (devices head inside the learned model) still load, as the same composition."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO
from secframing.labels import DEVICES
from secframing.models import load_model
from secframing.models.devices import WithDevices
from secframing.models.ensemble import EnsembleModel
from secframing.models.io import sha256_file
from secframing.models.tfidf import TfidfConfig, TfidfModel, TfidfMultiLabel
from secframing.paths import MODELS_DIR

TEXTS = [AR_PROMO, AR_FACTUAL, AR_OTHER] * 4
LABELS = ["promotional", "factual", "other"] * 4


@pytest.mark.shared
@pytest.mark.parametrize("name,task", [("default", "framing"), ("sentiment", "sentiment"), ("fast", "framing")])
def test_shipped_models_reproduce_their_recorded_dev_predictions(shared, name, task):
    from secframing.experiments.tasks import TaskSpec, load_task

    directory = MODELS_DIR / name
    recorded = [json.loads(line) for line in open(directory / "predictions_dev.jsonl", encoding="utf-8")]
    dev = load_task(TaskSpec(task)).dev
    assert [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in dev["text"]] == [r["text_sha1"] for r in recorded]
    preds = load_model(directory).predict_many(dev["text"].tolist())
    got = [{"label": p.label, "probs": p.probs, "devices": list(p.devices)} for p in preds]
    want = [{k: r[k] for k in ("label", "probs", "devices")} for r in recorded]
    diff = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not diff, f"{len(diff)} of {len(want)} dev predictions differ from {name}'s record, first: {diff[:5]}"


def test_the_shipped_student_is_a_student_with_the_devices_head_and_fits_the_budget():
    from secframing.models.student import StudentModel

    model = load_model(MODELS_DIR / "fast")
    assert isinstance(model, WithDevices) and isinstance(model.framing, StudentModel)
    meta = json.loads((MODELS_DIR / "fast" / "model.json").read_text(encoding="utf-8"))
    assert meta["experiment"] == "framing_fast" and set(meta["tasks"]) == {"framing", "devices"}
    size = sum(p.stat().st_size for p in (MODELS_DIR / "fast").rglob("*") if p.is_file())
    assert size <= 50 * 2 ** 20


def test_the_shipped_framing_model_is_a_composition(default_model):
    assert isinstance(default_model, WithDevices) and isinstance(default_model.framing, EnsembleModel)
    assert default_model.tasks == ("framing", "devices") and isinstance(default_model.head, TfidfMultiLabel)


def _v1_meta(backend: str, **fields) -> dict:
    from secframing.labels import label_schema

    return {"format": "secframing-model", "format_version": 1, "backend": backend, "labels": label_schema(),
            "created": "2026-11-22T00:00:00+00:00", **fields}


def test_format_1_directories_load_as_the_same_composition(tmp_path, lexicon_model):
    """Format 1 kept the devices head inside the learned model; the ensemble used it for the sentences
    the lexicon did not name devices for. Loading gives WithDevices(ensemble, head), predicting the same."""
    learned = TfidfModel(TfidfConfig(min_df=1), seed=4).fit(TEXTS, LABELS)
    head = TfidfMultiLabel(DEVICES, TfidfConfig(min_df=1)).fit(TEXTS, [list(DEVICES) if lab == "promotional" else []
                                                                         for lab in LABELS])
    v2 = WithDevices(EnsembleModel(lexicon_model, learned), head)

    # the format-1 layout, written by hand: learned/ holds pipeline.skops and devices.skops
    old = tmp_path / "v1"
    lexicon_model.save(old / "lexicon")
    (old / "learned").mkdir(parents=True)
    learned.save(tmp_path / "tmp_learned")
    head.save(tmp_path / "tmp_head")
    shutil.copy(tmp_path / "tmp_learned" / "pipeline.skops", old / "learned")
    shutil.copy(tmp_path / "tmp_head" / "devices.skops", old / "learned")
    config = {**json.loads((tmp_path / "tmp_learned" / "model.json").read_text())["config"], "seed": 4}
    files = {n: sha256_file(old / "learned" / n) for n in ("pipeline.skops", "devices.skops")}
    (old / "learned" / "model.json").write_text(json.dumps(_v1_meta(
        "tfidf", tasks=["framing", "devices"], model_labels=list(learned.labels), task="framing", config=config,
        files=files, devices={"file": "devices.skops", "sha256": files["devices.skops"], "labels": list(DEVICES),
                              "threshold": 0.5, "config": {**config, "seed": 0}})))
    (old / "model.json").write_text(json.dumps(_v1_meta(
        "ensemble", tasks=["framing", "devices"], rule="lexicon_promotional_override",
        components={"lexicon": "lexicon", "learned": "learned"},
        files={f"{s}/model.json": sha256_file(old / s / "model.json") for s in ("lexicon", "learned")})))

    loaded = load_model(old)
    assert isinstance(loaded, WithDevices) and isinstance(loaded.framing, EnsembleModel)
    assert loaded.framing.learned.seed == 4 and loaded.head.seed == 0
    assert loaded.predict_many(TEXTS) == v2.predict_many(TEXTS)
    resaved = load_model(loaded.save(tmp_path / "v2"))
    assert json.loads((tmp_path / "v2" / "model.json").read_text())["format_version"] == 2
    assert resaved.predict_many(TEXTS) == v2.predict_many(TEXTS)

    # the plain learned model of format 1 with its head is a WithDevices of that model alone
    alone = load_model(old / "learned")
    assert isinstance(alone, WithDevices) and isinstance(alone.framing, TfidfModel)
    assert alone.predict_many(TEXTS) == WithDevices(learned, head).predict_many(TEXTS)


def test_a_devices_head_is_not_a_sentence_model(tmp_path):
    from secframing.models import ModelLoadError
    from secframing.models.devices import DevicesHead

    head = TfidfMultiLabel(DEVICES, TfidfConfig(min_df=1)).fit(TEXTS, [list(DEVICES) if lab == "promotional" else []
                                                                         for lab in LABELS])
    head.save(tmp_path / "head")
    with pytest.raises(ModelLoadError, match="a tfidf_multilabel model is not a SentenceModel"):
        load_model(tmp_path / "head")
    assert isinstance(load_model(tmp_path / "head", DevicesHead), TfidfMultiLabel)
