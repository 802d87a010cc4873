"""Build an assignment from a solution-marked notebook: the student's copy, the autograder bundle, a Gradescope zip.

    build("assignments/layers.ipynb", "build/layers", gradescope=True)

writes OUT/student/layers.ipynb (solutions stubbed, hidden tests removed, outputs cleared), OUT/autograder/
(tests and expected values, readable only by the grader's user) and OUT/gradescope/layers_autograder.zip.
Building grades the solution (it must score full marks) and the student copy (it must score zero), through
the same sandbox the class is graded with: a test that passes on stubs or fails on the solution is a bug.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toynet.grading.gives import GivesError, build_student_toynet
from toynet.grading.grade import Bundle, Question, SubmissionResult, grade_submission
from toynet.grading.markers import (
    defined_names,
    has_solution,
    question_of,
    remove_hidden,
    split_hidden,
    strip_solutions,
)
from toynet.grading.sandbox import Limits

CONFIG_FILE = "config.json"


class AssignmentError(ValueError):
    """The source notebook does not make a sound assignment (e.g. its solution does not score full marks)."""


@dataclass
class BuiltAssignment:
    student: Path
    autograder: Path
    gradescope: Path | None
    solution: SubmissionResult
    stubbed: SubmissionResult
    given: list[str] = field(default_factory=list)  # what of toynet the student may use, as config.json says
    carried: list[str] = field(default_factory=list)  # toynet code the given objects need (reachable too)


CONFIG_KEYS = {
    "gives": "what of toynet the student's process may import, e.g. ['toynet.params:dictionary_to_vector']",
    "points": "points per question, overriding the notebook's metadata",
    "limits": f"per-submission limits: {', '.join(Limits.__dataclass_fields__)}",
}


def load_config(source: Path) -> dict[str, Any]:
    """The entry for this notebook in the `config.json` beside it ({} when there is none), checked.

    An unknown key (a typo, or the retired denylist `stubs`), an unknown limit or a limit that is not a
    positive number is an AssignmentError naming it: a misspelt setting must never be ignored silently.
    """
    path = source.parent / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        entry = json.loads(path.read_text()).get(source.stem, {})
    except (ValueError, AttributeError) as error:
        raise AssignmentError(f"{path}: not a JSON object of assignments ({error})") from None
    if not isinstance(entry, dict):
        raise AssignmentError(f"{path}: the entry {source.stem!r} must be an object")
    for key in entry:
        if key not in CONFIG_KEYS:
            hint = "; toynet is now an allowlist: list what the student may use under 'gives'" if key == "stubs" else ""
            raise AssignmentError(f"{path}: {source.stem}: unknown key {key!r}{hint} "
                                  f"(known: {', '.join(f'{k} ({v})' for k, v in CONFIG_KEYS.items())})")
    limits = entry.get("limits", {})
    if not isinstance(limits, dict):
        raise AssignmentError(f"{path}: {source.stem}: 'limits' must be an object")
    for name, value in limits.items():
        if name not in Limits.__dataclass_fields__:
            raise AssignmentError(f"{path}: {source.stem}: unknown limit {name!r} "
                                  f"(known: {', '.join(Limits.__dataclass_fields__)})")
        if type(value) not in (int, float) or not value > 0:
            raise AssignmentError(f"{path}: {source.stem}: limit {name!r} must be a positive number, got {value!r}")
    points = entry.get("points", {})
    if not isinstance(points, dict) or not all(type(v) in (int, float) and v >= 0 for v in points.values()):
        raise AssignmentError(f"{path}: {source.stem}: 'points' must map question names to non-negative numbers")
    return dict(entry)


def build(source: str | os.PathLike[str], out: str | os.PathLike[str], gradescope: bool = False) -> BuiltAssignment:
    """Write OUT/student, OUT/autograder (and OUT/gradescope); check solution = full marks, stubs = zero."""
    import nbformat

    source, out = Path(source), Path(out)
    config = load_config(source)
    notebook = nbformat.read(source, as_version=4)
    student = nbformat.from_dict(notebook)
    questions, given = [], []
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        meta = question_of(cell)
        if meta is not None:
            public, hidden = split_hidden(cell.source, meta["question"])
            points = float(config.get("points", {}).get(meta["question"], meta.get("points", 1)))
            questions.append(Question(meta["question"], points, public, hidden))
            cell.source = remove_hidden(cell.source)
        elif cell.cell_type == "code":
            given.append(cell.source)
            if has_solution(cell.source):
                cell.source = strip_solutions(cell.source)
    if not questions:
        raise AssignmentError(f"{source}: no question cells (metadata {{'toynet': {{'question': ...}}}})")
    unknown = set(config.get("points", {})) - {q.name for q in questions}
    if unknown:
        raise AssignmentError(f"{source}: config.json gives points to unknown questions {sorted(unknown)}")
    try:
        toynet_copy = build_student_toynet(config.get("gives", []))
    except GivesError as error:
        raise AssignmentError(f"{source}: config.json: {error}") from None
    bundle = Bundle(
        name=source.stem,
        questions=questions,
        functions=defined_names(given),
        gives=list(config.get("gives", [])),
        limits=dict(config.get("limits", {})),
    )
    student_path = out / "student" / f"{source.stem}.ipynb"
    student_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, student_path)
    bundle.save(out / "autograder")
    solution = grade_submission(source, bundle, out / "autograder", toynet_files=toynet_copy.files, protect=[out])
    lost = [q for q in solution.questions if q.score < q.max_score]
    if lost:
        details = "\n".join(f"- {q.name}: {q.feedback}" for q in lost)
        raise AssignmentError(f"{source}: the solution does not score full marks:\n{details}\n{solution.output}")
    stubbed = grade_submission(student_path, bundle, out / "autograder", toynet_files=toynet_copy.files,
                               protect=[out])
    if stubbed.score > 0:
        passing = [q.name for q in stubbed.questions if q.score > 0]
        raise AssignmentError(f"{source}: the student copy earns points on {passing}: those tests cannot fail")
    zip_path = write_gradescope_zip(out, source.stem) if gradescope else None
    return BuiltAssignment(student_path, out / "autograder", zip_path, solution, stubbed,
                           toynet_copy.given, toynet_copy.carried)


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get install -y python3 python3-pip python3-venv util-linux
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install "/autograder/source/toynet-src[grading]"
chmod 700 /autograder/source/autograder
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root; the grader drops the student's code to `nobody`.
set -uo pipefail
mkdir -p /autograder/results
submission=$(ls /autograder/submission/*.ipynb 2>/dev/null | head -n 1)
/autograder/venv/bin/toynet grade "${submission:-/autograder/submission/missing.ipynb}" \\
    --assignment /autograder/source/autograder --out /autograder/results/results.json --no-progress
"""


def write_gradescope_zip(out: Path, name: str) -> Path:
    """OUT/gradescope/<name>_autograder.zip: setup.sh, run_autograder, the bundle and toynet's source."""
    import toynet

    package = Path(toynet.__file__).resolve().parent
    project = package.parent
    zip_path = out / "gradescope" / f"{name}_autograder.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "setup.sh", SETUP_SH)
        _add(archive, "run_autograder", RUN_AUTOGRADER)
        archive.write(out / "autograder" / "assignment.json", "autograder/assignment.json")
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"toynet-src/toynet/{path.relative_to(package)}")
        for extra in ("pyproject.toml", "README.md"):
            if (project / extra).exists():
                archive.write(project / extra, f"toynet-src/{extra}")
    return zip_path


def _add(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16  # executable, as Gradescope requires for run_autograder
    archive.writestr(info, text)


def scratch_copy(source: Path) -> Path:
    """A copy of a notebook in a fresh temporary folder (for tests that plant bugs)."""
    folder = Path(tempfile.mkdtemp(prefix="toynet-assign-"))
    return Path(shutil.copy(source, folder / source.name))
