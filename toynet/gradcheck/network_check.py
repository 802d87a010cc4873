"""The gradient check of a network: every entry of theta = dictionary_to_vector(parameters), and its sparse,
directional and epsilon-sweep forms.

Read in order: an evaluator gives J(theta + delta e_i) -> `numerical_entries` turns those costs into derivatives
-> `aware.judge` judges them against measured error bars -> report.py presents the result. Two evaluators:
  incremental  toynet's own network cost (Network.cost_function): `Perturbations` recomputes only the
               layers at and above entry i, for a whole chunk of entries in one matrix product; it also
               tells which perturbations crossed a ReLU kink. (A cost function may also offer its own
               engine as `cost_fn.perturbations(parameters)`, e.g. a wrapper that counts evaluations.)
  loop         any cost_fn(parameters) -> float: one call per evaluation, the course's algorithm.
Chunks are sized so their temporaries stay near MEMORY_BUDGET bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from toynet.gradcheck.aware import Judgement, judge, judge_directions
from toynet.gradcheck.causes import CLEAR_LOGIT, Cause, InputGuard, saturated_cause, saturated_outputs
from toynet.gradcheck.measures import norm, relative_difference
from toynet.gradcheck.noise import NoiseEstimate, chosen_step
from toynet.gradcheck.numerical import (
    check_epsilon,
    check_epsilons,
    check_method,
    check_positive_int,
    check_threshold,
    combine,
    default_epsilon,
    evaluate_complex,
    perturbation_offsets,
    scalar_value,
)
from toynet.gradcheck.perturbations import Perturbations
from toynet.gradcheck.report import (
    BlockTable,
    DirectionalCheck,
    GradientCheckReport,
    SparseCheck,
    StepSweep,
    entry_at,
)
from toynet.network import CostFunction
from toynet.params import ParamLayout

CostFn = Callable[[Mapping[str, np.ndarray]], Any]
MEMORY_BUDGET = 64 * 2**20  # bytes of temporaries per chunk
LOOP_CHUNK = 64  # evaluations between progress-bar updates in the plain loop
ONLY_FLOAT64 = frozenset({np.dtype(np.float64)})  # the dtypes of a check with nothing in lower precision
PROGRESS_CHUNKS = 200  # show a progress bar (progress=None) when a check takes at least this many chunks


# ------------------------------------------------------------------------------------------ the inputs


@dataclass
class CheckInput:
    """A check's validated inputs: the layout, theta and the gradient as fresh float64 (n,) vectors, and the
    lowest float precision among the caller's arrays (None when every one is float64 or complex)."""

    layout: ParamLayout
    theta: np.ndarray
    grad: np.ndarray
    low_precision: np.dtype | None


def _prepare(parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray]) -> CheckInput:
    """The one validation of a network check's parameters and gradients dicts (params.ParamLayout.read)."""
    layout = ParamLayout.from_parameters(parameters)
    if layout.size == 0:
        raise ValueError(f"parameters must hold at least one number to check, but every array is empty: "
                         f"{', '.join(f'{b.name} {b.shape}' for b in layout.blocks)}")
    blocks, theta = layout.read(parameters)  # fresh vectors: the caller's arrays are never written
    grad_blocks, grad = layout.read(gradients, prefix="d", what="gradients")
    theta, grad = theta.astype(np.float64, copy=False), grad.astype(np.float64, copy=False)
    dtypes = {array.dtype for array in (*blocks, *grad_blocks)}
    if dtypes == ONLY_FLOAT64:  # the usual case
        return CheckInput(layout, theta, grad, None)
    lowest = max(dtypes, key=_eps)
    return CheckInput(layout, theta, grad, lowest if _eps(lowest) > _eps(np.float64) else None)


@lru_cache(maxsize=64)
def _block_ranges(layout: ParamLayout) -> tuple[tuple[int, int], ...]:
    """Each block's [start, stop) in theta, worked out once per layout."""
    return tuple((block.start, block.stop) for block in layout.blocks)


def _eps(dtype: Any) -> float:
    """np.finfo(dtype).eps as a float."""
    return float(np.finfo(dtype).eps)


# ------------------------------------------------------------------------------------------ evaluators


class Evaluator(Protocol):
    """Costs at theta + offsets[j] e_i: costs(indices, offsets) -> ((k, D) values, (k,) kink flags or None)."""

    @property
    def cost(self) -> float: ...  # J(theta)

    cost_dtype: np.dtype

    def chunks(self, indices: np.ndarray, num_offsets: int) -> list[np.ndarray]: ...

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class IncrementalEvaluator:
    """Wraps a `Perturbations` engine: recomputes only the layers above each entry."""

    cost_dtype = np.dtype(np.float64)

    def __init__(self, perturbations: Perturbations) -> None:
        self.perturbations = perturbations

    @property
    def cost(self) -> float:  # read after the costs: the engine computes J(theta) alongside them
        return self.perturbations.cost

    def chunks(self, indices: np.ndarray, num_offsets: int) -> list[np.ndarray]:
        return list(self.perturbations.chunks(indices, num_offsets, MEMORY_BUDGET))

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        values, crossed = self.perturbations.costs(indices, offsets)
        return values, crossed if self.perturbations.detects_kinks else None


class LoopEvaluator:
    """Any cost_fn(parameters) -> float: one call per perturbed theta, on a fresh parameters dict each time."""

    def __init__(self, cost_fn: CostFn, layout: ParamLayout, theta: np.ndarray) -> None:
        self.cost_fn, self.layout, self.theta = cost_fn, layout, theta
        value = cost_fn(layout.split(theta))
        self.cost = float(scalar_value(value, lambda: "theta was not perturbed").real)
        dtype = np.asarray(value).dtype
        self.cost_dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)

    def chunks(self, indices: np.ndarray, num_offsets: int) -> list[np.ndarray]:
        return [indices[start : start + LOOP_CHUNK] for start in range(0, indices.size, LOOP_CHUNK)]

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        values = np.empty((indices.size, offsets.size), dtype=offsets.dtype)
        work = self.theta.astype(offsets.dtype)  # a private copy: the caller's arrays are never touched
        for row, i in enumerate(indices):
            for j, offset in enumerate(offsets):
                work[i] = self.theta[i] + offset
                parameters = self.layout.split(work)
                where = _where(self.layout, int(i), offset)
                if np.iscomplexobj(offsets):
                    values[row, j] = evaluate_complex(self.cost_fn, parameters, where)
                else:
                    values[row, j] = scalar_value(self.cost_fn(parameters), where)
            work[i] = self.theta[i]
        return values, None


def make_evaluator(cost_fn: CostFn, layout: ParamLayout, theta: np.ndarray, batch: bool = True) -> Evaluator:
    """The fastest evaluator cost_fn supports (batch=False forces the plain loop); theta already validated."""
    if not callable(cost_fn):
        raise TypeError(f"cost_fn must be a function of the parameters dict, but got {type(cost_fn).__name__}")
    own = getattr(cost_fn, "layout", None)
    if batch and (own is layout or own == layout):
        if isinstance(cost_fn, CostFunction):  # the engine takes its blocks as views of theta
            return IncrementalEvaluator(Perturbations(cost_fn.network, cost_fn.X, cost_fn.Y, theta=theta))
        if hasattr(cost_fn, "perturbations"):
            return IncrementalEvaluator(cost_fn.perturbations(_views(layout, theta)))
    return LoopEvaluator(cost_fn, layout, theta)


def _views(layout: ParamLayout, theta: np.ndarray) -> dict[str, np.ndarray]:
    """theta's blocks as views {"W1": ..., "b1": ...}, in course order (no copy: for a vector no caller shares)."""
    return {b.name: theta[b.start : b.stop].reshape(b.shape) for b in layout.blocks}


def numerical_entries(evaluator: Evaluator, layout: ParamLayout, indices: np.ndarray, epsilon: float, method: str,
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
        _check_values(values, layout, chunk, offsets)
        numeric.append(combine(values, epsilon, method))
        crossed.append(np.zeros(chunk.size, dtype=bool) if flags is None else flags)
    if len(numeric) == 1:  # one chunk (a small network): its own fresh arrays
        return numeric[0], crossed[0]
    return np.concatenate(numeric or [np.zeros(0)]), np.concatenate(crossed or [np.zeros(0, dtype=bool)])


# ------------------------------------------------------------------------------------------ the checks


def gradient_check_n(
    cost_fn: CostFn,
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    epsilon: float | None = None,
    method: str = "central",
    threshold: float = 2e-7,
    top_k: int = 3,
    *,
    progress: bool | None = None,
    batch: bool = True,
) -> GradientCheckReport:
    """Compare the backward's gradients with numerical ones for every entry of theta, block by block, against
    the numerical gradient's own measured error.

    cost_fn: parameters dict -> cost (toynet's `network.cost_function(X, Y)` is fastest).  parameters:
    {"W1", "b1", ...}; gradients: {"dW1", "db1", ...} (other keys ignored), same shapes.  epsilon: the
    step (None -> chosen from the cost's measured noise sigma and third derivative: h* = (3 sigma /
    |J'''|)^(1/3), ~1e-5 for a clean float64 cost; 1e-7 reproduces the course). threshold: on formula 2
    (the course's 2e-7), raised to sqrt(eps) of the dtype for float32 inputs; it sets the words, not the verdict.

    The verdict (toynet.gradcheck.aware, errorbars): the cost's noise is measured (Moré and Wild's ECnoise
    on a few coordinates), every numerical entry gets an error bar (noise / step, truncation from the step
    doubled and halved where needed, the backward's own round-off), and a block fails only where some entry
    lies beyond twice its bar, or its errors together exceed their noise (a chi-square). `passed` means the
    backward agrees with the numerical gradient within that gradient's own error. A random cost, or one that
    writes into its argument, makes the check inconclusive (report.verdict) with the cause named and no block
    blamed; report.causes names whatever may mislead, and what to do.
    """
    method = check_method(method)
    threshold = check_threshold(threshold)
    if not (isinstance(top_k, (int, np.integer)) and top_k >= 0):
        raise ValueError(f"top_k must be a non-negative int, but got {top_k!r}")
    given = _prepare(parameters, gradients)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    warnings, raised = _precision_warnings(given, threshold)
    evaluator = make_evaluator(cost_fn, given.layout, given.theta, batch)
    judgement = _judge(cost_fn, given, evaluator, epsilon, method, raised, progress=progress)
    if epsilon is not None:
        warnings += _step_warnings(judgement, given, method, raised)
    return _report(given, judgement, method, raised, top_k, warnings)


def _precision_warnings(given: CheckInput, threshold: float) -> tuple[list[str], float]:
    """The warning for float32 parameters or gradients, and the threshold raised to sqrt(eps) for them."""
    if given.low_precision is None:
        return [], threshold
    low = given.low_precision
    raised = max(threshold, float(np.sqrt(np.finfo(low).eps)))
    return [
        f"parameters or gradients are {low.name}: the numerical gradient is computed in float64, and the "
        f"threshold is raised from {threshold:.1e} to {raised:.1e} (sqrt of {low.name} eps), since the analytic "
        f"gradient itself carries {low.name} round-off (its error bars include it)."
    ], raised


def _judge(cost_fn: CostFn, given: CheckInput, evaluator: Evaluator, epsilon: float | None, method: str,
           threshold: float, chosen: np.ndarray | None = None, progress: bool | None = None) -> Judgement:
    """`aware.judge` on a network check: the evaluator's costs, its entries, the blocks of theta (or of the
    `chosen` entries), saturated outputs looked up for toynet's own networks. A cost that is not toynet's
    is run once at theta through an `InputGuard` first: one that writes into its argument is named."""
    layout, theta, grad = given.layout, given.theta, given.grad
    picked = np.arange(layout.size) if chosen is None else chosen
    early: list[Cause] = []
    saturation: Callable[[NoiseEstimate], Cause | None] | None = None
    trouble: Callable[[], bool] | None = None  # cheap signs of trouble only this caller can see (aware.judge)
    repeat_gap = 0.0
    if isinstance(evaluator, IncrementalEvaluator):  # toynet's own network cost (or a wrapper of one): deterministic
        engine = evaluator.perturbations

        def outputs() -> tuple[np.ndarray, np.ndarray]:  # A at theta (the engine has it after the check) and Y
            A = engine.output_at_theta() if isinstance(engine, Perturbations) else cost_fn.network.predict_proba(
                cost_fn.X, layout.split(theta))
            return A, np.asarray(cost_fn.Y, dtype=np.float64).reshape(A.shape)  # type: ignore[attr-defined]

        def trouble() -> bool:
            logits = getattr(engine, "logits_at_theta", None)  # the stack's output pre-activations at theta
            if logits is not None and float(np.abs(logits).max()) < CLEAR_LOGIT:
                return False  # no output near 0 or 1: nothing to look up
            return saturated_outputs(*outputs())

        def saturation(estimate: NoiseEstimate) -> Cause | None:
            return saturated_cause(*outputs(), estimate)
    else:
        guard = InputGuard(cost_fn)
        value = guard(layout.split(theta))
        early += [c for c in (guard.cause("cost_fn"),) if c is not None]
        # the guard's call and the evaluator's are two plain calls at theta: a deterministic cost repeats its bits
        repeat_gap = abs(float(scalar_value(value, lambda: "theta was not perturbed").real) - evaluator.cost)

    def entries(indices: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        shown = progress if indices.size == picked.size else False
        return numerical_entries(evaluator, layout, indices, step, method, shown)

    names: list[str] = layout.names
    ranges: Sequence[tuple[int, int]] = _block_ranges(layout)  # every entry: each block's own range
    if chosen is not None:  # each block's run of picked entries (picked is sorted)
        runs = [(block.name, *np.searchsorted(picked, [block.start, block.stop]).tolist()) for block in layout.blocks]
        names, ranges = [name for name, first, last in runs if last > first], [
            (first, last) for _, first, last in runs if last > first]
    def cost() -> float:  # read after the first costs: the engine computes J(theta) alongside them
        return evaluator.cost

    return judge(evaluator.costs, entries, ranges, names, theta, grad if chosen is None else grad[picked], cost,
                 epsilon=epsilon,
                 method=method, threshold=threshold, grad_eps=_eps(given.low_precision or np.float64),
                 cost_dtype=evaluator.cost_dtype, early=early, saturation=saturation, label=layout.label,
                 chosen=picked, trouble=trouble, repeat_gap=repeat_gap)


def numerical_gradient_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], epsilon: float | None = None,
                         method: str = "central") -> np.ndarray:
    """dJ/dtheta for every entry of theta = dictionary_to_vector(parameters): (n, 1), batched like gradient_check_n
    (toynet's `network.cost_function(X, Y)` is fastest). epsilon: None -> `default_epsilon(theta, network=True)`."""
    method = check_method(method)
    layout = ParamLayout.from_parameters(parameters)
    theta = layout.read(parameters)[1].astype(np.float64, copy=False)
    evaluator = make_evaluator(cost_fn, layout, theta)
    if epsilon is None:
        epsilon = default_epsilon(theta, method, evaluator.cost_dtype, network=True)
    numeric, _ = numerical_entries(evaluator, layout, np.arange(layout.size), check_epsilon(epsilon), method, False)
    return numeric.reshape(-1, 1)


def step_sweep_n(
    cost_fn: CostFn,
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    epsilons: Any = None,
    method: str = "central",
) -> StepSweep:
    """Formula 2 over theta at each epsilon (default 1e-1 .. 1e-10), batched like gradient_check_n."""
    method = check_method(method)
    grid = check_epsilons(epsilons)
    given = _prepare(parameters, gradients)
    evaluator = make_evaluator(cost_fn, given.layout, given.theta)
    indices = np.arange(given.layout.size)
    differences = np.array([
        relative_difference(given.grad, numerical_entries(evaluator, given.layout, indices, float(e), method, False)[0])
        for e in grid
    ])
    return StepSweep(grid, differences, method)


def sparse_check_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                   num_checks: int = 10, epsilon: float | None = None, seed: int | None = 0,
                   method: str = "central", threshold: float = 2e-7) -> SparseCheck:
    """Numerical vs analytic for `num_checks` random entries of theta (seeded, without repetition): the network
    form of `grad_check_sparse`, each entry judged against its error bar as in `gradient_check_n` (the noise
    measured on the chosen entries' blocks); relative_difference: formula 2 over the chosen entries."""
    method = check_method(method)
    num_checks = check_positive_int(num_checks, "num_checks")
    threshold = check_threshold(threshold)
    given = _prepare(parameters, gradients)
    layout, grad = given.layout, given.grad
    evaluator = make_evaluator(cost_fn, layout, given.theta)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(layout.size, size=min(num_checks, layout.size), replace=False))
    judgement = _judge(cost_fn, given, evaluator, epsilon, method, threshold, chosen=indices)
    numeric = judgement.numeric
    entries = [entry_at(layout.block_of(int(i))[0], int(i), grad[i], numeric[n]) for n, i in enumerate(indices)]
    return SparseCheck.judged(entries, judgement)


def directional_check_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                        num_directions: int = 3, epsilon: float | None = None, seed: int | None = 0,
                        threshold: float = 1e-6) -> DirectionalCheck:
    """(J(theta + epsilon v) - J(theta - epsilon v)) / 2 epsilon against g . v along `num_directions` seeded
    random unit vectors v: the network form of `directional_check`, each direction judged against its error bar
    (the noise measured along the directions themselves, when the a-priori bars cannot settle it).

    Plain calls of cost_fn, 2 num_directions + 2 of them on a clean pass: one at theta through an `InputGuard`
    (a cost that writes into its argument is named), a second at theta (two calls that differ name a random
    cost: their gap is the repeat evidence `judge` needs), and two per direction."""
    num_directions = check_positive_int(num_directions, "num_directions")
    threshold = check_threshold(threshold)
    given = _prepare(parameters, gradients)
    epsilon = None if epsilon is None else check_epsilon(epsilon)
    if not callable(cost_fn):
        raise TypeError(f"cost_fn must be a function of the parameters dict, but got {type(cost_fn).__name__}")
    layout, theta = given.layout, given.theta
    guard = InputGuard(cost_fn)
    guarded = guard(_views(layout, theta))  # the guard hands cost_fn its own copy: theta is never written
    repeated = cost_fn(layout.split(theta))  # the second plain call at theta, on fresh arrays
    cost = float(scalar_value(repeated, lambda: "theta was not moved").real)
    gap = abs(float(scalar_value(guarded, lambda: "theta was not moved").real) - cost)
    dtype = np.asarray(repeated).dtype

    def along(point: np.ndarray) -> Any:  # point is a fresh vector per evaluation: its views need no copy
        return cost_fn(_views(layout, point))

    judgement = judge_directions(along, theta, given.grad, num_directions, seed, cost, epsilon, threshold,
                                 grad_eps=_eps(given.low_precision or np.float64),
                                 early=[c for c in (guard.cause("cost_fn"),) if c is not None], network=True,
                                 repeat_gap=gap, cost_dtype=dtype if dtype.kind == "f" else np.float64)
    return DirectionalCheck.judged(judgement)


# ------------------------------------------------------------------------------------------ the verdict


def _step_warnings(judgement: Judgement, given: CheckInput, method: str, threshold: float) -> list[str]:
    """Say when a given step itself, not the backward, limits the difference (its measured noise / step)."""
    if method == "complex":
        return []
    estimate = judgement.estimate
    scale = math.sqrt(float(given.theta.dot(given.theta)) / given.theta.size) if given.theta.size else 1.0  # rms
    best = chosen_step(estimate.noise, estimate.third, scale)
    noise = estimate.noise / judgement.step  # one numerical entry's noise, ~ sigma / h
    size = norm(given.grad) + norm(judgement.numeric)
    expected = noise * np.sqrt(given.grad.size) / size if size > 0 else np.inf
    if judgement.step < best / 10 and expected > threshold / 10:
        seen = "measured noise" if judgement.measured else "round-off (a-priori, not measured)"
        source = "the measurement suggests" if judgement.measured else "that round-off suggests"
        return [
            f"epsilon={judgement.step:.0e} is in the round-off regime: the cost's {seen} "
            f"{estimate.noise:.1e} is divided by epsilon, so each numerical entry carries an error of about "
            f"{noise:.1e} (a difference of about {expected:.1e}), growing like 1/epsilon. The step "
            f"{source}, {best:.0e} (epsilon=None), is more accurate."
        ]
    return []


def _report(given: CheckInput, judgement: Judgement, method: str, threshold: float, top_k: int,
            warnings: list[str]) -> GradientCheckReport:
    """The report of a judged network check: the course's number, the verdict per block, the causes."""
    layout, grad, numeric, bars = given.layout, given.grad, judgement.numeric, judgement.bars
    keep = bars.kept
    # entries left out count for nothing (the a-priori path keeps every entry: its errors are the bars' own)
    errors = np.where(keep, np.abs(grad - numeric), 0.0) if judgement.measured else bars.error
    table = BlockTable(layout, judgement.blocks, grad, numeric, errors, keep, top_k)
    left_out = np.flatnonzero(~keep) if judgement.measured else ()
    kinks = [entry_at(layout.block_of(int(i))[0], int(i), grad[i], numeric[i]) for i in left_out]
    difference = judgement.difference  # the course's number, to the bit (formula 2 of grad and numeric)
    without = relative_difference(grad[keep], numeric[keep]) if kinks else difference
    if not judgement.measured:
        warnings = [*warnings, judgement.note]
    return GradientCheckReport(
        difference=difference,
        passed=judgement.passed,
        failing_blocks=list(judgement.failing_blocks),
        _table=table,
        epsilon=judgement.step,
        method=method,
        threshold=threshold,
        analytical_gradient=grad.reshape(-1, 1),
        numerical_gradient=numeric.reshape(-1, 1),
        warnings=warnings,
        kinks=kinks,
        difference_without_kinks=without,
        verdict=judgement.verdict,
        causes=list(judgement.causes),
        noise=judgement.estimate.noise,
        noise_evaluations=judgement.estimate.evaluations,
        evaluations=judgement.evaluations,
        bar_difference=judgement.bar_difference,
        error_bars=bars.bar.reshape(-1, 1),
    )


def _check_values(values: np.ndarray, layout: ParamLayout, chunk: np.ndarray, offsets: np.ndarray) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        where = _where(layout, int(chunk[row]), offsets[column])()
        raise FloatingPointError(f"cost_fn returned {values[row, column]} when {where}")


def _where(layout: ParamLayout, position: int, offset: Any) -> Callable[[], str]:
    def describe() -> str:
        block, index = layout.block_of(position)
        shown = f"{offset.imag:+.3g}j" if np.iscomplexobj(offset) else f"{offset:+.3g}"
        return f"{block.name}[{', '.join(map(str, index))}] (theta[{position}]) was perturbed by {shown}"

    return describe


