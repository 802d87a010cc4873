"""The student side of handles: serves the grader's requests on the student's objects, calls the test's functions.

Copied into the sandbox beside child.py (standard library, numpy and protocol only). After the cells ran (and
at each pause between cells, where the tests placed there run), the grader sends requests {"op": ..., ...};
each is answered {"ok": true, "value": ..., "changed": [...]} or {"ok": false, "error": <traceback>,
"type": <exception name>}; an answer to a request that may have run the student's code also lists the
notebook's global names ("names"):

    global NAME / names / setglobal / delglobal      the notebook's globals
    resume                                           at a pause between cells (child.py): run the next cells
    getattr / setattr / delattr / getitem / setitem / delitem / call / operator / isinstance / len / bool /
    list / value / repr / str             on an object the grader holds a handle to

A name, attribute or item that is immutable data (a number, a string, a tuple of them) comes back as its value;
anything else (an array, a list, a dict, a function, an object) as a handle: {"__ref__": {"handle": N, ...}},
so a test that changes `net.params["W1"][0, 0]` changes the student's array. A call's result comes back by
value (its non-data parts as handles), and every argument the call changed in place is sent back ("changed").

The grader's functions (a test's lambda) arrive as {"__ref__": {"callback": N}} and become `GraderFunction`s:
calling one sends {"callback": N, "args": ..., "kwargs": ...} and serves the grader's requests until its
answer comes. The grader decides which numbers are valid (those handed out during the running test); this
side cannot call anything it was not handed, and everything it sends is checked there.
"""

import operator
import types

import numpy as np
import protocol

READS = frozenset(["global", "getattr", "getitem", "len", "bool", "list", "value", "repr", "str", "isinstance",
                   "resume"])
MAX_HANDLES = 10_000  # objects handed to the grader by one process
MAX_NAMES = 10_000  # global names listed for the grader
MAX_NESTING = 16  # callbacks inside calls inside callbacks...
TEXT_CHARS = 2000  # a repr or str sent to the grader
OPERATORS = {name: getattr(operator, name) for name in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor", "lshift", "rshift",
    "iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow", "imatmul", "iand", "ior", "ixor",
    "ilshift", "irshift", "eq", "ne", "lt", "le", "gt", "ge", "neg", "pos", "abs", "invert")}


class GraderFunction:
    """A function (or object) of the running test, callable from the student's code while that test runs."""

    __slots__ = ("_server", "_number")

    def __init__(self, server, number):
        self._server, self._number = server, number

    def __call__(self, *args, **kwargs):
        return self._server.callback(self._number, args, kwargs)

    def __repr__(self):
        return f"<the test's function #{self._number}>"


class GraderRefused(Exception):
    """The grader refused a callback (not handed to this code, or no longer valid), or the test's function raised."""


class _Ref:
    """Marks a value to be sent as a handle even if it is data (an array reached by name or attribute)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _immutable(value, depth=0):
    if value is None or isinstance(value, (bool, int, float, str, np.bool_, np.integer, np.floating)):
        return True
    return type(value) is tuple and depth < 8 and all(_immutable(v, depth + 1) for v in value)


def _kind(value):
    if isinstance(value, np.ndarray):
        return "ndarray"
    if isinstance(value, list):  # a subclass too (IPython's SList): its value travels as a list
        return "list"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "class"
    return "function" if callable(value) else "object"


def short_traceback(error, limit=12):
    """The last frames of a student's traceback, without this machinery's own frames."""
    import traceback

    lines = traceback.format_exception(type(error), error, error.__traceback__)
    keep = [line for line in lines if 'child.py"' not in line and 'serve.py"' not in line]
    return "".join(keep[-limit:])[-4000:]


class Server:
    """The handle table of one student process and the loop that answers the grader."""

    def __init__(self, namespace, read, write):
        self.namespace, self.read, self.write = namespace, read, write
        self.objects = {}  # handle number -> the student's object (kept alive, so id() stays unique)
        self.numbers = {}  # id(object) -> handle number
        self.depth = 0
        self.resumed = False  # the grader said resume: the loop at a pause returns, the next cells run

    # -- references

    def refer(self, value):
        if isinstance(value, _Ref):
            value = value.value
        if type(value) is GraderFunction:
            return {"callback": value._number}
        number = self.numbers.get(id(value))
        if number is None:
            if len(self.objects) >= MAX_HANDLES:
                raise protocol.ProtocolError(f"more than {MAX_HANDLES} objects were handed to the grader")
            number = len(self.objects)
            self.objects[number], self.numbers[id(value)] = value, number
        kind = _kind(value)
        fields = {"handle": number, "kind": kind, "type": str(type(value).__qualname__)[:200]}
        if kind == "module":
            name = getattr(value, "__name__", "")
            fields["module"] = name[:200] if isinstance(name, str) else ""
        return fields

    def resolve(self, fields):
        number = fields.get("handle", fields.get("callback"))
        if type(number) is not int:
            raise protocol.ProtocolError("a reference needs a handle or callback number")
        if "callback" in fields:
            return GraderFunction(self, number)
        if number not in self.objects:
            raise protocol.ProtocolError(f"no object has handle {number}")
        return self.objects[number]

    def reference(self, value):
        """Immutable data as itself, anything else as a handle."""
        return value if _immutable(value) else _Ref(value)

    # -- the conversation

    def send(self, message):
        mark = len(self.objects)
        try:
            data = protocol.dumps(message, self.refer)
        except BaseException as caught:  # an answer that cannot travel (too big, too deep, too many objects)
            for number in range(mark, len(self.objects)):  # the handles it made are forgotten: the table has room
                del self.numbers[id(self.objects.pop(number))]
            data = protocol.dumps({"ok": False, "type": type(caught).__name__,
                                   "error": f"{type(caught).__name__}: the answer could not be sent: "
                                            f"{str(caught)[:300]}"})
        self.write(data)

    def loop(self):
        """Answer requests until the grader hangs up (False) or, at a pause between cells, says resume (True)."""
        self.resumed = False
        while not self.resumed:
            line = self.read()
            if not line:
                return False
            self.serve(protocol.parse(line))
        return True

    def wait(self):
        """Serve requests until the answer to our own callback arrives; return it decoded."""
        while True:
            line = self.read()
            if not line:
                raise SystemExit(0)  # the grader is gone
            raw = protocol.parse(line)
            body = raw.get("__dict__") if isinstance(raw, dict) else None
            if isinstance(body, dict) and "op" in body:
                self.serve(raw)
                continue
            return protocol.decode(raw, self.resolve)

    def serve(self, raw):
        try:
            request = protocol.decode(raw, self.resolve)
            for name, value in request.get("assign", {}).items():
                self.namespace[name] = value
            method = getattr(self, "op_" + request["op"])
        except (protocol.ProtocolError, KeyError, AttributeError) as error:
            self.send({"ok": False, "type": "ProtocolError", "error": f"the grader's request was refused: {error}"})
            return
        self.depth += 1
        try:
            value, changed = method(request, raw)
        except BaseException as caught:  # the student's code raised (SystemExit too: one call must not end the run)
            self.send({"ok": False, "type": type(caught).__name__, "error": short_traceback(caught)})
            return
        finally:
            self.depth -= 1
        reply = {"ok": True, "value": value, "changed": changed}
        if request["op"] not in READS:  # its code may have bound or deleted globals: the grader's list is renewed
            reply["names"] = self.op_names(request, raw)[0]
        self.send(reply)

    def callback(self, number, args, kwargs):
        """Call the grader's function `number`; arguments it changed are written back into ours, in place."""
        if self.depth >= MAX_NESTING:
            raise RecursionError(f"calls and the test's callbacks nested more than {MAX_NESTING} deep")
        self.write(protocol.dumps({"callback": number, "args": list(args), "kwargs": dict(kwargs)}, self.refer))
        answer = self.wait()
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise GraderRefused(str(error)[:300])
        for key, value in answer.get("changed", []):
            protocol.write_back(args[key] if type(key) is int else kwargs[key], value)
        return answer.get("value")

    # -- operations (each returns (value, changed arguments))

    def op_resume(self, request, raw):
        """At a pause between cells (the tests placed there have run): the cells after it run next. Only the
        outermost loop resumes: a request made inside a callback never ends the test's own conversation."""
        if self.depth != 1:
            raise protocol.ProtocolError("resume is only answered at a pause")
        self.resumed = True
        return None, []

    def op_names(self, request, raw):
        names = [n for n in self.namespace if isinstance(n, str) and not n.startswith("__")]
        return names[:MAX_NAMES], []  # a notebook with more globals than this: the rest are not found by tests

    def op_global(self, request, raw):
        name = request["name"]
        if name not in self.namespace:
            raise NameError(f"name {name!r} is not defined")
        return self.reference(self.namespace[name]), []

    def op_setglobal(self, request, raw):
        self.namespace[request["name"]] = request["value"]
        return None, []

    def op_delglobal(self, request, raw):
        del self.namespace[request["name"]]
        return None, []

    def op_getattr(self, request, raw):
        return self.reference(getattr(request["target"], request["name"])), []

    def op_setattr(self, request, raw):
        setattr(request["target"], request["name"], request["value"])
        return None, []

    def op_delattr(self, request, raw):
        delattr(request["target"], request["name"])
        return None, []

    def op_getitem(self, request, raw):
        return self.reference(request["target"][request["key"]]), []

    def op_setitem(self, request, raw):
        request["target"][request["key"]] = request["value"]
        return None, []

    def op_delitem(self, request, raw):
        del request["target"][request["key"]]
        return None, []

    def op_call(self, request, raw):
        args, kwargs, target = request["args"], request["kwargs"], request["target"]
        if isinstance(target, str):  # a dotted name in the notebook's globals ("Linear.backward")
            first, *rest = target.split(".")
            if first not in self.namespace:
                raise NameError(f"{target} is not defined in the notebook")
            target = self.namespace[first]
            for attribute in rest:
                target = getattr(target, attribute)
        value = target(*args, **kwargs)
        sent = raw["__dict__"]
        changed = [[i, a] for i, a in enumerate(args) if self._changed(a, sent["args"][i])]
        sent_kwargs = sent["kwargs"]["__dict__"]
        changed += [[k, a] for k, a in kwargs.items() if self._changed(a, sent_kwargs[k])]
        return value, changed

    def _changed(self, value, sent):
        """Whether an argument that arrived as data is not what was sent any more (the call changed it)."""
        if not isinstance(value, (np.ndarray, list, dict, tuple)):
            return False
        try:
            return protocol.encode(value, self.refer) != sent
        except protocol.ProtocolError:
            return False

    def op_operator(self, request, raw):
        function = OPERATORS[request["name"]]
        return self.reference(function(request["target"], *request["args"])), []

    def op_isinstance(self, request, raw):
        return isinstance(request["value"], request["target"]), []

    def op_len(self, request, raw):
        return len(request["target"]), []

    def op_bool(self, request, raw):
        return bool(request["target"]), []

    def op_list(self, request, raw):
        return list(request["target"]), []

    def op_value(self, request, raw):
        return request["target"], []

    def op_repr(self, request, raw):
        return repr(request["target"])[:TEXT_CHARS], []

    def op_str(self, request, raw):
        return str(request["target"])[:TEXT_CHARS], []
