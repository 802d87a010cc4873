"""What every gradient check found (full, sparse, directional; array or network form): `GradientCheckReport`, the
overall number, a verdict per block, the worst entries, the causes; an 80-column text table, an HTML table, and a
`summary()` paragraph saying where the mistake is. And `StepSweep`, formula 2 against the step."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from toynet.gradcheck.causes import Cause, NamedCauses
from toynet.gradcheck.errorbars import BlockVerdict
from toynet.gradcheck.measures import directional_errors, rel_error

METHOD_NAMES = {"central": "central differences", "richardson": "Richardson extrapolation", "complex": "complex step"}
CHECKED = {"full": "parameters", "sparse": "random entries", "directional": "random directions"}


@dataclass(frozen=True)
class Entry:
    """One judged entry: its block and index in the block, both gradients and |analytic - numeric|."""

    block: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    abs_error: float
    position: int  # its place in the flattened vector theta (a direction's number for a directional check)

    @property
    def label(self) -> str:
        """'W2[1, 3]'."""
        return f"{self.block}[{', '.join(str(i) for i in self.index)}]"


@dataclass(frozen=True)
class BlockReport:
    """One block's comparison: formula 2 over it, its largest |analytic - numeric|, its top_k worst entries, how many
    entries were left out (kinks), the difference its error bars alone allow, its largest |error| / bar."""

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
    """What the `BlockReport`s are built from when first read: (name, shape, start, stop) per block over the k judged
    entries, their verdicts, entry(j), errors (k,) |analytic - numeric| (0 where kept (k,) is False)."""

    blocks: Sequence[tuple[str, tuple[int, ...], int, int]]
    verdicts: Sequence[BlockVerdict]
    entry: Callable[[int], Entry]
    errors: np.ndarray
    kept: np.ndarray
    top_k: int

    def reports(self) -> list[BlockReport]:
        """One BlockReport per block, in order, each with its top_k worst kept entries."""
        reports = []
        for (name, shape, start, stop), verdict in zip(self.blocks, self.verdicts, strict=True):
            part = self.errors[start:stop]
            order = start + np.argsort(-part, kind="stable")[: self.top_k]
            worst = [self.entry(int(j)) for j in order if self.kept[j]]
            reports.append(BlockReport(name, shape, float(verdict.difference), float(part.max(initial=0.0)),
                                       bool(verdict.passed), worst, stop - start - int(self.kept[start:stop].sum()),
                                       float(verdict.bar_difference), float(verdict.worst_ratio)))
        return reports


@dataclass
class GradientCheckReport(NamedCauses):
    """The result of every gradient check.

    kind: "full", "sparse" (random `entries`) or "directional" (g . v along random unit vectors, the `entries`).
    difference: formula 2 (the course's number); verdict: "passed" (every entry within its error bar), "failed"
    (failing_blocks) or "inconclusive" (a random cost, or one that writes into its input: no block blamed);
    causes: what may mislead, with what to do (`cause(kind)`); noise: the cost's sigma (noise_evaluations 0: the
    a-priori round-off, see aware.judge); evaluations: every cost evaluated. analytical_gradient,
    numerical_gradient, error_bars: x's shape (array form), (n, 1) (network form) or (k,) (sparse, directional).
    """

    difference: float
    passed: bool
    failing_blocks: list[str]
    epsilon: float
    method: str
    threshold: float
    analytical_gradient: np.ndarray
    numerical_gradient: np.ndarray
    _table: BlockTable = field(repr=False)
    kind: str = "full"
    entries: list[Entry] = field(default_factory=list)
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

    blocks = cached_property(lambda self: self._table.reports())  # a BlockReport per block, built when first read
    num_parameters = property(lambda self: int(self.analytical_gradient.size), doc="how many entries were judged")
    relative_error = property(lambda self: self.difference, doc="formula 2 (the seed exercise's name)")
    relative_difference = property(lambda self: self.difference, doc="formula 2 (the sparse check's name)")
    analytic = property(lambda self: self.analytical_gradient.reshape(-1), doc="(k,) analytic values, flat")
    numeric = property(lambda self: self.numerical_gradient.reshape(-1), doc="(k,) numerical values, flat")

    absolute_difference = property(lambda self: np.abs(self.analytical_gradient - self.numerical_gradient),
                                   doc="|analytic - numeric| per entry, in analytical_gradient's shape")
    max_rel_error = property(lambda self: rel_error(self.analytic, self.numeric), doc="cs231n's rel_error")
    relative_errors = property(lambda self: directional_errors(self.numeric, self.analytic),
                               doc="(k,) formula 2 per entry (per direction), 0 where both are 0")

    def as_dict(self) -> dict[str, Any]:
        """The five fields of the seed exercise's answer as a plain dict."""
        return {"analytical_gradient": self.analytical_gradient, "numerical_gradient": self.numerical_gradient,
                "absolute_difference": self.absolute_difference, "relative_error": float(self.difference),
                "passed": bool(self.passed)}

    def summary(self) -> str:
        """A paragraph: the verdict, which blocks hold the mistake (with their worst entry), the causes named."""
        how = (f"{METHOD_NAMES[self.method]}, epsilon {self.epsilon:.1e}, {self.analytical_gradient.size} "
               f"{CHECKED[self.kind]}")
        if self.noise is not None:
            how += f", {'measured noise' if self.noise_evaluations else 'a-priori round-off'} {self.noise:.1e}"
        if self.verdict == "inconclusive":
            lines = [f"Gradient check inconclusive ({how}): the cost cannot be checked as it is, so no block is "
                     f"blamed (difference {self.difference:.2e})."]
        elif self.passed:
            lines = [f"Gradient check passed: every entry agrees with the backward within the numerical gradient's "
                     f"own error bar (difference {self.difference:.2e}, threshold {self.threshold:.1e}; {how})."]
            if self.kinks:
                named = _and([entry.label for entry in self.kinks[:5]]) + (", ..." if len(self.kinks) > 5 else "")
                lines.append(f"{len(self.kinks)} entr{'y' if len(self.kinks) == 1 else 'ies'} ({named}) left out: "
                             f"without them the difference is {self.difference_without_kinks:.2e}.")
        else:
            lines = [f"Gradient check FAILED: difference {self.difference:.2e} (threshold {self.threshold:.1e}; "
                     f"{how}).", self._failing()]
        lines += [f"Cause ({cause.kind}): {cause.message} What to do: {cause.advice}" for cause in self.causes]
        lines += [f"Note: {warning}" for warning in self.warnings]
        return "\n".join(textwrap.fill(line, 80, subsequent_indent="  ") for line in lines)

    def _failing(self) -> str:
        """Which blocks hold the mistake, each with its difference, error bar and worst entry."""
        said = "; ".join(
            f"{block.name} relative difference {block.relative_difference:.2e} against an error bar of "
            f"{block.bar_difference:.1e}" + (f", worst {block.worst[0].label}: analytic {block.worst[0].analytic:.6g}"
                                              f" vs numeric {block.worst[0].numeric:.6g}" if block.worst else "")
            for block in self.blocks if not block.passed)
        if self.kind == "directional":
            return f"The gradient disagrees with the cost along some directions: {said}."
        others = [block.name for block in self.blocks if block.passed]
        return (f"The mistake is in the gradient of {_and(self.failing_blocks)} (d{', d'.join(self.failing_blocks)}):"
                f" {said}." + (f" The other blocks ({_and(others)}) agree within their error bars." if others else ""))

    def __str__(self) -> str:
        """The summary, then a row per block and the failing blocks' worst entries (sparse, directional: per entry)."""
        rows = [self.summary(), ""]
        rows += self._block_rows() if self.kind == "full" else self._entry_rows()
        if self.kinks:
            rows.append(f"entries left out of the verdict (a ReLU kink, or not smooth across the step): "
                        f"{len(self.kinks)}")
            rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in self.kinks[:10]]
        if self.causes:
            rows.append("causes: " + ", ".join(cause.kind for cause in self.causes) + " (see above)")
        return "\n".join(rows)

    def _block_rows(self) -> list[str]:
        rows = [f"{'block':<6}{'shape':<11}{'rel. diff':>10}{'error bar':>10}  {'':<4}  worst entry", "-" * 79]
        for block in self.blocks:
            worst = block.worst[0] if block.worst else None
            shown = "" if worst is None else (f"[{', '.join(map(str, worst.index))}] {worst.analytic:+.3e} vs "
                                              f"{worst.numeric:+.3e}")
            rows.append(f"{block.name:<6}{str(block.shape):<11}{block.relative_difference:>10.2e}"
                        f"{block.bar_difference:>10.1e}  {'ok' if block.passed else 'FAIL':<4}  {shown}"[:79])
        for block in self.blocks:
            if not block.passed and len(block.worst) > 1:
                rows.append(f"worst entries of {block.name} (analytic vs numeric):")
                rows += [f"  {e.label:<14} {e.analytic:+.10e} vs {e.numeric:+.10e}" for e in block.worst]
        return rows

    def _entry_rows(self) -> list[str]:
        rows = [f"{'entry':<16}{'analytic':>17}{'numeric':>17}{'rel. error':>12}{'error bar':>11}"]
        bars = np.full(len(self.entries), np.nan) if self.error_bars is None else self.error_bars.reshape(-1)
        for e, rel, bar in zip(self.entries, self.relative_errors, bars, strict=True):
            rows.append(f"{e.label:<16}{e.analytic:>17.9e}{e.numeric:>17.9e}{rel:>12.2e}{bar:>11.1e}")
        return rows

    def __repr__(self) -> str:
        verdict = self.verdict if self.verdict in ("passed", "inconclusive") else f"FAILED in {self.failing_blocks}"
        causes = f" causes={[c.kind for c in self.causes]}" if self.causes else ""
        return f"<GradientCheckReport {self.kind} difference={self.difference:.3e} {verdict}{causes}>"

    def _repr_html_(self) -> str:
        """An HTML table for Jupyter: one row per block, failing rows highlighted, then the causes."""
        titles = ("block", "shape", "relative difference", "error bar", "max |error|", "verdict",
                  "worst entries (analytic vs numeric)")
        cells = "".join(f"<th>{title}</th>" for title in titles)
        body = []
        for block in self.blocks:
            worst = "<br>".join(html.escape(f"[{', '.join(map(str, e.index))}] {e.analytic:+.6e} vs {e.numeric:+.6e}")
                                for e in block.worst)
            style = "" if block.passed else ' style="background:#fdd"'
            body.append(f"<tr{style}><td>{block.name}</td><td>{block.shape}</td><td>{block.relative_difference:.2e}"
                        f"</td><td>{block.bar_difference:.1e}</td><td>{block.max_abs_error:.2e}</td>"
                        f"<td>{'ok' if block.passed else '<b>FAIL</b>'}</td>"
                        f"<td style='font-family:monospace'>{worst}</td></tr>")
        summary = "<br>".join(html.escape(line) for line in self.summary().replace("\n  ", " ").split("\n"))
        causes = "".join(f"<li><b>{html.escape(c.kind)}</b>: {html.escape(c.message)} <i>What to do:</i> "
                         f"{html.escape(c.advice)}</li>" for c in self.causes)
        listed = f"<p>Causes:</p><ul>{causes}</ul>" if causes else ""
        return f"<div><p>{summary}</p><table><tr>{cells}</tr>{''.join(body)}</table>{listed}</div>"


# The result types of earlier versions, one type now: user code and isinstance checks keep working.
GradientCheckResult = SparseCheck = DirectionalCheck = GradientCheckReport


@dataclass
class StepSweep:
    """Formula 2 at each epsilon: the V of truncation error (large epsilon) against round-off (small epsilon)."""

    epsilons: np.ndarray
    differences: np.ndarray
    method: str

    best_epsilon = property(lambda self: float(self.epsilons[int(np.argmin(self.differences))]))
    best_difference = property(lambda self: float(np.min(self.differences)))

    def __str__(self) -> str:
        rows = [f"{'epsilon':>8}  {'difference':>10}"] + [f"{e:>8.0e}  {d:>10.2e}" for e, d in
                                                           zip(self.epsilons, self.differences, strict=True)]
        return "\n".join(rows + [f"best: {self.best_difference:.2e} at epsilon = {self.best_epsilon:.0e} "
                                 f"({self.method})"])


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
