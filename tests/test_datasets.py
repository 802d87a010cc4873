"""Toy datasets: course layout, seeded, balanced, and shaped like their names."""

from __future__ import annotations

import numpy as np
import pytest

from toynet import datasets

GENERATORS = [datasets.flower, datasets.moons, datasets.circles, datasets.blobs, datasets.course_circles]


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


def test_course_circles_replay_make_circles_without_touching_the_global_generator() -> None:
    # Noise-free, the points are make_circles' two rings (radius 1 and factor), shuffled, labels 0 outside.
    np.random.seed(7)
    X, Y = datasets.course_circles(m=300, noise=0.0, factor=0.8, seed=1)
    after = np.random.randn()
    np.random.seed(7)
    assert after == np.random.randn()  # numpy's global generator was not used
    radius = np.linalg.norm(X, axis=0)
    np.testing.assert_allclose(radius[Y[0] == 0], 1.0)
    np.testing.assert_allclose(radius[Y[0] == 1], 0.8)
    angles = np.sort(np.mod(np.arctan2(X[1], X[0])[Y[0] == 0], 2 * np.pi))
    np.testing.assert_allclose(angles, np.linspace(0, 2 * np.pi, 150, endpoint=False), atol=1e-12)
    # the shuffle is RandomState(seed).shuffle of 0..m-1, and the noise the generator's next normal draws
    rng = np.random.RandomState(1)
    order = np.arange(300)
    rng.shuffle(order)
    np.testing.assert_array_equal(Y[0], (order >= 150).astype(int))
    noisy, _ = datasets.course_circles(m=300, noise=0.05, factor=0.8, seed=1)
    np.testing.assert_allclose(noisy - X, rng.normal(scale=0.05, size=(300, 2)).T, atol=1e-15)


def test_football_field_is_a_noisy_diagonal_in_the_course_ranges() -> None:
    X, Y = datasets.football_field(m=500, label_noise=0.0, seed=3)
    assert X.shape == (2, 500) and Y.shape == (1, 500)
    assert X[0].min() >= -0.6 and X[0].max() <= 0.3 and X[1].min() >= -0.66 and X[1].max() <= 0.58
    above = X[1] > 0.8 * X[0] + 0.05 + 0.08 * np.sin(8 * X[0])
    np.testing.assert_array_equal(Y[0], above.astype(int))
    _, noisy = datasets.football_field(m=500, label_noise=0.2, seed=3)
    assert 0.1 < np.mean(noisy != Y) < 0.3
    with pytest.raises(ValueError, match=r"label_noise must be in \[0, 0.5\), but got 0.5"):
        datasets.football_field(label_noise=0.5)
