"""The Gradescope zip, run for real: its setup.sh and run_autograder in a scratch root laid out like Gradescope's
(`source/` = the unzipped zip, `submission/`, `results/`), with only the apt-get/pip steps skipped
(TOYNET_SKIP_INSTALL; this test's Python, with toynet installed, stands in for the image's venv).

results.json is checked against Gradescope's documented format
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format").
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from toynet.grading import confinement
from toynet.grading.assign import build

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"

pytestmark = pytest.mark.skipif(confinement.isolation() != "namespaces", reason="needs root and namespaces (CI has)")

# Gradescope's results.json: top-level and per-test keys, and the values its enumerations allow.
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def check_gradescope_format(results: dict[str, Any]) -> None:
    """Raise AssertionError where `results` departs from Gradescope's documented results.json."""
    assert set(results) <= TOP_KEYS, set(results) - TOP_KEYS
    tests = results.get("tests", [])
    assert isinstance(tests, list)
    assert "score" in results or all("score" in t for t in tests), "a score overall or on every test"
    if "score" in results:
        assert isinstance(results["score"], (int, float)) and not isinstance(results["score"], bool)
    assert isinstance(results.get("output", ""), str)
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITY
    for test in tests:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        for key in ("score", "max_score"):
            if key in test:
                assert isinstance(test[key], (int, float)) and not isinstance(test[key], bool)
        assert test.get("status", "passed") in {"passed", "failed"}
        assert test.get("visibility", "visible") in VISIBILITY
        assert isinstance(test.get("name", ""), str) and isinstance(test.get("output", ""), str)


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build(ASSIGNMENTS / "layers.ipynb", tmp_path_factory.mktemp("layers"), gradescope=True)
    assert built.gradescope is not None
    return built.gradescope


def gradescope_root(zip_path: Path, tmp_path: Path, submission: dict[str, Path]) -> tuple[Path, dict[str, str]]:
    """A scratch /autograder after Gradescope's image build: source/ unzipped, setup.sh run, run_autograder copied."""
    root = tmp_path / "autograder"
    source = root / "source"
    source.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
        for info in archive.infolist():  # extractall drops the modes Gradescope keeps (run_autograder: 0755)
            os.chmod(source / info.filename, (info.external_attr >> 16) or 0o644)
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "TOYNET_SKIP_INSTALL": "1",
           "TOYNET_PYTHON": sys.executable, "HOME": str(tmp_path)}
    subprocess.run(["bash", str(source / "setup.sh")], env=env, check=True, capture_output=True, timeout=60)
    shutil.copy(source / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    for name, notebook in submission.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, target)
    return root, env


def run_autograder(root: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([str(root / "run_autograder")], env=env, cwd=root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    check_gradescope_format(results)
    return results


def test_the_zip_is_private_and_setup_leaves_no_reference_readable(zip_path: Path, tmp_path: Path) -> None:
    assert stat.S_IMODE(zip_path.stat().st_mode) == 0o600  # it holds toynet's full source and the bundle
    names = set(zipfile.ZipFile(zip_path).namelist())
    assert {"setup.sh", "run_autograder", "autograder/assignment.json", "toynet-src/pyproject.toml"} <= names
    root, _ = gradescope_root(zip_path, tmp_path, {})
    assert not (root / "source" / "toynet-src").exists()
    assert stat.S_IMODE((root / "source").stat().st_mode) == 0o700


def test_the_named_notebook_is_graded_beside_other_uploads(zip_path: Path, tmp_path: Path) -> None:
    """layers.ipynb is chosen by name, even beside another notebook that sorts first."""
    root, env = gradescope_root(zip_path, tmp_path, {
        "layers.ipynb": ASSIGNMENTS / "layers.ipynb",
        "a_scratch.ipynb": zip_path.parent.parent / "student" / "layers.ipynb",
    })
    results = run_autograder(root, env)
    assert results["score"] == 8 and [t["score"] for t in results["tests"]] == [3, 1, 1, 1, 2]
    assert all(t["status"] == "passed" for t in results["tests"])
    assert stat.S_IMODE((root / "results").stat().st_mode) == 0o700


def test_a_single_notebook_under_another_name_is_graded(zip_path: Path, tmp_path: Path) -> None:
    root, env = gradescope_root(zip_path, tmp_path, {"folder/layers (1).ipynb": ASSIGNMENTS / "layers.ipynb"})
    assert run_autograder(root, env)["score"] == 8


@pytest.mark.parametrize(
    ("upload", "phrase"),
    [
        ({"mine.ipynb": "solution", "other.ipynb": "student"}, "2 notebooks"),
        ({"a/layers.ipynb": "solution", "b/layers.ipynb": "student"}, "2 notebooks"),
        ({"notes.txt": "text"}, "No notebook was found"),
    ],
)
def test_an_ambiguous_or_empty_upload_is_refused_with_a_result(
    zip_path: Path, tmp_path: Path, upload: dict[str, str], phrase: str
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    sources = {"solution": ASSIGNMENTS / "layers.ipynb", "student": zip_path.parent.parent / "student" / "layers.ipynb",
               "text": text}
    root, env = gradescope_root(zip_path, tmp_path, {name: sources[kind] for name, kind in upload.items()})
    results = run_autograder(root, env)
    assert results["score"] == 0 and phrase in results["output"] and "layers.ipynb" in results["output"]


def test_a_crashing_grader_still_leaves_results(zip_path: Path, tmp_path: Path) -> None:
    """The bundle is corrupt (the grader itself fails): results.json still says 0, without the grader's details."""
    root, env = gradescope_root(zip_path, tmp_path, {"layers.ipynb": ASSIGNMENTS / "layers.ipynb"})
    (root / "source" / "autograder" / "assignment.json").write_text("{ not json")
    results = run_autograder(root, env)
    assert results["score"] == 0 and "autograder failed" in results["output"]
    assert "Traceback" not in results["output"] and results["stdout_visibility"] == "hidden"


def test_an_nbgrader_assignment_reports_hand_graded_cells_apart(tmp_path: Path) -> None:
    """An nbgrader-format source through the zip: the score is the autograded points; each cell graded by hand
    is an entry without a score, named with its points, in Gradescope's format."""
    source = Path(__file__).resolve().parent / "fixtures" / "nbgrader_sets" / "gradient_check_1d.ipynb"
    built = build(source, tmp_path / "built", gradescope=True)
    assert built.gradescope is not None
    root, env = gradescope_root(built.gradescope, tmp_path, {"gradient_check_1d.ipynb": source})
    results = run_autograder(root, env)
    assert results["score"] == 4 and [t.get("score") for t in results["tests"]] == [1, 1, 2, None]
    assert results["tests"][-1]["name"] == "why_centred (graded by hand, 1 point)"
    assert results["extra_data"]["graded_by_hand"] == {"why_centred": 1}  # beside toynet's own record
