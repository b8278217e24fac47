"""Streaming, resumable study runs: the corpus cut into shards of articles, each shard processed once.

A run directory ``OUT/shards/`` holds

- ``state.json``: the fingerprint of the config and the inputs the shards belong to;
- ``input/part-NNNNN.parquet``: the validated articles, ``shard_size`` per file, and ``input/_DONE.json``
  (rows, articles, rejects, shards, the inputs with their hashes) once the whole corpus is read;
- ``output/part-NNNNN.{articles,sentences}.parquet`` and ``.{relevance,topics}.jsonl``: the tables of one
  shard, and ``part-NNNNN.done.json``, written last: a shard is done exactly when its marker exists.

Every file is written under a temporary name and renamed, so a run killed at any point (``kill -9``
mid-batch included) leaves only complete files; ``--resume`` skips the shards with a marker and
computes the others, giving the same tables as an uninterrupted run. Reading the corpus is the only
step that restarts from the beginning when it was interrupted (it is cheap beside the models).

Shards run one after another in this process (``engine.kind = "local"``) or on a pool of Ray actors
through Ray Data (``"ray"``), each actor loading the models once; both call :class:`ShardWorker`, so
they write the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from secframing.config import ConfigError
from secframing.io.arrow import atomic_write, read_articles_parquet, write_articles_parquet
from secframing.io.readers import ArticleStream, expand_sources
from secframing.io.schema import Article
from secframing.manifest import FileInfo, now_iso
from secframing.progress import Progress
from secframing.study.config import StudyConfig
from secframing.study.process import ArticleProcessor, ShardTables, table_to_arrow

STATE_VERSION = 1


class ResumeError(ConfigError):
    """``--resume`` was asked for a run directory that belongs to another config or corpus (a user
    error: reported in one line by the command line)."""


class RunDir:
    """The paths of a run directory's shards."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.root = self.out / "shards"
        self.input = self.root / "input"
        self.output = self.root / "output"
        self.state = self.root / "state.json"
        self.input_done = self.input / "_DONE.json"

    def input_part(self, k: int) -> Path:
        return self.input / f"part-{k:05d}.parquet"

    def part(self, k: int, kind: str) -> Path:
        """An output file of shard ``k``: ``articles.parquet``, ``sentences.parquet``, ``relevance.jsonl``,
        ``topics.jsonl`` or ``done.json``."""
        return self.output / f"part-{k:05d}.{kind}"

    def done(self) -> set[int]:
        """The shards whose tables are complete."""
        if not self.output.is_dir():
            return set()
        return {int(p.name[5:10]) for p in self.output.glob("part-*.done.json")}

    def summary(self) -> dict[str, Any]:
        return json.loads(self.input_done.read_text(encoding="utf-8"))


def fingerprint(config: StudyConfig) -> str:
    """What the shards depend on: the config (less where the run goes and which engine runs it; the shard
    size stays in) and each input's path, size and modification time."""
    cfg = dataclasses.asdict(config)
    cfg.pop("out")
    engine = cfg.pop("engine")
    cfg["shard_size"] = engine["shard_size"]
    stamps = []
    for src in expand_sources(config.corpus):
        if src.path is not None:
            st = src.path.stat()
            stamps.append((src.name, st.st_size, st.st_mtime_ns))
        else:
            stamps.append((src.name, None, None))
    for model in (config.model, config.sentiment_model):
        meta = Path(model) / "model.json"
        stamps.append((str(meta), meta.stat().st_size if meta.exists() else None,
                       hashlib.sha256(meta.read_bytes()).hexdigest() if meta.exists() else None))
    blob = json.dumps({"config": cfg, "inputs": stamps, "version": STATE_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def prepare(run: RunDir, config: StudyConfig, resume: bool) -> bool:
    """Set up ``run`` for ``config``: keep its shards when resuming the same run, else start afresh.
    Returns whether earlier work is resumed; raises :class:`ResumeError` when ``resume`` meets a run
    of another config or corpus."""
    fp = fingerprint(config)
    if resume and run.state.exists():
        state = json.loads(run.state.read_text(encoding="utf-8"))
        if state.get("fingerprint") != fp:
            raise ResumeError(f"{run.out}: its shards come from another config, corpus or model "
                              f"(started {state.get('created')}); run without --resume, or choose another --out")
        return True
    if run.root.exists():
        shutil.rmtree(run.root)
    run.output.mkdir(parents=True)
    run.input.mkdir(parents=True)
    _write_json(run.state, {"fingerprint": fp, "created": now_iso(), "version": STATE_VERSION,
                            "corpus": str(config.corpus), "shard_size": config.engine.shard_size})
    return False


def split_input(run: RunDir, config: StudyConfig, show: bool = False) -> dict[str, Any]:
    """Read the corpus once, streaming: valid articles into input shards, the rest into ``rejects.jsonl``.
    Returns (and records in ``input/_DONE.json``) the row counts, shard count and inputs; a finished
    split is reused as it is."""
    if run.input_done.exists():
        return run.summary()
    for stale in run.input.glob("part-*.parquet"):  # an interrupted split restarts from the first row
        stale.unlink()
    size = config.engine.shard_size
    stream = ArticleStream(config.corpus, config.rules, config.format, config.encoding)
    pos = stream.position
    # files: bytes read of their summed size (compressed bytes for compressed files), with an ETA;
    # a dataset: rows, without one
    if pos.total:
        bar = Progress("reading", total=pos.total, enabled=show, unit_bytes=True)
        stream.on_row = lambda: bar.update(pos.bytes_read() - bar.n)  # bar.n: the bytes shown so far
    else:
        bar = Progress("reading", unit="rows", enabled=show)
        stream.on_row = bar.update
    n_articles = n_rejects = n_shards = 0
    buffer: list[Article] = []
    rejects = run.out / "rejects.jsonl"
    tmp = rejects.with_name(f".{rejects.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as rej, bar:
        for item in stream:
            if isinstance(item, Article):
                buffer.append(item)
                n_articles += 1
                if len(buffer) == size:
                    write_articles_parquet(run.input_part(n_shards), buffer)
                    n_shards, buffer = n_shards + 1, []
            else:
                rej.write(json.dumps(item.to_dict(), ensure_ascii=False, default=str) + "\n")
                n_rejects += 1
    if buffer:
        write_articles_parquet(run.input_part(n_shards), buffer)
        n_shards += 1
    os.replace(tmp, rejects)
    summary = {"rows": stream.n_rows, "articles": n_articles, "rejects": n_rejects, "shards": n_shards,
               "shard_size": size, "sources": [s.to_dict() for s in stream.sources], "finished": now_iso()}
    _write_json(run.input_done, summary)
    return summary


def sources_of(summary: dict[str, Any]) -> list[FileInfo]:
    return [FileInfo(**s) for s in summary["sources"]]


class ShardWorker:
    """Processes input shards into output shards; models and lexicons load once, in ``__init__``.

    Called directly by the local engine and, as a Ray Data callable class, once per batch of shard
    numbers by the actors of the Ray engine."""

    def __init__(self, config: StudyConfig, out: str, threads: int = 0,
                 processor: ArticleProcessor | None = None):
        if threads:
            _set_threads(threads)
        self.run = RunDir(out)
        self.processor = processor or ArticleProcessor(config)

    def process(self, k: int) -> dict[str, Any]:
        """Compute shard ``k`` and write its tables, the done marker last; returns the marker."""
        t0 = time.time()
        articles = read_articles_parquet(self.run.input_part(k))
        tables = self.processor.process(articles)
        write_shard(self.run, k, tables)
        marker = {"shard": k, "articles": len(articles), "relevant": int(tables.articles["relevant"].sum()),
                  "sentences": len(tables.sentences), "started_unix": round(t0, 3),
                  "finished_unix": round(time.time(), 3), "pid": os.getpid()}
        _write_json(self.run.part(k, "done.json"), marker)
        return marker

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        markers = [self.process(int(k)) for k in batch["shard"]]
        return {"shard": np.array([m["shard"] for m in markers]),
                "articles": np.array([m["articles"] for m in markers])}


def write_shard(run: RunDir, k: int, tables: ShardTables) -> None:
    import pyarrow.parquet as pq

    from secframing.study.process import ARTICLE_COLUMNS, SENTENCE_COLUMNS

    atomic_write(run.part(k, "articles.parquet"),
                 lambda p: pq.write_table(table_to_arrow(tables.articles, ARTICLE_COLUMNS), p))
    atomic_write(run.part(k, "sentences.parquet"),
                 lambda p: pq.write_table(table_to_arrow(tables.sentences, SENTENCE_COLUMNS), p))
    for kind, rows in (("relevance.jsonl", tables.relevance), ("topics.jsonl", tables.topics)):
        atomic_write(run.part(k, kind), lambda p, rows=rows: Path(p).write_text(
            "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows), encoding="utf-8"))


def process_shards(run: RunDir, config: StudyConfig, summary: dict[str, Any], show: bool = False,
                   processor: ArticleProcessor | None = None) -> dict[str, Any]:
    """Compute every shard without a done marker, on the configured engine. Returns what was done."""
    done = run.done()
    pending = [k for k in range(summary["shards"]) if k not in done]
    sizes = _shard_sizes(summary)
    total = summary["articles"]
    bar = Progress("classifying", total=total, unit="articles", enabled=show)
    bar.update(sum(sizes[k] for k in done if k < len(sizes)))
    with bar:
        if pending and config.engine.kind == "ray":
            _run_ray(run, config, pending, bar)
        elif pending:
            worker = ShardWorker(config, str(run.out), processor=processor)
            for k in pending:
                bar.update(worker.process(k)["articles"])
    return {"shards": summary["shards"], "resumed_shards": len(done), "computed_shards": len(pending),
            "engine": config.engine.kind}


def _shard_sizes(summary: dict[str, Any]) -> list[int]:
    n, size = summary["articles"], summary["shard_size"]
    return [min(size, n - k * size) for k in range(summary["shards"])]


def _run_ray(run: RunDir, config: StudyConfig, pending: list[int], bar: Progress) -> None:
    """The pending shards on a pool of ``engine.workers`` Ray actors (Ray Data ``map_batches``)."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("engine.kind = 'ray' needs Ray: pip install 'secframing[ray]'") from None
    eng = config.engine
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"address": eng.address} if eng.address else {
            "num_cpus": eng.workers, "include_dashboard": False,
            "num_gpus": math.ceil(eng.gpus_per_worker * eng.workers) if eng.gpus_per_worker else None}
        ray.init(log_to_driver=False, logging_level="ERROR", configure_logging=True, **kwargs)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its per-dataset INFO lines: our progress shows
        ctx.enable_progress_bars = False
        ctx.execution_options.preserve_order = False
        ds = ray.data.from_items([{"shard": k} for k in pending], override_num_blocks=len(pending))
        gpus = {"num_gpus": eng.gpus_per_worker} if eng.gpus_per_worker else {}
        pool = ray.data.ActorPoolStrategy(size=min(eng.workers, len(pending)))
        out = ds.map_batches(ShardWorker, batch_size=1, compute=pool, num_cpus=1,
                             fn_constructor_kwargs={"config": _absolute(config), "out": str(run.out.resolve()),
                                                    "threads": eng.threads_per_worker or 1},
                             **gpus)
        for row in out.iter_rows():
            bar.update(int(row["articles"]))
    finally:
        if started:
            ray.shutdown()


def _absolute(config: StudyConfig) -> StudyConfig:
    """The config with its local paths absolute: Ray workers need not share the driver's directory."""
    from secframing.config import path_fields

    out: Any = config
    for keys in path_fields(type(config)):
        out = _replace_path(out, keys)
    return out


def _replace_path(obj: Any, keys: tuple[str, ...]) -> Any:
    value = getattr(obj, keys[0])
    if len(keys) > 1:
        return dataclasses.replace(obj, **{keys[0]: _replace_path(value, keys[1:])})
    if isinstance(value, str) and value and os.path.exists(value):
        return dataclasses.replace(obj, **{keys[0]: os.path.abspath(value)})
    return obj


def _set_threads(n: int) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(n)


def iter_parts(run: RunDir, kind: str, n_shards: int) -> Iterator[Path]:
    """The output files of one kind, in shard order; a missing shard is an error, not a gap."""
    for k in range(n_shards):
        path = run.part(k, kind)
        if not run.part(k, "done.json").exists() or not path.exists():
            raise RuntimeError(f"{run.root}: shard {k} is not finished; run again with --resume")
        yield path


def finish(run: RunDir, config: StudyConfig) -> None:
    """After a complete run: drop the input shards unless ``engine.keep_input_shards``."""
    if not config.engine.keep_input_shards:
        for p in run.input.glob("part-*.parquet"):
            p.unlink()


def _write_json(path: Path, data: Any) -> None:
    atomic_write(path, lambda p: Path(p).write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str)
                                                    + "\n", encoding="utf-8"))
