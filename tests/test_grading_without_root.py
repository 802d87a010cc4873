"""A TA without root: `toynet grade` isolates each submission with an unprivileged user namespace (mount, PID,
network, IPC and UTS namespaces inside it, the same allowlisted root as root's namespaces mode), gives up every
capability there, and adds Landlock and the seccomp filter.

The test (root) runs the grader as a fresh unprivileged uid with no groups and no capabilities, through
tests/_docker.py's `as_user`: a private mount namespace lets that uid run this machine's Python (which lives
under /root, mode 0700, here) by laying a tmpfs over /root that holds only the Python install, at the same
paths. The TA's files (bundle, notebooks) are the TA's own, mode 0700: Unix permissions would let the student
process (the TA's uid outside its namespace) read them; its own root is what keeps them out of reach.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from toynet.grading.assign import build
from toynet.grading.confinement import student_identity

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _docker  # noqa: E402
import test_grading_container as container  # noqa: E402
import test_grading_hostile as hostile  # noqa: E402
import test_grading_sandbox as earlier  # noqa: E402

ASSIGNMENTS = container.ASSIGNMENTS
FULL = container.FULL


def _unavailable() -> str | None:
    if (reason := _docker.available()) is not None:
        return reason
    if shutil.which("setpriv") is None:
        return "needs setpriv (util-linux)"
    staging = Path(tempfile.mkdtemp(prefix="toynet-staging-"))
    try:
        done = subprocess.run(_docker.as_user(["unshare", "--user", "--map-root-user", "--mount", "true"], 65534,
                                              staging), capture_output=True, timeout=60)
    finally:
        staging.rmdir()
    return None if done.returncode == 0 else "this machine refuses unprivileged user namespaces"


UNAVAILABLE = _unavailable()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))

# What the student's own user namespace leaves it: its capabilities, and whether it may mount.
POWERS = r'''
import ctypes, errno, os
status = open("/proc/self/status").read()
capabilities = status.split("CapEff:")[1].split()[0]
libc = ctypes.CDLL(None, use_errno=True)
mounted = libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)
print("POWERS", os.getuid(), capabilities, "mounted" if mounted == 0 else errno.errorcode[ctypes.get_errno()])
'''


@pytest.fixture(scope="module")
def graded() -> Any:
    """A batch (--jobs 2) graded by an unprivileged TA, and `toynet grade` run by that TA on one honest notebook."""
    ta = student_identity()[0]
    home = Path(tempfile.mkdtemp(prefix="toynet-ta-"))
    staging = Path(tempfile.mkdtemp(prefix="toynet-staging-"))
    try:
        built = home / "built"
        build(ASSIGNMENTS / "layers.ipynb", built, gradescope=True)
        bundle, notebooks = built / "autograder", home / "notebooks"
        notebooks.mkdir()
        known = [str(bundle / "assignment.json"), str(built / "gradescope" / "layers_autograder.zip"),
                 str(ASSIGNMENTS / "layers.ipynb"), str(container.GIT / "HEAD"), str(home)]
        constants = (f"KNOWN = {known!r}\nREFERENCE_LINE = {earlier.reference_line()!r}\nGRADER_PID = 1\n"
                     f"RESULTS = {str(home / 'grades' / 'layers.json')!r}\nRESULTS_DIR = {str(home / 'grades')!r}\n"
                     f"RESULTS_GLOB = {str(home / 'grades') + '/**'!r}\n")
        reader = constants + container.ROBUST + container.robust(earlier.READER) + "\nprint('READER-DONE')\n"
        student = built / "student" / "layers.ipynb"
        batch = {
            "reader": earlier.attacker(student, reader, earlier.USE_LOOT, notebooks / "reader.ipynb"),
            "honest": ASSIGNMENTS / "layers.ipynb",
            "tamperer": earlier.attacker(student, constants + container.ROBUST + container.robust(earlier.TAMPERER),
                                         "", notebooks / "tamperer.ipynb"),
            "holes": earlier.attacker(student, container.HOLES, POWERS, notebooks / "holes.ipynb"),
        }
        spec = {"private": [str(bundle), str(notebooks)], "batches": [
            {"paths": [str(p) for p in batch.values()], "bundle": str(bundle), "limits": earlier.LIMITS.__dict__}]}
        (home / "spec.json").write_text(json.dumps(spec))
        for path in [home, *home.rglob("*")]:
            os.chown(path, ta, ta, follow_symlinks=False)
        home.chmod(0o700)
        env = ["env", f"HOME={home}"]
        done = subprocess.run(_docker.as_user([*env, sys.executable, "-c", container.DRIVER, str(home / "spec.json"),
                                               str(home / "report.json")], ta, staging),
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        cli = subprocess.run(_docker.as_user(
            [*env, sys.executable, "-m", "toynet", "grade", str(ASSIGNMENTS / "layers.ipynb"), "--assignment",
             str(bundle), "--out", str(home / "cli" / "results.json"), "--no-progress"], ta, staging),
            capture_output=True, text=True, timeout=300)
        report = json.loads((home / "report.json").read_text())
        cli_result = json.loads((home / "cli" / "results.json").read_text()) if cli.returncode == 0 else None
        yield {"report": report, "results": dict(zip(batch, report["batches"][0], strict=True)), "ta": ta,
               "cli": cli, "cli_result": cli_result}
    finally:
        shutil.rmtree(home, ignore_errors=True)
        staging.rmdir()


@pytest.mark.slow(30)
def test_an_unprivileged_ta_grades_with_user_namespaces(graded: dict[str, Any]) -> None:
    report = graded["report"]
    assert report["mode"] == "userns" and report["problems"] == [], report
    assert "own user namespace" in report["describe"]
    assert graded["cli"].returncode == 0, graded["cli"].stderr[-2000:]  # not refused: no --unsafe-trusted needed
    assert graded["cli_result"]["score"] == FULL


@pytest.mark.slow(30)
def test_attackers_find_nothing_and_honest_keeps_full_marks(graded: dict[str, Any]) -> None:
    results = graded["results"]
    assert [results[n]["score"] for n in ("reader", "honest", "tamperer", "holes")] == [0, FULL, 0, 0]
    assert "READER-DONE" in results["reader"]["output"]
    for name, result in results.items():
        assert "FOUND" not in result["output"] and "tampered" not in result["output"], name


@pytest.mark.slow(30)
def test_no_capability_no_network_no_ipc_and_nothing_left_on_the_host(graded: dict[str, Any]) -> None:
    output = graded["results"]["holes"]["output"]
    holes = container.holes_of(output)
    for name in (*container.NETWORK, *container.IPC):
        assert holes[name] == "EPERM", (name, holes[name])
    assert holes["/var/tmp"] != "made" and holes["/run/lock"] != "made"  # not in its root, which is read-only
    powers = re.search(r"^POWERS (\d+) ([0-9a-f]+) (\w+)$", output, re.MULTILINE)
    assert powers, output[-2000:]
    assert int(powers.group(2), 16) == 0 and powers.group(3) == "EPERM"  # root of its namespace, powerless
    # its /tmp and /dev/shm were private tmpfs: nothing it wrote there is on the host
    assert not [p for folder in ("/tmp", "/dev/shm", "/var/tmp") for p in Path(folder).glob("toynet-hole-*")]
    ta = range(graded["ta"], graded["ta"] + 1)
    deadline = time.monotonic() + 3
    while earlier.student_processes(ta) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert earlier.student_processes(ta) == []


# ---------------------------------------------------------------- no user namespaces: Landlock and cgroup v2

DAEMON = f"toynet-{uuid.uuid4().hex[:8]}"  # the name the daemon gives itself (/proc/PID/comm)


@pytest.fixture(scope="module")
def landlocked() -> Any:
    """A TA refused user namespaces (the Docker-like filter) but given a cgroup v2 group (Delegate=yes): a
    batch with a daemon that leaves its session and clears its parent-death signal."""
    from toynet.grading import cgroups

    hierarchy = cgroups.own_cgroup_v2()
    if hierarchy is None:
        pytest.skip("no cgroup2 hierarchy here")
    ta = student_identity()[0]
    home = Path(tempfile.mkdtemp(prefix="toynet-ta-"))
    staging = Path(tempfile.mkdtemp(prefix="toynet-staging-"))
    group = hierarchy / f"toynet-test-ta-{ta}"
    try:
        built = home / "built"
        build(ASSIGNMENTS / "layers.ipynb", built)
        bundle, notebooks = built / "autograder", home / "notebooks"
        notebooks.mkdir()
        known = [str(bundle / "assignment.json"), str(ASSIGNMENTS / "layers.ipynb"), str(container.GIT / "HEAD")]
        constants = (f"KNOWN = {known!r}\nREFERENCE_LINE = {earlier.reference_line()!r}\n")
        reader = constants + container.ROBUST + container.robust(earlier.READER) + "\nprint('READER-DONE')\n"
        student = built / "student" / "layers.ipynb"
        # a forked child in a session of its own (no parent-death signal is inherited): only its group finds it
        daemon = hostile.append(f"import ctypes, os, time\nif os.fork() == 0:\n    os.setsid()\n"
                                f"    ctypes.CDLL(None).prctl(15, {DAEMON.encode()!r}, 0, 0, 0)\n"
                                "    time.sleep(120)\n    os._exit(0)")
        batch = {
            "reader": earlier.attacker(student, reader, earlier.USE_LOOT, notebooks / "reader.ipynb"),
            "honest": ASSIGNMENTS / "layers.ipynb",
            "holes": earlier.attacker(student, container.HOLES, "", notebooks / "holes.ipynb"),
            "daemon": hostile.variant(ASSIGNMENTS / "layers.ipynb", notebooks, "daemon", daemon),
        }
        spec = {"private": [str(bundle), str(notebooks)], "batches": [
            {"paths": [str(p) for p in batch.values()], "bundle": str(bundle), "limits": earlier.LIMITS.__dict__}]}
        (home / "spec.json").write_text(json.dumps(spec))
        for path in [home, *home.rglob("*")]:
            os.chown(path, ta, ta, follow_symlinks=False)
        home.chmod(0o700)
        _docker.delegate(group, ta)
        done = subprocess.run(_docker.as_user(["env", f"HOME={home}", sys.executable, "-c", container.DRIVER,
                                               str(home / "spec.json"), str(home / "report.json")],
                                              ta, staging, forbid_namespaces=True, cgroup=group),
                              capture_output=True, text=True, timeout=900)
        survivors = hostile._processes_named(DAEMON)
        for pid in survivors:  # never leave one behind, whatever the tests say
            os.kill(pid, 9)
        assert done.returncode == 0, done.stderr[-3000:]
        report = json.loads((home / "report.json").read_text())
        yield {"report": report, "results": dict(zip(batch, report["batches"][0], strict=True)), "ta": ta,
               "survivors": survivors, "group": group}
    finally:
        shutil.rmtree(home, ignore_errors=True)
        staging.rmdir()
        for leaf in sorted(group.glob("*/"), reverse=True) if group.exists() else []:
            (leaf / "cgroup.kill").write_text("1")
            _rmdir_soon(leaf)
        if group.exists():
            _rmdir_soon(group)


def _rmdir_soon(group: Path, wait: float = 3.0) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            group.rmdir()
            return
        except OSError:  # its last process is still exiting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.slow(20)
def test_without_user_namespaces_a_ta_grades_with_landlock_and_a_delegated_cgroup(landlocked: dict[str, Any]) -> None:
    report, results = landlocked["report"], landlocked["results"]
    assert report["mode"] == "landlock" and report["problems"] == [], report
    assert "without root or namespaces" in report["describe"] and "cgroup v2 group" in report["describe"]
    assert [results[n]["score"] for n in ("reader", "honest", "holes", "daemon")] == [0, FULL, 0, FULL]
    assert "READER-DONE" in results["reader"]["output"] and "FOUND" not in results["reader"]["output"]
    holes = container.holes_of(results["holes"]["output"])
    for name in (*container.NETWORK, *container.IPC):
        assert holes[name] == "EPERM", (name, holes[name])
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock"):
        assert holes[folder] == "EACCES", (folder, holes[folder])
    # the daemon ran as the TA, in a session of its own, with no parent-death signal: the group's kill ended it
    assert landlocked["survivors"] == []
