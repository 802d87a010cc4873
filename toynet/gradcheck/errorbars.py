"""Every numerical entry's error bar, and verdicts that compare the backward against it.

A numerical derivative D(h) of f at theta along e_i misses the true derivative by three things:

    noise        the cost's noise (measured by `noise.measure_noise`, standard deviation sigma) divided by
                 the step: central (f(+h) - f(-h)) / 2h carries (e+ - e-) / 2h, of standard deviation
                 sqrt(2) sigma / 2h = sigma / (sqrt(2) h). The bar is NOISE_SIGMAS = 5 of those: for Gaussian
                 noise a 5-sigma excursion has probability 6e-7 per entry, so a check of 10,000 entries
                 blames none in 99.4% of runs even before the verdict's margin (below). Round-off is not
                 Gaussian, but it is bounded and roughly uniform, whose 5-sigma is past its support.
    truncation   D(h) - f' = a h^p + ... (p = 2 for central differences and the complex step, 4 for
                 Richardson). Two levels give a: D(2h) - D(h) = (2^p - 1) a h^p, so the truncation at h is
                 |D(2h) - D(h)| / (2^p - 1). That estimate carries the next term 2^p + 1 times too big
                 (conservative when both terms share a sign) and its own noise; TRUNCATION_SAFETY = 2 covers
                 a next term of opposite sign up to half the size. It is computed only for the entries
                 that the noise bar alone does not cover (`refine`): a correct check pays a handful of
                 extra evaluations, not a second pass.
    analytic     the backward's own round-off, ANALYTIC_ROUNDOFF eps_g (|g_i| + rms(g)) in the gradients'
                 precision eps_g (its measurement: docs/checker.md), while a 1% error is 1e-2 |g_i|.

An entry fails only where |analytic - numeric| > MARGIN (= 2) x its bar: the sigma in the noise bar is
itself an estimate from a few differences (Moré and Wild report it right to within a factor of ~2),
so the margin keeps an underestimate from turning round-off into a blamed block.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from toynet.gradcheck.measures import norm

NOISE_SIGMAS = 5.0
TRUNCATION_SAFETY = 2.0
ANALYTIC_ROUNDOFF = 100.0
MARGIN = 2.0
CHI_MARGIN = 1.5  # the same for a whole block's chi-square (see chi_square)
# the noise of one numerical entry in units of sigma / h: central sqrt(2) / 2; Richardson (4 D(h/2) - D(h)) / 3
# with D(h/2) = (f(h/2) - f(-h/2)) / h: sqrt((4/3)^2 2 + (1/3)^2 / 2) = sqrt(65 / 18); the complex step
# subtracts nothing: its round-off is relative to the entry, ANALYTIC_ROUNDOFF eps (|D_i| + rms(D)) (error_bars).
NOISE_UNITS = {"central": np.sqrt(0.5), "richardson": np.sqrt(65 / 18), "complex": 0.0}
ORDER = {"central": 2, "richardson": 4, "complex": 2}

# refine(indices, factor) -> (the method's derivative at factor times each entry's step, crossed-kink flags)
Refine = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]


@dataclass  # not frozen (its arrays are written in place anyway): a frozen __init__ costs microseconds
class ErrorBars:
    """Per entry (n,): the error bar and its parts, and the verdict against it.

    noise: the noise part, (n,) (sigma is measured for f; entries re-measured at a smaller step past a ReLU
    kink have a larger one); truncation, analytic: (n,);
    bar: noise + truncation + analytic; error: |analytic - numeric|; kept: entries judged (False where a
    ReLU kink was crossed); outside: kept entries with error > MARGIN * bar; both_zero: entries where
    both gradients are exactly 0 (no bug can show there); refined: entries whose truncation was estimated;
    rough: entries left out because f was not smooth across their step (see `error_bars`).
    """

    noise: np.ndarray
    truncation: np.ndarray
    analytic: np.ndarray
    error: np.ndarray
    kept: np.ndarray
    refined: np.ndarray
    both_zero: np.ndarray
    rough: np.ndarray

    @property
    def bar(self) -> np.ndarray:
        return self.noise + self.truncation + self.analytic

    @property
    def outside(self) -> np.ndarray:
        return self.kept & (self.error > MARGIN * self.bar)

    @property
    def ratio(self) -> np.ndarray:
        """error / bar per entry (inf where the bar is 0 and the error is not)."""
        return _ratios(self.error, self.bar)


def noise_bar(noise: float, step: float | np.ndarray, method: str) -> Any:
    """NOISE_SIGMAS standard deviations of one numerical entry's noise: sigma / h times the method's units
    (a float for one step, an array for an array of steps)."""
    return NOISE_SIGMAS * NOISE_UNITS[method] * noise / step


def analytic_bars(grad: np.ndarray, eps: float, rms: float | None = None) -> np.ndarray:
    """The backward's round-off per entry, ANALYTIC_ROUNDOFF eps (|g_i| + rms(g)): (n,) -> (n,).
    rms: that of the whole gradient when grad is a part of it."""
    if rms is None:
        rms = float(np.sqrt(np.mean(grad * grad))) if grad.size else 0.0
    return ANALYTIC_ROUNDOFF * eps * (np.abs(grad) + rms)


def error_bars(grad: np.ndarray, numeric: np.ndarray, kept: np.ndarray, step: float | np.ndarray, method: str,
               noise: float, eps: float, refine: Refine | None = None, rms: float | None = None,
               force: bool = False) -> ErrorBars:
    """The bars of every entry, with the truncation estimated (via `refine`) where noise alone is exceeded.

    grad, numeric: (n,) float64; kept: (n,) bool; step (one, or (n,) per entry), method: how numeric was
    computed; noise: sigma of the cost; eps: the gradients' machine epsilon. refine(indices, factor) gives
    the method's derivative at factor times each entry's step, and crossed-kink flags. rms: the whole
    gradient's, when grad is part of it (see `analytic_bars`). force: treat every kept entry as a suspect
    (a block whose errors add up beyond its noise, see `block_verdicts`, has all its entries refined).

    Each suspect (error beyond noise + analytic) is measured at 2h and h/2 as well. On a smooth f the three
    levels follow D(2h) - D(h) ~ 2^p (D(h) - D(h/2)); where they do not (beyond the noise of the
    differences), f is not smooth across the step (a kink the cost cannot report, or a step far too large):
    such entries are `rough`, left out of the verdict like entries that crossed a reported kink.
    """
    error = np.abs(grad - numeric)
    analytic = analytic_bars(grad, eps, rms)
    if method == "complex":  # nothing subtracted: its round-off is relative to the derivative, like a backward's
        noise_part = analytic_bars(numeric, float(np.finfo(np.float64).eps))
    else:
        noise_part = np.asarray(noise_bar(noise, np.asarray(step, dtype=np.float64), method), dtype=np.float64)
        if noise_part.shape != grad.shape:  # one step for every entry
            noise_part = np.full(grad.shape, noise_part)
    truncation = np.zeros(grad.size)
    refined = np.zeros(grad.size, dtype=bool)
    rough = np.zeros(grad.size, dtype=bool)
    kept = kept.copy()
    suspects = np.flatnonzero(kept if force else kept & (error > noise_part + analytic))  # beyond what noise explains
    if refine is not None and suspects.size:
        p = ORDER[method]
        coarse, crossed_coarse = refine(suspects, 2.0)
        fine, crossed_fine = refine(suspects, 0.5)
        here = numeric[suspects]
        upper, lower = coarse - here, here - fine  # ~ (2^p - 1) a h^p and (1 - 2^-p) a h^p
        # the noise bars of those two differences: D(2h) and D(h/2) carry 1/2 and 2 times D(h)'s noise
        upper_noise, lower_noise = noise_part[suspects] * np.sqrt(1.25), noise_part[suspects] * np.sqrt(5.0)
        smooth = _smooth(upper, lower, upper_noise, lower_noise, p) & ~crossed_coarse & ~crossed_fine
        from_fine = ~crossed_fine & crossed_coarse  # 2h crossed a reported kink, h/2 did not: use h and h/2
        from_lower = TRUNCATION_SAFETY * 2**p * np.abs(lower) / (2**p - 1) + lower_noise
        # Off the pattern at (2h, h, h/2): a second look at (h, h/2, h/4). A smooth entry whose next term is not small
        # at 2h (or whose noise broke the pattern by chance, as some of thousands will) follows it there, and so
        # does one whose 2h alone reached a kink: its truncation comes from h and h/2. Only an entry off both
        # patterns, and outside what either estimate of its truncation explains, is left out as not smooth.
        second = np.zeros(suspects.size, dtype=bool)
        off = np.flatnonzero(~(smooth | from_fine) & ~crossed_fine)
        if off.size:
            finest, crossed_finest = refine(suspects[off], 0.25)
            second[off] = _smooth(lower[off], fine[off] - finest, lower_noise[off], 2 * lower_noise[off], p
                                  ) & ~crossed_finest
        from_upper = TRUNCATION_SAFETY * np.abs(upper) / (2**p - 1)
        off_both = ~(smooth | from_fine | second)
        truncation[suspects] = np.where(from_fine | second, from_lower,
                                        np.where(off_both, np.maximum(from_upper, from_lower), from_upper))
        refined[suspects] = True
        unexplained = error[suspects] > noise_part[suspects] + analytic[suspects] + truncation[suspects]
        rough[suspects] = off_both & unexplained
        kept[suspects[rough[suspects]]] = False
    both_zero = (grad == 0) & (numeric == 0)
    return ErrorBars(noise_part, truncation, analytic, error, kept, refined, both_zero, rough)


def _smooth(upper: np.ndarray, lower: np.ndarray, upper_noise: np.ndarray, lower_noise: np.ndarray,
            p: int) -> np.ndarray:
    """Do three levels D(2t), D(t), D(t/2) follow a smooth f's pattern? upper = D(2t) - D(t), lower = D(t) - D(t/2):
    both within their noise bars, or upper / lower within a factor 2 of 2^p (truncation a t^p dominating)."""
    in_noise = (np.abs(lower) <= lower_noise) & (np.abs(upper) <= upper_noise)
    ratio = upper / np.where(lower != 0, lower, np.inf)
    return in_noise | ((ratio >= 2**p / 2) & (ratio <= 2**p * 2))


@dataclass  # not frozen: a frozen dataclass's __init__ costs microseconds per block on a small check's path
class BlockVerdict:
    """One block judged against its bars: passed (no entry outside, and its errors together within their
    noise), the worst error / bar ratio, the block's formula-2 difference beside the difference its error
    bars alone could produce, how many entries are outside, and the block's chi-square against its limit;
    refined: whether every kept entry's truncation was estimated (until then the chi-square cannot fail it)."""

    passed: bool
    worst_ratio: float
    difference: float
    bar_difference: float
    outside: int
    chi_square: float = 0.0
    chi_limit: float = np.inf
    refined: bool = True

    @property
    def to_refine(self) -> bool:
        """The block's errors add up beyond its noise while some kept entry's truncation is not estimated."""
        return self.chi_square > self.chi_limit and not self.refined


def chi_squares(bars: ErrorBars, ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A block's errors taken together: sum_i (excess_i / s_i)^2 over its kept entries, where excess_i is
    what the error exceeds the deterministic parts by (truncation + analytic round-off, both bounds) and
    s_i the noise's standard deviation (noise bar / NOISE_SIGMAS). Without a bug each term is at most a
    squared standard normal, so the sum is at most chi-square with n degrees of freedom; its limit
    CHI_MARGIN^2 (n + 5 sqrt(2n) + 18) is ~5 standard deviations out for every n (P < 1e-6 even at n = 1,
    where it is 26), with CHI_MARGIN^2 = 2.25 for a sigma underestimated up to 1.5x (sigma is the largest of
    a dozen probes' levels; the limit's measurement: docs/checker.md). A 1% error spread over
    a block shows here ~3x sooner than in any single entry. Returns per block (B,): the sums, their limits,
    and whether all kept entries were refined."""
    kept = bars.kept
    rows = np.zeros((3, kept.size))  # per entry: its term if kept, kept, kept but not refined
    np.copyto(rows[0], chi_terms(bars.error, bars.truncation, bars.analytic, bars.noise), where=kept)
    rows[1], rows[2] = kept, kept & ~bars.refined
    totals, counts, unrefined = blocks_of(tuple(ranges), kept.size).sums(rows).T
    return totals, _chi_limits(counts), unrefined == 0


def chi_terms(error: np.ndarray, truncation: Any, analytic: np.ndarray, noise: Any) -> np.ndarray:
    """Each entry's term of the chi-square, (excess / s)^2 with excess = max(0, error - truncation - analytic) and
    s = noise / NOISE_SIGMAS (inf for an excess over a zero s, 0 for none). error, analytic: (n,); truncation and
    noise: (n,), or one float for every entry (an a-priori pass: one step, one assumed round-off)."""
    excess = error - truncation
    excess -= analytic
    np.maximum(excess, 0.0, out=excess)
    sigma = noise / NOISE_SIGMAS
    if np.all(sigma > 0) if isinstance(sigma, np.ndarray) else sigma > 0:  # the usual case: every entry has a bar
        excess /= sigma
        excess *= excess
        return excess
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sigma > 0, (excess / np.where(sigma > 0, sigma, 1.0)) ** 2, np.where(excess > 0, np.inf, 0.0))


def _chi_limits(counts: np.ndarray) -> np.ndarray:
    """A block's chi-square limit CHI_MARGIN^2 (n + 5 sqrt(2n) + 18) for n = counts kept entries (inf for none)."""
    return np.where(counts > 0, CHI_MARGIN**2 * (counts + 5 * np.sqrt(2 * counts) + 18), np.inf)


def _ratios(error: np.ndarray, bar: np.ndarray) -> np.ndarray:
    """error / bar per entry (inf where the bar is 0 and the error is not, 0 where both are)."""
    if (bar > 0).all():
        return error / bar
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bar > 0, error / np.where(bar > 0, bar, 1.0), np.where(error > 0, np.inf, 0.0))


class Blocks:
    """The blocks' [start, stop) ranges over k entries, and what per-block sums and maxima need, worked out once
    per set of ranges (`blocks_of`). Blocks that tile 0 .. k in order, none empty (every full check's), take one
    np.ufunc.reduceat; others are summed block by block. limits: each block's chi-square limit with every one
    of its entries kept (`_chi_limits`)."""

    def __init__(self, ranges: tuple[tuple[int, int], ...], k: int) -> None:
        self.ranges = ranges
        self.starts = [start for start, _ in ranges]
        self.tiled = bool(ranges) and ranges[0][0] == 0 and ranges[-1][1] == k and all(
            start < stop == following for (start, stop), following in zip(ranges, [*self.starts[1:], k], strict=True))
        self.limits: list[float] = _chi_limits(np.array([stop - start for start, stop in ranges], dtype=float)).tolist()

    def sums(self, rows: np.ndarray) -> np.ndarray:
        """Each block's sum of `rows` (k,) -> (B,), or of each row of `rows` (r, k) -> (B, r)."""
        if self.tiled:
            return np.add.reduceat(rows, self.starts, axis=-1).T
        return np.array([rows[..., start:stop].sum(axis=-1) for start, stop in self.ranges]).reshape(
            len(self.ranges), *rows.shape[:-1])

    def maxima(self, values: np.ndarray) -> list[float]:
        """max(0, `values` (k,) over each block)."""
        if self.tiled:
            return np.maximum(np.maximum.reduceat(values, self.starts), 0.0).tolist()
        return [float(values[start:stop].max(initial=0.0)) for start, stop in self.ranges]


@lru_cache(maxsize=64)
def blocks_of(ranges: tuple[tuple[int, int], ...], k: int) -> Blocks:
    """The `Blocks` of these ranges over k entries (built once: a check of a small network asks on every call)."""
    return Blocks(ranges, k)


def block_verdicts(bars: ErrorBars, grad: np.ndarray, numeric: np.ndarray,
                   ranges: list[tuple[int, int]]) -> list[BlockVerdict]:
    """One BlockVerdict per [start, stop) range of theta (kink entries count for nothing). A block's chi-square
    counts only once all its kept entries were refined (before that, an unestimated truncation could pass for
    noise): the blocks to refine first are those whose verdict says `to_refine`. Every block's sums come from
    one pass over the entries (`Blocks.sums`): a check's verdict is a few numpy calls, not a few per block."""
    kept, bar = bars.kept, bars.bar
    rows = np.zeros((8, grad.size))  # per kept entry (0 elsewhere): g^2, D^2, (g - D)^2, bar^2, outside, chi term;
    rows[:4] = grad, numeric, grad - numeric, bar  # then kept, and kept but not refined
    rows[:4] *= kept
    rows[:4] *= rows[:4]
    rows[4] = kept & (bars.error > MARGIN * bar)  # bars.outside
    np.copyto(rows[5], chi_terms(bars.error, bars.truncation, bars.analytic, bars.noise), where=kept)
    rows[6], rows[7] = kept, kept & ~bars.refined
    blocks = blocks_of(tuple(ranges), grad.size)
    sums = blocks.sums(rows)
    limits = _chi_limits(sums[:, 6])
    worst = blocks.maxima(np.where(kept, _ratios(bars.error, bar), 0.0))
    verdicts = []
    for (g2, d2, e2, bar2, outside, total, _, unrefined), worst_b, limit in zip(
            sums.tolist(), worst, limits.tolist(), strict=True):
        scale = math.sqrt(g2) + math.sqrt(d2)
        count = int(outside)
        passed = count == 0 and (total <= limit or unrefined > 0)
        verdicts.append(BlockVerdict(passed, worst_b, math.sqrt(e2) / scale if scale > 0 else 0.0,
                                     math.sqrt(bar2) / scale if scale > 0 else 0.0, count, total, limit,
                                     unrefined == 0))
    return verdicts


def bar_difference(bars: ErrorBars, grad: np.ndarray, numeric: np.ndarray) -> float:
    """The formula-2 difference the numerical side's error alone could produce: ||bar|| / (||g|| + ||D||)."""
    keep = bars.kept
    scale = norm(grad[keep]) + norm(numeric[keep])
    return norm(bars.bar[keep]) / scale if scale > 0 else 0.0


def replace_entries(bars: ErrorBars, indices: np.ndarray, part: ErrorBars) -> None:
    """Write `part` (the bars of entries `indices`, re-measured) into `bars`, in place."""
    for name in ("noise", "truncation", "analytic", "error", "kept", "refined", "both_zero", "rough"):
        getattr(bars, name)[indices] = getattr(part, name)
