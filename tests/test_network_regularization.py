"""Network with L2 (lambd) and inverted dropout (keep_prob): the course's formulas, and gradient checks of both.

References: the course's Regularization assignment (its formulas 2 and the dropout steps 1-4), here against the
exercise module's course-exact functions (toynet.exercises.regularization, itself tested on the course's
public tests) and a plain-numpy forward written below; the gradient checks use toynet's checker on a cost
that holds the dropout masks fixed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toynet import Network, gradcheck
from toynet.exercises import regularization as reg

NAMES = ["W1", "b1", "W2", "b2", "W3", "b3"]


def setup(seed=0, sizes=(3, 5, 4, 1), m=6, hidden="tanh"):
    network = Network(list(sizes), hidden=hidden)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((sizes[0], m))
    Y = rng.integers(0, 2, (1, m))
    parameters = network.initialize_parameters(seed=seed, method="xavier")
    parameters = {name: value + 0.1 * rng.standard_normal(value.shape) for name, value in parameters.items()}
    return network, X, Y, parameters


def numpy_cost(X, Y, p, lambd=0.0, masks=None, keep_prob=1.0, hidden=np.tanh):
    """The cost in plain numpy: hidden layers, inverted dropout with the given masks, sigmoid, cross-entropy + L2."""
    L = len(p) // 2
    A = X
    for layer in range(1, L + 1):
        Z = p[f"W{layer}"] @ A + p[f"b{layer}"]
        if layer < L:
            A = hidden(Z)
            if masks is not None:
                A = A * masks[layer - 1] / keep_prob
        else:
            A = 1 / (1 + np.exp(-Z))
    m = X.shape[1]
    cross_entropy = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    return cross_entropy + lambd / (2 * m) * sum(np.sum(p[f"W{layer}"] ** 2) for layer in range(1, L + 1))


@given(seed=st.integers(0, 2**16), lambd=st.floats(0, 3), keep_prob=st.floats(0.2, 1.0), m=st.integers(1, 7))
def test_forward_is_the_course_cost_with_L2_and_dropout(seed, lambd, keep_prob, m):
    network, X, Y, parameters = setup(seed, m=m)
    masks = network.dropout_masks(m, keep_prob, seed=seed)
    cost, _ = network.forward(X, Y, parameters, lambd=lambd, keep_prob=keep_prob, masks=masks)
    np.testing.assert_allclose(cost, numpy_cost(X, Y, parameters, lambd, masks, keep_prob), rtol=1e-12)
    assert network.forward(X, Y, parameters, lambd=lambd)[0] == pytest.approx(numpy_cost(X, Y, parameters, lambd))


def test_course_three_layer_network_matches_the_exercise_functions():
    """ReLU 3-layer network on the course's dropout test case: Network and the course-exact exercise agree."""
    np.random.seed(1)
    X = np.random.randn(3, 5)
    shapes = [(2, 3), (2, 1), (3, 2), (3, 1), (1, 3), (1, 1)]
    parameters = {name: np.random.randn(*shape) for name, shape in zip(NAMES, shapes, strict=True)}
    Y = np.array([[1, 1, 0, 1, 0]])
    A3, cache = reg.forward_propagation_with_dropout(X, parameters, keep_prob=0.7)
    network = Network([3, 2, 3, 1])
    masks = [cache[1], cache[6]]
    cost, caches = network.forward(X, Y, parameters, keep_prob=0.7, masks=masks)
    np.testing.assert_allclose(caches.cost.A, A3, rtol=1e-12)
    np.testing.assert_allclose(cost, reg.compute_cost(A3, Y), rtol=1e-12)
    grads = network.backward(caches)
    expected = reg.backward_propagation_with_dropout(X, Y, cache, keep_prob=0.7)
    for name in NAMES:
        np.testing.assert_allclose(grads["d" + name], expected["d" + name], rtol=1e-10, atol=1e-14)
    # and L2 against the exercise's L2 backward
    A3, cache = reg.forward_propagation(X, parameters)
    cost, caches = network.forward(X, Y, parameters, lambd=0.7)
    np.testing.assert_allclose(cost, reg.compute_cost_with_regularization(A3, Y, parameters, 0.7), rtol=1e-12)
    expected = reg.backward_propagation_with_regularization(X, Y, cache, 0.7)
    grads = network.backward(caches)
    for name in NAMES:
        np.testing.assert_allclose(grads["d" + name], expected["d" + name], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_gradient_check_passes_with_L2_and_names_the_W_blocks_when_it_is_forgotten(seed):
    network, X, Y, parameters = setup(seed)
    cost_fn = network.cost_function(X, Y, lambd=0.8)
    _, caches = network.forward(X, Y, parameters, lambd=0.8)
    report = gradcheck.gradient_check_n(cost_fn, parameters, network.backward(caches))
    assert report.passed, report.summary()
    _, caches = network.forward(X, Y, parameters)  # the backward without its L2 term
    forgotten = gradcheck.gradient_check_n(cost_fn, parameters, network.backward(caches))
    assert not forgotten.passed and forgotten.failing_blocks == ["W1", "W2", "W3"]


@pytest.mark.parametrize("seed", range(4))
def test_gradient_check_of_dropout_needs_fixed_masks_and_then_locates_a_wrong_backward(seed):
    network, X, Y, parameters = setup(seed)
    masks = network.dropout_masks(X.shape[1], keep_prob=0.6, seed=seed)
    cost_fn = network.cost_function(X, Y, keep_prob=0.6, masks=masks)
    _, caches = network.forward(X, Y, parameters, keep_prob=0.6, masks=masks)
    grads = network.backward(caches)
    report = gradcheck.gradient_check_n(cost_fn, parameters, grads)
    assert report.passed, report.summary()
    # A backward that forgets to rescale dA1 by 1/keep_prob: only layer 1's gradients are wrong, and named.
    buggy = dict(grads)
    buggy["dW1"], buggy["db1"] = grads["dW1"] * 0.6, grads["db1"] * 0.6
    located = gradcheck.gradient_check_n(cost_fn, parameters, buggy)
    assert not located.passed and located.failing_blocks == ["W1", "b1"]
    # A backward that forgets layer 2's mask (every unit passes its gradient back): layers 1 and 2 are named.
    unmasked = dataclasses.replace(caches, masks=[masks[0], np.ones_like(masks[1])])
    located = gradcheck.gradient_check_n(cost_fn, parameters, network.backward(unmasked))
    if masks[1].all():  # nothing was dropped in layer 2: then nothing is wrong either
        assert located.passed
    else:
        assert not located.passed and located.failing_blocks == ["W1", "b1", "W2", "b2"]
    # Checked against the cost *without* dropout, the correct dropout backward looks wrong: switch it off.
    assert not gradcheck.gradient_check_n(network.cost_function(X, Y), parameters, grads).passed
    with pytest.raises(ValueError, match=r"masks must be given with keep_prob < 1"):
        network.cost_function(X, Y, keep_prob=0.6)


def test_dropout_masks_are_seeded_shaped_and_off_for_prediction():
    network, X, Y, parameters = setup(0, m=2000)
    masks = network.dropout_masks(2000, keep_prob=0.8, seed=5)
    assert [mask.shape for mask in masks] == [(5, 2000), (4, 2000)]
    assert all(np.array_equal(a, b) for a, b in zip(masks, network.dropout_masks(2000, 0.8, seed=5), strict=True))
    assert abs(np.mean(np.concatenate([mask.ravel() for mask in masks])) - 0.8) < 0.02
    # forward without masks draws them from the seed; the same seed gives the same cost
    assert network.forward(X, Y, parameters, keep_prob=0.8, seed=5)[0] == network.forward(
        X, Y, parameters, keep_prob=0.8, masks=masks)[0]  # fmt: skip
    before = network.predict_proba(X, parameters)
    trained = network.train(X, Y, parameters, num_iterations=3, keep_prob=0.5, progress=False).parameters
    np.testing.assert_array_equal(network.predict_proba(X, parameters), before)  # no dropout in prediction
    assert network.predict_proba(X, trained).shape == (1, 2000)


def test_training_with_L2_shrinks_the_weights_and_records_the_L2_cost():
    network, X, Y, parameters = setup(1, m=40)
    plain = network.train(X, Y, parameters, learning_rate=0.5, num_iterations=300, progress=False)
    l2 = network.train(X, Y, parameters, learning_rate=0.5, num_iterations=300, progress=False, lambd=2.0)
    def norm(p):
        return sum(np.sum(p[f"W{layer}"] ** 2) for layer in (1, 2, 3))
    assert norm(l2.parameters) < norm(plain.parameters)
    assert l2.costs[0] == pytest.approx(numpy_cost(X, Y, parameters, lambd=2.0))
    # one step by hand: theta - learning_rate * (grad + lambd / m W)
    one = network.train(X, Y, parameters, learning_rate=0.5, num_iterations=1, progress=False, lambd=2.0)
    _, caches = network.forward(X, Y, parameters, lambd=2.0)
    grads = network.backward(caches)
    for name in NAMES:
        np.testing.assert_allclose(one.parameters[name], parameters[name] - 0.5 * grads["d" + name], rtol=1e-12)


def test_bad_regularization_arguments_are_named():
    network, X, Y, parameters = setup(0)
    with pytest.raises(ValueError, match=r"lambd must be a finite number >= 0, but got -1"):
        network.forward(X, Y, parameters, lambd=-1)
    with pytest.raises(ValueError, match=r"keep_prob must be a number in \(0, 1\], but got 0"):
        network.train(X, Y, parameters, keep_prob=0)
    with pytest.raises(ValueError, match=r"masks\[1\] \(D_2\) must have shape \(4, 6\), but got \(4, 5\)"):
        network.forward(X, Y, parameters, keep_prob=0.5, masks=[np.ones((5, 6)), np.ones((4, 5))])
    with pytest.raises(ValueError, match=r"masks must be a list of 2 arrays D_1 .. D_2, but got 1 arrays"):
        network.cost_function(X, Y, keep_prob=0.5, masks=[np.ones((5, 6))])
    with pytest.raises(ValueError, match=r"masks\[0\] \(D_1\) must hold only 0 and 1"):
        network.forward(X, Y, parameters, keep_prob=0.5, masks=[np.full((5, 6), 0.5), np.ones((4, 6))])
