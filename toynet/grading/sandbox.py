"""Run one submission in its own unprivileged process, with limits, and talk to it in plain data.

What the student process can see is an allowlist (`isolation()` says which mode this machine gives; the
allowlist is one list, `runtime_mounts`, whichever mode applies it; docs/GRADING.md, "Isolation", has the
whole picture):
- "namespaces" (the grader is root and may create namespaces): new network, mount, PID, IPC and UTS
  namespaces; the child builds a root of its own on an empty tmpfs holding, read-only, exactly the Python
  standard library, the shared libraries the interpreter maps, at /site numpy, matplotlib, tqdm, the
  assignment's packages (with what they require) and the IPython shim, and the student's toynet copy
  (/sandbox/lib), plus a private, size-limited /sandbox (its working folder), /tmp, /dev/shm, a few /dev nodes
  and its own /proc; then pivot_root detaches everything else. Nothing of the reference, the repository, the
  bundle, the grader's output or other students exists in that root. Killing the child ends the PID
  namespace, and every process the submission started with it.
- "userns" (not root, unprivileged user namespaces allowed): the same namespaces and the same root, inside a
  user namespace of the child's own; once the root is built it gives up every capability, and Landlock keeps
  its writes to its private folders. There is no uid to switch to: the PID namespace is what `close` ends.
- "landlock" (root, namespaces refused, as in a default Docker container): the child sees the host's paths,
  but Landlock lets it read (and run) only the allowlist (numpy through work/site) and write only its own work
  folder; on close every process of its uid is killed and what that uid left in the shared folders and in
  SysV IPC is removed.
- "permissions" (root, neither namespaces nor Landlock) and "none" (not root, no user namespaces): Unix
  permissions and resource limits only; `toynet grade` refuses untrusted work there.
In the root modes each submission gets a distinct unprivileged uid from a reserved range (`student_identity`),
so `--jobs N` submissions cannot signal or read each other; in every mode RLIMIT_AS / CPU / FSIZE / CORE apply,
and but for "none" RLIMIT_NPROC, no_new_privs and the seccomp filter (child.py: no new namespaces, no socket but
Unix ones, no SysV IPC, POSIX queues, keyrings or io_uring).
Where cgroups can be had (cgroup v1 as root, or a delegated cgroup v2 group: cgroups.py), each submission also
gets its own: one CPU and `memory` bytes for all its processes together (60 spinning processes cannot starve a
classmate graded beside them, 64 processes cannot hold 64 GB), and the list of its processes that `close`
kills, however they detached.
The student's toynet is `gives.student_toynet(...)`: the objects the assignment gives and what they need;
every other name raises ImportError. Its own code cells and the inputs of each call are all it receives:
never tests or expected values.
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import platform
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from toynet.grading import protocol
from toynet.grading.cgroups import bounds
from toynet.grading.child import SECCOMP_ARCH
from toynet.grading.confinement import (
    SANDBOX_SITE,
    SHIM,
    UNSHARE,
    USERNS_UNSHARE,
    SubmissionGroups,
    cgroup_parents,
    cgroup_v2_parent,
    exposed_paths,
    is_root,
    isolation,
    kill_identity,
    landlock_abi,
    landlock_allowlist,
    remove_files_of,
    remove_ipc_of,
    runtime_mounts,
    student_devices,
    student_identity,
)

HERE = Path(__file__).resolve().parent
MAX_MESSAGE = 64 * 1024 * 1024  # one answer line; a bigger one is refused
OUTPUT_KEPT = 16 * 1024  # bytes of the student's printed output kept for feedback (the rest is drained)
SCRATCH_BYTES = 64 << 20  # size of each private tmpfs (/sandbox, /tmp, /dev/shm) in namespaces mode
SANDBOX_HOME = "/sandbox"  # the student's working folder inside its own root
WHERE_PARSED = 64_000  # characters of a cell the grader parses to name a stopped statement (~40 MB at worst)


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
        """One line saying which isolation this machine gives a submission, and what bounds it."""
        mode = isolation()
        shared = "; " + bounds()
        refused = "; sockets other than Unix ones, SysV IPC, POSIX queues and keyrings refused (seccomp)"
        if mode == "namespaces":
            return ("isolated: own root holding only Python, numpy and the student's toynet (no network, own "
                    "PID/mount/IPC namespaces), a distinct unprivileged uid per submission, rlimits" + refused + shared)
        if mode == "userns":
            return ("isolated without root: own user namespace (no capabilities) and root holding only Python, numpy "
                    "and the student's toynet (no network, own PID/mount/IPC namespaces), Landlock, rlimits"
                    + refused + shared)
        if mode == "landlock" and not is_root():
            return ("isolated without root or namespaces: Landlock lets it read only Python, numpy and the "
                    "student's toynet, write only its own folder and signal nothing outside it; it runs as your "
                    "uid, rlimits" + refused + shared)
        if mode == "landlock":
            return ("isolated without namespaces (a container): Landlock lets it read only Python, numpy and the "
                    "student's toynet and write only its own folder, a distinct unprivileged uid per submission, "
                    "rlimits" + refused + "; what its uid leaves in shared folders is removed" + shared)
        if mode == "permissions":
            return ("NOT isolated: namespaces refused and no Landlock here, Unix permissions only (a distinct "
                    "unprivileged uid per submission, rlimits)" + shared)
        return "NOT isolated (grader not root, no user namespaces): rlimits only; the submission runs as your user"


class SubmissionFault(Exception):
    """The student process failed to answer: timeout, crash, exit, or an answer that is not plain data.

    `reason` is the grader's own wording of what happened; `detail` may quote student-controlled data and is
    always truncated to DETAIL_CHARS. Neither is shown under a hidden test.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, shorten(detail, DETAIL_CHARS)
        super().__init__(f"{reason}: {self.detail}" if self.detail else reason)


class RemoteError(Exception):
    """The student's code raised; `str(error)` is the student's traceback (may contain the call's inputs).

    `remote_error` makes it an instance of the builtin exception the student's code raised as well (a
    RemoteError that is a KeyError, say), so `hasattr`, `pytest.raises(ValueError)` and `except KeyError`
    in a test behave as in the student's kernel.
    """


_REMOTE_ERRORS: dict[str, type[RemoteError]] = {}
_NOT_MIRRORED = ("AssertionError",)  # the student's failed assert is its error, not the test's


def remote_error(kind: object, text: str) -> RemoteError:
    """A RemoteError for the student's `kind` of exception (a builtin's name; anything else is a plain one)."""
    import builtins

    base = getattr(builtins, kind, None) if isinstance(kind, str) and kind not in _NOT_MIRRORED else None
    if isinstance(base, type) and issubclass(base, Exception) and not issubclass(base, RemoteError):
        if kind not in _REMOTE_ERRORS:
            try:
                _REMOTE_ERRORS[str(kind)] = type(f"Remote{kind}", (RemoteError, base), {})
            except TypeError:  # a layout that cannot be combined
                _REMOTE_ERRORS[str(kind)] = RemoteError
        try:
            return _REMOTE_ERRORS[str(kind)](text)
        except TypeError:  # an exception whose constructor needs more (UnicodeDecodeError)
            pass
    return RemoteError(text)


DETAIL_CHARS = 300  # student-controlled text quoted inside a grader message
TRACEBACK_CHARS = 2000  # a student's traceback or error message, as shown
MAX_NOTES = 20


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters of `text` (its end, where a traceback says what went wrong)."""
    return text if len(text) <= limit else f"[{len(text) - limit} characters cut]..." + text[-limit:]


@dataclass
class CellReport:
    """How one code cell of the submission ran: its number as the notebook shows it, and what went wrong."""

    index: int
    error: str | None = None
    number: int = 0  # 1-based position among all the notebook's cells (0: not known, use index + 1)
    stopped: list[str] = field(default_factory=list)  # statements stopped and skipped, with the reason

    def describe(self) -> str | None:
        """The feedback for this cell, or None when it ran cleanly."""
        parts = [*self.stopped, *([f"raised:\n{self.error}"] if self.error else [])]
        return f"cell {self.number or self.index + 1} " + "\n".join(parts) if parts else None


@dataclass
class Startup:
    """What happened while the notebook's cells ran: per-cell errors and any sandbox notes."""

    cells: list[CellReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_int(value: object) -> bool:
    return type(value) is int


def isolation_problems(private: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Why untrusted submissions cannot be graded safely here ([] when they can).

    private: what a student must not read (the bundle, the output folder, the submissions' folders); the real
    toynet package is always added. In "namespaces" and "userns" modes none of it is in the student's root;
    in "landlock" mode Landlock keeps the student to the allowlist, but the allowlist itself must be readable
    by a student uid; "permissions" (neither namespaces nor Landlock) and "none" are refused.
    """
    mode = isolation()
    if mode == "none":
        return ["the grader is not root and this machine refuses unprivileged user namespaces, so each "
                "submission would run as your own user and could read, change or kill anything you can "
                "(run `toynet grade` as root, or where user namespaces are allowed)"]
    problems = [] if (failure := self_test()) is None else [failure]
    if mode in ("userns", "landlock") and platform.machine() not in SECCOMP_ARCH:
        problems.append(f"the seccomp filter has no system call table for {platform.machine()}: without a network "
                        "namespace of its own a submission would reach the network")
    if mode in ("namespaces", "userns"):
        return problems
    import toynet

    if mode == "permissions":
        problems.insert(0, "namespaces are refused and this kernel has no Landlock, so only Unix permissions would "
                           "keep a submission from the grader's files, the network and the machine's shared folders")
        secret = [*private, Path(toynet.__file__).resolve().parent]
        problems += [f"{path} is readable by other users (chmod go-rwx it, or a folder above it)"
                     for path in exposed_paths(secret)]
    if not is_root():  # Landlocked as the TA's own uid: what the TA runs, the submission may
        return problems
    needed = [os.path.realpath(sys.executable), str(Path(np.__file__).resolve().parent)]
    unreadable = sorted(set(needed) - set(exposed_paths(needed)))
    problems += [f"{path} is not readable by other users: student code could not run" for path in unreadable]
    return problems


def self_test() -> str | None:
    """None if a trivial submission runs in this machine's sandbox; else why not (so no class scores 0 for it)."""
    with StudentProcess(["def answer():\n    return 42"], Limits(), {}) as process:
        try:
            process.start()
            if process.call("answer", [], {}, timeout=10) == 42:
                return None
            problem = "it answered wrongly"
        except (SubmissionFault, RemoteError) as error:
            problem = str(error)
        printed = process.printed_so_far()[-1000:].strip()
    return f"the sandbox cannot run a trivial submission here: {problem}" + (f"\n{printed}" if printed else "")


# ---------------------------------------------------------------- the process


class StudentProcess:
    """One submission's code running in a sandboxed child; `call` sends inputs and returns decoded answers.

    hide: grader paths the student must not see. None of them is in the student's root ("namespaces" mode);
    in "permissions" mode `toynet grade` checks them with `exposed_paths` before grading starts.
    pauses: indices into `cells` before which the process stops: `start` runs the cells up to the first of
    them, and each `resume` up to the next (the tests placed there run between); the last runs every cell.
    """

    def __init__(
        self,
        cells: Sequence[str | tuple[int, str]],
        limits: Limits,
        toynet_files: dict[str, str],
        hide: Sequence[str | os.PathLike[str]] = (),
        packages: Sequence[str] = (),
        pauses: Sequence[int] = (),
    ) -> None:
        # each cell as (its number in the notebook, its source); a bare source is numbered by position
        self.cells = [(c[0], c[1]) if isinstance(c, tuple) else (n, c) for n, c in enumerate(cells, start=1)]
        self.limits, self.toynet_files = limits, toynet_files
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.packages = tuple(packages)  # importable beyond numpy, matplotlib and tqdm (the assignment's config)
        self.spawned = 0  # processes started so far: a handle names an object of one of them
        self.skip: set[tuple[int, int]] = set()  # (cell, statement) that hung or killed the process (-1: the cell)
        self.output = bytearray()  # the first OUTPUT_KEPT bytes the student printed
        self.output_dropped = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.workdir: str | None = None
        self.startup = Startup()
        self.restarts = 0
        # Cells before which the process stops so the tests placed there run (see `resume`), and where the
        # running process stops next: a pause, or len(cells) (every cell has run, "ready").
        self.pauses = sorted({p for p in pauses if 0 <= p < len(self.cells)})
        self.target = self.pauses[0] if self.pauses else len(self.cells)
        self._reports: dict[int, CellReport] = {}
        self._last = -1  # the last cell the running process started
        self._current: int | None = None  # the cell running now, and its statement
        self._statement = -1
        self.deadline = math.inf  # monotonic time when the submission's wall clock runs out
        self.identity: tuple[int, int] | None = None  # the uid/gid of the running child (root graders only)
        self.groups: SubmissionGroups | None = None
        self.mode = "none"

    # -- lifecycle

    def start(self, deadline: float | None = None) -> Startup:
        """Run the cells up to the first pause, or all of them (restarting past any statement that hangs or kills
        the process); return their reports so far.

        `deadline` (time.monotonic()) bounds everything this process does from now on, restarts included.
        Every message is checked: an event out of order or of the wrong shape is a SubmissionFault, which
        costs the statement that was running (or, outside any cell, the whole start).
        """
        if deadline is not None:
            self.deadline = deadline
        return self._advance(spawn=True)

    def resume(self) -> Startup:
        """From the pause where the process stands, run the cells up to the next pause, or to the end.

        A process that died at the pause (a test's call may end it) is started again: its cells rerun up to
        the next pause, so the tests there see the state after the cells before them, as in Jupyter.
        """
        if self.target >= len(self.cells):
            raise ValueError("every cell has run: there is no pause to resume from")
        self.target = next((p for p in self.pauses if p > self.target), len(self.cells))
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            return self._advance(spawn=True)
        try:
            self._send(protocol.dumps({"op": "resume"}), max(self.limits.cell_timeout, 1.0))
            answer = self._checked_answer(self._receive(self.limits.cell_timeout))
            if answer["ok"] is not True:
                raise SubmissionFault("the student process refused to resume", shorten(answer["error"], 80))
        except SubmissionFault:
            self.close()
            return self._advance(spawn=True)
        return self._advance(spawn=False)

    def _advance(self, spawn: bool) -> Startup:
        """Run cells until the process stands at `self.target` (a pause, or the end), restarting past any
        statement that hangs or kills it: a restart reruns the cells from the first one, up to the target."""
        while True:
            self._current, self._statement = None, -1
            try:
                if spawn:
                    self._spawn_greeted()
                self._events_until_target()
            except SubmissionFault as fault:
                self.close()
                current, statement = self._current, self._statement
                if time.monotonic() >= self.deadline:
                    raise SubmissionFault(self._wall_clock_note(current, statement)) from None
                if current is None or self.restarts >= self.limits_restarts:
                    raise SubmissionFault("the notebook could not be started", str(fault)) from None
                report = self._reports.setdefault(current, CellReport(current, number=self.cells[current][0]))
                report.stopped.append(f"{self._where(current, statement)} was stopped and skipped: {fault}")
                self.skip.add((current, statement))
                self.restarts += 1
                spawn = True
                continue
            self.startup.cells = [self._reports[i] for i in sorted(self._reports)]
            return self.startup

    def _spawn_greeted(self) -> None:
        """A fresh process, once it reported its sandbox."""
        self._spawn()
        self._last = -1
        sandbox = self._receive(self.limits.cell_timeout)
        if not isinstance(sandbox, dict) or sandbox.get("event") != "sandbox" \
                or not isinstance(sandbox.get("notes"), list):
            raise SubmissionFault("the student process sent a malformed message", "expected the sandbox report")
        self.startup.notes = [shorten(str(n), DETAIL_CHARS) for n in sandbox["notes"][:MAX_NOTES]]

    def _events_until_target(self) -> None:
        """Follow the cells' events (start, statement, cell) until the pause at `self.target`, or "ready" when
        the target is the end; anything else, or anything out of order, is a SubmissionFault."""
        cell_started = time.monotonic()
        while True:
            budget = self.limits.cell_timeout - (time.monotonic() - cell_started) if self._current is not None \
                else self.limits.cell_timeout
            event = self._receive(max(budget, 0.0), stated=self.limits.cell_timeout)
            kind = event.get("event") if isinstance(event, dict) else None
            index: Any = event.get("index") if isinstance(event, dict) else None
            idle = self._current is None
            if kind == "start" and idle and _is_int(index) and self._last < index < self.target:
                self._current, self._statement, self._last, cell_started = index, -1, index, time.monotonic()
            elif kind == "statement" and not idle and index == self._current \
                    and _is_int(event.get("statement")) and event["statement"] > self._statement:
                self._statement = event["statement"]
            elif kind == "cell" and not idle and index == self._current \
                    and (event.get("error") is None or isinstance(event.get("error"), str)):
                report = self._reports.setdefault(index, CellReport(index, number=self.cells[index][0]))
                report.error = shorten(event["error"], TRACEBACK_CHARS) if event["error"] else None
                self._current = None
            elif idle and ((kind == "pause" and _is_int(index) and index == self.target < len(self.cells))
                           or (kind == "ready" and self.target == len(self.cells))):
                return
            else:
                raise SubmissionFault("the student process sent a malformed message",
                                      f"unexpected {shorten(repr(event), 80)}")

    @property
    def limits_restarts(self) -> int:
        """Restarts allowed past hanging or crashing statements (each reruns the cells before them)."""
        return 2 * len(self.cells) + 2

    def _where(self, index: int, statement: int) -> str:
        """'the statement at line 3 (`while True:`)' or 'the cell', from the grader's own copy of the source.

        The grader parses a cell only up to WHERE_PARSED characters: a parse takes hundreds of times its
        source in memory (5 MB of source once took 2.4 GB), and a longer cell is named by its statement alone.
        Lines are split by protocol.source_lines, as the student process splits them.
        """
        if statement < 0:
            return "the cell"
        source = self.cells[index][1]
        if len(source) > WHERE_PARSED:
            return f"statement {statement + 1}"
        import ast

        try:
            node = ast.parse(source).body[statement]
            text = protocol.source_lines(source)[node.lineno - 1].strip()
            return f"the statement at line {node.lineno} (`{shorten(text, 60)}`)"
        except (SyntaxError, IndexError, ValueError, RecursionError, MemoryError):
            return f"statement {statement + 1}"

    def _wall_clock_note(self, index: int | None, statement: int) -> str:
        where = "" if index is None else f" while cell {self.cells[index][0]} ran ({self._where(index, statement)})"
        return f"the wall-clock limit of {self.limits.wall_clock:g} s was reached{where}: stopped"

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], timeout: float) -> Any:
        """Call `name(*args, **kwargs)` (a dotted name in the notebook's globals) with plain data; return the answer.

        Raises RemoteError when the student's code raised, SubmissionFault when the process hung (it is
        killed), died, or answered with something that is not a well-formed answer of plain data.
        """
        answer = self.exchange({"op": "call", "target": name, "args": list(args), "kwargs": dict(kwargs)}, timeout)
        if answer["ok"]:
            return answer["value"]
        raise remote_error(answer.get("type"), answer["error"])

    def exchange(self, request: dict[str, Any], timeout: float, refer: protocol.Refer | None = None,
                 resolve: protocol.Resolve | None = None,
                 callback: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
        """Send one request; serve the student's callbacks until its answer comes; return that answer.

        The answer is {"ok": True, "value", "changed"} or {"ok": False, "error", "type"}, checked. `refer` and
        `resolve` turn what is not data into references and back; `callback(message)` answers a
        {"callback": N, "args", "kwargs"} message from the student's code (it may itself make requests: this
        is reentrant). Everything, callbacks included, happens within `timeout` seconds of now.
        """
        deadline = time.monotonic() + min(timeout, self.deadline - time.monotonic())
        if deadline <= time.monotonic():
            raise SubmissionFault(f"the wall-clock limit of {self.limits.wall_clock:g} s was reached: stopped")
        if self.proc is None or self.proc.poll() is not None:
            self.close()
            self.start()
        try:
            self._send(protocol.dumps(request, refer), max(deadline - time.monotonic(), 0.0))
            while True:
                message = self._receive(max(deadline - time.monotonic(), 0.0), stated=timeout, resolve=resolve)
                if isinstance(message, dict) and set(message) == {"callback", "args", "kwargs"} \
                        and callback is not None:
                    reply = callback(message)
                    self._send(protocol.dumps(reply, refer), max(deadline - time.monotonic(), 0.0))
                    continue
                return self._checked_answer(message)
        except SubmissionFault:
            self.close()
            raise

    def _checked_answer(self, answer: Any) -> dict[str, Any]:
        ok = answer.get("ok") if isinstance(answer, dict) else None
        if ok is True and set(answer) <= {"ok", "value", "changed", "names"} and "value" in answer \
                and isinstance(answer.get("changed", []), list):
            return answer
        if ok is False and set(answer) <= {"ok", "error", "type"} and isinstance(answer.get("error"), str):
            return answer
        raise SubmissionFault("the student process sent a malformed answer",
                              f"expected {{ok, value}} or {{ok, error}}, got {shorten(repr(answer), 80)}")

    def printed_so_far(self, settle: float = 0.02, limit: float = 0.5) -> str:
        """The student's printed output read so far, once the drain has caught up (no new bytes for `settle` s)."""
        deadline, size = time.monotonic() + limit, -1
        while len(self.output) + self.output_dropped != size and time.monotonic() < deadline:
            size = len(self.output) + self.output_dropped
            time.sleep(settle)
        return bytes(self.output).decode(errors="replace")

    def close(self) -> None:
        """Kill the student process and everything it started (its PID namespace, or every process of its uid)."""
        if self.proc is not None:
            if self.groups is not None:
                self.groups.signal()  # first, so they die while the rest is torn down
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
        if self.identity is not None:
            # Daemons that left the process group and cleared their parent-death signal: in "namespaces"
            # mode such a process is the PID namespace's init and would keep it (and its memory) alive.
            # Its cgroups list every one of them; without them, every process of its uid is killed.
            if self.groups is not None:
                self.groups.release()
            else:
                kill_identity(*self.identity)
            if self.mode in ("permissions", "landlock"):
                remove_files_of(self.identity[0])
                remove_ipc_of(self.identity[0])
        self.groups = None
        self.identity = None
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
        shutil.copy(HERE / "serve.py", work / "serve.py")
        # The IPython shim and the matplotlib backend, copied like protocol.py: the installed package may be
        # readable by its owner only (Gradescope's setup makes it so).
        shutil.copytree(SHIM, work / "site", ignore=_shim_ignores)
        self.spawned += 1
        fonts = font_cache()
        (work / "lib").mkdir()
        for relative, source in self.toynet_files.items():
            target = work / "lib" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source)
        self.mode = isolation()
        # A uid of its own where the grader is root; a TA's submissions run as the TA (in a user namespace,
        # or Landlocked with signals scoped and a cgroup v2 group to kill them by).
        self.identity = student_identity() if self.mode in ("namespaces", "landlock", "permissions") \
            and is_root() else None
        config: dict[str, Any] = {"root": None, "landlock": None, "drop_capabilities": self.mode == "userns",
                                  "confine": self.mode != "none"}
        if self.mode in ("namespaces", "userns"):
            config.update(self._own_root(work, fonts))
        else:
            config.update(self._host_paths(work, fonts))
        if self.mode != "none" and (cgroup_parents() or cgroup_v2_parent() is not None):
            try:
                self.groups = SubmissionGroups(f"toynet-{os.getpid()}-{work.name}", self.limits.memory,
                                               self.limits.processes)
            except OSError:  # a cgroup the kernel refused: per-process limits still hold
                self.groups = None
        own_root = self.mode in ("namespaces", "userns")
        inside_fonts = (f"{SANDBOX_SITE}/_toynet_{fonts[1]}" if own_root else fonts[0]) if fonts else None
        config.update({
            "font_cache": [inside_fonts, fonts[1]] if fonts else None,
            "cgroups": [] if self.groups is None else self.groups.procs,
            "workdir": str(work),
            "cells": [[number, source] for number, source in self.cells],
            "skip": sorted(self.skip),
            "pauses": [p for p in self.pauses if p >= self.target],
            "user": list(self.identity) if self.identity else None,
            "rlimits": {
                "AS": self.limits.memory,
                "CPU": int(self.limits.wall_clock) + 1,
                "FSIZE": self.limits.file_size,
                "CORE": 0,
                # per uid: a TA's own processes would count too where the submission runs as the TA
                **({"NPROC": self.limits.processes} if self.identity or self.mode == "userns" else {}),
            },
        })
        self._start_child(work, config)

    def _own_root(self, work: Path, fonts: tuple[str, str] | None) -> dict[str, Any]:
        """Config for a child that builds its own root from the allowlist ("namespaces" and "userns" modes)."""
        for path in [work / "protocol.py", work / "serve.py", work / "lib", *(work / "lib").rglob("*"),
                     work / "site", *(work / "site").rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)  # readable in the student's root whatever the umask
        # The child builds its root from these and pivots into it; the host work folder is not in it.
        mounts, empty = runtime_mounts(tuple(self.packages))
        root = {
            "mounts": [
                *mounts,
                (str(work / "lib"), f"{SANDBOX_HOME}/lib"),
                (str(work / "protocol.py"), f"{SANDBOX_HOME}/protocol.py"),
                (str(work / "serve.py"), f"{SANDBOX_HOME}/serve.py"),
                *((str(path), f"{SANDBOX_SITE}/{path.name}") for path in sorted((work / "site").iterdir())),
                *([(fonts[0], f"{SANDBOX_SITE}/_toynet_{fonts[1]}")] if fonts else []),
            ],
            "empty": empty,
            "devices": student_devices(),
            "scratch": SCRATCH_BYTES,
            "links": {p: os.readlink(p) for p in ("/lib", "/lib64", "/bin", "/sbin") if os.path.islink(p)},
        }
        # Without a uid of its own (a user namespace), Landlock keeps writes to the private tmpfs folders.
        landlock = None if self.mode == "namespaces" or landlock_abi() < 1 else {
            "read": ["/"], "write": [SANDBOX_HOME, "/tmp", "/dev/shm"], "devices": student_devices()}
        return {"root": root, "landlock": landlock, "home": SANDBOX_HOME,
                "sys_path": [f"{SANDBOX_HOME}/lib", SANDBOX_HOME, SANDBOX_SITE]}

    def _host_paths(self, work: Path, fonts: tuple[str, str] | None) -> dict[str, Any]:
        """Config for a child that sees the host's paths: Landlock keeps it to the allowlist ("landlock"), or
        Unix permissions alone do ("permissions"). The allowlist's /site entries show in work/site (beside the
        IPython shim copied there), as at /site in the student's root."""
        mounts, _ = runtime_mounts(tuple(self.packages))
        site = work / "site"
        site.mkdir(exist_ok=True)
        for host, inside in mounts:
            if inside.startswith(SANDBOX_SITE + "/"):
                (site / inside[len(SANDBOX_SITE) + 1:]).symlink_to(host)
        (work / "tmp").mkdir()  # TMPDIR: the shared /tmp is not the student's to write (Landlock)
        if self.identity is not None:  # Unix permissions: the folder is the student's alone (mode 0700)
            for path in [work, *work.rglob("*")]:
                os.chown(path, *self.identity, follow_symlinks=False)
        landlock = None
        if self.mode == "landlock":
            landlock = landlock_allowlist([str(work)], tuple(self.packages))
            landlock["read"] += [fonts[0]] if fonts else []
        return {"landlock": landlock, "home": str(work), "sys_path": [str(work / "lib"), str(work), str(site)]}

    def _start_child(self, work: Path, config: dict[str, Any]) -> None:
        home = config["home"]
        # The real interpreter, not the venv's link to it: `-I -S` ignores the venv anyway.
        command = [os.path.realpath(sys.executable), "-I", "-S", "-u", str(work / "child.py")]
        if self.mode in ("namespaces", "userns"):
            command = [*(UNSHARE if self.mode == "namespaces" else USERNS_UNSHARE), *command]
        if shutil.which("setpriv") is not None:  # the grader dying (even by SIGKILL) kills the submission too
            command = ["setpriv", "--pdeathsig", "KILL", *command]
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        command += [str(to_child_r), str(from_child_w)]
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": "/tmp" if config["root"] is not None else str(work / "tmp"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "module://_toynet_backend",  # Agg, whose show() discards the figures
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
        self._buffer = bytearray()
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        os.set_blocking(self._to_child, False)
        self._send(json.dumps(config).encode() + b"\n", max(self.limits.cell_timeout, 1.0))

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        """Read everything the student prints so it never blocks; keep only the beginning."""
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(65536):  # type: ignore[attr-defined]
            room = OUTPUT_KEPT - len(self.output)
            self.output += chunk[: max(room, 0)]
            self.output_dropped += max(len(chunk) - max(room, 0), 0)
        proc.stdout.close()

    def _send(self, data: bytes, timeout: float) -> None:
        """Write one request, waiting at most `timeout` s: a child that stops reading cannot block the grader."""
        view, deadline = memoryview(data), time.monotonic() + timeout
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SubmissionFault(f"no answer within {timeout:g} s (the student process stopped reading)")
            _, ready, _ = select.select([], [self._to_child], [], remaining)
            if not ready:
                continue
            try:
                view = view[os.write(self._to_child, view[: 1 << 16]) :]
            except BlockingIOError:
                continue
            except OSError:
                raise SubmissionFault(self._death_reason()) from None

    def _receive(self, timeout: float, stated: float | None = None, resolve: protocol.Resolve | None = None) -> Any:
        """The next message from the child, waiting at most `timeout` seconds (and never past the deadline).

        `stated`: the limit to name if time runs out (a cell's whole limit, when `timeout` is what is left of it).

        A line longer than protocol.MAX_LINE is refused as soon as that many bytes have arrived, before any
        of it is parsed; parsing bounds the number of values (see protocol.loads).
        """
        timeout = max(min(timeout, self.deadline - time.monotonic()), 0.0)
        deadline = time.monotonic() + timeout
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > protocol.MAX_LINE:
                raise SubmissionFault(f"an answer larger than {protocol.MAX_LINE >> 20} MB was refused")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if time.monotonic() >= self.deadline:
                    raise SubmissionFault(f"the wall-clock limit of {self.limits.wall_clock:g} s was reached: stopped")
                waited = stated or timeout
                raise SubmissionFault(f"no answer within {waited:.3g} s (infinite loop or too slow): stopped")
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise SubmissionFault(self._death_reason())
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        try:
            return protocol.loads(line, resolve)
        except protocol.ProtocolError as error:
            raise SubmissionFault("the answer was not plain data", str(error)) from None

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


def _shim_ignores(folder: str, names: list[str]) -> set[str]:
    """What of sandbox_site is not copied: caches, and its own __init__ (it is a folder of modules there)."""
    return {n for n in names if n == "__pycache__" or (n == "__init__.py" and Path(folder) == SHIM)}


@functools.lru_cache(maxsize=1)
def font_cache() -> tuple[str, str] | None:
    """(a file, its name in MPLCONFIGDIR): matplotlib's font list, made once here for every student process.

    Only matplotlib's own fonts are listed (the machine's are not in the student's root); their paths are
    relative to matplotlib's data folder, so the list holds wherever matplotlib is mounted. Without it each
    submission that imports matplotlib would rebuild it. None when matplotlib cannot make one.
    """
    try:
        from matplotlib import font_manager
    except ImportError:
        return None
    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    folder = Path(tempfile.mkdtemp(prefix="toynet-fonts-"))
    os.chmod(folder, 0o755)
    path = folder / name
    font_manager.json_dump(font_manager.fontManager, path)
    listing = json.loads(path.read_text())
    for key in ("ttflist", "afmlist"):
        listing[key] = [font for font in listing.get(key, []) if not os.path.isabs(font.get("fname", "/"))]
    path.write_text(json.dumps(listing))
    os.chmod(path, 0o644)
    atexit.register(shutil.rmtree, folder, True)
    return str(path), name
