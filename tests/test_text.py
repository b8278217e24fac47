"""Normalisation and segmentation: unit cases, hypothesis properties, and the measured error rate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secframing.text.normalize import NormalizeOptions, normalize
from secframing.text.segment import segment

ARABIC = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
PIECES = st.sampled_from([".", "؟", "!", "،", "؛", " ", "\n", "..", "…", "«", "»", '"', "1.5", "25.06.2019", "ع.",
                          "hespress.com", "\u200f", "\u0640", "إرسال تعليق", "- ", "\t", "“", "”", "?!"])
TEXT = st.lists(st.one_of(st.text(ARABIC, min_size=1, max_size=8), PIECES), max_size=40).map("".join)


@given(st.text(max_size=200))
def test_normalize_is_idempotent_on_any_text(text):
    once = normalize(text)
    assert normalize(once) == once


@given(TEXT, st.booleans(), st.booleans())
def test_normalize_is_idempotent_with_any_options(text, alef, ta):
    opts = NormalizeOptions(alef=alef, ta_marbuta=ta)
    assert normalize(normalize(text, opts), opts) == normalize(text, opts)


@given(st.one_of(st.text(max_size=200), TEXT))
def test_default_normalisation_equals_its_steps_one_after_the_other(text):
    from secframing.text.normalize import DEFAULT, _stepwise

    assert normalize(text) == _stepwise(text, DEFAULT)


def test_default_normalisation_equals_its_steps_on_every_bmp_character():
    from secframing.text.normalize import DEFAULT, _stepwise

    every = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000)  # surrogates cannot be encoded
    assert normalize(every) == _stepwise(every, DEFAULT)


def test_normalize_each_step():
    assert normalize("الأمـــنُ الوطنيّ") == "الامن الوطني"
    assert normalize("٢٠١٩\u200f") == "2019"
    assert normalize("مستشفى") == "مستشفي"
    assert normalize("مستشفى", NormalizeOptions(ya=False)) == "مستشفى"
    assert normalize("a  \u00a0 b\n\n c") == "a b\n\nc"


@settings(max_examples=300)
@given(TEXT)
def test_segments_slice_the_original_do_not_overlap_and_cover_all_text(text):
    segs = segment(text)
    prev_end = 0
    for s in segs:
        assert text[s.start:s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert s.start >= prev_end
        prev_end = s.end
    covered = {i for s in segs for i in range(s.start, s.end)}
    assert all(ch.isspace() for i, ch in enumerate(text) if i not in covered)


def texts(s: str) -> list[str]:
    return [x.text for x in segment(s)]


@pytest.mark.parametrize("text,expected", [
    # glued sentences (the Hespress quirk)
    ("حجزت الشرطة كمية من المخدرات.وأضاف المصدر أن البحث جار.", ["حجزت الشرطة كمية من المخدرات.", "وأضاف المصدر أن البحث جار."]),
    # the Arabic comma and semicolon do not end a sentence; the question mark does
    ("أوقف الدرك شخصا، وحجز سيارته؛ فضلا عن مبلغ مالي. هل انتهى البحث؟ لا", ["أوقف الدرك شخصا، وحجز سيارته؛ فضلا عن مبلغ مالي.", "هل انتهى البحث؟", "لا"]),
    # decimals, thousands, dates and times
    ("بلغ المبلغ 1.488,80 درهم يوم 25.06.2019 على الساعة 10.30 صباحا. وانتهى.", ["بلغ المبلغ 1.488,80 درهم يوم 25.06.2019 على الساعة 10.30 صباحا.", "وانتهى."]),
    # initials and domains
    ("صرح ع. الإدريسي لموقع hespress.com بأن الأمر انتهى. شكرا", ["صرح ع. الإدريسي لموقع hespress.com بأن الأمر انتهى.", "شكرا"]),
    # quotes: a stop inside a quotation that closes on the line stays; the closing quote belongs to the sentence
    ("قال المسؤول: «انتهى التحقيق. سنعلن النتائج» ثم غادر. وبعد ذلك", ["قال المسؤول: «انتهى التحقيق. سنعلن النتائج» ثم غادر.", "وبعد ذلك"]),
    ("قال: «انتهى التحقيق.» وأضاف أن الأبحاث جارية", ["قال: «انتهى التحقيق.»", "وأضاف أن الأبحاث جارية"]),
    ("وأكد أن “العملية نجحت.” وأضاف الوالي", ["وأكد أن “العملية نجحت.”", "وأضاف الوالي"]),
    # ellipsis mid-line (headlines) does not split; at the end of a line it does
    ("الشرطة تتصدر المشهد.. اقتناص الأهداف\nوماذا بعد...\nانتهى", ["الشرطة تتصدر المشهد.. اقتناص الأهداف", "وماذا بعد...", "انتهى"]),
    # headlines, bylines and bullets are lines
    ("عنوان الخبر\nمحمد العلوي\n- النقطة الأولى\n- النقطة الثانية", ["عنوان الخبر", "محمد العلوي", "- النقطة الأولى", "- النقطة الثانية"]),
    # page furniture glued at the end is split off
    ("أوقفت الشرطة المشتبه فيه.إرسال تعليق أحدث أقدم", ["أوقفت الشرطة المشتبه فيه.", "إرسال تعليق", "أحدث أقدم"]),
    # a quotation that never closes does not swallow the next glued sentence
    ('وقال إن "القطاع يعاني من المشاكل.وفي مقابل ذلك أكد أن "الحل ممكن".', ['وقال إن "القطاع يعاني من المشاكل.', 'وفي مقابل ذلك أكد أن "الحل ممكن".']),
    ("", []),
    ("   \n  ", []),
])
def test_segmentation_cases(text, expected):
    assert texts(text) == expected


@pytest.mark.parametrize("gold", ["segmentation_gold.jsonl", "segmentation_heldout.jsonl"])
def test_error_rate_on_hand_segmented_corpus_sentences(shared, gold):
    """~380 real sentences segmented by hand (offsets only, text hydrated from ../shared)."""
    from secframing.evaluation.segmentation import GOLD_PATH, evaluate_segmentation

    scores = evaluate_segmentation(GOLD_PATH.parent / gold)
    assert scores.n_gold >= 160
    assert scores.sentence_error_rate <= 0.03, scores.errors
    assert scores.boundary_f1 >= 0.98
