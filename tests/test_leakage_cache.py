"""The fast leakage guard drops exactly what the plain nested scan drops, and the per-process caches of
the corpus, the gold frame and the task data reread files that changed and hand out copies."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import AR_FACTUAL, AR_PROMO, article, write_jsonl
from secframing.experiments import tasks
from secframing.experiments.tasks import MAX_LENGTH_GAP, TaskSpec, _containments, leakage_guard
from secframing.io.cache import FileStampedCache, copy_frame
from secframing.text.normalize import normalize

# ---- the leakage guard ------------------------------------------------------------------------------


def naive_guard(train: pd.DataFrame, *held_out: pd.DataFrame | None) -> tuple[pd.DataFrame, int]:
    """The original nested scan, kept as the reference the fast guard must agree with."""
    keys = [normalize(t) for df in held_out if df is not None for t in df["text"]]
    held = set(keys)
    long_held = [k for k in keys if len(k) >= 40]
    drop = []
    for i, t in enumerate(train["text"]):
        n = normalize(t)
        if n in held or (len(n) >= 40 and any(n in k or k in n for k in long_held if abs(len(k) - len(n)) < 2000)):
            drop.append(i)
    return train.drop(index=drop).reset_index(drop=True), len(drop)


# A small alphabet makes containment common; hamza-alef, tatweel, a diacritic and odd spacing make it
# depend on normalisation (أ folds to ا, ـ and  َ go, runs of spaces collapse, ends are trimmed).
ALPHABET = "ابتأـَ  \n"
pieces = st.text(alphabet=ALPHABET, max_size=90)
# letters only: normalising keeps their length, so a pad of n letters makes a length gap of exactly n
long_pieces = st.text(alphabet="ابتأ", min_size=40, max_size=60)
GAPS = [0, 1, 39, 40, MAX_LENGTH_GAP - 2, MAX_LENGTH_GAP - 1, MAX_LENGTH_GAP, MAX_LENGTH_GAP + 1]


@st.composite
def guard_inputs(draw) -> tuple[list[str], list[str], list[str]]:
    """(train, dev, test) texts derived from a shared pool: equal, sliced, wrapped or padded to a length
    gap around :data:`MAX_LENGTH_GAP`, so every rule and its edges are exercised."""
    pool = draw(st.lists(st.one_of(pieces, long_pieces), min_size=1, max_size=5))

    def text() -> str:
        base = draw(st.sampled_from(pool))
        kind = draw(st.sampled_from(["same", "slice", "wrap", "pad", "pad", "new"]))
        if kind == "slice":
            i = draw(st.integers(0, len(base)))
            return base[i:draw(st.integers(i, len(base)))]
        if kind == "wrap":
            return draw(pieces) + base + draw(pieces)
        if kind == "pad":
            pad = "ب" * draw(st.sampled_from(GAPS))
            return pad + base if draw(st.booleans()) else base + pad
        return draw(pieces) if kind == "new" else base

    def texts(lo: int, hi: int) -> list[str]:
        return [text() for _ in range(draw(st.integers(lo, hi)))]

    return texts(0, 10), texts(0, 6), texts(0, 4)


@settings(max_examples=400, deadline=None)
@given(guard_inputs(), st.booleans())
def test_fast_guard_equals_the_nested_scan(inputs, sealed_test):
    train, dev, test = inputs
    tr = pd.DataFrame({"text": train, "label": [f"l{i}" for i in range(len(train))]})
    held = (pd.DataFrame({"text": dev}), None if sealed_test else pd.DataFrame({"text": test}))
    fast, n_fast = leakage_guard(tr, *held)
    slow, n_slow = naive_guard(tr, *held)
    assert n_fast == n_slow
    pd.testing.assert_frame_equal(fast, slow)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=6), st.lists(pieces, max_size=6), st.lists(st.sampled_from([0, 1, 2, 40]), max_size=6))
def test_containments_finds_every_pair_a_full_comparison_finds(needles, hay, pads):
    needles = [n + "ب" * p for n, p in zip(needles, pads + [40] * len(needles), strict=False)]
    needles = [n for n in needles if len(n) >= 40]
    hay = hay + [h + n + h for h in hay for n in needles]  # every needle at many offsets
    expected = {(i, j) for i, n in enumerate(needles) for j, h in enumerate(hay) if n in h}
    assert set(_containments(needles, hay)) == expected


def test_guard_edges_are_40_characters_and_a_gap_under_2000():
    base = "ب" * 40
    cases = {  # train text -> dropped?
        base: True,  # equal
        "ا" + base: True,  # contains a held-out text, gap 1
        base[:39]: False,  # contained but shorter than 40 (and not equal)
        "ا" * 60: False,  # unrelated
        base + "ا" * (MAX_LENGTH_GAP - 1): True,  # contains it, gap 1999
        base + "ا" * MAX_LENGTH_GAP: False,  # gap 2000
    }
    train = pd.DataFrame({"text": list(cases)})
    held = pd.DataFrame({"text": [base, "ت" + base[:39]]})
    for guard in (leakage_guard, naive_guard):
        kept, removed = guard(train, held)
        assert kept["text"].tolist() == [t for t, dropped in cases.items() if not dropped]
        assert removed == sum(cases.values())
    # the other direction: a training text inside a long held-out one
    long_held = pd.DataFrame({"text": ["ت" * (MAX_LENGTH_GAP - 1) + base, "ت" * MAX_LENGTH_GAP + "ا" * 40]})
    kept, removed = leakage_guard(pd.DataFrame({"text": [base, "ا" * 40]}), long_held)
    assert kept["text"].tolist() == ["ا" * 40] and removed == 1


@pytest.mark.parametrize("spec", [TaskSpec("framing"), TaskSpec("devices", synthetic_weight=1.0)],
                         ids=["framing", "devices+synthetic"])
def test_guard_on_the_real_gold_removes_what_the_nested_scan_removes(shared, monkeypatch, spec):
    seen = []
    guard = tasks.leakage_guard
    monkeypatch.setattr(tasks, "leakage_guard", lambda train, *held: seen.append((train, held)) or guard(train, *held))
    data = tasks._build_task(spec)
    assert len(seen) == 1
    train, held = seen[0]
    slow, n_slow = naive_guard(train, *held)
    assert data.removed_for_leakage == n_slow
    pd.testing.assert_frame_equal(data.train, slow)


# ---- the caches -------------------------------------------------------------------------------------


def _bump_mtime(path) -> None:
    """Change the file's modification time without changing its content."""
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))


def test_file_stamped_cache_rereads_changed_files_and_frames_are_copies(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("a")
    cache: FileStampedCache[pd.DataFrame] = FileStampedCache()

    def read() -> pd.DataFrame:
        return pd.DataFrame({"x": [path.read_text()], "l": [["a"]]})

    first = cache.get("k", [path], read)
    assert cache.get("k", [path], read) is first and cache.misses == 1
    copy = copy_frame(first, ["l"])
    copy.loc[0, "x"] = "changed"
    copy["l"][0].append("b")
    assert first.loc[0, "x"] == "a" and first["l"][0] == ["a"]
    _bump_mtime(path)
    cache.get("k", [path], read)
    assert cache.misses == 2
    path.write_text("bb")
    assert cache.get("k", [path], read).loc[0, "x"] == "bb" and cache.misses == 3
    path.unlink()  # a vanished input is a change too
    with pytest.raises(FileNotFoundError):
        cache.get("k", [path], read)


def test_shared_corpus_is_read_once_and_handed_out_as_copies(tmp_path, monkeypatch):
    from secframing.io import adapters

    corpus = tmp_path / "corpora" / "moroccan_news.jsonl"
    corpus.parent.mkdir()
    write_jsonl(corpus, [article(1, source_file="a.csv"), article(2, text=AR_PROMO, source_file="b.csv")])
    monkeypatch.setenv("SECFRAMING_SHARED", str(tmp_path))
    misses = adapters._CORPUS_CACHE.misses
    first = adapters.read_shared_corpus()
    second = adapters.read_shared_corpus()
    assert adapters._CORPUS_CACHE.misses == misses + 1
    assert second == first and [a.id for a in first.articles] == ["a1", "a2"]
    assert first == adapters.read_articles(corpus)  # what the reader gives without the cache
    first.articles[0].extra["source_file"] = "poisoned"
    first.articles.pop()
    third = adapters.read_shared_corpus()
    assert third == second and third.articles[0].extra["source_file"] == "a.csv"
    _bump_mtime(corpus)  # touched: read again
    assert adapters.read_shared_corpus() == second and adapters._CORPUS_CACHE.misses == misses + 2
    write_jsonl(corpus, [article(1, source_file="a.csv"), article(2, text=AR_PROMO),
                         article(3, text=AR_FACTUAL + " وأضاف")])
    assert [a.id for a in adapters.read_shared_corpus().articles] == ["a1", "a2", "a3"]


def test_gold_frame_is_built_once_and_rebuilt_when_an_annotation_file_changes(tmp_path):
    from secframing.annotate import gold

    root = tmp_path / "annotations"
    shutil.copytree(gold.ANNOTATIONS, root)
    misses = gold._GOLD_CACHE.misses
    first = gold.gold_frame(root, with_text=False)
    assert gold._GOLD_CACHE.misses == misses + 1
    pd.testing.assert_frame_equal(first, gold._gold_frame(root, False, None))  # same as building it
    promo = first.index[first["devices"].map(len) > 0][0]
    first.at[promo, "devices"].append("poisoned")
    first.loc[:, "framing"] = "poisoned"
    second = gold.gold_frame(root, with_text=False)
    assert gold._GOLD_CACHE.misses == misses + 1
    assert "poisoned" not in second.at[promo, "devices"] and "poisoned" not in set(second["framing"])
    pd.testing.assert_frame_equal(second, gold._gold_frame(root, False, None))
    _bump_mtime(root / "units.jsonl")
    gold.gold_frame(root, with_text=False)
    assert gold._GOLD_CACHE.misses == misses + 2
    design = json.loads((root / "design.json").read_text(encoding="utf-8"))
    design["strata"]["random"]["weight"] = 123.5
    (root / "design.json").write_text(json.dumps(design), encoding="utf-8")
    changed = gold.gold_frame(root, with_text=False)
    assert set(changed.loc[changed["stratum"] == "random", "weight"]) == {123.5}


def test_task_data_is_built_once_per_spec_and_handed_out_as_copies(shared, tmp_path, monkeypatch):
    spec = TaskSpec("devices", synthetic_weight=0.5)
    first = tasks.load_task(spec)
    misses = tasks._TASK_CACHE.misses
    second = tasks.load_task(spec)
    assert tasks._TASK_CACHE.misses == misses  # the same spec is not built again
    fresh = tasks._build_task(spec)
    for data in (first, second):
        for field in ("removed_for_leakage", "sources", "labels", "multilabel"):
            assert getattr(data, field) == getattr(fresh, field)
        for split in ("train", "dev", "test"):
            pd.testing.assert_frame_equal(getattr(data, split), getattr(fresh, split))
    second.train.at[0, "labels"].append("poisoned")
    second.train.loc[:, "text"] = "poisoned"
    third = tasks.load_task(spec)
    pd.testing.assert_frame_equal(third.train, fresh.train)
    # any input file changing rebuilds it
    marker = tmp_path / "input.txt"
    marker.write_text("x")
    inputs = tasks._task_inputs(spec)
    monkeypatch.setattr(tasks, "_task_inputs", lambda s: [*inputs, marker])
    tasks.load_task(spec)
    assert tasks._TASK_CACHE.misses == misses + 1
    _bump_mtime(marker)
    tasks.load_task(spec)
    assert tasks._TASK_CACHE.misses == misses + 2
