"""The grader's side of handles: a test sees the student's notebook, while its code and expected values stay here.

A test runs in this process with a `TestGlobals` dict as its globals. A name the test did not bind is looked up
in the student's globals: immutable data (numbers, strings, tuples of them) comes back as a value; anything
else (an array, a list, a dict, a function, a class, an object) as a `Handle`, a proxy whose attribute and item
reads, writes and calls are requests to the student process (serve.py answers them). So

    net = TwoLayerNet(4, 10, 3)          # a Handle to the student's new object
    loss, grads = net.loss(X, y)         # a call: its result comes back by value (data), handles for the rest
    net.params["W1"][0, 0] += h          # item reads and writes on the student's own array
    eval_numerical_gradient(f, x)        # f, the test's lambda, travels as a callback the student's code calls

A module the student imported from a fixed list (numpy, math, scipy, ...) resolves to the grader's own module:
`np.allclose(...)` in a test is the grader's numpy comparing decoded data, never a call into the sandbox.
Arguments are sent by value; after the call, every argument the student's code changed in place is written
back into the test's own object (`protocol.write_back`), and the same holds for a callback's arguments.

A test's functions are callable by the student's code only while the test part that handed them out runs
(`Session.end_part` forgets them); a number it was never handed is refused. Names a public test binds are
pushed into the student's globals (with its next request); a hidden test's are not (they may be expected
values). Deleting a name deletes the student's. Every request counts against the test's deadline.
"""

from __future__ import annotations

import builtins
import importlib
import itertools
import operator
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from toynet.grading import protocol
from toynet.grading.sandbox import RemoteError, StudentProcess, SubmissionFault, remote_error

MAX_CALLBACKS = 1000  # the test's functions handed to the student in one test part
MAX_NESTING = 16  # calls inside callbacks inside calls...
TRUSTED_MODULES = frozenset(["numpy", "math", "cmath", "random", "statistics", "scipy", "pandas", "matplotlib",
                             "itertools", "functools", "collections", "operator", "json", "re", "string"])
DATA_KINDS = frozenset(["ndarray", "list", "dict"])  # handles whose operators work on their value, here
KINDS = DATA_KINDS | {"function", "class", "module", "object"}


class Session:
    """One student process as a test sees it: requests on its objects, the test's functions it may call."""

    def __init__(self, process: StudentProcess) -> None:
        self.process = process
        self.deadline = time.monotonic() + 10.0
        self.callbacks: dict[int, Any] = {}  # number -> the test's function, valid during this test part
        self.numbers: dict[int, int] = {}  # id(function) -> number
        self.pending: dict[str, Any] = {}  # names the test bound, sent with the next request
        self.changes = 0  # requests that may have run the student's code: cached lookups older than this are stale
        self.parts = 0  # test parts begun
        self.names: set[str] | None = None  # the student's global names, as its latest code-running answer said
        self._names_of = -1  # process.spawned when they were read
        self.stable: dict[tuple[int, str], tuple[int, Any]] = {}  # (handle or -1, name) -> (spawned, function...)
        self.depth = 0
        self._counter = itertools.count(1)

    def begin_part(self, deadline: float) -> None:
        self.deadline = deadline
        self.changes += 1
        self.parts += 1

    def cells_ran(self) -> None:
        """The student's cells ran on from a pause: every name and function read so far may be rebound (a later
        cell may redefine `cost` or `compute_cost`), so nothing read before is reused."""
        self.changes += 1
        self.names = None
        self.stable.clear()

    def end_part(self) -> None:
        """The test part is over: the names it bound reach the student now (as a later cell would see them in
        Jupyter), and its functions can no longer be called."""
        if self.pending:
            try:
                self.request("names")  # carries them
            except (SubmissionFault, RemoteError, protocol.ProtocolError):
                pass  # the part's time is up or its process gone: a later test finds them missing
        self.callbacks.clear()
        self.numbers.clear()
        self.pending.clear()

    # -- requests

    def request(self, op: str, **fields: Any) -> Any:
        """One request to the student process; its value, after writing back changed arguments."""
        if op not in ("global", "names", "getattr", "getitem", "len", "value", "repr", "str", "list", "bool"):
            self.changes += 1  # it may run the student's code (a getattr may too: a property; the cost is a lookup)
        message = {"op": op, **fields}
        if self.pending:
            message["assign"], self.pending = self.pending, {}
        if self.depth >= MAX_NESTING:
            raise RecursionError(f"the test's calls and the student's callbacks nested more than {MAX_NESTING} deep")
        self.depth += 1
        try:
            answer = self.process.exchange(message, self.deadline - time.monotonic(), self._refer, self._resolve,
                                           self._serve)
        finally:
            self.depth -= 1
        if not answer["ok"]:
            raise remote_error(answer.get("type"), answer["error"])
        names = answer.get("names")
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            self.names, self._names_of = set(names), self.process.spawned
        self._write_back(answer.get("changed", []), fields.get("args", []), fields.get("kwargs", {}))
        return answer["value"]

    def student_names(self) -> set[str]:
        """The student's global names (one request only when no answer since the process started said them)."""
        if self.names is None or self._names_of != self._live():
            self.request("names")
            if self.names is None:
                raise SubmissionFault("the student process sent a malformed answer", "no names")
        return self.names

    def _live(self) -> int:
        """The running process's number, or -1 when it is gone (the next request starts another: what was read
        of the old one is stale)."""
        proc = self.process.proc
        return self.process.spawned if proc is not None and proc.poll() is None else -1

    def lookup(self, key: tuple[int, str], fetch: Callable[[], Any]) -> Any:
        """A function, class or module, reached by name or attribute: fetched once per process, then kept (a
        notebook that rebinds its functions while tests run is not supported); anything else every time."""
        kept = self.stable.get(key)
        if kept is not None and kept[0] == self._live():
            return kept[1]
        value = fetch()
        if isinstance(value, Handle) and value._kind in ("function", "class", "module") \
                or isinstance(value, type(builtins)):
            self.stable[key] = (self.process.spawned, value)
        return value

    def _write_back(self, changed: list[Any], args: list[Any], kwargs: dict[str, Any]) -> None:
        for entry in changed:
            if not (isinstance(entry, list) and len(entry) == 2):
                raise SubmissionFault("the student process sent a malformed answer", "a changed argument")
            key, value = entry
            if type(key) is int and 0 <= key < len(args):
                protocol.write_back(args[key], value)
            elif isinstance(key, str) and key in kwargs:
                protocol.write_back(kwargs[key], value)

    def _refer(self, value: Any) -> dict[str, Any]:
        """What the test sends that is not data: the student's own objects, or the test's functions as callbacks."""
        if isinstance(value, Handle):
            if value._spawned != self.process.spawned:
                raise SubmissionFault("the student's object no longer exists (its process was restarted)")
            return {"handle": value._number}
        number = self.numbers.get(id(value))
        if number is None:
            if len(self.callbacks) >= MAX_CALLBACKS:
                raise protocol.ProtocolError(f"a test may hand at most {MAX_CALLBACKS} functions to the student")
            number = next(self._counter)  # never reused: a number from an earlier part stays invalid
            self.callbacks[number], self.numbers[id(value)] = value, number
        return {"callback": number}

    def _resolve(self, fields: dict[str, Any]) -> Any:
        """A reference the student process sent: its object as a Handle, or the test's own function back."""
        if set(fields) == {"callback"}:
            if fields["callback"] not in self.callbacks:
                raise protocol.ProtocolError("a reference to a function the test did not hand out")
            return self.callbacks[fields["callback"]]
        number, kind, type_name = fields.get("handle"), fields.get("kind"), fields.get("type")
        if type(number) is not int or kind not in KINDS or not isinstance(type_name, str):
            raise protocol.ProtocolError("a malformed reference")
        if kind == "module":
            module = _trusted_module(fields.get("module"))
            if module is not None:
                return module
        return Handle(self, number, str(kind), type_name[:200])

    def _serve(self, message: dict[str, Any]) -> dict[str, Any]:
        """The student's code calls one of the test's functions: call it here, within the test's time."""
        function = self.callbacks.get(message["callback"]) if type(message["callback"]) is int else None
        if function is None:
            return {"ok": False, "error": "the grader refused: this function was not handed to your code by the "
                                         "running test (or that test is over)"}
        args, kwargs = message["args"], message["kwargs"]
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"ok": False, "error": "malformed callback"}
        sent = [protocol.encode(a, self._refer) for a in args]
        sent_kwargs = {k: protocol.encode(v, self._refer) for k, v in kwargs.items()}
        self.changes += 1
        try:
            value = function(*args, **kwargs)
        except SubmissionFault:
            raise
        except RemoteError as error:  # the student's own code raised inside it: its own traceback goes back
            return {"ok": False, "error": str(error)}
        except Exception as error:  # only its kind travels: the test's message may quote expected values
            return {"ok": False, "error": f"the test's function raised {type(error).__name__}"}
        changed = [[i, a] for i, a in enumerate(args) if _differs(a, sent[i], self._refer)]
        changed += [[k, a] for k, a in kwargs.items() if _differs(a, sent_kwargs[k], self._refer)]
        return {"ok": True, "value": value, "changed": changed}


def _differs(value: Any, sent: Any, refer: protocol.Refer) -> bool:
    if not isinstance(value, (np.ndarray, list, dict, tuple)):
        return False
    try:
        return bool(protocol.encode(value, refer) != sent)
    except protocol.ProtocolError:
        return False


def _trusted_module(name: object) -> Any:
    """The grader's own module for a module the student imported from TRUSTED_MODULES, else None."""
    if not isinstance(name, str) or name.split(".")[0] not in TRUSTED_MODULES:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# ---------------------------------------------------------------- the proxy


COMPARISONS = frozenset(["eq", "ne", "lt", "le", "gt", "ge"])


def _binary(name: str, swapped: bool = False) -> Callable[[Handle, Any], Any]:
    function = getattr(operator, name)

    def apply(self: Handle, other: Any) -> Any:
        if self._kind in DATA_KINDS:  # computed here, on the decoded value: the other operand never leaves
            value = self._value()
            return function(other, value) if swapped else function(value, other)
        if name in COMPARISONS:  # a verdict is never the student's object's to give (its __eq__ may say True)
            if name in ("eq", "ne"):
                same = isinstance(other, Handle) and (other._number, other._spawned) == (self._number, self._spawned)
                return same if name == "eq" else not same
            return NotImplemented
        if swapped:
            return NotImplemented
        return self._session.request("operator", target=self, name=name, args=[other])

    return apply


def _inplace(name: str) -> Callable[[Handle, Any], Any]:
    def apply(self: Handle, other: Any) -> Any:
        return self._session.request("operator", target=self, name=name, args=[other])

    return apply


class Handle:
    """One of the student's objects, as the test sees it: every use is a request to the student process.

    An array, list or dict handle computes operators, comparisons, `np.asarray` and iteration on its value,
    fetched when used; an object handle sends arithmetic to the student's object, but never a comparison:
    `==` is identity, `<` is a TypeError (the student's `__eq__` could say True to anything, and would see
    what it is compared with). Values of calls come back by value. `isinstance(h, np.ndarray)` is False:
    `np.asarray(h)` is the array. Arithmetic on an object handle (`value * 2`, micrograd-style) sends the other
    operand to the student's object, as a call's argument is sent.
    """

    __slots__ = ("_session", "_number", "_kind", "_type", "_spawned")
    _toynet_handle = True  # what checks.py looks for (it does not import the grader's machinery)

    def __init__(self, session: Session, number: int, kind: str, type_name: str) -> None:
        for name, value in (("_session", session), ("_number", number), ("_kind", kind), ("_type", type_name),
                            ("_spawned", session.process.spawned)):
            object.__setattr__(self, name, value)

    def _value(self) -> Any:
        return self._session.request("value", target=self)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):  # protocol probes (numpy's, copy's) stay here
            raise AttributeError(name)
        if self._kind in ("class", "module"):  # `Linear.backward`: a method is looked up once
            return self._session.lookup((self._number, name),
                                        lambda: self._session.request("getattr", target=self, name=name))
        return self._session.request("getattr", target=self, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request("setattr", target=self, name=name, value=value)

    def __delattr__(self, name: str) -> None:
        self._session.request("delattr", target=self, name=name)

    def __getitem__(self, key: Any) -> Any:
        return self._session.request("getitem", target=self, key=key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._session.request("setitem", target=self, key=key, value=value)

    def __delitem__(self, key: Any) -> None:
        self._session.request("delitem", target=self, key=key)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.request("call", target=self, args=list(args), kwargs=kwargs)

    def __len__(self) -> int:
        return int(self._session.request("len", target=self))

    def __bool__(self) -> bool:
        return bool(self._session.request("bool", target=self))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._value() if self._kind in DATA_KINDS else self._session.request("list", target=self))

    def __contains__(self, item: Any) -> bool:
        if self._kind in DATA_KINDS:
            return item in self._value()
        raise TypeError(f"`in` on the student's {self._type} object is a verdict its own code would give "
                        "(and it would see what is looked for): test its data instead")

    def _data(self) -> Any:
        """The value, for a conversion: an object's own methods (its __array__, __float__) never decide it."""
        if self._kind not in DATA_KINDS:
            raise TypeError(f"the student's {self._type} object is not data (an array, a number, a list...)")
        return self._value()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self._data(), dtype=dtype)

    def __float__(self) -> float:
        return float(self._data())

    def __int__(self) -> int:
        return int(self._data())

    def __index__(self) -> int:
        return operator.index(self._data())

    def __repr__(self) -> str:
        try:
            return str(self._session.request("repr", target=self))
        except Exception:
            return f"<the student's {self._type}>"

    def __str__(self) -> str:
        try:
            return str(self._session.request("str", target=self))
        except Exception:
            return f"<the student's {self._type}>"

    def __format__(self, spec: str) -> str:
        return format(self._value() if self._kind in DATA_KINDS else str(self), spec)

    def __eq__(self, other: Any) -> Any:
        return _binary("eq")(self, other)

    def __ne__(self, other: Any) -> Any:
        return _binary("ne")(self, other)

    def __hash__(self) -> int:
        return hash((Handle, self._spawned, self._number))

    def __instancecheck__(self, instance: Any) -> bool:
        return bool(self._session.request("isinstance", target=self, value=instance))

    def __neg__(self) -> Any:
        return -self._value() if self._kind in DATA_KINDS else self._session.request("operator", target=self,
                                                                                      name="neg", args=[])

    def __abs__(self) -> Any:
        return abs(self._value()) if self._kind in DATA_KINDS else self._session.request("operator", target=self,
                                                                                          name="abs", args=[])

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """`np.cos(x0)`, `ndarray - handle`: on the values of data handles, computed here (never an object
        array of handles); a handle as `out`, or an object handle among the inputs, is not numpy's to use."""
        if any(isinstance(o, Handle) for o in kwargs.get("out", ()) or ()) \
                or any(isinstance(i, Handle) and i._kind not in DATA_KINDS for i in inputs):
            return NotImplemented
        values = [i._value() if isinstance(i, Handle) else i for i in inputs]
        return getattr(ufunc, method)(*values, **kwargs)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor", "lt",
              "le", "gt", "ge"):
    _dunder = _name.rstrip("_")
    setattr(Handle, f"__{_dunder}__", _binary(_name))
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(Handle, f"__r{_dunder}__", _binary(_name, swapped=True))
        setattr(Handle, f"__i{_dunder}__", _inplace(f"i{_dunder}"))


def value_of(value: Any) -> Any:
    """A handle's value (an array, a list, ...), anything else as it is: for checks that look at types."""
    return value._value() if isinstance(value, Handle) else value


# ---------------------------------------------------------------- a test's globals


class TestGlobals(dict[str, Any]):
    """A test's globals: its own names first, then the student's (CPython honours these overrides when a
    module's globals are a dict subclass: LOAD_NAME, STORE_NAME and DELETE_NAME at the top level, LOAD_GLOBAL
    in the test's functions, lambdas and comprehensions).

    `push`: whether names the test binds reach the student's globals (public parts; hidden parts keep theirs).
    """

    def __init__(self, session: Session, names: dict[str, Any]) -> None:
        super().__init__(names)
        self.session, self.push = session, True
        self._cache: dict[str, Any] = {}  # data and objects: until the student's code may have run
        self._seen = -1  # session.changes when _cache was filled

    def __getitem__(self, name: str) -> Any:
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        if self._seen != self.session.changes:
            self._cache.clear()
            self._seen = self.session.changes
        if name in self._cache:
            return self._cache[name]
        if name not in self.session.student_names():
            raise KeyError(name)  # then the builtins: `len` costs no request
        try:
            value = self.session.lookup((-1, name), lambda: self.session.request("global", name=name))
        except NameError:
            raise KeyError(name) from None
        if self._seen == self.session.changes:
            self._cache[name] = value
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        if self.push and not name.startswith("__") and _pushable(value):
            self.session.pending[name] = value
            self.session.stable.pop((-1, name), None)
            if self.session.names is not None:
                self.session.names.add(name)

    def __delitem__(self, name: str) -> None:
        held = dict.__contains__(self, name)
        if held:
            dict.__delitem__(self, name)
            self.session.pending.pop(name, None)
        self.session.stable.pop((-1, name), None)
        self._cache.pop(name, None)
        try:
            self.session.request("delglobal", name=name)
        except KeyError:
            if not held:
                raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (isinstance(name, str) and name not in vars(builtins)
                                                 and self.get(name, _MISSING) is not _MISSING)


_MISSING = object()


def _pushable(value: Any, depth: int = 0) -> bool:
    """Data, the student's own objects, or containers of them: what a test may put in the student's globals."""
    if isinstance(value, Handle) or value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.name in protocol.DTYPES
    if depth < 8 and isinstance(value, (list, tuple)):
        return all(_pushable(v, depth + 1) for v in value)
    if depth < 8 and isinstance(value, dict):
        return all(isinstance(k, str) and _pushable(v, depth + 1) for k, v in value.items())
    return False
