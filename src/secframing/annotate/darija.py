"""The team-written Moroccan Darija sets (codebook rule 9: register does not change a label).

Two sets, both ``synthetic: true`` and ``register: darija``, written by the team from the codebook and
never copied from an outlet, so the text is the team's and is stored in full (``data/darija/``):

- the **Darija news set** (``news_v1.jsonl``): sentences in the registers of Moroccan online news (Darija
  stories, Darija and code-switched headlines, Darija quotes inside MSA stories), written in *items* (a
  headline or a 2-4 sentence story) and split train/dev/test by item. The writer's labels are the first
  pass; ``second_v1.jsonl`` is an independent blind second pass over a sample, and
  ``adjudication_v1.jsonl`` decides where the two differ (the gold label is the writer's, replaced by the
  adjudication where there is one).
- the **label-invariance set** (``renderings_v1.jsonl``): Darija renderings of gold test sentences. Each
  points at its source sentence by stand-off coordinates and sha1 and carries the source's gold labels
  (:func:`load_renderings` takes them from the current gold, so a re-reviewed source label follows). Test
  only: it measures what the register alone costs a model.

Neither set is in ``data/synthetic/`` (the augmentation pool): the news set's train split is added to
training only where an experiment asks for it (``data.darija_weight``), and the renderings never are.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from secframing.annotate.agreement import layer_agreement
from secframing.annotate.standoff import AnnotationError
from secframing.labels import DEVICES, FRAMING_LABELS, SENTIMENT_LABELS
from secframing.paths import DATA_DIR

DARIJA_DIR = DATA_DIR / "darija"
NEWS = "news_v1.jsonl"
SECOND = "second_v1.jsonl"
ADJUDICATION = "adjudication_v1.jsonl"
RENDERINGS = "renderings_v1.jsonl"
VOICES = ("author", "institution", "third_party")
SUBREGISTERS = ("darija_story", "darija_headline", "code_switched_headline", "darija_quote_in_msa")
SPLITS = ("train", "dev", "test")
LAYERS = ("framing", "devices", "sentiment", "voice")


def _check_labels(rec: dict[str, Any], where: str) -> None:
    """The three layers and the voice field of one record (codebook v1.1)."""
    framing, devices = rec.get("framing"), rec.get("devices")
    if framing not in FRAMING_LABELS:
        raise AnnotationError(f"{where}: field 'framing' is {framing!r}; valid: {list(FRAMING_LABELS)}")
    if rec.get("sentiment") not in SENTIMENT_LABELS:
        raise AnnotationError(f"{where}: field 'sentiment' is {rec.get('sentiment')!r}; valid: {list(SENTIMENT_LABELS)}")
    if not isinstance(devices, list) or any(d not in DEVICES for d in devices):
        raise AnnotationError(f"{where}: field 'devices' is {devices!r}; valid: a list of {list(DEVICES)}")
    if devices and framing != "promotional":
        raise AnnotationError(f"{where}: field 'devices' is set on a {framing} sentence (promotional only)")
    voice = rec.get("voice")
    if framing == "promotional" and voice not in VOICES:
        raise AnnotationError(f"{where}: field 'voice' is {voice!r}; a promotional sentence needs one of {list(VOICES)}")
    if framing != "promotional" and voice is not None:
        raise AnnotationError(f"{where}: field 'voice' is {voice!r} on a {framing} sentence (promotional only)")


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (the Darija sets live in data/darija/)")
    out = []
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append((no, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise AnnotationError(f"{path}: line {no}: not JSON ({exc.msg})") from None
    return out


def _overrides(folder: Path, name: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """A pass keyed by sentence id, every id known and every record valid."""
    path = folder / name
    if not path.exists():
        return {}
    out = {}
    for no, rec in _read(path):
        where = f"{path}: line {no}"
        if rec.get("id") not in ids:
            raise AnnotationError(f"{where}: field 'id' {rec.get('id')!r} is not a sentence of {NEWS}")
        _check_labels(rec, where)
        out[rec["id"]] = rec
    return out


def load_darija_news(folder: Path = DARIJA_DIR, adjudicated: bool = True) -> pd.DataFrame:
    """The Darija news set, one row per sentence, validated, with the gold labels (the writer's, replaced
    by the adjudication where the second pass differed; ``adjudicated=False``: the writer's alone)."""
    path = Path(folder) / NEWS
    rows, seen = [], set()
    for no, rec in _read(path):
        where = f"{path}: line {no}"
        for fld in ("id", "item", "text", "topic", "subregister", "split", "author"):
            if not rec.get(fld):
                raise AnnotationError(f"{where}: field {fld!r} is missing or empty")
        if rec.get("synthetic") is not True or rec.get("register") != "darija":
            raise AnnotationError(f"{where}: fields 'synthetic' must be true and 'register' 'darija'")
        if rec["subregister"] not in SUBREGISTERS:
            raise AnnotationError(f"{where}: field 'subregister' is {rec['subregister']!r}; valid: {list(SUBREGISTERS)}")
        if rec["split"] not in SPLITS:
            raise AnnotationError(f"{where}: field 'split' is {rec['split']!r}; valid: {list(SPLITS)}")
        _check_labels(rec, where)
        if rec["id"] in seen:
            raise AnnotationError(f"{where}: field 'id' {rec['id']!r} repeats an earlier line")
        seen.add(rec["id"])
        rows.append({**rec, "line": no})
    df = pd.DataFrame(rows)
    if df["text"].duplicated().any():
        raise AnnotationError(f"{path}: duplicate text (id {df.loc[df['text'].duplicated(), 'id'].iloc[0]})")
    mixed = df.groupby("item")["split"].nunique()
    if (mixed > 1).any():
        raise AnnotationError(f"{path}: item {mixed[mixed > 1].index[0]!r} is in more than one split (split by item)")
    df["adjudicated"] = False
    if adjudicated:
        row = {sid: i for i, sid in zip(df.index, df["id"])}
        for sid, rec in _overrides(Path(folder), ADJUDICATION, set(row)).items():
            for layer in LAYERS:
                df.at[row[sid], layer] = rec.get(layer)
            df.at[row[sid], "adjudicated"] = True
    return df.drop(columns=["line"])


def load_renderings(folder: Path = DARIJA_DIR, gold: pd.DataFrame | None = None, held_out_only: bool = False) -> pd.DataFrame:
    """The label-invariance set: one row per Darija rendering, with ``article_id`` of its source and the
    source's current gold labels (``gold``: :func:`secframing.annotate.gold.gold_frame` without text; a
    source whose coordinates or sha1 no longer match a gold sentence is an error). A source outside the
    test and seed slices is an error too, unless ``held_out_only``, which leaves its rendering out."""
    if gold is None:
        from secframing.annotate.gold import gold_frame

        gold = gold_frame(with_text=False)
    index = {(r.article_id, r.field, int(r.start), int(r.end)): r for r in gold.itertuples()}
    path = Path(folder) / RENDERINGS
    rows = []
    for no, rec in _read(path):
        where = f"{path}: line {no}"
        src = rec.get("source") or {}
        k = (src.get("article_id"), src.get("field"), src.get("start"), src.get("end"))
        g = index.get(k)
        if g is None:
            raise AnnotationError(f"{where}: field 'source' {src} is not a gold sentence")
        if src.get("sha1") != g.sha1:
            raise AnnotationError(f"{where}: field 'source.sha1' differs from the gold sentence's (was it re-segmented?)")
        if g.split not in ("test", "seeds"):  # splits v2 moved the test seed op-ed into its own test-only slice
            if held_out_only:  # an older split (v1) trains on some sources: leave their renderings out
                continue
            raise AnnotationError(f"{where}: the source sentence is in the {g.split} split; renderings are of test sentences only")
        if not rec.get("text") or rec.get("synthetic") is not True or rec.get("register") != "darija":
            raise AnnotationError(f"{where}: needs 'text', 'synthetic': true and 'register': 'darija'")
        _check_labels(rec, where)
        rows.append({"id": rec["id"], "text": rec["text"], "article_id": g.article_id, "field": g.field,
                     "start": int(g.start), "end": int(g.end), "framing": g.framing, "devices": list(g.devices),
                     "sentiment": g.sentiment, "voice": rec.get("voice") if g.framing == "promotional" else None,
                     "written_as": rec["framing"], "style": rec.get("style"), "split": "test"})
    return pd.DataFrame(rows)


def darija_stats(folder: Path = DARIJA_DIR, gold: pd.DataFrame | None = None, n_boot: int = 1000) -> dict[str, Any]:
    """Counts of both sets and the news set's agreement (writer vs blind second pass), for the datasheet."""
    out: dict[str, Any] = {}
    folder = Path(folder)
    if (folder / NEWS).exists():
        news = load_darija_news(folder)
        written = load_darija_news(folder, adjudicated=False)
        promo = news[news["framing"] == "promotional"]
        out["news"] = {
            "sentences": len(news), "items": int(news["item"].nunique()),
            "framing": dict(Counter(news["framing"])), "sentiment": dict(Counter(news["sentiment"])),
            "devices": {d: int(promo["devices"].map(lambda ds, d=d: d in ds).sum()) for d in DEVICES},
            "voice": dict(Counter(promo["voice"])), "subregister": dict(Counter(news["subregister"])),
            "topic": dict(Counter(news["topic"])),
            "by_split": {sp: {"items": int(g["item"].nunique()), "sentences": len(g), **dict(Counter(g["framing"]))}
                         for sp, g in news.groupby("split")},
            "adjudicated": int(news["adjudicated"].sum()),
        }
        second = _overrides(folder, SECOND, set(news["id"]))
        if second:
            first, final = written.set_index("id"), news.set_index("id")
            ids = [i for i in written["id"] if i in second]
            ag: dict[str, Any] = {"units": len(ids)}
            for layer, labels in (("framing", FRAMING_LABELS), ("sentiment", SENTIMENT_LABELS)):
                ag[layer] = layer_agreement([first.at[i, layer] for i in ids], [second[i][layer] for i in ids],
                                            labels, n_boot)
            ag["framing_promotional_vs_rest"] = layer_agreement(
                [str(first.at[i, "framing"] == "promotional") for i in ids],
                [str(second[i]["framing"] == "promotional") for i in ids], ["True", "False"], n_boot)
            ag["changed_by_adjudication"] = int(sum(final.at[i, "framing"] != first.at[i, "framing"] for i in ids))
            out["news"]["agreement"] = ag
    if (folder / RENDERINGS).exists():
        rend = load_renderings(folder, gold)
        out["renderings"] = {"sentences": len(rend), "source_articles": int(rend["article_id"].nunique()),
                             "framing": dict(Counter(rend["framing"])), "style": dict(Counter(rend["style"])),
                             "written_label_differs_from_gold": int((rend["written_as"] != rend["framing"]).sum())}
    return out


__all__ = ["DARIJA_DIR", "SUBREGISTERS", "VOICES", "darija_stats", "load_darija_news", "load_renderings"]
