"""Grade submissions: run each in a StudentProcess, run the tests here, in the grader, on plain data.

A question's test code (public part, then hidden part) is executed in this process with globals that see the
student's notebook (remote.TestGlobals): its imports, the values its cells computed, its functions, classes
and objects, as data or as handles whose uses are requests to the student process. So the checks, the
expected values and the hidden tests never leave the grader, and a submission's monkeypatching, exits, loops
or crashes cost only the questions they touch. A public part's failing `assert` shows its expression and the
values it compared (asserts.py).

A public part in nbgrader's format runs where its test cell sits in the submission, as nbgrader runs a
notebook: the student process pauses before the cell below the test, the test runs on the state the cells above
it left, then the cells go on (toynet's own test cells, and bundles without positions, run after every cell).
Every hidden part runs after every cell and every public part, on the notebook's final state (a hidden test of
`cost` sees the last value a cell gave it), and what the cells printed or raised is read before the first
hidden call (a restart reruns them later, unseen): nothing the student's code saw during a hidden call can
reach its feedback. A hidden part reports one fixed sentence. The wall clock bounds everything, restarts
included, and `grade_submission` returns a result whatever the submission does.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import toynet
from toynet.grading import checks, outputs
from toynet.grading.asserts import EXPLAIN, explain, rewrite_asserts
from toynet.grading.cells import SubmissionCells, claimed_test, placed_tests, submission_code
from toynet.grading.gives import student_toynet
from toynet.grading.magics import python_of
from toynet.grading.notebooks import read_bounded
from toynet.grading.remote import Session, TestGlobals
from toynet.grading.results import Record, ResultFolder, display, file_digest, stamped, submission_name
from toynet.grading.results import write_csv as results_csv
from toynet.grading.sandbox import Limits, RemoteError, StudentProcess, SubmissionFault, shorten

BUNDLE_FILE = "assignment.json"
FEEDBACK_CHARS = 2000  # the student's printed output, or one failure message, as shown
OUTPUT_CHARS = 8000  # the whole run's notes (cell errors), as shown
HIDDEN_FAILED = "a hidden test failed"
BY_HAND_NOTE = "Graded by hand by your instructor: its points are not in the autograder's score"


@dataclass
class Question:
    """One graded question as the bundle stores it: name, points, public and hidden test code.

    position: the test cell's 1-based place among all the source notebook's cells (0 in bundles built before
    it was recorded), so tests can run in notebook order; grade_id: nbgrader's grade_id (toynet's format: the
    question name); shown: the cell as the student's copy shows it, how a submission's copy is recognised
    (a cell with a test's metadata but other code is the student's code, cells.py).
    """

    name: str
    points: float
    public: str
    hidden: str = ""
    position: int = 0
    grade_id: str = ""
    shown: str = ""


@dataclass
class HandGraded:
    """A manually graded cell (nbgrader's `grade` + `solution`, or `task`): reported with its points, apart
    from the autograded score. kind: "markdown answer", "code answer" or "task"."""

    name: str
    points: float
    position: int
    kind: str


@dataclass
class Bundle:
    """The autograder bundle: what `toynet assign` writes to OUT/autograder and `toynet grade` reads."""

    name: str
    questions: list[Question]
    functions: list[str]
    gives: list[str]
    limits: dict[str, Any] = field(default_factory=dict)
    by_hand: list[HandGraded] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)  # importable beyond numpy, matplotlib and tqdm (scipy, ...)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Bundle:
        data = json.loads((Path(folder) / BUNDLE_FILE).read_text())
        data["questions"] = [Question(**q) for q in data["questions"]]
        data["by_hand"] = [HandGraded(**h) for h in data.get("by_hand", [])]
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
        """The autograded points; the points graded by hand are apart (`by_hand`)."""
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
    by_hand: list[HandGraded] = field(default_factory=list)  # cells to grade by hand: not in score or max_score
    not_run: str = ""  # why none of the submission's code ran (not a notebook, the sandbox failed), else ""
    sha256: str = ""  # of the notebook's bytes that were graded ("" if unknown): a changed file is graded again

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
            ]
            + [
                {
                    "name": f"{h.name} (graded by hand, {points_text(h.points)})",
                    "number": str(n),
                    "output": f"{BY_HAND_NOTE} ({h.kind}, cell {h.position} of the assignment).",
                    "visibility": "visible",
                }
                for n, h in enumerate(self.by_hand, start=len(self.questions) + 1)
            ],
            **({"extra_data": {"graded_by_hand": {h.name: h.points for h in self.by_hand}}} if self.by_hand else {}),
        }


def points_text(points: float) -> str:
    """'1 point', '0.5 points', '2 points'."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def read_cells(path: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """The code cells of a notebook that run in the student process (question cells stay with the grader)."""
    return read_submission(path).run


def read_submission(path: str | os.PathLike[str], tests: Sequence[Question] = ()) -> SubmissionCells:
    """The code cells of a submission that run in the student process, notes for the student, and where the
    bundle's tests that run at their place sit in it (`cells.SubmissionCells`; tests_at as `cells.placed_tests`
    keeps it: tests in nbgrader's format; toynet's own test cells run after every cell, as they always did).

    Each cell as (its number, its source as Python, magics turned into calls): the number counts every cell
    of the notebook, markdown included, from 1, as a student scrolling the notebook counts them, so "cell 7"
    in feedback is the seventh cell they see. Which cells are the bundle's tests is `cells.submission_code`'s
    to say: with no `tests` given, every cell whose metadata claims a test is left out.
    """
    notebook = read_bounded(path)  # outputs dropped unparsed, every size bounded (notebooks.py)
    shown = {name: "" for name in _claimed_names(notebook)} if not tests else {q.name: q.shown for q in tests}
    found = submission_code(notebook, shown)
    return found._replace(run=[(number, python_of(source)) for number, source in found.run],
                          tests_at=placed_tests(notebook, found.tests_at))


def public_places(questions: Sequence[Question], submission: SubmissionCells) -> dict[int, list[Question]]:
    """Where each question's public part runs, as nbgrader runs a test cell: {pause: questions, in notebook
    order}, the pause being how many of the submission's run cells come before the test's cell (so
    len(submission.run): after every cell). A question the bundle has no position for (built before positions
    were recorded), whose cell the submission does not hold, or written in toynet's own format (not in
    `submission.tests_at`, read_submission) runs after every cell, after the placed ones, in bundle order:
    the order every test ran in before.
    """
    numbers = [number for number, _ in submission.run]
    placed: list[tuple[int, float, int, Question]] = []
    for order, question in enumerate(questions):
        cell = submission.tests_at.get(question.name) if question.position > 0 else None
        pause = len(numbers) if cell is None else bisect.bisect_left(numbers, cell)
        placed.append((pause, math.inf if cell is None else float(cell), order, question))
    places: dict[int, list[Question]] = {}
    for pause, _, _, question in sorted(placed, key=lambda entry: entry[:3]):
        places.setdefault(pause, []).append(question)
    return places


def _claimed_names(notebook: Any) -> list[str]:
    return [name for cell in notebook.cells if (name := claimed_test(cell)) is not None]


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
        result = _grade(path, bundle, bundle_dir, limits, toynet_files, protect, started)
    except Exception as error:  # a grader bug a submission provoked: this submission's zero, not the batch's
        reason = f"the submission could not be graded ({type(error).__name__}); please report this to the staff"
        result = _all_failed(name, bundle, reason, started)
    result.by_hand = list(bundle.by_hand)
    return result


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
        submission = read_submission(path, bundle.questions)
    except Exception as error:  # not JSON, not a notebook, unreadable: zero, with the reason
        reason = f"the submission is not a valid notebook: {type(error).__name__}: {shorten(str(error), 300)}"
        return _all_failed(name, bundle, reason, started)
    files = toynet_files if toynet_files is not None else student_toynet(bundle.gives)
    hide = [bundle_dir, Path(toynet.__file__).resolve().parent, *protect]
    wall_deadline = started + limits.wall_clock
    places = public_places(bundle.questions, submission)
    cells = submission.run
    pauses = sorted(p for p in places if p < len(cells))
    with StudentProcess(cells, limits, files, hide=hide, packages=bundle.packages, pauses=pauses) as process:
        parts = _Parts(Session(process), bundle, limits, wall_deadline)
        try:
            startup = process.start(deadline=wall_deadline)
            for pause in pauses:  # each public part where its cell sits, on the state the cells above left
                parts.run(places[pause], "public")
                startup = process.resume()
                parts.session.cells_ran()
        except SubmissionFault as fault:
            return _all_failed(name, bundle, str(fault), started)
        # Every cell has run: what they printed and raised is read now, before any hidden call (later output
        # and later restarts could carry hidden-test inputs: a call can save them; a restart reruns the cells).
        printed = process.printed_so_far()[:FEEDBACK_CHARS]
        notes = submission.notes + [text for c in startup.cells if (text := c.describe())] + list(startup.notes)
        output = shorten("\n".join(notes), OUTPUT_CHARS)
        if printed:
            output += f"\n--- your notebook printed (first {FEEDBACK_CHARS} characters) ---\n{printed}"
        parts.run(places.get(len(cells), []), "public")
        parts.run(bundle.questions, "hidden")
    return SubmissionResult(name, parts.results(), output.strip(), time.monotonic() - started)


def _all_failed(name: str, bundle: Bundle, reason: str, started: float) -> SubmissionResult:
    questions = [QuestionResult(q.name, 0.0, q.points, reason) for q in bundle.questions]
    return SubmissionResult(name, questions, reason, time.monotonic() - started, not_run=reason)


class _Parts:
    """The questions' test parts, run in the grader, and what they found.

    Public parts run where their cells sit (`public_places`): the cells above them have run, the cells below
    not yet, as in Jupyter (toynet's own format, and bundles without positions: after every cell). Every
    hidden part runs after all of them, on the notebook's final state, once every cell has run and what the
    cells printed or raised has been read: a call with hidden inputs comes after every piece of feedback that
    could quote the student (a saved hidden input cannot reach a later public test's traceback), and hidden
    parts report only pass or fail. A question whose public part failed skips its hidden part. Each question
    has `question_timeout` seconds in all, public and hidden parts together.
    """

    def __init__(self, session: Session, bundle: Bundle, limits: Limits, wall_deadline: float) -> None:
        self.session, self.bundle, self.wall_deadline = session, bundle, wall_deadline
        self.budget = {q.name: limits.question_timeout for q in bundle.questions}
        self.namespaces: dict[str, TestGlobals] = {}
        self.failed: dict[str, str] = {}
        self.shown: dict[str, str] = {}  # what each public part printed
        self.ran_in: dict[str, int] = {}  # the process each public part left its names and objects in

    def run(self, questions: Sequence[Question], part: str) -> None:
        """Run `part` ("public" or "hidden") of each of these questions, in this order."""
        for question in questions:
            code = question.public if part == "public" else question.hidden
            if question.name in self.failed or not code:
                continue
            if time.monotonic() >= self.wall_deadline:
                self.failed[question.name] = "not graded: the wall-clock limit was reached"
                continue
            if part == "hidden" and self.ran_in.get(question.name, self._process()) != self._process():
                self._run_one(question, question.public, "rebuild")
            self._run_one(question, code, part)

    def _process(self) -> int:
        """Which student process runs now (-1: none; the next request starts one)."""
        process = self.session.process
        return process.spawned if process.proc is not None and process.proc.poll() is None else -1

    def _run_one(self, question: Question, code: str, part: str) -> None:
        """One part of a question: "public", "hidden", or "rebuild": the public part again, on the final state,
        unseen and unscored, when the process its names and objects live in was restarted since it ran (a cell
        below it hung, a call killed it): its handles would be gone, and the hidden part needs them."""
        began = time.monotonic()
        deadline = min(began + self.budget[question.name], self.wall_deadline)
        printed = io.StringIO()
        if part == "rebuild":
            self.namespaces[question.name] = _test_namespace(self.session)
        namespace = self.namespaces.setdefault(question.name, _test_namespace(self.session))
        namespace.push = part == "public"  # a hidden part's names may be expected values: they stay here
        dict.__setitem__(namespace, "print", _printer(printed))
        self.session.begin_part(deadline)
        try:
            failure = _execute(code, namespace, f"<test {question.name}>", hidden=part != "public")
        finally:
            self.session.end_part()  # the functions it handed to the student cannot be called any more
        self.budget[question.name] -= time.monotonic() - began
        if part == "public":
            self.shown[question.name] = printed.getvalue()[-FEEDBACK_CHARS:]
            self.ran_in[question.name] = self._process()
        if failure is not None and part != "rebuild":
            self.failed[question.name] = failure if part == "hidden" else (self.shown[question.name] + failure).strip()

    def results(self) -> list[QuestionResult]:
        """One result per question of the bundle, in its order."""
        results = []
        for question in self.bundle.questions:
            if question.name in self.failed:
                results.append(QuestionResult(question.name, 0.0, question.points, self.failed[question.name]))
            else:
                text = (self.shown.get(question.name, "") + "passed").strip()
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
    names: Sequence[str] | None = None,
    on_result: Callable[[SubmissionResult], object] | None = None,
) -> list[SubmissionResult]:
    """Grade several submissions, `jobs` at a time, with a progress bar; results in the order given.

    names: each submission's name (default `results.submission_name` of its path). on_result: called in this
    thread with each result as soon as it is graded (`toynet grade` writes it to disk there and then).
    """
    from tqdm import tqdm

    bundle = Bundle.load(bundle_dir)
    files = student_toynet(bundle.gives)  # an instructor's error (a stale bundle) stops the batch before it starts
    names = list(names) if names is not None else [submission_name(p) for p in paths]

    def one(index: int) -> SubmissionResult:
        try:
            digest = file_digest(paths[index])  # of the bytes graded next
        except OSError:
            digest = ""  # not a regular file: grade_submission says why it scores 0
        result = grade_submission(paths[index], bundle, bundle_dir, limits, files, protect)  # never raises
        result.submission, result.sha256 = names[index], digest
        return result

    results: list[SubmissionResult | None] = [None] * len(paths)
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(one, index): index for index in range(len(paths))}
        for future in tqdm(as_completed(futures), total=len(paths), desc="grading", unit="submission",
                           disable=not progress):
            results[futures[future]] = result = future.result()
            if on_result is not None:
                on_result(result)
    finally:  # a result that cannot be saved (a full disk) stops the batch: the queued submissions are dropped
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for r in results if r is not None]


def write_results(
    results: Sequence[SubmissionResult], out: str | os.PathLike[str], assignment: str = ""
) -> list[Path]:
    """One submission: `out` is its results.json. Several: `out` is a folder of results files plus class.csv.

    Returns the file of each result, in order, then class.csv (rebuilt from every results file in the folder:
    other submissions' rows stay). Files are written by `outputs.write_text`: into folders no other user can
    change, never through a link. assignment: the bundle's sha256, recorded with each result.
    """
    out = Path(out)
    if len(results) == 1 and out.suffix == ".json":
        one = results[0]
        data = stamped(one.gradescope(), one.submission, one.sha256, assignment)
        return [outputs.write_text(out, json.dumps(data, indent=1))]
    folder = ResultFolder.open(out, assignment)
    written = [folder.save(r.submission, r.gradescope(), r.sha256) for r in results]
    return [*written, folder.write_csv()]


def write_csv(results: Sequence[SubmissionResult], path: Path) -> Path:
    """The class table of these results alone: one row per submission, one column per question, total, maximum."""
    records = [Record(path, stamped(r.gradescope(), r.submission, r.sha256, "")) for r in results]
    return results_csv(records, path)


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table for the terminal: submissions down, questions across, total at the right.

    A name that is not printable is `results.display`ed (grade_many's already are): nothing printed here can
    drive the terminal.
    """
    if not results:
        return "no submissions"
    names = [q.name for q in results[0].questions]
    shown = [r.submission if r.submission.isprintable() else display(r.submission) for r in results]
    width = max(len("submission"), *(len(n) for n in shown))
    columns = [max(len(n), 5) for n in names]
    header = "  ".join(["submission".ljust(width), *(n.rjust(c) for n, c in zip(names, columns, strict=True)), "total"])
    lines = [header, "-" * len(header)]
    for r, name in zip(results, shown, strict=True):
        cells = [f"{q.score:g}/{q.max_score:g}".rjust(c) for q, c in zip(r.questions, columns, strict=True)]
        lines.append("  ".join([name.ljust(width), *cells, f"{r.score:g}/{r.max_score:g}"]))
    if results[0].by_hand:
        hand = ", ".join(f"{h.name} ({h.points:g})" for h in results[0].by_hand)
        lines.append(f"graded by hand, not in these totals ({sum(h.points for h in results[0].by_hand):g} points): "
                     f"{hand}")
    return "\n".join(lines)
