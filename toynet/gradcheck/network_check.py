"""One `Problem` (built by the array and the network forms) and three checks on it: every entry (`full_check`),
random entries (`sparse_check`), random directions (`directional_check_of`); and the network forms.

A `Problem` -> an evaluator gives J(theta + delta e_i): toynet's own network cost through the incremental engine
(`Perturbations`, which also flags ReLU kinks crossed), any other function in a plain loop -> `numerical_entries`
-> `aware.judge` -> `_report`, the one result type (report.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from toynet.gradcheck.aware import Judgement, judge, random_directions
from toynet.gradcheck.causes import Cause, InputGuard, saturated_cause, saturated_outputs
from toynet.gradcheck.measures import norm, relative_difference
from toynet.gradcheck.noise import NoiseEstimate, chosen_step
from toynet.gradcheck.numerical import (
    check_epsilon,
    check_epsilons,
    check_method,
    check_threshold,
    combine,
    default_epsilon,
    describe,
    evaluate_complex,
    perturbation_offsets,
    scalar_value,
)
from toynet.gradcheck.perturbations import Perturbations
from toynet.gradcheck.report import BlockTable, Entry, GradientCheckReport, StepSweep
from toynet.network import CostFunction
from toynet.params import ParamLayout

CostFn = Callable[[Mapping[str, np.ndarray]], Any]
MEMORY_BUDGET = 64 * 2**20  # bytes of temporaries per chunk
LOOP_CHUNK = 64  # evaluations between progress-bar updates in the plain loop
PROGRESS_CHUNKS = 200  # show a progress bar (progress=None) when a check takes at least this many chunks


@dataclass
class Problem:
    """What a check judges: the layout of theta (blocks in order), theta and the analytic gradient as fresh float64
    (n,) vectors, the lowest float precision among the caller's arrays (None: all float64 or complex), and fn,
    the caller's function: cost_fn(parameters dict), or f(x) when `shape` is x's (one block named "x")."""

    layout: ParamLayout
    theta: np.ndarray
    grad: np.ndarray
    low_precision: np.dtype | None
    fn: Callable[[Any], Any]
    shape: tuple[int, ...] | None = None

    network = property(lambda self: self.shape is None)
    names = property(lambda self: ("cost_fn", "theta") if self.network else ("f", "x"), doc="as messages call them")
    grad_eps = property(lambda self: float(np.finfo(self.low_precision or np.float64).eps))

    def argument(self, vector: np.ndarray) -> Any:
        """fn's argument at a flat vector no one else holds: x's shape, or a dict of views (no copy)."""
        if self.shape is not None:
            return vector.reshape(self.shape)
        return {b.name: vector[b.start : b.stop].reshape(b.shape) for b in self.layout.blocks}

    def __call__(self, vector: np.ndarray) -> Any:
        return self.fn(self.argument(vector))

    def value(self, value: Any) -> float:
        """fn's value at theta as a float, or a clear error."""
        return float(np.real(scalar_value(value, lambda: f"{self.names[1]} was not perturbed")))

    def guarded(self) -> tuple[Any, list[Cause]]:
        """fn at theta through an `InputGuard` (on a private copy), and the cause if it wrote into its input."""
        guard = InputGuard(self.fn)
        value = guard(self.argument(self.theta))
        return value, [c for c in (guard.cause(self.names[0]),) if c is not None]


def network_problem(cost_fn: CostFn, parameters: Mapping[str, np.ndarray],
                    gradients: Mapping[str, np.ndarray] | None) -> Problem:
    """The one validation of a network check's inputs (params.ParamLayout.read); gradients None: zeros."""
    layout = ParamLayout.from_parameters(parameters)
    if layout.size == 0:
        raise ValueError(f"parameters must hold at least one number to check, but every array is empty: "
                         f"{', '.join(f'{b.name} {b.shape}' for b in layout.blocks)}")
    blocks, theta = layout.read(parameters)  # fresh vectors: the caller's arrays are never written
    grad_blocks, grad = layout.read(gradients, prefix="d", what="gradients") if gradients is not None else (
        [], np.zeros(layout.size))
    if not callable(cost_fn):
        raise TypeError(f"cost_fn must be a function of the parameters dict, but got {type(cost_fn).__name__}")
    lowest = max({array.dtype for array in (*blocks, *grad_blocks)}, key=lambda d: np.finfo(d).eps)
    low = lowest if np.finfo(lowest).eps > np.finfo(np.float64).eps else None
    return Problem(layout, theta.astype(np.float64, copy=False), grad.astype(np.float64, copy=False), low, cost_fn)


# ------------------------------------------------------------------------------------------ evaluators


class IncrementalEvaluator:
    """Wraps a `Perturbations` engine: recomputes only the layers above each entry."""

    cost_dtype = np.dtype(np.float64)

    def __init__(self, problem: Problem, perturbations: Perturbations) -> None:
        self.problem, self.perturbations = problem, perturbations

    cost = property(lambda self: self.perturbations.cost)  # read after the costs: computed alongside them

    def chunks(self, indices: np.ndarray, num_offsets: int) -> list[np.ndarray]:
        return list(self.perturbations.chunks(indices, num_offsets, MEMORY_BUDGET))

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        values, crossed = self.perturbations.costs(indices, offsets)
        return values, crossed if self.perturbations.detects_kinks else None


class LoopEvaluator:
    """Any function: one plain call per perturbed theta, on a fresh vector each time (its own cost at theta first)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        value = problem(problem.theta.copy())
        self.cost = problem.value(value)
        dtype = np.asarray(value).dtype
        self.cost_dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)

    def chunks(self, indices: np.ndarray, num_offsets: int) -> list[np.ndarray]:
        return [indices[start : start + LOOP_CHUNK] for start in range(0, indices.size, LOOP_CHUNK)]

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        problem, values = self.problem, np.empty((indices.size, offsets.size), dtype=offsets.dtype)
        for row, i in enumerate(indices):
            for j, offset in enumerate(offsets):
                point = problem.theta.astype(offsets.dtype)  # a private copy: the caller's arrays are never touched
                point[i] += offset
                where = _where(problem, int(i), offset)
                if np.iscomplexobj(offsets):
                    values[row, j] = evaluate_complex(problem.fn, problem.argument(point), where)
                else:
                    values[row, j] = scalar_value(problem(point), where)
        return values, None


Evaluator = IncrementalEvaluator | LoopEvaluator


def make_evaluator(problem: Problem, batch: bool = True) -> Evaluator:
    """The fastest evaluator the problem's function supports (batch=False forces the plain loop)."""
    fn, layout = problem.fn, problem.layout
    own = getattr(fn, "layout", None)
    if batch and problem.network and (own is layout or own == layout):
        if isinstance(fn, CostFunction):  # the engine takes its blocks as views of theta
            return IncrementalEvaluator(problem, Perturbations(fn.network, fn.X, fn.Y, theta=problem.theta))
        if hasattr(fn, "perturbations"):
            return IncrementalEvaluator(problem, fn.perturbations(problem.argument(problem.theta)))
    return LoopEvaluator(problem)


def numerical_entries(evaluator: Evaluator, indices: np.ndarray, epsilon: float, method: str,
                      progress: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The numerical derivative dJ/dtheta_i for i in indices, and which of them crossed a ReLU kink."""
    offsets = perturbation_offsets(epsilon, method)
    chunks = evaluator.chunks(indices, offsets.size)
    steps: Any = chunks
    if progress or (progress is None and len(chunks) >= PROGRESS_CHUNKS):
        from tqdm.auto import tqdm  # imported only when a bar is wanted

        steps = tqdm(chunks, desc="gradient check", unit="chunk", leave=False)
    numeric, crossed = [], []
    for chunk in steps:
        values, flags = evaluator.costs(chunk, offsets)
        finite = np.isfinite(values)
        if not finite.all():
            row, column = np.argwhere(~finite)[0]
            where = _where(evaluator.problem, int(chunk[row]), offsets[column])()
            raise FloatingPointError(f"{evaluator.problem.names[0]} returned {values[row, column]} when {where}")
        numeric.append(combine(values, epsilon, method))
        crossed.append(np.zeros(chunk.size, dtype=bool) if flags is None else flags)
    return np.concatenate(numeric or [np.zeros(0)]), np.concatenate(crossed or [np.zeros(0, dtype=bool)])


def _where(problem: Problem, position: int, offset: Any) -> Callable[[], str]:
    suffix = f" (theta[{position}])" if problem.network else ""  # the message names the entry lazily (on an error)
    return lambda: describe(f"{problem.layout.label(position)}{suffix}", offset)


# ------------------------------------------------------------------------------------------ the three checks


def full_check(problem: Problem, epsilon: float | None, method: str, threshold: float, top_k: int = 3,
               progress: bool | None = None, batch: bool = True) -> GradientCheckReport:
    """Every entry of theta judged against its error bar; float32 inputs raise the threshold (a warning says so)."""
    warnings, threshold = _precision_warnings(problem, threshold)
    evaluator = make_evaluator(problem, batch)
    judgement = _judge(problem, evaluator, epsilon, method, threshold, progress=progress)
    if epsilon is not None:
        warnings += _step_warnings(judgement, problem, method, threshold)
    return _report(problem, judgement, "full", np.arange(problem.layout.size), method, threshold, top_k, warnings)


def sparse_check(problem: Problem, num_checks: int, epsilon: float | None, seed: int | None, method: str,
                 threshold: float) -> GradientCheckReport:
    """`num_checks` random entries (seeded, without repetition), each judged against its error bar."""
    size = problem.layout.size
    chosen = np.sort(np.random.default_rng(seed).choice(size, size=min(num_checks, size), replace=False))
    judgement = _judge(problem, make_evaluator(problem), epsilon, method, threshold, chosen=chosen)
    return _report(problem, judgement, "sparse", chosen, method, threshold)


def directional_check_of(problem: Problem, num_directions: int, epsilon: float | None, seed: int | None,
                         threshold: float) -> GradientCheckReport:
    """(J(theta + h v) - J(theta - h v)) / 2h against g . v along `num_directions` seeded `random_directions`: 2
    num_directions + 2 plain calls of fn on a clean pass, one at theta through an `InputGuard`, a second (two that
    differ name a random cost), two per direction, each on a fresh vector (theta itself never reaches fn)."""
    theta, name = problem.theta, problem.names[1]
    guarded, early = problem.guarded()
    repeated = problem(theta.copy())
    cost = problem.value(repeated)
    dtype = np.asarray(repeated).dtype
    directions = random_directions(num_directions, theta.size, seed)

    def costs(indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, None]:
        values = np.empty((indices.size, offsets.size))
        for row, d in enumerate(indices):
            for column, offset in enumerate(offsets):
                point = np.multiply(directions[d], offset)  # theta + offset v in one fresh vector
                point += theta
                values[row, column] = scalar_value(problem(point), partial(
                    "{} was moved by {:+.3g} along direction {}".format, name, float(offset), int(d)))
        return values, None

    def entries(indices: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        values, _ = costs(indices, perturbation_offsets(step, "central"))
        return combine(values, step, "central"), np.zeros(indices.size, dtype=bool)

    judgement = judge(costs, entries, [(0, num_directions)], ["directions"], np.zeros(num_directions),
                      directions @ problem.grad, cost, epsilon=epsilon, method="central", threshold=threshold,
                      grad_eps=problem.grad_eps, cost_dtype=dtype if dtype.kind == "f" else np.float64, early=early,
                      label=lambda d: f"direction {d}", scale=float(np.sqrt(theta.dot(theta) / theta.size)),
                      repeat_gap=abs(problem.value(guarded) - cost), network=problem.network)
    return _report(problem, judgement, "directional", None, "central", threshold)


def _judge(problem: Problem, evaluator: Evaluator, epsilon: float | None, method: str, threshold: float,
           chosen: np.ndarray | None = None, progress: bool | None = None) -> Judgement:
    """`aware.judge` of the problem's entries (all, or the sorted `chosen`) block by block. toynet's own network
    costs are deterministic and have their saturated outputs looked up; any other function is run once at theta
    through an `InputGuard` (one that writes into its argument is named) beside the evaluator's own call."""
    layout = problem.layout
    picked = np.arange(layout.size) if chosen is None else chosen
    early: list[Cause] = []
    saturation: Callable[[NoiseEstimate], Cause | None] | None = None
    trouble: Callable[[], bool] | None = None  # cheap signs of trouble only this caller can see (aware.judge)
    gap = 0.0
    if isinstance(evaluator, IncrementalEvaluator):
        saturation, trouble = _saturation(problem, evaluator.perturbations)
    else:
        value, early = problem.guarded()
        gap = abs(problem.value(value) - evaluator.cost)  # two plain calls: a deterministic cost repeats its bits

    def entries(indices: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        return numerical_entries(evaluator, indices, step, method, progress if indices.size == picked.size else False)

    runs = _runs(layout, picked, keep_empty=chosen is None)
    return judge(evaluator.costs, entries, [(start, stop) for _, _, start, stop in runs], [run[0] for run in runs],
                 problem.theta, problem.grad[picked], lambda: evaluator.cost, epsilon=epsilon, method=method,
                 threshold=threshold, grad_eps=problem.grad_eps, cost_dtype=evaluator.cost_dtype, early=early,
                 saturation=saturation, label=layout.label, chosen=picked, trouble=trouble, repeat_gap=gap,
                 network=problem.network)


def _runs(layout: ParamLayout, picked: np.ndarray, keep_empty: bool) -> list[tuple[str, tuple[int, ...], int, int]]:
    """Each block's name, shape and run [start, stop) of the sorted `picked` entries (empty runs kept or not)."""
    edges = [b.start for b in layout.blocks] + [layout.size]
    edges = edges if keep_empty else np.searchsorted(picked, edges).tolist()  # keep_empty: picked is every entry
    runs = [(b.name, b.shape, start, stop) for b, start, stop in zip(layout.blocks, edges, edges[1:], strict=False)]
    return [run for run in runs if keep_empty or run[3] > run[2]]


def _saturation(problem: Problem, engine: Any) -> tuple[Callable[[NoiseEstimate], Cause | None], Callable[[], bool]]:
    """For toynet's own network costs: the saturated-outputs cause given an estimate, and its cheap sign."""
    fn = problem.fn

    def outputs() -> tuple[np.ndarray, np.ndarray]:  # A at theta (the engine has it after the check) and Y
        A = engine.output_at_theta() if isinstance(engine, Perturbations) else fn.network.predict_proba(  # type: ignore[attr-defined]
            fn.X, problem.layout.split(problem.theta))  # type: ignore[attr-defined]
        return A, np.asarray(fn.Y, dtype=np.float64).reshape(A.shape)  # type: ignore[attr-defined]

    return lambda estimate: saturated_cause(*outputs(), estimate), lambda: saturated_outputs(*outputs())


# ------------------------------------------------------------------------------------------ the report


def _precision_warnings(problem: Problem, threshold: float) -> tuple[list[str], float]:
    """The warning for float32 inputs, and the threshold raised to sqrt(eps) for them."""
    low = problem.low_precision
    if low is None:
        return [], threshold
    raised = max(threshold, float(np.sqrt(np.finfo(low).eps)))
    what = "parameters or gradients are" if problem.network else "x is"
    return [f"{what} {low.name}: the numerical gradient is computed in float64, and the threshold is raised from "
            f"{threshold:.1e} to {raised:.1e} (sqrt of {low.name} eps), since the analytic gradient itself carries "
            f"{low.name} round-off (its error bars include it)."], raised


def _step_warnings(judgement: Judgement, problem: Problem, method: str, threshold: float) -> list[str]:
    """Say when a given step itself, not the backward, limits the difference (its measured noise / step)."""
    if method == "complex":
        return []
    estimate, grad = judgement.estimate, problem.grad
    best = chosen_step(estimate.noise, estimate.third, float(np.sqrt(problem.theta.dot(problem.theta) / grad.size)))
    noise = estimate.noise / judgement.step  # one numerical entry's noise, ~ sigma / h
    size = norm(grad) + norm(judgement.numeric)
    expected = noise * np.sqrt(grad.size) / size if size > 0 else np.inf
    if judgement.step >= best / 10 or expected <= threshold / 10:
        return []
    seen = "measured noise" if judgement.measured else "round-off (a-priori, not measured)"
    source = "the measurement suggests" if judgement.measured else "that round-off suggests"
    return [f"epsilon={judgement.step:.0e} is in the round-off regime: the cost's {seen} {estimate.noise:.1e} is "
            f"divided by epsilon, so each numerical entry carries an error of about {noise:.1e} (a difference of "
            f"about {expected:.1e}), growing like 1/epsilon. The step {source}, {best:.0e} (epsilon=None), is more "
            f"accurate."]


def _report(problem: Problem, judgement: Judgement, kind: str, picked: np.ndarray | None, method: str,
            threshold: float, top_k: int = 3, warnings: list[str] | None = None) -> GradientCheckReport:
    """The one result type of every check: picked, the judged entries of theta (None: the directions)."""
    analytic, numeric, bars = judgement.analytic, judgement.numeric, judgement.bars
    keep = bars.kept
    # entries left out count for nothing (the a-priori path keeps every entry: its errors are the bars' own)
    errors = np.where(keep, np.abs(analytic - numeric), 0.0) if judgement.measured else bars.error

    def entry(j: int) -> Entry:
        a, n = float(analytic[j]), float(numeric[j])
        if picked is None:
            return Entry("direction", (j,), a, n, abs(a - n), j)
        block, index = problem.layout.block_of(int(picked[j]))
        return Entry(block.name, index, a, n, abs(a - n), int(picked[j]))

    k = analytic.size
    blocks = _runs(problem.layout, picked, kind == "full") if picked is not None else [("directions", (k,), 0, k)]
    kinks = [entry(int(j)) for j in np.flatnonzero(~keep)] if judgement.measured else []
    shape = (-1,) if kind != "full" else problem.shape or (-1, 1)
    return GradientCheckReport(
        difference=judgement.difference, passed=judgement.passed, failing_blocks=list(judgement.failing_blocks),
        epsilon=judgement.step, method=method, threshold=threshold, analytical_gradient=analytic.reshape(shape),
        numerical_gradient=numeric.reshape(shape), _table=BlockTable(blocks, judgement.blocks, entry, errors, keep,
                                                                     top_k),
        kind=kind, entries=[] if kind == "full" else [entry(j) for j in range(k)],
        warnings=[*(warnings or []), *([judgement.note] if not judgement.measured else [])], kinks=kinks,
        difference_without_kinks=relative_difference(analytic[keep], numeric[keep]) if kinks else judgement.difference,
        verdict=judgement.verdict, causes=list(judgement.causes), noise=judgement.estimate.noise,
        noise_evaluations=judgement.estimate.evaluations, evaluations=judgement.evaluations,
        bar_difference=judgement.bar_difference, error_bars=bars.bar.reshape(shape))


# ------------------------------------------------------------------------------------------ the network forms


def gradient_check_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                     epsilon: float | None = None, method: str = "central", threshold: float = 2e-7, top_k: int = 3,
                     *, progress: bool | None = None, batch: bool = True) -> GradientCheckReport:
    """Every entry of theta's numerical gradient against the backward's, block by block, within its error bar.

    cost_fn: parameters dict -> cost (toynet's `network.cost_function(X, Y)` is fastest); parameters {"W1", ...}
    (any names, in the order given), gradients {"dW1", ...} (other keys ignored). epsilon: None -> from the measured
    noise and |J'''| (1e-7 reproduces the course); threshold: formula 2's, for the words only (sqrt(eps) for
    float32). A block fails where an entry lies beyond twice its bar or its errors together exceed their noise; a
    random cost, or one that writes into its input, is inconclusive with the cause named (aware.judge)."""
    method, threshold, epsilon = check_method(method), check_threshold(threshold), _step(epsilon)
    if not (isinstance(top_k, (int, np.integer)) and top_k >= 0):
        raise ValueError(f"top_k must be a non-negative int, but got {top_k!r}")
    return full_check(network_problem(cost_fn, parameters, gradients), epsilon, method, threshold, top_k,
                      progress, batch)


def numerical_gradient_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], epsilon: float | None = None,
                         method: str = "central") -> np.ndarray:
    """dJ/dtheta for every entry of theta = dictionary_to_vector(parameters): (n, 1), batched like gradient_check_n.
    epsilon: None -> `default_epsilon(theta, network=True)`."""
    method = check_method(method)
    problem = network_problem(cost_fn, parameters, None)
    evaluator = make_evaluator(problem)
    if epsilon is None:
        epsilon = default_epsilon(problem.theta, method, evaluator.cost_dtype, network=True)
    indices = np.arange(problem.layout.size)
    return numerical_entries(evaluator, indices, check_epsilon(epsilon), method, False)[0].reshape(-1, 1)


def step_sweep_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                 epsilons: Any = None, method: str = "central") -> StepSweep:
    """Formula 2 over theta at each epsilon (default 1e-1 .. 1e-10), batched like gradient_check_n."""
    method, grid = check_method(method), check_epsilons(epsilons)
    problem = network_problem(cost_fn, parameters, gradients)
    evaluator, indices = make_evaluator(problem), np.arange(problem.layout.size)
    return StepSweep(grid, np.array([relative_difference(problem.grad, numerical_entries(
        evaluator, indices, float(e), method, False)[0]) for e in grid]), method)


def _step(epsilon: Any) -> float | None:
    return None if epsilon is None else check_epsilon(epsilon)
