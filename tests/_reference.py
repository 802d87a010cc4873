"""Independent references for the tests (deliberately not toynet.gradcheck, a higher floor), and the course's
N-D test case, drawn here once for every test file (docs/REFERENCE.md).

five_point_gradient is the fourth-order central difference
    f'(x) ~ (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h,
whose truncation error is O(h^4): with h = 1e-3 it is ~1e-12, well below the 1e-9 the tests demand.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from toynet.losses import LogisticCost
from toynet.network import Network


class CourseCase(NamedTuple):
    """The course's N-D test case: X (4, 3), Y (3,) = [1, 1, 0], the parameters of a 4-5-3-1 network."""

    X: np.ndarray
    Y: np.ndarray
    parameters: dict[str, np.ndarray]


def course_case() -> CourseCase:
    """Drawn as docs/REFERENCE.md says: seed 1, then X, W1, b1, W2, b2, W3, b3 in that order; Y fixed, not drawn.

    From a private RandomState(1) (the numbers np.random.seed(1) gives), so numpy's global state is left alone.
    """
    rng = np.random.RandomState(1)
    X = rng.randn(4, 3)
    shapes = (("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1)))
    parameters = {name: rng.randn(*shape) for name, shape in shapes}
    return CourseCase(X, np.array([1, 1, 0]), parameters)


# The course's printed numbers (docs/REFERENCE.md). Its N-D difference runs through np.dot, whose last bit depends on
# the machine's BLAS kernel: tests compare toynet with the course's algorithm run here bit for bit (course_loop), and
# with these printed numbers within one unit of their last printed digit (to_the_last_digit: ...623 against
# ...624 is one such unit, two float64 ulps).
COURSE_COST = 2.407833389834357
COURSE_BUGGY = 0.2850931567761623


def to_the_last_digit(value: float, printed: float) -> bool:
    """True when `value` is within one unit of the last digit `printed` shows (repr, the shortest round trip)."""
    unit = Decimal(1).scaleb(Decimal(repr(printed)).as_tuple().exponent)
    return abs(Decimal(repr(value)) - Decimal(repr(printed))) <= unit


def course_forward(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> float:
    """The course's forward_propagation_n for any number of layers (its gc_utils relu and sigmoid): the cost."""
    L, A = len(parameters) // 2, X
    for layer in range(1, L + 1):
        Z = np.dot(parameters[f"W{layer}"], A) + parameters[f"b{layer}"]
        A = np.maximum(0, Z) if layer < L else 1 / (1 + np.exp(-Z))
    m = X.shape[1]
    logprobs = np.multiply(-np.log(A), Y) + np.multiply(-np.log(1 - A), 1 - Y)
    return float(1.0 / m * np.sum(logprobs))


def course_loop(
    X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], gradients: dict[str, np.ndarray], epsilon: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The course's gradient_check_n loop over any shape: (J_plus, J_minus, gradapprox, difference)."""
    names = [f"{kind}{layer}" for layer in range(1, len(parameters) // 2 + 1) for kind in "Wb"]
    theta = np.concatenate([np.reshape(parameters[name], (-1, 1)) for name in names])
    grad = np.concatenate([np.reshape(gradients["d" + name], (-1, 1)) for name in names])

    def J(vector: np.ndarray) -> float:  # the course's vector_to_dictionary: reshaped slices
        blocks, start = {}, 0
        for name in names:
            size = parameters[name].size
            blocks[name] = vector[start : start + size].reshape(parameters[name].shape)
            start += size
        return course_forward(X, Y, blocks)

    n = theta.shape[0]
    J_plus, J_minus, gradapprox = np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, 1))
    for i in range(n):
        thetaplus = np.copy(theta)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus[i] = J(thetaplus)
        thetaminus = np.copy(theta)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus[i] = J(thetaminus)
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2.0 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return J_plus, J_minus, gradapprox, float(numerator / denominator)


def five_point_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """d f / d x for scalar f of an array x, one coordinate at a time, on a private copy of x."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        values = []
        for offset in (2 * h, h, -h, -2 * h):
            x[index] = original + offset
            values.append(float(f(x)))
        x[index] = original
        grad[index] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return grad


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The course's formula 2, written out again here so the tests do not trust the library's copy."""
    numerator = np.linalg.norm(np.ravel(a) - np.ravel(b))
    denominator = np.linalg.norm(np.ravel(a)) + np.linalg.norm(np.ravel(b))
    return 0.0 if denominator == 0 else float(numerator / denominator)


def assert_gradients_agree(analytic: np.ndarray, numeric: np.ndarray, tolerance: float = 1e-9) -> None:
    """Formula 2 below `tolerance`; where the true gradient is ~0 (formula 2 is then 0/0-like), absolute 1e-10."""
    assert np.shape(analytic) == np.shape(numeric)
    if np.linalg.norm(numeric) < 1e-8:
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-10)
    else:
        assert relative_difference(analytic, numeric) < tolerance, relative_difference(analytic, numeric)


def cost_roundoff(net: Network, X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> float:
    """A bound on the round-off of the network's cost at `parameters`, 8 eps (|J| + sum_j |dJ/dA_j| |A_j|): a few
    ulps of each output A_j through the cost's slope there (the lesson's LogisticCost.backward), and of J itself."""
    A = net.predict_proba(X, parameters)
    dA = LogisticCost.backward(1.0, LogisticCost.forward(A, Y)[1])
    return 8 * float(np.finfo(np.float64).eps) * (abs(net.cost(X, Y, parameters)) + float(np.abs(dA * A).sum()))
