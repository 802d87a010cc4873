"""Grading throughput: a class of 30 layers submissions, graded with --jobs 1 and --jobs 2, against issues 18 and 19's
target (each within 1.5x of the time measured before them: 10.7 s and 6.5 s).

The class mixes correct solutions, untouched student copies, submissions with one planted bug and a few
hostile ones (a question that loops until its timeout, a segfault), so the timing includes process restarts
and timeouts, not only the happy path. Each submission runs in its own sandboxed process, as `toynet grade`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

from toynet.grading.assign import build
from toynet.grading.grade import grade_many
from toynet.grading.sandbox import Limits

ASSIGNMENT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "assignments" / "layers.ipynb"
CLASS_SIZE = 30
# Issues 18 and 19: grading must stay within 1.5x of the speed measured before them (30 submissions).
BASELINE_SECONDS = {1: 10.7, 2: 6.5}  # --jobs 1, --jobs 2
SLOWDOWN_ALLOWED = 1.5
LIMITS = Limits(question_timeout=2, cell_timeout=5, wall_clock=60)
EDITS = [
    None,  # the solution
    ("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T * 2"),
    ("dZ = dA * A * (1 - A)", "dZ = dA * A * (1 + A)"),
    ("dZ = np.where(Z > 0, dA, 0.0)", "dZ = np.where(Z >= 0, dA, 1.0)"),
    ("dA = -(Y / A - (1 - Y) / (1 - A)) / m", "dA = -(Y / A - (1 - Y) / (1 - A))"),
    ("dZ = dA * A * (1 - A)", "import ctypes; ctypes.string_at(0)"),
]


def make_class(folder: Path, student_copy: Path) -> list[Path]:
    """30 notebooks: every 10th loops forever in one question, every 7th is the untouched student copy."""
    source = nbformat.read(ASSIGNMENT, as_version=4)
    paths = []
    for n in range(CLASS_SIZE):
        path = folder / f"student{n:02d}.ipynb"
        if n % 7 == 3:
            path.write_bytes(student_copy.read_bytes())
        else:
            notebook = nbformat.from_dict(source)
            edit = ("dZ = np.where(Z > 0, dA, 0.0)", "while True: pass") if n % 10 == 9 else EDITS[n % len(EDITS)]
            if edit is not None:
                for cell in notebook.cells:
                    cell.source = cell.source.replace(*edit)
            nbformat.write(notebook, path)
        paths.append(path)
    return paths


def run(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Build the layers assignment, grade the class at --jobs 1 and 2; one result row per setting."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="toynet-bench-grading-") as scratch:
        built = build(ASSIGNMENT, Path(scratch) / "layers")
        paths = make_class(Path(scratch), built.student)
        for jobs in (1, 2):
            start = time.perf_counter()
            results = grade_many(paths, built.autograder, jobs=jobs, progress=False, limits=LIMITS)
            elapsed = time.perf_counter() - start
            rows.append({
                "benchmark": "grading",
                "case": f"{CLASS_SIZE} layers submissions, --jobs {jobs}",
                "jobs": jobs,
                "submissions": len(results),
                "seconds": round(elapsed, 3),
                "submissions_per_second": round(len(results) / elapsed, 3),
                "mean_score": round(sum(r.score for r in results) / len(results), 3),
                "cpus": os.cpu_count(),
            })
    lines = [f"{r['case']}: {r['seconds']:.2f} s, {r['submissions_per_second']:.2f} submissions/s" for r in rows]
    (out / "grading.txt").write_text("\n".join(lines) + "\n")
    return rows


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) per --jobs setting: every submission graded, within SLOWDOWN_ALLOWED x its
    baseline time."""
    out = []
    for row in rows:
        base = BASELINE_SECONDS[row["jobs"]]
        what = (f"grading {CLASS_SIZE} submissions with --jobs {row['jobs']} within {SLOWDOWN_ALLOWED:g}x of "
                f"{base:g} s (issues 18, 19)")
        measured = f"{row['seconds']:.1f} s ({row['seconds'] / base:.2f}x), {row['submissions']} graded"
        out.append((what, measured, row["submissions"] == CLASS_SIZE and row["seconds"] <= SLOWDOWN_ALLOWED * base))
    return out


if __name__ == "__main__":
    for row in run(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results"):
        print(row)
