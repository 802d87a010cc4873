"""toynet.exercises.step_by_step against the course's "Building your Deep Neural Network: Step by Step".

The test cases are the course's own (its testCases.py / public_tests.py, C1 W4 A1, drawn here with the same
np.random.seed and randn order); the expected values are those public tests' `expected_*` arrays and the
numbers its notebook prints (to the 8 digits it prints them). On other shapes and seeds every function is
compared with plain numpy written out below in the course's formulas, and every backward with a numerical
gradient (tests/_reference.five_point_gradient).
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import five_point_gradient
from hypothesis import given
from hypothesis import strategies as st

from toynet.exercises import step_by_step as sbs

# --------------------------------------------------------------------------------- the course's test cases


def linear_forward_case():
    np.random.seed(1)
    return np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)


def linear_activation_forward_case():
    np.random.seed(2)
    return np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)


def L_model_forward_case_2hidden():
    np.random.seed(6)
    X = np.random.randn(5, 4)
    names_shapes = [("W1", (4, 5)), ("b1", (4, 1)), ("W2", (3, 4)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]
    return X, {name: np.random.randn(*shape) for name, shape in names_shapes}


def linear_backward_case():
    np.random.seed(1)
    dZ = np.random.randn(3, 4)
    A, W, b = np.random.randn(5, 4), np.random.randn(3, 5), np.random.randn(3, 1)
    return dZ, (A, W, b)


def linear_activation_backward_case():
    np.random.seed(2)
    dA = np.random.randn(1, 2)
    A, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
    Z = np.random.randn(1, 2)
    return dA, ((A, W, b), Z)


def L_model_backward_case():
    np.random.seed(3)
    AL = np.random.randn(1, 2)
    Y = np.array([[1, 0]])
    A1, W1, b1, Z1 = np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(3, 2)
    A2, W2, b2, Z2 = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1), np.random.randn(1, 2)
    return AL, Y, (((A1, W1, b1), Z1), ((A2, W2, b2), Z2))


def update_parameters_case():
    np.random.seed(2)
    parameters = {"W1": np.random.randn(3, 4), "b1": np.random.randn(3, 1),
                  "W2": np.random.randn(1, 3), "b2": np.random.randn(1, 1)}  # fmt: skip
    np.random.seed(3)
    grads = {"dW1": np.random.randn(3, 4), "db1": np.random.randn(3, 1),
             "dW2": np.random.randn(1, 3), "db2": np.random.randn(1, 1)}  # fmt: skip
    return parameters, grads


def close(actual, expected):
    """The course's equation_output_check: np.testing.assert_array_almost_equal (6 decimals), and same shape."""
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_array_almost_equal(actual, expected, decimal=8)


# ------------------------------------------------------------------------- the course's expected outputs


def test_initialize_parameters_gives_the_course_numbers():
    parameters = sbs.initialize_parameters(3, 2, 1)
    close(parameters["W1"], [[0.01624345, -0.00611756, -0.00528172], [-0.01072969, 0.00865408, -0.02301539]])
    close(parameters["b1"], [[0.0], [0.0]])
    close(parameters["W2"], [[0.01744812, -0.00761207]])
    close(parameters["b2"], [[0.0]])


def test_initialize_parameters_deep_gives_the_course_numbers():
    parameters = sbs.initialize_parameters_deep([5, 4, 3])
    close(parameters["W1"], [[0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388],
                             [-0.00354759, -0.00082741, -0.00627001, -0.00043818, -0.00477218],
                             [-0.01313865, 0.00884622, 0.00881318, 0.01709573, 0.00050034],
                             [-0.00404677, -0.0054536, -0.01546477, 0.00982367, -0.01101068]])  # fmt: skip
    close(parameters["b1"], np.zeros((4, 1)))
    close(parameters["W2"], [[-0.01185047, -0.0020565, 0.01486148, 0.00236716],
                             [-0.01023785, -0.00712993, 0.00625245, -0.00160513],
                             [-0.00768836, -0.00230031, 0.00745056, 0.01976111]])  # fmt: skip
    close(parameters["b2"], np.zeros((3, 1)))
    assert list(parameters) == ["W1", "b1", "W2", "b2"]


def test_initializers_leave_the_global_generator_where_the_course_leaves_it():
    np.random.seed(123)
    sbs.initialize_parameters_deep([5, 4, 3])
    after_toynet = np.random.randn(3)
    np.random.seed(3)
    np.random.randn(4, 5), np.random.randn(3, 4)  # the course's two draws
    np.testing.assert_array_equal(after_toynet, np.random.randn(3))
    np.random.seed(123)
    sbs.initialize_parameters(3, 2, 1)
    after_toynet = np.random.randn(3)
    np.random.seed(1)
    np.random.randn(2, 3), np.random.randn(1, 2)
    np.testing.assert_array_equal(after_toynet, np.random.randn(3))


def test_linear_forward_gives_the_course_Z_and_cache():
    A, W, b = linear_forward_case()
    Z, cache = sbs.linear_forward(A, W, b)
    close(Z, [[3.26295337, -1.23429987]])
    assert isinstance(cache, tuple) and len(cache) == 3
    assert cache[0] is A and cache[1] is W and cache[2] is b


def test_linear_activation_forward_gives_the_course_A_and_caches_Z():
    A_prev, W, b = linear_activation_forward_case()
    A, cache = sbs.linear_activation_forward(A_prev, W, b, "sigmoid")
    close(A, [[0.96890023, 0.11013289]])
    (cached_A_prev, cached_W, cached_b), Z = cache
    close(Z, [[3.43896131, -2.08938436]])  # the activation cache holds Z, as the course's does
    assert cached_A_prev is A_prev and cached_W is W and cached_b is b
    A, cache = sbs.linear_activation_forward(A_prev, W, b, "relu")
    close(A, [[3.43896131, 0.0]])
    close(cache[1], [[3.43896131, -2.08938436]])


def test_L_model_forward_gives_the_course_AL_and_caches():
    X, parameters = L_model_forward_case_2hidden()
    AL, caches = sbs.L_model_forward(X, parameters)
    close(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])
    assert isinstance(caches, list) and len(caches) == 3
    # the course's expected Z of each layer and the A_prev each layer saw
    close(caches[0][1], [[-5.23825714, 3.18040136, 0.4074501, -1.88612721],
                         [-2.77358234, -0.56177316, 3.18141623, -0.99209432],
                         [4.18500916, -1.78006909, -0.14502619, 2.72141638],
                         [5.05850802, -1.25674082, -3.54566654, 3.82321852]])  # fmt: skip
    close(caches[1][1], [[2.2644603, 1.09971298, -2.90298027, 1.54036335],
                         [6.33722569, -2.38116246, -4.11228806, 4.48582383],
                         [10.37508342, -0.66591468, 1.63635185, 8.17870169]])  # fmt: skip
    close(caches[2][1], [[-3.19864676, 0.87117055, -1.40297864, -3.00319435]])
    close(caches[2][0][0], [[2.2644603, 1.09971298, 0.0, 1.54036335],
                            [6.33722569, 0.0, 0.0, 4.48582383],
                            [10.37508342, 0.0, 1.63635185, 8.17870169]])  # fmt: skip
    assert caches[0][0][0] is X


def test_compute_cost_prints_the_course_number():
    cost = sbs.compute_cost(np.array([[0.8, 0.9, 0.4]]), np.asarray([[1, 1, 0]]))
    assert str(cost) == "0.2797765635793422"  # the notebook's "Cost: 0.2797765635793422"
    assert isinstance(cost, float) and np.shape(cost) == ()


def test_linear_backward_gives_the_course_gradients_with_its_1_over_m():
    dZ, cache = linear_backward_case()
    dA_prev, dW, db = sbs.linear_backward(dZ, cache)
    close(dA_prev, [[-1.15171336, 0.06718465, -0.3204696, 2.09812712],
                    [0.60345879, -3.72508701, 5.81700741, -3.84326836],
                    [-0.4319552, -1.30987417, 1.72354705, 0.05070578],
                    [-0.38981415, 0.60811244, -1.25938424, 1.47191593],
                    [-2.52214926, 2.67882552, -0.67947465, 1.48119548]])  # fmt: skip
    close(dW, [[0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716],
               [0.85508818, 0.37530413, -0.59912655, 0.71278189, -0.58931808],
               [0.97913304, -0.24376494, -0.08839671, 0.55151192, -0.10290907]])  # fmt: skip
    close(db, [[-0.14713786], [-0.11313155], [-0.13209101]])


def test_linear_activation_backward_gives_the_course_gradients():
    dA, cache = linear_activation_backward_case()
    dA_prev, dW, db = sbs.linear_activation_backward(dA, cache, "sigmoid")
    close(dA_prev, [[0.11017994, 0.01105339], [0.09466817, 0.00949723], [-0.05743092, -0.00576154]])
    close(dW, [[0.10266786, 0.09778551, -0.01968084]])
    close(db, [[-0.05729622]])
    dA_prev, dW, db = sbs.linear_activation_backward(dA, cache, "relu")
    close(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]])
    close(dW, [[0.44513824, 0.37371418, -0.10478989]])
    close(db, [[-0.20837892]])


def test_L_model_backward_gives_the_course_gradients_dA0_included():
    AL, Y, caches = L_model_backward_case()
    grads = sbs.L_model_backward(AL, Y, caches)
    assert set(grads) == {"dA0", "dA1", "dW1", "db1", "dW2", "db2"}
    close(grads["dA0"], [[0.0, 0.52257901], [0.0, -0.3269206], [0.0, -0.32070404], [0.0, -0.74079187]])
    close(grads["dA1"], [[0.12913162, -0.44014127], [-0.14175655, 0.48317296], [0.01663708, -0.05670698]])
    close(grads["dW1"], [[0.41010002, 0.07807203, 0.13798444, 0.10502167], [0.0, 0.0, 0.0, 0.0],
                         [0.05283652, 0.01005865, 0.01777766, 0.0135308]])  # fmt: skip
    close(grads["dW2"], [[-0.39202432, -0.13325855, -0.04601089]])
    close(grads["db1"], [[-0.22007063], [0.0], [-0.02835349]])
    close(grads["db2"], [[0.15187861]])


def test_update_parameters_gives_the_course_numbers_without_touching_its_input():
    parameters, grads = update_parameters_case()
    before = {name: value.copy() for name, value in parameters.items()}
    updated = sbs.update_parameters(parameters, grads, 0.1)
    close(updated["W1"], [[-0.59562069, -0.09991781, -2.14584584, 1.82662008],
                          [-1.76569676, -0.80627147, 0.51115557, -1.18258802],
                          [-1.0535704, -0.86128581, 0.68284052, 2.20374577]])  # fmt: skip
    close(updated["b1"], [[-0.04659241], [-1.28888275], [0.53405496]])
    close(updated["W2"], [[-0.55569196, 0.0354055, 1.32964895]])
    close(updated["b2"], [[-0.84610769]])
    assert all(np.array_equal(parameters[name], before[name]) for name in before)


# ------------------------------------------------------------------ independent references, other shapes


def numpy_forward(X, parameters):
    """The course's L_model_forward written out in plain numpy: Z = W A + b, relu ... sigmoid."""
    L = len(parameters) // 2
    A, Zs, As = X, [], [X]
    for layer in range(1, L + 1):
        Z = np.dot(parameters[f"W{layer}"], A) + parameters[f"b{layer}"]
        A = 1 / (1 + np.exp(-Z)) if layer == L else np.maximum(0, Z)
        Zs.append(Z)
        As.append(A)
    return A, Zs, As


def numpy_cost(AL, Y):
    m = Y.shape[1]
    return float(-1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)))


network_shapes = st.lists(st.integers(1, 5), min_size=2, max_size=4).map(lambda dims: [*dims, 1])


def random_case(dims, m, seed, bias_scale=1.0):
    """X (n_0, m), 0/1 labels Y (1, m) and standard-normal parameters for layer_dims `dims`."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = rng.integers(0, 2, (1, m))
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = rng.standard_normal((dims[layer], dims[layer - 1]))
        parameters[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * bias_scale
    return X, Y, parameters


@given(dims=network_shapes, m=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_forward_and_cost_match_plain_numpy(dims, m, seed):
    X, Y, parameters = random_case(dims, m, seed)
    AL, caches = sbs.L_model_forward(X, parameters)
    expected_AL, Zs, As = numpy_forward(X, parameters)
    np.testing.assert_allclose(AL, expected_AL, rtol=1e-12, atol=1e-15)
    for layer, ((A_prev, W, b), Z) in enumerate(caches, start=1):
        np.testing.assert_allclose(Z, Zs[layer - 1], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(A_prev, As[layer - 1], rtol=1e-12, atol=1e-12)
        assert W is parameters[f"W{layer}"] and b is parameters[f"b{layer}"]
    if np.all((AL > 1e-6) & (AL < 1 - 1e-6)):
        np.testing.assert_allclose(sbs.compute_cost(AL, Y), numpy_cost(AL, Y), rtol=1e-12)


@given(dims=network_shapes, m=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_L_model_backward_is_the_gradient_of_the_cost(dims, m, seed):
    """Every dW, db and dA0 agrees with a five-point numerical gradient of compute_cost(L_model_forward(...))."""
    X, Y, parameters = random_case(dims, m, seed, bias_scale=0.5)
    AL, caches = sbs.L_model_forward(X, parameters)
    # ReLU kinks: a numerical derivative across Z = 0 is meaningless, so keep every Z away from 0
    if any(np.min(np.abs(cache[1])) < 1e-2 for cache in caches[:-1]):
        return
    grads = sbs.L_model_backward(AL, Y, caches)

    def cost_at(name):
        def cost(value):
            moved = {**parameters, name: value}
            return sbs.compute_cost(sbs.L_model_forward(X, moved)[0], Y)

        return cost

    for name in parameters:
        numeric = five_point_gradient(cost_at(name), parameters[name], h=1e-5)
        np.testing.assert_allclose(grads["d" + name], numeric, rtol=1e-5, atol=1e-8)
    # dA0 is the gradient of the cost with respect to X (times m: the course's dA's carry no 1/m)
    numeric_dX = five_point_gradient(lambda x: sbs.compute_cost(sbs.L_model_forward(x, parameters)[0], Y), X, h=1e-5)
    np.testing.assert_allclose(grads["dA0"] / m, numeric_dX, rtol=1e-5, atol=1e-8)


@given(n_in=st.integers(1, 5), n_out=st.integers(1, 5), m=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_linear_backward_matches_the_course_formulas(n_in, n_out, m, seed):
    rng = np.random.default_rng(seed)
    dZ, A, W, b = (rng.standard_normal(shape) for shape in ((n_out, m), (n_in, m), (n_out, n_in), (n_out, 1)))
    dA_prev, dW, db = sbs.linear_backward(dZ, (A, W, b))
    np.testing.assert_allclose(dW, 1 / m * np.dot(dZ, A.T), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, 1 / m * np.sum(dZ, axis=1, keepdims=True), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dA_prev, np.dot(W.T, dZ), rtol=1e-12, atol=1e-15)
    Z = rng.standard_normal((n_out, m))
    _, dW_sig, _ = sbs.linear_activation_backward(dZ, ((A, W, b), Z), "sigmoid")
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(dW_sig, 1 / m * np.dot(dZ * s * (1 - s), A.T), rtol=1e-12, atol=1e-15)


@given(dims=st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_initialize_parameters_deep_draws_like_the_course_on_any_shape(dims):
    parameters = sbs.initialize_parameters_deep(dims)
    np.random.seed(3)
    for layer in range(1, len(dims)):
        np.testing.assert_array_equal(parameters[f"W{layer}"], np.random.randn(dims[layer], dims[layer - 1]) * 0.01)
        np.testing.assert_array_equal(parameters[f"b{layer}"], np.zeros((dims[layer], 1)))


# ------------------------------------------------------------------------------------------------- errors


def test_bad_input_is_named():
    A, W, b = linear_forward_case()
    with pytest.raises(ValueError, match=r"A_prev must have shape \(3, \?\), but got shape \(2, 2\)"):
        sbs.linear_forward(A[:2], W, b)
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'sigmoid'\], but got 'tanh'"):
        sbs.linear_activation_forward(A, W, b, "tanh")
    with pytest.raises(ValueError, match=r"layer_dims must be a list of at least two positive ints"):
        sbs.initialize_parameters_deep([5])
    with pytest.raises(ValueError, match=r"layer_dims .* but got \[3, 0, 1\]"):
        sbs.initialize_parameters(3, 0, 1)
    X, parameters = L_model_forward_case_2hidden()
    with pytest.raises(ValueError, match=r"missing \[b3\]"):
        sbs.L_model_forward(X, {k: v for k, v in parameters.items() if k != "b3"})
    with pytest.raises(ValueError, match=r"parameters\['W2'\] must have shape \(n_2, 4\), but got \(3, 5\)"):
        sbs.L_model_forward(X, {**parameters, "W2": np.zeros((3, 5))})
    with pytest.raises(ValueError, match=r"X must have shape|A_prev must have shape \(5, \?\)"):
        sbs.L_model_forward(X[:3], parameters)
    dZ, cache = linear_backward_case()
    with pytest.raises(TypeError, match=r"cache must be the triple \(A_prev, W, b\) .* but got a tuple of 2"):
        sbs.linear_backward(dZ, cache[:2])
    with pytest.raises(ValueError, match=r"dZ must have shape \(3, 4\), but got shape \(3, 3\)"):
        sbs.linear_backward(dZ[:, :3], cache)
    dA, activation_cache = linear_activation_backward_case()
    with pytest.raises(TypeError, match=r"cache must be the pair \(linear_cache, activation_cache\)"):
        sbs.linear_activation_backward(dA, activation_cache[0], "relu")
    AL, Y, caches = L_model_backward_case()
    with pytest.raises(ValueError, match=r"AL must keep dAL .* finite .* at example 0 AL = 0\.0 and Y = 1\.0"):
        sbs.L_model_backward(np.array([[0.0, 0.5]]), Y, caches)
    # a saturated, correct output is not an error: its term of the cost is 0 and so is its gradient
    saturated = sbs.L_model_backward(np.array([[1.0, 0.0]]), Y, caches)
    assert all(np.isfinite(value).all() for value in saturated.values())
    with pytest.raises(ValueError, match=r"Y must hold m = 2 labels"):
        sbs.L_model_backward(AL, np.array([[1, 0, 1]]), caches)
    with pytest.raises(ValueError, match=r"AL must be finite"):
        sbs.L_model_backward(np.array([[np.nan, 0.5]]), Y, caches)
    parameters, grads = update_parameters_case()
    with pytest.raises(ValueError, match=r"grads must hold exactly \[dW1, db1, dW2, db2\]; missing \[db2\]"):
        sbs.update_parameters(parameters, {k: v for k, v in grads.items() if k != "db2"}, 0.1)
    with pytest.raises(ValueError, match=r"grads\['dW1'\] must have shape \(3, 4\)"):
        sbs.update_parameters(parameters, {**grads, "dW1": grads["dW1"].T}, 0.1)
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number, but got nan"):
        sbs.update_parameters(parameters, grads, float("nan"))
    with pytest.raises(ValueError, match=r"A must hold probabilities in \[0, 1\]"):
        sbs.compute_cost(np.array([[1.5, 0.5]]), np.array([[1, 0]]))


@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 5)), seed=st.integers(0, 2**16))
def test_dnn_utils_helpers_are_the_course_ones(shape, seed):
    """sigmoid/relu return (A, cache = Z); relu_backward/sigmoid_backward read Z (the course's dnn_utils.py)."""
    rng = np.random.default_rng(seed)
    Z, dA = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    A, cache = sbs.sigmoid(Z)
    np.testing.assert_allclose(A, 1 / (1 + np.exp(-Z)), rtol=1e-15)
    assert cache is Z
    A, cache = sbs.relu(Z)
    np.testing.assert_array_equal(A, np.maximum(0, Z))
    assert cache is Z
    np.testing.assert_array_equal(sbs.relu_backward(dA, Z), np.where(Z > 0, dA, 0))
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(sbs.sigmoid_backward(dA, Z), dA * s * (1 - s), rtol=1e-13, atol=1e-16)
