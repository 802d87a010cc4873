"""Argument checks shared by the core: every error names the argument, what was expected and what came.

Arrays pass through unchanged when they are already floating (float32, float64) or complex (the
complex-step method feeds complex parameters through the same layers). Integer and boolean arrays are
converted to float64 so that a derivative is never silently zero. Anything else is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(name: str, value: Any) -> np.ndarray:
    """Return `value` as a floating or complex ndarray, or raise TypeError naming `name`.

    Never copies a float/complex array (callers must not write into the result), converts ints to float64.
    """
    if type(value) is np.ndarray and value.dtype.kind in "fc":  # the usual case, checked without issubdtype's cost
        return value
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, but could not be converted: {error}") from None
    if np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.complexfloating):
        return array
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return array.astype(np.float64)
    raise TypeError(f"{name} must be a numeric array, but got dtype {array.dtype}")


def check_shape(name: str, array: np.ndarray, expected: tuple[int | None, ...]) -> None:
    """Raise ValueError unless `array` has exactly the shape `expected` (None matches any length)."""
    if array.ndim != len(expected) or any(e is not None and e != n for e, n in zip(expected, array.shape, strict=True)):
        shown = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {shown}, but got shape {array.shape}")


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise ValueError if `array` holds NaN or inf, saying how many and where the first one is."""
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{name} must be finite, but has {len(bad)} NaN/inf value(s); the first at index {first} "
            f"is {array[first]!r}"
        )
