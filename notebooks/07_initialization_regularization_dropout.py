# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% toynet={"graded": false}
# Before the lesson: is toynet installed in this kernel, and new enough? (README, "Install")
#   python -m pip install .     in your clone of the repository (its distribution is named toynet-lessons)
#   python -c "import toynet; print(toynet.__version__)"     prints 0.2.0 or newer
# Never `pip install toynet`: that name on the package index is an unrelated project.
import importlib.resources
import importlib.util
import re

NEEDED = (0, 2)
if importlib.util.find_spec("toynet") is None:
    raise ModuleNotFoundError("toynet is not installed in this notebook's kernel: in a terminal, in your clone "
                              "of the repository, run `python -m pip install .` (README, Install), then restart "
                              "the kernel")
import toynet

found = re.match(r"(\d+)\.(\d+)", getattr(toynet, "__version__", "0.0"))
course_toynet = importlib.resources.files(toynet).joinpath("student_check.py").is_file()  # not PyPI's toynet
if not (course_toynet and found and tuple(map(int, found.groups())) >= NEEDED):
    raise ImportError(f"the toynet in this kernel ({getattr(toynet, '__version__', 'no version')}, {toynet.__file__}) "
                      "is too old or not the course's: run `python -m pip install --upgrade .` in your clone of the "
                      "repository (README, Install), then restart the kernel")
print("toynet", toynet.__version__, "is ready")

# %% [markdown]
# # 7. Initialization, regularization and dropout
#
# The course's "Initialization" and "Regularization" assignments on toynet
# (`toynet.exercises.initialization`, `toynet.exercises.regularization`), then the same ideas in toynet's
# own `Network`, and why a gradient check must hold dropout still.

# %% toynet={"graded": false}
import matplotlib.pyplot as plt
import numpy as np

from toynet import Network, gradcheck, plots
from toynet.exercises import initialization as init
from toynet.exercises import regularization as reg

# %% [markdown]
# ## 1. Zeros do not break symmetry
#
# The course's circles (300 training points, 100 test points; the same points, regenerated in code).
# With every weight zero, every unit of a layer computes the same function and receives the same gradient:
# they stay copies of each other forever, and the output is 0.5 for every input, a cost of $\log 2$.

# %% toynet={"graded": false}
train_X, train_Y, test_X, test_Y = init.load_dataset()
zeros = init.train(train_X, train_Y, num_iterations=2000, initialization="zeros", print_cost=False)
W1 = zeros.parameters["W1"]
print("cost", zeros.costs[0], "->", zeros.costs[-1], "  rows of W1 all equal:", np.ptp(W1, axis=0).max() == 0)
assert abs(zeros.costs[-1] - np.log(2)) < 1e-15 and np.ptp(W1, axis=0).max() == 0

# %% [markdown]
# ## 2. He initialization
#
# $W^{[l]} \sim \mathcal{N}(0, 1) \sqrt{2 / n^{[l-1]}}$ keeps the signal's size through ReLU layers. The run
# prints the course's numbers to the last digits (it starts from the course's seed and the course's data).

# %% toynet={"graded": false}
he = init.train(train_X, train_Y, initialization="he")
assert abs(he.costs[0] - 0.8830537463419761) < 1e-12 and abs(he.costs[14000] - 0.07357895962677362) < 1e-9
network = Network([2, 10, 5, 1])  # the same architecture: toynet's plots draw any parameters of it
print(f"train accuracy {network.accuracy(train_X, train_Y, he.parameters):.4f}, "
      f"test accuracy {network.accuracy(test_X, test_Y, he.parameters):.2f}")
assert network.accuracy(test_X, test_Y, he.parameters) == 0.96

# %% toynet={"graded": false}
fig, axes = plt.subplots(1, 2, figsize=(12, 5))
plots.plot_decision_boundary(network, zeros.parameters, train_X, train_Y, ax=axes[0])
axes[0].set_title("zeros: one constant prediction")
plots.plot_decision_boundary(network, he.parameters, train_X, train_Y, ax=axes[1])
axes[1].set_title("He: the circles separated")

# %% [markdown]
# ## 3. Over-fitting, and two cures
#
# The course's football field: where did our players head the ball (blue) and where the other team's
# (red)? The course's file is not shipped; `load_2D_dataset` generates a stand-in: a curved diagonal with
# 5% of the labels flipped. A 2-20-3-1 network with no regularization learns the flipped points too.

# %% toynet={"graded": false}
field_X, field_Y, field_test_X, field_test_Y = reg.load_2D_dataset()
field_network = Network([2, 20, 3, 1])
results = {}


def accuracies(parameters):
    return (field_network.accuracy(field_X, field_Y, parameters),
            field_network.accuracy(field_test_X, field_test_Y, parameters))


results["no regularization"] = reg.model(field_X, field_Y)
print("train {:.3f}, test {:.3f}".format(*accuracies(results["no regularization"])))

# %% [markdown]
# **L2 regularization** adds $\frac{\lambda}{2m} \sum_l \lVert W^{[l]} \rVert_F^2$ to the cost, so every
# $dW^{[l]}$ gains $\frac{\lambda}{m} W^{[l]}$: the weights decay, the boundary smooths.

# %% toynet={"graded": false}
results["L2, lambda = 0.7"] = reg.model(field_X, field_Y, lambd=0.7)
print("train {:.3f}, test {:.3f}".format(*accuracies(results["L2, lambda = 0.7"])))

# %% [markdown]
# **Inverted dropout** shuts each hidden unit with probability $1 - p$ at every step and divides the
# survivors by $p$ (`keep_prob`), so no unit can rely on any other. Only in training: `predict` runs the
# plain forward.

# %% toynet={"graded": false}
results["dropout, keep_prob = 0.86"] = reg.model(field_X, field_Y, keep_prob=0.86)
print("train {:.3f}, test {:.3f}".format(*accuracies(results["dropout, keep_prob = 0.86"])))

# %% toynet={"graded": false}
fig, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, (name, parameters) in zip(axes, results.items(), strict=True):
    plots.plot_decision_boundary(field_network, parameters, field_X, field_Y, ax=ax)
    train_accuracy, test_accuracy = accuracies(parameters)
    ax.set_title(f"{name}: train {train_accuracy:.1%}, test {test_accuracy:.1%}")

# %% toynet={"graded": false}
for name, parameters in results.items():
    weights = sum(np.sum(parameters[f"W{layer}"] ** 2) for layer in (1, 2, 3))
    print(f"{name:28s} train {accuracies(parameters)[0]:.3f}  test {accuracies(parameters)[1]:.3f}  "
          f"sum of squared weights {weights:8.1f}")
plain, l2, dropout = (accuracies(parameters) for parameters in results.values())
assert plain[0] - plain[1] > 0.05  # over-fitting: the training set is learnt better than new points
assert l2[1] > plain[1] and dropout[1] > plain[1]  # both cures do better on the test set
assert l2[0] < plain[0] and dropout[0] < plain[0]  # ... and worse on the training set

# %% [markdown]
# ## 4. The same in toynet's `Network`
#
# `Network.train(..., lambd=...)` adds the L2 term to the cost and $\frac{\lambda}{m} W^{[l]}$ to each
# $dW^{[l]}$; `keep_prob=...` applies inverted dropout with fresh, seeded masks at every step (the course's
# exercise draws the *same* masks at every step, since it reseeds with `np.random.seed(1)`). Prediction
# never drops a unit. From the course's starting point, `Network` with L2 follows the exercise's run.

# %% toynet={"graded": false}
course_start = reg.initialize_parameters([2, 20, 3, 1])
network_run = field_network.train(field_X, field_Y, course_start, learning_rate=0.3, num_iterations=2000,
                                  lambd=0.7, progress=False)
exercise_run = reg.train(field_X, field_Y, num_iterations=2000, lambd=0.7, print_cost=False)
print(f"cost after 2000 steps: Network {network_run.costs[-1]:.12f}, exercise {exercise_run.costs[-1]:.12f}")
assert np.allclose(network_run.costs, exercise_run.costs, rtol=1e-10)

# %% [markdown]
# ## 5. Gradient checks and dropout
#
# A gradient check compares the backward pass with $\frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}
# {2 \varepsilon}$. With dropout, every forward pass draws new masks: $J$ is then not a function of
# $\theta$ alone, and the differences measure the noise of the masks, not the slope. Switch dropout off for
# the check, or hold the masks fixed: `network.dropout_masks(...)` draws them once and
# `network.cost_function(X, Y, keep_prob=..., masks=...)` reuses them at every call.

# %% toynet={"graded": false}
small = Network([2, 5, 3, 1], hidden="tanh")
theta = small.initialize_parameters(seed=0, method="xavier")
X5, Y5 = field_X[:, :8], field_Y[:, :8]
masks = small.dropout_masks(8, keep_prob=0.7, seed=1)
_, caches = small.forward(X5, Y5, theta, keep_prob=0.7, masks=masks)
grads = small.backward(caches)


def fresh_masks_cost(parameters):  # what a careless check would differentiate: new masks at every call
    return small.forward(X5, Y5, parameters, keep_prob=0.7)[0]


noisy = gradcheck.gradient_check_n(fresh_masks_cost, theta, grads)
fixed = gradcheck.gradient_check_n(small.cost_function(X5, Y5, keep_prob=0.7, masks=masks), theta, grads)
print("fresh masks at every call:", f"{noisy.difference:.2e}")
print("masks held fixed:         ", f"{fixed.difference:.2e}")
assert not noisy.passed and fixed.passed

# %% [markdown]
# With the masks fixed, the check also finds a wrong dropout backward, and says where: here the backward
# forgot to divide $dA^{[1]}$ by `keep_prob`, so only layer 1's gradients are wrong.

# %% toynet={"graded": false}
# Forgetting "/ keep_prob" on dA1 leaves dZ1, and so dW1 and db1, keep_prob times too small; the rest is right.
buggy = {**grads, "dW1": grads["dW1"] * 0.7, "db1": grads["db1"] * 0.7}
located = gradcheck.gradient_check_n(small.cost_function(X5, Y5, keep_prob=0.7, masks=masks), theta, buggy)
print(located.summary())
assert located.failing_blocks == ["W1", "b1"]

# %% [markdown]
# **Take-aways.** Random weights break symmetry, and their scale matters (He for ReLU). L2 and dropout trade
# a little training accuracy for a better fit to new points. Gradient-check with dropout switched off, or
# with its masks held fixed.

# %% [markdown]
# ## Your turn: L2 and dropout, by hand
#
# The course's regularization assignment for the 3-layer network LINEAR -> RELU -> LINEAR -> RELU -> LINEAR ->
# SIGMOID, in plain numpy. In each function, replace the `raise NotImplementedError(...)` line under
# `# YOUR CODE HERE` with your code, then run the check cell below it. The checks use the course's test cases;
# the L2 backward's check also gradient-checks *your* gradients with toynet against the regularized cost and
# names the block that is wrong. These cells are the graded assignment (hidden checks run on other inputs);
# keep the names.
#
# The plain network is given: `forward_propagation(X, parameters)` returns `A3` and the cache
# `(Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)`, and `compute_cost(A3, Y)` the cross-entropy.

# %%
import numpy as np


def relu(x):
    return np.maximum(0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward_propagation(X, parameters):
    """A3 (1, m) and the cache (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)."""
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def compute_cost(A3, Y):
    """The cross-entropy -(1/m) sum(Y log A3 + (1 - Y) log(1 - A3))."""
    m = Y.shape[1]
    return float(-np.sum(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)) / m)


# %% [markdown]
# ## 1. L2 regularization
#
# The cost becomes $J = \text{cross-entropy} + \frac{\lambda}{2m} \sum_l \lVert W^{[l]} \rVert_F^2$ (formula 2),
# and each $dW^{[l]}$ gains $\frac{\lambda}{m} W^{[l]}$ (the $b$'s do not change).

# %%
def compute_cost_with_regularization(A3, Y, parameters, lambd):
    """Cross-entropy + (lambd / 2m) (||W1||^2 + ||W2||^2 + ||W3||^2)."""
    m = Y.shape[1]
    W1, W2, W3 = parameters["W1"], parameters["W2"], parameters["W3"]
    cross_entropy_cost = compute_cost(A3, Y)
    ### BEGIN SOLUTION
    L2_regularization_cost = lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))
    ### END SOLUTION
    return cross_entropy_cost + L2_regularization_cost


def backward_propagation_with_regularization(X, Y, cache, lambd):
    """The gradients of compute_cost_with_regularization: keys dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    ### BEGIN SOLUTION
    dW3 = 1.0 / m * dZ3 @ A2.T + lambd / m * W3
    ### END SOLUTION
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    ### BEGIN SOLUTION
    dW2 = 1.0 / m * dZ2 @ A1.T + lambd / m * W2
    ### END SOLUTION
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    ### BEGIN SOLUTION
    dW1 = 1.0 / m * dZ1 @ X.T + lambd / m * W1
    ### END SOLUTION
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


# %% toynet={"points": 1, "question": "compute_cost_with_regularization"}
import numpy as np

from toynet.grading.checks import expect_number

np.random.seed(1)  # the course's test case
parameters = {name: np.random.randn(*shape) for name, shape in
              [("W1", (2, 3)), ("b1", (2, 1)), ("W2", (3, 2)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]}
A3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
cost = compute_cost_with_regularization(A3, np.array([[1, 1, 0, 1, 0]]), parameters, lambd=0.1)
print("cost =", cost)
expect_number(cost, 1.7864859451590758, "cost", rtol=1e-12)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(21)
parameters = {"W1": rng.randn(4, 2), "b1": rng.randn(4, 1), "W2": rng.randn(2, 4), "b2": rng.randn(2, 1),
              "W3": rng.randn(1, 2), "b3": rng.randn(1, 1)}
A3, Y = rng.uniform(0.1, 0.9, (1, 7)), (rng.rand(1, 7) > 0.5).astype(float)
squares = sum(float((parameters[k] ** 2).sum()) for k in ("W1", "W2", "W3"))
expect_number(compute_cost_with_regularization(A3, Y, parameters, 1.3), compute_cost(A3, Y) + 1.3 / 14 * squares,
              "cost", rtol=1e-12)
### END HIDDEN TESTS

# %% toynet={"points": 2, "question": "backward_propagation_with_regularization"}
import numpy as np

from toynet.grading.checks import expect_array

# The course's test case: its cache is forward_propagation of this X and these parameters (testCases.py).
np.random.seed(1)
X, Y = np.random.randn(3, 5), np.array([[1, 1, 0, 1, 0]])
parameters = {
    "W1": np.array([[-1.09989127, -0.17242821, -0.87785842], [0.04221375, 0.58281521, -1.10061918]]),
    "b1": np.array([[1.14472371], [0.90159072]]),
    "W2": np.array([[0.50249434, 0.90085595], [-0.68372786, -0.12289023], [-0.93576943, -0.26788808]]),
    "b2": np.array([[0.53035547], [-0.69166075], [-0.39675353]]),
    "W3": np.array([[-0.6871727, -0.84520564, -0.67124613]]),
    "b3": np.array([[-0.0126646]]),
}
_, cache = forward_propagation(X, parameters)
grads = backward_propagation_with_regularization(X, Y, cache, lambd=0.7)
print("dW3 =", grads["dW3"])
expect_array(grads["dW1"], [[-0.25604646, 0.12298827, -0.28297129], [-0.17706303, 0.34536094, -0.4410571]], "dW1",
             atol=1e-7)
expect_array(grads["dW2"], [[0.79276486, 0.85133918], [-0.0957219, -0.01720463], [-0.13100772, -0.03750433]],
             "dW2", atol=1e-7)
expect_array(grads["dW3"], [[-1.77691347, -0.11832879, -0.09397446]], "dW3", atol=1e-7)

# toynet's per-block gradient check of your gradients against the L2-regularized cost (toynet's own cost and
# forward, so a mistake in your cost cannot hide one here), on the same network
from toynet.exercises import regularization as reference
from toynet.student_check import Network, assert_correct


def regularized_cost(params):
    A3 = reference.forward_propagation(X, params)[0]
    return float(reference.compute_cost_with_regularization(A3, Y, params, 0.7))


print(assert_correct(Network(regularized_cost, parameters, grads, depth=3), "backward_propagation_with_regularization"))
### BEGIN HIDDEN TESTS
# Central differences of the L2 cost on another network (ReLU kinks avoided).
rng = np.random.RandomState(22)
X, Y = rng.randn(2, 6), (rng.rand(1, 6) > 0.5).astype(float)
P = {"W1": rng.randn(3, 2), "b1": rng.randn(3, 1), "W2": rng.randn(2, 3), "b2": rng.randn(2, 1),
     "W3": rng.randn(1, 2), "b3": rng.randn(1, 1)}
_, cache = forward_propagation(X, P)
assert min(np.min(np.abs(cache[0])), np.min(np.abs(cache[4]))) > 1e-3


def J(P):
    A3 = forward_propagation(X, P)[0]
    return -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)) + 0.9 / 12 * sum((P[k] ** 2).sum() for k in ("W1", "W2", "W3"))


grads = backward_propagation_with_regularization(X, Y, cache, 0.9)
for name in P:
    numeric = np.zeros_like(P[name])
    for index in np.ndindex(P[name].shape):
        plus, minus = {k: v.copy() for k, v in P.items()}, {k: v.copy() for k, v in P.items()}
        plus[name][index] += 1e-6
        minus[name][index] -= 1e-6
        numeric[index] = (J(plus) - J(minus)) / 2e-6
    expect_array(grads["d" + name], numeric, "d" + name, rtol=1e-5, atol=1e-8)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Dropout
#
# Forward, for each hidden layer: draw `D = np.random.rand(*A.shape)`, keep a unit where `D < keep_prob`
# (`D = (D < keep_prob).astype(int)`), shut the others (`A = A * D`) and scale the survivors (`A = A / keep_prob`).
# Call `np.random.seed(1)` first and draw `D1` before `D2`, as the course does.
# Backward, apply the same mask and scale to `dA1` and `dA2`.

# %%
def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    """A3 and the cache (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3), A1 and A2 after dropout."""
    np.random.seed(1)
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    ### BEGIN SOLUTION
    D1 = (np.random.rand(A1.shape[0], A1.shape[1]) < keep_prob).astype(int)
    A1 = A1 * D1 / keep_prob
    ### END SOLUTION
    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    ### BEGIN SOLUTION
    D2 = (np.random.rand(A2.shape[0], A2.shape[1]) < keep_prob).astype(int)
    A2 = A2 * D2 / keep_prob
    ### END SOLUTION
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    return A3, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    """The gradients through the same masks: keys dZ3, dW3, db3, dA2, dZ2, dW2, db2, dA1, dZ1, dW1, db1."""
    m = X.shape[1]
    (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * dZ3 @ A2.T
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = W3.T @ dZ3
    ### BEGIN SOLUTION
    dA2 = dA2 * D2 / keep_prob
    ### END SOLUTION
    dZ2 = dA2 * (A2 > 0)
    dW2 = 1.0 / m * dZ2 @ A1.T
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = W2.T @ dZ2
    ### BEGIN SOLUTION
    dA1 = dA1 * D1 / keep_prob
    ### END SOLUTION
    dZ1 = dA1 * (A1 > 0)
    dW1 = 1.0 / m * dZ1 @ X.T
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


# %% toynet={"points": 2, "question": "forward_propagation_with_dropout"}
import numpy as np

from toynet.grading.checks import expect_array

np.random.seed(1)  # the course's test case
X = np.random.randn(3, 5)
parameters = {name: np.random.randn(*shape) for name, shape in
              [("W1", (2, 3)), ("b1", (2, 1)), ("W2", (3, 2)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]}
A3, cache = forward_propagation_with_dropout(X, parameters, keep_prob=0.7)
print("A3 =", A3)
expect_array(A3, [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]], "A3", atol=1e-8)
expect_array(np.asarray(cache[1]).astype(int), [[1, 0, 1, 1, 1], [1, 1, 1, 1, 1]], "D1")
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(23)
X = rng.randn(2, 8)
P = {"W1": rng.randn(5, 2), "b1": rng.randn(5, 1), "W2": rng.randn(3, 5), "b2": rng.randn(3, 1),
     "W3": rng.randn(1, 3), "b3": rng.randn(1, 1)}
draws = np.random.RandomState(1)  # the course's masks: seed 1, D1 then D2
D1, D2 = (draws.rand(5, 8) < 0.6).astype(int), (draws.rand(3, 8) < 0.6).astype(int)
A1 = np.maximum(0, P["W1"] @ X + P["b1"]) * D1 / 0.6
A2 = np.maximum(0, P["W2"] @ A1 + P["b2"]) * D2 / 0.6
A3, cache = forward_propagation_with_dropout(X, P, keep_prob=0.6)
expect_array(A3, 1 / (1 + np.exp(-(P["W3"] @ A2 + P["b3"]))), "A3")
expect_array(np.asarray(cache[6]).astype(int), D2, "D2")
expect_array(np.asarray(cache[2], dtype=float), A1, "A1 after dropout")
### END HIDDEN TESTS

# %% toynet={"points": 2, "question": "backward_propagation_with_dropout"}
import numpy as np

from toynet.grading.checks import expect_array

# The course's test case: its cache is this forward with these masks, made with keep_prob 0.5, checked with 0.8.
np.random.seed(1)
X, Y = np.random.randn(3, 5), np.array([[1, 1, 0, 1, 0]])
W1 = np.array([[-1.09989127, -0.17242821, -0.87785842], [0.04221375, 0.58281521, -1.10061918]])
b1 = np.array([[1.14472371], [0.90159072]])
W2 = np.array([[0.50249434, 0.90085595], [-0.68372786, -0.12289023], [-0.93576943, -0.26788808]])
b2 = np.array([[0.53035547], [-0.69166075], [-0.39675353]])
W3, b3 = np.array([[-0.6871727, -0.84520564, -0.67124613]]), np.array([[-0.0126646]])
D1 = np.array([[1, 0, 1, 1, 1], [1, 1, 1, 1, 0]])
D2 = np.array([[1, 0, 1, 0, 1], [0, 1, 0, 1, 1], [0, 0, 1, 0, 0]])
Z1 = W1 @ X + b1
A1 = np.maximum(0, Z1) * D1 / 0.5
Z2 = W2 @ A1 + b2
A2 = np.maximum(0, Z2) * D2 / 0.5
Z3 = W3 @ A2 + b3
A3 = 1 / (1 + np.exp(-Z3))
grads = backward_propagation_with_dropout(X, Y, (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3), 0.8)
print("dA1 =", grads["dA1"])
expect_array(grads["dA1"], [[0.36544439, 0.0, -0.00188233, 0.0, -0.17408748],
                            [0.65515713, 0.0, -0.00337459, 0.0, 0.0]], "dA1", atol=1e-7)
expect_array(grads["dA2"], [[0.58180856, 0.0, -0.00299679, 0.0, -0.27715731],
                            [0.0, 0.53159854, 0.0, 0.53159854, -0.34089673],
                            [0.0, 0.0, -0.00292733, 0.0, 0.0]], "dA2", atol=1e-7)
### BEGIN HIDDEN TESTS
# With the masks held fixed the cost is a function of the parameters: central differences must agree.
rng = np.random.RandomState(24)
X, Y = rng.randn(2, 6), (rng.rand(1, 6) > 0.5).astype(float)
P = {"W1": rng.randn(4, 2), "b1": rng.randn(4, 1), "W2": rng.randn(3, 4), "b2": rng.randn(3, 1),
     "W3": rng.randn(1, 3), "b3": rng.randn(1, 1)}
D1, D2 = (rng.rand(4, 6) < 0.7).astype(int), (rng.rand(3, 6) < 0.7).astype(int)


def forward(P):
    Z1 = P["W1"] @ X + P["b1"]
    A1 = np.maximum(0, Z1) * D1 / 0.7
    Z2 = P["W2"] @ A1 + P["b2"]
    A2 = np.maximum(0, Z2) * D2 / 0.7
    Z3 = P["W3"] @ A2 + P["b3"]
    A3 = 1 / (1 + np.exp(-Z3))
    return (Z1, D1, A1, P["W1"], P["b1"], Z2, D2, A2, P["W2"], P["b2"], Z3, A3, P["W3"], P["b3"])


def J(P):
    A3 = forward(P)[11]
    return -np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))


cache = forward(P)
assert min(np.min(np.abs(cache[0])), np.min(np.abs(cache[5]))) > 1e-3
grads = backward_propagation_with_dropout(X, Y, cache, 0.7)
for name in P:
    numeric = np.zeros_like(P[name])
    for index in np.ndindex(P[name].shape):
        plus, minus = {k: v.copy() for k, v in P.items()}, {k: v.copy() for k, v in P.items()}
        plus[name][index] += 1e-6
        minus[name][index] -= 1e-6
        numeric[index] = (J(plus) - J(minus)) / 2e-6
    expect_array(grads["d" + name], numeric, "d" + name, rtol=1e-5, atol=1e-8)
### END HIDDEN TESTS
