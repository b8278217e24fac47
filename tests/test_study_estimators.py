"""The study's estimators on small constructed inputs where the right answer is known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from secframing.labels import FRAMING_LABELS
from secframing.paths import DEFAULT_MODEL_DIR
from secframing.study.estimators import (
    BootstrapConfig,
    ErrorProfile,
    ProfileUnavailable,
    ShareSpec,
    adjusted_prevalence,
    adjusted_share_ci,
    confusion_counts,
    difference_ci,
    error_rates,
    estimate,
    estimate_many,
    load_error_profile,
    raw_share_ci,
    reliability_table,
    share_of,
)

SPEC = ShareSpec(FRAMING_LABELS, ("promotional",), ("promotional", "factual"))
# rows gold, columns predicted: promotional recall 0.5 (a quarter each lost to factual and other),
# factual and other mostly right; the shape of the shipped model's errors, made round
CONF = np.array([[50, 25, 25], [10, 800, 190], [20, 80, 900]])


def _profile(conf: np.ndarray = CONF) -> ErrorProfile:
    gold, pred = [], []
    for i in range(3):
        for j in range(3):
            gold += [i] * int(conf[i, j])
            pred += [j] * int(conf[i, j])
    return ErrorProfile(FRAMING_LABELS, np.array(gold), np.array(pred), np.full((len(gold), 3), np.nan), "synthetic")


def test_confusion_counts_and_rates():
    prof = _profile()
    assert (prof.confusion() == CONF).all()
    m = error_rates(CONF)
    assert np.allclose(m.sum(axis=1), 1) and m[0, 0] == pytest.approx(0.5)
    # a gold class never seen keeps an identity row instead of dividing by zero
    assert error_rates(np.array([[3, 1], [0, 0]]))[1].tolist() == [0.0, 1.0]


def test_adjusted_prevalence_recovers_a_known_distribution():
    true = np.array([0.08, 0.62, 0.30])
    q = true @ error_rates(CONF)          # what a classifier with these errors reports on average
    assert share_of(q, SPEC) < share_of(true, SPEC) * 0.8   # raw counting underestimates the promotional share
    assert np.allclose(adjusted_prevalence(q * 10_000, CONF), true)
    # batched: one distribution per row gives the same answer as one at a time
    qs = np.stack([q, np.array([0.2, 0.5, 0.3])])
    assert np.allclose(adjusted_prevalence(qs, CONF)[0], true)


def test_adjusted_prevalence_stays_a_distribution():
    # fewer predicted promotional than the false-positive floor: the solution is negative, clipped to 0
    p = adjusted_prevalence(np.array([0, 70, 30]), CONF)
    assert p[0] == 0 and p.sum() == pytest.approx(1) and (p >= 0).all()
    assert np.isnan(adjusted_prevalence(np.zeros(3), CONF)).all()


def test_adjusted_share_recovers_a_simulated_corpus():
    """Articles with a known true promotional share, labelled by a classifier with CONF's error rates:
    the adjusted estimate is close to the truth and its CI covers it; the raw one is biased low."""
    rng = np.random.default_rng(7)
    rates = error_rates(CONF)
    true_p = np.array([0.10, 0.60, 0.30])
    counts = []
    gold_total = np.zeros(3)
    for _ in range(400):
        gold = rng.multinomial(12, true_p)
        gold_total += gold
        counts.append(sum(rng.multinomial(n, rates[i]) for i, n in enumerate(gold)))
    counts = np.array(counts)
    truth = gold_total[0] / gold_total[:2].sum()
    raw = raw_share_ci(counts, SPEC, BootstrapConfig(500, 1))
    adj = adjusted_share_ci(counts, _profile(), SPEC, BootstrapConfig(500, 1))
    assert raw[2] < truth                                   # raw CI misses the truth from below
    assert adj[1] <= truth <= adj[2] and abs(adj[0] - truth) < 0.03
    assert adj[2] - adj[1] > raw[2] - raw[1]                # error-rate uncertainty widens the interval


def test_raw_share_matches_the_pooled_share_and_its_bootstrap():
    counts = np.array([[1, 3, 2], [0, 5, 0], [2, 2, 1], [0, 4, 4]])
    ours = raw_share_ci(counts, SPEC, BootstrapConfig(300, 3))
    pooled = counts[:, 0].sum() / counts[:, :2].sum()  # promotional / (promotional + factual) over articles
    assert ours[0] == pytest.approx(3 / 17) == pytest.approx(pooled)
    assert ours[1] <= ours[0] <= ours[2]
    single = raw_share_ci(counts[:1], SPEC, BootstrapConfig(300, 3))
    assert single[0] == pytest.approx(0.25) and np.isnan(single[1])   # one article: no interval


def test_estimate_without_probabilities_or_profile_reports_nan():
    e = estimate(np.array([[1, 3, 0], [2, 2, 0]]), None, None, SPEC, BootstrapConfig(200, 0))
    assert e["raw"] == pytest.approx(3 / 8) and np.isnan(e["expected"]) and np.isnan(e["adjusted"])


def test_estimate_many_shares_one_bootstrap():
    counts = np.array([[1, 3, 2], [0, 5, 0], [2, 2, 1], [0, 4, 4], [1, 1, 1]])
    probs = counts * 0.9 + 0.1
    specs = [SPEC, ShareSpec(FRAMING_LABELS, ("other",), FRAMING_LABELS)]
    both = estimate_many(counts, probs, _profile(), specs, BootstrapConfig(300, 4))
    alone = estimate(counts, probs, _profile(), SPEC, BootstrapConfig(300, 4))
    assert both[0] == pytest.approx(alone)                   # same replicates whatever else is estimated
    assert both[1]["raw"] == pytest.approx(8 / 27) and both[1]["expected"] == pytest.approx(probs[:, 2].sum() / probs.sum())
    for e in both:
        for kind in ("raw", "expected", "adjusted"):
            assert e[f"{kind}_lo"] <= e[kind] <= e[f"{kind}_hi"]


def test_difference_ci_separates_different_groups_only():
    rng = np.random.default_rng(1)
    low = np.column_stack([rng.binomial(10, 0.05, 80), np.full(80, 10), np.zeros(80)])
    low[:, 1] -= low[:, 0]
    high = np.column_stack([rng.binomial(10, 0.30, 80), np.full(80, 10), np.zeros(80)])
    high[:, 1] -= high[:, 0]
    d = difference_ci(high, low, SPEC, BootstrapConfig(400, 2))
    assert d["raw_lo"] > 0 and d["raw"] == pytest.approx(share_of(high.sum(0), SPEC) - share_of(low.sum(0), SPEC))
    assert np.isnan(d["adjusted"])                          # no error profile, no adjusted difference
    same = difference_ci(low[:40], low[40:], SPEC, BootstrapConfig(400, 2))
    assert same["raw_lo"] < 0 < same["raw_hi"]
    adj = difference_ci(high, low, SPEC, BootstrapConfig(400, 2), _profile())
    assert adj["adjusted_lo"] > 0 and adj["adjusted"] > d["raw"]   # correcting for lost recall widens the gap


def test_reliability_table_on_calibrated_probabilities():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 5000)
    y = rng.uniform(0, 1, 5000) < p                        # calibrated by construction
    t = reliability_table(y, p, 5)
    assert len(t) == 5 and t["n"].sum() == 5000
    assert ((t["ci_low"] <= t["mean_p"] + 0.03) & (t["mean_p"] - 0.03 <= t["ci_high"])).all()
    assert np.allclose(t["observed"], t["mean_p"], atol=0.05)
    with pytest.raises(ValueError):
        reliability_table(y, p, 5, strategy="kmeans")


def _write_run(tmp_path, rows, matrix=None):
    with open(tmp_path / "predictions_test.jsonl", "w", encoding="utf-8") as fh:
        for gold, label in rows:
            fh.write(json.dumps({"gold": gold, "label": label, "probs": {k: float(k == label) for k in FRAMING_LABELS}}) + "\n")
    if matrix is not None:
        (tmp_path / "metrics.json").write_text(json.dumps(
            {"test": {"confusion": {"labels": list(FRAMING_LABELS), "matrix": matrix}}}))


def test_load_error_profile_checks_the_reported_confusion_matrix(tmp_path):
    rows = [("promotional", "promotional"), ("promotional", "other"), ("factual", "factual"), ("other", "other")]
    _write_run(tmp_path, rows, [[1, 0, 1], [0, 1, 0], [0, 0, 1]])
    prof = load_error_profile(tmp_path, FRAMING_LABELS)
    assert prof.n == 4 and prof.confusion().tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert prof.probs[1].tolist() == [0.0, 0.0, 1.0]
    _write_run(tmp_path, rows, [[2, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ProfileUnavailable, match="disagrees"):
        load_error_profile(tmp_path, FRAMING_LABELS)
    with pytest.raises(ProfileUnavailable, match="not found"):
        load_error_profile(tmp_path, FRAMING_LABELS, "dev")
    _write_run(tmp_path, [("promotional", "praise")])
    with pytest.raises(ProfileUnavailable, match="not in"):
        load_error_profile(tmp_path, FRAMING_LABELS)


def test_shipped_model_error_profile_matches_its_metrics():
    prof = load_error_profile(DEFAULT_MODEL_DIR, FRAMING_LABELS)
    metrics = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text())
    assert prof.n == metrics["test"]["n"]
    assert prof.confusion().tolist() == metrics["test"]["confusion"]["matrix"]
    both = load_error_profile(DEFAULT_MODEL_DIR, FRAMING_LABELS, "dev+test")
    assert both.n == metrics["dev"]["n"] + metrics["test"]["n"]


def test_confusion_counts_is_batched():
    gold = np.array([[0, 1, 1], [2, 2, 0]])
    pred = np.array([[0, 1, 0], [2, 1, 0]])
    c = confusion_counts(gold, pred, 3)
    assert c.shape == (2, 3, 3) and c[0].tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0]] and c[1, 2].tolist() == [0, 1, 1]


def test_bootstrap_settings_are_validated():
    """One settings class for every interval, checked when built (config files and code alike)."""
    with pytest.raises(ValueError, match="at least 100"):
        BootstrapConfig(50)
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        BootstrapConfig(200, 0, 1.5)
    assert BootstrapConfig(200, 3).seed == 3


def test_bootstrap_batches_shrink_on_big_inputs_without_changing_the_intervals(monkeypatch):
    """The resample batch adapts to the data size (flat memory on archives); the draws, and so the
    intervals, are the same whatever the batch."""
    from secframing.study import estimators
    from secframing.study.estimators import BootstrapConfig

    rng = np.random.default_rng(0)
    data = (rng.poisson(3.0, 2000).astype(float), rng.poisson(5.0, 2000).astype(float))
    boot = BootstrapConfig(n_resamples=400, seed=7)
    stat = lambda a, b, axis=-1: a.sum(axis=axis) / (a.sum(axis=axis) + b.sum(axis=axis))  # noqa: E731
    full = estimators._intervals(data, stat, boot, paired=True)
    assert estimators._batch(data) == 500
    monkeypatch.setattr(estimators, "RESAMPLE_BUDGET", 4000 * 37)
    assert estimators._batch(data) == 37
    small = estimators._intervals(data, stat, boot, paired=True)
    assert np.allclose(full, small, rtol=0, atol=1e-12)
