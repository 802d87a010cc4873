"""What a network gradient check found: the overall number, a verdict per block, and the worst entries.

`GradientCheckReport` prints as an 80-column text table, renders as an HTML table in Jupyter, and its
`summary()` says in one paragraph which blocks (W1, b1, ...) hold the mistake.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np

from toynet.gradcheck.measures import rel_error, relative_difference
from toynet.params import Block, ParamLayout

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
    worst: the top_k entries by absolute error; kinks: how many of its entries crossed a kink.
    """

    name: str
    shape: tuple[int, ...]
    relative_difference: float
    max_abs_error: float
    passed: bool
    worst: list[Entry]
    kinks: int = 0


@dataclass
class BlockTable:
    """The verdict's numbers per block, from which the `BlockReport`s are built when first read.

    relative_difference, passed: (B,) for the B blocks; analytic, numeric: (n,) gradients; errors: (n,)
    |analytic - numeric|, 0 where kept is False (entries that crossed a ReLU kink).
    """

    layout: ParamLayout
    relative_difference: np.ndarray
    passed: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    errors: np.ndarray
    kept: np.ndarray
    top_k: int

    def reports(self) -> list[BlockReport]:
        """One BlockReport per block, course order, each with its top_k worst kept entries."""
        reports = []
        for number, block in enumerate(self.layout.blocks):
            part = self.errors[block.start : block.stop]
            order = block.start + np.argsort(-part, kind="stable")[: self.top_k]
            worst = [entry_at(block, int(i), self.analytic[i], self.numeric[i]) for i in order if self.kept[i]]
            kinks = block.size - int(self.kept[block.start : block.stop].sum())
            reports.append(BlockReport(block.name, block.shape, float(self.relative_difference[number]),
                                       float(part.max(initial=0.0)), bool(self.passed[number]), worst, kinks))
        return reports


def entry_at(block: Block, position: int, analytic: float, numeric: float) -> Entry:
    """The Entry of theta[position], which lies in `block`."""
    flat, index = position - block.start, cast(tuple[int, ...], ())
    for size in reversed(block.shape):  # row-major unravel, cheaper than np.unravel_index for a few entries
        flat, i = divmod(flat, size)
        index = (i, *index)
    return Entry(block.name, index, float(analytic), float(numeric), abs(float(analytic) - float(numeric)), position)


@dataclass
class GradientCheckReport:
    """The result of `gradient_check_n`.

    difference: formula 2 over the whole vector (the course's number); passed: no block failed and the
    difference without kink-crossing entries is within the threshold; failing_blocks: names in course order;
    blocks: a BlockReport per block. analytical_gradient, numerical_gradient: (n, 1) vectors in
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

    @cached_property
    def blocks(self) -> list[BlockReport]:
        """The per-block table, built on first use: most callers read only the verdict, and building
        every block's worst entries was a third of a small network's check."""
        return self._table.reports()

    @property
    def num_parameters(self) -> int:
        return int(self.analytical_gradient.shape[0])

    def summary(self) -> str:
        """A paragraph: the verdict, which blocks hold the mistake (with their worst entry), and any warnings."""
        how = f"{METHOD_NAMES[self.method]}, epsilon {self.epsilon:.1e}, {self.num_parameters} parameters"
        if self.passed and self.kinks:
            lines = [
                f"Gradient check passed: difference {self.difference_without_kinks:.2e} <= {self.threshold:.1e} "
                f"({how}) over the entries that did not cross a ReLU kink. With the {len(self.kinks)} kink "
                f"entries ({_and([entry.label for entry in self.kinks[:5]])}"
                + (", ..." if len(self.kinks) > 5 else "")
                + f") the difference is {self.difference:.2e}: a step of +-epsilon there moves a pre-activation "
                "across 0, where ReLU has no derivative, so the numerical value is not a gradient."
            ]
        elif self.passed:
            lines = [f"Gradient check passed: difference {self.difference:.2e} <= {self.threshold:.1e} ({how})."]
        else:
            lines = [f"Gradient check FAILED: difference {self.difference:.2e} > {self.threshold:.1e} ({how})."]
            failing = [block for block in self.blocks if not block.passed]
            if failing:
                said = "; ".join(
                    f"{block.name} relative difference {block.relative_difference:.2e}"
                    + (f", worst {block.worst[0].label}: analytic {block.worst[0].analytic:.6g} vs numeric "
                       f"{block.worst[0].numeric:.6g}" if block.worst else "")
                    for block in failing
                )
                others = [block.name for block in self.blocks if block.passed]
                lines.append(
                    f"The mistake is in the gradient of {_and(self.failing_blocks)} "
                    f"(d{', d'.join(self.failing_blocks)}): {said}."
                    + (f" The other blocks ({_and(others)}) agree." if others else "")
                )
            else:
                worst = max(self.blocks, key=lambda block: block.max_abs_error)
                lines.append(
                    f"No single block stands out: the error is spread over the blocks (largest in {worst.name}, "
                    f"relative difference {worst.relative_difference:.2e})."
                )
        lines += [f"Note: {warning}" for warning in self.warnings]
        return "\n".join(textwrap.fill(line, 80, subsequent_indent="  ") for line in lines)

    def __str__(self) -> str:
        """The summary, then one row per block (80 columns), then the worst entries of failing blocks."""
        header = f"{'block':<6}{'shape':<12}{'rel. diff':>10}{'max |err|':>11}  {'':<4}  worst entry"
        rows = [self.summary(), "", header]
        rows.append("-" * 79)
        for block in self.blocks:
            worst = block.worst[0] if block.worst else None
            shown = ""
            if worst is not None:
                shown = f"[{', '.join(map(str, worst.index))}] {worst.analytic:+.3e} vs {worst.numeric:+.3e}"
            rows.append(
                f"{block.name:<6}{str(block.shape):<12}{block.relative_difference:>10.2e}{block.max_abs_error:>11.2e}"
                f"  {'ok' if block.passed else 'FAIL':<4}  {shown}"[:79]
            )
        for block in self.blocks:
            if not block.passed and len(block.worst) > 1:
                rows.append(f"worst entries of {block.name} (analytic vs numeric):")
                rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in block.worst]
        if self.kinks:
            rows.append(f"entries that crossed a ReLU kink (left out of the verdict): {len(self.kinks)}")
            rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in self.kinks[:10]]
        return "\n".join(rows)

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else f"FAILED in {self.failing_blocks}"
        return f"<GradientCheckReport difference={self.difference:.3e} {verdict}>"

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter: one row per block, failing rows highlighted."""
        cells = "".join(f"<th>{title}</th>" for title in ("block", "shape", "relative difference", "max |error|",
                                                          "verdict", "worst entries (analytic vs numeric)"))
        body = []
        for block in self.blocks:
            worst = "<br>".join(
                html.escape(f"[{', '.join(map(str, e.index))}] {e.analytic:+.6e} vs {e.numeric:+.6e}")
                for e in block.worst
            )
            style = "" if block.passed else ' style="background:#fdd"'
            body.append(
                f"<tr{style}><td>{block.name}</td><td>{block.shape}</td><td>{block.relative_difference:.2e}</td>"
                f"<td>{block.max_abs_error:.2e}</td><td>{'ok' if block.passed else '<b>FAIL</b>'}</td>"
                f"<td style='font-family:monospace'>{worst}</td></tr>"
            )
        summary = "<br>".join(html.escape(line) for line in self.summary().replace("\n  ", " ").split("\n"))
        return f"<div><p>{summary}</p><table><tr>{cells}</tr>{''.join(body)}</table></div>"


@dataclass
class SparseCheck:
    """Numerical vs analytic at a few random coordinates: the entries, cs231n's rel_error and formula 2."""

    entries: list[Entry]
    relative_difference: float
    max_rel_error: float
    passed: bool
    epsilon: float

    @classmethod
    def of(cls, entries: list[Entry], threshold: float, epsilon: float) -> SparseCheck:
        """The verdict over the chosen entries: formula 2 against `threshold`, and cs231n's rel_error."""
        analytic, numeric = np.array([e.analytic for e in entries]), np.array([e.numeric for e in entries])
        difference = relative_difference(analytic, numeric)
        return cls(entries, difference, rel_error(analytic, numeric), bool(difference <= threshold), epsilon)

    def __str__(self) -> str:
        lines = [f"{'entry':<16}{'analytic':>18}{'numeric':>18}{'rel. error':>12}"]
        for e in self.entries:
            rel = e.abs_error / max(1e-8, abs(e.analytic) + abs(e.numeric))
            lines.append(f"{e.label:<16}{e.analytic:>18.10e}{e.numeric:>18.10e}{rel:>12.2e}")
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"{verdict}: relative difference {self.relative_difference:.2e} over {len(self.entries)} entries")
        return "\n".join(lines)


@dataclass
class DirectionalCheck:
    """(f(x + epsilon v) - f(x - epsilon v)) / 2 epsilon against g . v for a few random unit directions v."""

    numeric: np.ndarray
    analytic: np.ndarray
    relative_errors: np.ndarray
    passed: bool
    epsilon: float

    def __str__(self) -> str:
        lines = [f"direction {i}: g.v {a:+.10e}  numeric {n:+.10e}  relative error {r:.2e}"
                 for i, (a, n, r) in enumerate(zip(self.analytic, self.numeric, self.relative_errors, strict=True))]
        return "\n".join(lines + ["passed" if self.passed else "FAILED"])


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
