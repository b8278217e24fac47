"""Repository and shared-data locations. Nothing here touches the file system on import."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
DATA_DIR = REPO_ROOT / "data"
LEXICON_DIR = DATA_DIR / "lexicons"
DEMO_CORPUS = DATA_DIR / "demo" / "articles.jsonl"
MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MODEL_DIR = MODELS_DIR / "default"
CONFIG_DIR = REPO_ROOT / "configs"
SYNTHETIC_SETS = ("promotional_v1", "contrast_v1", "realistic_v2")
"""The ``data/synthetic/`` sets (file stems) an experiment trains on unless its ``data.synthetic_sets``
names others (``rewrites_v3``, the rewrites of real train sentences, is opt-in)."""


class SharedDataMissing(FileNotFoundError):
    """``../shared`` (or ``$SECFRAMING_SHARED``) is not where it should be."""


def shared_dir(required: bool = True) -> Path | None:
    """The shared third-party data folder: ``$SECFRAMING_SHARED`` or ``../shared`` beside the repo.

    With ``required=True`` a missing folder raises :class:`SharedDataMissing` saying how to fix it.
    """
    env = os.environ.get("SECFRAMING_SHARED")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared"
    if path.is_dir():
        return path.resolve()
    if required:
        how = "SECFRAMING_SHARED" if env else "the default ../shared beside the repository"
        raise SharedDataMissing(
            f"shared data folder not found at {path} (from {how}); "
            "set SECFRAMING_SHARED to the folder that holds corpora/, external/ and seeds/"
        )
    return None
