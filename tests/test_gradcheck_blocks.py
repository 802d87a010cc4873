"""Block verdicts over any ranges: each block judged on its own entries alone.

Expected values are the definitions computed block by block with plain numpy (formula 2 over the kept entries,
the count of entries outside MARGIN x their bar, the worst error / bar, the chi-square of the excess over the
noise's standard deviation), never the code's own output.
"""

from __future__ import annotations

import numpy as np
import pytest

from toynet.gradcheck.errorbars import CHI_MARGIN, MARGIN, NOISE_SIGMAS, ErrorBars, block_verdicts


def bars_for(grad: np.ndarray, numeric: np.ndarray, noise: np.ndarray, kept: np.ndarray) -> ErrorBars:
    n = grad.size
    return ErrorBars(noise, np.full(n, 1e-9), np.full(n, 1e-10), np.abs(grad - numeric), kept,
                     np.ones(n, dtype=bool), (grad == 0) & (numeric == 0), np.zeros(n, dtype=bool))


def expected(bars: ErrorBars, grad: np.ndarray, numeric: np.ndarray, start: int, stop: int) -> dict[str, float]:
    keep = np.arange(start, stop)[bars.kept[start:stop]]
    g, d, bar = grad[keep], numeric[keep], bars.bar[keep]
    scale = np.linalg.norm(g) + np.linalg.norm(d)
    excess = np.maximum(bars.error[keep] - bars.truncation[keep] - bars.analytic[keep], 0.0)
    chi = float(np.sum((excess / (bars.noise[keep] / NOISE_SIGMAS)) ** 2))
    n = keep.size
    return {"difference": np.linalg.norm(g - d) / scale if scale else 0.0,
            "bar_difference": np.linalg.norm(bar) / scale if scale else 0.0,
            "outside": int(np.sum(bars.error[keep] > MARGIN * bar)),
            "worst": float(np.max(bars.error[keep] / bar, initial=0.0)), "chi": chi,
            "limit": CHI_MARGIN**2 * (n + 5 * np.sqrt(2 * n) + 18) if n else np.inf}


@pytest.mark.parametrize("ranges", [
    [(0, 4), (4, 9), (9, 12)],  # tiling, the usual case
    [(0, 3), (3, 3), (5, 12)],  # an empty block and a gap (entries 3, 4 belong to no block)
    [(6, 12), (0, 6)],  # out of order
    [(2, 7)],  # one block inside
])
def test_each_block_is_judged_on_its_own_entries(ranges: list[tuple[int, int]]) -> None:
    rng = np.random.default_rng(7)
    grad = rng.standard_normal(12)
    numeric = grad + rng.standard_normal(12) * 1e-6
    numeric[[1, 10]] = grad[[1, 10]] * 1.01  # two entries far outside their bars
    kept = np.ones(12, dtype=bool)
    kept[[2, 10]] = False  # one left-out entry is the bad one: it must count for nothing
    bars = bars_for(grad, numeric, np.full(12, 2e-6), kept)
    verdicts = block_verdicts(bars, grad, numeric, ranges)
    assert len(verdicts) == len(ranges)
    for (start, stop), verdict in zip(ranges, verdicts, strict=True):
        want = expected(bars, grad, numeric, start, stop)
        assert verdict.outside == want["outside"]
        assert verdict.passed == (want["outside"] == 0 and want["chi"] <= want["limit"])
        assert verdict.difference == pytest.approx(want["difference"], rel=1e-12, abs=1e-300)
        assert verdict.bar_difference == pytest.approx(want["bar_difference"], rel=1e-12, abs=1e-300)
        assert verdict.worst_ratio == pytest.approx(want["worst"], rel=1e-12)
        assert verdict.chi_square == pytest.approx(want["chi"], rel=1e-9)
        assert verdict.chi_limit == pytest.approx(want["limit"])


def test_no_blocks_gives_no_verdicts() -> None:
    grad = np.ones(3)
    assert block_verdicts(bars_for(grad, grad, np.full(3, 1e-6), np.ones(3, dtype=bool)), grad, grad, []) == []
