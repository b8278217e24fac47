"""Rewrite a format-1 model directory (devices head inside the learned model) in the current format.

The weights are loaded and saved again, not retrained, so predictions are unchanged; the run files beside
the model (metrics.json, manifest.json, predictions_*.jsonl, README.md) are kept as they are, and the
experiment record in ``model.json`` (``experiment``, ``metrics_summary``) is carried over.

    python scripts/upgrade_model_dir.py models/default models/sentiment
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from secframing.models import load_model

RUN_FILES = ("metrics.json", "manifest.json", "config.resolved.json", "README.md", "predictions_dev.jsonl",
             "predictions_test.jsonl")


def upgrade(directory: Path) -> None:
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    if meta.get("format_version", 1) >= 2:
        print(f"{directory}: already format {meta['format_version']}")
        return
    model = load_model(directory)
    extra = {k: meta[k] for k in ("experiment", "metrics_summary") if k in meta}
    with tempfile.TemporaryDirectory() as tmp:
        new = model.save(Path(tmp) / "model", extra_meta=extra)
        for name in RUN_FILES:
            if (directory / name).exists():
                shutil.copy2(directory / name, new / name)
        shutil.rmtree(directory)
        shutil.copytree(new, directory)
    print(f"{directory}: format 1 -> {json.loads((directory / 'model.json').read_text())['format_version']}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        upgrade(Path(arg))
