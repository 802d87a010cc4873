"""Second looks: what the measured verdict does where the global step cannot judge an entry or a block.

    entries outside their bars   a kink at or near the point, not a bug?   `kinks_near_the_point`
                                 the complex step through np.abs?           `complex_unsafe`
                                 a random cost's far-beyond disagreement    `far_beyond_randomness`
    blocks too noisy for a 1% error                                        `own_step`, then `averaged_step`

Each measures a little more (a few evaluations per entry concerned) and writes its finding into the shared
`ErrorBars` (entries left out, re-measured values and steps) or returns a cause. The measurements behind the
constants: docs/checker.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from toynet.gradcheck.causes import Cause, complex_cause
from toynet.gradcheck.errorbars import (
    MARGIN,
    NOISE_SIGMAS,
    BlockVerdict,
    ErrorBars,
    Refine,
    error_bars,
    noise_bar,
    replace_entries,
)
from toynet.gradcheck.noise import Costs

RESOLUTION = 2e-3  # a block whose bars allow a formula-2 difference above this cannot see a 1% error in it
OWN_STEPS = (10.0, 100.0, 1000.0)  # an unresolved block's entries are tried at these times their step


def unresolved_block(verdict: BlockVerdict) -> bool:
    """A passing block whose error bars are too wide to see a 1% error (its formula 2 would be ~5e-3)."""
    return verdict.bar_difference > RESOLUTION


def noise_dominated(bars: ErrorBars, indices: np.ndarray) -> bool:
    """Do the kept entries' noise parts outweigh their truncation parts? Only then can a larger step (or a mean of
    several) resolve a block: one held back by its truncation (a black-box cost's kinks inside the step make D
    vary with h) would only reach more kinks; it is named unresolved instead."""
    kept = indices[bars.kept[indices]]
    return bool(np.linalg.norm(bars.noise[kept]) > np.linalg.norm(bars.truncation[kept]))


AtSteps = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (indices, their steps) -> entries


def own_step(indices: np.ndarray, at: AtSteps, arrays: tuple[np.ndarray, ...], bars: ErrorBars, method: str,
             noise: float, grad_eps: float, rms: float, largest: float) -> None:
    """Give an unresolved block's entries `indices` a step of their own: the global step is set by the most curved
    block, and a block whose cost is far flatter (or far smaller) drowns in noise / h there. Each of OWN_STEPS
    times the current step (up to `largest`) is measured with its truncation estimated like any step's; the
    first that leaves the block's kept bars smaller and keeps as many entries judged is taken, in place of
    (grad, numeric, crossed, steps) and `bars`; the search stops at the first that does not help."""
    grad, numeric, crossed, steps = arrays
    kept = bars.kept[indices]
    size = float(np.linalg.norm(bars.bar[indices][kept]))
    for factor in OWN_STEPS:
        trial = np.minimum(steps[indices] * factor, largest)
        if not (trial > steps[indices]).any():
            return
        values, flags = at(indices, trial)

        def refine(which: np.ndarray, f: float, trial: np.ndarray = trial) -> tuple[np.ndarray, np.ndarray]:
            return at(indices[which], trial[which] * f)

        part = error_bars(grad[indices], values, kept & ~flags, trial, method, noise, grad_eps, refine, rms)
        trial_size = float(np.linalg.norm(part.bar[part.kept]))
        if part.kept.sum() < kept.sum() or trial_size >= size or _moves(part, values, refine):
            return
        replace_entries(bars, indices, part)
        numeric[indices], crossed[indices], steps[indices], size = values, flags, trial, trial_size


def _moves(part: ErrorBars, values: np.ndarray, refine: Refine) -> bool:
    """Does some entry outside its bars at a trial step move beyond noise and truncation at a quarter of it? A
    larger step may reach a kink its cost cannot report (a bug keeps its error at both steps): then the step
    is no better (see `kinks_near_the_point`)."""
    outside = np.flatnonzero(part.outside)
    if not outside.size:
        return False
    quarter, crossed = refine(outside, 1 / KINK_SHRINK)
    allowed = part.noise[outside] * (1 + KINK_SHRINK) + part.truncation[outside] + part.analytic[outside]
    return bool((crossed | (np.abs(quarter - values[outside]) > allowed)).any())


AVERAGED = 8  # an unresolved block's entries, as a last resort: the mean of this many central differences


def averaged_step(indices: np.ndarray, at: AtSteps, arrays: tuple[np.ndarray, ...], bars: ErrorBars, method: str,
                  noise: float, grad_eps: float, rms: float) -> None:
    """Measure an unresolved block's entries `indices` as the mean of AVERAGED central differences at steps spread
    over [h / sqrt 2, h sqrt 2): a noise that no step can beat (a float32 cost's stairs, round-off of a large |J|)
    is independent from one step to the next, so the mean carries sqrt(AVERAGED) times less of it, while the
    truncation stays that of h (estimated as for any step, from means at 2h and h/2). Taken, in place of
    (grad, numeric, crossed, steps) and `bars`, when the block's kept bars shrink and as many entries stay judged;
    the steps recorded are the effective ones (h times the noise's reduction), whose noise / h is the mean's."""
    grad, numeric, crossed, steps = arrays
    base = steps[indices].copy()
    factors = 2.0 ** (np.arange(AVERAGED) / AVERAGED - 0.5)
    effective = base * AVERAGED / math.sqrt(float(np.sum(factors**-2.0)))

    def mean_at(which: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
        total, flags = np.zeros(which.size), np.zeros(which.size, dtype=bool)
        for factor in factors:
            values, crossed_here = at(indices[which], base[which] * (factor * f))
            total += values
            flags |= crossed_here
        return total / AVERAGED, flags

    values, flags = mean_at(np.arange(indices.size), 1.0)
    kept = bars.kept[indices]  # entries left out at h (a kink, at or near the point) stay out
    part = error_bars(grad[indices], values, kept & ~flags, effective, method, noise, grad_eps, mean_at, rms)
    if part.kept.sum() < kept.sum() or np.linalg.norm(part.bar[part.kept]) >= np.linalg.norm(bars.bar[indices][kept]):
        return
    replace_entries(bars, indices, part)
    numeric[indices], crossed[indices], steps[indices] = values, flags, effective


def complex_unsafe(costs: Costs, chosen: np.ndarray, grad: np.ndarray, numeric: np.ndarray, bars: ErrorBars,
                   h: float, noise: float, label: Callable[[int], str]) -> tuple[Cause | None, int]:
    """Is the complex step what failed? The entries outside their bars are measured again by central differences
    at h and h/2 (real points, where np.abs and np.maximum are what the cost means); where those agree with each
    other and not with the complex step (beyond MARGIN times the noise and truncation they show), the cost is
    not complex-analytic (np.abs(z) drops the imaginary part; comparisons take the real one) and no complex-step
    number can be trusted: an inconclusive cause, naming the first such entries. Returns it and the evaluations."""
    outside = np.flatnonzero(bars.outside)
    if not outside.size:
        return None, 0
    values = np.asarray(costs(chosen[outside], np.array([h, -h, h / 2, -h / 2]))[0], dtype=np.float64)
    wide, narrow = (values[:, 0] - values[:, 1]) / (2 * h), (values[:, 2] - values[:, 3]) / h
    tolerance = MARGIN * (noise_bar(noise, h / 2, "central") + 2 * np.abs(wide - narrow) + bars.analytic[outside])
    wrong = outside[np.abs(narrow - numeric[outside]) > tolerance]
    if not wrong.size:
        return None, int(values.size)
    return complex_cause(wrong.size, [label(int(chosen[i])) for i in wrong[:5]]), int(values.size)


FAR_BEYOND = 10.0  # a random cost's entry whose error is this many times its bar (5 sigma of the randomness) fails


def far_beyond_randomness(bars: ErrorBars, ranges: Sequence[tuple[int, int]], names: Sequence[str]) -> list[str]:
    """The blocks of a random cost with some entry judged whose error exceeds FAR_BEYOND times its bar.

    The bars hold the cost's measured randomness (sigma / h, 5 sigmas of it): an error 50 sigmas out is no draw of
    that randomness, whatever its tails, while one within it cannot be told from a draw (the block is not judged)."""
    far = bars.kept & (bars.error > FAR_BEYOND * bars.bar)
    return [name for name, (start, stop) in zip(names, ranges, strict=True) if far[start:stop].any()]


KINK_SHRINK = 4.0  # the entries outside their bars are measured again at h and h / KINK_SHRINK


def kinks_near_the_point(costs: Costs, chosen: np.ndarray, grad: np.ndarray, steps: np.ndarray, cost: float,
                         noise: float, bars: ErrorBars, central: bool) -> int:
    """Leave out the entries outside their bars whose disagreement is the cost's (a kink), not the backward's.

    f at theta +- h and +- h/4 for each such entry (h its step) tells two things a cost that cannot report its
    kinks still shows. A kink at theta itself (a ReLU pre-activation exactly 0) puts the one-sided slopes
    (f(h) - f(0)) / h and (f(0) - f(-h)) / h apart by the slope's jump whatever the step, while on a smooth f their
    gap (f(h) + f(-h) - 2 f(0)) / h = h f'' shrinks with h: a gap that holds still from h to h/4 (beyond its
    noise, 5 sqrt(6) sigma / h) with the backward's value between the two slopes (a one-sided derivative, as
    `A > 0` takes) is a kink at the point. A kink inside the step (central differences only) moves D(h) away
    from D(h/4) by more than both their bars and h's truncation, while a bug keeps its error at both steps.
    Returns the evaluations made."""
    suspects = np.flatnonzero(bars.outside)
    values = np.empty((suspects.size, 4))
    for h in np.unique(steps[suspects]):
        group = np.flatnonzero(steps[suspects] == h)
        offsets = np.array([h, -h, h / KINK_SHRINK, -h / KINK_SHRINK])
        values[group] = np.asarray(costs(chosen[suspects[group]], offsets)[0], dtype=np.float64).real
    h = steps[suspects]
    small = h / KINK_SHRINK
    gap = (values[:, 0] + values[:, 1] - 2 * cost) / h
    gap_small = (values[:, 2] + values[:, 3] - 2 * cost) / small
    gap_noise = NOISE_SIGMAS * np.sqrt(6.0) * noise / small
    holds = (np.abs(gap_small) > gap_noise) & (np.abs(gap_small - gap) < np.abs(gap_small) / 2)
    forward, backward = (values[:, 2] - cost) / small, (cost - values[:, 3]) / small
    slack = MARGIN * (NOISE_SIGMAS * np.sqrt(2.0) * noise / small + np.abs(gap_small - gap) + bars.analytic[suspects])
    between = (grad[suspects] >= np.minimum(forward, backward) - slack) & (
        grad[suspects] <= np.maximum(forward, backward) + slack)
    moved = np.zeros(suspects.size, dtype=bool)
    if central:
        change = np.abs((values[:, 0] - values[:, 1]) / (2 * h) - (values[:, 2] - values[:, 3]) / (2 * small))
        moved = change > bars.noise[suspects] * (1 + KINK_SHRINK) + bars.truncation[suspects] + bars.analytic[suspects]
    kinked = suspects[(holds & between) | moved]
    bars.kept[kinked], bars.rough[kinked] = False, True
    return int(values.size)
