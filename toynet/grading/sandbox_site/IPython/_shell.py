"""The shell behind `get_ipython()` in the sandbox (see the package docstring for what each magic does)."""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
from typing import Any

QUIET_LINE_MAGICS = frozenset(["matplotlib", "load_ext", "reload_ext", "autoreload", "config", "precision",
                               "pylab", "xmode", "env", "who", "whos", "pinfo", "pinfo2", "psearch"])
DISPLAY_ONLY = frozenset(["html", "HTML", "javascript", "js", "markdown", "latex", "svg", "capture_output"])
NOT_RUN = frozenset(["script", "bash", "sh", "system", "perl", "ruby", "python", "python2", "python3", "pypy",
                     "writefile_remote", "sx", "file"])


def _note(text: str) -> None:
    print(f"[grader] {text}", file=sys.stderr)


class CapturedIO:
    """What `%%capture NAME` binds: the body's printed output."""

    def __init__(self, stdout: str, stderr: str) -> None:
        self.stdout, self.stderr = stdout, stderr
        self.outputs: list[Any] = []

    def show(self) -> None:
        print(self.stdout, end="")
        print(self.stderr, end="", file=sys.stderr)

    __call__ = show


class SList(list[str]):
    """What `x = !cmd` binds (IPython's list of output lines): here always empty."""

    @property
    def s(self) -> str:
        return " ".join(self)

    @property
    def n(self) -> str:
        return "\n".join(self)

    nlstr = n
    spstr = s


class Shell:
    """The few methods transformed cells call.

    Falsy, as `get_ipython()` is outside a kernel: libraries that look for a live IPython to hook into
    (matplotlib's display hook, tqdm's notebook bars) take their plain-Python path.
    """

    config: dict[str, Any] = {}

    def __init__(self) -> None:
        self.user_ns: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return False

    def _run(self, code: str, name: str) -> None:
        exec(compile(code, f"<%{name}>", "exec"), self.user_ns)

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1) -> Any:
        if name in ("time", "timeit"):
            code = _without_options(line)
            try:  # `x = %time f(1)` binds f(1), as IPython's %time returns an expression's value
                expression = compile(code, f"<%{name}>", "eval")
            except SyntaxError:
                self._run(code, name)
            else:
                return eval(expression, self.user_ns)
        elif name == "pwd":
            import os

            return os.getcwd()
        elif name not in QUIET_LINE_MAGICS:
            _note(f"%{name} is not run while grading")
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> Any:
        if name == "writefile":
            self._write_file(line, cell)
        elif name == "capture":
            self._capture(line, cell)
        elif name in ("time", "timeit", "prun"):
            self._run(cell, name)
        elif name in NOT_RUN:
            _note(f"a %%{name} cell is not run while grading (no shell here)")
        elif name not in DISPLAY_ONLY:
            _note(f"a %%{name} cell is not run while grading")
        return None

    def _write_file(self, line: str, cell: str) -> None:
        words = shlex.split(line)
        append = any(w in ("-a", "--append") for w in words)
        names = [w for w in words if not w.startswith("-")]
        if len(names) != 1:
            raise ValueError(f"%%writefile needs one file name, got {line!r}")
        import os

        existed = os.path.exists(names[0])
        with open(names[0], "a" if append else "w", encoding="utf-8") as handle:
            handle.write(cell)
        print(f"{'Appending to' if append else 'Overwriting' if existed else 'Writing'} {names[0]}")

    def _capture(self, line: str, cell: str) -> None:
        words = [w for w in shlex.split(line) if not w.startswith("-")]
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                self._run(cell, "capture")
        finally:
            if words:
                self.user_ns[words[0]] = CapturedIO(out.getvalue(), err.getvalue())

    def system(self, command: str) -> None:
        _note(f"the shell command {command[:80]!r} is not run while grading")

    def getoutput(self, command: str, split: bool = True, depth: int = 0) -> SList:
        _note(f"the shell command {command[:80]!r} is not run while grading: its output is an empty list")
        return SList()

    def run_cell(self, raw_cell: str, *args: Any, **kwargs: Any) -> None:
        self._run(raw_cell, "run_cell")


def _without_options(line: str) -> str:
    """`%timeit -n 10 f(x)` -> `f(x)`: the statement after the magic's options."""
    words = line.split()
    while words and words[0].startswith("-"):
        words = words[2:] if words[0] in ("-n", "-r", "-p") else words[1:]
    return " ".join(words) if words != line.split() else line


_SHELL = Shell()


def get_ipython() -> Shell:
    return _SHELL
