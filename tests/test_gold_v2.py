"""Gold v2: the v1.3 re-review candidates and merge, and the stored round-5 search labels."""

import json

import pandas as pd
import pytest

from secframing.annotate.gold import ANNOTATIONS, gold_frame, unit_strata
from secframing.annotate.review import merge_review, review_candidates
from secframing.annotate.standoff import sha1_text, shared_articles
from secframing.annotate.stats import gold_v2_stats


@pytest.fixture(scope="module")
def articles(shared):
    return shared_articles()


def _lab(framing, sentiment="neutral", devices=(), voice=None, note=""):
    return {"framing": framing, "sentiment": sentiment, "devices": list(devices), "voice": voice, "note": note}


def _cands():
    return pd.DataFrame([
        {"unit": f"u{i}", "article_id": "a", "field": "text", "start": i * 10, "end": i * 10 + 9, "sha1": "x",
         "stratum": "random", "framing": f, "devices": [], "sentiment": "neutral", "reasons": ["accident_v11"]}
        for i, f in enumerate(["factual", "factual", "promotional"])])


def test_merge_review_keeps_agreement_uses_adjudication_and_counts_changes():
    c = _cands()
    a = {"u0": _lab("other"), "u1": _lab("factual"), "u2": _lab("promotional", "positive", ["superlative"], "author")}
    b = {"u0": _lab("other"), "u1": _lab("promotional", "positive", ["superlative"], "author"),
         "u2": _lab("promotional", "positive", ["metaphor"], "third_party")}
    recs, counts = merge_review(c, a, b, {"u1": _lab("factual", note="rule 3")}, ("A", "B", "ADJ"), "v1.3", "2026-12-03")
    by = {r["unit"]: r for r in recs}
    assert by["u0"]["framing"] == "other" and by["u0"]["annotator"] == "A+B" and by["u0"]["changed"]
    assert by["u1"]["framing"] == "factual" and by["u1"]["annotator"] == "ADJ" and not by["u1"]["changed"]
    # u2 agrees on framing and sentiment: the first pass's devices and voice stand
    assert by["u2"]["devices"] == ["superlative"] and by["u2"]["voice"] == "author"
    assert by["u2"]["sentiment"] == "positive" and by["u2"]["previous"]["sentiment"] == "neutral"
    assert counts["framing_transitions"] == {"factual->other": 1} and counts["adjudicated"] == 1
    assert counts["raw_agreement"]["framing"] == round(2 / 3, 3)


def test_merge_review_refuses_an_unresolved_disagreement_or_a_missing_pass():
    c = _cands()
    a = {u: _lab("factual") for u in c["unit"]}
    b = {**a, "u2": _lab("other")}
    with pytest.raises(ValueError, match="u2: the passes differ"):
        merge_review(c, a, b, {}, ("A", "B", "ADJ"), "v1.3", "x")
    with pytest.raises(ValueError, match="u1: missing from the second"):
        merge_review(c, a, {"u0": a["u0"]}, {}, ("A", "B", "ADJ"), "v1.3", "x")


def test_review_candidates_cover_every_reason_on_the_real_gold(articles, tmp_path):
    import shutil

    # the candidates were drawn from the gold before the review was applied: rebuild that gold
    root = tmp_path / "annotations"
    shutil.copytree(ANNOTATIONS, root)
    (root / "review_v1_3.jsonl").unlink()
    gold = gold_frame(root)
    cands = review_candidates(gold)
    reasons = {r for rs in cands["reasons"] for r in rs}
    assert {"low_confidence_promotional", "accident_v11", "listed_cue_not_promotional", "voice"} <= reasons
    before = gold[gold["guideline"] != "v1.3"]
    # every promotional sentence labelled before v1.3 is re-read (it needs a voice)
    assert set(before.loc[before["framing"] == "promotional", "unit"]) <= set(cands["unit"])
    low = before[(before["framing"] == "promotional") & (before["confidence"] == "low")]
    assert cands["reasons"].map(lambda rs: "low_confidence_promotional" in rs).sum() == len(low)
    assert cands["unit"].is_unique


def test_round5_labels_point_at_undrawn_corpus_sentences(articles):
    recs = [json.loads(x) for x in open(ANNOTATIONS / "round5" / "primary.jsonl", encoding="utf-8")]
    drawn = set(unit_strata())
    assert len(recs) == 1300 and {r["stratum"] for r in recs} == {"search_v2_ranked", "search_v2_tail"}
    for r in recs:
        a = articles[r["article_id"]]
        body = a.text if r["field"] == "text" else a.title
        assert sha1_text(body[r["start"]:r["end"]]) == r["sha1"]
        assert (r["article_id"], r["field"], r["start"], r["end"]) not in drawn
    keys = {(r["article_id"], r["field"], r["start"], r["end"]) for r in recs}
    second = [json.loads(x) for x in open(ANNOTATIONS / "round5" / "second.jsonl", encoding="utf-8")]
    assert second and all((r["article_id"], r["field"], r["start"], r["end"]) in keys for r in second)
    st = gold_v2_stats(with_agreement=False)["round5"]
    assert st["sentences"] == 1300 and sum(st["framing"].values()) == 1300


def test_the_v1_3_review_is_applied_to_the_gold(articles):
    review = [json.loads(x) for x in open(ANNOTATIONS / "review_v1_3.jsonl", encoding="utf-8")]
    gold = gold_frame(with_text=False).set_index(["article_id", "field", "start", "end"])
    changed = 0
    for r in review:
        g = gold.loc[(r["article_id"], r["field"], r["start"], r["end"])]
        assert (g["framing"], g["sentiment"], g["guideline"]) == (r["framing"], r["sentiment"], "v1.3")
        voice = g["voice"] if isinstance(g["voice"], str) else None  # pandas keeps a missing voice as NaN
        assert voice == r["voice"] and (r["framing"] == "promotional") == (voice is not None)
        changed += r["previous"]["framing"] != r["framing"]
    assert changed == gold_v2_stats(with_agreement=False)["review_v1_3"]["framing_changed"] > 100
    assert gold_v2_stats(with_agreement=False)["review_v1_3"]["applied_to_gold"]


def test_synthetic_v3_rewrites_name_train_sources_and_pair_contrasts(articles):
    from secframing.annotate.synthetic import load_synthetic

    v3 = load_synthetic(sets=("rewrites_v3",))
    gold = gold_frame(with_text=False).set_index(["article_id", "field", "start", "end"])
    assert len(v3) >= 300 and v3["synthetic"].all() and set(v3["kind"]) == {"paraphrase", "contrast"}
    by_id = v3.set_index("id")
    for r in v3.itertuples():
        s = r.rewrite_of
        g = gold.loc[(s["article_id"], s["field"], s["start"], s["end"])]
        assert g["sha1"] == s["sha1"] and g["split"] == "train"  # rewrites of training sentences only
        body = articles[s["article_id"]].text if s["field"] == "text" else articles[s["article_id"]].title
        src_words = body[s["start"]:s["end"]].split()
        runs = {tuple(src_words[i:i + 8]) for i in range(len(src_words) - 7)}
        words = r.text.split()
        assert not any(tuple(words[i:i + 8]) in runs for i in range(len(words) - 7)), r.id  # rewritten, not copied
        if r.kind == "contrast":
            para = by_id.loc[r.pair]
            assert para["kind"] == "paraphrase" and para["rewrite_of"] == r.rewrite_of and para["framing"] != r.framing


def test_rewrites_of_non_training_sentences_never_train(shared):
    from secframing.experiments.tasks import TaskSpec, load_task

    sets = ("rewrites_v3",)
    v2 = load_task(TaskSpec("framing", synthetic_weight=1.0, synthetic_sets=sets))
    v1 = load_task(TaskSpec("framing", synthetic_weight=1.0, synthetic_sets=sets, splits="v1"))
    from secframing.annotate.gold import SPLITS_V1, load_splits
    from secframing.annotate.synthetic import load_synthetic

    v3 = load_synthetic(sets=sets)
    old = load_splits(SPLITS_V1)
    n_v1 = int(v3["rewrite_of"].map(lambda s: old.get(s["article_id"]) == "train").sum())
    assert (v2.train["stratum"] == "synthetic").sum() == len(v3) - int(v3["text"].isin(v2.dev["text"]).sum())
    assert (v1.train["stratum"] == "synthetic").sum() <= n_v1 < len(v3)


def test_an_unknown_split_version_is_refused_with_the_valid_ones():
    from secframing.experiments.tasks import TaskSpec

    with pytest.raises(ValueError, match=r"unknown split version 'v3'; valid: \['v1', 'v2'\]"):
        TaskSpec("framing", splits="v3")
