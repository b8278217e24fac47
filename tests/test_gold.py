"""The gold annotation set: hydration from ../shared, sampling design, splits, statistics, synthetic data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from secframing.annotate.gold import ANNOTATIONS, SPLITS, gold_annotations, load_pass, load_splits
from secframing.annotate.sampling import SamplingConfig, build_design
from secframing.annotate.standoff import hydrate, load_annotations, shared_articles
from secframing.cli import app
from secframing.io import read_articles
from secframing.paths import DEMO_CORPUS


def test_sampling_design_is_seeded_and_weighted():
    arts = read_articles(DEMO_CORPUS).articles
    cfg = SamplingConfig(n_random=10, n_promotional_articles=5, n_candidates=5)
    a, b = build_design(arts, [], cfg), build_design(arts, [], cfg)
    assert a["design"] == b["design"]
    st = a["design"]["strata"]
    assert st["random"]["n"] == 10 and st["random"]["weight"] == pytest.approx(st["random"]["pool"] / 10)
    assert not set(st["random"]["articles"]) & set(st["likely_promotional"]["articles"])
    assert {u["stratum"] for u in a["units"]} <= {"random", "likely_promotional", "candidates"}


@pytest.fixture(scope="module")
def articles(shared):
    return shared_articles()


def test_every_annotation_hydrates_with_zero_hash_mismatches(articles):
    files = sorted(ANNOTATIONS.glob("**/*.jsonl"))
    files = [f for f in files if f.name != "units.jsonl"]
    total = 0
    for f in files:
        total += len(hydrate(load_annotations(f), articles))
    assert total >= 3000


def test_gold_volume_and_sampling_design(articles):
    gold = gold_annotations()
    content = [a for a in gold if a.framing in ("promotional", "factual")]
    assert len(content) >= 3000
    assert len({a.article_id for a in gold if not a.article_id.startswith("seed_")}) >= 400
    promo_real = [a for a in gold if a.framing == "promotional"]  # real = not synthetic (corpus + seeds)
    promo_corpus = [a for a in promo_real if not a.article_id.startswith("seed_")]
    # after the v1.3 re-review (38 promotional -> factual, 12 -> other) and round 5 (1 found): see the datasheet
    assert len(promo_real) >= 140 and len(promo_corpus) >= 90
    assert all(a.guideline for a in gold)
    design = json.loads((ANNOTATIONS / "design.json").read_text())
    assert design["strata"]["random"]["weight"] > 1
    drawn = len((ANNOTATIONS / "units.jsonl").read_text(encoding="utf-8").splitlines())
    round5 = len((ANNOTATIONS / "round5" / "primary.jsonl").read_text(encoding="utf-8").splitlines())
    assert drawn + round5 == len(gold)  # every drawn unit is annotated exactly once in the first pass
    assert {a.guideline for a in gold if a.source.endswith("review_v1_3.jsonl")} == {"v1.3"}


def test_splits_are_by_article_and_cover_the_gold(articles):
    splits = load_splits()
    gold = gold_annotations()
    assert {a.article_id for a in gold} == set(splits)
    assert set(splits.values()) == {"train", "dev", "test", "seeds"}
    # the seed op-eds are their own slice, and nothing else is in it
    assert {i for i, s in splits.items() if s == "seeds"} == {a.article_id for a in gold if a.article_id.startswith("seed_")}
    promo_articles = {sp: {a.article_id for a in gold if a.framing == "promotional" and splits[a.article_id] == sp}
                      for sp in ("train", "dev", "test")}
    assert len(promo_articles["test"]) >= 40 and len(promo_articles["dev"]) >= 10 and promo_articles["train"]
    counts = json.loads(SPLITS.read_text())["counts"]
    assert counts["test"]["promotional_articles"] == len(promo_articles["test"])


def test_splits_v2_keep_v1_test_held_out_and_v1_readable(articles):
    from secframing.annotate.gold import SPLITS_V1, gold_frame, near_duplicate_groups

    v1, v2 = load_splits(SPLITS_V1), load_splits()
    assert set(v1.values()) == {"train", "dev", "test"}  # v1 still loads, for old runs
    # nothing a v1 model was tested on became training or dev data
    assert all(v2[i] in ("test", "seeds") for i, s in v1.items() if s == "test")
    assert gold_frame(with_text=False, splits=SPLITS_V1)["split"].notna().sum() > 0
    # near-duplicate articles share a split (checked on real texts: two copies of one article, one edited)
    a = next(x for x in articles.values() if len(x.text) > 800)
    groups = near_duplicate_groups({"x": a.text, "y": a.text[:-40] + " تتمة", "z": "نص آخر مختلف تماما عن غيره"})
    assert groups["x"] == groups["y"] != groups["z"]


def test_second_pass_is_independent_and_large_enough():
    second = load_pass(ANNOTATIONS / "second")
    primary = {(a.article_id, a.field, a.start, a.end): a for a in load_pass(ANNOTATIONS / "primary")}
    assert len(second) >= 400
    assert all((a.article_id, a.field, a.start, a.end) in primary for a in second)
    assert not {a.annotator for a in second} & {a.annotator for a in primary.values()}


def test_stats_command_reports_counts_and_agreement(articles):
    res = CliRunner().invoke(app, ["annotate", "stats", "--json"])
    assert res.exit_code == 0, res.output
    st = json.loads(res.output)
    assert st["sentences"] >= 3000 and set(st["framing"]) == {"promotional", "factual", "other"}
    assert {"Hespress", "Febrayer"} <= set(st["by_outlet"]) and {"train", "dev", "test"} <= set(st["by_split"])
    ag = st["agreement"]
    assert ag["units"] >= 400 and ag["framing"]["krippendorff_alpha"] >= 0.7
    assert len(ag["framing"]["alpha_ci95"]) == 2 and "cohen_kappa" in ag["sentiment"]


def test_synthetic_sentences_are_flagged_and_cover_every_device():
    from secframing.annotate.synthetic import load_synthetic
    from secframing.labels import DEVICES

    synth = load_synthetic()
    assert len(synth) >= 1000 and (synth["framing"] == "promotional").sum() >= 600
    assert synth["synthetic"].all()
    devices = {d for ds in synth["devices"] for d in ds}
    assert devices == set(DEVICES)


@pytest.mark.parametrize("task", ["framing", "sentiment", "devices"])
def test_synthetic_sentences_are_flagged_and_never_in_evaluation(shared, task):
    """With synthetic sentences switched on, they are training rows only, at their own weight, and no
    synthetic text (normalised) is a dev or test sentence."""
    from secframing.annotate.synthetic import load_synthetic
    from secframing.experiments.tasks import TaskSpec, load_task
    from secframing.paths import SYNTHETIC_SETS
    from secframing.text.normalize import normalize

    sets = (*SYNTHETIC_SETS, "rewrites_v3")
    data = load_task(TaskSpec(task, synthetic_weight=0.25, synthetic_sets=sets))
    synth = load_synthetic(sets=sets)
    if task == "devices":
        synth = synth[synth["framing"] == "promotional"]
    synthetic_texts = {normalize(t) for t in synth["text"]}
    in_train = data.train[data.train["stratum"] == "synthetic"]
    assert 0.9 * len(synth) <= len(in_train) <= len(synth)  # all of them, less any the leakage guard drops
    assert set(in_train["weight"]) == {0.25}
    assert {normalize(t) for t in in_train["text"]} <= synthetic_texts
    assert set(data.train.loc[data.train["stratum"] != "synthetic", "weight"]) == {1.0}
    for split in (data.dev, data.test):
        assert "synthetic" not in set(split["stratum"])
        assert not {normalize(t) for t in split["text"]} & synthetic_texts
