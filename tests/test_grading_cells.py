"""Reading nbgrader's cell metadata and markers as nbgrader does, without processes (cells.py, markers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toynet.grading import markers
from toynet.grading.cells import CellError, claimed_test, role_of, roles_of, same_code, submission_code


def nb_cell(cell_type: str = "code", source: str = "", **meta: Any) -> dict[str, Any]:
    meta.setdefault("schema_version", 3)
    return {"cell_type": cell_type, "source": source, "metadata": {"nbgrader": meta}}


@pytest.mark.parametrize("cell, kind, points", [
    (nb_cell(grade=True, solution=False, grade_id="t", points=2), "test", 2.0),
    (nb_cell(grade=False, solution=True, grade_id="a"), "answer", 0.0),
    (nb_cell(grade=True, solution=True, grade_id="c", points=3), "by_hand", 3.0),
    (nb_cell("markdown", grade=True, solution=True, grade_id="m", points=1), "by_hand", 1.0),
    (nb_cell("markdown", grade=False, solution=False, locked=True, task=True, grade_id="k", points=4), "task", 4.0),
    (nb_cell("markdown", grade=False, solution=False, locked=True, grade_id="l"), "locked", 0.0),
    (nb_cell(grade=False, solution=False, locked=False, grade_id="x"), "plain", 0.0),
    ({"cell_type": "code", "source": "", "metadata": {"toynet": {"question": "q", "points": 3}}}, "test", 3.0),
    ({"cell_type": "code", "source": "", "metadata": {}}, "plain", 0.0),
])
def test_roles_follow_nbgraders_cell_types(cell: dict[str, Any], kind: str, points: float) -> None:
    role = role_of(cell, 1)
    assert (role.kind, role.points) == (kind, points)
    assert role.graded_by_hand == (kind in ("by_hand", "task"))


@pytest.mark.parametrize("cell, message", [
    (nb_cell(grade=True, solution=False, points=1), "without a grade_id"),
    (nb_cell(grade=True, solution=False, grade_id="t"), "needs 'points'"),
    (nb_cell(grade=True, solution=False, grade_id="t", points=-1), "non-negative number, got -1"),
    (nb_cell(grade=True, solution=False, grade_id="t", points="2"), "non-negative number, got '2'"),
    (nb_cell("markdown", grade=True, solution=False, grade_id="m", points=1), "must also be a solution cell"),
    (nb_cell("markdown", grade=False, solution=True, grade_id="m"), "must also be a grade cell"),
    (nb_cell("code", task=True, grade=False, solution=False, grade_id="k", points=1), "task cell must be markdown"),
])
def test_malformed_metadata_is_refused_with_the_cell_named(cell: dict[str, Any], message: str) -> None:
    """The checks of nbgrader's MetadataValidatorV3, with the cell's number in the message."""
    with pytest.raises(CellError, match="cell 7") as caught:
        role_of(cell, 7)
    assert message in str(caught.value)


def test_duplicate_grade_ids_are_refused() -> None:
    cells = [nb_cell(grade=False, solution=True, grade_id="f"), nb_cell(grade=True, solution=False, grade_id="f",
                                                                         points=1)]
    with pytest.raises(CellError, match="'f' is already used by cell 1"):
        roles_of({"cells": cells})


def test_solution_regions_become_nbgraders_stubs_indented() -> None:
    """nbgrader's ClearSolutions: regions by `in line` (any comment style), the stub indented like BEGIN."""
    source = "def f(x):\n    # BEGIN SOLUTION\n    y = 2 * x\n    # END SOLUTION\n    return y"
    assert markers.clear_solution(source, "code") == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n    return y")
    assert markers.clear_solution("anything at all", "code") == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert markers.clear_solution("$x^2$", "markdown") == "YOUR ANSWER HERE"
    assert markers.clear_solution("A\n### BEGIN SOLUTION\nsecret\n### END SOLUTION\nB", "markdown") == (
        "A\nYOUR ANSWER HERE\nB")
    with pytest.raises(markers.MarkerError, match="never closed"):
        markers.clear_solution("### BEGIN SOLUTION\nx = 1", "code")


def test_hidden_regions_by_nbgraders_rule() -> None:
    cell = "a = 1\n# BEGIN HIDDEN TESTS\nsecret = 2\n# END HIDDEN TESTS\nb = 3"
    public, hidden = markers.split_hidden(cell, nbgrader=True)
    assert "secret" not in public and "secret = 2" in hidden
    assert markers.remove_hidden(cell, nbgrader=True) == "a = 1\nb = 3"
    assert markers.remove_hidden(cell) == cell  # toynet's own rule: the marker starts with ###


def test_claimed_tests_are_lenient_with_a_students_metadata() -> None:
    assert claimed_test(nb_cell(grade=True, solution=False, grade_id="t")) == "t"
    assert claimed_test(nb_cell(grade=True, solution=True, grade_id="t")) is None  # an answer, not a test
    assert claimed_test({"metadata": {"nbgrader": "garbled"}}) is None
    assert claimed_test({"metadata": {"toynet": {"question": 5}}}) == "5"


def test_submission_cells_claiming_tests_run_unless_they_are_the_tests() -> None:
    test = nb_cell(source="assert f(1) == 2\n", grade=True, solution=False, grade_id="t", points=1)
    copied = nb_cell(source="import numpy as np", grade=True, solution=False, grade_id="t", points=1)
    unknown = nb_cell(source="x = 1", grade=True, solution=False, grade_id="nope", points=1)
    source_copy = nb_cell(source="assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS",
                          grade=True, solution=False, grade_id="t", points=1)
    notebook = {"cells": [test, {"cell_type": "markdown", "source": "hi", "metadata": {}}, copied, unknown,
                          source_copy, {"cell_type": "code", "source": "y = 2", "metadata": {}}]}
    run, notes, tests_at = submission_code(notebook, {"t": "assert f(1) == 2"})
    assert run == [(3, "import numpy as np"), (4, "x = 1"), (6, "y = 2")]
    assert tests_at == {"t": 1}  # where the test sits in this notebook, for running tests in notebook order
    assert [note.split(" but ")[0] for note in notes] == ["cell 3 carries the metadata of test 't'",
                                                          "cell 4 carries the metadata of test 'nope'"]
    assert "the assignment has no such test" in notes[1]
    run, notes, _ = submission_code(notebook, {"t": ""})  # a bundle from before `shown`: every claim left out
    assert [number for number, _ in run] == [4, 6] and len(notes) == 1


def test_same_code_ignores_only_what_an_editor_adds() -> None:
    assert same_code("a = 1\nb = 2", "\na = 1  \nb = 2\n\n")
    assert not same_code("a = 1\nb = 2", "a = 1\nb = 3")
    assert not same_code("a = 1\n b = 2", "a = 1\nb = 2")


@pytest.mark.parametrize("cells, message", [
    ([nb_cell(source="x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION", grade=True, solution=False, grade_id="t",
              points=1)], "a solution region in a test cell"),
    ([nb_cell(grade=True, solution=False, grade_id="t", points=1),
      nb_cell(source="### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS", grade=False, solution=True,
              grade_id="a")], "hidden tests outside an autograder test cell"),
    ([nb_cell(grade=True, solution=False, grade_id="t", points=1),
      {"cell_type": "code", "source": "# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "metadata": {}}],
     "a solution region in a cell not marked as a solution cell"),
])
def test_misplaced_regions_are_refused_as_nbgrader_refuses_them(cells: list[dict[str, Any]], message: str) -> None:
    import nbformat

    from toynet.grading.assign import AssignmentError, split_notebook

    notebook = nbformat.from_dict({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    with pytest.raises(AssignmentError, match=message):
        split_notebook(Path("x.ipynb"), notebook, {})
