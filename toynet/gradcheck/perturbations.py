"""Costs at theta + delta e_i for many entries i at once: the engine behind the network check.

`gradient_check_n` needs J(theta + delta e_i) for every entry i of theta and a few offsets delta. For toynet's
own network cost (`Network.cost_function(X, Y)`) this module computes them without running the whole network
once per perturbation: moving an entry of layer l changes one row of Z_l, and only the layers above it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from toynet.losses import LogisticCost, row_costs
from toynet.network import Network

PIECE_BYTES = 2**19  # the largest stack of one piece, at the examples reached: it stays in a core's L2 cache
LIVE_STACKS = 4  # stacks alive at once in a piece, at most (Z, A, the sign masks)
STRAIGHT_FROM = 200  # entries of W_{L-2} from which the straight path is set up (docs/checker.md)


class Perturbations:
    """Costs at theta + delta e_i for many coordinates i at once, recomputing only the layers from i's up.

    Moving W_l[r, c] by delta moves only row r of Z_l, by delta * A_{l-1}[c, :] (moving b_l[r]: by delta);
    everything below layer l is shared by every perturbation, so it comes from one forward pass at theta.
    Row r of A_l then changes by dA (m,), so Z_{l+1} changes by the rank-one W_{l+1}[:, r] dA, and the layers
    above l run for a whole stack of perturbations in one matrix product each. A stack is laid out (n, k, D m):
    k entries, each with its D offsets side by side. float64 throughout (complex128 for the complex step).
    """

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray,
                 parameters: Mapping[str, np.ndarray] | None = None, theta: np.ndarray | None = None) -> None:
        """parameters: the blocks W1, b1, ... (float64 views are not copied); theta: the same numbers flattened in
        course order, when the caller has them (then parameters may be None: the blocks are views of theta)."""
        self.network, self.layout = network, network.layout
        blocks: dict[str, np.ndarray]
        if parameters is not None:
            blocks = {b.name: np.asarray(parameters[b.name], dtype=np.float64) for b in self.layout.blocks}
        elif theta is not None:
            blocks = {b.name: theta[b.start : b.stop].reshape(b.shape) for b in self.layout.blocks}
        else:
            raise TypeError("Perturbations needs the parameters dict or theta")
        layers = range(1, network.num_layers + 1)
        self.W, self.b = [blocks[f"W{layer}"] for layer in layers], [blocks[f"b{layer}"] for layer in layers]
        self.X = np.asarray(X, dtype=np.float64)
        self.m = self.X.shape[1]
        self.Y = LogisticCost.forward(np.full((1, self.m), 0.5), Y)[1].Y.astype(np.float64)  # checked, (1, m)
        self.not_Y = 1 - self.Y
        self.detects_kinks = network.hidden == "relu"
        self.A, self.Z = [self.X], []  # the forward pass at theta: A = [X, A_1, ..., A_L], Z = [Z_1, ..., Z_L]
        for W, b, activation in zip(self.W, self.b, network.activations, strict=True):
            self.Z.append(W @ self.A[-1] + b)
            self.A.append(activation.forward(self.Z[-1])[0])
        self.cost = float(self.output_costs(self.A[-1])[0])
        if not math.isfinite(self.cost):
            raise FloatingPointError(f"the cost at the given parameters is {self.cost}: check their scale")
        # sources[l - 1]: A_{l-1} with a row of ones below it, the row an entry of layer l scales (col -1: a bias)
        self.sources = [np.concatenate((A, np.ones((1, self.m)))) for A in self.A[:-1]]
        self.layer_of, self.row_of, self.col_of = _entry_plan(self.layout)
        # the share of examples a perturbation of each layer reaches, about (see _layer_costs): sizes its pieces
        self.reach = [max(np.count_nonzero(A) / A.size, 0.1) for A in self.A[1:]]
        # the straight path (`_straight_costs`) pays for its set-up only where layer L - 2 holds many entries
        self.straight = self.detects_kinks and network.num_layers >= 3 and self.W[-3].size >= STRAIGHT_FROM
        if self.straight:
            self.slope, self.radius = _straight_line(self.W[-2], self.W[-1], self.Z[-2])

    def output_at_theta(self) -> np.ndarray:
        """A_L at theta, (1, m)."""
        return self.A[-1]

    def bytes_per_entry(self, layer: int, num_offsets: int, itemsize: int = 16) -> int:
        """The size of the largest stack one entry of `layer` adds: D offsets of the widest layer above it."""
        return itemsize * num_offsets * self.m * max(self.network.layer_sizes[layer + 1 :] or [1])

    def chunks(self, indices: np.ndarray, num_offsets: int, budget: int) -> list[np.ndarray]:
        """Split `indices` (sorted) into groups whose temporaries (LIVE_STACKS stacks) stay near `budget` bytes:
        one group when they all fit, else groups of one layer each."""
        layers = self.layer_of[indices]
        per_layer = np.array([0] + [LIVE_STACKS * self.bytes_per_entry(layer, num_offsets)
                                    for layer in range(1, self.network.num_layers + 1)])
        if per_layer[layers].sum() <= budget:
            return [indices]
        return [piece for layer in np.unique(layers).tolist()
                for piece in _pieces(indices[layers == layer], budget // int(per_layer[layer]))]

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """J(theta + offsets[j] e_i) for i in indices: (k, D), and whether a ReLU kink was crossed: (k,) bool.

        A kink is crossed when some pre-activation of a ReLU layer has a different sign at two offsets. Each
        layer's entries go up in pieces whose stacks stay under PIECE_BYTES; those of layer L - 2 of a ReLU
        network that change no sign of layer L - 1 go straight to Z_L (`_straight_costs`).
        """
        indices, offsets = np.asarray(indices, dtype=np.int64), np.asarray(offsets)
        costs = np.empty((indices.size, offsets.size), dtype=np.result_type(offsets, np.float64))
        crossed, done = np.zeros(indices.size, dtype=bool), np.zeros(indices.size, dtype=bool)
        layers, L = self.layer_of[indices], self.network.num_layers
        for layer in np.unique(layers).tolist():
            chosen = np.flatnonzero(layers == layer)
            if layer == L - 2 and self.straight:
                size = PIECE_BYTES // self.bytes_per_entry(L, offsets.size, costs.itemsize)
                for piece in _pieces(chosen, size):
                    costs[piece], crossed[piece], done[piece] = self._straight_costs(indices[piece], offsets)
                chosen = chosen[~done[chosen]]
            size = int(PIECE_BYTES / self.bytes_per_entry(layer, offsets.size, costs.itemsize) / self.reach[layer - 1])
            for piece in _pieces(chosen, size):
                costs[piece], crossed[piece] = self._layer_costs(layer, indices[piece], offsets)
        return costs, crossed

    def _moved_rows(self, layer: int, entries: np.ndarray, offsets: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows r of Z_layer that `entries` (all of `layer`) move: (k,), each moved by every offset: (k, D, m),
        and their kink flags (k,) (a hidden ReLU layer's)."""
        rows, cols = self.row_of[entries], self.col_of[entries]  # col -1: a bias, the row of ones of sources
        rows_Z = self.Z[layer - 1][rows][:, None, :] + offsets[None, :, None] * self.sources[layer - 1][cols][:, None]
        crossed = np.zeros(rows.size, dtype=bool)
        if self.detects_kinks and layer < self.network.num_layers:
            crossed = _sign_flips(rows_Z.real.reshape(1, rows.size, -1) > 0, self.m)
        return rows, rows_Z, crossed

    def _straight_costs(self, entries: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entries of layer L - 2 of a ReLU network: costs (k, D) and kink flags (k,), right for those whose change
        dA of A_{L-2}[r, j] stays within half the radius (`_straight_line`): Z_L then moves by slope[r, j] dA and no
        sign of layer L - 1 changes. Which entries those are: (k,) bool (the others go to `_layer_costs`)."""
        layer, (k, D, m) = self.network.num_layers - 2, (entries.size, offsets.size, self.m)
        rows, rows_Z, crossed = self._moved_rows(layer, entries, offsets)
        dA = self.network.activations[layer - 1].forward(rows_Z)[0] - self.A[layer][rows][:, None, :]
        done = (np.abs(dA) <= self.radius[rows][:, None, :] / 2).all(axis=(1, 2))
        Z_L = self.Z[-1] + self.slope[rows][:, None, :] * dA  # (k, D, m)
        return self._output_costs(Z_L.reshape(k * D, m), np.arange(m)).reshape(k, D), crossed, done

    def _layer_costs(self, layer: int, entries: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The costs (k, D) of moving `entries` (all of layer `layer`) by every offset, and their kink flags (k,)."""
        k, D, m = entries.size, offsets.size, self.m
        rows, rows_Z, crossed = self._moved_rows(layer, entries, offsets)
        if layer == self.network.num_layers:  # the output layer's own entries
            return self._output_costs(rows_Z.reshape(k * D, m), np.arange(m)).reshape(k, D), crossed
        dA = self.network.activations[layer - 1].forward(rows_Z)[0] - self.A[layer][rows][:, None, :]
        # Only the examples some perturbation reaches go up (a ReLU unit inactive on an example passes no change
        # there: about half of them): the others keep their costs, and signs, at theta.
        reached = np.flatnonzero(dA.any(axis=(0, 1)))
        width = reached.size
        dA = dA[:, :, reached].reshape(1, k, D * width)
        W_next = self.W[layer]
        # Z_{l+1} at theta plus each row's rank-one change: (n_{l+1}, k, D width), written into one C-ordered array
        Z = np.multiply(W_next[:, rows][:, :, None], dA, out=np.empty((W_next.shape[0], k, D * width), dtype=dA.dtype))
        Z.reshape(W_next.shape[0], k, D, width)[...] += self.Z[layer][:, None, None, reached]  # (a view: Z itself)
        for above in range(layer + 1, self.network.num_layers):
            Z = self._step_up(above, Z, crossed, width)
        return self._output_costs(Z.reshape(k * D, width), reached).reshape(k, D), crossed

    def _step_up(self, layer: int, Z: np.ndarray, crossed: np.ndarray, width: int) -> np.ndarray:
        """Hidden layer `layer`'s pre-activations Z (n_layer, k, D width) through its activation and the next
        weights: Z_{layer+1} (n_{layer+1}, k, D width). Entries whose ReLU signs differ between offsets are marked
        in crossed (k,), in place."""
        if self.detects_kinks and width:
            crossed |= _sign_flips(Z.real > 0, width)
        if self.detects_kinks and not np.iscomplexobj(Z):  # ReLU in place: one stack alive, not two
            A = np.maximum(Z, 0, out=Z)
        else:
            A = self.network.activations[layer - 1].forward(Z)[0]
        W, b = self.W[layer], self.b[layer]
        Z_next = (W @ A.reshape(A.shape[0], -1)).reshape(W.shape[0], *Z.shape[1:])
        Z_next += b[:, :, None]
        return Z_next

    def _output_costs(self, Z: np.ndarray, reached: np.ndarray) -> np.ndarray:
        """The cost of each row of output pre-activations Z (s, width) at the examples `reached`, the others' outputs
        those at theta: (s,)."""
        A = self.network.activations[-1].forward(Z)[0]
        if reached.size < self.m:  # the outputs at theta, the reached ones replaced
            A, A[:, reached] = np.repeat(self.A[-1].astype(Z.dtype), Z.shape[0], axis=0), A
        return self.output_costs(A)

    def output_costs(self, A: np.ndarray) -> np.ndarray:
        """LogisticCost.forward's cost of each row of A: (s, m) -> (s,) (losses.row_costs, Y checked once)."""
        return row_costs(A, self.Y, self.not_Y)


def _entry_plan(layout: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each entry of theta acts: its layer (1-based), the row of Z_l it moves and the row of A_{l-1} it
    scales (-1 for a bias: the row of ones of `sources`), each (n,) int."""
    blocks = layout.blocks  # type: ignore[attr-defined]
    layer_of, row_of, col_of = (np.empty(sum(block.size for block in blocks), dtype=np.int64) for _ in range(3))
    for block in blocks:
        entries, part = np.arange(block.size), slice(block.start, block.stop)
        layer_of[part] = int(block.name[1:])
        if block.name[0] == "W":
            row_of[part], col_of[part] = np.divmod(entries, block.shape[1])
        else:
            row_of[part], col_of[part] = entries, -1
    return layer_of, row_of, col_of


def _straight_line(W: np.ndarray, W_out: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A change a of A_{L-2}[r, j] moves Z_{L-1}[:, j] by W[:, r] a (W = W_{L-1}, Z = Z_{L-1} at theta, (n, m)): while
    no ReLU sign of layer L - 1 changes, Z_L[j] moves by slope[r, j] a, slope = W^T (W_out^T * [Z > 0]). radius[r, j]
    = min_u |Z[u, j]| / |W[u, r]| (units W[u, r] = 0 never move): |a| <= radius / 2 changes no sign, rounded or not.
    Both (n_{L-2}, m)."""
    slope, radius = W.T @ (W_out.T * (Z > 0)), np.empty((W.shape[1], Z.shape[1]))
    moves = np.abs(W)[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        for part in _pieces(np.arange(Z.shape[1]), PIECE_BYTES // (8 * W.size)):  # ratios (n_{L-1}, n_{L-2}, piece)
            ratios = np.abs(Z[:, None, part]) / moves
            radius[:, part] = np.where(moves == 0, np.inf, ratios).min(axis=0, initial=np.inf)
    return slope, radius


def _pieces(chosen: np.ndarray, size: int) -> list[np.ndarray]:  # consecutive pieces of `size` (at least 1)
    return [chosen[start : start + max(1, size)] for start in range(0, chosen.size, max(1, size))]


def _sign_flips(positive: np.ndarray, m: int) -> np.ndarray:
    """positive = Z > 0 for pre-activations Z laid out (n, k, D m): (k,), does some sign differ between two offsets?
    All D offsets agree exactly when each offset's m signs equal the next offset's: one comparison of the rows
    shifted by m."""
    k = positive.shape[1]
    differs = positive[:, :, m:] != positive[:, :, :-m]  # (n, k, (D - 1) m)
    return np.logical_or.reduce(differs, axis=0).reshape(k, -1).any(axis=1)
