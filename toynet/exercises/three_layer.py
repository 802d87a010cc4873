"""The course's 3-layer helpers (its `init_utils.py` / `reg_utils.py`), on toynet's layers.

LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID with the course's flat cache
(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3), the cost the course prints, its backward pass (dZ3 = A3 - Y,
the 1/m in dW and db), `predict` and the gradient-descent loop its Initialization and Regularization
models share. The exercises themselves live in `initialization` and `regularization`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.exercises.step_by_step import (
    check_learning_rate,
    check_network_parameters,
    linear_backward,
    update_parameters,
)
from toynet.layers import Linear, LinearCache, ReLU, Sigmoid
from toynet.layers import sigmoid as stable_sigmoid
from toynet.network import TrainingResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

Cache = tuple[np.ndarray, ...]

__all__ = [
    "backward_layers",
    "backward_propagation",
    "check_data",
    "check_labels",
    "check_three_layers",
    "compute_cost",
    "forward_layers",
    "forward_propagation",
    "gradient_descent",
    "plot_decision_boundary",
    "predict",
    "predict_dec",
    "relu",
    "sigmoid",
    "update_parameters",
]


def forward_propagation(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, Cache]:
    """A3 = sigma(W3 relu(W2 relu(W1 X + b1) + b2) + b3).  X: (n_x, m) -> A3: (1, m) and the 12-tuple cache."""
    check_three_layers(parameters)
    return forward_layers(X, parameters)


def forward_layers(X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, Cache]:
    """forward_propagation for parameters already checked (the training loops check them once)."""
    W1, b1, W2, b2, W3, b3 = (parameters[name] for name in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1, _ = Linear.forward(X, W1, b1)
    A1, _ = ReLU.forward(Z1)
    Z2, _ = Linear.forward(A1, W2, b2)
    A2, _ = ReLU.forward(Z2)
    Z3, _ = Linear.forward(A2, W3, b3)
    A3, _ = Sigmoid.forward(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def compute_cost(a3: np.ndarray, Y: np.ndarray) -> np.float64:
    """The course's printed cost: (1/m) nansum(-Y log a3 - (1 - Y) log(1 - a3)).  a3: (1, m), Y: (1, m).

    As in the course, a prediction rounded to exactly 0 or 1 against its label costs inf (the
    Initialization notebook's "Cost after iteration 0: inf"), and 0 log 0 counts as 0 (the nan that
    0 * inf makes is what nansum drops). toynet's `LogisticCost` floors the log instead (finite 708).
    """
    a3 = as_array("a3", a3)
    Y = check_labels(Y, a3.shape[-1] if a3.ndim else 0)
    if a3.shape != Y.shape:
        raise ValueError(f"a3 must have shape {Y.shape} like Y, but got shape {a3.shape}")
    check_finite("a3", a3)  # so the only nan nansum drops is the 0 * inf of a label's own 0 log 0
    if (a3 < 0).any() or (a3 > 1).any():
        raise ValueError(f"a3 must hold probabilities in [0, 1], but ranges over [{a3.min()}, {a3.max()}]")
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return np.float64(1.0 / Y.shape[1] * np.nansum(logprobs))


def backward_propagation(X: np.ndarray, Y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
    """Gradients of the cross-entropy cost from the 12-tuple cache: dZ3 = A3 - Y, then the 1/m in dW, db.

    Returns the course's keys dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1.
    """
    return backward_layers(X, Y, unpack_cache(cache, 12))


def backward_layers(
    X: np.ndarray, Y: np.ndarray, cache: Cache, masks: tuple[np.ndarray, np.ndarray] | None = None,
    keep_prob: float = 1.0,
) -> dict[str, np.ndarray]:
    """backward_propagation for a checked 12-tuple cache; with masks (D1, D2), dA_l <- dA_l * D_l / keep_prob."""
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = cache
    dZ3 = A3 - check_labels(Y, A3.shape[1])
    dA2, dW3, db3 = linear_backward(dZ3, LinearCache(A2, W3, b3))
    if masks is not None:  # the units shut down forward get no gradient; the kept ones were scaled
        dA2 = dA2 * masks[1] / keep_prob
    dZ2 = ReLU.backward(dA2, Z2)
    dA1, dW2, db2 = linear_backward(dZ2, LinearCache(A1, W2, b2))
    if masks is not None:
        dA1 = dA1 * masks[0] / keep_prob
    dZ1 = ReLU.backward(dA1, Z1)
    _, dW1, db1 = linear_backward(dZ1, LinearCache(X, W1, b1))
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }  # fmt: skip


def predict(X: np.ndarray, y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
    """Labels 1 where A3 > 0.5, as a (1, m) int array; prints "Accuracy: ..." against y, as the course does."""
    predictions = predict_dec(parameters, X).astype(int)
    y = check_labels(y, predictions.shape[1])
    print("Accuracy: " + str(np.mean(predictions[0, :] == y[0, :])))
    return predictions


def predict_dec(parameters: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """A3 > 0.5 as a (1, m) bool array (the course's helper for decision-boundary plots)."""
    return forward_propagation(X, parameters)[0] > 0.5


def gradient_descent(
    X: np.ndarray,
    Y: np.ndarray,
    parameters: dict[str, np.ndarray],
    step: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
    learning_rate: float,
    num_iterations: int,
    print_cost: bool,
    print_every: int,
) -> TrainingResult:
    """The course's loop: `cost, grads = step(parameters)`, then W <- W - learning_rate dW for every block.

    Prints "Cost after iteration i: cost" every `print_every` iterations when print_cost; returns the final
    parameters and the cost before every step.
    """
    check_learning_rate(learning_rate)
    if not (isinstance(num_iterations, (int, np.integer)) and num_iterations >= 0):
        raise ValueError(f"num_iterations must be a non-negative int, but got {num_iterations!r}")
    costs = []
    for i in range(num_iterations):
        cost, grads = step(parameters)
        parameters = {name: value - learning_rate * grads["d" + name] for name, value in parameters.items()}
        costs.append(float(cost))
        if print_cost and i % print_every == 0:
            print(f"Cost after iteration {i}: {cost}")
    return TrainingResult(parameters, costs)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The course's helper: 1 / (1 + exp(-x)) of a scalar or array (toynet's overflow-free form)."""
    return stable_sigmoid(np.asarray(x, dtype=float))


def relu(x: np.ndarray) -> np.ndarray:
    """The course's helper: max(0, x), elementwise."""
    return np.maximum(0, x)


def plot_decision_boundary(model: Callable[[np.ndarray], np.ndarray], X: np.ndarray, y: np.ndarray) -> Axes:
    """The course's form: `model` maps points (k, 2) to 0/1 predictions, e.g. `lambda x: predict_dec(p, x.T)`.

    X: (2, m), y: (1, m). Drawn by toynet.plots.plot_decision_boundary; returns its Axes.
    """
    from toynet import plots  # lazily: figures are drawn only when asked for

    return plots.plot_decision_boundary(_PointsModel(model), {}, X, y)


class _PointsModel:
    """Adapts a course `model(points (k, 2)) -> predictions` to the `predict_proba(X (2, k), parameters)` plots use."""

    def __init__(self, model: Callable[[np.ndarray], np.ndarray]) -> None:
        self.model = model

    def predict_proba(self, X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.model(X.T), dtype=float).reshape(1, -1)


def check_three_layers(parameters: Mapping[str, np.ndarray]) -> None:
    """Raise unless parameters are W1, b1, W2, b2, W3 (1, n_2), b3 (1, 1) of a chained 3-layer network."""
    layers = check_network_parameters(parameters)
    if layers != 3 or np.shape(parameters["W3"])[0] != 1:
        shapes = {name: np.shape(value) for name, value in parameters.items()}
        raise ValueError(f"parameters must be those of a 3-layer network with one output unit, but got {shapes}")


def check_data(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X as a finite (n_x, m) float array and Y as its (1, m) labels: what the lessons' models train on."""
    X = as_array("X", X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_x, m), but got shape {X.shape}")
    check_finite("X", X)
    return X, check_labels(Y, X.shape[1])


def check_labels(Y: np.ndarray, m: int) -> np.ndarray:
    """Y as a (1, m) float array of labels in [0, 1]; accepts (m,) or (1, m)."""
    Y = as_array("Y", Y)
    if Y.shape not in ((m,), (1, m)):
        raise ValueError(f"Y must have shape (1, {m}) or ({m},), but got shape {Y.shape}")
    check_finite("Y", Y)
    if (Y < 0).any() or (Y > 1).any():
        raise ValueError(f"Y must hold labels in [0, 1], but ranges over [{Y.min()}, {Y.max()}]")
    return Y.reshape(1, m)


def unpack_cache(cache: Cache, length: int) -> Cache:
    """The cache tuple after checking its length (12 for forward_propagation, 14 with dropout masks)."""
    if not (isinstance(cache, tuple) and len(cache) == length):
        got = f"a tuple of {len(cache)}" if isinstance(cache, tuple) else type(cache).__name__
        source = "forward_propagation" if length == 12 else "forward_propagation_with_dropout"
        raise TypeError(f"cache must be the {length}-tuple returned by {source}, but got {got}")
    return tuple(as_array(f"cache[{i}]", value) for i, value in enumerate(cache))
