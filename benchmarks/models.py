"""The functions every comparison runs on, written once per side so a test can check the sides agree.

- `Problem`: a toynet network, a batch (X, Y), parameters and their correct gradients.
- `course_loop_check`: the course's gradient_check_n as a plain loop (copy theta, perturb entry i,
  vector_to_dictionary, forward), on toynet's own forward: the baseline a student writes.
- `torch_cost`: the same network and cost written in PyTorch on a flat parameter vector (course order).
- `buggy_gradients`: a backward pass with one planted bug (the detection benchmark).
- `TorchMLP`: the training benchmark's network in idiomatic PyTorch (F.linear, BCE with logits, plain SGD).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from toynet.network import Network
from toynet.params import dictionary_to_vector, gradients_to_vector, vector_to_dictionary

# Networks of about 50, 1,000, 10,000 and 100,000 parameters. The first is the course's 4-5-3-1 (47).
SIZES: dict[str, list[int]] = {
    "~50 (course)": [4, 5, 3, 1],
    "~1k": [10, 50, 10, 1],
    "~10k": [50, 100, 50, 1],
    "~100k": [100, 500, 100, 1],
}
# Gradient checks run on a tiny batch, as the course (m = 3) and cs231n (N = 3..5) do.
CHECK_BATCH = 3
# Issue 21's second ~10k point: a trained-looking 100-64-48-1 network (9,633 parameters) checked on m = 32.
TRAINED_SIZES = [100, 64, 48, 1]
TRAINED_BATCH = 32


@dataclass
class Problem:
    """A network with a batch and a point: X (n_x, m), Y (1, m), parameters and their exact gradients."""

    net: Network
    X: np.ndarray
    Y: np.ndarray
    parameters: dict[str, np.ndarray]
    gradients: dict[str, np.ndarray]

    @property
    def n(self) -> int:
        return self.net.layout.size

    @property
    def theta(self) -> np.ndarray:
        return dictionary_to_vector(self.parameters)[0]

    @property
    def grad(self) -> np.ndarray:
        return gradients_to_vector(self.gradients, self.net.layout)


def make_problem(
    layer_sizes: Sequence[int], m: int = CHECK_BATCH, seed: int = 0, hidden: str = "relu", dtype: Any = np.float64
) -> Problem:
    """Random He-initialised parameters, random biases, X ~ N(0, 1), random 0/1 labels; all in `dtype`.

    A point where a whole gradient block is zero (every ReLU unit of a layer dead on the batch) is
    redrawn: a bug in such a block changes nothing, so no checker could see it.
    """
    net = Network(list(layer_sizes), hidden=hidden)
    rng = np.random.default_rng(seed)
    for _ in range(100):
        parameters = {k: v.astype(dtype) for k, v in net.initialize_parameters(seed=int(rng.integers(2**31))).items()}
        for name in parameters:  # nonzero biases: a zero block would hide a bug in it
            if name.startswith("b"):
                parameters[name] = (0.1 * rng.standard_normal(parameters[name].shape)).astype(dtype)
        X = rng.standard_normal((layer_sizes[0], m)).astype(dtype)
        Y = (rng.random((1, m)) > 0.5).astype(dtype)
        _, caches = net.forward(X, Y, parameters)
        gradients = net.backward(caches)
        if all(np.any(g != 0) for g in gradients.values()):
            break
    return Problem(net, X, Y, parameters, gradients)


def trained_problem(layer_sizes: Sequence[int] = tuple(TRAINED_SIZES), m: int = TRAINED_BATCH, seed: int = 0,
                    examples: int = 256, iterations: int = 60, learning_rate: float = 0.1) -> Problem:
    """A network part-way through training, checked on the first m of its training examples.

    A random teacher labels X ~ N(0, 1) (n_x, examples): Y = [v . x > 0]. From He initialisation,
    `iterations` steps of full-batch gradient descent (Network.train) move the weights off their initial
    scale and make most outputs confident (with the defaults, on the checked batch: cost 0.57 -> 0.05, 28 of
    32 outputs beyond 0.1 / 0.9): the point a student checks once training has run, not a fresh draw.
    """
    net = Network(list(layer_sizes))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((layer_sizes[0], examples))
    Y = (rng.standard_normal(layer_sizes[0]) @ X > 0).astype(np.float64).reshape(1, -1)
    trained = net.train(X, Y, net.initialize_parameters(seed=seed), learning_rate=learning_rate,
                        num_iterations=iterations, progress=False).parameters
    X_check, Y_check = X[:, :m].copy(), Y[:, :m].copy()
    _, caches = net.forward(X_check, Y_check, trained)
    return Problem(net, X_check, Y_check, trained, net.backward(caches))


def course_problem() -> Problem:
    """The course's N-D test case (docs/REFERENCE.md): np.random.seed(1), X (4, 3), 4-5-3-1, Y = [1, 1, 0]."""
    state = np.random.get_state()
    try:
        np.random.seed(1)
        X = np.random.randn(4, 3)
        parameters = {}
        for layer, (n_out, n_in) in enumerate([(5, 4), (3, 5), (1, 3)], start=1):
            parameters[f"W{layer}"] = np.random.randn(n_out, n_in)
            parameters[f"b{layer}"] = np.random.randn(n_out, 1)
    finally:
        np.random.set_state(state)
    net = Network([4, 5, 3, 1])
    Y = np.array([[1.0, 1.0, 0.0]])
    _, caches = net.forward(X, Y, parameters)
    return Problem(net, X, Y, parameters, net.backward(caches))


def formula2(a: np.ndarray, b: np.ndarray) -> float:
    """The course's difference ||a - b|| / (||a|| + ||b||) (0 when both are 0), written out independently."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


# ---------------------------------------------------------------------------------------------- the course's loop
def course_loop(problem: Problem, gradients: dict[str, np.ndarray], J: Callable[[np.ndarray], float],
                epsilon: float) -> tuple[float, int]:
    """The course's gradient_check_n loop, line for line, with J(theta) standing for
    forward_propagation_n(X, Y, vector_to_dictionary(theta)). Returns (difference, evaluations)."""
    parameters_values, _ = dictionary_to_vector(problem.parameters)
    grad = gradients_to_vector(gradients)
    num_parameters = parameters_values.shape[0]
    J_plus = np.zeros((num_parameters, 1))
    J_minus = np.zeros((num_parameters, 1))
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        thetaplus = np.copy(parameters_values)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus[i] = J(thetaplus)
        thetaminus = np.copy(parameters_values)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus[i] = J(thetaminus)
        gradapprox[i] = (J_plus[i] - J_minus[i]) / (2.0 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return float(numerator / denominator), 2 * num_parameters


def course_loop_check(
    problem: Problem, gradients: dict[str, np.ndarray] | None = None, epsilon: float = 1e-7
) -> tuple[float, int]:
    """The course's loop on toynet's forward (with its argument checks). Returns (difference, evaluations)."""
    net, X, Y = problem.net, problem.X, problem.Y

    def J(theta: np.ndarray) -> float:
        return net.forward(X, Y, vector_to_dictionary(theta, net.layout))[0]

    return course_loop(problem, problem.gradients if gradients is None else gradients, J, epsilon)


def course_forward(X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> float:
    """The course's forward_propagation_n in plain numpy (no argument checks), for any number of layers."""
    L, A = len(parameters) // 2, X
    for layer in range(1, L + 1):
        Z = np.dot(parameters[f"W{layer}"], A) + parameters[f"b{layer}"]
        A = np.maximum(0, Z) if layer < L else 1 / (1 + np.exp(-Z))
    logprobs = np.multiply(-np.log(A), Y) + np.multiply(-np.log(1 - A), 1 - Y)
    return float(1.0 / X.shape[1] * np.sum(logprobs))


def course_plain_loop_check(problem: Problem, epsilon: float = 1e-7) -> tuple[float, int]:
    """The course's loop with its own plain-numpy forward and slicing vector_to_dictionary."""
    X, Y, layout = problem.X, problem.Y, problem.net.layout

    def J(theta: np.ndarray) -> float:  # the course's vector_to_dictionary: reshaped slices
        return course_forward(X, Y, {b.name: theta[b.start : b.stop].reshape(b.shape) for b in layout.blocks})

    return course_loop(problem, problem.gradients, J, epsilon)


# ---------------------------------------------------------------------------------------------- planted bugs
BUGS = ("missing batch sum", "transposed dW", "sign flip", "1% scale")


def buggy_gradients(problem: Problem, bug: str | None, block: str) -> dict[str, np.ndarray]:
    """The network's backward with one planted bug in `block` (None: the correct backward).

    "missing batch sum": db_l = dZ_l of the first example only (the sum over the m examples forgotten);
    "transposed dW": dW_l^T (needs a square W_l); "sign flip": -d(block); "1% scale": 1.01 * d(block).
    """
    grads = {k: v.copy() for k, v in problem.gradients.items()}
    key = "d" + block
    if bug is None:
        return grads
    if bug == "missing batch sum":
        if not block.startswith("b"):
            raise ValueError(f"the missing batch sum is planted in a bias block, but got {block!r}")
        grads[key] = _dZ(problem, int(block[1:]))[:, :1].copy()
    elif bug == "transposed dW":
        if grads[key].shape[0] != grads[key].shape[1]:
            raise ValueError(f"a transposed dW needs a square block, but {block} has shape {grads[key].shape}")
        grads[key] = grads[key].T.copy()
    elif bug == "sign flip":
        grads[key] = -grads[key]
    elif bug == "1% scale":
        grads[key] = grads[key] * grads[key].dtype.type(1.01)
    else:
        raise ValueError(f"bug must be one of {BUGS} or None, but got {bug!r}")
    return grads


def _dZ(problem: Problem, layer: int) -> np.ndarray:
    """dZ_layer of the correct backward: db_layer is its sum over the batch."""
    net = problem.net
    _, caches = net.forward(problem.X, problem.Y, problem.parameters)
    A_L, Y = caches.cost
    dZ = (A_L - Y) / A_L.shape[-1]
    for current in range(net.num_layers, layer, -1):
        linear_cache, _ = caches.layers[current - 1]
        dA = linear_cache.W.T @ dZ
        dZ = net.activations[current - 2].backward(dA, caches.layers[current - 2].activation)
    return dZ


# ---------------------------------------------------------------------------------------------- PyTorch side
def torch_cost(theta: Any, layer_sizes: Sequence[int], X: Any, Y: Any, hidden: str = "relu") -> Any:
    """The same network and the course's cost in PyTorch, on theta: (n,) in course order (W then b per layer)."""
    import torch

    act: Callable[[Any], Any] = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[hidden]
    A, start, L = X, 0, len(layer_sizes) - 1
    for layer in range(1, L + 1):
        n_in, n_out = layer_sizes[layer - 1], layer_sizes[layer]
        W = theta[start : start + n_out * n_in].reshape(n_out, n_in)
        start += n_out * n_in
        b = theta[start : start + n_out].reshape(n_out, 1)
        start += n_out
        Z = W @ A + b
        A = act(Z) if layer < L else torch.sigmoid(Z)
    m = Y.shape[-1]
    return -(Y * torch.log(A) + (1 - Y) * torch.log(1 - A)).sum() / m


def torch_problem(problem: Problem) -> tuple[Callable[[Any], Any], Any]:
    """(f, theta) for torch.autograd.gradcheck: f(theta) is `torch_cost` on the problem's batch."""
    import torch

    X = torch.from_numpy(problem.X.astype(np.float64))
    Y = torch.from_numpy(problem.Y.astype(np.float64))
    sizes, hidden = problem.net.layer_sizes, problem.net.hidden
    theta = torch.from_numpy(problem.theta.reshape(-1).astype(np.float64)).requires_grad_(True)
    return (lambda t: torch_cost(t, sizes, X, Y, hidden)), theta


def torch_wrapped(problem: Problem, gradients: dict[str, np.ndarray]) -> tuple[Callable[[Any], Any], Any]:
    """(f, theta) for torch.autograd.gradcheck on *toynet's* cost and the given (possibly buggy) gradient.

    Forward = toynet's cost in the problem's dtype; backward = `gradients` flattened: torch checks exactly
    the pair toynet checks, with its own perturbations and its own default tolerances.
    """
    import torch

    net, X, Y = problem.net, problem.X, problem.Y
    dtype = problem.X.dtype
    grad_vector = torch.from_numpy(gradients_to_vector(gradients, net.layout).reshape(-1).copy())
    theta0 = torch.from_numpy(problem.theta.reshape(-1).copy())

    class ToynetCost(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, theta: Any) -> Any:
            params = vector_to_dictionary(theta.detach().numpy().astype(dtype), net.layout)
            return torch.tensor(net.cost(X, Y, params), dtype=theta.dtype)

        @staticmethod
        def backward(ctx: Any, grad_output: Any) -> Any:
            # the planted gradient is for the point theta0 only: gradcheck calls backward there
            return grad_output * grad_vector.to(grad_output.dtype)

    return ToynetCost.apply, theta0.requires_grad_(True)


# ---------------------------------------------------------------------------------------------- scipy side
def scipy_functions(
    problem: Problem, gradients: dict[str, np.ndarray] | None = None
) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """(f, grad, x0) on flat float64 vectors for scipy.optimize.check_grad; f runs in the problem's dtype."""
    net, X, Y = problem.net, problem.X, problem.Y
    dtype = X.dtype
    g = gradients_to_vector(problem.gradients if gradients is None else gradients, net.layout).reshape(-1)

    def f(x: np.ndarray) -> float:
        return float(net.cost(X, Y, vector_to_dictionary(np.asarray(x, dtype=dtype), net.layout)))

    def grad(x: np.ndarray) -> np.ndarray:
        return g.astype(np.float64)  # the gradient under test, at x0 (check_grad evaluates it there only)

    return f, grad, problem.theta.reshape(-1).astype(np.float64)


# ---------------------------------------------------------------------------------------------- training
class TorchMLP:
    """The training benchmark's MLP in idiomatic PyTorch: F.linear layers, ReLU, BCE-with-logits, plain SGD.

    Copies toynet's parameters (W (n_out, n_in), b (n_out, 1)) so both start from the same point; the data
    is fed row-major (m, n_x), PyTorch's layout.
    """

    def __init__(self, parameters: dict[str, np.ndarray], dtype: Any) -> None:
        import torch

        L = len(parameters) // 2
        self.weights = [torch.tensor(parameters[f"W{l}"], dtype=dtype, requires_grad=True) for l in range(1, L + 1)]
        self.biases = [
            torch.tensor(parameters[f"b{l}"].reshape(-1), dtype=dtype, requires_grad=True) for l in range(1, L + 1)
        ]

    def loss(self, X: Any, y: Any) -> Any:
        import torch.nn.functional as F

        A = X
        for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            A = F.linear(A, W, b)
            if i < len(self.weights) - 1:
                A = F.relu(A)
        return F.binary_cross_entropy_with_logits(A.reshape(-1), y)

    def train(self, X: Any, y: Any, learning_rate: float, num_iterations: int) -> list[float]:
        import torch

        costs = []
        params = self.weights + self.biases
        for _ in range(num_iterations):
            loss = self.loss(X, y)
            costs.append(loss.item())
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= learning_rate * p.grad
                    p.grad = None
        return costs
