"""A student's first steps, as the README writes them: install, check the version, run a lesson's first cell.

The README's install block is run command by command in a fresh copy of the project, from a fresh venv: `pip
install .` builds toynet's wheel and installs it. The one liberty: the venv is made with
--system-site-packages, so numpy and matplotlib come from the interpreter the test runs on instead of being
downloaded (pip's cache and package index serve the rest). Then a lesson's first cell, the student copy's first
cell too, runs in that venv, from another folder (so the installed wheel is imported, not the source tree).
Before the install, and with a too-old or foreign toynet, the same cell fails with a sentence saying what to run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from toynet.grading.markers import has_solution

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LESSON = ROOT / "notebooks" / "01_gradient_checking_1d.ipynb"
PROJECT_FILES = ("pyproject.toml", "README.md", "toynet")


def install_commands() -> list[str]:
    """The ```sh block of the README's "Install, then learn" section, one command a line."""
    section = README.read_text().split("## Install, then learn")[1].split("\n## ")[0]
    block = re.search(r"^```sh\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    assert block, "the README's install section has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def first_cell() -> str:
    cell = nbformat.read(LESSON, as_version=4).cells[0]
    assert cell.cell_type == "code" and not has_solution(cell.source)  # the student copy's first cell is the same
    return cell.source


def run_first_cell(python: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", first_cell()], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env)


def test_readme_install_block_is_the_path_the_notebooks_name():
    commands = install_commands()
    assert commands[0].startswith("python3 -m venv ") and "pip install ." in commands[1]
    assert "toynet.__version__" in commands[2]
    assert "pip install ." in first_cell() and "toynet.__version__" in first_cell()
    for lesson in sorted((ROOT / "notebooks").glob("0*.ipynb")):  # every lesson begins with the same check
        assert nbformat.read(lesson, as_version=4).cells[0].source == first_cell(), lesson.name


@pytest.mark.slow(50)
def test_readme_path_from_a_fresh_venv_to_a_passing_first_cell(tmp_path: Path):
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, clone / name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    base_python = shutil.which("python3") or sys.executable
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    commands = install_commands()
    venv_python = None
    for number, command in enumerate(commands):
        argv = shlex.split(command)
        if argv[:3] == ["python3", "-m", "venv"]:
            argv = [base_python, "-m", "venv", "--system-site-packages", *argv[3:]]  # the one liberty (module doc)
            venv_python = str(clone / argv[-1] / "bin" / "python")
        done = subprocess.run(argv, cwd=clone, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, f"README step {command!r} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        if number == 0:  # a fresh venv: the first cell says toynet is missing and what to run
            missing = run_first_cell(venv_python, elsewhere, env)
            assert missing.returncode != 0 and "toynet is not installed" in missing.stderr
            assert "python -m pip install ." in missing.stderr
    assert re.fullmatch(r"\d+\.\d+\.\d+\n", done.stdout) and tuple(map(int, done.stdout.split(".")[:2])) >= (0, 2)
    ready = run_first_cell(venv_python, elsewhere, env)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.strip() == f"toynet {done.stdout.strip()} is ready"
    where = subprocess.run([venv_python, "-c", "import toynet; print(toynet.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, timeout=60, env=env).stdout
    assert where.startswith(str(clone / ".venv-course")) and "site-packages" in where  # the wheel, not the tree


@pytest.mark.parametrize(("version", "course", "phrase"), [
    ("0.1.0", True, "too old"),               # an older toynet of this project
    ("0.2", False, "not the course's"),       # the unrelated `toynet` of the package index (version 0.2)
])
def test_first_cell_with_an_old_or_foreign_toynet_says_what_to_run(version, course, phrase, tmp_path: Path):
    package = tmp_path / "toynet"
    package.mkdir()
    (package / "__init__.py").write_text(f"__version__ = {version!r}\n")
    if course:
        (package / "student_check.py").write_text("")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = run_first_cell(sys.executable, tmp_path, env)
    assert done.returncode != 0
    assert phrase in done.stderr and "python -m pip install --upgrade ." in done.stderr
    assert "restart the kernel" in done.stderr
