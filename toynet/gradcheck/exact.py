"""The course's costs J(theta + delta e_i), to the bit, for every entry i at once.

The course checks a backward pass with a loop that runs its whole forward pass twice per entry of theta:
Z = np.dot(W, A) + b, A = np.maximum(0, Z) below the output, A = 1 / (1 + np.exp(-Z)) at it, then the
logistic cost. At its epsilon of 1e-7, J(theta + eps e_i) - J(theta - eps e_i) is largely round-off, so an
engine that rounds differently (perturbations.py's rank-one updates of Z) reports another difference.
`CourseCosts` gives the very floats of the loop's forward pass with far less work, from four properties of
the matrix product numpy calls (tests/test_gradcheck_exact.py holds numpy to each of them):

1. `np.matmul` of a 2-D W and a stack S: (s, n, m) is `np.dot(W, S[i])` for every i, bit for bit, and so is
   a stack of matrices (s, p, n) times one 2-D A: numpy calls the same BLAS product once per item.
2. Row r of `np.dot(M, A)` depends on row r of M alone (for a given shape of M): one product of W_l with its
   column c moved by delta gives row r of the perturbed Z_l for every entry (r, c) of that column at once.
3. Equal inputs give equal outputs: a perturbation that leaves its ReLU row of A_l as it was (a unit that stays
   off on every example) costs exactly J(theta).
4. Column j of `np.dot(W, A)` depends on column j of A alone (for a given shape of A): the changed columns of
   several perturbations can share one copy of A_l, each in its own column.

Moving W_l[r, c] or b_l[r] changes only row r of Z_l and of A_l. The layers below l are those at theta; the
layers above are recomputed in full, for a whole stack of perturbed A_l, one matmul per layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np

from toynet.losses import row_costs
from toynet.params import ParamLayout


class CourseCosts:
    """J(theta + offsets[d] e_i) of the course's forward pass, bit for bit, for many entries i at once.

    The network: W1, b1, ..., WL, bL (any sizes), ReLU below the output, a sigmoid output (W_L: (1, n_{L-1})),
    the course's logistic cost (losses.row_costs: the course's own arithmetic, its log floored at the smallest
    float where the course's would be -inf). X: (n_x, m); Y: (m,) or (1, m) labels in [0, 1]; parameters: the
    blocks of `layout`. The caller checks them all (a public function's door): this class trusts them.
    Everything is float64, as the course computes (parameters and X of other dtypes are converted).
    """

    STACK_BYTES = 2**21  # temporaries per chunk of perturbations: small enough to stay in cache, for any m
    ROWS_BYTES = 2**24  # perturbed rows of Z_l (and their ReLU, and flags) per group of entries, for any m
    SMALL_STACK = 2**20  # bytes: below this every perturbed copy runs through the whole network at once (measured:
    # the copies path is 2-6x faster up to here, the layers path from about here on, whatever m)

    def __init__(self, X: np.ndarray, Y: np.ndarray, parameters: Mapping[str, np.ndarray], layout: ParamLayout) -> None:
        """parameters: checked by the caller against `layout` (read here into one float64 theta: (n,))."""
        self.layout = layout
        self.theta = np.asarray(layout.read(parameters)[1], dtype=np.float64)
        self.num_layers = layout.num_layers
        blocks = layout.blocks
        self.widths = [block.shape[0] for block in blocks[::2]]  # n_1 .. n_L
        self.W: list[np.ndarray] = [self.theta[block.start : block.stop].reshape(block.shape) for block in blocks[::2]]
        self.b: list[np.ndarray] = [self.theta[block.start : block.stop].reshape(block.shape) for block in blocks[1::2]]
        self.X = np.asarray(X, dtype=np.float64)
        self.m = self.X.shape[1]
        self.Y = np.asarray(Y, dtype=np.float64).reshape(1, self.m)
        self.not_Y = 1 - self.Y

    @cached_property
    def at_theta(self) -> tuple[list[np.ndarray], list[np.ndarray], float]:
        """The forward pass at theta as the course writes it: A = [X, A_1, ..., A_L], WA[l - 1] = np.dot(W_l, A_{l-1})
        and J(theta). Built on first use: a small network's check (every copy at once) never needs it."""
        A, WA = [self.X], []
        for layer in range(self.num_layers):
            WA.append(np.dot(self.W[layer], A[-1]))
            Z = WA[-1] + self.b[layer]
            A.append(np.maximum(0, Z) if layer < self.num_layers - 1 else course_sigmoid(Z))
        return A, WA, float(self.output_costs(A[-1])[0])

    def costs(self, indices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """J(theta + offsets[d] e_i) for i in indices: (k, D) float64, as the course's forward gives them.

        indices: (k,) entries of theta; offsets: (D,) steps (the course's +epsilon and -epsilon: theta[i] + offset
        rounds as the loop's theta[i] + epsilon and theta[i] - epsilon do).
        """
        indices = np.asarray(indices, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.float64)
        if 8 * indices.size * offsets.size * (self.theta.size + self.m * sum(self.widths)) <= self.SMALL_STACK:
            return self._copies_costs(indices, offsets)
        costs = np.empty((indices.size, offsets.size))
        blocks = self.layout.blocks
        for layer in range(1, self.num_layers + 1):
            start, stop = blocks[2 * layer - 2].start, blocks[2 * layer - 1].stop
            chosen = np.flatnonzero((indices >= start) & (indices < stop))
            size = max(1, self.ROWS_BYTES // (32 * offsets.size * self.m))  # entries whose rows of Z_l fit
            if chosen.size > size:  # a large m: a few columns of W_l (and their products) per group of entries
                W = blocks[2 * layer - 2]
                local = indices[chosen] - start
                column = np.where(local < W.size, local % W.shape[1], W.shape[1])  # a bias: after every column
                chosen = chosen[np.argsort(column, kind="stable")]
            for first in range(0, chosen.size, size):
                part = chosen[first : first + size]
                rows, rows_Z = self._perturbed_rows(layer, indices[part] - start, offsets)
                costs[part] = self._costs_above(layer, rows, rows_Z)
        return costs

    def _copies_costs(self, indices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Every perturbed copy of theta through every layer together: a small network's few dozen numpy calls.

        Each layer is one matmul of the copies' stacked W_l, (s, n_l, n_{l-1}), with X or their stacked A_{l-1}:
        one BLAS product per copy, each np.dot(W_l, A_{l-1}) of the loop to the bit (fact 1).
        """
        k, D, n = indices.size, offsets.size, self.theta.size
        thetas = np.empty((k * D, n))
        thetas[...] = self.theta
        thetas.reshape(k, D, n)[np.arange(k), :, indices] += offsets  # copy (i, d): theta[i] + offsets[d]
        A, blocks = self.X, self.layout.blocks
        for layer in range(self.num_layers):
            W, b = blocks[2 * layer], blocks[2 * layer + 1]
            Z = thetas[:, W.start : W.stop].reshape(k * D, *W.shape) @ A
            Z += thetas[:, b.start : b.stop, None]
            if layer < self.num_layers - 1:
                A = np.maximum(0, Z, out=Z)
        return self.output_costs(course_sigmoid(Z.reshape(k * D, self.m))).reshape(k, D)

    def _perturbed_rows(self, layer: int, local: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row r of the perturbed Z_l for each entry (local to layer l: W_l row-major, then b_l) and offset.

        Returns rows: (k,) and rows_Z: (k, D, m). A weight W_l[r, c] + delta: row r of np.dot(M, A_{l-1}) + b_l,
        M = W_l with column c moved by delta (one product per column and offset, fact 2); a bias b_l[r] + delta:
        row r of np.dot(W_l, A_{l-1}) + (b_l[r] + delta).
        """
        W, b, A_prev = self.W[layer - 1], self.b[layer - 1], self.at_theta[0][layer - 1]
        n_out, n_in = W.shape
        k, D, m = local.size, offsets.size, self.m
        is_weight = local < W.size
        rows = np.where(is_weight, local // n_in, local - W.size)
        rows_Z = np.empty((k, D, m))
        weights = np.flatnonzero(is_weight)
        if weights.size:
            columns, column_of = np.unique(local[weights] % n_in, return_inverse=True)
            size = max(1, self.STACK_BYTES // (8 * D * n_out * (n_in + m)))  # columns per product
            moved = np.empty((min(size, columns.size), D, n_out, n_in))
            moved[...] = W  # filled once: each chunk moves its own columns, then puts them back
            for first in range(0, columns.size, size):
                chunk = columns[first : first + size]
                copies = np.arange(chunk.size)[:, None]
                # moved[j, d, :, chunk[j]] = W[:, chunk[j]] + offsets[d]: the loop's theta[i] + epsilon, rounded alike
                moved[copies, np.arange(D), :, chunk[:, None]] = W[:, chunk].T[:, None, :] + offsets[None, :, None]
                products = moved[: chunk.size] @ A_prev  # (c, D, n_out, m): np.dot(moved[j, d], A_prev) each (fact 1)
                moved[copies, :, :, chunk[:, None]] = W[:, chunk].T[:, None, None, :]
                here = np.flatnonzero((column_of >= first) & (column_of < first + chunk.size))
                entries = weights[here]
                rows_Z[entries] = products[column_of[here] - first, :, rows[entries], :]  # (e, D, m)
            rows_Z[weights] += b[rows[weights]][:, :, None]
        biases = np.flatnonzero(~is_weight)
        if biases.size:
            moved_b = b[rows[biases], 0][:, None] + offsets[None, :]  # (e, D): b_l[r] + delta
            rows_Z[biases] = self.at_theta[1][layer - 1][rows[biases]][:, None, :] + moved_b[:, :, None]
        return rows, rows_Z

    def _costs_above(self, layer: int, rows: np.ndarray, rows_Z: np.ndarray) -> np.ndarray:
        """The costs of the perturbations of layer l, given their rows of Z_l: (k, D, m) -> (k, D).

        Only a changed entry of A_l changes anything above it: a perturbation whose row of A_l is unchanged costs
        J(theta) exactly (fact 3), and column j above it is column j at theta unless A_l[r, j] changed (fact 4).
        So the changed columns of many perturbations share one stacked copy of A_l: copy p holds, in its column
        j, the p-th perturbation whose column j changed (about half the copies one per perturbation would take).
        """
        k, D, m = rows_Z.shape
        if layer == self.num_layers:  # the output layer has one row: Z_L is rows_Z itself
            return self.output_costs(course_sigmoid(rows_Z.reshape(k * D, m))).reshape(k, D)
        rows_A = np.maximum(0, rows_Z).reshape(k * D, m)
        costs = np.full(k * D, self.at_theta[2])
        A, A_out = self.at_theta[0][layer], self.at_theta[0][-1]
        differs = rows_A != np.repeat(A[rows], D, axis=0)  # (k D, m)
        changed = np.flatnonzero(differs.any(axis=1))
        changed_rows = np.repeat(rows, D)[changed]
        widths = [W.shape[0] for W in self.W[layer:]]
        size = max(1, self.STACK_BYTES // (8 * m * (A.shape[0] + max(widths))))
        for first in range(0, changed.size, size):
            part = changed[first : first + size]
            columns = differs[part]  # (s, m): which columns of each perturbation changed
            copy_of = np.cumsum(columns, axis=0) - 1  # perturbation i's column j goes to copy copy_of[i, j]
            which, column = np.nonzero(columns)
            copies = copy_of[which, column]
            stack = np.empty((int(copy_of[-1].max()) + 1, *A.shape))
            stack[...] = A
            stack[copies, changed_rows[first : first + size][which], column] = rows_A[part[which], column]
            for above in range(layer, self.num_layers):
                Z = self.W[above] @ stack  # np.dot(W_{l+1}, stack[p]) for every p (fact 1)
                Z += self.b[above]
                stack = np.maximum(0, Z, out=Z) if above < self.num_layers - 1 else Z
            outputs = np.empty((part.size, m))
            outputs[...] = A_out
            outputs[which, column] = course_sigmoid(stack[copies, 0, column])
            costs[part] = self.output_costs(outputs)
        return costs.reshape(k, D)

    def output_costs(self, A: np.ndarray) -> np.ndarray:
        """The course's cost of each row of A: (s, m) -> (s,), 1 / m * np.sum(logprobs) row by row."""
        return row_costs(A, self.Y, self.not_Y)


def course_gradapprox(costs: CourseCosts, epsilon: float) -> np.ndarray:
    """The course loop's gradapprox, (J(theta + eps e_i) - J(theta - eps e_i)) / (2. * eps) for every i: (n, 1)."""
    J = costs.costs(np.arange(costs.theta.size), np.array([epsilon, -epsilon]))  # J_plus, J_minus: (n, 2)
    return (J[:, :1] - J[:, 1:]) / (2.0 * epsilon)


def course_sigmoid(Z: np.ndarray) -> np.ndarray:
    """The course's sigmoid, 1 / (1 + np.exp(-Z)), to the bit (exp(-Z) may overflow to inf, giving 0).

    layers.sigmoid computes e / (1 + e), e = exp(Z), where Z < 0 (no overflow): the same number, rounded
    differently, and at epsilon 1e-7 every rounding shows in the course's difference.
    """
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-Z))
