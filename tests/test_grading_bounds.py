"""The grader's own memory stays bounded whatever a notebook holds, and it reads a cell's lines as Python does.

Every hostile notebook here, every attack of test_grading_hostile.py and every hostile submission of
test_grading_submissions.py is graded by a real `toynet grade` in a
subprocess (--jobs 2, the real sandbox), whose own peak resident memory (getrusage RUSAGE_SELF: the grader process
and its threads, not the student processes) must stay under 300 MB. The notebooks: one huge cell the old grader
parsed whole to name a stopped statement (~700 MB), lone \\r line breaks, a comment holding a Unicode line
separator, 17 MB and 60 MB of saved outputs (graded: outputs are dropped unread), millions of tiny values in
outputs and in metadata, 100,000 levels of nesting, a 10 MB line, 20,000 cells.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_grading_hostile import ATTACKS, LIMITS, variant
from test_grading_submissions import HELPERS, HOSTILE
from test_grading_submissions import variant as solution_variant

from toynet.grading import confinement
from toynet.grading.assign import build
from toynet.grading.grade import Bundle

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
FULL = 8
PEAK_BOUND = 300 << 20
# The grader in a subprocess, reporting its own peak RSS once it is done: VmHWM, the high-water mark of this
# process's memory since its exec (getrusage's ru_maxrss would also count the forked copy of the parent).
GRADER = ("import re, sys\nfrom toynet import cli\ncode = cli.main(sys.argv[1:])\n"
          "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
          "print(f'PEAK_RSS_KB {peak}', file=sys.stderr)\nsys.exit(code)")

pytestmark = pytest.mark.skipif(confinement.isolation() != "namespaces", reason="needs root and namespaces (CI has)")


def grade_in_subprocess(paths: list[Path], bundle: Path, out: Path, cwd: Path) -> tuple[int, str]:
    """Run `toynet grade` on `paths` in a fresh process; (its peak RSS in bytes, its stderr)."""
    done = subprocess.run([sys.executable, "-c", GRADER, "grade", *map(str, paths), "--assignment", str(bundle),
                           "--out", str(out), "--jobs", "2", "--no-progress"],
                          cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    peak = re.search(r"PEAK_RSS_KB (\d+)", done.stderr)
    assert peak is not None, done.stderr[-3000:]
    return int(peak.group(1)) * 1024, done.stderr


def results_by_name(out: Path) -> dict[str, dict]:
    found = {}
    for path in out.glob("*.json"):
        data = json.loads(path.read_text())
        found[Path(data["extra_data"]["toynet"]["submission"]).stem] = data
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layers")
    build(ASSIGNMENTS / "layers.ipynb", out)
    return out / "autograder"


def with_limits(autograder: Path, folder: Path, **limits: float) -> Path:
    """A copy of the bundle with these limits."""
    loaded = Bundle.load(autograder)
    loaded.limits = limits
    loaded.save(folder)
    return folder


@pytest.fixture(scope="module")
def bundle(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layers bundle with the hostile tests' short limits (a loop costs its cell 2 s, not 10)."""
    return with_limits(built, tmp_path_factory.mktemp("short") / "autograder", question_timeout=LIMITS.question_timeout,
                       cell_timeout=LIMITS.cell_timeout, wall_clock=LIMITS.wall_clock)


def solution() -> dict:
    return json.loads((ASSIGNMENTS / "layers.ipynb").read_text())


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "id": f"c{abs(hash(source)) % 10**8}", "metadata": {}, "outputs": [],
            "execution_count": None, "source": source}


def with_cells(first: list[str], last: list[str] = ()) -> dict:  # type: ignore[assignment]
    notebook = solution()
    notebook["cells"] = [*map(code_cell, first), *notebook["cells"], *map(code_cell, last)]
    return notebook


def with_outputs(output: object) -> dict:
    notebook = solution()
    next(c for c in notebook["cells"] if c["cell_type"] == "code")["outputs"] = [output]
    return notebook


def image(size: int) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR" * (size // 5)}}


# name: (a function making the notebook, its expected score, a phrase its output must hold (or not, after "not "))
NOTEBOOKS = {
    "lone_cr": (lambda: with_cells([], ["x = 1\ry = 2\rwhile True:\r    pass\rz = 3"]), FULL,
                "the statement at line 3 (`while True:`) was stopped and skipped"),
    # Python reads U+2028 inside a comment as part of it: no loop to stop (str.splitlines() made one)
    "line_separator_in_a_comment": (lambda: with_cells([], ["# a note\u2028while True: pass"]), FULL, "not stopped"),
    "outputs_17_mb": (lambda: with_outputs(image(17 << 20)), FULL, "not valid"),
    "outputs_60_mb": (lambda: with_outputs(image(60 << 20)), FULL, "not valid"),
    "outputs_of_tiny_values": (lambda: with_outputs({"output_type": "stream", "name": "stdout",
                                                     "text": [[] for _ in range(3_000_000)]}), 0, "JSON values"),
    "metadata_of_tiny_values": (lambda: {**solution(), "metadata": {"x": [{} for _ in range(1_500_000)]}}, 0,
                                "values besides its outputs"),
    # just under the bound on values kept: graded, and the costliest notebook the grader still builds
    "metadata_just_under_the_bound": (lambda: {**solution(), "metadata": {"x": [{} for _ in range(97_000)]}}, FULL,
                                      "not valid"),
    "deep_nesting": (lambda: {**solution(), "metadata": {"x": "DEEP"}}, 0, "deeper than 64 levels"),
    "line_of_10_mb": (lambda: with_cells([], ["# " + "x" * (10 << 20)]), FULL, "not valid"),
    "twenty_thousand_cells": (lambda: with_cells([], [""] * 20_000), 0, "more than 10000 cells"),
}


def hostile_submission(attack: str, folder: Path, bundle: Path) -> Path:
    """test_grading_submissions' hostile notebook `attack`, written as that test writes it."""
    import toynet

    toynet_dir = Path(toynet.__file__).resolve().parent
    constants = (f"BUNDLE = {str(bundle)!r}\nTOYNET = {str(toynet_dir)!r}\nOUT = {str(folder / 'out')!r}\n"
                 f"REPO = {str(toynet_dir.parent)!r}\n")
    edit = HOSTILE[attack][0]

    def full_edit(sources: list[str]) -> list[str]:
        sources = [constants + sources[0] + "\n" + HELPERS.get(attack, ""), *sources[1:]]
        if attack == "megabytes_of_output":
            sources[0] += "\nprint('y' * 3_000_000)"
        return edit(sources)

    return solution_variant(folder, full_edit, f"submission_{attack}.ipynb")


@pytest.mark.slow(60)
def test_the_graders_peak_memory_stays_under_300_mb_on_every_hostile_notebook(bundle: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    paths = []
    for name, (make, _, _) in NOTEBOOKS.items():
        text = json.dumps(make())
        if name == "deep_nesting":  # json.dumps itself cannot nest this deep
            text = text.replace('"DEEP"', "[" * 100_000 + "]" * 100_000)
        paths.append(folder / f"{name}.ipynb")
        paths[-1].write_text(text)
    for name in sorted(ATTACKS):
        paths.append(variant(ASSIGNMENTS / "layers.ipynb", folder, f"attack_{name}", ATTACKS[name][0]))
    paths += [hostile_submission(name, folder, bundle) for name in sorted(HOSTILE)]
    peak, _ = grade_in_subprocess(paths, bundle, tmp_path / "out", tmp_path)
    results = results_by_name(tmp_path / "out")
    assert len(results) == len(paths)
    for name, (_, score, phrase) in NOTEBOOKS.items():
        output = results[name]["output"]
        assert results[name]["score"] == score, (name, output[:500])
        if phrase.startswith("not "):
            assert phrase[4:] not in output, (name, output[:500])
        else:
            assert phrase in output, (name, output[:500])
    assert peak < PEAK_BOUND, f"the grader peaked at {peak >> 20} MB"


def test_a_notebook_file_past_the_hard_cap_is_refused_unread(bundle: Path, tmp_path: Path) -> None:
    """Outputs are dropped unread, but the file itself may take at most 64 MB (its biggest string is built)."""
    notebook = nbformat.from_dict(with_outputs(image(65 << 20)))
    path = tmp_path / "outputs_65_mb.ipynb"
    nbformat.write(notebook, path)
    peak, _ = grade_in_subprocess([path], bundle, tmp_path / "out", tmp_path)
    [result] = results_by_name(tmp_path / "out").values()
    assert result["score"] == 0 and "at most 64 MB are read" in result["output"]
    assert peak < 150 << 20  # refused before a byte is parsed


@pytest.mark.slow(15)
def test_a_huge_cell_is_never_parsed_by_the_grader(built: Path, tmp_path: Path) -> None:
    """Its first statement kills the student process: the grader names it without parsing the 1.2 MB after it
    (a parse takes ~350 times its source: the old grader went past 500 MB here). The student process parses
    the cell itself, in its own memory, so the cell limit leaves room for that parse on a loaded machine."""
    bundle = with_limits(built, tmp_path / "autograder", cell_timeout=30, wall_clock=120)
    huge = "import os; os._exit(3)\nx = (" + "1,\n" * 400_000 + ")\n"
    path = tmp_path / "huge_cell.ipynb"
    path.write_text(json.dumps(with_cells([huge])))
    peak, _ = grade_in_subprocess([path], bundle, tmp_path / "out", tmp_path)
    [result] = results_by_name(tmp_path / "out").values()
    assert peak < PEAK_BOUND, f"the grader peaked at {peak >> 20} MB"
    assert result["score"] == FULL
    assert "cell 1 statement 2 was stopped and skipped: the student process exited with code 3" in result["output"]
