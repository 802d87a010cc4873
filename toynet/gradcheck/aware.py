"""The error-aware verdict, glued from its parts: measure the noise, choose (or take) the step, compute the
numerical entries, put an error bar on each, judge every block against its bars, and name the causes.

    judgement = judge(costs, entries, ranges, names, theta, grad, cost, ...)

It works on any evaluator: `costs(indices, offsets)` gives f at theta + offsets[j] e_i (the check's own
engine, so the noise measured is the noise of the values compared) and `entries(indices, step)` gives
the method's numerical derivative at a step with the crossed-kink flags.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from toynet.gradcheck.causes import (
    Cause,
    NamedCauses,
    kinks_cause,
    numeric_cause,
    numerical_causes,
    random_cost,
    unresolved_cause,
    zero_entries_cause,
)
from toynet.gradcheck.errorbars import (
    MARGIN,
    NOISE_SIGMAS,
    NOISE_UNITS,
    ORDER,
    BlockVerdict,
    ErrorBars,
    Refine,
    bar_difference,
    block_verdicts,
    error_bars,
    replace_entries,
)
from toynet.gradcheck.measures import relative_difference
from toynet.gradcheck.noise import MAX_STEP, Costs, NoiseEstimate, at_step, chosen_step, measure_noise, probe_entries
from toynet.gradcheck.numerical import default_epsilon
from toynet.gradcheck.second_looks import (
    RESOLUTION,
    averaged_step,
    complex_unsafe,
    far_beyond_randomness,
    kinks_near_the_point,
    noise_dominated,
    own_step,
    unresolved_block,
)

Entries = Callable[[np.ndarray, float], tuple[np.ndarray, np.ndarray]]
SHARED_PROBES = 2000  # parameters above which the tables at the check's own step take one probe per layer (at_step)
MEASURE_FIRST = 2000  # entry evaluations per block from which the noise is measured first (it takes ~30 a block)
CLOSER = (0.1, 0.1)  # entries a chosen step could not judge (kinks) are measured again at h/10, then h/100


@dataclass
class Judgement(NamedCauses):
    """What the error-aware check found.

    verdict: "passed" (every entry within its error bar), "failed" (some block has entries outside theirs:
    failing_blocks) or "inconclusive" (a random cost or one that wrote into its input: nothing can be judged,
    no block is blamed). step: the step used (chosen from the measurement when none was given); estimate: the
    measured noise; bars: per-entry error bars; blocks: per-block verdicts; causes: what may mislead, named.
    difference: formula 2 over every entry (the course's number); bar_difference: what the bars alone allow;
    analytic: the analytic values judged (the gradient's chosen entries, or g . v per direction);
    evaluations: how many costs the whole judgement evaluated (the noise measurement's included).
    measured: whether the noise was measured; when not (a pass under the a-priori bars, see `judge`), estimate
    holds the a-priori round-off level with 0 evaluations, and `note` says so in words.
    """

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
    evaluations: int = 0
    measured: bool = True  # False: passed under the a-priori round-off bars, the noise never measured (see judge)

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def note(self) -> str:
        """What a reader must know about how the verdict was reached ("" when the noise was measured)."""
        return "" if self.measured else UNMEASURED_NOTE


UNMEASURED_NOTE = (
    "The cost's noise was not measured: every entry agreed with the backward within the round-off any float64 "
    "cost carries (the a-priori error bars), and no sign of trouble was seen (no kink crossed, no saturated "
    "output, a float64 and repeatable cost, the difference under the threshold), so measuring it could not have "
    "changed the verdict."
)
NUMERIC_ROUNDOFF = 60.0  # a-priori: a float64 network cost's round-off in a central difference, 60 eps max(|J|, 1) / h
TRUNCATION_ALLOWANCE = 1.0  # a-priori: h^p max(|J|, 1), p the method's order (2 central, 4 Richardson): for
# central differences h^2 |f'''| / 6 with |f'''| up to 6 max(|J|, 1), the unit scale `noise` assumes
EPS = float(np.finfo(np.float64).eps)
NO_PROBES, NO_LEVELS = np.zeros(0, dtype=np.int64), np.zeros(0)  # an unmeasured estimate's (read-only, shared)
NO_PROBES.flags.writeable = NO_LEVELS.flags.writeable = False
REPEAT_BITS = 4.0  # two plain calls at theta differing by more than this many eps |J|: named random (last bits)


def judge(
    costs: Costs,
    entries: Entries,
    ranges: Sequence[tuple[int, int]],
    names: Sequence[str],
    theta: np.ndarray,
    grad: np.ndarray,
    cost: float | Callable[[], float],
    *,
    epsilon: float | None,
    method: str,
    threshold: float,
    grad_eps: float,
    cost_dtype: Any = np.float64,
    early: Sequence[Cause] = (),
    saturation: Callable[[NoiseEstimate], Cause | None] | None = None,
    label: Callable[[int], str] = str,
    chosen: np.ndarray | None = None,
    scale: float | None = None,
    trouble: Callable[[], bool] | None = None,
    repeat_gap: float = 0.0,
    network: bool = True,
) -> Judgement:
    """The error-aware check of grad (n,) against f's numerical gradient at theta (n,), block by block.

    ranges/names: each block's [start, stop) in theta and its name; cost: f(theta) (or a function giving it,
    asked after the first costs: toynet's engine computes it alongside them); epsilon: the step (None:
    chosen from the measured noise and |f'''|); threshold: on formula 2, for the words only (the verdict is
    the bars'); grad_eps: the gradients' machine epsilon; early: causes found before (an input written in
    place makes the check inconclusive); saturation: names saturated outputs given the estimate (toynet
    networks); label(i): how entry i of theta is called in messages ("W1[0, 2]"). chosen: the entries of
    theta checked (sorted; default all), grad then holds their gradients (k,) and ranges index into them;
    scale: the size of theta that sets the largest step (default rms(theta)).
    trouble(): a sign of trouble only the caller can see (saturated outputs), asked after the a-priori
    entries are computed; repeat_gap: |f(theta) - f(theta)| of two plain calls (0 for a repeatable cost);
    network: the a-priori step is the network one (2e-5).

    Measured only when the measurement can change the answer: the check first runs at the a-priori step (the given
    epsilon, or `default_epsilon`) against a-priori bars (NUMERIC_ROUNDOFF eps max(|J|, 1) / h, the backward's
    round-off, a truncation allowance h^p max(|J|, 1)); with no sign of trouble (the caller's, an input written in
    place, a cost not in float64, two plain calls at theta that differ, a kink crossed, a difference over the
    threshold, a block those bars leave unresolved) it passes unmeasured (Judgement.measured False). Otherwise the
    measured path: noise, step, bars, kinks, blocks, resolution, causes. Why the a-priori pass is sound, and the
    measurements behind its constants: docs/checker.md.
    """
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
    """`judge`'s measured path as named steps over one shared state: the entries' values, steps, bars and block
    verdicts, the noise estimate, and the evaluations counted. Each step is a method, called in order by judge."""

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

    # ------------------------------------------------------------------------------------ measuring entries

    def cost_at(self) -> float:  # an engine computes J(theta) alongside its first costs: asked after them
        return float(self.given_cost() if callable(self.given_cost) else self.given_cost)

    def measured(self, indices: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        """The method's entries `indices` (positions in chosen) at one step, counted."""
        self.evaluations += self.per_entry * indices.size
        return self.entries(indices, step)

    def at(self, indices: np.ndarray, hs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The entries `indices` at the steps hs (grouped: a step is one call)."""
        values, flags = np.empty(indices.size), np.zeros(indices.size, dtype=bool)
        for h in np.unique(hs):
            group = np.flatnonzero(hs == h)
            values[group], flags[group] = self.measured(self.chosen[indices[group]], float(h))
        return values, flags

    def at_steps(self, indices: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
        """The entries `indices` at factor times their own steps."""
        return self.at(indices, self.steps[indices] * factor)

    def rms(self) -> float:  # the whole gradient's, for the bars of entries measured again (analytic_bars)
        return float(np.sqrt(np.mean(self.grad * self.grad))) if self.grad.size else 0.0

    def bars_of(self, indices: np.ndarray, values: np.ndarray, kept: np.ndarray, refine: Refine,
                force: bool = False) -> ErrorBars:
        """error_bars of the entries `indices` measured again (values, kept) at their steps."""
        return error_bars(self.grad[indices], values, kept, self.steps[indices], self.method, self.estimate.noise,
                          self.grad_eps, refine, self.rms(), force=force)

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
        """Step 4 (a chosen step): entries it could not judge (a kink), or outside their bars, measured closer in.

        Entries outside their bars are measured closer too: a bug keeps its error at any step, while a kink the
        cost cannot report (one far inside the step, which h/2, h and 2h all straddle alike) moves the numerical
        value as the step shrinks. Those that moved beyond noise and truncation are judged anew."""
        bars = self.bars
        # agreed at the chosen step (kink or not); an entry left out there (it crossed a kink) agreed with nothing
        within_at_first = bars.kept & (bars.error <= MARGIN * bars.bar)
        for factor in CLOSER:
            candidates = np.flatnonzero(~bars.kept | bars.outside)
            if candidates.size == 0:
                break
            values, flags = self.at_steps(candidates, factor)
            change = np.abs(values - self.numeric[candidates])
            allowed = MARGIN * (bars.noise[candidates] * np.sqrt(1 + factor**-2) + bars.truncation[candidates]
                                + bars.analytic[candidates])
            stable = bars.kept[candidates] & ~flags & (change <= allowed)
            again, values, flags = candidates[~stable], values[~stable], flags[~stable]
            if again.size == 0:
                break
            self.numeric[again], self.crossed[again], self.steps[again] = values, flags, self.steps[again] * factor

            def closer(indices: np.ndarray, f: float, again: np.ndarray = again) -> tuple[np.ndarray, np.ndarray]:
                return self.at_steps(again[indices], f)

            replace_entries(bars, again, self.bars_of(again, values, ~flags, closer))
        # An entry that agreed at the chosen step and disagrees only closer in has a kink between the two steps
        # (its one-sided slopes differ): it is left out, not blamed. A bug disagrees at every step.
        contradicted = bars.outside & within_at_first & (self.steps < self.step)
        bars.kept[contradicted], bars.rough[contradicted] = False, True
        # An entry still outside after moving must hold still at half its new step: one whose value keeps moving
        # (kinks closer than any step tried, in a cost that cannot report them) cannot be judged, only named.
        moved = np.flatnonzero(bars.outside & (self.steps < self.step))
        if moved.size:
            values, flags = self.at_steps(moved, 0.5)
            allowed = MARGIN * (bars.noise[moved] * np.sqrt(5.0) + bars.truncation[moved] + bars.analytic[moved])
            unsteady = moved[flags | (np.abs(values - self.numeric[moved]) > allowed)]
            bars.kept[unsteady], bars.rough[unsteady] = False, True

    def kinks(self) -> None:
        """Step 5: entries still outside whose disagreement is a kink at or near the point (`kinks_near_the_point`)."""
        if self.method != "complex" and not self.estimate.random and self.bars.outside.any():
            self.evaluations += kinks_near_the_point(self.costs, self.chosen, self.grad, self.steps, self.cost,
                                                     self.estimate.noise, self.bars, self.method == "central")

    def blocks(self) -> None:
        """Step 6: the block verdicts; a block whose errors add up beyond noise gets every truncation estimated."""
        self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))
        if not any(verdict.to_refine for verdict in self.verdicts):
            return
        for number in [number for number, verdict in enumerate(self.verdicts) if verdict.to_refine]:
            start, stop = self.ranges[number]
            todo = start + np.flatnonzero(self.bars.kept[start:stop] & ~self.bars.refined[start:stop])

            def block_refine(indices: np.ndarray, f: float, todo: np.ndarray = todo) -> tuple[np.ndarray, np.ndarray]:
                return self.at_steps(todo[indices], f)

            part = self.bars_of(todo, self.numeric[todo], np.ones(todo.size, dtype=bool), block_refine, force=True)
            replace_entries(self.bars, todo, part)
        self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))

    def unresolved(self) -> list[int]:
        return [number for number, verdict in enumerate(self.verdicts) if verdict.passed and unresolved_block(verdict)]

    def resolve(self) -> None:
        """Step 7 (a chosen central step): each block too noisy to see a 1% error gets its own step, then a mean."""
        if self.epsilon is not None or self.method != "central" or not self.unresolved():
            return
        arrays = (self.grad, self.numeric, self.crossed, self.steps)
        largest = MAX_STEP * max(1.0, 1.0 if self.scale is None else self.scale)
        for improve in (lambda indices: own_step(indices, self.at, arrays, self.bars, self.method, self.estimate.noise,
                                                 self.grad_eps, self.rms(), largest),
                        lambda indices: averaged_step(indices, self.at, arrays, self.bars, self.method,
                                                      self.estimate.noise, self.grad_eps, self.rms())):
            for number in self.unresolved():
                indices = np.arange(*self.ranges[number])
                if noise_dominated(self.bars, indices):  # a larger step or a mean only cuts noise / h
                    improve(indices)
            self.verdicts = block_verdicts(self.bars, self.grad, self.numeric, list(self.ranges))

    def judgement(self) -> Judgement:
        """Step 8: the causes named, the failing blocks and the verdict."""
        grad, numeric, bars, names, estimate = self.grad, self.numeric, self.bars, self.names, self.estimate
        difference = relative_difference(grad, numeric)  # the course's formula 2, to the bit
        allowed = bar_difference(bars, grad, numeric)
        causes: list[Cause] = list(self.early)
        if self.method == "complex" and not all(verdict.passed for verdict in self.verdicts):
            h = default_epsilon(self.theta, "central", network=self.network)
            unsafe, evaluations = complex_unsafe(self.costs, self.chosen, grad, numeric, bars, h, estimate.noise,
                                                 self.label)
            self.evaluations += evaluations
            causes += [unsafe] if unsafe is not None else []
        if self.repeat_gap > estimate.repeat_gap:  # the caller's two plain calls at theta differed more
            estimate = replace(estimate, repeat_gap=self.repeat_gap,
                               noise=max(estimate.noise, self.repeat_gap / np.sqrt(2)))
        random = random_cost(estimate)
        if random is None and self.repeat_gap > REPEAT_BITS * EPS * max(abs(self.cost), 1e-300):
            random = random_cost(estimate, last_bits=True)
        beyond = far_beyond_randomness(bars, self.ranges, names) if random is not None and random.inconclusive else []
        if beyond:  # a random cost, but some blocks disagree far beyond its measured randomness: those fail
            random = random_cost(estimate, beyond=beyond)
        causes += [random] if random is not None else []
        saturated = self.saturation(estimate) if self.saturation is not None and random is None else None
        inconclusive = any(c.inconclusive for c in [*causes, *([saturated] if saturated is not None else [])])
        failing = [] if inconclusive else beyond or [n for n, v in zip(names, self.verdicts, strict=True)
                                                     if not v.passed]
        matters = difference > self.threshold or allowed > self.threshold / 10
        causes += numerical_causes(estimate, self.cost_dtype, self.step, saturated, matters)
        causes += self.entry_causes(failing, inconclusive, difference, allowed)
        verdict = "inconclusive" if inconclusive else ("failed" if failing else "passed")
        return Judgement(verdict, failing, self.step, estimate, bars, self.verdicts, numeric, self.crossed,
                         difference, allowed, causes, grad, estimate.evaluations + self.evaluations)

    def entry_causes(self, failing: list[str], inconclusive: bool, difference: float, allowed: float) -> list[Cause]:
        """The causes about entries: a difference over the threshold only the numerical side explains, blocks left
        unresolved, entries left out (kinks), entries both zero."""
        grad, numeric, bars, chosen, label = self.grad, self.numeric, self.bars, self.chosen, self.label
        causes = []
        if not failing and not inconclusive and difference > self.threshold:
            kept = bars.kept
            without = relative_difference(grad[kept], numeric[kept]) if kept.any() else 0.0
            causes.append(numeric_cause(difference, self.threshold, allowed, without, int((~kept).sum())))
        unresolved = self.unresolved()
        if unresolved and not inconclusive:
            causes.append(unresolved_cause([self.names[n] for n in unresolved],
                                           [self.verdicts[n].bar_difference for n in unresolved], self.epsilon is None))
        left_out, zeros = np.flatnonzero(~bars.kept), np.flatnonzero(bars.both_zero)
        for found in (kinks_cause(left_out.size, [label(int(chosen[i])) for i in left_out[:5]]),
                      zero_entries_cause(zeros.size, [label(int(chosen[i])) for i in zeros[:5]])):
            if found is not None:
                causes.append(found)
        return causes


@lru_cache(maxsize=256)
def _zeros_cause(count: int, first: tuple[int, ...], label: Callable[[int], str]) -> Cause | None:
    """zero_entries_cause of `count` entries, the `first` few named by `label` (cached: a Cause is immutable, and
    a check repeated at one point names the same entries; `label` must not hold large arrays, the cache keeps it)."""
    return zero_entries_cause(count, [label(i) for i in first])


def _a_priori(grad: np.ndarray, numeric: np.ndarray, crossed: np.ndarray, ranges: Sequence[tuple[int, int]],
              step: float, method: str, threshold: float, grad_eps: float, cost: float) -> Judgement | None:
    """The judgement under the a-priori bars (see `judge`) if it is a clean pass, else None (measure).

    grad, numeric, crossed: (k,) the chosen entries' gradients, numerical values at `step` and kink flags;
    ranges: the blocks' [start, stop) in them. The bars and verdicts are the measured path's (`error_bars`,
    `block_verdicts`), with the round-off any float64 cost carries, NUMERIC_ROUNDOFF eps max(|J|, 1), as the
    cost's noise and the allowance TRUNCATION_ALLOWANCE h^p max(|J|, 1) as every entry's truncation."""
    if crossed.any():
        return None
    difference = relative_difference(grad, numeric)  # formula 2, as the measured path's
    if not difference <= threshold:  # a headline over the threshold needs measured causes to explain it
        return None
    size = max(abs(cost), 1.0)
    sigma = 0.0 if method == "complex" else NUMERIC_ROUNDOFF * EPS * size / (NOISE_SIGMAS * NOISE_UNITS[method])
    bars = error_bars(grad, numeric, np.ones(grad.size, dtype=bool), step, method, sigma, grad_eps)
    if method != "complex":  # the complex step subtracts nothing: no truncation allowance (as error_bars)
        bars.truncation[:] = TRUNCATION_ALLOWANCE * step ** ORDER[method] * size
    bars.refined[:] = True  # the allowance bounds every entry's truncation: the chi-square counts at once
    verdicts = block_verdicts(bars, grad, numeric, list(ranges))
    if not all(verdict.passed for verdict in verdicts):
        return None  # an entry outside MARGIN x its bar, or a block's errors together beyond their noise
    if any(verdict.bar_difference > RESOLUTION for verdict in verdicts):
        return None  # a block whose a-priori bars could hide a 1% error: measured, given its own step or named
    estimate = NoiseEstimate(sigma, size, 0.0, NO_PROBES, NO_LEVELS, 0, abs(cost))  # |f''''| taken as max(|J|, 1)
    return Judgement("passed", [], step, estimate, bars, verdicts, numeric, crossed, difference,
                     bar_difference(bars, grad, numeric), [], grad, measured=False)


def random_directions(count: int, size: int, seed: int | None) -> np.ndarray:
    """`count` seeded random unit vectors (count, size): entries uniform in [-1/2, 1/2), rows scaled to norm 1.

    Independent entries, symmetric about 0 and continuous: every parameter takes part and no error in the gradient
    cancels exactly in g . v (why uniform, not normal: docs/checker.md)."""
    directions = np.random.default_rng(seed).random((count, size)) - 0.5
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)  # an all-zero row has probability 0
