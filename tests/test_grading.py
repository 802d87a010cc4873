"""Grading building blocks without processes: markers, the plain-data protocol, the checks, the student build."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from toynet.grading import checks, markers, protocol

SOURCE = '''def f(x):
    """doc"""
    ### BEGIN SOLUTION
    y = x * 2
    ### END SOLUTION
    return y'''


def test_solution_becomes_a_stub_naming_the_task() -> None:
    stripped = markers.strip_solutions(SOURCE)
    assert "x * 2" not in stripped and "BEGIN SOLUTION" not in stripped
    assert '    raise NotImplementedError("Task f:' in stripped
    namespace: dict = {}
    exec(stripped, namespace)
    with pytest.raises(NotImplementedError, match="Task f"):
        namespace["f"](1)


def test_method_task_names_its_class() -> None:
    source = (
        "class Linear:\n    def backward(self):\n        ### BEGIN SOLUTION\n        pass\n        ### END SOLUTION\n"
    )
    assert 'Task Linear.backward' in markers.strip_solutions(source)


def test_hidden_tests_split_and_removed() -> None:
    cell = "a = 1\n### BEGIN HIDDEN TESTS\nsecret = 2\n### END HIDDEN TESTS\nb = 3"
    public, hidden = markers.split_hidden(cell)
    assert "secret" not in public and "a = 1" in public and "b = 3" in public
    assert "secret = 2" in hidden and "a = 1" not in hidden
    assert "secret" not in markers.remove_hidden(cell) and "HIDDEN" not in markers.remove_hidden(cell)


def test_unbalanced_markers_are_errors() -> None:
    with pytest.raises(markers.MarkerError, match="never closed"):
        markers.strip_solutions("### BEGIN SOLUTION\nx = 1")
    with pytest.raises(markers.MarkerError, match="without"):
        markers.split_hidden("### END HIDDEN TESTS")


def test_defined_names_are_top_level_functions_and_classes() -> None:
    cells = ["import numpy\nclass A:\n    def m(self): pass\ndef g(): pass", "%time x\ndef h(): pass"]
    names = markers.defined_names(cells)
    assert names == ["A", "g", "h"]


@given(hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_]), hnp.array_shapes(min_dims=0)))
def test_arrays_round_trip_with_dtype_shape_and_values(array: np.ndarray) -> None:
    back = protocol.loads(protocol.dumps(array))
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_structures_round_trip() -> None:
    value = {"a": (1, 2.5, None, "s", [True, np.float64(3.0)]), "b": np.eye(2)}
    back = protocol.loads(protocol.dumps(value))
    assert back["a"] == (1, 2.5, None, "s", [True, 3.0]) and type(back["a"]) is tuple
    assert type(back["a"][4][1]) is float
    np.testing.assert_array_equal(back["b"], np.eye(2))


def test_objects_that_are_not_plain_data_are_refused() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

    with pytest.raises(protocol.ProtocolError, match="AlwaysEqual is not plain data"):
        protocol.dumps(AlwaysEqual())
    with pytest.raises(protocol.ProtocolError, match="dtype object"):
        protocol.dumps(np.array([AlwaysEqual()], dtype=object))
    with pytest.raises(protocol.ProtocolError, match="keys must be strings"):
        protocol.dumps({1: 2})


def test_subclasses_lose_their_behaviour_in_transit() -> None:
    class Liar(np.ndarray):
        def __eq__(self, other: object) -> bool:  # type: ignore[override]
            return True

    class LiarFloat(float):
        def __eq__(self, other: object) -> bool:
            return True

    array = np.zeros(3).view(Liar)
    back = protocol.loads(protocol.dumps(array))
    assert type(back) is np.ndarray and not np.array_equal(back, np.ones(3))
    number = protocol.loads(protocol.dumps(LiarFloat(0.0)))
    assert type(number) is float and number != 1.0


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"__ndarray__": {"dtype": "float64", "shape": [2, 2], "data": [1, 2, 3]}}',
        b'{"__ndarray__": {"dtype": "object", "shape": [1], "data": [1]}}',
        b'{"__ndarray__": {"dtype": "float64", "shape": [1], "data": ["x"]}}',
        b'{"__pickle__": "gASV"}',
        b'{"a": 1, "b": 2}',
    ],
)
def test_decode_is_strict(raw: bytes) -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.loads(raw)


def test_checks_look_at_type_dtype_and_shape_before_values() -> None:
    expected = np.ones((2, 1))
    with pytest.raises(AssertionError, match="expected a numpy array"):
        checks.expect_array([[1.0], [1.0]], expected, "db")
    with pytest.raises(AssertionError, match="dtype float64, but got dtype float32"):
        checks.expect_array(expected.astype(np.float32), expected, "db")
    with pytest.raises(AssertionError, match=r"shape \(2, 1\), but got shape \(2,\)"):
        checks.expect_array(np.ones(2), expected, "db")
    with pytest.raises(AssertionError, match="wrong values"):
        checks.expect_array(2 * expected, expected, "db")
    checks.expect_array(expected.copy(), expected, "db")
    with pytest.raises(AssertionError, match="expected a number"):
        checks.expect_number(np.array([[0.5]]), 0.5, "difference")
    with pytest.raises(AssertionError, match="expected a number"):
        checks.expect_number(True, 1, "J")
    checks.expect_number(np.float64(0.5), 0.5, "difference")
