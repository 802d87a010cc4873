"""Grade submissions: run each in a StudentProcess, run the tests here, in the grader, on plain data.

A question's test code (public part, then hidden part) is executed in this process with globals that see the
student's notebook (remote.TestGlobals): its imports, the values its cells computed, its functions, classes
and objects, as data or as handles whose uses are requests to the student process. So the checks, the
expected values and the hidden tests never leave the grader, and a submission's monkeypatching, exits, loops
or crashes cost only the questions they touch. A public part's failing `assert` shows its expression and the
values it compared (asserts.py).

Every public part runs before any hidden part, and what the cells printed or raised is read before the first
call (a restart reruns them later, unseen): nothing the student's code saw during a hidden call can reach its
feedback. A hidden part reports one fixed sentence. The wall clock bounds everything, restarts included, and
`grade_submission` returns a result whatever the submission does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import toynet
from toynet.grading import checks, outputs
from toynet.grading.asserts import EXPLAIN, explain, rewrite_asserts
from toynet.grading.gives import student_toynet
from toynet.grading.magics import python_of
from toynet.grading.markers import question_of
from toynet.grading.remote import Session, TestGlobals
from toynet.grading.sandbox import Limits, RemoteError, StudentProcess, SubmissionFault, shorten

BUNDLE_FILE = "assignment.json"
FEEDBACK_CHARS = 2000  # the student's printed output, or one failure message, as shown
OUTPUT_CHARS = 8000  # the whole run's notes (cell errors), as shown
MAX_NOTEBOOK_BYTES = 16 << 20  # a submission larger than this is refused unread
HIDDEN_FAILED = "a hidden test failed"


@dataclass
class Question:
    """One graded question as the bundle stores it: name, points, public and hidden test code."""

    name: str
    points: float
    public: str
    hidden: str = ""


@dataclass
class Bundle:
    """The autograder bundle: what `toynet assign` writes to OUT/autograder and `toynet grade` reads."""

    name: str
    questions: list[Question]
    functions: list[str]
    gives: list[str]
    limits: dict[str, Any] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)  # importable beyond numpy, matplotlib and tqdm (scipy, ...)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Bundle:
        data = json.loads((Path(folder) / BUNDLE_FILE).read_text())
        data["questions"] = [Question(**q) for q in data["questions"]]
        return cls(**data)

    def save(self, folder: str | os.PathLike[str]) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # only the grader's user may read tests and expected values
        path = folder / BUNDLE_FILE
        path.write_text(json.dumps(asdict(self), indent=1))
        os.chmod(path, 0o600)

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)


@dataclass
class QuestionResult:
    name: str
    score: float
    max_score: float
    feedback: str


@dataclass
class SubmissionResult:
    """One submission's grade: per-question results and notes on the whole run (cell errors, sandbox)."""

    submission: str
    questions: list[QuestionResult]
    output: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def gradescope(self) -> dict[str, Any]:
        """Gradescope's results.json: overall score and output, one entry per question.

        No execution_time (Gradescope's is optional): how long a hidden call takes is the student's code's to
        choose, so a duration shown to the student could carry the hidden inputs out, a few bits per second.
        """
        return {
            "score": self.score,
            "output": self.output,
            "stdout_visibility": "hidden",
            "tests": [
                {
                    "name": q.name,
                    "number": str(n),
                    "score": q.score,
                    "max_score": q.max_score,
                    "status": "passed" if q.score == q.max_score else "failed",
                    "output": q.feedback,
                    "visibility": "visible",
                }
                for n, q in enumerate(self.questions, start=1)
            ],
        }


def read_cells(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The code cells of a notebook that run in the student process (question cells stay with the grader).

    Each as (its number, its source): the number counts every cell of the notebook, markdown included, from
    1, as a student scrolling the notebook counts them, so "cell 7" in feedback is the seventh cell they see.
    """
    import nbformat

    size = Path(path).stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the notebook takes {size >> 20} MB; at most {MAX_NOTEBOOK_BYTES >> 20} MB are graded")
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    notebook = nbformat.reads(text, as_version=4)
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.get("cell_type") == "code" and question_of(cell) is None:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if not isinstance(source, str):
                raise ValueError(f"cell {number} has no text source")
            cells.append((number, python_of(source)))
    return cells


def grade_submission(
    path: str | os.PathLike[str],
    bundle: Bundle,
    bundle_dir: str | os.PathLike[str],
    limits: Limits | None = None,
    toynet_files: dict[str, str] | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> SubmissionResult:
    """Grade one notebook; never raises for anything the submission does (a failure is a zero with its reason)."""
    started = time.monotonic()
    name = Path(path).name
    try:
        return _grade(path, bundle, bundle_dir, limits, toynet_files, protect, started)
    except Exception as error:  # a grader bug a submission provoked: this submission's zero, not the batch's
        reason = f"the submission could not be graded ({type(error).__name__}); please report this to the staff"
        return _all_failed(name, bundle, reason, started)


def _grade(
    path: str | os.PathLike[str],
    bundle: Bundle,
    bundle_dir: str | os.PathLike[str],
    limits: Limits | None,
    toynet_files: dict[str, str] | None,
    protect: Sequence[str | os.PathLike[str]],
    started: float,
) -> SubmissionResult:
    limits = limits or Limits.from_dict(bundle.limits)
    name = Path(path).name
    try:
        cells = read_cells(path)
    except Exception as error:  # not JSON, not a notebook, unreadable: zero, with the reason
        reason = f"the submission is not a valid notebook: {type(error).__name__}: {shorten(str(error), 300)}"
        return _all_failed(name, bundle, reason, started)
    files = toynet_files if toynet_files is not None else student_toynet(bundle.gives)
    hide = [bundle_dir, Path(toynet.__file__).resolve().parent, *protect]
    wall_deadline = started + limits.wall_clock
    with StudentProcess(cells, limits, files, hide=hide, packages=bundle.packages) as process:
        try:
            startup = process.start(deadline=wall_deadline)
        except SubmissionFault as fault:
            return _all_failed(name, bundle, str(fault), started)
        # What the cells printed and raised is read now, before any test call: later output and later
        # restarts could carry hidden-test inputs (a call can save them; a restart reruns the cells).
        printed = process.printed_so_far()[:FEEDBACK_CHARS]
        notes = [text for c in startup.cells if (text := c.describe())] + list(startup.notes)
        output = shorten("\n".join(notes), OUTPUT_CHARS)
        if printed:
            output += f"\n--- your notebook printed (first {FEEDBACK_CHARS} characters) ---\n{printed}"
        results = _run_questions(process, bundle, limits, wall_deadline)
    return SubmissionResult(name, results, output.strip(), time.monotonic() - started)


def _all_failed(name: str, bundle: Bundle, reason: str, started: float) -> SubmissionResult:
    questions = [QuestionResult(q.name, 0.0, q.points, reason) for q in bundle.questions]
    return SubmissionResult(name, questions, reason, time.monotonic() - started)


def _run_questions(
    process: StudentProcess, bundle: Bundle, limits: Limits, wall_deadline: float
) -> list[QuestionResult]:
    """Every question's public part first, then every hidden part: a call with hidden inputs comes after
    every piece of feedback that could quote the student (a saved hidden input cannot reach a later public
    test's traceback), and hidden parts report only pass or fail.

    Each question has `question_timeout` seconds in all, public and hidden parts together.
    """
    budget = {q.name: limits.question_timeout for q in bundle.questions}
    session = Session(process)
    namespaces: dict[str, TestGlobals] = {}
    failed: dict[str, str] = {}
    shown: dict[str, str] = {}
    for part in ("public", "hidden"):
        for question in bundle.questions:
            code = question.public if part == "public" else question.hidden
            if question.name in failed or not code:
                continue
            if time.monotonic() >= wall_deadline:
                failed[question.name] = "not graded: the wall-clock limit was reached"
                continue
            began = time.monotonic()
            deadline = min(began + budget[question.name], wall_deadline)
            printed = io.StringIO()
            namespace = namespaces.setdefault(question.name, _test_namespace(session))
            namespace.push = part == "public"  # a hidden part's names may be expected values: they stay here
            dict.__setitem__(namespace, "print", _printer(printed))
            session.begin_part(deadline)
            try:
                failure = _execute(code, namespace, f"<test {question.name}>", hidden=part == "hidden")
            finally:
                session.end_part()  # the functions it handed to the student cannot be called any more
            budget[question.name] -= time.monotonic() - began
            if part == "public":
                shown[question.name] = printed.getvalue()[-FEEDBACK_CHARS:]
            if failure is not None:
                failed[question.name] = failure if part == "hidden" else (shown[question.name] + failure).strip()
    results = []
    for question in bundle.questions:
        if question.name in failed:
            results.append(QuestionResult(question.name, 0.0, question.points, failed[question.name]))
        else:
            text = (shown.get(question.name, "") + "passed").strip()
            results.append(QuestionResult(question.name, question.points, question.points, text))
    return results


def _printer(buffer: io.StringIO) -> Callable[..., None]:
    def test_print(*args: Any, **kwargs: Any) -> None:
        kwargs.pop("file", None)
        print(*args, **kwargs, file=buffer)

    return test_print


def _test_namespace(session: Session) -> TestGlobals:
    names: dict[str, Any] = {"__name__": "__grader__", EXPLAIN: explain}
    names.update({n: getattr(checks, n) for n in ("expect_array", "expect_number", "expect_tuple")})
    return TestGlobals(session, names)


def _execute(code: str, namespace: dict[str, Any], filename: str, hidden: bool) -> str | None:
    """Run test code in the grader; None if it passed, else feedback.

    A hidden part's feedback is one fixed sentence, whatever went wrong: the student's words, values, exit
    code, even the kind of failure are chosen by the student's code and could carry the hidden inputs out.
    A public part's asserts are rewritten to show what they compared.
    """
    import ast

    try:
        source = python_of(code)
        tree = ast.parse(source, filename)
        exec(compile(tree if hidden else rewrite_asserts(tree, source), filename, "exec"), namespace)
    except Exception as error:
        if hidden:
            return HIDDEN_FAILED
        if isinstance(error, SubmissionFault):
            return f"test: {error}"
        if isinstance(error, RemoteError):
            return f"your code raised:\n{shorten(str(error), FEEDBACK_CHARS)}"
        if isinstance(error, AssertionError):
            return f"test failed: {shorten(str(error), FEEDBACK_CHARS)}"
        # the answer had the wrong structure, e.g. unpacking a float
        return f"test failed: {type(error).__name__}: {shorten(str(error), FEEDBACK_CHARS)}"
    return None


def grade_many(
    paths: Sequence[str | os.PathLike[str]],
    bundle_dir: str | os.PathLike[str],
    jobs: int = 1,
    progress: bool = True,
    limits: Limits | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> list[SubmissionResult]:
    """Grade several submissions, `jobs` at a time, with a progress bar; results in the order given."""
    from tqdm import tqdm

    bundle = Bundle.load(bundle_dir)
    files = student_toynet(bundle.gives)  # an instructor's error (a stale bundle) stops the batch before it starts

    names = _unique_names(paths)

    def one(index: int) -> SubmissionResult:
        result = grade_submission(paths[index], bundle, bundle_dir, limits, files, protect)  # never raises
        result.submission = names[index]
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        iterator = pool.map(one, range(len(paths)))
        return list(tqdm(iterator, total=len(paths), desc="grading", unit="submission", disable=not progress))


def _unique_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """File names, with as many parent folders as it takes to tell submissions apart."""
    parts = [Path(p).resolve().parts for p in paths]
    for depth in range(1, max((len(p) for p in parts), default=1) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [f"{n}#{i}" for i, n in enumerate(names)]


def write_results(results: Sequence[SubmissionResult], out: str | os.PathLike[str]) -> list[Path]:
    """One submission: `out` is its results.json. Several: `out` is a folder of <name>.json plus class.csv.

    Files are written by `outputs.write_text`: into folders no other user can change, never through a link.
    """
    out = Path(out)
    if len(results) == 1 and out.suffix == ".json":
        return [outputs.write_text(out, json.dumps(results[0].gradescope(), indent=1))]
    folder = outputs.prepare_folder(out)
    written = []
    for result in results:
        name = result.submission.replace("/", "__").removesuffix(".ipynb") + ".json"
        written.append(outputs.write_text(folder / name, json.dumps(result.gradescope(), indent=1)))
    written.append(write_csv(results, folder / "class.csv"))
    return written


def write_csv(results: Sequence[SubmissionResult], path: Path) -> Path:
    """The class table: one row per submission, one column per question, then total and maximum."""
    names = [q.name for q in results[0].questions] if results else []
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["submission", *names, "total", "max"])
    for r in results:
        writer.writerow([_as_text(r.submission), *(f"{q.score:g}" for q in r.questions), f"{r.score:g}",
                         f"{r.max_score:g}"])
    return outputs.write_text(path, table.getvalue())


def _as_text(cell: str) -> str:
    """A student-chosen name as a spreadsheet's text, never its formula (a leading = + - @ makes one)."""
    return "'" + cell if cell.startswith(("=", "+", "-", "@", "\t", "\r")) else cell


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table for the terminal: submissions down, questions across, total at the right."""
    if not results:
        return "no submissions"
    names = [q.name for q in results[0].questions]
    width = max(len("submission"), *(len(r.submission) for r in results))
    columns = [max(len(n), 5) for n in names]
    header = "  ".join(["submission".ljust(width), *(n.rjust(c) for n, c in zip(names, columns, strict=True)), "total"])
    lines = [header, "-" * len(header)]
    for r in results:
        cells = [f"{q.score:g}/{q.max_score:g}".rjust(c) for q, c in zip(r.questions, columns, strict=True)]
        lines.append("  ".join([r.submission.ljust(width), *cells, f"{r.score:g}/{r.max_score:g}"]))
    return "\n".join(lines)
