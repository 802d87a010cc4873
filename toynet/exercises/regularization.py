"""The course's "Regularization" assignment: L2 and (inverted) dropout for a 3-layer ReLU network.

    train_X, train_Y, test_X, test_Y = load_2D_dataset()
    parameters = model(train_X, train_Y, lambd=0.7)                # L2
    parameters = model(train_X, train_Y, keep_prob=0.86)           # dropout on hidden layers 1 and 2

L2: J = cross-entropy + (lambd / 2m) sum_l ||W_l||_F^2, so each dW_l gains (lambd / m) W_l (the b's do not).
Dropout: A_l <- A_l * D_l / keep_prob with D_l = (rand(A_l.shape) < keep_prob), on the forward pass and the
same D_l / keep_prob on dA_l backwards; prediction uses `predict` (no dropout).

Random draws, as the course makes them: `forward_propagation_with_dropout` calls np.random.seed(1) and
draws D1 then D2 with np.random.rand from numpy's *global* generator, so its masks (and the course's test
numbers) come out exactly, and the masks are the same at every training iteration (a quirk of the course
kept on purpose). `initialize_parameters` reseeds with np.random.seed(3): W_l = randn / sqrt(n_{l-1}).

Data: the course trains on `datasets/data.mat` (a file of 211 + 200 positions on a football field); toynet
does not download it. `load_2D_dataset` generates a stand-in with the same layout and ranges
(toynet.datasets.football_field): the models train and over-fit the same way, but the accuracies and
costs the course prints for its file do not carry over. Its test cases' numbers do, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from toynet._validate import as_array
from toynet.datasets import football_field
from toynet.exercises.step_by_step import check_layer_dims, seeded_parameters
from toynet.exercises.three_layer import (
    backward_layers,
    backward_propagation,
    check_data,
    check_three_layers,
    compute_cost,
    forward_layers,
    forward_propagation,
    gradient_descent,
    plot_decision_boundary,
    predict,
    predict_dec,
    relu,
    sigmoid,
    unpack_cache,
    update_parameters,
)
from toynet.layers import Linear, ReLU, Sigmoid
from toynet.network import TrainingResult

DropoutCache = tuple[np.ndarray, ...]  # (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)

__all__ = [
    "backward_propagation",
    "backward_propagation_with_dropout",
    "backward_propagation_with_regularization",
    "compute_cost",
    "compute_cost_with_regularization",
    "forward_propagation",
    "forward_propagation_with_dropout",
    "initialize_parameters",
    "load_2D_dataset",
    "model",
    "plot_decision_boundary",
    "predict",
    "predict_dec",
    "relu",
    "sigmoid",
    "train",
    "update_parameters",
]


# ---------------------------------------------------------------------------------------------- L2


def compute_cost_with_regularization(
    A3: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray], lambd: float
) -> np.float64:
    """Cross-entropy + (lambd / 2m) (||W1||^2 + ||W2||^2 + ||W3||^2) (squared Frobenius norms).

    A3: (1, m) output of forward_propagation; Y: (1, m) labels; parameters: W1 .. b3; lambd >= 0.
    """
    _check_lambd(lambd)
    check_three_layers(parameters)
    return _cost_with_l2(A3, Y, parameters, lambd)


def _cost_with_l2(A3: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray], lambd: float) -> np.float64:
    cross_entropy_cost = compute_cost(A3, Y)
    m = np.shape(A3)[1]
    squares = sum(np.sum(np.square(as_array(name, parameters[name]))) for name in ("W1", "W2", "W3"))
    return np.float64(cross_entropy_cost + lambd / (2 * m) * squares)


def backward_propagation_with_regularization(
    X: np.ndarray, Y: np.ndarray, cache: tuple[np.ndarray, ...], lambd: float
) -> dict[str, np.ndarray]:
    """The gradients of compute_cost_with_regularization: backward_propagation's, plus (lambd / m) W_l on dW_l.

    X: (n_x, m), Y: (1, m), cache: the 12-tuple of forward_propagation. Returns the course's keys
    dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1.
    """
    _check_lambd(lambd)
    gradients = backward_propagation(X, Y, cache)
    m = np.shape(X)[1]
    for layer, W in ((1, cache[2]), (2, cache[6]), (3, cache[10])):
        gradients[f"dW{layer}"] = gradients[f"dW{layer}"] + (lambd / m) * W
    return gradients


# ---------------------------------------------------------------------------------------------- dropout


def forward_propagation_with_dropout(
    X: np.ndarray, parameters: Mapping[str, np.ndarray], keep_prob: float = 0.5
) -> tuple[np.ndarray, DropoutCache]:
    """LINEAR -> RELU + DROPOUT -> LINEAR -> RELU + DROPOUT -> LINEAR -> SIGMOID (inverted dropout).

    X: (n_x, m); parameters W1 .. b3; keep_prob in (0, 1]: the probability a hidden unit is kept.
    np.random.seed(1), then D1 = rand(A1.shape) < keep_prob and D2 likewise (0/1 int masks), and
    A_l <- A_l * D_l / keep_prob. Returns A3: (1, m) and the cache
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3), the A_l after dropout.
    """
    _check_keep_prob(keep_prob)
    check_three_layers(parameters)
    return _dropout_forward(X, parameters, keep_prob)


def _dropout_forward(
    X: np.ndarray, parameters: Mapping[str, np.ndarray], keep_prob: float
) -> tuple[np.ndarray, DropoutCache]:
    np.random.seed(1)
    W1, b1, W2, b2, W3, b3 = (parameters[name] for name in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1, _ = Linear.forward(X, W1, b1)
    A1, _ = ReLU.forward(Z1)
    D1 = (np.random.rand(*A1.shape) < keep_prob).astype(int)
    A1 = A1 * D1 / keep_prob
    Z2, _ = Linear.forward(A1, W2, b2)
    A2, _ = ReLU.forward(Z2)
    D2 = (np.random.rand(*A2.shape) < keep_prob).astype(int)
    A2 = A2 * D2 / keep_prob
    Z3, _ = Linear.forward(A2, W3, b3)
    A3, _ = Sigmoid.forward(Z3)
    return A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation_with_dropout(
    X: np.ndarray, Y: np.ndarray, cache: DropoutCache, keep_prob: float
) -> dict[str, np.ndarray]:
    """Backward through the same masks: dA_l <- dA_l * D_l / keep_prob before the ReLU's backward.

    X: (n_x, m), Y: (1, m), cache: the 14-tuple of forward_propagation_with_dropout. Returns the course's
    keys dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1 (dA_l after the mask and scaling).
    """
    _check_keep_prob(keep_prob)
    Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3 = unpack_cache(cache, 14)
    return backward_layers(X, Y, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3), (D1, D2), keep_prob)


# ---------------------------------------------------------------------------------------------- model


def initialize_parameters(layer_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """The course's reg_utils start: np.random.seed(3), W_l = randn(n_l, n_{l-1}) / sqrt(n_{l-1}), b_l = 0."""
    return seeded_parameters(check_layer_dims(layer_dims), seed=3, scale=lambda W, n_in: W / np.sqrt(n_in))


def load_2D_dataset(seed: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stand-in for the course's data.mat: train_X (2, 211), train_Y (1, 211), test_X (2, 200), test_Y (1, 200).

    Generated by toynet.datasets.football_field (train from `seed`, test from `seed + 1`); not the course's points.
    """
    train_X, train_Y = football_field(211, seed=seed)
    test_X, test_Y = football_field(200, seed=seed + 1)
    return train_X, train_Y, test_X, test_Y


def train(
    X: np.ndarray,
    Y: np.ndarray,
    learning_rate: float = 0.3,
    num_iterations: int = 30000,
    print_cost: bool = True,
    lambd: float = 0,
    keep_prob: float = 1,
) -> TrainingResult:
    """The course's model, returning the cost of every iteration as well: TrainingResult(parameters, costs)."""
    _check_lambd(lambd)
    _check_keep_prob(keep_prob)
    if lambd != 0 and keep_prob != 1:
        raise ValueError(
            f"use L2 (lambd) or dropout (keep_prob), one at a time as the course does, but got lambd={lambd!r} "
            f"and keep_prob={keep_prob!r}"
        )
    X, Y = check_data(X, Y)
    parameters = initialize_parameters([X.shape[0], 20, 3, 1])
    check_three_layers(parameters)

    def step(current: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        if keep_prob < 1:
            a3, dropout_cache = _dropout_forward(X, current, keep_prob)  # parameters checked once, below
            return compute_cost(a3, Y), backward_propagation_with_dropout(X, Y, dropout_cache, keep_prob)
        a3, cache = forward_layers(X, current)
        if lambd != 0:
            cost = _cost_with_l2(a3, Y, current, lambd)  # parameters checked once, below
            return cost, backward_propagation_with_regularization(X, Y, cache, lambd)
        return compute_cost(a3, Y), backward_propagation(X, Y, cache)

    return gradient_descent(X, Y, parameters, step, learning_rate, num_iterations, print_cost, print_every=10000)


def model(
    X: np.ndarray,
    Y: np.ndarray,
    learning_rate: float = 0.3,
    num_iterations: int = 30000,
    print_cost: bool = True,
    lambd: float = 0,
    keep_prob: float = 1,
) -> dict[str, np.ndarray]:
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, layers [n_x, 20, 3, 1], full-batch descent.

    lambd > 0 trains with L2, keep_prob < 1 with dropout on both hidden layers (one or the other).
    Prints the cost every 10000 iterations when print_cost. Returns the trained parameters.
    """
    return train(X, Y, learning_rate, num_iterations, print_cost, lambd, keep_prob).parameters


def _check_lambd(lambd: float) -> None:
    if not (isinstance(lambd, (int, float, np.integer, np.floating)) and np.isfinite(lambd) and lambd >= 0):
        raise ValueError(f"lambd must be a finite number >= 0, but got {lambd!r}")


def _check_keep_prob(keep_prob: float) -> None:
    if not (isinstance(keep_prob, (int, float, np.integer, np.floating)) and 0 < keep_prob <= 1):
        raise ValueError(f"keep_prob must be a number in (0, 1], but got {keep_prob!r}")
