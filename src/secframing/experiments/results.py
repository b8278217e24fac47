"""``models/RESULTS.md`` regenerated from run directories (``secframing report``): every number in it
is read from a run's ``metrics.json`` and ``manifest.json``, never typed by hand. Runs that could not
be made here (``skipped.json``, e.g. a hub model offline) are listed with their reason. Targets and the
explanations of missed ones come from ``configs/experiments/targets.toml``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from secframing.paths import REPO_ROOT

TASK_ORDER = ("framing", "sentiment", "subjectivity", "persuasion", "persuasion_coarse", "mac_sentiment")
TARGETS = REPO_ROOT / "configs" / "experiments" / "targets.toml"


def _ci(m: dict[str, Any] | None) -> str:
    if not m:
        return "—"
    lo, hi = m["macro_f1_ci95"]
    return f"{m['macro_f1']:.3f} ({lo:.3f}–{hi:.3f})"


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def collect(runs: Path) -> list[dict[str, Any]]:
    """One record per run directory under ``runs`` (finished or skipped)."""
    rows = []
    for run in sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []:
        if (run / "skipped.json").exists() and not (run / "metrics.json").exists():
            s = _read(run / "skipped.json")
            rows.append({"run": run.name, "experiment": s.get("experiment"), "task": s.get("task"),
                         "backend": s.get("backend"), "skipped": s.get("reason"), "dev": None, "test": None})
            continue
        if not (run / "metrics.json").exists():
            continue
        m, man = _read(run / "metrics.json"), _read(run / "manifest.json")
        rows.append({"run": run.name, "experiment": m.get("experiment"), "task": m.get("task"),
                     "backend": m.get("backend"), "dev": m.get("dev"), "test": m.get("test"),
                     "dev_sd": m.get("dev_macro_f1_sd"), "seeds": len(m.get("seeds", [])) or 1,
                     "speed": m.get("predict_sentences_per_s"), "commit": (man.get("git") or {}).get("commit"),
                     "dirty": (man.get("git") or {}).get("dirty"), "finished": man.get("finished"),
                     "devices": m.get("devices"), "ablation": m.get("ablation") or "", "arm": m.get("arm") or "",
                     "learning_curve": m.get("learning_curve"), "learned_alone_dev": m.get("learned_alone_dev"),
                     "train_n": ((m.get("data") or {}).get("train") or {}).get("n"), "skipped": None,
                     "transfer": m.get("transfer"), "transfer_mean": m.get("transfer_mean"),
                     "dev_transfer_mean": m.get("dev_transfer_mean")})
    rows.sort(key=lambda r: (TASK_ORDER.index(r["task"]) if r["task"] in TASK_ORDER else 99,
                             -((r["dev"] or {}).get("macro_f1", -1))))
    return rows


def _main_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| task | experiment | backend | seeds | dev macro-F1 | test macro-F1 | speed | commit |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["skipped"]:
            lines.append(f"| {r['task']} | `{r['experiment']}` | {r['backend']} | — | not run here (below) | — | — | — |")
            continue
        commit = (r["commit"] or "")[:8] + (" (dirty)" if r["dirty"] else "")
        lines.append(f"| {r['task']} | `{r['experiment']}` | {r['backend']} | {r['seeds']} | {_ci(r['dev'])} | "
                     f"{_ci(r['test'])} | {r['speed'] or '—'} | {commit} |")
    return lines


def _per_class(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| experiment | split | " + "class | P | R | F1 |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["skipped"] or r["task"] not in ("framing", "sentiment"):
            continue
        for split in ("dev", "test"):
            for label, c in ((r[split] or {}).get("per_class") or {}).items():
                lines.append(f"| `{r['experiment']}` | {split} | {label} | {c['precision']:.2f} | {c['recall']:.2f} | {c['f1']:.2f} |")
    return lines


def _ablations(rows: list[dict[str, Any]]) -> list[str]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("ablation") and not r["skipped"]:
            groups.setdefault(r["ablation"], []).append(r)
    lines: list[str] = []
    for name, members in sorted(groups.items()):
        lines += ["", f"### {name}", "", "| arm | experiment | train rows | dev macro-F1 (seed sd) | test macro-F1 |",
                  "|---|---|---|---|---|"]
        for r in sorted(members, key=lambda r: r["experiment"]):
            sd = f" (±{r['dev_sd']:.3f})" if r.get("dev_sd") is not None else ""
            lines.append(f"| {r['arm'] or '—'} | `{r['experiment']}` | {r['train_n'] or '—'} | {_ci(r['dev'])}{sd} | {_ci(r['test'])} |")
    return lines


def _curves(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for r in rows:
        if not r.get("learning_curve"):
            continue
        lines += ["", f"`{r['experiment']}` ({r['task']}, {r['backend']} learned model, dev macro-F1 over "
                  f"{r['learning_curve'][0]['seeds']} seeded samples):", "",
                  "| training sentences | dev macro-F1 mean | sd |", "|---|---|---|"]
        lines += [f"| {p['n_train']} | {p['dev_macro_f1_mean']:.3f} | {p['dev_macro_f1_sd']:.3f} |" for p in r["learning_curve"]]
    return lines


SLICE_COLUMNS = ("test_no_seeds", "test_seeds", "loo_febrayer", "darija_news_test", "darija_renderings")
"""The transfer slices RESULTS.md shows side by side: the test side of ``experiments.transfer`` plus
leave-Febrayer-out."""


def _slice_cell(task: str, rep: dict[str, Any] | None) -> str:
    if not rep or "macro_f1" not in rep:
        return "—"
    second = "promotional_recall" if task == "framing" else "negative_f1"
    ci = rep.get("macro_f1_ci95")
    ci_txt = f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci and None not in ci else ""
    extra = f"; {'R' if task == 'framing' else 'neg F1'} {rep[second]:.2f}" if rep.get(second) is not None else ""
    return f"{rep['macro_f1']:.3f}{ci_txt}{extra}"


def _transfer(rows: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for task in ("framing", "sentiment"):
        members = [r for r in rows if r["task"] == task and r.get("transfer")]
        if not members:
            continue
        members.sort(key=lambda r: -(r.get("transfer_mean") or -1))
        head = ("promotional vs rest: binary macro-F1 (95% CI, bootstrap over articles); R = promotional recall"
                if task == "framing" else "three-class macro-F1 (95% CI over articles); negative-class F1")
        lines += ["", f"### {task} ({head})", "",
                  "| experiment | backend | " + " | ".join(SLICE_COLUMNS) + " | mean (test side) | mean of dev slices |",
                  "|---|---|" + "---|" * len(SLICE_COLUMNS) + "---|---|"]
        for r in members:
            cells = [_slice_cell(task, r["transfer"].get(c)) for c in SLICE_COLUMNS]
            mean = f"{r['transfer_mean']:.3f}" if r.get("transfer_mean") is not None else "—"
            dmean = f"{r['dev_transfer_mean']:.3f}" if r.get("dev_transfer_mean") is not None else "—"
            lines.append(f"| `{r['experiment']}` | {r['backend']} | " + " | ".join(cells) + f" | {mean} | {dmean} |")
    return lines


def _transfer_targets(rows: list[dict[str, Any]], targets: dict[str, Any]) -> list[str]:
    """For each task with transfer targets: every slice of the run chosen by the dev-slice mean."""
    lines = ["| task | run (best dev-slice mean) | slice | macro-F1 | goal | second figure | goal | status |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    for task, t in targets.items():
        members = [r for r in rows if r["task"] == task and r.get("dev_transfer_mean") is not None]
        if not members:
            lines.append(f"| {task} | no run with transfer slices | — | — | {t['macro_f1']:.2f} | — | — | — |")
            continue
        best = max(members, key=lambda r: r["dev_transfer_mean"])
        missed = False
        for name in SLICE_COLUMNS:
            rep = (best.get("transfer") or {}).get(name)
            if not rep or rep.get("macro_f1") is None:
                lines.append(f"| {task} | `{best['experiment']}` | {name} | not measured | {t['macro_f1']:.2f} | — | "
                             f"{t['second_goal']:.2f} | missing |")
                missed = True
                continue
            sec = rep.get(t["second"])
            ok = rep["macro_f1"] >= t["macro_f1"] and sec is not None and sec >= t["second_goal"]
            missed |= not ok
            lines.append(f"| {task} | `{best['experiment']}` | {name} | {rep['macro_f1']:.3f} | {t['macro_f1']:.2f} | "
                         f"{t['second'].replace('_', ' ')} {'—' if sec is None else f'{sec:.2f}'} | "
                         f"{t['second_goal']:.2f} | {'met' if ok else 'missed'} |")
        if missed:
            notes.append(f"- **{task}** (missed). " + " ".join(t["why"].split()))
    return lines + ([""] + notes if notes else [])


def _targets(rows: list[dict[str, Any]], targets: dict[str, Any]) -> list[str]:
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["dev"] and (r["task"] not in best or r["dev"]["macro_f1"] > best[r["task"]]["dev"]["macro_f1"]):
            best[r["task"]] = r
    lines = ["| task | target | best on dev | its score | gap |", "|---|---|---|---|---|"]
    notes = []
    for task, t in targets.items():
        r = best.get(task)
        if "goal" not in t:  # reported beside published figures, no target set
            score = _ci(r[t["split"]] or r["dev"]) if r else "no run"
            lines.append(f"| {task} | none set ({t['split']}) | {'`' + r['experiment'] + '`' if r else '—'} | {score} | — |")
            pub = f" Published: {t['published']}." if t.get("published") else ""
            notes.append(f"- **{task}** (no target).{pub} " + " ".join(t.get("why", "").split()))
            continue
        if r is None:
            lines.append(f"| {task} | {t['split']} ≥ {t['goal']:.2f} | no run | — | — |")
            continue
        m = r[t["split"]] or r["dev"]
        gap = m["macro_f1"] - t["goal"]
        status = "met" if gap >= 0 else f"missed by {-gap:.3f}"
        lines.append(f"| {task} | {t['split']} ≥ {t['goal']:.2f} | `{r['experiment']}` | {_ci(m)} | {status} |")
        if gap < 0:
            pub = f" Published: {t['published']}." if t.get("published") else ""
            notes.append(f"- **{task}** ({status}).{pub} " + " ".join(t["why"].split()))
    return lines + ([""] + notes if notes else [])


def render(rows: list[dict[str, Any]], runs: Path, targets: dict[str, Any] | None = None) -> str:
    lines = ["# Results", "",
             f"_Generated by `secframing report --runs {runs}` from the run directories; do not edit by hand._", "",
             "Macro-F1 with 95% percentile bootstrap CIs. Model selection on dev only; test evaluated once per run.",
             "External datasets' test splits are sealed (—). Speed: sentences/s on the machine that ran it",
             "(2 CPU cores; other jobs may have shared them).", "", "## All runs", ""]
    lines += _main_table(rows)
    skipped = [r for r in rows if r["skipped"]]
    if skipped:
        lines += ["", "Not run here (they need what this machine lacks; run them where it is available):", ""]
        lines += [f"- `{r['experiment']}`: {r['skipped']}" for r in skipped]
    ens = [r for r in rows if r.get("learned_alone_dev")]
    if ens:
        lines += ["", "Ensembles: the learned component alone on dev, for comparison:", ""]
        lines += [f"- `{r['experiment']}`: {_ci(r['learned_alone_dev'])}" for r in ens]
    dev_rows = [r for r in rows if r.get("devices")]
    if dev_rows:
        lines += ["", "Framing devices (multi-label head, on gold promotional sentences):", "",
                  "| experiment | split | micro-F1 | macro-F1 |", "|---|---|---|---|"]
        for r in dev_rows:
            for split, d in r["devices"].items():
                lines.append(f"| `{r['experiment']}` | {split} | {d['micro_f1']:.3f} | {d['macro_f1']:.3f} |")
    transfer = _transfer(rows)
    if transfer:
        lines += ["", "## Transfer slices", "",
                  "Away from what training saw: the test split without the three seed op-eds, the test seed op-eds",
                  "alone, leave-one-outlet-out (refitted without Febrayer, scored on all Febrayer gold sentences), the",
                  "team-written Darija news set's test split, and Darija renderings of gold test sentences.",
                  "A predicted `other` counts as not promotional. Seeds are selected on the mean of the dev slices;",
                  "the test-side mean is reported, never used for selection. The cue-list lexicon (`lexicon_baseline`)",
                  "and plain TF-IDF (`framing_tfidf`) are the floors."] + transfer
    abl = _ablations(rows)
    if abl:
        lines += ["", "## Ablations", "", "Same backend and seeds; only the training data differ. Dev decides."] + abl
    curves = _curves(rows)
    if curves:
        lines += ["", "## Learning curves", "", "How dev macro-F1 grows with the number of gold training sentences."] + curves
    lines += ["", "## Per-class scores (in-domain tasks)", ""] + _per_class(rows)
    if targets is None:
        targets = tomllib.loads(TARGETS.read_text(encoding="utf-8")) if TARGETS.exists() else {}
    targets = dict(targets or {})
    transfer_targets = targets.pop("transfer", None)
    if targets:
        lines += ["", "## Targets (issue: models and reproducible experiments)", ""] + _targets(rows, targets)
    if transfer_targets:
        lines += ["", "## Transfer targets (issue: a framing model for Moroccan Arabic it has never seen)", ""]
        lines += _transfer_targets(rows, transfer_targets)
    return "\n".join(lines) + "\n"


def write_results(runs: Path, output: Path) -> Path:
    output.write_text(render(collect(runs), runs), encoding="utf-8")
    return output
