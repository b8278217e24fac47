"""Relevance: decisions with evidence on team-written articles, and P/R on the hand-checked samples."""

from __future__ import annotations

import pytest

from secframing.io.schema import Article
from secframing.select.relevance import RelevanceScorer
from secframing.study.topics import TopicTagger


def art(text: str, title: str | None = None) -> Article:
    return Article("t1", "Test", None, title, text)


@pytest.fixture(scope="module")
def scorer():
    return RelevanceScorer()


@pytest.mark.parametrize("text,title,relevant", [
    ("أوقفت عناصر الشرطة القضائية بولاية أمن طنجة شخصين للاشتباه في تورطهما في ترويج المخدرات، وتم وضعهما تحت تدبير الحراسة النظرية.", None, True),
    ("تمكنت عناصر الدرك الملكي بمركز سيدي علال من حجز طن من مخدر الشيرا.", None, True),
    ("ترأس المدير العام للأمن الوطني ومراقبة التراب الوطني حفل تخرج فوج جديد من الضباط.", None, True),
    ("فاز فريق الجيش الملكي على الوداد بهدفين دون رد في مباراة قوية.", "الجيش يفوز", False),
    ("ناقش المجلس الجماعي ميزانية السنة المقبلة وصادق على اتفاقيات الشراكة.", None, False),
    ("أوقفت الشرطة الإسبانية ثلاثة أشخاص في مدريد بتهمة تهريب البشر.", None, False),
    ("شددت الحكومة على ضرورة تحقيق الأمن الغذائي وتأمين التزويد بالمواد الأساسية.", None, False),
    ("قامت لجنة الشرطة الإدارية بالجماعة بمراقبة المحلات التجارية وحجز مواد فاسدة.", None, False),
])
def test_team_written_cases(scorer, text, title, relevant):
    assert scorer.score(art(text, title)).relevant is relevant


def test_evidence_offsets_point_into_the_original_text(scorer):
    text = "أوقفت عناصرُ الشُّرطة القضائيّة بولاية أمن فاس، بتنسيق مع المديرية العامة لمراقبة التراب الوطني، شخصا."
    rel = scorer.score(art(text, title="الأمن الوطني يوقف مشتبها فيه"))
    assert rel.relevant and {"DGSN", "judicial_police", "DGST"} <= set(rel.institutions)
    for ev in rel.evidence:
        source = text if ev["field"] == "text" else "الأمن الوطني يوقف مشتبها فيه"
        assert source[ev["start"]:ev["end"]] == ev["match"]
    assert any(ev["field"] == "title" for ev in rel.evidence)


def test_overlapping_mentions_count_once(scorer):
    rel = scorer.score(art("حضر ممثل عن الدرك الملكي الاجتماع."))
    assert [e["cue"] for e in rel.evidence] == ["gr.royal_gendarmerie"]


def test_precision_and_recall_on_the_held_out_sample(shared):
    """120 random corpus articles checked by hand and never used for tuning (relevance_gold_b)."""
    from secframing.evaluation.relevance import evaluate_relevance

    res = evaluate_relevance()
    held = res["heldout"]
    assert held["n"] == 120 and held["gold_relevant"] >= 10
    assert held["recall"] >= 0.8 and held["precision"] >= 0.7
    assert res["all"]["n"] == 240
    assert res["enriched"]["selected"]["n"] == 80 and res["enriched"]["selected"]["precision"] >= 0.75


REPEATED = "أوقفت عناصر الدرك الملكي شخصا. " * 5


def test_repeats_past_the_cap_are_evidence_but_add_nothing(scorer):
    rel = scorer.score(art(REPEATED))
    gr = [e for e in rel.evidence if e["cue"] == "gr.royal_gendarmerie"]
    assert len(gr) == 5                                        # every mention is listed...
    three = scorer.score(art("أوقفت عناصر الدرك الملكي شخصا. " * 3))
    assert rel.score == three.score and rel.institution_score == three.institution_score  # ...three count


def test_title_evidence_counts_title_factor_times(scorer):
    body, title = scorer.score(art("الدرك الملكي")), scorer.score(art("", title="الدرك الملكي"))
    assert title.score == pytest.approx(scorer.config.title_factor * body.score) and body.score > 0


def test_topics_share_the_engine_but_list_only_counted_hits():
    """Same cue engine: title factor and repeat cap per cue id; topic evidence lists counted hits only
    and keeps overlapping cues (no strongest-hit removal)."""
    tagger = TopicTagger()
    text = "حجزت عناصر الأمن كمية من مخدر الشيرا. " * 5
    r = tagger.tag(Article("t", "X", None, None, text))
    per_cue: dict[str, int] = {}
    for e in r.evidence:
        per_cue[e["cue"]] = per_cue.get(e["cue"], 0) + 1
    assert per_cue and max(per_cue.values()) == tagger.config.max_repeats
    hits = tagger.cues.hits([("text", text)])
    assert len(hits) > len(r.evidence) and sum(not h.counted for h in hits) == len(hits) - len(r.evidence)
    assert not tagger.cues.strongest and RelevanceScorer().cues.strongest
