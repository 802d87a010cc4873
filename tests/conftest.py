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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (`make test`), the tests marked slow(seconds) start first, longest first: a long test started
    last would leave the other worker idle while it runs. With `--dist worksteal` the first worker starts at the
    head of this order and an idle worker takes tests from the tail of the other's queue, so the tests that share
    one costly module fixture (same mark, neighbours in their file) stay together and it is built once."""
    if hasattr(config, "workerinput"):  # set in xdist workers only: a plain run keeps the files' order

        def seconds(item: pytest.Item) -> float:
            mark = item.get_closest_marker("slow")
            return mark.args[0] if mark else 0.0

        items.sort(key=seconds, reverse=True)  # stable: equal marks keep their file order


@pytest.fixture
def course_case() -> CourseCase:
    """The course's N-D test case (X, Y, parameters), fresh for each test (tests/_reference.py, docs/REFERENCE.md)."""
    return _reference.course_case()
