"""Parameter vectors: the course's order, exact round trips, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toynet import ParamLayout, dictionary_to_vector, gradients_to_vector, vector_to_dictionary


@st.composite
def parameter_dicts(draw: st.DrawFn) -> dict[str, np.ndarray]:
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    parameters = {}
    for layer in range(1, len(sizes)):
        parameters[f"W{layer}"] = rng.standard_normal((sizes[layer], sizes[layer - 1]))
        parameters[f"b{layer}"] = rng.standard_normal((sizes[layer], 1))
    order = draw(st.permutations(list(parameters)))  # the dict's key order must not matter
    return {name: parameters[name] for name in order}


def course_order(parameters: dict[str, np.ndarray]) -> list[str]:
    layers = len(parameters) // 2
    return [f"{kind}{layer}" for layer in range(1, layers + 1) for kind in "Wb"]


@given(parameter_dicts())
def test_round_trip_is_exact(parameters: dict[str, np.ndarray]) -> None:
    theta, keys = dictionary_to_vector(parameters)
    restored = vector_to_dictionary(theta, parameters)
    assert set(restored) == set(parameters)
    for name in parameters:
        np.testing.assert_array_equal(restored[name], parameters[name])
    layout = ParamLayout.from_parameters(parameters)
    np.testing.assert_array_equal(dictionary_to_vector(vector_to_dictionary(theta, layout))[0], theta)


@given(parameter_dicts())
def test_vector_is_in_course_order(parameters: dict[str, np.ndarray]) -> None:
    theta, keys = dictionary_to_vector(parameters)
    # Independent construction: the course's loop over names in order, each block flattened row-major.
    expected = np.concatenate([parameters[name].reshape(-1) for name in course_order(parameters)])
    assert theta.shape == (expected.size, 1)
    np.testing.assert_array_equal(theta[:, 0], expected)
    assert keys == [name for name in course_order(parameters) for _ in range(parameters[name].size)]


@given(parameter_dicts(), st.randoms())
def test_gradient_vector_uses_the_parameter_order(parameters: dict[str, np.ndarray], random: object) -> None:
    gradients = {"d" + name: value * 2 for name, value in parameters.items()}
    gradients.update({"dZ1": np.ones((3, 3)), "dA1": np.zeros(2)})  # course dicts also hold these
    names = list(gradients)
    random.shuffle(names)  # type: ignore[attr-defined]
    shuffled = {name: gradients[name] for name in names}
    theta, _ = dictionary_to_vector(parameters)
    np.testing.assert_array_equal(gradients_to_vector(shuffled), 2 * theta)
    np.testing.assert_array_equal(gradients_to_vector(shuffled, parameters), 2 * theta)


def test_course_network_has_47_parameters(course_case: tuple) -> None:
    _, _, parameters = course_case
    theta, keys = dictionary_to_vector(parameters)
    assert theta.shape == (47, 1)
    assert keys[:20] == ["W1"] * 20 and keys[20:25] == ["b1"] * 5 and keys[-1] == "b3"
    layout = ParamLayout.from_parameters(parameters)
    block, index = layout.block_of(27)
    assert (block.name, index) == ("W2", (0, 2))  # 27 - 25 = 2: row 0, column 2 of W2 (3, 5)
    assert theta[27, 0] == parameters["W2"][0, 2]


def test_unflattened_blocks_do_not_share_memory_with_theta(course_case: tuple) -> None:
    theta, _ = dictionary_to_vector(course_case[2])
    blocks = vector_to_dictionary(theta, course_case[2])
    blocks["W1"][0, 0] = 123.0
    assert theta[0, 0] != 123.0


def test_helpers_do_not_modify_their_inputs(course_case: tuple) -> None:
    parameters = course_case[2]
    before = {name: value.copy() for name, value in parameters.items()}
    theta, _ = dictionary_to_vector(parameters)
    theta_before = theta.copy()
    vector_to_dictionary(theta, parameters)
    gradients_to_vector({"d" + k: v for k, v in parameters.items()}, parameters)
    np.testing.assert_array_equal(theta, theta_before)
    for name in parameters:
        np.testing.assert_array_equal(parameters[name], before[name])


def test_theta_of_the_wrong_length_is_refused(course_case: tuple) -> None:
    with pytest.raises(ValueError, match=r"theta must have shape \(47, 1\) or \(47,\), but got \(46, 1\)"):
        vector_to_dictionary(np.zeros((46, 1)), course_case[2])
    with pytest.raises(ValueError, match=r"but got \(47, 2\)"):
        vector_to_dictionary(np.zeros((47, 2)), course_case[2])


def test_missing_and_extra_blocks_are_named(course_case: tuple) -> None:
    parameters = dict(course_case[2])
    missing = {k: v for k, v in parameters.items() if k != "b2"}
    expected_blocks = r"must hold exactly the blocks \[W1, b1, W2, b2, W3, b3\], .*; missing \[b2\]"
    with pytest.raises(ValueError, match=expected_blocks):
        dictionary_to_vector(missing)
    gradients = {"d" + k: v for k, v in parameters.items()}
    with pytest.raises(ValueError, match=r"missing \[db2\]"):
        gradients_to_vector({k: v for k, v in gradients.items() if k != "db2"}, parameters)
    with pytest.raises(ValueError, match=r"unexpected \[dW4\]"):
        gradients_to_vector({**gradients, "dW4": np.ones((1, 1))}, parameters)



def test_parameters_of_any_name_keep_the_order_given() -> None:
    """cs231n's batch norm: W1, gamma1, beta1, W2 are flattened in the dict's own order, not sorted, and their
    gradients may be keyed "dgamma1" or, as cs231n's grads are, "gamma1"."""
    rng = np.random.default_rng(0)
    parameters = {"W1": rng.standard_normal((3, 2)), "gamma1": rng.standard_normal((3,)),
                  "beta1": rng.standard_normal((3,)), "W2": rng.standard_normal((1, 3))}
    theta, keys = dictionary_to_vector(parameters)
    assert keys == ["W1"] * 6 + ["gamma1"] * 3 + ["beta1"] * 3 + ["W2"] * 3
    np.testing.assert_array_equal(theta.ravel(), np.concatenate([v.ravel() for v in parameters.values()]))
    backwards = dict(reversed(parameters.items()))
    assert dictionary_to_vector(backwards)[1] == ["W2"] * 3 + ["beta1"] * 3 + ["gamma1"] * 3 + ["W1"] * 6
    rebuilt = vector_to_dictionary(theta, parameters)
    assert list(rebuilt) == list(parameters) and all(np.array_equal(rebuilt[k], parameters[k]) for k in parameters)
    as_cs231n = {name: 2 * value for name, value in parameters.items()}
    np.testing.assert_array_equal(gradients_to_vector(as_cs231n, parameters), 2 * theta)
    with pytest.raises(ValueError, match=r"gradients must hold \[dW1, dgamma1, dbeta1, dW2\].*missing \[dbeta1\]"):
        gradients_to_vector({"d" + k: v for k, v in parameters.items() if k != "beta1"}, parameters)


def test_an_empty_parameters_dict_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="parameters must hold at least one array, but got an empty dict"):
        dictionary_to_vector({})
    with pytest.raises(TypeError, match="parameter names must be strings, but got 1"):
        dictionary_to_vector({1: np.ones(2)})


def test_gradient_block_of_the_wrong_shape_is_named(course_case: tuple) -> None:
    parameters = course_case[2]
    gradients = {"d" + k: v for k, v in parameters.items()}
    gradients["dW2"] = gradients["dW2"].T
    with pytest.raises(ValueError, match=r"gradients\['dW2'\] must have shape \(3, 5\) .* but got \(5, 3\)"):
        gradients_to_vector(gradients, parameters)


def test_non_numeric_blocks_are_refused() -> None:
    with pytest.raises(TypeError, match=r"parameters\['W1'\] must be a numeric array"):
        dictionary_to_vector({"W1": np.array([["x"]]), "b1": np.zeros((1, 1))})
