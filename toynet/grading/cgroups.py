"""Control groups: what bounds all of a submission's processes together, and the list `close` kills from.

- cgroup v1 (`cgroup_parents`): where root may write the cpu and memory controllers' groups.
- cgroup v2 (`cgroup_v2_parent`): where the grader's group is delegated to it; memory.max, pids.max and cpu.max
  for whichever controllers that group has, and cgroup.kill.
- `SubmissionGroups`: one submission's groups; `bounds()` says in one clause which of these hold here.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

CGROUP_V1 = Path("/sys/fs/cgroup")  # one folder per controller (cgroup v1); "cpu" may be "cpu,cpuacct"
CGROUP_FILES = {"cpu": "cpu.cfs_quota_us", "memory": "memory.limit_in_bytes"}


@functools.lru_cache(maxsize=1)
def cgroup_parents() -> dict[str, Path]:
    """{controller: the grader's own group}, for the cgroup-v1 cpu and memory controllers root may write to.

    Each submission gets a group below it (`SubmissionGroups`). Where one is missing (cgroup v2 only, or a
    container that hides /sys/fs/cgroup) nothing bounds what the submission's processes use *together*:
    RLIMIT_AS and RLIMIT_CPU bound each process, RLIMIT_NPROC their number.
    """
    if not (sys.platform.startswith("linux") and os.geteuid() == 0):
        return {}
    try:
        with open("/proc/self/cgroup") as groups:
            own = {controller: fields[2].strip() for line in groups if len(fields := line.split(":", 2)) == 3
                   for controller in fields[1].split(",")}
    except OSError:
        return {}
    parents = {}
    for controller, probe in CGROUP_FILES.items():
        for folder in (CGROUP_V1 / controller, CGROUP_V1 / f"{controller},cpuacct"):
            parent = folder / own.get(controller, "/").lstrip("/")
            if (parent / probe).is_file() and os.access(parent, os.W_OK):
                parents[controller] = parent
                _remove_stale_groups(parent)
                break
    return parents


def _remove_stale_groups(parent: Path, age: float = 3600.0) -> None:
    """Remove the empty groups of graders that died before they could (named toynet-<grader pid>-...).

    Only groups older than `age` seconds: a live grader in another PID namespace (its pid not in this /proc)
    may have just made one that its student process has not joined yet.
    """
    for group in parent.glob("toynet-*-*"):
        pid = group.name.split("-")[1]
        try:
            if pid.isdigit() and not Path(f"/proc/{pid}").exists() and time.time() - group.stat().st_mtime > age:
                group.rmdir()
        except OSError:
            pass


class SubmissionGroups:
    """One student process's cgroups: at most one CPU and `memory` bytes (tmpfs pages included) for all its
    processes together (and, with cgroup v2, at most `processes` of them), and a list of every one of them
    (however it detached itself), so `kill` misses none.

    cgroup v1 where root may write its cpu and memory controllers (`cgroup_parents`); else cgroup v2 where the
    grader's group is delegated to it (`cgroup_v2_parent`): one group with memory.max, pids.max and cpu.max for
    the controllers enabled there, and cgroup.kill. The student process joins them itself, first thing, while
    still root (`child.py`): whatever it starts is born inside, and its uid cannot write to a cgroup file to leave.
    """

    def __init__(self, name: str, memory: int, processes: int = 64) -> None:
        self.paths: list[Path] = []
        try:
            for controller, parent in cgroup_parents().items():
                path = parent / name
                path.mkdir(mode=0o755)
                self.paths.append(path)
                if controller == "cpu":
                    period = int((path / "cpu.cfs_period_us").read_text())
                    (path / "cpu.cfs_quota_us").write_text(str(period))
                else:
                    (path / "memory.limit_in_bytes").write_text(str(memory))
            v2 = None if self.paths else cgroup_v2_parent()
            if v2 is not None:
                self.paths.append(v2 / name)
                self.paths[0].mkdir(mode=0o755)
                write_v2_limits(self.paths[0], v2_controllers(v2), memory, processes)
        except OSError:
            self.release()
            raise
        remove_released_groups()

    @property
    def procs(self) -> list[str]:
        """The files the student process writes "0" to, to join each group."""
        return [str(path / "cgroup.procs") for path in self.paths]

    def signal(self) -> None:
        """SIGKILL every process in the groups (each is in all of them: the first group's list is enough).

        cgroup v2's cgroup.kill (Linux 5.14+) kills them all at once, forks racing the kill included."""
        for path in self.paths[:1]:
            try:
                (path / "cgroup.kill").write_text("1")
                return
            except OSError:  # cgroup v1, or a kernel before 5.14: one process at a time
                pass
            try:
                pids = [int(line) for line in (path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def release(self) -> None:
        """Kill every process in the groups now; remove the groups once empty, without waiting for it here.

        A killed process leaves its group only when its exit is complete (its namespaces torn down, ~15 ms):
        the groups wait in a list that every later `SubmissionGroups` and the grader's exit sweep again.
        """
        self.signal()
        with _PENDING_LOCK:
            _PENDING.append(self)
        remove_released_groups()

    def _remove(self) -> bool:
        """One sweep: kill what is still inside (a fork may have raced the last sweep), remove what is empty."""
        self.signal()
        kept = []
        for path in self.paths:
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:  # still holds a process, even a dying one
                kept.append(path)
        self.paths = kept
        return not kept


_PENDING: list[SubmissionGroups] = []
_PENDING_LOCK = threading.Lock()


def remove_released_groups(wait: float = 0.0) -> None:
    """Remove the released groups that are empty now; with `wait`, keep sweeping for up to that many seconds."""
    deadline = time.monotonic() + wait
    while True:
        with _PENDING_LOCK:
            _PENDING[:] = [group for group in _PENDING if not group._remove()]
            left = bool(_PENDING)
        if not left or time.monotonic() >= deadline:
            return
        time.sleep(0.005)


atexit.register(remove_released_groups, 2.0)


# ---------------------------------------------------------------- cgroup v2

CGROUP_V2_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD = 100_000  # cpu.max's period (µs): a quota of one period per period is one CPU


def own_cgroup_v2(mountinfo: str = "/proc/self/mountinfo", cgroup: str = "/proc/self/cgroup") -> Path | None:
    """This process's cgroup v2 group as a folder (None where no cgroup2 hierarchy is mounted)."""
    try:
        own = next((line.split(":", 2)[2].strip() for line in Path(cgroup).read_text().splitlines()
                    if line.startswith("0::")), None)
        mounts = Path(mountinfo).read_text().splitlines()
    except OSError:
        return None
    if own is None:
        return None
    for line in mounts:
        fields = line.split()
        if " - cgroup2 " not in line or len(fields) < 5:
            continue
        root, point = fields[3], fields[4]  # the mount shows its hierarchy from `root` on
        if own == root or own.startswith(root.rstrip("/") + "/"):
            group = Path(point) / own[len(root):].lstrip("/")
            if (group / "cgroup.procs").is_file():  # not hidden by a later mount over its place
                return group
    return None


def v2_controllers(group: Path) -> list[str]:
    """Which of memory, pids and cpu are enabled for the groups below `group`."""
    try:
        enabled = (group / "cgroup.subtree_control").read_text().split()
    except OSError:
        return []
    return [c for c in CGROUP_V2_CONTROLLERS if c in enabled]


def write_v2_limits(path: Path, controllers: Sequence[str], memory: int, processes: int) -> None:
    """A submission's limits in its cgroup v2 group: each for the controllers enabled above it."""
    if "memory" in controllers:
        (path / "memory.max").write_text(str(memory))
        if (path / "memory.swap.max").exists():
            (path / "memory.swap.max").write_text("0")  # swap would carry memory past memory.max
    if "pids" in controllers:
        (path / "pids.max").write_text(str(processes))
    if "cpu" in controllers:
        (path / "cpu.max").write_text(f"{CPU_PERIOD} {CPU_PERIOD}")


def delegated(group: Path) -> bool:
    """Whether `group` is this grader's to divide: the top of the hierarchy it sees (a container's own cgroup
    namespace, or the machine's), a group its (non-root) user owns, or one systemd marked delegated. Root may
    write any group, but one that systemd manages without Delegate=yes is systemd's, not the grader's."""
    if os.path.ismount(group):
        return True
    try:
        if os.geteuid() != 0 and group.stat().st_uid == os.geteuid():
            return True
    except OSError:
        return False
    for name in ("trusted.delegate", "user.delegate"):  # systemd 251+ marks a Delegate=yes group so
        try:
            if os.getxattr(group, name) == b"1":
                return True
        except OSError:
            pass
    return False


@functools.lru_cache(maxsize=1)
def cgroup_v2_parent() -> Path | None:
    """The grader's cgroup v2 group, when it is delegated to it and no cgroup v1 controllers serve; else None.

    Delegated: the grader may write its group's cgroup.procs and cgroup.subtree_control (`systemd-run --scope
    -p Delegate=yes`, a container with its own cgroup namespace). cgroup v2 lets a group hold processes or
    enable controllers for groups below it, not both: the grader first moves itself into a leaf of its own
    (toynet-<pid>-grader), then enables there whichever of memory, pids and cpu its group has.
    """
    if cgroup_parents() or (group := own_cgroup_v2()) is None or not delegated(group):
        return None
    if not all(os.access(group / name, os.W_OK) for name in ("cgroup.procs", "cgroup.subtree_control")):
        return None
    try:
        leaf = group / f"toynet-{os.getpid()}-grader"
        leaf.mkdir(mode=0o755, exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        available = (group / "cgroup.controllers").read_text().split()
        wanted = [c for c in CGROUP_V2_CONTROLLERS if c in available]
        if wanted:
            (group / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
    except OSError:  # another process in the group (not a leaf), or no right to enable: groups still kill
        pass
    _remove_stale_groups(group)
    return group


def bounds() -> str:
    """What bounds all of a submission's processes together on this machine, in one clause."""
    if {"cpu", "memory"} <= set(cgroup_parents()):
        return "one CPU and the memory limit for all of a submission's processes together (cgroup v1)"
    per_process = ("each process is bounded by RLIMIT_AS and RLIMIT_CPU, their number by RLIMIT_NPROC (per "
                   "uid), its scratch folders by their size")
    parent = cgroup_v2_parent()
    if parent is not None:
        enabled = v2_controllers(parent)
        files = {"memory": "memory.max", "pids": "pids.max", "cpu": "cpu.max (one CPU)"}
        missing = [c for c in CGROUP_V2_CONTROLLERS if c not in enabled]
        text = f"cgroup v2 group {parent} delegated: " + (
            ", ".join(files[c] for c in enabled) + " for all of a submission's processes together, " if enabled
            else "") + "its processes listed and killed together (cgroup.kill)"
        return text + (f"; NOT bounded by cgroups ({', '.join(missing)}: not available in that group): "
                       + per_process if missing else "")
    missing = sorted({"cpu", "memory"} - set(cgroup_parents()))
    return (f"NOT bounded by cgroups ({', '.join(missing)}; no delegated cgroup v2 group either): a submission's "
            "processes share the machine's CPUs and memory with its classmates' (" + per_process + ")")
