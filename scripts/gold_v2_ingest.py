"""Gold v2: turn the annotators' files into the project's stand-off annotation files.

    python scripts/gold_v2_ingest.py round5 --work DIR        # round-5 labels -> data/annotations/round5/
    python scripts/gold_v2_ingest.py review --work DIR        # v1.3 re-review -> review_v1_3/, review_v1_3.jsonl
    python scripts/gold_v2_ingest.py darija --work DIR        # Darija second pass + adjudication -> data/darija/

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("round5", "review", "darija"))
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    {"round5": round5, "review": review, "darija": darija}[args.step](args.work)


if __name__ == "__main__":
    main()
