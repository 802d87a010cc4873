"""How noisy is a cost at theta, how curved is it, and which step that implies: measured, not assumed.

A numerical derivative divides the cost's noise (round-off, a float32 cast, a random mask) by its step.
Moré and Wild's ECnoise ("Estimating Computational Noise", SIAM J. Sci. Comput. 33(3), 2011) measures it:
f at 7 equally spaced points along a direction, then the difference table. The k-th differences of a
smooth f shrink like spacing^k; those of independent noise of standard deviation sigma do not:

    E[(Delta^k noise)^2] = C(2k, k) sigma^2,    so  sigma ~ sqrt(gamma_k mean((Delta^k f)^2)),  gamma_k = (k!)^2 / (2k)!

Three consecutive levels within a factor 4 whose k-th differences change sign: the table sees noise. Half
the first differences 0: the spacing is too small; no plateau: too large (retried 100 times larger or
smaller). The directions are coordinates of theta ("probes") through the check's own `costs`, so the noise
is that of the values compared. The same probes give |f'''| (a 4-point stencil), hence the step balancing
noise / h and h^2 |f'''| / 6:  h* = (3 sigma / |f'''|)^(1/3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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
THIRD_ROUNDS = 4  # stencils evaluated per probe, past a usable free one in the first tables' call
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


def ecnoise(values: np.ndarray) -> TableNoise:
    """Moré and Wild's ECnoise on f at equally spaced points, values (nf,), nf >= 4. Their "too large" test on
    f varying by over 10% of |f| is left out: near f = 0 (a cost at its minimum) it refuses every spacing."""
    noise, status = ecnoise_rows(np.asarray(values, dtype=np.float64).reshape(1, -1))
    return TableNoise(float(noise[0]), str(status[0]))


def ecnoise_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`ecnoise` of each row of rows (t, nf): the levels (t,) (0 where none) and statuses (t,). Every row's
    differences of every order sit in one zero-padded table, so each step is one numpy call for all of a
    measurement's tables; the zeros change no sum of squares and no sign test (it needs both signs)."""
    f = np.asarray(rows, dtype=np.float64)
    t, nf = f.shape
    table = np.zeros((nf - 1, t, nf - 1))  # table[j, r, k - 1]: the j-th k-th difference of row r
    differences, gammas, gamma = f.T, [], 1.0
    for k in range(1, nf):
        differences = np.subtract(differences[1:], differences[:-1], out=table[: nf - k, :, k - 1])
        gamma *= 0.5 * k / (2 * k - 1)  # (k!)^2 / (2k)!
        gammas.append(gamma)
    levels = np.sqrt(np.array(gammas) * np.sum(table * table, axis=0) / np.arange(nf - 1.0, 0, -1))  # (t, nf - 1)
    changes = table.min(axis=0) * table.max(axis=0) < 0  # the k-th differences change sign
    trios = (levels[:, :-2], levels[:, 1:-1], levels[:, 2:])  # a plateau: 3 levels within a factor 4 (NaN: none)
    plateau = changes[:, :-2] & (np.maximum.reduce(trios) <= 4 * np.minimum.reduce(trios))
    flat = np.sum(table[:, :, 0] == 0, axis=0) >= nf / 2  # f did not move: the spacing is below its resolution
    found = plateau.any(axis=1) & ~flat
    noise = np.where(found, levels[np.arange(t), plateau.argmax(axis=1)], 0.0)  # the first plateau's level
    return noise, np.where(flat, "too small", np.where(found, "ok", "too large"))


@dataclass(frozen=True)
class NoiseEstimate:
    """What the probes measured: noise, sigma at theta (the largest over the probes, at least |cost|'s round-off);
    third, the largest |f'''| along them; repeat_gap, the largest |f(theta) - f(theta)|; probes (p,) and each
    one's sigma per_probe (p,) (nan: no level found); evaluations taken; cost, |f| at theta as the probes saw
    it; spacing, the widest at which a table found its level."""

    noise: float
    third: float
    repeat_gap: float
    probes: np.ndarray
    per_probe: np.ndarray
    evaluations: int
    cost: float
    spacing: float = 0.0

    @property
    def random(self) -> bool:
        """Two evaluations at the same theta differ by far more than round-off: f draws random numbers."""
        return self.repeat_gap > RANDOM_GAP * EPS * max(self.cost, 1e-300)

    def relative(self) -> float:
        """sigma / |f|: about eps (1e-16) for a clean float64 cost, 1e-8 for a float32 one."""
        return self.noise / self.cost if self.cost > 0 else np.inf


@dataclass
class _Seen:
    """What the tables have seen so far: costs evaluated, the largest gap of f(theta) to itself, the largest |f|."""

    evaluations: int
    gap: float
    magnitude: float


def measure_noise(costs: Costs, theta: np.ndarray, probes: np.ndarray, cost: float) -> NoiseEstimate:
    """sigma and |f'''| of f at theta (n,) along the coordinates `probes` (p,); cost: f(theta). A probe's table
    (7 points and theta again, to catch a random f) starts at FIRST_SPACING times its scale and moves 100-fold
    until ECnoise finds a level; one flat up to MAX_SPACING (a dead ReLU unit) is dropped: a wider table would
    only reach the kink where the unit comes alive."""
    probes = np.asarray(probes, dtype=np.int64)
    scales = _decade_scales(theta[probes])
    spacing, per_probe, seen = FIRST_SPACING * scales, np.full(probes.size, np.nan), _Seen(0, 0.0, abs(cost))
    # The first tables' calls also hold each probe's first f''' stencil (spaced for GUESSED_NOISE): a call fewer.
    ratio = _stencil_spacing(GUESSED_NOISE * EPS * max(abs(cost), 1.0)) / FIRST_SPACING
    pattern, pending = np.concatenate((WITH_THETA, THIRD_STENCIL * ratio)), np.arange(probes.size)
    first = (ratio * spacing, np.empty((probes.size, THIRD_STENCIL.size)), np.zeros(probes.size, dtype=bool))
    for attempt in range(RETRIES):
        if not pending.size:
            break
        noise, status, stencils, flags = _tables(costs, probes[pending], spacing[pending], seen, pattern)
        again = np.zeros(pending.size, dtype=bool)
        if attempt == 0:  # a kink crossed by a table or its stencil: which is not known, so the table again
            first, pattern, again = (first[0], stencils, flags), WITH_THETA, flags
        per_probe[pending[status == "ok"]] = noise[status == "ok"]
        small, large = pending[status == "too small"], pending[(status == "too large") & ~again]
        small = small[spacing[small] * 100 <= MAX_SPACING * scales[small] * (1 + 1e-9)]
        spacing[small] *= 100
        spacing[large] /= 100
        pending = np.sort(np.concatenate((small, large, pending[again])))
    floor = 0.5 * EPS * seen.magnitude  # a cost is never known better than its own last bit
    _drop_unconfirmed(costs, probes, per_probe, spacing, seen, floor)
    measured = np.isfinite(per_probe)
    noise_level = max(float(per_probe[measured].max()) if measured.any() else floor, floor, seen.gap / np.sqrt(2))
    third, extra = _third_derivative(costs, probes, scales, noise_level, seen.magnitude, first)
    widest = float(spacing[measured].max()) if measured.any() else 0.0
    return NoiseEstimate(noise_level, third, seen.gap, probes, per_probe, seen.evaluations + extra, seen.magnitude,
                         widest)


def _decade_scales(values: np.ndarray) -> np.ndarray:
    """Each probe's scale max(1, |theta_i|) (values: theta at the probes, (p,)), raised to the largest of its
    decade: probes of a decade share their spacings, hence their calls (a factor under 10 changes no level)."""
    scales = np.maximum(1.0, np.abs(values))
    decades = np.floor(np.log10(scales))
    return np.where(decades[:, None] == decades, scales, 0.0).max(axis=1, initial=1.0)


def _drop_unconfirmed(costs: Costs, probes: np.ndarray, per_probe: np.ndarray, spacing: np.ndarray, seen: _Seen,
                      floor: float) -> None:
    """Confirm levels above CONFIRM_ABOVE `floor`s at 10 and 0.1 times their spacing, largest first until one holds,
    setting each unconfirmed one to NaN in per_probe (p,): noise keeps its size when the spacing changes, while a
    kink (one at the point sits in every table of its units) or f's smooth part grows or shrinks with it."""
    for p in np.argsort(np.where(np.isnan(per_probe), 1.0, -per_probe)).tolist():
        level = float(per_probe[p])
        if not level > CONFIRM_ABOVE * floor:  # (NaN, or near the floor: the rest are smaller)
            return
        if _confirmed(costs, probes[p], level, (10.0 * spacing[p], 0.1 * spacing[p]), seen):
            return
        per_probe[p] = np.nan


def _evaluate(costs: Costs, entries: np.ndarray, spacings: np.ndarray, pattern: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """f at theta + pattern[j] spacings[r] e_entries[r]: values (c, D) and kink flags (c,), one call per spacing."""
    values, flags = np.empty((entries.size, pattern.size)), np.zeros(entries.size, dtype=bool)
    for h in dict.fromkeys(spacings.tolist()):  # (in order of first appearance)
        rows = np.flatnonzero(spacings == h)
        found, crossed = costs(entries[rows], pattern * h)
        values[rows] = np.asarray(found, dtype=np.float64).reshape(rows.size, pattern.size)
        if crossed is not None:
            flags[rows] = crossed
    return values, flags


def _tables(costs: Costs, entries: np.ndarray, spacings: np.ndarray, seen: _Seen, pattern: np.ndarray = WITH_THETA
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ECnoise on a table along each of `entries` (c,) at its spacing (c,): levels (c,), statuses (c,) ("too large"
    past a kink: its jump is not noise), f at pattern's offsets past WITH_THETA (c, D - 8) and kink flags (c,)."""
    rows, flags = _evaluate(costs, entries, spacings, pattern)
    seen.evaluations += rows.size
    tables = rows[:, : WITH_THETA.size]
    seen.gap = max(seen.gap, float(np.abs(tables[:, 3] - tables[:, -1]).max()))
    seen.magnitude = max(seen.magnitude, float(np.abs(tables).max()))
    noise, status = ecnoise_rows(tables[:, :-1])
    noise[flags], status[flags] = 0.0, "too large"
    return noise, status, rows[:, WITH_THETA.size :], flags


def _confirmed(costs: Costs, entry: int, level: float, spacings: tuple[float, ...], seen: _Seen) -> bool:
    """Does a table along theta's `entry` at one of `spacings` find `level` again (within a factor 4)?"""
    for h in spacings:
        noise, status = _tables(costs, np.array([entry]), np.array([h]), seen)[:2]
        if status[0] == "ok" and level / 4 <= noise[0] <= 4 * level:
            return True
    return False


def at_step(costs: Costs, estimate: NoiseEstimate, step: float, groups: np.ndarray | None = None,
            one_per_group: bool = False) -> NoiseEstimate:
    """The estimate, its noise raised to what tables spaced like the check (step / 2) see: a staircase cost (a
    float32 1 - A) looks smooth inside one stair, yet a central difference of that step inherits the stairs. One
    table per probe (per group, groups (p,), with one_per_group: a large network) in one call; a level raising the
    noise is believed once a table 10 times wider finds it too (a kink inside grows with the spacing)."""
    probes, noise, seen = estimate.probes, estimate.noise, _Seen(0, estimate.repeat_gap, estimate.cost)
    one_per_group = one_per_group and groups is not None
    chosen = np.unique(np.asarray(groups), return_index=True)[1] if one_per_group else np.arange(probes.size)
    levels, status = _tables(costs, probes[chosen], np.full(chosen.size, step / 2), seen)[:2]
    raising = (status == "ok") & (levels > 2 * noise)
    order = np.lexsort((chosen[raising], levels[raising]))[::-1][:CONFIRMATIONS]  # the largest first
    for level, p in zip(levels[raising][order].tolist(), chosen[raising][order].tolist(), strict=True):
        if _confirmed(costs, int(probes[p]), level, (5 * step,), seen):
            noise = level
            break
    return replace(estimate, noise=noise, repeat_gap=seen.gap, evaluations=estimate.evaluations + seen.evaluations)


def _stencil_spacing(noise: float) -> float:
    """Where the f''' stencil's own noise is ~1e-6, clipped to [1e-5, 1e-1] (times a probe's scale)."""
    return float(np.clip(100 * max(noise, 1e-300) ** (1 / 3), 1e-5, 1e-1))


def _third_derivative(costs: Costs, probes: np.ndarray, scales: np.ndarray, noise: float, magnitude: float,
                      first: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[float, int]:
    """max over probes of |f'''| from the 4-point stencil where it resolves it (THIRD_RESOLVED times its noise
    1.6 sigma / s^3), and the evaluations taken. first: the first tables' stencils (spacings (p,), values (p, 4),
    kink flags (p,)), used where no narrower than sigma's `_stencil_spacing` (a narrower one sees more of a kink
    a cost cannot report), else the stencil starts there; 10 times closer past a kink, wider (up to 0.1) while
    unresolved. Unresolved at 0.1: its bound counts; 5 noises below the best: it stops. None: max(1, |f|)."""
    largest, s = 1e-1 * scales, _stencil_spacing(noise) * scales
    usable = first[0] >= s * (1 - 1e-9)
    start, rounds, active = np.where(usable, first[0], s), THIRD_ROUNDS + usable, np.arange(probes.size)
    best, evaluations, informed = 0.0, 0, False
    for attempt in range(THIRD_ROUNDS + 1):
        if not active.size:
            break
        h = (start if attempt == 0 else s)[active]
        if attempt == 0:
            f, flags, fresh = first[1], first[2], ~usable  # (the first tables' own rows: filled in place)
        else:
            f, flags, fresh = np.empty((active.size, 4)), np.zeros(active.size, dtype=bool), active >= 0
        f[fresh], flags[fresh] = _evaluate(costs, probes[active[fresh]], h[fresh], THIRD_STENCIL)
        evaluations += THIRD_STENCIL.size * int(fresh.sum())
        third = np.abs(f[:, 3] - 2 * f[:, 2] + 2 * f[:, 1] - f[:, 0]) / (2 * h**3)
        stencil_noise = THIRD_NOISE * noise / h**3
        resolved = ~flags & (third >= THIRD_RESOLVED * stencil_noise)
        widest = ~flags & ~resolved & (h >= largest[active] * (1 - 1e-9))  # still unresolved at 0.1: its bound
        if (resolved | widest).any():
            best = max(best, float(np.where(resolved, third, np.where(widest, third + stencil_noise, 0.0)).max()))
            informed = True
        grow = ~(flags | resolved | widest) & (third + 5 * stencil_noise > best)
        s[active[flags]] = np.minimum(s[active[flags]], h[flags] / 10)  # a ReLU kink inside: its jump is no f'''
        s[active[grow]] = np.maximum(s[active[grow]], np.minimum(10 * h[grow], largest[active[grow]]))
        active = active[(flags | grow) & (rounds[active] > attempt + 1)]
    return (best if informed else max(1.0, magnitude)), evaluations


def chosen_step(noise: float, third: float, scale: float = 1.0) -> float:
    """The central-difference step minimising noise / h + h^2 |f'''| / 6:  h* = (3 sigma / |f'''|)^(1/3),
    clamped to [MIN_STEP, MAX_STEP] * max(1, scale) (an f''' of 0, a quadratic, takes the largest)."""
    factor = max(1.0, scale)
    if third <= 0:
        return MAX_STEP * factor
    return float(min(max((3 * noise / third) ** (1 / 3), MIN_STEP * factor), MAX_STEP * factor))


def probe_entries(gradient: np.ndarray, starts: list[int], stops: list[int], seed: int = 0) -> np.ndarray:
    """Two probes per block [start, stop) of gradient (n,): its largest |gradient| entry (the cost surely moves
    along it) and a seeded random one whose gradient is not 0 (a dead unit's may not move f). Sorted, unique."""
    rng = np.random.default_rng(seed)
    chosen = set()
    for start, stop in zip(starts, stops, strict=True):
        if stop <= start:
            continue
        block = gradient[start:stop]
        moving = np.flatnonzero(block)
        chosen.add(start + int(np.abs(block).argmax()))
        chosen.add(start + int(rng.choice(moving) if moving.size else rng.integers(0, stop - start)))
    return np.array(sorted(chosen), dtype=np.int64)
