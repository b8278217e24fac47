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
SPLITS_V1 = DATA_DIR / "splits" / "gold_v1.json"
SPLITS_V2 = DATA_DIR / "splits" / "gold_v2.json"
SPLITS = SPLITS_V2
"""The split every experiment uses unless its config asks for ``data.splits = "v1"`` (old runs)."""
SPLIT_FILES = {"v1": SPLITS_V1, "v2": SPLITS_V2}
SEEDS_SPLIT = "seeds"
"""Splits v2: the three seed op-eds are a test-only slice of their own, in no train/dev/test split."""


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


OVERRIDES = ("adjudication.jsonl", "review_v1_2.jsonl", "review_v1_3.jsonl")
"""Decisions that replace primary labels, applied in this order (a later file wins): the adjudication of
agreement-sample disagreements, the review of sentences affected by the v1.2 clarifications, then the
v1.3 re-review (two blind passes and an adjudication, :mod:`secframing.annotate.review`)."""

EXTRA_PRIMARY = ("round5/primary.jsonl",)
"""First-pass files kept beside ``primary/`` because they carry their own stratum (and search scores):
round 5 of the corpus search (gold v2). Their strata and weights are in the folder's ``design.json``."""


def gold_annotations(root: Path = ANNOTATIONS) -> list[Annotation]:
    """Primary labels with adjudicated and reviewed decisions substituted (one record per sentence)."""
    primary = load_pass(root / "primary")
    for name in EXTRA_PRIMARY:
        if (root / name).exists():
            primary.extend(load_annotations(root / name))
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
    """Stratum -> design weight, from ``design.json`` and the design files of :data:`EXTRA_PRIMARY`."""
    out: dict[str, float] = {}
    for path in [root / "design.json", *(root / Path(n).parent / "design.json" for n in EXTRA_PRIMARY)]:
        if path.exists():
            design = json.loads(path.read_text(encoding="utf-8"))
            out.update({name: s["weight"] for name, s in design["strata"].items()})
    return out


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
    """Article id -> split of a split file (``gold_v1.json`` or ``gold_v2.json``)."""
    return json.loads(path.read_text(encoding="utf-8"))["articles"]


def split_file(version: str) -> Path:
    """The split file of ``version`` (``v1``, ``v2``)."""
    if version not in SPLIT_FILES:
        raise ValueError(f"unknown split version {version!r}; valid: {sorted(SPLIT_FILES)}")
    return SPLIT_FILES[version]


_GOLD_CACHE: FileStampedCache[pd.DataFrame] = FileStampedCache()


def gold_frame(root: Path = ANNOTATIONS, with_text: bool = True,
               articles: dict[str, Any] | None = None, splits: Path = SPLITS) -> pd.DataFrame:
    """One row per gold sentence: ids, offsets, labels, stratum, weight, split (and text, hydrated from
    ``articles``, by default the shared corpus and seeds).

    Built once per process for the default articles: later calls get a copy, until one of the files it
    was built from (annotations, design, units, split, and for the text the shared corpus and seeds)
    changes. A frame hydrated from ``articles`` given by the caller is built every time.
    """
    root = Path(root)
    if articles is not None:
        return _gold_frame(root, with_text, articles, splits)
    files = gold_inputs(root, with_text, splits)
    if files is None:  # no ../shared: let hydration raise its usual error
        return _gold_frame(root, with_text, None, splits)
    key = (str(root.resolve()), with_text, str(splits))
    frame = _GOLD_CACHE.get(key, files, lambda: _gold_frame(root, with_text, None, splits))
    return copy_frame(frame, list_columns=("devices",))


def gold_inputs(root: Path = ANNOTATIONS, with_text: bool = True, splits: Path = SPLITS) -> list[Path] | None:
    """Every file :func:`gold_frame` reads (None where the shared folder it needs is missing)."""
    extra = [p for n in EXTRA_PRIMARY for p in (root / n, root / Path(n).parent / "design.json")]
    files = [*sorted((root / "primary").glob("*.jsonl")), *(root / name for name in OVERRIDES), *extra,
             root / "units.jsonl", root / "design.json", splits]
    if with_text:
        shared = shared_dir(required=False)
        if shared is None:
            return None
        files += [shared / CORPUS_REL, *sorted((shared / "seeds").glob("*.txt"))]
    return files


def _gold_frame(root: Path, with_text: bool, articles: dict[str, Any] | None, splits_path: Path = SPLITS) -> pd.DataFrame:
    anns = gold_annotations(root)
    weights = design_weights(root)
    drawn = unit_strata(root)
    splits = load_splits(splits_path) if splits_path.exists() else {}
    rows: list[dict[str, Any]] = []
    texts = hydrate(anns, articles or shared_articles()) if with_text else [(a, None) for a in anns]
    for a, text in texts:
        unit, stratum = drawn.get((a.article_id, a.field, a.start, a.end),
                                  (a.extra.get("unit"), a.extra.get("stratum", "none")))
        if unit is None:  # round 5 was not drawn into units.jsonl: its coordinates name it
            unit = f"{stratum}:{a.article_id}:{a.field}:{a.start}-{a.end}"
        rows.append({"unit": unit, "article_id": a.article_id, "field": a.field, "start": a.start,
                     "end": a.end, "sha1": a.sha1, "framing": a.framing, "devices": list(a.devices),
                     "sentiment": a.sentiment, "voice": a.extra.get("voice"), "annotator": a.annotator, "guideline": a.guideline,
                     "confidence": a.extra.get("confidence"), "stratum": stratum,
                     "weight": weights.get(stratum, 0.0), "split": splits.get(a.article_id),
                     "adjudicated": a.source.endswith(OVERRIDES), **({"text": text} if with_text else {})})
    return pd.DataFrame(rows)


def build_splits(root: Path = ANNOTATIONS, config: SplitConfig | None = None, path: Path = SPLITS_V1) -> dict[str, Any]:
    """Splits v1 (how ``gold_v1.json`` was made, from the gold of its day; kept frozen so old runs
    resolve): fix the train/dev/test split of the gold articles and write it (with its config and counts)."""
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


@dataclass(frozen=True)
class SplitV2Config:
    seed: int = 20261203
    dev: float = 0.2
    test: float = 0.2
    """Shares of the articles new to v2 (round 5) sent to dev and test."""
    min_test_promotional_articles: int = 40
    """The corpus test split must hold promotional sentences from at least this many articles."""
    from_dev_share: float = 0.25
    """Of the promotional articles moved into test, the share taken from dev (the rest from train)."""
    near_duplicate_jaccard: float = 0.5


def near_duplicate_groups(texts: dict[str, str], threshold: float = 0.5) -> dict[str, str]:
    """Article id -> group root: articles whose character 5-gram sets overlap (Jaccard) ``threshold`` or
    more, closed transitively. Sparse hashed 5-grams, so a few thousand articles take seconds."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import HashingVectorizer

    ids = sorted(texts)
    vec = HashingVectorizer(analyzer="char", ngram_range=(5, 5), n_features=2**22, binary=True, norm=None,
                            alternate_sign=False, lowercase=False)
    x = vec.transform([" ".join(texts[i].split()) for i in ids])
    sizes = np.asarray(x.sum(axis=1)).ravel()
    inter = (x @ x.T).tocoo()
    near = (inter.row < inter.col) & (inter.data / np.maximum(1.0, sizes[inter.row] + sizes[inter.col] - inter.data) >= threshold)
    _, comp = connected_components(coo_matrix((np.ones(near.sum()), (inter.row[near], inter.col[near])),
                                              shape=(len(ids), len(ids))), directed=False)
    root = {c: ids[k] for k, c in reversed(list(enumerate(comp)))}  # a group is named by its first article
    return {i: root[comp[k]] for k, i in enumerate(ids)}


def build_splits_v2(root: Path = ANNOTATIONS, config: SplitV2Config | None = None, path: Path = SPLITS_V2,
                    v1: Path = SPLITS_V1) -> dict[str, Any]:
    """Splits v2 (gold v2): the seed op-eds form their own test-only slice (``seeds``); every v1 corpus
    article keeps its v1 split, except that promotional articles move from train and dev into test until
    the corpus test split holds promotional sentences from ``min_test_promotional_articles`` articles
    (v1 test stays inside v2 test, so no sentence a v1 model was scored on becomes training data); the
    articles new in v2 (round 5) are split by near-duplicate group, stratified by (main stratum, has a
    promotional sentence). Near-duplicate articles always share a split."""
    from collections import Counter

    cfg = config or SplitV2Config()
    df = gold_frame(root, with_text=False, splits=v1)
    arts = shared_articles()
    old = load_splits(v1)
    promo = df.groupby("article_id")["framing"].apply(lambda s: bool((s == "promotional").any())).to_dict()
    strata = df.groupby("article_id")["stratum"].agg(lambda s: Counter(s).most_common(1)[0][0]).to_dict()
    corpus = [i for i in strata if not i.startswith("seed_")]
    groups = near_duplicate_groups({i: (arts[i].title or "") + " " + arts[i].text for i in corpus},
                                   cfg.near_duplicate_jaccard)
    members: dict[str, list[str]] = defaultdict(list)
    for i in sorted(corpus):
        members[groups[i]].append(i)
    rank = {"train": 0, "dev": 1, "test": 2}
    gsplit: dict[str, str] = {}
    new_cells: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for g, ms in members.items():
        known = [old[m] for m in ms if m in old and old[m] in rank]
        if known:  # a group that spans v1 splits (v1 used exact 5-gram sets) goes to the most held-out one
            gsplit[g] = max(known, key=rank.__getitem__)
        else:
            new_cells[(Counter(strata[m] for m in ms).most_common(1)[0][0], any(promo[m] for m in ms))].append(g)
    rng = random.Random(cfg.seed)
    for cell in sorted(new_cells):
        roots = sorted(new_cells[cell])
        rng.shuffle(roots)
        n_test, n_dev = round(len(roots) * cfg.test), round(len(roots) * cfg.dev)
        for j, g in enumerate(roots):
            gsplit[g] = "test" if j < n_test else "dev" if j < n_test + n_dev else "train"

    def n_promo(split: str) -> int:
        return sum(promo[m] for g, s in gsplit.items() if s == split for m in members[g])

    need = cfg.min_test_promotional_articles - n_promo("test")
    moved: list[str] = []
    if need > 0:
        pools = {s: sorted(g for g, sp in gsplit.items() if sp == s and any(promo[m] for m in members[g]))
                 for s in ("train", "dev")}
        for s in pools:
            rng.shuffle(pools[s])
        quota = {"dev": round(need * cfg.from_dev_share)}
        quota["train"] = need - quota["dev"]
        for s in ("dev", "train"):
            got = 0
            while got < quota[s] and pools[s]:
                g = pools[s].pop()
                gsplit[g] = "test"
                moved.extend(members[g])
                got += sum(promo[m] for m in members[g])
        while n_promo("test") < cfg.min_test_promotional_articles and (pools["train"] or pools["dev"]):
            g = (pools["train"] or pools["dev"]).pop()
            gsplit[g] = "test"
            moved.extend(members[g])
    assign = {m: gsplit[g] for g, ms in members.items() for m in ms}
    assign.update({i: SEEDS_SPLIT for i in strata if i.startswith("seed_")})
    df["split"] = df["article_id"].map(assign)
    counts = {sp: {"articles": int(g["article_id"].nunique()), "sentences": len(g),
                   "promotional_articles": int(g.loc[g["framing"] == "promotional", "article_id"].nunique()),
                   **{k: int(v) for k, v in g["framing"].value_counts().items()}} for sp, g in df.groupby("split")}
    record = {"version": "v2", "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
              "rule": "by article; the seed op-eds are their own test-only slice ('seeds'); v1 corpus articles keep "
                      "their v1 split except promotional articles moved from train/dev into test until test holds "
                      f"promotional sentences from >= {cfg.min_test_promotional_articles} articles; articles new in "
                      "v2 split by near-duplicate group, stratified by (main stratum, has a promotional sentence); "
                      "near-duplicate articles kept together; test and seeds are never used for training or model "
                      "selection",
              "from_v1": {"kept": sum(1 for i, s in old.items() if assign.get(i) == s),
                          "moved_to_test": sorted(moved), "new_articles": sum(1 for i in assign if i not in old)},
              "counts": counts, "articles": dict(sorted(assign.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return record
