"""What a network gradient check found: the overall number, a verdict per block, and the worst entries.

`GradientCheckReport` prints as an 80-column text table, renders as an HTML table in Jupyter, and its
`summary()` says in one paragraph which blocks (W1, b1, ...) hold the mistake.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, cast

import numpy as np

from toynet.gradcheck.causes import Cause, NamedCauses
from toynet.gradcheck.errorbars import BlockVerdict
from toynet.gradcheck.measures import directional_errors, rel_error
from toynet.params import Block, ParamLayout

if TYPE_CHECKING:  # pragma: no cover
    from toynet.gradcheck.aware import Judgement

METHOD_NAMES = {"central": "central differences", "richardson": "Richardson extrapolation", "complex": "complex step"}


@dataclass(frozen=True)
class Entry:
    """One entry of theta: its block and index in the block, both gradients and |analytic - numeric|."""

    block: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    position: int  # its place in the flattened vector theta

    @property
    def label(self) -> str:
        """'W2[1, 3]'."""
        return f"{self.block}[{', '.join(str(i) for i in self.index)}]"


@dataclass(frozen=True)
class BlockReport:
    """One parameter block's comparison (entries that crossed a ReLU kink left out).

    relative_difference: formula 2 over the block; max_abs_error: the largest |analytic - numeric|;
    worst: the top_k entries by absolute error; kinks: how many of its entries were left out (a ReLU kink, or
    a cost not smooth across the step); bar_difference: the difference the numerical gradient's own error
    bars could produce over the block; worst_ratio: its largest |analytic - numeric| / error bar.
    """

    name: str
    shape: tuple[int, ...]
    relative_difference: float
    max_abs_error: float
    passed: bool
    worst: list[Entry]
    kinks: int = 0
    bar_difference: float = 0.0
    worst_ratio: float = 0.0


@dataclass
class BlockTable:
    """The verdict's numbers per block, from which the `BlockReport`s are built when first read.

    verdicts: the B blocks' `BlockVerdict`s, course order; analytic, numeric: (n,) gradients; errors: (n,)
    |analytic - numeric|, 0 where kept is False (entries left out of the verdict).
    """

    layout: ParamLayout
    verdicts: Sequence[BlockVerdict]
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray
    kept: np.ndarray
    top_k: int

    def reports(self) -> list[BlockReport]:
        """One BlockReport per block, course order, each with its top_k worst kept entries."""
        reports = []
        for block, verdict in zip(self.layout.blocks, self.verdicts, strict=True):
            part = self.errors[block.start : block.stop]
            order = block.start + np.argsort(-part, kind="stable")[: self.top_k]
            worst = [entry_at(block, int(i), self.analytic[i], self.numeric[i]) for i in order if self.kept[i]]
            kinks = block.size - int(self.kept[block.start : block.stop].sum())
            reports.append(BlockReport(block.name, block.shape, float(verdict.difference), float(part.max(initial=0.0)),
                                       bool(verdict.passed), worst, kinks, float(verdict.bar_difference),
                                       float(verdict.worst_ratio)))
        return reports


def entry_at(block: Block, position: int, analytic: float, numeric: float) -> Entry:
    """The Entry of theta[position], which lies in `block`."""
    flat, index = position - block.start, cast(tuple[int, ...], ())
    for size in reversed(block.shape):  # row-major unravel, cheaper than np.unravel_index for a few entries
        flat, i = divmod(flat, size)
        index = (i, *index)
    return Entry(block.name, index, float(analytic), float(numeric), abs(float(analytic) - float(numeric)), position)


@dataclass
class GradientCheckReport(NamedCauses):
    """The result of `gradient_check_n`.

    difference: formula 2 over the whole vector (the course's number); verdict: "passed" (every entry agrees
    with the backward within the numerical gradient's measured error bar), "failed" (failing_blocks, names
    in course order) or "inconclusive" (a random cost, or one that writes into its input: no block blamed);
    passed: verdict == "passed"; blocks: a BlockReport per block; causes: what may mislead, named, with what
    to do (`cause(kind)` finds one); noise: the cost's measured noise sigma, noise_evaluations what measuring
    it cost (0: not measured, the check passed under the a-priori round-off bars, and noise is the round-off
    sigma they assumed; see aware.judge), evaluations every perturbed cost the check evaluated (2 per entry for
    central differences, the noise measurement, the extra steps of entries whose truncation was estimated);
    error_bars: (n, 1) each entry's bar (a block fails beyond twice it); bar_difference: the
    difference the bars alone could produce. analytical_gradient, numerical_gradient: (n, 1) vectors in
    `dictionary_to_vector` order.
    """

    difference: float
    passed: bool
    failing_blocks: list[str]
    _table: BlockTable = field(repr=False)
    epsilon: float
    method: str
    threshold: float
    analytical_gradient: np.ndarray
    numerical_gradient: np.ndarray
    warnings: list[str] = field(default_factory=list)
    kinks: list[Entry] = field(default_factory=list)
    difference_without_kinks: float = 0.0
    verdict: str = ""
    causes: list[Cause] = field(default_factory=list)
    noise: float | None = None
    noise_evaluations: int = 0
    evaluations: int = 0
    bar_difference: float = 0.0
    error_bars: np.ndarray | None = field(default=None, repr=False)

    @cached_property
    def blocks(self) -> list[BlockReport]:
        """The per-block table, built on first use: most callers read only the verdict, and building
        every block's worst entries was a third of a small network's check."""
        return self._table.reports()

    @property
    def num_parameters(self) -> int:
        return int(self.analytical_gradient.shape[0])

    def summary(self) -> str:
        """A paragraph: the verdict, which blocks hold the mistake (with their worst entry), the causes named."""
        how = f"{METHOD_NAMES[self.method]}, epsilon {self.epsilon:.1e}, {self.num_parameters} parameters"
        if self.noise is not None:
            how += f", {'measured noise' if self.noise_evaluations else 'a-priori round-off'} {self.noise:.1e}"
        if self.verdict == "inconclusive":
            lines = [f"Gradient check inconclusive ({how}): the cost cannot be checked as it is, so no block is "
                     f"blamed (difference {self.difference:.2e})."]
        elif self.passed:
            lines = [f"Gradient check passed: every entry agrees with the backward within the numerical gradient's "
                     f"own error bar (difference {self.difference:.2e}, threshold {self.threshold:.1e}; {how})."]
            if self.kinks:
                lines.append(
                    f"{len(self.kinks)} entr{'y' if len(self.kinks) == 1 else 'ies'} "
                    f"({_and([entry.label for entry in self.kinks[:5]])}" + (", ..." if len(self.kinks) > 5 else "")
                    + f") left out: without them the difference is {self.difference_without_kinks:.2e}."
                )
        else:
            lines = [f"Gradient check FAILED: difference {self.difference:.2e} (threshold {self.threshold:.1e}; "
                     f"{how})."]
            failing = [block for block in self.blocks if not block.passed]
            said = "; ".join(
                f"{block.name} relative difference {block.relative_difference:.2e} against an error bar of "
                f"{block.bar_difference:.1e}"
                + (f", worst {block.worst[0].label}: analytic {block.worst[0].analytic:.6g} vs numeric "
                   f"{block.worst[0].numeric:.6g}" if block.worst else "")
                for block in failing
            )
            others = [block.name for block in self.blocks if block.passed]
            lines.append(
                f"The mistake is in the gradient of {_and(self.failing_blocks)} "
                f"(d{', d'.join(self.failing_blocks)}): {said}."
                + (f" The other blocks ({_and(others)}) agree within their error bars." if others else "")
            )
        lines += [f"Cause ({cause.kind}): {cause.message} What to do: {cause.advice}" for cause in self.causes]
        lines += [f"Note: {warning}" for warning in self.warnings]
        return "\n".join(textwrap.fill(line, 80, subsequent_indent="  ") for line in lines)

    def __str__(self) -> str:
        """The summary, then one row per block (80 columns), then the worst entries of failing blocks."""
        header = f"{'block':<6}{'shape':<11}{'rel. diff':>10}{'error bar':>10}  {'':<4}  worst entry"
        rows = [self.summary(), "", header]
        rows.append("-" * 79)
        for block in self.blocks:
            worst = block.worst[0] if block.worst else None
            shown = ""
            if worst is not None:
                shown = f"[{', '.join(map(str, worst.index))}] {worst.analytic:+.3e} vs {worst.numeric:+.3e}"
            rows.append(
                f"{block.name:<6}{str(block.shape):<11}{block.relative_difference:>10.2e}{block.bar_difference:>10.1e}"
                f"  {'ok' if block.passed else 'FAIL':<4}  {shown}"[:79]
            )
        for block in self.blocks:
            if not block.passed and len(block.worst) > 1:
                rows.append(f"worst entries of {block.name} (analytic vs numeric):")
                rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in block.worst]
        if self.kinks:
            rows.append(f"entries left out of the verdict (a ReLU kink, or not smooth across the step): "
                        f"{len(self.kinks)}")
            rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in self.kinks[:10]]
        if self.causes:
            rows.append("causes: " + ", ".join(cause.kind for cause in self.causes) + " (see above)")
        return "\n".join(rows)

    def __repr__(self) -> str:
        verdict = {"passed": "passed", "inconclusive": "inconclusive"}.get(self.verdict,
                                                                          f"FAILED in {self.failing_blocks}")
        if not self.verdict:
            verdict = "passed" if self.passed else f"FAILED in {self.failing_blocks}"
        causes = f" causes={[c.kind for c in self.causes]}" if self.causes else ""
        return f"<GradientCheckReport difference={self.difference:.3e} {verdict}{causes}>"

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter: one row per block, failing rows highlighted, then the causes."""
        cells = "".join(f"<th>{title}</th>" for title in ("block", "shape", "relative difference", "error bar",
                                                          "max |error|", "verdict",
                                                          "worst entries (analytic vs numeric)"))
        body = []
        for block in self.blocks:
            worst = "<br>".join(
                html.escape(f"[{', '.join(map(str, e.index))}] {e.analytic:+.6e} vs {e.numeric:+.6e}")
                for e in block.worst
            )
            style = "" if block.passed else ' style="background:#fdd"'
            body.append(
                f"<tr{style}><td>{block.name}</td><td>{block.shape}</td><td>{block.relative_difference:.2e}</td>"
                f"<td>{block.bar_difference:.1e}</td><td>{block.max_abs_error:.2e}</td>"
                f"<td>{'ok' if block.passed else '<b>FAIL</b>'}</td>"
                f"<td style='font-family:monospace'>{worst}</td></tr>"
            )
        summary = "<br>".join(html.escape(line) for line in self.summary().replace("\n  ", " ").split("\n"))
        causes = "".join(f"<li><b>{html.escape(c.kind)}</b>: {html.escape(c.message)} <i>What to do:</i> "
                         f"{html.escape(c.advice)}</li>" for c in self.causes)
        listed = f"<p>Causes:</p><ul>{causes}</ul>" if causes else ""
        return f"<div><p>{summary}</p><table><tr>{cells}</tr>{''.join(body)}</table>{listed}</div>"



@dataclass
class SparseCheck(NamedCauses):
    """Numerical vs analytic at a few random coordinates: the entries, cs231n's rel_error and formula 2, and the
    error-aware verdict (as `GradientCheckReport`'s): verdict, causes, each entry's error bar, the noise."""

    entries: list[Entry]
    relative_difference: float
    max_rel_error: float
    passed: bool
    epsilon: float
    verdict: str = ""
    causes: list[Cause] = field(default_factory=list)
    error_bars: np.ndarray | None = field(default=None, repr=False)
    noise: float | None = None

    @classmethod
    def judged(cls, entries: list[Entry], judgement: Judgement) -> SparseCheck:
        """The chosen entries with their error-aware verdict; cs231n's rel_error and formula 2 beside it."""
        analytic, numeric = np.array([e.analytic for e in entries]), np.array([e.numeric for e in entries])
        return cls(entries, judgement.difference, rel_error(analytic, numeric), judgement.passed, judgement.step,
                   judgement.verdict, list(judgement.causes), judgement.bars.bar.copy(), judgement.estimate.noise)

    def __str__(self) -> str:
        lines = [f"{'entry':<16}{'analytic':>18}{'numeric':>18}{'rel. error':>12}{'error bar':>11}"]
        bars = self.error_bars if self.error_bars is not None else np.full(len(self.entries), np.nan)
        for e, bar in zip(self.entries, bars, strict=True):
            rel = e.abs_error / max(1e-8, abs(e.analytic) + abs(e.numeric))
            lines.append(f"{e.label:<16}{e.analytic:>18.10e}{e.numeric:>18.10e}{rel:>12.2e}{bar:>11.1e}")
        verdict = {"passed": "passed", "inconclusive": "inconclusive"}.get(self.verdict, "FAILED")
        lines.append(f"{verdict}: relative difference {self.relative_difference:.2e} over {len(self.entries)} entries"
                     f" (epsilon {self.epsilon:.1e})")
        lines += [f"Cause ({c.kind}): {c.message} What to do: {c.advice}" for c in self.causes]
        return "\n".join(lines)


@dataclass
class DirectionalCheck(NamedCauses):
    """(f(x + epsilon v) - f(x - epsilon v)) / 2 epsilon against g . v for a few random unit directions v, each
    judged against its error bar (the noise measured along the directions): verdict, causes, error_bars."""

    numeric: np.ndarray
    analytic: np.ndarray
    relative_errors: np.ndarray
    passed: bool
    epsilon: float
    verdict: str = ""
    causes: list[Cause] = field(default_factory=list)
    error_bars: np.ndarray | None = field(default=None, repr=False)
    noise: float | None = None

    @classmethod
    def judged(cls, judgement: Judgement) -> DirectionalCheck:
        numeric, analytic = judgement.numeric, judgement.analytic  # the analytic values: g . v per direction
        return cls(numeric.copy(), analytic.copy(), directional_errors(numeric, analytic), judgement.passed,
                   judgement.step, judgement.verdict, list(judgement.causes), judgement.bars.bar.copy(),
                   judgement.estimate.noise)

    def __str__(self) -> str:
        bars = self.error_bars if self.error_bars is not None else np.full(self.numeric.size, np.nan)
        lines = [f"direction {i}: g.v {a:+.10e}  numeric {n:+.10e}  relative error {r:.2e}  error bar {b:.1e}"
                 for i, (a, n, r, b) in enumerate(zip(self.analytic, self.numeric, self.relative_errors, bars,
                                                      strict=True))]
        verdict = {"passed": "passed", "inconclusive": "inconclusive"}.get(self.verdict, "FAILED")
        if not self.verdict:
            verdict = "passed" if self.passed else "FAILED"
        lines.append(f"{verdict} (epsilon {self.epsilon:.1e})")
        lines += [f"Cause ({c.kind}): {c.message} What to do: {c.advice}" for c in self.causes]
        return "\n".join(lines)


@dataclass
class StepSweep:
    """Formula 2 at each epsilon: the V of truncation error (large epsilon) against round-off (small epsilon)."""

    epsilons: np.ndarray
    differences: np.ndarray
    method: str

    @property
    def best_epsilon(self) -> float:
        return float(self.epsilons[int(np.argmin(self.differences))])

    @property
    def best_difference(self) -> float:
        return float(np.min(self.differences))

    def __str__(self) -> str:
        rows = [f"{'epsilon':>8}  {'difference':>10}"] + [f"{e:>8.0e}  {d:>10.2e}" for e, d in
                                                           zip(self.epsilons, self.differences, strict=True)]
        return "\n".join(rows + [f"best: {self.best_difference:.2e} at epsilon = {self.best_epsilon:.0e} "
                                 f"({self.method})"])


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
