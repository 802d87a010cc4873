"""The numerical side's measured error: ECnoise, the probes, the f''' estimate, the chosen step, the bars.

Expected values come from the functions' own definitions (injected noise of a known sigma, f''' of
known functions, the minimiser of noise / h + h^2 |f'''| / 6 found by brute force), never from the code.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toynet.gradcheck.errorbars import MARGIN, NOISE_SIGMAS, analytic_bars, error_bars, noise_bar
from toynet.gradcheck.noise import TABLE, chosen_step, ecnoise, ecnoise_rows, measure_noise, probe_entries

SMOOTH = {"sin": np.sin, "exp": np.exp, "cubic": lambda t: t**3 - 2 * t + 1, "log1p": lambda t: np.log1p(t * t)}


def noisy(f, sigma: float, seed: int = 0):  # type: ignore[no-untyped-def]
    """f plus deterministic noise of standard deviation sigma: a fixed pseudo-random value per point."""
    def g(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        keys = np.frombuffer(t.tobytes(), dtype=np.uint64) ^ np.uint64(seed)
        u = np.array([np.random.default_rng(int(k)).standard_normal() for k in keys])
        return f(t) + sigma * u.reshape(t.shape)

    return g


def coordinate_costs(f, x0: np.ndarray):  # type: ignore[no-untyped-def]
    """costs(indices, offsets) for f(x) = sum of a scalar function of each coordinate, evaluated per point."""
    def costs(indices: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, None]:
        rows = []
        for i in indices:
            rows.append([float(np.sum(f(np.where(np.arange(x0.size) == i, x0 + o, x0)))) for o in offsets])
        return np.array(rows), None

    return costs


@settings(max_examples=12)
@given(st.sampled_from(sorted(SMOOTH)), st.floats(-12, -5), st.floats(-1, 1), st.integers(0, 2**31))
def test_ecnoise_recovers_an_injected_noise_level(name: str, log_sigma: float, x0: float, seed: int) -> None:
    """Moré and Wild: one 7-point table estimates sigma from a few differences, so each estimate scatters
    (chi-square with few degrees of freedom); over 100 tables the middle 90% lie within a factor ~4
    (0.27 .. 1.7 measured)."""
    sigma = 10.0**log_sigma
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(100):
        values = 2 + SMOOTH[name](x0 + 1e-2 * np.sqrt(sigma) * TABLE) + sigma * rng.standard_normal(TABLE.size)
        found = ecnoise(values)
        ratios.append(found.noise / sigma if found.status == "ok" else np.nan)
    ratios_array = np.array(ratios)
    assert np.mean(np.isnan(ratios_array)) <= 0.05  # the table sees the noise almost every time
    low, median, high = np.nanquantile(ratios_array, [0.05, 0.5, 0.95])
    assert 0.2 <= low and 0.6 <= median <= 1.4 and high <= 2.5


def test_ecnoise_says_when_the_spacing_is_wrong() -> None:
    assert ecnoise(np.full(7, 0.5)).status == "too small"  # f did not move at all
    assert ecnoise(np.exp(10 * (1 + 0.1 * TABLE))).status == "too large"  # f changes by far more than 10%
    smooth = np.sin(0.3 + 1e-2 * TABLE)  # no noise visible: the high differences keep shrinking
    assert ecnoise(smooth).status == "too large"


def textbook_ecnoise(fval: list[float]) -> tuple[float, str]:
    """Moré and Wild's ECnoise.m, loop for loop (without its 10%-of-|f| "too large" test, as toynet)."""
    nf, gamma, level, dsgn = len(fval), 1.0, [], []
    fval = list(fval)
    for j in range(1, nf):
        fval = [fval[i + 1] - fval[i] for i in range(nf - j)]
        if j == 1 and sum(value == 0 for value in fval) >= nf / 2:
            return 0.0, "too small"
        gamma = 0.5 * (j / (2 * j - 1)) * gamma
        level.append(float(np.sqrt(gamma * np.mean(np.square(fval)))))
        dsgn.append(min(fval) * max(fval) < 0)
    for k in range(nf - 3):
        if max(level[k : k + 3]) <= 4 * min(level[k : k + 3]) and dsgn[k]:
            return level[k], "ok"
    return 0.0, "too large"


def test_ecnoise_over_many_rows_at_once_is_ecnoise_of_each_row() -> None:
    """The batched tables (one call for a measurement's probes) against the textbook loop, row by row, on a batch
    mixing rows that find a level, rows too small (f does not move) and rows too large (no plateau)."""
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(60):
        kind = rng.integers(3)
        x0, sigma = rng.uniform(-1, 1), 10.0 ** rng.uniform(-14, -6)
        if kind == 0:  # noise over a smooth f: a level
            rows.append(np.sin(x0 + 1e-3 * TABLE) + sigma * rng.standard_normal(7))
        elif kind == 1:  # f moves in a few of its points only: too small
            rows.append(np.full(7, x0) + np.where(rng.random(7) < 0.3, sigma, 0.0))
        else:  # smooth f at a wide spacing: no plateau
            rows.append(np.exp(x0 + 0.3 * TABLE))
    noise, status = ecnoise_rows(np.array(rows))
    expected = [textbook_ecnoise(row.tolist()) for row in rows]
    assert status.tolist() == [found for _, found in expected]
    assert {"ok", "too small", "too large"} <= set(status.tolist())
    assert noise == pytest.approx([level for level, _ in expected], rel=1e-12, abs=0)


@pytest.mark.parametrize("sigma", [1e-13, 1e-10, 1e-7])
def test_measure_noise_finds_the_noise_of_a_deterministic_function(sigma: float) -> None:
    x0 = np.array([0.3, -0.7, 1.1])
    f = noisy(np.sin, sigma)
    estimate = measure_noise(coordinate_costs(f, x0), x0, np.arange(3), float(np.sum(f(x0))))
    assert sigma / 4 <= estimate.noise <= 4 * sigma * np.sqrt(3)  # three coordinates' noise summed
    assert not estimate.random
    assert estimate.evaluations < 3 * 8 * 6 + 3 * 4 * 4  # a few tables and stencils per probe, not a sweep


def test_measure_noise_names_a_random_function() -> None:
    rng = np.random.default_rng(0)
    x0 = np.array([0.3, -0.7])

    def f(t: np.ndarray) -> np.ndarray:
        return np.sin(t) + 1e-3 * rng.standard_normal(t.shape)  # fresh noise on every call

    estimate = measure_noise(coordinate_costs(f, x0), x0, np.arange(2), float(np.sum(np.sin(x0))))
    assert estimate.random
    assert estimate.noise >= 1e-4


def test_the_noise_floor_is_the_costs_last_bit() -> None:
    x0 = np.array([0.5])
    estimate = measure_noise(coordinate_costs(lambda t: 1e6 + 0 * t, x0), x0, np.arange(1), 1e6)
    assert estimate.noise >= 0.5 * np.finfo(float).eps * 1e6  # constant f: nothing measured, the floor remains


@pytest.mark.parametrize(("f", "third", "x0"), [(lambda t: t**3, 6.0, 0.4), (np.sin, abs(np.cos(0.7)), 0.7),
                                                 (np.exp, np.exp(1.5), 1.5)])
def test_third_derivative_estimate(f, third: float, x0: float) -> None:  # type: ignore[no-untyped-def]
    point = np.array([x0])
    estimate = measure_noise(coordinate_costs(f, point), point, np.arange(1), float(f(x0)))
    assert third * 0.8 <= estimate.third <= third * 1.5


@pytest.mark.parametrize("sigma", [1e-16, 1e-12, 1e-8])
@pytest.mark.parametrize("third", [1e-2, 1.0, 30.0])
def test_chosen_step_minimises_the_error_bound(sigma: float, third: float) -> None:
    """h* against a brute-force minimum of sigma / h + h^2 |f'''| / 6 over a fine grid."""
    grid = np.logspace(-8, -2, 20001)
    best = grid[np.argmin(sigma / grid + grid**2 * third / 6)]
    assert chosen_step(sigma, third) == pytest.approx(best, rel=1e-3)


def test_chosen_step_is_clamped() -> None:
    assert chosen_step(1e-16, 0.0) == chosen_step(1e-6, 0.0) == 1e-2  # a quadratic: the largest allowed step
    assert chosen_step(1e-6, 1e-12, scale=10.0) == pytest.approx(1e-1)  # scaled with |theta|


def test_probes_take_each_blocks_largest_entry_and_a_moving_one() -> None:
    gradient = np.array([0.0, 3.0, 0.0, 0.0, 0.0, 1e-3, -5.0])
    probes = probe_entries(gradient, [0, 3], [3, 7])
    assert {1, 6} <= set(probes.tolist())
    assert set(probes.tolist()) <= {1, 5, 6}  # never a zero-gradient entry when a block has a moving one


def test_noise_bar_is_five_standard_deviations_of_a_central_difference() -> None:
    """(e+ - e-) / 2h with e+- independent of std sigma has std sigma / (sqrt(2) h)."""
    rng = np.random.default_rng(1)
    sigma, h = 1e-9, 1e-4
    samples = (sigma * rng.standard_normal(200_000) - sigma * rng.standard_normal(200_000)) / (2 * h)
    assert float(noise_bar(sigma, h, "central")) / NOISE_SIGMAS == pytest.approx(np.std(samples), rel=0.01)
    assert noise_bar(sigma, h, "complex") == 0.0


def test_truncation_is_estimated_where_noise_does_not_cover_the_error() -> None:
    """exp at a coarse step: central differences are off by ~h^2/6 f''' ; the bars must cover that."""
    x0 = np.array([0.2, 1.0, 2.0])
    h = 0.05
    exact = np.exp(x0)

    def central(indices: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
        step = h * factor
        values = (np.exp(x0[indices] + step) - np.exp(x0[indices] - step)) / (2 * step)
        return values, np.zeros(indices.size, dtype=bool)

    numeric, _ = central(np.arange(3), 1.0)
    bars = error_bars(exact, numeric, np.ones(3, dtype=bool), h, "central", 1e-16, 2.2e-16, central)
    actual = np.abs(numeric - exact)
    assert bars.refined.all()
    assert (bars.truncation >= actual).all()  # the estimate bounds the true truncation error
    assert (bars.truncation <= 4 * actual).all()  # and is not wildly loose
    assert not bars.outside.any()
    wrong = exact * 1.01  # a 1% error stays far outside the bars
    assert error_bars(wrong, numeric, np.ones(3, dtype=bool), h, "central", 1e-16, 2.2e-16, central).outside.all()


def test_analytic_bars_scale_with_the_gradients_precision() -> None:
    g = np.array([1.0, -2.0, 0.0])
    rms = np.sqrt(5 / 3)
    assert analytic_bars(g, 1e-7) == pytest.approx(100 * 1e-7 * (np.abs(g) + rms))
    assert MARGIN >= 2
