"""The logistic cost: the course's value, saturation limits, the stable form, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _reference import assert_gradients_agree, five_point_gradient
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toynet import LogisticCost, LogisticCostFromLogits, Network, logistic_cost, sigmoid

COURSE_COST = 2.407833389834357  # docs/REFERENCE.md


def course_predictions(course_case: tuple) -> np.ndarray:
    X, _, parameters = course_case
    return Network([4, 5, 3, 1]).predict_proba(X, parameters)


def test_course_cost_with_labels_of_either_shape(course_case: tuple) -> None:
    A3 = course_predictions(course_case)
    for Y in (np.array([1, 1, 0]), np.array([[1, 1, 0]])):
        cost, _ = LogisticCost.forward(A3, Y)
        assert isinstance(cost, float)
        assert cost == pytest.approx(COURSE_COST, rel=1e-14, abs=0)
    assert logistic_cost(A3, [1, 1, 0]) == pytest.approx(COURSE_COST, rel=1e-14)


def test_cost_matches_the_textbook_formula() -> None:
    A = np.array([[0.9, 0.2, 0.6, 0.35]])
    Y = np.array([[1, 0, 1, 0]])
    expected = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    assert LogisticCost.forward(A, Y)[0] == pytest.approx(expected, rel=1e-15)


def test_saturated_predictions_give_the_limit_not_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right, _ = LogisticCost.forward(np.array([[1.0, 0.0]]), np.array([1, 0]))
        wrong, cache = LogisticCost.forward(np.array([[0.0, 1.0]]), np.array([1, 0]))
        dA = LogisticCost.backward(1.0, cache)
    assert right == 0.0  # 0 * log 0 counts as 0: a correct certain prediction costs nothing
    assert np.isfinite(wrong) and wrong > 700  # log floored at log(tiny) = -708.4
    assert np.all(np.isfinite(dA))


@given(
    arrays(np.float64, (1, 6), elements=st.floats(0.02, 0.98)),
    arrays(np.float64, (1, 6), elements=st.floats(0, 1)),
)
def test_backward_matches_numerical_gradient(A: np.ndarray, Y: np.ndarray) -> None:
    dA = LogisticCost.backward(1.0, LogisticCost.forward(A, Y)[1])
    numeric = five_point_gradient(lambda a: LogisticCost.forward(a, Y)[0], A, h=1e-4)
    assert_gradients_agree(dA, numeric)


# |Z| <= 12 keeps 1 - sigma(Z) representable to ~1e-11 relative, so the course form is still exact enough.
@given(arrays(np.float64, (1, 5), elements=st.floats(-12, 12)), arrays(np.int64, (1, 5), elements=st.integers(0, 1)))
def test_stable_form_agrees_with_the_course_form(Z: np.ndarray, Y: np.ndarray) -> None:
    stable, cache = LogisticCostFromLogits.forward(Z, Y)
    course, _ = LogisticCost.forward(sigmoid(Z), Y)
    assert stable == pytest.approx(course, rel=1e-9)
    dZ = LogisticCostFromLogits.backward(1.0, cache)
    numeric = five_point_gradient(lambda z: LogisticCostFromLogits.forward(z, Y)[0], Z, h=1e-4)
    assert_gradients_agree(dZ, numeric)


def test_stable_form_keeps_the_true_cost_of_a_confident_mistake() -> None:
    cost, _ = LogisticCostFromLogits.forward(np.array([[-800.0]]), np.array([1]))
    assert cost == pytest.approx(800.0)  # log(1 + e^800) = 800 + log(1 + e^-800)


@pytest.mark.parametrize(
    ("A", "Y", "message"),
    [
        (np.array([[0.5, np.nan]]), [1, 0], r"A must be finite, but has 1 NaN/inf value\(s\); the first at .*\(0, 1\)"),
        (np.array([[0.5, 0.2]]), [1, np.inf], r"Y must be finite"),
        (np.array([[0.5, 1.2]]), [1, 0], r"A must hold probabilities in \[0, 1\]"),
        (np.array([[0.5, 0.2]]), [1, 2], r"Y must hold labels in \[0, 1\]"),
        (np.array([[0.5, 0.2]]), [1, 0, 1], r"Y must have shape \(m,\) or \(1, m\) with m = 2, but got shape \(3,\)"),
        (np.array([0.5, 0.2]), [1, 0], r"A must have shape \(1, m\), but got shape \(2,\)"),
        (np.array([[0.5, 0.2]]), ["a", "b"], r"Y must be a numeric array"),
    ],
)
def test_bad_input_is_named(A: np.ndarray, Y: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        LogisticCost.forward(A, Y)  # type: ignore[arg-type]


def test_cost_does_not_modify_its_inputs() -> None:
    A, Y = np.array([[0.0, 0.3, 1.0]]), np.array([0.0, 1.0, 1.0])
    A0, Y0 = A.copy(), Y.copy()
    LogisticCost.backward(1.0, LogisticCost.forward(A, Y)[1])
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(Y, Y0)


@given(
    arrays(np.float64, (1, 7), elements=st.floats(1e-6, 1 - 1e-6)),
    arrays(np.int64, (1, 7), elements=st.integers(0, 1)),
)
def test_cost_is_the_course_expression_to_the_last_bit(A: np.ndarray, Y: np.ndarray) -> None:
    """The course's forward_propagation_n, verbatim: toynet must give the same float, not merely a close one,
    so that the course's printed differences (0.2850931567761623) come out digit for digit."""
    m = A.shape[1]
    logprobs = np.multiply(-np.log(A), Y) + np.multiply(-np.log(1 - A), 1 - Y)
    course = 1.0 / m * np.sum(logprobs)
    assert LogisticCost.forward(A, Y)[0] == course
