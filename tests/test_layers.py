"""Layers: forward values against the defining formulas, backward against an independent numerical gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _reference import five_point_gradient, relative_difference
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toynet import Linear, ReLU, Sigmoid, Tanh

dims = st.integers(min_value=1, max_value=5)
values = st.floats(min_value=-3, max_value=3, allow_nan=False, allow_infinity=False)


def matrices(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, shape, elements=values)


@st.composite
def linear_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_in, n_out, m = draw(dims), draw(dims), draw(dims)
    return (
        draw(matrices((n_in, m))),
        draw(matrices((n_out, n_in))),
        draw(matrices((n_out, 1))),
        draw(matrices((n_out, m))),
    )


@given(linear_inputs())
def test_linear_backward_matches_numerical_gradient(case: tuple[np.ndarray, ...]) -> None:
    A_prev, W, b, dZ = case
    Z, cache = Linear.forward(A_prev, W, b)
    np.testing.assert_allclose(Z, W @ A_prev + b)
    dA_prev, dW, db = Linear.backward(dZ, cache)
    # The backward of L = sum(Z * dZ) with respect to each input is that input's gradient.
    for name, array, analytic in (("A_prev", A_prev, dA_prev), ("W", W, dW), ("b", b, db)):
        def loss(x: np.ndarray, name: str = name) -> float:
            inputs = {"A_prev": A_prev, "W": W, "b": b, name: x}
            return float(np.sum(Linear.forward(inputs["A_prev"], inputs["W"], inputs["b"])[0] * dZ))

        numeric = five_point_gradient(loss, array)
        assume(np.linalg.norm(numeric) > 1e-6)
        assert analytic.shape == array.shape
        assert relative_difference(analytic, numeric) < 1e-9


@pytest.mark.parametrize("layer", [Sigmoid, Tanh, ReLU])
@given(data=st.data())
def test_activation_backward_matches_numerical_gradient(layer: type, data: st.DataObject) -> None:
    shape = (data.draw(dims), data.draw(dims))
    Z = data.draw(matrices(shape))
    dA = data.draw(matrices(shape))
    if layer is ReLU:  # away from the kink: the 5-point stencil reaches 2h = 2e-3 either side
        Z = np.where(Z >= 0, Z + 0.05, Z - 0.05)
    A, cache = layer.forward(Z)
    dZ = layer.backward(dA, cache)
    numeric = five_point_gradient(lambda z: float(np.sum(layer.forward(z)[0] * dA)), Z)
    assume(np.linalg.norm(numeric) > 1e-6)
    assert relative_difference(dZ, numeric) < 1e-9


def test_activation_forward_values() -> None:
    Z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(ReLU.forward(Z)[0], [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(Sigmoid.forward(Z)[0], 1 / (1 + np.exp(-Z)))
    np.testing.assert_allclose(Tanh.forward(Z)[0], np.tanh(Z))


def test_relu_derivative_is_zero_at_and_below_the_kink() -> None:
    Z = np.array([[-1.0, 0.0, 2.0]])
    _, cache = ReLU.forward(Z)
    np.testing.assert_array_equal(ReLU.backward(np.ones_like(Z), cache), [[0.0, 0.0, 1.0]])


def test_sigmoid_does_not_overflow_for_large_inputs() -> None:
    Z = np.array([[-1000.0, -750.0, 0.0, 750.0, 1000.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A, _ = Sigmoid.forward(Z)
    assert np.all(np.isfinite(A))
    np.testing.assert_array_equal(A, [[0.0, 0.0, 0.5, 1.0, 1.0]])


def test_layers_keep_float32() -> None:
    A_prev = np.ones((3, 2), dtype=np.float32)
    W = np.ones((2, 3), dtype=np.float32)
    b = np.zeros((2, 1), dtype=np.float32)
    Z, _ = Linear.forward(A_prev, W, b)
    assert Z.dtype == np.float32
    for layer in (ReLU, Sigmoid, Tanh):
        assert layer.forward(Z)[0].dtype == np.float32


def test_integer_inputs_are_computed_in_float() -> None:
    Z, cache = Linear.forward(np.array([[1], [2]]), np.array([[1, 1]]), np.array([[0]]))
    assert Z.dtype == np.float64
    _, dW, _ = Linear.backward(np.array([[0.5]]), cache)
    np.testing.assert_allclose(dW, [[0.5, 1.0]])


@pytest.mark.parametrize(
    ("A_prev", "W", "b", "message"),
    [
        (np.ones((3, 2)), np.ones((2, 4)), np.ones((2, 1)), r"A_prev must have shape \(4, \?\), but got \S+ \(3, 2\)"),
        (np.ones((4, 2)), np.ones((2, 4)), np.ones((3, 1)), r"b must have shape \(2, 1\), but got shape \(3, 1\)"),
        (np.ones((4, 2)), np.ones(4), np.ones((2, 1)), r"W must have shape \(\?, \?\), but got shape \(4,\)"),
        (np.array([["a"]]), np.ones((1, 1)), np.ones((1, 1)), r"A_prev must be a numeric array, but got dtype <U1"),
    ],
)
def test_linear_forward_rejects_bad_input(A_prev: object, W: object, b: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        Linear.forward(A_prev, W, b)  # type: ignore[arg-type]


def test_backward_rejects_mismatched_upstream_gradient() -> None:
    _, cache = Linear.forward(np.ones((3, 2)), np.ones((4, 3)), np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"dZ must have shape \(4, 2\), but got shape \(4, 3\)"):
        Linear.backward(np.ones((4, 3)), cache)
    with pytest.raises(TypeError, match="cache must be the"):
        Linear.backward(np.ones((4, 2)), "not a cache")  # type: ignore[arg-type]
    _, z_cache = ReLU.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"dA must have the shape of the cached Z, \(2, 2\), but got shape \(2, 3\)"):
        ReLU.backward(np.ones((2, 3)), z_cache)


def test_no_layer_modifies_its_inputs() -> None:
    rng = np.random.default_rng(3)
    A_prev, W, b, dZ = (rng.standard_normal(s) for s in ((3, 4), (2, 3), (2, 1), (2, 4)))
    originals = [a.copy() for a in (A_prev, W, b, dZ)]
    Z, cache = Linear.forward(A_prev, W, b)
    Linear.backward(dZ, cache)
    for layer in (ReLU, Sigmoid, Tanh):
        Z_before = Z.copy()
        A, act_cache = layer.forward(Z)
        layer.backward(dZ, act_cache)
        np.testing.assert_array_equal(Z, Z_before)
    for array, original in zip((A_prev, W, b, dZ), originals, strict=True):
        np.testing.assert_array_equal(array, original)
