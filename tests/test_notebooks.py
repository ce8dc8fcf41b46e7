"""The user-journey notebooks in notebooks/ run top to bottom on the real data (as nbmake would run them).

Each notebook is executed in a fresh Python kernel from its own directory;
a failing cell fails the test with the cell's traceback.  The notebooks are
stored without outputs, so their diffs stay readable.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import DATASETS, REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_every_journey_has_a_notebook():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01-communities.ipynb", "02-opinion-leaders.ipynb", "03-campaign-planning.ipynb",
                     "04-crm-bridge.ipynb", "05-negativity-waves.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"strip the outputs of {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("GRAPHCRM_DATASETS", str(DATASETS))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: {exc}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert figures >= 2, f"{path.name} drew {figures} figures"
