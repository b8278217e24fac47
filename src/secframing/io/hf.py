"""Conversion between articles and Hugging Face ``datasets``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from secframing.io.schema import Article

_COLUMNS = ("id", "outlet", "date", "title", "text", "url", "author", "category")


def articles_to_dataset(articles: Iterable[Article]) -> Any:
    """A ``datasets.Dataset`` with the schema columns, ``warnings`` and the extra fields as JSON text
    (extra fields vary between rows, which Arrow columns cannot hold)."""
    import datasets

    rows = [{**{c: getattr(a, c) for c in _COLUMNS}, "warnings": list(a.warnings),
             "extra": json.dumps(a.extra, ensure_ascii=False, default=str)} for a in articles]
    features = datasets.Features({**{c: datasets.Value("string") for c in _COLUMNS},
                                  "warnings": datasets.Sequence(datasets.Value("string")),
                                  "extra": datasets.Value("string")})
    return datasets.Dataset.from_list(rows, features=features)


def dataset_to_articles(ds: Any) -> list[Article]:
    """Articles back from a dataset built by :func:`articles_to_dataset` (or any dataset with the
    schema columns; unknown columns go to ``extra``)."""
    out = []
    for row in ds:
        extra = json.loads(row["extra"]) if isinstance(row.get("extra"), str) else {}
        extra.update({k: v for k, v in row.items() if k not in _COLUMNS + ("warnings", "extra")})
        out.append(Article(**{c: row.get(c) for c in _COLUMNS}, extra=extra,
                           warnings=tuple(row.get("warnings") or ())))
    return out
