"""The numerical-gradient-check exercise (seed 001): hand-derived gradients, the exercise's own solution
typed out again as a reference, agreement with toynet.gradcheck, params never modified."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toynet import gradcheck
from toynet.exercises import numerical_gradient_check as ngc

KEYS = {"analytical_gradient", "numerical_gradient", "absolute_difference", "relative_error", "passed"}
C = np.array([0.5, 1.0, 2.0, 3.0])
A = np.array([[0.2, -1.0, 0.5, 1.5], [1.0, 0.3, -0.7, 0.1], [-0.4, 0.8, 0.6, -1.2]])
LABEL = 1


def sig(z):
    return 1 / (1 + np.exp(-z))


def softmax_loss(w):
    """-log softmax(A w)[LABEL]."""
    s = A @ w
    return float(np.log(np.sum(np.exp(s - s.max()))) + s.max() - s[LABEL])


def d_softmax_loss(w):
    s = A @ w
    p = np.exp(s - s.max())
    p /= p.sum()
    p[LABEL] -= 1
    return A.T @ p


CASES = [
    pytest.param(lambda w: float(np.sum(C * w**2)), lambda w: 2 * C * w, id="quadratic"),
    pytest.param(lambda w: float(np.sum(C * sig(w))), lambda w: C * sig(w) * (1 - sig(w)), id="sigmoid"),
    pytest.param(softmax_loss, d_softmax_loss, id="softmax"),
]


def exercise_solution(f, analytical_grad_fn, params, h=1e-7, tolerance=1e-5):
    """The exercise's reference solution, typed out from seed 001."""
    grad = np.zeros_like(params, dtype=float)
    for i in range(len(params)):
        plus, minus = params.copy(), params.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = (f(plus) - f(minus)) / (2 * h)
    analytical = analytical_grad_fn(params)
    diff = np.abs(analytical - grad)
    relative = np.linalg.norm(diff) / (np.linalg.norm(analytical) + np.linalg.norm(grad) + 1e-8)
    return grad, float(relative), bool(relative < tolerance)


@pytest.mark.parametrize(("f", "df"), CASES)
def test_numerical_gradient_matches_hand_derivation_and_gradcheck(f, df):
    params = np.array([0.3, -1.2, 0.8, 2.0])
    before = params.copy()
    grad = ngc.numerical_gradient(f, params)
    assert grad.dtype == np.float64 and grad.shape == params.shape
    np.testing.assert_allclose(grad, df(params), rtol=1e-6, atol=1e-8)  # h = 1e-7: round-off ~1e-9 relative
    np.testing.assert_allclose(grad, gradcheck.numerical_gradient(f, params, epsilon=1e-7), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grad, exercise_solution(f, df, params)[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(params, before)


@pytest.mark.parametrize(("f", "df"), CASES)
def test_gradient_check_dict(f, df):
    params = np.array([0.3, -1.2, 0.8, 2.0])
    before = params.copy()
    result = ngc.gradient_check(f, df, params)
    assert set(result) == KEYS
    assert type(result["relative_error"]) is float and type(result["passed"]) is bool
    assert result["passed"] and result["relative_error"] < 1e-5
    np.testing.assert_array_equal(result["analytical_gradient"], df(before))
    np.testing.assert_allclose(
        result["absolute_difference"], np.abs(result["analytical_gradient"] - result["numerical_gradient"]), rtol=1e-15
    )
    _, relative, passed = exercise_solution(f, df, params)
    assert result["relative_error"] == pytest.approx(relative, rel=1e-4, abs=1e-12)
    assert result["passed"] == passed
    via_gradcheck = gradcheck.gradient_check(f, df, params, epsilon=1e-7, threshold=1e-5).as_dict()
    assert via_gradcheck["relative_error"] == result["relative_error"]
    np.testing.assert_array_equal(params, before)


@pytest.mark.parametrize(("f", "df"), CASES)
def test_gradient_check_fails_a_wrong_gradient(f, df):
    params = np.array([0.3, -1.2, 0.8, 2.0])
    result = ngc.gradient_check(f, lambda w: 1.5 * df(w), params)
    assert not result["passed"]
    assert result["relative_error"] == pytest.approx(0.5 / 2.5, rel=1e-5)  # |1.5g - g| / (|1.5g| + |g|)


def test_params_unchanged_when_f_raises():
    params = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(w):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        w += 1  # even a function that writes into its argument must not reach the caller's params
        return float(np.sum(w))

    with pytest.raises(RuntimeError, match="boom"):
        ngc.numerical_gradient(f, params)
    with pytest.raises(RuntimeError, match="boom"):
        calls.clear()
        ngc.gradient_check(f, lambda w: np.ones_like(w), params)
    np.testing.assert_array_equal(params, [1.0, 2.0, 3.0])


def test_integer_params_are_checked_in_float64():
    grad = ngc.numerical_gradient(lambda w: float(np.sum(w**2)), np.array([1, 2, 3]))
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0], rtol=1e-6)


@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-3, 3)))
def test_quadratic_property(params):
    result = ngc.gradient_check(lambda w: float(np.sum(C[0] * w**2 + w)), lambda w: 2 * C[0] * w + 1, params, h=1e-5)
    assert result["passed"]
    np.testing.assert_allclose(result["numerical_gradient"], 2 * C[0] * params + 1, rtol=1e-6, atol=1e-8)
