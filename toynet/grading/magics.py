"""Cells as Jupyter runs them: IPython's own transformer turns magics into Python, here in the grader.

    files = !ls                 -> files = get_ipython().getoutput('ls')
    %matplotlib inline          -> get_ipython().run_line_magic('matplotlib', 'inline')
    %%writefile data.txt ...    -> get_ipython().run_cell_magic('writefile', 'data.txt', '...')

The student process has no IPython: it runs the transformed, pure-Python cell with a small `get_ipython()`
(sandbox_site/IPython) that says what each magic does there. The bodies of `%%capture` and `%%time` cells
are transformed too (Jupyter runs them as cells). A cell larger than MAX_CELL characters, or one IPython
cannot transform, has its magic lines commented out instead (the cell's Python still runs).
"""

from __future__ import annotations

import ast
import re
import threading
from typing import Any

from toynet.grading.markers import strip_magics

MAX_CELL = 256 << 10  # characters of a cell handed to IPython's transformer
NESTED = ("capture", "time", "timeit", "prun")  # cell magics whose body runs as a cell
_MIGHT_HOLD_MAGICS = re.compile(r"^\s*[%!]|=\s*[%!]|\?\s*$", re.MULTILINE)
_lock = threading.Lock()
_manager: Any = None


def python_of(source: str, _depth: int = 0) -> str:
    """The Python that Jupyter would run for this cell's source."""
    if not _MIGHT_HOLD_MAGICS.search(source):
        return source  # most cells: no IPython needed at all
    if len(source) > MAX_CELL or _depth > 4:
        return strip_magics(source)
    try:
        with _lock:
            transformed = _transformer().transform_cell(source)
    except Exception:  # IPython's own error on a malformed magic: keep the cell's Python
        return strip_magics(source)
    return _with_nested_bodies(transformed, _depth)


def _transformer() -> Any:
    global _manager
    if _manager is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _manager = TransformerManager()
    return _manager


def _with_nested_bodies(code: str, depth: int) -> str:
    """A `%%capture`/`%%time` cell's body transformed as a cell of its own."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return code
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "run_cell_magic"
            and len(call.args) == 3 and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                            for a in call.args)):
        return code
    name, _, body = (a.value for a in call.args)  # type: ignore[attr-defined]
    if name not in NESTED:
        return code
    call.args[2] = ast.Constant(python_of(body, depth + 1))
    return ast.unparse(tree) + "\n"
