"""The class report an instructor reads after `toynet grade`: pass rates, the score distribution, what did not run.

    write_class_report(results, "build/grades")   # report.md and scores.png beside class.csv

A question "passes" for a submission when it earns its full points. Scores are the autograded ones; the cells
graded by hand are listed with their points, apart (as in results.json and class.csv).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from toynet.grading import outputs
from toynet.grading.grade import SubmissionResult

REPORT_FILE, FIGURE_FILE = "report.md", "scores.png"
_CELL_NOTE = re.compile(r"^cell \d+ ", re.MULTILINE)  # how grade.py's notes on the run begin (CellReport)
_PRINTED = "\n--- your notebook printed"  # where the student's own output starts in SubmissionResult.output
NOTES_SHOWN = 3  # per submission: the report is read at a glance; the full notes are in its results file


@dataclass
class QuestionStats:
    """One question across the class: how many earned full points, and the mean score."""

    name: str
    points: float
    passed: int
    submissions: int
    mean: float

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


def question_stats(results: Sequence[SubmissionResult]) -> list[QuestionStats]:
    """Per question, in the bundle's order (all results come from one bundle, so share their questions)."""
    stats = []
    for index, question in enumerate(results[0].questions if results else []):
        scores = [r.questions[index].score for r in results]
        passed = sum(r.questions[index].score >= r.questions[index].max_score for r in results)
        stats.append(QuestionStats(question.name, question.max_score, passed, len(results), sum(scores) / len(scores)))
    return stats


def did_not_run(results: Sequence[SubmissionResult]) -> list[tuple[str, str]]:
    """(submission, why) for each submission none of whose code ran, and each whose cells stopped with errors."""
    rows = []
    for result in results:
        if result.not_run:
            rows.append((result.submission, f"not run: {result.not_run}"))
            continue
        notes = _cell_notes(result.output)
        if notes:
            more = f" (and {len(notes) - NOTES_SHOWN} more)" if len(notes) > NOTES_SHOWN else ""
            rows.append((result.submission, "; ".join(notes[:NOTES_SHOWN]) + more))
    return rows


def _cell_notes(output: str) -> list[str]:
    """Each note on a cell, as its first line and, for a traceback, its last (the exception)."""
    notes = output.split(_PRINTED)[0]
    starts = [match.start() for match in _CELL_NOTE.finditer(notes)]
    shown = []
    for start, end in zip(starts, [*starts[1:], len(notes)]):  # noqa: B905 (ends has one more when starts is empty)
        lines = [line.strip() for line in notes[start:end].strip().split("\n") if line.strip()]
        shown.append(lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}")
    return shown


def class_report(results: Sequence[SubmissionResult], figure: str | None = FIGURE_FILE) -> str:
    """The report as Markdown: totals, a table of questions, the figure, the submissions that did not run."""
    if not results:
        return "# Class report\n\nNo submissions were graded.\n"
    max_score = results[0].max_score
    totals = sorted(r.score for r in results)
    full = sum(r.score >= r.max_score for r in results)
    mean = sum(totals) / len(totals)
    lines = ["# Class report", "",
             f"{len(results)} submissions, autograded out of {max_score:g} points: mean {mean:.3g}, "
             f"median {_median(totals):g}, full marks {full}, zero {sum(t == 0 for t in totals)}.", "",
             "| question | points | full marks | pass rate | mean score |", "|---|---:|---:|---:|---:|"]
    for q in question_stats(results):
        rate = f"{q.passed}/{q.submissions} | {q.pass_rate:.0%}"
        lines.append(f"| {_cell(q.name)} | {q.points:g} | {rate} | {q.mean:.3g} |")
    if results[0].by_hand:
        hand = ", ".join(f"{_cell(h.name)} ({h.points:g})" for h in results[0].by_hand)
        lines += ["", f"Graded by hand, not in these scores ({sum(h.points for h in results[0].by_hand):g} "
                      f"points): {hand}."]
    if figure:
        lines += ["", f"![Distribution of the autograded scores]({figure})"]
    failed = did_not_run(results)
    lines += ["", f"## Submissions whose code did not run ({len(failed)})", ""]
    lines += [f"- {_cell(name)}: {_cell(why)}" for name, why in failed] or ["Every submission's code ran cleanly."]
    return "\n".join(lines) + "\n"


def write_class_report(results: Sequence[SubmissionResult], folder: str | os.PathLike[str]) -> list[Path]:
    """Write FOLDER/report.md and FOLDER/scores.png (a prepared, private folder: outputs.py)."""
    written = []
    figure = None
    if results and results[0].max_score > 0:
        written.append(outputs.write_bytes(Path(folder) / FIGURE_FILE, _figure_png(results)))
        figure = FIGURE_FILE
    written.insert(0, outputs.write_text(Path(folder) / REPORT_FILE, class_report(results, figure)))
    return written


def _figure_png(results: Sequence[SubmissionResult]) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)  # a grader has no display
    import matplotlib.pyplot as plt

    from toynet.plots import plot_score_distribution

    figure, ax = plt.subplots(figsize=(6.4, 4.4))
    plot_score_distribution([r.score for r in results], results[0].max_score, ax=ax)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _median(values: list[float]) -> float:
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _cell(text: str) -> str:
    """Student-chosen text inside a Markdown table or list: one line, no table pipes, no HTML."""
    flat = " ".join(text.split())
    return flat.replace("|", "\\|").replace("<", "&lt;")[:300]
