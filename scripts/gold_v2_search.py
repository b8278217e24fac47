"""Gold v2, round 5: search the whole corpus for promotional sentences outside the seeds.

    python scripts/gold_v2_search.py --transformer RUN_DIR --out DIR     (needs ../shared)

Ranks every undrawn corpus sentence with institution evidence by the lexicon, the shipped model
(models/default) and a fine-tuned encoder (a `framing_transformer` run directory), plus the voice-category
and Febrayer searches (`secframing.annotate.search.build_round5`). Writes to DIR (outside git: the files
carry corpus text for the annotators): `round5_units.jsonl` (coordinates, sha1, stratum, scores and
text), `round5_record.json` (the design record that goes into data/annotations/design.json) and
`round5_items.jsonl` (blind annotation items with context, in a seeded random order).
"""

import argparse
import hashlib
import json
import random
from pathlib import Path

from secframing.annotate.gold import ANNOTATIONS
from secframing.annotate.search import Round5Config, build_round5
from secframing.io.adapters import read_shared_corpus
from secframing.models.base import load_model
from secframing.models.lexicon import LexiconModel
from secframing.paths import REPO_ROOT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transformer", help="a framing_transformer run directory (its scores join the ranking)")
    ap.add_argument("--out", required=True, help="output folder (outside git)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = read_shared_corpus().articles
    drawn = set()
    with open(ANNOTATIONS / "units.jsonl", encoding="utf-8") as fh:
        for line in fh:
            u = json.loads(line)
            drawn.add((u["article_id"], u["field"], u["start"], u["end"]))
    models = {"lexicon": LexiconModel(), "default": load_model(REPO_ROOT / "models" / "default")}
    if args.transformer:
        models["transformer"] = load_model(args.transformer)
    res = build_round5(corpus, drawn, models, Round5Config())
    by_id = {a.id: a for a in corpus}
    units = res["units"]
    for u in units:
        u["sha1"] = hashlib.sha1(u["text"].encode("utf-8")).hexdigest()
    res["record"]["transformer_run"] = str(args.transformer)
    (out / "round5_record.json").write_text(json.dumps(res["record"], ensure_ascii=False, indent=1), encoding="utf-8")
    with open(out / "round5_units.jsonl", "w", encoding="utf-8") as fh:
        for u in units:
            fh.write(json.dumps(u, ensure_ascii=False) + "\n")
    items = []
    for u in units:
        a = by_id[u["article_id"]]
        body = a.text if u["field"] == "text" else (a.title or "")
        items.append({"key": f"{u['article_id']}|{u['field']}|{u['start']}|{u['end']}", "sha1": u["sha1"],
                      "title": a.title, "field": u["field"], "before": body[max(0, u["start"] - 350):u["start"]],
                      "text": u["text"], "after": body[u["end"]:u["end"] + 200]})
    random.Random(Round5Config().seed).shuffle(items)
    with open(out / "round5_items.jsonl", "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps(it, ensure_ascii=False) + "\n")
    print(res["record"]["pool"], "pool sentences;", res["record"]["n"], "taken from", res["record"]["articles"], "articles")


if __name__ == "__main__":
    main()
