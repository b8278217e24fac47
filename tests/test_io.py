"""The data layer: readers, schema checks and every kind of bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import AR_FACTUAL, AR_PROMO, article, write_jsonl
from secframing.io import ArticleRules, read_articles
from secframing.io.readers import InputFileError, iter_records
from secframing.manifest import sha256_file


def test_jsonl_reads_articles_and_keeps_extra_fields(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [article(1, title="عنوان", url="http://x.ma/1", source_file="f.csv"),
                                              article(2, text=AR_PROMO, date=None)])
    res = read_articles(path)
    assert [a.id for a in res.articles] == ["a1", "a2"]
    assert res.articles[0].extra == {"source_file": "f.csv"}
    assert res.articles[0].url == "http://x.ma/1"
    assert res.articles[1].date is None and res.articles[0].month == "2021-03"
    assert res.source.sha256 == sha256_file(path) and res.source.rows == 2


def test_csv_tsv_parquet_give_the_same_articles(tmp_path):
    rows = [article(1), article(2, text=AR_PROMO, title='قال "المصدر" إن')]
    pd.DataFrame(rows).to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame(rows).to_parquet(tmp_path / "c.parquet", index=False)
    # TSV is read with quoting disabled: quote marks inside a field are text
    (tmp_path / "c.tsv").write_text("id\toutlet\tdate\ttitle\ttext\n" + "\n".join(
        "\t".join(str(r[k]) if r[k] is not None else "" for k in ("id", "outlet", "date", "title", "text")) for r in rows) + "\n",
        encoding="utf-8")
    got = {ext: [(a.id, a.text, a.title) for a in read_articles(tmp_path / f"c.{ext}").articles]
           for ext in ("csv", "tsv", "parquet")}
    assert got["csv"] == got["tsv"] == got["parquet"]
    assert got["tsv"][1][2] == 'قال "المصدر" إن'


def test_missing_id_and_outlet_are_derived_with_warnings(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": AR_FACTUAL}])
    art = read_articles(path).articles[0]
    assert art.id == "c:1" and art.outlet == "unknown"
    assert set(art.warnings) == {"id_derived", "outlet_missing"}


def test_bad_rows_go_to_rejects_with_line_id_field_and_reason(tmp_path):
    big = "ب" * 5_000_001
    lines = [
        json.dumps(article(1), ensure_ascii=False),
        '{"id": "a2", "text": "غير مكتمل',                                     # malformed JSON
        json.dumps({"id": "a3", "outlet": "X"}),                                 # missing text
        json.dumps(article(4, text="   ")),                                      # empty text
        json.dumps(article(5, text="The police arrested two men in Fes today.")),  # not Arabic
        json.dumps(article(6, text=big)),                                        # 5 MB article
        json.dumps(article(1, text=AR_PROMO), ensure_ascii=False),                # duplicate id
        json.dumps(article(8, date="yesterday"), ensure_ascii=False),             # bad date
        "[1, 2]",                                                                 # not an object
        json.dumps(article(10), ensure_ascii=False),                              # same text, same outlet
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    res = read_articles(path)
    assert [a.id for a in res.articles] == ["a1"]
    by_line = {r.line: r for r in res.rejects}
    assert res.n_rows == len(lines) and len(res.rejects) == len(lines) - 1
    assert "malformed JSON" in by_line[2].reason and by_line[2].source == str(path)
    assert by_line[3].reason == "missing field 'text'" and by_line[3].id == "a3" and by_line[3].field == "text"
    assert by_line[4].reason == "empty field 'text'"
    assert "not Arabic" in by_line[5].reason
    assert "over max_text_chars" in by_line[6].reason and len(by_line[6].input) < 3000
    assert "duplicate id 'a1' (first seen at line 1)" in by_line[7].reason
    assert by_line[8].field == "date" and "unparseable" in by_line[8].reason
    assert "not an object" in by_line[9].reason
    assert "duplicate text of 'a1'" in by_line[10].reason


def test_html_markup_is_converted_and_flagged(tmp_path):
    html = "<p>أوقفت الشرطة شخصين&nbsp;بمدينة طنجة.</p><p>وأضاف المصدر أن البحث جار.</p><script>x()</script>"
    art = read_articles(write_jsonl(tmp_path / "h.jsonl", [article(1, text=html)])).articles[0]
    assert art.text == "أوقفت الشرطة شخصين\xa0بمدينة طنجة.\nوأضاف المصدر أن البحث جار."
    assert "html_stripped" in art.warnings


def test_utf16_file_is_read(tmp_path):
    path = tmp_path / "u16.jsonl"
    path.write_text(json.dumps(article(1), ensure_ascii=False) + "\n", encoding="utf-16")
    assert read_articles(path).articles[0].text == AR_FACTUAL


def test_cp1256_file_is_a_clear_error_and_readable_with_encoding(tmp_path):
    path = tmp_path / "cp.jsonl"
    path.write_bytes((json.dumps(article(1), ensure_ascii=False) + "\n").encode("cp1256"))
    with pytest.raises(InputFileError, match=r"cp\.jsonl: not UTF-8 .*--encoding"):
        read_articles(path)
    assert read_articles(path, encoding="cp1256").articles[0].text == AR_FACTUAL


def test_single_undecodable_line_is_rejected_not_fatal(tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = (json.dumps(article(1), ensure_ascii=False) + "\n").encode()
    path.write_bytes(good + b'{"id": "x", "text": "\xff\xfe"}\n' + good.replace(b'"a1"', b'"a3"'))
    res = read_articles(path, ArticleRules(reject_duplicate_text=False))
    assert [a.id for a in res.articles] == ["a1", "a3"]
    assert res.rejects[0].line == 2 and "not valid UTF-8" in res.rejects[0].reason


@pytest.mark.parametrize("name,content,match", [
    ("missing.jsonl", None, "no such file"),
    ("c.xlsx", b"x", "cannot tell the format"),
    ("p.parquet", b"not parquet", "not a readable Parquet"),
])
def test_unreadable_files_raise_one_line_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=match) as err:
        read_articles(path)
    assert "\n" not in str(err.value) and name in str(err.value)


def test_csv_row_with_wrong_field_count_is_rejected(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(f"id,outlet,text\na1,X,{AR_FACTUAL}\na2,X\n", encoding="utf-8")
    rows = list(iter_records(path))
    assert rows[0][2]["id"] == "a1"
    assert "row has 2 fields, header has 3" in rows[1][2].reason and rows[1][0] == 3


def test_hf_datasets_round_trip(tmp_path):
    from secframing.io.hf import articles_to_dataset, dataset_to_articles

    arts = read_articles(write_jsonl(tmp_path / "c.jsonl", [article(1, title="عنوان", topic="x"), article(2, text=AR_PROMO)])).articles
    ds = articles_to_dataset(arts)
    assert ds.num_rows == 2 and "text" in ds.column_names
    assert dataset_to_articles(ds) == (arts, [])


def test_any_hf_dataset_goes_through_the_row_checks():
    import datasets

    from secframing.io.hf import dataset_to_articles

    ds = datasets.Dataset.from_list([{"story": AR_FACTUAL, "source": "Hespress"}, {"story": "", "source": "X"}])
    arts, rejects = dataset_to_articles(ds)
    assert arts[0].text == AR_FACTUAL and arts[0].outlet == "Hespress" and "text_from:story" in arts[0].warnings
    assert rejects[0].line == 2 and rejects[0].reason == "empty field 'text'"


def test_json_array_files_and_column_aliases(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"article_id": "x", "body": AR_FACTUAL, "headline": "عنوان"}, 5], ensure_ascii=False, indent=2),
                    encoding="utf-8")
    res = read_articles(path)
    assert [(a.id, a.title) for a in res.articles] == [("x", "عنوان")]
    assert res.rejects[0].line == 2 and "not an object" in res.rejects[0].reason
