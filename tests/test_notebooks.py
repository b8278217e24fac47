"""The notebooks in ``notebooks/``: committed stripped, following the house rules, and executing cleanly.

Each notebook is executed with nbclient on an in-memory copy (outputs are never written back into
``notebooks/``; the executed copy lands in the test's tmp folder for inspection), with small parameters
injected in a cell right after the one tagged ``parameters`` (the papermill convention). A check cell is
appended that asserts on the notebook's own results, so a notebook that runs but shows nothing useful
fails too. Notebooks that need ``../shared`` skip with the ``shared`` fixture's reason where it is absent.

Needs ``nbclient``, ``nbformat`` and ``ipykernel`` (see ``notebooks/README.md``); skipped without them.
"""

from __future__ import annotations

import ast
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from secframing.paths import REPO_ROOT

nbformat = pytest.importorskip("nbformat")

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
EXPECTED = ("01_corpus.ipynb", "02_annotation.ipynb", "03_models.ipynb", "04_study.ipynb")
NEEDS_SHARED = {"01_corpus.ipynb", "02_annotation.ipynb"}
"""Notebooks that cannot run at all without ../shared (03 runs without it, minus the sentence texts)."""


@dataclass(frozen=True)
class Case:
    notebook: str
    params: str
    """Source of the injected-parameters cell; ``{tmp}`` is replaced by the test's tmp folder."""
    checks: str
    """Source of the appended check cell, run in the notebook's kernel after everything else."""
    min_images: int
    budget_s: int
    """Per-notebook time limit: the per-cell timeout, and the whole run must fit in it too."""
    shared: bool = True
    """Needs ../shared: skipped (with the ``shared`` fixture's reason) where it is absent."""
    hide_shared: bool = False
    """Run with SECFRAMING_SHARED pointing at a missing folder (the notebook's no-shared path)."""


CASES = [
    Case("01_corpus.ipynb", "SMALL = True\nSAMPLE_SIZE = 400\nN_EXAMPLES = 1", """
assert read.n_rows == len(read.articles) + len(read.rejects) and len(read.articles) > 1000
assert len(rejects) == len(read.rejects)
assert {"outlet", "category", "scored", "selected", "share"} <= set(selection.columns)
assert selection["scored"].sum() == SAMPLE_SIZE and 0 < selection["selected"].sum() < SAMPLE_SIZE
assert {"cue", "kind", "hits"} <= set(cues.columns) and len(cues)
assert {"tuning", "heldout", "all"} <= set(quality["sample"])
assert quality["precision"].between(0, 1).all() and quality["recall"].between(0, 1).all()
""", min_images=2, budget_s=90),
    Case("02_annotation.ipynb", "N_BOOT = 100", """
assert {"promotional", "factual", "other", "articles"} <= set(by_split.columns)
assert set(by_split.index) == {"train", "dev", "test", "seeds"}
assert by_split[["promotional", "factual", "other"]].to_numpy().sum() == len(gold)
assert gold["text"].str.len().gt(0).all()
assert {"random", "census"} <= set(by_stratum.index)
row = agreement_table.set_index("layer").loc["framing"]
assert 0 < row["krippendorff_alpha"] <= 1
assert row["alpha_ci95"][0] <= row["krippendorff_alpha"] <= row["alpha_ci95"][1]
assert {"sentiment", "devices (both promotional)"} <= set(agreement_table["layer"])
assert confusion.to_numpy().sum() == ag["units"]
""", min_images=3, budget_s=90),
    Case("03_models.ipynb", "N_BOOT = 100\nN_ERRORS = 3", """
assert {"run", "task", "dev macro-F1", "dev 95% CI", "test macro-F1"} <= set(comparison.columns)
assert "framing" in set(comparison["task"])
assert confusion.to_numpy().sum() == len(dev) == report["n"]
assert 0 <= report["macro_f1"] <= 1 and 0 <= ece <= 1
assert reliability["n"].sum() == len(dev) and promo_rel["n"].sum() == len(dev)
assert "text" in dev.columns and dev["text"].notna().all(), "dev predictions not joined to the gold text"
""", min_images=3, budget_s=90),
    Case("03_models.ipynb", "N_BOOT = 100\nN_ERRORS = 3", """
assert SHARED is None and "text" not in dev.columns
assert confusion.to_numpy().sum() == len(dev) and reliability["n"].sum() == len(dev)
""", min_images=3, budget_s=90, shared=False, hide_shared=True),
    Case("04_study.ipynb", 'N_BOOT = 100\nOUT = r"{tmp}/study"\nN_SHOW = 3', """
assert result.accounting["balanced"] and result.accounting["relevant_articles"] > 0
assert {"group_by", "group", "n_articles", "promotional_share", "ci_low", "ci_high"} <= set(aggregates.columns)
assert {"all", "outlet", "category", "month"} <= set(aggregates["group_by"])
assert str(result.out).startswith(str(Path(OUT).resolve())) and report_path.is_file()
assert {"articles", "sentences", "aggregates"} <= set(tables) and len(figures) >= 3
""", min_images=3, budget_s=120, shared=False),
]


def _read(name: str):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def _code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


# ---- static checks: no kernel needed -------------------------------------------------------------


def test_the_notebooks_exist():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")))
def test_committed_notebook_is_stripped(name):
    """Outputs would hold corpus text: every committed notebook must have none (strip: notebooks/README.md)."""
    nb = _read(name)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{name}: cells {dirty} have outputs or execution counts; run `nbstripout notebooks/*.ipynb`"
    assert not [i for i, c in enumerate(nb.cells) if c.get("attachments")], f"{name}: markdown attachments"
    assert not [i for i, c in enumerate(nb.cells) if "execution" in c.metadata], f"{name}: execution timing metadata"
    assert "widgets" not in nb.metadata, f"{name}: widget state in the notebook metadata"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_follows_the_house_rules(name):
    """First code cell tagged ``parameters``; imports from secframing; defines no function or class
    (reusable code belongs in src/secframing)."""
    cells = _code_cells(_read(name))
    assert "parameters" in cells[0].metadata.get("tags", []), f"{name}: first code cell must be tagged 'parameters'"
    source = "\n".join(c.source for c in cells)
    # IPython magics are not Python: blank them out before parsing
    tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()))
    defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert not defined, f"{name}: defines {defined}; put reusable code in src/secframing instead"
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert any(m.startswith("secframing") for m in modules), f"{name}: imports nothing from secframing"
    if name in NEEDS_SHARED or "shared_dir" in source:
        assert "shared_dir(" in source, f"{name}: locate ../shared with secframing.paths.shared_dir()"


# ---- execution -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.notebook.split("_")[0] + ("-without-shared" if c.hide_shared else ""),
                                               marks=[pytest.mark.shared] if c.shared else [])
                                  for c in CASES])
def test_notebook_executes(case: Case, tmp_path: Path, request, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient

    if case.shared:
        request.getfixturevalue("shared")  # skips with its reason where ../shared is absent
    elif case.notebook in NEEDS_SHARED:
        pytest.fail(f"{case.notebook} cannot run without ../shared")
    if case.hide_shared:
        monkeypatch.setenv("SECFRAMING_SHARED", str(tmp_path / "no-shared-here"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy's frozen-modules warning

    nb = _read(case.notebook)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(case.params.replace("{tmp}", str(tmp_path)),
                                                      metadata={"tags": ["injected-parameters"]}))
    nb.cells.append(nbformat.v4.new_code_cell(case.checks.strip() + "\nprint('notebook checks passed')",
                                              metadata={"tags": ["test-checks"]}))
    client = NotebookClient(nb, timeout=case.budget_s, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    started = time.perf_counter()
    try:
        client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell fails
    finally:
        elapsed = time.perf_counter() - started
        nbformat.write(nb, tmp_path / case.notebook)  # the executed copy, for inspection; never notebooks/
        print(f"{request.node.name}: executed in {elapsed:.1f} s -> {tmp_path / case.notebook}")
    request.node.user_properties.append(("seconds", round(elapsed, 1)))

    outputs = [o for c in _code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "notebook checks passed" in nb.cells[-1].outputs[-1].get("text", "")
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= case.min_images, f"{case.notebook}: {images} figures shown, expected at least {case.min_images}"
    tables = sum("text/html" in o.get("data", {}) and "<table" in o["data"]["text/html"] for o in outputs)
    assert tables >= 2, f"{case.notebook}: {tables} tables shown"
    assert elapsed <= case.budget_s, f"{case.notebook}: {elapsed:.0f} s, over its {case.budget_s} s budget"
