"""Why a gradient check might lie, detected from what it measured, named in words with what to do.

Each detector returns a `Cause` or None. `kind` is a short fixed name a program can test
("random", "in-place", "saturated", "float32", "noisy", "large-cost", "numerical-error", "unresolved",
"not-analytic", "kinks", "zero-entries"); `message` says what was seen, with its numbers; `advice` says what to do
about it.
`InputGuard` is the one that needs help at call time: it runs the cost on a private copy of its input
and compares afterwards, so a cost that writes into its argument is caught and named, never masked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toynet.gradcheck.noise import NoiseEstimate

EPS = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
SATURATED = 1e-4  # min(A, 1 - A) below this: 1 - A has lost at least 4 of its 16 digits
CLEAR_LOGIT = 9.0  # a sigmoid output's |Z| below this: min(A, 1 - A) = 1 / (1 + e^|Z|) > 1.2e-4, above SATURATED
NOISY = 1e3  # sigma above this many times the round-off of |J| (0.5 eps |J|): the cost is noisy (the course's
# own N-D case measures ~1e2: a network's sums lose a few bits; a float32 cost 1e8, saturation at 1e-6 1e5)
LARGE_COST = 1e3  # |J| at or above this: its own round-off eps |J| swamps the changes a step makes


@dataclass(frozen=True)
class Cause:
    """A reason the check's numbers may mislead: kind (fixed short name), message (what), advice (what to do)."""

    kind: str
    message: str
    advice: str
    blocks: tuple[str, ...] = field(default=())
    inconclusive: bool = False  # nothing can be judged while it holds: no block is blamed

    def __str__(self) -> str:
        return f"{self.message} {self.advice}"


class NamedCauses:
    """For every result that carries `causes` (a report, a judgement, a sparse or directional check)."""

    causes: list[Cause]

    def cause(self, kind: str) -> Cause | None:
        """The cause of that kind ("saturated", "random", "in-place", ...), or None."""
        return next((c for c in self.causes if c.kind == kind), None)


def random_cost(estimate: NoiseEstimate, last_bits: bool = False, beyond: Sequence[str] = ()) -> Cause | None:
    """Two evaluations at the same theta differ: the cost draws random numbers (no block can be blamed).
    last_bits: two plain calls at theta differed, but by less than the estimate calls random: the cost is
    named random, its noise is in the error bars, and the verdict stands (not inconclusive). beyond: the blocks
    whose errors lie far beyond the bars of that randomness: they fail, the verdict stands."""
    if beyond:
        return Cause(
            "random",
            f"The cost is random: two evaluations at the same parameters differ by {estimate.repeat_gap:.2e} "
            f"(|J| = {estimate.cost:.4g}, measured noise {estimate.noise:.1e}). Even so, {', '.join(beyond)} "
            "disagree with the backward far beyond what that randomness can do (more than 10 times their error "
            "bars), so they fail; the other blocks agree within it and cannot be judged more closely.",
            "Fix the mask or seed (or switch dropout off) to check the other blocks closely; the failing ones are "
            "wrong whatever the randomness.",
            tuple(beyond),
        )
    if last_bits:
        return Cause(
            "random",
            f"The cost is random in its last bits: two evaluations at the same parameters differ by "
            f"{estimate.repeat_gap:.2e} (|J| = {estimate.cost:.4g}). That is small enough for the error bars to "
            "hold it (the measured noise includes it), so the verdict stands, but the cost is not a function.",
            "Dropout or a random minibatch; fix the mask or seed, or switch dropout off for the check.",
        )
    if not estimate.random:
        return None
    return Cause(
        "random",
        f"The cost is random: two evaluations at the same parameters differ by {estimate.repeat_gap:.2e} "
        f"(|J| = {estimate.cost:.4g}), so no difference of two costs measures a gradient, and no block is blamed.",
        "Dropout or a random minibatch; fix the mask or seed, or switch dropout off for the check.",
        inconclusive=True,
    )


def in_place_cause(changed: Sequence[str], largest: float, what: str = "the cost function") -> Cause | None:
    """`what` wrote into its input (the arrays named in `changed`, by up to `largest`)."""
    if not changed:
        return None
    shown = ", ".join(changed[:6]) + (", ..." if len(changed) > 6 else "")
    return Cause(
        "in-place",
        f"{what} changed its input in place: {shown} differed after the call (by up to {largest:.3g}). Every "
        "later evaluation then starts from a moved point, and a caller's arrays are silently corrupted.",
        "Do not write into the argument: `x = x - x.max()` instead of `x -= x.max()`, or work on `x.copy()`.",
        tuple(changed),
        inconclusive=True,
    )


class InputGuard:
    """Calls f on a private copy of its argument (an array or a dict of arrays) and records any change.

    guard = InputGuard(f); guard(x) -> f(copy of x); guard.changed names what was written, guard.largest
    the largest change seen. The caller's x is never handed to f, so nothing is masked or corrupted.
    """

    def __init__(self, f: Callable[[Any], Any]) -> None:
        self.f = f
        self.changed: list[str] = []
        self.largest = 0.0

    def __call__(self, x: Any) -> Any:
        if isinstance(x, Mapping):
            given = {name: np.array(value, copy=True) for name, value in x.items()}
            private = {name: value.copy() for name, value in given.items()}
            value = self.f(private)
            for name, before in given.items():
                after = private.get(name)
                self._compare(f"parameters[{name!r}]", before, after)
            return value
        before = np.array(x, copy=True)
        private = before.copy()
        value = self.f(private)
        self._compare("x", before, private)
        return value

    def _compare(self, name: str, before: np.ndarray, after: Any) -> None:
        if after is None or np.shape(after) != before.shape:
            self._note(name, np.inf)
            return
        after = np.asarray(after)
        if not np.array_equal(before, after, equal_nan=True):
            self._note(name, float(np.max(np.abs(after.astype(np.complex128) - before.astype(np.complex128)))))

    def _note(self, name: str, change: float) -> None:
        if name not in self.changed:
            self.changed.append(name)
        self.largest = max(self.largest, change)

    def cause(self, what: str = "the cost function") -> Cause | None:
        return in_place_cause(self.changed, self.largest, what)


def saturated_outputs(A: np.ndarray, Y: np.ndarray) -> bool:
    """A cheap sign of trouble: some output within SATURATED of 0 or 1 where its label makes the cost use the
    side that loses digits (1 - A near 1 with a label below 1, A near 0 with a label above 0)."""
    A, Y = np.asarray(A, dtype=np.float64).reshape(-1), np.asarray(Y, dtype=np.float64).reshape(-1)
    close = np.minimum(A, 1 - A) < SATURATED
    return bool((close & (((A > 0.5) & (Y < 1)) | ((A <= 0.5) & (Y > 0)))).any())


def saturated_cause(A: np.ndarray, Y: np.ndarray, estimate: NoiseEstimate) -> Cause | None:
    """Outputs A within SATURATED of 0 or 1 where the label disagrees, while the noise is far above round-off.

    A, Y: (1, m) probabilities and labels at theta. Where A is near 1 and Y < 1, log(1 - A) takes the log of
    a difference that lost about log10(1 / (1 - A)) digits; near 0 with Y > 0 the sigmoid itself rounds.
    """
    A, Y = np.asarray(A, dtype=np.float64).reshape(-1), np.asarray(Y, dtype=np.float64).reshape(-1)
    capped = ((A == 1) & (Y < 1)) | ((A == 0) & (Y > 0))
    if capped.any():
        examples = np.flatnonzero(capped)
        shown = ", ".join(f"example {k} (label {Y[k]:g}): A = {A[k]:g}" for k in examples[:5])
        return Cause(
            "saturated",
            f"Outputs rounded to exactly 0 or 1 against their labels: {shown}. The course's cost takes log of 0 "
            "there, floored at log(TINY) = -708: it is capped, flat in every parameter, while the backward "
            "computes the formula's gradient (A - Y) / m. No numerical gradient of this cost can be compared "
            "with it, so no block is blamed.",
            "Compute the cost from the logits Z (toynet.losses.LogisticCostFromLogits), or check at a point where "
            "no output is saturated (smaller initial weights, or fix the mislabelled example).",
            inconclusive=True,
        )
    closeness = np.minimum(A, 1 - A)
    wrong = (closeness < SATURATED) & (np.abs(A - Y) > 0.5)
    if not wrong.any() or estimate.noise <= NOISY * 0.5 * EPS * max(estimate.cost, 1e-300):
        return None
    examples = np.flatnonzero(wrong)
    shown = "; ".join(f"example {k} (label {Y[k]:g}): A = " + (f"1 - {1 - A[k]:.1e}" if A[k] > 0.5 else f"{A[k]:.1e}")
                      for k in examples[:5]) + ("; ..." if examples.size > 5 else "")
    lost = int(np.floor(np.log10(1 / max(float(closeness[examples].min()), 1e-300))))
    return Cause(
        "saturated",
        f"Saturated, confidently wrong outputs: {shown}. log(1 - A) of an A that close to 1 loses about {lost} "
        f"of the cost's 16 digits, so the cost carries noise {estimate.noise:.1e} "
        f"({estimate.noise / (EPS * max(estimate.cost, 1e-300)):.0e} times its round-off) and every numerical "
        "entry inherits it divided by the step.",
        "Compute the cost from the logits Z (toynet.losses.LogisticCostFromLogits: max(Z, 0) - Z Y + "
        "log(1 + exp(-|Z|))), or check at a point where no output is saturated (smaller initial weights).",
    )


def float32_cause(estimate: NoiseEstimate, cost_dtype: Any) -> Cause | None:
    """The cost is computed in float32: its dtype says so, or its relative noise is float32's round-off."""
    low = np.dtype(cost_dtype).kind == "f" and float(np.finfo(cost_dtype).eps) > EPS
    relative = estimate.relative()
    if not low and not (EPS32 / 20 <= relative <= 100 * EPS32):  # cancellations inside add a few bits
        return None
    how = f"it returns {np.dtype(cost_dtype).name}" if low else (
        f"its noise is {relative:.1e} of |J|, float32's round-off (eps 1.2e-7), not float64's (2.2e-16)")
    return Cause(
        "float32",
        f"The cost is computed in float32: {how}. Its differences carry ~1e-7 relative noise, so the numerical "
        "gradient is good to a few digits at best.",
        "Cast the parameters and data to float64 inside the cost for the check (np.float64, not np.float32).",
    )


def noisy_cause(estimate: NoiseEstimate) -> Cause:
    """The noise is far above round-off and no known cause explains it."""
    times = estimate.noise / (0.5 * EPS * max(estimate.cost, 1e-300))
    return Cause(
        "noisy",
        f"The cost is noisy: its measured noise {estimate.noise:.1e} is {times:.0e} times the round-off of "
        f"|J| = {estimate.cost:.4g}; something inside it loses digits (a difference of nearly equal numbers, "
        "a low-precision step, an iterative solver's tolerance).",
        "Find the subtraction that cancels (or the float32 step) and rewrite it; the error bars already allow "
        "for the noise, at the price of a less sensitive check.",
    )


def large_cost_cause(estimate: NoiseEstimate, step: float) -> Cause:
    """|J| is large next to what a step changes: its round-off eps |J| / h is the numerical gradient's error."""
    return Cause(
        "large-cost",
        f"The cost is large (|J| = {estimate.cost:.4g}): its round-off eps |J| = {EPS * estimate.cost:.1e}, "
        f"divided by the step {step:.1e}, is an error of {EPS * estimate.cost / step:.1e} in every numerical entry, "
        "however small the gradient.",
        "Leave constants out of the cost you check (they change no gradient), or check J - J(theta).",
    )


def numeric_cause(difference: float, threshold: float, bar_difference: float, without: float,
                  left_out: int) -> Cause:
    """The headline difference is above the threshold, but every entry judged is within its error bar: say
    whether the entries left out (kinks) or the numerical gradient's own error put it there."""
    if left_out and without <= threshold:
        return Cause(
            "numerical-error",
            f"The difference {difference:.2e} is above the threshold {threshold:.1e} only because of the {left_out} "
            f"entr{'y' if left_out == 1 else 'ies'} left out of the verdict (see kinks): without them it is "
            f"{without:.2e}, and every other entry agrees with the backward within its error bar. The backward "
            "is right where it can be checked.",
            "Nothing to fix in the backward; check at another point to see the left-out entries.",
        )
    return Cause(
        "numerical-error",
        f"The difference {difference:.2e} is above the threshold {threshold:.1e} only because of the numerical "
        f"gradient's own error: every entry agrees with the backward within its measured error bar (the bars "
        f"alone allow a difference of {bar_difference:.1e}). The backward is right.",
        "Nothing to fix in the backward; to see it under the threshold, remove the cause of the noise.",
    )


def numerical_causes(estimate: NoiseEstimate, cost_dtype: Any, step: float, saturated: Cause | None,
                     error_matters: bool) -> list[Cause]:
    """The causes of a large numerical error, most specific first: saturated outputs (found by the caller,
    who knows the network), a float32 cost, a large cost, other noise. error_matters: the numerical error
    is big enough to matter (large-cost is named only then: a large |J| alone is no problem)."""
    if estimate.random:
        return []
    found: list[Cause] = [saturated] if saturated is not None else []
    low = np.dtype(cost_dtype).kind == "f" and float(np.finfo(cost_dtype).eps) > EPS
    if saturated is None or low:
        float32 = float32_cause(estimate, cost_dtype)
        if float32 is not None:
            found.append(float32)
    noisy = estimate.noise > NOISY * 0.5 * EPS * max(estimate.cost, 1e-300)
    if not found and noisy:
        found.append(noisy_cause(estimate))
    if not found and error_matters and estimate.cost >= LARGE_COST:
        found.append(large_cost_cause(estimate, step))
    return found


def complex_cause(count: int, labels: Sequence[str]) -> Cause:
    """The complex step disagrees with central differences at `count` entries (labels: the first few)."""
    shown = ", ".join(labels[:5]) + (", ..." if count > 5 else "")
    return Cause(
        "not-analytic",
        f"The complex step is not measuring the gradient: at {count} entr{'y' if count == 1 else 'ies'} ({shown}) "
        "it disagrees with central differences taken at real points, which agree with each other. The cost is not "
        "complex-analytic: np.abs(z) drops the imaginary part, np.maximum and comparisons look at the real part "
        "only, np.real or a float() cast discard it. No complex-step number can be trusted, so no block is blamed.",
        "Use method='central' (or 'richardson'), or write the cost without abs, maximum and comparisons "
        "(e.g. the stable logistic loss via np.logaddexp).",
        inconclusive=True,
    )


def unresolved_cause(blocks: Sequence[str], allowed: Sequence[float], own_steps: bool) -> Cause:
    """Passing blocks whose error bars are too wide to see a 1% error; allowed: the difference each one's bars allow."""
    shown = ", ".join(f"{name} ({value:.1e})" for name, value in zip(blocks, allowed, strict=True))
    tried = " even at a step of their own" if own_steps else " at this step"
    return Cause(
        "unresolved",
        f"Not resolved{tried}: the error bars of {shown} allow a difference that large, so a 1% error there "
        "(a difference of ~5e-3) could pass. They agree with the backward within their bars, no closer.",
        "Remove what makes the cost noisy or large next to these blocks (a dominating term, float32, saturated "
        "outputs), check them on their own, or use epsilon=None to let them take their own step.",
        tuple(blocks),
    )


def kinks_cause(count: int, labels: Sequence[str]) -> Cause | None:
    """`count` entries left out of the verdict; labels: the first few of them, to show."""
    return _entries_cause(
        "kinks", count, labels,
        "crossed a ReLU kink (a pre-activation changed sign between the perturbed evaluations), sit on one (their "
        "one-sided slopes differ by the same jump at every step, the backward's value between them) or at a point "
        "where the cost is not smooth (its values at h/2, h and 2h do not follow a smooth function's pattern), so "
        "the numerical derivative there is no gradient; they are left out of the verdict.",
        "A smaller epsilon avoids most crossings; with epsilon=None they are measured again at h/10 and h/100.",
    )


def zero_entries_cause(count: int, labels: Sequence[str]) -> Cause | None:
    """`count` entries with both gradients exactly 0; labels: the first few of them, to show."""
    return _entries_cause(
        "zero-entries", count, labels,
        "have analytic and numerical gradients both exactly 0 (e.g. weights of a ReLU unit dead on the whole "
        "batch): the check cannot see a bug there.",
        "Check again on another batch or point where those units are active.",
    )


def _entries_cause(kind: str, count: int, labels: Sequence[str], what: str, advice: str) -> Cause | None:
    if not count:
        return None
    shown = ", ".join(labels[:5]) + (", ..." if count > 5 else "")
    return Cause(kind, f"{count} entr{'y' if count == 1 else 'ies'} ({shown}) {what}", advice)
