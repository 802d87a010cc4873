"""directional_check: its random directions, the calls it makes, and what it hands the cost.

References: the moments of the uniform distribution on [-a, a] (in units of its rms a / sqrt(3): fourth
moment 9/5, eighth 9, largest |entry| -> sqrt(3); a normal's fourth moment is 3) and of a fair sign; a
linear cost c . x, whose central difference along v is c . v up to round-off; the count of the docstring,
2 num_directions + 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from benchmarks.models import make_problem
from toynet.gradcheck import directional_check
from toynet.gradcheck.aware import random_directions


def test_random_directions_are_seeded_unit_vectors_with_independent_symmetric_uniform_entries() -> None:
    count, size = 3, 120_000
    directions = random_directions(count, size, seed=7)
    assert directions.shape == (count, size) and directions.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-13)
    np.testing.assert_array_equal(directions, random_directions(count, size, seed=7))  # seeded
    assert not np.array_equal(directions, random_directions(count, size, seed=8))
    scaled = directions * np.sqrt(size)  # unit rms per entry
    total = count * size
    assert abs(np.mean(scaled > 0) - 0.5) < 5 * 0.5 / np.sqrt(total)  # symmetric about 0: a fair sign
    assert abs(np.mean(scaled)) < 5 / np.sqrt(total)
    # uniform, not normal: the fourth moment is 9/5 (a normal's is 3), and no entry beyond sqrt(3) x the rms
    fourth = np.mean(scaled**4)
    assert abs(fourth - 9 / 5) < 5 * np.sqrt((9 - (9 / 5) ** 2) / total)  # E u^8 = 9 for unit-rms uniform u
    assert np.sqrt(3) * 0.99 < np.max(np.abs(scaled)) < np.sqrt(3) * 1.01  # (each row's norm varies ~0.1%)
    # independent rows: nearly orthogonal, |v_i . v_j| ~ 1 / sqrt(size)
    gram = directions @ directions.T
    assert np.max(np.abs(gram - np.eye(count))) < 5 / np.sqrt(size)


def test_the_check_differentiates_along_the_seeded_directions() -> None:
    """A linear cost c . x: its central difference along v is c . v (no truncation), so the check's numbers
    show the directions it used; they are random_directions(num_directions, n, seed)."""
    rng = np.random.default_rng(11)
    c, x = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    result = directional_check(lambda v: float(np.sum(c * v)), x, c, num_directions=5, seed=3)
    expected = random_directions(5, x.size, seed=3) @ c.reshape(-1)
    np.testing.assert_allclose(result.analytic, expected, rtol=1e-12)
    np.testing.assert_allclose(result.numeric, expected, rtol=1e-6, atol=1e-9)
    assert result.passed and result.verdict == "passed"


class CountingCost:
    """A black-box network cost: counts its calls and remembers every array it was handed."""

    def __init__(self, cost_fn: Any) -> None:
        self.cost_fn, self.calls, self.seen = cost_fn, 0, []

    def __call__(self, parameters: Mapping[str, np.ndarray]) -> float:
        self.calls += 1
        self.seen += list(parameters.values())
        return float(self.cost_fn(parameters))


@pytest.mark.parametrize("num_directions", [1, 3, 5])
def test_the_network_form_calls_the_cost_twice_at_theta_and_twice_per_direction(num_directions: int) -> None:
    problem = make_problem([5, 8, 4, 1], m=3, seed=1, hidden="tanh")
    before = {name: value.copy() for name, value in problem.parameters.items()}
    cost = CountingCost(problem.net.cost_function(problem.X, problem.Y))
    result = directional_check(cost, problem.parameters, problem.gradients, num_directions=num_directions)
    assert result.passed and result.verdict == "passed" and result.numeric.shape == (num_directions,)
    assert cost.calls <= 2 * num_directions + 2  # the budget of a clean pass: no noise measured
    for name, value in problem.parameters.items():  # the caller's arrays never reach the cost, nor change
        np.testing.assert_array_equal(value, before[name])
        assert not any(np.shares_memory(value, seen) for seen in cost.seen)
    buggy = dict(problem.gradients, dW2=problem.gradients["dW2"] * 1.01)
    assert not directional_check(cost, problem.parameters, buggy, num_directions=num_directions).passed


def test_the_network_form_names_a_cost_that_writes_into_its_parameters() -> None:
    problem = make_problem([4, 6, 1], m=3, seed=2, hidden="tanh")
    before = {name: value.copy() for name, value in problem.parameters.items()}
    cost_fn = problem.net.cost_function(problem.X, problem.Y)

    def writes(parameters: Mapping[str, np.ndarray]) -> float:
        parameters["b1"] -= parameters["b1"].max()  # the cs231n in-place bug, on a bias
        return float(cost_fn(parameters))

    result = directional_check(writes, problem.parameters, problem.gradients)
    assert result.verdict == "inconclusive" and not result.passed
    cause = result.cause("in-place")
    assert cause is not None and "cost_fn" in cause.message and "b1" in cause.message
    for name, value in problem.parameters.items():
        np.testing.assert_array_equal(value, before[name])


def test_the_network_form_refuses_a_cost_that_is_not_a_function() -> None:
    problem = make_problem([4, 6, 1], m=3, seed=2)
    with pytest.raises(TypeError, match="cost_fn must be a function"):
        directional_check(3.0, problem.parameters, problem.gradients)  # type: ignore[arg-type]
