"""The comparisons test cells use: type, then dtype, then shape, then values, each with a message that says which.

Students call these in the public tests of their notebook; the grader calls them on the plain data it decoded
from the student process, so the objects compared are always the grader's own (a base ndarray, a float).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def expect_array(got: Any, expected: Any, name: str, rtol: float = 1e-7, atol: float = 1e-12) -> None:
    """Assert `got` is a plain ndarray with the dtype kind, shape and (within tolerance) values of `expected`.

    When `expected` is 0-d, a number of the right kind (a Python or numpy scalar) is the same answer typed
    differently and passes too.
    """
    expected, got = np.asarray(expected), _plain(got)
    if expected.ndim == 0 and _is_number(got):
        got = np.asarray(got)
    if type(got) is not np.ndarray:
        raise AssertionError(f"{name}: expected a numpy array of shape {expected.shape}, but got {_kind(got)}")
    if got.dtype.kind != expected.dtype.kind or (expected.dtype.kind == "f" and got.dtype != expected.dtype):
        raise AssertionError(f"{name}: expected dtype {expected.dtype}, but got dtype {got.dtype}")
    if got.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, but got shape {got.shape}")
    if not np.isfinite(got).all() and np.isfinite(expected).all():
        raise AssertionError(f"{name}: holds nan or inf")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.size else ()
        raise AssertionError(
            f"{name}: wrong values, e.g. at index {tuple(int(i) for i in worst)}: "
            f"expected {expected[worst]!r}, got {got[worst]!r}"
        )


def expect_number(got: Any, expected: float, name: str, rtol: float = 1e-7, atol: float = 0.0) -> None:
    """Assert `got` is a real number close to `expected`: an int or float, a numpy scalar or a 0-d array
    (what `np.squeeze` of a (1, 1) array gives), but not a bool, a complex, or an array with elements."""
    got = _plain(got)
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if not _is_number(got):
        raise AssertionError(f"{name}: expected a number close to {expected!r}, but got {_kind(got)}")
    try:
        value = float(got)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or not np.isclose(value, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"{name}: expected {expected!r}, but got {value!r}")


def expect_tuple(got: Any, length: int, name: str) -> None:
    """Assert `got` is a tuple of `length` items (what a backward returns, or a cache)."""
    got = _plain(got)
    if type(got) is not tuple or len(got) != length:
        raise AssertionError(f"{name}: expected a tuple of {length} items, but got {_kind(got)}")


def _is_number(value: Any) -> bool:
    """A real int or float, Python or numpy; bools and complex numbers are not."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _plain(value: Any) -> Any:
    """The value of a handle to the student's array, list or dict (a name or attribute the test reached)."""
    if getattr(type(value), "_toynet_handle", False) and value._kind in ("ndarray", "list", "dict"):
        return value._value()
    return value


def _kind(value: Any) -> str:
    if getattr(type(value), "_toynet_handle", False):
        return f"the student's {value._type} object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {str(value)[:60]}"
