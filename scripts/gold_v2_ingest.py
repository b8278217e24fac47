"""Gold v2: turn the annotators' files into the project's stand-off annotation files.

    python scripts/gold_v2_ingest.py round5 --work DIR        # round-5 labels -> data/annotations/round5/
    python scripts/gold_v2_ingest.py review --work DIR        # v1.3 re-review -> review_v1_3/, review_v1_3.jsonl
    python scripts/gold_v2_ingest.py darija --work DIR        # Darija second pass + adjudication -> data/darija/
    python scripts/gold_v2_ingest.py synthetic_v3 --work DIR  # rewrites of train sentences -> data/synthetic/rewrites_v3.jsonl
    python scripts/gold_v2_ingest.py renderings --work DIR    # renderings of the sentences splits v2 added to test

DIR holds what `scripts/gold_v2_search.py` and the annotation briefs produced (outside git: it carries corpus
text): `round5/round5_units.jsonl`, `round5_part{1,2,3}_out.jsonl`, `round5_second_out.jsonl`,
`review_part*_{A,B}.jsonl`, `review_adj_part*_out.jsonl`, `darija_second_out.jsonl`,
`darija_adjudication.jsonl`. Only labels, coordinates and hashes are written to the repository.
"""

import argparse
import json
from pathlib import Path

from secframing.annotate.darija import ADJUDICATION, DARIJA_DIR, SECOND
from secframing.annotate.gold import ANNOTATIONS, gold_frame
from secframing.annotate.review import merge_review, review_candidates

CREATED = "2026-12-03"
GUIDELINE = "v1.3"
LABEL_KEYS = ("framing", "devices", "sentiment", "voice", "confidence", "note")


def _read(path: Path, key: str) -> dict[str, dict]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                out[rec[key]] = rec
    return out


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({len(records)} records)")


def _labels(rec: dict) -> dict:
    out = {k: rec.get(k) for k in LABEL_KEYS}
    if out["framing"] != "promotional":
        out["devices"], out["voice"] = [], None
    return out


def round5(work: Path) -> None:
    """Round 5 is stored beside the gold (``data/annotations/round5/``) until splits v2 place its new
    articles: it joins ``primary/``, ``units.jsonl`` and ``design.json`` with that split."""
    units = [json.loads(x) for x in open(work / "round5" / "round5_units.jsonl", encoding="utf-8")]
    record = json.loads((work / "round5" / "round5_record.json").read_text(encoding="utf-8"))
    labels: dict[str, tuple[str, dict]] = {}
    for part in (1, 2, 3):
        for k, rec in _read(work / f"round5_part{part}_out.jsonl", "key").items():
            labels[k] = (f"helper-r5ann{part}", rec)
    out = ANNOTATIONS / "round5"
    first, keys = [], set()
    for u in sorted(units, key=lambda u: (u["article_id"], u["field"], u["start"])):
        key = f"{u['article_id']}|{u['field']}|{u['start']}|{u['end']}"
        if key not in labels:
            raise SystemExit(f"round-5 unit {key} has no label")
        keys.add(key)
        annotator, rec = labels[key]
        first.append({"article_id": u["article_id"], "field": u["field"], "start": u["start"], "end": u["end"],
                      "sha1": u["sha1"], "stratum": u["stratum"], **_labels(rec), "annotator": annotator,
                      "guideline": GUIDELINE, "created": CREATED,
                      "search": {"rank_score": u["rank_score"], "p_lexicon": u["p_lexicon"], "p_default": u["p_default"]}})
    _write(out / "primary.jsonl", first)
    sha = {f"{r['article_id']}|{r['field']}|{r['start']}|{r['end']}": r["sha1"] for r in first}
    second = []
    for k, rec in sorted(_read(work / "round5_second_out.jsonl", "key").items()):
        art, field, start, end = k.split("|")
        second.append({"article_id": art, "field": field, "start": int(start), "end": int(end), "sha1": sha[k],
                       **_labels(rec), "annotator": "helper-r5second", "guideline": GUIDELINE, "created": CREATED})
    _write(out / "second.jsonl", second)
    record["second_pass"] = {"file": "second.jsonl", "n": len(second),
                             "definition": "independent blind second pass over the 200 highest-ranked round-5 sentences"}
    (out / "design.json").write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'design.json'}")


def _glob(work: Path, pattern: str, key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(work.glob(pattern)):
        out.update(_read(path, key))
    return out


def review(work: Path) -> None:
    """The two blind passes are stored as they are (``review_v1_3/``); the override file is written only
    when every candidate is in both passes and every disagreement is adjudicated."""
    if (ANNOTATIONS / "review_v1_3.jsonl").exists():
        raise SystemExit("review_v1_3.jsonl exists: the candidates are drawn from the gold before the review")
    cands = review_candidates(gold_frame())
    a = _glob(work, "review_part*_A.jsonl", "unit")
    b = _glob(work, "review_part*_B.jsonl", "unit")
    adj = _glob(work, "review_adj_part*_out.jsonl", "unit")
    coords = cands.set_index("unit")
    for name, passes, who in (("pass_a", a, "helper-rev13a"), ("pass_b", b, "helper-rev13b")):
        _write(ANNOTATIONS / "review_v1_3" / f"{name}.jsonl", [
            {"unit": u, "article_id": coords.at[u, "article_id"], "field": coords.at[u, "field"],
             "start": int(coords.at[u, "start"]), "end": int(coords.at[u, "end"]), "sha1": coords.at[u, "sha1"],
             "reasons": list(coords.at[u, "reasons"]), **_labels(passes[u]), "annotator": who,
             "guideline": GUIDELINE, "created": CREATED}
            for u in coords.index if u in passes])
    try:
        records, counts = merge_review(cands, a, b, adj, ("helper-rev13a", "helper-rev13b", "helper-rev13adj"),
                                       GUIDELINE, CREATED)
    except ValueError as exc:
        print(f"review not applied to the gold: {exc}")
        return
    _write(ANNOTATIONS / "review_v1_3.jsonl", records)
    print(json.dumps(counts, indent=1))


def darija(work: Path) -> None:
    second = [{"id": r["id"], **_labels(r), "annotator": "helper-dsecond", "guideline": GUIDELINE, "created": CREATED}
              for r in _read(work / "darija_second_out.jsonl", "id").values()]
    _write(DARIJA_DIR / SECOND, sorted(second, key=lambda r: r["id"]))
    if not (work / "darija_adjudication.jsonl").exists():
        print("no adjudication yet: the writer's labels stand")
        return
    adj = [{"id": r["id"], **_labels(r), "annotator": "helper-dadjudicator", "guideline": GUIDELINE, "created": CREATED}
           for r in _read(work / "darija_adjudication.jsonl", "id").values()]
    _write(DARIJA_DIR / ADJUDICATION, sorted(adj, key=lambda r: r["id"]))


def _source(key: str, sha: dict[str, str]) -> dict:
    art, field, start, end = key.split("|")
    return {"article_id": art, "field": field, "start": int(start), "end": int(end), "sha1": sha[key]}


def _by_key(gold, column: str) -> dict[str, str]:
    """Sentence key ("article|field|start|end", as the briefs name sources) -> a gold column."""
    return {f"{r.article_id}|{r.field}|{r.start}|{r.end}": getattr(r, column) for r in gold.itertuples()}


def synthetic_v3(work: Path) -> None:
    """``v3_out_*.jsonl`` (rewrites of real train sentences, by the brief's writers) -> ``rewrites_v3.jsonl``:
    a paraphrase per source that keeps the label, and for promotional/factual sources a contrast that
    differs from the paraphrase only in its evaluative words and flips the label. Team-written text; the
    source is named by coordinates and hash only."""
    from secframing.annotate.synthetic import SYNTHETIC_DIR

    gold = gold_frame(with_text=False)
    sha, split = _by_key(gold, "sha1"), _by_key(gold, "split")
    out, n = [], 0
    for part in sorted(work.glob("v3_out_*.jsonl")):
        writer = f"helper-syn3-{part.stem.rsplit('_', 1)[1]}"
        pairs: dict[str, str] = {}
        for line in open(part, encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            if split[r["source"]] != "train":
                raise SystemExit(f"{part}: source {r['source']} is in {split[r['source']]}, not train")
            n += 1
            rid = f"synV3-{n:04d}"
            if r["kind"] == "paraphrase":
                pairs[r["source"]] = rid
            lab = _labels(r)
            out.append({"id": rid, "text": r["text"].strip(), "framing": lab["framing"], "devices": lab["devices"],
                        "sentiment": lab["sentiment"], "voice": lab["voice"], "kind": r["kind"],
                        "pair": pairs.get(r["source"]) if r["kind"] == "contrast" else None,
                        "rewrite_of": _source(r["source"], sha), "register": "msa", "hard_case": r["kind"] == "contrast",
                        "synthetic": True, "author": writer, "guideline": GUIDELINE, "created": CREATED})
    seen: set[str] = set()
    kept = []
    for r in out:  # a writer may repeat a sentence across sources: keep its first occurrence
        if r["text"] not in seen:
            seen.add(r["text"])
            kept.append(r)
    _write(SYNTHETIC_DIR / "rewrites_v3.jsonl", kept)


def renderings(work: Path) -> None:
    """``rend_out.jsonl`` (Darija renderings of the test and seed sentences splits v2 added) -> appended
    to ``data/darija/renderings_v1.jsonl`` with the next ids; labels come from the gold at load time."""
    from secframing.annotate.darija import RENDERINGS

    sha = _by_key(gold_frame(with_text=False), "sha1")
    path = DARIJA_DIR / RENDERINGS
    old = [json.loads(x) for x in open(path, encoding="utf-8") if x.strip()]
    have = {(r["source"]["article_id"], r["source"]["field"], r["source"]["start"], r["source"]["end"]) for r in old}
    n = max(int(r["id"].split("-")[1]) for r in old)
    new = []
    for r in _read(work / "rend_out.jsonl", "source").values():
        src = _source(r["source"], sha)
        if (src["article_id"], src["field"], src["start"], src["end"]) in have:
            continue
        n += 1
        lab = _labels(r)
        new.append({"id": f"darR-{n:04d}", "source": src, "text": r["text"].strip(), **{k: lab[k] for k in
                    ("framing", "devices", "sentiment", "voice")}, "style": r["style"], "register": "darija",
                    "synthetic": True, "split": "test", "author": "helper-dr2", "confidence": r.get("confidence", "high"),
                    "note": r.get("note", ""), "guideline": GUIDELINE, "created": CREATED})
    _write(path, old + new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("round5", "review", "darija", "synthetic_v3", "renderings"))
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    {"round5": round5, "review": review, "darija": darija, "synthetic_v3": synthetic_v3,
     "renderings": renderings}[args.step](args.work)


if __name__ == "__main__":
    main()
