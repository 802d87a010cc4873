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

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

# costs(indices (k,), offsets (D,)) -> (values (k, D), crossed (k,) bool or None): f at theta + offsets[j] e_i
Costs = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]

TABLE = np.arange(-3.0, 4.0)  # 7 points, spacing units; 0 is theta itself
FIRST_SPACING = 1e-6  # times max(1, |theta_i|): moves a cost of size 1 by far more than its round-off
RETRIES = 3  # Moré and Wild's re-tries: spacing x100 (too small) or /100 (too large)
MAX_SPACING = 1e-4  # times max(1, |theta_i|): flat up to here, the probe's direction does not move f
CONFIRMATIONS = 3  # largest levels re-measured at other spacings before one is believed
CONFIRM_ABOVE = 100.0  # levels within this many times the round-off floor need no confirmation
THIRD_STENCIL = np.array([-2.0, -1.0, 1.0, 2.0])  # f''' ~ (f(2s) - 2 f(s) + 2 f(-s) - f(-2s)) / (2 s^3)
THIRD_NOISE = np.sqrt(10.0) / 2  # the stencil's noise: sqrt(1 + 4 + 4 + 1) sigma / (2 s^3)
THIRD_RESOLVED = 10.0  # accept an f''' estimate at least this many times its own noise
MAX_STEP = 1e-2  # the chosen step never exceeds this (times max(1, rms(theta))): ReLU kinks get likely
MIN_STEP = 1e-8
RANDOM_GAP = 1e3  # two costs at the same theta differing by more than this many eps |J|: f is random


@dataclass(frozen=True)
class TableNoise:
    """ECnoise on one table: the noise level (0 if none found), and "ok", "too small" or "too large"."""

    noise: float
    status: str


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
    f = np.asarray(rows, dtype=np.float64)
    t, nf = f.shape
    levels, sign_changes = np.empty((t, nf - 1)), np.empty((t, nf - 1), dtype=bool)
    gamma, differences = 1.0, f
    for k in range(1, nf):
        differences = differences[:, 1:] - differences[:, :-1]
        if k == 1:  # f did not move: the spacing is below f's resolution
            flat = np.count_nonzero(differences == 0, axis=1) >= nf / 2
        gamma *= 0.5 * k / (2 * k - 1)  # (k!)^2 / (2k)!
        levels[:, k - 1] = np.sqrt(gamma * (differences * differences).sum(axis=1) / (nf - k))
        sign_changes[:, k - 1] = differences.min(axis=1) * differences.max(axis=1) < 0
    windows = np.lib.stride_tricks.sliding_window_view(levels, 3, axis=1)  # (t, nf - 3, 3): levels k .. k + 2
    plateau = (windows.max(axis=2) <= 4 * windows.min(axis=2)) & sign_changes[:, : nf - 3]
    first = np.argmax(plateau, axis=1)
    return [TableNoise(0.0, "too small") if flat[row] else
            TableNoise(float(levels[row, first[row]]), "ok") if plateau[row, first[row]] else
            TableNoise(0.0, "too large") for row in range(t)]


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
        return self.repeat_gap > RANDOM_GAP * float(np.finfo(np.float64).eps) * max(self.cost, 1e-300)

    def relative(self) -> float:
        """sigma / |f|: about eps (1e-16) for a clean float64 cost, 1e-8 for a float32 one."""
        return self.noise / self.cost if self.cost > 0 else np.inf


def measure_noise(costs: Costs, theta: np.ndarray, probes: np.ndarray, cost: float,
                  groups: np.ndarray | None = None) -> NoiseEstimate:
    """sigma and |f'''| of f at theta along the coordinates `probes` (a few, e.g. one or two per block).

    costs: the check's own evaluator; theta: (n,) float64; cost: f(theta). Each probe costs 8
    evaluations per table (7 points and theta again, to catch a random f) and 4 per f''' attempt; probes
    that share a spacing (and a group, when `groups` (one id per probe) is given) share a call, so the whole
    measurement is a handful of calls.
    A probe whose table stays flat up to MAX_SPACING is a direction f does not depend on (a dead ReLU
    unit) and is dropped: a larger table would only reach the kink where the unit comes alive. The
    largest level is then confirmed at 10 times and a tenth of its spacing: noise keeps its size when the
    spacing changes, while a kink or the smooth part of f (which a function that cannot report its kinks
    may put in a table) grows or shrinks with it. An unconfirmed level is dropped and the next largest tried.
    """
    probes = np.asarray(probes, dtype=np.int64)
    group_of = np.zeros(probes.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    scales = np.maximum(1.0, np.abs(theta[probes]))
    eps = float(np.finfo(np.float64).eps)
    per_probe = np.full(probes.size, np.nan)
    spacing = FIRST_SPACING * scales
    counter = {"evaluations": 0.0, "gap": 0.0, "magnitude": abs(cost)}
    def tables(chosen: list[int], factor: float = 1.0) -> list[TableNoise]:
        return _tables(costs, probes, chosen, spacing * factor, group_of, counter)

    pending = list(range(probes.size))
    for _ in range(RETRIES):
        retry = []
        for p, found in zip(pending, tables(pending), strict=True):
            if found.status == "ok":
                per_probe[p] = found.noise
            elif found.status == "too small" and spacing[p] * 100 <= MAX_SPACING * scales[p] * (1 + 1e-9):
                spacing[p] *= 100
                retry.append(p)
            elif found.status == "too large":
                spacing[p] /= 100
                retry.append(p)
        pending = retry
    floor = 0.5 * eps * counter["magnitude"]  # a cost is never known better than its own last bit
    for p in np.argsort(-np.nan_to_num(per_probe, nan=-1.0))[:CONFIRMATIONS]:
        if not np.isfinite(per_probe[p]) or per_probe[p] <= CONFIRM_ABOVE * floor:
            break
        level = per_probe[p]
        checks = [c for factor in (10.0, 0.1) for c in tables([int(p)], factor)]
        if any(c.status == "ok" and level / 4 <= c.noise <= 4 * level for c in checks):
            break
        per_probe[p] = np.nan
    found_levels = per_probe[np.isfinite(per_probe)]
    repeat_gap = float(counter["gap"])
    noise = max(float(found_levels.max()) if found_levels.size else floor, floor, repeat_gap / np.sqrt(2))
    third, extra = _third_derivative(costs, probes, scales, noise, float(counter["magnitude"]), group_of)
    widest = float(spacing[np.isfinite(per_probe)].max()) if np.isfinite(per_probe).any() else 0.0
    return NoiseEstimate(noise, third, repeat_gap, probes, per_probe, int(counter["evaluations"]) + extra,
                         float(counter["magnitude"]), widest)


def _tables(costs: Costs, probes: np.ndarray, chosen: list[int], spacing: np.ndarray, group_of: np.ndarray,
            counter: dict[str, float]) -> list[TableNoise]:
    """ECnoise on the tables of probes `chosen` at their spacings, one call per (spacing, group); counter
    collects the evaluations, the largest gap between the two costs at theta, and the largest |f| seen."""
    with_theta = np.concatenate((TABLE, [0.0]))  # the 8th point: theta again
    if not chosen:
        return []
    order: list[int] = []
    all_rows, all_flags = [], []
    for h, g in {(float(spacing[p]), int(group_of[p])) for p in chosen}:
        group = [p for p in chosen if spacing[p] == h and group_of[p] == g]
        values, crossed = costs(probes[group], with_theta * h)
        order += group
        all_rows.append(np.asarray(values, dtype=np.float64).reshape(len(group), with_theta.size))
        all_flags.append(np.zeros(len(group), dtype=bool) if crossed is None else np.asarray(crossed, dtype=bool))
    rows = np.concatenate(all_rows)
    counter["evaluations"] += rows.size
    counter["gap"] = max(counter["gap"], float(np.max(np.abs(rows[:, 3] - rows[:, -1]))))
    counter["magnitude"] = max(counter["magnitude"], float(np.max(np.abs(rows))))
    # one ECnoise over every table of the round: its cost is numpy calls, not arithmetic
    found = {p: TableNoise(0.0, "too large") if flag else table  # a kink's jump is not noise
             for p, flag, table in zip(order, np.concatenate(all_flags), ecnoise_rows(rows[:, :-1]), strict=True)}
    return [found[p] for p in chosen]


def at_step(costs: Costs, estimate: NoiseEstimate, step: float, groups: np.ndarray | None = None,
            one_per_group: bool = False) -> NoiseEstimate:
    """The estimate, with its noise raised to what tables spaced like the check itself (step / 2) see.

    A staircase cost (a float32 output whose 1 - A moves in steps of one float32 ulp, a rounded
    intermediate) looks smooth in a table spaced far inside one stair, and its stairs are the noise a
    central difference of that step inherits. One table per probe (per group with one_per_group) at the
    check's own scale catches them; a level that would raise the noise is believed once a table ten times
    wider confirms it.
    """
    probes = estimate.probes
    group_of = np.zeros(probes.size, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    counter = {"evaluations": 0.0, "gap": estimate.repeat_gap, "magnitude": estimate.cost}
    chosen = list(range(probes.size))
    if one_per_group:  # a large network: one table per layer keeps this a few calls of a few evaluations
        chosen = [int(np.flatnonzero(group_of == g)[0]) for g in np.unique(group_of)]
    found = dict(zip(chosen, _tables(costs, probes, chosen, np.full(probes.size, step / 2), group_of, counter),
                     strict=True))
    noise = estimate.noise
    # A level that would raise the noise must hold at ten times the spacing: stairs keep their height, while a
    # kink inside the table (a cost that cannot report its kinks) shows a level that grows with the spacing.
    raising = sorted((t.noise, p) for p, t in found.items() if t.status == "ok" and t.noise > 2 * noise)
    for level, p in reversed(raising[-CONFIRMATIONS:]):
        check = _tables(costs, probes, [p], np.full(probes.size, 5 * step), group_of, counter)[0]
        if check.status == "ok" and level / 4 <= check.noise <= 4 * level:
            noise = level
            break
    return replace(estimate, noise=noise, repeat_gap=float(counter["gap"]),
                   evaluations=estimate.evaluations + int(counter["evaluations"]))


def _third_derivative(costs: Costs, probes: np.ndarray, scales: np.ndarray, noise: float,
                      magnitude: float, group_of: np.ndarray) -> tuple[float, int]:
    """max over probes of |f'''| from the 4-point stencil, at a spacing where the stencil resolves it (at
    least THIRD_RESOLVED times its own noise 1.6 sigma / s^3). The spacing starts where that noise is ~1e-6,
    shrinks past ReLU kinks and grows (up to 0.1) while unresolved. A probe still unresolved at 0.1 has a
    tiny f''' (counted as its bound); one that never resolves below a kink tells nothing. If no probe tells
    anything, |f'''| is taken as max(1, |f|): the size of a smooth cost's derivatives on the unit scale.
    Probes that share a spacing share a call."""
    largest = 1e-1 * scales
    s = np.minimum(np.maximum(100 * max(noise, 1e-300) ** (1 / 3) * scales, 1e-5 * scales), largest)
    best, evaluations, informed = 0.0, 0, False
    active = list(range(probes.size))
    for _ in range(4):
        if not active:
            break
        still = []
        for h, g in {(float(s[p]), int(group_of[p])) for p in active}:
            group = [p for p in active if s[p] == h and group_of[p] == g]
            values, crossed = costs(probes[group], THIRD_STENCIL * h)
            evaluations += THIRD_STENCIL.size * len(group)
            rows = np.asarray(values, dtype=np.float64).reshape(len(group), THIRD_STENCIL.size)
            flags = np.zeros(len(group), dtype=bool) if crossed is None else np.asarray(crossed, dtype=bool)
            for f, p, flag in zip(rows, group, flags, strict=True):
                if flag:  # a ReLU kink inside the stencil: its jump is not a third derivative
                    s[p] /= 10
                    still.append(p)
                    continue
                third = abs(float(f[3] - 2 * f[2] + 2 * f[1] - f[0])) / (2 * h**3)
                stencil_noise = THIRD_NOISE * noise / h**3
                if third >= THIRD_RESOLVED * stencil_noise:
                    best, informed = max(best, third), True
                elif h >= largest[p] * (1 - 1e-9):
                    best, informed = max(best, third + stencil_noise), True
                else:
                    s[p] = min(10 * h, largest[p])
                    still.append(p)
        active = still
    return (best if informed else max(1.0, magnitude)), evaluations


def chosen_step(noise: float, third: float, scale: float = 1.0) -> float:
    """The central-difference step minimising noise / h + h^2 |f'''| / 6:  h* = (3 sigma / |f'''|)^(1/3).

    Clamped to [MIN_STEP, MAX_STEP] * max(1, scale): an f''' of 0 (a quadratic) allows any step, and the
    largest allowed keeps the noise term smallest.
    """
    factor = max(1.0, scale)
    if third <= 0:
        return MAX_STEP * factor
    return float(np.clip((3 * noise / third) ** (1 / 3), MIN_STEP * factor, MAX_STEP * factor))


def probe_entries(gradient: np.ndarray, starts: list[int], stops: list[int], seed: int = 0) -> np.ndarray:
    """Two probes per block: its largest |gradient| entry (the cost surely moves along it) and a seeded
    random one. gradient: (n,); blocks given by their [start, stop) ranges. Returns sorted unique indices."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for start, stop in zip(starts, stops, strict=True):
        if stop <= start:
            continue
        chosen.append(start + int(np.argmax(np.abs(gradient[start:stop]))))
        moving = np.flatnonzero(gradient[start:stop])  # f surely depends on these; a dead unit's entry may not
        chosen.append(start + int(rng.choice(moving)) if moving.size else int(rng.integers(start, stop)))
    return np.unique(np.array(chosen, dtype=np.int64))
