"""Figures for gradient checks and training: error vs step size, per-block bars, cost curves, decision boundaries.

The only toynet module that imports matplotlib, and it imports `pyplot` lazily, inside the functions that
create a figure, so `import toynet` stays free of it and the caller's backend (Agg, inline) is respected.
Every function draws on `ax` when given one (object API) and returns the Axes it drew on.

    from toynet import plots
    ax = plots.plot_step_sweep(sweep)            # the V: truncation error on the right, round-off on the left
    plots.save_figure(ax.figure, "build/v.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PASS_COLOR = "#2a9d8f"
FAIL_COLOR = "#d62828"
SERIES_COLORS = ("#457b9d", "#e9c46a", "#8d99ae", "#6a4c93")
# A difference of exactly 0 cannot sit on a log axis; it is drawn at this floor and labelled "0".
_LOG_FLOOR = 1e-17


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (6.4, 4.4)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # lazily: the caller may have chosen a backend already

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _legend_below(ax: Axes, handles: list[Any], ncol: int = 2) -> None:
    """The legend under the x-axis label, outside the data: it can never hide a bar or a point."""
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=ncol, fontsize=8,
              frameon=False)


def _mark_failing_ticks(ax: Axes, failing: set[str]) -> None:
    """Failing blocks' tick labels in red and bold, so the block to fix is read at a glance."""
    for label in ax.get_xticklabels():
        if label.get_text() in failing:
            label.set_color(FAIL_COLOR)
            label.set_fontweight("bold")


def plot_step_sweep(sweep: Any, ax: Axes | None = None, threshold: float | None = None) -> Axes:
    """Log-log relative difference vs the step epsilon from a `StepSweep` (.epsilons, .differences, .method).

    The curve is a V: on the right (large h) the truncation error of the difference formula grows like
    h^2 (central); on the left (small h) round-off grows like eps/h. Both regimes are shaded, the best
    step is marked, and `threshold` (e.g. 2e-7) is drawn as a horizontal line when given.
    """
    steps = np.asarray(sweep.epsilons, dtype=float).reshape(-1)
    differences = np.asarray(sweep.differences, dtype=float).reshape(-1)
    if steps.shape != differences.shape or steps.size == 0:
        raise ValueError(
            f"sweep.epsilons and sweep.differences must be non-empty and of equal length, "
            f"but got {steps.shape} and {differences.shape}"
        )
    if np.any(steps <= 0) or not np.all(np.isfinite(steps)):
        raise ValueError(f"sweep.epsilons must be positive and finite, but got {steps}")
    method = str(getattr(sweep, "method", "central"))
    order = np.argsort(steps)
    steps, differences = steps[order], differences[order]
    ax = _new_axes(ax)

    exact = differences == 0
    shown = np.where(exact, _LOG_FLOOR, differences)
    ax.loglog(steps, shown, "o-", color=SERIES_COLORS[0], lw=2, ms=5, label=f"{method} difference")
    if exact.any():
        ax.loglog(steps[exact], shown[exact], "v", color="black", ms=7, label="exactly 0 (drawn at 1e-17)")

    finite = np.isfinite(differences)
    best = getattr(sweep, "best_epsilon", None)
    if best is None and finite.any():
        best = float(steps[finite][np.argmin(differences[finite])])
    best_difference = getattr(sweep, "best_difference", None)
    if best is not None and best_difference is None:
        best_difference = float(differences[np.argmin(np.abs(steps - best))])

    lo, hi = steps.min() / 2, steps.max() * 2
    ax.set_xlim(lo, hi)
    if best is not None:
        best, best_difference = float(best), float(best_difference)  # type: ignore[arg-type]
        # Left of the best step round-off wins, right of it truncation wins: shade only a side that has points.
        power = {"central": "h^2", "forward": "h", "richardson": "h^4", "complex": "h^2"}.get(method, "h^p")
        regions = (
            (lo, best, steps < best, "#f4a261", 0.15, "round-off\ndominates\n(error ~ eps / h)", "#9c4a00"),
            (best, hi, steps > best, "#8ecae6", 0.2, f"truncation\ndominates\n(error ~ {power})", "#1d3557"),
        )
        for left, right, has_points, color, alpha, label, text_color in regions:
            if not has_points.any():  # shade only a side that has points
                continue
            ax.axvspan(left, right, color=color, alpha=alpha, lw=0)
            # a narrow region (under 2 decades) gets its label pinned inside the axes' edge instead of centred
            if np.log10(right / left) >= 2:
                x_text, ha = np.sqrt(left * right), "center"
            else:
                x_text, ha = (right / 1.3, "right") if right == hi else (left * 1.3, "left")
            ax.text(x_text, 0.96, label, transform=ax.get_xaxis_transform(), ha=ha, va="top", fontsize=9,
                    color=text_color)
        ax.loglog([best], [max(best_difference, _LOG_FLOOR)], "*", color="black", ms=16, zorder=5,
                  label=f"best step h = {best:.0e} (difference {best_difference:.1e})")
    if threshold is not None:
        ax.axhline(threshold, color=FAIL_COLOR, ls="--", lw=1.2, label=f"threshold {threshold:g}")
    ax.set_xlabel("step h (same units as the parameter)")
    ax.set_ylabel("relative difference (formula 2, no units)")
    ax.set_title(f"Gradient check vs step size ({method} difference)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)
    return ax


def _report_values(report: Any) -> tuple[list[str], np.ndarray, list[bool]]:
    blocks = list(report.blocks)
    if not blocks:
        raise ValueError("report.blocks is empty: nothing to plot")
    names = [str(b.name) for b in blocks]
    values = np.array([float(b.relative_difference) for b in blocks])
    passed = [bool(b.passed) for b in blocks]
    return names, values, passed


def plot_block_differences(
    report: Any | Sequence[tuple[str, Any]], ax: Axes | None = None, threshold: float | None = None
) -> Axes:
    """Per-block relative difference bars (log scale) from a `GradientCheckReport`.

    `report` is one report (.blocks[*].name/.relative_difference/.passed, .threshold), or a sequence of
    (label, report) pairs, e.g. [("buggy backward", r1), ("fixed backward", r2)], drawn side by side.
    Failing blocks are red; the threshold (default: the first report's `.threshold`) is a dashed line.
    """
    if isinstance(report, Sequence) and not isinstance(report, str) and not hasattr(report, "blocks"):
        series = [(str(label), r) for label, r in report]
        if not series:
            raise ValueError("report must be a GradientCheckReport or a non-empty sequence of (label, report)")
    else:
        series = [("", report)]
    names = _report_values(series[0][1])[0]
    for label, r in series[1:]:
        if _report_values(r)[0] != names:
            raise ValueError(f"every report must have the blocks {names}, but {label!r} has {_report_values(r)[0]}")
    if threshold is None:
        threshold = getattr(series[0][1], "threshold", None)
    ax = _new_axes(ax, figsize=(max(6.4, 1.0 + 0.9 * len(names) * len(series)), 4.4))

    from matplotlib.patches import Patch

    width = 0.8 / len(series)
    x = np.arange(len(names))
    handles: list[Any] = []
    hatches = ("", "//", "..", "xx")
    for i, (label, r) in enumerate(series):
        _, values, passed = _report_values(r)
        shown = np.where(values > 0, values, _LOG_FLOOR)
        colors = [PASS_COLOR if ok else FAIL_COLOR for ok in passed]
        if len(series) > 1:
            colors = [SERIES_COLORS[i % len(SERIES_COLORS)] if ok else FAIL_COLOR for ok in passed]
        positions = x + (i - (len(series) - 1) / 2) * width
        ax.bar(positions, shown, width=width * 0.92, color=colors, edgecolor="black", lw=0.6,
               hatch=hatches[i % len(hatches)])
        for pos, value in zip(positions, values, strict=True):
            ax.annotate("0" if value == 0 else f"{value:.0e}", (pos, max(value, _LOG_FLOOR)), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7)
        if len(series) > 1:
            handles.append(Patch(facecolor=SERIES_COLORS[i % len(SERIES_COLORS)], edgecolor="black",
                                 hatch=hatches[i % len(hatches)], label=f"{label}: passes"))
    if len(series) == 1:
        handles.append(Patch(facecolor=PASS_COLOR, edgecolor="black", label="passes"))
    handles.append(Patch(facecolor=FAIL_COLOR, edgecolor="black", label="fails (above threshold)"))
    if threshold is not None:
        ax.axhline(threshold, color="black", ls="--", lw=1.2)
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="black", ls="--", label=f"threshold {threshold:g}"))
    ax.set_yscale("log")
    ax.set_xticks(x, names)
    ax.set_xlabel("parameter block (course order)")
    ax.set_ylabel("relative difference (formula 2, no units)")
    title = "Gradient check per parameter block"
    if len(series) > 1:
        title += ": " + " vs ".join(label for label, _ in series)
    epsilons = {getattr(r, "epsilon", None) for _, r in series}
    if len(epsilons) == 1 and None not in epsilons:
        title += f" (epsilon {epsilons.pop():.0e})"
    ax.set_title(title)
    if threshold is not None and any(
        ok and value > threshold for _, r in series for value, ok in zip(*_report_values(r)[1:], strict=True)
    ):
        # gradient_check_n also passes a block whose error is negligible next to the whole gradient
        ax.text(0.0, -0.34, "Bars above the threshold that are not red passed anyway: their error is negligible "
                "next to the whole gradient's (see the report).", transform=ax.transAxes, fontsize=8,
                va="top", color="#444444")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    top = max(float(np.max(_report_values(r)[1])) for _, r in series)
    ax.set_ylim(top=max(top, threshold or 0.0, _LOG_FLOOR) * 5)  # room for the value labels above the bars
    _mark_failing_ticks(ax, {name for _, r in series for name, ok in zip(names, _report_values(r)[2], strict=True)
                             if not ok})
    _legend_below(ax, handles, ncol=len(handles))
    return ax


def plot_error_bars(report: Any, ax: Axes | None = None, margin: float = 2.0) -> Axes:
    """Each block's difference against its error bar (log scale), from an error-aware gradient check.

    report: .blocks[*] with .name, .relative_difference (formula 2 over the block), .bar_difference (the
    difference the numerical gradient's own measured error could produce: ||bars|| / (||g|| + ||g_approx||))
    and .passed; optional .epsilon and .noise for the title. The grey bar is the error bar, the dashed tick
    `margin` times it (a block fails only where entries lie beyond that); the dot is the measured
    difference, green where the block passed, red where it failed. A dot inside its grey bar is a backward
    that agrees with the numerical gradient as well as that gradient can tell.
    """
    blocks = list(report.blocks)
    if not blocks:
        raise ValueError("report.blocks is empty: nothing to plot")
    names = [str(b.name) for b in blocks]
    values = np.array([float(b.relative_difference) for b in blocks])
    bars = np.array([float(b.bar_difference) for b in blocks])
    passed = [bool(b.passed) for b in blocks]
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(bars))):
        raise ValueError("every block's relative_difference and bar_difference must be finite")
    ax = _new_axes(ax, figsize=(max(6.4, 1.0 + 0.9 * len(names)), 4.4))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    x = np.arange(len(names))
    ax.bar(x, np.maximum(bars, _LOG_FLOOR), width=0.6, color="#cccccc", edgecolor="black", lw=0.6)
    ax.scatter(x, np.maximum(bars * margin, _LOG_FLOOR), marker="_", s=500, color="black", lw=1.2, zorder=3)
    colors = [PASS_COLOR if ok else FAIL_COLOR for ok in passed]
    ax.scatter(x, np.maximum(values, _LOG_FLOOR), s=60, color=colors, edgecolor="black", zorder=4)
    for position, value in zip(x, values, strict=True):
        ax.annotate("0" if value == 0 else f"{value:.0e}", (position, max(value, _LOG_FLOOR)), xytext=(8, -3),
                    textcoords="offset points", fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(x, names)
    ax.set_xlabel("parameter block (course order)")
    ax.set_ylabel("relative difference (formula 2, no units)")
    title = "Difference vs error bar per block"
    details = []
    if getattr(report, "epsilon", None) is not None:
        details.append(f"epsilon {float(report.epsilon):.1e}")
    if getattr(report, "noise", None) is not None:
        details.append(f"measured noise {float(report.noise):.1e}")
    ax.set_title(title + (f" ({', '.join(details)})" if details else ""))
    handles = [Patch(facecolor="#cccccc", edgecolor="black", label="error bar of the numerical gradient"),
               Line2D([], [], color="black", marker="_", ls="", markersize=14, label=f"{margin:g} x error bar"),
               Line2D([], [], color=PASS_COLOR, marker="o", ls="", markeredgecolor="black", label="difference: passes"),
               Line2D([], [], color=FAIL_COLOR, marker="o", ls="", markeredgecolor="black", label="difference: fails")]
    top = max(float(np.max(values)), float(np.max(bars)) * margin, _LOG_FLOOR)
    ax.set_ylim(top=top * 5)
    ax.grid(True, axis="y", which="major", alpha=0.3)
    _mark_failing_ticks(ax, {name for name, ok in zip(names, passed, strict=True) if not ok})
    _legend_below(ax, handles, ncol=2)
    return ax


def plot_cost_history(costs: Sequence[float] | np.ndarray, ax: Axes | None = None, label: str | None = None) -> Axes:
    """The training cost J at every iteration (logistic cost, in nats: natural log)."""
    values = np.asarray(costs, dtype=float).reshape(-1)
    if values.size == 0:
        raise ValueError("costs must hold at least one value, but got an empty sequence")
    ax = _new_axes(ax)
    ax.plot(np.arange(values.size), values, lw=2, label=label or f"final cost {values[-1]:.4f}")
    ax.set_xlabel("iteration (gradient-descent steps)")
    ax.set_ylabel("cost J (logistic, nats)")
    ax.set_title("Training cost")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_decision_boundary(
    network: Any, parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, ax: Axes | None = None,
    resolution: int = 200,
) -> Axes:
    """P(y = 1 | x) over the plane, the 0.5 contour, and the examples.  X: (2, m), Y: (1, m) or (m,)."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y).reshape(-1)
    if X.ndim != 2 or X.shape[0] != 2:
        raise ValueError(f"X must have shape (2, m) (2-D inputs, examples in columns), but got {X.shape}")
    if Y.size != X.shape[1]:
        raise ValueError(f"Y must hold m = {X.shape[1]} labels, but got {Y.size}")
    ax = _new_axes(ax, figsize=(5.6, 5.0))
    pad = 0.1 * (X.max(axis=1) - X.min(axis=1)) + 1e-9
    x1 = np.linspace(X[0].min() - pad[0], X[0].max() + pad[0], resolution)
    x2 = np.linspace(X[1].min() - pad[1], X[1].max() + pad[1], resolution)
    grid1, grid2 = np.meshgrid(x1, x2)
    probabilities = network.predict_proba(np.vstack([grid1.ravel(), grid2.ravel()]), parameters)
    probabilities = np.asarray(probabilities).reshape(grid1.shape)
    filled = ax.contourf(grid1, grid2, probabilities, levels=np.linspace(0, 1, 11), cmap="RdBu", alpha=0.55)
    ax.contour(grid1, grid2, probabilities, levels=[0.5], colors="black", linewidths=1.5)
    ax.scatter(X[0, Y == 0], X[1, Y == 0], c="#b2182b", edgecolors="black", s=18, lw=0.5, label="y = 0")
    ax.scatter(X[0, Y == 1], X[1, Y == 1], c="#2166ac", edgecolors="black", s=18, lw=0.5, label="y = 1")
    ax.plot([], [], color="black", lw=1.5, label="decision boundary P = 0.5")
    ax.figure.colorbar(filled, ax=ax, label="P(y = 1 | x)")
    ax.set_xlabel("x1 (feature 1)")
    ax.set_ylabel("x2 (feature 2)")
    ax.set_title("Decision boundary")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8, frameon=False)
    return ax


def save_figure(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Write `fig` to `path` (folders created), tight bounding box, then close it. Returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_score_distribution(scores: Sequence[float] | np.ndarray, max_score: float, ax: Axes | None = None) -> Axes:
    """How many submissions got each total score (0..max_score), with the mean marked: a class at a glance.

    A bar per distinct score when there are at most 30 of them (points often come in halves), else 20 bins.
    """
    values = np.asarray(scores, dtype=float).reshape(-1)
    if not (isinstance(max_score, (int, float)) and np.isfinite(max_score) and max_score > 0):
        raise ValueError(f"max_score must be a positive number, but got {max_score!r}")
    if values.size == 0:
        raise ValueError("scores must hold at least one score, but got an empty sequence")
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > max_score:
        raise ValueError(f"scores must be finite numbers in [0, {max_score:g}], "
                         f"but got values from {values.min()} to {values.max()}")
    ax = _new_axes(ax)
    distinct, counts = np.unique(values, return_counts=True)
    if distinct.size <= 30:
        width = 0.8 * (float(np.min(np.diff(distinct))) if distinct.size > 1 else max(max_score / 20, 0.5))
        ax.bar(distinct, counts, width=width, color=SERIES_COLORS[0], edgecolor="black", lw=0.5)
    else:
        ax.hist(values, bins=np.linspace(0, max_score, 21).tolist(), color=SERIES_COLORS[0], edgecolor="black", lw=0.5)
    mean = float(values.mean())
    ax.axvline(mean, color=FAIL_COLOR, ls="--", lw=1.5, label=f"mean {mean:.3g} of {max_score:g}")
    ax.set_xlim(-0.05 * max_score - 0.5, 1.05 * max_score + 0.5)
    ax.set_xlabel(f"autograded score (out of {max_score:g} points)")
    ax.set_ylabel("submissions")
    ax.set_title(f"Score distribution ({values.size} submissions)")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of submissions
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return ax
