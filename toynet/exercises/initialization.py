"""The course's "Initialization" assignment: zeros, large random and He weights for a 3-layer ReLU network.

    train_X, train_Y, test_X, test_Y = load_dataset()             # the course's circles, generated in code
    parameters = model(train_X, train_Y, initialization="he")      # prints "Cost after iteration 0: 0.88305..."
    predictions_train = predict(train_X, train_Y, parameters)     # Accuracy: 0.9933333333333333

The data are the course's own: `load_dataset` replays scikit-learn's make_circles under the course's seeds
(toynet.datasets.course_circles), so the He model prints the course's costs and accuracies. The large
random start saturates the sigmoid: its first cost is inf, as in the course, and the rest of its run is
chaotic (a 1e-15 change in the data moves its cost after 1000 steps in the third digit; two published
runs of the course disagree there too).

Like the course, the random and He initializers reseed numpy's global generator with np.random.seed(3)
and draw with np.random.randn (see `step_by_step.seeded_parameters`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toynet.datasets import course_circles
from toynet.exercises.step_by_step import check_layer_dims, seeded_parameters
from toynet.exercises.three_layer import (
    backward_propagation,
    check_data,
    compute_cost,
    forward_layers,
    forward_propagation,
    gradient_descent,
    plot_decision_boundary,
    predict,
    predict_dec,
    relu,
    sigmoid,
    update_parameters,
)
from toynet.network import TrainingResult

INITIALIZATIONS = ("zeros", "random", "he")

__all__ = [
    "INITIALIZATIONS",
    "backward_propagation",
    "compute_loss",
    "forward_propagation",
    "initialize_parameters_he",
    "initialize_parameters_random",
    "initialize_parameters_zeros",
    "load_dataset",
    "model",
    "plot_decision_boundary",
    "predict",
    "predict_dec",
    "relu",
    "sigmoid",
    "train",
    "update_parameters",
]

compute_loss = compute_cost  # the course's init_utils name for the same cost


def initialize_parameters_zeros(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """Every W_l (n_l, n_{l-1}) and b_l (n_l, 1) zero: every unit of a layer computes the same thing."""
    dims = check_layer_dims(layers_dims)
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = np.zeros((dims[layer], dims[layer - 1]))
        parameters[f"b{layer}"] = np.zeros((dims[layer], 1))
    return parameters


def initialize_parameters_random(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """W_l = 10 randn(n_l, n_{l-1}) (too large on purpose), b_l = 0; np.random.seed(3) first."""
    return seeded_parameters(layers_dims, seed=3, scale=lambda W, n_in: W * 10)


def initialize_parameters_he(layers_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """He et al. 2015: W_l = randn(n_l, n_{l-1}) sqrt(2 / n_{l-1}), b_l = 0; np.random.seed(3) first."""
    return seeded_parameters(layers_dims, seed=3, scale=lambda W, n_in: W * np.sqrt(2.0 / n_in))


def load_dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's circles: 300 training points (seed 1) and 100 test points (seed 2), noise 0.05.

    Returns train_X (2, 300), train_Y (1, 300), test_X (2, 100), test_Y (1, 100). Does not plot (the
    course's version also scatters the points; use toynet.plots for figures).
    """
    train_X, train_Y = course_circles(300, noise=0.05, seed=1)
    test_X, test_Y = course_circles(100, noise=0.05, seed=2)
    return train_X, train_Y, test_X, test_Y


def train(
    X: np.ndarray,
    Y: np.ndarray,
    learning_rate: float = 0.01,
    num_iterations: int = 15000,
    print_cost: bool = True,
    initialization: str = "he",
) -> TrainingResult:
    """The course's model, returning the cost of every iteration as well: TrainingResult(parameters, costs)."""
    initializers = {
        "zeros": initialize_parameters_zeros,
        "random": initialize_parameters_random,
        "he": initialize_parameters_he,
    }
    if initialization not in initializers:
        raise ValueError(f"initialization must be one of {list(INITIALIZATIONS)}, but got {initialization!r}")
    X, Y = check_data(X, Y)
    parameters = initializers[initialization]([X.shape[0], 10, 5, 1])

    def step(current: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        a3, cache = forward_layers(X, current)  # the initializers' shapes need no check
        return compute_loss(a3, Y), backward_propagation(X, Y, cache)

    return gradient_descent(X, Y, parameters, step, learning_rate, num_iterations, print_cost, print_every=1000)


def model(
    X: np.ndarray,
    Y: np.ndarray,
    learning_rate: float = 0.01,
    num_iterations: int = 15000,
    print_cost: bool = True,
    initialization: str = "he",
) -> dict[str, np.ndarray]:
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, layers [n_x, 10, 5, 1], full-batch descent.

    X: (n_x, m), Y: (1, m). initialization: "zeros", "random" or "he". Prints the cost every 1000
    iterations when print_cost (the course also plots them: see `train` for the list of costs).
    Returns the trained parameters.
    """
    return train(X, Y, learning_rate, num_iterations, print_cost, initialization).parameters
