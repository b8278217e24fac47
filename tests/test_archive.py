"""Archives: compressed files, folders and globs of shards, datasets, streaming shards, resume, Ray, progress."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import AR_FACTUAL, AR_PROMO, article, write_jsonl
from secframing.cli import app
from secframing.config import from_dict
from secframing.io import ArticleRules, read_articles
from secframing.io.readers import InputFileError, iter_records
from secframing.paths import DEMO_CORPUS, REPO_ROOT
from secframing.predict import predict_file
from secframing.progress import Progress
from secframing.study import StudyConfig, run_study
from secframing.study.shards import RunDir

runner = CliRunner()
FAST = {"bootstrap": {"n_resamples": 200}, "report": {"figures": False}}
TABLES = ("tables/articles.csv", "tables/sentences.csv", "tables/sentences.parquet", "tables/aggregates.csv",
          "tables/sentiment.csv", "tables/praise.csv", "tables/contrasts.csv", "relevance.jsonl", "topics.jsonl",
          "rejects.jsonl", "accounting.json")


def _compress(path: Path, kind: str) -> Path:
    data = path.read_bytes()
    out = path.with_name(path.name + {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}[kind])
    if kind == "gzip":
        out.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        out.write_bytes(bz2.compress(data))
    elif kind == "xz":
        out.write_bytes(lzma.compress(data))
    else:
        import zstandard

        out.write_bytes(zstandard.ZstdCompressor().compress(data))
    return out


def _articles(res):
    return [(a.id, a.outlet, a.title, a.text) for a in res.articles]


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "zstd"])
def test_compressed_jsonl_reads_like_the_plain_file(tmp_path, kind):
    plain = write_jsonl(tmp_path / "c.jsonl", [article(1), article(2, text=AR_PROMO), {"id": "x"}])
    packed = _compress(plain, kind)
    a, b = read_articles(plain), read_articles(packed)
    assert _articles(a) == _articles(b) and len(b.articles) == 2
    assert [(r.line, r.reason) for r in b.rejects] == [(3, "missing field 'text'")]
    assert b.source.path == str(packed) and b.source.format == "jsonl"


def test_compressed_csv_keeps_physical_line_numbers_of_multiline_rows(tmp_path):
    text = ("id,outlet,date,title,text\n"
            f'a1,X,2021-03-04,,"{AR_FACTUAL}\nسطر ثان"\n'
            "bad,row\n"
            f"a3,X,2021-03-05,,{AR_PROMO}\n")
    path = tmp_path / "c.csv.gz"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    rows = list(iter_records(path))
    assert [no for no, _, _ in rows] == [2, 4, 5]
    assert rows[0][2]["text"].endswith("سطر ثان") and "header has 5" in rows[1][2].reason


def test_a_truncated_gzip_keeps_the_rows_before_the_break_and_says_where_it_broke(tmp_path):
    plain = write_jsonl(tmp_path / "c.jsonl", [article(i) for i in range(1, 400)])
    data = gzip.compress(plain.read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    res = read_articles(path, ArticleRules(reject_duplicate_text=False))
    assert 0 < len(res.articles) < 399
    (last,) = res.rejects
    assert "truncated" in last.reason and last.line == len(res.articles) + 1


def test_a_file_that_is_not_what_its_suffix_says_is_one_line_error(tmp_path):
    fake = tmp_path / "c.jsonl.gz"
    fake.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="not a readable gzip stream"):
        read_articles(fake)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no corpus files"):
        read_articles(tmp_path / "empty")
    with pytest.raises(InputFileError, match="no file matches"):
        read_articles(str(tmp_path / "nothing-*.jsonl"))


def test_a_folder_of_shards_reads_in_path_order_with_ids_unique_across_files(tmp_path):
    for month, rows in (("2021-01", [article(1), {"outlet": "X", "text": AR_PROMO}]),
                        ("2021-02", [article(3, text=AR_FACTUAL + " ٣"), article(1, text=AR_PROMO + " ١"),
                                     {"outlet": "X", "text": AR_FACTUAL + " ٤"}])):
        (tmp_path / "news" / month).mkdir(parents=True)
        write_jsonl(tmp_path / "news" / month / "part-0.jsonl", rows)
        _compress(tmp_path / "news" / month / "part-0.jsonl", "gzip")
        (tmp_path / "news" / month / "part-0.jsonl").unlink()
    (tmp_path / "news" / "README.md").write_text("not a shard", encoding="utf-8")
    res = read_articles(tmp_path / "news")
    assert [a.id for a in res.articles] == ["a1", "2021-01/part-0:2", "a3", "2021-02/part-0:3"]
    (dup,) = res.rejects
    assert dup.source.endswith("2021-02/part-0.jsonl.gz") and dup.line == 2
    assert "2021-01/part-0.jsonl.gz line 1" in dup.reason
    assert [s.rows for s in res.sources] == [2, 3]
    by_glob = read_articles(str(tmp_path / "news" / "*" / "*.jsonl.gz"))
    assert _articles(by_glob) == _articles(res)


def test_hugging_face_datasets_saved_or_streamed(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = [article(1), article(2, text=AR_PROMO), {"id": "x", "text": None}]
    datasets.Dataset.from_list([{k: r.get(k) for k in ("id", "outlet", "date", "title", "text")} for r in rows]) \
        .save_to_disk(str(tmp_path / "saved"))
    saved = read_articles(f"hf:{tmp_path / 'saved'}")
    assert [a.id for a in saved.articles] == ["a1", "a2"] and saved.rejects[0].line == 3
    (tmp_path / "raw").mkdir()
    write_jsonl(tmp_path / "raw" / "train.jsonl", rows[:2])
    streamed = read_articles(f"hf:{tmp_path / 'raw'}")  # load_dataset(..., streaming=True) on a data folder
    assert _articles(streamed) == _articles(saved)
    with pytest.raises(InputFileError, match="cannot load the dataset"):
        read_articles(f"hf:{tmp_path / 'missing'}")


def test_parquet_is_read_in_batches(tmp_path, monkeypatch):
    import secframing.io.readers as readers

    monkeypatch.setattr(readers, "PARQUET_BATCH", 2)
    pd.DataFrame([article(i, text=f"{AR_FACTUAL} {i}") for i in range(1, 6)]).to_parquet(tmp_path / "c.parquet", index=False)
    assert [a.id for a in read_articles(tmp_path / "c.parquet").articles] == [f"a{i}" for i in range(1, 6)]


def test_progress_logs_rate_and_eta_off_a_terminal_and_draws_a_bar_on_one():
    log = io.StringIO()
    with Progress("classifying", total=10, unit="articles", interval=0, stream=log) as bar:
        for _ in range(4):
            bar.update()
    lines = log.getvalue().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("classifying: 4/10 articles (40%)")
    assert "articles/s" in lines[-1] and "ETA" in lines[-1]

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    with Progress("reading", unit="rows", stream=tty) as bar:
        bar.update(3)
    assert "\r" in tty.getvalue() and "3rows" in tty.getvalue().replace(" ", "")
    quiet = io.StringIO()
    with Progress("x", total=3, enabled=False, stream=quiet) as bar:
        bar.update(3)
    assert quiet.getvalue() == ""


def test_predict_reads_a_folder_of_compressed_shards_and_names_the_file_of_each_reject(tmp_path):
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "s1", "text": AR_PROMO}, {"id": "s2"}])
    _compress(tmp_path / "in" / "a.jsonl", "gzip")
    (tmp_path / "in" / "a.jsonl").unlink()
    (tmp_path / "in" / "b.tsv").write_text(f"id\ttext\ns3\t{AR_FACTUAL}\n\t{AR_FACTUAL}\n", encoding="utf-8")
    s = predict_file(REPO_ROOT / "models" / "fast", tmp_path / "in", tmp_path / "out.jsonl")
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["s1", "s3", "b:3"] and (s.rows, s.rejected) == (4, 1)
    (rej,) = [json.loads(x) for x in s.rejects.read_text(encoding="utf-8").splitlines()]
    assert rej["file"].endswith("a.jsonl.gz") and rej["line"] == 2 and rej["id"] == "s2"


# --- the study in shards -----------------------------------------------------------------------------


def _study(out: Path, corpus=DEMO_CORPUS, **engine):
    cfg = from_dict(StudyConfig, {"corpus": str(corpus), "out": str(out), **FAST, "engine": engine})
    return run_study(cfg)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The demo study in one shard: the reference the sharded runs must reproduce."""
    return _study(tmp_path_factory.mktemp("whole"), shard_size=1000)


def _same_tables(a: Path, b: Path) -> None:
    import pyarrow.parquet as pq

    for rel in TABLES:
        if rel.endswith(".parquet"):  # one row group per shard: the same table in different bytes
            assert pq.read_table(a / rel).equals(pq.read_table(b / rel)), rel
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_any_cut_into_shards_gives_the_same_study(whole, tmp_path):
    res = _study(tmp_path / "cut", shard_size=3)
    assert res.shards["shards"] == 11 and whole.shards["shards"] == 1
    _same_tables(whole.out, res.out)
    assert res.sentences.equals(whole.sentences) and len(res.sentence_stats) == len(whole.sentences)
    shown = res.sentences_of(["demo-001"])
    assert set(shown["article_id"]) == {"demo-001"} and shown["text"].str.len().min() > 0
    assert not list((res.out / "shards" / "input").glob("part-*"))  # the input copies go once done
    assert len(RunDir(res.out).done()) == 11


def test_a_folder_of_gz_shards_gives_the_same_study_as_the_single_file(whole, tmp_path):
    lines = DEMO_CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "news").mkdir()
    for i in range(0, len(lines), 10):
        (tmp_path / "news" / f"part-{i:03d}.jsonl.gz").write_bytes(gzip.compress("".join(lines[i:i + 10]).encode()))
    res = _study(tmp_path / "out", corpus=tmp_path / "news", shard_size=7)
    for rel in ("tables/articles.csv", "tables/sentences.csv", "tables/aggregates.csv", "relevance.jsonl"):
        assert (res.out / rel).read_bytes() == (whole.out / rel).read_bytes(), rel
    manifest = json.loads((res.out / "manifest.json").read_text(encoding="utf-8"))
    assert sum(f["path"].endswith(".jsonl.gz") for f in manifest["inputs"]) == 4


def _run_cli(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "SECFRAMING_PROGRESS_INTERVAL": "3600"}
    args = [sys.executable, "-m", "secframing.cli", "study", "--corpus", str(DEMO_CORPUS), "--out", str(out),
            "--shard-size", "1", "--set", "bootstrap.n_resamples=200", "--set", "report.figures=false", *extra]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_study_killed_mid_run_resumes_to_the_same_result(whole, tmp_path):
    out = tmp_path / "killed"
    proc = _run_cli(out)
    run = RunDir(out)
    deadline = time.monotonic() + 120
    while not run.done() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-batch: the next shard is being classified
    proc.wait()
    done = run.done()
    assert 0 < len(done) < 32, "the run must be killed part-way for this test to mean anything"
    assert not (out / "tables" / "sentences.parquet").exists()

    # the same run directory with another config is refused, in one line
    other = runner.invoke(app, ["study", "--corpus", str(DEMO_CORPUS), "--out", str(out), "--shard-size", "1",
                                "--set", "bootstrap.n_resamples=300", "--resume", "--quiet"])
    assert other.exit_code == 2 and "another config" in other.stderr

    resumed = _run_cli(out, "--resume")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"{len(done)} of 32 shards resumed" in stdout
    _same_tables(whole.out, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["shards"]["resumed_shards"] == len(done) and manifest["shards"]["computed_shards"] == 32 - len(done)
    articles = pd.read_csv(out / "tables" / "articles.csv")
    assert articles["article_id"].is_unique and len(articles) == 32


def test_ray_with_two_workers_writes_the_same_study(whole, tmp_path):
    pytest.importorskip("ray")
    res = _study(tmp_path / "ray", kind="ray", workers=2, shard_size=4)
    _same_tables(whole.out, res.out)
    pids = {json.loads(p.read_text())["pid"] for p in (res.out / "shards" / "output").glob("*.done.json")}
    assert len(pids) == 2 and os.getpid() not in pids  # two actors did the work, not the driver


def test_reading_progress_counts_bytes_of_the_files_with_an_eta(tmp_path):
    from secframing.io.readers import ArticleStream

    rows = [article(i, text=f"{AR_FACTUAL} {i}") for i in range(1, 300)]
    plain = write_jsonl(tmp_path / "c.jsonl", rows)
    packed = _compress(plain, "gzip")
    for path in (plain, packed):
        stream = ArticleStream(path)
        seen = []
        stream.on_row = lambda s=stream, seen=seen: seen.append(s.position.bytes_read())
        assert len([a for a in stream]) == 299
        assert stream.position.total == path.stat().st_size and stream.position.done == path.stat().st_size
        assert seen == sorted(seen) and 0 < seen[0] <= seen[-1] <= path.stat().st_size
    log = io.StringIO()
    with Progress("reading", total=2_500_000, interval=0, stream=log, unit_bytes=True) as bar:
        bar.update(1_250_000)
    assert log.getvalue().splitlines()[-1].startswith("reading: 1.2/2.5 MB (50%)")
    assert "MB/s" in log.getvalue() and "ETA" in log.getvalue()
