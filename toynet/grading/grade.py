"""Grade submissions: run each in a StudentProcess, run the tests here, in the grader, on plain data.

A question's test code (public part, then hidden part) is executed in this process with every function the
assignment defines bound to a `Remote` proxy: calling it sends the inputs to the student process and returns
the decoded answer. So the checks, the expected values and the hidden tests never leave the grader, and a
submission's monkeypatching, exits, loops or crashes cost only the questions they touch.
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
from toynet.grading.markers import question_of, strip_magics
from toynet.grading.sandbox import Limits, RemoteError, StudentProcess, SubmissionFault, student_toynet

BUNDLE_FILE = "assignment.json"
FEEDBACK_CHARS = 2000


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
    stubs: list[str]
    limits: dict[str, Any] = field(default_factory=dict)

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
        """Gradescope's results.json: overall score and output, one entry per question."""
        return {
            "score": self.score,
            "execution_time": round(self.seconds, 3),
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


class Remote:
    """A function (or class, whose attributes are methods) that lives in the student process."""

    def __init__(self, process: StudentProcess, name: str, deadline: Callable[[], float]) -> None:
        self._process, self._name, self._deadline = process, name, deadline

    def __getattr__(self, attribute: str) -> Remote:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return Remote(self._process, f"{self._name}.{attribute}", self._deadline)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._process.call(self._name, args, kwargs, timeout=max(self._deadline(), 0.01))

    def __repr__(self) -> str:
        return f"<student's {self._name}>"


def read_cells(path: str | os.PathLike[str]) -> list[str]:
    """The code cells of a notebook that run in the student process (question cells stay with the grader)."""
    import nbformat

    text = Path(path).read_text(encoding="utf-8", errors="replace")
    notebook = nbformat.reads(text, as_version=4)
    return [
        strip_magics(cell.source)
        for cell in notebook.cells
        if cell.cell_type == "code" and question_of(cell) is None
    ]


def grade_submission(
    path: str | os.PathLike[str],
    bundle: Bundle,
    bundle_dir: str | os.PathLike[str],
    limits: Limits | None = None,
    toynet_files: dict[str, str] | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> SubmissionResult:
    """Grade one notebook; never raises for anything the submission does."""
    started = time.monotonic()
    limits = limits or Limits.from_dict(bundle.limits)
    name = Path(path).name
    try:
        cells = read_cells(path)
    except Exception as error:  # not JSON, not a notebook, unreadable: zero, with the reason
        reason = f"the submission is not a valid notebook: {type(error).__name__}: {str(error)[:300]}"
        return _all_failed(name, bundle, reason, started)
    files = toynet_files if toynet_files is not None else student_toynet(bundle.stubs)
    hide = [bundle_dir, Path(toynet.__file__).resolve().parent, *protect]
    with StudentProcess(cells, limits, files, hide=hide) as process:
        try:
            startup = process.start()
        except SubmissionFault as fault:
            return _all_failed(name, bundle, str(fault), started)
        # Only what the cells printed is shown: output during calls could echo hidden-test inputs.
        printed = process.printed_so_far()[:FEEDBACK_CHARS]
        wall_deadline = started + limits.wall_clock
        results = []
        for question in bundle.questions:
            if time.monotonic() > wall_deadline:
                results.append(QuestionResult(question.name, 0.0, question.points, "not graded: wall-clock limit"))
                continue
            results.append(_run_question(process, bundle, question, limits, wall_deadline))
        notes = [f"cell {c.index + 1} raised:\n{c.error}" for c in startup.cells if c.error]
        output = "\n".join(notes + startup.notes)
        if printed:
            output += f"\n--- your notebook printed (first {FEEDBACK_CHARS} characters) ---\n{printed}"
    return SubmissionResult(name, results, output.strip(), time.monotonic() - started)


def _all_failed(name: str, bundle: Bundle, reason: str, started: float) -> SubmissionResult:
    questions = [QuestionResult(q.name, 0.0, q.points, reason) for q in bundle.questions]
    return SubmissionResult(name, questions, reason, time.monotonic() - started)


def _run_question(
    process: StudentProcess, bundle: Bundle, question: Question, limits: Limits, wall_deadline: float
) -> QuestionResult:
    deadline = min(time.monotonic() + limits.question_timeout, wall_deadline)
    printed = io.StringIO()

    def test_print(*args: Any, **kwargs: Any) -> None:
        kwargs.pop("file", None)
        print(*args, **kwargs, file=printed)

    namespace: dict[str, Any] = {"__name__": "__grader__", "print": test_print}
    namespace.update({n: getattr(checks, n) for n in ("expect_array", "expect_number", "expect_tuple")})
    namespace.update({n: Remote(process, n, lambda: deadline - time.monotonic()) for n in bundle.functions})
    for part, code in (("public", question.public), ("hidden", question.hidden)):
        if not code:
            continue
        failure = _execute(code, namespace, f"<test {question.name}>", hidden=part == "hidden")
        if failure is not None:
            shown = printed.getvalue()[-FEEDBACK_CHARS:] if part == "public" else ""
            return QuestionResult(question.name, 0.0, question.points, (shown + failure).strip())
    return QuestionResult(question.name, question.points, question.points, (printed.getvalue() + "passed").strip())


def _execute(code: str, namespace: dict[str, Any], filename: str, hidden: bool) -> str | None:
    """Run test code in the grader; None if it passed, else feedback (hidden tests: no inputs, no values)."""
    try:
        exec(compile(code, filename, "exec"), namespace)
    except SubmissionFault as fault:
        return f"{'hidden test' if hidden else 'test'}: {fault}"
    except RemoteError as error:
        if hidden:
            return "a hidden test failed: your code raised an exception on the hidden inputs"
        return f"your code raised:\n{str(error)[-FEEDBACK_CHARS:]}"
    except AssertionError as error:
        return "a hidden test failed" if hidden else f"test failed: {error}"
    except Exception as error:  # the answer had the wrong structure, e.g. unpacking a float
        if hidden:
            return f"a hidden test failed ({type(error).__name__})"
        return f"test failed: {type(error).__name__}: {error}"
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
    files = student_toynet(bundle.stubs)

    names = _unique_names(paths)

    def one(index: int) -> SubmissionResult:
        result = grade_submission(paths[index], bundle, bundle_dir, limits, files, protect)
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
        writer.writerow([r.submission, *(f"{q.score:g}" for q in r.questions), f"{r.score:g}", f"{r.max_score:g}"])
    return outputs.write_text(path, table.getvalue())


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
