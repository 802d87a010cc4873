"""cs231n's gradient-check helpers: hand-derived gradients, agreement with toynet.gradcheck, x always restored."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from toynet import gradcheck
from toynet.exercises import cs231n


def sig(z):
    return 1 / (1 + np.exp(-z))


# Three scalar functions of an array and their gradients, derived by hand.
RNG = np.random.default_rng(0)
C = RNG.uniform(0.5, 2.0, (3, 4))
A = RNG.standard_normal(5)
LABEL = 2


def quadratic(x):
    return float(np.sum(C * x**2))


def d_quadratic(x):
    return 2 * C * x


def sigmoid_sum(x):
    return float(np.sum(C * sig(x)))


def d_sigmoid_sum(x):
    return C * sig(x) * (1 - sig(x))


def softmax_loss(W):
    """-log softmax(W a)[LABEL] for W: (3, 5): the cs231n softmax classifier on one example."""
    scores = W @ A
    return float(np.log(np.sum(np.exp(scores - scores.max()))) + scores.max() - scores[LABEL])


def d_softmax_loss(W):
    scores = W @ A
    p = np.exp(scores - scores.max())
    p /= p.sum()
    p[LABEL] -= 1
    return np.outer(p, A)


CASES = [
    pytest.param(quadratic, d_quadratic, (3, 4), id="quadratic"),
    pytest.param(sigmoid_sum, d_sigmoid_sum, (3, 4), id="sigmoid"),
    pytest.param(softmax_loss, d_softmax_loss, (3, 5), id="softmax"),
]


@pytest.mark.parametrize(("f", "df", "shape"), CASES)
def test_eval_numerical_gradient_matches_hand_derivation_and_gradcheck(f, df, shape):
    x = np.random.default_rng(1).standard_normal(shape)
    before = x.copy()
    grad = cs231n.eval_numerical_gradient(f, x, verbose=False)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert cs231n.rel_error(grad, df(x)) < 1e-7
    np.testing.assert_allclose(grad, gradcheck.numerical_gradient(f, before, epsilon=1e-5), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(x, before)


def test_eval_numerical_gradient_perturbs_the_callers_array_in_place():
    """The cs231n pattern: f ignores its argument and reads the array through shared state."""
    params = {"W": np.random.default_rng(2).standard_normal((3, 4))}
    before = params["W"].copy()
    seen = []

    def loss(_ignored):
        seen.append(params["W"].copy())
        return quadratic(params["W"])

    grad = cs231n.eval_numerical_gradient(loss, params["W"], verbose=False)
    assert cs231n.rel_error(grad, d_quadratic(before)) < 1e-7
    np.testing.assert_array_equal(params["W"], before)
    # every evaluation saw the original array with exactly one entry moved by +-h
    moved = [np.count_nonzero(s != before) for s in seen]
    assert moved.count(1) == 2 * before.size and set(moved) <= {0, 1}


def test_verbose_prints_one_line_per_index_as_cs231n(capsys):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = cs231n.eval_numerical_gradient(lambda v: float(np.sum(v**2)), x)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("(0, 0) ") and lines[3].startswith("(1, 1) ")
    assert float(lines[3].split(") ")[1]) == pytest.approx(grad[1, 1]) == pytest.approx(8.0)


@pytest.mark.parametrize("which", ["scalar", "array", "sparse", "blobs"])
def test_x_restored_when_f_raises(which):
    x = np.random.default_rng(3).standard_normal((2, 3))
    before = x.copy()
    calls = []

    def failing(v):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return v * 2 if which in ("array",) else float(np.sum(v))

    with pytest.raises(RuntimeError, match="boom"):
        if which == "scalar":
            cs231n.eval_numerical_gradient(failing, x, verbose=False)
        elif which == "array":
            cs231n.eval_numerical_gradient_array(failing, x, np.ones((2, 3)))
        elif which == "sparse":
            cs231n.grad_check_sparse(failing, x, np.zeros_like(x), num_checks=5, seed=0)
        else:
            blob, out = Blob(x), Blob(np.zeros((2, 3)))
            out.diffs = np.ones((2, 3))

            def f(b, o):
                o.vals = failing(b.vals) * np.ones((2, 3))

            cs231n.eval_numerical_gradient_blobs(f, (blob,), out)
    np.testing.assert_array_equal(x, before)


def test_integer_x_refused_and_float32_warned():
    with pytest.raises(TypeError, match="floating"):
        cs231n.eval_numerical_gradient(lambda v: float(np.sum(v)), np.arange(4), verbose=False)
    with pytest.warns(RuntimeWarning, match="float32"):
        cs231n.eval_numerical_gradient(lambda v: float(np.sum(v)), np.ones(3, dtype=np.float32), verbose=False)


def test_nan_from_f_is_not_silent():
    x = np.array([1.0, -1.0])
    with pytest.raises((ValueError, FloatingPointError), match="(?i)nan|finite"):
        with np.errstate(invalid="ignore"):
            cs231n.eval_numerical_gradient(lambda v: float(np.sqrt(v).sum()), x, verbose=False)
    np.testing.assert_array_equal(x, [1.0, -1.0])


# ------------------------------------------------------------------------------------------- array form


def test_eval_numerical_gradient_array_affine_and_sigmoid():
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    dout = rng.standard_normal((2, 4))
    before = x.copy()
    dx = cs231n.eval_numerical_gradient_array(lambda v: v @ W, x, dout)
    np.testing.assert_allclose(dx, dout @ W.T, rtol=1e-7)  # out = x W  =>  dx = dout W^T
    dout = rng.standard_normal((2, 3))
    dx = cs231n.eval_numerical_gradient_array(sig, x, dout)
    assert cs231n.rel_error(dx, dout * sig(x) * (1 - sig(x))) < 1e-7
    np.testing.assert_allclose(dx, gradcheck.numerical_gradient_array(sig, before, dout, epsilon=1e-5), rtol=1e-12)
    np.testing.assert_array_equal(x, before)


class Blob:
    def __init__(self, vals):
        self.vals = vals
        self.diffs = np.zeros_like(vals)


def test_eval_numerical_gradient_blobs_matmul():
    rng = np.random.default_rng(5)
    x, w = Blob(rng.standard_normal((2, 3))), Blob(rng.standard_normal((3, 4)))
    out = Blob(np.zeros((2, 4)))
    out.diffs = rng.standard_normal((2, 4))
    x_before, w_before = x.vals.copy(), w.vals.copy()

    def f(x_blob, w_blob, out_blob):
        out_blob.vals = x_blob.vals @ w_blob.vals

    dx, dw = cs231n.eval_numerical_gradient_blobs(f, (x, w), out)
    np.testing.assert_allclose(dx, out.diffs @ w_before.T, rtol=1e-7)
    np.testing.assert_allclose(dw, x_before.T @ out.diffs, rtol=1e-7)
    np.testing.assert_array_equal(x.vals, x_before)
    np.testing.assert_array_equal(w.vals, w_before)


# ------------------------------------------------------------------------------------------ sparse form


LINE = re.compile(r"^numerical: (-?\d+\.\d{6}) analytic: (-?\d+\.\d{6}), relative error: (\d\.\d{6}e[+-]\d\d)$")


@pytest.mark.parametrize(("f", "df", "shape"), CASES)
def test_grad_check_sparse_prints_cs231n_lines(f, df, shape, capsys):
    x = np.random.default_rng(6).standard_normal(shape)
    before = x.copy()
    checks = cs231n.grad_check_sparse(f, x, df(x), num_checks=7, seed=3)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(checks) == 7
    for line, (ix, numerical, analytic, error) in zip(lines, checks, strict=True):
        match = LINE.match(line)
        assert match, line
        assert float(match.group(2)) == pytest.approx(df(before)[ix], abs=1e-6)
        assert error < 1e-7 and numerical == pytest.approx(analytic, rel=1e-6, abs=1e-9)
    np.testing.assert_array_equal(x, before)


def test_grad_check_sparse_seeds_and_catches_a_wrong_gradient(capsys):
    x = np.random.default_rng(7).standard_normal((3, 4))
    first = [c[0] for c in cs231n.grad_check_sparse(quadratic, x, d_quadratic(x), seed=11)]
    assert first == [c[0] for c in cs231n.grad_check_sparse(quadratic, x, d_quadratic(x), seed=11)]
    random.seed(5)  # seed=None draws from Python's global random, as cs231n does
    a = [c[0] for c in cs231n.grad_check_sparse(quadratic, x, d_quadratic(x), num_checks=4)]
    random.seed(5)
    assert a == [c[0] for c in cs231n.grad_check_sparse(quadratic, x, d_quadratic(x), num_checks=4)]
    wrong = cs231n.grad_check_sparse(quadratic, x, 2 * d_quadratic(x), num_checks=4, seed=0)
    assert all(error == pytest.approx(1 / 3, rel=1e-6) for *_, error in wrong)  # |2g - g| / (|2g| + |g|)
    zero = cs231n.grad_check_sparse(lambda v: 0.0, x, np.zeros_like(x), num_checks=2, seed=0)
    assert [error for *_, error in zero] == [0.0, 0.0]  # 0/0 is 0, not nan
    capsys.readouterr()


def test_grad_check_sparse_shape_mismatch():
    with pytest.raises(ValueError, match="shape of x"):
        cs231n.grad_check_sparse(quadratic, np.ones((3, 4)), np.ones(12), seed=0)


# ------------------------------------------------------------------------------------------- rel_error


def test_rel_error_by_hand():
    assert cs231n.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert cs231n.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert cs231n.rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(1e-9 / 1e-8)  # the 1e-8 floor


@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e3, 1e3)),
       arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e3, 1e3)))
def test_rel_error_is_cs231n_formula(a, b):
    if a.shape != b.shape:
        b = np.resize(b, a.shape)
    expected = np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))
    assert cs231n.rel_error(a, b) == pytest.approx(expected, rel=1e-12, abs=0)
