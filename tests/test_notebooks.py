"""The notebooks in experiments/notebooks run from top to bottom with the public API.

Each is executed in a real Jupyter kernel (nbclient); any cell error fails the test. They are
stored without outputs, so what a reader opens is what this test runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[1] / "experiments" / "notebooks").glob("*.ipynb")
)


def test_the_three_notebooks_exist() -> None:
    assert [n.stem for n in NOTEBOOKS] == [
        "01_quick_start",
        "02_design_comparison",
        "03_own_facilities",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_runs_without_errors_or_warnings(path: Path, monkeypatch) -> None:
    # the kernel is this environment's Python, whatever is first on PATH
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    streams = [
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("name") == "stderr"
    ]
    warnings = [s for s in streams if "Warning" in s]
    assert not warnings, warnings
