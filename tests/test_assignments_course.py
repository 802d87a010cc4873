"""The course's step-by-step and regularization assignments: built, solved, left untouched and bugged, then graded.

A planted bug loses exactly the questions whose functions it breaks (a bug in a function others call, e.g.
linear_backward, also costs the questions built on it, so the bugs below sit where that set is one question,
plus one that shows the cascade). Hidden tests run on inputs other than the visible ones.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from toynet.grading.assign import build
from toynet.grading.grade import Bundle, SubmissionResult, grade_submission
from toynet.grading.sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
LIMITS = Limits(question_timeout=10, cell_timeout=10, wall_clock=60, memory=1 << 30)
FULL = {
    "step_by_step": {"initialize_parameters_deep": 1, "linear_activation_forward": 2, "L_model_forward": 2,
                     "compute_cost": 1, "linear_backward": 2, "linear_activation_backward": 2,
                     "L_model_backward": 3, "update_parameters": 1},
    "regularization": {"compute_cost_with_regularization": 1, "backward_propagation_with_regularization": 2,
                       "forward_propagation_with_dropout": 2, "backward_propagation_with_dropout": 2},
}  # fmt: skip


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    built = {}
    for name in FULL:
        built[name] = tmp_path_factory.mktemp(name)
        build(ASSIGNMENTS / f"{name}.ipynb", built[name])  # build itself checks solution = full, stubs = zero
    return built


def grade(out: Path, path: Path) -> SubmissionResult:
    return grade_submission(path, Bundle.load(out / "autograder"), out / "autograder", limits=LIMITS)


def scores(result: SubmissionResult) -> dict[str, float]:
    return {question.name: question.score for question in result.questions}


@pytest.mark.parametrize("name", sorted(FULL))
@pytest.mark.slow(2)
def test_solution_full_marks_and_untouched_student_copy_zero(bundles: dict[str, Path], name: str) -> None:
    out = bundles[name]
    assert scores(grade(out, ASSIGNMENTS / f"{name}.ipynb")) == FULL[name]
    assert scores(grade(out, out / "student" / f"{name}.ipynb")) == {question: 0 for question in FULL[name]}


@pytest.mark.parametrize("name", sorted(FULL))
def test_hidden_tests_are_not_in_the_student_copy(bundles: dict[str, Path], name: str) -> None:
    student = (bundles[name] / "student" / f"{name}.ipynb").read_text()
    solution = nbformat.read(ASSIGNMENTS / f"{name}.ipynb", as_version=4)
    graded = [cell for cell in solution.cells if "toynet" in cell.metadata]
    assert len(graded) == len(FULL[name]) and all("### BEGIN HIDDEN TESTS" in cell.source for cell in graded)
    assert "HIDDEN TESTS" not in student
    for cell in graded:  # the hidden inputs (their RandomState seeds, their arrays) never reach the student
        hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        inputs = [line.strip() for line in hidden.splitlines() if re.search(r"RandomState|np\.array", line)]
        assert inputs and not [line for line in inputs if json.dumps(line)[1:-1] in student]


BUGS = {
    "step_by_step": [
        ("W_l = np.random.randn(...) * 0.1", "np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01",
         "np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.1", {"initialize_parameters_deep"}),
        ("relu on the output layer", 'parameters["b" + str(L)], "sigmoid")', 'parameters["b" + str(L)], "relu")',
         {"L_model_forward"}),
        ("cost without the minus sign", "cost = -np.sum(", "cost = np.sum(", {"compute_cost"}),
        ("dAL with the wrong sign", "dAL = -(np.divide", "dAL = (np.divide", {"L_model_backward"}),
        ("dA0 not stored", 'grads["dA" + str(l - 1)] = dA', 'grads["dA" + str(l)] = dA', {"L_model_backward"}),
        ("update adds the gradient", 'params["W" + str(l)] - learning_rate', 'params["W" + str(l)] + learning_rate',
         {"update_parameters"}),
        # a bug in a function the others call costs them too: linear_backward without its 1/m
        ("dW without 1/m", "dW = dZ @ A_prev.T / m", "dW = dZ @ A_prev.T",
         {"linear_backward", "linear_activation_backward", "L_model_backward"}),
    ],
    "regularization": [
        ("L2 cost without the 1/2", "lambd / (2 * m) *", "lambd / m *", {"compute_cost_with_regularization"}),
        ("L2 forgotten on dW2", "1.0 / m * dZ2 @ A1.T + lambd / m * W2", "1.0 / m * dZ2 @ A1.T",
         {"backward_propagation_with_regularization"}),
        ("dropout without the 1/keep_prob", "A1 = A1 * D1 / keep_prob", "A1 = A1 * D1",
         {"forward_propagation_with_dropout"}),
        ("mask not reapplied to dA1", "dA1 = dA1 * D1 / keep_prob", "dA1 = dA1 / keep_prob",
         {"backward_propagation_with_dropout"}),
    ],
}


@pytest.mark.parametrize("assignment, bug", [(name, bug) for name, bugs in BUGS.items() for bug in bugs],
                         ids=[f"{name}: {bug[0]}" for name, bugs in BUGS.items() for bug in bugs])
def test_planted_bugs_lose_exactly_their_questions(
    bundles: dict[str, Path], assignment: str, bug: tuple, tmp_path: Path
) -> None:
    _, old, new, lost = bug
    notebook = nbformat.read(ASSIGNMENTS / f"{assignment}.ipynb", as_version=4)
    sources = [cell for cell in notebook.cells if cell.cell_type == "code" and "toynet" not in cell.metadata]
    assert sum(cell.source.count(old) for cell in sources) == 1, f"the bug's target {old!r} must occur once"
    for cell in sources:
        cell.source = cell.source.replace(old, new)
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    result = scores(grade(bundles[assignment], path))
    assert {question for question, score in result.items() if score == 0} == lost
    assert all(result[question] == points for question, points in FULL[assignment].items() if question not in lost)
