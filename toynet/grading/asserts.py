"""A failing plain `assert` in a public test says what it compared, as pytest's do.

    assert rel_error(dx, dx_num) < 1e-7, "dx is off"
becomes
    __toynet_1 = rel_error(dx, dx_num)
    __toynet_2 = 1e-7
    if not __toynet_1 < __toynet_2:
        raise AssertionError(__toynet_explain('rel_error(dx, dx_num) < 1e-7', (...pairs...), "dx is off"))

Each part is evaluated once, in Python's order, into a temporary (a call with side effects happens once; the
message is evaluated only when the assert fails, as Python does). A comparison shows both sides, a call its
arguments, anything else its value. Names starting with "__" are never pushed into the student's globals.
"""

from __future__ import annotations

import ast
import itertools
from typing import Any

import numpy as np

EXPLAIN = "__toynet_explain"
VALUE_CHARS = 300


def rewrite_asserts(tree: ast.Module, source: str) -> ast.Module:
    """The same module with every `assert` explained on failure (line numbers kept)."""
    return ast.fix_missing_locations(_Rewriter(source).visit(tree))


class _Rewriter(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source
        self.counter = itertools.count(1)

    def _temporary(self, value: ast.expr, statements: list[ast.stmt], anchor: ast.AST) -> ast.Name:
        name = f"__toynet_{next(self.counter)}"
        statements.append(ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], value), anchor))
        return ast.Name(name, ast.Load())

    def _text(self, node: ast.expr) -> str:
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        statements: list[ast.stmt] = []
        test, shown = self._explained(node.test, statements, node)
        pairs = ast.Tuple([ast.Tuple([ast.Constant(label), value], ast.Load()) for label, value in shown], ast.Load())
        message = node.msg if node.msg is not None else ast.Constant(None)
        explain = ast.Call(ast.Name(EXPLAIN, ast.Load()), [ast.Constant(self._text(node.test)), pairs, message], [])
        fail = ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), [explain], []), None)
        statements.append(ast.If(ast.UnaryOp(ast.Not(), test), [fail], []))
        return [ast.copy_location(s, node) for s in statements]

    def _explained(self, test: ast.expr, statements: list[ast.stmt],
                   anchor: ast.AST) -> tuple[ast.expr, list[tuple[str, ast.expr]]]:
        """(the test on temporaries, [(source text, temporary)] to show)."""
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left = self._temporary(test.left, statements, anchor)
            right = self._temporary(test.comparators[0], statements, anchor)
            shown: list[tuple[str, ast.expr]] = [(self._text(test.left), left),
                                                 (self._text(test.comparators[0]), right)]
            return ast.Compare(left, test.ops, [right]), shown
        if isinstance(test, ast.Call) and not any(isinstance(a, ast.Starred) for a in test.args) \
                and all(k.arg is not None for k in test.keywords):
            function = self._temporary(test.func, statements, anchor)
            args = [self._temporary(a, statements, anchor) for a in test.args]
            keywords = [ast.keyword(k.arg, self._temporary(k.value, statements, anchor)) for k in test.keywords]
            shown = [(self._text(a), t) for a, t in zip(test.args, args, strict=True)]
            shown += [(f"{k.arg}", t.value) for k, t in zip(test.keywords, keywords, strict=True)]
            return ast.Call(function, list(args), keywords), shown
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            operand = self._temporary(test.operand, statements, anchor)
            return ast.UnaryOp(ast.Not(), operand), [(self._text(test.operand), operand)]
        value = self._temporary(test, statements, anchor)
        return value, [] if isinstance(test, ast.Constant) else [(self._text(test), value)]


def explain(text: str, pairs: tuple[tuple[str, Any], ...], message: Any) -> str:
    """The failure's text: the message (if any), the assert's expression, then each part's value."""
    lines = [] if message is None else [str(message)]
    lines.append(f"assert {text}")
    lines += [f"  {label} = {_show(value)}" for label, value in pairs if label != _show(value)]
    return "\n".join(lines)


def _show(value: Any) -> str:
    try:
        with np.printoptions(threshold=20, edgeitems=3, precision=8):
            text = repr(value)
    except Exception as error:  # a student's object whose repr fails or times out
        text = f"<unprintable: {type(error).__name__}>"
    text = " ".join(text.split()) if "\n" in text and len(text) > 80 else text
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 3] + "..."
