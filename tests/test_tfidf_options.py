"""TfidfConfig's feature options (which n-gram branches, char analyzer, sublinear tf): pipelines built as
asked, saved and reloaded through skops and the type allow-list, and older model.json files still load."""

from __future__ import annotations

import json

import pytest

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO
from secframing.config import ConfigError, from_dict
from secframing.models import load_model
from secframing.models.tfidf import TfidfConfig, TfidfModel

TEXTS = [AR_FACTUAL, AR_PROMO, AR_OTHER] * 4
LABELS = ["factual", "promotional", "other"] * 4


def _vectorizers(model: TfidfModel) -> dict:
    return dict(model.pipeline.named_steps["features"].transformer_list)


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
@pytest.mark.parametrize("features, branches", [("char+word", ["char", "word"]), ("char", ["char"]), ("word", ["word"])])
def test_features_choose_the_branches(features, branches, hashing):
    model = TfidfModel(TfidfConfig(features=features, min_df=1, hashing_features=hashing)).fit(TEXTS, LABELS)
    assert list(_vectorizers(model)) == branches
    assert model.predict_many([AR_PROMO])[0].label == "promotional"


@pytest.mark.parametrize("hashing", [None, 2 ** 12])
def test_char_analyzer_and_sublinear_reach_the_vectorizers(hashing):
    cfg = TfidfConfig(features="char", char_analyzer="char", char_ngrams=(1, 3), sublinear_tf=False, min_df=1,
                      hashing_features=hashing)
    vec = _vectorizers(TfidfModel(cfg).fit(TEXTS, LABELS))["char"]
    if hashing:
        vec, tfidf = vec.named_steps["hash"], vec.named_steps["tfidf"]
    else:
        tfidf = vec
    assert (vec.analyzer, vec.ngram_range, tfidf.sublinear_tf) == ("char", (1, 3), False)


def test_defaults_keep_the_old_pipeline():
    vecs = _vectorizers(TfidfModel(TfidfConfig(min_df=1)).fit(TEXTS, LABELS))
    assert list(vecs) == ["char", "word"]
    assert (vecs["char"].analyzer, vecs["char"].ngram_range, vecs["char"].sublinear_tf) == ("char_wb", (2, 5), True)
    assert (vecs["word"].analyzer, vecs["word"].ngram_range, vecs["word"].sublinear_tf) == ("word", (1, 2), True)


@pytest.mark.parametrize("kw", [{"features": "chars"}, {"char_analyzer": "word"}])
def test_bad_option_values_are_refused(kw):
    with pytest.raises(ValueError):
        TfidfConfig(**kw)
    with pytest.raises(ConfigError):
        from_dict(TfidfConfig, kw)


def test_options_survive_save_and_load(tmp_path):
    cfg = TfidfConfig(features="char", sublinear_tf=False, char_analyzer="char", min_df=1)
    model = TfidfModel(cfg).fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    assert (meta["config"]["features"], meta["config"]["sublinear_tf"], meta["config"]["char_analyzer"]) == ("char", False, "char")
    loaded = load_model(tmp_path / "m")
    assert loaded.config == cfg
    assert [p.probs for p in loaded.predict_many(TEXTS[:3])] == [p.probs for p in model.predict_many(TEXTS[:3])]


def test_model_json_without_the_new_keys_still_loads(tmp_path):
    model = TfidfModel(TfidfConfig(min_df=1)).fit(TEXTS, LABELS)
    model.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    for key in ("features", "char_analyzer", "sublinear_tf"):
        del meta["config"][key]
    path.write_text(json.dumps(meta), encoding="utf-8")
    loaded = load_model(tmp_path / "m")
    assert (loaded.config.features, loaded.config.char_analyzer, loaded.config.sublinear_tf) == ("char+word", "char_wb", True)
    assert loaded.predict_many([AR_PROMO])[0].label == model.predict_many([AR_PROMO])[0].label
