"""cgroup v2: where the grader's group is delegated to it, each submission gets a group of its own with
memory.max, pids.max and cpu.max (for the controllers that group has) and is killed by cgroup.kill on close.

This machine runs cgroup v1 (a hybrid: memory, pids and cpu are bound to v1 hierarchies, and the v2 one at
/sys/fs/cgroup/unified has none of them). What is tested here, through the real sandbox as root: in a private
mount namespace where every v1 hierarchy is read-only (so v1 cannot serve), the grader finds its v2 group,
moves itself into a leaf of its own, gives each submission its own group, the student process and everything
it starts (a daemon in a session of its own) are in it, and closing kills them all with cgroup.kill and
removes the group; `bounds()` says that memory, pids and cpu are NOT bounded by cgroups there, and by what.
What could NOT be tested here: memory.max, pids.max and cpu.max actually holding (no v2 controller can be had
on this machine); the values written are checked against cgroup v2's documented formats only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from toynet.grading import cgroups

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docker  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0, reason="needs root")

DRIVER = r"""
import json, os, time
from pathlib import Path
from toynet.grading import cgroups, confinement
from toynet.grading.gives import student_toynet
from toynet.grading.sandbox import Limits, StudentProcess
cells = ["import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(120)\n    os._exit(0)\n"
         "def ready():\n    return 1"]
report = {"v1": [str(p) for p in cgroups.cgroup_parents().values()], "pid": os.getpid(),
          "mode": confinement.isolation()}
parent = cgroups.cgroup_v2_parent()
report["parent"] = str(parent)
report["bounds"] = cgroups.bounds()
report["grader_group"] = open("/proc/self/cgroup").read()
with StudentProcess(cells, Limits(cell_timeout=10), student_toynet()) as process:
    process.start()
    process.call("ready", [], {}, 10)
    group = process.groups.paths[0]
    report["group"] = str(group)
    report["members"] = (group / "cgroup.procs").read_text().split()
    report["member_groups"] = [open(f"/proc/{pid}/cgroup").read().split("0::")[1].strip()
                               for pid in report["members"]]
    process.close()
cgroups.remove_released_groups(wait=3)
time.sleep(0.2)
report["alive_after"] = [pid for pid in report["members"] if Path(f"/proc/{pid}").exists()
                         and "(zombie)" not in Path(f"/proc/{pid}/status").read_text()]
report["group_after"] = group.exists()
print(json.dumps(report))
"""



def test_a_delegated_v2_group_holds_and_kills_every_process_of_a_submission() -> None:
    """In a container whose v1 hierarchies are read-only and whose v2 one is writable (Landlock mode: no PID
    namespace, so only the group can find the daemon once its uid is not swept)."""
    if cgroups.own_cgroup_v2() is None or _docker.available() is not None:
        pytest.skip(_docker.available() or "no cgroup2 hierarchy mounted here")
    staging = Path(tempfile.mkdtemp(prefix="toynet-staging-"))
    try:
        done = subprocess.run(_docker.docker_like([sys.executable, "-c", DRIVER], staging, delegated_cgroup2=True),
                              capture_output=True, text=True, timeout=120)
    finally:
        staging.rmdir()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    parent = Path(report["parent"])
    try:
        assert report["v1"] == [] and report["mode"] == "landlock"  # v1 cannot serve: v2 is the path taken
        assert report["grader_group"].strip().endswith(f"/toynet-{report['pid']}-grader")  # a leaf of its own
        group = report["group"]
        assert Path(group).parent == parent and Path(group).name.startswith(f"toynet-{report['pid']}-")
        # the student process and its daemon (a session of its own) are both in the submission's group
        assert len(report["members"]) >= 2
        assert all(said.endswith("/" + Path(group).name) for said in report["member_groups"])
        assert report["alive_after"] == [] and not report["group_after"]  # cgroup.kill, then the group removed
        # this hybrid machine's v2 hierarchy has none of the controllers: said so, with what does bound
        missing = [c for c in cgroups.CGROUP_V2_CONTROLLERS
                   if c not in (parent / "cgroup.controllers").read_text().split()]
        if missing:
            assert f"NOT bounded by cgroups ({', '.join(missing)}" in report["bounds"]
            assert "RLIMIT_NPROC" in report["bounds"]
    finally:
        leaf = parent / f"toynet-{report['pid']}-grader"
        deadline = time.monotonic() + 3
        while leaf.exists() and time.monotonic() < deadline:
            try:
                leaf.rmdir()
            except OSError:  # the grader's exit is not complete yet
                time.sleep(0.05)


def test_limits_written_in_cgroup_v2_formats(tmp_path: Path) -> None:
    """memory.max in bytes, pids.max a count, cpu.max "$MAX $PERIOD" (one CPU: a quota of one period), and
    swap off (Documentation/admin-guide/cgroup-v2.rst); only for the controllers enabled."""
    (tmp_path / "memory.swap.max").write_text("max")
    cgroups.write_v2_limits(tmp_path, ["memory", "pids", "cpu"], 1 << 30, 64)
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert written == {"memory.max": str(1 << 30), "memory.swap.max": "0", "pids.max": "64",
                       "cpu.max": "100000 100000"}
    only = tmp_path / "only"
    only.mkdir()
    cgroups.write_v2_limits(only, ["pids"], 1 << 30, 64)
    assert [p.name for p in only.iterdir()] == ["pids.max"]


def test_own_group_is_found_below_the_mount_that_shows_it(tmp_path: Path) -> None:
    """As /proc says it in a systemd scope (hierarchy mounted whole) and in a container (its own cgroup
    namespace: the mount shows its group as /)."""
    scope = tmp_path / "host" / "user.slice" / "run-1.scope"
    scope.mkdir(parents=True)
    (scope / "cgroup.procs").write_text("")
    (tmp_path / "cgroup").write_text("0::/user.slice/run-1.scope\n")
    (tmp_path / "mountinfo").write_text(
        f"30 23 0:26 / {tmp_path / 'host'} rw,nosuid - cgroup2 cgroup2 rw\n"
        f"31 23 0:27 / {tmp_path / 'elsewhere'} rw - tmpfs tmpfs rw\n")
    assert cgroups.own_cgroup_v2(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")) == scope
    (tmp_path / "cgroup").write_text("12:memory:/x\n0::/\n")
    (tmp_path / "host" / "cgroup.procs").write_text("")
    assert cgroups.own_cgroup_v2(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")) == tmp_path / "host"
    (tmp_path / "mountinfo").write_text(f"31 23 0:27 / {tmp_path} rw - tmpfs tmpfs rw\n")  # no cgroup2 at all
    assert cgroups.own_cgroup_v2(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")) is None


def test_only_a_delegated_group_is_divided() -> None:
    """Root may write any group; one systemd manages without Delegate=yes is not the grader's to divide."""
    hierarchy = cgroups.own_cgroup_v2()
    if hierarchy is None or not os.path.ismount(hierarchy):
        pytest.skip("needs this process at the top of a cgroup2 hierarchy")
    assert cgroups.delegated(hierarchy)  # the top of what it sees: a container's own cgroup namespace
    group = hierarchy / f"toynet-test-{os.getpid()}"
    group.mkdir()
    try:
        assert not cgroups.delegated(group)  # root-owned, unmarked: systemd's
        try:
            os.setxattr(group, "trusted.delegate", b"1")
        except OSError:
            pytest.skip("this kernel keeps no xattrs on cgroupfs")
        assert cgroups.delegated(group)  # as systemd marks a Delegate=yes group
    finally:
        group.rmdir()
