"""The command-line contracts: predict (JSONL/CSV/TSV, rejects, one-line errors), train, help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO, write_jsonl
from secframing.cli import app
from secframing.paths import CONFIG_DIR, DEFAULT_MODEL_DIR

runner = CliRunner()


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_help_lists_every_subcommand():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in ("study", "predict", "train", "data", "eval"):
        assert cmd in res.output


def test_predict_jsonl_keeps_order_and_routes_bad_rows_to_rejects(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [
        {"id": "s1", "text": AR_PROMO}, {"id": "s2", "text": AR_FACTUAL}, '{"id": "s3", "text": ',
        {"id": "s4"}, {"id": "s5", "text": "  "}, {"id": 6, "text": AR_OTHER}, {"text": AR_FACTUAL}])
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["predict", "--model", str(DEFAULT_MODEL_DIR), "--input", str(inp), "--output", str(out)])
    assert res.exit_code == 0, res.output
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["s1", "s2", 6, 7]  # a row without id gets its line number
    assert [r["label"] for r in rows] == ["promotional", "factual", "other", "factual"]
    for r in rows:
        assert set(r) >= {"id", "label", "score", "probs"} and r["score"] == r["probs"][r["label"]]
        assert abs(sum(r["probs"].values()) - 1) < 1e-6
    rejects = read_jsonl(tmp_path / "out.jsonl.rejects.jsonl")
    assert [(r["line"], r["id"]) for r in rejects] == [(3, None), (4, "s4"), (5, "s5")]
    assert "malformed JSON" in rejects[0]["reason"] and rejects[0]["input"].startswith('{"id": "s3"')
    assert rejects[1]["reason"].startswith("missing field 'text'")
    assert len(rows) + len(rejects) == 7


@pytest.mark.parametrize("sep,ext", [(",", "csv"), ("\t", "tsv")])
def test_predict_csv_and_tsv_with_custom_fields(tmp_path, sep, ext):
    inp = tmp_path / f"in.{ext}"
    inp.write_text(f"sid{sep}sentence\nx1{sep}{AR_PROMO}\nx2{sep}{AR_FACTUAL}\nx3{sep}\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    res = runner.invoke(app, ["predict", "--model", str(DEFAULT_MODEL_DIR), "--input", str(inp), "--output", str(out),
                              "--id-field", "sid", "--text-field", "sentence"])
    assert res.exit_code == 0, res.output
    assert [(r["id"], r["label"]) for r in read_jsonl(out)] == [("x1", "promotional"), ("x2", "factual")]
    assert read_jsonl(tmp_path / "o.jsonl.rejects.jsonl")[0]["id"] == "x3"


@pytest.mark.parametrize("setup,expect", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes("نص".encode("cp1256") * 50 + b"\n"), "not UTF-8"),
])
def test_unreadable_input_is_a_one_line_error_not_a_traceback(tmp_path, setup, expect):
    inp = tmp_path / "in.jsonl"
    setup(inp)
    proc = subprocess.run([sys.executable, "-m", "secframing.cli", "predict", "--model", str(DEFAULT_MODEL_DIR),
                           "--input", str(inp), "--output", str(tmp_path / "o.jsonl")], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert expect in proc.stderr


def test_predict_with_a_missing_model_is_a_one_line_error(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": AR_FACTUAL}])
    res = runner.invoke(app, ["predict", "--model", str(tmp_path / "nomodel"), "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "model directory not found" in res.output


def test_train_writes_a_model_predict_loads_with_metrics_and_manifest(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / "lexicon_baseline.toml"),
                              "--output", str(out), "--set", "lexicon.threshold=2.5"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["lexicon"]["threshold"] == 2.5
    assert {"git", "inputs", "libraries", "started", "wall_seconds"} <= set(manifest)
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["team_cases"]["macro_f1"] <= 1 and len(metrics["team_cases"]["macro_f1_ci95"]) == 2
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": AR_PROMO}])
    res = runner.invoke(app, ["predict", "--model", str(out), "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 0 and read_jsonl(tmp_path / "o.jsonl")[0]["label"] == "promotional"


def test_train_with_a_bad_override_names_the_key(tmp_path):
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / "lexicon_baseline.toml"),
                              "--output", str(tmp_path / "r"), "--set", "lexicon.threshold=high"])
    assert res.exit_code == 2 and "lexicon.threshold must be float" in res.output


def test_data_select_and_segment_account_for_every_row(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "a1", "outlet": "X", "text": AR_FACTUAL + "وأضاف المصدر أن البحث جار."},
        {"id": "a2", "outlet": "X", "text": "فاز الفريق المحلي في مباراة الأمس بثلاثة أهداف."}, '{"id": "a3"'])
    res = runner.invoke(app, ["data", "select", "--corpus", str(corpus), "--output", str(tmp_path / "sel.jsonl")])
    assert res.exit_code == 0, res.output
    sel = read_jsonl(tmp_path / "sel.jsonl")
    assert [(r["article_id"], r["relevant"]) for r in sel] == [("a1", True), ("a2", False)]
    assert sel[0]["evidence"] and read_jsonl(tmp_path / "sel.jsonl.rejects.jsonl")[0]["line"] == 3
    res = runner.invoke(app, ["data", "segment", "--corpus", str(corpus), "--output", str(tmp_path / "seg.jsonl")])
    assert res.exit_code == 0, res.output
    segs = [r for r in read_jsonl(tmp_path / "seg.jsonl") if r["article_id"] == "a1"]
    assert [s["text"] for s in segs] == [AR_FACTUAL, "وأضاف المصدر أن البحث جار."]
    assert len(read_jsonl(tmp_path / "seg.jsonl.rejects.jsonl")) == 1


# the transformer configs name hub models (offline here): tests/test_transformer_backend.py runs them
# through the same runner on a tiny local BERT
EXPERIMENTS = sorted(p.name for p in (CONFIG_DIR / "experiments").glob("*.toml")
                     if p.name != "targets.toml" and not p.name.endswith("_transformer.toml"))


@pytest.mark.parametrize("config", EXPERIMENTS)
def test_every_experiment_config_runs_one_small_step(shared, tmp_path, config):
    """A dry run of each experiment on a small training sample: run dir complete and loadable by predict."""
    out = tmp_path / "run"
    # sentence encoders run at 10-300 sentences/s here: smaller samples keep the dry run short
    n_train, n_eval = (120, 80) if "embeddings" in config else (300, 300)
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / config), "--output", str(out),
                              "--set", f"max_train={n_train}", "--set", "bootstrap_resamples=100", "--set", "seeds=[1]",
                              "--set", f"max_eval={n_eval}"])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["dev"]["macro_f1"] <= 1 and len(metrics["dev"]["macro_f1_ci95"]) == 2
    assert "ece" in metrics["dev"] and metrics["predict_sentences_per_s"] > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["inputs"]) >= 2 and manifest["git"]["commit"]
    from secframing.models import load_model

    model = load_model(out)
    labels = set(json.loads((out / "model.json").read_text()).get("model_labels", ["promotional", "factual", "other"]))
    assert model.predict(["أوقفت الشرطة شخصين بمدينة فاس."])[0] in labels


def test_evaluate_and_report_regenerate_results_from_run_directories(shared, tmp_path):
    runs = tmp_path / "runs"
    cfg = str(CONFIG_DIR / "experiments" / "thatiar_subjectivity.toml")
    res = runner.invoke(app, ["train", "--config", cfg, "--output", str(runs / "thatiar"), "--set", "max_train=200",
                              "--set", "seeds=[1]", "--set", "bootstrap_resamples=100"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", "--config", cfg, "--model", str(runs / "thatiar"), "--output", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    ev = json.loads((tmp_path / "e.json").read_text())
    trained = json.loads((runs / "thatiar" / "metrics.json").read_text())
    assert ev["dev"]["macro_f1"] == trained["dev"]["macro_f1"]  # the saved model reproduces its metrics
    res = runner.invoke(app, ["report", "--runs", str(runs), "--output", str(tmp_path / "RESULTS.md")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert f"{trained['dev']['macro_f1']:.3f}" in md and "`thatiar_subjectivity`" in md
