"""Second looks where the global step cannot judge: entries outside their bars (a kink at or near the point, the
complex step through np.abs) and blocks too noisy for a 1% error (a step of their own, then a mean). Each takes
the run (`aware._Run`) and measures a few evaluations per entry concerned. Why: docs/checker.md.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from toynet.gradcheck.causes import Cause, complex_cause
from toynet.gradcheck.errorbars import MARGIN, NOISE_SIGMAS, ErrorBars, error_bars, noise_bar
from toynet.gradcheck.noise import MAX_STEP
from toynet.gradcheck.numerical import default_epsilon

if TYPE_CHECKING:
    from toynet.gradcheck.aware import _Run

OWN_STEPS = (10.0, 100.0, 1000.0)  # an unresolved block's entries are tried at these times their step
AVERAGED = 8  # an unresolved block's entries, as a last resort: the mean of this many central differences
KINK_SHRINK = 4.0  # the entries outside their bars are measured again at h and h / KINK_SHRINK


def _better(part: ErrorBars, bars: ErrorBars, indices: np.ndarray) -> bool:
    """Do `part`'s bars (entries `indices` measured again) judge as many entries as `bars` with smaller kept bars?"""
    kept = bars.kept[indices]
    return bool(part.kept.sum() >= kept.sum()
                and np.linalg.norm(part.bar[part.kept]) < np.linalg.norm(bars.bar[indices][kept]))


def own_step(run: _Run, indices: np.ndarray) -> None:
    """An unresolved block's entries `indices` at OWN_STEPS times their step (up to MAX_STEP max(1, scale)), each
    taken while `_better` and no entry outside its bars moves at a quarter of it (a kink the step reached)."""
    largest = MAX_STEP * max(1.0, 1.0 if run.scale is None else run.scale)
    kept = run.bars.kept[indices]  # entries left out at h (a kink) stay out
    for factor in OWN_STEPS:
        trial = np.minimum(run.steps[indices] * factor, largest)
        if not (trial > run.steps[indices]).any():
            return
        values, flags = run.at(indices, trial)
        part = run.bars_at(indices, trial, values, kept & ~flags)
        if not _better(part, run.bars, indices):
            return
        # an entry outside its bars that moves beyond noise and truncation at a quarter of the step: a kink reached
        outside = np.flatnonzero(part.outside)
        quarter, crossed = run.at(indices[outside], trial[outside] / KINK_SHRINK)
        allowed = part.noise[outside] * (1 + KINK_SHRINK) + part.truncation[outside] + part.analytic[outside]
        if (crossed | (np.abs(quarter - values[outside]) > allowed)).any():
            return
        run.take(indices, part, values, flags, trial)


def averaged_step(run: _Run, indices: np.ndarray) -> None:
    """An unresolved block's entries `indices` as the mean of AVERAGED central differences at steps over
    [h / sqrt 2, h sqrt 2) (noise independent from step to step shrinks, truncation stays h's), taken if `_better`;
    the steps recorded are the effective ones, whose noise / h is the mean's."""
    base = run.steps[indices].copy()
    factors = 2.0 ** (np.arange(AVERAGED) / AVERAGED - 0.5)
    effective = base * AVERAGED / math.sqrt(float(np.sum(factors**-2.0)))

    def mean_at(which: np.ndarray, f: float) -> tuple[np.ndarray, np.ndarray]:
        total, flags = np.zeros(which.size), np.zeros(which.size, dtype=bool)
        for factor in factors:
            values, crossed_here = run.at(indices[which], base[which] * (factor * f))
            total += values
            flags |= crossed_here
        return total / AVERAGED, flags

    values, flags = mean_at(np.arange(indices.size), 1.0)
    kept = run.bars.kept[indices]  # entries left out at h (a kink, at or near the point) stay out
    part = error_bars(run.grad[indices], values, kept & ~flags, effective, run.method, run.estimate.noise,
                      run.grad_eps, mean_at, run.rms())
    if _better(part, run.bars, indices):
        run.take(indices, part, values, flags, effective)


def complex_unsafe(run: _Run) -> list[Cause]:
    """A failing complex step where central differences at h and h/2 (the central default step) agree with each
    other and not with it, at entries outside their bars: the cost is not complex-analytic, named."""
    outside = np.flatnonzero(run.bars.outside)
    if run.method != "complex" or not outside.size or all(verdict.passed for verdict in run.verdicts):
        return []
    h = default_epsilon(run.theta, network=run.network)
    values = np.asarray(run.costs(run.chosen[outside], np.array([h, -h, h / 2, -h / 2]))[0], dtype=np.float64)
    run.evaluations += values.size
    wide, narrow = (values[:, 0] - values[:, 1]) / (2 * h), (values[:, 2] - values[:, 3]) / h
    tolerance = MARGIN * (noise_bar(run.estimate.noise, h / 2, "central") + 2 * np.abs(wide - narrow)
                          + run.bars.analytic[outside])
    wrong = outside[np.abs(narrow - run.numeric[outside]) > tolerance]
    return [complex_cause(wrong.size, [run.label(int(run.chosen[i])) for i in wrong[:5]])] if wrong.size else []


def kinks_near_the_point(run: _Run) -> None:
    """Leave out the entries outside their bars whose disagreement is a kink's, from f at theta +- h, +- h/4: at the
    point (one-sided slopes apart by a gap that holds still, the backward's value between them) or inside the step
    (D(h) moves from D(h/4) beyond both bars)."""
    bars, cost, noise = run.bars, run.cost, run.estimate.noise
    suspects = np.flatnonzero(bars.outside)
    h = run.steps[suspects]
    values = np.empty((suspects.size, 4))
    for step in np.unique(h):
        group = np.flatnonzero(h == step)
        offsets = np.array([step, -step, step / KINK_SHRINK, -step / KINK_SHRINK])
        values[group] = np.asarray(run.costs(run.chosen[suspects[group]], offsets)[0], dtype=np.float64).real
    small = h / KINK_SHRINK
    gap = (values[:, 0] + values[:, 1] - 2 * cost) / h
    gap_small = (values[:, 2] + values[:, 3] - 2 * cost) / small
    holds = (np.abs(gap_small) > NOISE_SIGMAS * np.sqrt(6.0) * noise / small) & (
        np.abs(gap_small - gap) < np.abs(gap_small) / 2)
    forward, backward = (values[:, 2] - cost) / small, (cost - values[:, 3]) / small
    slack = MARGIN * (NOISE_SIGMAS * np.sqrt(2.0) * noise / small + np.abs(gap_small - gap) + bars.analytic[suspects])
    g = run.grad[suspects]
    between = (g >= np.minimum(forward, backward) - slack) & (g <= np.maximum(forward, backward) + slack)
    moved = np.zeros(suspects.size, dtype=bool)
    if run.method == "central":
        change = np.abs((values[:, 0] - values[:, 1]) / (2 * h) - (values[:, 2] - values[:, 3]) / (2 * small))
        moved = change > bars.noise[suspects] * (1 + KINK_SHRINK) + bars.truncation[suspects] + bars.analytic[suspects]
    run.leave_out(suspects[(holds & between) | moved])
    run.evaluations += values.size
