"""Shared fixtures: the course's N-D test case, drawn in the course's order (REFERENCE.md)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "toynet", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("toynet")


@pytest.fixture
def course_case() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """X (4, 3), Y (3,), parameters of the 4-5-3-1 network, exactly as gradient_check_n_test_case draws them."""
    np.random.seed(1)
    X = np.random.randn(4, 3)
    W1 = np.random.randn(5, 4)
    b1 = np.random.randn(5, 1)
    W2 = np.random.randn(3, 5)
    b2 = np.random.randn(3, 1)
    W3 = np.random.randn(1, 3)
    b3 = np.random.randn(1, 1)
    Y = np.array([1, 1, 0])
    return X, Y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}
