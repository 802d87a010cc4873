"""Detection: false failures on correct gradients and detection of planted bugs, over 100 random points.

Each point is a fresh random 4-5-5-1 ReLU network (He init, random biases), batch m = 4, in float64 or
float32 (parameters, data and the backward all in that dtype). Each checker sees the same cost and the
same (correct or buggy) gradient, with its own defaults:
- toynet `gradient_check_n` (default step and threshold): passed, and `failing_blocks` == [the bug's block];
- the course's helper (plain loop, epsilon 1e-7, "mistake" above 2e-7);
- `torch.autograd.gradcheck` (eps 1e-6, atol 1e-5, rtol 1e-3) on toynet's cost with the gradient as backward;
- `scipy.optimize.check_grad`: it returns ||g - g_fd|| with no verdict; we fail it above 2e-7 * ||g|| (the
  course's threshold on the relative error). numdifftools has no checker, so it is not in this table.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from benchmarks.common import Section, have
from benchmarks.models import Problem, buggy_gradients, course_plain_loop_check, make_problem, torch_wrapped
from toynet.gradcheck import gradient_check_n

SHAPE = [4, 5, 5, 1]
BATCH = 4
POINTS = 100
# (bug, block it is planted in)
SETTINGS: list[tuple[str | None, str]] = [
    (None, "-"),
    ("missing batch sum", "b2"),
    ("transposed dW", "W2"),
    ("sign flip", "b1"),
    ("1% scale", "b3"),
]


def toynet_verdict(problem: Problem, grads: dict[str, np.ndarray]) -> tuple[bool, list[str]]:
    report = gradient_check_n(problem.net.cost_function(problem.X, problem.Y), problem.parameters, grads,
                              progress=False)
    return report.passed, list(report.failing_blocks)


def course_verdict(problem: Problem, grads: dict[str, np.ndarray]) -> bool:
    from benchmarks.models import Problem as P

    difference, _ = course_plain_loop_check(P(problem.net, problem.X, problem.Y, problem.parameters, grads))
    return difference <= 2e-7


def torch_verdict(problem: Problem, grads: dict[str, np.ndarray]) -> bool:
    import torch

    f, theta = torch_wrapped(problem, grads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32 inputs: torch warns that gradcheck wants float64
        return bool(torch.autograd.gradcheck(f, (theta,), raise_exception=False))


def scipy_verdict(problem: Problem, grads: dict[str, np.ndarray]) -> bool:
    from scipy.optimize import check_grad

    from benchmarks.models import scipy_functions

    f, grad, x0 = scipy_functions(problem, grads)
    return float(check_grad(f, grad, x0)) <= 2e-7 * float(np.linalg.norm(grad(x0)))


def measure(points: int = POINTS) -> dict[tuple[str, str, str], dict[str, Any]]:
    """{(dtype, bug, block): {checker: fraction flagged, "toynet right block": fraction}}."""
    checkers: dict[str, Any] = {"course helper (eps 1e-7, 2e-7)": course_verdict}
    if have("torch"):
        checkers["torch gradcheck"] = torch_verdict
    if have("scipy"):
        checkers["scipy check_grad (2e-7 rel.)"] = scipy_verdict
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    misses: list[str] = []
    for dtype in (np.float64, np.float32):
        for bug, block in SETTINGS:
            flagged: dict[str, int] = {"toynet": 0, **{name: 0 for name in checkers}}
            right_block, seed, done = 0, 0, 0
            while done < points:
                problem = make_problem(SHAPE, m=BATCH, seed=seed, dtype=dtype)
                seed += 1
                grads = buggy_gradients(problem, bug, block if bug else "W1")
                if bug and all(np.array_equal(grads[k], v) for k, v in problem.gradients.items()):
                    continue  # the bug changes nothing at this point (e.g. dZ zero past the first example)
                done += 1
                passed, failing = toynet_verdict(problem, grads)
                flagged["toynet"] += not passed
                if bug and passed:
                    share = np.linalg.norm(problem.gradients["d" + block]) / np.linalg.norm(problem.grad)
                    misses.append(f"{np.dtype(dtype).name} {bug} in {block}: ||d{block}|| / ||g|| = {share:.1e}")
                right_block += failing == ([block] if bug else [])
                for name, verdict in checkers.items():
                    flagged[name] += not verdict(problem, grads)
            row: dict[str, Any] = {name: count / points for name, count in flagged.items()}
            row["toynet right block"] = right_block / points
            out[(np.dtype(dtype).name, bug or "none (correct)", block)] = row
    MISSES[:] = misses
    return out


MISSES: list[str] = []  # the planted bugs toynet passed in the last measure(), with their block's share


def run(section: Section, quick: bool = False) -> None:
    points = 10 if quick else POINTS
    results = measure(points)
    checkers = [k for k in next(iter(results.values())) if k != "toynet right block"]
    section.text(
        f"{points} random points per row (4-5-5-1 ReLU network, m = 4). Each cell: the fraction of points the "
        "checker flags as wrong. On correct gradients that is the false-failure rate (want 0); on planted bugs, "
        "the detection rate (want 1). 'right block': toynet's failing_blocks is exactly the bug's block "
        "(on correct gradients: empty)."
        + ("" if have("torch") else " PyTorch is not installed: skipped.")
        + ("" if have("scipy") else " SciPy is not installed: skipped.")
    )
    rows = [[dtype, bug, block] + [f"{row[c]:.2f}" for c in checkers] + [f"{row['toynet right block']:.2f}"]
            for (dtype, bug, block), row in results.items()]
    section.table(["dtype", "gradient", "block"] + checkers + ["toynet right block"], rows)
    if MISSES:
        section.text(
            "**Measured reason for toynet's misses:** " + "; ".join(MISSES[:6])
            + ". A block fails only if its error is above threshold x (||g|| + ||g_approx||) x sqrt(n_b / n) "
            "(toynet.gradcheck's guard against round-off in near-zero blocks); in float32 the threshold is raised "
            "to sqrt(eps) = 3.5e-4, so a 1% error in a 1-entry block whose gradient is this small a share of the "
            "whole stays under the floor."
        )
    false_fail = max(row["toynet"] for (_, bug, _), row in results.items() if bug.startswith("none"))
    detection = min(row["toynet"] for (_, bug, _), row in results.items() if not bug.startswith("none"))
    blocks = min(row["toynet right block"] for row in results.values())
    section.target("toynet 0 false failures on correct gradients (float64 and float32)", f"{false_fail:.2f}",
                   false_fail == 0)
    section.target("toynet 100% detection of planted bugs (both dtypes, worst bug)", f"{detection:.2f}",
                   detection == 1)
    section.target("toynet names the right block every time (worst row)", f"{blocks:.2f}", blocks == 1)
