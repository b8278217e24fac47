"""Experiment machinery: config inheritance, transfer data, the layered sentiment model, RESULTS.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO
from secframing.config import ConfigError
from secframing.experiments.config import load_experiment_config
from secframing.experiments.results import collect, render
from secframing.experiments.tasks import TaskSpec
from secframing.models import load_model
from secframing.models.layered import LayeredSentimentModel
from secframing.models.tfidf import TfidfConfig, TfidfModel
from secframing.paths import REPO_ROOT

EXP = REPO_ROOT / "configs" / "experiments"
AR_NEGATIVE = "اتهمت الجمعية عناصر من الشرطة بتعنيف محتجين سلميين وطالبت بفتح تحقيق في تجاوزات رجال الأمن."


def test_ablation_arm_states_only_what_it_changes():
    base = load_experiment_config(EXP / "framing_tfidf.toml")
    arm = load_experiment_config(EXP / "framing_tfidf_transfer.toml")
    assert arm.model == base.model and arm.training.seeds == base.training.seeds and arm.ablation == base.ablation
    assert arm.data.transfer == ("persuasion", "subjectivity") and base.data.transfer == ()
    assert arm.training.learning_curve == () and base.training.learning_curve


def test_extends_cycle_and_bad_override_are_clear_errors(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\nname = "a"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "b"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_experiment_config(tmp_path / "a.toml")
    with pytest.raises(ConfigError, match="data.transfer_weight must be float"):
        load_experiment_config(EXP / "framing_tfidf_transfer.toml", ["data.transfer_weight=heavy"])


def test_flat_keys_of_the_old_layout_say_where_they_moved(tmp_path):
    (tmp_path / "old.toml").write_text('name = "old"\nbackend = "tfidf"\nseeds = [1]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"backend -> model.backend, seeds -> training.seeds"):
        load_experiment_config(tmp_path / "old.toml")
    with pytest.raises(ConfigError, match=r"--set: .*tfidf -> model.tfidf"):
        load_experiment_config(EXP / "framing_tfidf.toml", ["tfidf.C=2"])


def test_backend_seed_keys_are_gone_the_training_seeds_are_the_only_seed():
    for table in ("tfidf", "embeddings", "transformer"):
        with pytest.raises(ConfigError, match=f"unknown key.*model.{table}.seed"):
            load_experiment_config(EXP / "framing_tfidf.toml", [f"model.{table}.seed=5"])
    cfg = load_experiment_config(EXP / "framing_tfidf.toml", ["training.seeds=[4, 5]", "evaluation.bootstrap_seed=9"])
    from secframing.experiments.runner import build_learner

    assert [build_learner(cfg, ("promotional", "factual", "other"), s).seed for s in cfg.training.seeds] == [4, 5]
    assert cfg.evaluation.bootstrap_seed == 9 and cfg.evaluation.sample_seed == 0 and cfg.model.devices.seed == 0


def test_paths_in_a_config_are_relative_to_it_and_overrides_to_the_working_directory(tmp_path, monkeypatch):
    sub = tmp_path / "cfgs" / "deep"
    sub.mkdir(parents=True)
    (tmp_path / "cfgs" / "base.toml").write_text(
        'name = "b"\n[model]\nframing_model = "../m"\n[[evaluation.sets]]\nname = "x"\npath = "e.jsonl"\n')
    (sub / "arm.toml").write_text('extends = "../base.toml"\nname = "a"\n[model.lexicon]\ncues = "cues.toml"\n')
    cfg = load_experiment_config(sub / "arm.toml")
    assert cfg.model.framing_model == str(tmp_path / "m")  # from base.toml's folder
    assert cfg.evaluation.sets[0].path == str(tmp_path / "cfgs" / "e.jsonl")
    assert cfg.model.lexicon.cues == str(sub / "cues.toml")  # from arm.toml's folder
    monkeypatch.chdir(tmp_path)
    cfg = load_experiment_config(sub / "arm.toml", ["model.framing_model=here/m"])
    assert cfg.model.framing_model == str(tmp_path / "here" / "m")


def test_transfer_needs_a_known_mapping():
    with pytest.raises(ValueError, match="no transfer mapping from 'mac_sentiment' to task 'framing'"):
        TaskSpec("framing", transfer=("mac_sentiment",))


def test_transfer_rows_are_relabelled_weighted_and_kept_out_of_held_out_splits(shared):
    from secframing.experiments.tasks import load_task

    plain = load_task(TaskSpec("sentiment"))
    data = load_task(TaskSpec("sentiment", transfer=("mac_sentiment",), transfer_weight=0.25))
    extra = data.train[data.train["stratum"] == "transfer:mac_sentiment"]
    assert len(extra) > 1000 and set(extra["label"]) <= {"positive", "neutral", "negative"}
    assert set(extra["weight"]) == {0.25}
    assert len(data.dev) == len(plain.dev) and len(data.test) == len(plain.test)  # held-out splits untouched
    assert any("transfer" in s for s in data.sources)


def _rest_model() -> TfidfModel:
    texts = [AR_NEGATIVE, "انتقد حقوقيون تعامل رجال الأمن مع المحتجين واتهموهم بالشطط في استعمال السلطة.",
             AR_FACTUAL, "وأضاف المصدر أن البحث جار تحت إشراف النيابة العامة المختصة.", AR_OTHER,
             "وقد تم إيداع المشتبه فيه تحت تدابير الحراسة النظرية."]
    labels = ["negative", "negative", "neutral", "neutral", "neutral", "neutral"]
    return TfidfModel(TfidfConfig(min_df=1, hashing_features=2 ** 12), ("negative", "neutral"), "sentiment").fit(texts, labels)


def test_layered_sentiment_positive_is_the_framing_models_promotional_call(tmp_path, lexicon_model):
    model = LayeredSentimentModel(lexicon_model, _rest_model(), "models/default/framing/lexicon")
    preds = model.predict_many([AR_PROMO, AR_FACTUAL, AR_NEGATIVE])
    assert [p.label for p in preds] == ["positive", "neutral", "negative"]
    assert all(abs(sum(p.probs.values()) - 1) < 1e-4 and set(p.probs) == {"positive", "neutral", "negative"} for p in preds)
    # a threshold chosen on held-out sentences is saved with the model
    info = model.tune([AR_PROMO, AR_FACTUAL, AR_NEGATIVE], ["positive", "neutral", "negative"])
    assert 0 < info["negative_threshold"] <= 0.5
    model.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, LayeredSentimentModel) and loaded.negative_threshold == model.negative_threshold
    assert loaded.predict_many([AR_PROMO, AR_NEGATIVE]) == model.predict_many([AR_PROMO, AR_NEGATIVE])
    with pytest.raises(ValueError, match="must predict"):
        LayeredSentimentModel(lexicon_model, lexicon_model)


def _fake_run(root: Path, name: str, task: str, dev: float, test: float | None = None, **extra) -> None:
    run = root / name
    run.mkdir(parents=True)
    def m(x):
        return {"macro_f1": x, "macro_f1_ci95": [x - 0.05, x + 0.05], "n": 100, "per_class": {}}
    metrics = {"experiment": name, "task": task, "backend": "tfidf", "dev": m(dev),
               "test": m(test) if test is not None else None, "seeds": [{"seed": 1}, {"seed": 2}],
               "dev_macro_f1_sd": 0.01, "data": {"train": {"n": 900}}, **extra}
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "manifest.json").write_text(json.dumps({"git": {"commit": "abcdef123456", "dirty": False}}))


def test_results_show_ablations_learning_curves_skips_and_target_gaps(tmp_path):
    runs = tmp_path / "runs"
    _fake_run(runs, "gold", "framing", 0.70, 0.68, ablation="framing: data", arm="gold only",
              learning_curve=[{"n_train": 250, "dev_macro_f1_mean": 0.5, "dev_macro_f1_sd": 0.02, "seeds": 3},
                              {"n_train": 900, "dev_macro_f1_mean": 0.7, "dev_macro_f1_sd": 0.01, "seeds": 3}])
    _fake_run(runs, "synth", "framing", 0.66, 0.65, ablation="framing: data", arm="+ synthetic")
    _fake_run(runs, "mac", "mac_sentiment", 0.86)
    (runs / "bert").mkdir()
    (runs / "bert" / "skipped.json").write_text(json.dumps({"experiment": "bert", "task": "framing",
                                                             "backend": "transformer", "reason": "OSError: offline"}))
    md = render(collect(runs), runs, {"framing": {"goal": 0.9, "split": "test", "why": "few positives."},
                                      "mac_sentiment": {"goal": 0.85, "split": "dev", "why": "-"}})
    assert "| gold only | `gold` | 900 | 0.700 (0.650–0.750) (±0.010) | 0.680 (0.630–0.730) |" in md
    assert "| 250 | 0.500 | 0.020 |" in md
    assert "| `bert` | transformer | — | not run here (below) |" in md and "- `bert`: OSError: offline" in md
    assert "`gold` | 0.680 (0.630–0.730) | missed by 0.220 |" in md and "**framing** (missed by 0.220). few positives." in md
    assert "| mac_sentiment | dev ≥ 0.85 | `mac` | 0.860 (0.810–0.910) | met |" in md


def test_results_command_runs_configs_and_records_what_cannot_run_here(shared, tmp_path):
    pytest.importorskip("transformers")
    from typer.testing import CliRunner

    from secframing.cli import app

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "bert_subj.toml").write_text('name = "bert_subj"\n[data]\ntask = "subjectivity"\nmax_train = 50\n'
                                            '[model]\nbackend = "transformer"\n[training]\nseeds = [1]\n'
                                            '[model.transformer]\nmodel_name_or_path = "no-such-org/no-such-model"\n',
                                            encoding="utf-8")
    (configs / "tfidf_subj.toml").write_text('name = "tfidf_subj"\n[data]\ntask = "subjectivity"\nmax_train = 200\n'
                                             '[model]\nbackend = "tfidf"\n[training]\nseeds = [1]\n'
                                             '[evaluation]\nbootstrap_resamples = 100\n', encoding="utf-8")
    runs, out = tmp_path / "runs", tmp_path / "RESULTS.md"
    res = CliRunner().invoke(app, ["results", "--configs", str(configs), "--runs", str(runs), "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "bert_subj: skipped" in res.output and "tfidf_subj: dev macro-F1" in res.output
    skipped = json.loads((runs / "bert_subj" / "skipped.json").read_text())
    assert skipped["backend"] == "transformer" and "no-such-org/no-such-model" in skipped["reason"]
    md = out.read_text(encoding="utf-8")
    assert "`bert_subj` | transformer | — | not run here (below)" in md
    dev = json.loads((runs / "tfidf_subj" / "metrics.json").read_text())["dev"]["macro_f1"]
    assert f"`tfidf_subj` | tfidf | 1 | {dev:.3f}" in md


def test_load_model_names_an_unknown_backend(tmp_path, lexicon_model):
    from secframing.models import ModelLoadError

    lexicon_model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    meta["backend"] = "crystal_ball"
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="unknown backend 'crystal_ball'; known: .*'transformer'"):
        load_model(tmp_path / "m")


def test_resumed_results_keep_finished_runs_until_their_config_or_inputs_change(shared, tmp_path):
    from secframing.experiments.runner import run_all

    configs = tmp_path / "configs"
    configs.mkdir()
    cfg = configs / "subj.toml"
    cfg.write_text('name = "subj"\n[data]\ntask = "subjectivity"\nmax_train = 200\n[model]\nbackend = "tfidf"\n'
                   '[training]\nseeds = [1]\n[evaluation]\nbootstrap_resamples = 50\n', encoding="utf-8")
    runs = tmp_path / "runs"
    first = run_all(configs, runs, resume=True)
    assert "kept" not in first[0]
    stamp = (runs / "subj" / "metrics.json").stat().st_mtime_ns
    again = run_all(configs, runs, resume=True)
    assert again[0]["kept"] and again[0]["dev"] == first[0]["dev"]
    assert (runs / "subj" / "metrics.json").stat().st_mtime_ns == stamp
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("max_train = 200", "max_train = 250"), encoding="utf-8")
    assert "kept" not in run_all(configs, runs, resume=True)[0]  # config changed: retrained
    assert "kept" not in run_all(configs, runs)[0]  # without resume every config is retrained
