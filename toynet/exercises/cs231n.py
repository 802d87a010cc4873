"""cs231n's `cs231n/gradient_check.py`, as a drop-in: a notebook swaps the import and nothing else changes.

Observably the same as cs231n's file: the same signatures, return values (`grad_check_sparse` returns None),
printed lines in the same order, calls of f in the same order on the same points (`eval_numerical_gradient`
first evaluates f once at the unperturbed x, which a stateful f such as batch norm's running averages sees),
the same numbers to the bit (the same float operations on the same operands), the dtype of `np.zeros_like(x)`,
numpy's broadcasting of `df`, and the same names handed out by `from ... import *` (cs231n's file has no
`__all__`, so `*` gives every public name it binds, its imports included, and not `rel_error`, which the
notebooks define themselves). toynet's richer checks (verdicts, error bars, network forms) are in
`toynet.gradcheck`.

What cs231n leaves silent is said, never changed in the numbers:
- x is left exactly as it was, even when f raises: the helpers perturb one entry of x in place and put it
  back, as cs231n does; the dense helpers also undo anything f itself wrote into x;
- an f that writes into its own input (a softmax written `x -= x.max()`) is reported: one UserWarning naming
  the call of f and the entries it changed. The numbers stay cs231n's (a moving point, a large error);
- entries of the gradient that are nan or inf are returned as cs231n returns them, with one RuntimeWarning
  naming the first;
- a float16/float32 x works (its gradient has its dtype, as with cs231n) with a RuntimeWarning: central
  differences at h = 1e-5 in float32 are only good to about 1e-2;
- arguments that cs231n would turn into a silent wrong answer (a list or integer x, a read-only x, an
  analytic_grad of another shape) are refused with a clear error before f is called.

How an f that writes into x is caught, at O(1) extra work per call of f (no copy of x per call):
1. after every call, the entry being perturbed is read back and compared with the value the helper wrote there.
   In-place code over the whole array (`x -= x.max()`, `x *= 2`, `np.clip(x, lo, hi, out=x)`) changes that
   entry too, so it is named on the very call that did it (with the entries of x that differ at that point);
2. the dense helpers (eval_numerical_gradient, _array, _blobs: O(n) calls of f) copy x once on entry and compare
   all of x with that copy after the first call of f and at the end (O(n) twice, amortised O(1) per call).
   The first comparison names an f that writes elsewhere in x on every call at call 1; the last catches a write
   elsewhere at a later call, named by its entries and the calls it happened between. x is then put back.
grad_check_sparse makes only 2 * num_checks calls, so a copy of x would cost more than the check itself: it
does step 1 and leaves x as f left it (as cs231n does), saying so.

    from toynet.exercises.cs231n import eval_numerical_gradient, eval_numerical_gradient_array
    dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
    print(rel_error(dx_num, dx))                  # ~1e-7 or less: right; 1e-2 or more: wrong
"""

from __future__ import annotations, print_function  # noqa: UP010  (cs231n's `*` exports print_function)

import itertools
import warnings
from builtins import range  # noqa: UP029  (cs231n's `*` exports range)
from collections.abc import Callable, Iterable, Iterator, Sequence
from random import randrange
from typing import Any, Protocol

import numpy as np

# What `from cs231n.gradient_check import *` binds: every public name of cs231n's file, imports included.
__all__ = [
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "eval_numerical_gradient_blobs",
    "eval_numerical_gradient_net",
    "grad_check_sparse",
    "np",
    "print_function",
    "randrange",
    "range",
]


class Blob(Protocol):
    """cs231n's blob: values `.vals` and the gradient `.diffs` of the same shape."""

    vals: np.ndarray
    diffs: np.ndarray


class Net(Protocol):
    """What eval_numerical_gradient_net needs: forward() recomputes the output blob from the input blobs."""

    def forward(self) -> Any: ...


def rel_error(x: Any, y: Any) -> Any:
    """The notebooks' max(|x - y| / max(1e-8, |x| + |y|)), with numpy's semantics (np.float64 for float64 input).

    Inputs of different shapes are broadcast as numpy does ((5, 1) against (5,) compares every pair), with a
    warning; a nan result is returned with a warning. Not exported by `*`: cs231n's file does not define it.
    """
    if np.shape(x) != np.shape(y):
        warnings.warn(
            f"rel_error: x has shape {np.shape(x)} and y has shape {np.shape(y)}; numpy broadcasts them against "
            f"each other, so entries that do not correspond are compared",
            UserWarning,
            stacklevel=2,
        )
    error = np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
    if error != error:
        warnings.warn("rel_error is nan: x or y holds nan (or inf)", RuntimeWarning, stacklevel=2)
    return error


def eval_numerical_gradient(
    f: Callable[[np.ndarray], Any], x: np.ndarray, verbose: bool = True, h: float = 0.00001
) -> np.ndarray:
    """df/dx by central differences, (f(x + h e_i) - f(x - h e_i)) / 2h, for every index i of x.

    f: scalar function, called on x itself (it may ignore its argument and read x through shared state);
    first once at x, then at x[i] + h and x[i] - h for each index in np.nditer's order. x: float array of any
    shape, perturbed in place. Returns grad, np.zeros_like(x) filled in; verbose prints `ix grad[ix]` as each
    entry is computed.
    """
    _check_function(f)
    _check_point("x", x)
    _check_step(h)
    watch = _Watch("x", x, keep_copy=True)
    grad = np.zeros_like(x)
    target, grad_target, keys, read, locate = _walk(x, grad, verbose, h)
    two_h = 2 * h  # cs231n divides by (2 * h) each time: the same double
    try:
        f(x)  # cs231n evaluates f at the unperturbed x first; a stateful f sees this call
        watch.check_all(call=1, where="at the unperturbed x")
        for key in keys:
            old = read(key)
            plus = old + h
            target[key] = plus
            fxph = f(x)
            if read(key) != plus:
                index, position = locate(key)
                watch.check_entry(index, plus, 2 * position + 2, "+h")
            minus = old - h
            target[key] = minus
            fxmh = f(x)
            if read(key) != minus:
                index, position = locate(key)
                watch.check_entry(index, minus, 2 * position + 3, "-h")
            target[key] = old
            grad_target[key] = (fxph - fxmh) / two_h
            if verbose:
                print(key, grad[key])
    except BaseException:
        watch.restore(stacklevel=3)
        raise
    watch.finish(stacklevel=3, calls=2 * x.size + 1)
    _warn_non_finite(grad, x, "x", stacklevel=3)
    return grad


def eval_numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, df: Any, h: float = 1e-5
) -> np.ndarray:
    """The gradient reaching x through an array-valued f: sum((f(x + h e_i) - f(x - h e_i)) * df) / 2h.

    f: array function of x (called on x itself, twice per index, np.nditer's order); x: float array perturbed
    in place; df: the upstream gradient, broadcast against f(x) as numpy does (a scalar works). Returns dx,
    np.zeros_like(x) filled in.
    """
    _check_function(f)
    _check_point("x", x)
    _check_step(h)
    watch = _Watch("x", x, keep_copy=True)
    grad = np.zeros_like(x)
    target, grad_target, keys, read, locate = _walk(x, grad, False, h)
    two_h = 2 * h
    pos: Any = None
    first_call = True
    try:
        for key in keys:
            old = read(key)
            plus = old + h
            target[key] = plus
            pos = f(x).copy()
            if read(key) != plus:
                index, position = locate(key)
                watch.check_entry(index, plus, 2 * position + 1, "+h")
            if first_call:
                first_call = False
                index = locate(key)[0]
                watch.check_all(call=1, where=f"at {_at('x', index)} + h", index=index, expected=plus)
            minus = old - h
            target[key] = minus
            neg = f(x).copy()
            if read(key) != minus:
                index, position = locate(key)
                watch.check_entry(index, minus, 2 * position + 2, "-h")
            target[key] = old
            grad_target[key] = np.sum((pos - neg) * df) / two_h
    except BaseException:
        watch.restore(stacklevel=3)
        raise
    watch.finish(stacklevel=3, calls=2 * x.size)
    _warn_broadcast("df", df, pos, stacklevel=3)
    _warn_non_finite(grad, x, "x", stacklevel=3)
    return grad


def eval_numerical_gradient_blobs(
    f: Callable[..., Any], inputs: Sequence[Blob], output: Blob, h: float = 1e-5
) -> list[np.ndarray]:
    """Numerical gradients for f(*inputs, output), which writes its result into output.vals.

    inputs: blobs whose .vals are perturbed in place, one blob after the other, each in np.nditer's order;
    output: a blob whose .diffs is the upstream gradient. Returns one array per input blob,
    np.zeros_like(blob.diffs) filled with sum((out(+h) - out(-h)) * output.diffs) / 2h.
    """
    return _blobs(f, inputs, output, h, stacklevel=3)


def eval_numerical_gradient_net(net: Net, inputs: Sequence[Blob], output: Blob, h: float = 1e-5) -> list[np.ndarray]:
    """eval_numerical_gradient_blobs with f = net.forward(): the net reads its input blobs and fills output."""
    return _blobs(lambda *args: net.forward(), inputs, output, h, stacklevel=3)


def grad_check_sparse(
    f: Callable[[np.ndarray], Any], x: np.ndarray, analytic_grad: Any, num_checks: int = 10, h: float = 1e-5
) -> None:
    """Print numerical against analytic gradient at num_checks random indices of x; returns None, as cs231n.

    Indices are drawn with Python's global `random.randrange`, one per axis (so `random.seed` repeats them);
    each check calls f at x[ix] + h and x[ix] - h and prints
    `numerical: %f analytic: %f, relative error: %e` with |n - a| / (|n| + |a|) computed as cs231n does.
    """
    _check_function(f)
    _check_point("x", x)
    _check_step(h)
    if getattr(analytic_grad, "shape", None) != x.shape and np.shape(analytic_grad) != x.shape:
        raise ValueError(f"analytic_grad must have the shape of x, {x.shape}, but has shape {np.shape(analytic_grad)}")
    # 2 * num_checks calls of f: too few to pay for a copy of x, so only the read-back of the perturbed entry
    # (its watch is made when a read-back differs); float64 entries are read as Python floats (see _walk)
    watch: _Watch | None = None
    read: Callable[[Any], Any] = x.item if x.dtype == np.float64 and type(h) in (float, int) else x.__getitem__
    first_non_finite: tuple[int, tuple[int, ...]] | None = None
    for i in range(num_checks):
        ix = tuple([randrange(m) for m in x.shape])
        oldval = read(ix)
        try:
            plus = oldval + h
            x[ix] = plus
            fxph = f(x)
            if read(ix) != plus:
                watch = watch or _Watch("x", x, keep_copy=False)
                watch.check_entry(ix, plus, 2 * i + 1, "+h")
            minus = oldval - h
            x[ix] = minus
            fxmh = f(x)
            if read(ix) != minus:
                watch = watch or _Watch("x", x, keep_copy=False)
                watch.check_entry(ix, minus, 2 * i + 2, "-h")
        except BaseException:
            x[ix] = oldval
            if watch is not None:
                watch.report(stacklevel=3)
            raise
        x[ix] = oldval
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        rel_error = abs(grad_numerical - grad_analytic) / (abs(grad_numerical) + abs(grad_analytic))
        # %-formatting, not an f-string: it is cs231n's, and it also formats a size-1 array that f may return
        print("numerical: %f analytic: %f, relative error: %e" % (grad_numerical, grad_analytic, rel_error))  # noqa: UP031
        # a nan or inf numerical gradient makes the relative error nan (so does 0 / 0: told apart here)
        if rel_error != rel_error and first_non_finite is None and grad_numerical - grad_numerical != 0:
            first_non_finite = (i, ix)
    if watch is not None:
        watch.report(stacklevel=3)
    if first_non_finite is not None:
        check, ix = first_non_finite
        warnings.warn(
            f"the numerical gradient is nan or inf at check {check + 1} of {num_checks}, {_at('x', ix)}: "
            f"f returned nan or inf around that point",
            RuntimeWarning,
            stacklevel=2,
        )


# ------------------------------------------------------------------------------------------------- blobs


def _blobs(f: Callable[..., Any], inputs: Sequence[Blob], output: Blob, h: float, stacklevel: int) -> list[np.ndarray]:
    """eval_numerical_gradient_blobs; stacklevel points warnings at the caller's line."""
    _check_function(f)
    _check_step(h)
    inputs = tuple(inputs)
    if not hasattr(output, "diffs"):
        raise TypeError(f"output must be a blob with .vals and .diffs, but got {type(output).__name__}")
    for number, blob in enumerate(inputs):
        if not hasattr(blob, "vals") or not hasattr(blob, "diffs"):
            raise TypeError(f"inputs[{number}] must be a blob with .vals and .diffs, but got {type(blob).__name__}")
        _check_point(f"inputs[{number}].vals", blob.vals, stacklevel=stacklevel + 1)
        if np.shape(blob.diffs) != blob.vals.shape:
            raise ValueError(
                f"inputs[{number}].diffs must have the shape of inputs[{number}].vals, {blob.vals.shape}, "
                f"but has shape {np.shape(blob.diffs)}"
            )
    # Input blobs that share memory move together when one is perturbed: only the per-call entry check applies.
    shared = any(np.may_share_memory(a.vals, b.vals) for a, b in itertools.combinations(inputs, 2))
    watches = [_Watch(f"inputs[{n}].vals", blob.vals, keep_copy=not shared) for n, blob in enumerate(inputs)]
    arguments = inputs + (output,)
    numeric_diffs = []
    calls = 0
    pos: Any = None
    try:
        for number, input_blob in enumerate(inputs):
            watch = watches[number]
            diff = np.zeros_like(input_blob.diffs)
            it = np.nditer(input_blob.vals, flags=["multi_index"], op_flags=["readwrite"])
            while not it.finished:
                idx = it.multi_index
                orig = input_blob.vals[idx]
                plus = orig + h
                input_blob.vals[idx] = plus
                f(*arguments)
                if input_blob.vals[idx] != plus:
                    watch.check_entry(idx, plus, calls + 1, "+h")
                if calls == 0:
                    for other in watches:
                        at = (idx, plus) if other is watch else (None, None)
                        other.check_all(call=1, where=f"at {_at(watch.name, idx)} + h", index=at[0], expected=at[1])
                pos = np.copy(output.vals)
                minus = orig - h
                input_blob.vals[idx] = minus
                f(*arguments)
                if input_blob.vals[idx] != minus:
                    watch.check_entry(idx, minus, calls + 2, "-h")
                neg = np.copy(output.vals)
                input_blob.vals[idx] = orig
                calls += 2
                diff[idx] = np.sum((pos - neg) * output.diffs) / (2.0 * h)
                it.iternext()
            numeric_diffs.append(diff)
    except BaseException:
        for watch in watches:
            watch.restore(stacklevel=stacklevel + 1)
        raise
    for watch in watches:
        watch.finish(stacklevel=stacklevel + 1, calls=calls)
    _warn_broadcast("output.diffs", output.diffs, pos, stacklevel=stacklevel + 1)
    for number, (blob, diff) in enumerate(zip(inputs, numeric_diffs, strict=True)):
        if _warn_non_finite(diff, blob.vals, f"inputs[{number}].vals", stacklevel=stacklevel + 1):
            break  # one warning per check
    return numeric_diffs


# ------------------------------------------------------------------------------------------ walking x


def _walk(
    x: np.ndarray, grad: np.ndarray, by_index: bool, h: float
) -> tuple[np.ndarray, np.ndarray, Iterable[Any], Callable[[Any], Any], Callable[[Any], tuple[tuple[int, ...], int]]]:
    """How to visit x's entries in cs231n's order, np.nditer's (memory order, order='K').

    Returns (target, grad_target, keys, read, locate): the loop writes target[key] and grad_target[key] and
    reads an entry back with read(key); locate(key) gives (the multi-index, the position in the visit) for
    a message. A C-contiguous ndarray is visited in C order: through a flat view with int keys (the
    cheapest indexing) unless the loop prints multi-indices. A float64 x with a Python-number h is read as
    Python floats: the same IEEE doubles (old + h is the same sum), cheaper than numpy scalars; other dtypes
    keep numpy scalars, whose arithmetic in x's dtype is cs231n's.
    """
    target, grad_target = x, grad
    keys: Iterable[Any]
    locate: Callable[[Any], tuple[tuple[int, ...], int]]
    contiguous = type(x) is np.ndarray and x.flags.c_contiguous and grad.flags.c_contiguous
    if contiguous and not by_index:
        target, grad_target, keys = x.reshape(-1), grad.reshape(-1), range(x.size)
        locate = lambda key: (_unravel(key, x.shape), key)  # noqa: E731
    elif contiguous:
        keys = itertools.product(*[range(n) for n in x.shape])
        locate = lambda key: (key, int(np.ravel_multi_index(key, x.shape)) if key else 0)  # noqa: E731
    else:
        keys = _nditer_order(x)
        locate = lambda key: (key, next(p for p, ix in enumerate(_nditer_order(x)) if ix == key))  # noqa: E731
    python_floats = x.dtype == np.float64 and type(h) in (float, int)
    read: Callable[[Any], Any] = target.item if python_floats else target.__getitem__
    return target, grad_target, keys, read, locate


def _nditer_order(x: np.ndarray) -> Iterator[tuple[int, ...]]:
    """The multi-indices of x in the order cs231n's np.nditer loop visits them."""
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        yield it.multi_index
        it.iternext()


def _at(name: str, index: Sequence[Any]) -> str:
    """x[0, 2]: an entry named as a student indexes it."""
    return f"{name}[{', '.join(str(int(i)) for i in index)}]" if len(index) else f"{name}[()]"


def _unravel(position: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The C-order multi-index of a flat position (np.unravel_index, without its fixed cost)."""
    index = []
    for n in reversed(shape):
        position, i = divmod(position, n)
        index.append(i)
    return tuple(reversed(index))


def _first_in_order(mask: np.ndarray, x: np.ndarray) -> tuple[int, ...]:
    """The first multi-index, in cs231n's visiting order of x, where mask (shaped like x) is True."""
    if type(x) is np.ndarray and x.flags.c_contiguous:
        return _unravel(int(np.flatnonzero(mask)[0]), x.shape)
    return next(ix for ix in _nditer_order(x) if mask[ix])


# ------------------------------------------------------------------------------------------ catching f


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entrywise a == b, with nan equal to nan (an entry that was nan and still is was not changed)."""
    same = np.asarray(a == b)
    if not same.all():
        same |= (a != a) & (b != b)
    return same


class _Watch:
    """Catches an f that writes into the array a helper perturbs (the design is in the module docstring).

    check_entry runs only when the per-call read-back differed; check_all runs after the first call; finish
    compares all of the array with its copy at the end and puts it back; the first finding is reported once.
    """

    def __init__(self, name: str, array: np.ndarray, keep_copy: bool) -> None:
        self.name, self.array = name, array
        self.before = array.copy() if keep_copy else None
        self.finding: str | None = None
        self.last_full_check = 0

    def check_entry(self, index: tuple[int, ...], expected: Any, call: int, step: str) -> None:
        """After call `call` of f, array[index] differs from `expected`, the value the helper wrote there."""
        found = self.array[index]
        expected = self.array.dtype.type(expected)  # what the array holds of it (numpy 1.x widens float32 sums)
        if self.finding is not None or _equal(np.asarray(found), np.asarray(expected)).all():
            return
        entry = _at(self.name, index)
        self.finding = (
            f"f changed its input {self.name} during call {call} of f (the call at {entry} {step}): "
            f"{entry} held {found} after it, where the check had put {expected}"
        )
        if self.before is not None:
            changed = ~_equal(self.array, self.before)
            changed[index] = True
            self.finding += "; at that point " + self._list(changed)

    def check_all(self, call: int, where: str, index: tuple[int, ...] | None = None, expected: Any = None) -> None:
        """Compare all of the array with its copy after call `call` (array[index] should hold `expected`)."""
        self.last_full_check = call
        if self.before is None or self.finding is not None:
            return
        same = np.asarray(self.array == self.before)
        if index is not None:
            same[index] = self.array[index] == expected
        if same.all():
            return
        changed = ~_equal(self.array, self.before)  # the careful comparison: nan that stayed nan is the same
        if index is not None:
            changed[index] = not _equal(np.asarray(self.array[index]), np.asarray(self.array.dtype.type(expected)))
        if changed.any():
            self.finding = f"f changed its input {self.name} during call {call} of f ({where}): " + self._list(changed)

    def restore(self, stacklevel: int) -> None:
        """f raised: put the array back as it was and report what f had changed before it raised."""
        if self.before is not None:
            self.finish(stacklevel + 1)
        else:
            self.report(stacklevel + 1)

    def finish(self, stacklevel: int, calls: int | None = None) -> None:
        """Compare all of the array with its copy, put it back if f changed it, and report the first finding.

        calls: how many calls of f there were (None when f raised).
        """
        if self.before is not None and not (self.array == self.before).all():
            changed = ~_equal(self.array, self.before)
            if changed.any():
                if self.finding is None:
                    self.finding = (
                        f"f changed its input {self.name} at one of calls {self.last_full_check + 1} to "
                        f"{calls or 'the last'} of f, on entries other than the one being perturbed (the check "
                        f"reads back that entry after every call, and all of {self.name} after call 1 and at the "
                        f"end): {self._list(changed)}"
                    )
                np.copyto(self.array, self.before)
        self.report(stacklevel + 1)

    def report(self, stacklevel: int) -> None:
        if self.finding is None:
            return
        undone = (
            f"{self.name} has been put back as it was before the check"
            if self.before is not None
            else f"{self.name} is left as f left it, as with cs231n's helper"
        )
        warnings.warn(
            f"{self.finding}. cs231n's helper carries such changes into every later call, so the numbers are "
            f"those of a moving point (cs231n's numbers); {undone}. Make f leave its argument alone, e.g. "
            f"`x = x - x.max()`, not `x -= x.max()`.",
            UserWarning,
            stacklevel=stacklevel,
        )
        self.finding = None

    def _list(self, changed: np.ndarray) -> str:
        assert self.before is not None
        where = np.argwhere(changed)
        shown = ", ".join(
            f"{_at(self.name, tuple(ix))}: {self.before[tuple(ix)]} -> {self.array[tuple(ix)]}" for ix in where[:3]
        )
        more = ", ..." if len(where) > 3 else ""
        return (
            f"{len(where)} of the {self.array.size} entries of {self.name} differed from their values before the "
            f"check ({shown}{more})"
        )


# ------------------------------------------------------------------------------------------ the door


def _check_function(f: Any) -> None:
    if not callable(f):
        raise TypeError(f"f must be a function, but got {type(f).__name__}")


def _check_step(h: Any) -> None:
    if type(h) is float and 0 < h < np.inf:
        return
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)) or not 0 < h < np.inf:
        raise ValueError(f"h must be a positive finite number (the step, 1e-5 by default), but got {h!r}")


def _check_point(name: str, x: Any, stacklevel: int = 3) -> None:
    """The helpers write x + h into x itself: x must be a writable, non-empty floating (or complex) ndarray."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (it is perturbed in place), but got {type(x).__name__}")
    if x.dtype.kind not in "fc":
        raise TypeError(
            f"{name} must be a floating array to hold x + h in place, but has dtype {x.dtype} "
            f"(x + h would be truncated back); convert it first, e.g. x = x.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError(f"{name} is read-only, but the check perturbs it in place; pass a writable copy")
    if x.size == 0:
        raise ValueError(f"{name} has no entries (shape {x.shape}): there is no gradient to check")
    if x.dtype.itemsize < (8 if x.dtype.kind == "f" else 16):
        warnings.warn(
            f"{name} has dtype {x.dtype}: central differences in it at h = 1e-5 are only good to about 1e-2; "
            f"check gradients in float64 (cs231n's notebooks build their models with dtype=np.float64 for this)",
            RuntimeWarning,
            stacklevel=stacklevel,
        )


def _warn_broadcast(name: str, upstream: Any, out: Any, stacklevel: int) -> None:
    """Warn when the upstream gradient broadcasts f's output to a larger shape (entries counted several times)."""
    shape = np.shape(out)
    if out is None or np.ndim(upstream) == 0 or np.shape(upstream) == shape:
        return
    if np.broadcast_shapes(shape, np.shape(upstream)) != shape:
        warnings.warn(
            f"{name} has shape {np.shape(upstream)} but f's output has shape {shape}; numpy broadcasts them to "
            f"{np.broadcast_shapes(shape, np.shape(upstream))}, so the gradient sums products of entries that do "
            f"not correspond",
            UserWarning,
            stacklevel=stacklevel,
        )


def _warn_non_finite(grad: np.ndarray, x: np.ndarray, name: str, stacklevel: int) -> bool:
    """One warning when grad holds nan or inf (returned as cs231n returns them); True if it warned."""
    if np.isfinite(grad).all():
        return False
    bad = ~np.isfinite(grad)
    first = _first_in_order(bad, x)
    warnings.warn(
        f"the numerical gradient is nan or inf at {int(bad.sum())} of {bad.size} entries of {name}, the first "
        f"at {_at(name, first)}: f returned nan or inf (or values too large to subtract) around those points; they "
        f"are returned as cs231n's helper returns them",
        RuntimeWarning,
        stacklevel=stacklevel,
    )
    return True
