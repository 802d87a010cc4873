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


def course_circles(
    m: int = 300, noise: float = 0.05, factor: float = 0.8, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The course's Initialization data: scikit-learn's make_circles(m, noise) after np.random.seed(seed).

    The course draws its training set with seed 1 (m = 300) and its test set with seed 2 (m = 100).
    This replays make_circles' steps (outer circle label 0, inner circle of radius `factor` label 1,
    a shuffle, then N(0, noise^2) on both coordinates) on a private RandomState(seed), so it gives the
    same points without scikit-learn and without touching numpy's global generator.
    Returns X: (2, m), Y: (1, m).
    """
    _check_count("m", m, minimum=2)
    if not 0 <= factor < 1:
        raise ValueError(f"factor must be in [0, 1), but got {factor}")
    rng = np.random.RandomState(seed)
    outer, inner = m // 2, m - m // 2
    t_outer = np.linspace(0, 2 * np.pi, outer, endpoint=False)
    t_inner = np.linspace(0, 2 * np.pi, inner, endpoint=False)
    points = np.vstack(
        [np.append(np.cos(t_outer), np.cos(t_inner) * factor), np.append(np.sin(t_outer), np.sin(t_inner) * factor)]
    ).T
    labels = np.hstack([np.zeros(outer, dtype=int), np.ones(inner, dtype=int)])
    order = np.arange(m)
    rng.shuffle(order)
    points, labels = points[order], labels[order]
    points += rng.normal(scale=noise, size=points.shape)
    return points.T, labels.reshape(1, m)


def football_field(m: int = 211, label_noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in for the course's Regularization data (its `datasets/data.mat`, which toynet does not ship).

    Positions on a field, x1 in [-0.6, 0.3], x2 in [-0.66, 0.58] (the course's ranges): label 1 (the
    goalkeeper's team headed the ball) above a gently curved diagonal, 0 below, then each label flipped
    with probability `label_noise`. The flipped points are what an unregularised network over-fits.
    Different points than the course's file, so the course's trained accuracies do not carry over.
    Returns X: (2, m), Y: (1, m).
    """
    _check_count("m", m, minimum=2)
    if not 0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be in [0, 0.5), but got {label_noise}")
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.uniform(-0.6, 0.3, m), rng.uniform(-0.66, 0.58, m)])
    boundary = 0.8 * X[0] + 0.05 + 0.08 * np.sin(8 * X[0])
    Y = (X[1] > boundary).astype(int)
    flipped = rng.uniform(size=m) < label_noise
    Y[flipped] = 1 - Y[flipped]
    return X, Y.reshape(1, m)
