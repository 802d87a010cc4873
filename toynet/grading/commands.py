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
    assign.add_argument("source", help="solution-marked notebook, e.g. notebooks/03_layers_from_scratch.ipynb")
    assign.add_argument("out", help="output folder")
    assign.add_argument("--gradescope", action="store_true", help="also write OUT/gradescope/<name>_autograder.zip")
    assign.set_defaults(run=run_assign)

    grade = subparsers.add_parser(
        "grade",
        help="grade submissions, each in its own sandboxed process",
        description="Grade notebooks against an autograder bundle. One submission: --out is its results.json; "
        "several: --out is a folder with one results file each, written as each is graded, and class.csv (one "
        "row per results file in the folder). Run again, it grades only what is missing or changed. "
        "See docs/GRADING.md.",
    )
    grade.add_argument("submissions", nargs="+",
                       help="student notebooks (.ipynb), or folders: every .ipynb below them")
    grade.add_argument("--assignment", required=True, help="the OUT/autograder folder written by `toynet assign`")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    grade.add_argument("--out", default=None, help="results.json (one submission) or folder (default build/grades)")
    grade.add_argument("--regrade", action="store_true",
                       help="grade again submissions whose results are already in --out (by default only what is "
                       "missing, or changed since it was graded, is graded)")
    grade.add_argument("--shard", default=None, metavar="I/N",
                       help="grade only shard I of N (I from 0 to N-1, e.g. a Kubernetes JOB_COMPLETION_INDEX): "
                       "a submission's shard depends on its name alone; `toynet merge` joins the shards' folders")
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

    merge = subparsers.add_parser(
        "merge",
        help="join the result folders of `toynet grade --shard` runs into one folder and class.csv",
        description="Copy every results file of the FOLDERs into --out (the newest where two hold the same "
        "submission), write class.csv, and check each shard's submissions have results. Exit status 1 when a "
        "shard or a result is missing.",
    )
    merge.add_argument("folders", nargs="+", help="result folders written by `toynet grade --out`")
    merge.add_argument("--out", required=True, help="the merged folder (may be one of FOLDERS)")
    merge.set_defaults(run=run_merge)


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
    from toynet.grading.batch import BatchError, parse_shard, submissions
    from toynet.grading.outputs import UnsafeOutput, prepare_folder
    from toynet.grading.sandbox import Limits, isolation_problems

    try:
        paths = submissions(args.submissions)
        shard = parse_shard(args.shard) if args.shard else None
    except BatchError as error:
        print(f"toynet grade: {error}", file=sys.stderr)
        return 2
    single = len(paths) == 1 and Path(args.submissions[0]).is_file()
    out = Path(args.out or ("build/grades/results.json" if single else "build/grades"))
    one_file = single and out.suffix == ".json" and shard is None
    try:  # before any student code runs: no submission may plant anything on the way to the results
        folder = prepare_folder(out.parent if one_file else out)
    except (UnsafeOutput, OSError) as error:
        print(f"toynet grade: --out {out}: {error}", file=sys.stderr)
        return 2
    private = [args.assignment, folder, *{Path(p).resolve().parent for p in paths}]
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
    return _grade_batch(args, paths, folder / out.name if one_file else folder, one_file, shard)


def _grade_batch(args: argparse.Namespace, paths: list[str], out: Path, one_file: bool,
                 shard: tuple[int, int] | None) -> int:
    from toynet.grading.batch import Batch, BatchError
    from toynet.grading.grade import summary_table
    from toynet.grading.report import write_class_report

    try:
        batch = Batch(paths, Path(args.assignment), out, one_file=one_file, shard=shard, regrade=args.regrade)
    except BatchError as error:
        print(f"toynet grade: {error}", file=sys.stderr)
        return 2
    print(batch.plan(), file=sys.stderr)
    results = batch.run(jobs=args.jobs, progress=not args.no_progress)
    if results:
        print(summary_table(results))
        if not one_file:
            written = write_class_report(results, out)
            print(f"class report: {written[0]}")
    print(f"results: {out}" + ("" if one_file else f" (class.csv: {batch.rows} submissions)"))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from toynet.grading.batch import BatchError, merge
    from toynet.grading.outputs import UnsafeOutput

    try:
        report = merge([Path(f) for f in args.folders], Path(args.out))
    except (BatchError, UnsafeOutput, OSError) as error:
        print(f"toynet merge: {error}", file=sys.stderr)
        return 2
    print(report.describe())
    return 0 if report.complete else 1


def run_validate(args: argparse.Namespace) -> int:
    from toynet.grading.validate import ValidationError, validate

    try:
        report = validate(args.notebook, timeout=args.timeout)
    except ValidationError as error:
        print(f"toynet validate: {error}", file=sys.stderr)
        return 2
    print(report.describe())
    return 0 if report.passed else 1
