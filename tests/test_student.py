"""The distilled student (models/student.py, runner.fit_student): soft targets fitted as weighted rows,
hard labels as the one-hot case, the unlabelled pool kept apart from every held-out text."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO
from secframing.models import load_model
from secframing.models.student import StudentModel, soft_rows
from secframing.models.tfidf import TfidfConfig

TEXTS = [AR_FACTUAL, AR_PROMO, AR_OTHER] * 4
LABELS = ["factual", "promotional", "other"] * 4
CFG = TfidfConfig(features="word", hashing_features=2 ** 12, class_weight=None, C=1.0)


def test_soft_rows_expand_each_row_per_class_with_its_mass():
    targets = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    rows, cols, w = soft_rows(2, targets, np.array([1.0, 2.0]))
    assert rows.tolist() == [0, 0, 1] and cols.tolist() == [0, 1, 2]
    assert np.allclose(w, [0.7, 0.3, 2.0])
    with pytest.raises(ValueError, match="targets must be"):
        soft_rows(3, targets, np.ones(3))


def test_hard_labels_are_the_one_hot_case_of_an_ordinary_fit():
    student = StudentModel(CFG, seed=1).fit(TEXTS, LABELS)
    features = student.pipeline.named_steps["features"]
    plain = LogisticRegression(C=1.0, max_iter=3000, random_state=1).fit(features.transform(TEXTS), LABELS)
    clf = student.pipeline.named_steps["clf"]
    assert list(clf.classes_) == list(plain.classes_)
    assert np.allclose(clf.coef_, plain.coef_, atol=1e-4)


def test_soft_targets_move_the_probabilities_toward_the_teacher():
    """The same text taught 0.8 promotional / 0.2 factual ends near those probabilities (weak
    regularisation), where the one-hot fit would push it to promotional alone."""
    texts = [AR_PROMO] * 10 + [AR_FACTUAL] * 10
    targets = np.array([[0.8, 0.2, 0.0]] * 10 + [[0.0, 0.9, 0.1]] * 10)
    soft = StudentModel(TfidfConfig(features="word", hashing_features=2 ** 12, class_weight=None, C=100.0))
    probs = soft.fit_soft(texts, targets).predict_many([AR_PROMO])[0].probs
    assert probs["promotional"] == pytest.approx(0.8, abs=0.05) and probs["factual"] == pytest.approx(0.2, abs=0.05)


def test_student_saves_and_loads_as_its_own_backend(tmp_path):
    student = StudentModel(CFG).fit(TEXTS, LABELS)
    student.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert isinstance(back, StudentModel) and back.backend == "student"
    assert back.predict_proba([AR_PROMO, AR_OTHER]) == student.predict_proba([AR_PROMO, AR_OTHER])


def test_unlabelled_pool_holds_no_held_out_text(shared):
    """The pool the teacher labels: train-side corpus articles, MAC and Darija train only; no sentence of
    a dev, test or seed article, and no text equal to a held-out one."""
    from secframing.experiments.tasks import TaskSpec, load_task
    from secframing.text.normalize import normalize

    data = load_task(TaskSpec("framing", unlabelled=("corpus", "mac", "darija_train")))
    pool = data.unlabelled
    assert set(pool["pool"]) == {"corpus", "mac", "darija_train"} and len(pool) > 50_000
    held = {normalize(t) for df in (data.dev, data.test, *data.slices.values()) for t in df["text"]}
    assert not held & {normalize(t) for t in pool["text"]}
    assert "mac" in set(pool["outlet"]) and pool["text"].map(normalize).is_unique
    with pytest.raises(ValueError, match="unknown unlabelled pools"):
        TaskSpec("framing", unlabelled=("tweets",))


def test_student_config_needs_a_teacher_and_a_pool():
    from secframing.config import ConfigError, from_dict
    from secframing.experiments.config import ExperimentConfig

    with pytest.raises((ValueError, ConfigError), match="student backend needs"):
        from_dict(ExperimentConfig, {"name": "s", "model": {"backend": "student"}})
    with pytest.raises((ValueError, ConfigError), match="read by the student backend only"):
        from_dict(ExperimentConfig, {"name": "s", "data": {"unlabelled": ["mac"]}})
