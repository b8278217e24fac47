"""Stand-off annotations: validation, hydration from ../shared with hash checks."""

from __future__ import annotations

import json

import pytest

from secframing.annotate.standoff import AnnotationError, HashMismatch, hydrate, load_annotations, sha1_text
from secframing.io.schema import Article
from secframing.paths import DATA_DIR

PILOT = DATA_DIR / "annotations" / "pilot_v1.jsonl"
TEXT = "أوقفت الشرطة شخصين. وتبقى المديرية نموذجا يحتذى به."


def record(**kw):
    rec = {"article_id": "x1", "field": "text", "start": 0, "end": 19, "sha1": sha1_text(TEXT[0:19]),
           "framing": "factual", "devices": [], "sentiment": "neutral", "annotator": "t", "guideline": "v1",
           "created": "2026-11-22"}
    rec.update(kw)
    return rec


def write(tmp_path, *recs):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    return path


def test_hydrate_checks_the_hash(tmp_path):
    arts = {"x1": Article("x1", "o", None, None, TEXT)}
    anns = load_annotations(write(tmp_path, record()))
    assert hydrate(anns, arts)[0][1] == TEXT[:19]
    arts["x1"] = Article("x1", "o", None, None, "أوقفت الدرك شخصين. وتبقى المديرية نموذجا يحتذى به.")
    with pytest.raises(HashMismatch, match="a.jsonl: line 1: sha1"):
        hydrate(anns, arts)
    with pytest.raises(HashMismatch, match="not found"):
        hydrate(anns, {})


@pytest.mark.parametrize("bad,match", [
    ({"framing": "praise"}, "field 'framing' is 'praise'"),
    ({"devices": ["metaphor"]}, "must be empty unless framing is promotional"),
    ({"devices": ["hyperbole"], "framing": "promotional"}, "unknown"),
    ({"start": 5, "end": 2}, "0 <= start < end"),
    ({"sentiment": None}, "field 'sentiment'"),
])
def test_malformed_records_name_file_line_and_field(tmp_path, bad, match):
    with pytest.raises(AnnotationError, match=match):
        load_annotations(write(tmp_path, record(), record(**bad)))


def test_pilot_hydrates_from_shared_with_zero_mismatches(shared):
    from secframing.annotate.standoff import shared_articles

    anns = load_annotations(PILOT)
    pairs = hydrate(anns, shared_articles())
    assert len(pairs) == len(anns) == 258
    assert {a.extra["stratum"] for a in anns} == {"random", "cue", "seed"}


def test_baseline_on_the_pilot_keeps_its_measured_precision(shared, lexicon_model):
    """Guards the measured behaviour on real sentences (see models/default/README.md)."""
    from secframing.evaluation.framing import evaluate_framing

    res = evaluate_framing(lexicon_model, PILOT, n_resamples=200)
    promo = res["all"]["per_class"]["promotional"]
    assert promo["precision"] >= 0.85 and promo["recall"] >= 0.45
    assert res["all"]["macro_f1"] >= 0.5
