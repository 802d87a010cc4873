"""cs231n's gradient_check.py helpers, same names and behaviour, delegating the arithmetic to toynet.gradcheck.

What a cs231n student relies on is kept: `f` is called on the caller's own array `x`, perturbed *in place*
one entry at a time and restored after every evaluation, so a loss that ignores its argument and reads
shared state (`f = lambda _: net.loss(X, y)[0]` with `x = net.params["W1"]`) still works. What is not kept
is anything silent: `x` is restored even when `f` raises, an integer `x` (which cannot hold x + h) is
refused, a NaN from `f` raises, and 0/0 in a relative error is 0, not nan.

    grad = eval_numerical_gradient(f, W, verbose=False)      # central differences, h = 1e-5
    print(rel_error(grad, dW))                                # ~1e-7 or less: right; 1e-2 or more: wrong
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from toynet import gradcheck

__all__ = [
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "eval_numerical_gradient_blobs",
    "grad_check_sparse",
    "rel_error",
]


class Blob(Protocol):
    """cs231n's blob: values `.vals` and the gradient `.diffs` of the same shape."""

    vals: np.ndarray
    diffs: np.ndarray


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """max_i |x_i - y_i| / max(1e-8, |x_i| + |y_i|), cs231n's elementwise relative error."""
    return gradcheck.rel_error(x, y)


def eval_numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, verbose: bool = True, h: float = 1e-5
) -> np.ndarray:
    """df/dx by central differences, (f(x + h e_i) - f(x - h e_i)) / 2h for every index i of x.

    f: scalar function of the array x (it may also read x through shared state). x: float array, any
    shape, perturbed in place and restored. Returns grad with the shape of x. verbose prints `ix grad[ix]`
    for every index, as cs231n does.
    """
    _check_in_place("x", x)
    with _in_place(x) as through_x:
        grad = gradcheck.numerical_gradient(through_x(f), x.copy(), h)
    if verbose:
        for ix in np.ndindex(x.shape):
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """The gradient reaching x through an array-valued f: sum((f(x + h e_i) - f(x - h e_i)) * df) / 2h.

    f: array function of x; x: float array perturbed in place and restored; df: the upstream gradient,
    shape of f(x). Returns dx with the shape of x.
    """
    _check_in_place("x", x)
    with _in_place(x) as through_x:
        return gradcheck.numerical_gradient_array(through_x(f), x.copy(), df, h)


def eval_numerical_gradient_blobs(
    f: Callable[..., Any], inputs: Sequence[Blob], output: Blob, h: float = 1e-5
) -> list[np.ndarray]:
    """Numerical gradients for f(*inputs, output), which writes its result into output.vals.

    inputs: blobs with .vals (perturbed in place, restored) and .diffs; output: a blob whose .diffs is the
    upstream gradient. Returns one array per input blob, shaped like its .vals.
    """
    numeric_diffs = []
    for position, input_blob in enumerate(inputs):
        _check_in_place(f"inputs[{position}].vals", input_blob.vals)

        def outputs(_: np.ndarray) -> np.ndarray:
            f(*(tuple(inputs) + (output,)))
            return np.copy(output.vals)

        with _in_place(input_blob.vals) as through_vals:
            numeric_diffs.append(
                gradcheck.numerical_gradient_array(through_vals(outputs), input_blob.vals.copy(), output.diffs, h)
            )
    return numeric_diffs


def grad_check_sparse(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_grad: np.ndarray,
    num_checks: int = 10,
    h: float = 1e-5,
    seed: int | None = None,
) -> list[tuple[tuple[int, ...], float, float, float]]:
    """Compare analytic_grad with central differences at num_checks random indices of x, printing each.

    seed=None draws the indices from Python's global `random` (as cs231n does, so random.seed works);
    an int gives a private, reproducible generator. Returns (index, numerical, analytic, relative error)
    per check; the relative error |n - a| / (|n| + |a|) is 0 when both are 0.
    """
    _check_in_place("x", x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad must have the shape of x, {x.shape}, but got {analytic_grad.shape}")
    draw: Any = random if seed is None else random.Random(seed)
    checks = []
    for _ in range(num_checks):
        ix = tuple(draw.randrange(m) for m in x.shape)
        with _in_place(x) as through_x:
            numerical = float(
                gradcheck.numerical_gradient(_along_entry(through_x(f), x, ix), np.array(x[ix], dtype=x.dtype), h)
            )
        analytic = float(analytic_grad[ix])
        error = gradcheck.relative_difference(np.array([numerical]), np.array([analytic]))
        print(f"numerical: {numerical:f} analytic: {analytic:f}, relative error: {error:e}")
        checks.append((ix, numerical, analytic, error))
    return checks


# ------------------------------------------------------------------------------------------------ in place


def _check_in_place(name: str, x: Any) -> None:
    """The cs231n helpers write x + h into x itself, so x must be a floating ndarray (float64 ideally)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (it is perturbed in place), but got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating array to hold x + h in place, but got dtype {x.dtype}; "
            f"convert it first, e.g. x = x.astype(np.float64)"
        )
    if x.dtype != np.float64:
        warnings.warn(
            f"{name} has dtype {x.dtype}: central differences in it are only good to ~1e-3; use float64",
            RuntimeWarning,
            stacklevel=3,
        )


@contextmanager
def _in_place(x: np.ndarray) -> Iterator[Callable[[Callable[[np.ndarray], Any]], Callable[[np.ndarray], Any]]]:
    """Wrap f so that toynet.gradcheck's perturbed copy is written into x itself before f sees x.

    x gets its original values back after every evaluation, and on leaving the block whatever happens.
    """
    original = x.copy()

    def through_x(f: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
        def evaluate(perturbed: np.ndarray) -> Any:
            np.copyto(x, perturbed)
            try:
                return f(x)
            finally:
                np.copyto(x, original)

        return evaluate

    try:
        yield through_x
    finally:
        np.copyto(x, original)


def _along_entry(
    g: Callable[[np.ndarray], Any], x: np.ndarray, ix: tuple[int, ...]
) -> Callable[[np.ndarray], Any]:
    """t -> g(x with x[ix] = t): the one-coordinate slice of g that grad_check_sparse differentiates."""

    def along(t: np.ndarray) -> Any:
        point = x.copy()
        point[ix] = t
        return g(point)

    return along
