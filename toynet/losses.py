"""The logistic (binary cross-entropy) cost, the course's formula, and its stable form from the logits.

    J = -(1/m) * sum_i ( y_i log a_i + (1 - y_i) log(1 - a_i) )

`A` holds the predicted probabilities, shape `(1, m)`; labels `Y` may be `(m,)` or `(1, m)` and lie in
[0, 1]. `row_costs` is the same arithmetic for many outputs at once, one row each (for the gradient checker).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.layers import sigmoid

# log(TINY) ~ -708: the floor that keeps log(0) finite. It only touches A < 2.2e-308 (or 1 - A below it).
TINY = np.finfo(np.float64).tiny


class CostCache(NamedTuple):
    """What the backward needs: the predictions `A (1, m)` (or the logits) and the labels `Y (1, m)`."""

    A: np.ndarray
    Y: np.ndarray


class LogisticCost:
    """Mean binary cross-entropy of probabilities `A` against labels `Y` (the course's cost)."""

    @staticmethod
    def forward(A: np.ndarray, Y: np.ndarray) -> tuple[float, CostCache]:
        """J = -(1/m) sum(Y log A + (1 - Y) log(1 - A)).

        A: (1, m) probabilities in [0, 1].  Y: (m,) or (1, m) labels in [0, 1].
        Returns the cost (a float; complex for the complex step) and the cache `CostCache(A, Y)`.
        Saturated predictions give the correct limit: 0 * log 0 counts as 0, so A = Y = 1 costs exactly 0;
        a confidently wrong A = 0 for Y = 1 costs a large but finite 708 instead of inf.
        """
        A, Y = _check_inputs(as_array("A", A), Y)
        m = A.shape[1]
        logprobs = -Y * np.log(np.maximum(A, TINY)) - (1 - Y) * np.log(np.maximum(1 - A, TINY))
        return (1.0 / m * logprobs.sum()).item(), CostCache(A, Y)  # a float (complex for the complex step)

    @staticmethod
    def backward(dcost: float, cache: CostCache) -> np.ndarray:
        """dA = -(dcost/m) (Y / A - (1 - Y) / (1 - A)).  Returns dA with the shape of A, (1, m).

        `dcost` is the upstream gradient of the cost itself: 1.0 when the cost is the final output.
        """
        A, Y = cache
        m = A.shape[-1]
        return -(dcost / m) * (_safe_ratio(Y, A) - _safe_ratio(1 - Y, 1 - A))


class LogisticCostFromLogits:
    """The same cost computed from the logits `Z` (before the sigmoid), in the numerically stable form.

        J = (1/m) sum( max(Z, 0) - Z Y + log(1 + exp(-|Z|)) )

    Prefer it when you train: it never takes log of a rounded probability, so a confident wrong answer
    (Z = -40 for Y = 1) costs its true 40 instead of the capped 708 or log(0), and its backward is the
    simple, exact `dZ = (sigma(Z) - Y) / m`. Use `LogisticCost` to reproduce the course's numbers step by
    step (the course computes the cost from A = sigma(Z)); the two agree wherever A is not rounded to 0 or 1.
    """

    @staticmethod
    def forward(Z: np.ndarray, Y: np.ndarray) -> tuple[float, CostCache]:
        """J from logits Z: (1, m); Y: (m,) or (1, m).  Returns the cost (a float) and `CostCache(Z, Y)`."""
        Z, Y = _check_inputs(as_array("Z", Z), Y, probabilities=False)
        terms = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
        return float(terms.sum() / Z.shape[1]), CostCache(Z, Y)

    @staticmethod
    def backward(dcost: float, cache: CostCache) -> np.ndarray:
        """dZ = dcost (sigma(Z) - Y) / m, shape (1, m)."""
        Z, Y = cache
        return dcost * (sigmoid(Z) - Y) / Z.shape[-1]


def logistic_cost(A: np.ndarray, Y: np.ndarray) -> float:
    """The course's cost as a plain function: `LogisticCost.forward(A, Y)[0]`."""
    return LogisticCost.forward(A, Y)[0]


def row_costs(A: np.ndarray, Y: np.ndarray, not_Y: np.ndarray | None = None) -> np.ndarray:
    """The course's cost of each row of A: (s, m) -> (s,), against labels Y: (1, m) already checked.

    LogisticCost.forward's arithmetic, row by row, without its input checks, for callers that check Y once and
    then cost thousands of outputs (the gradient checker); not_Y = 1 - Y may be passed precomputed. (np.maximum
    orders complex numbers by their real part first, so the complex step goes through the same lines.) The
    course's order
    (logprobs, then 1./m * sum) gives the same float as the course's notebook to the last bit, so its printed
    differences come out exactly. log is floored at log(TINY), so where a label is 0, 0 * log(>= TINY) = 0:
    the 0 log 0 = 0 limit, with no nan.
    """
    not_Y = 1 - Y if not_Y is None else not_Y
    logprobs = -Y * np.log(np.maximum(A, TINY)) - not_Y * np.log(np.maximum(1 - A, TINY))
    return (1.0 / A.shape[1]) * logprobs.sum(axis=1)


def _check_inputs(
    A: np.ndarray, Y: object, *, probabilities: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    name = "A" if probabilities else "Z"
    if A.ndim != 2 or A.shape[0] != 1:
        raise ValueError(f"{name} must have shape (1, m), but got shape {A.shape}")
    m = A.shape[1]
    Y = as_array("Y", Y)
    if Y.shape not in ((m,), (1, m)):
        raise ValueError(f"Y must have shape (m,) or (1, m) with m = {m}, but got shape {Y.shape}")
    Y = Y.reshape(1, m)
    check_finite(name, A)
    real = np.real(A)  # the complex step's A carries a tiny imaginary part: the range is its real part's
    if probabilities and ((real < 0).any() or (real > 1).any()):
        raise ValueError(f"A must hold probabilities in [0, 1], but ranges over [{real.min()}, {real.max()}]")
    check_finite("Y", Y)
    if (Y < 0).any() or (Y > 1).any():
        raise ValueError(f"Y must hold labels in [0, 1], but ranges over [{Y.min()}, {Y.max()}]")
    return A, Y


def _safe_ratio(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """y / a with 0 / 0 = 0 and a floored at TINY (the derivative of y log a with the cost's conventions)."""
    return np.where(y == 0, 0.0, y / np.maximum(a, TINY))
