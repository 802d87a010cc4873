"""Run one submission in its own unprivileged process, with limits, and talk to it in plain data.

What the student process can see (the boundary this module draws):
- a fresh working folder holding `child.py`, `protocol.py` and `lib/toynet`: a copy of toynet in which the
  graded functions (and whole modules such as `toynet.exercises` and `toynet.gradcheck`) raise
  NotImplementedError, so calling toynet's reference earns nothing; `toynet.grading` is left out;
- the Python standard library and the site-packages that hold numpy (no site hooks: `python -I -S`);
- its own code cells, then the inputs of each call. Never tests, expected values or the grader's files.

Limits, when the grader runs as root on Linux (`unshare` available): new network namespace (no network),
new mount namespace (the autograder bundle, the real toynet and the grader's output folder are covered by
empty tmpfs mounts), new PID namespace (the grader's processes are invisible; killing the child kills them
all), then RLIMIT_AS / CPU / FSIZE / NPROC / CORE and a switch to the user `nobody`. Without root the
resource limits still apply, but the process keeps the grader's user and network: `Limits.describe` says so.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toynet.grading import protocol

HERE = Path(__file__).resolve().parent
MAX_MESSAGE = 64 * 1024 * 1024  # one answer line; a bigger one is refused
OUTPUT_KEPT = 16 * 1024  # bytes of the student's printed output kept for feedback (the rest is drained)
DEFAULT_STUBS = ("toynet.exercises", "toynet.gradcheck")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits: seconds per question and per cell, wall-clock seconds, memory bytes."""

    question_timeout: float = 10.0
    cell_timeout: float = 10.0
    wall_clock: float = 120.0
    memory: int = 1 << 30
    file_size: int = 16 << 20
    processes: int = 64

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    @staticmethod
    def describe() -> str:
        """One line saying which isolation this machine gives a submission."""
        if _can_isolate():
            return "isolated: own network/mount/PID namespaces, user nobody, rlimits on memory, CPU and file size"
        if _is_root():
            return ("partly isolated: user nobody and rlimits, but no namespaces (unshare not permitted): "
                    "network open, files readable by everyone stay readable")
        return "NOT isolated (grader not root): rlimits only; the submission runs as the grader's user"


class SubmissionFault(Exception):
    """The student process failed to answer: timeout, crash, exit, or an answer that is not plain data."""


class RemoteError(Exception):
    """The student's code raised; `str(error)` is the student's traceback (may contain the call's inputs)."""


@dataclass
class CellReport:
    """How one code cell of the submission ran in the student process."""

    index: int
    error: str | None = None


@dataclass
class Startup:
    """What happened while the notebook's cells ran: per-cell errors and any sandbox notes."""

    cells: list[CellReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_root() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


@functools.lru_cache(maxsize=1)
def _can_isolate() -> bool:
    """Root, and `unshare` may create namespaces here (containers often forbid it even to root)."""
    if not _is_root() or shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


# ---------------------------------------------------------------- the student's build of toynet


class _Stubber(ast.NodeTransformer):
    """Replace the bodies of chosen functions (by qualified name, or all) with `raise NotImplementedError`."""

    def __init__(self, module: str, targets: set[str], everything: bool) -> None:
        self.module, self.targets, self.everything, self.stack = module, targets, everything, []  # type: ignore[var-annotated]

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        qualname = ".".join([*self.stack, node.name])
        if self.everything or qualname in self.targets:
            message = f"{self.module}.{qualname} is toynet's reference: while grading, write your own"
            raise_node = ast.parse(f"raise NotImplementedError({message!r})").body[0]
            node.body = [raise_node]
        return node


def student_toynet(stubs: Iterable[str] = DEFAULT_STUBS) -> dict[str, str]:
    """The sources of toynet as the student process sees them: {relative path: source}.

    stubs: "toynet.module" (every function in it, or in the package) or "toynet.module:Class.method".
    """
    import toynet

    root = Path(toynet.__file__).resolve().parent
    whole = {s for s in stubs if ":" not in s}
    picked: dict[str, set[str]] = {}
    for stub in stubs:
        if ":" in stub:
            module, qualname = stub.split(":", 1)
            picked.setdefault(module, set()).add(qualname)
    files = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if relative.parts[1] == "grading" or "__pycache__" in relative.parts:
            continue
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        everything = any(module == w or module.startswith(w + ".") for w in whole)
        source = path.read_text()
        if everything or module in picked:
            tree = _Stubber(module, picked.get(module, set()), everything).visit(ast.parse(source))
            source = ast.unparse(ast.fix_missing_locations(tree))
        files[str(relative)] = source
    return files


# ---------------------------------------------------------------- the process


class StudentProcess:
    """One submission's code running in a sandboxed child; `call` sends inputs and returns decoded answers."""

    def __init__(
        self,
        cells: Sequence[str],
        limits: Limits,
        toynet_files: dict[str, str],
        hide: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        self.cells, self.limits, self.toynet_files = list(cells), limits, toynet_files
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.skip: set[int] = set()  # cells that hung or killed the process: left out on restart
        self.output = bytearray()  # the first OUTPUT_KEPT bytes the student printed
        self.output_dropped = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir: str | None = None
        self.startup = Startup()
        self.restarts = 0

    # -- lifecycle

    def start(self) -> Startup:
        """Run the cells (restarting past any cell that hangs or crashes the process); return their reports."""
        reports: dict[int, CellReport] = {}
        while True:
            self._spawn()
            current: int | None = None
            try:
                sandbox = self._receive(self.limits.cell_timeout)
                self.startup.notes = list(sandbox.get("notes", []))
                while True:
                    event = self._receive(self.limits.cell_timeout)
                    if event["event"] == "start":
                        current = event["index"]
                    elif event["event"] == "cell":
                        reports[event["index"]] = CellReport(event["index"], event["error"])
                        current = None
                    elif event["event"] == "ready":
                        break
            except SubmissionFault as fault:
                self.close()
                if current is None or self.restarts >= len(self.cells):
                    raise SubmissionFault(f"the notebook could not be started: {fault}") from None
                reports[current] = CellReport(current, f"this cell was stopped and skipped: {fault}")
                self.skip.add(current)
                self.restarts += 1
                continue
            self.startup.cells = [reports[i] for i in sorted(reports)]
            return self.startup

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], timeout: float) -> Any:
        """Call `name(*args, **kwargs)` in the student process; return the decoded plain-data answer.

        Raises RemoteError when the student's code raised, SubmissionFault when the process hung (it is
        killed), died, or answered with something that is not plain data.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.start()
        assert self.proc is not None and self._to_child is not None
        try:
            os.write(self._to_child, protocol.dumps({"call": name, "args": list(args), "kwargs": dict(kwargs)}))
        except OSError:
            raise SubmissionFault(self._death_reason()) from None
        try:
            answer = self._receive(timeout)
        except SubmissionFault:
            self.close()
            raise
        if not isinstance(answer, dict) or "ok" not in answer:
            self.close()
            raise SubmissionFault("the student process sent a malformed answer")
        if not answer["ok"]:
            raise RemoteError(str(answer.get("error")))
        return answer.get("value")

    def printed_so_far(self, settle: float = 0.02, limit: float = 0.5) -> str:
        """The student's printed output read so far, once the drain has caught up (no new bytes for `settle` s)."""
        deadline, size = time.monotonic() + limit, -1
        while len(self.output) + self.output_dropped != size and time.monotonic() < deadline:
            size = len(self.output) + self.output_dropped
            time.sleep(settle)
        return bytes(self.output).decode(errors="replace")

    def close(self) -> None:
        """Kill the student process (and, through its PID namespace or group, everything it started)."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> StudentProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals

    def _spawn(self) -> None:
        self.workdir = tempfile.mkdtemp(prefix="toynet-student-")
        work = Path(self.workdir)
        shutil.copy(HERE / "child.py", work / "child.py")
        shutil.copy(HERE / "protocol.py", work / "protocol.py")
        for relative, source in self.toynet_files.items():
            target = work / "lib" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source)
        isolate = _can_isolate()
        user = _nobody() if _is_root() else None
        if user is not None:
            for path in [work, *work.rglob("*")]:
                os.chown(path, *user)
        numpy_site = str(Path(np.__file__).resolve().parent.parent)
        config = {
            "sys_path": [str(work / "lib"), str(work), numpy_site],
            "workdir": str(work),
            "cells": self.cells,
            "skip": sorted(self.skip),
            "expose": [sys.base_prefix, numpy_site] if isolate else [],
            "hide": self.hide if isolate else [],
            "user": list(user) if user else None,
            "rlimits": {
                "AS": self.limits.memory,
                "CPU": int(self.limits.wall_clock) + 1,
                "FSIZE": self.limits.file_size,
                "CORE": 0,
                **({"NPROC": self.limits.processes} if user else {}),
            },
        }
        command = [sys.executable, "-I", "-S", "-u", str(work / "child.py")]
        if isolate:
            command = ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "--kill-child", *command]
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        command += [str(to_child_r), str(from_child_w)]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            **{name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        }
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(to_child_r, from_child_w),
            start_new_session=True,
            cwd=str(work),
            env=env,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        os.write(self._to_child, json.dumps(config).encode() + b"\n")

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Read everything the student prints so it never blocks; keep only the beginning."""
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(65536):  # type: ignore[attr-defined]
            room = OUTPUT_KEPT - len(self.output)
            self.output += chunk[: max(room, 0)]
            self.output_dropped += max(len(chunk) - max(room, 0), 0)
        proc.stdout.close()

    def _receive(self, timeout: float) -> Any:
        """The next message from the child, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SubmissionFault(f"no answer within {timeout:g} s (infinite loop or too slow): stopped")
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise SubmissionFault(self._death_reason())
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                raise SubmissionFault(f"an answer larger than {MAX_MESSAGE >> 20} MB was refused")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return protocol.loads(line)
        except protocol.ProtocolError as error:
            raise SubmissionFault(f"the answer was not plain data: {error}") from None

    def _death_reason(self) -> str:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "the student process closed its channel"
        if code < 0 or code >= 128:
            number = -code if code < 0 else code - 128
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            hint = {"SIGSEGV": " (segmentation fault)", "SIGXCPU": " (CPU limit)", "SIGKILL": " (killed)"}
            return f"the student process died from signal {name}{hint.get(name, '')}"
        return f"the student process exited with code {code} (sys.exit/os._exit or a crash)"
