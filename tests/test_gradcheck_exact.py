"""The course-signature check gives the course loop's numbers to the bit (issue 13), on any shape.

The reference is the course's own algorithm, written out in tests/_reference.py: its forward pass (np.dot(W, A) + b,
np.maximum(0, Z), 1 / (1 + np.exp(-Z)), the logistic cost as 1. / m * np.sum(logprobs)) run twice per entry of theta
by the course's loop (thetaplus[i][0] + epsilon, (J_plus[i] - J_minus[i]) / (2. * epsilon), formula 2 with
np.linalg.norm).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _reference import COURSE_BUGGY, COURSE_COST, course_loop, to_the_last_digit

from toynet.demo import _printed_number_note
from toynet.exercises import gradient_checking as gc
from toynet.losses import row_costs


def he_case(layer_sizes, seed, m):
    """X, Y (1, m) float labels, He-scaled weights and small biases: no saturated output on bigger shapes."""
    rng = np.random.default_rng(seed)
    parameters = {}
    for layer in range(1, len(layer_sizes)):
        n_out, n_in = layer_sizes[layer], layer_sizes[layer - 1]
        parameters[f"W{layer}"] = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        parameters[f"b{layer}"] = 0.1 * rng.standard_normal((n_out, 1))
    X = rng.standard_normal((layer_sizes[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    return X, Y, parameters


def gradients_of(X, Y, parameters, buggy):
    _, cache = gc.forward_propagation_n(X, Y, parameters)
    return (gc.backward_propagation_n if buggy else gc.backward_propagation_n_fixed)(X, Y, cache)


# The shapes of the course's architecture the hidden checks use, and others: the course's own draws (standard-normal
# parameters, Y (m,) ints, from random_test_case) where the course's costs stay finite, He-scaled ones beyond.
CASES = [
    pytest.param(lambda: gc.random_test_case([4, 5, 3, 1], seed=1, examples=3), id="course-point"),
    pytest.param(lambda: gc.random_test_case([10, 20, 5, 1], seed=0, examples=7), id="10-20-5-1,m7"),
    pytest.param(lambda: gc.random_test_case([10, 20, 5, 1], seed=3, examples=1), id="10-20-5-1,m1"),
    pytest.param(lambda: gc.random_test_case([3, 7, 4, 1], seed=2, examples=50), id="3-7-4-1,m50"),
    pytest.param(lambda: gc.random_test_case([3, 7, 4, 1], seed=1, examples=20), id="3-7-4-1,m20"),
    pytest.param(lambda: he_case([20, 30, 10, 1], seed=4, m=13), id="20-30-10-1,m13"),
    pytest.param(lambda: he_case([12, 40, 25, 1], seed=5, m=3), id="12-40-25-1,m3"),
    pytest.param(lambda: he_case([6, 9, 7, 1], seed=6, m=130), id="6-9-7-1,m130"),
]


# ------------------------------------------------------------------------------------ the course's cost


@pytest.mark.parametrize("m", [1, 2, 3, 7, 8, 9, 50, 130, 300])
def test_row_costs_sum_each_row_as_the_course_sums_one(m):
    """The course's cost of each row of a stack equals its cost of that row alone (np.sum of a (1, m) array)."""
    rng = np.random.default_rng(m)
    A = 1 / (1 + np.exp(-3 * rng.standard_normal((40, m))))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    costs = row_costs(A, Y)
    for i in range(40):
        logprobs = np.multiply(-np.log(A[i : i + 1]), Y) + np.multiply(-np.log(1 - A[i : i + 1]), 1 - Y)
        assert costs[i] == 1.0 / m * np.sum(logprobs)


# ------------------------------------------------------------------------------------ the course signature


@pytest.mark.parametrize("make", CASES)
@pytest.mark.parametrize("buggy", [True, False], ids=["buggy", "fixed"])
@pytest.mark.parametrize("epsilon", [1e-7, 1e-4])
def test_course_signature_difference_is_the_course_loops_to_the_bit(make, buggy, epsilon):
    X, Y, parameters = make()
    gradients = gradients_of(X, Y, parameters, buggy)
    kept = {name: value.copy() for name, value in parameters.items()}
    J_plus, J_minus, _, expected = course_loop(X, Y, parameters, gradients, epsilon)
    assert np.isfinite(J_plus).all() and np.isfinite(J_minus).all()  # the course's costs themselves are defined
    assert gc.gradient_check_n(parameters, gradients, X, Y, epsilon) == expected
    assert all(np.array_equal(parameters[name], kept[name]) for name in kept)


@pytest.mark.parametrize("epsilon", [1e-7, 1e-5, 3e-3])
def test_course_signature_at_about_ten_thousand_parameters(epsilon):
    """The issue's ~10k network [50, 100, 50, 1] with m = 3: the course loop's difference, not 7.5e-4 away."""
    X, Y, parameters = he_case([50, 100, 50, 1], seed=0, m=3)
    gradients = gradients_of(X, Y, parameters, buggy=False)
    expected = course_loop(X, Y, parameters, gradients, epsilon)[3]
    assert gc.gradient_check_n(parameters, gradients, X, Y, epsilon) == expected


def test_course_signature_on_a_large_batch_is_the_course_loops_to_the_bit():
    X, Y, parameters = he_case([5, 8, 4, 1], seed=8, m=400)
    gradients = gradients_of(X, Y, parameters, buggy=False)
    assert gc.gradient_check_n(parameters, gradients, X, Y) == course_loop(X, Y, parameters, gradients, 1e-7)[3]


def test_course_buggy_case_gives_the_courses_printed_number(course_case):
    """The course's own loop on this machine, bit for bit; its printed number within the loop's own round-off.

    At epsilon 1e-7 one ulp of a cost (4e-16) moves an entry of gradapprox by ~4e-9, so a BLAS kernel that rounds
    np.dot differently moves the last digits: FMA kernels give ...623 or ...624 (one unit in the last digit, the
    next test pins it per kernel), pre-FMA kernels 0.285093156780699. Each is the course's own code's number on
    that machine."""
    X, Y, parameters = course_case
    gradients = gradients_of(X, Y, parameters, buggy=True)
    difference = gc.gradient_check_n(parameters, gradients, X, Y)
    assert difference == course_loop(X, Y, parameters, gradients, 1e-7)[3]
    assert difference == pytest.approx(COURSE_BUGGY, abs=1e-9)


PER_KERNEL = """
import sys
sys.path.insert(0, sys.argv[1])
import _reference
from toynet.exercises import gradient_checking as gc
X, Y, parameters = _reference.course_case()
gradients = gc.backward_propagation_n(X, Y, gc.forward_propagation_n(X, Y, parameters)[1])
print(repr(gc.gradient_check_n(parameters, gradients, X, Y)))
print(repr(_reference.course_loop(X, Y, parameters, gradients, 1e-7)[3]))
print(repr(gc.forward_propagation_n(X, Y, parameters)[0]), repr(_reference.course_forward(X, Y, parameters)))
"""
FMA_KERNELS = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"}


@pytest.mark.slow(2)
@pytest.mark.parametrize("kernel", ["Haswell", "SkylakeX", "Sandybridge", "Nehalem"])
def test_on_every_blas_kernel_the_course_loops_number_and_the_printed_one_to_its_last_digit(kernel):
    """Machines whose BLAS gives the other last bit, made here: OpenBLAS picks the kernel OPENBLAS_CORETYPE names
    (falling back to one the CPU runs; OPENBLAS_VERBOSE=2 says which). On each, toynet is the course's loop to the
    bit; on the FMA kernels of today's CPUs the course's printed numbers hold to one unit in their last digit."""
    env = dict(os.environ, OPENBLAS_CORETYPE=kernel, OPENBLAS_VERBOSE="2")
    result = subprocess.run([sys.executable, "-c", PER_KERNEL, str(Path(__file__).parent)], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.split("\n")
    said = result.stderr.splitlines()  # OpenBLAS writes its "Core: <kernel>" line to stderr
    used = next((line.split(":")[1].strip() for line in said if line.startswith("Core:")), "not OpenBLAS")
    toynet, course, (cost, course_cost) = float(lines[-4]), float(lines[-3]), map(float, lines[-2].split())
    assert toynet == course and cost == course_cost, used
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    assert used != "not OpenBLAS" or "openblas" not in blas  # the kernel was forced and read back
    assert to_the_last_digit(cost, COURSE_COST), (used, cost)
    if used in FMA_KERNELS:
        assert to_the_last_digit(toynet, COURSE_BUGGY), (used, toynet)
    else:
        assert toynet == pytest.approx(COURSE_BUGGY, abs=1e-9), (used, toynet)


@pytest.mark.parametrize(("printed", "says"), [(COURSE_BUGGY, "the same float"),
                                               (0.2850931567761624, "1 unit in the last digit away"),
                                               (0.285093156780699, "the same to 10 significant digits")])
def test_the_demo_says_which_number_it_printed_and_why_the_last_digit_can_differ(printed, says):
    note = _printed_number_note(float(printed))
    assert repr(float(printed)) in note and says in note and "BLAS" in note
    assert "0.2850931567761623" in note  # the course's notebook's number beside it


def test_course_signature_names_a_bad_X_or_epsilon():
    X, Y, parameters = gc.random_test_case([4, 5, 3, 1], seed=1)
    gradients = gradients_of(X, Y, parameters, buggy=False)
    with pytest.raises(ValueError, match=r"X must have shape \(n_x, m\) = \(4, m\).*got shape \(3, 3\)"):
        gc.gradient_check_n(parameters, gradients, X[:3], Y)
    with pytest.raises(ValueError, match="X"):
        gc.gradient_check_n(parameters, gradients, np.full_like(X, np.nan), Y)
    with pytest.raises(ValueError, match="epsilon"):
        gc.gradient_check_n(parameters, gradients, X, Y, epsilon=-1e-7)
    with pytest.raises(ValueError, match="Y"):
        gc.gradient_check_n(parameters, gradients, X, Y[:2])
