"""Dataset statistics and agreement figures, computed from the annotation files (never by hand)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.annotate.agreement import agreement, layer_agreement, pair_passes
from secframing.annotate.gold import ANNOTATIONS, OVERRIDES, gold_frame, load_pass
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS


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
        "promotional_corpus": int(((df["framing"] == "promotional") & ~df["article_id"].str.startswith("seed_")).sum()),
        "promotional_corpus_articles": int(df.loc[(df["framing"] == "promotional") & ~df["article_id"].str.startswith("seed_"),
                                                  "article_id"].nunique()),
        "sentiment": dict(Counter(df["sentiment"])),
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
    out.update(gold_v2_stats(root, with_agreement))
    return out


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    import json

    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _two_pass(first: list[dict[str, Any]], second: list[dict[str, Any]], key: str | tuple[str, ...]) -> dict[str, Any]:
    """Agreement of two passes over the same units (framing, promotional vs rest, sentiment)."""
    def k(r: dict[str, Any]) -> Any:
        return r[key] if isinstance(key, str) else tuple(r[x] for x in key)

    other = {k(r): r for r in second}
    pairs = [(r, other[k(r)]) for r in first if k(r) in other]
    return {"units": len(pairs),
            "framing": layer_agreement([a["framing"] for a, _ in pairs], [b["framing"] for _, b in pairs], FRAMING_LABELS),
            "framing_promotional_vs_rest": layer_agreement([str(a["framing"] == "promotional") for a, _ in pairs],
                                                           [str(b["framing"] == "promotional") for _, b in pairs],
                                                           ["True", "False"]),
            "sentiment": layer_agreement([a["sentiment"] for a, _ in pairs], [b["sentiment"] for _, b in pairs], SENTIMENT_LABELS)}


def gold_v2_stats(root: Path = ANNOTATIONS, with_agreement: bool = True) -> dict[str, Any]:
    """The gold-v2 work: the v1.3 re-review (its counts, and the agreement of its two blind passes, a
    promotional-enriched sample), round 5 of the corpus search (what it found, and its second pass), and
    the team-written Darija sets."""
    from secframing.annotate.darija import DARIJA_DIR, darija_stats

    out: dict[str, Any] = {}
    review, passes = root / "review_v1_3.jsonl", root / "review_v1_3"
    rv: dict[str, Any] = {}
    if (passes / "pass_a.jsonl").exists():
        a, b = _read_jsonl(passes / "pass_a.jsonl"), _read_jsonl(passes / "pass_b.jsonl")
        rv["passes"] = {"a": len(a), "b": len(b)}
        if with_agreement:
            rv["agreement"] = _two_pass(a, b, "unit")
            both = {r["unit"] for r in b}
            rv["agreement"]["gold_promotional_share"] = round(
                sum(r["framing"] == "promotional" for r in a if r["unit"] in both) / max(1, len(both)), 3)
    if review.exists():
        recs = _read_jsonl(review)
        rv.update({
            "units": len(recs), "by_reason": dict(Counter(x for r in recs for x in r["reasons"])),
            "framing_changed": sum(r["previous"]["framing"] != r["framing"] for r in recs),
            "sentiment_changed": sum(r["previous"]["sentiment"] != r["sentiment"] for r in recs),
            "framing_transitions": dict(Counter(f"{r['previous']['framing']}->{r['framing']}" for r in recs
                                                if r["previous"]["framing"] != r["framing"])),
            "adjudicated": sum(1 for r in recs if "+" not in r["annotator"]),
            "voice": dict(Counter(r["voice"] for r in recs if r["framing"] == "promotional")),
            "applied_to_gold": review.name in OVERRIDES,
        })
    if rv:
        out["review_v1_3"] = rv
    r5 = root / "round5"
    if (r5 / "primary.jsonl").exists():
        first = _read_jsonl(r5 / "primary.jsonl")
        promo = [r for r in first if r["framing"] == "promotional"]
        out["round5"] = {"sentences": len(first), "articles": len({r["article_id"] for r in first}),
                         "framing": dict(Counter(r["framing"] for r in first)),
                         "by_stratum": {s: dict(Counter(r["framing"] for r in first if r["stratum"] == s))
                                        for s in sorted({r["stratum"] for r in first})},
                         "promotional_articles": len({r["article_id"] for r in promo})}
        if with_agreement and (r5 / "second.jsonl").exists():
            out["round5"]["agreement_top200"] = _two_pass(first, _read_jsonl(r5 / "second.jsonl"),
                                                          ("article_id", "field", "start", "end"))
    if (DARIJA_DIR / "news_v1.jsonl").exists():
        out["darija"] = darija_stats(DARIJA_DIR, n_boot=1000 if with_agreement else 10)
    v3 = synthetic_v3_stats(with_detectability=with_agreement)
    if v3:
        out["synthetic_v3"] = v3
    return out


def synthetic_v3_stats(with_detectability: bool = True) -> dict[str, Any] | None:
    """The rewrites of real sentences (``rewrites_v3``): counts, and how well a classifier tells them from
    real gold sentences of the same label (None where the set does not exist)."""
    from secframing.annotate.synthetic import SYNTHETIC_DIR, detectability, load_synthetic

    if not (SYNTHETIC_DIR / "rewrites_v3.jsonl").exists():
        return None
    v3 = load_synthetic(sets=("rewrites_v3",))
    out: dict[str, Any] = {"sentences": len(v3), "sources": int(v3["rewrite_of"].map(lambda s: tuple(s.values())).nunique()),
                           "framing": dict(Counter(v3["framing"])), "kind": dict(Counter(v3["kind"]))}
    if with_detectability:
        real = gold_frame()
        out["detectability"] = [detectability(real, v3, lab) for lab in FRAMING_LABELS]
    return out
