"""The student process's confinement, through the real sandbox (root + namespaces, as CI runs): hostile notebooks
that hunt for the reference on disk, tamper with classmates graded beside them (`jobs=2`), start daemons that
outlive their grading, or plant links where results go. Each scores 0; the honest notebooks in the same batch
keep 8/8; the grader's files and results stay as the grader wrote them.

Attackers are the *student copy* (stubs: 0 points) plus an attack: they can only score by stealing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest

import toynet
from toynet import cli
from toynet.grading import confinement, sandbox
from toynet.grading.assign import build
from toynet.grading.confinement import exposed_paths, kill_identity, remove_files_of, student_identity
from toynet.grading.gives import student_toynet
from toynet.grading.grade import SubmissionResult, grade_many, write_results
from toynet.grading.outputs import UnsafeOutput, prepare_folder, write_text
from toynet.grading.sandbox import Limits, StudentProcess

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
REPO = Path(toynet.__file__).resolve().parent.parent
LIMITS = Limits(question_timeout=5, cell_timeout=8, wall_clock=60, memory=1 << 30)

pytestmark = pytest.mark.skipif(confinement.isolation() != "namespaces", reason="needs root and namespaces (CI has)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both assignments, built once (with their Gradescope zips: those hold the reference too)."""
    out = {}
    for name in ("layers", "gradient_checking"):
        folder = tmp_path_factory.mktemp(name)
        build(ASSIGNMENTS / f"{name}.ipynb", folder, gradescope=True)
        out[name] = folder
    return out


def reference_line() -> str:
    """A line of toynet's real source that no student copy holds (a stubbed body): finding it means a leak."""
    real = (Path(toynet.__file__).resolve().parent / "gradcheck" / "numerical.py").read_text().splitlines()
    student = set(student_toynet([]).get("toynet/gradcheck/numerical.py", "").splitlines())
    return next(line.strip() for line in real if len(line.strip()) > 30 and line not in student
                and not line.strip().startswith(("#", '"', "def ", "from ", "import ")))


def attacker(student: Path, first: str, last: str, path: Path) -> Path:
    """The student copy with `first` as its first code cell and `last` as its last."""
    notebook = nbformat.read(student, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(first))
    notebook.cells.append(nbformat.v4.new_code_cell(last))
    nbformat.write(notebook, path)
    return path


# Reads everything a submission could find: paths named in /proc/self/mountinfo, numpy's location, the
# environment, argv, sys.path, other processes' root/cwd/fds, ../ walks, a walk of its whole root, and the
# grader's known paths directly and through /proc/<pid>/root. Markers are split so this text never matches.
READER = r'''
import os, re, sys, json
MARKERS = [m.replace("|", "") for m in ["BEGIN |SOLUTION", "BEGIN |HIDDEN", '"quest|ions"', "ref: |refs/",
           "gitd|ir:", "toynet-|src/", REFERENCE_LINE[:10] + "|" + REFERENCE_LINE[10:]]]
INTERESTING = {"assignments", ".git", "autograder", "gradescope", "student", "toynet", "HEAD", "config",
               "layers.ipynb", "gradient_checking.ipynb", "assignment.json", "numerical.py", "layers.py",
               "layers_autograder.zip", "gradient_checking_autograder.zip", "site-packages"}
FOUND, SOLUTION, SEEN = [], [], set()

def look(path, depth=0):
    if path in SEEN or depth > 3:
        return
    SEEN.add(path)
    try:
        if os.path.isdir(path):
            for name in os.listdir(path):
                if name in INTERESTING or name.endswith((".ipynb", ".zip", ".pth")) or "editable" in name:
                    look(os.path.join(path, name), depth + 1)
            return
        with open(path, "rb") as handle:
            text = handle.read(4_000_000).decode("latin-1")
    except (OSError, ValueError):
        return
    for marker in MARKERS:
        if marker in text:
            FOUND.append(path)
            if path.endswith(".ipynb") and "BEGIN " + "SOLUTION" in text:
                SOLUTION.append(text)
            return
    for named in re.findall(r"/[\w./-]{4,}", text)[:50]:  # .pth files and editable finders name the source
        candidates.add(named)

candidates = set(KNOWN)
for line in open("/proc/self/mountinfo"):
    for named in line.split()[3:5]:
        while named not in ("", "/"):
            candidates.add(named)
            named = os.path.dirname(named)
import numpy
named = os.path.dirname(numpy.__file__)
for _ in range(8):
    candidates.add(named)
    named = os.path.dirname(named)
texts = [*os.environ.values(), *sys.argv, *sys.path, getattr(sys.modules["__main__"], "__file__", "") or ""]
for link in ("environ", "cmdline"):
    try:
        texts.append(open(f"/proc/self/{link}", "rb").read().decode("latin-1").replace("\x00", " "))
    except OSError:
        pass
for text in texts:
    for named in re.findall(r"/[\w./-]+", text):
        candidates.update({named, os.path.dirname(named)})
pids = [d for d in os.listdir("/proc") if d.isdigit()] + ["self", "1", "thread-self"]
for pid in pids:
    for link in ("root", "cwd", "exe"):
        candidates.add(f"/proc/{pid}/{link}")
        try:
            candidates.add(os.readlink(f"/proc/{pid}/{link}"))
        except OSError:
            pass
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            candidates.add(f"/proc/{pid}/fd/{fd}")
            candidates.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    except OSError:
        pass
for known in KNOWN:
    for pid in ("self", "1"):
        candidates.add(f"/proc/{pid}/root{known}")
        candidates.add(f"/proc/{pid}/cwd/{'../' * 12}{known.lstrip('/')}")
    candidates.add(os.getcwd() + "/" + "../" * 12 + known.lstrip("/"))
for depth in range(1, 12):
    candidates.add(os.path.join(os.getcwd(), *[".."] * depth))
for top, folders, files in os.walk("/"):
    folders[:] = [f for f in folders if not (top == "/" and f in ("proc", "sys"))]
    for name in files:
        if name in INTERESTING or name.endswith((".ipynb", ".zip", ".json", ".pth")):
            candidates.add(os.path.join(top, name))
for candidate in sorted(candidates):
    look(candidate)
if FOUND:
    print("FOUND", FOUND[:5])
'''

USE_LOOT = r'''
for text in SOLUTION[:1]:  # run the stolen solution's code cells: full marks if anything leaked
    for cell in json.loads(text)["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and "toynet" not in cell.get("metadata", {}):
            try:
                exec(source, globals())
            except Exception:
                pass
'''

# Tampers with classmates graded at the same time, from a daemon that leaves its process group and session:
# writes into every file it can see in /tmp, /dev/shm and other sandboxes, signals every process it sees and
# the grader, rewrites the grader's results, leaves files behind; it means to live far longer than grading.
TAMPERER = r'''
import glob, os, signal, time
def tamper_forever():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    end = time.time() + 60
    while time.time() < end:
        for pattern in ("/tmp/**", "/dev/shm/**", "/tmp/toynet-student-*/**", "/proc/*/root/tmp/**",
                        RESULTS_GLOB):
            for path in glob.glob(pattern, recursive=True)[:200]:
                try:
                    if os.path.isfile(path):
                        with open(path, "a") as handle:
                            handle.write('\nraise SystemExit("tampered")\n')
                except OSError:
                    pass
        for target in [RESULTS, RESULTS_DIR + "/class.csv"]:
            try:
                with open(target, "w") as handle:
                    handle.write('{"score": 8}')
            except OSError:
                pass
        for pid in [int(d) for d in os.listdir("/proc") if d.isdigit()] + [GRADER_PID]:
            if pid not in (os.getpid(), os.getppid()):
                try:
                    os.kill(pid, signal.SIGSTOP)
                except OSError:
                    pass
        for folder in ("/tmp", "/dev/shm", os.getcwd()):
            try:
                open(f"{folder}/left-behind-{os.getpid()}", "w").write("x" * 1000)
            except OSError:
                pass
        time.sleep(0.02)
    os._exit(0)
tamper_forever()
time.sleep(0.3)  # let it start before the questions are asked
'''


def student_processes(uids: range) -> list[int]:
    """Pids on this machine whose real uid is in `uids`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            if uid in uids and "(zombie)" not in status:  # a zombie is dead, waiting for its parent to notice
                found.append(int(entry))
    return found


def my_uids() -> range:
    """The uid block `student_identity` hands out in this (test) process."""
    start = confinement.UID_BASE + (os.getpid() % (1 << 20)) * 1024
    return range(start, start + 1024)


def files_of(uids: range, folders: tuple[str, ...] = ("/tmp", "/dev/shm", "/var/tmp")) -> list[str]:
    left = []
    for folder in folders:
        for entry in os.scandir(folder):
            try:
                if entry.stat(follow_symlinks=False).st_uid in uids:
                    left.append(entry.path)
            except OSError:
                pass
    return left


def score(result: SubmissionResult) -> float:
    return result.score


@pytest.mark.slow(4)
def test_attackers_beside_honest_students_in_one_batch(built: dict[str, Path], tmp_path: Path) -> None:
    """(a) reading the reference by every route, (b) tampering with classmates, (d) daemons, in one jobs=2 batch."""
    layers, checking = built["layers"], built["gradient_checking"]
    out = tmp_path / "grades"
    prepare_folder(out)
    known = [
        str(ASSIGNMENTS / "layers.ipynb"), str(ASSIGNMENTS / "gradient_checking.ipynb"), str(ASSIGNMENTS),
        str(REPO / ".git"), str(REPO / ".git" / "HEAD"), str(REPO),
        str(layers / "autograder" / "assignment.json"), str(checking / "autograder" / "assignment.json"),
        str(layers / "gradescope" / "layers_autograder.zip"), str(layers / "student" / "layers.ipynb"),
        str(Path(toynet.__file__).resolve().parent / "gradcheck" / "numerical.py"),
        str(Path(toynet.__file__).resolve().parent), str(out), "/tmp", str(tmp_path),
    ]
    constants = (f"KNOWN = {known!r}\nREFERENCE_LINE = {reference_line()!r}\nGRADER_PID = {os.getpid()}\n"
                 f"RESULTS = {str(out / 'layers.json')!r}\nRESULTS_DIR = {str(out)!r}\n"
                 f"RESULTS_GLOB = {str(out) + '/**'!r}\n")
    reader = constants + READER
    layers_student = layers / "student" / "layers.ipynb"
    checking_student = checking / "student" / "gradient_checking.ipynb"
    paths = [
        attacker(layers_student, reader, USE_LOOT, tmp_path / "reader_layers.ipynb"),
        ASSIGNMENTS / "layers.ipynb",
        attacker(layers_student, constants + TAMPERER + reader, USE_LOOT, tmp_path / "tamperer.ipynb"),
        ASSIGNMENTS / "layers.ipynb",
    ]
    before = {p: p.read_bytes() for p in map(Path, known[:2] + known[6:10]) if p.is_file()}
    results = grade_many(paths, layers / "autograder", jobs=2, progress=False, limits=LIMITS)
    written = write_results(results, out)
    checking_results = grade_many(
        [attacker(checking_student, reader, USE_LOOT, tmp_path / "reader_checking.ipynb"),
         ASSIGNMENTS / "gradient_checking.ipynb"],
        checking / "autograder", jobs=2, progress=False, limits=LIMITS)

    assert [score(r) for r in results] == [0, 8, 0, 8], [r.output[:600] for r in results]
    assert [score(r) for r in checking_results] == [0, 8], [r.output[:600] for r in checking_results]
    for result in [*results, *checking_results]:
        assert "FOUND" not in result.output and "tampered" not in result.output
    # nothing the students started outlives grading, nor do their files in the shared temporary folders
    deadline = time.monotonic() + 3
    while student_processes(my_uids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert student_processes(my_uids()) == []
    assert files_of(my_uids()) == []
    # the grader's results and files are as it wrote them, and it was never stopped
    time.sleep(0.3)
    assert [json.loads(p.read_text())["score"] for p in written[:-1]] == [0, 8, 0, 8]
    assert all(p.read_bytes() == data for p, data in before.items())
    assert "T (stopped)" not in Path(f"/proc/{os.getpid()}/status").read_text()


def test_honest_notebook_scores_full_marks_with_out_in_tmp(built: dict[str, Path]) -> None:
    """--out in /tmp no longer hides /tmp from the student (its /tmp is its own): 8/8, file written."""
    out = Path("/tmp") / f"toynet-test-{uuid.uuid4().hex}.json"
    try:
        bundle = str(built["layers"] / "autograder")
        code = cli.main(["grade", str(ASSIGNMENTS / "layers.ipynb"), "--assignment", bundle, "--out", str(out),
                         "--no-progress"])
        assert code == 0 and json.loads(out.read_text())["score"] == 8
    finally:
        out.unlink(missing_ok=True)


LINK_PLANTER = r'''
import os
for target in (RESULTS_DIR, RESULTS_DIR + "/results.json", os.path.dirname(RESULTS_DIR)):
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(VICTIM, target)
    except OSError as error:
        print("link refused:", type(error).__name__)
'''


def test_out_folder_is_made_before_student_code_and_links_are_never_followed(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """(c) --out into a folder that does not exist yet: the student's planted links reach nothing of the host."""
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    results_dir = tmp_path / "not" / "yet"
    planter = attacker(ASSIGNMENTS / "layers.ipynb",
                       f"RESULTS_DIR = {str(results_dir)!r}\nVICTIM = {str(victim)!r}\n" + LINK_PLANTER, "",
                       tmp_path / "planter.ipynb")
    code = cli.main(["grade", str(planter), "--assignment", str(built["layers"] / "autograder"),
                     "--out", str(results_dir / "results.json"), "--no-progress"])
    assert code == 0
    assert not results_dir.is_symlink() and stat.S_IMODE(results_dir.stat().st_mode) == 0o700
    results = results_dir / "results.json"
    assert not results.is_symlink() and json.loads(results.read_text())["score"] == 8  # costs nothing here
    assert victim.read_text() == "untouched"


def test_writing_results_replaces_a_planted_link_and_refuses_shared_folders(tmp_path: Path) -> None:
    """Where a student could reach the output folder (no namespaces), a link there is replaced, not followed."""
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    folder = prepare_folder(tmp_path / "out")
    (folder / "results.json").symlink_to(victim)
    write_text(folder / "results.json", '{"score": 1}')
    assert not (folder / "results.json").is_symlink() and victim.read_text() == "untouched"
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # writable by everyone and not sticky: anyone could swap the folder's entries
    with pytest.raises(UnsafeOutput, match="may be changed by other users"):
        write_text(shared / "results.json", "{}")
    assert cli.main(["grade", str(ASSIGNMENTS / "layers.ipynb"), "--assignment", str(tmp_path),
                     "--out", str(shared / "r.json")]) == 2


def test_unsafe_modes_are_refused_unless_trusted(
    built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without root the student would run as the grader: refused; --unsafe-trusted grades the instructor's own."""
    arguments = ["grade", str(ASSIGNMENTS / "layers.ipynb"), "--assignment", str(built["layers"] / "autograder"),
                 "--out", str(tmp_path / "r.json"), "--no-progress"]
    monkeypatch.setattr(sandbox, "isolation", lambda: "none")
    assert cli.main(arguments) == 2
    assert "refusing to grade untrusted submissions" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
    assert cli.main([*arguments, "--unsafe-trusted"]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 8
    # Unix permissions only: every private path a student uid could read is named, and so is a Python it could not run
    monkeypatch.setattr(sandbox, "isolation", lambda: "permissions")
    exposed = Path(tempfile.mkdtemp(prefix="toynet-test-"))  # /tmp/<this>: reachable by every user
    try:
        exposed.chmod(0o755)
        problems = sandbox.isolation_problems([exposed, built["layers"] / "autograder"])
        assert any(str(exposed) in p and "readable by other users" in p for p in problems), problems
        assert not any("autograder" in p for p in problems)  # mode 0700: private
        needed = [os.path.realpath(sys.executable), str(Path(np.__file__).resolve().parent)]
        if set(exposed_paths(needed)) != set(needed):  # e.g. a Python under /root (mode 0700)
            assert any("student code could not run" in p for p in problems), problems
        assert cli.main(arguments) == 2
    finally:
        exposed.rmdir()


def test_exposed_paths_sees_what_a_student_uid_sees() -> None:
    top = Path(tempfile.mkdtemp(prefix="toynet-test-"))
    try:
        top.chmod(0o755)
        private, public = top / "private", top / "public"
        private.mkdir(mode=0o700)
        public.mkdir(mode=0o755)
        (private / "inside.txt").write_text("x")
        (public / "secret.txt").write_text("x")
        (public / "secret.txt").chmod(0o600)
        (public / "open.txt").write_text("x")
        (public / "open.txt").chmod(0o644)
        found = exposed_paths([private, private / "inside.txt", public, public / "secret.txt", public / "open.txt"])
        assert found == [str(public), str(public / "open.txt")]
    finally:
        shutil.rmtree(top)


def test_without_namespaces_every_process_of_the_student_uid_is_killed() -> None:
    """The permissions-only floor: a daemon that left the process group (setsid) still dies with its uid."""
    uid, gid = student_identity()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.setsid()
            if os.fork() == 0:
                os.setsid()
                os.write(ready_w, b"x")
                time.sleep(60)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    os.read(ready_r, 1)
    assert student_processes(range(uid, uid + 1))
    kill_identity(uid, gid)
    deadline = time.monotonic() + 3
    while student_processes(range(uid, uid + 1)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert student_processes(range(uid, uid + 1)) == []
    os.close(ready_r)
    os.close(ready_w)


GRADER_THAT_DIES = """
import os, threading, time
from toynet.grading.gives import student_toynet
from toynet.grading.sandbox import Limits, StudentProcess
cells = ["import os, time\\nif os.fork() == 0:\\n    os.setsid()\\n    time.sleep(120)\\nwhile True:\\n    pass"]
process = StudentProcess(cells, Limits(cell_timeout=30), student_toynet())
def die():
    time.sleep(1.5)  # the cell loops, its daemon sleeps: now the grader dies without closing anything
    print(process.identity[0], os.getpid(), flush=True)
    os._exit(0)
threading.Thread(target=die).start()
process.start()
"""


@pytest.mark.slow(2)
def test_a_submission_dies_with_its_grader() -> None:
    """Even a grader killed mid-cell leaves nothing running: the namespace's init dies with it, and all with it."""
    done = subprocess.run([sys.executable, "-c", GRADER_THAT_DIES], capture_output=True, text=True, timeout=60)
    uid, grader = map(int, done.stdout.split())
    deadline = time.monotonic() + 3
    while student_processes(range(uid, uid + 1)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert student_processes(range(uid, uid + 1)) == []
    for parent in confinement.cgroup_parents().values():  # the groups it could not remove are empty: remove them
        for group in parent.glob(f"toynet-{grader}-*"):
            group.rmdir()


def test_without_namespaces_files_left_in_shared_temporary_folders_are_removed() -> None:
    uid, gid = student_identity()
    mine, theirs = Path(tempfile.mkdtemp(prefix="toynet-test-")), Path(tempfile.mkstemp(prefix="toynet-test-")[1])
    try:
        (mine / "inside").write_text("x")
        for path in (mine, mine / "inside"):
            os.chown(path, uid, gid)
        remove_files_of(uid)
        assert not mine.exists() and theirs.exists()
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        theirs.unlink()


def test_each_submission_gets_its_own_uid() -> None:
    """Concurrent submissions never share an identity (so they cannot signal or read each other's files)."""
    uids = {student_identity()[0] for _ in range(50)}
    assert len(uids) == 50 and min(uids) >= confinement.UID_BASE and max(uids) < 2**32 - 1
    cells = ["import os\ndef who():\n    return [os.getuid(), os.getgid(), os.getcwd(), sorted(os.listdir('/tmp'))]"]
    files = student_toynet()
    with StudentProcess(cells, LIMITS, files) as first, StudentProcess(cells, LIMITS, files) as second:
        first.start()
        second.start()
        one, two = first.call("who", [], {}, 5), second.call("who", [], {}, 5)
    assert one[0] != two[0] and one[0] in my_uids() and two[0] in my_uids() and one[0] == one[1]
    assert one[2] == two[2] == "/sandbox" and one[3] == two[3] == []


FILLER = '''
import errno, os
def fill(folder):
    """Write 8 MB files into `folder` until refused; (bytes written, the error's name)."""
    total, n = 0, 0
    block = b"x" * (1 << 20)
    while total < 1 << 30:
        try:
            with open(f"{folder}/fill{n}", "wb") as handle:
                for _ in range(8):
                    handle.write(block)
                    total += len(block)
        except OSError as error:
            return [total, errno.errorcode[error.errno]]
        n += 1
    return [total, "none"]

def write_into(path):
    try:
        with open(path, "w") as handle:
            handle.write("x")
        return "written"
    except OSError as error:
        return errno.errorcode[error.errno]
'''


def test_scratch_space_is_private_bounded_and_the_rest_read_only() -> None:
    with StudentProcess([FILLER], LIMITS, student_toynet()) as process:
        process.start()
        for folder in ("/tmp", "/dev/shm", "/sandbox"):
            written, error = process.call("fill", [folder], {}, 30)
            assert error == "ENOSPC" and written <= sandbox.SCRATCH_BYTES, (folder, written, error)
        for path in ("/new-file", "/site/numpy/__init__.py", "/sandbox/lib/toynet/layers.py", "/sandbox/protocol.py",
                     "/usr/lib/new-file", "/proc/sys/kernel/hostname"):
            assert process.call("write_into", [path], {}, 5) in {"EROFS", "EACCES", "EPERM", "ENOENT"}, path


HOARDER = """
import os, select, signal, time
def hoard(children, megabytes):
    \"\"\"Fork `children` processes that each touch `megabytes` MB and keep it; how many hold it at the end
    (a child that reported may have been killed since, to make room for a later one).\"\"\"
    read_end, write_end = os.pipe()
    for _ in range(children):
        if os.fork() == 0:
            held = bytearray(megabytes << 20)
            for page in range(0, len(held), 4096):
                held[page] = 1
            os.write(write_end, b"%d\\n" % os.getpid())
            while True:
                signal.pause()
    reported, dead = b"", set()

    def reap():
        try:
            while (pid := os.waitpid(-1, os.WNOHANG)[0]) > 0:
                dead.add(pid)
        except ChildProcessError:
            pass

    # Wait until every child has reported or died (a killed child never reports): each does one or the other in
    # finite time however busy the machine is, so no clock of ours decides (the call's timeout bounds the wait).
    while len({int(pid) for pid in reported.split()} | dead) < children:
        if select.select([read_end], [], [], 0.05)[0]:
            reported += os.read(read_end, 4096)
        reap()
    for _ in range(40):  # a child killed to make room for a later one takes a moment to be reapable
        time.sleep(0.05)
        reap()
    return len({int(pid) for pid in reported.split()} - dead)
"""


def test_memory_is_bounded_for_all_of_a_submissions_processes_together() -> None:
    """RLIMIT_AS bounds one process; 64 processes of one student could hold 64 times it and push the machine
    (every classmate's grading, the grader itself) into its OOM killer. The limit holds for all of them."""
    limit, each = 768 << 20, 200 << 20
    with StudentProcess([HOARDER], Limits(cell_timeout=8, memory=limit), student_toynet()) as process:
        process.start()
        held = process.call("hoard", [6, each >> 20], {}, 120)
    assert held >= 1, "no child held its memory: the hoarder never reached the limit"
    assert held * each <= limit, f"{held} processes held {each >> 20} MB each"


def test_groups_left_by_a_killed_grader_are_removed_once_stale() -> None:
    """A grader killed mid-batch cannot remove its submissions' cgroups: the next grader removes them, but only
    old ones (a grader in another PID namespace may have made a group its student has not joined yet)."""
    confinement.cgroup_parents.cache_clear()
    parents = confinement.cgroup_parents()
    if not parents:
        pytest.skip("no writable cgroup v1 cpu or memory controller on this machine")
    dead = 1 << 30  # above any pid_max: no such process
    made = {(parent, age): parent / f"toynet-{dead}-{age}-{uuid.uuid4().hex[:8]}"
            for parent in parents.values() for age in ("stale", "fresh")}
    try:
        for (_, age), group in made.items():
            group.mkdir()
            if age == "stale":
                os.utime(group, (time.time() - 7200, time.time() - 7200))
        confinement.cgroup_parents.cache_clear()
        confinement.cgroup_parents()
        assert {age for (_, age), group in made.items() if group.exists()} == {"fresh"}
    finally:
        for group in made.values():
            if group.exists():
                group.rmdir()


NAMESPACES = """
import ctypes, errno, os, threading
def make_namespaces():
    # What unshare() says to a user namespace (root inside it could mount an unbounded tmpfs, and reaches far
    # more of the kernel), and whether threads and fork, which use clone/clone3 too, still work.
    libc = ctypes.CDLL(None, use_errno=True)
    said = {}
    for name, flags in {"user": 0x10000000, "user+mount": 0x10020000, "net": 0x40000000}.items():
        said[name] = "made" if libc.unshare(flags) == 0 else errno.errorcode[ctypes.get_errno()]
    ran = []
    thread = threading.Thread(target=ran.append, args=[1])
    thread.start()
    thread.join()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    said["thread"], said["fork"] = ran == [1], os.waitpid(pid, 0)[1] >> 8
    return said
"""


def test_student_code_cannot_make_namespaces() -> None:
    with StudentProcess([NAMESPACES], LIMITS, student_toynet()) as process:
        process.start()
        said = process.call("make_namespaces", [], {}, 10)
    assert said == {"user": "EPERM", "user+mount": "EPERM", "net": "EPERM", "thread": True, "fork": 7}
