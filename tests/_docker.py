"""Run a command as Docker runs a container by default, for the container-mode tests (root only, x86_64).

`docker_like(command)` gives the argv that runs `command` as root:
- without CAP_SYS_ADMIN (`capsh --drop=cap_sys_admin`): no mount, no namespace but a user one;
- under a seccomp filter refusing new namespaces, the user one included (Docker's default profile does so
  for a process without CAP_SYS_ADMIN): unshare, setns and clone with any CLONE_NEW* flag get EPERM, clone3
  ENOSYS (its flags are out of a filter's reach; glibc then falls back to clone);
- with no writable cgroup: a private mount namespace, made before the capability is dropped, where every
  cgroup mount under /sys/fs/cgroup is read-only.
When this machine's Python or this checkout lives under a folder other users may not enter (here /root, mode
0700, or a `mktemp -d` folder), that mount namespace also lays a tmpfs over that folder holding only the Python
install and the checkout (the same paths, the rest of the folder hidden), so that a student uid can run them,
as it could in a container image.

The filter is written here on its own, not taken from the grader's child.py: the grader's is what is tested.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository: its .venv, toynet and test fixtures

LAUNCHER = r"""
import ctypes, os, struct, sys
LOAD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
NEW = 0x7E020080  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWTIME
steps = [(LOAD, 0, 0, 4), (JEQ, 1, 0, 0xC000003E), (RET, 0, 0, EPERM), (LOAD, 0, 0, 0),
         (JEQ, 6, 0, 272), (JEQ, 5, 0, 308), (JEQ, 5, 0, 435), (JEQ, 0, 2, 56),
         (LOAD, 0, 0, 16), (JSET, 1, 0, NEW), (RET, 0, 0, ALLOW), (RET, 0, 0, EPERM),
         (RET, 0, 0, ENOSYS)]
code = b"".join(struct.pack("HBBI", *s) for s in steps)
buffer = ctypes.create_string_buffer(code)
program = struct.pack("HxxxxxxQ", len(steps), ctypes.addressof(buffer))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(22, 2, ctypes.c_char_p(program), 0, 0):
    raise SystemExit(f"seccomp: errno {ctypes.get_errno()}")
os.execvp(sys.argv[1], sys.argv[1:])
"""


def private_ancestor(path: str) -> tuple[Path, Path] | None:
    """(the top folder on `path`'s way that other users may not enter, its entry on that way), or None."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        folder = Path(*parts[:depth])
        if not os.stat(folder).st_mode & 0o001:
            return folder, Path(*parts[: depth + 1])
    return None


def available() -> str | None:
    """Why these tests cannot run here (None when they can)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return "needs root on Linux"
    if platform.machine() != "x86_64":
        return "the Docker-like seccomp filter here is written for x86_64"
    missing = [tool for tool in ("capsh", "unshare", "mount") if shutil.which(tool) is None]
    return f"needs {', '.join(missing)} (apt-get install libcap2-bin util-linux)" if missing else None


def docker_like(command: list[str], staging: Path, delegated_cgroup2: bool = False,
                limits: Sequence[Path] = ()) -> list[str]:
    """The argv that runs `command` as in a default Docker container (module doc). `staging`: an empty folder.

    delegated_cgroup2: leave the cgroup2 hierarchy writable, as a container with its own cgroup namespace has it.
    limits: groups the container starts in (`container_limits`), as `docker run --cpus --memory` puts it.
    """
    kept = ' && $0 !~ " - cgroup2 "' if delegated_cgroup2 else ""
    setup = ["set -e", *[f"echo $$ > {shlex.quote(str(group / 'cgroup.procs'))}" for group in limits],
             f"for m in $(awk '$5 ~ \"^/sys/fs/cgroup/\"{kept} {{print $5}}' /proc/self/mountinfo); do "
             'mount -o remount,bind,ro "$m"; done']
    setup += _python_readable(staging)
    inner = ["capsh", "--drop=cap_sys_admin", "--", "-c", 'exec "$0" "$@"', *command]
    setup.append("exec " + shlex.join([sys.executable, "-c", LAUNCHER, *inner]))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(setup)]


def _python_readable(staging: Path) -> list[str]:
    """Shell lines (in a private mount namespace) that let every user run this Python and this checkout (its
    .venv, its toynet, its fixtures), wherever they were cloned or installed (module doc). Each folder other users
    may not enter on their way becomes a tmpfs holding only those ways; `staging` gets a tmpfs of its own to hold
    them meanwhile, so nothing is left in it."""
    ways: dict[Path, list[Path]] = {}
    for path in (sys.base_prefix, sys.prefix, str(CHECKOUT)):
        hidden = private_ancestor(os.path.realpath(path))
        if hidden is not None and hidden[1] not in ways.setdefault(hidden[0], []):
            ways[hidden[0]].append(hidden[1])
    if not ways:
        return []
    lines = [f"mount -t tmpfs -o mode=0700,size=1m tmpfs {shlex.quote(str(staging))}"]
    for number, (folder, entries) in enumerate(ways.items()):
        places = [staging / f"{number}-{i}" for i in range(len(entries))]
        lines += [f"mkdir {shlex.quote(str(place))} && mount --bind {shlex.quote(str(entry))} {shlex.quote(str(place))}"
                  for entry, place in zip(entries, places, strict=True)]
        lines.append(f"mount -t tmpfs -o mode=0755,size=64m tmpfs {shlex.quote(str(folder))}")
        lines += [f"mkdir {shlex.quote(str(entry))} && mount --move {shlex.quote(str(place))} {shlex.quote(str(entry))}"
                  for entry, place in zip(entries, places, strict=True)]
    return lines


def as_user(command: list[str], uid: int, staging: Path, forbid_namespaces: bool = False,
            cgroup: Path | None = None) -> list[str]:
    """The argv that runs `command` as the unprivileged `uid` (no groups, no capabilities), able to run this
    Python. `staging`: an empty folder. forbid_namespaces: under the Docker-like seccomp filter (no user
    namespace either). cgroup: a cgroup v2 group delegated to `uid` (chowned as systemd's Delegate=yes does)
    that the command starts in."""
    setup = ["set -e", *_python_readable(staging)]
    if cgroup is not None:
        setup.append(f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))}")
    launcher = [sys.executable, "-c", LAUNCHER] if forbid_namespaces else []
    setup.append("exec " + shlex.join([*launcher, "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                                       "--inh-caps=-all", *command]))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(setup)]


def delegate(group: Path, uid: int) -> None:
    """Make the cgroup v2 `group` and hand it to `uid` the way systemd's Delegate=yes does."""
    group.mkdir()
    for path in (group, group / "cgroup.procs", group / "cgroup.subtree_control", group / "cgroup.threads"):
        os.chown(path, uid, uid)


@contextlib.contextmanager
def container_limits(memory: int = 4 << 30) -> Iterator[list[Path]]:
    """A cgroup v1 memory group (made here, removed after) bounding a container as `docker run --memory` does:
    what it runs, unbounded inside it (no writable cgroup), cannot push the tests beside it into the OOM
    killer. No CPU bound: CPU shares between its submissions then come from the kernel's autogroups (one per
    session), which a CPU cgroup would switch off. [] where no cgroup v1 memory controller is writable."""
    from toynet.grading import confinement

    groups = []
    try:
        for controller, parent in confinement.cgroup_parents().items():
            if controller != "memory":
                continue
            group = parent / f"toynet-container-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            group.mkdir()
            groups.append(group)
            (group / "memory.limit_in_bytes").write_text(str(memory))
        yield groups
    finally:
        for group in groups:
            deadline = time.monotonic() + 5
            while group.exists():
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                try:
                    group.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
