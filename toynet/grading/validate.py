"""`toynet validate NOTEBOOK`: run a notebook's tests in a Jupyter kernel, as you, and say which pass.

Like `nbgrader validate` and `otter check`: the notebook runs top to bottom in a fresh kernel (nbclient),
every cell even after an error, and each test cell is reported as passed or failed with its full traceback.
A student's copy holds only the public tests, so those are what a student checks; an instructor's source
holds the hidden tests too, and all of them run. Nothing is sandboxed: this runs the code of the user who
invokes it, on their own notebook (grading untrusted notebooks is `toynet grade`'s job).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from toynet.grading.cells import CellError, roles_of, source_of
from toynet.grading.grade import points_text
from toynet.grading.markers import has_marker

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
KERNEL = "python3"  # ipykernel's own kernel, in the Python that runs toynet (whatever the notebook names)


class ValidationError(RuntimeError):
    """The notebook could not be run at all (unreadable, malformed metadata, no kernel)."""


@dataclass
class TestOutcome:
    """One test cell: its name, 1-based cell number, points, and the traceback when it failed ("" if passed)."""

    name: str
    position: int
    points: float
    traceback: str = ""

    @property
    def passed(self) -> bool:
        return not self.traceback


@dataclass
class ValidationReport:
    """Every test cell's outcome, the cells graded by hand, and errors raised by the other code cells."""

    notebook: Path
    source: bool  # an instructor's source (solution or hidden-test markers found): hidden tests ran too
    tests: list[TestOutcome] = field(default_factory=list)
    by_hand: list[tuple[str, float, int]] = field(default_factory=list)  # (name, points, cell number)
    cell_errors: list[tuple[int, str]] = field(default_factory=list)  # (cell number, traceback)

    @property
    def passed(self) -> bool:
        return all(test.passed for test in self.tests)

    def describe(self) -> str:
        """The report as the command prints it."""
        kind = "source notebook: all tests, hidden ones included" if self.source else "public tests"
        lines = [f"{self.notebook} ({kind})"]
        for number, trace in self.cell_errors:
            lines.append(f"cell {number} raised (not a test cell):\n{_indent(trace)}")
        for test in self.tests:
            verdict = "passed" if test.passed else "FAILED"
            lines.append(f"{verdict}: {test.name} (cell {test.position}, {points_text(test.points)})")
            if not test.passed:
                lines.append(_indent(test.traceback))
        for name, points, number in self.by_hand:
            lines.append(f"graded by hand: {name} (cell {number}, {points_text(points)})")
        passed = sum(test.passed for test in self.tests)
        lines.append(f"{passed} of {len(self.tests)} test cells passed")
        return "\n".join(lines)


def validate(path: str | os.PathLike[str], timeout: float = 60.0) -> ValidationReport:
    """Run the notebook at `path` in a fresh kernel (its folder as the working folder) and report its tests.

    timeout: seconds each cell may run. Raises ValidationError when the notebook cannot be run at all.
    """
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    try:
        notebook = nbformat.read(path, as_version=4)
        roles = roles_of(notebook)
    except (OSError, ValueError, CellError) as error:
        raise ValidationError(f"{path}: {error}") from None
    # interrupt_on_timeout: a cell that runs too long gets a KeyboardInterrupt traceback and the run goes on,
    # so a loop in one answer shows as that cell's failure instead of ending the report
    client = NotebookClient(notebook, timeout=timeout, kernel_name=KERNEL, allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(path.resolve().parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])  # not the kernel's transport notices
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError, NoSuchKernel) as error:
        raise ValidationError(f"{path}: the kernel stopped: {type(error).__name__}: {error}") from None
    report = ValidationReport(path, any(_is_marked(cell) for cell in notebook.cells))
    for number, (cell, role) in enumerate(zip(notebook.cells, roles, strict=True), start=1):
        trace = _error_of(cell) if cell.cell_type == "code" else ""
        if role.kind == "test":
            report.tests.append(TestOutcome(role.name, number, role.points, trace))
        elif trace:
            report.cell_errors.append((number, trace))
        if role.graded_by_hand:
            report.by_hand.append((role.name, role.points, number))
    return report


def _is_marked(cell: dict) -> bool:
    source = source_of(cell)
    return has_marker(source, "solution") or has_marker(source, "hidden")


def _error_of(cell: dict) -> str:
    """The cell's traceback, ANSI colours removed ("" when it ran cleanly)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]
            return ANSI.sub("", "\n".join(lines)).strip()
    return ""


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))
