"""The situations where a gradient check lies, built on any toynet network (issue 10's hard rows).

Each builder takes a `Problem` (benchmarks.models: network, batch, parameters, exact gradients) and returns
a `HardCase`: the cost function a checker sees, the parameters, the *correct* gradients of that cost, and
what the checker should say (`random`: no gradient can be checked). The detection benchmark and the tests
(tests/test_gradcheck_error_aware.py) both draw from here, so they judge the same class of cases.

    plain float64  the network's cost as it is (the calibration's baseline row; not a detection row)
    J + 1e-12 randn, X + 1e-08 randn   a little randomness in the cost or its input (calibration rows only)
    saturated      one example's output pushed to within `closeness` of 0 or 1 with the label on the other
                   side (confidently wrong); the whole output layer's bias moves, so others may saturate too
    float32        the parameters and data cast to float32 inside the cost, which returns a Python float
    large constant J + 1e6
    dropout        a fresh dropout mask on every hidden layer at every call (a random cost)
    in-place       a cost that centres W1 in place before using it (it writes into its argument)
    L2             J + lambda / (2m) sum ||W_l||^2, with its gradient lambda / m W_l added to dW_l
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.models import Problem
from toynet.losses import LogisticCost

CostFn = Callable[[dict[str, np.ndarray]], float]


@dataclass
class HardCase:
    """A cost, its parameters and correct gradients; `random` if it draws random numbers on each call."""

    name: str
    cost_fn: Any
    parameters: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]
    random: bool = False
    mutates: bool = False
    loses_digits: bool = False  # saturated on the side where log(1 - A) loses digits (A near 1, label 0)


def saturated(problem: Problem, closeness: float, rng: np.random.Generator) -> HardCase:
    """min(A_k, 1 - A_k) = closeness for the example k nearest that side, its label on the far side.

    The whole output layer's bias moves, so the other examples move the same way in Z, but less far: k is the
    most saturated, and no output rounds to exactly 0 or 1 (where the course's cost is capped at log(TINY),
    flat in every parameter, and no gradient of the formula is the gradient of what is computed)."""
    net, X = problem.net, problem.X
    parameters = {k: v.astype(np.float64) for k, v in problem.parameters.items()}
    Y = problem.Y.astype(np.float64).copy()
    L = net.num_layers
    A = net.predict_proba(X, parameters)
    near_one = bool(rng.random() < 0.75)  # the side that loses digits (log(1 - A)), drawn more often
    k = int(np.argmax(A[0]) if near_one else np.argmin(A[0]))
    Z_k = float(np.log(A[0, k]) - np.log1p(-A[0, k]))
    target = np.log((1 - closeness) / closeness) * (1 if near_one else -1)
    parameters[f"b{L}"] = parameters[f"b{L}"] + (target - Z_k)
    Y[0, k] = 0.0 if near_one else 1.0
    _, caches = net.forward(X, Y, parameters)
    return HardCase(f"saturated {closeness:.0e}", net.cost_function(X, Y), parameters, net.backward(caches),
                    loses_digits=near_one)


def float32_cost(problem: Problem) -> HardCase:
    """The network's cost computed in float32 (parameters and X cast inside); it returns a Python float.
    Where a float32 output rounds to exactly 0 or 1 the float32 cost is flat (clipped), and where a ReLU
    pre-activation is within float32 round-off of 0 its kink may sit on the other side: either way a different
    function from the one whose gradient is given, so `row_case` draws points where neither happens."""
    net, X32, Y = problem.net, problem.X.astype(np.float32), problem.Y

    def cost(parameters: dict[str, np.ndarray]) -> float:
        cast = {name: value.astype(np.float32) for name, value in parameters.items()}
        A = net.predict_proba(X32, cast)
        A = np.clip(A, np.float32(1e-7), np.float32(1 - 1e-7))
        return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log1p(-A)))

    return HardCase("float32 cost", cost, _float64(problem.parameters), _float64(problem.gradients))


def _float32_faithful(problem: Problem) -> bool:
    """The float32 cost is locally the function whose float64 gradient is given: no float32 output rounds to
    exactly 0 or 1 (the cost would be clipped flat), and no hidden ReLU pre-activation lies within 1e-4 of 0
    (float32 round-off, ~1e-7 of its terms, could put it on the other side of its kink than in float64)."""
    net, X = problem.net, problem.X.astype(np.float64)
    parameters = {k: np.asarray(v, dtype=np.float64) for k, v in problem.parameters.items()}
    A32 = net.predict_proba(X.astype(np.float32), {k: v.astype(np.float32) for k, v in parameters.items()})
    if not ((A32 > 0) & (A32 < 1)).all():
        return False
    A = X
    for layer in range(1, net.num_layers):
        Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
        if net.hidden == "relu" and np.abs(Z).min() < 1e-4:
            return False
        A = net.activations[layer - 1].forward(Z)[0]
    return True


def plain(problem: Problem) -> HardCase:
    """The network's own cost function at a random point: the easy case every other row is compared with."""
    net, X, Y = problem.net, problem.X.astype(np.float64), problem.Y
    return HardCase("plain float64", net.cost_function(X, Y), _float64(problem.parameters),
                    _float64(problem.gradients))


def large_constant(problem: Problem, constant: float = 1e6) -> HardCase:
    cost_fn = problem.net.cost_function(problem.X, problem.Y)

    def cost(parameters: dict[str, np.ndarray]) -> float:
        return float(cost_fn(parameters)) + constant

    return HardCase(f"J + {constant:.0e}", cost, _float64(problem.parameters), _float64(problem.gradients))


DROPOUT_RATE = 0.2  # the dropout row's rate (the calibration's exact gradient reads it too)


def dropout(problem: Problem, rate: float = DROPOUT_RATE, seed: int = 0) -> HardCase:
    """A fresh inverted-dropout mask on every hidden layer at every call: the cost is random. The gradients
    given are those of the network without dropout (no single mask's gradient could be right anyway)."""
    net, X, Y = problem.net, problem.X.astype(np.float64), problem.Y
    rng = np.random.default_rng(seed)

    def cost(parameters: dict[str, np.ndarray]) -> float:
        A = X
        for layer, activation in enumerate(net.activations, start=1):
            A = activation.forward(parameters[f"W{layer}"] @ A + parameters[f"b{layer}"])[0]
            if layer < net.num_layers:
                A = A * (rng.random(A.shape) >= rate) / (1 - rate)
        return float(LogisticCost.forward(A, Y)[0])

    return HardCase("dropout", cost, _float64(problem.parameters), _float64(problem.gradients), random=True)


def cost_noise(problem: Problem, std: float = 1e-12, seed: int = 0) -> HardCase:
    """J + std N(0, 1) drawn at every call (issue 21's "a cost with a little randomness"): random, and its
    noise has mean 0, so the network's own gradients are exactly those of the expected cost."""
    cost_fn, rng = problem.net.cost_function(problem.X, problem.Y), np.random.default_rng(seed)

    def cost(parameters: dict[str, np.ndarray]) -> float:
        return float(cost_fn(parameters)) + std * float(rng.standard_normal())

    return HardCase(f"J + {std:.0e} randn", cost, _float64(problem.parameters), _float64(problem.gradients),
                    random=True)


def input_noise(problem: Problem, std: float = 1e-8, seed: int = 0) -> HardCase:
    """The cost at X + std N(0, 1), fresh at every call (Gaussian input noise left on, issue 21): random; the
    gradients given are the noiseless ones, those of the expected cost up to O(std^2) (~1e-16)."""
    net, X, Y = problem.net, problem.X.astype(np.float64), problem.Y
    rng = np.random.default_rng(seed)

    def cost(parameters: dict[str, np.ndarray]) -> float:
        return float(net.cost(X + std * rng.standard_normal(X.shape), Y, parameters))

    return HardCase(f"X + {std:.0e} randn", cost, _float64(problem.parameters), _float64(problem.gradients),
                    random=True)


def in_place(problem: Problem) -> HardCase:
    """A cost that centres W1 in place (`W1 -= W1.mean()`) before computing: it writes into its argument.
    The gradients given are those of the cost it computes at the parameters first seen (centred W1)."""
    net, X, Y = problem.net, problem.X.astype(np.float64), problem.Y

    def cost(parameters: dict[str, np.ndarray]) -> float:
        W1 = parameters["W1"]
        W1 -= W1.mean()  # the bug: the caller's array is changed
        return float(net.cost(X, Y, parameters))

    return HardCase("in-place", cost, _float64(problem.parameters), _float64(problem.gradients), mutates=True)


def l2(problem: Problem, lambd: float = 0.7) -> HardCase:
    """J + lambd / (2 m) sum_l ||W_l||^2 (the course's regularised cost) and its exact gradients."""
    net, X, Y = problem.net, problem.X.astype(np.float64), problem.Y
    m = X.shape[1]
    cost_fn = net.cost_function(X, Y)
    parameters = _float64(problem.parameters)

    def cost(parameters: dict[str, np.ndarray]) -> float:
        penalty = sum(float(np.sum(v * v)) for k, v in parameters.items() if k.startswith("W"))
        return float(cost_fn(parameters)) + lambd / (2 * m) * penalty

    gradients = {k: v + (lambd / m * parameters[k[1:]] if k.startswith("dW") else 0.0)
                 for k, v in _float64(problem.gradients).items()}
    return HardCase(f"L2 {lambd:g}", cost, parameters, gradients)


def planted(gradients: dict[str, np.ndarray], block: str, error: float) -> dict[str, np.ndarray]:
    """The gradients with block `block` (e.g. "b2") scaled by 1 + error: a relative error of `error` there."""
    bad = {k: v.copy() for k, v in gradients.items()}
    bad["d" + block] = bad["d" + block] * (1 + error)
    return bad


def _float64(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}


# ---------------------------------------------------------------------------------------------- the rows
SHAPES: list[tuple[list[int], str]] = [([6, 7, 4, 1], "relu"), ([4, 5, 3, 1], "tanh"), ([5, 8, 8, 6, 1], "relu"),
                                       ([3, 10, 1], "tanh"), ([8, 6, 6, 6, 6, 1], "relu")]
BATCH = 4


def row_problem(row: str, point: int) -> Problem:
    """The network, batch and point under row `row`'s case at point `point`: shapes rotate over SHAPES, seeds
    follow the point (so `row_case(row, point)` is a reproducible case, whoever draws it)."""
    from benchmarks.models import make_problem

    sizes, hidden = SHAPES[point % len(SHAPES)]
    problem = make_problem(sizes, m=BATCH, seed=1000 + point, hidden=hidden)
    if row == "float32 cost":  # a point where the float32 cost is the same function locally (see float32_cost)
        for attempt in range(1, 20):
            if _float32_faithful(problem):
                break
            problem = make_problem(sizes, m=BATCH, seed=1000 + point + 7919 * attempt, hidden=hidden)
    return problem


def row_case(row: str, point: int) -> HardCase:
    """The case of benchmark row `row` at point `point`, built on `row_problem(row, point)`."""
    return build_case(row, row_problem(row, point), point)


def build_case(row: str, problem: Problem, point: int) -> HardCase:
    """Row `row`'s case on `problem` (the point seeds the saturated side and the dropout masks)."""
    if row.startswith("saturated"):
        return saturated(problem, float(row.split()[1]), np.random.default_rng(point))
    builders: dict[str, Callable[[Problem], HardCase]] = {
        "plain float64": plain, "float32 cost": float32_cost, "J + 1e6": large_constant, "L2 0.7": l2,
        "dropout": lambda p: dropout(p, seed=point), "in-place": in_place,
        "J + 1e-12 randn": lambda p: cost_noise(p, 1e-12, seed=point),
        "X + 1e-08 randn": lambda p: input_noise(p, 1e-8, seed=point),
    }
    return builders[row](problem)


ROWS = ["saturated 1e-6", "saturated 1e-8", "saturated 1e-10", "float32 cost", "J + 1e6", "L2 0.7", "dropout",
        "in-place"]


def flat(case: HardCase, gradients: dict[str, np.ndarray]) -> tuple[Callable[[np.ndarray], float], np.ndarray,
                                                                     np.ndarray]:
    """(J(theta) on flat float64 vectors, theta0, gradient vector) for the peers, in course order."""
    from toynet.params import ParamLayout, gradients_to_vector, vector_to_dictionary

    layout = ParamLayout.from_parameters(case.parameters)
    theta = np.concatenate([np.asarray(case.parameters[name], dtype=np.float64).reshape(-1) for name in layout.names])
    grad = gradients_to_vector(gradients, layout).reshape(-1).astype(np.float64)

    def J(vector: np.ndarray) -> float:
        return float(case.cost_fn(vector_to_dictionary(np.asarray(vector, dtype=np.float64).reshape(-1), layout)))

    return J, theta, grad
