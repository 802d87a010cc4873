"""The error-aware verdict `judge`, as named steps of `_Run`, on any evaluator: `costs(indices, offsets)` gives f at
theta + offsets[j] e_i, `entries(indices, step)` the method's numerical derivative at a step and crossed-kink flags.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from toynet.gradcheck import causes, errorbars, second_looks
from toynet.gradcheck.causes import EPS, Cause, NamedCauses
from toynet.gradcheck.errorbars import MARGIN, BlockVerdict, ErrorBars, bar_difference, block_verdicts, error_bars
from toynet.gradcheck.measures import relative_difference
from toynet.gradcheck.noise import Costs, NoiseEstimate, at_step, chosen_step, measure_noise, probe_entries
from toynet.gradcheck.numerical import default_epsilon

Entries = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]
SHARED_PROBES = 2000  # parameters above which the tables at the check's own step take one probe per layer (at_step)
MEASURE_FIRST = 2000  # entry evaluations per block from which the noise is measured first (it takes ~30 a block)
CLOSER = (0.1, 0.1)  # entries a chosen step could not judge (kinks) are measured again at h/10, then h/100
NUMERIC_ROUNDOFF = 60.0  # a-priori: a float64 network cost's round-off in a central difference, 60 eps max(|J|, 1) / h
TRUNCATION_ALLOWANCE = 1.0  # a-priori: h^p max(|J|, 1), p the method's order (|f'''| up to 6 max(|J|, 1))
NO_PROBES, NO_LEVELS = np.zeros(0, dtype=np.int64), np.zeros(0)  # an unmeasured estimate's (read-only, shared)
NO_PROBES.flags.writeable = NO_LEVELS.flags.writeable = False
FAR_BEYOND = 10.0  # a random cost's block with an entry this many times its bar out fails (the bar: 5 sigmas)
REPEAT_BITS = 4.0  # two plain calls at theta differing by more than this many eps |J|: named random (last bits)
UNMEASURED_NOTE = ("The cost's noise was not measured: every entry agreed with the backward within the round-off any "
                   "float64 cost carries (the a-priori error bars), with no sign of trouble (no kink crossed, no "
                   "saturated output, a float64 and repeatable cost, the difference under the threshold).")


@dataclass
class Judgement(NamedCauses):
    """What the check found. verdict: "passed", "failed" (failing_blocks have entries outside their bars) or
    "inconclusive" (no block blamed); step, estimate: the step and the measured noise; bars, blocks: per-entry bars,
    per-block verdicts; numeric, crossed, analytic (k,): the values judged; difference: formula 2, bar_difference:
    what the bars alone allow; measured: False for a pass under the a-priori bars (see `note`)."""

    verdict: str
    failing_blocks: list[str]
    step: float
    estimate: NoiseEstimate
    bars: ErrorBars
    blocks: Sequence[BlockVerdict]
    numeric: np.ndarray
    crossed: np.ndarray
    difference: float
    bar_difference: float
    causes: list[Cause] = field(default_factory=list)
    analytic: np.ndarray = field(default_factory=lambda: np.zeros(0))
    evaluations: int = 0  # every cost evaluated, the noise measurement's included
    measured: bool = True

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def note(self) -> str:
        """What a reader must know about how the verdict was reached ("" when the noise was measured)."""
        return "" if self.measured else UNMEASURED_NOTE


def judge(costs: Costs, entries: Entries, ranges: Sequence[tuple[int, int]], names: Sequence[str], theta: np.ndarray,
          grad: np.ndarray, cost: float | Callable[[], float], *, epsilon: float | None, method: str,
          threshold: float, grad_eps: float, cost_dtype: Any = np.float64, early: Sequence[Cause] = (),
          saturation: Callable[[NoiseEstimate], Cause | None] | None = None, label: Callable[[int], str] = str,
          chosen: np.ndarray | None = None, scale: float | None = None, trouble: Callable[[], bool] | None = None,
          repeat_gap: float = 0.0, network: bool = True) -> Judgement:
    """The error-aware check of grad (k,) against f's numerical gradient at theta (n,), block by block. ranges,
    names: the blocks' [start, stop) in grad; cost: f(theta) (or a function giving it after the first costs);
    epsilon: the step (None: chosen); threshold: formula 2's, for the words; early: causes found before;
    saturation(estimate): names saturated outputs; label(i): entry i of theta in messages; chosen: the sorted
    entries of theta checked (default all); scale: sets the largest step (default rms(theta)); trouble(): a sign
    of trouble only the caller sees; repeat_gap: |f(theta) - f(theta)| of two plain calls."""
    run = _Run(costs, entries, ranges, names, theta, grad, cost, epsilon, method, threshold, grad_eps, cost_dtype,
               early, saturation, label, chosen, scale, repeat_gap, network)
    quick = run.a_priori(trouble)
    if quick is not None:
        return quick
    run.measure_noise()
    run.first_bars()
    if epsilon is None:  # a chosen step may be large: entries it could not judge (a kink) are measured closer
        run.closer()
    run.kinks()
    run.blocks()
    run.resolve()
    return run.judgement()


class _Run:
    """`judge`'s steps over one shared state: the entries' values, steps, bars and block verdicts, the noise
    estimate, and the evaluations counted."""

    def __init__(self, costs: Costs, entries: Entries, ranges: Sequence[tuple[int, int]], names: Sequence[str],
                 theta: np.ndarray, grad: np.ndarray, cost: float | Callable[[], float], epsilon: float | None,
                 method: str, threshold: float, grad_eps: float, cost_dtype: Any, early: Sequence[Cause],
                 saturation: Callable[[NoiseEstimate], Cause | None] | None, label: Callable[[int], str],
                 chosen: np.ndarray | None, scale: float | None, repeat_gap: float, network: bool) -> None:
        self.costs, self.entries, self.ranges, self.names = costs, entries, ranges, names
        self.theta, self.grad, self.given_cost, self.epsilon = theta, grad, cost, epsilon
        self.method, self.threshold, self.grad_eps, self.cost_dtype = method, threshold, grad_eps, cost_dtype
        self.early, self.saturation, self.label, self.scale = early, saturation, label, scale
        self.repeat_gap, self.network = repeat_gap, network
        self.chosen = np.arange(grad.size) if chosen is None else np.asarray(chosen, dtype=np.int64)
        self.evaluations = 0
        self.per_entry = {"central": 2, "richardson": 4, "complex": 1}[method]
        self.tried: tuple[float, np.ndarray, np.ndarray] | None = None  # the a-priori attempt: step, entries, kinks

    def cost_at(self) -> float:  # an engine computes J(theta) alongside its first costs: asked after them
        return float(self.given_cost() if callable(self.given_cost) else self.given_cost)

    def measured(self, indices: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        """The method's entries `indices` (positions in chosen) at one step, counted."""
        self.evaluations += self.per_entry * indices.size
        return self.entries(indices, step)

    def at(self, indices: np.ndarray, hs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entries `indices` (k,) at the steps hs (k,), one call per distinct step."""
        values, flags = np.empty(indices.size), np.zeros(indices.size, dtype=bool)
        for h in np.unique(hs):
            group = np.flatnonzero(hs == h)
            values[group], flags[group] = self.measured(self.chosen[indices[group]], float(h))
        return values, flags

    def at_steps(self, indices: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
        return self.at(indices, self.steps[indices] * factor)

    def rms(self) -> float:  # the whole gradient's, for the bars of entries measured again (analytic_bars)
        return float(np.sqrt(np.mean(self.grad * self.grad))) if self.grad.size else 0.0

    def bars_at(self, indices: np.ndarray, steps: np.ndarray, values: np.ndarray, kept: np.ndarray,
                force: bool = False) -> ErrorBars:
        """error_bars of the entries `indices` measured (values, kept) at `steps`, refined at multiples of those."""

        def refine(which: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
            return self.at(indices[which], steps[which] * factor)

        return error_bars(self.grad[indices], values, kept, steps, self.method, self.estimate.noise, self.grad_eps,
                          refine, self.rms(), force=force)

    def take(self, indices: np.ndarray, part: ErrorBars, values: np.ndarray, flags: np.ndarray,
             steps: np.ndarray) -> None:
        """Entries `indices` measured again (values, kink flags, at steps, with bars `part`) replace the old ones."""
        self.bars.put(indices, part)
        self.numeric[indices], self.crossed[indices], self.steps[indices] = values, flags, steps

    def leave_out(self, which: np.ndarray) -> None:
        """Entries (a mask or indices) the cost's own roughness keeps from being judged: left out, named kinks."""
        self.bars.kept[which], self.bars.rough[which] = False, True

    def unresolved(self) -> list[int]:
        return [number for number, verdict in enumerate(self.verdicts) if verdict.unresolved]

    # ------------------------------------------------------------------------------------ the steps

    def a_priori(self, trouble: Callable[[], bool] | None) -> Judgement | None:
        """Step 1: the a-priori pass (see `_a_priori`), when the cost is float64, repeatable and nothing is amiss,
        and, at a chosen step, the entries do not far outnumber the noise measurement (MEASURE_FIRST: then first)."""
        if self.repeat_gap != 0 or self.early or np.dtype(self.cost_dtype) != np.float64:
            return None
        if self.epsilon is None and self.per_entry * self.chosen.size >= MEASURE_FIRST * len(self.ranges):
            return None  # the noise costs a few % of these entries, a refused pass (one kink of thousands) all of them
        # (at a given step a refused pass costs nothing: the measured path reuses its entries, `first_bars`)
        if self.epsilon is not None:
            step = float(self.epsilon)
        else:  # default_epsilon's step: its base times max(1, rms(theta)) (or the scale given)
            size = self.theta if self.scale is None else np.array([self.scale])
            step = default_epsilon(size, self.method, network=self.network)
        numeric, crossed = self.measured(self.chosen, step)
        self.tried = (step, numeric, crossed)
        if trouble is not None and trouble():
            return None
        quick = _a_priori(self.grad, numeric, crossed, self.ranges, step, self.method, self.threshold,
                          self.grad_eps, self.cost_at())
        if quick is not None:
            quick.evaluations = self.evaluations
            zeros = quick.bars.both_zero.nonzero()[0]
            if zeros.size:
                found = _zeros_cause(zeros.size, tuple(self.chosen[zeros[:5]].tolist()), self.label)
                quick.causes += [found] if found is not None else []
        return quick

    def measure_noise(self) -> None:
        """Step 2: the cost's noise on two probes per block, and the step it implies (unless one was given)."""
        self.cost = self.cost_at()
        stops = [stop for _, stop in self.ranges]
        in_entries = probe_entries(self.grad, [start for start, _ in self.ranges], stops)
        groups = None
        if self.theta.size > SHARED_PROBES:
            # Past a few thousand parameters, the tables at the check's own step (noise.at_step) take one probe per
            # layer (W_l and b_l): a few evaluations, not two tables per block.
            layer_of = [int(n[1:]) if n[:1] in ("W", "b") and n[1:].isdigit() else -1 - i
                        for i, n in enumerate(self.names)]
            groups = np.asarray(layer_of)[np.searchsorted(np.asarray(stops), in_entries, side="right")]
        self.estimate = measure_noise(self.costs, self.theta, self.chosen[in_entries], self.cost)
        if self.scale is None and self.epsilon is None:  # the largest step a chosen one may take
            self.scale = float(np.sqrt(np.mean(self.theta * self.theta))) if self.theta.size else 1.0
        scale = 1.0 if self.scale is None else self.scale
        if self.epsilon is not None:
            self.step = float(self.epsilon)
        elif self.method == "central":
            self.step = chosen_step(self.estimate.noise, self.estimate.third, scale)
        else:  # Richardson and the complex step keep their own defaults (their error laws differ)
            self.step = default_epsilon(self.theta, self.method, network=True)
        # The noise at the check's own scale (noise.at_step): stairs wider than the tables' spacing show there, so
        # it is measured again when the step is far wider than that spacing.
        if self.method != "complex" and self.step / 2 > 10 * self.estimate.spacing:
            first = self.estimate.noise
            self.estimate = at_step(self.costs, self.estimate, self.step, groups, one_per_group=groups is not None)
            if self.epsilon is None and self.method == "central" and self.estimate.noise > 2 * first:
                self.step = chosen_step(self.estimate.noise, self.estimate.third, scale)

    def first_bars(self) -> None:
        """Step 3: every entry at the step, and its error bar (truncation estimated where noise is exceeded)."""
        if self.tried is not None and self.tried[0] == self.step:  # the a-priori attempt ran at this very step
            self.numeric, self.crossed = self.tried[1].copy(), self.tried[2].copy()
        else:
            self.numeric, self.crossed = self.measured(self.chosen, self.step)
        self.steps = np.full(self.grad.size, self.step)
        self.bars = error_bars(self.grad, self.numeric, ~self.crossed, self.steps, self.method, self.estimate.noise,
                               self.grad_eps, self.at_steps)

    def closer(self) -> None:
        """Step 4 (a chosen step): entries it could not judge (a kink) or outside their bars, measured at h/10, then
        h/100. A bug keeps its error at any step; a kink the cost cannot report moves D as the step shrinks."""
        bars = self.bars
        # agreed at the chosen step (kink or not); an entry left out there (it crossed a kink) agreed with nothing
        within_at_first = bars.kept & (bars.error <= MARGIN * bars.bar)
        for factor in CLOSER:
            candidates = np.flatnonzero(~bars.kept | bars.outside)
            values, flags, still = self.look_closer(candidates, factor)
            moved = ~(bars.kept[candidates] & still)
            if not moved.any():
                break
            again, values, flags = candidates[moved], values[moved], flags[moved]
            steps = self.steps[again] * factor
            self.take(again, self.bars_at(again, steps, values, ~flags), values, flags, steps)
        # Agreed at the chosen step, disagrees only closer in: a kink between the two steps, left out, not blamed.
        # Outside after moving and not holding still at half its new step: kinks closer than any step tried.
        self.leave_out(bars.outside & within_at_first & (self.steps < self.step))
        moved_out = np.flatnonzero(bars.outside & (self.steps < self.step))
        self.leave_out(moved_out[~self.look_closer(moved_out, 0.5)[2]])

    def look_closer(self, indices: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries `indices` at factor times their steps: values, kink flags, and whether each held still."""
        values, flags = self.at_steps(indices, factor)
        bars = self.bars
        allowed = MARGIN * (bars.noise[indices] * np.sqrt(1 + factor**-2) + bars.truncation[indices]
                            + bars.analytic[indices])
        return values, flags, ~flags & (np.abs(values - self.numeric[indices]) <= allowed)

    def kinks(self) -> None:
        """Step 5: entries still outside whose disagreement is a kink at or near the point."""
        if self.method != "complex" and not self.estimate.random and self.bars.outside.any():
            second_looks.kinks_near_the_point(self)

    def blocks(self) -> None:
        """Step 6: the block verdicts; a block whose errors add up beyond noise gets every truncation estimated."""
        self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))
        to_refine = [self.ranges[n] for n, verdict in enumerate(self.verdicts) if verdict.to_refine]
        for start, stop in to_refine:
            todo = start + np.flatnonzero(self.bars.kept[start:stop] & ~self.bars.refined[start:stop])
            part = self.bars_at(todo, self.steps[todo], self.numeric[todo], np.ones(todo.size, dtype=bool), force=True)
            self.bars.put(todo, part)
        if to_refine:
            self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))

    def resolve(self) -> None:
        """Step 7 (a chosen central step): each block too noisy to see a 1% error gets its own step, then a mean."""
        if self.epsilon is not None or self.method != "central" or not self.unresolved():
            return
        for improve in (second_looks.own_step, second_looks.averaged_step):
            for number in self.unresolved():  # only where noise outweighs truncation: a step or a mean cuts noise / h
                indices = np.arange(*self.ranges[number])
                kept = indices[self.bars.kept[indices]]  # (kinks inside the step would only grow with it)
                if np.linalg.norm(self.bars.noise[kept]) > np.linalg.norm(self.bars.truncation[kept]):
                    improve(self, indices)
            self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))

    def judgement(self) -> Judgement:
        """Step 8: the causes named, the failing blocks and the verdict."""
        difference = relative_difference(self.grad, self.numeric)  # the course's formula 2, to the bit
        allowed = bar_difference(self.bars, self.grad, self.numeric)
        estimate, random, beyond = self.randomness()
        found: list[Cause] = [*self.early, *second_looks.complex_unsafe(self), *([random] if random else [])]
        saturated = self.saturation(estimate) if self.saturation is not None and random is None else None
        inconclusive = any(c.inconclusive for c in [*found, *([saturated] if saturated is not None else [])])
        failing = [] if inconclusive else beyond or [
            name for name, verdict in zip(self.names, self.verdicts, strict=True) if not verdict.passed]
        matters = difference > self.threshold or allowed > self.threshold / 10
        found += causes.numerical_causes(estimate, self.cost_dtype, self.step, saturated, matters)
        found += self.entry_causes(failing, inconclusive, difference, allowed)
        verdict = "inconclusive" if inconclusive else ("failed" if failing else "passed")
        return Judgement(verdict, failing, self.step, estimate, self.bars, self.verdicts, self.numeric, self.crossed,
                         difference, allowed, found, self.grad, estimate.evaluations + self.evaluations)

    def randomness(self) -> tuple[NoiseEstimate, Cause | None, list[str]]:
        """The estimate with the caller's repeat gap, the random cost named, and the blocks failing far beyond it."""
        estimate = self.estimate
        if self.repeat_gap > estimate.repeat_gap:  # the caller's two plain calls at theta differed more
            noise = max(estimate.noise, self.repeat_gap / np.sqrt(2))
            estimate = replace(estimate, repeat_gap=self.repeat_gap, noise=noise)
        random = causes.random_cost(estimate)
        if random is None and self.repeat_gap > REPEAT_BITS * EPS * max(abs(self.cost), 1e-300):
            random = causes.random_cost(estimate, last_bits=True)
        if random is None or not random.inconclusive:
            return estimate, random, []
        far = self.bars.kept & (self.bars.error > FAR_BEYOND * self.bars.bar)  # 50 sigmas of the randomness out
        beyond = [name for name, (start, stop) in zip(self.names, self.ranges, strict=True) if far[start:stop].any()]
        return estimate, causes.random_cost(estimate, beyond=beyond) if beyond else random, beyond

    def entry_causes(self, failing: list[str], inconclusive: bool, difference: float, allowed: float) -> list[Cause]:
        """A difference over the threshold only the numerical side explains, blocks left unresolved, entries left
        out (kinks), entries both zero."""
        kept, unresolved, found = self.bars.kept, self.unresolved(), list[Cause | None]()
        if not failing and not inconclusive and difference > self.threshold:
            without = relative_difference(self.grad[kept], self.numeric[kept]) if kept.any() else 0.0
            found.append(causes.numeric_cause(difference, self.threshold, allowed, without, int((~kept).sum())))
        if unresolved and not inconclusive:
            found.append(causes.unresolved_cause([self.names[n] for n in unresolved],
                                                 [self.verdicts[n].bar_difference for n in unresolved],
                                                 self.epsilon is None))
        left_out, zeros = np.flatnonzero(~kept)[:5], np.flatnonzero(self.bars.both_zero)[:5]
        found += [causes.kinks_cause(int((~kept).sum()), [self.label(int(self.chosen[i])) for i in left_out]),
                  _zeros_cause(int(self.bars.both_zero.sum()), tuple(self.chosen[zeros].tolist()), self.label)]
        return [cause for cause in found if cause is not None]


def _zeros_cause(count: int, first: tuple[int, ...], label: Callable[[int], str]) -> Cause | None:
    """zero_entries_cause of `count` entries, the `first` few named by `label`."""
    return causes.zero_entries_cause(count, [label(i) for i in first])


def _a_priori(grad: np.ndarray, numeric: np.ndarray, crossed: np.ndarray, ranges: Sequence[tuple[int, int]],
              step: float, method: str, threshold: float, grad_eps: float, cost: float) -> Judgement | None:
    """The judgement under the a-priori bars if it is a clean pass, else None (measure). grad, numeric, crossed:
    (k,) at `step`. The measured path's bars and verdicts, with NUMERIC_ROUNDOFF eps max(|J|, 1) as the cost's
    noise and TRUNCATION_ALLOWANCE h^p max(|J|, 1) as every entry's truncation (why: docs/checker.md)."""
    difference = relative_difference(grad, numeric)  # formula 2, as the measured path's
    if crossed.any() or not difference <= threshold:  # a difference over the threshold: measured causes explain it
        return None
    size, units = max(abs(cost), 1.0), errorbars.NOISE_SIGMAS * errorbars.NOISE_UNITS[method]
    sigma = 0.0 if method == "complex" else NUMERIC_ROUNDOFF * EPS * size / units
    bars = error_bars(grad, numeric, np.ones(grad.size, dtype=bool), step, method, sigma, grad_eps)
    if method != "complex":  # the complex step subtracts nothing: no truncation allowance (as error_bars)
        bars.truncation[:] = TRUNCATION_ALLOWANCE * step ** errorbars.ORDER[method] * size
    bars.refined[:] = True  # the allowance bounds every entry's truncation: the chi-square counts at once
    verdicts = block_verdicts(bars, grad, numeric, list(ranges))
    # an entry outside its bar, a block's errors beyond their noise, or bars that could hide a 1% error: measure
    if not all(verdict.passed for verdict in verdicts) or any(v.unresolved for v in verdicts):
        return None
    estimate = NoiseEstimate(sigma, size, 0.0, NO_PROBES, NO_LEVELS, 0, abs(cost))  # |f''''| taken as max(|J|, 1)
    return Judgement("passed", [], step, estimate, bars, verdicts, numeric, crossed, difference,
                     bar_difference(bars, grad, numeric), [], grad, measured=False)


def random_directions(count: int, size: int, seed: int | None) -> np.ndarray:
    """`count` seeded random unit vectors (count, size): entries uniform in [-1/2, 1/2), rows scaled to norm 1.

    Independent entries, symmetric about 0 and continuous: every parameter takes part and no error in the gradient
    cancels exactly in g . v (why uniform, not normal: docs/checker.md)."""
    directions = np.random.default_rng(seed).random((count, size)) - 0.5
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)  # an all-zero row has probability 0
