"""Problem sets in nbgrader's format, built and graded through the real sandbox (as root).

tests/fixtures/nbgrader_sets holds problem sets written as an instructor marks them with nbgrader's toolbar
(autograded answers, autograder tests with hidden parts, manually graded answers, tasks, locked cells). For each:
the solution scores full marks, a correct solution written differently full marks, a partly wrong one exactly
the points of the tests its bugs break, the blank student copy 0, and the cells graded by hand are reported with
their points, apart from the autograded score. The expected totals are read from the source's own metadata.

tests/fixtures/nbgrader_docs holds nbgrader's documentation example (ps1 problem1) with nbgrader's own release
version and two of its students' submissions, whose autograded scores nbgrader's feedback files state.

Two of them need test cells that run in the student's namespace (a `del` reaching the student's globals, an
exception caught by its type, the notebook's `np`, lambdas, student objects): grading/remote.py.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from toynet import cli
from toynet.grading.assign import AssignmentError, build
from toynet.grading.grade import Bundle, SubmissionResult, grade_submission, write_results
from toynet.grading.sandbox import Limits

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETS = FIXTURES / "nbgrader_sets"
PS1 = FIXTURES / "nbgrader_docs"
LIMITS = Limits(question_timeout=10, cell_timeout=10, wall_clock=60, memory=1 << 30)

DIFFERENTLY = {
    "layer_backward": {
        "linear_forward": '''def linear_forward(A_prev, W, b):
    Z = np.dot(W, A_prev) + b.reshape(-1, 1)
    cache = (A_prev, W, b)
    return Z, cache''',
        "linear_backward": '''def linear_backward(dZ, cache):
    A_prev, W, b = cache
    dW = np.einsum("om,im->oi", dZ, A_prev)
    db = dZ.sum(axis=1).reshape(-1, 1)
    return np.dot(W.T, dZ), dW, db''',
        "relu_backward": '''def relu_backward(dA, Z):
    return np.where(Z > 0, dA, 0.0)''',
    },
    "gradient_check_1d": {
        "forward_propagation": "def forward_propagation(x, theta):\n    return x * theta",
        "backward_propagation": "def backward_propagation(x, theta):\n    return x",
        "gradient_check": '''def gradient_check(x, theta, epsilon=1e-7):
    grad = backward_propagation(x, theta)
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    if grad == 0 and gradapprox == 0:
        return 0.0
    return abs(grad - gradapprox) / (abs(grad) + abs(gradapprox))''',
    },
    "training_loop": {
        "sigmoid": "def sigmoid(z):\n    return np.exp(z) / (1 + np.exp(z))",
        "propagate": '''def propagate(w, b, X, Y):
    m = X.shape[1]
    A = sigmoid(np.dot(w.T, X) + b)
    cost = -(np.dot(Y, np.log(A).T) + np.dot(1 - Y, np.log(1 - A).T)).item() / m
    dZ = A - Y
    return {"dw": np.dot(X, dZ.T) / m, "db": float(dZ.mean())}, cost''',
        "optimize": '''def optimize(w, b, X, Y, num_iterations, learning_rate):
    costs = []
    for _ in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        costs.append(cost)
        w = w - learning_rate * grads["dw"]
        b -= learning_rate * grads["db"]
    return w, b, costs''',
    },
}
# (answers replaced on top of the solution, the tests their bugs break)
PARTLY_WRONG = {
    "layer_backward": ({
        "relu_backward": "def relu_backward(dA, Z):\n    return dA * (Z >= 0)",  # the slope at 0 taken as 1
        "linear_backward": '''def linear_backward(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=1)''',  # db of shape (n_out,), not (n_out, 1)
    }, {"test_relu_backward", "test_linear_backward"}),
    "gradient_check_1d": ({
        "gradient_check": '''def gradient_check(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    return abs(backward_propagation(x, theta) - gradapprox)''',  # no denominator: an absolute difference
    }, {"test_gradient_check"}),
    "training_loop": ({
        "optimize": '''def optimize(w, b, X, Y, num_iterations, learning_rate):
    costs = []
    for _ in range(num_iterations):
        grads, cost = propagate(w, b, X, Y)
        costs.append(cost)
        w = w + learning_rate * grads["dw"]
        b = b - learning_rate * grads["db"]
    return w, b, costs''',  # climbs the cost in w
    }, {"test_optimize"}),
}
HAND_ANSWER = "The bias is broadcast over the examples; a longer answer a TA reads."


def metadata_points(path: Path) -> tuple[dict[str, float], dict[str, float]]:
    """(autograder tests, cells graded by hand) -> points, read straight from the notebook's nbgrader metadata."""
    tests, by_hand = {}, {}
    for cell in json.loads(path.read_text())["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            tests[meta["grade_id"]] = meta["points"]
        elif (meta.get("grade") and meta.get("solution")) or meta.get("task"):
            by_hand[meta["grade_id"]] = meta["points"]
    return tests, by_hand


def fill(student: Path, answers: dict[str, str], to: Path) -> Path:
    """The student's copy with the answer cells named by grade_id replaced (and markdown answers written)."""
    notebook = nbformat.read(student, as_version=4)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in answers:
            cell.source = answers[meta["grade_id"]]
        elif cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = HAND_ANSWER
    to.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, to)
    return to


def cell_of(notebook: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def grade(out: Path, path: Path) -> SubmissionResult:
    return grade_submission(path, Bundle.load(out / "autograder"), out / "autograder", limits=LIMITS)


def scores(result: SubmissionResult) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {}
    for name in DIFFERENTLY:
        outs[name] = tmp_path_factory.mktemp(name) / "out"
        build(SETS / f"{name}.ipynb", outs[name])  # build itself checks solution = full, stubs = zero
    return outs


@pytest.mark.parametrize("name", sorted(DIFFERENTLY))
@pytest.mark.slow(6)
def test_each_problem_set_grades_exactly(built: dict[str, Path], name: str, tmp_path: Path) -> None:
    out, source = built[name], SETS / f"{name}.ipynb"
    tests, by_hand = metadata_points(source)
    student = out / "student" / f"{name}.ipynb"
    full = {test: float(points) for test, points in tests.items()}
    assert scores(grade(out, source)) == full
    assert scores(grade(out, fill(student, DIFFERENTLY[name], tmp_path / "differently.ipynb"))) == full
    answers, broken = PARTLY_WRONG[name]
    partly = grade(out, fill(student, {**DIFFERENTLY[name], **answers}, tmp_path / "partly.ipynb"))
    assert scores(partly) == {test: 0.0 if test in broken else points for test, points in full.items()}
    blank = grade(out, student)
    assert scores(blank) == {test: 0.0 for test in tests}
    for result in (partly, blank):  # graded by hand: listed with their points, never in the autograded score
        assert {h.name: h.points for h in result.by_hand} == by_hand
        assert result.max_score == sum(tests.values())


def test_student_copy_stubs_locks_and_keeps_no_hidden_test(built: dict[str, Path]) -> None:
    student = nbformat.read(built["layer_backward"] / "student" / "layer_backward.ipynb", as_version=4)
    text = json.dumps(student.dict())
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "RandomState(7)" not in text
    assert "einsum" not in text and "b is broadcast" not in text  # a hidden test's and a written answer's words
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in student.cells}
    assert by_id["relu_backward"].source == ('def relu_backward(dA, Z):\n    """dZ = dA where Z > 0, else 0; the shape '
                                             'of Z."""\n    # YOUR CODE HERE\n    raise NotImplementedError()')
    assert by_id["why_db_sums"].source == "YOUR ANSWER HERE"
    assert by_id["test_relu_backward"].metadata.editable is False and by_id["intro"].metadata.editable is False
    assert by_id["relu_backward"].metadata.deletable is False and "editable" not in by_id["relu_backward"].metadata


def test_results_report_hand_graded_cells_apart(built: dict[str, Path], tmp_path: Path) -> None:
    """results.json (Gradescope), class.csv and the summary agree: autograded out of 4, 3 points by hand apart."""
    out = built["layer_backward"]
    result = grade(out, SETS / "layer_backward.ipynb")
    report = result.gradescope()
    assert report["score"] == 4 and sum(t["max_score"] for t in report["tests"] if "max_score" in t) == 4
    hand = [t for t in report["tests"] if "score" not in t]
    assert [t["name"] for t in hand] == ["why_db_sums (graded by hand, 1 point)",
                                         "relu_plot_task (graded by hand, 2 points)"]
    assert report["extra_data"] == {"graded_by_hand": {"why_db_sums": 1, "relu_plot_task": 2}}
    write_results([result, result], tmp_path / "grades")
    rows = list(csv.reader((tmp_path / "grades" / "class.csv").open()))
    assert rows[0][-4:] == ["total", "max", "why_db_sums (by hand, /1)", "relu_plot_task (by hand, /2)"]
    assert rows[1][-4:] == ["4", "4", "", ""]


def test_a_cell_that_kept_a_tests_metadata_runs_as_the_students_code(built: dict[str, Path], tmp_path: Path) -> None:
    """The imports cell carries test_relu_backward's metadata (a copy/paste): it runs, and the feedback says so.
    An edited test cell (its metadata kept, its checks gone) runs as the student's code too: the test still
    comes from the bundle, and the wrong answer still loses its point."""
    out = built["layer_backward"]
    notebook = nbformat.read(fill(out / "student" / "layer_backward.ipynb", DIFFERENTLY["layer_backward"],
                                  tmp_path / "a.ipynb"), as_version=4)
    notebook.cells[1].metadata = json.loads(json.dumps(cell_of(notebook, "test_relu_backward").metadata))
    assert notebook.cells[1].source == "import numpy as np"
    nbformat.write(notebook, tmp_path / "copied.ipynb")
    result = grade(out, tmp_path / "copied.ipynb")
    assert result.score == 4
    assert "cell 2 carries the metadata of test 'test_relu_backward'" in result.output
    cell_of(notebook, "test_linear_forward").source = "assert True"
    forgot_b = "def linear_forward(A_prev, W, b):\n    return W @ A_prev, (A_prev, W, b)"
    cell_of(notebook, "linear_forward").source = forgot_b
    nbformat.write(notebook, tmp_path / "edited.ipynb")
    edited = grade(out, tmp_path / "edited.ipynb")
    assert scores(edited)["test_linear_forward"] == 0 and edited.score == 3
    assert "carries the metadata of test 'test_linear_forward' but its code differs" in edited.output


def planted(tmp_path: Path, old: str, new: str) -> Path:
    source = SETS / "layer_backward.ipynb"
    text = source.read_text()
    assert json.dumps(old)[1:-1] in text
    target = tmp_path / "src" / source.name
    target.parent.mkdir()
    target.write_text(text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1]))
    return target


def test_a_failing_solution_shows_its_traceback_and_writes_nothing(tmp_path: Path) -> None:
    source = planted(tmp_path, "return dA * (Z > 0)", "return dA * (Z >= 0)")
    with pytest.raises(AssignmentError) as caught:
        build(source, tmp_path / "deep" / "out")
    message = str(caught.value)
    assert "test_relu_backward" in message and "nothing was written" in message
    assert "Traceback" in message or "AssertionError" in message
    assert "assert np.array_equal(relu_backward(dA, Z), [[10.0, 0.0, 0.0], [40.0, 50.0, 0.0]])" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # not even the missing parent folder


def test_a_failing_hidden_test_shows_the_instructor_its_traceback(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The sandbox says one fixed sentence for a hidden test (students see that); the instructor sees why."""
    source = planted(tmp_path, "check(1, 3, 1, seed=12)", "check(1, 3, 1, seed=12)\nassert 1 == 2, 'instructor typo'")
    assert cli.main(["assign", str(source), str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "test_linear_backward: a hidden test failed" in error
    assert "AssertionError: instructor typo" in error and "assert 1 == 2, 'instructor typo'" in error
    assert not (tmp_path / "out").exists()


def test_assign_command_lists_the_cells_graded_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["assign", str(SETS / "gradient_check_1d.ipynb"), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "checked: solution 4/4, student copy 0/4" in out
    assert "graded by hand, reported apart from the autograded score: why_centred (1, cell 11)" in out


def test_a_test_the_blank_copy_passes_is_refused_and_nothing_written(tmp_path: Path) -> None:
    source = tmp_path / "gradient_check_1d.ipynb"  # a test that checks nothing of the student's
    source.write_text((SETS / "gradient_check_1d.ipynb").read_text().replace(
        "assert backward_propagation(2, 4) == 2", "assert 2 == 2").replace(
        "assert backward_propagation(-5, 3) == -5", "assert -5 == -5"))
    with pytest.raises(AssignmentError, match=r"earns points on \['test_backward'\].*nothing was written"):
        build(source, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradient_check_1d.ipynb"]


def test_a_rebuild_replaces_the_old_build_and_a_failed_one_keeps_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(SETS / "gradient_check_1d.ipynb", out)
    (out / "student" / "stale.txt").write_text("from an older build")
    build(SETS / "gradient_check_1d.ipynb", out)
    assert not (out / "student" / "stale.txt").exists()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    source = tmp_path / "gradient_check_1d.ipynb"
    source.write_text((SETS / "gradient_check_1d.ipynb").read_text().replace("dtheta = x", "dtheta = -x"))
    with pytest.raises(AssignmentError):
        build(source, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in out.iterdir()) == ["autograder", "student"]


def test_toynet_grade_writes_the_class_report(built: dict[str, Path], tmp_path: Path) -> None:
    """Five submissions through the command, two at a time: the report's pass rates are the submissions'."""
    out = built["layer_backward"]
    student = out / "student" / "layer_backward.ipynb"
    answers, _ = PARTLY_WRONG["layer_backward"]
    subs = tmp_path / "subs"
    paths = [fill(student, DIFFERENTLY["layer_backward"], subs / "ada.ipynb"),
             fill(student, {**DIFFERENTLY["layer_backward"], **answers}, subs / "bo.ipynb"),
             Path(shutil.copy(student, subs / "cy.ipynb")), subs / "dee.ipynb", subs / "ee.ipynb"]
    paths[3].write_text("not a notebook")
    raising = nbformat.read(paths[0], as_version=4)
    raising.cells[1].source = "import numpy as np\n1 / 0"
    nbformat.write(raising, paths[4])
    code = cli.main(["grade", *map(str, paths), "--assignment", str(out / "autograder"),
                     "--out", str(tmp_path / "grades"), "--jobs", "2", "--no-progress"])
    assert code == 0
    report = (tmp_path / "grades" / "report.md").read_text()
    # ada and ee pass everything, bo only test_linear_forward, cy (blank) and dee (not a notebook) nothing
    assert "| test_linear_forward | 1 | 3/5 | 60% | 0.6 |" in report
    assert "| test_linear_backward | 2 | 2/5 | 40% | 0.8 |" in report
    assert "| test_relu_backward | 1 | 2/5 | 40% | 0.4 |" in report
    assert "5 submissions, autograded out of 4 points: mean 1.8, median 1, full marks 2, zero 2." in report
    assert "Graded by hand, not in these scores (3 points): why_db_sums (1), relu_plot_task (2)." in report
    did_not_run = report.split("## Submissions whose code did not run (2)")[1]
    assert f"- {subs}/dee.ipynb: not run: the submission is not a valid notebook" in did_not_run
    assert f"- {subs}/ee.ipynb: cell 2 raised: ZeroDivisionError: division by zero" in did_not_run
    assert not {"ada", "bo", "cy"} & {Path(line[2:].split(":")[0]).stem for line in did_not_run.split("\n") if line}
    assert (tmp_path / "grades" / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nbgraders_release_is_what_toynet_makes_of_its_source() -> None:
    """nbgrader's own `generate_assignment` output for ps1 problem1 (its docs; it prepends a 3-cell header):
    the same sources, stubs and locks, cell for cell."""
    from toynet.grading.assign import split_notebook

    source = nbformat.read(PS1 / "problem1.ipynb", as_version=4)
    ours = split_notebook(PS1 / "problem1.ipynb", source, {}).student.cells
    theirs = nbformat.read(PS1 / "release_problem1.ipynb", as_version=4).cells[3:]
    assert len(ours) == len(theirs) == 18
    for number, (mine, nbgrader) in enumerate(zip(ours, theirs, strict=True), start=1):
        assert mine.source == nbgrader.source, f"cell {number}"
        for key in ("deletable", "editable"):
            assert mine.metadata.get(key) == nbgrader.metadata.get(key), f"cell {number}: {key}"


def test_ps1_bundle_records_tests_in_place_and_hand_graded_cells() -> None:
    from toynet.grading.assign import split_notebook

    split = split_notebook(PS1 / "problem1.ipynb", nbformat.read(PS1 / "problem1.ipynb", as_version=4), {})
    # read off the notebook: cells 6, 7, 12 and 13 are the tests, 15, 17 and 18 are graded by hand
    assert [(q.name, q.points, q.position, q.grade_id) for q in split.questions] == [
        ("correct_squares", 1, 6, "correct_squares"), ("squares_invalid_input", 1, 7, "squares_invalid_input"),
        ("correct_sum_of_squares", 0.5, 12, "correct_sum_of_squares"),
        ("sum_of_squares_uses_squares", 0.5, 13, "sum_of_squares_uses_squares")]
    assert [(h.name, h.points, h.position, h.kind) for h in split.by_hand] == [
        ("sum_of_squares_equation", 1, 15, "markdown answer"), ("sum_of_squares_application", 2, 17, "code answer"),
        ("cell-938593c4a215c6cc", 4, 18, "task")]
    assert all(q.hidden == "" and q.shown.startswith('"""Check that') for q in split.questions)


@pytest.mark.slow(4)
def test_ps1_tests_that_call_by_name_grade_as_nbgrader_graded_its_students(tmp_path: Path) -> None:
    """Today's execution, on ps1's bundle made without the build's checks (two of its tests need the namespace):
    nbgrader's own scores for its students on the tests that call the student's functions by name."""
    from toynet.grading.assign import make_bundle, split_notebook

    source = PS1 / "problem1.ipynb"
    bundle = make_bundle(source, split_notebook(source, nbformat.read(source, as_version=4), {}), {})
    bundle.save(tmp_path / "autograder")
    by_name = ("correct_squares", "correct_sum_of_squares")
    graded = {student: grade_submission(PS1 / f"submitted_{student}_problem1.ipynb", bundle, tmp_path / "autograder",
                                        limits=LIMITS) for student in ("hacker", "bitdiddle")}
    assert {name: scores(graded["hacker"])[name] for name in by_name} == {"correct_squares": 1,
                                                                          "correct_sum_of_squares": 0.5}
    assert {name: scores(graded["bitdiddle"])[name] for name in by_name} == {"correct_squares": 0,
                                                                             "correct_sum_of_squares": 0}
    assert {h.name: h.points for h in graded["bitdiddle"].by_hand} == {
        "sum_of_squares_equation": 1, "sum_of_squares_application": 2, "cell-938593c4a215c6cc": 4}


@pytest.mark.slow(8)
def test_ps1_grades_as_nbgrader_graded_its_students(tmp_path: Path) -> None:
    """nbgrader's feedback for ps1: hacker 3/3, bitdiddle 1.5/3 (correct_squares 0, squares_invalid_input 1,
    correct_sum_of_squares 0, sum_of_squares_uses_squares 0.5); 7 points graded by hand."""
    out = tmp_path / "ps1"
    build(PS1 / "problem1.ipynb", out)
    full = {"correct_squares": 1, "squares_invalid_input": 1, "correct_sum_of_squares": 0.5,
            "sum_of_squares_uses_squares": 0.5}
    assert scores(grade(out, PS1 / "submitted_hacker_problem1.ipynb")) == full
    bitdiddle = grade(out, PS1 / "submitted_bitdiddle_problem1.ipynb")
    assert scores(bitdiddle) == {**full, "correct_squares": 0, "correct_sum_of_squares": 0}
    assert scores(grade(out, out / "student" / "problem1.ipynb")) == {name: 0 for name in full}
    assert sum(h.points for h in bitdiddle.by_hand) == 7


@pytest.mark.slow(8)
def test_tests_with_lambdas_namespace_and_student_objects(tmp_path: Path) -> None:
    out = tmp_path / "namespace"
    build(SETS / "namespace_tests.ipynb", out)
    tests, _ = metadata_points(SETS / "namespace_tests.ipynb")
    assert scores(grade(out, SETS / "namespace_tests.ipynb")) == tests

