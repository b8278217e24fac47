"""The ``secframing`` command line. Every subcommand is a thin wrapper over a function taking a config."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn, Optional

import typer

from secframing.config import ConfigError
from secframing.io.readers import InputFileError
from secframing.lexicon import LexiconError
from secframing.models.base import ModelLoadError
from secframing.paths import DEFAULT_MODEL_DIR, SharedDataMissing

app = typer.Typer(help="secframing: how Moroccan Arabic news frame the security services.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Corpus utilities: inventory of ../shared, relevance selection, segmentation.",
                       no_args_is_help=True)
eval_app = typer.Typer(help="Measure the text stages against the hand-made gold in data/eval.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(eval_app, name="eval")

USER_ERRORS = (InputFileError, ConfigError, ModelLoadError, SharedDataMissing, LexiconError, FileNotFoundError)


def _fail(exc: BaseException) -> NoReturn:
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    typer.echo(f"secframing: error: {msg}", err=True)
    raise typer.Exit(2)


@app.command()
def study(
    corpus: Path = typer.Option(None, help="Corpus file (JSONL, CSV, TSV or Parquet); default: the bundled demo corpus."),
    out: Path = typer.Option(Path("reports/study"), help="Report folder to write."),
    model: Path = typer.Option(DEFAULT_MODEL_DIR, help="Framing model directory."),
    config: Optional[Path] = typer.Option(None, help="Study config TOML (see configs/study.toml)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set bootstrap.n_resamples=500."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Force the input format: jsonl, csv, tsv, parquet."),
    encoding: Optional[str] = typer.Option(None, help="Input encoding when not UTF-8 (e.g. cp1256)."),
    quiet: bool = typer.Option(False, help="No progress bar."),
) -> None:
    """Run the framing study on a corpus and write index.html, figures and tables to OUT."""
    from secframing.config import from_dict, load_config
    from secframing.study.pipeline import StudyConfig, run_study

    try:
        base = [f"out={json.dumps(str(out))}", f"model={json.dumps(str(model))}"]
        if corpus is not None:
            base.append(f"corpus={json.dumps(str(corpus))}")
        if fmt:
            base.append(f"format={json.dumps(fmt)}")
        if encoding:
            base.append(f"encoding={json.dumps(encoding)}")
        cfg = load_config(StudyConfig, config, base + set_) if config else from_dict(StudyConfig, {}, base + set_)
        result = run_study(cfg, progress=not quiet and sys.stderr.isatty())
    except USER_ERRORS as exc:
        _fail(exc)
    acc = result.accounting
    typer.echo(f"read {acc['input_rows']} rows: {acc['articles']} articles, {acc['rejected_rows']} rejected; "
               f"{acc['relevant_articles']} security-coverage articles, {acc['sentences']} sentences "
               f"in {result.timings['total']:.1f}s")
    typer.echo(f"report: {result.out / 'index.html'}")


@app.command()
def predict(
    model: Path = typer.Option(..., help="Model directory (e.g. models/default)."),
    input: Path = typer.Option(..., "--input", help="JSONL, CSV or TSV file, one sentence a row."),
    output: Path = typer.Option(..., help="Output JSONL: id, label, score, probs, devices per input row."),
    id_field: str = typer.Option("id", help="Column holding the row id."),
    text_field: str = typer.Option("text", help="Column holding the sentence."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Force the input format: jsonl, csv, tsv."),
    encoding: Optional[str] = typer.Option(None, help="Input encoding when not UTF-8."),
) -> None:
    """Label sentences; unreadable rows go to OUTPUT.rejects.jsonl with their reason."""
    from secframing.predict import predict_file

    try:
        s = predict_file(model, input, output, id_field, text_field, fmt, encoding)
    except USER_ERRORS as exc:
        _fail(exc)
    typer.echo(f"{s.predicted} of {s.rows} rows predicted -> {s.output}; {s.rejected} rejected -> {s.rejects}")


@app.command()
def train(
    config: Path = typer.Option(..., help="Experiment config, e.g. configs/experiments/lexicon_baseline.toml."),
    output: Path = typer.Option(..., help="Run/model directory to write."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set lexicon.threshold=2.5."),
) -> None:
    """Build a model from an experiment config; writes the model, metrics and run manifest."""
    from secframing.experiments.runner import train as run_train

    try:
        metrics = run_train(config, output, tuple(set_))
    except USER_ERRORS as exc:
        _fail(exc)
    for name, m in metrics.items():
        typer.echo(f"{name}: macro-F1 {m['macro_f1']:.3f} (95% CI {m['macro_f1_ci95'][0]:.3f}-{m['macro_f1_ci95'][1]:.3f}, n={m['n']})")
    typer.echo(f"model: {output}")


@data_app.command("inventory")
def data_inventory() -> None:
    """List every shared data file with its size and sha256 (JSON)."""
    from secframing.io.adapters import inventory

    try:
        typer.echo(json.dumps(inventory(), ensure_ascii=False, indent=2))
    except USER_ERRORS as exc:
        _fail(exc)


def _read_corpus(corpus: Path, output: Path):
    """Read a corpus for a data command; its rejects go to ``<output>.rejects.jsonl``."""
    from secframing.io.readers import read_articles
    from secframing.predict import rejects_path

    try:
        read = read_articles(corpus)
    except USER_ERRORS as exc:
        _fail(exc)
    with open(rejects_path(output), "w", encoding="utf-8") as fh:
        for rej in read.rejects:
            fh.write(json.dumps(rej.to_dict(), ensure_ascii=False) + "\n")
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
    from secframing.text.segment import segment

    read = _read_corpus(corpus, output)
    n = 0
    with open(output, "w", encoding="utf-8") as fh:
        for art in read.articles:
            for fld, text in (("title", art.title), ("text", art.text)):
                for s in segment(text or ""):
                    fh.write(json.dumps({"article_id": art.id, "field": fld, "start": s.start, "end": s.end,
                                         "text": s.text}, ensure_ascii=False) + "\n")
                    n += 1
    typer.echo(f"{n} sentences from {len(read.articles)} articles -> {output}")


@eval_app.command("segmentation")
def eval_segmentation(
    gold: list[Path] = typer.Option(None, help="Gold files (default: data/eval/segmentation_*.jsonl)."),
    errors: bool = typer.Option(False, help="Also list each wrong boundary."),
) -> None:
    """Sentence error rate and boundary P/R/F1 against the hand-segmented gold (needs ../shared)."""
    from secframing.evaluation.segmentation import evaluate_segmentation
    from secframing.paths import DATA_DIR

    files = gold or sorted((DATA_DIR / "eval").glob("segmentation_*.jsonl"))
    try:
        out = {}
        for f in files:
            s = evaluate_segmentation(f)
            out[f.name] = {**s.summary(), **({"errors": s.errors} if errors else {})}
    except USER_ERRORS as exc:
        _fail(exc)
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))


@eval_app.command("relevance")
def eval_relevance(errors: bool = typer.Option(False, help="Also list each disagreement.")) -> None:
    """Relevance precision/recall against the hand-checked samples (needs ../shared)."""
    from secframing.evaluation.relevance import evaluate_relevance

    try:
        res = evaluate_relevance()
    except USER_ERRORS as exc:
        _fail(exc)
    if not errors:
        for v in res.values():
            if isinstance(v, dict):
                v.pop("errors", None)
    typer.echo(json.dumps(res, ensure_ascii=False, indent=2))


@eval_app.command("framing")
def eval_framing(
    gold: Path = typer.Option(Path("data/annotations/pilot_v1.jsonl"), help="Stand-off gold annotations."),
    model: Path = typer.Option(DEFAULT_MODEL_DIR, help="Model directory."),
) -> None:
    """Macro-F1 (with bootstrap CI) of a framing model on stand-off gold, per sampling stratum (needs ../shared)."""
    from secframing.annotate.standoff import AnnotationError
    from secframing.evaluation.framing import evaluate_framing
    from secframing.models import load_model

    try:
        res = evaluate_framing(load_model(model), gold)
    except USER_ERRORS + (AnnotationError,) as exc:
        _fail(exc)
    typer.echo(json.dumps(res, ensure_ascii=False, indent=2))


def main() -> None:
    """Console entry point: user errors and unexpected failures end in one line on stderr, not a
    traceback (set SECFRAMING_DEBUG=1 to see it)."""
    import os

    try:
        app()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the contract is one line, never a traceback
        if os.environ.get("SECFRAMING_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(f"secframing: error: {type(exc).__name__}: {first} (SECFRAMING_DEBUG=1 shows the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
