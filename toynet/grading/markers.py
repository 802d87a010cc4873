"""The nbgrader markers instructors already know, and what the assignment builder does with them.

    ### BEGIN SOLUTION / ### END SOLUTION         -> replaced by `raise NotImplementedError("Task <name>: ...")`
    ### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS -> removed from the student's copy, run only by the grader

A question is a code cell whose metadata holds {"toynet": {"question": "<name>", "points": <number>}}: its
code (public part, then hidden part) runs in the grader, never in the student's process. A cell whose metadata
holds {"toynet": {"graded": false}} (a lesson's demonstration) is not run by the grader at all.

In an nbgrader-format notebook (cells.py) the markers follow nbgrader's preprocessors exactly: a line that
contains "BEGIN SOLUTION" (any comment style) opens a region, and the student's copy holds nbgrader's stubs,
`# YOUR CODE HERE` / `raise NotImplementedError()` in code and "YOUR ANSWER HERE" in markdown; a solution cell
without markers is replaced whole (ClearSolutions). Read `clear_solution` and `NBGRADER`.
"""

from __future__ import annotations

import ast
import re
from typing import Any

# The student process strips magics with this same function (a copy of protocol.py runs beside it).
from toynet.grading.protocol import strip_magics as strip_magics

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NBGRADER = {"solution": ("BEGIN SOLUTION", "END SOLUTION"), "hidden": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}
NBGRADER_CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
NBGRADER_TEXT_STUB = "YOUR ANSWER HERE"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)\s*\(")
_CLASS = re.compile(r"^(\s*)class\s+(\w+)\b")


class MarkerError(ValueError):
    """Unbalanced or nested markers in a cell."""


def _regions(
    lines: list[str], begin: str, end: str, where: str, anywhere: bool = False
) -> list[tuple[int, int]]:
    """(first, last) line indices of each begin..end block, markers included.

    A marker starts its line (toynet's format) or, with `anywhere`, is anywhere in it (nbgrader's rule).
    """
    regions, start = [], None
    for number, line in enumerate(lines):
        text = line.strip()
        if anywhere:  # nbgrader tests `begin in line`; END's test comes second, as there
            text = begin if begin in text else end if end in text else ""
        if text.startswith(begin):
            if start is not None:
                raise MarkerError(f"{where}: {begin!r} on line {number + 1} inside another block")
            start = number
        elif text.startswith(end):
            if start is None:
                raise MarkerError(f"{where}: {end!r} on line {number + 1} without {begin!r}")
            regions.append((start, number))
            start = None
    if start is not None:
        raise MarkerError(f"{where}: {begin!r} on line {start + 1} is never closed by {end!r}")
    return regions


def has_solution(source: str) -> bool:
    return BEGIN_SOLUTION in source


def task_name(lines: list[str], line_number: int, default: str) -> str:
    """The task a solution block belongs to: its enclosing `Class.method` / function, else `default`."""
    indent = len(lines[line_number]) - len(lines[line_number].lstrip())
    names = []
    for line in reversed(lines[:line_number]):
        match = _DEF.match(line) or _CLASS.match(line)
        if match and len(match.group(1)) < indent:
            names.append(match.group(2))
            indent = len(match.group(1))
    return ".".join(reversed(names)) or default


def strip_solutions(source: str, default_task: str = "this cell") -> str:
    """Replace every solution block by a stub, indented like the block, that names its task."""
    lines = source.split("\n")
    out, previous = [], 0
    for first, last in _regions(lines, BEGIN_SOLUTION, END_SOLUTION, default_task):
        out.extend(lines[previous:first])
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        task = task_name(lines, first, default_task)
        out.append(f"{indent}# YOUR CODE HERE")
        out.append(f'{indent}raise NotImplementedError("Task {task}: replace this line with your code")')
        previous = last + 1
    out.extend(lines[previous:])
    return "\n".join(out)


def clear_solution(source: str, cell_type: str, where: str = "solution cell") -> str:
    """nbgrader's ClearSolutions on one solution cell: each marked region becomes the stub, indented like its
    BEGIN line; a cell without regions becomes the stub whole."""
    lines = source.split("\n")
    stub = (NBGRADER_CODE_STUB if cell_type == "code" else NBGRADER_TEXT_STUB).split("\n")
    regions = _regions(lines, *NBGRADER["solution"], where, anywhere=True)
    if not regions:
        return "\n".join(stub)
    out, previous = [], 0
    for first, last in regions:
        out.extend(lines[previous:first])
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        out.extend(indent + line for line in stub)
        previous = last + 1
    out.extend(lines[previous:])
    return "\n".join(out)


def has_marker(source: str, kind: str) -> bool:
    """Whether nbgrader's rule finds the start of a `kind` ("solution" or "hidden") region in the source."""
    return NBGRADER[kind][0] in source


def split_hidden(source: str, where: str = "test cell", nbgrader: bool = False) -> tuple[str, str]:
    """(public code, hidden code) of a test cell. Hidden lines keep their line numbers (blank elsewhere)."""
    lines = source.split("\n")
    public, hidden = list(lines), [""] * len(lines)
    for first, last in _hidden_regions(lines, where, nbgrader):
        for number in range(first, last + 1):
            hidden[number] = lines[number] if first < number < last else ""
            public[number] = ""
    return _trim("\n".join(public)), _trim("\n".join(hidden))


def remove_hidden(source: str, nbgrader: bool = False) -> str:
    """The student's copy of a test cell: the hidden blocks and their markers gone."""
    lines = source.split("\n")
    drop = {n for first, last in _hidden_regions(lines, "test cell", nbgrader) for n in range(first, last + 1)}
    return "\n".join(line for n, line in enumerate(lines) if n not in drop).rstrip("\n")


def _hidden_regions(lines: list[str], where: str, nbgrader: bool) -> list[tuple[int, int]]:
    if nbgrader:
        return _regions(lines, *NBGRADER["hidden"], where, anywhere=True)
    return _regions(lines, BEGIN_HIDDEN, END_HIDDEN, where)


def question_of(cell: Any) -> dict[str, Any] | None:
    """The {"question", "points"} metadata of a test cell, or None for an ordinary cell."""
    meta = cell.get("metadata", {}).get("toynet", {})
    return meta if isinstance(meta, dict) and "question" in meta else None


def lesson_only(cell: Any) -> bool:
    """A cell marked {"toynet": {"graded": false}}: a lesson's demonstration (plots, toynet's reference), run in
    the lesson and skipped by the grader, whose sandbox has neither. Unmarking one only adds its errors."""
    meta = cell.get("metadata", {}).get("toynet", {})
    return isinstance(meta, dict) and meta.get("graded") is False


def defined_names(sources: list[str]) -> list[str]:
    """Top-level functions and classes the cells define: the names a test may call in the student process."""
    names: list[str] = []
    for source in sources:
        try:
            tree = ast.parse(strip_magics(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name not in names:
                names.append(node.name)
    return names


def _trim(code: str) -> str:
    return code if code.strip() else ""
