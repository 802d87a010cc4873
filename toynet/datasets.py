"""Small 2-D toy datasets, generated in code (no downloads), seeded, in the course's layout.

Every generator returns `X` of shape `(2, m)` (examples are columns) and `Y` of shape `(1, m)` with
0/1 labels, so `Network([2, ..., 1]).train(X, Y)` works on them directly.
"""

from __future__ import annotations

import numpy as np


def flower(m: int = 400, petals: int = 4, noise: float = 0.2, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The course's "planar" flower: a rose curve r = 4 sin(petals * t), alternate petals in each class.

    m: number of examples (split evenly between the two classes). Returns X: (2, m), Y: (1, m).
    """
    _check_count("m", m, minimum=2)
    rng = np.random.default_rng(seed)
    per_class = m // 2
    X = np.zeros((2, 2 * per_class))
    Y = np.zeros((1, 2 * per_class), dtype=int)
    for label in (0, 1):
        t = np.linspace(label * np.pi, (label + 1) * np.pi, per_class) + rng.standard_normal(per_class) * noise
        r = 4.0 * np.sin(petals * t) + rng.standard_normal(per_class) * noise
        columns = slice(label * per_class, (label + 1) * per_class)
        X[:, columns] = np.vstack([r * np.sin(t), r * np.cos(t)])
        Y[0, columns] = label
    return X, Y


def moons(m: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as scikit-learn's make_moons). Returns X: (2, m), Y: (1, m)."""
    _check_count("m", m, minimum=2)
    rng = np.random.default_rng(seed)
    outer, inner = m // 2, m - m // 2
    t_outer = np.linspace(0, np.pi, outer)
    t_inner = np.linspace(0, np.pi, inner)
    X = np.hstack(
        [np.vstack([np.cos(t_outer), np.sin(t_outer)]), np.vstack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)])]
    )
    X += rng.standard_normal(X.shape) * noise
    Y = np.hstack([np.zeros(outer, dtype=int), np.ones(inner, dtype=int)]).reshape(1, m)
    return X, Y


def circles(
    m: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (label 1) inside a large one (label 0); `factor` is the ratio of their radii."""
    _check_count("m", m, minimum=2)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), but got {factor}")
    rng = np.random.default_rng(seed)
    outer, inner = m // 2, m - m // 2
    t_outer = np.linspace(0, 2 * np.pi, outer, endpoint=False)
    t_inner = np.linspace(0, 2 * np.pi, inner, endpoint=False)
    X = np.hstack(
        [np.vstack([np.cos(t_outer), np.sin(t_outer)]), factor * np.vstack([np.cos(t_inner), np.sin(t_inner)])]
    )
    X += rng.standard_normal(X.shape) * noise
    Y = np.hstack([np.zeros(outer, dtype=int), np.ones(inner, dtype=int)]).reshape(1, m)
    return X, Y


def blobs(m: int = 200, spread: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds centred at (-1.5, -1.5) and (1.5, 1.5): linearly separable when spread is small."""
    _check_count("m", m, minimum=2)
    rng = np.random.default_rng(seed)
    Y = (np.arange(m) >= m // 2).astype(int).reshape(1, m)
    X = rng.standard_normal((2, m)) * spread + np.where(Y == 1, 1.5, -1.5)
    return X, Y


def _check_count(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, but got {value!r}")
