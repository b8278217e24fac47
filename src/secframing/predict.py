"""``secframing predict``: label one sentence per input row, in order, with rejects for unreadable rows."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secframing.io.readers import Row, Source, echo_input, expand_sources, iter_source
from secframing.io.schema import RowError
from secframing.models.base import SentenceModel, load_model
from secframing.progress import Progress

BATCH = 512


@dataclass
class PredictSummary:
    rows: int
    predicted: int
    rejected: int
    output: Path
    rejects: Path


def rejects_path(output: str | Path) -> Path:
    """``<output>.rejects.jsonl`` beside the output file."""
    output = Path(output)
    return output.with_name(output.name + ".rejects.jsonl")


def _rows(sources: list[Source], fmt: str | None, encoding: str | None) -> Iterator[tuple[Source, Row]]:
    for src in sources:
        for row in iter_source(src, fmt, encoding):
            yield src, row


def predict_file(model: SentenceModel | str | Path, input_path: str | Path, output: str | Path,
                 id_field: str = "id", text_field: str = "text", fmt: str | None = None,
                 encoding: str | None = None, progress: bool = False) -> PredictSummary:
    """Predict every readable row of the input (one sentence a row) into a JSONL file, streaming.

    The input is a JSONL/CSV/TSV/Parquet file, plain or compressed, a folder or glob of such shards
    (read in path order) or an ``hf:`` dataset (see :func:`~secframing.io.readers.expand_sources`).
    Output rows keep the input order and carry ``id``, ``label``, ``score`` (probability of the label),
    ``probs`` and ``devices`` (and ``labels``, the predicted set, for a multi-label model). Rows without usable text go to ``<output>.rejects.jsonl`` with their line,
    file (with several inputs), id (if any), reason and the input line. Raises ``InputFileError`` when
    the input cannot be read at all.
    """
    # the first record before the model: an unreadable file fails at once (loading a model takes seconds)
    # and leaves no half-written output behind
    sources = expand_sources(input_path)
    many = len(sources) > 1
    records = _rows(sources, fmt, encoding)
    first = list(itertools.islice(records, 1))
    if not isinstance(model, SentenceModel):
        model = load_model(model)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    rej_path = rejects_path(output)
    n_rows = n_pred = n_rej = 0
    pending: list[tuple[Any, str]] = []

    with open(output, "w", encoding="utf-8") as out, open(rej_path, "w", encoding="utf-8") as rej:
        def flush() -> None:
            nonlocal n_pred
            for (rid, _), pred in zip(pending, model.predict_many([t for _, t in pending])):
                row = {"id": rid, "label": pred.label, "score": round(pred.score, 6), "probs": pred.probs,
                       "devices": list(pred.devices)}
                if pred.labels:  # a multi-label model's set (its probs are per label and need not sum to 1)
                    row["labels"] = list(pred.labels)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                n_pred += 1
            pending.clear()

        bar = Progress("predicting", unit="rows", enabled=progress)
        for src, (line, raw, record) in itertools.chain(first, records):
            n_rows += 1
            bar.update()
            rid = record.get(id_field) if isinstance(record, dict) else None
            reason = None
            if isinstance(record, RowError):
                reason = record.reason
            else:
                text = record.get(text_field)
                if text is None:
                    reason = f"missing field {text_field!r}" + (
                        f" (fields: {', '.join(map(str, record))})" if record else "")
                elif not isinstance(text, str):
                    reason = f"field {text_field!r} must be a string, got {type(text).__name__}"
                elif not text.strip():
                    reason = f"empty field {text_field!r}"
            if reason is not None:
                where = {"file": src.name} if many else {}
                rej.write(json.dumps({"line": line, **where, "id": rid, "reason": reason, "input": echo_input(raw)},
                                     ensure_ascii=False, default=str) + "\n")
                n_rej += 1
                continue
            pending.append((rid if rid is not None else (f"{src.stem}:{line}" if many else line), text))
            if len(pending) >= BATCH:
                flush()
        flush()
        bar.close()
    return PredictSummary(n_rows, n_pred, n_rej, output, rej_path)
