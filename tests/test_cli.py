"""The `toynet` command: the real entry points, run as a user runs them."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from toynet.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
COURSE = "toynet.exercises.gradient_checking"

STUDENT_BACKWARD = '''
import numpy as np


def backward(X, Y, cache):
    """A student's own corrected backward, plain numpy."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1. / m * np.dot(dZ3, A2.T)
    db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1. / m * np.dot(dZ2, A1.T)
    db2 = 1. / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1. / m * np.dot(dZ1, X.T)
    db1 = 1. / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def transposed_dW3(X, Y, cache):
    grads = backward(X, Y, cache)
    grads["dW3"] = grads["dW3"] * 0.5
    return grads


def crashes(X, Y, cache):
    return helper(cache)


def helper(cache):
    raise KeyError("dZ4")


def wrong_keys(X, Y, cache):
    return {"dW1": 0}


not_a_function = 42
'''


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "toynet", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def student_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_backward.py"
    path.write_text(STUDENT_BACKWARD)
    return path


# ------------------------------------------------------------------------------------------------ help


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["check", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: toynet")
    assert all(len(line) <= 80 for line in out.splitlines())
    if argv[0] == "check":
        assert "MODULE:FUNCTION" in out and "--sizes" in out and "Exit status" in out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------ demo


@pytest.mark.slow(2)
def test_demo_in_a_subprocess_prints_the_report_and_writes_the_figures(tmp_path):
    out_dir = tmp_path / "figures"
    result = run_cli("demo", "--out", "figures", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), max(result.stdout.splitlines(), key=len)
    out = " ".join(result.stdout.split())  # long sentences are wrapped to fit 80 columns
    # 1-D: docs/REFERENCE.md
    assert "Your backward propagation works perfectly fine! difference = 2.91933588" in out
    # N-D buggy: the course's sentence and number (0.2850931567761623, to 1e-9 absolute: 8 decimals shown)
    assert "There is a mistake in the backward propagation! difference = 0.28509315" in out
    assert "2.40783338983" in out  # the cost at the test case
    section = out.split("2. ")[1].split("3. ")[0]
    assert "W2" in section and "b1" in section
    # corrected: about 1.19e-7 at the course's step, and the 2e-7 threshold is explained
    assert "1.19e-07" in out and "2e-7" in out
    # figures
    pngs = sorted(out_dir.glob("*.png"))
    assert {p.name for p in pngs} == {"step_sweep.png", "block_differences.png", "error_bars.png"}
    # the saturated case: a correct backward passes against its measured error, and the cause is named
    saturated = out.split("5. When the check's own error is large")[1].split("6. Figures")[0]
    assert "Verdict: passed" in saturated and "Cause (saturated)" in saturated and "LogisticCostFromLogits" in saturated
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 10_000
        assert png.name in out
    assert "Written to figures/:" in out  # says where


# ----------------------------------------------------------------------------------------------- check


def test_check_course_backward_as_handed_out_fails_naming_W2_and_b1(capsys):
    assert main(["check", f"{COURSE}:backward_propagation_n"]) == 1
    out = capsys.readouterr().out
    assert "the course's test case" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "There is a mistake in the backward propagation!" in out
    assert "W2" in out and "b1" in out
    assert "error bar" in out and "FAIL" in out  # the report: each block against its numerical error


def test_check_course_fixed_backward_passes_at_the_course_step(capsys):
    assert main(["check", f"{COURSE}:backward_propagation_n_fixed", "--epsilon", "1e-7"]) == 0
    assert "Your backward propagation works perfectly fine!" in capsys.readouterr().out


def test_check_a_students_file_on_another_shape(student_file, capsys):
    assert main(["check", f"{student_file}:backward", "--sizes", "3,6,4,1", "--seed", "2", "--examples", "5"]) == 0
    out = capsys.readouterr().out
    assert "--sizes 3,6,4,1 --seed 2 --examples 5" in out and "works perfectly fine" in out
    assert main(["check", f"{student_file}:transposed_dW3"]) == 1
    out = capsys.readouterr().out
    assert "W3" in out and "There is a mistake" in out


def test_check_a_module_by_name_from_the_current_folder(student_file):
    result = run_cli("check", "my_backward:backward", cwd=student_file.parent)
    assert result.returncode == 0, result.stderr
    result = run_cli("check", "my_backward:transposed_dW3", "--sizes", "5,4,3,1", cwd=student_file.parent)
    assert result.returncode == 1 and "W3" in result.stdout


def test_check_when_the_students_function_raises(student_file, capsys):
    assert main(["check", f"{student_file}:crashes"]) == 1
    err = capsys.readouterr().err
    assert "raised KeyError" in err and "dZ4" in err
    assert "helper" in err and "toynet/" not in err  # their frames only
    assert main(["check", f"{student_file}:wrong_keys"]) == 1
    assert "dW1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon_here", "MODULE:FUNCTION"),
        ("surely_not_a_module_xyz:f", "cannot import"),
        ("missing/file.py:f", "no such file"),
        (f"{COURSE}:no_such_function", "no attribute"),
        (f"{COURSE}:THRESHOLD", "not a function"),
    ],
)
def test_check_usage_errors_exit_2_without_traceback(spec, message, capsys):
    assert main(["check", spec]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("bad", [["--sizes", "4"], ["--sizes", "4,0,1"], ["--sizes", "a,b"], ["--epsilon", "-1"]])
def test_check_bad_options_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", f"{COURSE}:backward_propagation_n", *bad])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_console_script_and_file_target_from_a_subprocess(student_file, tmp_path):
    script = Path(sys.executable).with_name("toynet")
    assert script.exists(), "the toynet console script is installed with the package"
    result = subprocess.run([str(script), "check", f"{student_file}:not_a_function"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "not a function" in result.stderr and "Traceback" not in result.stderr
    broken = tmp_path / "broken.py"
    broken.write_text(textwrap.dedent("def backward(X, Y, cache)\n    return {}\n"))
    result = run_cli("check", f"{broken}:backward")
    assert result.returncode == 2 and "SyntaxError" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------- check: the student's own network
# tests/student_networks/ holds networks written as students write them (each correct); a bug is planted by
# replacing one line, so the block it breaks is known independently of the checker: that block, and only it,
# must be named FAIL, and the check must exit 1; the correct file exits 0.

NETWORKS = Path(__file__).resolve().parent / "student_networks"


def failing_blocks(out: str) -> set[str]:
    """The blocks the per-block table marks FAIL (a line like `b1    (5, 1)  7.78e-01  1.3e-10  FAIL ...`)."""
    return {line.split()[0] for line in out.splitlines() if re.match(r"^[Wb]\d+ +\(", line) and " FAIL " in line}


def planted(tmp_path: Path, name: str, old: str, new: str) -> Path:
    source = (NETWORKS / name).read_text()
    assert source.count(old) == 1, f"the bug's target {old!r} must occur once in {name}"
    path = tmp_path / name
    path.write_text(source.replace(old, new))
    return path


CORRECT = [
    ("two_layer.py:backward_propagation", []),  # forward found by name; depth 2 read from its "W2" keys
    ("planar_week3.py:backward_propagation", []),  # backward_propagation(parameters, cache, X, Y)
    ("deep_l_model.py:L_model_backward", ["--sizes", "5,4,4,3,2,1"]),  # 5 layers
    ("deep_l_model.py:L_model_backward", ["--sizes", "3,2,1"]),  # the same code at another depth
    ("tanh_loss.py:loss", []),  # sizes from its module-level X and its "W3" keys
    ("tanh_loss.py:loss", ["--sizes", "3,6,2,1", "--seed", "4"]),
]


@pytest.mark.parametrize(("target", "options"), CORRECT, ids=[" ".join([t, *o]) for t, o in CORRECT])
def test_check_a_correct_student_network_exits_0(target, options, capsys):
    assert main(["check", str(NETWORKS / target.split(":")[0]) + ":" + target.split(":")[1], *options]) == 0
    out = capsys.readouterr().out
    assert failing_blocks(out) == set() and "your backward is right" in out
    assert all(len(line) <= 80 for line in out.splitlines()[1:])  # after the line naming the file


BUGS = [
    # (file:function, options, old, new, the one block the bug breaks, a word of the advice)
    ("two_layer.py:backward_propagation", [], "db1 = np.sum(dZ1, axis=1, keepdims=True) / m",
     "db1 = np.sum(dZ1, axis=1, keepdims=True)", "b1", "db1"),
    ("two_layer.py:backward_propagation", [], "dW2 = dZ2 @ A1.T / m", "dW2 = dZ2 @ A1.T / m * 2", "W2", "dW2"),
    ("planar_week3.py:backward_propagation", ["--sizes", "3,4,1"], "dW1 = (1 / m) * np.dot(dZ1, X.T)",
     "dW1 = (1 / m) * np.dot(dZ1, X.T) + 0.01", "W1", "dW1"),
    ("deep_l_model.py:L_model_backward", ["--sizes", "5,4,4,3,2,1"],
     'grads["db" + str(l + 1)] = db', 'grads["db" + str(l + 1)] = db * (1.5 if l == 2 else 1)', "b3", "db3"),
    ("deep_l_model.py:L_model_backward", ["--sizes", "5,4,4,3,2,1"],
     "db = np.sum(dZ, axis=1, keepdims=True) / m",
     "db = np.sum(dZ, axis=1, keepdims=True) / (m if W.shape[0] != 2 else 1)", "b4", "db4"),
    ("tanh_loss.py:loss", [], "dW2 = dZ2 @ A1.T / m", "dW2 = dZ2 @ A1.T", "W2", "dW2"),
    ("tanh_loss.py:loss", [], "db3 = dZ3.sum(axis=1, keepdims=True) / m",
     "db3 = dZ3.sum(axis=0, keepdims=True)[:, :1] / m", "b3", "db3"),
]  # fmt: skip


@pytest.mark.parametrize(("target", "options", "old", "new", "block", "advice"), BUGS,
                         ids=[f"{b[0]}: {b[4]}" for b in BUGS])
def test_check_names_exactly_the_planted_block(target, options, old, new, block, advice, tmp_path, capsys):
    name, function = target.split(":")
    path = planted(tmp_path, name, old, new)
    assert main(["check", f"{path}:{function}", *options]) == 1
    out = capsys.readouterr().out
    assert failing_blocks(out) == {block}
    assert f"look at {advice}" in " ".join(out.split("What to look at:")[1].split())


def test_check_a_bug_that_enters_at_one_layer_points_at_its_dZ(tmp_path, capsys):
    """A wrong activation derivative at layer 1 of the 2-layer network breaks dW1 and db1 together: dZ1."""
    path = planted(tmp_path, "two_layer.py", "(1 - A1 ** 2)", "(1 - A1)")
    assert main(["check", f"{path}:backward_propagation"]) == 1
    out = capsys.readouterr().out
    assert failing_blocks(out) == {"W1", "b1"}
    assert "dZ1" in out.split("What to look at:")[1]


def test_check_a_pair_of_the_students_own_naming(tmp_path, capsys):
    source = (NETWORKS / "two_layer.py").read_text()
    path = tmp_path / "mine.py"
    path.write_text(source.replace("def forward_propagation", "def predict_probabilities")
                    .replace("def backward_propagation", "def gradients_of"))
    # (X, Y, cache) and no forward found by name: the course's form, run on the course's cache, with a hint
    assert main(["check", f"{path}:gradients_of"]) == 1
    assert "--forward NAME" in capsys.readouterr().err
    assert main(["check", f"{path}:gradients_of", "--forward", "predict_probabilities", "--sizes", "3,7,1"]) == 0
    assert "--sizes 3,7,1" in capsys.readouterr().out
    assert main(["check", f"{path}:gradients_of", "--forward", "nope"]) == 2
    assert "no function 'nope'" in capsys.readouterr().err
    # names that pair only loosely: the module's one function with "forward" in its name is the forward
    path.write_text(source.replace("def forward_propagation", "def forward_pass")
                    .replace("def backward_propagation", "def backprop"))
    assert main(["check", f"{path}:backprop"]) == 0
    assert "with your forward_pass" in " ".join(capsys.readouterr().out.split())


def test_check_an_unknown_signature_exits_2_listing_the_forms(capsys):
    assert main(["check", f"{NETWORKS / 'unknown_signature.py'}:backward"]) == 2
    err = capsys.readouterr().err
    assert "backward(dA, cache, W, b) is not a signature toynet knows" in err
    for form in ("backward_propagation_n(X, Y, cache)", "L_model_backward(AL, Y, caches)", "--forward my_forward",
                 "loss(parameters) -> (cost, gradients)"):
        assert form in " ".join(err.split())
    assert "Traceback" not in err


def test_check_when_the_students_forward_raises_shows_their_line(tmp_path, capsys):
    path = planted(tmp_path, "deep_l_model.py", "Z = np.dot(W, A_prev) + b", "Z = np.dot(A_prev, W) + b")
    assert main(["check", f"{path}:L_model_backward", "--sizes", "5,4,4,3,2,1"]) == 1
    err = capsys.readouterr().err
    assert "Your function L_model_forward raised ValueError" in err
    assert "Z = np.dot(A_prev, W) + b" in err and str(path) in err and "toynet/" not in err


def test_check_a_network_of_another_depth_than_asked_is_told_so(capsys):
    assert main(["check", f"{NETWORKS / 'two_layer.py'}:backward_propagation", "--sizes", "4,5,3,1"]) == 1
    err = capsys.readouterr().err
    assert "(1, 8)" in err and "(3, 8)" in err and "--sizes" in err


def test_check_a_loss_without_sizes_or_data_asks_for_sizes(tmp_path, capsys):
    path = tmp_path / "bare.py"
    path.write_text("def loss(parameters):\n    return 0.0, {}\n")
    assert main(["check", f"{path}:loss"]) == 2
    assert "--sizes" in capsys.readouterr().err


def test_check_a_two_layer_network_under_the_course_names_uses_its_own_forward(tmp_path, capsys):
    """backward_propagation_n and forward_propagation_n(X, Y, parameters) kept from the course, 2 layers inside."""
    source = (NETWORKS / "two_layer.py").read_text()
    source = source.replace("def forward_propagation(X, parameters)", "def forward_propagation_n(X, Y, parameters)")
    source = source.replace("    return A2, (Z1, A1, Z2, A2, W1, W2)",
                            "    cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))\n"
                            "    return cost, (Z1, A1, Z2, A2, W1, W2)")
    path = tmp_path / "course_names.py"
    path.write_text(source.replace("def backward_propagation(", "def backward_propagation_n("))
    assert main(["check", f"{path}:backward_propagation_n"]) == 0
    assert "--sizes 4,5,1" in capsys.readouterr().out
    buggy = planted(tmp_path, "two_layer.py", "db2 = np.sum(dZ2, axis=1, keepdims=True) / m",
                    "db2 = np.sum(dZ2, axis=1, keepdims=True) / m + 1")
    buggy.write_text(path.read_text().replace("db2 = np.sum(dZ2, axis=1, keepdims=True) / m",
                                              "db2 = np.sum(dZ2, axis=1, keepdims=True) / m + 1"))
    assert main(["check", f"{buggy}:backward_propagation_n"]) == 1
    assert failing_blocks(capsys.readouterr().out) == {"b2"}
