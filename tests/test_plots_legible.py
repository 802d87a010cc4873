"""Figures a student reads at a glance: no legend over the data, every axis labelled, the failing block marked.

Notebook 05's `db2 x 3` figure once hid its one failing point under the legend (a failing block at the right end,
its difference near the top of the axes): every per-block figure is drawn here with its failing block exactly
there, rendered, and its legend's box compared with the axes' data area in display coordinates.
"""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toynet import plots  # noqa: E402
from toynet.gradcheck import gradient_check_n, step_sweep_n  # noqa: E402
from toynet.network import Network  # noqa: E402

BLOCKS = ["W1", "b1", "W2", "b2", "W3", "b3"]


def error_bar_report(failing: str) -> SimpleNamespace:
    """Passing blocks well inside their bars; `failing` far above its bar, the largest value on the axes."""
    blocks = [SimpleNamespace(name=name, relative_difference=0.9 if name == failing else 1e-7 * (i + 1),
                              bar_difference=1e-3 / (i + 1), passed=name != failing) for i, name in enumerate(BLOCKS)]
    return SimpleNamespace(blocks=blocks, epsilon=2e-2, noise=4e-9, threshold=2e-7)


def assert_readable(ax, failing: set[str]) -> None:
    fig = ax.figure
    fig.canvas.draw()
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    legend = ax.get_legend()
    assert legend is not None
    box, data = legend.get_window_extent(), ax.get_window_extent()
    assert box.y1 <= data.y0 + 1, "the legend must sit below the axes, over no bar and no point"
    red = {t.get_text() for t in ax.get_xticklabels() if t.get_color() == plots.FAIL_COLOR}
    assert red == failing, "the failing blocks' names are red on the axis, and only theirs"


@pytest.mark.parametrize("failing", ["b3", "W1", "b2"])
def test_error_bars_never_hide_the_failing_point(failing: str) -> None:
    ax = plots.plot_error_bars(error_bar_report(failing))
    assert_readable(ax, {failing})
    dot = ax.collections[-1].get_offsets()[BLOCKS.index(failing)]
    shown = ax.transData.transform(dot)
    assert ax.get_window_extent().contains(*shown), "the failing difference is inside the axes"
    plt.close(ax.figure)


def test_side_by_side_figures_of_notebook_05_keep_their_legends_below() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    plots.plot_error_bars(error_bar_report("nothing"), ax=left).set_title("correct backward")
    plots.plot_error_bars(error_bar_report("b2"), ax=right).set_title("db2 x 3")
    fig.tight_layout()
    assert_readable(left, set())
    assert_readable(right, {"b2"})
    plt.close(fig)


def test_block_differences_of_a_real_check_mark_the_failing_blocks() -> None:
    network = Network([4, 5, 3, 1])
    parameters = network.initialize_parameters(seed=1)
    X, Y = np.random.RandomState(0).randn(4, 6), np.array([[1, 0, 1, 1, 0, 0]])
    _, caches = network.forward(X, Y, parameters)
    gradients = network.backward(caches)
    buggy = dict(gradients, db3=gradients["db3"] * 3)  # the last block: where a legend used to sit
    report = gradient_check_n(network.cost_function(X, Y), parameters, buggy)
    fixed = gradient_check_n(network.cost_function(X, Y), parameters, gradients)
    assert report.failing_blocks == ["b3"]
    assert_readable(plots.plot_block_differences(report), {"b3"})
    assert_readable(plots.plot_block_differences([("buggy", report), ("fixed", fixed)]), {"b3"})
    sweep = step_sweep_n(network.cost_function(X, Y), parameters, gradients)
    ax = plots.plot_step_sweep(sweep)
    ax.figure.canvas.draw()
    assert ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0 + 1
    plt.close("all")
