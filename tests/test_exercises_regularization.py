"""toynet.exercises.regularization against the course's "Regularization" assignment (C2 W1 A2).

The test cases are the course's (testCases.py / public_tests.py): X and parameters drawn after np.random.seed(1),
and the caches its backward tests use, rebuilt here in plain numpy from the parameters and dropout masks
printed in testCases.py (their printed Z1 and A3 are checked on the way). Expected values are the public tests'.
On other shapes and seeds: the L2 backward against a numerical gradient of the L2 cost, the dropout backward
against a numerical gradient of the cost with the masks held fixed, and the model loop against a plain-numpy
copy of the course's model.
"""

from __future__ import annotations

import numpy as np
import pytest
from _reference import five_point_gradient
from hypothesis import given
from hypothesis import strategies as st

from toynet.exercises import regularization as reg

NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")
COURSE_KEYS = {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}

# The parameters inside the course's backward test caches (testCases.py, printed to 8 digits).
CACHE_PARAMETERS = {
    "W1": np.array([[-1.09989127, -0.17242821, -0.87785842], [0.04221375, 0.58281521, -1.10061918]]),
    "b1": np.array([[1.14472371], [0.90159072]]),
    "W2": np.array([[0.50249434, 0.90085595], [-0.68372786, -0.12289023], [-0.93576943, -0.26788808]]),
    "b2": np.array([[0.53035547], [-0.69166075], [-0.39675353]]),
    "W3": np.array([[-0.6871727, -0.84520564, -0.67124613]]),
    "b3": np.array([[-0.0126646]]),
}
Y_ASSESS = np.array([[1, 1, 0, 1, 0]])


def course_X():
    np.random.seed(1)
    return np.random.randn(3, 5)


def seed1_case():
    """forward_propagation_with_dropout_test_case: X (3, 5) then W1 .. b3 drawn after np.random.seed(1)."""
    np.random.seed(1)
    X = np.random.randn(3, 5)
    shapes = [(2, 3), (2, 1), (3, 2), (3, 1), (1, 3), (1, 1)]
    return X, {name: np.random.randn(*shape) for name, shape in zip(NAMES, shapes, strict=True)}


def numpy_forward(X, p, D1=None, D2=None, keep_prob=1.0):
    """The course's 3-layer forward in plain numpy; with masks, the course's inverted dropout."""
    Z1 = np.dot(p["W1"], X) + p["b1"]
    A1 = np.maximum(0, Z1)
    if D1 is not None:
        A1 = A1 * D1 / keep_prob
    Z2 = np.dot(p["W2"], A1) + p["b2"]
    A2 = np.maximum(0, Z2)
    if D2 is not None:
        A2 = A2 * D2 / keep_prob
    Z3 = np.dot(p["W3"], A2) + p["b3"]
    A3 = 1 / (1 + np.exp(-Z3))
    return Z1, A1, Z2, A2, Z3, A3


def numpy_cost(A3, Y, p=None, lambd=0.0):
    m = Y.shape[1]
    cost = 1.0 / m * np.sum(-Y * np.log(A3) - (1 - Y) * np.log(1 - A3))
    if p is not None:
        cost += lambd / (2 * m) * sum(np.sum(np.square(p[name])) for name in ("W1", "W2", "W3"))
    return cost


def course_cache(X, p):
    Z1, A1, Z2, A2, Z3, A3 = numpy_forward(X, p)
    return (Z1, A1, p["W1"], p["b1"], Z2, A2, p["W2"], p["b2"], Z3, A3, p["W3"], p["b3"])


def course_dropout_cache(X, p, D1, D2, keep_prob):
    Z1, A1, Z2, A2, Z3, A3 = numpy_forward(X, p, D1, D2, keep_prob)
    return (Z1, D1, A1, p["W1"], p["b1"], Z2, D2, A2, p["W2"], p["b2"], Z3, A3, p["W3"], p["b3"])


def close(actual, expected):
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_array_almost_equal(actual, expected, decimal=7)


# ------------------------------------------------------------------------- the course's expected outputs


def test_compute_cost_with_regularization_prints_the_course_number():
    np.random.seed(1)
    shapes = [(2, 3), (2, 1), (3, 2), (3, 1), (1, 3), (1, 1)]
    parameters = {name: np.random.randn(*shape) for name, shape in zip(NAMES, shapes, strict=True)}
    A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    cost = reg.compute_cost_with_regularization(A3, Y_ASSESS, parameters, lambd=0.1)
    np.testing.assert_allclose(cost, 1.7864859451590758, rtol=1e-15)  # the notebook's "cost = 1.78648594515907.."
    assert isinstance(cost, float) and np.shape(cost) == ()


def test_backward_propagation_with_regularization_gives_the_course_gradients():
    X = course_X()
    cache = course_cache(X, CACHE_PARAMETERS)
    close(cache[0][0], [-1.52855314, 3.32524635, 2.13994541, 2.60700654, -0.75942115])  # the printed Z1
    close(cache[9], [[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])  # the printed A3
    grads = reg.backward_propagation_with_regularization(X, Y_ASSESS, cache, lambd=0.7)
    assert set(grads) == COURSE_KEYS
    close(grads["dW1"], [[-0.25604646, 0.12298827, -0.28297129], [-0.17706303, 0.34536094, -0.4410571]])
    close(grads["dW2"], [[0.79276486, 0.85133918], [-0.0957219, -0.01720463], [-0.13100772, -0.03750433]])
    close(grads["dW3"], [[-1.77691347, -0.11832879, -0.09397446]])
    close(grads["db1"], [[0.11845855], [0.21236874]])
    close(grads["db2"], [[0.26135226], [0.0], [0.0]])
    close(grads["db3"], [[-0.38032981]])
    close(grads["dZ3"], [[-0.59317598, -0.98370716, 0.16722898, -0.89881889, 0.40682402]])
    close(grads["dA1"], [[0.2048239, 0.33967447, -0.05774423, 0.31036252, -0.14047649],
                         [0.3672018, 0.60895764, -0.10352203, 0.5564081, -0.25184181]])  # fmt: skip
    close(grads["dZ1"], [[0.0, 0.33967447, -0.05774423, 0.31036252, 0.0],
                         [0.0, 0.60895764, -0.10352203, 0.5564081, 0.0]])  # fmt: skip


def test_forward_propagation_with_dropout_gives_the_course_A3_and_masks():
    X, parameters = seed1_case()
    A3, cache = reg.forward_propagation_with_dropout(X, parameters, keep_prob=0.7)
    close(A3, [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]])
    assert len(cache) == 14
    np.testing.assert_array_equal(cache[1], [[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]])  # D1
    np.testing.assert_array_equal(cache[6], [[1, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 0]])  # D2
    close(cache[2], [[0.0, 0.0, 3.05706487, 3.72429505, 0.0], [0.0, 5.94299915, 1.1293003, 2.09276446, 0.0]])
    close(cache[7][0], [0.75765067, 8.40591658, 4.40550021, 0.0, 0.75765067])
    close(cache[10], [[-0.53330145, -5.78898099, -3.04000407, -0.0126646, -0.53330145]])


def test_dropout_draws_its_masks_like_the_course():
    """np.random.seed(1), then rand for D1 and rand for D2 from the global generator, as the course does."""
    X, parameters = seed1_case()
    reg.forward_propagation_with_dropout(X, parameters, keep_prob=0.6)
    after = np.random.rand(2)
    np.random.seed(1)
    D1, D2 = np.random.rand(2, 5) < 0.6, np.random.rand(3, 5) < 0.6
    np.testing.assert_array_equal(np.random.rand(2), after)  # the global state is where the course leaves it
    _, cache = reg.forward_propagation_with_dropout(X, parameters, keep_prob=0.6)
    np.testing.assert_array_equal(cache[1], D1)
    np.testing.assert_array_equal(cache[6], D2)
    # keep_prob = 1 keeps every unit: the plain forward
    A3_kept, _ = reg.forward_propagation_with_dropout(X, parameters, keep_prob=1.0)
    np.testing.assert_array_equal(A3_kept, reg.forward_propagation(X, parameters)[0])


def test_backward_propagation_with_dropout_gives_the_course_gradients():
    X = course_X()
    D1 = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 1, 0]])
    D2 = np.array([[1, 0, 1, 0, 1], [0, 1, 0, 1, 1], [0, 0, 1, 0, 0]])
    # The course's cache was made with keep_prob 0.5 (its A1 is twice the ReLU) and is tested with 0.8.
    cache = course_dropout_cache(X, CACHE_PARAMETERS, D1, D2, keep_prob=0.5)
    close(cache[11], [[0.32266394, 0.49683389, 0.00348883, 0.49683389, 0.32266394]])  # the printed A3
    grads = reg.backward_propagation_with_dropout(X, Y_ASSESS, cache, keep_prob=0.8)
    assert set(grads) == COURSE_KEYS
    close(grads["dA1"], [[0.36544439, 0.0, -0.00188233, 0.0, -0.17408748],
                         [0.65515713, 0.0, -0.00337459, 0.0, 0.0]])  # fmt: skip
    close(grads["dA2"], [[0.58180856, 0.0, -0.00299679, 0.0, -0.27715731],
                         [0.0, 0.53159854, 0.0, 0.53159854, -0.34089673],
                         [0.0, 0.0, -0.00292733, 0.0, 0.0]])  # fmt: skip
    close(grads["dW1"], [[0.00019884, 0.00028657, 0.00012138], [0.00035647, 0.00051375, 0.00021761]])
    close(grads["dW2"], [[-0.00256518, -0.0009476], [0.0, 0.0], [0.0, 0.0]])
    close(grads["dW3"], [[-0.06951191, 0.0, 0.0]])
    close(grads["db1"], [[-0.00037647], [-0.00067492]])
    close(grads["db2"], [[0.06033089], [0.0], [0.0]])
    close(grads["db3"], [[-0.2715031]])


# ------------------------------------------------------------------ independent references, other shapes


def random_case(seed, n_x, n_1, n_2, m):
    rng = np.random.default_rng(seed)
    shapes = [(n_1, n_x), (n_1, 1), (n_2, n_1), (n_2, 1), (1, n_2), (1, 1)]
    parameters = {name: rng.standard_normal(shape) for name, shape in zip(NAMES, shapes, strict=True)}
    return rng, rng.standard_normal((n_x, m)), rng.integers(0, 2, (1, m)), parameters


def away_from_kinks(Zs):
    return all(np.min(np.abs(Z)) > 1e-2 for Z in Zs)


case_shapes = dict(seed=st.integers(0, 2**16), n_x=st.integers(1, 4), n_1=st.integers(1, 4),
                   n_2=st.integers(1, 3), m=st.integers(1, 5))  # fmt: skip


@given(lambd=st.floats(0.0, 2.0), **case_shapes)
def test_L2_backward_is_the_gradient_of_the_L2_cost(lambd, seed, n_x, n_1, n_2, m):
    _, X, Y, parameters = random_case(seed, n_x, n_1, n_2, m)
    A3, cache = reg.forward_propagation(X, parameters)
    if not away_from_kinks([cache[0], cache[4]]):
        return
    grads = reg.backward_propagation_with_regularization(X, Y, cache, lambd)
    np.testing.assert_allclose(reg.compute_cost_with_regularization(A3, Y, parameters, lambd),
                               numpy_cost(A3, Y, parameters, lambd), rtol=1e-12)  # fmt: skip
    for name in NAMES:

        def cost(value, name=name):
            moved = {**parameters, name: value}
            return numpy_cost(numpy_forward(X, moved)[-1], Y, moved, lambd)

        numeric = five_point_gradient(cost, parameters[name], h=1e-5)
        np.testing.assert_allclose(grads["d" + name], numeric, rtol=1e-5, atol=1e-8)


@given(keep_prob=st.floats(0.3, 1.0), **case_shapes)
def test_dropout_backward_is_the_gradient_of_the_cost_with_the_masks_held_fixed(keep_prob, seed, n_x, n_1, n_2, m):
    rng, X, Y, parameters = random_case(seed, n_x, n_1, n_2, m)
    D1 = (rng.uniform(size=(n_1, m)) < keep_prob).astype(int)
    D2 = (rng.uniform(size=(n_2, m)) < keep_prob).astype(int)
    cache = course_dropout_cache(X, parameters, D1, D2, keep_prob)
    if not away_from_kinks([cache[0], cache[5]]):
        return
    grads = reg.backward_propagation_with_dropout(X, Y, cache, keep_prob)
    for name in NAMES:

        def cost(value, name=name):
            return numpy_cost(numpy_forward(X, {**parameters, name: value}, D1, D2, keep_prob)[-1], Y)

        numeric = five_point_gradient(cost, parameters[name], h=1e-5)
        np.testing.assert_allclose(grads["d" + name], numeric, rtol=1e-5, atol=1e-8)


def course_model(X, Y, learning_rate, num_iterations, lambd=0.0, keep_prob=1.0):
    """The course's model loop in plain numpy (reg_utils' initialization, seeded dropout, course updates)."""
    np.random.seed(3)
    dims = [X.shape[0], 20, 3, 1]
    p = {}
    for layer in range(1, 4):
        p[f"W{layer}"] = np.random.randn(dims[layer], dims[layer - 1]) / np.sqrt(dims[layer - 1])
        p[f"b{layer}"] = np.zeros((dims[layer], 1))
    m, costs = X.shape[1], []
    for _ in range(num_iterations):
        np.random.seed(1)
        D1 = (np.random.rand(20, m) < keep_prob).astype(int) if keep_prob < 1 else None
        D2 = (np.random.rand(3, m) < keep_prob).astype(int) if keep_prob < 1 else None
        Z1, A1, Z2, A2, Z3, A3 = numpy_forward(X, p, D1, D2, keep_prob)
        costs.append(numpy_cost(A3, Y, p, lambd))
        dZ3 = A3 - Y
        dA2 = p["W3"].T @ dZ3 * (1 if D2 is None else D2 / keep_prob)
        dZ2 = dA2 * (Z2 > 0)
        dA1 = p["W2"].T @ dZ2 * (1 if D1 is None else D1 / keep_prob)
        dZ1 = dA1 * (Z1 > 0)
        grads = {"W3": dZ3 @ A2.T, "b3": dZ3.sum(1, keepdims=True), "W2": dZ2 @ A1.T,
                 "b2": dZ2.sum(1, keepdims=True), "W1": dZ1 @ X.T, "b1": dZ1.sum(1, keepdims=True)}  # fmt: skip
        for name, grad in grads.items():
            decay = lambd * p[name] if name[0] == "W" else 0
            p[name] = p[name] - learning_rate * (grad + decay) / m
    return p, costs


@pytest.mark.parametrize("options", [{}, {"lambd": 0.7}, {"keep_prob": 0.86}])
def test_model_matches_a_plain_numpy_copy_of_the_course_loop(options, capsys):
    train_X, train_Y, _, _ = reg.load_2D_dataset()
    result = reg.train(train_X, train_Y, num_iterations=60, print_cost=True, **options)
    expected_parameters, expected_costs = course_model(train_X, train_Y, 0.3, 60, **options)
    np.testing.assert_allclose(result.costs, expected_costs, rtol=1e-10)
    for name in NAMES:
        np.testing.assert_allclose(result.parameters[name], expected_parameters[name], rtol=1e-8, atol=1e-12)
    assert capsys.readouterr().out == f"Cost after iteration 0: {result.costs[0]}\n"
    parameters = reg.model(train_X, train_Y, num_iterations=60, print_cost=False, **options)
    assert all(np.array_equal(parameters[name], result.parameters[name]) for name in NAMES)


def test_the_stand_in_data_has_the_course_layout():
    train_X, train_Y, test_X, test_Y = reg.load_2D_dataset()
    assert train_X.shape == (2, 211) and train_Y.shape == (1, 211)
    assert test_X.shape == (2, 200) and test_Y.shape == (1, 200)
    parameters = reg.initialize_parameters([2, 20, 3, 1])
    np.random.seed(3)
    np.testing.assert_array_equal(parameters["W1"], np.random.randn(20, 2) / np.sqrt(2))


# ------------------------------------------------------------------------------------------------- errors


def test_bad_input_is_named():
    X, parameters = seed1_case()
    with pytest.raises(ValueError, match=r"keep_prob must be a number in \(0, 1\], but got 0"):
        reg.forward_propagation_with_dropout(X, parameters, keep_prob=0)
    with pytest.raises(ValueError, match=r"keep_prob must be a number in \(0, 1\], but got 1.5"):
        reg.backward_propagation_with_dropout(X, Y_ASSESS, (), keep_prob=1.5)
    with pytest.raises(ValueError, match=r"lambd must be a finite number >= 0, but got -0.1"):
        reg.compute_cost_with_regularization(np.full((1, 5), 0.5), Y_ASSESS, parameters, -0.1)
    _, cache = reg.forward_propagation(X, parameters)
    with pytest.raises(TypeError, match=r"cache must be the 14-tuple returned by forward_propagation_with_dropout"):
        reg.backward_propagation_with_dropout(X, Y_ASSESS, cache, 0.8)
    with pytest.raises(TypeError, match=r"cache must be the 12-tuple returned by forward_propagation, but got a tuple"):
        reg.backward_propagation_with_regularization(X, Y_ASSESS, cache[:11], 0.7)
    with pytest.raises(ValueError, match=r"Y must have shape \(1, 5\) or \(5,\), but got shape \(1, 4\)"):
        reg.backward_propagation_with_regularization(X, Y_ASSESS[:, :4], cache, 0.7)
    with pytest.raises(ValueError, match=r"missing \[b3\]"):
        reg.forward_propagation(X, {k: v for k, v in parameters.items() if k != "b3"})
    with pytest.raises(ValueError, match=r"a3 must hold probabilities in \[0, 1\]"):
        reg.compute_cost(np.full((1, 5), 1.5), Y_ASSESS)
    with pytest.raises(ValueError, match=r"one at a time as the course does"):
        reg.model(X, Y_ASSESS, lambd=0.7, keep_prob=0.8)


def test_the_course_utils_helpers_are_there(tmp_path):
    """reg_utils / init_utils also give sigmoid, relu, update_parameters and plot_decision_boundary(model, X, y)."""
    import matplotlib

    matplotlib.use("Agg")
    from toynet.exercises import initialization as init

    x = np.linspace(-3, 3, 7)
    for module in (reg, init):
        np.testing.assert_allclose(module.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
        np.testing.assert_array_equal(module.relu(x), np.maximum(0, x))
    X, parameters = seed1_case()
    grads = {"d" + name: np.ones_like(value) for name, value in parameters.items()}
    updated = reg.update_parameters(parameters, grads, 0.5)
    assert all(np.array_equal(updated[name], parameters[name] - 0.5) for name in NAMES)
    train_X, train_Y, _, _ = reg.load_2D_dataset()
    trained = reg.model(train_X, train_Y, num_iterations=200, print_cost=False)
    ax = reg.plot_decision_boundary(lambda x: reg.predict_dec(trained, x.T), train_X, train_Y)
    assert ax.collections and ax.get_title() == "Decision boundary"
    ax.figure.savefig(tmp_path / "boundary.png")
