"""What each cell of an assignment notebook is, in either format an instructor may write it.

nbgrader's format (schema 3), as its validator and preprocessors read it:

    {"nbgrader": {"grade": true,  "solution": false, "points": 1, "grade_id": "correct_squares", ...}}
        an autograder test cell (code): its code runs in the grader, never in the student's process
    {"nbgrader": {"solution": true, "grade": false, "grade_id": ...}}
        an autograded answer: `### BEGIN/END SOLUTION` regions (or, without them, the whole cell) become stubs
    {"nbgrader": {"solution": true, "grade": true, "points": 2, ...}}
        a manually graded answer (markdown or code): graded by hand, its points reported apart
    {"nbgrader": {"task": true, "points": 4, ...}}   (markdown)
        a manually graded task: graded by hand, its points reported apart
    {"nbgrader": {"locked": true, ...}}
        read-only in the student's copy

toynet's own format: a code cell with {"toynet": {"question": "<name>", "points": <number>}} is a test cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from toynet.grading.markers import MarkerError, lesson_only, question_of, remove_hidden

Kind = Literal["test", "answer", "by_hand", "task", "locked", "plain"]
Format = Literal["nbgrader", "toynet", ""]


class CellError(ValueError):
    """A cell's grading metadata is malformed (what nbgrader's own validator would refuse, and a few more)."""


@dataclass(frozen=True)
class CellRole:
    """One cell's part in an assignment.

    kind: "test" (autograder tests), "answer" (autograded solution), "by_hand" (manually graded answer),
    "task" (manually graded task), "locked" (read-only given cell) or "plain"; name: the grade_id or toynet
    question; points: what it is worth (0 unless graded); format: whose metadata said so.
    """

    kind: Kind
    name: str = ""
    points: float = 0.0
    format: Format = ""

    @property
    def graded_by_hand(self) -> bool:
        return self.kind in ("by_hand", "task")


def nbgrader_metadata(cell: Any) -> dict[str, Any] | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else None


def role_of(cell: Any, number: int = 0) -> CellRole:
    """The role of one cell (`number`: its 1-based place in the notebook, for messages). Raises CellError."""
    toynet_meta = question_of(cell)
    if toynet_meta is not None:
        points = toynet_meta.get("points", 1)
        _check_points(points, f"cell {number} (toynet question {toynet_meta['question']!r})")
        return CellRole("test", str(toynet_meta["question"]), float(points), "toynet")
    meta = nbgrader_metadata(cell)
    if meta is None:
        return CellRole("plain")
    return _nbgrader_role(meta, cell.get("cell_type", ""), number)


def _nbgrader_role(meta: dict[str, Any], cell_type: str, number: int) -> CellRole:
    grade, solution, task = bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("task"))
    locked = bool(meta.get("locked"))
    if not (grade or solution or task or locked):
        return CellRole("plain")
    grade_id = meta.get("grade_id")
    where = f"cell {number} ({cell_type})"
    if not isinstance(grade_id, str) or not grade_id.strip():
        raise CellError(f"{where}: nbgrader cell without a grade_id (metadata {meta})")
    where = f"cell {number} ({cell_type}, grade_id {grade_id!r})"
    if task:
        if cell_type != "markdown" or grade or solution:
            raise CellError(f"{where}: a task cell must be markdown, neither 'grade' nor 'solution'")
        return CellRole("task", grade_id, _points(meta, where), "nbgrader")
    if grade:
        points = _points(meta, where)
        if solution:
            return CellRole("by_hand", grade_id, points, "nbgrader")
        if cell_type != "code":
            raise CellError(f"{where}: a markdown grade cell must also be a solution cell (graded by hand)")
        return CellRole("test", grade_id, points, "nbgrader")
    if solution:
        if cell_type != "code":
            raise CellError(f"{where}: a markdown solution cell must also be a grade cell (with points)")
        return CellRole("answer", grade_id, 0.0, "nbgrader")
    return CellRole("locked", grade_id, 0.0, "nbgrader")


def _points(meta: dict[str, Any], where: str) -> float:
    if "points" not in meta:
        raise CellError(f"{where}: a graded cell needs 'points'")
    _check_points(meta["points"], where)
    return float(meta["points"])


def _check_points(points: object, where: str) -> None:
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
        raise CellError(f"{where}: 'points' must be a non-negative number, got {points!r}")


def roles_of(notebook: Any) -> list[CellRole]:
    """Every cell's role, in order; duplicate names (grade_id or question) are a CellError."""
    roles: list[CellRole] = []
    seen: dict[str, int] = {}
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        role = role_of(cell, number)
        if role.name:
            if role.name in seen:
                raise CellError(f"cell {number}: the name {role.name!r} is already used by cell {seen[role.name]}")
            seen[role.name] = number
        roles.append(role)
    return roles


def source_of(cell: Any) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    if not isinstance(source, str):
        raise ValueError("a cell has no text source")
    return source


def same_code(a: str, b: str) -> bool:
    """Equal up to trailing spaces and blank lines at either end (what an editor may add on saving)."""

    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip("\n").split("\n")]

    return norm(a) == norm(b)


def claimed_test(cell: Any) -> str | None:
    """The test name a submission's cell claims by its metadata (lenient: a student may garble it), else None."""
    toynet_meta = question_of(cell)
    if toynet_meta is not None:
        return str(toynet_meta["question"])
    meta = nbgrader_metadata(cell)
    if meta is not None and meta.get("grade") and not meta.get("solution") and not meta.get("task"):
        return str(meta.get("grade_id", ""))
    return None


class SubmissionCells(NamedTuple):
    """What a submission holds: the cells that run in the student process, notes for the student, and where
    the bundle's tests sit in this notebook (name -> 1-based cell number; a test the student deleted is absent)."""

    run: list[tuple[int, str]]
    notes: list[str]
    tests_at: dict[str, int]


def submission_code(notebook: Any, shown: dict[str, str]) -> SubmissionCells:
    """The code cells of a submission that run in the student process, and notes on cells that claimed a test.

    Test cells always come from the bundle: a cell is left out as a test only when its metadata names one of
    the bundle's tests (`shown`: name -> the test cell as the student's copy shows it) and its code is that
    cell's (hidden regions removed: the solution notebook itself is graded too). Any other cell carrying a
    test's metadata (an imports cell that kept it after a copy/paste, an edited test) runs as the student's
    code, with a note. A bundle built before `shown` was recorded ("" for every test) leaves out every cell
    that claims a test, as it always did. Each cell as (its 1-based number among all cells, its source).
    """
    cells = SubmissionCells([], [], {})
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code" or lesson_only(cell):
            continue
        source = source_of(cell)
        name = claimed_test(cell)
        if name is not None:
            expected = shown.get(name)
            try:
                if expected == "" or (expected is not None and same_code(remove_hidden(source, nbgrader=True),
                                                                         expected)):
                    cells.tests_at.setdefault(name, number)
                    continue
            except MarkerError:
                pass
            why = "its code differs from that test's" if expected is not None else "the assignment has no such test"
            cells.notes.append(f"cell {number} carries the metadata of test {name!r} but {why}: it was run as your "
                               "own code (the tests always come from the assignment, whatever the notebook holds)")
        cells.run.append((number, source))
    return cells


def placed_tests(notebook: Any, tests_at: dict[str, int]) -> dict[str, int]:
    """The tests of `tests_at` (name -> 1-based cell number) that run where they sit, as nbgrader runs them:
    those whose cell carries nbgrader's metadata. toynet's own test cells keep running after every cell (its
    notebooks were written for that: a toynet test may sit above the cells its question needs)."""
    cells = notebook.get("cells", [])
    return {name: number for name, number in tests_at.items() if question_of(cells[number - 1]) is None}

