"""Task data for experiments: text/label frames for train, dev and test, with the leakage guard.

In-domain tasks come from the gold annotation (split by article, ``data/splits/gold_v2.json``; ``data.splits = "v1"`` for ``gold_v1.json``):
``framing``, ``devices`` (promotional sentences only, multi-label) and ``sentiment``. External tasks keep
their datasets' own label names: ``subjectivity`` (ThatiAR train/dev), ``persuasion`` (ArAIEval 2023 1A
train/dev), ``mac_sentiment`` (MAC's shared 80%, split here by a seeded stratified 80/10/10 since the
corpus has no official split) and ``persuasion_coarse`` (multi-label: ArMPro's coarse classes, trained on
ArAIEval 2023 1B train with its techniques mapped to them, selected on 1B dev, tested on ArMPro's shared
dev split, whose paragraphs come from the same news pool: training items that overlap it are removed). Synthetic sentences are added to training only, with their own weight.
Framing and sentiment also carry the team-written Darija sets as extra held-out slices
(``TaskData.slices``: the Darija news set's dev and test splits, the renderings of gold test sentences);
the news set's train split joins training only with ``darija_weight`` > 0.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secframing.experiments.transfer import SLICE_TASKS
from secframing.io.cache import FileStampedCache, copy_frame
from secframing.labels import MULTILABEL_TASKS, TASK_LABELS
from secframing.paths import SYNTHETIC_SETS, shared_dir
from secframing.text.normalize import normalize

IN_DOMAIN = ("framing", "devices", "sentiment")
UNLABELLED_POOLS = ("corpus", "mac", "darija_train")
"""Unlabelled text a student is distilled on: every sentence of the shared corpus's articles outside the
gold's dev, test and seed splits; the MAC tweets (Darija and MSA); the Darija news set's train split."""
EXTERNAL = ("subjectivity", "persuasion", "mac_sentiment", "persuasion_coarse")

TRANSFER_MAPS: dict[tuple[str, str], dict[str, str]] = {
    # MAC's labels are sentiment in general, ours sentiment toward the security institutions: same names,
    # a looser target
    ("sentiment", "mac_sentiment"): {"positive": "positive", "neutral": "neutral", "negative": "negative"},
    # crude proxies, measured as an ablation: persuasive or subjective text stands in for promotional,
    # the rest for factual
    ("framing", "persuasion"): {"true": "promotional", "false": "factual"},
    ("framing", "subjectivity"): {"SUBJ": "promotional", "OBJ": "factual"},
}
"""(in-domain task, external task) -> external label -> in-domain label, for transfer ablations."""


@dataclass(frozen=True)
class TaskSpec:
    task: str
    synthetic_weight: float = 0.0
    """Weight of each synthetic training sentence relative to a real one (0 = not used)."""
    seed: int = 20261122
    transfer: tuple[str, ...] = ()
    """External tasks whose training rows are added, relabelled by :data:`TRANSFER_MAPS` (transfer ablation)."""
    transfer_weight: float = 0.0
    darija_weight: float = 0.0
    """Weight of each training sentence of the Darija news set (framing and sentiment; 0 = not used)."""
    splits: str = "v2"
    """Gold split version (``v1``, ``v2``; see :func:`secframing.annotate.gold.split_file`)."""
    synthetic_sets: tuple[str, ...] = SYNTHETIC_SETS
    """The synthetic files (stems) that ``synthetic_weight`` applies to."""
    unlabelled: tuple[str, ...] = ()
    """Unlabelled pools for distillation (``TaskData.unlabelled``): any of :data:`UNLABELLED_POOLS`."""

    def __post_init__(self) -> None:
        bad = sorted(set(self.unlabelled) - set(UNLABELLED_POOLS))
        if bad:
            raise ValueError(f"unknown unlabelled pools {bad}; valid: {list(UNLABELLED_POOLS)}")
        if self.unlabelled and self.task not in SLICE_TASKS:
            raise ValueError(f"unlabelled pools need task framing or sentiment, not {self.task!r}")
        if self.task not in TASK_LABELS:
            raise ValueError(f"unknown task {self.task!r}; valid: {sorted(TASK_LABELS)}")
        if self.synthetic_weight < 0 or self.transfer_weight < 0 or self.darija_weight < 0:
            raise ValueError("synthetic_weight, transfer_weight and darija_weight must be >= 0")
        from secframing.annotate.gold import split_file

        split_file(self.splits)  # raises, naming the valid versions
        if self.darija_weight > 0 and self.task not in SLICE_TASKS:
            raise ValueError(f"darija_weight needs task framing or sentiment, not {self.task!r}")
        for src in self.transfer:
            if (self.task, src) not in TRANSFER_MAPS:
                valid = sorted(s for t, s in TRANSFER_MAPS if t == self.task)
                raise ValueError(f"no transfer mapping from {src!r} to task {self.task!r}; valid: {valid}")


@dataclass
class TaskData:
    """``train``/``dev``/``test`` frames with ``text``, ``label`` (or ``labels`` for multi-label) and
    ``weight``; ``test`` is None where the labelled test set is sealed."""

    task: str
    labels: tuple[str, ...]
    multilabel: bool
    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame | None
    removed_for_leakage: int = 0
    sources: tuple[str, ...] = ()
    slices: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    """Extra held-out frames scored as transfer slices (``darija_news_dev``, ``darija_news_test``,
    ``darija_renderings``), with ``article_id`` the bootstrap cluster (the item, or the source article)."""
    unlabelled: pd.DataFrame | None = None
    """Distillation pool (``TaskSpec.unlabelled``): ``text``, ``outlet`` (``mac``, ``darija_news`` for the
    pools without one) and ``pool``; held-out texts are removed by the leakage guard."""


AUX_LAYERS = ("framing", "sentiment", "devices")
"""Label layers an in-domain frame also carries as ``aux_<layer>`` (every gold, synthetic and Darija row
has all three): the auxiliary targets of multi-task training (``model.transformer.auxiliary``)."""


def _frame(df: pd.DataFrame, label_col: str, multilabel: bool) -> pd.DataFrame:
    out = pd.DataFrame({"text": df["text"].to_numpy()})
    out["labels" if multilabel else "label"] = df[label_col].to_numpy()
    out["weight"] = 1.0
    for col in ("article_id", "id", "stratum", "outlet"):
        if col in df.columns:
            out[col] = df[col].to_numpy()
    for layer in AUX_LAYERS:
        if layer in df.columns:
            out[f"aux_{layer}"] = df[layer].to_numpy()
    return out.reset_index(drop=True)


LONG_TEXT = 40
"""Containment (not only equality) counts for normalised texts at least this long."""
MAX_LENGTH_GAP = 2000
"""A text contained in a much longer one (lengths differing by this or more) is not a leak."""


def leakage_guard(train: pd.DataFrame, *held_out: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """Drop training rows whose normalised text equals, contains or is contained in a held-out text
    (exact and near-exact duplicates across splits; the cross-dataset rule of OVERLAP_NOTES.md).

    Containment counts where both texts have at least :data:`LONG_TEXT` characters and their lengths
    differ by less than :data:`MAX_LENGTH_GAP`.
    """
    keys = [normalize(t) for df in held_out if df is not None for t in df["text"]]
    texts = [normalize(t) for t in train["text"]]
    held = set(keys)
    drop = {i for i, n in enumerate(texts) if n in held}
    long_held = [k for k in dict.fromkeys(keys) if len(k) >= LONG_TEXT]
    rows = [i for i, n in enumerate(texts) if len(n) >= LONG_TEXT and i not in drop]
    long_train = [texts[i] for i in rows]
    inside_held = _containments(long_train, long_held)  # (train, held): a training text inside a held-out one
    inside_train = ((a, b) for b, a in _containments(long_held, long_train))  # a held-out text inside a training one
    for a, b in chain(inside_held, inside_train):
        if abs(len(long_train[a]) - len(long_held[b])) < MAX_LENGTH_GAP:
            drop.add(rows[a])
    return train.drop(index=sorted(drop)).reset_index(drop=True), len(drop)


_GRAM = 30
"""Length of the q-grams :func:`_containments` matches on (at most :data:`LONG_TEXT`)."""


def _containments(needles: list[str], hay: list[str]) -> Iterator[tuple[int, int]]:
    """Every pair ``(i, j)`` with ``needles[i] in hay[j]``, for needles of at least :data:`LONG_TEXT`
    characters, without testing every pair.

    Exact by construction: with ``step = LONG_TEXT - _GRAM + 1``, q-grams sampled from a hay text every
    ``step`` characters include one that lies inside any occurrence of a needle (the occurrence spans at
    least ``LONG_TEXT`` characters) and starts less than ``step`` characters into it. So a pair is a
    candidate when a sampled q-gram of the hay text is one of the needle's first ``step`` q-grams, and
    candidates are confirmed with ``in``.
    """
    step = LONG_TEXT - _GRAM + 1
    starts: dict[str, set[int]] = defaultdict(set)
    for i, needle in enumerate(needles):
        if len(needle) < LONG_TEXT:
            raise ValueError(f"needle {i} is shorter than LONG_TEXT ({len(needle)} < {LONG_TEXT})")
        for offset in range(step):
            starts[needle[offset:offset + _GRAM]].add(i)
    for j, text in enumerate(hay):
        candidates: set[int] = set()
        for pos in range(0, len(text) - _GRAM + 1, step):
            candidates.update(starts.get(text[pos:pos + _GRAM], ()))
        for i in sorted(candidates):
            if needles[i] in text:
                yield i, j


def _split_seeded(df: pd.DataFrame, seed: int, frac: tuple[float, float] = (0.1, 0.1)) -> tuple[pd.DataFrame, ...]:
    rng = np.random.default_rng(seed)
    parts = {"train": [], "dev": [], "test": []}
    for _, g in df.groupby("label", sort=True):
        idx = rng.permutation(g.index.to_numpy())
        n_dev, n_test = round(len(idx) * frac[0]), round(len(idx) * frac[1])
        parts["test"].extend(idx[:n_test])
        parts["dev"].extend(idx[n_test:n_test + n_dev])
        parts["train"].extend(idx[n_test + n_dev:])
    return tuple(df.loc[sorted(parts[k])].reset_index(drop=True) for k in ("train", "dev", "test"))


_TASK_CACHE: FileStampedCache[TaskData] = FileStampedCache()


def load_task(spec: TaskSpec) -> TaskData:
    """Build the frames for one task (needs ../shared).

    Built once per process and spec: later calls get a deep copy, until one of the input files (gold
    annotations and split, synthetic sentences, shared corpus and external datasets) changes.
    """
    files = _task_inputs(spec)
    data = _build_task(spec) if files is None else _TASK_CACHE.get(spec, files, lambda: _build_task(spec))
    copy = {name: None if df is None else copy_frame(df, list_columns=("labels", "aux_devices"))
            for name, df in (("train", data.train), ("dev", data.dev), ("test", data.test))}
    slices = {name: copy_frame(df) for name, df in data.slices.items()}
    pool = None if data.unlabelled is None else copy_frame(data.unlabelled)
    return dataclasses.replace(data, **copy, slices=slices, unlabelled=pool)


def _task_inputs(spec: TaskSpec) -> list[Path] | None:
    """Every file :func:`load_task` may read for ``spec`` (None where ../shared is missing)."""
    from secframing.annotate.gold import gold_inputs, split_file
    from secframing.io.adapters import shared_inputs

    gold = gold_inputs(splits=split_file(spec.splits))
    if gold is None or shared_dir(required=False) is None:
        return None
    files = [*gold, *shared_inputs().values()]
    if spec.synthetic_weight > 0:
        from secframing.annotate.synthetic import synthetic_files

        files += synthetic_files(sets=spec.synthetic_sets)
    if spec.task in SLICE_TASKS:
        from secframing.annotate.darija import DARIJA_DIR

        files += sorted(DARIJA_DIR.glob("*.jsonl"))
    return files


def _build_task(spec: TaskSpec) -> TaskData:
    task = spec.task
    labels = TASK_LABELS[task]
    sources: list[str] = []
    if task in IN_DOMAIN:
        from secframing.annotate.gold import SEEDS_SPLIT, gold_frame, split_file

        gold = gold_frame(splits=split_file(spec.splits))
        gold_split = dict(zip(gold["article_id"], gold["split"]))
        gold["outlet"] = gold["article_id"].map(article_outlets())
        sources.append(f"data/annotations (gold) + data/splits/{split_file(spec.splits).name}")
        multilabel = task == "devices"
        if multilabel:
            gold = gold[gold["framing"] == "promotional"]
        col = {"framing": "framing", "devices": "devices", "sentiment": "sentiment"}[task]
        frames = {sp: _frame(gold[gold["split"] == sp], col, multilabel) for sp in ("train", "dev", "test")}
        train = frames["train"]
        if spec.synthetic_weight > 0:
            from secframing.annotate.synthetic import load_synthetic

            syn = load_synthetic(sets=spec.synthetic_sets)
            if "rewrite_of" in syn.columns:
                # rewrites of real sentences (rewrites_v3) train only while their source is a training sentence:
                # a rewrite of a dev or test sentence would leak it
                src_split = syn["rewrite_of"].map(
                    lambda s: gold_split.get(s["article_id"]) if isinstance(s, dict) else "train")
                syn = syn[src_split == "train"]
            if multilabel:
                syn = syn[syn["framing"] == "promotional"]
            sf = _frame(syn, col, multilabel)
            sf["weight"] = spec.synthetic_weight
            sf["stratum"] = "synthetic"
            train = pd.concat([train, sf], ignore_index=True)
            sources.append("data/synthetic")
        for src in spec.transfer:
            mapping = TRANSFER_MAPS[(task, src)]
            ext_train, _, _, source = _external(src, spec.seed)
            ext = _frame(ext_train[ext_train["label"].isin(mapping)], "label", False)
            ext["label"] = ext["label"].map(mapping)
            ext["weight"] = spec.transfer_weight
            ext["stratum"] = f"transfer:{src}"
            train = pd.concat([train, ext], ignore_index=True)
            sources.append(f"{source} (transfer, {mapping})")
        slices: dict[str, pd.DataFrame] = {}
        if task in SLICE_TASKS and (gold["split"] == SEEDS_SPLIT).any():
            # splits v2: the seed op-eds are a test-only slice, never in train, dev or test
            slices["test_seeds"] = _frame(gold[gold["split"] == SEEDS_SPLIT], col, False)
        if task in SLICE_TASKS:
            darija_train, darija_slices = _darija_frames(task, gold, spec.darija_weight)
            slices.update(darija_slices)
            if darija_train is not None:
                train = pd.concat([train, darija_train], ignore_index=True)
                sources.append(f"data/darija (news train split, weight {spec.darija_weight})")
            if darija_slices:
                sources.append(f"data/darija (slices: {', '.join(darija_slices)})")
        train, removed = leakage_guard(train, frames["dev"], frames["test"], *slices.values())
        pool = None
        if spec.unlabelled:
            pool, _ = leakage_guard(_unlabelled(spec.unlabelled, gold_split), frames["dev"], frames["test"],
                                    *slices.values())
            sources.append(f"unlabelled pools {list(spec.unlabelled)} ({len(pool)} texts)")
        return TaskData(task, labels, multilabel, train, frames["dev"], frames["test"], removed, tuple(sources), slices,
                        pool)
    tr, dv, te, source = _external(task, spec.seed)
    sources.extend(part.strip() for part in source.split(" + "))  # one entry per shared folder: each is hashed
    multilabel = task in MULTILABEL_TASKS
    frames = [None if df is None else _frame(df, "labels" if multilabel else "label", multilabel) for df in (tr, dv, te)]
    # repeated texts (MAC has many retweets) would otherwise sit on both sides of a split
    frames[0] = frames[0][~frames[0]["text"].map(normalize).duplicated()].reset_index(drop=True)
    train, removed = leakage_guard(frames[0], frames[1], frames[2])
    return TaskData(task, labels, multilabel, train, frames[1], frames[2], removed, tuple(sources))


def _unlabelled(pools: tuple[str, ...], gold_split: dict[str, str]) -> pd.DataFrame:
    """The unlabelled texts of ``pools``, one row each (``text``, ``outlet``, ``pool``), repeated normalised
    texts dropped. Corpus articles in a gold split other than train are left out whole."""
    from secframing.annotate.darija import DARIJA_DIR, NEWS, load_darija_news
    from secframing.io.adapters import read_mac, read_shared_corpus
    from secframing.text.segment import segment_article

    parts = []
    if "corpus" in pools:
        rows = [(s["text"], a.outlet or "", "corpus") for a in read_shared_corpus().articles
                if gold_split.get(a.id, "train") == "train" for s in segment_article(a)]
        parts.append(pd.DataFrame(rows, columns=["text", "outlet", "pool"]))
    if "mac" in pools:
        parts.append(pd.DataFrame({"text": read_mac()["text"].to_numpy(), "outlet": "mac", "pool": "mac"}))
    if "darija_train" in pools and (DARIJA_DIR / NEWS).exists():
        news = load_darija_news()
        parts.append(pd.DataFrame({"text": news.loc[news["split"] == "train", "text"].to_numpy(),
                                   "outlet": "darija_news", "pool": "darija_train"}))
    df = pd.concat(parts, ignore_index=True)
    return df[~df["text"].map(normalize).duplicated()].reset_index(drop=True)


def _darija_frames(task: str, gold: pd.DataFrame, weight: float) -> tuple[pd.DataFrame | None, dict[str, pd.DataFrame]]:
    """The Darija news set's train rows (``weight`` > 0, else None) and the Darija transfer slices, for
    the sets that exist in ``data/darija/``."""
    from secframing.annotate.darija import DARIJA_DIR, NEWS, RENDERINGS, load_darija_news, load_renderings

    slices: dict[str, pd.DataFrame] = {}
    train = None
    if (DARIJA_DIR / NEWS).exists():
        news = load_darija_news().rename(columns={"item": "article_id"})
        news["outlet"] = "darija_news"
        for split in ("dev", "test"):
            slices[f"darija_news_{split}"] = _frame(news[news["split"] == split], task, False)
        if weight > 0:
            train = _frame(news[news["split"] == "train"], task, False)
            train["weight"] = weight
            train["stratum"] = "darija"
    if (DARIJA_DIR / RENDERINGS).exists():
        slices["darija_renderings"] = _frame(load_renderings(gold=gold, held_out_only=True), task, False)
    return train, slices


def article_outlets() -> dict[str, str]:
    """Article id -> outlet for the gold's articles: the shared corpus's outlet field, ``seed`` for the
    seed op-eds."""
    from secframing.io.adapters import read_seed_articles, read_shared_corpus

    return {a.id: a.outlet or "" for a in [*read_shared_corpus().articles, *read_seed_articles()]}


def _external(task: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, str]:
    """An external dataset's train, dev and test (None where sealed) frames, with its source note."""
    from secframing.io import adapters

    if task == "subjectivity":
        return adapters.read_thatiar("train"), adapters.read_thatiar("dev"), None, "external/checkthat2025_subj_ar_thatiar"
    if task == "persuasion":
        return (adapters.read_araieval("1A", "train"), adapters.read_araieval("1A", "dev"), None,
                "external/araieval2023_task1")
    if task == "persuasion_coarse":
        train, dev = (adapters.coarse_label_sets(adapters.read_araieval("1B", sp), f"task1B_{sp}.jsonl")
                      for sp in ("train", "dev"))
        test = adapters.coarse_label_sets(adapters.read_armpro("coarse", "dev"), "ArMPro_coarse_dev_V2.jsonl")
        return (train, dev, test, "external/araieval2023_task1 (1B, techniques mapped to coarse classes) + "
                "external/armpro_text (coarse dev V2 as the test set)")
    mac = adapters.read_mac()
    mac = mac[~mac["text"].map(normalize).duplicated()].reset_index(drop=True)
    tr, dv, te = _split_seeded(mac, seed)
    return tr, dv, te, "external/mac_moroccan_sentiment (seeded 80/10/10 split)"


def describe(data: TaskData) -> dict[str, Any]:
    def counts(df: pd.DataFrame | None) -> dict[str, int] | None:
        if df is None:
            return None
        if data.multilabel:
            return {lab: int(df["labels"].map(lambda ls, lab=lab: lab in ls).sum()) for lab in data.labels} | {"n": len(df)}
        return {str(k): int(v) for k, v in df["label"].value_counts().items()} | {"n": len(df)}

    return {"task": data.task, "labels": list(data.labels), "multilabel": data.multilabel,
            "train": counts(data.train), "dev": counts(data.dev), "test": counts(data.test),
            "removed_for_leakage": data.removed_for_leakage, "sources": list(data.sources),
            **({"unlabelled": {str(k): int(v) for k, v in data.unlabelled["pool"].value_counts().items()}}
               if data.unlabelled is not None else {})}
