"""Tests run in notebook order, as nbgrader runs them, through the real sandbox (as root).

A public test part in nbgrader's format runs where its cell sits: after the student cells above it and before
the cells below it, so it sees the values, functions and names of that moment (a later cell that rebinds `cost`
does not fail the test of the first `cost`; a test above the cell that defines a function sees NameError, as in
Jupyter). Every hidden part runs after every cell, on the notebook's final state, once the cells' output and
errors are read. toynet's own test cells, and bundles built before positions were recorded, keep running after
every cell.
Expected values are written from the course's formulas (binary cross-entropy), never from the code graded.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import nbformat
import pytest

from toynet.grading.assign import build
from toynet.grading.grade import (
    HIDDEN_FAILED,
    Bundle,
    Question,
    SubmissionResult,
    grade_many,
    grade_submission,
    public_places,
    read_submission,
)
from toynet.grading.sandbox import Limits

LIMITS = Limits(question_timeout=15, cell_timeout=15, wall_clock=90)
SECRET = 918273645  # a hidden test's input: never in any feedback


def nbgrader_test(name: str, public: str, hidden: str = "", points: float = 1) -> nbformat.NotebookNode:
    """An nbgrader autograder test cell as the instructor's source holds it."""
    source = public + (f"\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS" if hidden else "")
    meta = {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": points, "grade_id": name,
                         "schema_version": 3}}
    return nbformat.v4.new_code_cell(source, metadata=meta)


def answer_cell(name: str, source: str) -> nbformat.NotebookNode:
    meta = {"nbgrader": {"grade": False, "solution": True, "locked": False, "grade_id": name, "schema_version": 3}}
    return nbformat.v4.new_code_cell(source, metadata=meta)


def write_submission(folder: Path, cells: list[str | tuple[str, str, str]], positions: bool = True) -> Path:
    """A submission whose cells are code (a str) or tests ((name, public, hidden), nbgrader metadata, the
    student's copy without the hidden part), and in folder/bundle the bundle of those tests as `toynet assign`
    records them (position: the cell's 1-based number; `positions=False`: a bundle built before positions
    were recorded). Returns the submission's path."""
    notebook_cells, questions = [], []
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, str):
            notebook_cells.append(nbformat.v4.new_code_cell(cell))
            continue
        name, public, hidden = cell
        notebook_cells.append(nbgrader_test(name, public))
        questions.append(Question(name, 1.0, public, hidden, number if positions else 0, name, public))
    path = folder / "submission.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=notebook_cells), path)
    Bundle("order", questions, functions=[], gives=[]).save(folder / "bundle")
    return path


def graded(tmp_path: Path, cells: list[str | tuple[str, str, str]], positions: bool = True,
           limits: Limits = LIMITS) -> SubmissionResult:
    """Grade `write_submission`'s notebook against its bundle."""
    path = write_submission(tmp_path, cells, positions)
    bundle = tmp_path / "bundle"
    return grade_submission(path, Bundle.load(bundle), bundle, limits=limits)


def scores(result: SubmissionResult) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


def everything_said(result: SubmissionResult) -> str:
    return json.dumps(result.gradescope())


# ---------------------------------------------------------------- where each test runs


def cross_entropy(a: list[float], y: list[int]) -> float:
    """The course's cost, -1/m sum(y log a + (1 - y) log(1 - a)), in plain Python (the expected values)."""
    return -sum(math.log(p) if t else math.log(1 - p) for p, t in zip(a, y, strict=True)) / len(a)


COST_SOLUTION = """def compute_cost(A, Y):
    ### BEGIN SOLUTION
    m = Y.shape[1]
    return float(-np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m)
    ### END SOLUTION"""

COST_DIFFERENTLY = """def compute_cost(A, Y):
    total = 0.0
    for a, y in zip(A.ravel(), Y.ravel()):
        total -= np.log(a) if y == 1 else np.log(1 - a)
    return total / A.size"""


def cost_assignment() -> nbformat.NotebookNode:
    """cost is computed in one cell and tested right below it; a later part rebinds cost for its own data."""
    first, second = cross_entropy([0.8, 0.9, 0.4], [1, 1, 0]), cross_entropy([0.1, 0.7], [0, 1])
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# The cost"),
        nbformat.v4.new_code_cell("import numpy as np"),
        answer_cell("compute_cost", COST_SOLUTION),
        nbformat.v4.new_code_cell("A = np.array([[0.8, 0.9, 0.4]])\nY = np.array([[1, 1, 0]])\n"
                                  "cost = compute_cost(A, Y)\nprint('cost =', cost)"),
        nbgrader_test("test_cost", f"assert abs(cost - {first!r}) < 1e-12",
                  f"assert abs(compute_cost(np.array([[0.5]]), np.array([[1]])) - {math.log(2)!r}) < 1e-12"),
        nbformat.v4.new_markdown_cell("## A second data set"),
        nbformat.v4.new_code_cell("A = np.array([[0.1, 0.7]])\nY = np.array([[0, 1]])"),
        nbformat.v4.new_code_cell("cost = compute_cost(A, Y)"),
        nbgrader_test("test_cost_again", f"assert abs(cost - {second!r}) < 1e-12\nassert A.shape == (1, 2)"),
    ])


@pytest.mark.slow(8)
def test_a_value_rebound_by_a_later_cell_is_tested_where_it_was_computed(tmp_path: Path) -> None:
    """The issue's example, through `toynet assign`: the solution (which rebinds cost) builds with full marks,
    a correct solution written differently scores full marks, the blank copy 0, a slip exactly its points."""
    source = tmp_path / "cost.ipynb"
    nbformat.write(cost_assignment(), source)
    built = build(source, tmp_path / "out")
    assert (built.solution.score, built.solution.max_score, built.stubbed.score) == (2, 2, 0), \
        everything_said(built.solution)
    bundle = Bundle.load(built.autograder)

    def submit(name: str, code: str) -> SubmissionResult:
        notebook = nbformat.read(tmp_path / "out" / "student" / "cost.ipynb", as_version=4)
        notebook.cells[2].source = code
        nbformat.write(notebook, tmp_path / f"{name}.ipynb")
        return grade_submission(tmp_path / f"{name}.ipynb", bundle, built.autograder, limits=LIMITS)

    assert scores(submit("differently", COST_DIFFERENTLY)) == {"test_cost": 1, "test_cost_again": 1}
    # the mean taken over every entry of a (1, m) row is right; a sum without the 1/m is wrong on both sets
    unscaled = COST_DIFFERENTLY.replace("return total / A.size", "return total")
    assert scores(submit("unscaled", unscaled)) == {"test_cost": 0, "test_cost_again": 0}
    # log(a) for every entry, whatever y: wrong on both data sets, but the first test names the first cost
    one_sided = submit("one_sided", "def compute_cost(A, Y):\n    return float(-np.mean(np.log(A)))")
    assert scores(one_sided) == {"test_cost": 0, "test_cost_again": 0}
    said = one_sided.questions[0].feedback  # the difference shown is the one of the first data set's cost
    shown = re.search(r"\n  abs\(cost - \S+\) = (\S+)", said)
    first_cost = -sum(map(math.log, [0.8, 0.9, 0.4])) / 3
    expected = abs(first_cost - cross_entropy([0.8, 0.9, 0.4], [1, 1, 0]))
    assert shown is not None and abs(float(shown.group(1)) - expected) < 1e-12, said


@pytest.mark.slow(3)
def test_a_test_above_the_cell_that_defines_a_function_sees_name_error(tmp_path: Path) -> None:
    result = graded(tmp_path, [
        ("too_early", "assert square(3) == 9", ""),  # above every code cell: the process pauses before cell 2
        "def square(x):\n    return x * x",
        ("after_it", "assert square(3) == 9", "assert square(-4) == 16"),
    ])
    assert scores(result) == {"too_early": 0, "after_it": 1}, everything_said(result)
    said = result.questions[0].feedback
    assert "NameError" in said and "square" in said, said


@pytest.mark.slow(3)
def test_public_parts_see_their_moment_and_hidden_parts_the_final_state(tmp_path: Path) -> None:
    result = graded(tmp_path, [
        "x = 1\n\ndef f():\n    return 'first'",
        ("sees_first", "assert x == 1 and f() == 'first'", "assert x == 3 and f() == 'second'"),
        ("back_to_back", "assert x == 1\nmarker = 'from a test'", ""),  # two tests between the same cells
        "x = 2\n\ndef f():\n    return 'second'",
        "x += 1\nassert marker == 'from a test'  # the names a public test binds reach the cells below it",
        ("sees_last", "assert x == 3 and f() == 'second'", ""),
    ])
    assert scores(result) == {"sees_first": 1, "back_to_back": 1, "sees_last": 1}, everything_said(result)
    assert "raised" not in result.output, result.output


@pytest.mark.slow(3)
def test_a_bundle_without_positions_keeps_every_test_after_every_cell(tmp_path: Path) -> None:
    """Bundles built before positions were recorded: as before, every public part sees the final state."""
    cells: list[str | tuple[str, str, str]] = [
        ("placed_first", "assert square(3) == 9 and x == 2", ""),
        "x = 1\n\ndef square(x):\n    return x * x",
        "x = 2",
    ]
    assert scores(graded(tmp_path, cells, positions=False)) == {"placed_first": 1}


@pytest.mark.slow(3)
def test_tests_in_toynets_own_format_keep_running_after_every_cell(tmp_path: Path) -> None:
    """toynet's format was written for tests that see the final state: a toynet test above its definitions
    scores, while an nbgrader test at the same place sees NameError."""
    meta = {"toynet": {"question": "toynet_first", "points": 1}}
    cells = [nbformat.v4.new_code_cell("assert square(3) == 9", metadata=meta), nbgrader_test("nbgrader_first",
             "assert square(3) == 9"), nbformat.v4.new_code_cell("def square(x):\n    return x * x")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "mixed.ipynb")
    questions = [Question(name, 1.0, "assert square(3) == 9", "", number, name, "assert square(3) == 9")
                 for number, name in ((1, "toynet_first"), (2, "nbgrader_first"))]
    Bundle("mixed", questions, functions=[], gives=[]).save(tmp_path / "bundle")
    result = grade_submission(tmp_path / "mixed.ipynb", Bundle.load(tmp_path / "bundle"), tmp_path / "bundle",
                              limits=LIMITS)
    assert scores(result) == {"toynet_first": 1, "nbgrader_first": 0}, everything_said(result)


def test_places_count_the_run_cells_above_each_test(tmp_path: Path) -> None:
    """No sandbox: where each public part runs, from the submission's own cell numbers."""
    cells = [nbformat.v4.new_markdown_cell("# title"), nbformat.v4.new_code_cell("a = 1"),
             nbgrader_test("t1", "assert a == 1"), nbformat.v4.new_markdown_cell("text"), nbgrader_test("t2", "pass"),
             nbformat.v4.new_code_cell("b = 2"), nbgrader_test("t3", "assert b == 2")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    questions = [Question("t3", 1, "assert b == 2", "", 7, "t3", "assert b == 2"),
                 Question("t1", 1, "assert a == 1", "", 3, "t1", "assert a == 1"),
                 Question("gone", 1, "pass", "", 9, "gone", "pass"),  # the student deleted its cell
                 Question("t2", 1, "pass", "", 5, "t2", "pass"),
                 Question("old", 1, "pass", "", 0, "old", "")]  # no position recorded
    submission = read_submission(path, questions)
    assert [number for number, _ in submission.run] == [2, 6]
    places = {pause: [q.name for q in group] for pause, group in public_places(questions, submission).items()}
    assert places == {1: ["t1", "t2"], 2: ["t3", "gone", "old"]}


# ---------------------------------------------------------------- restarts


@pytest.mark.slow(10)
def test_a_restart_reruns_the_cells_up_to_the_tests_place(tmp_path: Path) -> None:
    """A test's call that kills the process, and a cell below a pause that hangs: each restart reruns the
    cells only up to the pause the grader stands at, so every test sees the state of its own place."""
    result = graded(tmp_path, [
        "import os\nstate = 1\n\ndef where():\n    return state\n\ndef crash():\n    os._exit(3)",
        ("after_cell_1", "try:\n    crash()\nexcept Exception:\n    pass\nassert where() == 1",
         "assert where() == 3"),
        "state = 2",
        ("after_cell_3", "assert state == 2 and where() == 2", ""),
        "while True:\n    pass\nstate = 3",  # stopped and skipped: the statement after it still runs
        ("after_cell_5", "assert state == 3 and where() == 3", ""),
    ], limits=Limits(question_timeout=15, cell_timeout=3, wall_clock=90))
    assert scores(result) == {"after_cell_1": 1, "after_cell_3": 1, "after_cell_5": 1}, everything_said(result)
    assert "cell 5 the statement at line 1 (`while True:`) was stopped and skipped" in result.output, result.output


@pytest.mark.slow(8)
def test_a_hidden_part_still_reaches_objects_its_public_part_made_after_a_restart(tmp_path: Path) -> None:
    """A cell below the test hangs, so the process that held the public part's objects is restarted: the hidden
    part, on the final state, still finds what its public part bound (the public part runs again, unseen)."""
    counter = "class Counter:\n    def __init__(self, step):\n        self.step, self.total = step, 0\n\n" \
              "    def add(self):\n        self.total += self.step\n        return self.total"
    result = graded(tmp_path, [
        counter,
        ("counts", "c = Counter(2)\nadd = c.add\nassert c.add() == 2", "assert c.add() == 4 and add() == 6"),
        "while True:\n    pass",
        ("after_the_loop", "assert Counter(3).add() == 3", ""),
    ], limits=Limits(question_timeout=15, cell_timeout=3, wall_clock=90))
    assert scores(result) == {"counts": 1, "after_the_loop": 1}, everything_said(result)


# ---------------------------------------------------------------- what the student's code may learn


SPY = """import os
seen = []

def record(x):
    seen.append(x)
    with open('spy.txt', 'a') as log:
        log.write(f'{x}\\n')
    return 2 * x"""

SPY_REPORTS = """print('seen so far:', seen, open('spy.txt').read().split())
raise ValueError(f'seen {seen}')"""


@pytest.mark.slow(12)
def test_cells_below_a_test_never_see_a_hidden_input_and_jobs_2_grades_a_classmate_beside(tmp_path: Path) -> None:
    """The cells below a test run after its public part but before any hidden part: what they print or raise
    (student-controlled feedback) can quote public inputs only. Graded with --jobs 2 beside an honest notebook."""
    spy = [
        SPY,
        ("doubles", "assert record(21) == 42", f"assert record({SECRET}) == {2 * SECRET}"),
        SPY_REPORTS,
        ("doubles_later", "assert record(5) == 10", f"assert record({SECRET + 1}) == {2 * (SECRET + 1)}"),
        SPY_REPORTS,
    ]
    honest = ["def record(x):\n    return 2 * x", spy[1], "y = record(1)", spy[3]]
    paths = [write_submission(tmp_path / name, cells) for name, cells in (("spy", spy), ("honest", honest))
             if (tmp_path / name).mkdir() is None]
    spy_bundle = tmp_path / "spy" / "bundle"  # the honest notebook's tests are the same cells at the same places
    spied, fair = grade_many(paths, spy_bundle, jobs=2, progress=False, limits=LIMITS)
    assert scores(fair) == {"doubles": 1, "doubles_later": 1}, everything_said(fair)
    assert scores(spied) == {"doubles": 1, "doubles_later": 1}, everything_said(spied)
    said = everything_said(spied)
    assert str(SECRET) not in said and str(SECRET + 1) not in said and str(2 * SECRET) not in said
    assert "seen [21]" in spied.output and "seen [21, 5]" in spied.output, spied.output  # each cell at its place
    assert HIDDEN_FAILED not in said
