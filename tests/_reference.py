"""Independent references for the tests (deliberately not toynet.gradcheck, a higher floor), and the course's
N-D test case, drawn here once for every test file (docs/REFERENCE.md).

five_point_gradient is the fourth-order central difference
    f'(x) ~ (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h,
whose truncation error is O(h^4): with h = 1e-3 it is ~1e-12, well below the 1e-9 the tests demand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


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
