"""The course's "Building your Deep Neural Network: Step by Step", on toynet's layers.

[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID, built one function at a time with the course's signatures:

    parameters = initialize_parameters_deep([5, 4, 3])          # np.random.seed(3), randn * 0.01
    AL, caches = L_model_forward(X, parameters)                   # caches[l] = ((A_prev, W, b), Z)
    cost = compute_cost(AL, Y)
    grads = L_model_backward(AL, Y, caches)                       # dA0 .. dA{L-1}, dW1 .. dWL, db1 .. dbL
    parameters = update_parameters(parameters, grads, 0.0075)

Two conventions differ from toynet's core and follow the course here:
- the 1/m enters in `linear_backward` (dW = dZ A_prev^T / m, db = sum(dZ) / m), not in the cost's backward,
  so dAL = -(Y/AL - (1-Y)/(1-AL)) carries no 1/m (toynet's `Linear.backward` leaves the 1/m to the cost);
- the activation cache holds Z (toynet's `Sigmoid` caches A); the sigmoid's backward recomputes A = sigma(Z).

Random draws. Like the course, `initialize_parameters` and `initialize_parameters_deep` reseed numpy's
*global* generator (np.random.seed(1) and np.random.seed(3)) and draw from it with np.random.randn, so
they return the course's numbers and leave np.random in exactly the state the course leaves it in
(code that draws after them gets the course's next numbers too). Reseeding the global generator is
the course's choice, kept on purpose; toynet's own `Network.initialize_parameters` uses a private
`default_rng(seed)` and never touches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.layers import Linear, LinearCache, ReLU, Sigmoid
from toynet.layers import sigmoid as stable_sigmoid
from toynet.losses import LogisticCost
from toynet.params import ParamLayout

LinearActivationCache = tuple[LinearCache, np.ndarray]  # ((A_prev, W, b), Z)
ACTIVATIONS = ("relu", "sigmoid")

__all__ = [
    "ACTIVATIONS",
    "L_model_backward",
    "L_model_forward",
    "LinearActivationCache",
    "compute_cost",
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_activation_backward",
    "linear_activation_forward",
    "linear_backward",
    "linear_forward",
    "relu",
    "relu_backward",
    "seeded_parameters",
    "sigmoid",
    "sigmoid_backward",
    "update_parameters",
]


# ---------------------------------------------------------------------------------------------- dnn_utils


def sigmoid(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The course's dnn_utils form: A = 1 / (1 + exp(-Z)) and the cache Z."""
    A, _ = Sigmoid.forward(Z)
    return A, Z


def relu(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The course's dnn_utils form: A = max(0, Z) and the cache Z."""
    return ReLU.forward(Z)


def relu_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA where the cached Z > 0, else 0 (same shape)."""
    return ReLU.backward(dA, cache)


def sigmoid_backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ = dA * s * (1 - s) with s = sigmoid of the cached Z."""
    return Sigmoid.backward(dA, stable_sigmoid(as_array("cache", cache)))


# ---------------------------------------------------------------------------------------------- initialization


def seeded_parameters(
    layer_dims: Sequence[int], seed: int, scale: Callable[[np.ndarray, int], np.ndarray]
) -> dict[str, np.ndarray]:
    """The course's draw: np.random.seed(seed), then for l = 1..L: W_l = scale(randn(n_l, n_{l-1}), n_{l-1}).

    `scale` does the course's arithmetic to the draw (e.g. `lambda W, n_in: W * 0.01`, or `W / np.sqrt(n_in)`:
    dividing and multiplying by the inverse differ in the last bit). b_l = zeros((n_l, 1)). Uses (and
    reseeds) numpy's global generator, as every course initializer does. Returns {"W1": (n_1, n_0), ...}.
    """
    dims = check_layer_dims(layer_dims)
    np.random.seed(seed)
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = scale(np.random.randn(dims[layer], dims[layer - 1]), dims[layer - 1])
        parameters[f"b{layer}"] = np.zeros((dims[layer], 1))
    return parameters


def initialize_parameters(n_x: int, n_h: int, n_y: int) -> dict[str, np.ndarray]:
    """A 2-layer network: W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1); W ~ 0.01 N(0, 1).

    np.random.seed(1), then W1 and W2 drawn in that order (the course's numbers).
    """
    return seeded_parameters([n_x, n_h, n_y], seed=1, scale=lambda W, n_in: W * 0.01)


def initialize_parameters_deep(layer_dims: Sequence[int]) -> dict[str, np.ndarray]:
    """An L-layer network, layer_dims = [n_0, n_1, ..., n_L]: W_l (n_l, n_{l-1}) ~ 0.01 N(0, 1), b_l = 0.

    np.random.seed(3), then W1, W2, ... drawn in order (the course's numbers).
    """
    return seeded_parameters(layer_dims, seed=3, scale=lambda W, n_in: W * 0.01)


# ---------------------------------------------------------------------------------------------- forward


def linear_forward(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
    """Z = W A + b.  A: (n_{l-1}, m), W: (n_l, n_{l-1}), b: (n_l, 1) -> Z: (n_l, m), cache (A, W, b)."""
    _check_2d(A=A, W=W, b=b)
    return Linear.forward(A, W, b)


def linear_activation_forward(
    A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, activation: str
) -> tuple[np.ndarray, LinearActivationCache]:
    """A = g(W A_prev + b) with g = "relu" or "sigmoid".

    Returns A: (n_l, m) and cache = (linear_cache, activation_cache) = ((A_prev, W, b), Z).
    """
    layer = _activation_layer(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, _ = layer.forward(Z)
    return A, (linear_cache, Z)


def L_model_forward(
    X: np.ndarray, parameters: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, list[LinearActivationCache]]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    X: (n_0, m); parameters: W1 (n_1, n_0), b1 (n_1, 1), ..., WL (n_L, n_{L-1}), bL (n_L, 1).
    Returns AL: (n_L, m) and the L caches of linear_activation_forward, layer 1 first.
    """
    num_layers = check_network_parameters(parameters)
    A, caches = X, []
    for layer in range(1, num_layers + 1):
        activation = "sigmoid" if layer == num_layers else "relu"
        A, cache = linear_activation_forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"], activation)
        caches.append(cache)
    return A, caches


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> np.float64:
    """The cross-entropy cost -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)).

    AL: (1, m) probabilities, Y: (1, m) labels. Returns a numpy float64 scalar (a float with shape ()).
    """
    cost, _ = LogisticCost.forward(AL, Y)
    return np.float64(cost)


# ---------------------------------------------------------------------------------------------- backward


def linear_backward(dZ: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dA_prev = W^T dZ, dW = (1/m) dZ A_prev^T, db = (1/m) sum of dZ over the m examples.

    dZ: (n_l, m); cache: (A_prev (n_{l-1}, m), W (n_l, n_{l-1}), b (n_l, 1)).
    Returns dA_prev: (n_{l-1}, m), dW: (n_l, n_{l-1}), db: (n_l, 1).
    """
    _check_linear_cache(cache)
    dA_prev, dW, db = Linear.backward(dZ, cache)  # toynet's layer: the sums, without the 1/m
    m = cache[0].shape[1]
    return dA_prev, (1.0 / m) * dW, (1.0 / m) * db


def linear_activation_backward(
    dA: np.ndarray, cache: LinearActivationCache, activation: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ = dA * g'(Z), then linear_backward.  dA: (n_l, m), cache ((A_prev, W, b), Z), g = "relu"/"sigmoid".

    Returns dA_prev: (n_{l-1}, m), dW: (n_l, n_{l-1}), db: (n_l, 1).
    """
    layer = _activation_layer(activation)
    if not (isinstance(cache, tuple) and len(cache) == 2):
        raise TypeError(
            "cache must be the pair (linear_cache, activation_cache) returned by linear_activation_forward, "
            f"but got {_describe(cache)}"
        )
    linear_cache, Z = cache
    Z = as_array("the activation cache Z", Z)
    # toynet's Sigmoid caches A = sigma(Z) where the course caches Z: hand it the A that Z gives.
    dZ = layer.backward(dA, stable_sigmoid(Z) if layer is Sigmoid else Z)
    return linear_backward(dZ, linear_cache)


def L_model_backward(
    AL: np.ndarray, Y: np.ndarray, caches: Sequence[LinearActivationCache]
) -> dict[str, np.ndarray]:
    """Gradients of the cost for [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID, from the L caches.

    AL: (1, m) output of L_model_forward; Y: labels with m entries ((1, m) or (m,)); caches: its caches.
    Starts from dAL = -(Y/AL - (1-Y)/(1-AL)) (no 1/m: linear_backward applies it) and returns the
    course's keys: dA{l-1}, dW{l}, db{l} for l = L..1, so dA0 (the gradient with respect to X) included.
    AL is not required to hold probabilities (the course's own test case uses randn values); it must
    only keep dAL finite, i.e. AL != 0 where Y > 0 and AL != 1 where Y < 1 (a saturated AL = Y is fine:
    0/0 counts as 0, where the course's formula would give nan).
    """
    if not isinstance(caches, (list, tuple)) or len(caches) == 0:
        raise TypeError(f"caches must be the non-empty list returned by L_model_forward, but got {_describe(caches)}")
    AL = as_array("AL", AL)
    if AL.ndim != 2 or AL.shape[0] != 1:
        raise ValueError(f"AL must have shape (1, m), but got shape {AL.shape}")
    check_finite("AL", AL)
    Y = as_array("Y", Y)
    if Y.size != AL.size:
        raise ValueError(f"Y must hold m = {AL.shape[1]} labels like AL {AL.shape}, but got shape {Y.shape}")
    Y = Y.reshape(AL.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 0/0 counts as 0: a label's own term y log a vanishes when y = 0 (so AL = 1 is fine where Y = 1)
        dAL = -(np.where(Y == 0, 0.0, Y / AL) - np.where(Y == 1, 0.0, (1 - Y) / (1 - AL)))
    if not np.isfinite(dAL).all():
        column = int(np.argwhere(~np.isfinite(dAL))[0][1])
        raise ValueError(
            "AL must keep dAL = -(Y/AL - (1-Y)/(1-AL)) finite (AL != 0 where Y > 0, AL != 1 where Y < 1), "
            f"but at example {column} AL = {float(AL[0, column])} and Y = {float(Y[0, column])}"
        )
    grads: dict[str, np.ndarray] = {}
    num_layers = len(caches)
    dA = dAL
    for layer in range(num_layers, 0, -1):
        activation = "sigmoid" if layer == num_layers else "relu"
        dA, grads[f"dW{layer}"], grads[f"db{layer}"] = linear_activation_backward(dA, caches[layer - 1], activation)
        grads[f"dA{layer - 1}"] = dA
    return grads


def update_parameters(
    params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], learning_rate: float
) -> dict[str, np.ndarray]:
    """One gradient-descent step: W_l - learning_rate * dW_l, b_l - learning_rate * db_l, for every layer.

    Returns a new dict of new arrays; `params` and its arrays are left as they were.
    grads must hold dW_l and db_l with the shapes of W_l and b_l (other keys such as dA_l are ignored).
    """
    check_network_parameters(params, name="params")
    check_learning_rate(learning_rate)
    layout = ParamLayout.from_parameters(params)
    layout.read(grads, prefix="d", what="grads")
    return {name: as_array(name, params[name]) - learning_rate * as_array(f"d{name}", grads[f"d{name}"])
            for name in layout.names}  # fmt: skip


# ---------------------------------------------------------------------------------------------- checks


def check_layer_dims(layer_dims: Sequence[int]) -> list[int]:
    """Return layer_dims as a list of ints after checking it holds at least two positive ints."""
    dims = list(layer_dims) if isinstance(layer_dims, (list, tuple, np.ndarray)) else None
    if dims is None or len(dims) < 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in dims):
        raise ValueError(f"layer_dims must be a list of at least two positive ints [n_0, ...], but got {layer_dims!r}")
    return [int(n) for n in dims]


def check_network_parameters(parameters: Mapping[str, np.ndarray], name: str = "parameters") -> int:
    """Check {"W1", "b1", ..., "WL", "bL"} is a chain W_l (n_l, n_{l-1}), b_l (n_l, 1); return L."""
    if not isinstance(parameters, Mapping):
        raise TypeError(f"{name} must be a dict of arrays W1, b1, ..., but got {type(parameters).__name__}")
    layout = ParamLayout.from_parameters(parameters)
    previous = None
    for layer in range(1, layout.num_layers + 1):
        W, b = layout[f"W{layer}"].shape, layout[f"b{layer}"].shape
        if len(W) != 2 or (previous is not None and W[1] != previous):
            expected = f"({'n_' + str(layer)}, {previous if previous is not None else 'n_0'})"
            raise ValueError(f"{name}['W{layer}'] must have shape {expected}, but got {W}")
        if b != (W[0], 1):
            raise ValueError(f"{name}['b{layer}'] must have shape ({W[0]}, 1) to match W{layer} {W}, but got {b}")
        previous = W[0]
    return layout.num_layers


def check_learning_rate(learning_rate: float) -> None:
    if not (isinstance(learning_rate, (int, float, np.floating, np.integer)) and np.isfinite(learning_rate)):
        raise ValueError(f"learning_rate must be a finite number, but got {learning_rate!r}")


def _activation_layer(activation: str) -> type[ReLU] | type[Sigmoid]:
    if activation == "relu":
        return ReLU
    if activation == "sigmoid":
        return Sigmoid
    raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, but got {activation!r}")


def _check_2d(**arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        if np.ndim(array) != 2:
            raise ValueError(f"{name} must be a 2-D array, but got shape {np.shape(array)}")


def _check_linear_cache(cache: object) -> None:
    if not (isinstance(cache, tuple) and len(cache) == 3):
        raise TypeError(
            f"cache must be the triple (A_prev, W, b) returned by linear_forward, but got {_describe(cache)}"
        )
    _check_2d(A_prev=cache[0], W=cache[1], b=cache[2])


def _describe(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return type(value).__name__
