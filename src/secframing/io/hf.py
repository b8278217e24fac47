"""Conversion between articles and Hugging Face ``datasets``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from secframing.io.readers import echo_input
from secframing.io.schema import Article, ArticleRules, Reject, RowError, make_article

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


def dataset_to_articles(ds: Any, rules: ArticleRules | None = None) -> tuple[list[Article], list[Reject]]:
    """Articles from a dataset built by :func:`articles_to_dataset`, or from any dataset with a text
    column: rows go through the same checks as file rows, and rows that fail come back as rejects
    (``line`` is the row index + 1)."""
    rules = rules or ArticleRules()
    out, rejects = [], []
    for i, row in enumerate(ds, 1):
        if "extra" in row and isinstance(row.get("extra"), str):  # our own round trip: trust it
            extra = json.loads(row["extra"])
            out.append(Article(**{c: row.get(c) for c in _COLUMNS}, extra=extra,
                               warnings=tuple(row.get("warnings") or ())))
            continue
        try:
            out.append(make_article(dict(row), fallback_id=f"row:{i}", rules=rules))
        except RowError as err:
            rid = None if row.get("id") is None else str(row.get("id"))
            rejects.append(Reject("<datasets.Dataset>", i, err.reason, rid, err.field, echo_input(dict(row))))
    return out, rejects
