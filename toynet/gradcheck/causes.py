"""Why a gradient check might lie, named: each detector returns a `Cause` (a fixed `kind`, a `message` with the
numbers seen, `advice`) or None. `InputGuard` runs the cost on a private copy of its input and names any write.
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
NOISY = 1e3  # sigma above this many times the round-off of |J| (0.5 eps |J|): the cost is noisy (docs/checker.md)
LARGE_COST = 1e3  # |J| at or above this: its own round-off eps |J| swamps the changes a step makes
RANDOM_ADVICE = "Dropout or a random minibatch; fix the mask or seed, or switch dropout off for the check."


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
    """The cost is random (inconclusive); last_bits: only in two plain calls' last bits, beyond: blocks failing far
    beyond its randomness (the verdict stands in both)."""
    gap = f"two evaluations at the same parameters differ by {estimate.repeat_gap:.2e} (|J| = {estimate.cost:.4g}"
    if beyond:
        return Cause("random", f"The cost is random: {gap}, measured noise {estimate.noise:.1e}). Even so, "
                     f"{', '.join(beyond)} disagree with the backward far beyond what that randomness can do (more "
                     "than 10 times their error bars), so they fail; the other blocks agree within it and cannot be "
                     "judged more closely.", "Fix the mask or seed (or switch dropout off) to check the other "
                     "blocks closely; the failing ones are wrong whatever the randomness.", tuple(beyond))
    if last_bits:
        return Cause("random", f"The cost is random in its last bits: {gap}). That is small enough for the error "
                     "bars to hold it (the measured noise includes it), so the verdict stands, but the cost is not "
                     "a function.", RANDOM_ADVICE)
    if not estimate.random:
        return None
    return Cause("random", f"The cost is random: {gap}), so no difference of two costs measures a gradient, and no "
                 "block is blamed.", RANDOM_ADVICE, inconclusive=True)


class InputGuard:
    """guard(x) -> f(a private copy of x), x an array or a dict of arrays; changed: what f wrote into, largest:
    the largest change seen."""

    def __init__(self, f: Callable[[Any], Any]) -> None:
        self.f = f
        self.changed: list[str] = []
        self.largest = 0.0

    def __call__(self, x: Any) -> Any:
        arrays = x.items() if isinstance(x, Mapping) else [("x", x)]
        given = {name: np.array(value, copy=True) for name, value in arrays}
        private = {name: value.copy() for name, value in given.items()}
        value = self.f(private if isinstance(x, Mapping) else private["x"])
        for name, before in given.items():
            after = private.get(name)
            if after is None or np.shape(after) != before.shape:
                change = np.inf
            elif not np.array_equal(before, np.asarray(after), equal_nan=True):
                change = float(np.max(np.abs(np.asarray(after, np.complex128) - before)))
            else:
                continue
            shown = f"parameters[{name!r}]" if isinstance(x, Mapping) else name
            self.changed += [] if shown in self.changed else [shown]
            self.largest = max(self.largest, change)
        return value

    def cause(self, what: str = "the cost function") -> Cause | None:
        """`what` wrote into its input (the arrays in `changed`), or None."""
        if not self.changed:
            return None
        shown = ", ".join(self.changed[:6]) + (", ..." if len(self.changed) > 6 else "")
        return Cause("in-place", f"{what} changed its input in place: {shown} differed after the call (by up to "
                     f"{self.largest:.3g}). Every later evaluation then starts from a moved point, and a caller's "
                     "arrays are silently corrupted.", "Do not write into the argument: `x = x - x.max()` instead of "
                     "`x -= x.max()`, or work on `x.copy()`.", tuple(self.changed), inconclusive=True)


def saturated_outputs(A: np.ndarray, Y: np.ndarray) -> bool:
    """Some output A (1, m) within SATURATED of 0 or 1 on the side its label Y makes the cost lose digits on?"""
    A, Y = np.asarray(A, dtype=np.float64).reshape(-1), np.asarray(Y, dtype=np.float64).reshape(-1)
    close = np.minimum(A, 1 - A) < SATURATED
    return bool((close & (((A > 0.5) & (Y < 1)) | ((A <= 0.5) & (Y > 0)))).any())


def saturated_cause(A: np.ndarray, Y: np.ndarray, estimate: NoiseEstimate) -> Cause | None:
    """Outputs A (1, m) within SATURATED of 0 or 1 against their labels Y (1, m) while the noise is far above
    round-off; rounded to exactly 0 or 1: inconclusive."""
    A, Y = np.asarray(A, dtype=np.float64).reshape(-1), np.asarray(Y, dtype=np.float64).reshape(-1)
    capped = np.flatnonzero(((A == 1) & (Y < 1)) | ((A == 0) & (Y > 0)))
    if capped.size:
        shown = ", ".join(f"example {k} (label {Y[k]:g}): A = {A[k]:g}" for k in capped[:5])
        return Cause("saturated", f"Outputs rounded to exactly 0 or 1 against their labels: {shown}. The course's "
                     "cost is capped there (log of 0 floored at -708), flat in every parameter, while the backward "
                     "computes (A - Y) / m: no numerical gradient can be compared with it, so no block is blamed.",
                     "Compute the cost from the logits Z (toynet.losses.LogisticCostFromLogits), or check where no "
                     "output is saturated (smaller initial weights, or fix the mislabelled example).",
                     inconclusive=True)
    closeness = np.minimum(A, 1 - A)
    wrong = np.flatnonzero((closeness < SATURATED) & (np.abs(A - Y) > 0.5))
    if not wrong.size or not _noisy(estimate):
        return None
    shown = "; ".join(f"example {k} (label {Y[k]:g}): A = " + (f"1 - {1 - A[k]:.1e}" if A[k] > 0.5 else f"{A[k]:.1e}")
                      for k in wrong[:5]) + ("; ..." if wrong.size > 5 else "")
    lost = int(np.floor(np.log10(1 / max(float(closeness[wrong].min()), 1e-300))))
    return Cause("saturated", f"Saturated, confidently wrong outputs: {shown}. log(1 - A) of an A that close to 1 "
                 f"loses about {lost} of the cost's 16 digits: noise {estimate.noise:.1e} ("
                 f"{estimate.noise / (EPS * max(estimate.cost, 1e-300)):.0e} times its round-off), divided by the "
                 "step in every numerical entry.", "Compute the cost from the logits Z (toynet.losses."
                 "LogisticCostFromLogits: max(Z, 0) - Z Y + log(1 + exp(-|Z|))), or check where no output is "
                 "saturated (smaller initial weights).")


def _noisy(estimate: NoiseEstimate) -> bool:
    return bool(estimate.noise > NOISY * 0.5 * EPS * max(estimate.cost, 1e-300))


def numerical_causes(estimate: NoiseEstimate, cost_dtype: Any, step: float, saturated: Cause | None,
                     error_matters: bool) -> list[Cause]:
    """The causes of the numerical error, most specific first: saturated (the caller's), float32, noisy, large-cost
    (only when the error matters)."""
    if estimate.random:
        return []
    relative, low = estimate.relative(), np.dtype(cost_dtype).kind == "f" and float(np.finfo(cost_dtype).eps) > EPS
    if (saturated is None or low) and (low or EPS32 / 20 <= relative <= 100 * EPS32):  # cancellations add bits
        how = f"it returns {np.dtype(cost_dtype).name}" if low else (
            f"its noise is {relative:.1e} of |J|, float32's round-off (eps 1.2e-7), not float64's (2.2e-16)")
        float32 = Cause("float32", f"The cost is computed in float32: {how}. Its differences carry ~1e-7 relative "
                        "noise, so the numerical gradient is good to a few digits at best.", "Cast the parameters "
                        "and data to float64 inside the cost for the check (np.float64, not np.float32).")
        return [c for c in (saturated, float32) if c is not None]
    if saturated is not None:
        return [saturated]
    if _noisy(estimate):
        times = estimate.noise / (0.5 * EPS * max(estimate.cost, 1e-300))
        return [Cause("noisy", f"The cost is noisy: its measured noise {estimate.noise:.1e} is {times:.0e} times the "
                      f"round-off of |J| = {estimate.cost:.4g}; something inside it loses digits (a difference of "
                      "nearly equal numbers, a low-precision step, an iterative solver's tolerance).", "Find the "
                      "subtraction that cancels (or the float32 step) and rewrite it; the error bars already allow "
                      "for the noise, at the price of a less sensitive check.")]
    if error_matters and estimate.cost >= LARGE_COST:
        return [Cause("large-cost", f"The cost is large (|J| = {estimate.cost:.4g}): its round-off eps |J| = "
                      f"{EPS * estimate.cost:.1e}, divided by the step {step:.1e}, is an error of "
                      f"{EPS * estimate.cost / step:.1e} in every numerical entry, however small the gradient.",
                      "Leave constants out of the cost you check (they change no gradient), or check J - J(theta).")]
    return []


def numeric_cause(difference: float, threshold: float, bar_difference: float, without: float,
                  left_out: int) -> Cause:
    """A difference over the threshold with every entry judged within its bar: the left-out entries' or the
    numerical gradient's own error."""
    over = f"The difference {difference:.2e} is above the threshold {threshold:.1e} only because of the"
    if left_out and without <= threshold:
        return Cause("numerical-error", f"{over} {left_out} entr{'y' if left_out == 1 else 'ies'} left out of the "
                     f"verdict (see kinks): without them it is {without:.2e}, and every other entry agrees with the "
                     "backward within its error bar. The backward is right where it can be checked.",
                     "Nothing to fix in the backward; check at another point to see the left-out entries.")
    return Cause("numerical-error", f"{over} numerical gradient's own error: every entry agrees with the backward "
                 f"within its measured error bar (the bars alone allow a difference of {bar_difference:.1e}). The "
                 "backward is right.", "Nothing to fix in the backward; to see it under the threshold, remove the "
                 "cause of the noise.")


def complex_cause(count: int, labels: Sequence[str]) -> Cause:
    """The complex step disagrees with central differences at `count` entries (labels: the first few)."""
    return Cause("not-analytic", f"The complex step is not measuring the gradient: at {_entries(count, labels)} it "
                 "disagrees with central differences at real points, which agree with each other. The cost is not "
                 "complex-analytic (np.abs(z), np.maximum, comparisons, np.real or float() drop the imaginary part), "
                 "so no complex-step number can be trusted and no block is blamed.", "Use method='central' (or "
                 "'richardson'), or write the cost without abs, maximum and comparisons (e.g. np.logaddexp).",
                 inconclusive=True)


def unresolved_cause(blocks: Sequence[str], allowed: Sequence[float], own_steps: bool) -> Cause:
    """Passing blocks whose bars are too wide to see a 1% error; allowed: the difference each one's bars allow."""
    shown = ", ".join(f"{name} ({value:.1e})" for name, value in zip(blocks, allowed, strict=True))
    return Cause("unresolved", f"Not resolved{' even at a step of their own' if own_steps else ' at this step'}: "
                 f"the error bars of {shown} allow a difference that large, so a 1% error there (~5e-3) could pass; "
                 "they agree with the backward within their bars, no closer.", "Remove what makes the cost noisy or "
                 "large next to these blocks (a dominating term, float32, saturated outputs), check them on their "
                 "own, or use epsilon=None to let them take their own step.", tuple(blocks))


def kinks_cause(count: int, labels: Sequence[str]) -> Cause | None:
    """`count` entries left out of the verdict; labels: the first few of them, to show."""
    return Cause("kinks", f"{_entries(count, labels)} crossed a ReLU kink (a pre-activation changed sign between the "
                 "perturbed evaluations), sit on one (one-sided slopes a fixed jump apart at every step) or where the "
                 "cost is not smooth across the step: their numerical derivative is no gradient, so they are left "
                 "out of the verdict.", "A smaller epsilon avoids most crossings; with epsilon=None they are "
                 "measured again at h/10 and h/100.") if count else None


def zero_entries_cause(count: int, labels: Sequence[str]) -> Cause | None:
    """`count` entries with both gradients exactly 0; labels: the first few of them, to show."""
    return Cause("zero-entries", f"{_entries(count, labels)} have analytic and numerical gradients both exactly 0 "
                 "(e.g. weights of a ReLU unit dead on the whole batch): the check cannot see a bug there.",
                 "Check again on another batch or point where those units are active.") if count else None


def _entries(count: int, labels: Sequence[str]) -> str:
    """'3 entries (W1[0, 1], ...)': the count and the first five labels."""
    return f"{count} entr{'y' if count == 1 else 'ies'} ({', '.join(labels[:5]) + (', ...' if count > 5 else '')})"
