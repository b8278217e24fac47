"""The multi-label persuasion task (ArMPro coarse classes): mapping, data, model, train and predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from secframing.io import adapters
from secframing.io.readers import InputFileError
from secframing.labels import NO_TECHNIQUE, PERSUASION_COARSE_LABELS
from secframing.models.multilabel import MultiLabelModel
from secframing.models.tfidf import TfidfConfig, TfidfMultiLabel


def test_fine_techniques_map_to_coarse_classes_and_unknown_names_are_errors(shared):
    mapping = adapters.coarse_technique_map()
    assert len(mapping) == 24 and mapping["Loaded_Language"] == "Manipulative_Wording"
    assert set(mapping.values()) == set(PERSUASION_COARSE_LABELS)
    df = pd.DataFrame({"id": ["a", "b", "c", "d"],
                       "labels": [["Loaded_Language", "Doubt"], ["no_technique"], [], ["Slogans", "no_technique"]]})
    assert adapters.coarse_label_sets(df, "x.jsonl", mapping)["labels"].tolist() == [
        ["Manipulative_Wording", "Reputation"], [NO_TECHNIQUE], [NO_TECHNIQUE], ["Call"]]
    bad = pd.DataFrame({"id": ["z"], "labels": [["Telepathy"]]})
    with pytest.raises(InputFileError, match="x.jsonl: item z: unknown persuasion technique 'Telepathy'"):
        adapters.coarse_label_sets(bad, "x.jsonl", mapping)


def test_coarse_task_trains_on_araieval_1b_and_tests_on_armpro_without_overlap(shared):
    from secframing.experiments.tasks import TaskSpec, load_task
    from secframing.text.normalize import normalize

    data = load_task(TaskSpec("persuasion_coarse"))
    assert data.multilabel and data.labels == PERSUASION_COARSE_LABELS
    assert (len(data.dev), len(data.test)) == (259, 672)
    assert data.removed_for_leakage > 100  # OVERLAP_NOTES.md: 138 exact 1A/1B-train matches with ArMPro dev
    test = {normalize(t) for t in data.test["text"]}
    assert not any(normalize(t) in test for t in data.train["text"])
    for df in (data.train, data.dev, data.test):
        sets = df["labels"].tolist()
        assert all(s and set(s) <= set(PERSUASION_COARSE_LABELS) for s in sets)
        assert all(s == [NO_TECHNIQUE] for s in sets if NO_TECHNIQUE in s)
    assert sum(s == [NO_TECHNIQUE] for s in data.test["labels"]) == 254  # ArMPro binary dev: 254 false


def _toy() -> tuple[list[str], list[list[str]]]:
    rng = np.random.default_rng(0)
    cues = {"Call": "هيا انضموا", "Reputation": "الفاسدون الكاذبون", "Manipulative_Wording": "كارثة مروعة",
            "Distraction": "وماذا عن جيرانهم", "Justification": "دفاعا عن الوطن", "Simplification": "السبب الوحيد هو"}
    texts, sets = [], []
    for i in range(240):
        chosen = [lab for lab in cues if rng.random() < 0.2]
        body = " ".join(cues[lab] for lab in chosen) or "أعلنت الوزارة اليوم عن موعد الاجتماع"
        texts.append(f"{body} خبر رقم {i}")
        sets.append(sorted(chosen) or [NO_TECHNIQUE])
    return texts, sets


def test_model_decodes_sets_tunes_its_threshold_and_round_trips(tmp_path):
    texts, sets = _toy()
    model = MultiLabelModel.tfidf("persuasion_coarse", TfidfConfig(min_df=1, C=4.0), seed=1)
    with pytest.raises(ValueError, match="on every or no training item"):
        MultiLabelModel.tfidf("persuasion_coarse").fit(texts[:5], [["Call"]] * 5)
    model.fit(texts[:200], sets[:200])
    tuned = model.tune(texts[200:], sets[200:])
    assert tuned["threshold"] == model.threshold and tuned["dev_macro_f1"] > 0.3
    preds = model.predict_many(["هيا انضموا الفاسدون الكاذبون", "أعلنت الوزارة اليوم عن موعد الاجتماع"])
    assert set(preds[0].labels) == {"Call", "Reputation"} and preds[0].label in preds[0].labels
    assert preds[1].labels == (NO_TECHNIQUE,) and preds[1].label == NO_TECHNIQUE
    assert preds[0].score == preds[0].probs[preds[0].label] and set(preds[0].probs) == set(PERSUASION_COARSE_LABELS)
    from secframing.models import load_model

    again = load_model(model.save(tmp_path / "m"))
    assert isinstance(again, MultiLabelModel) and again.threshold == model.threshold
    assert [p.labels for p in again.predict_many(texts[200:])] == [p.labels for p in model.predict_many(texts[200:])]
    meta = json.loads((tmp_path / "m" / "classifier" / "model.json").read_text())
    assert meta["task"] == "persuasion_coarse" and meta["tasks"] == ["persuasion_coarse"]


def test_empty_set_label_vetoes_only_when_it_is_the_most_probable():
    model = MultiLabelModel("persuasion_coarse", TfidfMultiLabel(PERSUASION_COARSE_LABELS), threshold=0.4)
    rows = np.array([[0.5, 0, 0, 0.45, 0, 0, 0.6],    # no_technique above every class: it alone
                     [0.5, 0, 0, 0.45, 0, 0, 0.3],    # two classes over the threshold
                     [0.2, 0, 0, 0.3, 0, 0, 0.1]])    # none reaches it: the empty-set label
    assert model.decode(rows) == [(NO_TECHNIQUE,), ("Call", "Manipulative_Wording"), (NO_TECHNIQUE,)]
    with pytest.raises(ValueError, match="not a multi-label task"):
        MultiLabelModel("devices", TfidfMultiLabel())


def test_train_and_predict_a_multilabel_config_end_to_end(shared, tmp_path):
    from typer.testing import CliRunner

    from secframing.cli import app
    from secframing.paths import REPO_ROOT

    cfg = tmp_path / "coarse.toml"
    cfg.write_text(f'extends = "{REPO_ROOT / "configs/experiments/armpro_coarse.toml"}"\nname = "coarse_smoke"\n'
                   '[data]\nmax_train = 600\n[training]\nseeds = [1]\n[evaluation]\nbootstrap_resamples = 50\nmax_eval = 150\n', encoding="utf-8")
    run = tmp_path / "run"
    res = CliRunner().invoke(app, ["train", "--config", str(cfg), "--output", str(run)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((run / "metrics.json").read_text())
    for split in ("dev", "test"):
        rep = metrics[split]
        assert rep["n"] == 150 and 0 < rep["macro_f1"] <= rep["macro_f1_ci95"][1] + 1e-9
        assert set(rep["per_class"]) == set(PERSUASION_COARSE_LABELS) and "micro_f1_ci95" in rep
    assert "threshold" in metrics["seeds"][0]["tuned_on_dev"]
    row = json.loads((run / "predictions_test.jsonl").read_text().splitlines()[0])
    assert isinstance(row["gold"], list) and row["labels"] and row["label"] in row["labels"]
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"id": "p1", "text": "هؤلاء الخونة يكذبون على الشعب كل يوم"}, ensure_ascii=False)
                   + "\n" + json.dumps({"id": "p2", "text": ""}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["predict", "--model", str(run), "--input", str(inp), "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["p1"] and rows[0]["labels"] and rows[0]["label"] in rows[0]["labels"]
    assert json.loads(out.with_name("out.jsonl.rejects.jsonl").read_text())["id"] == "p2"
