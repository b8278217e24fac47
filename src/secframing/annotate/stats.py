"""Dataset statistics and agreement figures, computed from the annotation files (never by hand)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.annotate.agreement import agreement, pair_passes
from secframing.annotate.gold import ANNOTATIONS, gold_frame, load_pass
from secframing.labels import DEVICES


def dataset_stats(root: Path = ANNOTATIONS, with_agreement: bool = True, gold: pd.DataFrame | None = None,
                  articles: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts per layer, label, outlet, category, stratum and split, plus agreement (needs ../shared
    for outlet and category, which come from the articles). ``gold``/``articles`` may be passed in by a
    caller that already loaded them."""
    from secframing.annotate.standoff import shared_articles

    arts = articles or shared_articles()
    df = (gold if gold is not None else gold_frame(root, with_text=False)).copy()
    df["outlet"] = df["article_id"].map(lambda i: arts[i].outlet if i in arts else None)
    df["category"] = df["article_id"].map(lambda i: (arts[i].category or "(none)") if i in arts else None)
    content = df[df["framing"].isin(["promotional", "factual"])]
    out: dict[str, Any] = {
        "sentences": len(df), "content_sentences": len(content), "articles": int(df["article_id"].nunique()),
        "guidelines": dict(Counter(df["guideline"])), "annotators": dict(Counter(df["annotator"])),
        "framing": dict(Counter(df["framing"])),
        "promotional_corpus": int(((df["framing"] == "promotional") & ~df["article_id"].str.startswith("seed_")).sum()), "sentiment": dict(Counter(df["sentiment"])),
        "devices": {d: int(df["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES},
        "low_confidence": int((df["confidence"] == "low").sum()), "adjudicated": int(df["adjudicated"].sum()),
    }
    for by in ("outlet", "category", "stratum", "split"):
        table = df.groupby(by, dropna=False)["framing"].value_counts().unstack(fill_value=0)
        out[f"by_{by}"] = {str(k): {**{c: int(v) for c, v in row.items()}, "articles": int(df.loc[df[by] == k, "article_id"].nunique())}
                           for k, row in table.iterrows()}
    if with_agreement and (root / "second").exists():
        pairs = pair_passes(load_pass(root / "primary"), load_pass(root / "second"))
        out["agreement"] = agreement(pairs) if pairs else None
    return out
