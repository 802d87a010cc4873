"""toynet.exercises.cs231n against cs231n's own algorithm: a plain in-place loop over np.nditer.

The baseline is cs231n's `gradient_check.py` algorithm as its file writes it (seed 000): perturb x[ix] in
place, call f, restore, in np.nditer order; nothing checked. toynet's helpers do the same calls plus what
cs231n leaves out (x restored when f raises, writes into x named by call, nan/inf warned), and the question
is what that costs. Each row runs both sides on the same x, interleaved (a, b, a, b, ...): the times are
medians of the repeats, the ratio the median of each toynet run over the cs231n run just before it.

- cheap f: O(1) work (reads one entry), so the rows measure the helpers' own per-entry overhead;
- costly f: a fixed ~10 us forward (tanh(B @ x[:64]) with B 128 x 64), as a small layer or loss costs.
grad_check_sparse makes 2 * num_checks = 20 calls whatever the size of x, so its rows show the size of x
does not leak into its cost. Printed lines go to a buffer on both sides.
"""

from __future__ import annotations

import contextlib
import io
import random
import statistics
from collections.abc import Callable
from random import randrange
from typing import Any

import numpy as np

from benchmarks.common import Section, seconds, time_interleaved
from toynet.exercises import cs231n

TARGET = 1.2
SIZES = (100, 1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000)
B = np.random.default_rng(0).standard_normal((128, 64))


# ------------------------------------------------------------------------------ cs231n's loops, plainly


def cs231n_eval_numerical_gradient(f: Callable[..., Any], x: np.ndarray, verbose: bool = True,
                                   h: float = 0.00001) -> np.ndarray:
    f(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def cs231n_eval_numerical_gradient_array(f: Callable[..., Any], x: np.ndarray, df: Any, h: float = 1e-5) -> np.ndarray:
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def cs231n_eval_numerical_gradient_blobs(f: Callable[..., Any], inputs: tuple[Any, ...], output: Any,
                                         h: float = 1e-5) -> list[np.ndarray]:
    numeric_diffs = []
    for input_blob in inputs:
        diff = np.zeros_like(input_blob.diffs)
        it = np.nditer(input_blob.vals, flags=["multi_index"], op_flags=["readwrite"])
        while not it.finished:
            idx = it.multi_index
            orig = input_blob.vals[idx]
            input_blob.vals[idx] = orig + h
            f(*(inputs + (output,)))
            pos = np.copy(output.vals)
            input_blob.vals[idx] = orig - h
            f(*(inputs + (output,)))
            neg = np.copy(output.vals)
            input_blob.vals[idx] = orig
            diff[idx] = np.sum((pos - neg) * output.diffs) / (2.0 * h)
            it.iternext()
        numeric_diffs.append(diff)
    return numeric_diffs


def cs231n_grad_check_sparse(f: Callable[..., Any], x: np.ndarray, analytic_grad: np.ndarray, num_checks: int = 10,
                             h: float = 1e-5) -> None:
    for _ in range(num_checks):
        ix = tuple([randrange(m) for m in x.shape])
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        rel_error = abs(grad_numerical - grad_analytic) / (abs(grad_numerical) + abs(grad_analytic))
        print("numerical: %f analytic: %f, relative error: %e" % (grad_numerical, grad_analytic, rel_error))  # noqa: UP031


# ---------------------------------------------------------------------------------------------- the fs


class Blob:
    def __init__(self, vals: np.ndarray, diffs: np.ndarray) -> None:
        self.vals, self.diffs = vals, diffs


def cheap_scalar(v: np.ndarray) -> Any:
    return v[0, 0] * 3.0


def cheap_array(v: np.ndarray) -> np.ndarray:
    return v[:1, :2] * 3.0


def costly_scalar(v: np.ndarray) -> float:
    return float(np.tanh(B @ v.reshape(-1)[:64]).sum())


def costly_array(v: np.ndarray) -> np.ndarray:
    return np.tanh(B @ v.reshape(-1)[:64])


def point(size: int) -> np.ndarray:
    """x of `size` entries, 2-D as a weight matrix is: (size // 100, 100)."""
    return np.random.default_rng(size).standard_normal((size // 100, 100))


def sides(helper: str, cost: str, x: np.ndarray) -> tuple[int, Callable[[], Any], Callable[[], Any]]:
    """(calls of f, the cs231n loop, toynet's helper) for one row."""
    scalar, array = (cheap_scalar, cheap_array) if cost == "cheap" else (costly_scalar, costly_array)
    df = np.ones(array(x).shape)
    if helper == "eval_numerical_gradient":
        return (2 * x.size + 1, lambda: cs231n_eval_numerical_gradient(scalar, x, verbose=False),
                lambda: cs231n.eval_numerical_gradient(scalar, x, verbose=False))
    if helper == "eval_numerical_gradient_array":
        return (2 * x.size, lambda: cs231n_eval_numerical_gradient_array(array, x, df),
                lambda: cs231n.eval_numerical_gradient_array(array, x, df))
    if helper == "eval_numerical_gradient_blobs":
        inputs, output = (Blob(x, np.zeros_like(x)),), Blob(np.zeros(df.shape), df)

        def f(x_blob: Blob, out: Blob) -> None:
            out.vals = array(x_blob.vals)

        return (2 * x.size, lambda: cs231n_eval_numerical_gradient_blobs(f, inputs, output),
                lambda: cs231n.eval_numerical_gradient_blobs(f, inputs, output))
    analytic = np.random.default_rng(1).standard_normal(x.shape)  # some gradient: no 0 / 0 in the relative error

    def quietly(check: Callable[..., Any]) -> Callable[[], Any]:
        def call() -> str:
            random.seed(0)  # both sides draw the same indices
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                check(scalar, x, analytic)
            return printed.getvalue()

        return call

    return 20, quietly(cs231n_grad_check_sparse), quietly(cs231n.grad_check_sparse)


HELPERS = ("eval_numerical_gradient", "eval_numerical_gradient_array", "eval_numerical_gradient_blobs",
           "grad_check_sparse")


def run(section: Section, quick: bool = False) -> None:
    section.text(__doc__.split("\n\n", 1)[1].strip() if __doc__ else "")
    rows, worst = [], (0.0, "")
    for helper in HELPERS:
        for cost in ("cheap", "costly"):
            for size in QUICK_SIZES if quick else SIZES:
                x = point(size)
                before = x.copy()
                calls, theirs, mine = sides(helper, cost, x)
                timing = time_interleaved({"cs231n": theirs, "toynet": mine},
                                          repeats=3 if size >= 100_000 else (5 if size >= 10_000 else 9))
                assert np.array_equal(x, before), "a side left x changed"
                # each toynet run against the cs231n run just before it: drift of a loaded machine cancels in pairs
                ratio = statistics.median(m / t for m, t in zip(timing["toynet"].runs, timing["cs231n"].runs,
                                                                strict=True))
                rows.append([helper, cost, size, calls, seconds(timing["cs231n"].median),
                             seconds(timing["toynet"].median), f"{ratio:.2f}x"])
                worst = max(worst, (ratio, f"{helper}, {cost} f, {size:,} entries"))
    section.table(["helper", "f", "entries of x", "calls of f", "cs231n's loop", "toynet", "toynet / cs231n"], rows)
    section.target(f"toynet's cs231n helpers within {TARGET}x of cs231n's loop on every row",
                   f"worst {worst[0]:.2f}x ({worst[1]})", worst[0] <= TARGET)
