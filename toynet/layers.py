"""Layers: each forward returns `(out, cache)`, each backward takes `(dout, cache)`.

Conventions (the course's): examples are columns, so an activation `A` has shape `(n, m)` for `n` units
and `m` examples; `Z = W @ A_prev + b` with `W` of shape `(n_out, n_in)` and `b` of shape `(n_out, 1)`.
Layers hold no parameters: `W` and `b` live in the network's `parameters` dict and are passed in.

Backward passes do not divide by `m`: the `1/m` of the mean cost enters once, in the cost's backward.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from toynet._validate import as_array, check_shape


class Activation(Protocol):
    """What ReLU, Sigmoid and Tanh share: forward(Z) -> (A, cache) and backward(dA, cache) -> dZ."""

    @staticmethod
    def forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    @staticmethod
    def backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray: ...


class LinearCache(NamedTuple):
    """What `Linear.backward` needs: the input `A_prev (n_in, m)`, `W (n_out, n_in)` and `b (n_out, 1)`."""

    A_prev: np.ndarray
    W: np.ndarray
    b: np.ndarray


class Linear:
    """The affine layer `Z = W @ A_prev + b`."""

    @staticmethod
    def forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
        """Z = W A_prev + b.

        A_prev: (n_in, m) activations of the previous layer (or the input X).
        W: (n_out, n_in) weights.  b: (n_out, 1) biases.
        Returns Z: (n_out, m) and the cache `LinearCache(A_prev, W, b)`.
        """
        A_prev, W, b = as_array("A_prev", A_prev), as_array("W", W), as_array("b", b)
        check_shape("W", W, (None, None))
        n_out, n_in = W.shape
        check_shape("A_prev", A_prev, (n_in, None))
        check_shape("b", b, (n_out, 1))
        Z = W @ A_prev + b
        return Z, LinearCache(A_prev, W, b)

    @staticmethod
    def backward(dZ: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """dA_prev = W^T dZ,  dW = dZ A_prev^T,  db = sum of dZ over the examples.

        dZ: (n_out, m) gradient of the cost with respect to Z.
        Returns dA_prev: (n_in, m), dW: (n_out, n_in), db: (n_out, 1).
        """
        dW, db = Linear.backward_params(dZ, cache)
        return cache[1].T @ dZ, dW, db

    @staticmethod
    def backward_params(dZ: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, np.ndarray]:
        """dW = dZ A_prev^T and db = sum of dZ over the examples, without dA_prev.

        The first layer needs no dA_prev (it would be the gradient with respect to the data X), and on a
        wide input (784 pixels) that product is the costliest matmul of the whole backward pass.
        dZ: (n_out, m).  Returns dW: (n_out, n_in), db: (n_out, 1).
        """
        if not (isinstance(cache, tuple) and len(cache) == 3):
            raise TypeError(f"cache must be the (A_prev, W, b) tuple returned by Linear.forward, but got "
                            f"{type(cache).__name__}")
        A_prev, W, _ = cache
        dZ = as_array("dZ", dZ)
        check_shape("dZ", dZ, (W.shape[0], A_prev.shape[1]))
        return dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)


class ReLU:
    """The rectifier `A = max(0, Z)`; its derivative is taken as 1 where Z > 0 and 0 elsewhere."""

    @staticmethod
    def forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A = max(0, Z), elementwise.  Z: (n, m) -> A: (n, m); the cache is Z itself."""
        Z = as_array("Z", Z)
        return np.maximum(Z, 0), Z

    @staticmethod
    def backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dZ = dA * 1[Z > 0].  dA: (n, m), cache Z: (n, m) -> dZ: (n, m)."""
        dA, Z = _with_cache(dA, cache, "Z")
        return dA * (Z > 0)


class Sigmoid:
    """The logistic function `A = 1 / (1 + exp(-Z))`, computed without overflow for any Z."""

    @staticmethod
    def forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A = sigma(Z), elementwise.  Z: (n, m) -> A: (n, m); the cache is A (sigma' = A (1 - A))."""
        A = sigmoid(as_array("Z", Z))
        return A, A

    @staticmethod
    def backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dZ = dA * A * (1 - A).  dA: (n, m), cache A: (n, m) -> dZ: (n, m)."""
        dA, A = _with_cache(dA, cache, "A")
        return dA * A * (1 - A)


class Tanh:
    """The hyperbolic tangent `A = tanh(Z)` (smooth everywhere, handy for exact gradient checks)."""

    @staticmethod
    def forward(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A = tanh(Z), elementwise.  Z: (n, m) -> A: (n, m); the cache is A (tanh' = 1 - A^2)."""
        A = np.tanh(as_array("Z", Z))
        return A, A

    @staticmethod
    def backward(dA: np.ndarray, cache: np.ndarray) -> np.ndarray:
        """dZ = dA * (1 - A^2).  dA: (n, m), cache A: (n, m) -> dZ: (n, m)."""
        dA, A = _with_cache(dA, cache, "A")
        return dA * (1 - A * A)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """sigma(Z) = 1 / (1 + exp(-Z)) without overflow: exp is only ever taken of -|Z|.

    -|Z| is written as -Z where Z >= 0 and Z elsewhere (numpy orders complex numbers by their real part first,
    so the complex step's perturbation passes through, where np.abs would drop it).
    """
    Z = np.asarray(Z)
    positive = Z >= 0
    e = np.exp(np.where(positive, -Z, Z))  # exp(-|Z|), in (0, 1]: never overflows
    denominator = 1.0 + e
    A = np.where(positive, 1.0 / denominator, e / denominator)
    return A if A.dtype == Z.dtype else A.astype(np.result_type(Z, np.float16), copy=False)


def _with_cache(dA: np.ndarray, cache: np.ndarray, cached: str) -> tuple[np.ndarray, np.ndarray]:
    """An activation backward's dA and cache (Z or A) as arrays, or an error unless they have one shape."""
    dA, cache = as_array("dA", dA), as_array("cache", cache)
    if dA.shape != cache.shape:
        raise ValueError(f"dA must have the shape of the cached {cached}, {cache.shape}, but got shape {dA.shape}")
    return dA, cache
