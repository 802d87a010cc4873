"""Draw every figure in assets/ (diagrams and the README's plots) with matplotlib: `make assets`.

    python assets/make_figures.py            # writes the PNGs next to this script
    python assets/make_figures.py --only diagrams

Diagrams: figure 1 (1-D check), figure 2 (the N-D network, forward and backward), the dictionary-to-vector
layout. Plots (they run toynet's gradient checker on the course's test case): the step-size V of the
corrected backward, and the per-block bars of the buggy vs the fixed backward.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no window, same pixels everywhere

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

from toynet import Network  # noqa: E402
from toynet.plots import save_figure  # noqa: E402

HERE = Path(__file__).resolve().parent
FORWARD = "#1d3557"
BACKWARD = "#d62828"
BOX_COLORS = {"LINEAR": "#a8dadc", "RELU": "#f1faee", "SIGMOID": "#ffd6a5", "J": "#e9c46a", "x": "#ffffff"}
COURSE_LAYERS = [4, 5, 3, 1]  # the course's N-D test network: 47 parameters


def _box(ax: Axes, x: float, y: float, text: str, width: float = 1.1, height: float = 0.6,
         color: str = "#a8dadc", fontsize: int = 11) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                facecolor=color, edgecolor="black", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = FORWARD,
           style: str = "-", rad: float = 0.0) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, lw=1.6,
                                 linestyle=style, connectionstyle=f"arc3,rad={rad}"))


def _legend_arrows(ax: Axes) -> None:
    ax.plot([], [], color=FORWARD, lw=1.6, label="forward: compute the cost J")
    ax.plot([], [], color=BACKWARD, lw=1.6, ls="--", label="backward: compute the derivatives")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.02), ncol=2, frameon=False, fontsize=10)


def diagram_1d() -> plt.Figure:
    """Figure 1: x -> [J(theta) = theta * x] -> J, with dJ/dtheta = x coming back."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.set_xlim(0, 7.5)
    ax.set_ylim(-0.9, 2.1)
    ax.axis("off")
    _box(ax, 0.8, 1.0, "x", width=0.7, color=BOX_COLORS["x"], fontsize=14)
    _box(ax, 3.75, 1.0, r"$J(\theta) = \theta\, x$", width=2.2, height=0.8, color=BOX_COLORS["LINEAR"], fontsize=14)
    _box(ax, 6.7, 1.0, r"$J$", width=0.7, color=BOX_COLORS["J"], fontsize=14)
    ax.text(3.75, 1.95, r"parameter $\theta$", ha="center", va="center", fontsize=11)
    _arrow(ax, (3.75, 1.8), (3.75, 1.42))
    _arrow(ax, (1.2, 1.0), (2.6, 1.0))
    _arrow(ax, (4.9, 1.0), (6.3, 1.0))
    _arrow(ax, (6.5, 0.6), (4.4, 0.5), color=BACKWARD, style="--", rad=-0.3)
    ax.text(5.5, -0.05, r"$\partial J / \partial \theta = x$", ha="center", va="center", fontsize=13,
            color=BACKWARD)
    ax.set_title("Figure 1: the 1-D example, J(theta) = theta * x", fontsize=12)
    _legend_arrows(ax)
    return fig


def diagram_nd() -> plt.Figure:
    """Figure 2: LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID -> cost, forward on top, backward below."""
    fig, ax = plt.subplots(figsize=(14, 4.2))
    ax.set_xlim(-0.2, 14.4)
    ax.set_ylim(-1.6, 2.3)
    ax.axis("off")
    names = ["LINEAR", "RELU", "LINEAR", "RELU", "LINEAR", "SIGMOID", "cost J"]
    outputs = ["Z1", "A1", "Z2", "A2", "Z3", "A3"]
    grads = ["dZ1", "dA1", "dZ2", "dA2", "dZ3", "dZ3 = A3 - Y"]
    fwd_y, bwd_y, half = 0.92, 0.68, 0.6  # arrows between boxes: forward on top, backward just below
    _box(ax, 0.4, 0.8, "X", width=0.6, color=BOX_COLORS["x"], fontsize=13)
    xs = [1.9 + 1.95 * i for i in range(len(names))]
    for i, (x, name) in enumerate(zip(xs, names, strict=True)):
        _box(ax, x, 0.8, name, width=1.2, color=BOX_COLORS.get(name, BOX_COLORS["J"]), fontsize=10)
        previous = 0.72 if i == 0 else xs[i - 1] + half + 0.02
        _arrow(ax, (previous, fwd_y if i else 0.8), (x - half - 0.02, fwd_y if i else 0.8))
        if i > 0:
            middle = (previous + x - half) / 2
            ax.text(middle, 1.2, outputs[i - 1], ha="center", fontsize=10, color=FORWARD)
            ax.text(middle, 0.38, grads[i - 1], ha="center", va="top", fontsize=9, color=BACKWARD)
            _arrow(ax, (x - half - 0.02, bwd_y), (previous, bwd_y), color=BACKWARD, style="--")
        if name == "LINEAR":
            layer = i // 2 + 1
            ax.text(x, 2.0, f"W{layer}, b{layer}", ha="center", va="center", fontsize=10)
            _arrow(ax, (x, 1.85), (x, 1.15))
            _arrow(ax, (x, 0.45), (x, -0.7), color=BACKWARD, style="--")
            ax.text(x, -0.95, f"dW{layer}, db{layer}", ha="center", va="center", fontsize=10, color=BACKWARD)
    ax.set_title("Figure 2: the 3-layer network of the N-D check (47 parameters), forward and backward",
                 fontsize=12)
    _legend_arrows(ax)
    return fig


def diagram_dictionary_to_vector() -> plt.Figure:
    """The parameter blocks W1, b1, ..., b3 laid, row-major and in course order, into one column theta."""
    layout = Network(COURSE_LAYERS).layout
    n = layout.size
    fig, ax = plt.subplots(figsize=(10, 9))
    ax.axis("off")
    ax.set_xlim(0, 10)
    ax.set_ylim(-1, n + 6)
    # One y unit is one entry of theta; a matrix cell is drawn square: 2 entries tall, as wide in inches.
    cell_h = 2.0
    cell_w = cell_h * (10 / 10) * (9 / (n + 7))  # x units per inch = 1, y units per inch = (n + 7) / 9
    column_x, column_w = 6.0, 0.45
    colors = ["#a8dadc", "#457b9d", "#f4a261", "#e76f51", "#90be6d", "#43aa8b"]
    left_top = float(n)
    for block, color in zip(layout.blocks, colors, strict=False):
        rows, cols = block.shape
        left_x = 3.0 - cols * cell_w / 2
        for r in range(rows):
            for c in range(cols):
                ax.add_patch(Rectangle((left_x + c * cell_w, left_top - (r + 1) * cell_h), cell_w, cell_h,
                                       facecolor=color, edgecolor="black", lw=0.6, alpha=0.85))
                ax.text(left_x + (c + 0.5) * cell_w, left_top - (r + 0.5) * cell_h, str(block.start + r * cols + c),
                        ha="center", va="center", fontsize=7)
        ax.text(left_x - 0.15, left_top - rows * cell_h / 2, f"{block.name}  {rows}x{cols}", ha="right",
                va="center", fontsize=11)
        slot_top = n - block.start
        ax.add_patch(Rectangle((column_x, slot_top - block.size), column_w, block.size, facecolor=color,
                               edgecolor="black", lw=1.0))
        entries = "entry" if block.size == 1 else "entries"
        ax.text(column_x + column_w + 0.2, slot_top - block.size / 2,
                f"{block.name}: theta[{block.start}:{block.stop}]  ({block.size} {entries})", va="center",
                fontsize=10)
        _arrow(ax, (left_x + cols * cell_w + 0.1, left_top - rows * cell_h / 2),
               (column_x - 0.08, slot_top - block.size / 2), color="#555555")
        left_top -= rows * cell_h + 1.6
    for i in range(1, n):
        ax.plot([column_x, column_x + column_w], [n - i, n - i], color="black", lw=0.2)
    ax.text(column_x + column_w / 2, n + 1.0, f"theta  ({n}, 1)", ha="center", va="bottom", fontsize=12)
    ax.text(3.0, n + 1.0, "parameters dict\n(each entry numbered by its index in theta)", ha="center", va="bottom",
            fontsize=11)
    ax.set_title("dictionary_to_vector: layer by layer, W before b, each block row-major", fontsize=12)
    return fig


def course_checks():
    """The course's N-D test case checked with toynet: (cost_fn, parameters, buggy grads, fixed grads)."""
    from toynet.exercises import gradient_checking as course

    X, Y, parameters = course.gradient_check_n_test_case()
    _, cache = course.forward_propagation_n(X, Y, parameters)
    buggy = course.backward_propagation_n(X, Y, cache)
    fixed = course.backward_propagation_n_fixed(X, Y, cache)

    def cost_fn(params):
        return course.forward_propagation_n(X, Y, params)[0]

    return cost_fn, parameters, buggy, fixed


def plot_v_curve() -> plt.Figure:
    """The corrected backward checked at steps 1e-1 .. 1e-10: the V of truncation and round-off."""
    from toynet.gradcheck import step_sweep_n
    from toynet.plots import plot_step_sweep

    cost_fn, parameters, _, fixed = course_checks()
    sweep = step_sweep_n(cost_fn, parameters, fixed)
    ax = plot_step_sweep(sweep, threshold=2e-7)
    ax.set_title("Corrected backward of the course's N-D network:\ndifference vs step size (central difference)")
    return ax.figure


def plot_buggy_vs_fixed() -> plt.Figure:
    """Per-block relative differences of the handed-out (buggy) backward and the fixed one, toynet's default step."""
    from toynet.gradcheck import gradient_check_n
    from toynet.plots import plot_block_differences

    cost_fn, parameters, buggy, fixed = course_checks()
    reports = [(label, gradient_check_n(cost_fn, parameters, grads))
               for label, grads in (("buggy backward", buggy), ("fixed backward", fixed))]
    ax = plot_block_differences(reports)
    return ax.figure


FIGURES = {
    "diagrams": {
        "gradient_check_1d.png": diagram_1d,
        "gradient_check_nd.png": diagram_nd,
        "dictionary_to_vector.png": diagram_dictionary_to_vector,
    },
    "plots": {
        "step_sweep_fixed_backward.png": plot_v_curve,
        "block_differences_buggy_vs_fixed.png": plot_buggy_vs_fixed,
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(FIGURES), help="draw only this group")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the PNGs (default: assets/)")
    args = parser.parse_args(argv)
    for group, figures in FIGURES.items():
        if args.only and group != args.only:
            continue
        for filename, draw in figures.items():
            print(save_figure(draw(), args.out / filename))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
