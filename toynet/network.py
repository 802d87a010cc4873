"""A sequential network: LINEAR -> activation, repeated, ending in a sigmoid and the logistic cost.

Parameters live in a plain dict `{"W1", "b1", ..., "WL", "bL"}` that the caller owns; the network only
knows the layer sizes and activations. `forward(X, Y, parameters) -> (cost, caches)` and
`backward(caches) -> grads` with keys `dW1, db1, ...`, exactly the pair a gradient check compares.

    net = Network([4, 5, 3, 1])                  # ReLU hidden layers, sigmoid output
    parameters = net.initialize_parameters(seed=1)
    cost, caches = net.forward(X, Y, parameters)
    grads = net.backward(caches)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, NamedTuple

import numpy as np

from toynet._validate import as_array, check_finite
from toynet.layers import Activation, Linear, LinearCache, ReLU, Sigmoid, Tanh
from toynet.losses import CostCache, LogisticCost, logistic_costs
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
        self, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]
    ) -> tuple[float, NetworkCache]:
        """Cost and caches.  X: (n_x, m), Y: (m,) or (1, m), parameters: W1 (n_1, n_x), b1 (n_1, 1), ..."""
        X = self._check_X(X)
        _check_parameters(self.layout, parameters)
        A_L, layer_caches = self._forward_layers(X, parameters)
        cost, cost_cache = LogisticCost.forward(A_L, Y)
        return cost, NetworkCache(layer_caches, cost_cache)  # type: ignore[return-value]

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
                dZ = self.activations[layer - 1].backward(dA, activation_cache)
            if layer == 1:  # dA_0 would be the gradient with respect to X: never used, so never computed
                grads["dW1"], grads["db1"] = Linear.backward_params(dZ, linear_cache)
            else:
                dA, grads[f"dW{layer}"], grads[f"db{layer}"] = Linear.backward(dZ, linear_cache)
        return {"d" + name: grads["d" + name] for name in self.layout.names}  # course order

    def cost(self, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> float:
        """The cost alone (forward without keeping the caches)."""
        return self.forward(X, Y, parameters)[0]

    def cost_function(self, X: np.ndarray, Y: np.ndarray) -> CostFunction:
        """`cost_fn(parameters) -> float` on this batch, for the gradient checker (also takes stacks)."""
        return CostFunction(self, self._check_X(X), Y)

    def predict(self, X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        """Predicted labels, (1, m) of 0/1 ints: 1 where the output probability exceeds 0.5."""
        return (self.predict_proba(X, parameters) > 0.5).astype(int)

    def predict_proba(self, X: np.ndarray, parameters: Mapping[str, np.ndarray]) -> np.ndarray:
        """Output probabilities A_L: (1, m)."""
        X = self._check_X(X)
        _check_parameters(self.layout, parameters)
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
    ) -> TrainingResult:
        """Full-batch gradient descent, theta <- theta - learning_rate * grad, for `num_iterations` steps.

        Starts from `parameters` (copied, never modified) or a fresh He initialisation with `seed`.
        Returns the trained parameters and the cost before every step. A progress bar (tqdm) shows on
        runs of 1000 iterations or more unless `progress=False`.
        """
        if not (isinstance(num_iterations, (int, np.integer)) and num_iterations >= 0):
            raise ValueError(f"num_iterations must be a non-negative int, but got {num_iterations!r}")
        if not (np.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, but got {learning_rate!r}")
        if parameters is None:
            parameters = self.initialize_parameters(seed=seed)
        _check_parameters(self.layout, parameters)
        current = {name: as_array(name, value).copy() for name, value in parameters.items()}
        costs: list[float] = []
        steps = range(num_iterations)
        if progress or (progress is None and num_iterations >= 1000):
            from tqdm.auto import tqdm  # imported only when a bar is wanted

            steps = tqdm(steps, desc="training", unit="it", leave=False)
        X = self._check_X(X)  # checked once: re-checking X and the parameters every step cost ~10% of a step
        for _ in steps:
            A_L, layer_caches = self._forward_layers(X, current)
            try:
                cost, cost_cache = LogisticCost.forward(A_L, Y)
            except ValueError:
                if all(np.isfinite(value).all() for value in current.values()):
                    raise  # a problem with Y, not a diverging run
                cost = np.nan
            if not np.isfinite(cost):
                raise FloatingPointError(f"the cost became {cost} after {len(costs)} steps: lower learning_rate")
            costs.append(float(cost))
            grads = self.backward(NetworkCache(layer_caches, cost_cache))
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

    def _forward_layers(
        self, X: np.ndarray, parameters: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, list[LayerCache]]:
        A, caches = X, []
        for layer, activation in enumerate(self.activations, start=1):
            Z, linear_cache = Linear.forward(A, parameters[f"W{layer}"], parameters[f"b{layer}"])
            A, activation_cache = activation.forward(Z)
            caches.append(LayerCache(linear_cache, activation_cache))
        return A, caches


class CostFunction:
    """The network's cost on a fixed batch (X, Y) as a function of the parameters alone.

    `cost_fn(parameters)` returns a float. It also accepts *stacked* parameters, every block with a
    leading dimension k (k parameter sets), and then returns the k costs at once, shape (k,): the
    gradient checker uses this to evaluate a whole chunk of perturbations in one vectorised call.
    """

    accepts_stacks = True

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray) -> None:
        self.network, self.X, self.Y = network, X, Y
        self.layout = network.layout

    def __call__(self, parameters: Mapping[str, np.ndarray]) -> float | np.ndarray:
        first = parameters.get("W1") if isinstance(parameters, Mapping) else None
        if first is not None and np.ndim(first) == 3:  # a stack: shapes checked on the trailing dims
            A_L, _ = self.network._forward_layers(self.X, parameters)
            return LogisticCost.forward(A_L, self.Y)[0]
        return self.network.forward(self.X, self.Y, parameters)[0]

    def perturbations(self, parameters: Mapping[str, np.ndarray], check: bool = True) -> Perturbations:
        """The costs at theta + delta e_i for many coordinates i, reusing one forward pass at `parameters`.

        check=False skips the parameter checks (for callers that validated them already, like gradcheck).
        """
        if check:
            _check_parameters(self.layout, parameters)
        return Perturbations(self.network, self.X, self.Y, parameters)


class Perturbations:
    """Costs at theta + delta e_i for many coordinates i at once, recomputing only the layers from i's up.

    Moving W_l[r, c] by delta moves only row r of Z_l, by delta * A_{l-1}[c, :] (moving b_l[r]: by delta);
    everything below layer l is shared by every perturbation, so it comes from one forward pass at theta.
    Row r of A_l then changes by dA, so Z_{l+1} changes by the outer product W_{l+1}[:, r] dA (rank one),
    and only the layers above l are recomputed, for a whole stack of perturbations in one matrix product.
    Stacks are laid out (n_l, s, m), s perturbed copies side by side, so each layer is a single `W @ A`.
    Small networks skip the bookkeeping: all s perturbed copies of theta go through every layer together,
    one batched matmul per layer (`SMALL_STACK`).
    Everything is computed in float64 (complex128 for complex steps), whatever the dtype of the inputs.
    """

    SMALL_STACK = 2**21  # bytes: below this a whole stack runs through every layer at once

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray]) -> None:
        self.network, self.layout = network, network.layout
        L = network.num_layers
        self.W = [np.asarray(parameters[f"W{layer}"], dtype=np.float64) for layer in range(1, L + 1)]
        self.b = [np.asarray(parameters[f"b{layer}"], dtype=np.float64) for layer in range(1, L + 1)]
        self.A, self.Z = [np.asarray(X, dtype=np.float64)], []  # A[0] = X, A[l] = A_l; Z[l - 1] = Z_l
        for layer, activation in enumerate(network.activations):
            self.Z.append(self.W[layer] @ self.A[-1] + self.b[layer])
            self.A.append(activation.forward(self.Z[-1])[0])
        self.Y = _labels(Y, self.A[-1])  # checked once: every stack reuses it (and 1 - Y)
        self.not_Y = 1 - self.Y
        self.cost = float(self.stack_costs(self.A[-1][None])[0])
        if not np.isfinite(self.cost):
            raise FloatingPointError(f"the cost at the given parameters is {self.cost}: check their scale")
        self.detects_kinks = network.hidden == "relu"
        self.plan = _entry_plan(self.layout)
        self.layer_of, self.row_of, self.col_of = self.plan.layer_of, self.plan.row_of, self.plan.col_of

    @cached_property
    def sources(self) -> list[np.ndarray]:
        """sources[l - 1] is A_{l-1} with a row of ones below it: moving W_l[r, c] by delta adds delta * A_{l-1}[c, :]
        to row r of Z_l, moving b_l[r] adds delta * 1 (col_of's -1 picks the ones). Built on first use: only the
        layer-by-layer path reads it, and a small check (one stack) would pay for it on every call."""
        ones = np.ones((1, self.A[0].shape[1]))
        return [np.concatenate((A, ones)) for A in self.A[:-1]]

    def bytes_per_perturbation(self, layer: int, num_offsets: int) -> int:
        """Memory one perturbed coordinate of `layer` needs (complex128 upper bound, a few live temporaries)."""
        widths = self.network.layer_sizes[layer + 1 :] or [1]
        return 16 * num_offsets * self.A[0].shape[1] * (4 + 4 * max(widths))

    def chunks(self, indices: np.ndarray, num_offsets: int, budget: int) -> list[np.ndarray]:
        """Split `indices` into groups whose temporaries stay near `budget` bytes (one layer per group)."""
        m, widths = self.A[0].shape[1], sum(self.network.layer_sizes[1:])
        if 16 * indices.size * num_offsets * m * widths <= min(budget, self.SMALL_STACK):
            return [indices]
        layers = self.layer_of[indices]
        pieces = []
        for layer in np.unique(layers):
            group = indices[layers == layer]
            size = max(1, budget // self.bytes_per_perturbation(int(layer), num_offsets))
            pieces += [group[start : start + size] for start in range(0, group.size, size)]
        return pieces

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """J(theta + offsets[j] e_i) for i in indices: (k, D), and whether a ReLU kink was crossed: (k,) bool.

        A kink is crossed when some pre-activation of a ReLU layer has a different sign at two offsets.
        """
        indices, offsets = np.asarray(indices, dtype=np.int64), np.asarray(offsets)
        layers = self.layer_of[indices]
        if layers.size and (layers == layers[0]).all():
            return self._layer_costs(int(layers[0]), self.row_of[indices], self.col_of[indices], offsets)
        if 16 * indices.size * offsets.size * self.A[0].shape[1] * sum(self.network.layer_sizes) <= self.SMALL_STACK:
            return self._stack_costs(indices, offsets)
        costs = np.empty((indices.size, offsets.size), dtype=np.result_type(offsets, np.float64))
        crossed = np.zeros(indices.size, dtype=bool)
        for layer in np.unique(layers):
            chosen = np.flatnonzero(layers == layer)
            picked = indices[chosen]
            costs[chosen], crossed[chosen] = self._layer_costs(
                int(layer), self.row_of[picked], self.col_of[picked], offsets
            )
        return costs, crossed

    def _stack_costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All k D perturbed copies of the parameters through every layer together: Z = W A + b, a batched
        matmul of (k D, n_l, n_{l-1}) weight stacks, so a small network costs a handful of numpy calls."""
        k, D = indices.size, offsets.size
        theta = np.concatenate([array.reshape(-1) for pair in zip(self.W, self.b, strict=True) for array in pair])
        thetas = np.empty((k, D, theta.size), dtype=np.result_type(offsets, Z_DTYPE))
        thetas[...] = theta  # k D copies (filling an empty array is cheaper than broadcast_to(...).astype)
        thetas[np.arange(k), :, indices] += offsets  # copy (i, j) is theta + offsets[j] e_{indices[i]}
        thetas = thetas.reshape(k * D, theta.size)
        signs = []  # each ReLU layer's 1[Z > 0], (k, D, n_l m): compared across the D offsets once, at the end
        A = self.A[0]  # X, shared by every copy
        blocks = self.layout.blocks
        for layer, activation in enumerate(self.network.activations, start=1):
            W_block, b_block = blocks[2 * layer - 2], blocks[2 * layer - 1]
            W = thetas[:, W_block.start : W_block.stop].reshape(k * D, *W_block.shape)
            if layer == 1:  # every copy multiplies the same X: one 2-D product, twice as fast as a batched one
                W_times_A = (W.reshape(-1, A.shape[0]) @ A).reshape(k * D, W_block.shape[0], A.shape[1])
            else:
                W_times_A = W @ A
            Z = W_times_A + thetas[:, b_block.start : b_block.stop, None]  # (k D, n_l, m)
            if layer < len(blocks) // 2 and self.detects_kinks:
                positive = Z.real > 0
                signs.append(positive.reshape(k, D, -1))
                if not np.iscomplexobj(Z):
                    A = np.multiply(Z, positive, out=Z)  # ReLU in place: max(0, Z) = Z * 1[Z > 0]
                    continue
            A = activation.forward(Z)[0]
        if signs:
            positive = np.concatenate(signs, axis=2) if len(signs) > 1 else signs[0]
            crossed = (positive != positive[:, :1]).any(axis=(1, 2))  # a sign differs between two offsets
        else:
            crossed = np.zeros(k, dtype=bool)
        return self.stack_costs(A).reshape(k, D), crossed

    def _layer_costs(
        self, layer: int, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Perturbations of layer `layer` only: its perturbed rows, then a rank-one update of the next Z."""
        L, k, D = self.network.num_layers, rows.size, offsets.size
        m = self.A[0].shape[1]
        source = self.sources[layer - 1][cols]  # (k, m)
        rows_Z = self.Z[layer - 1][rows][:, None, :] + offsets[None, :, None] * source[:, None, :]  # (k, D, m)
        crossed = np.zeros(k, dtype=bool)
        if layer < L and self.detects_kinks:
            crossed |= _sign_flips(rows_Z.real.reshape(1, k, D, m) > 0)
        rows_A = self.network.activations[layer - 1].forward(rows_Z)[0]
        if layer == L:
            A = rows_A.reshape(1, k * D, m)
        else:
            dA = (rows_A - self.A[layer][rows][:, None, :]).reshape(k * D, m)
            W_next = np.repeat(self.W[layer][:, rows], D, axis=1)  # (n_{l+1}, k D): column r of W_{l+1}
            Z = W_next[:, :, None] * dA[None, :, :]  # (n_{l+1}, k D, m): the rank-one change of Z_{l+1} ...
            Z += self.Z[layer][:, None, :]  # ... added in place (these stacks are the big arrays)
            for above in range(layer + 1, L + 1):
                if above < L and self.detects_kinks and not np.iscomplexobj(Z):
                    positive = Z > 0
                    crossed |= _sign_flips(positive.reshape(-1, k, D, m))
                    A = np.multiply(Z, positive, out=Z)  # ReLU in place: max(0, Z) = Z * 1[Z > 0]
                else:
                    if above < L and self.detects_kinks:
                        crossed |= _sign_flips(Z.real.reshape(Z.shape[0], k, D, m) > 0)
                    A = self.network.activations[above - 1].forward(Z)[0]
                if above < L:
                    W, b = self.W[above], self.b[above]
                    Z = (W @ A.reshape(A.shape[0], -1)).reshape(W.shape[0], k * D, m) + b[:, :, None]
        return self.stack_costs(A[0][:, None, :]).reshape(k, D), crossed  # A: (1, k D, m) -> (k D, 1, m)

    def stack_costs(self, A: np.ndarray) -> np.ndarray:
        """LogisticCost.forward's costs of a stack of outputs A: (s, 1, m) -> (s,), with Y checked once in __init__.

        A check evaluates a stack per chunk, and re-checking Y and A every time cost more than the sums
        (NaN or inf costs are still caught: the gradient checker looks at every value it gets).
        """
        return logistic_costs(A, self.Y, self.not_Y)


Z_DTYPE = np.float64  # perturbed copies are computed in float64 (complex128 for the complex step)
class EntryPlan:
    """Where each entry of theta acts, worked out once per layout: layer_of (1-based), row_of (the row of Z_l
    it moves) and col_of (the row of A_{l-1} it scales, -1 for a bias: the row of ones of `sources`)."""

    def __init__(self, layout: ParamLayout) -> None:
        self.layer_of, self.row_of, self.col_of = (np.empty(layout.size, dtype=np.int64) for _ in range(3))
        for block in layout.blocks:
            entries, part = np.arange(block.size), slice(block.start, block.stop)
            self.layer_of[part] = int(block.name[1:])
            if block.name[0] == "W":
                self.row_of[part], self.col_of[part] = np.divmod(entries, block.shape[1])
            else:
                self.row_of[part], self.col_of[part] = entries, -1
        for array in (self.layer_of, self.row_of, self.col_of):
            array.flags.writeable = False


_PLANS: dict[ParamLayout, EntryPlan] = {}


def _entry_plan(layout: ParamLayout) -> EntryPlan:
    plan = _PLANS.get(layout)  # one lookup: hashing a layout hashes every block
    if plan is None:
        plan = _PLANS[layout] = EntryPlan(layout)
    return plan


def _labels(Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Y as a checked (1, m) array: a quick test passes the usual labels, LogisticCost's own checks (and error
    messages) handle everything else."""
    labels = as_array("Y", Y)
    m = A.shape[-1]
    if labels.shape in ((m,), (1, m)) and not np.iscomplexobj(labels) and ((labels >= 0) & (labels <= 1)).all():
        return labels.reshape(1, m)
    return LogisticCost.forward(A, Y)[1].Y


def _sign_flips(positive: np.ndarray) -> np.ndarray:
    """positive = Z > 0 for pre-activations Z: (n, k, D, m) -> (k,): does some sign differ between two offsets?"""
    return (positive != positive[:, :, :1, :]).any(axis=(0, 2, 3))


def _check_parameters(layout: ParamLayout, parameters: Mapping[str, np.ndarray]) -> None:
    if not isinstance(parameters, Mapping):
        raise TypeError(f"parameters must be a dict of arrays, but got {type(parameters).__name__}")
    layout.check_blocks(parameters, what="parameters")
    for name in layout.names:
        block = as_array(f"parameters[{name!r}]", parameters[name])
        if not np.iscomplexobj(block):
            check_finite(f"parameters[{name!r}]", block)
