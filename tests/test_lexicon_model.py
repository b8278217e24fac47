"""The lexicon baseline and the shipped ensemble: decisions, devices, evidence, persistence with label
and hash checks."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO, HERE
from secframing.experiments.metrics import macro_f1
from secframing.labels import FRAMING_LABELS
from secframing.models import ModelLoadError, load_model
from secframing.paths import DEFAULT_MODEL_DIR


def test_basic_labels_devices_and_evidence(lexicon_model):
    promo, fact, other = lexicon_model.predict_many([AR_PROMO, AR_FACTUAL, AR_OTHER])
    assert (promo.label, fact.label, other.label) == ("promotional", "factual", "other")
    assert "superlative" in promo.devices and not fact.devices
    cues = [e for e in promo.evidence if e.get("rule") == "cue"]
    assert cues and all(AR_PROMO[e["start"]:e["end"]] == e["match"] for e in cues)
    for p in (promo, fact, other):
        assert abs(sum(p.probs.values()) - 1) < 1e-6 and p.score == max(p.probs.values())


def test_rule_3_neutral_institutional_wording_is_factual(lexicon_model):
    assert lexicon_model.predict(["تمكنت عناصر الشرطة القضائية من توقيف المشتبه فيه في وقت وجيز."]) == ["factual"]


def test_attributed_foreign_praise_is_external_validation(lexicon_model):
    for model in (lexicon_model,):
        p = model.predict_one("أشاد وزير الداخلية الإسباني بالتعاون الأمني المتميز مع المغرب.")
        assert p.label == "promotional" and "external_validation" in p.devices


def test_team_written_cases_macro_f1(lexicon_model):
    """Team-written sanity cases (not the gold test split; see models/default/README.md)."""
    rows = [json.loads(line) for line in open(HERE / "data" / "framing_cases.jsonl", encoding="utf-8")]
    pred = lexicon_model.predict([r["text"] for r in rows])
    assert macro_f1([r["framing"] for r in rows], pred, FRAMING_LABELS) >= 0.8


def test_save_load_round_trip(tmp_path, default_model):
    out = default_model.save(tmp_path / "m")
    again = load_model(out)
    texts = [AR_PROMO, AR_FACTUAL, AR_OTHER]
    assert [p.probs for p in again.predict_many(texts)] == [p.probs for p in default_model.predict_many(texts)]


def test_load_refuses_other_label_sets_and_changed_files(tmp_path):
    model_dir = tmp_path / "m"
    shutil.copytree(DEFAULT_MODEL_DIR, model_dir)
    meta = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    with open(model_dir / "framing" / "lexicon" / "framing_cues.toml", "a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    with pytest.raises(ModelLoadError, match="sha256 differs"):
        load_model(model_dir)
    meta["files"] = {}
    meta["labels"]["framing"] = ["promotional", "neutral"]
    (model_dir / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="framing labels"):
        load_model(model_dir)
    with pytest.raises(ModelLoadError, match="not a secframing model"):
        load_model(tmp_path)


def test_shipped_ensemble_keeps_lexicon_evidence_and_promotional_calls(default_model, lexicon_model):
    texts = [AR_PROMO, AR_FACTUAL, AR_OTHER, "أشاد وزير الداخلية الإسباني بالتعاون الأمني المتميز مع المغرب."]
    ens, lex = default_model.predict_many(texts), lexicon_model.predict_many(texts)
    for e, x in zip(ens, lex):
        assert abs(sum(e.probs.values()) - 1) < 1e-4 and e.score == max(e.probs.values())
        if x.label == "promotional":  # the override rule
            assert e.label == "promotional" and e.evidence == x.evidence
    assert [e.label for e in ens] == ["promotional", "factual", "other", "promotional"]


def test_shipped_model_on_the_gold_dev_split(shared, default_model):
    """Guards the measured dev score of models/default (0.698 on the splits-v2 dev, models/default/README.md)."""
    from secframing.experiments.metrics import macro_f1
    from secframing.experiments.tasks import TaskSpec, load_task

    dev = load_task(TaskSpec("framing")).dev
    assert macro_f1(dev["label"].tolist(), default_model.predict(dev["text"].tolist()), FRAMING_LABELS) >= 0.68


def test_literal_anchor_shortcut_finds_exactly_what_a_full_scan_finds(shared):
    """The anchors only skip scans that cannot match: every cue hit on 1,500 gold sentences is the same."""
    import dataclasses

    from secframing.annotate.gold import gold_frame
    from secframing.lexicon import load_lexicon
    from secframing.text.match import match_view

    texts = gold_frame()["text"].iloc[::4].tolist()[:1500]
    views = [match_view(t) for t in texts]
    for name in ("framing_cues.toml", "institutions.toml", "topics.toml"):
        lex = load_lexicon(HERE.parent / "data" / "lexicons" / name)
        assert sum(c.anchors is not None for c in lex.cues) > 0.8 * len(lex.cues)
        full = dataclasses.replace(lex, cues=tuple(dataclasses.replace(c, anchors=None) for c in lex.cues))
        fast = [lex.find(t, v) for t, v in zip(texts, views)]
        assert fast == [full.find(t, v) for t, v in zip(texts, views)] and sum(map(len, fast)) > 500
