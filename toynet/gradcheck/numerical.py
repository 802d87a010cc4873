"""Numerical gradients of a scalar function f(x) of an array x: central, Richardson and complex-step.

    central      g_i = (f(x + h e_i) - f(x - h e_i)) / 2h                   error ~ h^2 f''' + eps |f| / h
    richardson   D(h) as above, g_i = (4 D(h/2) - D(h)) / 3                  error ~ h^4 f^(5) + eps |f| / h
    complex      g_i = Im f(x + i h e_i) / h                                  error ~ h^2 f''' (no subtraction!)

Every method works on a private float64 copy of x, so the caller's array is never written, even if f raises half
way. Integer arrays are checked in float64 (never a silently zero gradient).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from toynet._validate import as_array

try:  # numpy >= 1.25
    from numpy.exceptions import ComplexWarning
except ImportError:  # pragma: no cover
    from numpy import ComplexWarning  # type: ignore[attr-defined,no-redef]

METHODS: tuple[str, ...] = ("central", "richardson", "complex")
# default steps for float64 at |x| ~ 1 (why these values: docs/checker.md); "network": central for a network cost
BASE_STEPS = {"central": 1e-5, "network": 2e-5, "richardson": 1e-3, "complex": 1e-20}
SWEEP_EPSILONS = 10.0 ** -np.arange(1, 11)  # 1e-1 .. 1e-10: the default grid of step_sweep


def default_epsilon(x: Any, method: str = "central", dtype: Any = np.float64, network: bool = False) -> float:
    """The step used when none is given: the method's base step (central 1e-5, 2e-5 for a network cost, Richardson
    1e-3, complex 1e-20) times (eps(dtype) / eps(float64))^(1/3) (^(1/5) for Richardson) times max(1, rms(x))."""
    if check_method(method) == "complex":
        return BASE_STEPS["complex"]
    eps = float(np.finfo(dtype).eps) if np.dtype(dtype).kind == "f" else float(np.finfo(float).eps)
    ratio = eps / float(np.finfo(np.float64).eps)  # 1 for float64, 5.4e8 for float32
    central = BASE_STEPS["network" if network else "central"]
    base = central * ratio ** (1 / 3) if method == "central" else BASE_STEPS["richardson"] * ratio ** (1 / 5)
    values = np.abs(np.asarray(x, dtype=complex if np.iscomplexobj(x) else float).reshape(-1))
    values = values[np.isfinite(values)]  # rms over the finite entries (1 if there are none)
    return float(base * max(1.0, math.sqrt(np.sum(values * values) / values.size) if values.size else 1.0))


def perturbation_offsets(epsilon: float, method: str) -> np.ndarray:
    """The offsets added to one coordinate at which f is evaluated: (+e, -e), (+e, -e, +e/2, -e/2) or (i e,)."""
    offsets = {"central": [epsilon, -epsilon], "richardson": [epsilon, -epsilon, epsilon / 2, -epsilon / 2],
               "complex": [1j * epsilon]}
    return np.array(offsets[check_method(method)])


def combine(values: np.ndarray, epsilon: float, method: str) -> np.ndarray:
    """Derivatives from f at the offsets of `perturbation_offsets`: values (k, D) -> (k,)."""
    if method == "complex":
        return values[:, 0].imag / epsilon
    coarse = ((values[:, 0] - values[:, 1]) / (2 * epsilon)).real
    return coarse if method == "central" else ((4 * ((values[:, 2] - values[:, 3]) / epsilon) - coarse) / 3).real


def check_positive(value: Any, name: str, integer: bool = False) -> Any:
    """`value` as a positive finite float (integer: a positive int, bools refused), or an error naming `name`."""
    if integer:
        if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0):
            raise ValueError(f"{name} must be a positive int, but got {value!r}")
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number, but got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a positive finite number, but got {value!r}")
    return number


check_epsilon, check_threshold = partial(check_positive, name="epsilon"), partial(check_positive, name="threshold")
check_positive_int = partial(check_positive, integer=True)


def check_epsilons(epsilons: Any) -> np.ndarray:
    """The steps of a sweep as a float64 vector (None: 1e-1 .. 1e-10), or an error unless positive and finite."""
    if epsilons is None:
        return SWEEP_EPSILONS.copy()
    grid = np.array(as_array("epsilons", epsilons), dtype=np.float64).reshape(-1)
    if grid.size == 0 or not (np.isfinite(grid).all() and (grid > 0).all()):
        raise ValueError(f"epsilons must be positive finite numbers, but got {grid}")
    return grid


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, but got {method!r}")
    return method


def scalar_value(value: Any, where: Callable[[], str], complex_ok: bool = False) -> complex | float:
    """f's result as a Python number, or an error saying (where()) which perturbation produced the bad value."""
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"f must return a scalar, but returned shape {array.shape} when {where()}")
    number = array.reshape(()).item()
    if not isinstance(number, (int, float, complex)) or isinstance(number, bool):
        raise TypeError(f"f must return a number, but returned {type(number).__name__} when {where()}")
    if not np.isfinite(number):
        raise FloatingPointError(f"f returned {number} when {where()}")
    if isinstance(number, complex) and not complex_ok and number.imag != 0:  # no real derivative to compare with
        raise TypeError(f"f must return a real number, but returned {number!r} when {where()}")
    return number.real if isinstance(number, complex) and not complex_ok else number


def describe(label: str, offset: complex) -> str:
    """'x[1, 2] was perturbed by +1e-05' (the message fragment naming a coordinate by its label)."""
    return f"{label} was perturbed by {f'{offset.imag:+.3g}j' if np.iscomplexobj(offset) else f'{offset:+.3g}'}"


def evaluate_complex(f: Callable[[Any], Any], z: Any, where: Callable[[], str]) -> complex:
    """f at a complex point, refusing functions that detectably drop the imaginary part."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexWarning)  # complex -> real casts inside f
        try:
            value = f(z)
        except ComplexWarning as error:
            raise _not_complex_safe(f"it cast a complex number to real ({error})") from error
        except (TypeError, ValueError) as error:
            raise _not_complex_safe(f"it raised {type(error).__name__}: {error} on a complex input") from error
    if not np.iscomplexobj(value):
        raise _not_complex_safe(f"it returned a real {type(value).__name__} for a complex input")
    return complex(scalar_value(value, where, complex_ok=True))


def _not_complex_safe(reason: str) -> ValueError:
    return ValueError(f"method='complex' needs f to be complex-safe (analytic: no abs, maximum, comparisons or writes "
                      f"into real buffers), but {reason}; use method='central' or 'richardson'")


def _each_perturbation(point: np.ndarray, offsets: np.ndarray,
                       evaluate: Callable[[np.ndarray, Callable[[], str]], Any]) -> list[list[Any]]:
    """evaluate(x, where) at x = point + offsets[j] e_i for every entry i and offset j (rows i), on a private copy
    of point; where() names the perturbation for error messages."""
    work = point.astype(offsets.dtype)  # a private copy: the caller's x is never written
    flat = work.reshape(-1)  # a view: writing flat[i] perturbs work
    rows = []
    for i in range(flat.size):
        original, row = flat[i], []
        for offset in offsets:
            flat[i] = original + offset
            row.append(evaluate(work, _where(i, offset, point.shape)))
            flat[i] = original
        rows.append(row)
    return rows


def _where(i: int, offset: complex, shape: tuple[int, ...]) -> Callable[[], str]:
    """A lazy description of the perturbation (only built when an error needs it)."""
    return lambda: describe(f"x[{', '.join(str(int(d)) for d in np.unravel_index(i, shape))}]", offset)


def numerical_gradient(f: Callable[[np.ndarray], Any], x: Any, epsilon: float | None = None,
                       method: str = "central") -> np.ndarray:
    """dF/dx by finite differences (or the complex step), shape of x, float64.

    f: scalar function of an array shaped like x.  x: any shape (ints are checked in float64).
    epsilon: the step (None -> `default_epsilon(x, method)`).  method: "central", "richardson" or "complex".
    """
    method = check_method(method)
    point = np.array(as_array("x", x), dtype=np.float64)
    epsilon = default_epsilon(point, method) if epsilon is None else check_epsilon(epsilon)
    offsets = perturbation_offsets(epsilon, method)
    evaluate = partial(evaluate_complex, f) if method == "complex" else lambda z, where: scalar_value(f(z), where)
    values = np.array(_each_perturbation(point, offsets, evaluate), dtype=offsets.dtype)
    return combine(values.reshape(point.size, offsets.size), epsilon, method).reshape(point.shape)


def numerical_gradient_array(f: Callable[[np.ndarray], Any], x: Any, dout: Any, epsilon: float | None = None
                             ) -> np.ndarray:
    """sum((f(x + e e_i) - f(x - e e_i)) * dout) / 2e for every i (e = epsilon): the gradient of an array-valued f.

    f: array function of x; its output has the shape of dout.  x: any shape.  dout: the upstream
    gradient dL/df.  Returns dL/dx with the shape of x (float64).  cs231n's eval_numerical_gradient_array.
    """
    point = np.array(as_array("x", x), dtype=np.float64)
    upstream = as_array("dout", dout)
    epsilon = default_epsilon(point, "central") if epsilon is None else check_epsilon(epsilon)

    def output(z: np.ndarray, where: Callable[[], str]) -> np.ndarray:
        out = np.array(f(z), dtype=np.float64)  # a copy: f may return a buffer it reuses
        if out.shape != upstream.shape:
            raise ValueError(f"f must return an array of dout's shape {upstream.shape}, but returned {out.shape} "
                             f"when {where()}")
        if not np.isfinite(out).all():
            raise FloatingPointError(f"f returned NaN or inf when {where()}")
        return out

    rows = _each_perturbation(point, np.array([epsilon, -epsilon]), output)
    grad = [np.sum((plus - minus) * upstream) / (2 * epsilon) for plus, minus in rows]
    return np.array(grad, dtype=np.float64).reshape(point.shape)
