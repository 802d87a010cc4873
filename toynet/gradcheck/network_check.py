"""The gradient check of a network: every entry of theta = dictionary_to_vector(parameters), and its sparse,
directional and epsilon-sweep forms.

Read in order: an evaluator gives J(theta + delta e_i) -> `numerical_entries` turns those costs into derivatives
-> `_verdict` judges them block by block -> report.py presents the result. Two evaluators:
  incremental  toynet's own network cost (Network.cost_function): `Perturbations` recomputes only the
               layers at and above entry i, for a whole chunk of entries in one matrix product; it also
               tells which perturbations crossed a ReLU kink. (A cost function may also offer its own
               engine as `cost_fn.perturbations(parameters)`, e.g. a wrapper that counts evaluations.)
  loop         any cost_fn(parameters) -> float: one call per evaluation, the course's algorithm.
Chunks are sized so their temporaries stay near MEMORY_BUDGET bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from toynet.gradcheck.measures import directional_errors, norm, relative_difference
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
PROGRESS_CHUNKS = 200  # show a progress bar (progress=None) when a check takes at least this many chunks
# The round-off a correct block may carry, per entry (see gradient_check_n): the backward's, in units of its
# dtype's eps times rms(gradient) (measured: at most ~40 on correct float32 gradients of nine network shapes,
# 150 points each, while a 1% error in any one block measured 300 or more), and the central difference's, in
# units of eps |J| / epsilon (on the course's case the difference grows like 20 eps |J| / epsilon as it shrinks).
ANALYTIC_ROUNDOFF = 100.0
NUMERIC_ROUNDOFF = 20.0


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
    blocks, theta = layout.read(parameters)  # fresh vectors: the caller's arrays are never written
    grad_blocks, grad = layout.read(gradients, prefix="d", what="gradients")
    theta, grad = theta.astype(np.float64, copy=False), grad.astype(np.float64, copy=False)
    dtypes = {a.dtype for a in blocks}.union(a.dtype for a in grad_blocks)
    lowest = max(dtypes, key=_eps) if len(dtypes) > 1 else dtypes.pop()
    return CheckInput(layout, theta, grad, lowest if _eps(lowest) > _eps(np.float64) else None)


@lru_cache(maxsize=16)
def _eps(dtype: Any) -> float:
    """np.finfo(dtype).eps as a float, cached: a check asks it several times, and np.finfo costs a microsecond."""
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
            views = {b.name: theta[b.start : b.stop].reshape(b.shape) for b in layout.blocks}  # course order
            return IncrementalEvaluator(cost_fn.perturbations(views))
    return LoopEvaluator(cost_fn, layout, theta)


def numerical_entries(evaluator: Evaluator, layout: ParamLayout, indices: np.ndarray, epsilon: float, method: str,
                      progress: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The numerical derivative dJ/dtheta_i for i in indices, and which of them crossed a ReLU kink."""
    offsets = perturbation_offsets(epsilon, method)
    chunks = evaluator.chunks(indices, offsets.size)
    numeric, crossed = np.empty(indices.size), np.zeros(indices.size, dtype=bool)
    steps: Any = chunks
    if progress or (progress is None and len(chunks) >= PROGRESS_CHUNKS):
        from tqdm.auto import tqdm  # imported only when a bar is wanted

        steps = tqdm(chunks, desc="gradient check", unit="chunk", leave=False)
    start = 0
    for chunk in steps:
        values, flags = evaluator.costs(chunk, offsets)
        _check_values(values, layout, chunk, offsets)
        numeric[start : start + chunk.size] = combine(values, epsilon, method)
        if flags is not None:
            crossed[start : start + chunk.size] = flags
        start += chunk.size
    return numeric, crossed


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
    """Compare the backward's gradients with numerical ones for every entry of theta, block by block.

    cost_fn: parameters dict -> cost (toynet's `network.cost_function(X, Y)` is fastest).  parameters:
    {"W1", "b1", ...}; gradients: {"dW1", "db1", ...} (other keys ignored), same shapes.  epsilon: the
    step (None -> `default_epsilon(theta, network=True)`, 2e-5 at |theta| ~ 1; 1e-7 reproduces the course).
    threshold: on formula 2 (the course's 2e-7), raised to sqrt(eps) of the dtype for float32 inputs.
    A block fails when its own relative difference is above the (raised) threshold *and* its error
    ||error_b|| is above both of
      - its share of an overall difference equal to the threshold as given, threshold * (||g|| +
        ||g_approx||) * sqrt(n_b / n) (the error spread evenly): too small to matter next to the whole;
      - the round-off its n_b entries may carry, sqrt(n_b) (100 eps_g rms(g) + 20 eps |J| / epsilon): the
        backward's in the gradients' own precision eps_g, the central difference's in the cost's.
    So round-off in a block whose gradient is ~0 is not called a bug, while a 1% error in a small block
    of a float32 backward still is (a floor scaled by the raised threshold hid it at 3% of points).
    """
    method = check_method(method)
    threshold = check_threshold(threshold)
    if not (isinstance(top_k, (int, np.integer)) and top_k >= 0):
        raise ValueError(f"top_k must be a non-negative int, but got {top_k!r}")
    given = _prepare(parameters, gradients)
    layout, theta, grad, low_precision = given.layout, given.theta, given.grad, given.low_precision
    warnings: list[str] = []
    raised = threshold
    if low_precision is not None:
        raised = max(threshold, float(np.sqrt(np.finfo(low_precision).eps)))
        warnings.append(
            f"parameters or gradients are {low_precision.name}: the numerical gradient is computed in float64, and "
            f"the threshold is raised from {threshold:.1e} to {raised:.1e} (sqrt of {low_precision.name} eps), "
            f"since the analytic gradient itself carries {low_precision.name} round-off."
        )
    evaluator = make_evaluator(cost_fn, layout, theta, batch)
    eval_dtype = evaluator.cost_dtype
    if _eps(eval_dtype) > _eps(np.float64):
        warnings.append(f"cost_fn computes in {eval_dtype.name}: the default step is scaled for that precision.")
    default = default_epsilon(theta, method, eval_dtype, network=True)
    epsilon = default if epsilon is None else check_epsilon(epsilon)
    numeric, crossed = numerical_entries(evaluator, layout, np.arange(layout.size), epsilon, method, progress)
    warnings += _step_warnings(evaluator.cost, eval_dtype, default, grad, numeric, epsilon, method, raised)
    mean_square = np.add.reduce(grad * grad) / grad.size  # np.mean's arithmetic, without its wrappers' overhead
    noise = ANALYTIC_ROUNDOFF * _eps(low_precision or np.float64) * math.sqrt(mean_square)
    if method != "complex":  # the complex step subtracts nothing: no round-off is divided by the step
        noise += NUMERIC_ROUNDOFF * _eps(eval_dtype) * max(abs(evaluator.cost), 1.0) / epsilon
    bar = Bar(epsilon, method, raised, threshold, noise, top_k)
    return _verdict(layout, grad, numeric, crossed, bar, warnings)


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
    form of `grad_check_sparse`; passed: formula 2 over the chosen entries within `threshold`."""
    method = check_method(method)
    num_checks = check_positive_int(num_checks, "num_checks")
    threshold = check_threshold(threshold)
    given = _prepare(parameters, gradients)
    layout, grad = given.layout, given.grad
    evaluator = make_evaluator(cost_fn, layout, given.theta)
    if epsilon is None:
        epsilon = default_epsilon(given.theta, method, evaluator.cost_dtype, network=True)
    epsilon = check_epsilon(epsilon)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(layout.size, size=min(num_checks, layout.size), replace=False))
    numeric, _ = numerical_entries(evaluator, layout, indices, epsilon, method, False)
    entries = [entry_at(layout.block_of(int(i))[0], int(i), grad[i], numeric[n]) for n, i in enumerate(indices)]
    return SparseCheck.of(entries, threshold, epsilon)


def directional_check_n(cost_fn: CostFn, parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                        num_directions: int = 3, epsilon: float | None = None, seed: int | None = 0,
                        threshold: float = 1e-6) -> DirectionalCheck:
    """(J(theta + epsilon v) - J(theta - epsilon v)) / 2 epsilon against g . v along `num_directions` seeded
    random unit vectors v: the network form of `directional_check` (two plain calls of cost_fn per direction)."""
    num_directions = check_positive_int(num_directions, "num_directions")
    threshold = check_threshold(threshold)
    given = _prepare(parameters, gradients)
    layout, theta = given.layout, given.theta
    LoopEvaluator(cost_fn, layout, theta)  # cost_fn at theta: a bad cost_fn fails here, with the usual message
    epsilon = default_epsilon(theta, network=True) if epsilon is None else check_epsilon(epsilon)
    rng = np.random.default_rng(seed)
    numeric, analytic = np.empty(num_directions), np.empty(num_directions)
    for d in range(num_directions):
        v = rng.standard_normal(theta.size)
        v /= np.linalg.norm(v)
        plus = scalar_value(cost_fn(layout.split(theta + epsilon * v)), _moved("+", d))
        minus = scalar_value(cost_fn(layout.split(theta - epsilon * v)), _moved("-", d))
        numeric[d] = (plus.real - minus.real) / (2 * epsilon)
        analytic[d] = float(given.grad @ v)
    errors = directional_errors(numeric, analytic)
    return DirectionalCheck(numeric, analytic, errors, bool((errors <= threshold).all()), epsilon)


# ------------------------------------------------------------------------------------------ the verdict


@dataclass
class Bar:
    """What a check is judged against: the step it used, its method, the threshold (raised for float32 inputs)
    and as given, the round-off `noise` one entry may carry, and how many worst entries each block lists."""

    epsilon: float
    method: str
    threshold: float
    given_threshold: float
    noise: float
    top_k: int


def _step_warnings(cost: float, dtype: np.dtype, default: float, grad: np.ndarray, numeric: np.ndarray,
                   epsilon: float, method: str, threshold: float) -> list[str]:
    """Say when the step itself, not the backward, limits the difference (the round-off regime)."""
    if method == "complex":
        return []
    eps = _eps(dtype)
    noise = eps * max(abs(cost), 1.0) / epsilon  # round-off of one numerical entry, ~ eps |J| / h
    scale = norm(grad) + norm(numeric)
    expected = noise * math.sqrt(grad.size) / scale if scale > 0 else math.inf
    found = []
    if epsilon < default / 10 or expected > threshold / 10:
        found.append(
            f"epsilon={epsilon:.0e} is in the round-off regime for {dtype.name} {method} differences: the round-off "
            f"of J(theta +- epsilon) is divided by epsilon, so each numerical entry carries an error of at least "
            f"{noise:.1e} (a difference of at least {expected:.1e}), growing like 1/epsilon; the difference "
            f"may reflect the step, not the backward. The default step {default:.0e} is more accurate."
        )
    return found


def _verdict(layout: ParamLayout, grad: np.ndarray, numeric: np.ndarray, crossed: np.ndarray, bar: Bar,
             warnings: list[str]) -> GradientCheckReport:
    """The verdict per block from a few vectorised sums over the block boundaries (np.add.reduceat)."""
    keep, any_kinks = ~crossed, bool(crossed.any())
    g, a = (np.where(keep, grad, 0.0), np.where(keep, numeric, 0.0)) if any_kinks else (grad, numeric)
    errors = np.abs(g - a)  # kink entries count for nothing
    # Per block: the sums of g^2, a^2, error^2 and the number of kept entries. The rows are written into one
    # (4, n) array (np.stack of four temporaries cost more than the rest of this block of arithmetic).
    rows = np.empty((4, grad.size))
    np.multiply(g, g, out=rows[0])
    np.multiply(a, a, out=rows[1])
    np.multiply(errors, errors, out=rows[2])
    rows[3] = keep
    starts = _nonempty_starts(layout)  # reduceat sums rows[:, at[j] : at[j + 1]]
    if len(starts) == len(layout.blocks) and grad.size:
        sums = np.add.reduceat(rows, starts, axis=1)
    else:  # empty blocks have no range of their own: their sums stay 0
        sums = np.zeros((4, len(layout.blocks)))
        if grad.size:
            sums[:, [n for n, block in enumerate(layout.blocks) if block.size]] = np.add.reduceat(rows, starts, axis=1)
    norm_g, norm_a, norm_e, root_kept = np.sqrt(sums)
    denominators = norm_g + norm_a
    rds = norm_e / np.where(denominators > 0, denominators, 1.0)  # 0 / 0 -> 0: both gradients are 0 there
    # A block whose own difference is large still passes if its error is within what it could be without a
    # bug: its share of an overall difference of the threshold as given (the error spread evenly over the kept
    # entries), or the round-off `noise` of each of its entries, whichever is larger.
    g2_total, a2_total, _, kept_total = np.add.reduce(sums, axis=1).tolist()
    total_scale = math.sqrt(g2_total) + math.sqrt(a2_total)  # math.sqrt: numpy's overhead on scalars
    # Both floors grow like sqrt(kept): threshold * scale * sqrt(kept / kept_total) and noise * sqrt(kept).
    floors = root_kept * max(bar.given_threshold * total_scale / math.sqrt(max(1.0, kept_total)), bar.noise)
    passed = (rds <= bar.threshold) | (norm_e <= floors)
    table = BlockTable(layout, rds, passed, grad, numeric, errors, keep, bar.top_k)
    kinks = [entry_at(layout.block_of(int(i))[0], int(i), grad[i], numeric[i])
             for i in (np.flatnonzero(crossed) if any_kinks else ())]
    if kinks:
        warnings.append(
            f"{len(kinks)} entr{'y' if len(kinks) == 1 else 'ies'} ({', '.join(e.label for e in kinks[:5])}"
            f"{', ...' if len(kinks) > 5 else ''}) crossed a ReLU kink: a pre-activation changed sign between "
            f"the perturbed evaluations, so the numerical derivative there is meaningless; they are left out of "
            f"the verdict (a smaller epsilon avoids most crossings)."
        )
    difference = relative_difference(grad, numeric)  # the course's number, to the bit
    without = relative_difference(grad[keep], numeric[keep]) if kinks else difference  # formula 2 without kinks
    failing = [] if passed.all() else [name for name, ok in zip(layout.names, passed, strict=True) if not ok]
    return GradientCheckReport(
        difference=difference,
        passed=not failing and without <= bar.threshold,
        failing_blocks=failing,
        _table=table,
        epsilon=bar.epsilon,
        method=bar.method,
        threshold=bar.threshold,
        analytical_gradient=grad.reshape(-1, 1),
        numerical_gradient=numeric.reshape(-1, 1),
        warnings=warnings,
        kinks=kinks,
        difference_without_kinks=without,
    )


@lru_cache(maxsize=64)
def _nonempty_starts(layout: ParamLayout) -> np.ndarray:
    """Where each non-empty block starts in theta, once per layout (an index array for np.add.reduceat)."""
    starts = np.array([block.start for block in layout.blocks if block.size], dtype=np.intp)
    starts.flags.writeable = False
    return starts


def _moved(sign: str, direction: int) -> Callable[[], str]:
    return lambda: f"theta was moved by {sign}epsilon along random direction {direction}"


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


