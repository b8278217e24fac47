"""The compiled n-gram hashing gives scikit-learn's feature matrices exactly, and the same predictions."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import AR_FACTUAL, AR_PROMO
from secframing.models import fasthash, load_model
from secframing.models.tfidf import TfidfConfig, TfidfModel
from secframing.paths import REPO_ROOT

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def real_sentences():
    """Every sentence of the bundled demo corpus (titles and bodies)."""
    from secframing.io import read_articles
    from secframing.paths import DEMO_CORPUS
    from secframing.text.segment import segment_article

    return [u["text"] for a in read_articles(DEMO_CORPUS).articles for u in segment_article(a)]

ODD = ["", "   ", "a", "ab", "abcdef", "x  y\t\tz\n", "سطر\nثان", "\u00a0x\u2003y  ", "🙂 رمز تعبيري", "DGSN و الأمن",
       "a" * 300, "ﻻ إلـــه", "٢٠٢٣ و۱۹", "word1 word2 word3 word4"]


def _same(a, b):
    assert a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)


@pytest.mark.parametrize("char,word,analyzer", [((3, 5), (1, 2), "char_wb"), ((2, 5), (1, 3), "char_wb"),
                                                ((1, 4), (1, 1), "char_wb"), ((2, 4), (2, 3), "char")])
def test_features_equal_scikit_learn_on_real_and_odd_sentences(real_sentences, char, word, analyzer):
    texts = real_sentences[:400] + ODD
    labels = (["promotional", "factual", "other"] * len(texts))[: len(texts)]
    model = TfidfModel(TfidfConfig(hashing_features=2**14, char_ngrams=char, word_ngrams=word,
                                   char_analyzer=analyzer)).fit(texts, labels)
    union = model.pipeline.named_steps["features"]
    _same(union.transform(texts), fasthash.features(union, texts))
    assert np.array_equal(model.pipeline.predict_proba(texts), fasthash.predict_proba(model.pipeline, texts))


def test_shipped_models_predict_exactly_as_with_scikit_learn(real_sentences):
    texts = real_sentences[:300] + ODD + [AR_PROMO, AR_FACTUAL]
    model = load_model(REPO_ROOT / "models" / "fast")
    pipe = model.framing.pipeline
    _same(pipe.named_steps["features"].transform(texts), fasthash.features(pipe.named_steps["features"], texts))
    assert np.array_equal(pipe.predict_proba(texts), fasthash.predict_proba(pipe, texts))


def test_without_the_kernels_scikit_learn_does_it(monkeypatch, real_sentences):
    model = load_model(REPO_ROOT / "models" / "fast")
    union = model.framing.pipeline.named_steps["features"]
    monkeypatch.setattr(fasthash, "_kernel", lambda: None)
    _same(union.transform(real_sentences[:50]), fasthash.features(union, real_sentences[:50]))


def test_a_kernel_that_cannot_run_hands_over_to_scikit_learn_with_one_warning(monkeypatch, real_sentences):
    model = load_model(REPO_ROOT / "models" / "fast")
    union = model.framing.pipeline.named_steps["features"]

    def broken(vec, normed):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(fasthash, "_compiled_counts", broken)
    monkeypatch.setattr(fasthash, "_FAILED", False)
    with pytest.warns(RuntimeWarning, match="scikit-learn computes the features"):
        got = fasthash.features(union, real_sentences[:40])
    _same(union.transform(real_sentences[:40]), got)
