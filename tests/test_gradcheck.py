"""toynet.gradcheck: expected numbers come from docs/REFERENCE.md, closed-form derivatives or an independent loop."""

from __future__ import annotations

import numpy as np
import pytest
from _reference import cost_roundoff, course_case
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toynet import Network, dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from toynet.gradcheck import (
    GradientCheckReport,
    StepSweep,
    default_epsilon,
    directional_check,
    grad_check_sparse,
    gradient_check,
    gradient_check_n,
    numerical_gradient,
    numerical_gradient_array,
    perturbations,
    rel_error,
    relative_difference,
    step_sweep,
    step_sweep_n,
)
from toynet.gradcheck.perturbations import Perturbations
from toynet.layers import Linear

# ---------------------------------------------------------------- the course's N-D test case (docs/REFERENCE.md)


def correct_and_buggy() -> tuple[object, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    X, Y, parameters = course_case()
    net = Network([4, 5, 3, 1])
    _, caches = net.forward(X, Y, parameters)
    grads = net.backward(caches)
    buggy = dict(grads, dW2=grads["dW2"] * 2, db1=grads["db1"] * 4)  # the course's two planted bugs
    return net.cost_function(X, Y), parameters, grads, buggy


def test_course_defaults_give_difference_below_1e_9() -> None:
    cost_fn, parameters, grads, _ = correct_and_buggy()
    report = gradient_check_n(cost_fn, parameters, grads)
    assert 5e-6 <= report.epsilon <= 1e-4  # chosen from the measured noise and third derivative
    assert report.noise is not None and report.noise < 1e-12 and report.cause("noisy") is None
    assert report.difference <= 1e-9
    assert report.passed and report.failing_blocks == [] and report.kinks == []
    assert isinstance(report.difference, float)


def test_course_buggy_backward_reproduces_the_course_and_names_w2_and_b1() -> None:
    cost_fn, parameters, _, buggy = correct_and_buggy()
    report = gradient_check_n(cost_fn, parameters, buggy, epsilon=1e-7)
    assert report.difference == pytest.approx(0.2850931567761623, abs=1e-6)
    assert not report.passed
    assert set(report.failing_blocks) == {"W2", "b1"}
    assert report.failing_blocks == ["b1", "W2"]  # course order
    assert "W2" in report.summary() and "b1" in report.summary()
    for block in report.blocks:
        assert block.passed == (block.name not in {"W2", "b1"})


@pytest.mark.parametrize(
    ("bug", "expected", "blocks"),
    [("dW2", 0.17344196893145924, {"W2"}), ("db1", 0.2544229712458523, {"b1"})],
)
def test_course_single_bugs(bug: str, expected: float, blocks: set[str]) -> None:
    cost_fn, parameters, grads, buggy = correct_and_buggy()
    report = gradient_check_n(cost_fn, parameters, dict(grads, **{bug: buggy[bug]}), epsilon=1e-7)
    assert report.difference == pytest.approx(expected, abs=1e-6)
    assert set(report.failing_blocks) == blocks


def test_course_epsilon_1e_7_passes_and_warns_about_round_off() -> None:
    cost_fn, parameters, grads, _ = correct_and_buggy()
    report = gradient_check_n(cost_fn, parameters, grads, epsilon=1e-7)
    assert 5e-8 < report.difference < 2e-7  # REFERENCE: about 1.189e-07 (round-off dominated)
    assert report.passed
    assert any("round-off" in warning for warning in report.warnings)
    assert "round-off" in report.summary()


def test_batched_check_matches_the_course_loop() -> None:
    """The incremental evaluation against an independent copy of the course's loop."""
    cost_fn, parameters, grads, _ = correct_and_buggy()
    theta, _ = dictionary_to_vector(parameters)
    approx = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        plus, minus = theta.copy(), theta.copy()
        plus[i, 0] += 1e-5
        minus[i, 0] -= 1e-5
        j_plus = cost_fn(vector_to_dictionary(plus, parameters))
        j_minus = cost_fn(vector_to_dictionary(minus, parameters))
        approx[i] = (j_plus - j_minus) / 2e-5
    report = gradient_check_n(cost_fn, parameters, grads, epsilon=1e-5)
    # each of the two costs within the cost's round-off of the loop's (see the engine's test below), over 2 h
    roundoff = cost_roundoff(cost_fn.network, cost_fn.X, cost_fn.Y, parameters)
    np.testing.assert_allclose(report.numerical_gradient, approx, rtol=0, atol=2 * roundoff / 2e-5)
    grad = gradients_to_vector(grads)
    loop_difference = np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx))
    assert report.difference == pytest.approx(loop_difference, abs=1e-10)


@pytest.mark.parametrize("offsets", [[1e-7, -1e-7], [2e-5, -2e-5, 1e-5, -1e-5], [0.3, -0.3]])
def test_engine_costs_are_the_forward_pass_costs_within_round_off(offsets: list[float]) -> None:
    """Every J(theta + delta e_i) of the incremental engine is the lesson's own forward pass at theta + delta e_i,
    within that cost's round-off. The engine adds each entry's change to Z at theta (a rank-one update) where the
    forward pass multiplies the moved W: the two Z agree to a few ulps, so the two A = sigmoid(Z) do, and the costs
    to a few eps (|J| + sum_j |dJ/dA_j| |A_j|), dJ/dA the lesson's own LogisticCost.backward (log(1 - A) turns
    A's last bits into 1 / (1 - A) of them). The course's number to the bit is the course signature's
    (tests/test_gradcheck_exact.py)."""
    X, Y, parameters = course_case()
    net = Network([4, 5, 3, 1])
    theta = dictionary_to_vector(parameters)[0].reshape(-1)
    engine = Perturbations(net, X, Y, theta=theta)
    costs, crossed = engine.costs(np.arange(theta.size), np.array(offsets))
    for i in range(theta.size):
        for j, delta in enumerate(offsets):
            moved = vector_to_dictionary(theta + delta * (np.arange(theta.size) == i), parameters)
            assert abs(costs[i, j] - net.cost(X, Y, moved)) <= cost_roundoff(net, X, Y, moved), (i, delta)
    assert engine.cost == net.cost(X, Y, parameters)  # the forward pass at theta is the lesson's, to the bit
    if offsets[0] < 1e-3:
        assert not crossed.any()  # the course's point is >= 1e-3 away from every kink
    some = np.array([46, 3, 20, 3, 0])  # any entries, in any order, repeated: the same costs
    np.testing.assert_array_equal(Perturbations(net, X, Y, parameters).costs(some, np.array(offsets))[0], costs[some])


@pytest.mark.parametrize("straight_from", [0, 10**9], ids=["straight path", "layers only"])
@pytest.mark.parametrize("sizes", [[6, 9, 7, 1], [5, 8, 6, 4, 1]])
@pytest.mark.parametrize("offsets", [[1e-6, -1e-6], [0.05, -0.05], [0.6, -0.6, 0.3, -0.3]])
def test_every_entry_of_a_relu_network_costs_its_forward_pass_with_exact_kink_flags(
        sizes: list[int], offsets: list[float], straight_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry of every layer of a ReLU network, offsets from far inside every unit's linear piece to across
    many kinks: each cost is the lesson's forward pass within its round-off (cost_roundoff), and each kink flag says
    exactly whether some hidden pre-activation of that forward pass changes sign between two offsets (the engine
    sends an entry of layer L - 2 that moves no sign above it straight to the output, the others up the layers)."""
    net = Network(sizes)
    rng = np.random.default_rng(len(sizes) + len(offsets))
    X, Y = rng.standard_normal((sizes[0], 5)), np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    parameters = {name: value + 0.2 * rng.standard_normal(value.shape)
                  for name, value in net.initialize_parameters(seed=len(sizes)).items()}
    theta = dictionary_to_vector(parameters)[0].reshape(-1)
    monkeypatch.setattr(perturbations, "STRAIGHT_FROM", straight_from)  # both paths, whatever the layer's size
    engine = Perturbations(net, X, Y, theta=theta)
    assert engine.straight == (straight_from == 0)
    costs, crossed = engine.costs(np.arange(theta.size), np.array(offsets))
    for i in range(theta.size):
        signs = []
        for j, delta in enumerate(offsets):
            moved = vector_to_dictionary(theta + delta * (np.arange(theta.size) == i), parameters)
            assert abs(costs[i, j] - net.cost(X, Y, moved)) <= cost_roundoff(net, X, Y, moved), (i, delta)
            A, hidden = X, []
            for layer in range(1, len(sizes) - 1):
                Z = moved[f"W{layer}"] @ A + moved[f"b{layer}"]
                hidden.append((Z > 0).ravel())
                A = np.maximum(Z, 0)
            signs.append(np.concatenate(hidden))
        assert crossed[i] == any((s != signs[0]).any() for s in signs[1:]), (i, offsets)
    if offsets[0] > 0.1:
        assert crossed.any() and not crossed.all()


def test_relative_difference_refuses_nan_and_inf() -> None:
    with pytest.raises(ValueError, match="b must be finite"):
        relative_difference(np.ones(3), np.array([1.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="a must be finite"):
        relative_difference(np.array([np.inf, 0.0]), np.ones(2))


# ---------------------------------------------------------------- several shapes, planted bugs, float32


SHAPES = [([3, 4, 1], "relu", 5), ([2, 6, 6, 1], "tanh", 7), ([5, 3, 4, 2, 1], "relu", 4), ([4, 8, 8, 1], "sigmoid", 9)]


def network_case(sizes: list[int], hidden: str, m: int, seed: int = 0, dtype: type = np.float64):
    rng = np.random.default_rng(seed)
    net = Network(sizes, hidden=hidden)
    parameters = net.initialize_parameters(seed=seed, method="xavier")
    parameters = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in parameters.items()}
    X = rng.standard_normal((sizes[0], m)).astype(dtype)
    Y = (rng.random(m) > 0.5).astype(float)
    _, caches = net.forward(X, Y, parameters)
    return net, parameters, X, Y, net.backward(caches)


def plant(grads: dict[str, np.ndarray], name: str, kind: str) -> dict[str, np.ndarray]:
    g = grads[name]
    planted = {"sign": -g, "scale": 1.5 * g, "transpose": g.T.reshape(g.shape) if g.shape[0] == g.shape[1] else g[::-1]}
    return dict(grads, **{name: planted[kind]})


@pytest.mark.parametrize(("sizes", "hidden", "m"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_correct_gradients_pass(sizes: list[int], hidden: str, m: int, dtype: type) -> None:
    net, parameters, X, Y, grads = network_case(sizes, hidden, m, dtype=dtype)
    report = gradient_check_n(net.cost_function(X, Y), parameters, grads)
    assert report.passed, str(report)
    assert report.failing_blocks == []
    if dtype is np.float32:
        assert any("float32" in warning for warning in report.warnings)
    else:
        assert report.difference < 1e-8


@pytest.mark.parametrize(("sizes", "hidden", "m"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["sign", "scale", "transpose"])
def test_planted_bug_is_named_and_nothing_else(sizes: list[int], hidden: str, m: int, dtype: type, kind: str) -> None:
    net, parameters, X, Y, grads = network_case(sizes, hidden, m, seed=3, dtype=dtype)
    cost_fn = net.cost_function(X, Y)
    for layer in range(1, len(sizes)):
        name = f"W{layer}"
        bad = plant(grads, "d" + name, kind)
        if np.allclose(bad["d" + name], grads["d" + name]):
            continue  # e.g. a symmetric block transposed: nothing was planted
        report = gradient_check_n(cost_fn, parameters, bad)
        assert report.failing_blocks == [name], str(report)
        assert not report.passed


@pytest.mark.parametrize(("sizes", "hidden", "m"), [*SHAPES, ([4, 5, 5, 1], "relu", 4)])
def test_correct_float32_gradients_pass_at_many_points(sizes: list[int], hidden: str, m: int) -> None:
    """No false failure from float32 round-off, however small a block's gradient happens to be."""
    for seed in range(12):
        net, parameters, X, Y, grads = network_case(sizes, hidden, m, seed=seed, dtype=np.float32)
        report = gradient_check_n(net.cost_function(X, Y), parameters, grads)
        assert report.passed and report.failing_blocks == [], f"seed {seed}\n{report}"


@pytest.mark.parametrize(("sizes", "hidden", "m"), [*SHAPES, ([4, 5, 5, 1], "relu", 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_percent_error_in_a_small_block_is_caught(sizes: list[int], hidden: str, m: int, dtype: type) -> None:
    """A 1% scale in the one-entry output bias, or the first bias, is found and named in either precision.

    The float32 floor is the backward's own round-off (~eps32 rms(g) per entry), not the raised threshold:
    sqrt(eps32) * ||g|| would hide 1% of a block whose gradient is small next to the whole.
    """
    last = f"b{len(sizes) - 1}"
    for seed in range(6):
        net, parameters, X, Y, grads = network_case(sizes, hidden, m, seed=seed, dtype=dtype)
        for name in (last, "b1"):
            bad = dict(grads, **{"d" + name: grads["d" + name] * dtype(1.01)})
            if not np.any(grads["d" + name]):
                continue  # a zero block (dead units): 1% of nothing changes nothing
            report = gradient_check_n(net.cost_function(X, Y), parameters, bad)
            assert report.failing_blocks == [name] and not report.passed, f"seed {seed}, {name}\n{report}"


def test_incremental_and_loop_evaluations_agree_on_a_deeper_network() -> None:
    net, parameters, X, Y, grads = network_case([6, 12, 9, 5, 1], "relu", 11, seed=5)
    cost_fn = net.cost_function(X, Y)
    reports = [gradient_check_n(cost_fn, parameters, grads, epsilon=1e-6),
               gradient_check_n(cost_fn, parameters, grads, epsilon=1e-6, batch=False),
               gradient_check_n(lambda p: cost_fn(p), parameters, grads, epsilon=1e-6)]  # a plain function
    for other in reports[1:]:
        np.testing.assert_allclose(reports[0].numerical_gradient, other.numerical_gradient, rtol=0, atol=1e-8)


def test_incremental_chunks_small_memory_budget_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import toynet.gradcheck.network_check as network_check

    net, parameters, X, Y, grads = network_case([7, 20, 10, 1], "relu", 13, seed=2)
    cost_fn = net.cost_function(X, Y)
    whole = gradient_check_n(cost_fn, parameters, grads)
    monkeypatch.setattr(network_check, "MEMORY_BUDGET", 20_000)  # forces many per-layer chunks
    chunked = gradient_check_n(cost_fn, parameters, grads)
    np.testing.assert_allclose(whole.numerical_gradient, chunked.numerical_gradient, rtol=0, atol=1e-9)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid"])
def test_complex_step_on_smooth_network_is_exact(hidden: str) -> None:
    net, parameters, X, Y, grads = network_case([4, 6, 5, 1], hidden, 8, seed=1)
    report = gradient_check_n(net.cost_function(X, Y), parameters, grads, method="complex")
    assert report.difference <= 1e-13
    loop = gradient_check_n(net.cost_function(X, Y), parameters, grads, method="complex", batch=False)
    assert loop.difference <= 1e-13


def test_richardson_on_smooth_network() -> None:
    net, parameters, X, Y, grads = network_case([3, 5, 1], "tanh", 6, seed=4)
    assert gradient_check_n(net.cost_function(X, Y), parameters, grads, method="richardson").difference < 1e-11


# ---------------------------------------------------------------- ReLU kinks


def test_kink_crossing_is_reported_apart_and_left_out_of_the_verdict() -> None:
    net, parameters, X, Y, grads = network_case([3, 4, 1], "relu", 5, seed=0)
    parameters = {k: v.copy() for k, v in parameters.items()}
    Z1 = parameters["W1"] @ X + parameters["b1"]
    parameters["b1"][0, 0] -= Z1[0, 2] - 1e-9  # unit 0's pre-activation on example 2 sits just above 0
    _, caches = net.forward(X, Y, parameters)
    grads = net.backward(caches)
    report = gradient_check_n(net.cost_function(X, Y), parameters, grads, epsilon=1e-5)
    assert any(entry.label == "b1[0, 0]" for entry in report.kinks)
    assert all(entry.block in {"W1", "b1"} and entry.index[0] == 0 for entry in report.kinks)
    assert report.passed, str(report)
    cause = report.cause("kinks")
    assert cause is not None and "b1[0, 0]" in cause.message
    # The verdict's number is the one it was judged on, and the kink entries are named beside it.
    summary = report.summary()
    assert f"{report.difference_without_kinks:.2e}" in summary and "b1[0, 0]" in summary
    assert report.difference_without_kinks <= report.threshold < report.difference


# ---------------------------------------------------------------- safety and bad input


def snapshot(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in d.items()}


@pytest.mark.parametrize("batch", [True, False])
def test_caller_dicts_untouched_even_when_cost_fn_raises(batch: bool) -> None:
    cost_fn, parameters, grads, _ = correct_and_buggy()
    before_p, before_g = snapshot(parameters), snapshot(grads)
    gradient_check_n(cost_fn, parameters, grads, batch=batch)
    calls = {"n": 0}

    def flaky(p):
        calls["n"] += 1
        if calls["n"] > 7:
            raise RuntimeError("boom")
        return cost_fn(p)

    with pytest.raises(RuntimeError, match="boom"):
        gradient_check_n(flaky, parameters, grads, batch=batch)
    assert set(parameters) == set(before_p) and set(grads) == set(before_g)
    for k in before_p:
        np.testing.assert_array_equal(parameters[k], before_p[k])
    for k in before_g:
        np.testing.assert_array_equal(grads[k], before_g[k])


def test_numerical_gradient_never_writes_x_even_when_f_raises() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = x.copy()
    calls = {"n": 0}

    def f(v):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return float(np.sum(v**2))

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    numerical_gradient(lambda v: float(np.sum(v**2)), x)
    np.testing.assert_array_equal(x, before)


def test_integer_input_is_checked_in_float64() -> None:
    g = numerical_gradient(lambda v: float(np.sum(v**3)), np.array([1, 2, 3]))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 3 * np.array([1.0, 4.0, 9.0]), rtol=1e-8)
    net, parameters, X, Y, grads = network_case([2, 3, 1], "tanh", 4)
    int_params = {k: np.round(v * 3).astype(int) for k, v in parameters.items()}
    _, caches = net.forward(X, Y, {k: v.astype(float) for k, v in int_params.items()})
    assert gradient_check_n(net.cost_function(X, Y), int_params, net.backward(caches)).passed


def test_bad_values_name_the_coordinate() -> None:
    with pytest.raises(FloatingPointError, match=r"x\[1\]"):
        numerical_gradient(lambda v: np.nan if v[1] != 2.0 else 0.0, np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"scalar.*x\[0\]"):
        numerical_gradient(lambda v: v * 2, np.array([1.0, 2.0]))
    cost_fn, parameters, grads, _ = correct_and_buggy()

    def nan_on_w2(p):
        return np.nan if p["W2"][1, 3] != parameters["W2"][1, 3] else cost_fn(p)

    with pytest.raises(FloatingPointError, match=r"W2\[1, 3\]"):
        gradient_check_n(nan_on_w2, parameters, grads)


def test_gradient_shape_mismatch_names_block_and_shapes() -> None:
    cost_fn, parameters, grads, _ = correct_and_buggy()
    with pytest.raises(ValueError, match=r"dW2.*\(3, 5\).*\(5, 3\)"):
        gradient_check_n(cost_fn, parameters, dict(grads, dW2=grads["dW2"].T))


# ---------------------------------------------------------------- numerical gradients of plain functions


def test_course_1d_case() -> None:
    """J(theta) = theta * x at theta = 4, x = 2, epsilon 1e-7: docs/REFERENCE.md's gradapprox and difference."""
    result = gradient_check(lambda t: t * 2, lambda t: np.full_like(t, 2.0), np.array([4.0]), epsilon=1e-7)
    assert result.numerical_gradient[0] == pytest.approx(2.0000000011677344, abs=1e-15)
    assert result.relative_error == pytest.approx(2.919335883291695e-10, rel=1e-6)
    d = result.as_dict()
    assert list(d) == ["analytical_gradient", "numerical_gradient", "absolute_difference", "relative_error", "passed"]
    assert type(d["relative_error"]) is float and type(d["passed"]) is bool
    assert isinstance(d["absolute_difference"], np.ndarray)


@pytest.mark.parametrize(("method", "tolerance"), [("central", 1e-9), ("richardson", 1e-12), ("complex", 1e-15)])
def test_methods_on_a_smooth_function(method: str, tolerance: float) -> None:
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    g = numerical_gradient(lambda v: np.sum(np.sin(v) * np.exp(v / 2)), x, method=method)
    exact = np.cos(x) * np.exp(x / 2) + 0.5 * np.sin(x) * np.exp(x / 2)
    assert g.shape == x.shape
    assert relative_difference(g, exact) < tolerance


def test_complex_step_refuses_functions_that_are_not_complex_safe() -> None:
    x = np.array([0.5, -1.0])
    with pytest.raises(ValueError, match="complex-safe"):
        numerical_gradient(lambda v: float(np.sum(np.abs(v) ** 2)), x, method="complex")
    with pytest.raises(ValueError, match="complex-safe"):
        numerical_gradient(lambda v: np.sum(np.abs(v) ** 2), x, method="complex")

    def writes_real(v):
        out = np.zeros(2)
        out[:] = v
        return np.sum(out**2)

    with pytest.raises(ValueError, match="complex-safe"):
        numerical_gradient(writes_real, x, method="complex")


def test_numerical_gradient_array_against_linear_backward() -> None:
    rng = np.random.default_rng(0)
    A, W, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    dZ = rng.standard_normal((3, 6))
    _, cache = Linear.forward(A, W, b)
    dA, dW, db = Linear.backward(dZ, cache)
    assert rel_error(numerical_gradient_array(lambda w: Linear.forward(A, w, b)[0], W, dZ), dW) < 1e-8
    assert rel_error(numerical_gradient_array(lambda a: Linear.forward(a, W, b)[0], A, dZ), dA) < 1e-8
    assert rel_error(numerical_gradient_array(lambda c: Linear.forward(A, W, c)[0], b, dZ), db) < 1e-8


def test_default_epsilon_scales_with_x_and_method() -> None:
    assert default_epsilon(np.ones(5)) == pytest.approx(1e-5)  # any smooth f: near eps^(1/3)
    assert default_epsilon(np.ones(5), network=True) == pytest.approx(2e-5)  # a network cost's extra round-off
    assert default_epsilon(1000 * np.ones(5)) == pytest.approx(1e-2)
    assert default_epsilon(0.5 * np.ones(5), network=True) == pytest.approx(2e-5)  # never below the base
    assert 1e-6 <= default_epsilon(np.ones(3)) <= 1e-4
    assert default_epsilon(np.ones(3), "richardson") > default_epsilon(np.ones(3))
    assert default_epsilon(np.ones(3), "complex") <= 1e-15
    assert default_epsilon(np.ones(3), dtype=np.float32) > 100 * default_epsilon(np.ones(3))


def test_float32_input_warns_and_does_not_fail_a_correct_gradient() -> None:
    x = np.linspace(0.1, 2, 7).astype(np.float32)
    with pytest.warns(UserWarning, match="float32"):
        result = gradient_check(lambda v: np.sum(np.tanh(v)), lambda v: (1 - np.tanh(v) ** 2).astype(np.float32), x)
    assert result.passed


# ---------------------------------------------------------------- measures


def test_relative_difference_and_rel_error_formulas() -> None:
    a, b = np.array([3.0, 4.0]), np.array([3.0, 0.0])
    assert relative_difference(a, b) == pytest.approx(4.0 / (5.0 + 3.0))
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_difference(a.reshape(2, 1), b) == pytest.approx(0.5)
    assert rel_error(a, b) == pytest.approx(4.0 / 4.0)
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        relative_difference(a, np.zeros(3))


@given(arrays(np.float64, 6, elements=st.floats(-1e6, 1e6)), arrays(np.float64, 6, elements=st.floats(-1e6, 1e6)))
@settings(max_examples=60, deadline=None)
def test_relative_difference_is_symmetric_and_bounded(a: np.ndarray, b: np.ndarray) -> None:
    d = relative_difference(a, b)
    assert 0.0 <= d <= 1.0 + 1e-12
    assert d == pytest.approx(relative_difference(b, a))
    assert relative_difference(a, a) == 0.0


# ---------------------------------------------------------------- report, sparse, directional, sweeps


def test_report_prints_within_80_columns_and_renders_html() -> None:
    cost_fn, parameters, _, buggy = correct_and_buggy()
    report = gradient_check_n(cost_fn, parameters, buggy, epsilon=1e-7)
    assert isinstance(report, GradientCheckReport)
    text = str(report)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "FAIL" in text and "W2" in text
    html = report._repr_html_()
    assert "<table" in html and "W2" in html and "FAIL" in html
    w2 = next(block for block in report.blocks if block.name == "W2")
    assert w2.shape == (3, 5) and len(w2.worst) == 3
    worst = w2.worst[0]
    assert worst.abs_error == pytest.approx(abs(worst.analytic - worst.numeric))
    assert worst.analytic == pytest.approx(2 * worst.numeric, rel=1e-5)  # the planted factor 2


def test_grad_check_sparse_array_and_network_forms() -> None:
    x = np.linspace(-1, 1, 30).reshape(5, 6)
    result = grad_check_sparse(lambda v: np.sum(v**3), x, 3 * x**2, num_checks=8, seed=1)
    assert result.passed and len(result.entries) == 8
    assert not grad_check_sparse(lambda v: np.sum(v**3), x, 3.3 * x**2, num_checks=8, seed=1).passed
    cost_fn, parameters, grads, buggy = correct_and_buggy()
    assert grad_check_sparse(cost_fn, parameters, grads, num_checks=10, seed=0).passed
    bad = grad_check_sparse(cost_fn, parameters, buggy, num_checks=47, seed=0)
    assert not bad.passed and {e.block for e in bad.entries if e.abs_error > 1e-6} == {"W2", "b1"}
    assert "entry" in str(bad)


def test_directional_check() -> None:
    x = np.linspace(-1, 1, 10)
    assert directional_check(lambda v: np.sum(np.sin(v)), x, np.cos(x)).passed
    assert not directional_check(lambda v: np.sum(np.sin(v)), x, 1.1 * np.cos(x)).passed
    cost_fn, parameters, grads, buggy = correct_and_buggy()
    good = directional_check(cost_fn, parameters, grads, num_directions=4, seed=2)
    assert good.passed and good.numeric.shape == (4,)
    assert not directional_check(cost_fn, parameters, buggy, num_directions=4, seed=2).passed


def test_step_sweeps_show_the_v() -> None:
    x = np.linspace(0.2, 1.5, 6)
    sweep = step_sweep(lambda v: np.sum(np.exp(v) * np.sin(v)), x, np.exp(x) * (np.sin(x) + np.cos(x)))
    assert isinstance(sweep, StepSweep)
    assert sweep.epsilons[0] == pytest.approx(1e-1) and sweep.epsilons[-1] == pytest.approx(1e-10)
    assert sweep.differences.shape == (10,)
    assert 1e-7 <= sweep.best_epsilon <= 1e-3  # truncation wins at large steps, round-off at small ones
    assert sweep.differences[0] > 100 * sweep.best_difference < sweep.differences[-1] / 100
    cost_fn, parameters, grads, _ = correct_and_buggy()
    network_sweep = step_sweep_n(cost_fn, parameters, grads)
    assert network_sweep.differences.shape == (10,)
    assert network_sweep.best_difference < 1e-9
    assert network_sweep.differences[-1] > 1e-7  # 1e-10: deep in the round-off regime


def test_probes_of_several_layers_of_a_large_network_are_the_forward_pass_costs() -> None:
    """A few entries of every layer of a network too large to copy theta once per evaluation (the noise probes), in
    one call of the engine. Every cost is the
    lesson's forward pass at theta + delta e_i (to round-off: the climb sums its products in its own order), and the
    kink flags are where a hidden pre-activation of that forward pass changes sign between two offsets."""
    net = Network([30, 40, 20, 1])
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((30, 3)), np.array([[1.0, 0.0, 1.0]])
    parameters = net.initialize_parameters(seed=4)
    parameters = {name: value + 0.3 * rng.standard_normal(value.shape) for name, value in parameters.items()}
    theta = dictionary_to_vector(parameters)[0].reshape(-1)
    engine = Perturbations(net, X, Y, theta=theta)
    offsets = np.linspace(-0.2, 0.2, 8)
    indices = np.sort(rng.choice(theta.size, 12, replace=False))
    indices[:4] = [0, theta.size - 1, 1200 + 40, 1240 + 800 + 20 - 1]  # W1, b3, the first of W2, the last of b2
    indices = np.unique(indices)
    assert len(set(engine.layer_of[indices].tolist())) == 3 and indices.size * offsets.size * theta.size > 2**17
    costs, crossed = engine.costs(indices, offsets)
    for row, i in enumerate(indices):
        signs = []
        for column, delta in enumerate(offsets):
            moved = theta.copy()
            moved[i] += delta
            moved_parameters = vector_to_dictionary(moved, parameters)
            assert costs[row, column] == pytest.approx(net.cost(X, Y, moved_parameters), rel=1e-13, abs=1e-15)
            A, hidden = X, []
            for layer in (1, 2):
                Z = moved_parameters[f"W{layer}"] @ A + moved_parameters[f"b{layer}"]
                hidden.append(Z > 0)
                A = np.maximum(Z, 0)
            signs.append(np.concatenate([h.ravel() for h in hidden]))
        assert crossed[row] == any((s != signs[0]).any() for s in signs[1:]), int(i)
    assert crossed.any() and not crossed.all()  # the offsets are wide enough to cross some kinks, not all
