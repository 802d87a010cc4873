"""A sequential network: LINEAR -> activation, repeated, ending in a sigmoid and the logistic cost.

Parameters live in a plain dict `{"W1", "b1", ..., "WL", "bL"}` that the caller owns; the network only
knows the layer sizes and activations. `forward(X, Y, parameters) -> (cost, caches)` and
`backward(caches) -> grads` with keys `dW1, db1, ...`, exactly the pair a gradient check compares.

    net = Network([4, 5, 3, 1])                  # ReLU hidden layers, sigmoid output
    parameters = net.initialize_parameters(seed=1)
    cost, caches = net.forward(X, Y, parameters)
    grads = net.backward(caches)

Regularization, as in the course: `lambd` adds (lambd / 2m) sum_l ||W_l||^2 to the cost (and (lambd / m) W_l
to each dW_l); `keep_prob < 1` applies inverted dropout to every hidden layer, A_l <- A_l * D_l / keep_prob
with 0/1 masks D_l, and the same D_l / keep_prob to dA_l backwards. Predictions never drop units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.layers import Activation, Linear, LinearCache, ReLU, Sigmoid, Tanh
from toynet.losses import CostCache, LogisticCost
from toynet.params import ParamLayout

ACTIVATIONS: dict[str, type[Activation]] = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
Initialization = Literal["he", "xavier", "glorot", "small"]


class LayerCache(NamedTuple):
    """One layer's caches: the Linear cache (A_prev, W, b) and the activation's cache (Z or A)."""

    linear: LinearCache
    activation: np.ndarray


@dataclass
class NetworkCache:
    """Everything `backward` needs: each layer's caches in order, then the cost's (A_L, Y)."""

    layers: list[LayerCache]
    cost: CostCache
    lambd: float = 0.0  # the L2 strength, and the dropout masks D_1 .. D_{L-1} (None: no dropout)
    masks: list[np.ndarray] | None = None
    keep_prob: float = 1.0


class TrainingResult(NamedTuple):
    """What `train` returns: the trained parameters (a new dict) and the cost at every iteration."""

    parameters: dict[str, np.ndarray]
    costs: list[float]


class Network:
    """A fully connected network with units `layer_sizes = [n_x, n_1, ..., n_L]`.

    hidden: the activation of layers 1 .. L-1 ("relu", "tanh" or "sigmoid"); the output layer is a
    sigmoid, so the network models P(y = 1 | x) and is trained with the logistic cost.
    """

    def __init__(self, layer_sizes: Sequence[int], hidden: str = "relu") -> None:
        sizes = list(layer_sizes)
        if len(sizes) < 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in sizes):
            raise ValueError(f"layer_sizes must be at least two positive ints [n_x, ..., n_L], but got {sizes}")
        if sizes[-1] != 1:
            raise ValueError(f"the output layer must have 1 unit (binary classification), but got {sizes[-1]}")
        if hidden not in ACTIVATIONS:
            raise ValueError(f"hidden must be one of {sorted(ACTIVATIONS)}, but got {hidden!r}")
        self.layer_sizes = [int(n) for n in sizes]
        self.hidden = hidden
        self.activations: list[type[Activation]] = [ACTIVATIONS[hidden]] * (len(sizes) - 2) + [Sigmoid]
        self.layout = ParamLayout.from_layer_sizes(self.layer_sizes)

    def __repr__(self) -> str:
        return f"Network({self.layer_sizes}, hidden={self.hidden!r})  # {self.layout.size} parameters"

    @property
    def num_layers(self) -> int:
        return len(self.layer_sizes) - 1

    def initialize_parameters(self, seed: int = 0, method: Initialization = "he") -> dict[str, np.ndarray]:
        """Random weights, zero biases.  W_l: (n_l, n_{l-1}) ~ N(0, scale^2), b_l: (n_l, 1) = 0.

        scale: "he" sqrt(2 / n_in) (for ReLU); "xavier" sqrt(1 / n_in) (for tanh/sigmoid);
        "glorot" sqrt(2 / (n_in + n_out)); "small" 0.01 (the course's first, too-small choice).
        """
        scales = {
            "he": lambda n_in, n_out: np.sqrt(2.0 / n_in),
            "xavier": lambda n_in, n_out: np.sqrt(1.0 / n_in),
            "glorot": lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out)),
            "small": lambda n_in, n_out: 0.01,
        }
        if method not in scales:
            raise ValueError(f"method must be one of {sorted(scales)}, but got {method!r}")
        rng = np.random.default_rng(seed)
        parameters = {}
        for layer, (n_in, n_out) in enumerate(zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True), start=1):
            parameters[f"W{layer}"] = rng.standard_normal((n_out, n_in)) * scales[method](n_in, n_out)
            parameters[f"b{layer}"] = np.zeros((n_out, 1))
        return parameters

    def forward(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        parameters: Mapping[str, np.ndarray],
        *,
        lambd: float = 0.0,
        keep_prob: float = 1.0,
        masks: Sequence[np.ndarray] | None = None,
        seed: int | None = None,
    ) -> tuple[float, NetworkCache]:
        """Cost and caches.  X: (n_x, m), Y: (m,) or (1, m), parameters: W1 (n_1, n_x), b1 (n_1, 1), ...

        lambd >= 0: the L2 term (lambd / 2m) sum_l ||W_l||^2 is added to the cost.
        keep_prob in (0, 1]: below 1, inverted dropout on the hidden layers, with `masks` (D_l of shape
        (n_l, m), 0/1) or, without them, masks drawn from default_rng(seed) (fresh ones when seed is None).
        """
        X = self._check_X(X)
        self.layout.read(parameters)  # the one check of a parameters dict
        lambd, keep_prob = _check_lambd(lambd), _check_keep_prob(keep_prob)
        if masks is not None:
            masks = self._check_masks(masks, X.shape[1])
        elif keep_prob < 1:
            masks = self.dropout_masks(X.shape[1], keep_prob, seed)
        A_L, layer_caches = self._forward_layers(X, parameters, masks, keep_prob)
        cost, cost_cache = LogisticCost.forward(A_L, Y)
        cost += _l2_cost(layer_caches, lambd)
        return cost, NetworkCache(layer_caches, cost_cache, lambd, masks, keep_prob)

    def backward(self, caches: NetworkCache) -> dict[str, np.ndarray]:
        """Gradients {"dW1": (n_1, n_x), "db1": (n_1, 1), ...} of the cost at the forward's point."""
        if not isinstance(caches, NetworkCache):
            raise TypeError(f"caches must be the NetworkCache returned by forward, but got {type(caches).__name__}")
        A_L, Y = caches.cost
        # Sigmoid then logistic cost: dZ_L = (A_L - Y) / m. Fusing the two avoids (1/A) * A(1-A) when A
        # rounds to exactly 0 or 1, where the separate backwards would lose the gradient.
        # In A_L's dtype: float64 labels (or ints, converted to float64) must not upcast a float32 backward.
        dZ = ((A_L - Y) / A_L.shape[-1]).astype(A_L.dtype, copy=False)
        grads: dict[str, np.ndarray] = {}
        dA = dZ  # replaced by each Linear.backward before an activation's backward reads it
        for layer in range(self.num_layers, 0, -1):
            linear_cache, activation_cache = caches.layers[layer - 1]
            if layer < self.num_layers:
                if caches.masks is not None:  # dropout: only the units kept forward pass a gradient back
                    dA = dA * caches.masks[layer - 1] / caches.keep_prob
                dZ = self.activations[layer - 1].backward(dA, activation_cache)
            if layer == 1:  # dA_0 would be the gradient with respect to X: never used, so never computed
                grads["dW1"], grads["db1"] = Linear.backward_params(dZ, linear_cache)
            else:
                dA, grads[f"dW{layer}"], grads[f"db{layer}"] = Linear.backward(dZ, linear_cache)
            if caches.lambd:  # d/dW of (lambd / 2m) ||W||^2
                grads[f"dW{layer}"] = grads[f"dW{layer}"] + caches.lambd / A_L.shape[-1] * linear_cache.W
        return {"d" + name: grads["d" + name] for name in self.layout.names}  # course order

    def cost(self, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> float:
        """The cost alone (forward without keeping the caches)."""
        return self.forward(X, Y, parameters)[0]

    def cost_function(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        lambd: float = 0.0,
        keep_prob: float = 1.0,
        masks: Sequence[np.ndarray] | None = None,
    ) -> CostFunction | RegularizedCostFunction:
        """`cost_fn(parameters) -> float` on this batch, for the gradient checker.

        With lambd, the cost includes the L2 term. With dropout (keep_prob < 1) the masks must be given and
        are held fixed: a cost that drew new masks at every call would not be a function of the parameters,
        and no numerical gradient could match the backward of one forward pass.
        """
        X = self._check_X(X)
        lambd, keep_prob = _check_lambd(lambd), _check_keep_prob(keep_prob)
        if keep_prob < 1 and masks is None:
            raise ValueError(
                "masks must be given with keep_prob < 1: a gradient check needs the dropout masks held fixed "
                "(draw them once with network.dropout_masks(m, keep_prob, seed)), or dropout switched off"
            )
        if lambd == 0 and masks is None:
            return CostFunction(self, X, Y)
        return RegularizedCostFunction(self, X, Y, lambd, keep_prob, self._check_masks(masks, X.shape[1]))

    def dropout_masks(
        self, m: int, keep_prob: float, seed: int | np.random.Generator | None = None
    ) -> list[np.ndarray]:
        """Masks D_1 .. D_{L-1} for m examples: D_l (n_l, m) of 0/1 ints, 1 with probability keep_prob.

        seed: an int, a Generator (drawn from, as `train` does at every step), or None for fresh entropy.
        """
        keep_prob = _check_keep_prob(keep_prob)
        rng = np.random.default_rng(seed)
        return [(rng.random((n, m)) < keep_prob).astype(int) for n in self.layer_sizes[1:-1]]

    def predict(self, X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        """Predicted labels, (1, m) of 0/1 ints: 1 where the output probability exceeds 0.5."""
        return (self.predict_proba(X, parameters) > 0.5).astype(int)

    def predict_proba(self, X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        """Output probabilities A_L: (1, m)."""
        X = self._check_X(X)
        self.layout.read(parameters)  # the one check of a parameters dict
        return self._forward_layers(X, parameters)[0]

    def accuracy(self, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> float:
        """Fraction of the m examples whose predicted label equals Y."""
        Y = as_array("Y", Y).reshape(1, -1)
        predictions = self.predict(X, parameters)
        if Y.shape != predictions.shape:
            raise ValueError(f"Y must have shape (m,) or (1, m) with m = {predictions.shape[1]}, got {Y.shape}")
        return float((predictions == Y).mean())

    def train(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        parameters: Mapping[str, np.ndarray] | None = None,
        *,
        learning_rate: float = 0.1,
        num_iterations: int = 1000,
        seed: int = 0,
        progress: bool | None = None,
        lambd: float = 0.0,
        keep_prob: float = 1.0,
    ) -> TrainingResult:
        """Full-batch gradient descent, theta <- theta - learning_rate * grad, for `num_iterations` steps.

        Starts from `parameters` (copied, never modified) or a fresh He initialisation with `seed`.
        lambd: L2 regularization (the costs include its term); keep_prob < 1: inverted dropout with new
        masks at every step, drawn from default_rng(seed).
        Returns the trained parameters and the cost before every step. A progress bar (tqdm) shows on
        runs of 1000 iterations or more unless `progress=False`.
        """
        if not (isinstance(num_iterations, (int, np.integer)) and num_iterations >= 0):
            raise ValueError(f"num_iterations must be a non-negative int, but got {num_iterations!r}")
        if not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, but got {learning_rate!r}")
        lambd, keep_prob = _check_lambd(lambd), _check_keep_prob(keep_prob)
        mask_rng = np.random.default_rng(seed)
        if parameters is None:
            parameters = self.initialize_parameters(seed=seed)
        self.layout.read(parameters)  # the one check of a parameters dict
        current = {name: as_array(name, value).copy() for name, value in parameters.items()}
        costs: list[float] = []
        steps = range(num_iterations)
        if progress or (progress is None and num_iterations >= 1000):
            from tqdm.auto import tqdm  # imported only when a bar is wanted

            steps = tqdm(steps, desc="training", unit="it", leave=False)
        X = self._check_X(X)  # checked once: re-checking X and the parameters every step cost ~10% of a step
        for _ in steps:
            masks = self.dropout_masks(X.shape[1], keep_prob, mask_rng) if keep_prob < 1 else None
            A_L, layer_caches = self._forward_layers(X, current, masks, keep_prob)
            if not np.isfinite(A_L).all():  # a diverging run; the cost below checks everything else (Y)
                raise FloatingPointError(f"the cost became nan after {len(costs)} steps: lower learning_rate")
            cost, cost_cache = LogisticCost.forward(A_L, Y)
            cost += _l2_cost(layer_caches, lambd)
            costs.append(float(cost))
            grads = self.backward(NetworkCache(layer_caches, cost_cache, lambd, masks, keep_prob))
            for name in current:
                current[name] -= learning_rate * grads["d" + name]
        return TrainingResult(current, costs)

    def _check_X(self, X: np.ndarray) -> np.ndarray:
        X = as_array("X", X)
        if X.ndim != 2 or X.shape[0] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape ({self.layer_sizes[0]}, m), but got shape {X.shape}")
        if not np.iscomplexobj(X):
            check_finite("X", X)
        return X

    def _check_masks(self, masks: Sequence[np.ndarray] | None, m: int) -> list[np.ndarray] | None:
        if masks is None:
            return None
        sizes = self.layer_sizes[1:-1]
        if not isinstance(masks, (list, tuple)) or len(masks) != len(sizes):
            got = f"{len(masks)} arrays" if isinstance(masks, (list, tuple)) else type(masks).__name__
            raise ValueError(f"masks must be a list of {len(sizes)} arrays D_1 .. D_{len(sizes)}, but got {got}")
        checked = []
        for layer, (mask, n) in enumerate(zip(masks, sizes, strict=True), start=1):
            mask = np.asarray(mask)
            if mask.shape != (n, m):
                raise ValueError(f"masks[{layer - 1}] (D_{layer}) must have shape ({n}, {m}), but got {mask.shape}")
            if not np.isin(mask, (0, 1)).all():
                raise ValueError(f"masks[{layer - 1}] (D_{layer}) must hold only 0 and 1")
            checked.append(mask)
        return checked

    def _forward_layers(
        self,
        X: np.ndarray,
        parameters: Mapping[str, np.ndarray],
        masks: Sequence[np.ndarray] | None = None,
        keep_prob: float = 1.0,
    ) -> tuple[np.ndarray, list[LayerCache]]:
        A, caches = X, []
        for layer, activation in enumerate(self.activations, start=1):
            Z, linear_cache = Linear.forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"])
            A, activation_cache = activation.forward(Z)
            if masks is not None and layer < self.num_layers:  # inverted dropout: the kept units scaled up
                A = A * masks[layer - 1] / keep_prob
            caches.append(LayerCache(linear_cache, activation_cache))
        return A, caches


class CostFunction:
    """The network's cost on a fixed batch (X, Y) as a function of the parameters alone: `cost_fn(parameters)`.

    The gradient checker recognises it and computes perturbed costs incrementally (gradcheck.perturbations).
    """

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray) -> None:
        self.network, self.X, self.Y = network, X, Y
        self.layout = network.layout

    def __call__(self, parameters: Mapping[str, np.ndarray]) -> float:
        return self.network.forward(self.X, self.Y, parameters)[0]



class RegularizedCostFunction:
    """The cost with an L2 term and/or fixed dropout masks on a fixed batch: `cost_fn(parameters) -> float`.

    Not a CostFunction: the checker's incremental engine knows only the plain cost, so it evaluates this
    one by plain calls, each with the same masks.
    """

    def __init__(
        self, network: Network, X: np.ndarray, Y: np.ndarray, lambd: float, keep_prob: float,
        masks: list[np.ndarray] | None,
    ) -> None:
        self.network, self.X, self.Y = network, X, Y
        self.lambd, self.keep_prob, self.masks = lambd, keep_prob, masks
        self.layout = network.layout

    def __call__(self, parameters: Mapping[str, np.ndarray]) -> float:
        cost, _ = self.network.forward(
            self.X, self.Y, parameters, lambd=self.lambd, keep_prob=self.keep_prob, masks=self.masks
        )
        return cost


def _l2_cost(layer_caches: list[LayerCache], lambd: float) -> float:
    """(lambd / 2m) sum_l ||W_l||_F^2, with the W's and m read from the layers' caches (0 without L2)."""
    if not lambd:
        return 0.0
    m = layer_caches[0].linear.A_prev.shape[-1]
    return lambd / (2 * m) * sum(np.sum(np.square(cache.linear.W)) for cache in layer_caches)


def _check_lambd(lambd: float) -> float:
    if not (isinstance(lambd, (int, float, np.integer, np.floating)) and np.isfinite(lambd) and lambd >= 0):
        raise ValueError(f"lambd must be a finite number >= 0, but got {lambd!r}")
    return float(lambd)


def _check_keep_prob(keep_prob: float) -> float:
    if not (isinstance(keep_prob, (int, float, np.integer, np.floating)) and 0 < keep_prob <= 1):
        raise ValueError(f"keep_prob must be a number in (0, 1], but got {keep_prob!r}")
    return float(keep_prob)
