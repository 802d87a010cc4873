"""The numerical-gradient-check exercise: central differences against an analytical gradient.

    numerical_gradient(f, params, h)  = [(f(p + h e_i) - f(p - h e_i)) / 2h]_i
    gradient_check(...)["relative_error"] = ||g - g_num|| / (||g|| + ||g_num||)

Same signatures and result dict as the exercise; the work is done by toynet.gradcheck. `params` is never
modified: f always receives a perturbed copy. `params` may have any shape (the exercise's is a vector).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from toynet import gradcheck

__all__ = ["gradient_check", "numerical_gradient"]


def numerical_gradient(f: Callable[[np.ndarray], float], params: np.ndarray, h: float = 1e-7) -> np.ndarray:
    """Central differences of the scalar f at params, step h.  Returns a float64 array shaped like params."""
    return gradcheck.numerical_gradient(f, params, epsilon=h)


def gradient_check(
    f: Callable[[np.ndarray], float],
    analytical_grad_fn: Callable[[np.ndarray], np.ndarray],
    params: np.ndarray,
    h: float = 1e-7,
    tolerance: float = 1e-5,
) -> dict[str, Any]:
    """Compare analytical_grad_fn(params) with numerical_gradient(f, params, h).

    Returns {"analytical_gradient", "numerical_gradient", "absolute_difference" (|g - g_num|, elementwise),
    "relative_error" (float, formula 2), "passed" (bool: relative_error < tolerance)}.
    """
    return gradcheck.gradient_check(f, analytical_grad_fn, params, epsilon=h, threshold=tolerance).as_dict()
