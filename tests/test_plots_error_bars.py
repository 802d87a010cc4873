"""plots.plot_error_bars: each block's difference against its error bar, colours from the verdict."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from toynet import plots  # noqa: E402


def report(values: dict[str, tuple[float, float, bool]]) -> SimpleNamespace:
    blocks = [SimpleNamespace(name=n, relative_difference=d, bar_difference=b, passed=ok)
              for n, (d, b, ok) in values.items()]
    return SimpleNamespace(blocks=blocks, epsilon=1e-3, noise=3e-9)


def test_draws_bars_dots_and_colours() -> None:
    ax = plots.plot_error_bars(report({"W1": (1e-6, 4e-6, True), "b1": (3e-3, 2e-6, False), "W2": (0.0, 1e-7, True)}))
    heights = [patch.get_height() for patch in ax.patches]
    assert heights == pytest.approx([4e-6, 2e-6, 1e-7])
    dots = ax.collections[-1]
    heights = dots.get_offsets()[:, 1]
    assert np.allclose(heights[:2], [1e-6, 3e-3]) and 0 < heights[2] < 1e-7  # a difference of 0 sits at the floor
    colours = [mcolors.to_hex(c) for c in dots.get_facecolors()]
    assert colours == [plots.PASS_COLOR, plots.FAIL_COLOR, plots.PASS_COLOR]
    assert "epsilon 1.0e-03" in ax.get_title() and "noise 3.0e-09" in ax.get_title()
    assert ax.get_yscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["W1", "b1", "W2"]
    plt.close(ax.figure)


def test_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(ValueError, match="empty"):
        plots.plot_error_bars(SimpleNamespace(blocks=[]))
    with pytest.raises(ValueError, match="finite"):
        plots.plot_error_bars(report({"W1": (np.nan, 1e-6, True)}))
