"""Checks of any scalar function f(x) of an array: the full check, random coordinates, random directions, the
epsilon sweep. grad_check_sparse and directional_check also take the network form (cost_fn, parameters dict,
gradients dict), which they hand to network_check's `sparse_check_n` and `directional_check_n`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.gradcheck.aware import judge_array, judge_directions
from toynet.gradcheck.causes import Cause, InputGuard, NamedCauses
from toynet.gradcheck.measures import relative_difference
from toynet.gradcheck.network_check import directional_check_n, sparse_check_n
from toynet.gradcheck.numerical import (
    check_epsilon,
    check_epsilons,
    check_method,
    check_positive_int,
    check_threshold,
    numerical_gradient,
    scalar_value,
)
from toynet.gradcheck.report import DirectionalCheck, Entry, SparseCheck, StepSweep


@dataclass
class GradientCheckResult(NamedCauses):
    """analytical vs numerical gradient of f at x; relative_error is formula 2 (the course's number). passed: the
    error-aware verdict, every entry within its error bar (see `gradient_check`); verdict, causes, error_bars
    (shape of x) and the measured noise say why."""

    analytical_gradient: np.ndarray
    numerical_gradient: np.ndarray
    absolute_difference: np.ndarray
    relative_error: float
    passed: bool
    verdict: str = ""
    causes: list[Cause] = field(default_factory=list)
    error_bars: np.ndarray | None = field(default=None, repr=False)
    noise: float | None = None
    epsilon: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The five fields as a plain dict (the seed exercise's answer format)."""
        return {
            "analytical_gradient": self.analytical_gradient,
            "numerical_gradient": self.numerical_gradient,
            "absolute_difference": self.absolute_difference,
            "relative_error": float(self.relative_error),
            "passed": bool(self.passed),
        }


def gradient_check(
    f: Callable[[np.ndarray], Any],
    grad_f: Callable[[np.ndarray], Any],
    x: Any,
    epsilon: float | None = None,
    method: str = "central",
    threshold: float = 1e-7,
) -> GradientCheckResult:
    """Compare grad_f(x) with the numerical gradient of f at x (any shape), against that gradient's own error.

    epsilon: None -> chosen from f's measured noise (see gradient_check_n); relative_error is formula 2, and
    `threshold` only sets the words: passed means every entry lies within twice its error bar (noise / step,
    truncation, round-off). f is run once on a private copy first: one that writes into x is named
    (verdict "inconclusive", cause "in-place"), and the caller's x is never written.
    float32 x warns: the check runs in float64 and the threshold is raised to sqrt(float32 eps) ~ 3.5e-4,
    since the analytic gradient computed in float32 carries that precision's round-off.
    """
    method = check_method(method)
    threshold = check_threshold(threshold)
    point = _point(x)
    grad_eps = float(np.finfo(np.float64).eps)
    if np.issubdtype(point.dtype, np.floating) and np.finfo(point.dtype).eps > np.finfo(np.float64).eps:
        raised = max(threshold, float(np.sqrt(np.finfo(point.dtype).eps)))
        warnings.warn(f"x is {point.dtype.name}: checked in float64 with the threshold raised from {threshold:.1e} "
                      f"to {raised:.1e}", stacklevel=2)
        threshold, grad_eps = raised, float(np.finfo(point.dtype).eps)
    analytic = _gradient("grad_f(x)", grad_f(np.array(point, dtype=np.float64)), point)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    judgement = judge_array(f, np.array(point, dtype=np.float64), analytic, epsilon, method, threshold,
                            grad_eps=grad_eps)
    numeric = judgement.numeric.reshape(point.shape)
    return GradientCheckResult(analytic, numeric, np.abs(analytic - numeric), judgement.difference, judgement.passed,
                               judgement.verdict, list(judgement.causes), judgement.bars.bar.reshape(point.shape),
                               judgement.estimate.noise, judgement.step)


def grad_check_sparse(
    f: Callable[..., Any],
    x: Any,
    analytic_grad: Any,
    num_checks: int = 10,
    epsilon: float | None = None,
    seed: int | None = 0,
    method: str = "central",
    threshold: float = 2e-7,
) -> SparseCheck:
    """Check `num_checks` random coordinates (seeded, without repetition) instead of all of them, each against
    its error bar (as `gradient_check`).

    Array form: f(x) -> float, x and analytic_grad arrays of one shape.  Network form: f = cost_fn,
    x = parameters dict, analytic_grad = gradients dict.  relative_difference: formula 2 over the chosen entries.
    """
    if isinstance(x, Mapping):
        return sparse_check_n(f, x, analytic_grad, num_checks, epsilon, seed, method, threshold)
    method = check_method(method)
    num_checks = check_positive_int(num_checks, "num_checks")
    threshold = check_threshold(threshold)
    point = np.array(_point(x), dtype=np.float64)
    analytic = _gradient("analytic_grad", analytic_grad, point)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(point.size, size=min(num_checks, point.size), replace=False))
    judgement = judge_array(f, point, analytic, epsilon, method, threshold, chosen=chosen)
    entries = []
    for n, position in enumerate(chosen):
        index = tuple(int(i) for i in np.unravel_index(int(position), point.shape))
        g, value = float(analytic.reshape(-1)[position]), float(judgement.numeric[n])
        entries.append(Entry("x", index, g, value, abs(g - value), int(position)))
    return SparseCheck.judged(entries, judgement)


def directional_check(
    f: Callable[..., Any],
    x: Any,
    analytic_grad: Any,
    num_directions: int = 3,
    epsilon: float | None = None,
    seed: int | None = 0,
    threshold: float = 1e-6,
) -> DirectionalCheck:
    """Directional derivative vs g . v along `num_directions` seeded random unit vectors, each judged against its
    error bar (the noise of f measured along the directions themselves, as `gradient_check` does per entry).

    O(1) evaluations whatever the number of parameters, so it suits networks too big for a full check;
    a bug confined to a few entries can hide in a random direction, so use it as a smoke test.
    Array form: f(x), x, analytic_grad arrays.  Network form: cost_fn, parameters dict, gradients dict.
    Each relative error is |num - g.v| / (|num| + |g.v|) (0 when both are 0).
    """
    if isinstance(x, Mapping):
        return directional_check_n(f, x, analytic_grad, num_directions, epsilon, seed, threshold)
    num_directions = check_positive_int(num_directions, "num_directions")
    threshold = check_threshold(threshold)
    point = np.array(_point(x), dtype=np.float64)
    grad = _gradient("analytic_grad", analytic_grad, point).reshape(-1)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    guard = InputGuard(f)
    value = guard(point)  # f runs on the guard's copy: one that writes into x is named, and x is never written
    cost = float(np.real(scalar_value(value, lambda: "x was not moved")))
    dtype = np.asarray(value).dtype

    def along(theta: np.ndarray) -> Any:  # theta: a fresh vector per evaluation (judge_directions)
        return f(theta.reshape(point.shape))

    judgement = judge_directions(along, point.reshape(-1), grad, num_directions, seed, cost, epsilon, threshold,
                                 early=[c for c in (guard.cause("f"),) if c is not None],
                                 cost_dtype=dtype if dtype.kind == "f" else np.float64)
    return DirectionalCheck.judged(judgement)


def step_sweep(
    f: Callable[[np.ndarray], Any],
    x: Any,
    analytical_gradient: Any,
    epsilons: Any = None,
    method: str = "central",
) -> StepSweep:
    """Formula 2 between analytical_gradient and the numerical gradient of f at x, for each epsilon (1e-1 .. 1e-10)."""
    method = check_method(method)
    grid = check_epsilons(epsilons)
    analytic = _gradient("analytical_gradient", analytical_gradient, _point(x))
    differences = np.array([relative_difference(analytic, numerical_gradient(f, x, float(e), method)) for e in grid])
    return StepSweep(grid, differences, method)


def _point(x: Any) -> np.ndarray:
    """x as a numeric array (not copied), refused when it is empty or holds NaN or inf."""
    point = as_array("x", x)
    if point.size == 0:
        raise ValueError(f"x must hold at least one number to check, but got an empty array of shape {point.shape}")
    check_finite("x", point)
    return point


def _gradient(name: str, value: Any, point: np.ndarray) -> np.ndarray:
    """The analytic gradient `value` as a fresh float64 array of x's shape, finite, or an error naming `name`."""
    analytic = np.array(as_array(name, value), dtype=np.float64)
    if analytic.shape != point.shape:
        raise ValueError(f"{name} must have the shape of x, {point.shape}, but got {analytic.shape}")
    check_finite(name, analytic)
    return analytic
