"""Every numerical entry's error bar (noise + truncation + the backward's round-off, per entry) and the verdicts
that compare the backward against it: an entry fails outside MARGIN x its bar, a block also when its errors together
exceed their noise (a chi-square). The reasoning behind each constant: docs/checker.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from toynet.gradcheck.measures import norm

NOISE_SIGMAS = 5.0  # the noise part: this many standard deviations of the entry's noise (sigma / h x units)
TRUNCATION_SAFETY = 2.0  # the truncation part: this times |D(2h) - D(h)| / (2^p - 1)
ANALYTIC_ROUNDOFF = 100.0  # the backward's round-off part: this times eps_g (|g_i| + rms(g))
MARGIN = 2.0  # an entry fails where its error exceeds this times its bar
CHI_MARGIN = 1.5  # the same for a whole block's chi-square (see block_verdicts)
RESOLUTION = 2e-3  # a block whose bars allow a formula-2 difference above this cannot see a 1% error in it
# one entry's noise in units of sigma / h: central sqrt(2) / 2, Richardson sqrt((4/3)^2 2 + (1/3)^2 / 2); the complex
# step subtracts nothing: its round-off is relative to the entry (error_bars)
NOISE_UNITS = {"central": np.sqrt(0.5), "richardson": np.sqrt(65 / 18), "complex": 0.0}
ORDER = {"central": 2, "richardson": 4, "complex": 2}

# refine(indices, factor) -> (the method's derivative at factor times each entry's step, crossed-kink flags)
Refine = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]


@dataclass
class ErrorBars:
    """Per entry (n,): the bar's parts, error = |g - D|, and flags: kept (judged), refined (truncation estimated),
    both_zero (g = D = 0: no bug can show), rough (left out: f not smooth across the step)."""

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

    def put(self, indices: np.ndarray, part: ErrorBars) -> None:
        """Write `part`, the bars of entries `indices` measured again, into these bars in place."""
        for name in (f.name for f in fields(self)):
            getattr(self, name)[indices] = getattr(part, name)


def noise_bar(noise: float, step: float | np.ndarray, method: str) -> Any:
    """NOISE_SIGMAS standard deviations of one entry's noise, sigma / h times the method's units (float or (n,))."""
    return NOISE_SIGMAS * NOISE_UNITS[method] * noise / step


def analytic_bars(grad: np.ndarray, eps: float, rms: float | None = None) -> np.ndarray:
    """ANALYTIC_ROUNDOFF eps (|g_i| + rms(g)): (n,) -> (n,); rms: the whole gradient's when grad is a part of it."""
    if rms is None:
        rms = float(np.sqrt(np.mean(grad * grad))) if grad.size else 0.0
    return ANALYTIC_ROUNDOFF * eps * (np.abs(grad) + rms)


def error_bars(grad: np.ndarray, numeric: np.ndarray, kept: np.ndarray, step: float | np.ndarray, method: str,
               noise: float, eps: float, refine: Refine | None = None, rms: float | None = None,
               force: bool = False) -> ErrorBars:
    """The bars of grad, numeric (n,) with kept (n,) bool, numeric taken at step (one or (n,)) by method; noise: the
    cost's sigma; eps: the gradients' machine epsilon. Suspects (error beyond noise + analytic; force: every kept
    entry) get their truncation estimated through refine(indices, factor)."""
    error = np.abs(grad - numeric)
    analytic = analytic_bars(grad, eps, rms)
    if method == "complex":  # nothing subtracted: its round-off is relative to the derivative, like a backward's
        noise_part = analytic_bars(numeric, float(np.finfo(np.float64).eps))
    else:
        noise_part = np.full(grad.shape, noise_bar(noise, np.asarray(step, dtype=np.float64), method))
    bars = ErrorBars(noise_part, np.zeros(grad.size), analytic, error, kept.copy(), np.zeros(grad.size, dtype=bool),
                     (grad == 0) & (numeric == 0), np.zeros(grad.size, dtype=bool))
    suspects = np.flatnonzero(bars.kept if force else bars.kept & (error > noise_part + analytic))
    if refine is not None and suspects.size:
        _refine(bars, suspects, numeric[suspects], refine, ORDER[method])
    return bars


def _refine(bars: ErrorBars, suspects: np.ndarray, here: np.ndarray, refine: Refine, p: int) -> None:
    """The suspects' truncation from D at 2h and h/2 (h/4 for entries off a smooth f's pattern there), in place; an
    entry off the pattern at both (2h, h, h/2) and (h, h/2, h/4), outside what either estimate explains, is rough."""
    coarse, crossed_coarse = refine(suspects, 2.0)
    fine, crossed_fine = refine(suspects, 0.5)
    upper, lower = coarse - here, here - fine  # ~ (2^p - 1) a h^p and (1 - 2^-p) a h^p
    # D(2h) and D(h/2) carry 1/2 and 2 times D(h)'s noise
    upper_noise, lower_noise = bars.noise[suspects] * np.sqrt(1.25), bars.noise[suspects] * np.sqrt(5.0)
    smooth = _smooth(upper, lower, upper_noise, lower_noise, p) & ~crossed_coarse & ~crossed_fine
    from_fine = ~crossed_fine & crossed_coarse  # 2h crossed a reported kink, h/2 did not: use h and h/2
    from_lower = TRUNCATION_SAFETY * 2**p * np.abs(lower) / (2**p - 1) + lower_noise
    second = np.zeros(suspects.size, dtype=bool)
    off = np.flatnonzero(~(smooth | from_fine) & ~crossed_fine)
    if off.size:
        finest, crossed_finest = refine(suspects[off], 0.25)
        second[off] = _smooth(lower[off], fine[off] - finest, lower_noise[off], 2 * lower_noise[off], p)
        second[off] &= ~crossed_finest
    from_upper = TRUNCATION_SAFETY * np.abs(upper) / (2**p - 1)
    off_both = ~(smooth | from_fine | second)
    bars.truncation[suspects] = np.where(from_fine | second, from_lower,
                                         np.where(off_both, np.maximum(from_upper, from_lower), from_upper))
    bars.refined[suspects] = True
    noise, analytic, truncation = bars.noise[suspects], bars.analytic[suspects], bars.truncation[suspects]
    bars.rough[suspects] = rough = off_both & (bars.error[suspects] > noise + analytic + truncation)
    bars.kept[suspects[rough]] = False


def _smooth(upper: np.ndarray, lower: np.ndarray, upper_noise: np.ndarray, lower_noise: np.ndarray,
            p: int) -> np.ndarray:
    """Do three levels follow a smooth f's pattern? upper = D(2t) - D(t), lower = D(t) - D(t/2): both within their
    noise bars, or upper / lower within a factor 2 of 2^p (truncation a t^p dominating)."""
    in_noise = (np.abs(lower) <= lower_noise) & (np.abs(upper) <= upper_noise)
    ratio = upper / np.where(lower != 0, lower, np.inf)
    return in_noise | ((ratio >= 2**p / 2) & (ratio <= 2**p * 2))


@dataclass
class BlockVerdict:
    """One block against its bars: passed, the worst error / bar, formula 2 beside what the bars alone allow, the
    entries outside, the chi-square and its limit, and whether every kept entry's truncation was estimated."""

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

    @property
    def unresolved(self) -> bool:
        """A passing block whose bars are too wide to see a 1% error (a formula 2 of ~5e-3)."""
        return self.passed and self.bar_difference > RESOLUTION


def block_verdicts(bars: ErrorBars, grad: np.ndarray, numeric: np.ndarray,
                   ranges: list[tuple[int, int]]) -> list[BlockVerdict]:
    """One BlockVerdict per [start, stop) range of the entries (n,); entries left out count for nothing. A block's
    chi-square limit is CHI_MARGIN^2 (n + 5 sqrt(2n) + 18) for n kept entries, counted once all are refined."""
    kept, sigma, bar, error = bars.kept, bars.noise / NOISE_SIGMAS, bars.bar, bars.error
    excess = np.maximum(error - bars.truncation - bars.analytic, 0.0)  # chi term: (excess / sigma)^2
    with np.errstate(divide="ignore", invalid="ignore"):  # x / 0: inf where x > 0, 0 where x = 0
        chi = np.where(sigma > 0, (excess / sigma) ** 2, np.where(excess > 0, np.inf, 0.0))
        ratio = np.where(bar > 0, error / bar, np.where(error > 0, np.inf, 0.0))
    # per entry, 0 where not kept: g^2, D^2, (g - D)^2, bar^2, outside, chi term, kept, kept but not refined
    rows = np.where(kept, np.vstack([np.vstack([grad, numeric, grad - numeric, bar]) ** 2, error > MARGIN * bar,
                                     chi, kept, ~bars.refined]), 0.0)
    worst = _per_block(np.maximum, np.where(kept, ratio, 0.0)[None], ranges)[0].tolist()
    verdicts = []
    for (g2, d2, e2, bar2, outside, total, count, unrefined), worst_b in zip(
            _per_block(np.add, rows, ranges).T.tolist(), worst, strict=True):
        limit = CHI_MARGIN**2 * (count + 5 * math.sqrt(2 * count) + 18) if count > 0 else math.inf
        scale = math.sqrt(g2) + math.sqrt(d2)
        verdicts.append(BlockVerdict(outside == 0 and (total <= limit or unrefined > 0), worst_b,
                                     math.sqrt(e2) / scale if scale > 0 else 0.0,
                                     math.sqrt(bar2) / scale if scale > 0 else 0.0,
                                     int(outside), total, limit, unrefined == 0))
    return verdicts


def _per_block(ufunc: np.ufunc, rows: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    """ufunc reduced over each [start, stop) range of rows (r, n) -> (r, B), 0 over an empty range: one reduceat
    over the ranges' edges (the segments between a stop and the next start are dropped)."""
    edges = np.array(ranges, dtype=np.intp).reshape(-1)
    if edges.size == 0:
        return np.zeros((rows.shape[0], 0))
    padded = np.concatenate([rows, np.zeros((rows.shape[0], 1))], axis=1)  # a stop at n is a valid index
    reduced = ufunc.reduceat(padded, edges, axis=1)[:, ::2]
    reduced[:, edges[::2] == edges[1::2]] = 0.0
    return reduced


def bar_difference(bars: ErrorBars, grad: np.ndarray, numeric: np.ndarray) -> float:
    """The formula-2 difference the numerical side's error alone could produce: ||bar|| / (||g|| + ||D||)."""
    keep = bars.kept
    scale = norm(grad[keep]) + norm(numeric[keep])
    return norm(bars.bar[keep]) / scale if scale > 0 else 0.0
