"""The pieces behind a class's results and a bounded read, without processes: names, results files, shards, lines.

Expected values come from their specifications: Python's own line numbering (`ast` node line numbers) for
`source_lines`; reversibility for `display` (two names never share a row); the notebook's own code for
`read_bounded` (json.load of the file, outputs aside).
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toynet.grading import protocol
from toynet.grading.notebooks import NotebookTooLarge, read_bounded
from toynet.grading.results import display, result_file, shard_of, submission_name

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(["\udcff", "\udc80", "\\"]),
                max_size=30)


@given(names, names)
def test_display_never_shows_two_names_alike_and_is_printable(first: str, second: str) -> None:
    assert display(first).isprintable()
    assert (display(first) == display(second)) == (first == second)
    assert (result_file(first) == result_file(second)) == (first == second)


def test_display_escapes_as_documented() -> None:
    raw = os.fsdecode(b"\xff\x1b[2J\\x\n") + "\u202e.ipynb"  # not UTF-8, ESC, a backslash, a newline, RLO
    assert display(raw) == "\\xff\\u001b[2J\\\\x\\n\\u202e.ipynb"
    assert display("café/élève.ipynb") == "café/élève.ipynb"  # printable text stays as it is


def test_results_files_are_short_and_plain() -> None:
    for name in ["a/b.ipynb", "a__b.ipynb", "x" * 300, "../../etc/passwd", ".hidden", "", "\\xff"]:
        file = result_file(name)
        assert len(file.encode()) <= 120 and "/" not in file and not file.startswith(".") and file.endswith(".json")
    assert len({result_file("a/b.ipynb"), result_file("a__b.ipynb")}) == 2


def test_names_are_relative_below_the_current_folder_and_absolute_elsewhere(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert submission_name("subs/./a.ipynb") == submission_name(tmp_path / "subs" / "a.ipynb") == "subs/a.ipynb"
    assert submission_name("/elsewhere/b.ipynb") == "/elsewhere/b.ipynb"
    assert submission_name("../b.ipynb") == str(tmp_path.parent / "b.ipynb")


def test_shards_split_a_class_evenly_enough_and_by_name_alone() -> None:
    class_names = [f"subs/student{n:04d}.ipynb" for n in range(4000)]
    counts = [0] * 8
    for name in class_names:
        counts[shard_of(name, 8)] += 1
    assert sum(counts) == 4000 and min(counts) > 400  # 500 expected; a binomial's sd is ~21
    assert [shard_of(n, 8) for n in class_names] == [shard_of(n, 8) for n in class_names[::-1]][::-1]


separators = st.sampled_from(["\n", "\r", "\r\n"])
inside_a_line = st.sampled_from(["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])


@given(st.lists(st.tuples(separators, inside_a_line), min_size=1, max_size=12))
def test_source_lines_number_lines_as_python_does(parts: list[tuple[str, str]]) -> None:
    """Statement k sits on the line `ast` says, whatever breaks and look-alike breaks (in comments) surround it."""
    source = "".join(f"v{k} = {k}  # note{lookalike}%x{newline}" for k, (newline, lookalike) in enumerate(parts))
    lines = protocol.source_lines(source)
    for k, node in enumerate(ast.parse(source).body):
        assert lines[node.lineno - 1].startswith(f"v{k} = {k}")
    stripped = protocol.strip_magics(source)  # no line is a magic: nothing changes but the breaks
    assert [n.lineno for n in ast.parse(stripped).body] == [n.lineno for n in ast.parse(source).body]


def test_magics_after_a_lone_carriage_return_are_commented() -> None:
    assert protocol.strip_magics("x = 1\r%time y = 2\r!ls") == "x = 1\n# %time y = 2\n# !ls"


def test_read_bounded_keeps_the_code_and_drops_outputs(tmp_path: Path) -> None:
    original = json.loads((ASSIGNMENTS / "layers.ipynb").read_text())
    notebook = json.loads(json.dumps(original))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x" * 1000] * 50}]
        cell["attachments"] = {"a.png": {"image/png": "iVBOR" * 100}}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook))
    read = read_bounded(path)
    assert [c.source for c in read.cells] == ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                                              for c in original["cells"]]
    assert all(c.get("outputs", []) == [] and c.get("attachments", {}) == {} for c in read.cells)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"cells": [], "metadata": {"x": ' + "[" * 100 + "]" * 100 + "}}", "deeper than 64 levels"),
        ('{"cells": [], "metadata": {"x": "' + "y" * (17 << 20) + '"}}', "at most 16 MB are graded"),
    ],
)
def test_read_bounded_refuses_past_its_bounds(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(text)
    with pytest.raises(NotebookTooLarge, match=message):
        read_bounded(path)
