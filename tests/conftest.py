"""Shared fixtures: the course's N-D test case, drawn in the course's order (docs/REFERENCE.md)."""

from __future__ import annotations

import _reference
import pytest
from _reference import CourseCase
from hypothesis import HealthCheck, settings

settings.register_profile(
    "toynet", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("toynet")


@pytest.fixture
def course_case() -> CourseCase:
    """The course's N-D test case (X, Y, parameters), fresh for each test (tests/_reference.py, docs/REFERENCE.md)."""
    return _reference.course_case()
