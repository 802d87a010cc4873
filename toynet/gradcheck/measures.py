"""How far apart two gradients are: the course's formula 2 and cs231n's elementwise `rel_error`.

    relative_difference(a, b) = ||a - b|| / (||a|| + ||b||)        (0 when both are 0: never nan)
    rel_error(a, b)           = max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|)
"""

from __future__ import annotations

import math

import numpy as np

from toynet._validate import as_array

BLAS_LIMIT = 8192  # entries: OpenBLAS runs a dot on one thread below ~10k; above, a threaded dot stalls when busy


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b||_2 / (||a||_2 + ||b||_2), 0.0 when both are 0.  a, b: any shapes holding the same number of entries."""
    a_flat, b_flat = _paired("a", a, "b", b, finite=False)
    denominator = norm(a_flat) + norm(b_flat)
    difference = 0.0 if denominator == 0.0 else norm(a_flat - b_flat) / denominator
    if not math.isfinite(difference):  # NaN or inf in a or b make it nan: checked only then, to name the culprit
        _paired("a", a_flat, "b", b_flat)
    return difference


def norm(x: np.ndarray) -> float:
    """||x||_2 of a real vector: np.linalg.norm (the course's number to the bit) up to BLAS_LIMIT entries, then
    sqrt(sum(x * x)) (docs/checker.md)."""
    return float(np.linalg.norm(x)) if x.size <= BLAS_LIMIT else math.sqrt(float(np.sum(x * x)))


def directional_errors(numeric: np.ndarray, analytic: np.ndarray) -> np.ndarray:
    """Formula 2 of each pair of numbers: |n_i - a_i| / (|n_i| + |a_i|), 0 where both are 0.  (k,), (k,) -> (k,)."""
    sums = np.abs(numeric) + np.abs(analytic)
    return np.where(sums > 0, np.abs(numeric - analytic) / np.where(sums > 0, sums, 1.0), 0.0)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """cs231n's max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|); 0.0 for empty arrays."""
    a_flat, b_flat = _paired("a", a, "b", b)
    if a_flat.size == 0:
        return 0.0
    return float(np.max(np.abs(a_flat - b_flat) / np.maximum(1e-8, np.abs(a_flat) + np.abs(b_flat))))


def _paired(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, finite: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays flattened; (n, 1) against (n,) is fine, a different number of entries or (finite) NaN is not."""
    a_arr, b_arr = as_array(name_a, a), as_array(name_b, b)
    if a_arr.size != b_arr.size or (a_arr.shape != b_arr.shape and a_arr.squeeze().shape != b_arr.squeeze().shape):
        raise ValueError(f"{name_a} and {name_b} must have the same shape, but got {a_arr.shape} and {b_arr.shape}")
    for name, array in ((name_a, a_arr), (name_b, b_arr)) if finite else ():
        if not np.isfinite(array).all():
            raise ValueError(f"{name} must be finite to be compared, but holds NaN or inf")
    return a_arr.reshape(-1), b_arr.reshape(-1)
