"""The study end to end on the bundled demo corpus, on bad input, and in a real browser."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from conftest import AR_FACTUAL, AR_PROMO, article, write_jsonl
from secframing.cli import app
from secframing.config import from_dict
from secframing.io import read_articles
from secframing.paths import DEMO_CORPUS
from secframing.study import StudyConfig, run_study
from secframing.study.figures import ar


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    cfg = from_dict(StudyConfig, {"corpus": str(DEMO_CORPUS), "out": str(out), "bootstrap": {"n_resamples": 300}})
    return run_study(cfg)


def test_demo_study_writes_the_report_folder(demo):
    out = demo.out
    for rel in ("index.html", "manifest.json", "accounting.json", "rejects.jsonl", "relevance.jsonl",
                "tables/articles.csv", "tables/sentences.parquet", "tables/aggregates.csv",
                "figures/share_by_outlet.png", "figures/monthly_share.png", "figures/devices.png"):
        assert (out / rel).stat().st_size > 0 or rel == "rejects.jsonl", rel
    assert demo.accounting["balanced"] and demo.accounting["input_rows"] == 32


def test_demo_selects_security_coverage_and_finds_promotional_framing(demo):
    arts = demo.articles
    # the four off-topic demo articles (sport, economy, weather, culture) are not selected
    assert set(arts.loc[~arts["relevant"], "article_id"]) == {"demo-008", "demo-015", "demo-016", "demo-024"}
    by_outlet = demo.aggregates[demo.aggregates["group_by"] == "outlet"].set_index("group")["promotional_share"]
    # the pro-establishment daily and the op-ed outlet are the most promotional, the wire-like one the least
    assert set(by_outlet.sort_values().index[-2:]) == {"Al-Manara Daily", "Atlas Opinion"}
    assert by_outlet.idxmin() == "Sahel Post"


def test_sentence_offsets_slice_the_article_text(demo):
    texts = {a.id: a for a in read_articles(DEMO_CORPUS).articles}
    for row in demo.sentences.itertuples():
        src = texts[row.article_id].title if row.field == "title" else texts[row.article_id].text
        assert src[row.start:row.end] == row.text


def test_article_shares_and_aggregates_are_consistent(demo):
    arts = demo.articles[demo.articles["relevant"]]
    counts = demo.sentences.groupby("article_id")["label"].value_counts().unstack(fill_value=0)
    for a in arts.itertuples():
        assert a.n_promotional == counts.loc[a.article_id].get("promotional", 0)
    overall = demo.aggregates[demo.aggregates["group_by"] == "all"].iloc[0]
    assert overall["n_promotional"] == arts["n_promotional"].sum()
    assert overall["ci_low"] <= overall["promotional_share"] <= overall["ci_high"]
    assert overall["promotional_share"] == pytest.approx(arts["n_promotional"].sum() / arts["n_content"].sum())


def test_manifest_records_inputs_config_code_and_time(demo):
    m = json.loads((demo.out / "manifest.json").read_text())
    assert m["inputs"][0]["path"].endswith("articles.jsonl") and len(m["inputs"][0]["sha256"]) == 64
    assert m["config"]["bootstrap"]["n_resamples"] == 300
    assert {"commit", "dirty"} <= set(m["git"]) and "numpy" in m["libraries"] and m["wall_seconds"] > 0


def test_html_is_rtl_with_highlighted_sentences(demo):
    html = (demo.out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in html
    assert 'class="s promotional"' in html and 'class="s factual"' in html
    assert "data:image/png;base64," in html  # figures embedded: the report works offline


def test_every_bad_row_of_a_study_input_is_accounted_for(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        article(1, text=AR_PROMO + " " + AR_FACTUAL), '{"id": broken', article(3, text=""),
        article(4, text="English only text here."), article(1, text=AR_FACTUAL)])
    res = CliRunner().invoke(app, ["study", "--corpus", str(corpus), "--out", str(tmp_path / "r"),
                                   "--set", "bootstrap.n_resamples=100", "--set", "report.figures=false"])
    assert res.exit_code == 0, res.output
    rejects = [json.loads(x) for x in (tmp_path / "r" / "rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5]
    assert all(r["source"] == str(corpus) and r["reason"] for r in rejects)
    acc = json.loads((tmp_path / "r" / "accounting.json").read_text())
    assert acc["input_rows"] == 5 and acc["articles"] == 1 and acc["balanced"]


def test_study_on_an_unreadable_corpus_fails_in_one_line(tmp_path):
    res = CliRunner().invoke(app, ["study", "--corpus", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no such file" in res.output


def test_arabic_is_shaped_for_figures():
    shaped = ar("الأمن الوطني")
    assert all(0xFE70 <= ord(c) <= 0xFEFF or c == " " for c in shaped)  # presentation forms, joined
    assert shaped.split(" ")[0] != ar("الأمن")  # visual order: the last word comes first


def test_report_in_a_real_browser(demo, tmp_path):
    """Headless Chromium opens the report: the heading sits on the right (RTL) and highlights render."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium) for the browser test")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,900", f"--screenshot={shot}", (demo.out / "index.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    from PIL import Image

    img = Image.open(shot).convert("L")
    w, _ = img.size
    band = img.crop((0, 10, w, 60))  # the <h1> line
    dark = [x for x in range(w) if min(band.getpixel((x, y)) for y in range(band.height)) < 100]
    assert dark and min(dark) > w * 0.15 and max(dark) > w * 0.85  # ink starts right, as RTL text does
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          (demo.out / "index.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="s promotional"') >= 10
