"""Calibration: how often the error bar of each numerical entry covers its true error, and how wide the bars are.

A checker that says "every entry agrees within its error bar" makes a claim about each bar: that the numerical
entry D_i lies within bar_i of the true derivative. This measures that claim. For every row (the detection
benchmark's hard rows, benchmarks/hard_cases.py, plus the plain float64 cost), over `points` random cases, toynet's
`gradient_check_n` runs with its defaults, and each numerical entry is compared with the EXACT gradient g*_i of
the function the checker differentiates:

    true error_i = |D_i - g*_i|        covered: true error_i <= bar_i        width: bar_i / true error_i

g* is the analytic backward in float64 (relative round-off ~1e-16, far below every bar), except where the
cost is not the network's own function:
    in-place   the cost centres W1 (P: subtract the block's mean) before the forward, on the private copy the
               checker passes it, so it computes J(P theta): g* = P grad J(P theta);
    dropout    a fresh mask per call: no single function is differentiated; D_i estimates the gradient of the
               expected cost, g* = E_mask[grad J_mask] = grad E[J], taken here as the backward of one batch
               tiled DROPOUT_DRAWS times with a mask per copy (its Monte-Carlo error is measured and reported);
    J + 1e-12 randn, X + 1e-08 randn   (issue 21's small random costs) the noiseless backward: the gradient of
               the expected cost (exactly for the additive noise, to O(std^2) ~ 1e-16 for the input noise).

The checker's report provides what is compared (public fields only): `numerical_gradient` (n, 1),
`error_bars` (n, 1), `kinks` (entries left out of the verdict: a ReLU kink crossed or a cost not smooth across
the step; they carry no claim and are counted apart) and `verdict`. Each case is drawn from its point
(`hard_cases.row_case(row, point)`, seeded by the point), so a miss listed in RESULTS.md is a case to rerun.
Each case is checked twice: with the correct gradients and with a 1% error planted in one random block (the
detection rows' bug), because the checker sizes some bars only where it suspects an entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmarks import hard_cases
from benchmarks.common import Section
from benchmarks.models import Problem
from toynet.gradcheck import gradient_check_n

ROWS = ["plain float64", *hard_cases.ROWS, "J + 1e-12 randn", "X + 1e-08 randn"]
POINTS = 100
DROPOUT_DRAWS = 20_000  # tiled copies of the batch whose mean backward is grad E[J] for the dropout row
COVERAGE_GOAL = 0.95
COLUMNS = ("correct", "1% bug")
SHOWN_MISSES = 4  # per row in RESULTS.md


@dataclass
class Miss:
    """One entry of one case (row, point, column): which entry, its true error and its bar."""

    row: str
    point: int
    column: str
    label: str
    error: float
    bar: float

    def __str__(self) -> str:
        return (f"`row_case({self.row!r}, {self.point})` ({self.column}) {self.label}: true error {self.error:.2e}, "
                f"bar {self.bar:.2e} ({self.ratio:.2g} bars)")

    @property
    def ratio(self) -> float:
        """true error / bar (inf for a nonzero error under a zero bar)."""
        return self.error / self.bar if self.bar else (float("inf") if self.error else 0.0)


@dataclass
class Tally:
    """One row and column, over every case: entries judged, covered (within 1 and 2 bars), bar / true error."""

    entries: int = 0
    covered: int = 0
    covered_twice: int = 0  # within MARGIN = 2 bars, where the checker's verdict draws its line
    left_out: int = 0  # kinks: no claim made
    exact_zero: int = 0  # D_i == g*_i == 0 (a dead unit): covered by any bar, says nothing, not counted
    widths: list[np.ndarray] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)  # each case's worst uncovered entry
    closest: Miss | None = None  # the entry with the largest true error / bar over every case
    truth_uncertainty: float = 0.0  # largest Monte-Carlo error of g* / bar (dropout only)

    @property
    def coverage(self) -> float:
        return self.covered / self.entries if self.entries else float("nan")

    @property
    def coverage_twice(self) -> float:
        return self.covered_twice / self.entries if self.entries else float("nan")

    @property
    def median_width(self) -> float:
        """The median of bar / true error over judged entries with a nonzero true error."""
        widths = np.concatenate(self.widths) if self.widths else np.empty(0)
        widths = widths[np.isfinite(widths)]
        return float(np.median(widths)) if widths.size else float("nan")


# ---------------------------------------------------------------------------------------------- exact gradients
def exact_gradients(row: str, problem: Problem, case: hard_cases.HardCase, point: int) -> tuple[
        dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(g* per block {"dW1": ...}, its Monte-Carlo standard error or None when g* is exact) of the function the
    checker differentiates in `case`, built from `problem` (hard_cases.row_problem(row, point))."""
    if row == "in-place":
        return centred_w1_gradients(problem), None
    if row == "dropout":
        return expected_dropout_gradients(problem, seed=point)
    return {k: np.asarray(v, dtype=np.float64) for k, v in case.gradients.items()}, None


def centred_w1_gradients(problem: Problem) -> dict[str, np.ndarray]:
    """grad of theta -> J(P theta), P centring W1 (W1 - mean(W1)): P^T grad J(P theta), and P^T = P."""
    parameters = {k: np.asarray(v, dtype=np.float64).copy() for k, v in problem.parameters.items()}
    parameters["W1"] -= parameters["W1"].mean()
    _, caches = problem.net.forward(problem.X.astype(np.float64), problem.Y, parameters)
    gradients = problem.net.backward(caches)
    gradients["dW1"] = gradients["dW1"] - gradients["dW1"].mean()
    return gradients


def expected_dropout_gradients(problem: Problem, seed: int, draws: int = DROPOUT_DRAWS,
                               rate: float = hard_cases.DROPOUT_RATE) -> tuple[
        dict[str, np.ndarray], dict[str, np.ndarray]]:
    """grad E_mask[J] for `hard_cases.dropout` (inverted dropout of `rate` on every hidden layer), and its
    Monte-Carlo standard error per entry.

    The cost of the batch tiled `draws` times, each copy with its own masks, is the mean over the copies of
    J_mask; its backward is the mean of their gradients, an unbiased estimate of grad E[J]. Two halves of the
    draws give the error: sd(half_a - half_b) / 2 is the standard error of their mean, per entry.
    """
    net, m = problem.net, problem.X.shape[1]
    X, Y = problem.X.astype(np.float64), np.asarray(problem.Y, dtype=np.float64).reshape(1, -1)
    parameters = {k: np.asarray(v, dtype=np.float64) for k, v in problem.parameters.items()}
    halves = []
    for half in range(2):
        copies = draws // 2
        masks = net.dropout_masks(m * copies, 1 - rate, np.random.default_rng([seed, half]))
        _, caches = net.forward(np.tile(X, copies), np.tile(Y, copies), parameters, keep_prob=1 - rate, masks=masks)
        halves.append(net.backward(caches))
    mean = {k: (halves[0][k] + halves[1][k]) / 2 for k in halves[0]}
    error = {k: np.abs(halves[0][k] - halves[1][k]) / 2 for k in halves[0]}
    return mean, error


# ---------------------------------------------------------------------------------------------- one case
def entry_labels(parameters: dict[str, np.ndarray]) -> list[str]:
    """'W1[0, 2]', ... for every entry of theta in course order (dict order, each block row-major)."""
    return [f"{name}[{', '.join(map(str, index))}]" for name, value in parameters.items()
            for index in np.ndindex(np.shape(value))]


def flat(gradients: dict[str, np.ndarray], parameters: dict[str, np.ndarray]) -> np.ndarray:
    """The gradient blocks d<name> in the parameters' order, flattened: (n,) float64."""
    return np.concatenate([np.asarray(gradients["d" + name], dtype=np.float64).reshape(-1) for name in parameters])


def tally_case(tally: Tally, case: hard_cases.HardCase, given: dict[str, np.ndarray], truth: np.ndarray,
               where: tuple[str, int, str], truth_error: np.ndarray | None = None) -> None:
    """Run the check of `given` on `case` and add its entries to `tally`. where: (row, point, column)."""
    report = gradient_check_n(case.cost_fn, case.parameters, given, progress=False)
    if report.error_bars is None:
        raise RuntimeError(f"{where}: the report carries no error bars; calibration needs report.error_bars")
    numeric, bar = report.numerical_gradient.reshape(-1), report.error_bars.reshape(-1)
    error = np.abs(numeric - truth)
    judged = np.ones(truth.size, dtype=bool)
    judged[[entry.position for entry in report.kinks]] = False
    zero = judged & (numeric == 0) & (truth == 0)
    tally.left_out += int((~judged).sum())
    tally.exact_zero += int(zero.sum())
    judged &= ~zero
    tally.entries += int(judged.sum())
    tally.covered += int((judged & (error <= bar)).sum())
    tally.covered_twice += int((judged & (error <= 2 * bar)).sum())
    with np.errstate(divide="ignore"):
        tally.widths.append(bar[judged] / error[judged])
    if truth_error is not None:
        tally.truth_uncertainty = max(tally.truth_uncertainty, float(np.max(truth_error[judged] / bar[judged],
                                                                            initial=0.0)))
    if not judged.any():
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(judged, error / bar, -np.inf)
    worst = int(np.argmax(ratio))
    entry = Miss(where[0], where[1], where[2], entry_labels(case.parameters)[worst], float(error[worst]),
                 float(bar[worst]))
    if error[worst] > bar[worst]:
        tally.misses.append(entry)
    if tally.closest is None or entry.ratio > tally.closest.ratio:
        tally.closest = entry


def measure(points: int = POINTS, rows: list[str] | None = None) -> dict[str, dict[str, Tally]]:
    """{row: {"correct": Tally, "1% bug": Tally}} over points 0 .. points - 1 of each row."""
    out: dict[str, dict[str, Tally]] = {}
    for row in rows or ROWS:
        tallies = {column: Tally() for column in COLUMNS}
        for point in range(points):
            problem = hard_cases.row_problem(row, point)
            case = hard_cases.build_case(row, problem, point)
            exact, uncertainty = exact_gradients(row, problem, case, point)
            truth = flat(exact, case.parameters)
            truth_error = None if uncertainty is None else flat(uncertainty, case.parameters)
            # the detection rows' bug: 1% in one block drawn from the point (bench_detection.measure_hard)
            block = list(case.parameters)[int(np.random.default_rng(point).integers(len(case.parameters)))]
            for column, given in zip(COLUMNS, (case.gradients, hard_cases.planted(case.gradients, block, 0.01)),
                                     strict=True):
                tally_case(tallies[column], case, given, truth, (row, point, column), truth_error)
        out[row] = tallies
    return out


# ---------------------------------------------------------------------------------------------- RESULTS.md
def run(section: Section, quick: bool = False) -> None:
    points = 10 if quick else POINTS
    results = measure(points)
    section.text(
        f"{points} random cases per row: the detection section's hard rows (same networks and seeds), the network's "
        "plain float64 cost, and issue 21's two small random costs, J + 1e-12 N(0, 1) and the input X + 1e-8 N(0, 1) "
        "drawn at every call. Each case is checked with its correct gradients and with a 1% error planted in one "
        "random block (the detection rows' bug). Every numerical entry of toynet's `gradient_check_n` (default step "
        "and method) is compared with the exact gradient of the function it differentiates: the float64 backward; "
        "for in-place, P grad J(P theta) with P centring W1 (the cost centres its private copy); for dropout, "
        f"grad E[J], the mean backward over {DROPOUT_DRAWS:,} masks; for the small random costs, the noiseless "
        "backward (the expected cost's gradient).",
        "'within bar': the share of entries whose true error |numeric - exact| is at most the entry's error bar "
        "(goal >= 95%); 'within 2 bars': the checker's verdict margin; 'bar / true error': the median over entries, "
        "how wide the bars are (1: a bar exactly as wide as the error; large: a conservative bar). Left out: "
        "entries the report leaves out (a ReLU kink crossed, or not smooth across the step), which carry no claim; "
        "entries where both are exactly 0 (dead units) are not counted. Cells: correct gradients / 1% bug "
        "(benchmarks/bench_calibration.py).",
    )
    rows = []
    for row, tallies in results.items():
        ok, bug = tallies["correct"], tallies["1% bug"]
        rows.append([row, f"{ok.entries:,} / {bug.entries:,}", f"{ok.coverage:.4f} / {bug.coverage:.4f}",
                     f"{ok.coverage_twice:.4f} / {bug.coverage_twice:.4f}",
                     f"{ok.median_width:.3g} / {bug.median_width:.3g}", f"{ok.left_out} / {bug.left_out}",
                     f"{len(ok.misses)} / {len(bug.misses)}", _closest(ok, bug)])
    section.table(["row", "entries judged", "within bar", "within 2 bars", "bar / true error (median)",
                   "left out", f"cases with a miss (of {points})", "closest call: largest true error / bar"], rows)
    _misses(section, results)
    drop = results.get("dropout")
    if drop:
        section.text(f"The dropout row's exact gradient is itself an estimate: its Monte-Carlo standard error is at "
                     f"most {max(t.truth_uncertainty for t in drop.values()):.1e} of an entry's bar.")
    worst = min(min(t.coverage for t in tallies.values()) for tallies in results.values())
    section.target(f"calibration: share of entries within their error bar >= {COVERAGE_GOAL:.0%} (worst row and "
                   "column)", f"{worst:.4f}", worst >= COVERAGE_GOAL)


def _closest(*tallies: Tally) -> str:
    """The entry nearest its bar's edge over the tallies, as a case to rerun."""
    closest = [t.closest for t in tallies if t.closest is not None]
    if not closest:
        return "-"
    worst = max(closest, key=lambda m: m.ratio)
    return f"{worst.ratio:.3f}: point {worst.point} ({worst.column}), {worst.label}"


def _misses(section: Section, results: dict[str, dict[str, Tally]]) -> None:
    """Each row's worst uncovered entries, as reproducible cases."""
    lines = []
    for row, tallies in results.items():
        misses = sorted((m for t in tallies.values() for m in t.misses), key=lambda m: -m.ratio)
        if misses:
            lines.append(f"- {row}: " + "; ".join(str(m) for m in misses[:SHOWN_MISSES])
                         + (f"; and {len(misses) - SHOWN_MISSES} more cases" if len(misses) > SHOWN_MISSES else ""))
    if lines:
        section.text("**Worst uncovered entry of each case that has one** (the case's worst, then the row's worst "
                     "cases first; rerun with `benchmarks.hard_cases.row_case(row, point)`):", "\n".join(lines))
    else:
        section.text("No entry of any case lies outside its error bar.")
