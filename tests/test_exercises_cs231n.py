"""toynet.exercises.cs231n against cs231n's own loops, on cs231n-style layers.

cs231n's gradient_check.py is not a dependency: its algorithm (seed 000, REFERENCE.md) is written out below,
independently of toynet, as `ref_*`. Every check runs through toynet's module and through that copy on
separately built, identical cases, and compares what a notebook can observe: the values (bit for bit, same
dtype), the printed lines, every call of f (the point it saw, in order), the final x and any state f keeps.
Layer fixtures are the assignments' forward passes (affine, ReLU, softmax and SVM losses, batch norm with
running averages, dropout with a seed, a naive convolution, an RNN step); where a backward is short its
analytic gradient is an independent check of the numbers themselves.
"""

from __future__ import annotations

import inspect
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from toynet.exercises import cs231n

# ---------------------------------------------------------------- cs231n's algorithm, written out independently


def ref_eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    f(x)  # evaluated once at the starting point, its value unused
    grad = np.zeros_like(x)
    walker = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not walker.finished:
        ix = walker.multi_index
        start = x[ix]
        x[ix] = start + h
        up = f(x)
        x[ix] = start - h
        down = f(x)
        x[ix] = start
        grad[ix] = (up - down) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        walker.iternext()
    return grad


def ref_eval_numerical_gradient_array(f, x, df, h=1e-5):
    grad = np.zeros_like(x)
    walker = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not walker.finished:
        ix = walker.multi_index
        start = x[ix]
        x[ix] = start + h
        up = f(x).copy()
        x[ix] = start - h
        down = f(x).copy()
        x[ix] = start
        grad[ix] = np.sum((up - down) * df) / (2 * h)
        walker.iternext()
    return grad


def ref_eval_numerical_gradient_blobs(f, inputs, output, h=1e-5):
    diffs = []
    for blob in inputs:
        diff = np.zeros_like(blob.diffs)
        walker = np.nditer(blob.vals, flags=["multi_index"], op_flags=["readwrite"])
        while not walker.finished:
            idx = walker.multi_index
            start = blob.vals[idx]
            blob.vals[idx] = start + h
            f(*(inputs + (output,)))
            up = np.copy(output.vals)
            blob.vals[idx] = start - h
            f(*(inputs + (output,)))
            down = np.copy(output.vals)
            blob.vals[idx] = start
            diff[idx] = np.sum((up - down) * output.diffs) / (2.0 * h)
            walker.iternext()
        diffs.append(diff)
    return diffs


def ref_eval_numerical_gradient_net(net, inputs, output, h=1e-5):
    return ref_eval_numerical_gradient_blobs(lambda *args: net.forward(), inputs, output, h=h)


def ref_grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5):
    for _ in range(num_checks):
        ix = tuple([random.randrange(m) for m in x.shape])
        start = x[ix]
        x[ix] = start + h
        up = f(x)
        x[ix] = start - h
        down = f(x)
        x[ix] = start
        numerical = (up - down) / (2 * h)
        analytic = analytic_grad[ix]
        error = abs(numerical - analytic) / (abs(numerical) + abs(analytic))
        print("numerical: %f analytic: %f, relative error: %e" % (numerical, analytic, error))  # noqa: UP031


def cs231n_rel_error(x, y):
    """The notebooks' own definition."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


# ----------------------------------------------------------------------------- cs231n-style layer fixtures


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def relu_forward(x):
    return np.maximum(0, x)


def softmax_loss(x, y):
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    n = x.shape[0]
    dx = np.exp(log_probs)
    dx[np.arange(n), y] -= 1
    return -np.sum(log_probs[np.arange(n), y]) / n, dx / n


def softmax_loss_in_place(x, y):
    """A student's softmax that shifts its input in place: the bug the helpers must not hide."""
    x -= np.max(x, axis=1, keepdims=True)
    log_probs = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(x.shape[0]), y]) / x.shape[0]


def svm_loss(x, y):
    n = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(n), y][:, None] + 1.0)
    margins[np.arange(n), y] = 0
    dx = (margins > 0).astype(float)
    dx[np.arange(n), y] -= dx.sum(axis=1)
    return np.sum(margins) / n, dx / n


def batchnorm_forward(x, gamma, beta, bn_param):
    """Training mode: normalise with the batch's statistics and update the running averages (state)."""
    momentum, eps = bn_param.get("momentum", 0.9), bn_param.get("eps", 1e-5)
    mean, var = x.mean(axis=0), x.var(axis=0)
    bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mean
    bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def dropout_forward(x, dropout_param):
    np.random.seed(dropout_param["seed"])  # the assignment's fixed seed: the same mask on every call
    mask = (np.random.rand(*x.shape) < dropout_param["p"]) / dropout_param["p"]
    return x * mask


def conv_forward_naive(x, w, b, stride=1, pad=1):
    n, _, height, width = x.shape
    filters, _, hh, ww = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = 1 + (height + 2 * pad - hh) // stride, 1 + (width + 2 * pad - ww) // stride
    out = np.zeros((n, filters, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[:, :, i * stride : i * stride + hh, j * stride : j * stride + ww]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    return np.tanh(x @ Wx + prev_h @ Wh + b)


# ------------------------------------------------------------------------------------------ running both


class Recorder:
    """Wraps f: records, for every call, the arrays it was handed (before the call) and as f left them."""

    def __init__(self, f: Callable[..., Any], watched: Callable[[], list[np.ndarray]]) -> None:
        self.f, self.watched = f, watched
        self.seen: list[list[np.ndarray]] = []
        self.left: list[list[np.ndarray]] = []

    def __call__(self, *args: Any) -> Any:
        self.seen.append([a.copy() for a in self.watched()])
        try:
            return self.f(*args)
        finally:
            self.left.append([a.copy() for a in self.watched()])

    def first_change(self) -> int | None:
        """The first call (1-based) that left a watched array different from how it was handed over."""
        for call, (seen, left) in enumerate(zip(self.seen, self.left, strict=True), start=1):
            if any(not np.array_equal(s, lft, equal_nan=True) for s, lft in zip(seen, left, strict=True)):
                return call
        return None


@dataclass
class Run:
    result: Any
    printed: str
    calls: Recorder
    x: list[np.ndarray]
    state: Any
    warnings: list[warnings.WarningMessage]


def run(helper: Callable[..., Any], case: Callable[[], dict[str, Any]], capsys: Any, seed: int = 0) -> Run:
    """Build a fresh case and run one helper on it, recording calls, output, warnings and the final state."""
    built = case()
    watched = built.get("watched", lambda: [built["args"][1]])
    recorder = Recorder(built["f"], watched)
    capsys.readouterr()
    random.seed(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = helper(recorder, *built["args"][1:], **built.get("kwargs", {}))
    printed = capsys.readouterr().out
    return Run(result, printed, recorder, [a.copy() for a in watched()], built.get("state"), caught)


def assert_same_arrays(a: Any, b: Any) -> None:
    """Bit for bit, same dtype, same shape (nan where the other has nan)."""
    assert type(a) is type(b)
    if isinstance(a, list):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            assert_same_arrays(u, v)
        return
    if a is None:
        return
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def assert_same_run(mine: Run, theirs: Run) -> None:
    assert_same_arrays(mine.result, theirs.result)
    assert mine.printed == theirs.printed
    assert len(mine.calls.seen) == len(theirs.calls.seen)
    for call, (ours, ref) in enumerate(zip(mine.calls.seen, theirs.calls.seen, strict=True), start=1):
        for a, b in zip(ours, ref, strict=True):
            assert np.array_equal(a, b, equal_nan=True), f"call {call} of f saw another point"
    for a, b in zip(mine.x, theirs.x, strict=True):
        np.testing.assert_array_equal(a, b)
    if theirs.state is not None:
        for key, value in theirs.state.items():
            np.testing.assert_array_equal(mine.state[key], value, err_msg=key)


def ours(w: list[warnings.WarningMessage]) -> list[str]:
    """Messages of the warnings toynet's module raised (not numpy's own)."""
    return [str(m.message) for m in w if m.filename == __file__]


# ----------------------------------------------------------------------------------------------- the cases

RNG_SEED = 231


def _rng() -> np.random.Generator:
    return np.random.default_rng(RNG_SEED)


def case_affine(which: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        rng = _rng()
        x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
        dout = rng.standard_normal((4, 5))
        point = {"x": x, "w": w, "b": b}
        fns = {"x": lambda v: affine_forward(v, w, b), "w": lambda v: affine_forward(x, v, b),
               "b": lambda v: affine_forward(x, w, v)}
        return {"f": fns[which], "args": (None, point[which], dout)}

    return build


def case_relu(df: Any = "random", dtype: Any = np.float64, layout: str = "C") -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        rng = _rng()
        x = rng.standard_normal((5, 6)).astype(dtype)
        if layout == "T":
            x = x.T  # a transposed view: np.nditer visits it in memory order
        elif layout == "reversed":
            x = x[::-1, ::2]  # negative and doubled strides
        dout = rng.standard_normal(x.shape).astype(dtype) if df == "random" else df
        return {"f": relu_forward, "args": (None, x, dout)}

    return build


def case_batchnorm() -> dict[str, Any]:
    rng = _rng()
    x = 3 * rng.standard_normal((6, 4)) + 2
    gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((6, 4))
    bn_param = {"running_mean": np.zeros(4), "running_var": np.zeros(4)}
    return {"f": lambda v: batchnorm_forward(v, gamma, beta, bn_param), "args": (None, x, dout), "state": bn_param}


def case_dropout() -> dict[str, Any]:
    rng = _rng()
    x, dout = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    return {"f": lambda v: dropout_forward(v, {"p": 0.6, "seed": 123}), "args": (None, x, dout)}


def case_conv(which: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        rng = _rng()
        x, w, b = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
        dout = rng.standard_normal((2, 3, 4, 4))
        f = (lambda v: conv_forward_naive(v, w, b)) if which == "x" else (lambda v: conv_forward_naive(x, v, b))
        return {"f": f, "args": (None, x if which == "x" else w, dout)}

    return build


def case_rnn(which: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        rng = _rng()
        x, prev_h = rng.standard_normal((3, 10)), rng.standard_normal((3, 4))
        Wx, Wh, b = rng.standard_normal((10, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)
        dnext = rng.standard_normal((3, 4))
        fns = {"x": (lambda v: rnn_step_forward(v, prev_h, Wx, Wh, b), x),
               "prev_h": (lambda v: rnn_step_forward(x, v, Wx, Wh, b), prev_h),
               "Wx": (lambda v: rnn_step_forward(x, prev_h, v, Wh, b), Wx)}
        f, point = fns[which]
        return {"f": f, "args": (None, point, dnext)}

    return build


ARRAY_CASES = [
    pytest.param(case_affine("x"), id="affine-dx"),
    pytest.param(case_affine("w"), id="affine-dw"),
    pytest.param(case_affine("b"), id="affine-db"),
    pytest.param(case_relu(), id="relu"),
    pytest.param(case_batchnorm, id="batchnorm-running-averages"),
    pytest.param(case_dropout, id="dropout-seeded"),
    pytest.param(case_conv("x"), id="conv-dx"),
    pytest.param(case_conv("w"), id="conv-dw"),
    pytest.param(case_rnn("x"), id="rnn-dx"),
    pytest.param(case_rnn("prev_h"), id="rnn-dprev_h"),
    pytest.param(case_rnn("Wx"), id="rnn-dWx"),
    pytest.param(case_relu(df=2.0), id="relu-scalar-df"),
    pytest.param(case_relu(layout="T"), id="relu-transposed-x"),
    pytest.param(case_relu(layout="reversed"), id="relu-negative-strides"),
]


def scalar_case(loss: str, layout: str = "C") -> Callable[[], dict[str, Any]]:
    """Scalar losses of the scores x (N, C), and a loss reading a parameter through shared state."""

    def build() -> dict[str, Any]:
        rng = _rng()
        x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
        if layout == "T":
            x = np.ascontiguousarray(x.T).T
        if loss == "softmax":
            return {"f": lambda v: softmax_loss(v, y)[0], "args": (None, x)}
        if loss == "svm":
            return {"f": lambda v: svm_loss(v, y)[0], "args": (None, x)}
        if loss == "batchnorm":
            gamma, beta, dout = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((5, 4))
            bn_param = {"running_mean": np.zeros(4), "running_var": np.ones(4)}
            return {"f": lambda v: np.sum(batchnorm_forward(v, gamma, beta, bn_param) * dout), "args": (None, x),
                    "state": bn_param}
        # the two-layer-net pattern: f ignores its argument and reads W1 through the model's dict
        params = {"W1": rng.standard_normal((4, 3)), "W2": rng.standard_normal((3, 4))}
        return {"f": lambda _: softmax_loss(np.maximum(0, x @ params["W1"]) @ params["W2"], y)[0],
                "args": (None, params["W1"]), "watched": lambda: [params["W1"]]}

    return build


SCALAR_CASES = [
    pytest.param(scalar_case("softmax"), id="softmax"),
    pytest.param(scalar_case("svm"), id="svm"),
    pytest.param(scalar_case("batchnorm"), id="batchnorm-running-averages"),
    pytest.param(scalar_case("net"), id="two-layer-net-shared-state"),
    pytest.param(scalar_case("softmax", layout="T"), id="softmax-fortran-order-x"),
]


# ------------------------------------------------------------------------- the same as cs231n, observably


@pytest.mark.parametrize("case", ARRAY_CASES)
def test_eval_numerical_gradient_array_is_cs231n(case, capsys):
    mine = run(cs231n.eval_numerical_gradient_array, case, capsys)
    theirs = run(ref_eval_numerical_gradient_array, case, capsys)
    assert_same_run(mine, theirs)
    assert mine.calls.first_change() is None and ours(mine.warnings) == []
    assert len(mine.calls.seen) == 2 * case()["args"][1].size


@pytest.mark.parametrize("case", SCALAR_CASES)
@pytest.mark.parametrize("verbose", [True, False])
def test_eval_numerical_gradient_is_cs231n(case, verbose, capsys):
    mine = run(lambda f, x: cs231n.eval_numerical_gradient(f, x, verbose=verbose), case, capsys)
    theirs = run(lambda f, x: ref_eval_numerical_gradient(f, x, verbose=verbose), case, capsys)
    assert_same_run(mine, theirs)
    assert ours(mine.warnings) == []
    x = case()["args"][1]
    assert len(mine.calls.seen) == 2 * x.size + 1  # one call at the unperturbed x first, as cs231n
    np.testing.assert_array_equal(mine.calls.seen[0][0], x)
    assert len(mine.printed.splitlines()) == (x.size if verbose else 0)


def test_verbose_lines_are_printed_while_the_loop_runs(capsys):
    """Each `ix grad[ix]` line is out before the next call of f, as cs231n prints them."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    printed_before_call = []

    def f(v):
        printed_before_call.append(len(capsys.readouterr().out.splitlines()))
        return float(np.sum(v**2))

    cs231n.eval_numerical_gradient(f, x)
    assert printed_before_call == [0, 0, 0, 1, 0, 1, 0, 1, 0]  # readouterr drains: one new line per index


def test_layer_gradients_match_their_analytic_backward(capsys):
    """Independent of any loop: the helpers' numbers against backward passes derived by hand."""
    rng = _rng()
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    dx = cs231n.eval_numerical_gradient_array(lambda v: affine_forward(v, w, b), x, dout)
    assert cs231n_rel_error(dx, (dout @ w.T).reshape(x.shape)) < 1e-8
    dw = cs231n.eval_numerical_gradient_array(lambda v: affine_forward(x, v, b), w, dout)
    assert cs231n_rel_error(dw, x.reshape(4, -1).T @ dout) < 1e-8
    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    for loss in (softmax_loss, svm_loss):
        numeric = cs231n.eval_numerical_gradient(lambda v, loss=loss: loss(v, y)[0], scores, verbose=False)
        assert cs231n_rel_error(numeric, loss(scores, y)[1]) < 1e-7
    xs, prev_h = rng.standard_normal((3, 10)), rng.standard_normal((3, 4))
    Wx, Wh, bias, dnext = (rng.standard_normal(s) for s in ((10, 4), (4, 4), (4,), (3, 4)))
    dnum = cs231n.eval_numerical_gradient_array(lambda v: rnn_step_forward(v, prev_h, Wx, Wh, bias), xs, dnext)
    da = dnext * (1 - rnn_step_forward(xs, prev_h, Wx, Wh, bias) ** 2)
    assert cs231n_rel_error(dnum, da @ Wx.T) < 1e-8
    z, dz = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    assert cs231n_rel_error(cs231n.eval_numerical_gradient_array(relu_forward, z, dz), dz * (z > 0)) < 1e-9


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_grad_check_sparse_is_cs231n(loss, capsys):
    def build() -> dict[str, Any]:
        rng = _rng()
        X, y, W = rng.standard_normal((6, 5)), rng.integers(0, 3, size=6), 0.1 * rng.standard_normal((5, 3))
        fn = softmax_loss if loss == "softmax" else svm_loss
        analytic = X.T @ fn(X @ W, y)[1]
        return {"f": lambda w: fn(X @ w, y)[0], "args": (None, W, analytic), "kwargs": {"num_checks": 7}}

    mine = run(cs231n.grad_check_sparse, build, capsys, seed=5)
    state_after_mine = random.getstate()
    theirs = run(ref_grad_check_sparse, build, capsys, seed=5)
    assert mine.result is None
    assert_same_run(mine, theirs)
    assert len(mine.printed.splitlines()) == 7 and len(mine.calls.seen) == 14
    assert random.getstate() == state_after_mine  # the same draws from Python's global random
    assert ours(mine.warnings) == []


class Blob:
    def __init__(self, vals: np.ndarray, diffs: np.ndarray | None = None) -> None:
        self.vals = vals
        self.diffs = np.zeros_like(vals) if diffs is None else diffs


class AffineNet:
    """A blob net: forward() reads x and w and writes their product into out.vals."""

    def __init__(self, x: Blob, w: Blob, out: Blob) -> None:
        self.x, self.w, self.out = x, w, out

    def forward(self) -> None:
        self.out.vals = np.tanh(self.x.vals @ self.w.vals)


def blob_case(net: bool) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        rng = _rng()
        x, w = Blob(rng.standard_normal((3, 4))), Blob(rng.standard_normal((4, 2)))
        out = Blob(np.zeros((3, 2)), rng.standard_normal((3, 2)))
        model = AffineNet(x, w, out)

        def f(x_blob: Blob, w_blob: Blob, out_blob: Blob) -> None:
            out_blob.vals = np.tanh(x_blob.vals @ w_blob.vals)

        watched = lambda: [x.vals, w.vals]  # noqa: E731
        if net:
            return {"f": model.forward, "args": (None, (x, w), out), "watched": watched, "net": model}
        return {"f": f, "args": (None, (x, w), out), "watched": watched}

    return build


def test_eval_numerical_gradient_blobs_is_cs231n(capsys):
    mine = run(cs231n.eval_numerical_gradient_blobs, blob_case(False), capsys)
    theirs = run(ref_eval_numerical_gradient_blobs, blob_case(False), capsys)
    assert_same_run(mine, theirs)
    assert len(mine.calls.seen) == 2 * (12 + 8) and ours(mine.warnings) == []
    built = blob_case(False)()
    (x, w), out = built["args"][1], built["args"][2]
    dx, dw = mine.result
    da = out.diffs * (1 - np.tanh(x.vals @ w.vals) ** 2)  # the analytic backward of tanh(x w)
    assert cs231n_rel_error(dx, da @ w.vals.T) < 1e-8 and cs231n_rel_error(dw, x.vals.T @ da) < 1e-8


def test_eval_numerical_gradient_net_is_cs231n(capsys):
    """f = net.forward(): the blobs are the net's own, perturbed in place; the net reads them itself."""

    def through_net(helper: Callable[..., Any]) -> Callable[..., Any]:
        def call(recorder: Recorder, inputs: tuple[Blob, ...], output: Blob) -> Any:
            net = recorder.f.__self__  # the case's net; its forward now goes through the recorder
            net.forward = recorder
            return helper(net, inputs, output)

        return call

    mine = run(through_net(cs231n.eval_numerical_gradient_net), blob_case(True), capsys)
    theirs = run(through_net(ref_eval_numerical_gradient_net), blob_case(True), capsys)
    assert_same_run(mine, theirs)
    assert len(mine.calls.seen) == 40 and ours(mine.warnings) == []


# ------------------------------------------------------------------------------ what cs231n leaves silent


@pytest.mark.parametrize("which", ["scalar", "array", "sparse", "blobs"])
@pytest.mark.parametrize("also_writes", [False, True])
def test_x_left_exactly_as_it_was_when_f_raises(which, also_writes):
    x = _rng().standard_normal((3, 4))
    before = x.copy()
    calls = []

    def failing(v):
        calls.append(1)
        if also_writes:
            v[0, 0] = 99.0  # f writes into x, then raises: the dense helpers undo that too
        if len(calls) == 6:
            raise RuntimeError("boom")
        return v * 2 if which == "array" else float(np.sum(v))

    with warnings.catch_warnings(record=True), pytest.raises(RuntimeError, match="boom"):
        warnings.simplefilter("always")
        if which == "scalar":
            cs231n.eval_numerical_gradient(failing, x, verbose=False)
        elif which == "array":
            cs231n.eval_numerical_gradient_array(failing, x, np.ones((3, 4)))
        elif which == "sparse":
            random.seed(1)
            cs231n.grad_check_sparse(failing, x, np.zeros_like(x), num_checks=5)
        else:
            blob, out = Blob(x), Blob(np.zeros((3, 4)), np.ones((3, 4)))

            def f(b, o):
                o.vals = failing(b.vals) * np.ones((3, 4))

            cs231n.eval_numerical_gradient_blobs(f, (blob,), out)
    if which == "sparse" and also_writes:
        # 2 * num_checks calls are too few to pay for a copy of x: its own perturbation is undone, f's write
        # stays (as with cs231n) and is reported.
        expected = before.copy()
        expected[0, 0] = 99.0
        np.testing.assert_array_equal(x, expected)
    else:
        np.testing.assert_array_equal(x, before)
    assert len(calls) == 6


def in_place_softmax_case() -> dict[str, Any]:
    rng = _rng()
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)
    return {"f": lambda v: softmax_loss_in_place(v, y), "args": (None, x), "y": y}


@pytest.mark.parametrize("helper", ["scalar", "array", "sparse"])
def test_f_writing_into_its_input_is_reported_with_the_call(helper, capsys):
    """A softmax written `x -= max`: cs231n's numbers (a large error), and one warning naming the call."""
    if helper == "scalar":
        mine_fn, ref_fn = (lambda f, x: cs231n.eval_numerical_gradient(f, x, verbose=False),
                           lambda f, x: ref_eval_numerical_gradient(f, x, verbose=False))
        case = in_place_softmax_case
    elif helper == "array":
        def case() -> dict[str, Any]:
            built = in_place_softmax_case()
            y = built["y"]
            built["f"] = lambda v: np.array([softmax_loss_in_place(v, y)])
            built["args"] = (None, built["args"][1], 1.0)
            return built

        mine_fn, ref_fn = cs231n.eval_numerical_gradient_array, ref_eval_numerical_gradient_array
    else:
        def case() -> dict[str, Any]:
            built = in_place_softmax_case()
            x = built["args"][1]
            built["args"] = (None, x, softmax_loss(x, built["y"])[1])
            return built

        mine_fn, ref_fn = cs231n.grad_check_sparse, ref_grad_check_sparse
    mine = run(mine_fn, case, capsys)
    theirs = run(ref_fn, case, capsys)
    assert_same_arrays(mine.result, theirs.result)  # the numbers are cs231n's: the bug shows as it does there
    assert mine.printed == theirs.printed
    for a, b in zip(mine.calls.seen, theirs.calls.seen, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
    if helper != "sparse":
        analytic = softmax_loss(case()["args"][1], case()["y"])[1]
        assert cs231n_rel_error(mine.result, analytic) > 1e-3
    messages = [m for m in ours(mine.warnings) if "changed its input" in m]
    assert len(messages) == 1
    first = theirs.calls.first_change()  # the call that first changed x, seen independently in cs231n's loop
    assert first is not None
    assert f"during call {first} of f" in messages[0]
    seen, left = theirs.calls.seen[first - 1][0], theirs.calls.left[first - 1][0]
    row, col = (int(i) for i in re.search(r"x\[(\d+), (\d+)\]", messages[0]).groups())
    assert seen[row, col] != left[row, col]  # the entry it names is one that call changed
    original = case()["args"][1]
    if helper == "sparse":
        np.testing.assert_array_equal(mine.x[0], theirs.x[0])  # left as f left it, as cs231n, and said so
        assert "left as f left it" in messages[0]
    else:
        np.testing.assert_array_equal(mine.x[0], original)  # put back; cs231n's loop leaves it shifted
        assert not np.array_equal(theirs.x[0], original) and "put back" in messages[0]


@pytest.mark.parametrize("helper", ["scalar", "array"])
@pytest.mark.parametrize(("edge", "step"), [(0.0, "-h"), (1.0, "+h")])
def test_an_in_place_clip_is_named_on_the_call_that_moved_the_perturbed_entry(helper, edge, step, capsys):
    """x inside (0, 1) but for two entries on an edge: only the step across the edge makes f write into x."""

    def clip_in_place(v):
        np.clip(v, 0.0, 1.0, out=v)
        return v.copy() if helper == "array" else float(np.sum(v**2))

    def case() -> dict[str, Any]:
        x = _rng().uniform(0.1, 0.9, (3, 4))
        x[1, 2] = x[2, 0] = edge
        return {"f": clip_in_place, "args": (None, x) if helper == "scalar" else (None, x, np.ones((3, 4)))}

    helpers = {"scalar": (lambda f, x: cs231n.eval_numerical_gradient(f, x, verbose=False),
                          lambda f, x: ref_eval_numerical_gradient(f, x, verbose=False)),
               "array": (cs231n.eval_numerical_gradient_array, ref_eval_numerical_gradient_array)}
    mine = run(helpers[helper][0], case, capsys)
    theirs = run(helpers[helper][1], case, capsys)
    assert_same_run(mine, theirs)
    first = theirs.calls.first_change()
    # x[1, 2] comes after 6 entries; +1 for the unperturbed first call of the scalar helper
    assert first == 2 * 6 + (1 if step == "+h" else 2) + (1 if helper == "scalar" else 0)
    messages = [m for m in ours(mine.warnings) if "changed its input" in m]
    assert len(messages) == 1 and f"during call {first} of f (the call at x[1, 2] {step})" in messages[0]
    np.testing.assert_array_equal(mine.x[0], case()["args"][1])


def test_grad_check_sparse_names_the_call_that_moved_the_perturbed_entry(capsys):
    def case() -> dict[str, Any]:
        def clip_in_place(v):
            np.clip(v, 0.0, 1.0, out=v)  # x is all 0: every x[ix] - h is pulled back to 0
            return float(np.sum(v**2))

        return {"f": clip_in_place, "args": (None, np.zeros((3, 4)), np.zeros((3, 4))), "kwargs": {"num_checks": 3}}

    with np.errstate(invalid="ignore"):  # 0 / 0 in cs231n's relative error, in both loops
        mine = run(cs231n.grad_check_sparse, case, capsys, seed=7)
        theirs = run(ref_grad_check_sparse, case, capsys, seed=7)
    assert_same_run(mine, theirs)
    assert theirs.calls.first_change() == 2
    messages = [m for m in ours(mine.warnings) if "changed its input" in m]
    assert len(messages) == 1 and re.search(r"during call 2 of f \(the call at x\[\d, \d\] -h\)", messages[0])


def test_blobs_f_writing_into_an_input_blob_is_named_with_the_blob_and_the_call(capsys):
    def case() -> dict[str, Any]:
        rng = _rng()
        x, w = Blob(rng.standard_normal((3, 4))), Blob(rng.standard_normal((4, 2)))
        out = Blob(np.zeros((3, 2)), rng.standard_normal((3, 2)))

        def f(x_blob: Blob, w_blob: Blob, out_blob: Blob) -> None:
            w_blob.vals *= 1.5  # a forward that scales a weight blob in place: writes into the second input
            out_blob.vals = x_blob.vals @ w_blob.vals

        return {"f": f, "args": (None, (x, w), out), "watched": lambda: [x.vals, w.vals]}

    mine = run(cs231n.eval_numerical_gradient_blobs, case, capsys)
    theirs = run(ref_eval_numerical_gradient_blobs, case, capsys)
    assert_same_arrays(mine.result, theirs.result)  # cs231n's numbers
    assert theirs.calls.first_change() == 1
    messages = [m for m in ours(mine.warnings) if "changed its input" in m]
    assert len(messages) == 1 and "changed its input inputs[1].vals during call 1 of f" in messages[0]
    built = case()
    for now, original in zip(mine.x, built["watched"](), strict=True):
        np.testing.assert_array_equal(now, original)  # both blobs put back


def test_a_write_elsewhere_at_a_later_call_is_caught_at_the_end():
    x = _rng().standard_normal((3, 4))
    before = x.copy()
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 7:  # writes an entry that is not the one being perturbed at that call
            v[2, 3] = 0.0
        return float(np.sum(v**2))

    with pytest.warns(UserWarning, match=r"one of calls 2 to 25 of f.*x\[2, 3\]") as record:
        cs231n.eval_numerical_gradient(f, x, verbose=False)
    assert len([w for w in record if "changed its input" in str(w.message)]) == 1
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("helper", ["scalar", "array", "blobs"])
def test_nan_entries_returned_with_one_warning_naming_the_first(helper, capsys):
    def build() -> dict[str, Any]:
        x = np.abs(_rng().standard_normal((3, 4)))
        x[[0, 2, 2], [3, 0, 1]] = 0.0  # sqrt(0 - h) is nan: nan exactly at these three entries, first (0, 3)

        def f(v):
            with np.errstate(invalid="ignore"):
                return np.sqrt(v) if helper != "scalar" else float(np.sum(np.sqrt(v)))
        if helper == "scalar":
            return {"f": f, "args": (None, x)}
        if helper == "array":
            return {"f": f, "args": (None, x, np.ones((3, 4)))}
        blob, out = Blob(x), Blob(np.zeros((3, 4)), np.ones((3, 4)))

        def g(b, o):
            o.vals = f(b.vals)

        return {"f": g, "args": (None, (blob,), out), "watched": lambda: [blob.vals]}

    helpers = {"scalar": (lambda f, x: cs231n.eval_numerical_gradient(f, x, verbose=False),
                          lambda f, x: ref_eval_numerical_gradient(f, x, verbose=False)),
               "array": (cs231n.eval_numerical_gradient_array, ref_eval_numerical_gradient_array),
               "blobs": (cs231n.eval_numerical_gradient_blobs, ref_eval_numerical_gradient_blobs)}
    mine = run(helpers[helper][0], build, capsys)
    theirs = run(helpers[helper][1], build, capsys)
    assert_same_run(mine, theirs)
    grad = theirs.result[0] if helper == "blobs" else theirs.result
    x = build()["watched"]()[0] if helper == "blobs" else build()["args"][1]
    np.testing.assert_array_equal(np.argwhere(np.isnan(grad)), [[0, 3], [2, 0], [2, 1]])
    messages = [m for m in ours(mine.warnings) if "nan or inf" in m]
    assert len(messages) == 1
    assert "at 3 of 12 entries" in messages[0] and "the first at " in messages[0] and "[0, 3]" in messages[0]
    assert x.shape == (3, 4)


def test_grad_check_sparse_nan_prints_as_cs231n_and_warns_once(capsys):
    def build() -> dict[str, Any]:
        x = -np.ones((2, 3))
        def f(v):
            with np.errstate(invalid="ignore"):
                return np.sum(np.sqrt(v))
        return {"f": f, "args": (None, x, np.ones((2, 3))), "kwargs": {"num_checks": 4}}

    mine = run(cs231n.grad_check_sparse, build, capsys, seed=3)
    theirs = run(ref_grad_check_sparse, build, capsys, seed=3)
    assert_same_run(mine, theirs)
    assert "numerical: nan" in mine.printed
    messages = [m for m in ours(mine.warnings) if "nan or inf" in m]
    assert len(messages) == 1 and "check 1 of 4" in messages[0]


def test_float32_x_gives_float32_gradients_bit_for_bit(capsys):
    case = case_relu(dtype=np.float32)
    mine = run(cs231n.eval_numerical_gradient_array, case, capsys)
    theirs = run(ref_eval_numerical_gradient_array, case, capsys)
    assert_same_run(mine, theirs)
    assert mine.result.dtype == np.float32
    assert any("float32" in m for m in ours(mine.warnings))  # about 1e-2 at best: said, not refused
    scalar = scalar_case("softmax")

    def as32() -> dict[str, Any]:
        built = scalar()
        built["args"] = (None, built["args"][1].astype(np.float32))
        return built

    mine = run(lambda f, x: cs231n.eval_numerical_gradient(f, x, verbose=True), as32, capsys)
    theirs = run(lambda f, x: ref_eval_numerical_gradient(f, x, verbose=True), as32, capsys)
    assert_same_run(mine, theirs)
    assert mine.result.dtype == np.float32


def test_float32_steps_are_taken_in_float32_as_cs231n_does(capsys):
    """x[ix] + h on a float32 entry rounds in float32 (numpy's scalar rules), not via a double: at h = 0.1
    the two roundings differ on some entries, and the numbers must still be cs231n's to the bit."""

    def case() -> dict[str, Any]:
        x = _rng().standard_normal((20, 10)).astype(np.float32)
        return {"f": lambda v: v * v, "args": (None, x, np.ones((20, 10), np.float32)), "kwargs": {"h": 0.1}}

    mine = run(cs231n.eval_numerical_gradient_array, case, capsys)
    theirs = run(ref_eval_numerical_gradient_array, case, capsys)
    assert_same_run(mine, theirs)
    x = case()["args"][1]
    via_double = (x.astype(np.float64) + 0.1).astype(np.float32)
    assert (np.array([v + 0.1 for v in x.ravel()], dtype=np.float32) != via_double.ravel()).any()


def test_scalar_df_broadcasts_and_a_larger_df_is_warned(capsys):
    x = _rng().standard_normal((4, 3))
    scalar = cs231n.eval_numerical_gradient_array(relu_forward, x, 2.0)
    np.testing.assert_array_equal(scalar, ref_eval_numerical_gradient_array(relu_forward, x.copy(), 2.0))
    np.testing.assert_allclose(scalar, 2.0 * (x > 0), rtol=1e-8)
    wide_df = np.arange(12.0).reshape(4, 1, 3)
    with pytest.warns(UserWarning, match=r"df has shape \(4, 1, 3\).*\(4, 3\)"):
        wide = cs231n.eval_numerical_gradient_array(relu_forward, x, wide_df)
    np.testing.assert_array_equal(wide, ref_eval_numerical_gradient_array(relu_forward, x.copy(), wide_df))


# --------------------------------------------------------------------------------------------- rel_error


def test_rel_error_is_the_notebooks_definition():
    rng = _rng()
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = cs231n.rel_error(a, b)
    assert type(value) is np.float64 and value == cs231n_rel_error(a, b)
    assert cs231n.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert cs231n.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert cs231n.rel_error(np.array([0.0]), np.array([1e-9])) == pytest.approx(1e-9 / 1e-8)  # the 1e-8 floor


def test_rel_error_broadcasts_like_numpy_and_warns():
    a = np.array([1.0, -2.0, 3.0, -4.0, 5.0])
    with pytest.warns(UserWarning, match=r"\(5, 1\).*\(5,\)"):
        value = cs231n.rel_error(a.reshape(5, 1), a)
    assert value == cs231n_rel_error(a.reshape(5, 1), a) == 1.0  # opposite signs meet across the broadcast
    with pytest.warns(RuntimeWarning, match="nan"):
        assert np.isnan(cs231n.rel_error(np.array([np.nan]), np.array([1.0])))


# ------------------------------------------------------------------------------------- names and the door


def test_star_import_hands_out_what_cs231n_file_does():
    """cs231n's file has no __all__: `*` gives its public names, imports included, and no rel_error."""
    namespace: dict[str, Any] = {}
    exec("from toynet.exercises.cs231n import *", namespace)  # noqa: S102
    names = {n for n in namespace if not n.startswith("_")}
    # seed 000: `from __future__ import print_function`, `from builtins import range`, `import numpy as np`,
    # `from random import randrange`, and the five functions it defines
    assert names == {"print_function", "range", "np", "randrange", "eval_numerical_gradient",
                     "eval_numerical_gradient_array", "eval_numerical_gradient_blobs", "eval_numerical_gradient_net",
                     "grad_check_sparse"}
    assert namespace["np"] is np and namespace["randrange"] == random.randrange and namespace["range"] is range


def test_signatures_are_cs231n():
    expected = {
        "eval_numerical_gradient": "(f, x, verbose=True, h=1e-05)",
        "eval_numerical_gradient_array": "(f, x, df, h=1e-05)",
        "eval_numerical_gradient_blobs": "(f, inputs, output, h=1e-05)",
        "eval_numerical_gradient_net": "(net, inputs, output, h=1e-05)",
        "grad_check_sparse": "(f, x, analytic_grad, num_checks=10, h=1e-05)",
    }
    for name, signature in expected.items():
        parameters = inspect.signature(getattr(cs231n, name)).parameters.values()
        shown = "(" + ", ".join(p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in parameters) + ")"
        assert shown == signature


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        ([1.0, 2.0], TypeError, "numpy array"),
        (np.arange(4), TypeError, "floating"),
        (np.zeros((0, 3)), ValueError, "no entries"),
    ],
)
def test_bad_x_refused_before_f_is_called(x, error, match):
    called = []
    with pytest.raises(error, match=match):
        cs231n.eval_numerical_gradient(lambda v: called.append(1) or 0.0, x, verbose=False)
    assert called == []


def test_read_only_x_bad_step_and_misshaped_analytic_grad_refused():
    x = np.ones(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        cs231n.eval_numerical_gradient_array(lambda v: v, x, 1.0)
    with pytest.raises(ValueError, match="h must be a positive"):
        cs231n.eval_numerical_gradient(lambda v: 0.0, np.ones(3), h=0)
    with pytest.raises(ValueError, match=r"shape of x, \(3, 4\).*\(12,\)"):
        cs231n.grad_check_sparse(lambda v: 0.0, np.ones((3, 4)), np.ones(12))
