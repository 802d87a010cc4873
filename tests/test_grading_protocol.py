"""The grader's trust boundary without processes: bounded decoding, fair checks, the `gives` allowlist.

Everything here is what the grader does with bytes a hostile student process chose, or with an assignment's
config before any student sees it. The same attacks through the real sandbox are in test_grading_hostile.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toynet.grading import checks, protocol
from toynet.grading.assign import AssignmentError, load_config
from toynet.grading.gives import GivesError, build_student_toynet, parse_gives

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"


# ---------------------------------------------------------------- protocol: malformed and oversized lines


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"__ndarray__": {"dtype": "float64", "shape": [0, 100000000000000000000], "data": []}}', "shape"),
        (b'{"__ndarray__": {"dtype": "float64", "shape": [0, 1e20], "data": []}}', "shape"),
        (b'{"__ndarray__": {"dtype": "float64", "shape": [1000, 1000], "data": []}}', "at most"),
        (b'{"__ndarray__": {"dtype": "float64", "shape": [' + b"1, " * 40 + b'1], "data": [1]}}', "shape"),
        (b'{"__ndarray__": {"dtype": "float64", "shape": [true], "data": [1]}}', "shape"),
        (b'{"__ndarray__": {"dtype": "int8", "shape": [1], "data": [1e300]}}', "fit dtype"),
        (b'{"__ndarray__": {"dtype": "int64", "shape": [1], "data": [' + b"9" * 30 + b"]}}", "fit dtype"),
        (b'{"__ndarray__": {"dtype": "float64", "shape": [1], "data": [1], "extra": 1}}', "exactly the keys"),
        (b'{"__ndarray__": {"dtype": ["float64"], "shape": [1], "data": [1]}}', "dtype"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b"[" * 40 + b"1" + b"]" * 40, "nested deeper"),
        (b"\xff\xfe not json", "not JSON"),
        (b'{"__dict__": [1, 2]}', "not plain data"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(protocol.ProtocolError, match=reason):
        protocol.loads(raw)


def test_size_is_bounded_before_parsing() -> None:
    """A 30 MB line is refused by its length, a line of a million tiny lists by its separators: unparsed."""
    with pytest.raises(protocol.ProtocolError, match="at most 8 MB"):
        protocol.loads(b"[" + b"0," * 15_000_000 + b"0]")
    many = b"[" + b"[]," * protocol.MAX_VALUES + b"[]]"
    assert len(many) < protocol.MAX_LINE
    with pytest.raises(protocol.ProtocolError, match="values"):
        protocol.loads(many)


def test_the_dtype_a_sender_chose_is_never_echoed_whole() -> None:
    secret = "SECRET" * 10_000
    raw = json.dumps({"__ndarray__": {"dtype": secret, "shape": [1], "data": [1]}}).encode()
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.loads(raw)
    assert len(str(caught.value)) < 100


def test_arrays_at_the_limits_still_round_trip() -> None:
    array = np.arange(protocol.MAX_ELEMENTS, dtype=np.float64).reshape(-1, 2)
    np.testing.assert_array_equal(protocol.loads(protocol.dumps(array)), array)
    empty = np.zeros((0, protocol.MAX_ELEMENTS))
    assert protocol.loads(protocol.dumps(empty)).shape == empty.shape
    with pytest.raises(protocol.ProtocolError, match="at most"):
        protocol.dumps(np.zeros(protocol.MAX_ELEMENTS + 1))


# ---------------------------------------------------------------- checks: one value, however it is typed


@pytest.mark.parametrize(
    "answer",
    [0.5, np.float64(0.5), np.float32(0.5), np.squeeze(np.array([[0.5]])), np.array(0.5), np.array([[0.5]]).sum()],
    ids=["float", "float64", "float32", "squeezed 0-d", "0-d", "numpy sum"],
)
def test_a_number_passes_however_it_is_typed(answer: object) -> None:
    checks.expect_number(answer, 0.5, "cost", rtol=1e-7)


@pytest.mark.parametrize(
    "answer",
    [np.array([0.5]), np.array([[0.5]]), True, np.bool_(True), np.array(True), 0.5 + 0j, "0.5", None, 10**400],
    ids=["(1,)", "(1, 1)", "bool", "numpy bool", "0-d bool", "complex", "str", "None", "huge int"],
)
def test_what_is_not_a_number_fails_with_a_message(answer: object) -> None:
    with pytest.raises(AssertionError, match="cost: expected"):
        checks.expect_number(answer, 1.0, "cost")


def test_a_0d_expected_array_accepts_a_scalar_of_the_same_kind() -> None:
    checks.expect_array(0.25, np.array(0.25), "J")
    checks.expect_array(np.float64(0.25), np.array(0.25), "J")
    with pytest.raises(AssertionError, match="wrong values"):
        checks.expect_array(0.5, np.array(0.25), "J")
    with pytest.raises(AssertionError, match="expected a numpy array of shape \\(1, 1\\)"):
        checks.expect_array(0.25, np.array([[0.25]]), "J")


# ---------------------------------------------------------------- gives: an allowlist checked at build time


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["toynet.losses:_xlogy"], "public names only"),
        (["toynet.losses:xlogy"], "no top-level name 'xlogy'"),
        (["toynet.layer:Linear"], "no module 'toynet.layer'"),
        (["toynet.layers:Linear.backwards"], "no method 'backwards'"),
        (["toynet.layers:Linear.forward.x"], "no method"),
        (["toynet.grading.checks:expect_array"], "never given"),
        ("toynet.layers", "must be a list"),
    ],
)
def test_unknown_or_forbidden_gives_are_errors_naming_the_entry(entries: object, message: str) -> None:
    with pytest.raises(GivesError, match=message) as caught:
        parse_gives(entries)
    if isinstance(entries, list):
        assert repr(entries[0]) in str(caught.value)


def test_config_refuses_unknown_keys_limits_and_the_old_denylist(tmp_path: Path) -> None:
    notebook = tmp_path / "hw.ipynb"
    for entry, message in [
        ({"stubs": ["toynet.gradcheck"]}, "unknown key 'stubs'; toynet is now an allowlist"),
        ({"give": []}, "unknown key 'give'"),
        ({"limits": {"wallclock": 3}}, "unknown limit 'wallclock'"),
        ({"limits": {"wall_clock": -3}}, "positive number"),
        ({"points": {"q": "three"}}, "non-negative numbers"),
    ]:
        (tmp_path / "config.json").write_text(json.dumps({"hw": entry}))
        with pytest.raises(AssignmentError, match=message):
            load_config(notebook)


def test_shipped_configs_give_only_what_exists() -> None:
    config = json.loads((ASSIGNMENTS / "config.json").read_text())
    for name, entry in config.items():
        assert len(parse_gives(entry["gives"])) == len(entry["gives"]), name


def _run_in_student_copy(files: dict[str, str], code: str, tmp_path: Path) -> str:
    """Run `code` with only the student's toynet (and numpy) importable, as the sandbox does; its stdout."""
    for relative, source in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(source)
    numpy_site = str(Path(np.__file__).resolve().parent.parent)
    prelude = f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {numpy_site!r}]\n"
    env = {"PATH": os.environ.get("PATH", "/usr/bin")}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], capture_output=True, text=True,
                          env=env, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_student_copy_holds_the_given_objects_and_they_work(tmp_path: Path) -> None:
    """The gradient-checking gives: the course's helpers work; the reference and its helpers are absent."""
    copy = build_student_toynet(["toynet.params:dictionary_to_vector", "toynet.params:vector_to_dictionary",
                                 "toynet.params:gradients_to_vector", "toynet.layers:Linear.forward"])
    assert "toynet.layers:Linear.forward" in copy.given and "toynet._validate:as_array" in copy.carried
    assert not any(path.startswith("toynet/grading") for path in copy.files)
    out = _run_in_student_copy(copy.files, """
import numpy as np
from toynet.params import dictionary_to_vector, vector_to_dictionary, gradients_to_vector
from toynet.layers import Linear
parameters = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.array([[7.0], [8.0]])}
theta, keys = dictionary_to_vector(parameters)
print(theta.ravel().tolist(), keys)
print(vector_to_dictionary(theta, parameters)["b1"].ravel().tolist())
print(gradients_to_vector({"dW1": parameters["W1"], "db1": parameters["b1"]}).ravel().tolist())
print(Linear.forward(np.ones((3, 1)), parameters["W1"], parameters["b1"])[0].ravel().tolist())
print(hasattr(Linear, "backward"), hasattr(Linear, "backward_params"))
import toynet, toynet.losses, toynet.gradcheck, toynet.exercises.gradient_checking, toynet.params
for module, name in [(toynet.losses, "logistic_costs"), (toynet.losses, "LogisticCost"), (toynet.gradcheck,
        "gradient_check_n"), (toynet.exercises.gradient_checking, "gradient_check_n"), (toynet, "Network"),
        (toynet.params, "stack_to_dictionary"), (toynet.layers, "ReLU")]:
    try:
        getattr(module, name)
        print("REACHED", name)
    except ImportError as error:
        print("absent:", error)
try:
    from toynet.layers import Sigmoid
except ImportError as error:
    print("absent:", error)
try:
    import toynet.grading
except ImportError as error:
    print("no grader:", type(error).__name__)
""", tmp_path)
    lines = out.splitlines()
    # the course's order: W1 row-major, then b1 (REFERENCE.md); W1 @ ones + b1 by hand
    assert lines[0] == "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0] ['W1', 'W1', 'W1', 'W1', 'W1', 'W1', 'b1', 'b1']"
    assert lines[1] == "[7.0, 8.0]" and lines[2] == "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0]"
    assert lines[3] == "[10.0, 20.0]"
    assert lines[4] == "False False"
    assert "REACHED" not in out
    assert out.count("absent:") == 8 and "not given in this assignment" in out
    assert "no grader: ModuleNotFoundError" in out


def test_layers_assignment_gives_no_toynet_at_all(tmp_path: Path) -> None:
    config = json.loads((ASSIGNMENTS / "config.json").read_text())["layers"]
    copy = build_student_toynet(config["gives"])
    assert copy.given == [] and copy.carried == []
    assert all("def " not in source.split("def __getattr__")[0] for source in copy.files.values())
