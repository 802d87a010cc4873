"""The lessons are the assignments: each notebook holds exercises, builds with `toynet assign`, and grades.

For every lesson: at least two exercises (a solution-marked function and a check cell graded as a question);
`toynet assign` builds it, which grades the source (full marks) and the student copy (zero) through the real
sandbox, and the graded run reports nothing but the questions (the demonstrations are not run by the grader);
the student copy, executed as a student opens it, fails in every check cell with the pointer to the function to
write and nowhere else. Planted bugs in a lesson's solutions are named by its check cells, through the grader.
(The sources themselves, with their solutions, run top to bottom in tests/test_notebooks.py.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from toynet.grading.assign import BuiltAssignment, build
from toynet.grading.grade import Bundle, SubmissionResult, grade_submission
from toynet.grading.markers import has_solution, lesson_only, question_of

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(path.stem for path in NOTEBOOKS_DIR.glob("0*.ipynb"))
STUB_POINTER = ": replace this line with your code"  # what every stub raises, after "Task <function>"


class _Built(dict):
    """Each lesson built on first use (`toynet assign`: a few seconds each), once per test process."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        super().__init__()
        self.tmp_path_factory = tmp_path_factory

    def __missing__(self, stem: str) -> BuiltAssignment:
        self[stem] = build(NOTEBOOKS_DIR / f"{stem}.ipynb", self.tmp_path_factory.mktemp(stem))
        return self[stem]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltAssignment]:
    return _Built(tmp_path_factory)


def test_there_are_seven_lessons():
    assert len(LESSONS) == 7


@pytest.mark.parametrize("stem", LESSONS)
def test_every_lesson_has_two_exercises_with_a_check_each(stem: str):
    cells = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4).cells
    questions = [cell for cell in cells if question_of(cell) is not None]
    solutions = [cell for cell in cells if cell.cell_type == "code" and has_solution(cell.source)]
    assert len(questions) >= 2 and len(solutions) >= 2
    # the exercises follow the lesson: the demonstrations (marked for the grader to skip) come first, then the
    # exercise section, none of which is skipped (a skipped definition would cost the student its points)
    skipped = [lesson_only(cell) for cell in cells if cell.cell_type == "code"]
    assert skipped[0] and skipped == sorted(skipped, reverse=True)
    assert not any(lesson_only(cell) for cell in solutions + questions)


@pytest.mark.slow(3)
@pytest.mark.parametrize("stem", LESSONS)
def test_lesson_builds_and_grades_full_marks_and_zero(built: dict[str, BuiltAssignment], stem: str):
    assignment = built[stem]
    assert assignment.solution.score == assignment.solution.max_score > 0
    assert assignment.stubbed.score == 0
    # the demonstrations are not run in the sandbox (no matplotlib, no toynet reference there): no cell errors
    assert assignment.solution.output == "", assignment.solution.output[:2000]
    assert all(q.feedback.endswith("passed") for q in assignment.solution.questions)


def _execute(path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    from tests.test_notebooks import CELL_TIMEOUT, _kernel_manager

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, km=_kernel_manager(path.parent), timeout=CELL_TIMEOUT, allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    client.execute()
    return notebook


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [f"{out['ename']}: {out['evalue']}" for out in cell.get("outputs", []) if out.get("output_type") == "error"]


@pytest.mark.slow(6)
@pytest.mark.parametrize("stem", LESSONS)
def test_student_copy_fails_in_every_check_with_its_pointer_and_nowhere_else(built: dict[str, BuiltAssignment],
                                                                            stem: str, tmp_path: Path):
    student = nbformat.read(built[stem].student, as_version=4)
    source = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    # The demonstrations reach the student copy unchanged, and tests/test_notebooks.py runs them in the source:
    # here the student copy runs its first cell (the install check) and everything after the demonstrations.
    demos = [i for i, cell in enumerate(student.cells) if cell.cell_type == "code" and lesson_only(cell)]
    assert [student.cells[i].source for i in demos] == [source.cells[i].source for i in demos]
    student.cells = [cell for i, cell in enumerate(student.cells) if i == 0 or not lesson_only(cell)]
    path = tmp_path / f"{stem}.ipynb"
    nbformat.write(student, path)
    notebook = _execute(path)
    assert _errors(notebook.cells[0]) == [] and "is ready" in str(notebook.cells[0].outputs)
    checks = 0
    for cell in notebook.cells[1:]:
        if cell.cell_type != "code":
            continue
        errors = _errors(cell)
        if question_of(cell) is None:
            assert not errors, f"{stem}: a cell that is not a check failed in the student copy: {errors}"
        else:
            checks += 1
            assert len(errors) == 1 and "Task " in errors[0] and STUB_POINTER in errors[0], (
                f"{stem}: the check {question_of(cell)['question']} must fail with the stub's pointer, but gave "
                f"{errors}")
    assert checks == len(built[stem].solution.questions) >= 2


# (lesson, the solution line, the bug, the questions lost, a word the first lost question's feedback must hold)
BUGS = [
    ("01_gradient_checking_1d", "    dtheta = x", "    dtheta = theta", {"backward_propagation", "gradient_check"},
     "x, not theta"),
    ("02_gradient_checking_nd", "    dW2 = 1.0 / m * np.dot(dZ2, A1.T)\n    ### END SOLUTION",
     "    dW2 = 1.0 / m * np.dot(dZ2, A1.T) * 2\n    ### END SOLUTION", {"backward_propagation_n_fixed"}, "dW2"),
    ("03_layers_from_scratch", "db = np.sum(dZ, axis=1, keepdims=True)", "db = np.sum(dZ, axis=0, keepdims=True)",
     {"linear_backward"}, "db has shape"),
    ("04_training_a_network", "db1 = np.sum(dZ1, axis=1, keepdims=True) / m",
     "db1 = np.sum(dZ1, axis=1, keepdims=True)", {"backward_propagation"}, "db1"),
    ("04_training_a_network", "(1 - A1**2)", "(1 - A1)", {"backward_propagation"}, "dZ1"),
    ("05_when_gradient_checks_lie", "dZ = (1 / (1 + np.exp(-Z)) - Y) / m", "dZ = (Y - 1 / (1 + np.exp(-Z))) / m",
     {"cost_from_logits_backward"}, "the sign of Y"),
    ("07_initialization_regularization_dropout", "dW2 = 1.0 / m * dZ2 @ A1.T + lambd / m * W2",
     "dW2 = 1.0 / m * dZ2 @ A1.T", {"backward_propagation_with_regularization"}, "dW2"),
]  # fmt: skip


def _grade(assignment: BuiltAssignment, path: Path) -> SubmissionResult:
    return grade_submission(path, Bundle.load(assignment.autograder), assignment.autograder)


@pytest.mark.parametrize(("stem", "old", "new", "lost", "pointer"), BUGS,
                         ids=[f"{bug[0][:2]}: {bug[4]}" for bug in BUGS])
def test_a_planted_bug_is_named_by_its_check(built: dict[str, BuiltAssignment], stem: str, old: str, new: str,
                                             lost: set[str], pointer: str, tmp_path: Path):
    notebook = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    solutions = [cell for cell in notebook.cells if cell.cell_type == "code" and has_solution(cell.source)]
    assert sum(cell.source.count(old) for cell in solutions) == 1, f"the bug's target {old!r} must occur once"
    for cell in solutions:
        cell.source = cell.source.replace(old, new)
    path = tmp_path / f"{stem}.ipynb"
    nbformat.write(notebook, path)
    result = _grade(built[stem], path)
    assert {q.name for q in result.questions if q.score == 0} == lost
    feedback = next(q.feedback for q in result.questions if q.name == sorted(lost)[0])
    assert pointer in feedback, feedback
