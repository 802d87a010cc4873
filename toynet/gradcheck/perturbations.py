"""Costs at theta + delta e_i for many entries i at once: the engine behind the batched network check.

`gradient_check_n` needs J(theta + delta e_i) for every entry i of theta and two or four offsets delta.
For toynet's own network cost (`Network.cost_function(X, Y)`) this module computes them without running
the whole network once per perturbation: a perturbation only changes the layers at and above its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cached_property, lru_cache

import numpy as np

from toynet._validate import as_array
from toynet.losses import LogisticCost, row_costs
from toynet.network import Network
from toynet.params import ParamLayout

Z_DTYPE = np.float64  # perturbed copies are computed in float64 (complex128 for the complex step)


class Perturbations:
    """Costs at theta + delta e_i for many coordinates i at once, recomputing only the layers from i's up.

    Moving W_l[r, c] by delta moves only row r of Z_l, by delta * A_{l-1}[c, :] (moving b_l[r]: by delta);
    everything below layer l is shared by every perturbation, so it comes from one forward pass at theta.
    Row r of A_l then changes by dA, so Z_{l+1} changes by the outer product W_{l+1}[:, r] dA (rank one),
    and only the layers above l are recomputed, for a whole stack of perturbations in one matrix product.
    Stacks are laid out (n_l, s, m), s perturbed copies side by side, so each layer is a single `W @ A`.
    Small networks skip the bookkeeping: all s perturbed copies of theta, and one unperturbed copy for J(theta),
    go through every layer together, one batched matmul per layer (`SMALL_STACK`), giving the very floats of the
    lesson's own forward pass (tests/test_gradcheck.py holds them to it, bit for bit).
    Everything is computed in float64 (complex128 for complex steps), whatever the dtype of the inputs.
    """

    SMALL_STACK = 2**21  # bytes: below this a whole stack runs through every layer at once
    PROBE_COPIES = 2**17  # floats: more copies of theta than this for at most PROBES entries: climb from each layer
    PROBES = 64

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray,
                 parameters: Mapping[str, np.ndarray] | None = None, theta: np.ndarray | None = None) -> None:
        """parameters: the blocks W1, b1, ... (float64 views are not copied); theta: the same numbers flattened in
        course order, when the caller has them (then parameters may be None: the blocks are views of theta)."""
        if parameters is None and theta is None:
            raise TypeError("Perturbations needs the parameters dict or theta")
        self.network, self.layout, self.parameters = network, network.layout, parameters
        if theta is not None:
            self.theta = theta
        self.X = np.asarray(X, dtype=np.float64)
        self.m = self.X.shape[1]
        self.Y, self.not_Y = _labels(Y, self.m)  # Y and 1 - Y, (1, m) each, checked once: every stack reuses them
        self.detects_kinks = network.hidden == "relu"
        self.plan = _entry_plan(self.layout)
        self.layer_of, self.row_of, self.col_of = self.plan.layer_of, self.plan.row_of, self.plan.col_of

    @cached_property
    def W(self) -> list[np.ndarray]:
        """W1 .. WL as float64 arrays. Built on first use: a small check's one stack reads theta alone."""
        return self._blocks("W")

    @cached_property
    def b(self) -> list[np.ndarray]:
        """b1 .. bL as float64 arrays (see W)."""
        return self._blocks("b")

    def _blocks(self, kind: str) -> list[np.ndarray]:
        names = [f"{kind}{layer}" for layer in range(1, self.network.num_layers + 1)]
        if self.parameters is None:  # views of theta
            return [self.theta[self.layout[name].start : self.layout[name].stop].reshape(self.layout[name].shape)
                    for name in names]
        return [np.asarray(self.parameters[name], dtype=np.float64) for name in names]

    @cached_property
    def theta(self) -> np.ndarray:
        """W1, b1, ..., WL, bL flattened in course order, (n,) float64."""
        return np.concatenate([array.reshape(-1) for pair in zip(self.W, self.b, strict=True) for array in pair])

    @cached_property
    def at_theta(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The forward pass at theta: A = [X, A_1, ..., A_L] and Z = [Z_1, ..., Z_L]. Built on first use: the
        layer-by-layer path needs it, while a small check's one stack computes the cost at theta by itself."""
        A, Z = [self.X], []
        for layer, activation in enumerate(self.network.activations):
            Z.append(self.W[layer] @ A[-1] + self.b[layer])
            A.append(activation.forward(Z[-1])[0])
        return A, Z

    @property
    def A(self) -> list[np.ndarray]:
        return self.at_theta[0]

    @property
    def Z(self) -> list[np.ndarray]:
        return self.at_theta[1]

    def output_at_theta(self) -> np.ndarray:
        """A_L at theta, (1, m): from the stack's unperturbed copy when one ran (no forward pass), else A[-1]."""
        logits = self.__dict__.get("logits_at_theta")
        if logits is None:
            return self.A[-1]
        return self.network.activations[-1].forward(logits)[0]

    @cached_property
    def cost(self) -> float:
        """J(theta), from the forward pass at theta (unless a stack computed it first, as one more copy)."""
        return _checked_cost(self.output_costs(self.A[-1])[0])

    @cached_property
    def sources(self) -> list[np.ndarray]:
        """sources[l - 1] is A_{l-1} with a row of ones below it: moving W_l[r, c] by delta adds delta * A_{l-1}[c, :]
        to row r of Z_l, moving b_l[r] adds delta * 1 (col_of's -1 picks the ones). Built on first use: only the
        layer-by-layer path reads it, and a small check (one stack) would pay for it on every call."""
        ones = np.ones((1, self.m))
        return [np.concatenate((A, ones)) for A in self.A[:-1]]

    def bytes_per_perturbation(self, layer: int, num_offsets: int) -> int:
        """Memory one perturbed coordinate of `layer` needs (complex128 upper bound, a few live temporaries)."""
        widths = self.network.layer_sizes[layer + 1 :] or [1]
        return 16 * num_offsets * self.m * (4 + 4 * max(widths))

    def chunks(self, indices: np.ndarray, num_offsets: int, budget: int) -> list[np.ndarray]:
        """Split `indices` into groups whose temporaries stay near `budget` bytes (one layer per group)."""
        m, widths = self.m, sum(self.network.layer_sizes[1:])
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
        # More distinct entries than the largest layer holds span two layers: no need to look (a full check).
        if 0 < indices.size <= self.plan.largest_layer:
            layer = int(self.layer_of[indices[0]])
            if (self.layer_of[indices] == layer).all():
                return self._layer_costs(layer, self.row_of[indices], self.col_of[indices], offsets)
        copies = indices.size * offsets.size
        # A few entries of a large network (the noise probes) climb from their own layers: a stack would copy all of
        # theta for each of their many offsets (docs/checker.md).
        probes = indices.size <= self.PROBES and copies * self.theta.size > self.PROBE_COPIES
        if not probes and 16 * copies * self.m * sum(self.network.layer_sizes) <= self.SMALL_STACK:
            return self._stack_costs(indices, offsets)
        layers = self.layer_of[indices]
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
        matmul of (k D, n_l, n_{l-1}) weight stacks, so a small network costs a few dozen numpy calls (each
        ~1-3 us on these tiny arrays: the count of calls, not the arithmetic, is the cost here)."""
        k, D = indices.size, offsets.size
        k_D = k * D
        copies = k_D + ("cost" not in self.__dict__)  # one more, unperturbed copy gives J(theta) for free
        dtype = np.complex128 if offsets.dtype.kind == "c" else Z_DTYPE
        thetas = np.empty((copies, self.theta.size), dtype=dtype)
        thetas[...] = self.theta  # copies (filling an empty array is cheaper than broadcast_to(...).astype)
        thetas[:k_D].reshape(k, D, -1)[np.arange(k), :, indices] += offsets  # copy (i, j): theta + offsets[j] e_i
        m, L, blocks = self.m, self.network.num_layers, self.layout.blocks
        # The ReLU layers write their activations side by side into one buffer, so that the signs of all their
        # pre-activations (A > 0 exactly where Z > 0) are taken, and compared across offsets, once at the end.
        hidden = np.empty((copies, sum(self.network.layer_sizes[1:L]) * m if self.detects_kinks else 0), dtype=dtype)
        width = 0
        A = self.X  # shared by every copy
        for layer, activation in enumerate(self.network.activations, start=1):
            W_block, b_block = blocks[2 * layer - 2], blocks[2 * layer - 1]
            n_out = W_block.shape[0]
            W = thetas[:, W_block.start : W_block.stop].reshape(copies, *W_block.shape)
            if layer == 1:  # every copy multiplies the same X: one 2-D product, twice as fast as a batched one
                Z = (W.reshape(-1, A.shape[0]) @ A).reshape(copies, n_out, m)
            else:
                Z = W @ A
            Z += thetas[:, b_block.start : b_block.stop, None]  # Z is a fresh product: b is added in place
            if layer == L:
                break
            if not hidden.shape[1]:
                A = activation.forward(Z)[0]
                continue
            # A view (copies, n_out, m) of this layer's columns: splitting a row's contiguous slice never copies.
            A = hidden[:, width : width + n_out * m].reshape(copies, n_out, m)
            width += n_out * m
            if dtype is Z_DTYPE:
                np.maximum(Z, 0, out=A)  # ReLU.forward's arithmetic, written straight into the buffer
            else:
                A[...] = activation.forward(Z)[0]
        if hidden.shape[1]:
            by_offset = (hidden[:k_D].real > 0).reshape(k, D, hidden.shape[1])
            differs = (by_offset[:, 1:] != by_offset[:, :1]).reshape(k, (D - 1) * hidden.shape[1])  # contiguous
            crossed = np.logical_or.reduce(differs, axis=1)  # a sign differs between two offsets
        else:
            crossed = np.zeros(k, dtype=bool)
        outputs = Z.reshape(copies, m)
        if copies > k_D:  # the unperturbed copy's output pre-activations: the output at theta, for free
            self.logits_at_theta = outputs[-1:].real.copy()  # (1, m)
        costs = self._stack_output(outputs)
        if copies > k_D:
            self.cost = _checked_cost(costs[-1])
        return costs[:k_D].reshape(k, D), crossed

    def _layer_costs(
        self, layer: int, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Perturbations of layer `layer` only: its perturbed rows, then a rank-one update of the next Z.

        The stacks above are laid out (n_l, k, D m): each perturbed entry's D offsets side by side, so that the
        rank-one update and the sign comparisons run along whole D m rows (m, the batch, is often 3: numpy's
        inner loops along it alone cost more than the arithmetic)."""
        if layer == self.network.num_layers:  # the output layer's own entries (no kink can follow)
            return self._output_rows(rows, cols, offsets), np.zeros(rows.size, dtype=bool)
        Z, crossed = self._rows_up(layer, rows, cols, offsets)
        for above in range(layer + 1, self.network.num_layers):
            Z = self._step_up(above, Z, crossed)
        return self._stack_output(Z.reshape(-1, self.m)).reshape(rows.size, offsets.size), crossed

    def _rows_Z(self, layer: int, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Rows `rows` of Z_layer with entry (row, col) (col -1: the bias) moved by every offset: (k, D, m)."""
        source = self.sources[layer - 1][cols]  # (k, m)
        return self.Z[layer - 1][rows][:, None, :] + offsets[None, :, None] * source[:, None, :]

    def _output_rows(self, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The costs (k, D) of moving output-layer entries (row, col) by every offset."""
        rows_Z = self._rows_Z(self.network.num_layers, rows, cols, offsets)
        return self._stack_output(rows_Z.reshape(-1, self.m)).reshape(rows.size, offsets.size)

    def _rows_up(self, layer: int, rows: np.ndarray, cols: np.ndarray, offsets: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Entries (row, col) of hidden layer `layer`, each moved by every offset: Z_{layer+1} (n_{layer+1}, k, D m),
        their rows' rank-one change added to Z_{layer+1} at theta, and their own kink flags (k,)."""
        k, D, m = rows.size, offsets.size, self.m
        rows_Z = self._rows_Z(layer, rows, cols, offsets)  # (k, D, m)
        crossed = _sign_flips(rows_Z.real.reshape(1, k, D * m) > 0, m) if self.detects_kinks else np.zeros(k, bool)
        rows_A = self.network.activations[layer - 1].forward(rows_Z)[0]
        dA = (rows_A - self.A[layer][rows][:, None, :]).reshape(1, k, D * m)
        W_next = self.W[layer]
        # (n_{l+1}, k, D m): column r of W_{l+1} times row r's change ... (into a C-ordered array: numpy would lay a
        # broadcast product out like its operands, and the products above would copy it)
        Z = np.multiply(W_next[:, rows][:, :, None], dA, out=np.empty((W_next.shape[0], k, D * m), dtype=dA.dtype))
        Z += self._tiled(layer, D)[:, None, :]  # ... plus Z_{l+1} at theta, once per offset (in place: big)
        return Z, crossed

    @cached_property
    def tiles(self) -> dict[tuple[int, int], np.ndarray]:
        """Z_{l+1} at theta repeated for D offsets, (n_{l+1}, D m), by (l, D): built once, every call reuses it."""
        return {}

    def _tiled(self, layer: int, D: int) -> np.ndarray:
        if (layer, D) not in self.tiles:
            self.tiles[(layer, D)] = np.tile(self.Z[layer], D)
        return self.tiles[(layer, D)]

    def _step_up(self, layer: int, Z: np.ndarray, crossed: np.ndarray) -> np.ndarray:
        """Hidden layer `layer`'s pre-activations Z (n_layer, s, D m) through its activation and the next weights:
        Z_{layer+1} (n_{layer+1}, s, D m). The copies whose ReLU signs differ between offsets are marked in crossed
        (s,), in place."""
        m = self.m
        if self.detects_kinks and not np.iscomplexobj(Z):
            positive = Z > 0
            crossed |= _sign_flips(positive, m)
            A = np.multiply(Z, positive, out=Z)  # ReLU in place: max(0, Z) = Z * 1[Z > 0]
        else:
            if self.detects_kinks:
                crossed |= _sign_flips(Z.real > 0, m)
            A = self.network.activations[layer - 1].forward(Z)[0]
        W, b = self.W[layer], self.b[layer]
        return (W @ A.reshape(A.shape[0], -1)).reshape(W.shape[0], *Z.shape[1:]) + b[:, :, None]

    def _stack_output(self, Z: np.ndarray) -> np.ndarray:
        """The cost of each row of the output pre-activations Z (s, m): the output activation, then the cost."""
        return self.output_costs(self.network.activations[-1].forward(Z)[0])

    def output_costs(self, A: np.ndarray) -> np.ndarray:
        """LogisticCost.forward's cost of each row of A: (s, m) -> (s,) (losses.row_costs), Y checked once in __init__.

        A check costs many outputs per chunk, and re-checking Y and A every time cost more than the sums
        (NaN or inf costs are still caught: the gradient checker looks at every value it gets).
        """
        return row_costs(A, self.Y, self.not_Y)

class EntryPlan:
    """Where each entry of theta acts, worked out once per layout: layer_of (1-based), row_of (the row of Z_l
    it moves) and col_of (the row of A_{l-1} it scales, -1 for a bias: the row of ones of `sources`);
    largest_layer: the most entries one layer holds (W_l and b_l)."""

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
        pairs = zip(layout.blocks[::2], layout.blocks[1::2], strict=True)
        self.largest_layer = max((W.size + b.size for W, b in pairs), default=0)


@lru_cache(maxsize=64)
def _entry_plan(layout: ParamLayout) -> EntryPlan:
    """The EntryPlan of a layout, built once per layout (a check of a small network asks on every call)."""
    return EntryPlan(layout)


def _labels(Y: np.ndarray, m: int) -> np.ndarray:
    """Y and 1 - Y, checked, in one (2, 1, m) float64 array: a quick test passes the usual labels, LogisticCost's
    own checks (and error messages) handle everything else."""
    labels = as_array("Y", Y)
    if not (labels.shape in ((m,), (1, m)) and labels.dtype.kind == "f"):
        labels = LogisticCost.forward(np.full((1, m), 0.5), Y)[1].Y
    both = np.empty((2, 1, m))
    both[0] = labels.reshape(1, m)
    np.subtract(1, both[0], out=both[1])
    if not np.minimum.reduce(both, axis=None) >= 0:  # Y in [0, 1] is Y >= 0 and 1 - Y >= 0 (NaN fails too)
        LogisticCost.forward(np.full((1, m), 0.5), Y)  # raises, naming the bad labels
    return both


def _checked_cost(cost: np.number) -> float:
    """J(theta) as a float (a complex-step stack's unperturbed copy has no imaginary part), or an error if it is
    not finite (the parameters' scale, not a perturbation)."""
    value = float(cost.real)
    if not (math.isfinite(value) and math.isfinite(float(cost.imag))):
        raise FloatingPointError(f"the cost at the given parameters is {cost}: check their scale")
    return value


def _sign_flips(positive: np.ndarray, m: int) -> np.ndarray:
    """positive = Z > 0 for pre-activations Z laid out (n, k, D m): (k,), does some sign differ between two offsets?
    All D offsets agree exactly when each offset's m signs equal the next offset's: one comparison of the rows
    shifted by m, along whole contiguous rows."""
    n, k = positive.shape[:2]
    differs = positive[:, :, m:] != positive[:, :, :-m]  # (n, k, (D - 1) m)
    # OR over the units first (axis 0: whole contiguous slabs at once), then over the rest of each row
    return np.logical_or.reduce(differs, axis=0).reshape(k, -1).any(axis=1) if n > 1 else differs.reshape(k, -1).any(
        axis=1)
