"""How far this machine can confine a student process, and the pieces that do it (sandbox.py uses them).

- `isolation()`: "namespaces" (root, and unshare may create namespaces), "permissions" (root without
  namespaces: Unix permissions are the floor) or "none" (not root). sandbox.py's docstring says what each gives.
- One identity per submission: `student_identity()` hands out distinct unprivileged uids from a reserved range;
  `kill_identity` and `remove_files_of` clean up after one where there are no cgroups.
- `exposed_paths`: which paths a student uid could read, checked as the kernel checks the student.
- cgroup v1 (`cgroup_parents`, `SubmissionGroups`): one CPU and the memory limit for all of a submission's
  processes together, and the list of processes `close` kills however they detached.
- `runtime_mounts`: exactly what the student's own root holds read-only (stdlib, numpy, matplotlib, tqdm, the
  assignment's packages with what they require, the IPython shim, the mapped libraries).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

# Student identities: uid = UID_BASE + (grader pid mod 2**20) * 1024 + a counter, so concurrent graders on one
# machine never hand out the same uid, and no uid collides with a real account (those live far below 2**31).
UID_BASE = 1 << 31
SANDBOX_SITE = "/site"  # where numpy and the other packages appear inside the student's root


def is_root() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


@functools.lru_cache(maxsize=1)
def can_isolate() -> bool:
    """Root, and `unshare` may create namespaces here (containers often forbid it even to root)."""
    if not is_root() or shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


UNSHARE = ["unshare", "--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--mount-proc", "--kill-child"]


def isolation() -> str:
    """"namespaces", "permissions" or "none": how much this machine can confine a submission (module doc)."""
    if can_isolate():
        return "namespaces"
    return "permissions" if is_root() else "none"


_identities = itertools.count()


def student_identity() -> tuple[int, int]:
    """A fresh (uid, gid) for one student process: distinct from every other live submission on the machine."""
    uid = UID_BASE + (os.getpid() % (1 << 20)) * 1024 + next(_identities) % 1024
    return uid, uid


def exposed_paths(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """Those of `paths` an unprivileged student uid could read (or, for a folder, enter). Root only.

    Checked the way the kernel checks the student: a forked child switches to a fresh student uid and asks
    `access()`, which walks every ancestor folder's permissions too.
    """
    wanted = [str(Path(p).resolve()) for p in paths]
    uid, gid = student_identity()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (runs in the forked child)
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            found = [p for p in wanted if os.access(p, os.R_OK) or (os.path.isdir(p) and os.access(p, os.X_OK))]
            os.write(write_end, json.dumps(found).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise OSError(f"could not check file permissions as a student uid (status {status})")
    return list(json.loads(data))


def kill_identity(uid: int, gid: int) -> None:
    """Kill every process running as `uid` (a forked child takes that uid and signals -1: all of its own)."""
    for _ in range(3):  # a fork racing the first sweep is caught by the next (RLIMIT_NPROC bounds the race)
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the forked child)
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)


CGROUP_V1 = Path("/sys/fs/cgroup")  # one folder per controller (cgroup v1); "cpu" may be "cpu,cpuacct"
CGROUP_FILES = {"cpu": "cpu.cfs_quota_us", "memory": "memory.limit_in_bytes"}


@functools.lru_cache(maxsize=1)
def cgroup_parents() -> dict[str, Path]:
    """{controller: the grader's own group}, for the cgroup-v1 cpu and memory controllers root may write to.

    Each submission gets a group below it (`SubmissionGroups`). Where one is missing (cgroup v2 only, or a
    container that hides /sys/fs/cgroup) nothing bounds what the submission's processes use *together*:
    RLIMIT_AS and RLIMIT_CPU bound each process, RLIMIT_NPROC their number.
    """
    if not is_root():
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
    processes together, and a list of every one of them (however it detached itself), so `kill` misses none.

    The student process joins them itself, first thing, while still root (`child.py`): whatever it starts
    is born inside, and its uid cannot write to a cgroup file to leave.
    """

    def __init__(self, name: str, memory: int) -> None:
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
        except OSError:
            self.release()
            raise
        remove_released_groups()

    @property
    def procs(self) -> list[str]:
        """The files the student process writes "0" to, to join each group."""
        return [str(path / "cgroup.procs") for path in self.paths]

    def signal(self) -> None:
        """SIGKILL every process in the groups (each is in all of them: the first group's list is enough)."""
        for path in self.paths[:1]:
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


def remove_files_of(uid: int, folders: Sequence[str] = ("/tmp", "/var/tmp", "/dev/shm")) -> None:
    """Delete what `uid` left in the shared temporary folders (only entries it owns; links are not followed)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


_MULTIARCH = re.compile(r"^[A-Za-z0-9_]+-linux-[A-Za-z0-9_]+$")


ALWAYS_IMPORTABLE = ("numpy", "matplotlib", "tqdm")  # what every notebook may import, whatever the assignment
SHIM = Path(__file__).resolve().parent / "sandbox_site"  # IPython's shim and the backend: copied per submission


@functools.lru_cache(maxsize=8)
def runtime_mounts(packages: tuple[str, ...] = ()) -> tuple[list[tuple[str, str]], list[str]]:
    """What the student's root holds read-only, as (host path, path inside), and the folders left empty in it.

    Exactly: the standard library (its site-packages emptied); at /site, numpy, matplotlib and tqdm, the
    assignment's `packages` and every distribution they require (`site_entries`); the
    shared libraries this interpreter maps (whole multiarch folders such as /usr/lib/x86_64-linux-gnu, other
    libraries one file at a time, e.g. a pyenv's libpython, so nothing else of their folders shows).
    """
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    mounts = [(stdlib, stdlib)]
    mounts += [(str(path), f"{SANDBOX_SITE}/{path.name}") for path in site_entries((*ALWAYS_IMPORTABLE, *packages))]
    folders, files = set(), set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or not fields[5].startswith("/") or ".so" not in fields[5]:
                continue
            path = os.path.realpath(fields[5].strip())
            parts = Path(path).parts
            if "site-packages" in parts or "dist-packages" in parts or path.startswith(stdlib + os.sep):
                continue
            if not os.path.isfile(path):
                continue
            folder = os.path.dirname(path)
            if _MULTIARCH.match(os.path.basename(folder)):
                folders.add(folder)
            else:
                files.add(path)
    mounts += [(f, f) for f in sorted(folders)]
    mounts += [(f, f) for f in sorted(files) if not any(f.startswith(d + os.sep) for d in folders)]
    empty = [os.path.join(stdlib, name) for name in ("site-packages", "dist-packages")]
    return mounts, [e for e in empty if os.path.isdir(e)]


class MissingPackage(ValueError):
    """An assignment lists a package the grader's environment does not have."""


_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@functools.lru_cache(maxsize=8)
def site_entries(packages: tuple[str, ...]) -> list[Path]:
    """The top-level files and folders (in the grader's site-packages) of these distributions and all they require.

    Read from each distribution's own record (importlib.metadata): `scipy` brings scipy/, scipy.libs/ and its
    dist-info, then numpy's. A requirement only for an extra is left out, as is one not installed here (a
    marker for another platform); a package the assignment names that is not installed is a MissingPackage.
    """
    from importlib import metadata

    entries: set[Path] = set()
    seen: set[str] = set()
    queue = [(name, True) for name in packages]
    while queue:
        name, named = queue.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if named:
                raise MissingPackage(f"package {name!r} is not installed where toynet grades (pip install {name})") \
                    from None
            continue
        root = Path(str(distribution.locate_file(""))).resolve()
        for file in distribution.files or []:
            top = file.parts[0] if file.parts else ""
            if top and top not in ("..", "__pycache__") and not top.endswith(".pth") and (root / top).exists():
                entries.add(root / top)
        for requirement in distribution.requires or []:
            match = _REQUIREMENT.match(requirement)
            if match and "extra ==" not in requirement.replace('"', "").replace("'", ""):
                queue.append((match.group(1), False))
    return sorted(entries)
