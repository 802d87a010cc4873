"""How noisy is a cost at theta, how curved is it, and which step that implies: measured, not assumed.

A numerical derivative divides a difference of two computed costs by the step, so whatever noise the
cost carries (round-off, a float32 cast, a probability rounded near 1, a random mask) is divided by the
step too. This module measures that noise the way Moré and Wild do ("Estimating Computational Noise",
SIAM J. Sci. Comput. 33(3), 2011, their ECnoise): f at 7 equally spaced points along a direction,
then the difference table. The k-th differences of a smooth f shrink like spacing^k, while those of
independent noise of standard deviation sigma keep a size set by sigma alone:

    E[(Delta^k noise)^2] = C(2k, k) sigma^2,    so  sigma ~ sqrt(gamma_k mean((Delta^k f)^2)),  gamma_k = (k!)^2 / (2k)!

Where three consecutive levels agree within a factor 4 and the k-th differences change sign, the
table sees noise, not f. Half the first differences exactly 0: the spacing is too small (f did not
move); f varying by more than 10% or no plateau: too large. Each is retried 100 times larger/smaller.

Directions here are coordinates of theta ("probes"), evaluated through the same `costs(indices,
offsets)` function the check itself uses, so the noise measured is the noise of the values compared.
The same probes give a cheap estimate of |f'''| (a 4-point stencil), and with it the central-difference
step that balances the two errors, noise / h against h^2 |f'''| / 6:  h* = (3 sigma / |f'''|)^(1/3).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

# costs(indices (k,), offsets (D,)) -> (values (k, D), crossed (k,) bool or None): f at theta + offsets[j] e_i
Costs = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]

TABLE = np.arange(-3.0, 4.0)  # 7 points, spacing units; 0 is theta itself
WITH_THETA = np.append(TABLE, 0.0)  # a table's offsets: its 7 points, then theta again (a random f shows there)
FIRST_SPACING = 1e-6  # times max(1, |theta_i|): moves a cost of size 1 by far more than its round-off
RETRIES = 3  # Moré and Wild's re-tries: spacing x100 (too small) or /100 (too large)
MAX_SPACING = 1e-4  # times max(1, |theta_i|): flat up to here, the probe's direction does not move f
CONFIRMATIONS = 3  # at the check's own step (at_step): the largest levels re-measured before one is believed
CONFIRM_ABOVE = 100.0  # levels within this many times the round-off floor need no confirmation
THIRD_STENCIL = np.array([-2.0, -1.0, 1.0, 2.0])  # f''' ~ (f(2s) - 2 f(s) + 2 f(-s) - f(-2s)) / (2 s^3)
THIRD_NOISE = np.sqrt(10.0) / 2  # the stencil's noise: sqrt(1 + 4 + 4 + 1) sigma / (2 s^3)
THIRD_RESOLVED = 10.0  # accept an f''' estimate at least this many times its own noise
MAX_STEP = 1e-2  # the chosen step never exceeds this (times max(1, rms(theta))): ReLU kinks get likely
MIN_STEP = 1e-8
RANDOM_GAP = 1e3  # two costs at the same theta differing by more than this many eps |J|: f is random
GUESSED_NOISE = 256.0  # in eps max(|J|, 1): above ECnoise's usual sigma on float64 network costs (1-150 eps |J|)
EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class TableNoise:
    """ECnoise on one table: the noise level (0 if none found), and "ok", "too small" or "too large"."""

    noise: float
    status: str


OK, TOO_SMALL, TOO_LARGE = 0, 1, 2  # ecnoise_levels' status codes
STATUS = ("ok", "too small", "too large")  # ... and their words (TableNoise.status)


def ecnoise(values: np.ndarray) -> TableNoise:
    """Moré and Wild's ECnoise on f at equally spaced points, values: (nf,), nf >= 4 (7 or 8 usual).

    Returns the estimated standard deviation of the noise in f, and whether the spacing was right.
    Moré and Wild also call a table "too large" when f varies by more than 10% of |f| across it; that test
    is left out here: near f = 0 (an odd function at 0, a cost at its minimum) it refuses every spacing,
    and a table that is too large already shows no plateau of levels.
    """
    return ecnoise_rows(np.asarray(values, dtype=np.float64).reshape(1, -1))[0]


def ecnoise_rows(rows: np.ndarray) -> list[TableNoise]:
    """`ecnoise` of every row of rows (t, nf) at once (the probes of one call)."""
    noise, status = ecnoise_levels(rows)
    return [TableNoise(level, STATUS[code]) for level, code in zip(noise.tolist(), status.tolist(), strict=True)]


def ecnoise_levels(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`ecnoise` of every row of rows (t, nf) as arrays: the levels (t,) (0 where none) and status codes (t,)
    (OK, TOO_SMALL, TOO_LARGE). Every row's differences of every order sit in one zero-padded array
    (nf - 1 positions, t, nf - 1 orders), so each step is one numpy call over all rows and orders, and the sums
    and signs run along the first axis, whole rows at a time (the count of calls is the cost here). The zeros
    change no sum of squares and no sign test (min * max < 0 needs both signs); the sums run in the order a row's
    own sum takes (d_0 + d_1) + d_2 ..., so the levels are the textbook loop's to the bit."""
    f = np.asarray(rows, dtype=np.float64)
    t, nf = f.shape
    table = np.zeros((nf - 1, t, nf - 1))  # table[j, r, k - 1]: the j-th k-th difference of row r
    previous = f.T
    for k in range(1, nf):
        previous = np.subtract(previous[1:], previous[:-1], out=table[: nf - k, :, k - 1])
    flat = np.add.reduce(table[:, :, 0] == 0, axis=0) >= nf / 2  # f did not move: the spacing is below its resolution
    gammas, counts = _level_constants(nf)
    levels = np.sqrt(gammas * np.add.reduce(table * table, axis=0) / counts)  # (t, nf - 1)
    sign_changes = np.minimum.reduce(table, axis=0) * np.maximum.reduce(table, axis=0) < 0
    noise, status = [0.0] * t, [TOO_LARGE] * t
    # The first plateau of each row (a few rows of a few levels: Python floats beat a dozen numpy calls here):
    # three consecutive levels within a factor 4 of each other (pairwise, so a NaN level never makes one), the
    # k-th differences changing sign.
    for row, (level, changes, still) in enumerate(zip(levels.tolist(), sign_changes.tolist(), flat.tolist(),
                                                      strict=True)):
        if still:
            status[row] = TOO_SMALL
            continue
        for k in range(nf - 3):
            a, b, c = level[k : k + 3]
            if changes[k] and a <= 4 * b and a <= 4 * c and b <= 4 * a and b <= 4 * c and c <= 4 * a and c <= 4 * b:
                noise[row], status[row] = a, OK
                break
    return np.array(noise), np.array(status)


@lru_cache(maxsize=8)
def _level_constants(nf: int) -> tuple[np.ndarray, np.ndarray]:
    """gamma_k = (k!)^2 / (2k)! and the count nf - k of k-th differences, k = 1 .. nf - 1 (as float arrays)."""
    gammas, gamma = [], 1.0
    for k in range(1, nf):
        gamma *= 0.5 * k / (2 * k - 1)
        gammas.append(gamma)
    return np.array(gammas), np.arange(nf - 1, 0, -1, dtype=np.float64)


@dataclass(frozen=True)
class NoiseEstimate:
    """What the probes measured.

    noise: sigma, the standard deviation of the cost's noise at theta (the largest over the probes, never
    below the round-off of |cost| itself); third: |f'''| along the probes (the largest, 0 if f looked
    cubic-free); repeat_gap: the largest |f(theta) - f(theta)| of two evaluations at the same point;
    probes: the coordinates used; per_probe: each probe's sigma (nan where its table found no level);
    evaluations: how many costs the measurement took; cost: |f| at theta as the probes saw it;
    spacing: the widest spacing at which a table found its level.
    """

    noise: float
    third: float
    repeat_gap: float
    probes: np.ndarray
    per_probe: np.ndarray
    evaluations: int
    cost: float
    spacing: float = 0.0  # the widest spacing of a table that found the noise level

    @property
    def random(self) -> bool:
        """Two evaluations at the same theta differ by far more than round-off: f draws random numbers."""
        return self.repeat_gap > RANDOM_GAP * EPS * max(self.cost, 1e-300)

    def relative(self) -> float:
        """sigma / |f|: about eps (1e-16) for a clean float64 cost, 1e-8 for a float32 one."""
        return self.noise / self.cost if self.cost > 0 else np.inf


def measure_noise(costs: Costs, theta: np.ndarray, probes: np.ndarray, cost: float,
                  groups: np.ndarray | None = None) -> NoiseEstimate:
    """sigma and |f'''| of f at theta along the coordinates `probes` (a few, e.g. one or two per block).

    costs: the check's own evaluator; theta: (n,) float64; cost: f(theta). Each probe costs 8
    evaluations per table (7 points and theta again, to catch a random f) and 4 per f''' attempt; probes
    that share a spacing (and a group, when `groups` (one id per probe) is given: for an evaluator whose
    calls should not mix them) share a call, so the whole measurement is a handful of calls. A probe's
    spacings scale with max(1, |theta_i|), taken as the largest of its decade among the probes of its group
    (`_shared_scales`): a factor under 10 changes no level, and it lets a small network's probes go through
    the engine in one call.
    A probe whose table stays flat up to MAX_SPACING is a direction f does not depend on (a dead ReLU
    unit) and is dropped: a larger table would only reach the kink where the unit comes alive. The
    largest level is then confirmed at 10 times and a tenth of its spacing: noise keeps its size when the
    spacing changes, while a kink or the smooth part of f (which a function that cannot report its kinks
    may put in a table) grows or shrinks with it. An unconfirmed level is dropped and the next largest tried.
    """
    probes = np.asarray(probes, dtype=np.int64)
    group_of = np.zeros(probes.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    scales = _shared_scales(np.maximum(1.0, np.abs(theta[probes])), group_of)
    per_probe = np.full(probes.size, np.nan)
    spacing = FIRST_SPACING * scales
    counter = {"evaluations": 0.0, "gap": 0.0, "magnitude": abs(cost)}
    # The first round's calls also hold each probe's first f''' stencil, at the spacing a noise a little above the
    # usual float64 cost's would give (_third_derivative uses it where the noise measured is no larger): a call fewer.
    guess = GUESSED_NOISE * EPS * max(abs(cost), 1.0)
    stencil = min(max(100 * guess ** (1 / 3), 1e-5), 1e-1) / FIRST_SPACING  # in units of the first spacing
    first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    pending = np.arange(probes.size)
    for attempt in range(RETRIES):
        if not pending.size:
            break
        noise, status, stencils, flags = _tables(costs, probes, pending, spacing, group_of, counter,
                                                 stencil if attempt == 0 else 0.0)
        redo = pending[:0]
        if attempt == 0:  # a kink in a row of table and stencil: which one is not known, so the table again
            first = (stencil * spacing, stencils, flags)
            redo, status[flags] = pending[flags], -1
        found = status == OK
        per_probe[pending[found]] = noise[found]
        small = pending[status == TOO_SMALL]
        small = small[spacing[small] * 100 <= MAX_SPACING * scales[small] * (1 + 1e-9)]
        large = pending[status == TOO_LARGE]
        spacing[small] *= 100
        spacing[large] /= 100
        pending = np.sort(np.concatenate((small, large, redo)))
    floor = 0.5 * EPS * counter["magnitude"]  # a cost is never known better than its own last bit
    _drop_unconfirmed(costs, probes, per_probe, spacing, group_of, counter, floor)
    measured = np.isfinite(per_probe)
    repeat_gap = float(counter["gap"])
    noise_level = max(float(per_probe[measured].max()) if measured.any() else floor, floor, repeat_gap / np.sqrt(2))
    third, extra = _third_derivative(costs, probes, scales, noise_level, float(counter["magnitude"]), group_of,
                                     first)
    widest = float(spacing[measured].max()) if measured.any() else 0.0
    return NoiseEstimate(noise_level, third, repeat_gap, probes, per_probe, int(counter["evaluations"]) + extra,
                         float(counter["magnitude"]), widest)


def _drop_unconfirmed(costs: Costs, probes: np.ndarray, per_probe: np.ndarray, spacing: np.ndarray,
                      group_of: np.ndarray, counter: dict[str, float], floor: float) -> None:
    """Confirm the largest level (at 10 times and a tenth of its spacing), largest first until one holds: every
    level left above an unconfirmed one is set to NaN in per_probe, in place, however many (a kink at the point
    itself sits in the tables of every probe of its units, each unconfirmed). Levels within CONFIRM_ABOVE of the
    cost's last bit (`floor`) are not tried."""
    if not (per_probe > CONFIRM_ABOVE * floor).any():  # (NaN compares False)
        return
    for p in np.argsort(np.where(np.isnan(per_probe), 1.0, -per_probe)).tolist():
        level = float(per_probe[p])
        if not math.isfinite(level) or level <= CONFIRM_ABOVE * floor:
            return
        if _confirmed(costs, probes, p, level, (10.0 * spacing[p], 0.1 * spacing[p]), group_of, counter):
            return
        per_probe[p] = np.nan


def _shared_scales(scales: np.ndarray, group_of: np.ndarray) -> np.ndarray:
    """Each probe's scale max(1, |theta_i|) (scales, (p,)) raised to the largest of its decade in its group, so
    that probes of one group and decade share their spacings, hence their engine calls."""
    top = float(scales.max()) if scales.size else 1.0
    if scales.size < 2 or top == 1.0:  # (every |theta_i| <= 1: one spacing already)
        return scales
    if top < 10 and (group_of == group_of[0]).all():  # the usual case: one decade, one group, one scale
        return np.full(scales.size, top)
    decade = np.floor(np.log10(scales))
    shared = scales.copy()
    for key in set(zip(decade.tolist(), group_of.tolist(), strict=True)):
        members = (decade == key[0]) & (group_of == key[1])
        shared[members] = scales[members].max()
    return shared


def _calls(chosen: np.ndarray, spacing: np.ndarray, group_of: np.ndarray) -> list[np.ndarray]:
    """Positions in `chosen` (indices into the probes) that share one call: the same spacing and group."""
    spacings, groups = spacing[chosen], group_of[chosen]
    if (spacings == spacings[0]).all() and (groups == groups[0]).all():
        return [np.arange(chosen.size)]
    positions: dict[tuple[float, int], list[int]] = {}
    for position, key in enumerate(zip(spacings.tolist(), groups.tolist(), strict=True)):
        positions.setdefault(key, []).append(position)
    return [np.array(members) for members in positions.values()]


def _evaluate(costs: Costs, probes: np.ndarray, chosen: np.ndarray, spacing: np.ndarray, group_of: np.ndarray,
              pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f at theta + pattern * spacing[p] e_i for the probes p in `chosen`: values (c, D) and kink flags (c,), one
    call per (spacing, group)."""
    values, flags = np.empty((chosen.size, pattern.size)), np.zeros(chosen.size, dtype=bool)
    for members in _calls(chosen, spacing, group_of):
        picked = chosen[members]
        found, crossed = costs(probes[picked], pattern * spacing[picked[0]])
        values[members] = np.asarray(found, dtype=np.float64).reshape(picked.size, pattern.size)
        if crossed is not None:
            flags[members] = crossed
    return values, flags


def _tables(costs: Costs, probes: np.ndarray, chosen: np.ndarray, spacing: np.ndarray, group_of: np.ndarray,
            counter: dict[str, float], stencil: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ECnoise on the tables of probes `chosen` (indices into probes, (c,)) at their spacings: levels (c,),
    status codes (c,) (TOO_LARGE where a kink was crossed), the values of f''' stencils spaced `stencil` times
    each table's spacing when asked for (in the same calls; else (c, 0)), and the kink flags (c,). counter
    collects the evaluations, the largest gap between the two costs at theta, and the largest |f| seen."""
    pattern = np.concatenate((WITH_THETA, THIRD_STENCIL * stencil)) if stencil else WITH_THETA
    rows, flags = _evaluate(costs, probes, chosen, spacing, group_of, pattern)
    counter["evaluations"] += rows.size
    tables = rows[:, : WITH_THETA.size]
    counter["gap"] = max(counter["gap"], float(np.abs(tables[:, 3] - tables[:, -1]).max()))
    counter["magnitude"] = max(counter["magnitude"], float(np.abs(tables).max()))
    noise, status = ecnoise_levels(tables[:, :-1])  # one ECnoise over every table: its cost is numpy calls
    if flags.any():  # a kink's jump is not noise
        noise[flags], status[flags] = 0.0, TOO_LARGE
    return noise, status, rows[:, WITH_THETA.size :], flags


def _confirmed(costs: Costs, probes: np.ndarray, p: int, level: float, spacings: tuple[float, ...],
               group_of: np.ndarray, counter: dict[str, float]) -> bool:
    """Does some table of probe p at one of `spacings` find `level` again (within a factor 4)?"""
    for h in spacings:
        noise, status = _tables(costs, probes, np.array([p]), np.full(probes.size, h), group_of, counter)[:2]
        if status[0] == OK and level / 4 <= noise[0] <= 4 * level:
            return True
    return False


def at_step(costs: Costs, estimate: NoiseEstimate, step: float, groups: np.ndarray | None = None,
            one_per_group: bool = False) -> NoiseEstimate:
    """The estimate, with its noise raised to what tables spaced like the check itself (step / 2) see.

    A staircase cost (a float32 output whose 1 - A moves in steps of one float32 ulp, a rounded
    intermediate) looks smooth in a table spaced far inside one stair, and its stairs are the noise a
    central difference of that step inherits. One table per probe (per group with one_per_group) at the
    check's own scale catches them; a level that would raise the noise is believed once a table ten times
    wider confirms it. The tables share one call (groups only choose the probes: an evaluator whose calls
    must not mix groups, e.g. layers, is measure_noise's concern, not this one's few tables).
    """
    probes = estimate.probes
    group_of = np.zeros(probes.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    counter = {"evaluations": 0.0, "gap": estimate.repeat_gap, "magnitude": estimate.cost}
    chosen = np.arange(probes.size)
    if one_per_group:  # a large network: one table per layer keeps this a call of a few evaluations
        firsts: dict[int, int] = {}
        for position, group in enumerate(group_of.tolist()):
            firsts.setdefault(group, position)
        chosen = np.array([firsts[group] for group in sorted(firsts)])  # np.unique's return_index, without its cost
    group_of = np.zeros(probes.size, dtype=np.int64)  # one call
    levels, status = _tables(costs, probes, chosen, np.full(probes.size, step / 2), group_of, counter)[:2]
    noise = estimate.noise
    # A level that would raise the noise must hold at ten times the spacing: stairs keep their height, while a
    # kink inside the table (a cost that cannot report its kinks) shows a level that grows with the spacing.
    raising = (status == OK) & (levels > 2 * noise)
    order = np.lexsort((chosen[raising], levels[raising]))[::-1][:CONFIRMATIONS]  # the largest first
    for level, p in zip(levels[raising][order].tolist(), chosen[raising][order].tolist(), strict=True):
        if _confirmed(costs, probes, p, level, (5 * step,), group_of, counter):
            noise = level
            break
    return replace(estimate, noise=noise, repeat_gap=float(counter["gap"]),
                   evaluations=estimate.evaluations + int(counter["evaluations"]))


def _third_derivative(costs: Costs, probes: np.ndarray, scales: np.ndarray, noise: float, magnitude: float,
                      group_of: np.ndarray, first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                      ) -> tuple[float, int]:
    """max over probes of |f'''| from the 4-point stencil, at a spacing where the stencil resolves it (at
    least THIRD_RESOLVED times its own noise 1.6 sigma / s^3). The spacing starts where that noise is ~1e-6,
    shrinks past ReLU kinks and grows (up to 0.1) while unresolved. A probe still unresolved at 0.1 has a
    tiny f''' (counted as its bound); one that never resolves below a kink tells nothing, and one whose
    estimate lies 5 of its stencil's standard deviations below the largest found cannot raise the max (it is
    not refined). If no probe tells anything, |f'''| is taken as max(1, |f|): the size of a smooth cost's
    derivatives on the unit scale. Probes that share a spacing share a call.

    first: each probe's stencil evaluated before sigma was known (measure_noise's first calls): its spacings
    (p,), values (p, 4) and kink flags (p,). Where it is at least as wide as sigma's spacing it is judged like
    any round, and a probe it leaves open goes on from a tenth of it past a kink or ten times it while
    unresolved (or sigma's spacing, if further along); a narrower one is not used (a float32 cost's noise is far
    above the guess, and a kink a black-box cost cannot report weighs 1 / s^2 in a stencil): the guess can
    only save rounds, never start one closer in."""
    largest = 1e-1 * scales
    s = np.minimum(np.maximum(100 * max(noise, 1e-300) ** (1 / 3) * scales, 1e-5 * scales), largest)
    best, evaluations, informed = 0.0, 0, False
    active = np.arange(probes.size)
    waiting = active[:0]  # probes whose first stencil was narrower than sigma's spacing: they start there
    for attempt in range(4 if first is None else 5):
        if not active.size:
            break
        if attempt == 0 and first is not None:
            h, f, flags = first
            usable = h >= s * (1 - 1e-9)  # a narrower one would see more of a kink its cost cannot report
            waiting, active = active[~usable], active[usable]
            h, f, flags = h[usable], f[usable], flags[usable]
        else:
            f, flags = _evaluate(costs, probes, active, s, group_of, THIRD_STENCIL)
            evaluations += f.size
            h = s[active]
        third = np.abs(f[:, 3] - 2 * f[:, 2] + 2 * f[:, 1] - f[:, 0]) / (2 * h**3)
        stencil_noise = THIRD_NOISE * noise / h**3
        resolved = ~flags & (third >= THIRD_RESOLVED * stencil_noise)
        if resolved.size and resolved.all():  # the usual end: every stencil of the round resolved its f'''
            best, informed = max(best, float(third.max())), True
            active, waiting = waiting, waiting[:0]
            continue
        widest = ~flags & ~resolved & (h >= largest[active] * (1 - 1e-9))  # still unresolved at 0.1: its bound
        if resolved.any() or widest.any():
            best = max(best, float(np.where(resolved, third, np.where(widest, third + stencil_noise, 0.0)).max()))
            informed = True
        grow = ~(flags | resolved | widest) & (third + 5 * stencil_noise > best)
        s[active[flags]] = np.minimum(s[active[flags]], h[flags] / 10)  # a ReLU kink inside: its jump is no f'''
        s[active[grow]] = np.maximum(s[active[grow]], np.minimum(10 * h[grow], largest[active[grow]]))
        active = np.sort(np.concatenate((active[flags | grow], waiting)))
        waiting = waiting[:0]
    return (best if informed else max(1.0, magnitude)), evaluations


def chosen_step(noise: float, third: float, scale: float = 1.0) -> float:
    """The central-difference step minimising noise / h + h^2 |f'''| / 6:  h* = (3 sigma / |f'''|)^(1/3).

    Clamped to [MIN_STEP, MAX_STEP] * max(1, scale): an f''' of 0 (a quadratic) allows any step, and the
    largest allowed keeps the noise term smallest.
    """
    factor = max(1.0, scale)
    if third <= 0:
        return MAX_STEP * factor
    return float(min(max((3 * noise / third) ** (1 / 3), MIN_STEP * factor), MAX_STEP * factor))  # np.clip, on floats


def probe_entries(gradient: np.ndarray, starts: list[int], stops: list[int], seed: int = 0) -> np.ndarray:
    """Two probes per block: its largest |gradient| entry (the cost surely moves along it) and a seeded
    random one. gradient: (n,); blocks given by their [start, stop) ranges. Returns sorted unique indices."""
    rng = _seeded(seed)
    absolute = np.abs(gradient)
    moving = np.flatnonzero(gradient)  # f surely depends on these; a dead unit's entry may not
    lows, highs = np.searchsorted(moving, starts).tolist(), np.searchsorted(moving, stops).tolist()
    chosen = set()
    for start, stop, low, high in zip(starts, stops, lows, highs, strict=True):
        if stop <= start:
            continue
        chosen.add(start + int(absolute[start:stop].argmax()))
        # rng.choice(the block's moving entries) draws rng.integers(0, their count): the same stream, fewer calls
        chosen.add(int(moving[low + int(rng.integers(0, high - low))]) if high > low
                   else int(rng.integers(start, stop)))
    return np.array(sorted(chosen), dtype=np.int64)


_GENERATORS = threading.local()  # per thread: seed -> (a Generator, its state at the start of the seed's stream)


def _seeded(seed: int) -> np.random.Generator:
    """np.random.default_rng(seed), at the start of its stream: one kept per thread and reset (building one
    costs ~12 us, a fifth of a small measured check's ECnoise)."""
    kept: dict[int, tuple[np.random.Generator, Any]] | None = getattr(_GENERATORS, "by_seed", None)
    if kept is None or len(kept) > 16:
        kept = _GENERATORS.by_seed = {}
    if seed not in kept:
        bits = np.random.PCG64(seed)  # what default_rng(seed) builds
        kept[seed] = (np.random.Generator(bits), bits.state)
    generator, start = kept[seed]
    generator.bit_generator.state = start
    return generator
