"""Plain data between the grader and a student process: JSON, with arrays as {dtype, shape, data}.

Nothing but numbers, strings, booleans, None, lists, tuples, str-keyed dicts, slices, Ellipsis and numeric
ndarrays crosses the process boundary, in either direction. Pickle is never used: unpickling runs code chosen
by the sender. `decode` builds fresh base-class `np.ndarray`s, so an ndarray subclass or an object whose
`__eq__` always says True cannot survive the trip; the grader compares what it decoded, never the student's
objects.

What is not data (a function, a class, an object) crosses as a reference, {"__ref__": {...}}, only where the
caller passes `refer` (to encode) and `resolve` (to decode): each side keeps such objects in its own table and
sends their numbers (grading/remote.py and serve.py). Without those hooks a reference is refused like any
other non-data.

A cell's source is split into lines here too (`source_lines`, `strip_magics`): the grader and the student
process must agree on what line N of a cell is, and on which lines are magics, or the grader would name (and
parse) a different statement from the one the student process ran.

This module needs only the standard library and numpy: it is also copied into the student's sandbox.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

# Kinds of arrays that are plain numbers; object, string, void and complex arrays are refused.
DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)
MAX_DEPTH = 32  # nesting of lists, tuples and dicts
MAX_DIMS = 32  # an array's number of dimensions (numpy's own limit is 64)
MAX_ELEMENTS = 500_000  # numbers in one array
MAX_VALUES = 2 * MAX_ELEMENTS  # JSON values in one message (~40 MB once parsed, at worst)
MAX_LINE = 8 << 20  # bytes in one message line: checked before a byte of it is parsed


# Python's own line breaks (its tokenizer ends a line at \r\n, \r or \n, and nowhere else): str.splitlines()
# also breaks at \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029, which Python reads inside a line (a comment's, say).
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(source: str) -> list[str]:
    """The lines of a cell's source exactly as Python numbers them: line N of a traceback is item N - 1."""
    return LINE_BREAK.split(source)


def strip_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: comment them out (line numbers are kept)."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source_lines(source))


class ProtocolError(ValueError):
    """A message that is not plain data (or is too large, too deep, or malformed)."""


Refer = Callable[[Any], dict[str, Any]]
Resolve = Callable[[dict[str, Any]], Any]


def encode(value: Any, refer: Refer | None = None, _depth: int = 0) -> Any:
    """Turn plain Python/numpy data into JSON-ready values.

    Anything else is `{"__ref__": refer(value)}` (refer returns a dict of plain data naming the object in the
    sender's table), or, without `refer`, a ProtocolError.
    """
    if _depth > MAX_DEPTH:
        raise ProtocolError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)  # float(x) drops any subclass and its __eq__
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.ndarray):
        array = np.asarray(value)  # a subclass becomes a base-class view of the same numbers
        dtype = array.dtype.name
        if dtype not in DTYPES:
            raise ProtocolError(f"arrays must hold numbers, but got an array of dtype {dtype}")
        if array.size > MAX_ELEMENTS:
            raise ProtocolError(f"arrays may hold at most {MAX_ELEMENTS} numbers, but got {array.size}")
        data = np.ascontiguousarray(array).reshape(-1)
        flat = [float(x) for x in data] if data.dtype.kind == "f" else data.tolist()
        return {"__ndarray__": {"dtype": dtype, "shape": list(array.shape), "data": flat}}
    if isinstance(value, tuple):  # a subclass (a namedtuple, an OrderedDict) travels as its base type's data
        return {"__tuple__": [encode(v, refer, _depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, refer, _depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {str(k): encode(v, refer, _depth + 1) for k, v in value.items()}}
    if type(value) is slice and all(v is None or type(v) is int for v in (value.start, value.stop, value.step)):
        return {"__slice__": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"__ellipsis__": None}
    if refer is not None:
        return {"__ref__": encode(refer(value), None, _depth + 1)}
    if isinstance(value, dict):
        raise ProtocolError("dict keys must be strings")
    raise ProtocolError(
        f"{type(value).__name__} is not plain data (use numbers, strings, lists, tuples, dicts or numeric ndarrays)"
    )


def decode(value: Any, resolve: Resolve | None = None, _depth: int = 0) -> Any:
    """The inverse of `encode`, strict: every array is a fresh base-class ndarray whose size matches its shape.

    A reference becomes `resolve(its body)` (the body decoded as plain data, a dict); without `resolve` it is
    refused. `resolve` raises ProtocolError for a reference it does not know.
    """
    if _depth > MAX_DEPTH:
        raise ProtocolError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, resolve, _depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "__tuple__" and isinstance(body, list):
            return tuple(decode(v, resolve, _depth + 1) for v in body)
        if tag == "__dict__" and isinstance(body, dict):
            return {str(k): decode(v, resolve, _depth + 1) for k, v in body.items()}
        if tag == "__ndarray__" and isinstance(body, dict):
            return _decode_array(body)
        if tag == "__slice__" and isinstance(body, list) and len(body) == 3 \
                and all(v is None or type(v) is int for v in body):
            return slice(*body)
        if tag == "__ellipsis__" and body is None:
            return Ellipsis
        if tag == "__ref__" and resolve is not None:
            fields = decode(body, None, _depth + 1)
            if not isinstance(fields, dict):
                raise ProtocolError("a reference must be a dict")
            return resolve(fields)
    raise ProtocolError(f"not plain data: {_describe(value)}")


def _describe(value: Any) -> str:
    """What a refused JSON value was, without echoing its (sender-chosen) content."""
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    return type(value).__name__


def _decode_array(body: dict[str, Any]) -> np.ndarray:
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if set(body) != {"dtype", "shape", "data"}:
        raise ProtocolError("an array must have exactly the keys dtype, shape and data")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        shown = dtype[:20] + "..." if isinstance(dtype, str) and len(dtype) > 20 else dtype
        raise ProtocolError(f"arrays must hold numbers, but got dtype {shown!r:.40}")
    if not (isinstance(shape, list) and len(shape) <= MAX_DIMS
            and all(type(d) is int and 0 <= d <= MAX_ELEMENTS for d in shape)):
        raise ProtocolError(f"an array's shape must be a list of at most {MAX_DIMS} ints in [0, {MAX_ELEMENTS}]")
    size = math.prod(shape)  # each factor is bounded, so this product is exact and cheap
    if size > MAX_ELEMENTS:
        raise ProtocolError(f"arrays may hold at most {MAX_ELEMENTS} numbers, but the shape asks for {size}")
    if not isinstance(data, list) or len(data) != size:
        raise ProtocolError(f"an array of {len(shape)} dimensions with {size} numbers needs a list of {size} numbers")
    if not all(type(x) in (int, float, bool) for x in data):
        raise ProtocolError("array data must be numbers")
    try:
        return np.array(data, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError, TypeError) as error:
        raise ProtocolError(f"array data do not fit dtype {dtype}: {type(error).__name__}") from None


def dumps(value: Any, refer: Refer | None = None) -> bytes:
    """One message: encoded JSON on one line (NaN and inf allowed: a wrong answer may hold them)."""
    line = json.dumps(encode(value, refer)).encode()
    _check_size(line)
    return line + b"\n"


def _check_size(line: bytes) -> None:
    """Refuse a line longer than MAX_LINE, or that may hold more than MAX_VALUES values, without parsing it.

    Every JSON value but the first is preceded by one of `,` `[` `{` `:`, so their count bounds the values
    (separators inside strings only make the bound looser): a line of a million tiny lists is refused
    before a million lists are built.
    """
    if len(line) > MAX_LINE:
        raise ProtocolError(f"a message may take at most {MAX_LINE >> 20} MB, but got {len(line) / 2**20:.1f} MB")
    values = sum(line.count(separator) for separator in (b",", b"[", b"{", b":")) + 1
    if values > MAX_VALUES:
        raise ProtocolError(f"a message may hold at most {MAX_VALUES} values, but this one may hold {values}")


def parse(line: bytes) -> Any:
    """One message line as raw JSON values, not yet decoded; ProtocolError if too large (checked first) or not JSON."""
    _check_size(line)
    try:
        return json.loads(line)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"not JSON ({type(error).__name__})") from None


def loads(line: bytes, resolve: Resolve | None = None) -> Any:
    """Parse one message line; ProtocolError if it is too large (checked first), not JSON or not plain data."""
    return decode(parse(line), resolve)


def write_back(original: Any, new: Any, _depth: int = 0) -> Any:
    """Make `original` hold `new` in place where it can (a call on the other side changed a copy of it).

    An ndarray of the same shape is overwritten (`original[...] = new`), a list or dict gets `new`'s items
    (its arrays again in place where shapes match), a tuple's items are written back one by one. Returns what
    the caller should hold: `original` when it was updated in place, else `new`.
    """
    if _depth > MAX_DEPTH:
        return new
    if isinstance(original, np.ndarray) and isinstance(new, np.ndarray):
        if original.shape == new.shape and original.flags.writeable:
            try:
                np.copyto(original, new, casting="unsafe")
                return original
            except (TypeError, ValueError):
                return new
        return new
    if isinstance(original, list) and isinstance(new, list):
        if len(original) == len(new):
            original[:] = [write_back(o, n, _depth + 1) for o, n in zip(original, new, strict=True)]
        else:
            original[:] = new
        return original
    if isinstance(original, dict) and isinstance(new, dict):
        kept = {k: write_back(original[k], v, _depth + 1) if k in original else v for k, v in new.items()}
        original.clear()
        original.update(kept)
        return original
    if isinstance(original, tuple) and isinstance(new, tuple) and len(original) == len(new):
        for o, n in zip(original, new, strict=True):
            write_back(o, n, _depth + 1)
        return original
    return new
