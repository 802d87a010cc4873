"""Checks of any scalar function: the full check, random coordinates, random directions, and the step sweep.

Each takes the array form f(x) with an analytic gradient array; grad_check_sparse, directional_check
and step_sweep also take the network form (cost_fn, parameters dict, gradients dict).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from toynet._validate import as_array
from toynet.gradcheck.measures import rel_error, relative_difference
from toynet.gradcheck.network_check import (
    CostFn,
    _prepare,
    make_evaluator,
    sparse_entries,
    step_sweep_values,
)
from toynet.gradcheck.numerical import check_method, check_step, default_step, numerical_gradient, scalar_value
from toynet.gradcheck.report import Entry
from toynet.params import vector_to_dictionary

SWEEP_STEPS = 10.0 ** -np.arange(1, 11)  # 1e-1 .. 1e-10


@dataclass
class GradientCheckResult:
    """analytical vs numerical gradient of f at x; relative_error is formula 2, passed = relative_error < tolerance."""

    analytical_gradient: np.ndarray
    numerical_gradient: np.ndarray
    absolute_difference: np.ndarray
    relative_error: float
    passed: bool

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
    h: float | None = None,
    method: str = "central",
    tolerance: float = 1e-7,
) -> GradientCheckResult:
    """Compare grad_f(x) with the numerical gradient of f at x (any shape); formula 2 against `tolerance`.

    float32 x warns: the check runs in float64 and the tolerance is raised to sqrt(float32 eps) ~ 3.5e-4,
    since the analytic gradient computed in float32 carries that precision's round-off.
    """
    tolerance = check_step(tolerance, "tolerance")
    point = as_array("x", x)
    if np.issubdtype(point.dtype, np.floating) and np.finfo(point.dtype).eps > np.finfo(np.float64).eps:
        raised = max(tolerance, float(np.sqrt(np.finfo(point.dtype).eps)))
        warnings.warn(f"x is {point.dtype.name}: checked in float64 with the tolerance raised from {tolerance:.1e} "
                      f"to {raised:.1e}", stacklevel=2)
        tolerance = raised
    analytic = np.array(as_array("grad_f(x)", grad_f(np.array(point, dtype=np.float64))), dtype=np.float64)
    if analytic.shape != point.shape:
        raise ValueError(f"grad_f(x) must have the shape of x, {point.shape}, but got {analytic.shape}")
    numeric = numerical_gradient(f, point, h, method)
    error = relative_difference(analytic, numeric)
    return GradientCheckResult(analytic, numeric, np.abs(analytic - numeric), error, bool(error < tolerance))


@dataclass
class SparseCheck:
    """Numerical vs analytic at a few random coordinates: the entries, cs231n's rel_error and formula 2."""

    entries: list[Entry]
    relative_difference: float
    max_rel_error: float
    passed: bool
    step: float

    def __str__(self) -> str:
        lines = [f"{'entry':<16}{'analytic':>18}{'numeric':>18}{'rel. error':>12}"]
        for e in self.entries:
            rel = e.abs_error / max(1e-8, abs(e.analytic) + abs(e.numeric))
            lines.append(f"{e.label:<16}{e.analytic:>18.10e}{e.numeric:>18.10e}{rel:>12.2e}")
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"{verdict}: relative difference {self.relative_difference:.2e} over {len(self.entries)} entries")
        return "\n".join(lines)


def grad_check_sparse(
    f: Callable[..., Any],
    x: Any,
    analytic_grad: Any,
    num_checks: int = 10,
    h: float | None = None,
    seed: int | None = 0,
    method: str = "central",
    threshold: float = 2e-7,
) -> SparseCheck:
    """Check `num_checks` random coordinates (seeded, without repetition) instead of all of them.

    Array form: f(x) -> float, x and analytic_grad arrays of one shape.  Network form: f = cost_fn,
    x = parameters dict, analytic_grad = gradients dict.  passed: formula 2 over the chosen entries.
    """
    method = check_method(method)
    if not (isinstance(num_checks, (int, np.integer)) and num_checks > 0):
        raise ValueError(f"num_checks must be a positive int, but got {num_checks!r}")
    if isinstance(x, Mapping):
        entries, step = sparse_entries(f, x, analytic_grad, int(num_checks), h, method, seed)
    else:
        point = np.array(as_array("x", x), dtype=np.float64)
        analytic = np.array(as_array("analytic_grad", analytic_grad), dtype=np.float64)
        if analytic.shape != point.shape:
            raise ValueError(f"analytic_grad must have the shape of x, {point.shape}, but got {analytic.shape}")
        step = default_step(point, method) if h is None else check_step(h)
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(point.size, size=min(int(num_checks), point.size), replace=False))
        entries = []
        for position in chosen:
            def along(t: np.ndarray, position: int = int(position)) -> Any:
                moved = point.astype(t.dtype)
                moved.reshape(-1)[position] = t[0]
                return f(moved)

            value = numerical_gradient(along, point.reshape(-1)[position : position + 1], step, method)[0]
            index = tuple(int(i) for i in np.unravel_index(position, point.shape))
            g = float(analytic.reshape(-1)[position])
            entries.append(Entry("x", index, g, float(value), abs(g - float(value)), int(position)))
    analytic_values = np.array([e.analytic for e in entries])
    numeric_values = np.array([e.numeric for e in entries])
    difference = relative_difference(analytic_values, numeric_values)
    return SparseCheck(entries, difference, rel_error(analytic_values, numeric_values),
                       bool(difference <= threshold), step)


@dataclass
class DirectionalCheck:
    """(f(x + h v) - f(x - h v)) / 2h against g . v for a few random unit directions v."""

    numeric: np.ndarray
    analytic: np.ndarray
    relative_errors: np.ndarray
    passed: bool
    step: float

    def __str__(self) -> str:
        lines = [f"direction {i}: g.v {a:+.10e}  numeric {n:+.10e}  relative error {r:.2e}"
                 for i, (a, n, r) in enumerate(zip(self.analytic, self.numeric, self.relative_errors, strict=True))]
        return "\n".join(lines + ["passed" if self.passed else "FAILED"])


def directional_check(
    f: Callable[..., Any],
    x: Any,
    analytic_grad: Any,
    num_directions: int = 3,
    h: float | None = None,
    seed: int | None = 0,
    tolerance: float = 1e-6,
) -> DirectionalCheck:
    """Directional derivative vs g . v along `num_directions` seeded random unit vectors: 2 evaluations each.

    O(1) evaluations whatever the number of parameters, so it suits networks too big for a full check;
    a bug confined to a few entries can hide in a random direction, so use it as a smoke test.
    Array form: f(x), x, analytic_grad arrays.  Network form: cost_fn, parameters dict, gradients dict.
    Each relative error is |num - g.v| / (|num| + |g.v|) (0 when both are 0).
    """
    if not (isinstance(num_directions, (int, np.integer)) and num_directions > 0):
        raise ValueError(f"num_directions must be a positive int, but got {num_directions!r}")
    tolerance = check_step(tolerance, "tolerance")
    evaluate: Callable[[np.ndarray], Any]
    if isinstance(x, Mapping):
        layout, theta, grad, _ = _prepare(x, analytic_grad)
        cost_fn: CostFn = f
        make_evaluator(cost_fn, x, layout, theta, batch=False)  # validates cost_fn at theta

        def evaluate(t: np.ndarray) -> Any:
            return cost_fn(vector_to_dictionary(t, layout))
    else:
        point = np.array(as_array("x", x), dtype=np.float64)
        grad = np.array(as_array("analytic_grad", analytic_grad), dtype=np.float64).reshape(-1)
        if grad.size != point.size:
            raise ValueError(
                f"analytic_grad must have the shape of x, {point.shape}, but got {np.shape(analytic_grad)}"
            )
        theta = point.reshape(-1)

        def evaluate(t: np.ndarray) -> Any:
            return f(t.reshape(point.shape))
    step = default_step(theta, network=isinstance(x, Mapping)) if h is None else check_step(h)
    rng = np.random.default_rng(seed)
    numeric, analytic = np.empty(num_directions), np.empty(num_directions)
    for d in range(num_directions):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        plus = scalar_value(evaluate(theta + step * v), _moved("+", d))
        minus = scalar_value(evaluate(theta - step * v), _moved("-", d))
        numeric[d] = (plus.real - minus.real) / (2 * step)
        analytic[d] = float(grad @ v)
    sums = np.abs(numeric) + np.abs(analytic)
    errors = np.where(sums > 0, np.abs(numeric - analytic) / np.where(sums > 0, sums, 1.0), 0.0)
    return DirectionalCheck(numeric, analytic, errors, bool((errors <= tolerance).all()), step)


@dataclass
class StepSweep:
    """Formula 2 at each step h: the V of truncation error (large h) against round-off (small h)."""

    steps: np.ndarray
    differences: np.ndarray
    method: str

    @property
    def best_step(self) -> float:
        return float(self.steps[int(np.argmin(self.differences))])

    @property
    def best_difference(self) -> float:
        return float(np.min(self.differences))

    def __str__(self) -> str:
        rows = [f"{'step':>8}  {'difference':>10}"] + [f"{h:>8.0e}  {d:>10.2e}" for h, d in
                                                        zip(self.steps, self.differences, strict=True)]
        return "\n".join(rows + [f"best: {self.best_difference:.2e} at h = {self.best_step:.0e} ({self.method})"])


def step_sweep(
    f: Callable[[np.ndarray], Any],
    x: Any,
    analytical_gradient: Any,
    steps: Any = None,
    method: str = "central",
) -> StepSweep:
    """Formula 2 between analytical_gradient and the numerical gradient of f at x, for each step (1e-1 .. 1e-10)."""
    method = check_method(method)
    grid = _steps(steps)
    analytic = np.array(as_array("analytical_gradient", analytical_gradient), dtype=np.float64)
    differences = np.array([relative_difference(analytic, numerical_gradient(f, x, float(h), method)) for h in grid])
    return StepSweep(grid, differences, method)


def step_sweep_n(
    cost_fn: CostFn,
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    steps: Any = None,
    method: str = "central",
) -> StepSweep:
    """The step sweep of a network's check: formula 2 over theta for each step (batched like gradient_check_n)."""
    method = check_method(method)
    grid = _steps(steps)
    return StepSweep(grid, step_sweep_values(cost_fn, parameters, gradients, grid, method), method)


def _steps(steps: Any) -> np.ndarray:
    grid = SWEEP_STEPS.copy() if steps is None else np.array(as_array("steps", steps), dtype=np.float64).reshape(-1)
    if grid.size == 0 or not (np.isfinite(grid).all() and (grid > 0).all()):
        raise ValueError(f"steps must be positive finite numbers, but got {grid}")
    return grid


def _moved(sign: str, direction: int) -> Callable[[], str]:
    return lambda: f"x was moved by {sign}h along random direction {direction}"
