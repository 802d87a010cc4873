"""The course's gradient-checking assignment: the numbers of docs/REFERENCE.md, on any 3-layer shape.

Expected values come from docs/REFERENCE.md, from the course's code typed out again below (plain numpy, not
toynet), or from an independent five-point difference.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import cost_roundoff, five_point_gradient
from hypothesis import given
from hypothesis import strategies as st

from toynet import Network, dictionary_to_vector, gradcheck, gradients_to_vector, vector_to_dictionary
from toynet.exercises import gradient_checking as gc

COURSE_KEYS = {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}


# ------------------------------------------------------------------------------ independent references


def course_forward(X, Y, p):
    """The course's forward_propagation_n, typed out from the assignment (gc_utils sigmoid/relu inlined)."""
    m = X.shape[1]
    Z1 = np.dot(p["W1"], X) + p["b1"]
    A1 = np.maximum(0, Z1)
    Z2 = np.dot(p["W2"], A1) + p["b2"]
    A2 = np.maximum(0, Z2)
    Z3 = np.dot(p["W3"], A2) + p["b3"]
    A3 = 1 / (1 + np.exp(-Z3))
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    return cost, (Z1, A1, p["W1"], p["b1"], Z2, A2, p["W2"], p["b2"], Z3, A3, p["W3"], p["b3"])


def course_backward(X, Y, cache, dW2_factor=2.0, db1_numerator=4.0):
    """The course's backward_propagation_n as handed out (factors 2 and 4 are the planted bugs)."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) * dW2_factor
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = db1_numerator / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}  # fmt: skip


def formula_2(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


@pytest.fixture
def case(course_case):
    """The exercise's own test case, checked against the shared course_case fixture (same order: X, Y, parameters)."""
    X, Y, parameters = gc.gradient_check_n_test_case()
    assert np.array_equal(X, course_case.X) and np.array_equal(Y, course_case.Y)
    assert all(np.array_equal(parameters[name], value) for name, value in course_case.parameters.items())
    return X, Y, parameters


# ------------------------------------------------------------------------------------------------- 1-D


def test_one_dimensional_functions_are_the_course_ones():
    assert gc.forward_propagation(2, 4) == 8
    assert gc.backward_propagation(2, 4) == 2


@pytest.mark.parametrize(("x", "expected"), [(2, 2.919335883291695e-10), (3, 7.814075313343006e-11)])
def test_one_dimensional_difference_matches_reference(x, expected):
    difference = gc.gradient_check(x, 4)
    assert type(difference) is float
    assert difference == pytest.approx(expected, rel=1e-6)


def test_one_dimensional_messages(capsys):
    gc.gradient_check(2, 4, print_msg=True)
    assert capsys.readouterr().out.startswith("Your backward propagation works perfectly fine! difference = 2.9")
    assert gc.gradient_check(2, 4) is not None and capsys.readouterr().out == ""  # silent by default


# ------------------------------------------------------------------------------------------ test case


def test_test_case_draws_in_the_course_order_without_touching_global_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    X, Y, parameters = gc.gradient_check_n_test_case()
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(1)
    assert np.array_equal(X, np.random.randn(4, 3))
    for name, shape in [("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]:
        assert np.array_equal(parameters[name], np.random.randn(*shape)), name
    assert np.array_equal(Y, [1, 1, 0])
    assert sum(p.size for p in parameters.values()) == 47


def test_random_test_case_with_course_seed_gives_course_draws(case):
    X, Y, parameters = gc.random_test_case([4, 5, 3, 1], seed=1, examples=3)
    assert np.array_equal(X, case[0])
    for name in case[2]:
        assert np.array_equal(parameters[name], case[2][name])
    assert Y.shape == (3,) and set(np.unique(Y)) <= {0, 1}


@pytest.mark.parametrize("sizes", [[4, 5, 3], [4, 5, 3, 2], [0, 5, 3, 1], [4, 5, 3, 1, 1]])
def test_random_test_case_refuses_other_architectures(sizes):
    with pytest.raises(ValueError, match="layer_sizes"):
        gc.random_test_case(sizes)


# ------------------------------------------------------------------------------------- forward, backward


def test_cost_at_the_test_case(case):
    X, Y, parameters = case
    cost, cache = gc.forward_propagation_n(X, Y, parameters)
    assert cost == pytest.approx(2.407833389834357, rel=1e-12)
    assert len(cache) == 12
    expected_cost, expected_cache = course_forward(X, Y, parameters)
    assert cost == pytest.approx(expected_cost, rel=1e-12)
    for got, want in zip(cache, expected_cache, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert cache[2] is parameters["W1"] and cache[11] is parameters["b3"]


def test_backward_as_handed_out_matches_the_course_code(case):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    got = gc.backward_propagation_n(X, Y, cache)
    want = course_backward(X, Y, course_forward(X, Y, parameters)[1])
    assert set(got) == COURSE_KEYS
    for key in COURSE_KEYS:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)


def test_fixed_backward_matches_the_course_code_without_the_bugs_and_the_true_gradient(case):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    got = gc.backward_propagation_n_fixed(X, Y, cache)
    want = course_backward(X, Y, cache, dW2_factor=1.0, db1_numerator=1.0)
    for key in COURSE_KEYS:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)
    # the course's convention: dZ3 = A3 - Y, no 1/m (the 1/m is in dW3, db3)
    np.testing.assert_array_equal(got["dZ3"], cache[9] - Y)
    for name, value in parameters.items():
        cost_of_block = lambda v, name=name: course_forward(X, Y, {**parameters, name: v})[0]  # noqa: E731
        numeric = five_point_gradient(cost_of_block, value, h=1e-4)
        np.testing.assert_allclose(got["d" + name], numeric, rtol=1e-7, atol=1e-10)


def test_the_planted_bugs_are_exactly_dW2_and_db1(case):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    fixed, buggy = gc.backward_propagation_n_fixed(X, Y, cache), gc.backward_propagation_n(X, Y, cache)
    np.testing.assert_allclose(buggy["dW2"], 2 * fixed["dW2"], rtol=1e-15)
    np.testing.assert_allclose(buggy["db1"], 4 * fixed["db1"], rtol=1e-15)
    for key in COURSE_KEYS - {"dW2", "db1"}:
        np.testing.assert_array_equal(buggy[key], fixed[key])


# ------------------------------------------------------------------------------------------------- check


def test_buggy_difference_is_the_course_number_and_a_float(case, capsys):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    gradients = gc.backward_propagation_n(X, Y, cache)
    difference = gc.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
    assert type(difference) is float
    assert difference == pytest.approx(0.2850931567761623, abs=1e-9)
    out = capsys.readouterr().out
    assert out == f"There is a mistake in the backward propagation! difference = {difference}\n"


@pytest.mark.parametrize(("dW2_factor", "db1_numerator"), [(2.0, 4.0), (2.0, 1.0), (1.0, 4.0), (1.0, 1.0)])
def test_differences_are_the_course_loops_to_the_last_digit(case, dW2_factor, db1_numerator):
    """The course signature gives the very float the course's own loop gives on this machine (docs/REFERENCE.md:
    0.2850931567761623, 0.17344196893145924, 0.2544229712458523, ~1.189e-7), not merely a close one; toynet's own
    engine, which updates only the layers above each entry, within the round-off of its costs."""
    X, Y, parameters = case
    _, cache = course_forward(X, Y, parameters)
    gradients = course_backward(X, Y, cache, dW2_factor, db1_numerator)
    theta, _ = dictionary_to_vector(parameters)
    approx = np.empty_like(theta)
    for i in range(theta.size):  # the course's loop: copy theta, move entry i, vector_to_dictionary, forward
        plus, minus = theta.copy(), theta.copy()
        plus[i] += 1e-7
        minus[i] -= 1e-7
        J_plus = course_forward(X, Y, vector_to_dictionary(plus, parameters))[0]
        J_minus = course_forward(X, Y, vector_to_dictionary(minus, parameters))[0]
        approx[i] = (J_plus - J_minus) / (2 * 1e-7)
    course = formula_2(gradients_to_vector(gradients, parameters), approx)
    assert gc.gradient_check_n(parameters, gradients, X, Y) == course
    net = Network([4, 5, 3, 1])
    report = gradcheck.gradient_check_n(net.cost_function(X, Y), parameters, gradients, epsilon=1e-7)
    # each engine cost is the forward pass's within R (cost_roundoff): each entry within R / h of the loop's, and
    # formula 2 within 2 ||those|| / (||g|| + ||approx||) (its numerator and denominator each move by at most that)
    entry_bound = cost_roundoff(net, X, Y, parameters) / 1e-7
    assert np.abs(report.numerical_gradient - approx).max() <= entry_bound
    g = gradients_to_vector(gradients, parameters)
    assert abs(report.difference - course) <= 2 * np.sqrt(theta.size) * entry_bound / (
        np.linalg.norm(g) + np.linalg.norm(approx))


@pytest.mark.parametrize(
    ("dW2_factor", "db1_numerator", "expected"),
    [(2.0, 1.0, 0.17344196893145924), (1.0, 4.0, 0.2544229712458523)],
    ids=["only-dW2-bug", "only-db1-bug"],
)
def test_one_bug_at_a_time(case, dW2_factor, db1_numerator, expected):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    gradients = course_backward(X, Y, cache, dW2_factor=dW2_factor, db1_numerator=db1_numerator)
    assert gc.gradient_check_n(parameters, gradients, X, Y) == pytest.approx(expected, rel=1e-6)


def test_corrected_backward_passes_at_the_course_step_and_better_at_the_default(case, capsys):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    gradients = gc.backward_propagation_n_fixed(X, Y, cache)
    at_course_step = gc.gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=True)
    assert 1e-8 < at_course_step < 2e-7  # docs/REFERENCE.md: about 1.19e-7, above the course's first threshold
    assert capsys.readouterr().out.startswith("Your backward propagation works perfectly fine! difference = ")
    assert gc.gradient_check_n(parameters, gradients, X, Y, epsilon=None) <= 1e-9
    # docs/REFERENCE.md: epsilon 1e-4 -> 1.9e-10, 1e-5 -> 9.3e-10, 1e-6 -> 8.3e-9
    for epsilon, expected in [(1e-4, 1.9e-10), (1e-5, 9.3e-10), (1e-6, 8.3e-9)]:
        assert gc.gradient_check_n(parameters, gradients, X, Y, epsilon=epsilon) == pytest.approx(expected, rel=0.1)


def test_check_modifies_neither_dict(case):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    gradients = gc.backward_propagation_n(X, Y, cache)
    parameters_before = {k: v.copy() for k, v in parameters.items()}
    gradients_before = {k: v.copy() for k, v in gradients.items()}
    X_before = X.copy()
    gc.gradient_check_n(parameters, gradients, X, Y)
    gc.gradient_check_n_report(parameters, gradients, X, Y)
    assert parameters.keys() == parameters_before.keys() and gradients.keys() == gradients_before.keys()
    for k in parameters:
        np.testing.assert_array_equal(parameters[k], parameters_before[k])
    for k in gradients:
        np.testing.assert_array_equal(gradients[k], gradients_before[k])
    np.testing.assert_array_equal(X, X_before)


def test_report_names_the_two_buggy_blocks(case):
    X, Y, parameters = case
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    report = gc.gradient_check_n_report(parameters, gc.backward_propagation_n(X, Y, cache), X, Y)
    assert report.difference == pytest.approx(0.2850931567761623, abs=1e-9)
    assert not report.passed
    assert set(report.failing_blocks) == {"W2", "b1"}


# ------------------------------------------------------------------------------------------ other shapes


@given(
    n_x=st.integers(1, 5), n_1=st.integers(1, 6), n_2=st.integers(1, 4), m=st.integers(1, 6), seed=st.integers(0, 99)
)
def test_any_three_layer_shape(n_x, n_1, n_2, m, seed):
    X, Y, parameters = gc.random_test_case([n_x, n_1, n_2, 1], seed=seed, examples=m)
    cost, cache = gc.forward_propagation_n(X, Y, parameters)
    assert cost == pytest.approx(course_forward(X, Y, parameters)[0], rel=1e-12)
    fixed = gc.backward_propagation_n_fixed(X, Y, cache)
    buggy = gc.backward_propagation_n(X, Y, cache)
    want = course_backward(X, Y, cache)
    for key in COURSE_KEYS:
        assert fixed[key].shape == want[key].shape
        np.testing.assert_allclose(buggy[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)
    # formula 2 between the true gradient and the fixed one, with an independent numerical reference
    theta, _ = gc.dictionary_to_vector(parameters)
    layout = {k: v for k, v in parameters.items()}
    def cost_of(t: np.ndarray) -> float:
        return course_forward(X, Y, gc.vector_to_dictionary(t, layout))[0]

    reference = five_point_gradient(cost_of, theta, h=1e-4)
    assert formula_2(gc.gradients_to_vector(fixed), reference) < 1e-7
    assert gc.gradient_check_n(parameters, fixed, X, Y, epsilon=None) < 1e-7


def test_another_shape_reports_the_planted_bugs():
    X, Y, parameters = gc.random_test_case([3, 6, 4, 1], seed=0, examples=5)
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    fixed = gc.backward_propagation_n_fixed(X, Y, cache)
    buggy = gc.backward_propagation_n(X, Y, cache)
    assert gc.gradient_check_n(parameters, fixed, X, Y) < 2e-7
    reference = formula_2(gc.gradients_to_vector(buggy), gc.gradients_to_vector(fixed))
    assert gc.gradient_check_n(parameters, buggy, X, Y) == pytest.approx(reference, rel=1e-5)
    report = gc.gradient_check_n_report(parameters, buggy, X, Y, epsilon=None)
    assert set(report.failing_blocks) == {"W2", "b1"}


def test_wrong_architecture_and_cache_are_refused(case):
    X, Y, parameters = case
    two_layers = {k: v for k, v in parameters.items() if k[1] != "3"}
    with pytest.raises(ValueError, match="3-layer"):
        gc.forward_propagation_n(X, Y, two_layers)
    with pytest.raises(TypeError, match="12-tuple"):
        gc.backward_propagation_n(X, Y, (1, 2, 3))
    with pytest.raises(ValueError, match="must hold exactly"):
        gc.gradient_check_n(parameters, {"dW1": np.zeros((5, 4))}, X, Y)


def test_vector_to_dictionary_takes_the_course_skeletons_one_argument_call(case):
    # gc_utils.vector_to_dictionary(theta) unrolls the course's 4-5-3-1 network: theta[:20] is W1 (5, 4),
    # theta[20:25] b1, theta[25:40] W2 (3, 5), theta[40:43] b2, theta[43:46] W3 (1, 3), theta[46:47] b3.
    _, _, parameters = case
    theta = np.arange(47.0).reshape(47, 1)
    unrolled = gc.vector_to_dictionary(theta)
    slices = {"W1": (0, 20, (5, 4)), "b1": (20, 25, (5, 1)), "W2": (25, 40, (3, 5)),
              "b2": (40, 43, (3, 1)), "W3": (43, 46, (1, 3)), "b3": (46, 47, (1, 1))}  # fmt: skip
    for name, (start, stop, shape) in slices.items():
        np.testing.assert_array_equal(unrolled[name], theta[start:stop].reshape(shape))
    theta_course, _ = gc.dictionary_to_vector(parameters)
    assert all(np.array_equal(gc.vector_to_dictionary(theta_course)[k], parameters[k]) for k in parameters)
    # the two-argument general form still works for other shapes, and a wrong length is named
    other = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1)), "W2": np.ones((1, 2)), "b2": np.ones((1, 1))}
    assert gc.vector_to_dictionary(np.zeros(11), other)["W2"].shape == (1, 2)
    with pytest.raises(ValueError, match=r"theta must have shape \(47, 1\) or \(47,\), but got \(11,\)"):
        gc.vector_to_dictionary(np.zeros(11))
