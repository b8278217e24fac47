"""Annotation tooling: Label Studio round trip, active learning, agreement, splits."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO
from secframing.annotate.active import rank_next
from secframing.annotate.agreement import agreement, layer_agreement
from secframing.annotate.gold import make_splits
from secframing.annotate.labelstudio import from_export, read_export, to_tasks
from secframing.annotate.standoff import Annotation, AnnotationError, sha1_text
from secframing.cli import app

UNITS = [
    {"unit": "u1", "article_id": "a1", "field": "text", "start": 0, "end": len(AR_PROMO), "text": AR_PROMO, "stratum": "random"},
    {"unit": "u2", "article_id": "a1", "field": "text", "start": 100, "end": 100 + len(AR_FACTUAL), "text": AR_FACTUAL, "stratum": "random"},
    {"unit": "u3", "article_id": "a2", "field": "title", "start": 0, "end": len(AR_OTHER), "text": AR_OTHER, "stratum": "seed"},
]


def simulate_labelstudio(tasks, labels):
    """What Label Studio exports after a person accepts or corrects the pre-annotations."""
    out = []
    for task, (framing, devices, sentiment) in zip(tasks, labels):
        result = [{"from_name": "framing", "to_name": "text", "type": "choices", "value": {"choices": [framing]}},
                  {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [sentiment]}}]
        if devices:
            result.append({"from_name": "devices", "to_name": "text", "type": "choices", "value": {"choices": devices}})
        out.append({**task, "annotations": [{"completed_by": {"email": "ann@example.org"}, "created_at": "2026-11-22T10:00:00Z",
                                             "result": result, "was_cancelled": False}]})
    return out


def test_labelstudio_round_trip(default_model, tmp_path):
    preds = default_model.predict_many([u["text"] for u in UNITS])
    tasks = to_tasks(UNITS, preds, model_version="lexicon")
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"] == ["promotional"]
    assert tasks[0]["predictions"][0]["score"] == pytest.approx(preds[0].score, abs=1e-4)
    labels = [("promotional", ["superlative", "national_pride"], "positive"), ("factual", [], "neutral"), ("other", [], "neutral")]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(simulate_labelstudio(tasks, labels), ensure_ascii=False), encoding="utf-8")
    records = read_export(export)
    assert [(r["unit"], r["framing"], r["devices"], r["sentiment"]) for r in records] == [
        ("u1", "promotional", ["superlative", "national_pride"], "positive"), ("u2", "factual", [], "neutral"),
        ("u3", "other", [], "neutral")]
    for r, u in zip(records, UNITS):
        assert (r["article_id"], r["field"], r["start"], r["end"]) == (u["article_id"], u["field"], u["start"], u["end"])
        assert r["sha1"] == sha1_text(u["text"]) and r["annotator"] == "labelstudio:ann@example.org"
        assert "text" not in r  # stand-off: no text comes back into the repository
    res = CliRunner().invoke(app, ["annotate", "import-labelstudio", "--export", str(export), "--output", str(tmp_path / "a.jsonl")])
    assert res.exit_code == 0, res.output
    from secframing.annotate.standoff import load_annotations

    assert [a.framing for a in load_annotations(tmp_path / "a.jsonl")] == ["promotional", "factual", "other"]


def test_labelstudio_import_refuses_edited_text():
    tasks = to_tasks(UNITS[:1])
    tasks[0]["data"]["text"] += " (edited)"
    with pytest.raises(AnnotationError, match="does not match its sha1"):
        from_export(simulate_labelstudio(tasks, [("factual", [], "neutral")]))


def test_active_learning_prefers_uncertain_and_diverse(default_model):
    cands = [{"id": i, "text": t} for i, t in enumerate([
        AR_FACTUAL, AR_FACTUAL + " ", AR_PROMO, "إنجاز أمني كبير للمصالح الأمنية.", "نجحت الشرطة في مهمتها بفضل تعاون المواطنين.",
        "وأكد المسؤول أن الأجهزة الأمنية قامت بعمل رائد.", AR_OTHER])]
    picked = rank_next(cands, default_model, 3, annotated_texts=[AR_FACTUAL])
    assert len(picked) == 3 and [p["rank"] for p in picked] == [1, 2, 3]
    ids = [p["id"] for p in picked]
    assert len(set(ids)) == 3 and not {0, 1} <= set(ids)  # near-copies are not both proposed
    assert picked[0]["uncertainty"] >= min(p["uncertainty"] for p in picked)


def ann(framing, sentiment="neutral", devices=(), start=0):
    return Annotation("a", start, start + 5, "x", framing, tuple(devices), sentiment, "t", "v1.1", "2026-11-22")


def test_agreement_perfect_and_chance():
    labels = ["promotional", "factual", "other"]
    assert layer_agreement(labels * 5, labels * 5, labels, n_boot=100)["krippendorff_alpha"] == 1.0
    res = layer_agreement(["factual", "promotional"] * 20, ["promotional", "factual"] * 20, labels, n_boot=100)
    assert res["krippendorff_alpha"] < 0 and res["cohen_kappa"] < 0 and res["raw_agreement"] == 0
    pairs = [(ann("promotional", "positive", ["metaphor"], i), ann("promotional", "positive", ["metaphor", "superlative"], i)) for i in range(10)]
    pairs += [(ann("factual", start=i), ann("factual", start=i)) for i in range(10, 30)]
    res = agreement(pairs, n_boot=100)
    assert res["framing"]["krippendorff_alpha"] == 1.0
    assert res["devices"]["per_device"]["metaphor"]["first"] == 10
    assert res["devices"]["per_device"]["superlative"]["second"] == 10


def test_splits_keep_near_duplicates_together_and_stratify():
    base = "أوقفت عناصر الشرطة القضائية بمدينة فاس شخصين يشتبه في تورطهما في السرقة والاعتداء على المارة ليلا"
    texts = {f"a{i}": f"{base} رقم {i} " + "تفاصيل مختلفة " * (i % 3) for i in range(4)}
    import random

    rng = random.Random(1)
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    texts.update({f"b{i}": " ".join("".join(rng.choice(letters) for _ in range(5)) for _ in range(30)) for i in range(40)})
    promo = {k: k in ("b1", "b2", "b3", "b4", "b5", "b6", "b7") for k in texts}
    strata = {k: "random" for k in texts}
    split = make_splits(list(texts), promo, strata, texts)
    assert len({split[f"a{i}"] for i in range(4)}) == 1  # near-duplicates share a split
    assert set(split.values()) == {"train", "dev", "test"}
    assert any(split[k] == "test" for k, v in promo.items() if v)
    assert make_splits(list(texts), promo, strata, texts) == split  # fixed by the seed


def test_tfidf_model_fits_saves_with_skops_and_loads(tmp_path):
    from secframing.models import load_model
    from secframing.models.tfidf import TfidfConfig, TfidfModel

    texts = [AR_PROMO, "وتبقى الشرطة المغربية نموذجا يحتذى به في العالم.", "أشاد الوزير بالمجهودات الجبارة لرجال الأمن.",
             AR_FACTUAL, "حجزت عناصر الدرك طنا من المخدرات بمدينة طنجة.", "أوقفت الشرطة شخصا بمدينة فاس.",
             AR_OTHER, "أحدث أقدم", "الرباط - محمد العلوي"]
    labels = ["promotional"] * 3 + ["factual"] * 3 + ["other"] * 3
    model = TfidfModel(TfidfConfig(min_df=1)).fit(texts, labels)
    assert model.predict(texts) == labels
    out = model.save(tmp_path / "m")
    assert (out / "pipeline.skops").exists() and not list(out.glob("*.pkl"))
    again = load_model(out)
    assert [p.probs for p in again.predict_many(texts)] == [p.probs for p in model.predict_many(texts)]


def test_annotate_next_proposes_ranked_unlabelled_sentences(tmp_path):
    from secframing.paths import DEMO_CORPUS

    out = tmp_path / "next.jsonl"
    ls = tmp_path / "ls"
    res = CliRunner().invoke(app, ["annotate", "next", "--n", "12", "--corpus", str(DEMO_CORPUS), "--output", str(out),
                                   "--labelstudio", str(ls)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and [r["rank"] for r in rows] == list(range(1, 13))
    assert all(r["sha1"] == sha1_text(r["text"]) for r in rows)
    tasks = json.loads((ls / "tasks.json").read_text(encoding="utf-8"))
    assert len(tasks) == 12 and "predictions" in tasks[0] and (ls / "label_config.xml").exists()


def test_leakage_guard_drops_exact_and_contained_texts():
    import pandas as pd

    from secframing.experiments.tasks import leakage_guard

    long = "أوقفت عناصر الشرطة القضائية بمدينة فاس شخصين يشتبه في تورطهما في السرقة بالعنف"
    train = pd.DataFrame({"text": [long, "نص آخر مختلف تماما", "قال المصدر: " + long + " وأضاف", "الأمـن الوطني"], "label": ["a"] * 4})
    dev = pd.DataFrame({"text": [long, "الأمن الوطني"], "label": ["a", "a"]})
    kept, removed = leakage_guard(train, dev, None)
    assert removed == 3 and kept["text"].tolist() == ["نص آخر مختلف تماما"]


def test_hashed_tfidf_model_round_trip(tmp_path):
    from secframing.models import load_model
    from secframing.models.tfidf import TfidfConfig, TfidfModel

    texts = [AR_PROMO, AR_FACTUAL, AR_OTHER, "أشاد الوزير بالمجهودات الجبارة لرجال الأمن.", "حجزت عناصر الدرك طنا من المخدرات.", "أحدث أقدم"]
    labels = ["promotional", "factual", "other", "promotional", "factual", "other"]
    model = TfidfModel(TfidfConfig(hashing_features=2**12, min_df=1)).fit(texts, labels)
    again = load_model(model.save(tmp_path / "h"))
    assert again.predict(texts) == model.predict(texts)
