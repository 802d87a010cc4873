"""The step-through notebooks: committed clean, and every one runs top to bottom (its own asserts included).

Each notebook is executed with nbclient in a kernel started from *this* interpreter (the project's .venv,
where toynet is installed), with the notebook's folder as working directory, so `../assets/...` resolves
exactly as it does in JupyterLab. A cell that raises, including a failed `assert` on a number the notebook
teaches, fails the test with the cell's source and traceback.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_gradient_checking_1d",
    "02_gradient_checking_nd",
    "03_layers_from_scratch",
    "04_training_a_network",
    "05_when_gradient_checks_lie",
]
CELL_TIMEOUT = 60  # seconds per cell; each notebook runs in a few seconds


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_every_notebook_of_the_course_is_there():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        i for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"
    assert "widgets" not in notebook.metadata, f"{path.name} carries widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_imports_the_installed_package_and_existing_assets(path: Path):
    notebook = nbformat.read(path, as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "sys.path" not in code, f"{path.name} must import toynet from the installed package, not by path hacks"
    assert re.search(r"^\s*(import toynet|from toynet)", code, re.M), f"{path.name} never imports toynet"
    assert re.search(r"^\s*assert ", code, re.M), f"{path.name} must assert the numbers it teaches"
    for target in re.findall(r"\]\(([^)\s]+\.png)\)", markdown):
        assert not Path(target).is_absolute(), f"{path.name}: {target} must be a relative path"
        assert (NOTEBOOKS_DIR / target).resolve().is_file(), f"{path.name} shows {target}, which does not exist"


def _kernel_manager(tmp_path: Path):
    """A kernel running this very interpreter, whatever kernelspecs the user has installed elsewhere."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = tmp_path / "kernels" / "toynet-test"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "toynet (.venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name="toynet-test", kernel_spec_manager=specs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        km=_kernel_manager(tmp_path),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed:\n{error}", pytrace=False)
    ran = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert ran and all(cell.execution_count is not None for cell in ran)
    # the executed copy lives only in memory: the committed file stays clean
    assert not any(cell.get("outputs") for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
