"""toynet.plots: every figure has a title and labelled axes, draws what it is given, and never mutates it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere in this process

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _reference import course_case  # noqa: E402

from toynet import Network, datasets, plots  # noqa: E402

BLOCKS = ["W1", "b1", "W2", "b2", "W3", "b3"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def v_sweep() -> SimpleNamespace:
    """A stand-in StepSweep: truncation ~ h^2 on the right, round-off ~ 1e-16 / h on the left, best at 1e-5."""
    steps = np.logspace(-1, -10, 10)
    differences = 0.1 * steps**2 + 1e-16 / steps
    best = int(np.argmin(differences))
    return SimpleNamespace(epsilons=steps, differences=differences, method="central",
                           best_epsilon=float(steps[best]), best_difference=float(differences[best]))


def block_report(values: dict[str, float], threshold: float = 2e-7) -> SimpleNamespace:
    blocks = [SimpleNamespace(name=n, relative_difference=v, passed=v <= threshold) for n, v in values.items()]
    return SimpleNamespace(blocks=blocks, threshold=threshold)


BUGGY = {"W1": 1e-8, "b1": 0.6, "W2": 0.33, "b2": 1e-9, "W3": 2e-9, "b3": 0.0}
FIXED = dict.fromkeys(BLOCKS, 1e-8)


def assert_labelled(ax) -> None:
    assert ax.get_title(), "every figure needs a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "every figure needs labelled axes"


def test_step_sweep_is_log_log_with_regimes_best_epsilon_and_threshold():
    sweep = v_sweep()
    steps_before, diffs_before = sweep.epsilons.copy(), sweep.differences.copy()
    ax = plots.plot_step_sweep(sweep, threshold=2e-7)
    assert_labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "round-off" in texts and "truncation" in texts
    star = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(star) == 1 and star[0].get_xdata()[0] == pytest.approx(1e-5)
    assert any(np.allclose(line.get_ydata(), 2e-7) for line in ax.get_lines() if line.get_linestyle() == "--")
    assert ax.get_legend() is not None
    np.testing.assert_array_equal(sweep.epsilons, steps_before)  # never mutates the caller's arrays
    np.testing.assert_array_equal(sweep.differences, diffs_before)


def test_step_sweep_finds_the_best_epsilon_itself_and_draws_exact_zeros():
    # A linear J has no truncation error: the central difference can be exactly right at large h.
    sweep = SimpleNamespace(epsilons=np.array([1e-1, 1e-4, 1e-7]), differences=np.array([0.0, 1e-12, 1e-9]),
                            method="central")
    ax = plots.plot_step_sweep(sweep)
    star = [line for line in ax.get_lines() if line.get_marker() == "*"]
    assert star[0].get_xdata()[0] == pytest.approx(1e-1)
    assert all(np.all(np.asarray(line.get_ydata()) > 0) for line in ax.get_lines())  # nothing lost on the log axis
    assert "truncation" not in " ".join(t.get_text() for t in ax.texts)  # no points right of the best step


def test_step_sweep_rejects_mismatched_or_non_positive_steps():
    with pytest.raises(ValueError, match="equal length"):
        plots.plot_step_sweep(SimpleNamespace(epsilons=[1e-3, 1e-4], differences=[1.0], method="central"))
    with pytest.raises(ValueError, match="positive"):
        plots.plot_step_sweep(SimpleNamespace(epsilons=[1e-3, 0.0], differences=[1.0, 1.0], method="central"))


def _bar_colors(ax) -> list[str]:
    return [mcolors.to_hex(patch.get_facecolor()) for patch in ax.patches]


def test_block_bars_colour_exactly_the_failing_blocks_and_draw_the_threshold():
    ax = plots.plot_block_differences(block_report(BUGGY))
    assert_labelled(ax)
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == BLOCKS
    colors = _bar_colors(ax)
    failing = [name for name, color in zip(BLOCKS, colors, strict=True) if color == plots.FAIL_COLOR]
    assert set(failing) == {"W2", "b1"}
    assert any(np.allclose(line.get_ydata(), 2e-7) for line in ax.get_lines())
    assert ax.patches[BLOCKS.index("b3")].get_height() > 0  # a zero difference still shows, at the floor


def test_block_bars_side_by_side_before_and_after():
    ax = plots.plot_block_differences([("buggy", block_report(BUGGY)), ("fixed", block_report(FIXED))])
    assert len(ax.patches) == 2 * len(BLOCKS)
    colors = _bar_colors(ax)
    assert colors[: len(BLOCKS)].count(plots.FAIL_COLOR) == 2
    assert plots.FAIL_COLOR not in colors[len(BLOCKS) :]
    assert "buggy" in ax.get_title() and "fixed" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("buggy" in label for label in labels) and any("fixed" in label for label in labels)


def test_block_bars_reject_reports_with_different_blocks():
    other = block_report({"W1": 1e-8, "b1": 1e-8})
    with pytest.raises(ValueError, match="blocks"):
        plots.plot_block_differences([("a", block_report(BUGGY)), ("b", other)])


def test_cost_history_and_decision_boundary_on_a_trained_network():
    X, Y = datasets.blobs(m=60, seed=0)
    network = Network([2, 4, 1], hidden="tanh")
    parameters, costs = network.train(X, Y, learning_rate=0.5, num_iterations=50, progress=False)
    ax = plots.plot_cost_history(costs)
    assert_labelled(ax)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), costs)
    X_before = X.copy()
    ax = plots.plot_decision_boundary(network, parameters, X, Y)
    assert_labelled(ax)
    np.testing.assert_array_equal(X, X_before)
    assert len(ax.collections) >= 3  # filled probabilities, the 0.5 contour, the two classes of points
    with pytest.raises(ValueError, match="X must have shape"):
        plots.plot_decision_boundary(network, parameters, X.T, Y)


def test_draws_on_the_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_step_sweep(v_sweep(), ax=left) is left
    assert plots.plot_cost_history([3.0, 2.0, 1.0], ax=right) is right


def test_save_figure_creates_folders_writes_a_png_and_closes(tmp_path):
    ax = plots.plot_cost_history([1.0, 0.5])
    path = plots.save_figure(ax.figure, tmp_path / "a" / "b" / "cost.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.get_fignums()


def test_importing_toynet_does_not_import_pyplot():
    code = "import sys, toynet, toynet.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ------------------------------------------------------------------ drawn from toynet.gradcheck's real objects


def test_block_bars_from_a_real_report_flag_the_courses_planted_bugs():
    from toynet import gradcheck

    X, Y, parameters = course_case()
    network = Network([4, 5, 3, 1])
    _, caches = network.forward(X, Y, parameters)
    fixed = network.backward(caches)
    buggy = dict(fixed, dW2=2 * fixed["dW2"], db1=4 * fixed["db1"])  # the course's two planted bugs
    cost_fn = network.cost_function(X, Y)
    before = gradcheck.gradient_check_n(cost_fn, parameters, buggy, epsilon=1e-7)
    after = gradcheck.gradient_check_n(cost_fn, parameters, fixed)
    ax = plots.plot_block_differences([("buggy", before), ("fixed", after)])
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights[: len(BLOCKS)], [b.relative_difference for b in before.blocks])
    red = {name for name, color in zip(BLOCKS, _bar_colors(ax)[: len(BLOCKS)], strict=True)
           if color == plots.FAIL_COLOR}
    assert red == {"W2", "b1"}
    assert "epsilon" not in ax.get_title()  # the two reports used different steps
    ax = plots.plot_block_differences(before)
    assert "epsilon 1e-07" in ax.get_title()


def test_step_sweep_from_a_real_sweep_marks_its_best_epsilon():
    from toynet import gradcheck

    x = np.linspace(0.5, 2.0, 4)
    sweep = gradcheck.step_sweep(lambda v: float(np.sum(np.exp(v))), x, np.exp(x))
    ax = plots.plot_step_sweep(sweep)
    curve = ax.get_lines()[0]
    order = np.argsort(sweep.epsilons)
    np.testing.assert_allclose(curve.get_xdata(), sweep.epsilons[order])
    np.testing.assert_allclose(curve.get_ydata(), sweep.differences[order])
    star = [line for line in ax.get_lines() if line.get_marker() == "*"][0]
    assert star.get_xdata()[0] == sweep.best_epsilon


@pytest.mark.slow(3)
def test_make_figures_draws_every_asset(tmp_path):
    script = Path(__file__).resolve().parents[1] / "assets" / "make_figures.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True)
    drawn = sorted(path.name for path in tmp_path.glob("*.png"))
    committed = sorted(path.name for path in script.parent.glob("*.png"))
    assert drawn == committed and len(drawn) == 5
    assert all((tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in drawn)
