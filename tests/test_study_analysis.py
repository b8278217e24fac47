"""Regression, comparisons, topics and who-gets-praised on constructed inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secframing.io.schema import Article
from secframing.study.aggregate import (
    aggregate,
    contrasts,
    groups_of,
    sentiment_aggregate,
)
from secframing.study.analysis import (
    OTHER,
    RegressionConfig,
    fit_promotional_regression,
    pool_levels,
)
from secframing.study.estimators import BootstrapConfig
from secframing.study.praise import MentionFinder, praise_table
from secframing.study.topics import GENERAL, TopicTagger


def _articles(spec: list[tuple[str, str, int, int, float]], seed: int = 0) -> pd.DataFrame:
    """Articles per (outlet, topic, year, n articles, true promotional probability), 10 content
    sentences each, promotional counts drawn binomially."""
    rng = np.random.default_rng(seed)
    rows = []
    for outlet, topic, year, n, p in spec:
        for _ in range(n):
            k = int(rng.binomial(10, p))
            rows.append({"article_id": f"a{len(rows)}", "outlet": outlet, "topic": topic, "topics": [topic],
                         "year": year, "n_content": 10, "n_promotional": k, "n_factual": 10 - k, "n_other": 2,
                         "promotional_share": k / 10})
    return pd.DataFrame(rows)


def test_pool_levels_keeps_large_levels():
    s = pd.Series(["x"] * 6 + ["y"] * 5 + ["z"] * 2)
    assert pool_levels(s, 5).value_counts().to_dict() == {"x": 6, "y": 5, OTHER: 2}


def test_regression_recovers_a_known_outlet_effect():
    df = _articles([("Low", "drugs", 2020, 75, 0.10), ("High", "drugs", 2020, 75, 0.30),
                    ("Low", "terrorism", 2021, 75, 0.10), ("High", "terrorism", 2021, 75, 0.30),
                    ("Low", "drugs", 2021, 75, 0.10), ("High", "drugs", 2021, 75, 0.30),
                    ("Low", "terrorism", 2020, 75, 0.10), ("High", "terrorism", 2020, 75, 0.30)])
    res = fit_promotional_regression(df)
    assert res.fitted, res.reason
    assert res.info["reference"]["outlet"] == "High"     # equal sizes: the alphabetically first level
    row = res.table.set_index("term").loc["outlet[Low]"]
    true_or = (0.1 / 0.9) / (0.3 / 0.7)
    assert row["or_ci_low"] < true_or < row["or_ci_high"] and row["p_value"] < 1e-6
    topic = res.table.set_index("term").loc["topic[terrorism]"]
    assert topic["or_ci_low"] < 1 < topic["or_ci_high"]          # no topic effect was simulated
    assert res.info["n_articles"] == 600
    assert res.info["factors"] == ["outlet", "topic", "year"]
    assert "Generalized Linear Model" in res.summary
    # year coinciding with topic (every 2021 article on terrorism): the collinear term is dropped, not fatal
    confounded = df.assign(year=np.where(df["topic"] == "terrorism", 2021, 2020))
    res = fit_promotional_regression(confounded)
    assert res.fitted and "year[2021]" not in set(res.table["term"])
    assert any("year[2021]: dropped, collinear" in n for n in res.info["notes"])


def test_regression_on_degenerate_data_explains_instead_of_failing():
    tiny = _articles([("A", "drugs", 2020, 3, 0.3), ("B", "drugs", 2020, 3, 0.3)])
    res = fit_promotional_regression(tiny)
    assert not res.fitted and "articles" in res.reason and res.table.empty
    # an outlet with no promotional sentence has no finite odds ratio: it is pooled, and the pooled level,
    # still without one, is left out, with notes
    zero = pd.concat([_articles([("A", "drugs", 2020, 40, 0.3), ("B", "terrorism", 2020, 40, 0.2)]),
                      _articles([("C", "drugs", 2020, 20, 0.0)], seed=1).assign(article_id=lambda d: "c" + d["article_id"])])
    res = fit_promotional_regression(zero)
    assert res.fitted and not any("C" in t or "other" in t for t in res.table["term"])
    assert any("outlet: levels without any promotional" in n and "C" in n for n in res.info["notes"])
    assert any(f"outlet = {OTHER}: 20 article(s) left out" in n for n in res.info["notes"])
    assert any("year: dropped" in n for n in res.info["notes"])   # a single year: no year factor
    # a level without promotional sentences joins small levels that have some: nothing is left out
    mixed = pd.concat([zero, _articles([("D", "drugs", 2020, 3, 0.5)], seed=3).assign(article_id=lambda d: "d" + d["article_id"])])
    res = fit_promotional_regression(mixed)
    assert res.fitted and f"outlet[{OTHER}]" in set(res.table["term"]) and res.info["n_articles"] == 103
    none = _articles([("A", "drugs", 2020, 40, 0.0)])
    assert not fit_promotional_regression(none).fitted
    assert not fit_promotional_regression(zero, RegressionConfig(enabled=False)).fitted


def test_aggregate_contrasts_and_groups():
    df = _articles([("Low", "drugs", 2020, 30, 0.05), ("High", "terrorism", 2020, 30, 0.4)], seed=2)
    df.loc[0, "topics"] = ["drugs", "cooperation"]
    agg = aggregate(df, "topics", BootstrapConfig(300, 1))
    assert set(agg["group"]) == {"drugs", "terrorism", "cooperation"}
    assert agg.set_index("group").loc["cooperation", "n_articles"] == 1
    assert np.isnan(agg.set_index("group").loc["drugs", "adjusted_share"])     # no error profile given
    pairs = contrasts(df, "outlet", BootstrapConfig(300, 1))
    assert len(pairs) == 1 and pairs.iloc[0]["a"] == "High" and pairs.iloc[0]["ci_low"] > 0
    rest = contrasts(df, "topics", BootstrapConfig(300, 1), mode="rest", min_articles=5)
    assert set(rest["a"]) == {"drugs", "terrorism"} and (rest["b"] == "not " + rest["a"]).all()
    assert [k for k, _ in groups_of(df.assign(year=[None] + [2020.0] * 59), "year")] == ["(none)", "2020"]
    with pytest.raises(ValueError):
        contrasts(df, "outlet", BootstrapConfig(300, 1), mode="all")


def test_sentiment_aggregate_counts_all_sentences():
    df = pd.DataFrame({"article_id": ["a", "b", "c"], "outlet": ["X", "X", "Y"], "n_content": [1, 1, 1],
                       "n_positive": [2, 0, 1], "n_neutral": [8, 10, 9], "n_negative": [0, 1, 0]})
    s = sentiment_aggregate(df, "outlet", BootstrapConfig(200, 0)).set_index("group")
    assert s.loc["X", "positive_share"] == pytest.approx(2 / 21) and s.loc["X", "negative_share"] == pytest.approx(1 / 21)
    assert s.loc["X", "net_tone"] == pytest.approx(1 / 21) and s.loc["Y", "n_sentences"] == 10


# Team-written sentences (not from any corpus).
DRUGS = "حجزت عناصر الأمن طنين من مخدر الشيرا داخل شاحنة للنقل الدولي."
TERROR = "فككت المصالح الأمنية خلية إرهابية موالية لتنظيم داعش كانت تخطط لعمليات تخريبية."
COOP = "أشاد المسؤول الإسباني بالتعاون الأمني بين البلدين في مكافحة الجريمة المنظمة."
LEADER = "ترأس عبد اللطيف الحموشي حفل تخرج فوج جديد من ضباط الشرطة بمناسبة ذكرى تأسيس المديرية."


def test_topic_tagger_assigns_topics_with_evidence():
    tagger = TopicTagger()
    r = tagger.tag(Article("t1", "X", None, "تفكيك خلية إرهابية", TERROR))
    assert r.primary == "terrorism" and "terrorism" in r.topics
    assert all(e["topic"] in tagger.names for e in r.evidence) and r.evidence[0]["field"] == "title"
    assert tagger.tag(Article("t2", "X", None, None, DRUGS)).primary == "drugs"
    assert tagger.tag(Article("t3", "X", None, None, COOP)).primary == "cooperation"
    assert tagger.tag(Article("t4", "X", None, None, LEADER)).primary == "leadership"
    plain = tagger.tag(Article("t5", "X", None, None, "انعقد اجتماع عادي للمجلس الجماعي يوم الأربعاء."))
    assert plain.topics == () and plain.primary == GENERAL
    assert tagger.label(GENERAL)["en"].startswith("general")


def test_mention_finder_names_institutions_and_officials():
    f = MentionFinder()
    assert f.entities("أوقفت عناصر الشرطة القضائية بمدينة فاس شخصين.") == ["judicial_police"]  # not also DGSN
    assert f.entities(LEADER)[0] == "hammouchi"
    assert "gendarmerie_commander" in f.entities("استقبل الجنرال حرمو قائد الدرك الملكي وفدا أجنبيا.")
    assert "gendarmerie" in f.entities("استقبل الجنرال حرمو قائد الدرك الملكي وفدا أجنبيا.")
    assert f.entities("الشرطة الإسبانية تعتقل مهربا.") == []                  # foreign police is not the target
    assert f.label("DGST")["ar"] == "مراقبة التراب الوطني" and f.label("hammouchi")["kind"] == "official"


def test_praise_table_links_mentions_to_framing_and_sentiment():
    rows = []
    for art, (label, ents, sent) in enumerate([("promotional", ["DGSN"], "positive"), ("factual", ["DGSN"], "neutral"),
                                              ("promotional", ["DGSN", "hammouchi"], "positive"),
                                              ("factual", ["gendarmerie"], "neutral"), ("other", ["DGSN"], "neutral")]):
        rows.append({"article_id": f"a{art % 3}", "label": label, "entities": ents, "sentiment": sent,
                     "devices": ["superlative"] if label == "promotional" else [],
                     "p_promotional": 0.9 if label == "promotional" else 0.1, "p_factual": 0.1 if label == "promotional" else 0.8,
                     "p_other": 0.0 if label == "promotional" else 0.1})
    t = praise_table(pd.DataFrame(rows), MentionFinder(), None, BootstrapConfig(200, 0)).set_index("entity")
    assert set(t.index) == {"DGSN"}                                             # others named < 3 times
    d = t.loc["DGSN"]
    assert (d["n_sentences"], d["n_content"], d["n_promotional"]) == (4, 3, 2)
    assert d["promotional_share"] == pytest.approx(2 / 3) and d["positive_share"] == pytest.approx(0.5)
    assert d["top_devices"] == "superlative" and d["name_en"].startswith("DGSN")


def test_regression_notes_do_not_depend_on_the_hash_seed():
    """Dropped factors are noted in config order in every interpreter, whatever its string hash seed."""
    import subprocess
    import sys

    code = ("import pandas as pd\n"
            "from secframing.study.analysis import fit_promotional_regression\n"
            "df = pd.DataFrame([{'article_id': f'a{i}', 'outlet': 'X', 'topic': 'dt'[i % 2], 'year': 2020,"
            " 'n_content': 10, 'n_promotional': i % 4 + 1, 'n_factual': 9 - i % 4, 'promotional_share': 0.1}"
            " for i in range(40)])\n"
            "print([n.split(':')[0] for n in fit_promotional_regression(df).info['notes'] if 'dropped' in n])\n")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout.strip()
            for seed in range(6)}
    assert seen == {"['outlet', 'year']"}
