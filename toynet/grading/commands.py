"""`toynet assign`, `toynet grade` and `toynet validate`: build a classroom assignment, grade a class of
submissions safely, check a notebook's tests in a kernel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    assign = subparsers.add_parser(
        "assign",
        help="build a student notebook and an autograder bundle from a solution-marked notebook",
        description="Write OUT/student/<name>.ipynb and OUT/autograder/; check the solution scores full marks.",
    )
    assign.add_argument("source", help="solution-marked notebook, e.g. assignments/layers.ipynb")
    assign.add_argument("out", help="output folder")
    assign.add_argument("--gradescope", action="store_true", help="also write OUT/gradescope/<name>_autograder.zip")
    assign.set_defaults(run=run_assign)

    grade = subparsers.add_parser(
        "grade",
        help="grade submissions, each in its own sandboxed process",
        description="Grade notebooks against an autograder bundle. One submission: --out is its results.json; "
        "several: --out is a folder with one results file each and class.csv.",
    )
    grade.add_argument("submissions", nargs="+", help="student notebooks (.ipynb)")
    grade.add_argument("--assignment", required=True, help="the OUT/autograder folder written by `toynet assign`")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    grade.add_argument("--out", default=None, help="results.json (one submission) or folder (default build/grades)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument(
        "--unsafe-trusted",
        action="store_true",
        help="grade even where submissions cannot be isolated (not root, or files readable by others): "
        "only for notebooks you trust, e.g. your own",
    )
    grade.set_defaults(run=run_grade)

    validate = subparsers.add_parser(
        "validate",
        help="run a notebook's tests in a Jupyter kernel, as you, and say which pass (like nbgrader validate)",
        description="Run NOTEBOOK top to bottom in a fresh kernel and report each test cell, passed or failed with "
        "its traceback: a student's copy runs its public tests, an instructor's source all of them, hidden ones "
        "included. Nothing is sandboxed: validate your own notebooks; grade others' with `toynet grade`.",
    )
    validate.add_argument("notebook", help="a student's notebook or an assignment's source (.ipynb)")
    validate.add_argument("--timeout", type=float, default=60.0, help="seconds each cell may run (default 60)")
    validate.set_defaults(run=run_validate)


def run_assign(args: argparse.Namespace) -> int:
    from toynet.grading.assign import AssignmentError, build

    try:
        built = build(args.source, args.out, gradescope=args.gradescope)
    except AssignmentError as error:
        print(f"toynet assign: {error}", file=sys.stderr)
        return 1
    print(f"student notebook: {built.student}")
    print(f"autograder bundle: {built.autograder}")
    if built.gradescope:
        print(f"gradescope zip: {built.gradescope}")
    print(f"checked: solution {built.solution.score:g}/{built.solution.max_score:g}, "
          f"student copy {built.stubbed.score:g}/{built.stubbed.max_score:g}")
    if built.solution.by_hand:
        cells = ", ".join(f"{h.name} ({h.points:g}, cell {h.position})" for h in built.solution.by_hand)
        print(f"graded by hand, reported apart from the autograded score: {cells}")
    print(f"toynet given to students: {', '.join(built.given) or 'nothing'}")
    if built.carried:
        print(f"carried with it (reachable too): {', '.join(built.carried)}")
    return 0


def run_grade(args: argparse.Namespace) -> int:
    from toynet.grading.grade import grade_many, summary_table, write_results
    from toynet.grading.outputs import UnsafeOutput, prepare_folder
    from toynet.grading.report import write_class_report
    from toynet.grading.sandbox import Limits, isolation_problems

    out = Path(args.out or ("build/grades/results.json" if len(args.submissions) == 1 else "build/grades"))
    one_file = len(args.submissions) == 1 and out.suffix == ".json"
    try:  # before any student code runs: no submission may plant anything on the way to the results
        folder = prepare_folder(out.parent if one_file else out)
    except (UnsafeOutput, OSError) as error:
        print(f"toynet grade: --out {out}: {error}", file=sys.stderr)
        return 2
    private = [args.assignment, folder, *{Path(p).resolve().parent for p in args.submissions}]
    problems = isolation_problems(private)
    print(Limits.describe(), file=sys.stderr)
    if problems:
        detail = "\n".join(f"- {problem}" for problem in problems)
        if not args.unsafe_trusted:
            print(f"toynet grade: refusing to grade untrusted submissions without isolation:\n{detail}\n"
                  "Fix the above, or pass --unsafe-trusted to grade notebooks you trust (e.g. your own).",
                  file=sys.stderr)
            return 2
        print(f"toynet grade: --unsafe-trusted: grading without isolation:\n{detail}", file=sys.stderr)
    results = grade_many(args.submissions, args.assignment, jobs=args.jobs, progress=not args.no_progress,
                         protect=[folder])
    written = write_results(results, folder / out.name if one_file else folder)
    if not one_file:
        written += write_class_report(results, folder)
    print(summary_table(results))
    print(f"results: {written[0] if len(written) == 1 else folder}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from toynet.grading.validate import ValidationError, validate

    try:
        report = validate(args.notebook, timeout=args.timeout)
    except ValidationError as error:
        print(f"toynet validate: {error}", file=sys.stderr)
        return 2
    print(report.describe())
    return 0 if report.passed else 1
