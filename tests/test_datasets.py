"""Toy datasets: course layout, seeded, balanced, and shaped like their names."""

from __future__ import annotations

import numpy as np
import pytest

from toynet import datasets

GENERATORS = [datasets.flower, datasets.moons, datasets.circles, datasets.blobs]


@pytest.mark.parametrize("generate", GENERATORS)
def test_layout_seed_and_balance(generate: object) -> None:
    X, Y = generate(m=100, seed=4)  # type: ignore[operator]
    assert X.shape == (2, 100) and Y.shape == (1, 100)
    assert set(np.unique(Y)) == {0, 1} and Y.sum() == 50
    X2, Y2 = generate(m=100, seed=4)  # type: ignore[operator]
    np.testing.assert_array_equal(X, X2)
    X3, _ = generate(m=100, seed=5)  # type: ignore[operator]
    assert not np.array_equal(X, X3)


def test_circles_are_nested() -> None:
    X, Y = datasets.circles(m=200, noise=0.0, factor=0.5)
    radius = np.linalg.norm(X, axis=0)
    np.testing.assert_allclose(radius[Y[0] == 0], 1.0)
    np.testing.assert_allclose(radius[Y[0] == 1], 0.5)


def test_flower_petals_lie_on_the_rose_curve() -> None:
    X, _ = datasets.flower(m=200, noise=0.0)
    t = np.arctan2(X[0], X[1])  # x = r sin t, y = r cos t
    np.testing.assert_allclose(np.abs(np.linalg.norm(X, axis=0)), np.abs(4 * np.sin(4 * t)), atol=1e-9)


@pytest.mark.parametrize("generate", GENERATORS)
def test_bad_sizes_are_refused(generate: object) -> None:
    with pytest.raises(ValueError, match="m must be an int >= 2, but got 1"):
        generate(m=1)  # type: ignore[operator]
