"""The layering of the package, checked with the import contracts of ``pyproject.toml``
(``[tool.importlinter]``): ``models`` imports nothing above it, ``io`` and ``text`` import no model or
experiment code, and no subpackages or modules import each other in a circle. Every import counts,
including lazy ones inside functions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from secframing.paths import REPO_ROOT

pytest.importorskip("importlinter")

CONTRACT_NAMES = {
    "models-below-everything": "models import nothing above them",
    "io-text-below-models": "io and text import no models",
    "no-cycles": "no import cycles between the subpackages and modules of secframing",
}


def lint_imports(cwd: Path, config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``lint-imports`` with this interpreter (no cache folder left behind)."""
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, str(config), "--no-cache", "--no-logo"], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def broken_section(output: str) -> str:
    """The part of the report that names each broken contract and the imports that break it."""
    return output[output.index("Broken contracts"):] if "Broken contracts" in output else output


def test_the_package_keeps_its_import_contracts():
    res = lint_imports(REPO_ROOT, REPO_ROOT / "pyproject.toml")
    report = broken_section(res.stdout + res.stderr)
    assert res.returncode == 0, f"import contracts broken; each import that breaks one:\n{report}"
    for name in CONTRACT_NAMES.values():
        assert f"{name}" in res.stdout
    assert "3 kept, 0 broken" in res.stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")


def test_the_contracts_catch_each_kind_of_violation(tmp_path):
    """The same configuration on a small package named ``secframing`` that breaks every contract: a model
    importing the experiments lazily inside a function, ``io`` reaching the models through ``annotate``,
    and two model modules importing each other."""
    empty = ("__init__.py", "cli.py", *(f"{sub}/__init__.py" for sub in
                                        ("experiments", "study", "evaluation", "text", "models", "io", "annotate")))
    pkg = {f"secframing/{name}": "" for name in empty}
    pkg |= {
        "secframing/experiments/metrics.py": "def f1():\n    return 1.0\n",
        "secframing/models/layered.py": """
            def tune():
                from secframing.experiments.metrics import f1

                return f1()
            """,
        "secframing/models/base.py": "from secframing.models import tfidf\n",
        "secframing/models/tfidf.py": "from secframing.models import base\n",
        "secframing/annotate/tools.py": "import secframing.models.base\n",
        "secframing/io/readers.py": "from secframing.annotate import tools\n",
    }
    _write(tmp_path, pkg)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = lint_imports(tmp_path, REPO_ROOT / "pyproject.toml", env)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "0 kept, 3 broken" in out, out
    report = broken_section(out)
    assert "secframing.models.layered -> secframing.experiments.metrics (l.3)" in report
    # an indirect chain counts: io -> annotate -> models
    assert "secframing.io.readers -> secframing.annotate.tools" in report
    assert "secframing.annotate.tools -> secframing.models.base" in report
    assert "No cycles are allowed in secframing.models" in report
