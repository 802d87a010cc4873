"""How far this machine can confine a student process, and the pieces that do it (sandbox.py uses them).

- `isolation()`: "namespaces", "userns", "landlock", "permissions" or "none" (sandbox.py's docstring says what
  each gives); `landlock_abi()`, `can_isolate()`, `can_isolate_unprivileged()` are what it asks the machine.
- One identity per submission: `student_identity()` hands out distinct unprivileged uids from a reserved range;
  `kill_identity`, `remove_files_of` and `remove_ipc_of` clean up after one where there are no namespaces.
- `exposed_paths`: which paths a student uid could read, checked as the kernel checks the student.
- cgroups (cgroups.py, names also importable from here): cgroup v1, or a delegated cgroup v2 group, bound all
  of a submission's processes together and list every one of them for `close` to kill, however they detached.
- `runtime_mounts`: exactly what the student's own root holds read-only (stdlib, numpy, matplotlib, tqdm, the
  assignment's packages with what they require, the IPython shim, the mapped libraries);
  `landlock_allowlist` turns the same list into Landlock rules where the student sees the host's paths.
"""

from __future__ import annotations

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
from collections.abc import Iterable, Sequence
from pathlib import Path

from toynet.grading.cgroups import (  # noqa: F401 (also imported from here: sandbox.py and the tests)
    SubmissionGroups as SubmissionGroups,
)
from toynet.grading.cgroups import (
    cgroup_parents as cgroup_parents,
)
from toynet.grading.cgroups import (
    cgroup_v2_parent as cgroup_v2_parent,
)
from toynet.grading.cgroups import (
    remove_released_groups as remove_released_groups,
)

# Student identities: uid = UID_BASE + (grader pid mod 2**20) * 1024 + a counter, so concurrent graders on one
# machine never hand out the same uid, and no uid collides with a real account (those live far below 2**31).
UID_BASE = 1 << 31
SANDBOX_SITE = "/site"  # where numpy and the other packages appear inside the student's root


def is_root() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0


@functools.lru_cache(maxsize=1)
def can_isolate() -> bool:
    """Root, and `unshare` may create namespaces here (containers often forbid it even to root)."""
    return is_root() and _runs(UNSHARE)


@functools.lru_cache(maxsize=1)
def can_isolate_unprivileged() -> bool:
    """Not root, and unprivileged user namespaces (with mount, PID, network... inside them) may be made here."""
    return sys.platform.startswith("linux") and not is_root() and _runs(USERNS_UNSHARE)


def _runs(command: list[str]) -> bool:
    if shutil.which(command[0]) is None:
        return False
    try:
        return subprocess.run([*command, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


UNSHARE = ["unshare", "--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--mount-proc", "--kill-child"]
# The same namespaces inside a user namespace of the grader's own (root there is the grader's uid outside):
# what bubblewrap does for a user without privileges.
USERNS_UNSHARE = ["unshare", "--user", "--map-root-user", *UNSHARE[1:]]


@functools.lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none here). Asked the way the student process asks it."""
    if not sys.platform.startswith("linux"):
        return 0
    from toynet.grading.child import landlock_abi as ask

    return int(ask())


def isolation() -> str:
    """How much this machine can confine a submission (sandbox.py's docstring says what each mode gives):

    "namespaces" (root, namespaces allowed), "userns" (not root, unprivileged user namespaces allowed),
    "landlock" (root without namespaces, as in a default Docker container: Landlock and seccomp; or not root,
    without user namespaces, where Landlock scopes signals (ABI 6) and a delegated cgroup v2 group can kill
    whatever a submission starts), "permissions" (root, neither: Unix permissions only) or "none".
    """
    if can_isolate():
        return "namespaces"
    if can_isolate_unprivileged():
        return "userns"
    if is_root():
        return "landlock" if landlock_abi() >= 1 else "permissions"
    if landlock_abi() >= 6 and cgroup_v2_parent() is not None:
        return "landlock"
    return "none"


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


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue", "/run/shm")


def remove_files_of(uid: int, folders: Sequence[str] = SHARED_FOLDERS) -> None:
    """Delete what `uid` left in the shared writable folders (only entries it owns; links are not followed)."""
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


SYSV_IPC = {"shm": "-m", "msg": "-q", "sem": "-s"}  # /proc/sysvipc/<kind>, and ipcrm's option for it


def remove_ipc_of(uid: int) -> None:
    """Remove the SysV shared memory, message queues and semaphores `uid` owns (the seccomp filter refuses
    making them; this sweeps what a kernel without it, or a filter not applied, let through)."""
    for kind, option in SYSV_IPC.items():
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        header = lines[0].split() if lines else []  # key, shmid (msqid, semid), perms, ..., uid, ...
        if len(header) < 2 or not header[1].endswith("id") or "uid" not in header:
            continue
        for line in lines[1:]:
            fields = line.split()
            if len(fields) == len(header) and int(fields[header.index("uid")]) == uid:
                subprocess.run(["ipcrm", option, fields[1]], capture_output=True, check=False)


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


def landlock_allowlist(writable: Sequence[str], packages: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What a student process that sees the host's own paths ("landlock" mode) may read, built from the same
    `runtime_mounts` as the namespaced root, so the two modes give exactly one list.

    "read": read and run (each mount's host path; a folder holding one of the emptied folders is split
    into its other entries); "list": folders only listed (the ones split, so that imports from them work:
    the names of their entries show, not what the hidden ones hold); "write": `writable`, whole;
    "devices": the /dev files the namespaced root binds.
    """
    mounts, empty = runtime_mounts(packages)
    read: list[str] = []
    listed: list[str] = []
    for host, _ in mounts:
        _split(host, [e for e in empty if e.startswith(host + os.sep)], read, listed)
    return {"read": read, "list": listed, "write": list(writable), "devices": list(student_devices())}


def _split(folder: str, hidden: list[str], read: list[str], listed: list[str]) -> None:
    """Add `folder` to `read`, or, when it holds a `hidden` path, list it and split its entries likewise."""
    if not hidden:
        read.append(folder)
        return
    listed.append(folder)
    for entry in os.scandir(folder):
        if entry.path not in hidden:
            _split(entry.path, [h for h in hidden if h.startswith(entry.path + os.sep)], read, listed)


DEVICES = ("null", "zero", "full", "random", "urandom")


def student_devices() -> list[str]:
    """The /dev files a student process may open (read and write)."""
    return [f"/dev/{d}" for d in DEVICES if os.path.exists(f"/dev/{d}")]


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
