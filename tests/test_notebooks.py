"""The step-through notebooks: text and notebook in sync, committed clean, and every one runs top to bottom.

Each notebook is authored as a jupytext pair (notebooks/jupytext.toml): `NN_name.py` in percent format, the text
that is reviewed and linted, and `NN_name.ipynb`, which is opened, executed and handed out. A pair whose cells
disagree (a .py edited without `jupytext --sync`, an .ipynb edited outside JupyterLab's jupytext extension)
fails here.

Each notebook is executed with nbclient in a kernel started from *this* interpreter (the project's .venv,
where toynet is installed), with the notebook's folder as working directory, so `../assets/...` resolves
exactly as it does in JupyterLab. A cell that raises, including a failed `assert` on a number the notebook
teaches, fails the test with the cell's source and traceback.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import zip_longest
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
TEXTS = sorted(NOTEBOOKS_DIR.glob("*.py"))
EXPECTED = [
    "01_gradient_checking_1d",
    "02_gradient_checking_nd",
    "03_layers_from_scratch",
    "04_training_a_network",
    "05_when_gradient_checks_lie",
    "06_step_by_step",
    "07_initialization_regularization_dropout",
]
CELL_TIMEOUT = 60  # seconds per cell; each notebook runs in a few seconds


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_every_notebook_of_the_course_is_there():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


def cell_differences(text_path: Path, notebook_path: Path) -> list[str]:
    """Where a percent-format .py and its .ipynb disagree (cell type or source), one line each; [] when in sync."""
    text_cells = jupytext.read(text_path, fmt="py:percent").cells
    notebook_cells = nbformat.read(notebook_path, as_version=4).cells
    differences = []
    for i, (ours, theirs) in enumerate(zip(text_cells, notebook_cells, strict=False)):
        if ours.cell_type != theirs.cell_type:
            differences.append(f"cell {i}: {ours.cell_type} in the .py, {theirs.cell_type} in the .ipynb")
        elif ours.source != theirs.source:
            lines = zip_longest(ours.source.splitlines(), theirs.source.splitlines())
            py_line, ipynb_line = next((pair for pair in lines if pair[0] != pair[1]), (ours.source, theirs.source))
            differences.append(f"cell {i}: the .py has {py_line!r} where the .ipynb has {ipynb_line!r}")
    if len(text_cells) != len(notebook_cells):
        differences.append(f"{text_path.name} has {len(text_cells)} cells, {notebook_path.name} {len(notebook_cells)}")
    return differences


def test_jupytext_pairs_every_notebook_with_its_percent_script():
    config_file = find_jupytext_configuration_file(str(NOTEBOOKS_DIR))
    assert config_file == str(NOTEBOOKS_DIR / "jupytext.toml"), f"jupytext would read {config_file}"
    assert load_jupytext_configuration_file(config_file).formats == ["ipynb,py:percent"]
    assert [path.stem for path in TEXTS] == [path.stem for path in NOTEBOOKS], "every .ipynb needs its .py, and back"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_and_its_percent_script_hold_the_same_cells(path: Path):
    differences = cell_differences(path.with_suffix(".py"), path)
    assert not differences, (
        "out of sync; run `jupytext --sync` on the file you edited:\n" + "\n".join(differences)
    )


def test_a_drifted_pair_is_caught(tmp_path: Path):
    """The sync check itself can fail: edit a line, turn a cell's type, drop a cell, each on one side only."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    notebook_path, text_path = tmp_path / "00_pair.ipynb", tmp_path / "00_pair.py"
    cells = [new_markdown_cell("# A pair\n\nWith $J = \\theta x$."), new_code_cell("x, theta = 2, 4\nJ = theta * x"),
             new_code_cell("assert J == 8")]

    def write_pair(text_cells: list, notebook_cells: list) -> list[str]:
        jupytext.write(new_notebook(cells=text_cells), text_path, fmt="py:percent")
        nbformat.write(new_notebook(cells=notebook_cells), notebook_path)
        return cell_differences(text_path, notebook_path)

    assert write_pair(cells, cells) == []
    edited = [cells[0], new_code_cell("x, theta = 3, 4\nJ = theta * x"), cells[2]]
    assert write_pair(edited, cells) == ["cell 1: the .py has 'x, theta = 3, 4' where the .ipynb has 'x, theta = 2, 4'"]
    retyped = [cells[0], cells[1], new_markdown_cell("assert J == 8")]
    assert write_pair(cells, retyped) == ["cell 2: code in the .py, markdown in the .ipynb"]
    assert write_pair(cells, cells[:2]) == ["00_pair.py has 3 cells, 00_pair.ipynb 2"]
    assert write_pair(cells, [*cells, new_code_cell("")]) == ["00_pair.py has 3 cells, 00_pair.ipynb 4"]


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


# A notebook takes about 3 s to run; 07 about 20 s (the course's three 30 000-step trainings). `make test` starts the
# longest first (tests/conftest.py).
RUNS = [pytest.param(path, id=path.stem, marks=pytest.mark.slow(20 if path.stem.startswith("07_") else 3))
        for path in NOTEBOOKS]


@pytest.mark.parametrize("path", RUNS)
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
