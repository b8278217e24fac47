"""Articles as Parquet, losslessly: the shards a streaming study cuts its corpus into.

Extra fields vary between rows, which Arrow columns cannot hold, so they travel as one JSON column.
Files are written under a temporary name and renamed, so a file that exists is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from secframing.io.schema import Article

ARTICLE_FIELDS = ("id", "outlet", "date", "title", "text", "url", "author", "category")


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([*[(c, pa.string()) for c in ARTICLE_FIELDS], ("warnings", pa.list_(pa.string())),
                      ("extra", pa.string())])


def write_articles_parquet(path: str | Path, articles: Sequence[Article]) -> Path:
    """Write ``articles`` to ``path`` atomically (temporary file, then rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list[Any]] = {c: [getattr(a, c) for a in articles] for c in ARTICLE_FIELDS}
    cols["warnings"] = [list(a.warnings) for a in articles]
    cols["extra"] = [json.dumps(a.extra, ensure_ascii=False, default=str) for a in articles]
    table = pa.table(cols, schema=_schema())
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_articles_parquet(path: str | Path) -> list[Article]:
    """The articles of a file written by :func:`write_articles_parquet`, in order."""
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    return [Article(**{c: r[c] for c in ARTICLE_FIELDS}, extra=json.loads(r["extra"]),
                    warnings=tuple(r["warnings"] or ())) for r in rows]


def atomic_write(path: str | Path, write: Any) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path``: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
