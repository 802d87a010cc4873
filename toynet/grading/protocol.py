"""Plain data between the grader and a student process: JSON, with arrays as {dtype, shape, data}.

Nothing but numbers, strings, booleans, None, lists, tuples, str-keyed dicts and numeric ndarrays crosses
the process boundary, in either direction. Pickle is never used: unpickling runs code chosen by the sender.
`decode` builds fresh base-class `np.ndarray`s, so an ndarray subclass or an object whose `__eq__` always
says True cannot survive the trip; the grader compares what it decoded, never the student's objects.

This module needs only the standard library and numpy: it is also copied into the student's sandbox.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

# Kinds of arrays that are plain numbers; object, string, void and complex arrays are refused.
DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)
MAX_DEPTH = 32
MAX_ELEMENTS = 2_000_000


class ProtocolError(ValueError):
    """A message that is not plain data (or is too large, too deep, or malformed)."""


def encode(value: Any, _depth: int = 0) -> Any:
    """Turn plain Python/numpy data into JSON-ready values; raise ProtocolError for anything else."""
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
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ProtocolError("dict keys must be strings")
        return {"__dict__": {str(k): encode(v, _depth + 1) for k, v in value.items()}}
    raise ProtocolError(
        f"{type(value).__name__} is not plain data (use numbers, strings, lists, tuples, dicts or numeric ndarrays)"
    )


def decode(value: Any, _depth: int = 0) -> Any:
    """The inverse of `encode`, strict: every array is a fresh base-class ndarray whose size matches its shape."""
    if _depth > MAX_DEPTH:
        raise ProtocolError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v, _depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag == "__tuple__" and isinstance(body, list):
            return tuple(decode(v, _depth + 1) for v in body)
        if tag == "__dict__" and isinstance(body, dict):
            return {str(k): decode(v, _depth + 1) for k, v in body.items()}
        if tag == "__ndarray__" and isinstance(body, dict):
            return _decode_array(body)
    raise ProtocolError(f"not plain data: {str(value)[:80]}")


def _decode_array(body: dict[str, Any]) -> np.ndarray:
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype not in DTYPES:
        raise ProtocolError(f"arrays must hold numbers, but got dtype {dtype!r}")
    if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise ProtocolError(f"an array's shape must be a list of non-negative ints, but got {shape!r}")
    size = math.prod(shape)
    if not isinstance(data, list) or len(data) != size or size > MAX_ELEMENTS:
        raise ProtocolError(f"an array of shape {tuple(shape)} needs {size} numbers")
    if not all(isinstance(x, (int, float)) for x in data):
        raise ProtocolError("array data must be numbers")
    return np.array(data, dtype=dtype).reshape(shape)


def dumps(value: Any) -> bytes:
    """One message: encoded JSON on one line (NaN and inf allowed: a wrong answer may hold them)."""
    return json.dumps(encode(value)).encode() + b"\n"


def loads(line: bytes) -> Any:
    """Parse one message line; ProtocolError if it is not JSON or not plain data."""
    try:
        raw = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"not JSON: {error}") from None
    return decode(raw)
