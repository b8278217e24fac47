"""Adapters for the material in ``../shared`` (located by ``SECFRAMING_SHARED``).

The texts there belong to others: they are read at run time and never copied into the repository.
Labelled external datasets come back as pandas DataFrames with at least ``id``, ``text`` and ``label``
(or ``labels`` for multi-label sets), keeping each dataset's own label names. Rows with empty text are
left out and listed, with their row number and reason, in ``df.attrs["rejects"]``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
from pathlib import Path
from typing import Literal

import pandas as pd

from secframing.io.cache import FileStampedCache
from secframing.io.readers import InputFileError, ReadResult, iter_lines, read_articles
from secframing.io.schema import Article, ArticleRules
from secframing.manifest import file_info
from secframing.paths import shared_dir

CORPUS_REL = Path("corpora/moroccan_news.jsonl")


def _shared_file(rel: str | Path) -> Path:
    path = shared_dir() / rel
    if not path.exists():
        raise InputFileError(f"{path}: expected in the shared data folder but not found")
    return path


def shared_corpus_path() -> Path:
    """Path of the 5,704-article Moroccan news corpus."""
    return _shared_file(CORPUS_REL)


_CORPUS_CACHE: FileStampedCache[ReadResult] = FileStampedCache()


def read_shared_corpus(rules: ArticleRules | None = None) -> ReadResult:
    """The shared Moroccan news corpus as articles (with rejects and the file hash).

    Read once per process and rules: later calls get a copy of the first result (fresh lists, fresh
    ``extra`` dicts) until the file's size or modification time changes.
    """
    path = shared_corpus_path()
    rules = rules or ArticleRules()
    cached = _CORPUS_CACHE.get((str(path), rules), [path], lambda: read_articles(path, rules))
    return ReadResult(articles=[_copy_article(a) for a in cached.articles], rejects=list(cached.rejects),
                      sources=list(cached.sources))


def _copy_article(art: Article) -> Article:
    """The (frozen) article with its one mutable field, ``extra``, copied."""
    return dataclasses.replace(art, extra=copy.deepcopy(art.extra))


def read_txt_article(path: str | Path, outlet: str = "seed", id_prefix: str = "seed_") -> Article:
    """A plain-text article file. The whole file is the text (headline and byline lines included)
    so that offsets into it are offsets into the file."""
    path = Path(path)
    if any(line is None for _, line, _ in iter_lines(path)):
        raise InputFileError(f"{path}: not valid UTF-8")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise InputFileError(f"{path}: empty article file")
    return Article(id=f"{id_prefix}{path.stem}", outlet=outlet, date=None, title=None, text=text,
                   extra={"source_file": path.name, "title_in_text": True})


def read_seed_articles() -> list[Article]:
    """The three seed articles of ``../shared/seeds`` (ids ``seed_<file stem>``)."""
    folder = _shared_file("seeds")
    return [read_txt_article(p) for p in sorted(folder.glob("*.txt"))]


# ---- labelled external datasets -------------------------------------------------------------------

THATIAR_DIR = Path("external/checkthat2025_subj_ar_thatiar")
ARAIEVAL_DIR = Path("external/araieval2023_task1")
ARMPRO_DIR = Path("external/armpro_text")
MAC_DIR = Path("external/mac_moroccan_sentiment")


def read_thatiar(split: Literal["train", "dev"] = "train") -> pd.DataFrame:
    """ThatiAR subjectivity (CheckThat! 2025 Arabic): columns id, text, label in {SUBJ, OBJ}.

    Read with quoting disabled: the sentences contain unbalanced quote marks.
    """
    path = _shared_file(THATIAR_DIR / f"{split}_ar.tsv")
    df = pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, encoding="utf-8")
    expected = {"sentence_id", "sentence", "label"}
    if not expected <= set(df.columns):
        raise InputFileError(f"{path}: expected columns {sorted(expected)}, found {list(df.columns)}")
    df = df.rename(columns={"sentence_id": "id", "sentence": "text"})
    df["dataset"], df["split"] = "thatiar", split
    return _check_labels(df, {"SUBJ", "OBJ"}, path)


def read_araieval(task: Literal["1A", "1B"] = "1A", split: Literal["train", "dev"] = "train") -> pd.DataFrame:
    """ArAIEval 2023 Task 1: 1A label in {true, false}; 1B ``labels`` a list of technique names."""
    path = _shared_file(ARAIEVAL_DIR / f"task{task}_{split}.jsonl")
    df = _read_jsonl_frame(path)
    df["id"] = df["id"].astype(str)
    df["dataset"], df["split"] = f"araieval2023_{task}", split
    if task == "1A":
        df["label"] = df["label"].astype(str).str.lower()
        return _check_labels(df, {"true", "false"}, path)
    return df


def read_armpro(kind: Literal["binary", "coarse", "multilabel"] = "binary",
                split: Literal["dev"] = "dev") -> pd.DataFrame:
    """ArMPro text V2 (only dev is shared): binary label in {true, false}, or ``labels`` lists."""
    path = _shared_file(ARMPRO_DIR / f"ArMPro_{kind}_{split}_V2.jsonl")
    df = _read_jsonl_frame(path)
    df = df.rename(columns={"paragraph": "text"})
    df["id"] = df["paragraph_id"].astype(str)
    df["dataset"], df["split"] = f"armpro_{kind}", split
    if kind == "binary":
        df["label"] = df["label"].astype(str).str.lower()
        return _check_labels(df, {"true", "false"}, path)
    return df.rename(columns={"label": "labels"})


def coarse_technique_map() -> dict[str, str]:
    """ArMPro's fine-grained technique -> coarse class (``fine-grained_to_coarse-grained_mapping.txt``,
    tab-separated; ``no_technique`` maps to itself)."""
    path = _shared_file(ARMPRO_DIR / "fine-grained_to_coarse-grained_mapping.txt")
    out: dict[str, str] = {}
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not all(x.strip() for x in parts):
            raise InputFileError(f"{path}: line {no}: expected 'technique<TAB>coarse class', got {line!r}")
        out[parts[0].strip()] = parts[1].strip()
    return out


def coarse_label_sets(df: pd.DataFrame, path_hint: str, mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """``df`` with ``labels`` turned into sorted coarse classes: fine technique names are mapped through
    :func:`coarse_technique_map`, coarse names kept, an empty set becomes ``["no_technique"]``. A name
    that is neither is an error naming the row."""
    from secframing.labels import NO_TECHNIQUE, PERSUASION_COARSE_LABELS

    mapping = coarse_technique_map() if mapping is None else mapping
    known = set(PERSUASION_COARSE_LABELS)
    sets = []
    for row_id, labels in zip(df["id"], df["labels"]):
        if not isinstance(labels, list):
            raise InputFileError(f"{path_hint}: item {row_id}: field 'labels' is {labels!r}, expected a list")
        coarse = set()
        for lab in labels:
            c = lab if lab in known else mapping.get(lab)
            if c not in known:
                raise InputFileError(f"{path_hint}: item {row_id}: unknown persuasion technique {lab!r}")
            coarse.add(c)
        if len(coarse) > 1:
            coarse.discard(NO_TECHNIQUE)
        sets.append(sorted(coarse) or [NO_TECHNIQUE])
    out = df.copy()
    out["labels"] = sets
    return out


def read_mac(include_mixed: bool = False) -> pd.DataFrame:
    """MAC Moroccan tweets: label in {positive, neutral, negative} (``mixed`` dropped unless asked),
    ``variety`` in {standard, dialectal} (the source's typo ``diatectal`` fixed)."""
    path = _shared_file(MAC_DIR / "MAC_train.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    df = df.rename(columns={"tweets": "text", "type": "label", "class": "variety"})
    df["variety"] = df["variety"].str.strip().replace({"diatectal": "dialectal"})
    df["label"] = df["label"].str.strip().str.lower()
    df.insert(0, "id", [f"mac_{i}" for i in range(len(df))])  # the row index in MAC_train.csv
    if not include_mixed:
        df = df[df["label"] != "mixed"]  # keep the index: reject rows report CSV lines
    df["dataset"], df["split"] = "mac", "train"
    allowed = {"positive", "neutral", "negative"} | ({"mixed"} if include_mixed else set())
    return _check_labels(df, allowed, path)


def _read_jsonl_frame(path: Path) -> pd.DataFrame:
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path}: line {no}: malformed JSON: {exc.msg}") from None
    return pd.DataFrame(rows)


def _check_labels(df: pd.DataFrame, allowed: set[str], path: Path) -> pd.DataFrame:
    bad = df[~df["label"].isin(allowed)]
    if len(bad):
        first = bad.index[0]
        raise InputFileError(f"{path}: row {first + 2}: field 'label' has {bad.iloc[0]['label']!r}, "
                             f"expected one of {sorted(allowed)}")
    empty = df["text"].str.strip().eq("")
    # Unusable rows are not silently lost: they are listed in df.attrs["rejects"] with file, row and reason.
    rejects = [{"source": str(path), "row": int(i) + 2, "id": str(df.at[i, "id"]), "reason": "empty field 'text'"}
               for i in df.index[empty]]
    out = df[~empty].reset_index(drop=True)
    out.attrs["rejects"] = rejects
    return out


def shared_inputs() -> dict[str, Path]:
    """Every shared data file an adapter reads, for hashing and inventories."""
    root = shared_dir()
    return {
        "corpus": root / CORPUS_REL,
        **{f"seed:{p.stem}": p for p in sorted((root / "seeds").glob("*.txt"))},
        "thatiar:train": root / THATIAR_DIR / "train_ar.tsv",
        "thatiar:dev": root / THATIAR_DIR / "dev_ar.tsv",
        **{f"araieval:{t}:{s}": root / ARAIEVAL_DIR / f"task{t}_{s}.jsonl"
           for t in ("1A", "1B") for s in ("train", "dev")},
        **{f"armpro:{k}": root / ARMPRO_DIR / f"ArMPro_{k}_dev_V2.jsonl" for k in ("binary", "coarse", "multilabel")},
        "armpro:mapping": root / ARMPRO_DIR / "fine-grained_to_coarse-grained_mapping.txt",
        "mac:train": root / MAC_DIR / "MAC_train.csv",
    }


def inventory() -> list[dict[str, object]]:
    """Name, path, size and sha256 of every shared input (``secframing data inventory``)."""
    return [{"name": name, **file_info(path).to_dict()} for name, path in shared_inputs().items() if path.exists()]
