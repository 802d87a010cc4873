"""The sequential network: the course's numbers, backward against a numerical gradient, training, errors."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import (
    COURSE_COST,
    assert_gradients_agree,
    course_forward,
    five_point_gradient,
    relative_difference,
    to_the_last_digit,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from toynet import Network, Sequential, datasets, dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from toynet.network import NetworkCache


def test_course_cost_and_caches(course_case: tuple) -> None:
    X, Y, parameters = course_case
    network = Network([4, 5, 3, 1])
    cost, caches = network.forward(X, Y, parameters)
    assert isinstance(cost, float)
    assert cost == pytest.approx(COURSE_COST, rel=1e-14)
    assert isinstance(caches, NetworkCache) and len(caches.layers) == 3
    A_prev, W, b = caches.layers[1].linear
    assert W is parameters["W2"] or np.array_equal(W, parameters["W2"])
    assert caches.cost.A.shape == (1, 3)


def test_course_gradients_match_the_course_formulas(course_case: tuple) -> None:
    """The course's (corrected) backward_propagation_n, written out here as an independent reference."""
    X, Y, p = course_case
    m = X.shape[1]
    Z1 = p["W1"] @ X + p["b1"]
    A1 = np.maximum(0, Z1)
    Z2 = p["W2"] @ A1 + p["b2"]
    A2 = np.maximum(0, Z2)
    Z3 = p["W3"] @ A2 + p["b3"]
    A3 = 1 / (1 + np.exp(-Z3))
    dZ3 = A3 - Y
    dW3, db3 = dZ3 @ A2.T / m, dZ3.sum(axis=1, keepdims=True) / m
    dZ2 = (p["W3"].T @ dZ3) * (A2 > 0)
    dW2, db2 = dZ2 @ A1.T / m, dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (p["W2"].T @ dZ2) * (A1 > 0)
    dW1, db1 = dZ1 @ X.T / m, dZ1.sum(axis=1, keepdims=True) / m
    network = Network([4, 5, 3, 1])
    grads = network.backward(network.forward(X, Y, p)[1])
    assert list(grads) == ["dW1", "db1", "dW2", "db2", "dW3", "db3"]
    for name, expected in {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}.items():
        np.testing.assert_allclose(grads[name], expected, rtol=1e-12, atol=1e-15)


def test_course_corrected_difference_at_the_course_epsilon(course_case: tuple) -> None:
    """docs/REFERENCE.md: the corrected backward at epsilon = 1e-7 gives about 1.189e-07 (round-off dominated)."""
    X, Y, parameters = course_case
    network = Network([4, 5, 3, 1])
    grad = gradients_to_vector(network.backward(network.forward(X, Y, parameters)[1]))
    theta, _ = dictionary_to_vector(parameters)
    epsilon, approx = 1e-7, np.zeros_like(theta)
    for i in range(theta.shape[0]):  # the course's loop, verbatim in spirit
        plus, minus = theta.copy(), theta.copy()
        plus[i] += epsilon
        minus[i] -= epsilon
        approx[i] = (
            network.cost(X, Y, vector_to_dictionary(plus, parameters))
            - network.cost(X, Y, vector_to_dictionary(minus, parameters))
        ) / (2 * epsilon)
    assert relative_difference(grad, approx) == pytest.approx(1.189e-07, rel=0.05)


@st.composite
def networks_and_data(draw: st.DrawFn) -> tuple[Network, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    sizes = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    n_x, m = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    hidden = draw(st.sampled_from(["relu", "tanh", "sigmoid"]))
    network = Network([n_x, *sizes, 1], hidden=hidden)
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    parameters = network.initialize_parameters(seed=seed, method="xavier")
    parameters = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in parameters.items()}  # non-zero biases
    X = rng.standard_normal((n_x, m))
    Y = (rng.random(m) > 0.5).astype(float)
    return network, X, Y, parameters


@given(networks_and_data())
def test_backward_matches_numerical_gradient(case: tuple) -> None:
    network, X, Y, parameters = case
    cost, caches = network.forward(X, Y, parameters)
    if network.hidden == "relu":  # stay away from the kink: every pre-activation well clear of zero
        assume(all(np.min(np.abs(layer.activation)) > 0.05 for layer in caches.layers[:-1]))
    grad = gradients_to_vector(network.backward(caches), parameters)
    theta, _ = dictionary_to_vector(parameters)
    numeric = five_point_gradient(lambda t: network.cost(X, Y, vector_to_dictionary(t, parameters)), theta, h=1e-4)
    assert_gradients_agree(grad, numeric)


def test_cost_function_is_the_cost_at_the_given_parameters(course_case: tuple) -> None:
    X, Y, parameters = course_case
    network = Network([4, 5, 3, 1])
    cost_fn = network.cost_function(X, Y)
    # the course's algorithm on this machine to the bit; its printed value to one unit in the last digit
    assert cost_fn(parameters) == course_forward(X, Y, parameters)
    assert to_the_last_digit(cost_fn(parameters), COURSE_COST)
    theta, _ = dictionary_to_vector(parameters)
    moved = vector_to_dictionary(theta + 0.01, parameters)
    assert cost_fn(moved) == network.cost(X, Y, moved) != COURSE_COST


@pytest.mark.parametrize(
    ("method", "scale"),
    [
        ("he", lambda n_in, n_out: np.sqrt(2 / n_in)),
        ("xavier", lambda n_in, n_out: np.sqrt(1 / n_in)),
        ("glorot", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out))),
        ("small", lambda n_in, n_out: 0.01),
    ],
)
def test_initialisation_scales(method: str, scale: object) -> None:
    network = Network([400, 300, 1])
    parameters = network.initialize_parameters(seed=0, method=method)  # type: ignore[arg-type]
    assert parameters["W1"].std() == pytest.approx(scale(400, 300), rel=0.02)  # type: ignore[operator]
    assert np.all(parameters["b1"] == 0)
    again = network.initialize_parameters(seed=0, method=method)  # type: ignore[arg-type]
    np.testing.assert_array_equal(parameters["W1"], again["W1"])


def test_training_lowers_the_cost_and_leaves_the_start_untouched() -> None:
    X, Y = datasets.moons(m=120, seed=3)
    network = Sequential([2, 8, 1], hidden="tanh")
    start = network.initialize_parameters(seed=2, method="xavier")
    before = {k: v.copy() for k, v in start.items()}
    result = network.train(X, Y, start, learning_rate=0.5, num_iterations=300, progress=False)
    assert len(result.costs) == 300
    assert result.costs[-1] < 0.6 * result.costs[0]
    assert network.accuracy(X, Y, result.parameters) > 0.8
    for name in start:
        np.testing.assert_array_equal(start[name], before[name])


def test_training_shows_a_progress_bar_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    X, Y = datasets.blobs(m=20)
    Network([2, 2, 1]).train(X, Y, num_iterations=5, progress=True)
    assert "training" in capsys.readouterr().err


def test_predict_and_accuracy() -> None:
    network = Network([1, 1])
    parameters = {"W1": np.array([[10.0]]), "b1": np.array([[0.0]])}
    X = np.array([[-1.0, -0.5, 0.5, 2.0]])
    np.testing.assert_array_equal(network.predict(X, parameters), [[0, 0, 1, 1]])
    assert network.accuracy(X, [0, 1, 1, 1], parameters) == 0.75


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda n, X, Y, p: n.forward(X[:3], Y, p), r"X must have shape \(4, m\), but got shape \(3, 3\)"),
        (lambda n, X, Y, p: n.forward(X, Y[:2], p), r"Y must have shape \(m,\) or \(1, m\) with m = 3, .* \(2,\)"),
        (lambda n, X, Y, p: n.forward(X, Y, {**p, "W2": p["W2"].T}), r"parameters\['W2'\] must have shape \(3, 5\)"),
        (lambda n, X, Y, p: n.forward(X, Y, {k: v for k, v in p.items() if k != "b3"}), r"missing \[b3\]"),
        (lambda n, X, Y, p: n.forward(np.where(X > 1, np.nan, X), Y, p), r"X must be finite"),
        (lambda n, X, Y, p: n.forward(X, Y, {**p, "b1": p["b1"] * np.inf}), r"parameters\['b1'\] must be finite"),
        (lambda n, X, Y, p: n.backward("caches"), r"caches must be the NetworkCache returned by forward"),
        (lambda n, X, Y, p: n.train(X, Y, p, learning_rate=-1), r"learning_rate must be a positive number"),
        (lambda n, X, Y, p: Network([4, 5, 2]), r"the output layer must have 1 unit"),
        (lambda n, X, Y, p: Network([4, 5, 1], hidden="swish"), r"hidden must be one of"),
    ],
)
def test_bad_input_is_named(course_case: tuple, call: object, message: str) -> None:
    X, Y, parameters = course_case
    with pytest.raises((ValueError, TypeError), match=message):
        call(Network([4, 5, 3, 1]), X, Y, parameters)  # type: ignore[operator]


def test_forward_and_backward_do_not_modify_inputs(course_case: tuple) -> None:
    X, Y, parameters = course_case
    snapshot = [X.copy(), Y.copy()] + [v.copy() for v in parameters.values()]
    network = Network([4, 5, 3, 1])
    network.backward(network.forward(X, Y, parameters)[1])
    network.predict(X, parameters)
    for array, original in zip([X, Y, *parameters.values()], snapshot, strict=True):
        np.testing.assert_array_equal(array, original)
