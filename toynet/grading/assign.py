"""Build an assignment from a solution-marked notebook: the student's copy, the autograder bundle, a Gradescope zip.

The source is written in nbgrader's format (cell metadata {"nbgrader": ...}, schema 3) or toynet's own
({"toynet": {"question": ...}}): cells.py says which cell is what, markers.py turns solutions into stubs.

    build("notebooks/03_layers_from_scratch.ipynb", "build/layers", gradescope=True)

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
from functools import partial
from pathlib import Path
from typing import Any

from toynet.grading.cells import CellError, CellRole, roles_of
from toynet.grading.confinement import MissingPackage, site_entries
from toynet.grading.gives import GivesError, StudentToynet, build_student_toynet
from toynet.grading.grade import Bundle, HandGraded, Question, SubmissionResult, grade_submission
from toynet.grading.markers import (
    MarkerError,
    clear_solution,
    defined_names,
    has_marker,
    has_solution,
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
    "packages": "packages the student may import beyond numpy, matplotlib and tqdm, e.g. ['scipy', 'pandas'] "
                "(mounted read-only from the grader's environment, with what they require)",
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
    packages = entry.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise AssignmentError(f"{path}: {source.stem}: 'packages' must be a list of package names")
    try:
        site_entries(tuple(packages))
    except MissingPackage as error:
        raise AssignmentError(f"{path}: {source.stem}: {error}") from None
    points = entry.get("points", {})
    if not isinstance(points, dict) or not all(type(v) in (int, float) and v >= 0 for v in points.values()):
        raise AssignmentError(f"{path}: {source.stem}: 'points' must map question names to non-negative numbers")
    return dict(entry)


@dataclass
class _Split:
    """What one pass over the source notebook yields: the student's copy and the grader's part."""

    student: Any
    questions: list[Question] = field(default_factory=list)
    by_hand: list[HandGraded] = field(default_factory=list)
    given: list[str] = field(default_factory=list)  # code cells that run in the student process (solutions in)
    asked: list[str] = field(default_factory=list)  # the cells whose code students write


def build(source: str | os.PathLike[str], out: str | os.PathLike[str], gradescope: bool = False) -> BuiltAssignment:
    """Write OUT/student, OUT/autograder (and OUT/gradescope); check solution = full marks, stubs = zero.

    Everything is built in a private folder beside OUT and moved into place only once every check passed:
    a failed build writes nothing (and a failing test on the solution shows its traceback, `_solution_lost`).
    """
    import nbformat

    source, out = Path(source), Path(out)
    config = load_config(source)
    split = split_notebook(source, nbformat.read(source, as_version=4), config)
    try:
        toynet_copy = build_student_toynet(config.get("gives", []))
    except GivesError as error:
        raise AssignmentError(f"{source}: config.json: {error}") from None
    _check_nothing_asked_is_held(source, split.asked, toynet_copy)
    bundle = make_bundle(source, split, config)
    created = _missing_ancestor(out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))  # 0700, same filesystem
    try:
        protect = [staging, *([out] if out.exists() else [])]
        built = _build_in(staging, source, split, bundle, toynet_copy, gradescope, protect)
        _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(created or staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return BuiltAssignment(
        out / "student" / built.student.name, out / "autograder",
        out / "gradescope" / built.gradescope.name if built.gradescope else None,
        built.solution, built.stubbed, built.given, built.carried,
    )


def make_bundle(source: Path, split: _Split, config: dict[str, Any]) -> Bundle:
    """The autograder bundle of a split source (not yet checked against its solution: `build` does that)."""
    return Bundle(name=source.stem, questions=split.questions, functions=defined_names(split.given),
                  gives=list(config.get("gives", [])), limits=dict(config.get("limits", {})), by_hand=split.by_hand,
                  packages=list(config.get("packages", [])))


def _build_in(staging: Path, source: Path, split: _Split, bundle: Bundle, toynet_copy: StudentToynet,
              gradescope: bool, protect: list[Path]) -> BuiltAssignment:
    """Write the student copy and the bundle in `staging`; grade the solution and the student copy there
    (`protect`: what the graded notebooks must not see: staging, and OUT with an earlier build's bundle)."""
    import nbformat

    student_path = staging / "student" / f"{source.stem}.ipynb"
    student_path.parent.mkdir(parents=True)
    nbformat.write(split.student, student_path)
    bundle.save(staging / "autograder")
    grade_it = partial(grade_submission, bundle=bundle, bundle_dir=staging / "autograder",
                       toynet_files=toynet_copy.files, protect=protect)
    solution = grade_it(source)
    if solution.score < solution.max_score:
        raise AssignmentError(_solution_lost(source, solution))
    stubbed = grade_it(student_path)
    if stubbed.score > 0:
        passing = [q.name for q in stubbed.questions if q.score > 0]
        raise AssignmentError(f"{source}: the student copy earns points on {passing}: those tests cannot fail "
                              "(nothing was written)")
    zip_path = write_gradescope_zip(staging, source.stem) if gradescope else None
    return BuiltAssignment(student_path, staging / "autograder", zip_path, solution, stubbed,
                           toynet_copy.given, toynet_copy.carried)


def _solution_lost(source: Path, solution: SubmissionResult) -> str:
    """Why the solution lost points: the sandbox's feedback, then each failing test's full traceback from a
    Jupyter kernel run as the instructor (their code is trusted: nothing is hidden from them)."""
    from toynet.grading.validate import ValidationError, validate

    lost = [q for q in solution.questions if q.score < q.max_score]
    lines = [f"{source}: the solution does not score full marks ({solution.score:g}/{solution.max_score:g}); "
             "nothing was written.", "In the grader's sandbox:"]
    lines += [f"- {q.name}: {q.feedback}" for q in lost]
    if solution.output:
        lines.append(f"notes on the run:\n{solution.output}")
    try:
        report = validate(source)
    except ValidationError as error:
        return "\n".join([*lines, f"(running it in a Jupyter kernel failed too: {error})"])
    failing = [t for t in report.tests if not t.passed]
    if not failing:
        lines.append("In a Jupyter kernel, run as you, every test passes: the difference is the sandbox (what "
                     "config.json gives, the limits) or a test that needs the notebook's namespace.")
    for test in failing:
        lines.append(f"--- {test.name} (cell {test.position}) in a Jupyter kernel, run as you ---\n{test.traceback}")
    lines += [f"--- cell {cell} raised (not a test cell) ---\n{trace}" for cell, trace in report.cell_errors]
    return "\n".join(lines)


def _missing_ancestor(folder: Path) -> Path | None:
    """The outermost of `folder` and its parents that does not exist yet (None when `folder` exists)."""
    missing = None
    for path in [folder, *folder.parents]:
        if path.exists():
            return missing
        missing = path
    return missing


def _move_into_place(staging: Path, out: Path) -> None:
    """Each built folder replaces its old version in OUT by a rename (staging is on OUT's filesystem)."""
    out.mkdir(exist_ok=True)
    for built in sorted(staging.iterdir()):
        target = out / built.name
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{built.name}.old-", dir=out))
            target.rename(old / built.name)
            built.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            built.rename(target)


def split_notebook(source: Path, notebook: Any, config: dict[str, Any]) -> _Split:
    """One pass over the source (nbgrader's ClearSolutions, ClearHiddenTests, ClearOutput and LockCells in one):
    the student's copy, the tests with their points and places, the cells graded by hand, the code given."""
    import nbformat

    try:
        roles = roles_of(notebook)
        split = _Split(nbformat.from_dict(notebook))
        nbgrader = any(role.format == "nbgrader" for role in roles)
        for number, (cell, role) in enumerate(zip(split.student.cells, roles, strict=True), start=1):
            _split_cell(split, cell, role, number, nbgrader, config.get("points", {}))
    except (CellError, MarkerError) as error:
        raise AssignmentError(f"{source}: {error}") from None
    if not split.questions and not split.by_hand:
        raise AssignmentError(f"{source}: no graded cells: mark test cells with nbgrader's metadata "
                              "{'nbgrader': {'grade': true, 'solution': false, 'points': ..., 'grade_id': ...}} "
                              "or toynet's {'toynet': {'question': ..., 'points': ...}} (docs/AUTHORING.md)")
    unknown = set(config.get("points", {})) - {q.name for q in split.questions}
    if unknown:
        raise AssignmentError(f"{source}: config.json gives points to unknown questions {sorted(unknown)}")
    return split


def _split_cell(split: _Split, cell: Any, role: CellRole, number: int, nbgrader: bool,
                points: dict[str, float]) -> None:
    """One cell into the student's copy (changed in place) and the grader's part (appended to `split`)."""
    where = f"cell {number}" + (f" ({role.name})" if role.name else "")
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    if role.kind != "test" and nbgrader and has_marker(cell.source, "hidden"):
        raise CellError(f"{where}: hidden tests outside an autograder test cell (nbgrader refuses this too)")
    if role.kind == "test" and has_marker(cell.source, "solution"):
        raise CellError(f"{where}: a solution region in a test cell: the student would see the test without it")
    if role.kind == "test":
        as_nbgrader = role.format == "nbgrader"
        public, hidden = split_hidden(cell.source, role.name, nbgrader=as_nbgrader)
        shown = remove_hidden(cell.source, nbgrader=as_nbgrader)
        split.questions.append(Question(role.name, float(points.get(role.name, role.points)), public, hidden,
                                        number, role.name, shown))
        cell.source = shown
    elif role.format == "nbgrader" and role.kind in ("answer", "by_hand"):
        if cell.cell_type == "code":
            split.given.append(cell.source)
            split.asked.append(cell.source)
        cell.source = clear_solution(cell.source, cell.cell_type, where)
    elif nbgrader and has_marker(cell.source, "solution"):
        raise CellError(f"{where}: a solution region in a cell not marked as a solution cell "
                        "(nbgrader refuses this too: give the cell {'solution': true} and a grade_id)")
    elif cell.cell_type == "code":
        split.given.append(cell.source)
        if has_solution(cell.source):
            split.asked.append(cell.source)
            cell.source = strip_solutions(cell.source)
    if role.graded_by_hand:
        kind = "task" if role.kind == "task" else f"{cell.cell_type} answer"
        split.by_hand.append(HandGraded(role.name, role.points, number, kind))
    _lock(cell, role)


def _lock(cell: Any, role: CellRole) -> None:
    """nbgrader's LockCells: answers may not be deleted; tests and locked cells neither deleted nor edited."""
    if role.kind in ("answer", "by_hand"):
        cell.metadata["deletable"] = False
    elif role.kind in ("test", "locked", "task"):
        cell.metadata["deletable"] = False
        cell.metadata["editable"] = False


def _check_nothing_asked_is_held(source: Path, asked_cells: list[str], toynet_copy: StudentToynet) -> None:
    """Refuse gives that put, in the student's toynet, an object named like one the students must write.

    What is given or carried is importable by name (`from toynet.layers import Linear`), so a reference class
    or function that shares its name with a solution cell's definition is a full answer for free. Grading the
    stubbed notebook cannot see this (it never imports them); checking names can, though not a reference kept
    under another name (say `logistic_costs` for `logistic_cost`): read `carried` when you change `gives`.
    """
    asked = set(defined_names(asked_cells))
    held = [(entry, "given") for entry in toynet_copy.given] + [(entry, "carried") for entry in toynet_copy.carried]
    clashes = [f"{entry} ({how})" for entry, how in held if entry.partition(":")[2].split(".")[0] in asked]
    if clashes:
        raise AssignmentError(
            f"{source}: config.json: the student's toynet would hold {', '.join(clashes)}, toynet's own version of "
            f"what this notebook asks students to write ({', '.join(sorted(asked))}), importable by that name: "
            "give less (a carried name comes with a given one whose code refers to it)"
        )


SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# AUTOGRADER_ROOT (default /autograder) and TOYNET_SKIP_INSTALL (skip apt-get and pip: the caller provides
# TOYNET_PYTHON with toynet installed) exist so that a test can run this script in a scratch root.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if [ -z "${TOYNET_SKIP_INSTALL:-}" ]; then
    apt-get update
    apt-get install -y python3 python3-pip python3-venv util-linux
    python3 -m venv "$ROOT/venv"
    # A copy in site-packages (not editable), so the source below can go.
    "$ROOT/venv/bin/pip" install --no-cache-dir "$ROOT/source/toynet-src[grading]"
    # The installed reference is root's alone: student code runs under other uids and never needs it.
    package=$("$ROOT/venv/bin/python" -I -c 'import os, toynet; print(os.path.dirname(toynet.__file__))')
    chmod -R go-rwx "$package"
fi
rm -rf "$ROOT/source/toynet-src"
chmod 700 "$ROOT/source"  # the bundle (tests and expected values): root only
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root. `toynet grade` runs the student's code in a sandbox
# under its own unprivileged uid. Whatever happens, results/results.json is written (score 0 with the reason
# when the upload is ambiguous or the grader fails). AUTOGRADER_ROOT and TOYNET_PYTHON: see setup.sh.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${TOYNET_PYTHON:-$ROOT/venv/bin/python}"
NAME="__ASSIGNMENT__"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
chmod 700 "$ROOT/results" "$ROOT/submission"  # read by the grader, never by student code
rm -f "$RESULTS"

zero() {  # results.json with no points and $1 as the message the student sees
    "$PY" -I -c 'import json, sys
result = {"score": 0, "output": sys.argv[1], "stdout_visibility": "hidden", "tests": []}
open(sys.argv[2], "w").write(json.dumps(result))' "$1" "$RESULTS" ||
    printf '{"score": 0, "output": "The autograder failed: please tell your instructor.", "tests": []}\\n' > "$RESULTS"
}

mapfile -t named < <(find "$ROOT/submission" -type f -name "$NAME.ipynb" -not -path '*/.ipynb_checkpoints/*')
mapfile -t all < <(find "$ROOT/submission" -type f -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*')
if [ "${#named[@]}" -eq 1 ]; then
    notebook="${named[0]}"
elif [ "${#named[@]}" -eq 0 ] && [ "${#all[@]}" -eq 1 ]; then
    notebook="${all[0]}"
else
    if [ "${#all[@]}" -eq 0 ]; then
        zero "No notebook was found in your submission: upload $NAME.ipynb."
    else
        zero "Your submission holds ${#all[@]} notebooks: which to grade is unclear. Upload only $NAME.ipynb."
    fi
    echo "not graded: ${#named[@]} notebooks named $NAME.ipynb, ${#all[@]} in all"
    exit 0
fi

cd "$ROOT"
"$PY" -I -m toynet grade "$notebook" --assignment "$ROOT/source/autograder" --out "$RESULTS" --no-progress
status=$?
if [ ! -s "$RESULTS" ]; then
    echo "toynet grade exited with status $status and wrote no results (its messages are above)"
    zero "The autograder failed on this submission (its fault, not your code's): your instructor can see why."
fi
exit 0
"""


def write_gradescope_zip(out: Path, name: str) -> Path:
    """OUT/gradescope/<name>_autograder.zip (mode 0600): setup.sh, run_autograder, the bundle, toynet's source.

    The zip holds the reference, so it is private to its owner; setup.sh installs toynet from it and removes it.
    """
    import re

    import toynet

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise AssignmentError(f"assignment name {name!r}: use letters, digits, '_', '.' and '-' only (it names files)")
    package = Path(toynet.__file__).resolve().parent
    project = package.parent
    zip_path = out / "gradescope" / f"{name}_autograder.zip"
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(zip_path.parent, 0o700)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        os.chmod(zip_path, 0o600)
        _add(archive, "setup.sh", SETUP_SH)
        _add(archive, "run_autograder", RUN_AUTOGRADER.replace("__ASSIGNMENT__", name))
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
