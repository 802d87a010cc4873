"""A class's results are never lost: `toynet grade` for real, in a subprocess, through the real sandbox.

- killed with SIGKILL mid-batch and run again: every submission graded exactly once;
- a regrade of two students keeps every other row of class.csv; a notebook changed since it was graded is
  graded again, the others are not;
- any file name (bytes that are not UTF-8, newlines, terminal escapes, formula prefixes, names a naive mapping
  would send to one file) gets its own results file and a safe class.csv row, and never reaches the terminal raw;
- `--shard I/N` splits a class the same way whatever the order of the list, and `toynet merge` joins the shards
  into the class.csv a single run writes, and says which shard or submission is missing.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toynet.grading import confinement
from toynet.grading.assign import build

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
SOLUTION = ASSIGNMENTS / "layers.ipynb"
FULL = 8

pytestmark = pytest.mark.skipif(confinement.isolation() != "namespaces", reason="needs root and namespaces (CI has)")


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layers")
    build(SOLUTION, out)
    return out


def toynet(*arguments: str | bytes | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """`toynet ...` in a subprocess; raw bytes out, so that nothing is decoded on the way."""
    return subprocess.run([sys.executable, "-m", "toynet", *map(os.fsencode, arguments)], cwd=cwd,
                          capture_output=True, timeout=600)


def records(out: Path) -> dict[str, dict]:
    """Results files in `out`, by the submission name each records."""
    found = {}
    for path in out.glob("*.json"):
        if not path.name.startswith("shard-"):
            data = json.loads(path.read_text())
            name = data["extra_data"]["toynet"]["submission"]
            assert name not in found, f"two results files for {name}"
            found[name] = data
    return found


def class_rows(out: Path) -> dict[str, list[str]]:
    rows = list(csv.reader((out / "class.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][0] == "submission" and rows[0][-2:] == ["total", "max"]
    return {row[0]: row[1:] for row in rows[1:]}


def slow_copy(path: Path) -> None:
    """The solution with a cell that sleeps: a batch of these is still running when it is killed."""
    notebook = json.loads(SOLUTION.read_text())
    notebook["cells"].append({"cell_type": "code", "id": "slow", "metadata": {}, "outputs": [],
                              "execution_count": None, "source": "import time\ntime.sleep(1.0)"})
    path.write_text(json.dumps(notebook))


@pytest.mark.slow(20)
def test_a_batch_killed_with_sigkill_and_run_again_grades_each_submission_once(layers: Path, tmp_path: Path) -> None:
    names = [f"subs/student{n}.ipynb" for n in range(6)]
    (tmp_path / "subs").mkdir()
    for name in names:
        slow_copy(tmp_path / name)
    command = [sys.executable, "-m", "toynet", "grade", "subs", "--assignment", str(layers / "autograder"),
               "--out", "grades", "--no-progress"]
    grader = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while len(records(tmp_path / "grades") if (tmp_path / "grades").is_dir() else {}) < 2:
            assert grader.poll() is None, "the grader finished before it could be killed"
            time.sleep(0.02)
        os.kill(grader.pid, signal.SIGKILL)
    finally:
        grader.kill()
        grader.wait()
    before = {name: data["extra_data"]["toynet"]["graded_at"] for name, data in records(tmp_path / "grades").items()}
    assert 2 <= len(before) < len(names)  # killed mid-batch, with what it had graded on disk

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert f"grading {len(names) - len(before)} of the {len(names)} submissions ({len(before)} already graded" \
        in again.stderr
    after = records(tmp_path / "grades")
    assert sorted(after) == names and all(data["score"] == FULL for data in after.values())
    for name, graded_at in before.items():  # not graded a second time
        assert after[name]["extra_data"]["toynet"]["graded_at"] == graded_at
    assert sorted(class_rows(tmp_path / "grades")) == names


@pytest.mark.slow(15)
def test_a_regrade_keeps_every_other_row_and_a_changed_notebook_is_graded_again(layers: Path, tmp_path: Path) -> None:
    names = [f"subs/{who}.ipynb" for who in ("ada", "ben", "cy", "dee")]
    (tmp_path / "subs").mkdir()
    for name in names:
        shutil.copy(SOLUTION, tmp_path / name)
    bundle = str(layers / "autograder")
    assert toynet("grade", *names, "--assignment", bundle, "--out", "grades", "--no-progress",
                  "--jobs", "2", cwd=tmp_path).returncode == 0
    first = {name: data["extra_data"]["toynet"]["graded_at"] for name, data in records(tmp_path / "grades").items()}

    done = toynet("grade", names[0], names[2], "--regrade", "--assignment", bundle, "--out", "grades",
                  "--no-progress", cwd=tmp_path)
    assert done.returncode == 0 and b"grading 2 of the 2 submissions" in done.stderr
    second = {name: data["extra_data"]["toynet"]["graded_at"] for name, data in records(tmp_path / "grades").items()}
    assert [second[n] != first[n] for n in names] == [True, False, True, False]
    assert class_rows(tmp_path / "grades") == {n: ["3", "1", "1", "1", "2", "8", "8"] for n in names}

    bugged = (tmp_path / names[1]).read_text().replace("dW = dZ @ A_prev.T", "dW = dZ @ A_prev.T * 2")
    (tmp_path / names[1]).write_text(bugged)  # ben changes his notebook: only it is graded again
    done = toynet("grade", "subs", "--assignment", bundle, "--out", "grades", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0 and b"grading 1 of the 4 submissions (3 already graded" in done.stderr
    rows = class_rows(tmp_path / "grades")
    assert rows[names[1]] == ["0", "1", "1", "1", "2", "5", "8"]
    assert all(rows[n] == ["3", "1", "1", "1", "2", "8", "8"] for n in names if n != names[1])


# Each file name (bytes, as the file system holds it) and the class.csv cell it must get: the name with
# non-UTF-8 bytes as \xNN, controls as \n or \uNNNN, a backslash doubled; a leading = + - @ quoted as text.
HOSTILE_NAMES = {
    b"\xff\xfe latin.ipynb": "\\xff\\xfe latin.ipynb",
    b"\\xff\\xfe latin.ipynb": "\\\\xff\\\\xfe latin.ipynb",  # the escape's own spelling: another row
    b"new\nline.ipynb": "new\\nline.ipynb",
    b"\x1b[2J\x1b]0;pwned\x07.ipynb": "\\u001b[2J\\u001b]0;pwned\\u0007.ipynb",
    "bidi\u202egpj.ipynb".encode(): "bidi\\u202egpj.ipynb",
    b"=HYPERLINK(\"x.invalid\").ipynb": "'=HYPERLINK(\"x.invalid\").ipynb",
    b"+1.ipynb": "'+1.ipynb",
    b"-1.ipynb": "'-1.ipynb",
    b"@SUM(1).ipynb": "'@SUM(1).ipynb",
    b"a__b.ipynb": "a__b.ipynb",
    b"a/b.ipynb": "a/b.ipynb",  # replacing / by __ once sent these two to one results file
    b"x" * 240 + b".ipynb": "x" * 240 + ".ipynb",
}


@pytest.mark.slow(15)
def test_any_file_name_gets_its_own_result_and_a_safe_row(layers: Path, tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    (folder / "a").mkdir(parents=True)
    for raw in HOSTILE_NAMES:
        with open(os.path.join(os.fsencode(folder), raw), "wb") as handle:
            handle.write(SOLUTION.read_bytes())
    done = toynet("grade", "--assignment", layers / "autograder", "--out", tmp_path / "grades", "--jobs", "2",
                  "--no-progress", "--", *HOSTILE_NAMES, cwd=folder)  # "--": -1.ipynb is a name, not an option
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout + done.stderr
    assert not any(byte in printed for byte in (b"\x1b", b"\x07", b"\xff", "\u202e".encode()))
    assert b"new\\nline.ipynb" in done.stdout and b"\\u001b[2J" in done.stdout
    rows = class_rows(tmp_path / "grades")
    assert sorted(rows) == sorted(HOSTILE_NAMES.values())
    assert all(row[-2:] == ["8", "8"] for row in rows.values())
    assert all(name.isprintable() and not name.startswith(("=", "+", "-", "@")) for name in rows)
    files = [p for p in (tmp_path / "grades").iterdir() if p.suffix == ".json"]
    assert len(files) == len(HOSTILE_NAMES) and all(len(p.name.encode()) <= 120 for p in files)


@pytest.mark.slow(20)
def test_shards_partition_the_class_and_merge_into_the_single_run_table(layers: Path, tmp_path: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    names = []
    student = layers / "student" / "layers.ipynb"
    for n in range(9):
        names.append(f"subs/s{n}.ipynb")
        shutil.copy(SOLUTION if n % 3 == 0 else student, tmp_path / names[-1])
    bundle = str(layers / "autograder")
    single = toynet("grade", "subs", "--assignment", bundle, "--out", "single", "--jobs", "2", "--no-progress",
                    cwd=tmp_path)
    assert single.returncode == 0
    given = []
    for index in range(3):
        order = names if index != 1 else names[::-1]  # a shard's part does not depend on the order of the list
        done = toynet("grade", *order, "--shard", f"{index}/3", "--assignment", bundle, "--out", f"shard{index}",
                      "--no-progress", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        given.append(json.loads((tmp_path / f"shard{index}" / f"shard-{index}-of-3.json").read_text())["submissions"])
    again = toynet("grade", *names, "--shard", "1/3", "--assignment", bundle, "--out", "shard1_again",
                   "--no-progress", cwd=tmp_path)
    assert again.returncode == 0
    assert json.loads((tmp_path / "shard1_again" / "shard-1-of-3.json").read_text())["submissions"] == given[1]
    assert sorted(sum(given, [])) == sorted(names)  # every submission in exactly one shard

    merged = toynet("merge", "shard0", "shard1", "shard2", "--out", "merged", cwd=tmp_path)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert (tmp_path / "merged" / "merge-report.txt").read_bytes() == merged.stdout  # the report, kept
    assert (tmp_path / "merged" / "class.csv").read_text() == (tmp_path / "single" / "class.csv").read_text()
    assert sorted(records(tmp_path / "merged")) == sorted(names)

    lost = next(i for i in range(3) if given[i])  # a shard whose folder never came back
    partial = toynet("merge", *[f"shard{i}" for i in range(3) if i != lost], "--out", "partial", cwd=tmp_path)
    assert partial.returncode == 1 and f"shard(s) {lost} of 3".encode() in partial.stdout
    killed = tmp_path / f"shard{lost}"  # a shard killed after its list was written, before any result
    for path in killed.glob("*.json"):
        if not path.name.startswith("shard-"):
            path.unlink()
    incomplete = toynet("merge", "shard0", "shard1", "shard2", "--out", "incomplete", cwd=tmp_path)
    assert incomplete.returncode == 1
    assert f"{len(given[lost])} submission(s) given to a shard have no result: {given[lost][0]}".encode() \
        in incomplete.stdout


def test_bad_shards_and_empty_folders_are_usage_errors(layers: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for arguments, message in [(["--shard", "3/3"], b"--shard expects I/N with 0 <= I < N"),
                               (["--shard", "x"], b"--shard expects I/N"),
                               (["empty"], b"no .ipynb file below the folder empty")]:
        paths = [] if "empty" in arguments else [str(SOLUTION)]
        done = toynet("grade", *paths, *arguments, "--assignment", layers / "autograder", "--out", "grades",
                      cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, done.stderr
