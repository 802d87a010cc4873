"""The array forms of the checks, for any scalar function f(x) of an array: the full check, random coordinates,
random directions, the epsilon sweep. Each builds network_check's `Problem` (x as one block named "x", so
entries read x[1, 2]) and runs its check; grad_check_sparse and directional_check also take the network form
(cost_fn, parameters dict, gradients dict). Every check returns a `GradientCheckReport`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.gradcheck.measures import relative_difference
from toynet.gradcheck.network_check import (
    Problem,
    _step,
    directional_check_of,
    full_check,
    network_problem,
    sparse_check,
)
from toynet.gradcheck.numerical import (
    check_epsilons,
    check_method,
    check_positive_int,
    check_threshold,
    numerical_gradient,
)
from toynet.gradcheck.report import GradientCheckReport, StepSweep
from toynet.gradcheck.report import GradientCheckResult as GradientCheckResult  # its home before issue 21
from toynet.params import ParamLayout


def gradient_check(f: Callable[[np.ndarray], Any], grad_f: Callable[[np.ndarray], Any], x: Any,
                   epsilon: float | None = None, method: str = "central", threshold: float = 1e-7
                   ) -> GradientCheckReport:
    """Compare grad_f(x) with the numerical gradient of f at x (any shape), against that gradient's own error.

    epsilon: None -> chosen from f's measured noise (see gradient_check_n); relative_error is formula 2, and
    `threshold` only sets the words: passed means every entry lies within twice its error bar (noise / step,
    truncation, round-off). f runs on private copies: one that writes into x is named (verdict "inconclusive",
    cause "in-place"), and the caller's x is never written. float32 x warns: the check runs in float64 with the
    threshold raised to sqrt(float32 eps) ~ 3.5e-4 (the analytic gradient carries that precision's round-off).
    """
    method, threshold = check_method(method), check_threshold(threshold)
    point = _point(x)
    problem = _problem(f, point, grad_f(np.array(point, dtype=np.float64)), "grad_f(x)")
    if problem.low_precision is not None:
        raised = max(threshold, float(np.sqrt(np.finfo(problem.low_precision).eps)))
        warnings.warn(f"x is {point.dtype.name}: checked in float64 with the threshold raised from {threshold:.1e} "
                      f"to {raised:.1e}", stacklevel=2)
    return full_check(problem, _step(epsilon), method, threshold)


def grad_check_sparse(f: Callable[..., Any], x: Any, analytic_grad: Any, num_checks: int = 10,
                      epsilon: float | None = None, seed: int | None = 0, method: str = "central",
                      threshold: float = 2e-7) -> GradientCheckReport:
    """Check `num_checks` random coordinates (seeded, without repetition) instead of all of them, each against
    its error bar (as `gradient_check`): report.entries.

    Array form: f(x) -> float, x and analytic_grad arrays of one shape.  Network form: f = cost_fn,
    x = parameters dict, analytic_grad = gradients dict.  relative_difference: formula 2 over the chosen entries.
    """
    method, threshold = check_method(method), check_threshold(threshold)
    num_checks = check_positive_int(num_checks, "num_checks")
    return sparse_check(_either(f, x, analytic_grad), num_checks, _step(epsilon), seed, method, threshold)


def directional_check(f: Callable[..., Any], x: Any, analytic_grad: Any, num_directions: int = 3,
                      epsilon: float | None = None, seed: int | None = 0, threshold: float = 1e-6
                      ) -> GradientCheckReport:
    """Directional derivative vs g . v along `num_directions` seeded random unit vectors, each judged against its
    error bar (the noise of f measured along the directions themselves).

    O(1) evaluations whatever the number of parameters, so it suits networks too big for a full check; a bug
    confined to a few entries can hide in a random direction, so use it as a smoke test. Array form: f(x), x,
    analytic_grad arrays.  Network form: cost_fn, parameters dict, gradients dict.  report.relative_errors:
    |num - g.v| / (|num| + |g.v|) per direction (0 when both are 0).
    """
    num_directions = check_positive_int(num_directions, "num_directions")
    threshold = check_threshold(threshold)
    return directional_check_of(_either(f, x, analytic_grad), num_directions, _step(epsilon), seed, threshold)


def step_sweep(f: Callable[[np.ndarray], Any], x: Any, analytical_gradient: Any, epsilons: Any = None,
               method: str = "central") -> StepSweep:
    """Formula 2 between analytical_gradient and the numerical gradient of f at x, for each epsilon (1e-1 .. 1e-10)."""
    method, grid = check_method(method), check_epsilons(epsilons)
    analytic = _gradient("analytical_gradient", analytical_gradient, _point(x))
    differences = np.array([relative_difference(analytic, numerical_gradient(f, x, float(e), method)) for e in grid])
    return StepSweep(grid, differences, method)


def _either(f: Callable[..., Any], x: Any, analytic_grad: Any) -> Problem:
    """The network form's problem when x is a parameters dict, else the array form's."""
    if isinstance(x, Mapping):
        return network_problem(f, x, analytic_grad)
    return _problem(f, _point(x), analytic_grad, "analytic_grad")


def _problem(f: Callable[[np.ndarray], Any], point: np.ndarray, gradient: Any, name: str) -> Problem:
    """The array form's problem: x (validated) as one block "x" of its shape, float64 copies of x and the gradient."""
    if not callable(f):
        raise TypeError(f"f must be a function of x, but got {type(f).__name__}")
    analytic = _gradient(name, gradient, point)
    floating = np.issubdtype(point.dtype, np.floating) and np.finfo(point.dtype).eps > np.finfo(np.float64).eps
    return Problem(ParamLayout.from_shapes({"x": point.shape}), np.array(point, dtype=np.float64).reshape(-1),
                   analytic.reshape(-1), point.dtype if floating else None, f, point.shape)


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
