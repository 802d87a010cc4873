"""`toynet validate`: a notebook's tests run in a Jupyter kernel as the invoking user, each reported with its
traceback (nbclient; no sandbox). A source runs every test, hidden ones included; a student's copy its public ones."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from toynet import cli
from toynet.grading.assign import split_notebook
from toynet.grading.validate import ValidationError, validate

SETS = Path(__file__).resolve().parent / "fixtures" / "nbgrader_sets"


def student_copy(tmp_path: Path, name: str, answers: dict[str, str]) -> Path:
    """The student's copy (as `toynet assign` makes it, without the sandbox checks) with some answers filled."""
    source = SETS / f"{name}.ipynb"
    student = split_notebook(source, nbformat.read(source, as_version=4), {}).student
    for cell in student.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in answers:
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(student, path)
    return path


@pytest.mark.slow(4)
def test_a_source_runs_every_test_hidden_ones_included(tmp_path: Path) -> None:
    source = tmp_path / "gradient_check_1d.ipynb"  # a hidden-only failure: the public checks pass
    source.write_text((SETS / "gradient_check_1d.ipynb").read_text().replace(
        "assert backward_propagation(-5, 3) == -5", "assert backward_propagation(-5, 3) == 5"))
    report = validate(source)
    assert report.source and [(t.name, t.passed) for t in report.tests] == [
        ("test_forward", True), ("test_backward", False), ("test_gradient_check", True)]
    failed = report.tests[1].traceback
    assert "AssertionError" in failed and "assert backward_propagation(-5, 3) == 5" in failed
    assert report.by_hand == [("why_centred", 1, 11)]
    assert "FAILED: test_backward (cell 6, 1 point)" in report.describe()


@pytest.mark.slow(4)
def test_a_students_copy_runs_its_public_tests_with_tracebacks(tmp_path: Path) -> None:
    path = student_copy(tmp_path, "gradient_check_1d", {
        "forward_propagation": "def forward_propagation(x, theta):\n    return theta * x",
        "backward_propagation": "def backward_propagation(x, theta):\n    return theta"})  # a bug
    report = validate(path)
    assert not report.source
    outcomes = {t.name: t for t in report.tests}
    assert outcomes["test_forward"].passed and not outcomes["test_backward"].passed
    assert "assert backward_propagation(2, 4) == 2" in outcomes["test_backward"].traceback
    assert "NotImplementedError" in outcomes["test_gradient_check"].traceback  # still a stub
    assert "backward_propagation(-5, 3)" not in json.dumps(nbformat.read(path, as_version=4).dict())


@pytest.mark.slow(4)
def test_the_command_exits_1_on_a_failing_test_and_0_when_all_pass(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(SETS / "layer_backward.ipynb")]) == 0
    assert "3 of 3 test cells passed" in capsys.readouterr().out
    broken = tmp_path / "layer_backward.ipynb"
    broken.write_text((SETS / "layer_backward.ipynb").read_text().replace("return dA * (Z > 0)", "return dA"))
    assert cli.main(["validate", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: test_relu_backward (cell 13, 1 point)" in out and "2 of 3 test cells passed" in out


def test_an_unreadable_notebook_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(ValidationError, match="bad.ipynb"):
        validate(bad)
    assert cli.main(["validate", str(bad)]) == 2


@pytest.mark.slow(5)
def test_a_cell_that_runs_too_long_fails_alone(tmp_path: Path) -> None:
    """The kernel is interrupted after `timeout` seconds in a cell: that test fails, the others still run."""
    path = student_copy(tmp_path, "gradient_check_1d", {
        "forward_propagation": "def forward_propagation(x, theta):\n    while True:\n        pass",
        "backward_propagation": "def backward_propagation(x, theta):\n    return x"})
    report = validate(path, timeout=2)
    outcomes = {t.name: t for t in report.tests}
    assert "KeyboardInterrupt" in outcomes["test_forward"].traceback
    assert outcomes["test_backward"].passed
