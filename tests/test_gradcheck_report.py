"""One problem, one result type: every check (full, sparse, directional; array or network form) returns a
GradientCheckReport carrying the fields of the types it replaced. Expected values come from closed-form
derivatives and formulas computed here (formula 2, cs231n's rel_error), never from the checker's own output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _reference import course_case

from toynet import Network
from toynet.gradcheck import (
    DirectionalCheck,
    GradientCheckReport,
    GradientCheckResult,
    SparseCheck,
    directional_check,
    grad_check_sparse,
    gradient_check,
    gradient_check_n,
)


def smooth(x: np.ndarray) -> float:
    return float(np.sum(np.sin(x) * x))


def smooth_grad(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * x + np.sin(x)


def course_network() -> tuple[Any, dict[str, np.ndarray], dict[str, np.ndarray]]:
    X, Y, parameters = course_case()
    net = Network([4, 5, 3, 1])
    return net.cost_function(X, Y), parameters, net.backward(net.forward(X, Y, parameters)[1])


def formula_2(a: np.ndarray, b: np.ndarray) -> float:
    """The course's relative difference, written out here: ||a - b|| / (||a|| + ||b||)."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def test_every_check_returns_the_one_result_type_and_the_old_names_are_aliases() -> None:
    assert GradientCheckResult is SparseCheck is DirectionalCheck is GradientCheckReport
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    cost_fn, parameters, gradients = course_network()
    results = {"full": [gradient_check(smooth, smooth_grad, x), gradient_check_n(cost_fn, parameters, gradients)],
               "sparse": [grad_check_sparse(smooth, x, smooth_grad(x), num_checks=5),
                          grad_check_sparse(cost_fn, parameters, gradients, num_checks=5)],
               "directional": [directional_check(smooth, x, smooth_grad(x)),
                               directional_check(cost_fn, parameters, gradients)]}
    for kind, pair in results.items():
        for result in pair:
            assert isinstance(result, GradientCheckReport) and result.kind == kind and result.passed
            assert f"{kind} " in repr(result) and result.summary().startswith("Gradient check passed")
            assert result.blocks and all(block.passed for block in result.blocks)


def test_the_array_form_gives_the_seed_exercises_fields_in_x_shape() -> None:
    x = np.linspace(-1.5, 1.2, 12).reshape(3, 4)
    result = gradient_check(smooth, smooth_grad, x)
    for array in (result.analytical_gradient, result.numerical_gradient, result.absolute_difference,
                  result.error_bars):
        assert array is not None and array.shape == x.shape
    np.testing.assert_array_equal(result.analytical_gradient, smooth_grad(x))
    np.testing.assert_allclose(result.numerical_gradient, smooth_grad(x), rtol=0, atol=1e-9)  # closed form
    np.testing.assert_array_equal(result.absolute_difference,
                                  np.abs(result.analytical_gradient - result.numerical_gradient))
    assert result.relative_error == result.difference == pytest.approx(
        formula_2(result.analytical_gradient, result.numerical_gradient), rel=1e-12)
    assert list(result.as_dict()) == ["analytical_gradient", "numerical_gradient", "absolute_difference",
                                      "relative_error", "passed"]
    wrong = smooth_grad(x)
    wrong[1, 2] += 0.05  # one wrong entry: named by its index in x
    found = gradient_check(smooth, lambda _: wrong, x)
    assert found.verdict == "failed" and found.failing_blocks == ["x"]
    worst = found.blocks[0].worst[0]
    assert (worst.block, worst.index, worst.label) == ("x", (1, 2), "x[1, 2]")
    assert worst.abs_error == pytest.approx(0.05, rel=1e-6)
    assert "x[1, 2]" in str(found) and "FAIL" in str(found)


def test_the_array_and_network_forms_are_one_problem() -> None:
    """f(x) and the cost {"x": x} -> f(x): the same evaluations give the same numbers; only the default step
    differs (docs/checker.md: 1e-5 for a function of an array, 2e-5 for a network cost, times max(1, rms))."""
    x = np.linspace(-0.9, 0.8, 10).reshape(2, 5)
    as_array = gradient_check(smooth, smooth_grad, x, epsilon=1e-6)
    as_network = gradient_check_n(lambda p: smooth(p["x"]), {"x": x}, {"dx": smooth_grad(x)}, epsilon=1e-6)
    np.testing.assert_array_equal(as_array.numerical_gradient.reshape(-1), as_network.numerical_gradient.reshape(-1))
    assert as_array.difference == as_network.difference and as_array.verdict == as_network.verdict == "passed"
    assert as_network.blocks[0].name == "x" and as_network.blocks[0].shape == (2, 5)
    array_default = gradient_check(smooth, smooth_grad, x)
    network_default = gradient_check_n(lambda p: smooth(p["x"]), {"x": x}, {"dx": smooth_grad(x)})
    assert array_default.noise_evaluations == network_default.noise_evaluations == 0  # a-priori steps, rms(x) < 1
    assert (array_default.epsilon, network_default.epsilon) == (1e-5, 2e-5)


def test_sparse_entries_carry_their_index_and_cs231n_rel_error() -> None:
    """A gradient 1.1 times the true one: every entry's error is 0.1 / 2.1 = 1/21 in both formulas."""
    x = np.linspace(0.3, 1.7, 30).reshape(5, 6)
    result = grad_check_sparse(lambda v: float(np.sum(v**3)), x, 3.3 * x**2, num_checks=8, seed=1)
    assert result.kind == "sparse" and len(result.entries) == 8 and not result.passed
    assert result.failing_blocks == ["x"]
    positions = [entry.position for entry in result.entries]
    assert positions == sorted(set(positions)) and all(0 <= p < 30 for p in positions)
    for entry in result.entries:
        assert entry.index == tuple(int(i) for i in np.unravel_index(entry.position, x.shape))
        assert entry.analytic == 3.3 * x[entry.index] ** 2
        assert entry.numeric == pytest.approx(3 * x[entry.index] ** 2, rel=1e-8)
        assert entry.label in str(result)
    assert result.max_rel_error == pytest.approx(1 / 21, rel=1e-7)
    assert result.relative_difference == pytest.approx(1 / 21, rel=1e-7)
    assert result.error_bars is not None and result.error_bars.shape == (8,)


def test_the_network_sparse_check_reports_only_the_blocks_it_sampled() -> None:
    cost_fn, parameters, gradients = course_network()
    buggy = dict(gradients, dW2=gradients["dW2"] * 2)
    every = grad_check_sparse(cost_fn, parameters, buggy, num_checks=47, seed=0)  # all 47 entries, in random order
    assert every.failing_blocks == ["W2"] and [b.name for b in every.blocks] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    few = grad_check_sparse(cost_fn, parameters, buggy, num_checks=4, seed=3)
    sampled = {entry.block for entry in few.entries}
    assert {block.name for block in few.blocks} == sampled
    shapes = {name: value.shape for name, value in parameters.items()}
    assert all(block.shape == shapes[block.name] for block in few.blocks)
    assert few.passed == ("W2" not in sampled)


def test_directional_relative_errors_per_direction() -> None:
    """g scaled by 1.1: g.v is 1.1 times the true derivative along every v, so each relative error is 1/21."""
    x = np.linspace(-1, 1, 20).reshape(4, 5)
    result = directional_check(smooth, x, 1.1 * smooth_grad(x), num_directions=4, seed=5)
    assert result.kind == "directional" and not result.passed and result.numeric.shape == (4,)
    np.testing.assert_allclose(result.relative_errors, 1 / 21, rtol=1e-6)
    expected = np.abs(result.numeric - result.analytic) / (np.abs(result.numeric) + np.abs(result.analytic))
    np.testing.assert_array_equal(result.relative_errors, expected)
    assert [entry.label for entry in result.entries] == [f"direction[{d}]" for d in range(4)]
    assert all(entry.label in str(result) for entry in result.entries)
    assert "random directions" in result.summary()


def test_a_bad_value_at_a_perturbed_entry_names_it_in_either_form() -> None:
    x = np.full((2, 3), 0.5)

    def blows_up(v: np.ndarray) -> float:
        return float("inf") if v[1, 0] > 0.5 else float(np.sum(v))

    with pytest.raises(FloatingPointError, match=r"x\[1, 0\] was perturbed by \+1e-05"):
        gradient_check(blows_up, np.ones_like, x)
    with pytest.raises(FloatingPointError, match=r"W\[1, 0\] \(theta\[3\]\) was perturbed by \+1e-06"):
        gradient_check_n(lambda p: blows_up(p["W"]), {"W": x}, {"dW": np.ones_like(x)}, epsilon=1e-6)
