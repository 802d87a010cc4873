"""The course's gradient-checking assignment, 1-D and N-D, on toynet's layers and gradient checker.

1-D: J(theta) = theta * x, so dJ/dtheta = x; the check compares x with (J(theta + eps) - J(theta - eps)) / 2 eps.

N-D: LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID with the logistic cost, any layer sizes
[n_x, n_1, n_2, 1]. `backward_propagation_n` is the backward pass exactly as the course hands it out, with
its two planted bugs (dW2 doubled, db1 with 4./m); `backward_propagation_n_fixed` is the corrected one.
Both return the course's keys dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1, with the course's
values: dZ3 = A3 - Y (no 1/m in the dZ's and dA's; the 1/m enters in dW and db).

The difference is the course's formula 2: ||grad - gradapprox|| / (||grad|| + ||gradapprox||). The course
first called a difference below 1e-7 correct; the corrected backward gives about 1.19e-7 at eps = 1e-7
(round-off, not a bug), so its later versions moved the threshold to 2e-7, which is the one used here.

    X, Y, parameters = gradient_check_n_test_case()
    cost, cache = forward_propagation_n(X, Y, parameters)
    gradients = backward_propagation_n(X, Y, cache)
    difference = gradient_check_n(parameters, gradients, X, Y, print_msg=True)   # 0.285...: find the bugs
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from toynet import gradcheck, params
from toynet._validate import as_array, check_finite
from toynet.exercises.three_layer import check_labels, forward_layers
from toynet.gradcheck.numerical import check_epsilon
from toynet.layers import Linear, LinearCache, ReLU
from toynet.losses import LogisticCost, row_costs
from toynet.params import ParamLayout, dictionary_to_vector, gradients_to_vector

COURSE_EPSILON = 1e-7
THRESHOLD = 2e-7  # the latest course version's threshold (the first one used 1e-7)

Cache = tuple[np.ndarray, ...]  # (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
COURSE_LAYOUT = ParamLayout.from_layer_sizes([4, 5, 3, 1])  # the course's network: 47 parameters

__all__ = [
    "COURSE_EPSILON",
    "COURSE_LAYOUT",
    "THRESHOLD",
    "backward_propagation",
    "backward_propagation_n",
    "backward_propagation_n_fixed",
    "course_message",
    "dictionary_to_vector",
    "forward_propagation",
    "forward_propagation_n",
    "gradient_check",
    "gradient_check_n",
    "gradient_check_n_report",
    "gradient_check_n_test_case",
    "gradients_to_vector",
    "random_test_case",
    "vector_to_dictionary",
]


# ---------------------------------------------------------------------------------------------- 1-D


def forward_propagation(x: float, theta: float) -> float:
    """J(theta) = theta * x, for real numbers x and theta."""
    return theta * x


def backward_propagation(x: float, theta: float) -> float:
    """dJ/dtheta = x."""
    return x


def gradient_check(x: float, theta: float, epsilon: float = COURSE_EPSILON, print_msg: bool = False) -> float:
    """Formula 2 between backward_propagation(x, theta) and the central difference of J with step epsilon."""
    gradapprox = gradcheck.numerical_gradient(
        lambda t: forward_propagation(x, float(t)), np.array(theta, dtype=np.float64), epsilon=epsilon
    )
    grad = backward_propagation(x, theta)
    difference = gradcheck.relative_difference(np.array(grad, dtype=np.float64), gradapprox)
    if print_msg:
        print(course_message(difference))
    return difference


def course_message(difference: float, threshold: float = THRESHOLD) -> str:
    """The course's verdict sentence for a difference (above the threshold means a bug)."""
    if difference > threshold:
        return f"There is a mistake in the backward propagation! difference = {difference}"
    return f"Your backward propagation works perfectly fine! difference = {difference}"


# ---------------------------------------------------------------------------------------------- N-D


def gradient_check_n_test_case() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """The course's test case: X (4, 3), Y = [1, 1, 0] (shape (3,)), parameters of a 4-5-3-1 network.

    Drawn as the course draws them after np.random.seed(1), in the order X, W1, b1, W2, b2, W3, b3, but
    from a private RandomState(1) (the same numbers) so numpy's global random state is left alone.
    """
    rng = np.random.RandomState(1)
    X = rng.randn(4, 3)
    parameters = {name: rng.randn(*shape) for name, shape in _course_shapes([4, 5, 3, 1])}
    Y = np.array([1, 1, 0])
    return X, Y, parameters


def random_test_case(
    layer_sizes: list[int], seed: int = 0, examples: int = 3
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A test case of any shape [n_x, n_1, n_2, 1]: X (n_x, m), Y (m,) of 0/1 labels, standard-normal parameters.

    Drawn in the course's order from RandomState(seed) (X first, then W1, b1, ..., b3), the labels last:
    [4, 5, 3, 1] with seed 1 and 3 examples gives the course's X and parameters.
    """
    _check_layer_sizes(layer_sizes)
    if not (isinstance(examples, (int, np.integer)) and examples >= 1):
        raise ValueError(f"examples must be a positive int, but got {examples!r}")
    rng = np.random.RandomState(seed)
    X = rng.randn(layer_sizes[0], examples)
    parameters = {name: rng.randn(*shape) for name, shape in _course_shapes(layer_sizes)}
    Y = rng.randint(0, 2, size=examples)
    return X, Y, parameters


def forward_propagation_n(X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> tuple[float, Cache]:
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID, then the logistic cost.

    X: (n_x, m); Y: (m,) or (1, m) labels; parameters W1 (n_1, n_x), b1 (n_1, 1), W2 (n_2, n_1), b2 (n_2, 1),
    W3 (1, n_2), b3 (1, 1). Returns the cost (a float) and the course's
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3).
    """
    _check_three_layers(parameters)
    A3, cache = forward_layers(X, parameters)  # the same layers as the Initialization/Regularization lessons
    cost, _ = LogisticCost.forward(A3, Y)
    return cost, cache


def backward_propagation_n_fixed(X: np.ndarray, Y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
    """The corrected backward pass: gradients of the cost at the point `cache` came from.

    X: (n_x, m), Y: (m,) or (1, m), cache: the 12-tuple of forward_propagation_n.
    Returns {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}, each dW/db with
    its parameter's shape, each dZ/dA with its activation's shape (m columns).
    """
    m = X.shape[1]
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3 = _unpack_cache(cache)
    # The course's convention: dZ3 = A3 - Y without the 1/m, which is applied to dW and db instead.
    # (toynet's Linear.backward never divides by m, so the course's values come out exactly.)
    dZ3 = A3 - np.reshape(Y, (1, -1))
    dA2, dW3, db3 = Linear.backward(dZ3, LinearCache(A2, W3, b3))
    dW3, db3 = 1.0 / m * dW3, 1.0 / m * db3
    dZ2 = ReLU.backward(dA2, Z2)  # dA2 * 1[Z2 > 0], the same as the course's A2 > 0
    dA1, dW2, db2 = Linear.backward(dZ2, LinearCache(A1, W2, b2))
    dW2, db2 = 1.0 / m * dW2, 1.0 / m * db2
    dZ1 = ReLU.backward(dA1, Z1)
    _, dW1, db1 = Linear.backward(dZ1, LinearCache(X, W1, b1))
    dW1, db1 = 1.0 / m * dW1, 1.0 / m * db1
    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }  # fmt: skip


def backward_propagation_n(X: np.ndarray, Y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
    """The backward pass exactly as the course hands it out: correct except for two planted bugs.

    Same arguments and keys as backward_propagation_n_fixed. The gradient check should point at dW2 and db1.
    """
    m = X.shape[1]
    gradients = backward_propagation_n_fixed(X, Y, cache)
    A1, dZ1, dZ2 = cache[1], gradients["dZ1"], gradients["dZ2"]
    gradients["dW2"] = 1.0 / m * np.dot(dZ2, A1.T) * 2  # planted bug 1, as handed out: the "* 2"
    gradients["db1"] = 4.0 / m * np.sum(dZ1, axis=1, keepdims=True)  # planted bug 2, as handed out: 4./m, not 1./m
    return gradients


def gradient_check_n(
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    epsilon: float | None = COURSE_EPSILON,
    print_msg: bool = False,
) -> float:
    """Formula 2 between the backward's gradients and the central differences of the cost, as a float.

    parameters: W1 .. b3 (any sizes of this architecture); gradients: what backward_propagation_n returns
    (the dZ/dA keys are ignored); X: (n_x, m); Y: (m,) or (1, m). Neither dict is modified.
    epsilon: the course's 1e-7 by default; None uses toynet's default step for a network cost
    (gradcheck.default_epsilon(theta, network=True), as gradient_check_n_report does).
    This is the course's own loop (`_course_gradapprox`: two whole forward passes per entry, the course's np.dot,
    ReLU, sigmoid and cost), so the difference is the course loop's to the last digit, whatever the shape: at
    epsilon 1e-7 it is largely round-off, and any other rounding would show in it.
    """
    layout = _check_three_layers(parameters)
    grad = gradients_to_vector(gradients, layout)
    X = _check_inputs(X, layout)
    Y = np.asarray(check_labels(Y, X.shape[1]), dtype=np.float64).reshape(1, X.shape[1])
    theta = np.asarray(layout.read(parameters)[1], dtype=np.float64)
    if epsilon is None:
        epsilon = gradcheck.default_epsilon(theta, network=True)
    difference = _course_difference(grad, _course_gradapprox(X, Y, theta, layout, check_epsilon(epsilon)))
    if print_msg:
        print(course_message(difference))
    return difference


def gradient_check_n_report(
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    epsilon: float | None = COURSE_EPSILON,
) -> gradcheck.GradientCheckReport:
    """The same check as gradient_check_n, with toynet's full report: which blocks fail, the worst entries.

    epsilon=None uses toynet's default step instead of the course's 1e-7.
    """
    _check_three_layers(parameters)

    def cost(params: Mapping[str, np.ndarray]) -> float:
        return forward_propagation_n(X, Y, params)[0]

    return gradcheck.gradient_check_n(cost, parameters, gradients, epsilon=epsilon, threshold=THRESHOLD)


def vector_to_dictionary(
    theta: np.ndarray, layout: ParamLayout | Mapping[str, np.ndarray] = COURSE_LAYOUT
) -> dict[str, np.ndarray]:
    """theta (n, 1) -> {"W1", "b1", ..., "b3"}; with one argument, the course's gc_utils form.

    `vector_to_dictionary(theta)` unrolls the course's 4-5-3-1 network (theta of 47 entries: W1 (5, 4),
    b1 (5, 1), W2 (3, 5), b2 (3, 1), W3 (1, 3), b3 (1, 1)) as the course's skeleton calls it; pass a
    layout (or template parameters) for any other shape, as `toynet.vector_to_dictionary` requires.
    """
    return params.vector_to_dictionary(theta, layout)


# ---------------------------------------------------------------------------------------------- checks


def _course_shapes(layer_sizes: list[int]) -> list[tuple[str, tuple[int, int]]]:
    """[(W1, (n_1, n_x)), (b1, (n_1, 1)), ...] in the course's drawing order."""
    shapes = []
    for layer in range(1, len(layer_sizes)):
        shapes += [(f"W{layer}", (layer_sizes[layer], layer_sizes[layer - 1])), (f"b{layer}", (layer_sizes[layer], 1))]
    return shapes


def _check_layer_sizes(layer_sizes: list[int]) -> None:
    sizes = list(layer_sizes)
    if len(sizes) != 4 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in sizes) or sizes[-1] != 1:
        raise ValueError(f"layer_sizes must be four positive ints [n_x, n_1, n_2, 1], but got {sizes}")


def _check_three_layers(parameters: Mapping[str, np.ndarray]) -> ParamLayout:
    layout = ParamLayout.from_parameters(parameters)
    if layout.num_layers != 3 or layout["W3"].shape[0] != 1:
        shapes = {block.name: block.shape for block in layout.blocks}
        raise ValueError(
            "parameters must be those of a 3-layer network W1, b1, W2, b2, W3 (1, n_2), b3 (1, 1), "
            f"but got shapes {shapes}"
        )
    return layout


def _check_inputs(X: np.ndarray, layout: ParamLayout) -> np.ndarray:
    """X as a float64 (n_x, m) array with n_x = W1's columns, finite, or an error naming what is wrong."""
    n_x = layout["W1"].shape[1]
    X = np.asarray(as_array("X", X), dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != n_x or X.shape[1] == 0:
        raise ValueError(
            f"X must have shape (n_x, m) = ({n_x}, m) with m >= 1, W1 being {layout['W1'].shape}, "
            f"but got shape {X.shape}"
        )
    check_finite("X", X)
    return X


def _course_difference(grad: np.ndarray, gradapprox: np.ndarray) -> float:
    """Formula 2 with the course's np.linalg.norm: (n, 1), (n, 1) -> float, the course loop's float to the bit.

    gradcheck.relative_difference is the same formula, but above 8192 entries it sums the squares itself
    (a threaded BLAS dot stalls on a busy machine), an ulp away from the course's number.
    """
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = float(np.linalg.norm(grad - gradapprox) / denominator) if denominator else 0.0
    if not np.isfinite(difference):  # relative_difference names the entries that are not finite
        return gradcheck.relative_difference(grad, gradapprox)
    return difference


def _course_cost(X: np.ndarray, Y: np.ndarray, theta: np.ndarray, layout: ParamLayout) -> float:
    """The course's forward_propagation_n on theta: (n,) -> J, float for float as the course computes it.

    Z = np.dot(W, A) + b; A = np.maximum(0, Z) below the output, 1 / (1 + np.exp(-Z)) at it (layers.sigmoid rounds
    differently, which shows at epsilon 1e-7); then the course's logistic cost (losses.row_costs, whose log is
    floored where the course's would be -inf).
    """
    A, blocks = X, layout.blocks
    for layer in range(layout.num_layers):
        W, b = blocks[2 * layer], blocks[2 * layer + 1]
        Z = np.dot(theta[W.start : W.stop].reshape(W.shape), A) + theta[b.start : b.stop].reshape(b.shape)
        if layer < layout.num_layers - 1:
            A = np.maximum(0, Z)
        else:
            with np.errstate(over="ignore"):  # exp(-Z) overflows to inf for a saturated output: sigmoid 0
                A = 1 / (1 + np.exp(-Z))
    return float(row_costs(A, Y)[0])


def _course_gradapprox(
    X: np.ndarray, Y: np.ndarray, theta: np.ndarray, layout: ParamLayout, epsilon: float
) -> np.ndarray:
    """The course's loop: gradapprox[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2. * eps), (n, 1).

    A plain loop (two forward passes per entry) is the course's algorithm, so its floats are the course's on
    any machine; on the course's 47-parameter network it takes a few milliseconds.
    """
    gradapprox = np.zeros((theta.size, 1))
    for i in range(theta.size):
        thetaplus, thetaminus = theta.copy(), theta.copy()
        thetaplus[i] = thetaplus[i] + epsilon
        thetaminus[i] = thetaminus[i] - epsilon
        J_plus, J_minus = _course_cost(X, Y, thetaplus, layout), _course_cost(X, Y, thetaminus, layout)
        gradapprox[i] = (J_plus - J_minus) / (2.0 * epsilon)
    return gradapprox


def _unpack_cache(cache: Cache) -> Cache:
    if not (isinstance(cache, tuple) and len(cache) == 12):
        kind = f"a tuple of {len(cache)}" if isinstance(cache, tuple) else type(cache).__name__
        raise TypeError(
            "cache must be the 12-tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) returned by "
            f"forward_propagation_n, but got {kind}"
        )
    return cache
