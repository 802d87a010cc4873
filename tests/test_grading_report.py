"""The class report and its figure, from results made by hand (no processes): counts checked against the inputs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toynet.grading.grade import HandGraded, QuestionResult, SubmissionResult  # noqa: E402
from toynet.grading.report import class_report, did_not_run, question_stats, write_class_report  # noqa: E402
from toynet.plots import plot_score_distribution  # noqa: E402


def result(name: str, a: float, b: float, output: str = "", not_run: str = "") -> SubmissionResult:
    questions = [QuestionResult("q_a", a, 1.0, ""), QuestionResult("q_b", b, 2.0, "")]
    return SubmissionResult(name, questions, output, by_hand=[HandGraded("essay", 3.0, 9, "markdown answer")],
                            not_run=not_run)


CLASS = [
    result("s1.ipynb", 1, 2),
    result("s2.ipynb", 1, 0, output="cell 4 raised:\nTraceback (most recent call last):\n  File x\nKeyError: 'W1'\n"
                                    "--- your notebook printed (first 2000 characters) ---\ncell 9 raised: fake"),
    result("s3.ipynb", 0, 2),
    result("s4.ipynb", 0, 0, output="bad", not_run="the submission is not a valid notebook: JSONDecodeError"),
]


def test_pass_rates_count_full_marks_per_question() -> None:
    stats = {s.name: (s.passed, s.submissions, s.pass_rate, s.mean) for s in question_stats(CLASS)}
    assert stats == {"q_a": (2, 4, 0.5, 0.5), "q_b": (2, 4, 0.5, 1.0)}


def test_did_not_run_names_the_reason_and_the_exception_not_what_the_student_printed() -> None:
    assert did_not_run(CLASS) == [("s2.ipynb", "cell 4 raised: KeyError: 'W1'"),
                                  ("s4.ipynb", "not run: the submission is not a valid notebook: JSONDecodeError")]


def test_report_reads_at_a_glance(tmp_path: Path) -> None:
    text = class_report(CLASS)
    assert "4 submissions, autograded out of 3 points: mean 1.5, median 1.5, full marks 1, zero 1." in text
    assert "| q_a | 1 | 2/4 | 50% | 0.5 |" in text and "| q_b | 2 | 2/4 | 50% | 1 |" in text
    assert "Graded by hand, not in these scores (3 points): essay (3)." in text
    assert "## Submissions whose code did not run (2)" in text
    written = write_class_report(CLASS, tmp_path)
    assert [p.name for p in written] == ["report.md", "scores.png"]
    assert written[1].read_bytes()[:4] == b"\x89PNG" and (written[1].stat().st_mode & 0o777) == 0o600


def test_student_text_cannot_break_the_table() -> None:
    text = class_report([result("a|b<script>.ipynb", 1, 2, not_run="x\n| forged | row |")])
    assert "a\\|b&lt;script>.ipynb" in text and "\n| forged" not in text


def test_score_distribution_bars_are_the_counts() -> None:
    scores = [0, 0.5, 0.5, 3, 3, 3, 2.5]
    ax = plot_score_distribution(scores, 3)
    bars = {round(p.get_x() + p.get_width() / 2, 6): p.get_height() for p in ax.patches}
    assert bars == {0.0: 1, 0.5: 2, 2.5: 1, 3.0: 3}
    assert "mean 1.79 of 3" in ax.get_legend().get_texts()[0].get_text()
    many = np.linspace(0, 100, 41)  # more distinct scores than bars: a 20-bin histogram over [0, 100]
    ax = plot_score_distribution(many, 100)
    assert len(ax.patches) == 20 and sum(p.get_height() for p in ax.patches) == 41


@pytest.mark.parametrize("scores, max_score, message", [
    ([], 3, "at least one score"),
    ([1, 4], 3, r"in \[0, 3\]"),
    ([-1], 3, r"in \[0, 3\]"),
    ([float("nan")], 3, "finite"),
    ([1], 0, "max_score must be a positive number, but got 0"),
])
def test_score_distribution_refuses_bad_input(scores: list[float], max_score: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plot_score_distribution(scores, max_score)
