"""The team-written Darija sets: validation of the files, the split by item, adjudication, and the
renderings taking their labels from the gold."""

import json

import pytest

from secframing.annotate.darija import DARIJA_DIR, darija_stats, load_darija_news, load_renderings
from secframing.annotate.standoff import AnnotationError


def _rec(i, item, split="train", framing="factual", **kw):
    base = {"id": f"darN-{i:04d}", "item": item, "text": f"البوليس شدو واحد {i}", "framing": framing,
            "devices": [], "sentiment": "neutral", "voice": None, "topic": "drugs", "subregister": "darija_story",
            "register": "darija", "synthetic": True, "split": split, "author": "t"}
    return {**base, **kw}


def _write(folder, name, rows):
    (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_the_committed_news_set_is_valid_and_split_by_item():
    news = load_darija_news(DARIJA_DIR)
    assert len(news) >= 800 and (news["framing"] == "promotional").sum() >= 250
    assert (news.groupby("item")["split"].nunique() == 1).all()
    assert set(news["split"]) == {"train", "dev", "test"}
    promo = news[news["framing"] == "promotional"]
    assert promo["voice"].notna().all() and news.loc[news["framing"] != "promotional", "voice"].isna().all()


def test_an_item_in_two_splits_and_a_bad_voice_are_errors(tmp_path):
    _write(tmp_path, "news_v1.jsonl", [_rec(1, "i1"), _rec(2, "i1", split="test")])
    with pytest.raises(AnnotationError, match="item 'i1' is in more than one split"):
        load_darija_news(tmp_path)
    _write(tmp_path, "news_v1.jsonl", [_rec(1, "i1", framing="promotional", sentiment="positive")])
    with pytest.raises(AnnotationError, match=r"news_v1.jsonl: line 1: field 'voice'"):
        load_darija_news(tmp_path)


def test_adjudication_replaces_the_writer_label_and_agreement_is_reported(tmp_path):
    _write(tmp_path, "news_v1.jsonl", [_rec(1, "i1"), _rec(2, "i2", framing="other"), _rec(3, "i3")])
    _write(tmp_path, "second_v1.jsonl", [
        {"id": "darN-0001", "framing": "factual", "devices": [], "sentiment": "neutral", "voice": None},
        {"id": "darN-0002", "framing": "factual", "devices": [], "sentiment": "neutral", "voice": None}])
    _write(tmp_path, "adjudication_v1.jsonl", [
        {"id": "darN-0002", "framing": "factual", "devices": [], "sentiment": "neutral", "voice": None}])
    news = load_darija_news(tmp_path)
    assert news.set_index("id").at["darN-0002", "framing"] == "factual"
    assert load_darija_news(tmp_path, adjudicated=False).set_index("id").at["darN-0002", "framing"] == "other"
    ag = darija_stats(tmp_path, n_boot=10)["news"]["agreement"]
    assert ag["units"] == 2 and ag["framing"]["raw_agreement"] == 0.5 and ag["changed_by_adjudication"] == 1


@pytest.mark.shared
def test_renderings_point_at_gold_test_sentences_and_take_their_labels(shared):
    from secframing.annotate.gold import gold_frame

    gold = gold_frame(with_text=False)
    rend = load_renderings(DARIJA_DIR, gold)
    test = gold[gold["split"].isin(["test", "seeds"])]  # splits v2: the seed op-eds are a test-only slice
    assert len(rend) >= 300
    assert (test["framing"] == "promotional").sum() == (rend["framing"] == "promotional").sum()
    keyed = gold.set_index(["article_id", "field", "start", "end"])["framing"]
    assert all(keyed.loc[(r.article_id, r.field, r.start, r.end)] == r.framing for r in rend.itertuples())
