"""The gold set: primary annotations, overridden by adjudication where passes disagreed, with the
sampling stratum and weight of every sentence and a fixed split by article."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.annotate.standoff import Annotation, hydrate, load_annotations, shared_articles
from secframing.io.adapters import CORPUS_REL
from secframing.io.cache import FileStampedCache, copy_frame
from secframing.paths import DATA_DIR, shared_dir

ANNOTATIONS = DATA_DIR / "annotations"
SPLITS = DATA_DIR / "splits" / "gold_v1.json"


@dataclass(frozen=True)
class SplitConfig:
    seed: int = 20261122
    dev: float = 0.2
    test: float = 0.2
    """20% each: promotional sentences are rare, and a smaller test split would leave too few to measure."""
    near_duplicate_jaccard: float = 0.5
    """Articles whose character 5-gram sets overlap this much are kept in one split."""


def load_pass(folder: str | Path) -> list[Annotation]:
    """All annotation files of a folder (``primary/`` or ``second/``), in file then line order."""
    out: list[Annotation] = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        out.extend(load_annotations(path))
    return out


OVERRIDES = ("adjudication.jsonl", "review_v1_2.jsonl")
"""Decisions that replace primary labels, applied in this order (a later file wins): the adjudication of
agreement-sample disagreements, then the review of sentences affected by the v1.2 clarifications.

The v1.3 re-review (``review_v1_3.jsonl``: two blind passes and an adjudication,
:mod:`secframing.annotate.review`) is stored but not yet applied: it changes 107 framing labels (50
promotional ones), so it lands together with the retrained shipped models and splits v2."""


def gold_annotations(root: Path = ANNOTATIONS) -> list[Annotation]:
    """Primary labels with adjudicated and reviewed decisions substituted (one record per sentence)."""
    primary = load_pass(root / "primary")
    adjudicated: dict[tuple[str, str, int, int], Annotation] = {}
    for name in OVERRIDES:
        if (root / name).exists():
            adjudicated.update({(a.article_id, a.field, a.start, a.end): a for a in load_annotations(root / name)})
    seen, out = set(), []
    for a in primary:
        k = (a.article_id, a.field, a.start, a.end)
        if k in seen:
            raise ValueError(f"{a.source}: line {a.line}: unit annotated twice in the primary pass")
        seen.add(k)
        out.append(adjudicated.get(k, a))
    return out


def unit_strata(root: Path = ANNOTATIONS) -> dict[tuple[str, str, int, int], tuple[str, str]]:
    """(article, field, start, end) -> (unit id, stratum) from ``units.jsonl``, the record of what was drawn."""
    out = {}
    with open(root / "units.jsonl", encoding="utf-8") as fh:
        for line in fh:
            u = json.loads(line)
            out[(u["article_id"], u["field"], u["start"], u["end"])] = (u["unit"], u["stratum"])
    return out


def design_weights(root: Path = ANNOTATIONS) -> dict[str, float]:
    design = json.loads((root / "design.json").read_text(encoding="utf-8"))
    return {name: s["weight"] for name, s in design["strata"].items()}


def _shingles(text: str, n: int = 5) -> set[str]:
    t = " ".join(text.split())
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def make_splits(article_ids: list[str], promotional: dict[str, bool], strata: dict[str, str],
                texts: dict[str, str], config: SplitConfig | None = None) -> dict[str, str]:
    """Assign articles to train/dev/test, stratified by (stratum, has a promotional sentence), keeping
    near-duplicate articles together."""
    cfg = config or SplitConfig()
    ids = sorted(set(article_ids))
    sh = {i: _shingles(texts[i]) for i in ids}
    parent = {i: i for i in ids}

    def find(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = sh[ids[x]], sh[ids[y]]
            if len(a & b) / max(1, len(a | b)) >= cfg.near_duplicate_jaccard:
                parent[find(ids[y])] = find(ids[x])
    groups: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        groups[find(i)].append(i)
    cells: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for root, members in groups.items():
        cells[(strata[root], any(promotional.get(m, False) for m in members))].append(root)
    rng = random.Random(cfg.seed)
    assign: dict[str, str] = {}
    for cell in sorted(cells):
        roots = sorted(cells[cell])
        rng.shuffle(roots)
        n = len(roots)
        n_test = round(n * cfg.test)
        n_dev = round(n * cfg.dev)
        for j, root in enumerate(roots):
            split = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"
            for m in groups[root]:
                assign[m] = split
    return assign


def load_splits(path: Path = SPLITS) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8"))["articles"]


_GOLD_CACHE: FileStampedCache[pd.DataFrame] = FileStampedCache()


def gold_frame(root: Path = ANNOTATIONS, with_text: bool = True,
               articles: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per gold sentence: ids, offsets, labels, stratum, weight, split (and text, hydrated from
    ``articles``, by default the shared corpus and seeds).

    Built once per process for the default articles: later calls get a copy, until one of the files it
    was built from (annotations, design, units, split, and for the text the shared corpus and seeds)
    changes. A frame hydrated from ``articles`` given by the caller is built every time.
    """
    root = Path(root)
    if articles is not None:
        return _gold_frame(root, with_text, articles)
    files = gold_inputs(root, with_text)
    if files is None:  # no ../shared: let hydration raise its usual error
        return _gold_frame(root, with_text, None)
    key = (str(root.resolve()), with_text, str(SPLITS))
    frame = _GOLD_CACHE.get(key, files, lambda: _gold_frame(root, with_text, None))
    return copy_frame(frame, list_columns=("devices",))


def gold_inputs(root: Path = ANNOTATIONS, with_text: bool = True) -> list[Path] | None:
    """Every file :func:`gold_frame` reads (None where the shared folder it needs is missing)."""
    files = [*sorted((root / "primary").glob("*.jsonl")), *(root / name for name in OVERRIDES),
             root / "units.jsonl", root / "design.json", SPLITS]
    if with_text:
        shared = shared_dir(required=False)
        if shared is None:
            return None
        files += [shared / CORPUS_REL, *sorted((shared / "seeds").glob("*.txt"))]
    return files


def _gold_frame(root: Path, with_text: bool, articles: dict[str, Any] | None) -> pd.DataFrame:
    anns = gold_annotations(root)
    weights = design_weights(root)
    drawn = unit_strata(root)
    splits = load_splits() if SPLITS.exists() else {}
    rows: list[dict[str, Any]] = []
    texts = hydrate(anns, articles or shared_articles()) if with_text else [(a, None) for a in anns]
    for a, text in texts:
        unit, stratum = drawn.get((a.article_id, a.field, a.start, a.end), (a.extra.get("unit"), "none"))
        rows.append({"unit": unit, "article_id": a.article_id, "field": a.field, "start": a.start,
                     "end": a.end, "sha1": a.sha1, "framing": a.framing, "devices": list(a.devices),
                     "sentiment": a.sentiment, "voice": a.extra.get("voice"), "annotator": a.annotator, "guideline": a.guideline,
                     "confidence": a.extra.get("confidence"), "stratum": stratum,
                     "weight": weights.get(stratum, 0.0), "split": splits.get(a.article_id),
                     "adjudicated": a.source.endswith(OVERRIDES), **({"text": text} if with_text else {})})
    return pd.DataFrame(rows)


def build_splits(root: Path = ANNOTATIONS, config: SplitConfig | None = None, path: Path = SPLITS) -> dict[str, Any]:
    """Fix the train/dev/test split of the gold articles and write it (with its config and counts)."""
    from collections import Counter

    cfg = config or SplitConfig()
    df = gold_frame(root, with_text=False)
    arts = shared_articles()
    promo = df.groupby("article_id")["framing"].apply(lambda s: bool((s == "promotional").any())).to_dict()
    strata = df.groupby("article_id")["stratum"].agg(lambda s: Counter(s).most_common(1)[0][0]).to_dict()
    texts = {i: (arts[i].title or "") + " " + arts[i].text for i in strata}
    assign = make_splits(list(strata), promo, strata, texts, cfg)
    df["split"] = df["article_id"].map(assign)
    counts = {sp: {"articles": int(g["article_id"].nunique()), "sentences": len(g),
                   **{k: int(v) for k, v in g["framing"].value_counts().items()}} for sp, g in df.groupby("split")}
    record = {"config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
              "rule": "by article; stratified by (main stratum, has a promotional sentence); near-duplicate articles "
                      "kept together; the test split is never used for training or model selection",
              "counts": counts, "articles": dict(sorted(assign.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return record
