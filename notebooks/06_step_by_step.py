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
# # 6. A deep network, step by step
#
# The course's "Building your Deep Neural Network: Step by Step", run on toynet: every function has the
# course's name and signature (`toynet.exercises.step_by_step`), and gives the course's printed numbers.
#
# $[\text{LINEAR} \to \text{RELU}] \times (L-1) \to \text{LINEAR} \to \text{SIGMOID}$, with
# $Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}$, $A^{[l]} = g^{[l]}(Z^{[l]})$, examples in columns.
# Forward, each layer keeps a **cache** of what its backward will need; backward, each layer reads it.

# %% toynet={"graded": false}
import matplotlib.pyplot as plt
import numpy as np

from toynet import datasets, gradcheck, plots
from toynet.exercises.initialization import initialize_parameters_he
from toynet.exercises.step_by_step import (
    L_model_backward,
    L_model_forward,
    compute_cost,
    initialize_parameters_deep,
    linear_activation_forward,
    linear_backward,
    update_parameters,
)

# %% [markdown]
# ## Initialisation
#
# Small random weights break the symmetry between the units of a layer; biases start at zero. Like the
# course, `initialize_parameters_deep` calls `np.random.seed(3)` and draws $W^{[l]}$ = `randn * 0.01`.

# %% toynet={"graded": false}
parameters = initialize_parameters_deep([5, 4, 3])
print("W1 =", parameters["W1"][0])
print({name: value.shape for name, value in parameters.items()})
assert np.allclose(parameters["W1"][0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388])

# %% [markdown]
# ## Forward: one layer, and its cache
#
# `linear_activation_forward` returns $A^{[l]}$ and `cache = ((A_prev, W, b), Z)`: the linear cache for
# $dW$, $db$, $dA^{[l-1]}$, and $Z$ for the activation's derivative $g'(Z)$.

# %% toynet={"graded": false}
np.random.seed(2)  # the course's linear_activation_forward_test_case
A_prev, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
A, ((cached_A_prev, cached_W, cached_b), Z) = linear_activation_forward(A_prev, W, b, "sigmoid")
print("With sigmoid: A =", A)
print("cache: A_prev", cached_A_prev.shape, " W", cached_W.shape, " b", cached_b.shape, " Z", Z.shape)
assert np.allclose(A, [[0.96890023, 0.11013289]])
assert np.allclose(linear_activation_forward(A_prev, W, b, "relu")[0], [[3.43896131, 0.0]])

# %% [markdown]
# ## Forward through L layers
#
# The course's 3-layer test case (`np.random.seed(6)`): 5 inputs, layers of 4, 3 and 1 units, 4 examples.

# %% toynet={"graded": false}
np.random.seed(6)
X = np.random.randn(5, 4)
shapes = [("W1", (4, 5)), ("b1", (4, 1)), ("W2", (3, 4)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]
test_parameters = {name: np.random.randn(*shape) for name, shape in shapes}
AL, caches = L_model_forward(X, test_parameters)
print("AL =", AL)
for layer, ((A_in, W_l, b_l), Z_l) in enumerate(caches, start=1):
    print(f"layer {layer}: cache A_prev {A_in.shape}, W {W_l.shape}, b {b_l.shape}, Z {Z_l.shape}")
assert np.allclose(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]])

# %% [markdown]
# ## The picture: what flows forward, what is cached, what flows back

# %% toynet={"graded": false}
fig, ax = plt.subplots(figsize=(10, 3.6))
ax.set_axis_off()
ax.set_xlim(0, 10)
ax.set_ylim(0, 4)
for layer in range(1, 4):
    x = 0.6 + 3 * (layer - 1)
    name = "SIGMOID" if layer == 3 else "RELU"
    ax.add_patch(plt.Rectangle((x, 1.6), 2.2, 1.0, fc="#d1e5f0", ec="black"))
    ax.text(x + 1.1, 2.1, f"LINEAR -> {name}\nlayer {layer}", ha="center", va="center", fontsize=9)
    ax.add_patch(plt.Rectangle((x + 0.2, 0.2), 1.8, 0.8, fc="#fddbc7", ec="black", ls="--"))
    ax.text(x + 1.1, 0.6, f"cache {layer}\n(A{layer - 1}, W{layer}, b{layer}), Z{layer}", ha="center", va="center",
            fontsize=8)
    ax.annotate("", xy=(x + 1.1, 1.0), xytext=(x + 1.1, 1.6), arrowprops=dict(arrowstyle="->", color="gray"))
    ax.annotate("", xy=(x + 2.9, 2.45), xytext=(x + 2.2, 2.45), arrowprops=dict(arrowstyle="->", color="#2166ac"))
    ax.text(x + 2.55, 2.6, f"A{layer}", color="#2166ac", ha="center", fontsize=9)
    ax.annotate("", xy=(x - 0.05, 1.75), xytext=(x + 0.6, 1.75), arrowprops=dict(arrowstyle="->", color="#b2182b"))
    ax.text(x + 0.25, 1.35, f"dA{layer - 1}, dW{layer}, db{layer}", color="#b2182b", ha="center", fontsize=8)
ax.text(0.3, 2.45, "X = A0", color="#2166ac", ha="center", fontsize=9)
ax.text(9.7, 1.75, "dAL", color="#b2182b", ha="center", fontsize=9)
ax.text(5, 3.5, "forward: A flows right (blue), each layer stores its cache; "
        "backward: dA flows left (red), each layer reads its cache", ha="center", fontsize=9)

# %% [markdown]
# ## The cost
#
# $J = -\frac{1}{m} \sum_i \left( y^{(i)} \log a^{[L](i)} + (1 - y^{(i)}) \log(1 - a^{[L](i)}) \right)$

# %% toynet={"graded": false}
cost = compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]]))
print("Cost:", cost)
assert str(cost) == "0.2797765635793422"

# %% [markdown]
# ## Backward: one linear layer
#
# $dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}$, $db^{[l]} = \frac{1}{m} \sum_i dZ^{[l](i)}$,
# $dA^{[l-1]} = W^{[l]T} dZ^{[l]}$. The course puts the $\frac{1}{m}$ here; toynet's own `Linear.backward`
# leaves it to the cost's backward. Same gradients of $J$ in the end, different intermediate $dZ$'s.

# %% toynet={"graded": false}
np.random.seed(1)  # the course's linear_backward_test_case
dZ = np.random.randn(3, 4)
linear_cache = (np.random.randn(5, 4), np.random.randn(3, 5), np.random.randn(3, 1))
dA_prev, dW, db = linear_backward(dZ, linear_cache)
print("db:", db.ravel())
assert np.allclose(db, [[-0.14713786], [-0.11313155], [-0.13209101]])

# %% [markdown]
# ## Backward through L layers
#
# Start from $dA^{[L]} = -\left(\frac{Y}{A^{[L]}} - \frac{1 - Y}{1 - A^{[L]}}\right)$, then go down the
# caches. `grads` holds $dA^{[l-1]}, dW^{[l]}, db^{[l]}$ for every layer, $dA^{[0]}$ (the gradient with
# respect to $X$, times $m$) included.

# %% toynet={"graded": false}
Y = np.array([[1, 0, 1, 0]])
grads = L_model_backward(AL, Y, caches)
print(sorted(grads))
assert set(grads) == {"dA0", "dA1", "dA2", "dW1", "db1", "dW2", "db2", "dW3", "db3"}

# %% [markdown]
# Are these gradients right? toynet's gradient checker compares them with central differences of the
# cost, block by block.

# %% toynet={"graded": false}
def cost_of(params):
    return compute_cost(L_model_forward(X, params)[0], Y)


report = gradcheck.gradient_check_n(cost_of, test_parameters, grads)
print(report.summary())
assert report.passed

# %% [markdown]
# ## Training: update, repeat
#
# `update_parameters` takes one gradient-descent step $W \leftarrow W - \alpha \, dW$ and returns new
# arrays. Here a 2-20-7-1 network learns the flower dataset.

# %% toynet={"graded": false}
X_train, Y_train = datasets.flower(m=400, seed=1)
params = initialize_parameters_he([2, 20, 7, 1])  # the course's 0.01 would leave ReLU layers stuck near log 2
costs = []
for _ in range(2500):
    AL_train, train_caches = L_model_forward(X_train, params)
    costs.append(compute_cost(AL_train, Y_train))
    params = update_parameters(params, L_model_backward(AL_train, Y_train, train_caches), learning_rate=0.2)
accuracy = np.mean((L_model_forward(X_train, params)[0] > 0.5) == Y_train)
print(f"cost {costs[0]:.3f} -> {costs[-1]:.3f}, training accuracy {accuracy:.1%}")
ax = plots.plot_cost_history(costs)
assert costs[-1] < costs[0] / 2 and accuracy > 0.85

# %% [markdown]
# ## Your turn: build it yourself
#
# The course's week-4 assignment: the same L-layer network, $[\text{LINEAR} \to \text{RELU}] \times (L-1) \to
# \text{LINEAR} \to \text{SIGMOID}$, one function at a time, in plain numpy. In each function, replace the
# `raise NotImplementedError(...)` line under `# YOUR CODE HERE` with your code, then run the check cell below
# it. The checks use the course's test cases, and the backward's check also gradient-checks *your*
# `L_model_forward`/`L_model_backward` pair with toynet, naming the block that is wrong. These cells are the
# graded assignment (hidden checks run on other inputs); keep the names. From here on the names of the
# functions above are yours, not toynet's.
#
# Conventions: examples are columns; `Z = W @ A_prev + b`, `W` is `(n_l, n_{l-1})`, `b` is `(n_l, 1)`. As in the
# course, the `1/m` of the cost enters in `linear_backward`, and each layer's cache is `((A_prev, W, b), Z)`.

# %%
import numpy as np


def sigmoid(Z):
    """A = 1 / (1 + exp(-Z)); the cache is Z."""
    return 1 / (1 + np.exp(-Z)), Z


def relu(Z):
    """A = max(0, Z); the cache is Z."""
    return np.maximum(0, Z), Z


def relu_backward(dA, Z):
    """dZ = dA where Z > 0, else 0."""
    return np.where(Z > 0, dA, 0.0)


def sigmoid_backward(dA, Z):
    """dZ = dA * s * (1 - s) with s = sigmoid(Z)."""
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)


# %% [markdown]
# ## 1. Initialization
#
# `initialize_parameters_deep(layer_dims)`: call `np.random.seed(3)`, then for `l = 1 .. L` draw
# `W_l = np.random.randn(layer_dims[l], layer_dims[l-1]) * 0.01` and set `b_l = np.zeros((layer_dims[l], 1))`,
# in that order (so your numbers are the course's).

# %%
def initialize_parameters_deep(layer_dims):
    """{"W1": (n_1, n_0), "b1": (n_1, 1), ..., "WL", "bL"} for layer_dims = [n_0, n_1, ..., n_L]."""
    np.random.seed(3)
    parameters = {}
    ### BEGIN SOLUTION
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    ### END SOLUTION
    return parameters


# %% toynet={"points": 1, "question": "initialize_parameters_deep"}
import numpy as np

from toynet.grading.checks import expect_array

parameters = initialize_parameters_deep([5, 4, 3])
print("W1 =", parameters["W1"])
expect_array(parameters["W1"][0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388], "W1[0]", atol=1e-8)
expect_array(parameters["b2"], np.zeros((3, 1)), "b2")
assert sorted(parameters) == ["W1", "W2", "b1", "b2"], f"keys: {sorted(parameters)}"
### BEGIN HIDDEN TESTS
dims = [3, 1, 4, 2]
parameters = initialize_parameters_deep(dims)
assert sorted(parameters) == ["W1", "W2", "W3", "b1", "b2", "b3"], f"keys: {sorted(parameters)}"
rng = np.random.RandomState(3)  # the course's draws, one layer after another
for l in range(1, 4):
    expect_array(parameters[f"W{l}"], rng.randn(dims[l], dims[l - 1]) / 100, f"W{l}")
    expect_array(parameters[f"b{l}"], np.zeros((dims[l], 1)), f"b{l}")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Forward
#
# `linear_forward(A, W, b)` returns `Z = W A + b` and the cache `(A, W, b)`.
# `linear_activation_forward(A_prev, W, b, activation)` returns `A = g(Z)` and `cache = (linear_cache, Z)`
# with `g` = `sigmoid` or `relu` (use the helpers above).
# `L_model_forward(X, parameters)` runs RELU layers, then a SIGMOID layer, and returns `AL` and the list of caches.

# %%
def linear_forward(A, W, b):
    """Z = W A + b: (n_l, m), and the cache (A, W, b)."""
    ### BEGIN SOLUTION
    Z = W @ A + b
    ### END SOLUTION
    return Z, (A, W, b)


def linear_activation_forward(A_prev, W, b, activation):
    """A = g(W A_prev + b) for activation "sigmoid" or "relu", and cache = ((A_prev, W, b), Z)."""
    ### BEGIN SOLUTION
    Z, linear_cache = linear_forward(A_prev, W, b)
    if activation == "sigmoid":
        A, activation_cache = sigmoid(Z)
    else:
        A, activation_cache = relu(Z)
    ### END SOLUTION
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID: AL (1, m) and the list of L caches."""
    caches = []
    A = X
    L = len(parameters) // 2
    ### BEGIN SOLUTION
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters["W" + str(l)], parameters["b" + str(l)], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters["W" + str(L)], parameters["b" + str(L)], "sigmoid")
    caches.append(cache)
    ### END SOLUTION
    return AL, caches


# %% toynet={"points": 2, "question": "linear_activation_forward"}
import numpy as np

from toynet.grading.checks import expect_array, expect_tuple

np.random.seed(2)  # the course's test case
A_prev, W, b = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)
A, cache = linear_activation_forward(A_prev, W, b, "sigmoid")
print("With sigmoid: A =", A)
expect_array(A, [[0.96890023, 0.11013289]], "A (sigmoid)", atol=1e-8)
expect_tuple(cache, 2, "cache")
expect_array(cache[1], [[3.43896131, -2.08938436]], "Z in the cache", atol=1e-8)
A, cache = linear_activation_forward(A_prev, W, b, "relu")
expect_array(A, [[3.43896131, 0.0]], "A (relu)", atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(11)
A_prev, W, b = rng.randn(4, 6), rng.randn(3, 4), rng.randn(3, 1)
Z = np.einsum("ij,jm->im", W, A_prev) + b
for activation, g in (("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("relu", lambda z: z * (z > 0))):
    A, cache = linear_activation_forward(A_prev, W, b, activation)
    expect_array(A, g(Z), f"A ({activation})")
    expect_tuple(cache, 2, "cache")
    expect_tuple(cache[0], 3, "linear cache")
    expect_array(cache[1], Z, "Z in the cache")
### END HIDDEN TESTS

# %% toynet={"points": 2, "question": "L_model_forward"}
import numpy as np

from toynet.grading.checks import expect_array

np.random.seed(6)  # the course's test case: 5 inputs, layers of 4, 3 and 1 units, 4 examples
X = np.random.randn(5, 4)
shapes = [("W1", (4, 5)), ("b1", (4, 1)), ("W2", (3, 4)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]
parameters = {name: np.random.randn(*shape) for name, shape in shapes}
AL, caches = L_model_forward(X, parameters)
print("AL =", AL)
expect_array(AL, [[0.03921668, 0.70498921, 0.19734387, 0.04728177]], "AL", atol=1e-8)
assert len(caches) == 3, f"expected 3 caches, got {len(caches)}"
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(12)
dims = [2, 6, 1]
X = rng.randn(2, 9)
parameters = {}
for l in range(1, 3):
    parameters[f"W{l}"], parameters[f"b{l}"] = rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1)
hidden = np.maximum(0, parameters["W1"] @ X + parameters["b1"])
expected = 1 / (1 + np.exp(-(parameters["W2"] @ hidden + parameters["b2"])))
AL, caches = L_model_forward(X, parameters)
expect_array(AL, expected, "AL")
assert len(caches) == 2, f"expected 2 caches, got {len(caches)}"
expect_array(caches[1][1], parameters["W2"] @ hidden + parameters["b2"], "Z2 in the last cache")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Cost
#
# `compute_cost(AL, Y)` returns the cross-entropy $-\frac{1}{m} \sum (Y \log AL + (1 - Y) \log(1 - AL))$ as a float.

# %%
def compute_cost(AL, Y):
    """The cross-entropy cost, a float.  AL, Y: (1, m)."""
    m = Y.shape[1]
    ### BEGIN SOLUTION
    cost = -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m
    ### END SOLUTION
    return float(cost)


# %% toynet={"points": 1, "question": "compute_cost"}
import math

import numpy as np

from toynet.grading.checks import expect_number

cost = compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]]))
print("Cost:", cost)
expect_number(cost, 0.2797765635793422, "cost", rtol=1e-12)
### BEGIN HIDDEN TESTS
AL, Y = np.array([[0.3, 0.6, 0.99, 0.01]]), np.array([[0, 1, 1, 0]])
expected = -(math.log(0.7) + math.log(0.6) + math.log(0.99) + math.log(0.99)) / 4
expect_number(compute_cost(AL, Y), expected, "cost", rtol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Backward
#
# `linear_backward(dZ, cache)`: `dW = dZ A_prev^T / m`, `db = sum of dZ over the examples / m` (keepdims),
# `dA_prev = W^T dZ`.
# `linear_activation_backward(dA, cache, activation)`: `dZ = relu_backward(dA, Z)` or `sigmoid_backward(dA, Z)`,
# then `linear_backward`.
# `L_model_backward(AL, Y, caches)`: start from `dAL = -(Y / AL - (1 - Y) / (1 - AL))`, go down the layers and
# return `grads` with `dA{l-1}`, `dW{l}`, `db{l}` for every layer `l` (so `dA0` too).

# %%
def linear_backward(dZ, cache):
    """(dA_prev, dW, db) of the linear part of a layer; cache = (A_prev, W, b)."""
    A_prev, W, b = cache
    m = A_prev.shape[1]
    ### BEGIN SOLUTION
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = W.T @ dZ
    ### END SOLUTION
    return dA_prev, dW, db


def linear_activation_backward(dA, cache, activation):
    """(dA_prev, dW, db) of a LINEAR -> ACTIVATION layer; cache = ((A_prev, W, b), Z)."""
    linear_cache, activation_cache = cache
    ### BEGIN SOLUTION
    if activation == "relu":
        dZ = relu_backward(dA, activation_cache)
    else:
        dZ = sigmoid_backward(dA, activation_cache)
    dA_prev, dW, db = linear_backward(dZ, linear_cache)
    ### END SOLUTION
    return dA_prev, dW, db


def L_model_backward(AL, Y, caches):
    """grads = {"dA{l-1}", "dW{l}", "db{l}" for l = L .. 1} of [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID."""
    grads = {}
    L = len(caches)
    Y = Y.reshape(AL.shape)
    ### BEGIN SOLUTION
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
    dA = dAL
    for l in reversed(range(1, L + 1)):
        activation = "sigmoid" if l == L else "relu"
        dA, grads["dW" + str(l)], grads["db" + str(l)] = linear_activation_backward(dA, caches[l - 1], activation)
        grads["dA" + str(l - 1)] = dA
    ### END SOLUTION
    return grads


# %% toynet={"points": 2, "question": "linear_backward"}
import numpy as np

from toynet.grading.checks import expect_array, expect_tuple

np.random.seed(1)  # the course's test case
dZ = np.random.randn(3, 4)
cache = (np.random.randn(5, 4), np.random.randn(3, 5), np.random.randn(3, 1))
answer = linear_backward(dZ, cache)
expect_tuple(answer, 3, "linear_backward(dZ, cache)")
dA_prev, dW, db = answer
print("db:", db.ravel())
expect_array(db, [[-0.14713786], [-0.11313155], [-0.13209101]], "db", atol=1e-8)
expect_array(dW[0], [0.07313866, -0.0976715, -0.87585828, 0.73763362, 0.00785716], "dW[0]", atol=1e-8)
expect_array(dA_prev[:, 0], [-1.15171336, 0.60345879, -0.4319552, -0.38981415, -2.52214926], "dA_prev[:, 0]",
             atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(13)
for n_in, n_out, m in ((2, 3, 1), (4, 1, 7)):
    dZ, A_prev, W, b = rng.randn(n_out, m), rng.randn(n_in, m), rng.randn(n_out, n_in), rng.randn(n_out, 1)
    dA_prev, dW, db = linear_backward(dZ, (A_prev, W, b))
    expect_array(dW, np.einsum("im,jm->ij", dZ, A_prev) / m, "dW")
    expect_array(db, dZ.sum(axis=1).reshape(n_out, 1) / m, "db")
    expect_array(dA_prev, np.einsum("ij,im->jm", W, dZ), "dA_prev")
### END HIDDEN TESTS

# %% toynet={"points": 2, "question": "linear_activation_backward"}
import numpy as np

from toynet.grading.checks import expect_array, expect_tuple

np.random.seed(2)  # the course's test case
dA = np.random.randn(1, 2)
cache = ((np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1)), np.random.randn(1, 2))
answer = linear_activation_backward(dA, cache, "sigmoid")
expect_tuple(answer, 3, "linear_activation_backward(...)")
print("With sigmoid: dW =", answer[1])
expect_array(answer[1], [[0.10266786, 0.09778551, -0.01968084]], "dW (sigmoid)", atol=1e-8)
expect_array(answer[2], [[-0.05729622]], "db (sigmoid)", atol=1e-8)
dA_prev, dW, db = linear_activation_backward(dA, cache, "relu")
expect_array(dW, [[0.44513824, 0.37371418, -0.10478989]], "dW (relu)", atol=1e-8)
expect_array(dA_prev, [[0.44090989, 0.0], [0.37883606, 0.0], [-0.2298228, 0.0]], "dA_prev (relu)", atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(14)
A_prev, W, b = rng.randn(3, 5), rng.randn(2, 3), rng.randn(2, 1)
Z, dA = W @ A_prev + b, rng.randn(2, 5)
s = 1 / (1 + np.exp(-Z))
for activation, dZ in (("sigmoid", dA * s * (1 - s)), ("relu", dA * (Z > 0))):
    dA_prev, dW, db = linear_activation_backward(dA, ((A_prev, W, b), Z), activation)
    expect_array(dW, np.einsum("im,jm->ij", dZ, A_prev) / 5, f"dW ({activation})")
    expect_array(db, dZ.mean(axis=1, keepdims=True), f"db ({activation})")
    expect_array(dA_prev, W.T @ dZ, f"dA_prev ({activation})")
### END HIDDEN TESTS

# %% toynet={"points": 3, "question": "L_model_backward"}
import numpy as np

from toynet.grading.checks import expect_array

np.random.seed(3)  # the course's test case (AL is a stand-in drawn with randn, as in the course)
AL, Y = np.random.randn(1, 2), np.array([[1, 0]])
A1, W1, b1, Z1 = np.random.randn(4, 2), np.random.randn(3, 4), np.random.randn(3, 1), np.random.randn(3, 2)
A2, W2, b2, Z2 = np.random.randn(3, 2), np.random.randn(1, 3), np.random.randn(1, 1), np.random.randn(1, 2)
grads = L_model_backward(AL, Y, (((A1, W1, b1), Z1), ((A2, W2, b2), Z2)))
print("dA0 =", grads["dA0"])
assert sorted(grads) == ["dA0", "dA1", "dW1", "dW2", "db1", "db2"], f"keys: {sorted(grads)}"
expect_array(grads["dA0"][:, 1], [0.52257901, -0.3269206, -0.32070404, -0.74079187], "dA0[:, 1]", atol=1e-8)
expect_array(grads["dW2"], [[-0.39202432, -0.13325855, -0.04601089]], "dW2", atol=1e-8)
expect_array(grads["db1"], [[-0.22007063], [0.0], [-0.02835349]], "db1", atol=1e-8)

# Your pair on a random 4-layer network: toynet's per-block gradient check names the block that is wrong.
from toynet.student_check import check_pair

print(check_pair(L_model_forward, L_model_backward, [5, 4, 3, 2, 1], ("L_model_forward", "L_model_backward")))
### BEGIN HIDDEN TESTS
# A real network this time: every gradient against central differences of the cost (tanh-free, ReLU kinks avoided)
rng = np.random.RandomState(15)
dims, m = [3, 4, 1], 5
X, Y = rng.randn(3, m), (rng.rand(1, m) > 0.5).astype(float)
P = {"W1": rng.randn(4, 3), "b1": rng.randn(4, 1), "W2": rng.randn(1, 4), "b2": rng.randn(1, 1)}


def cost_at(P):
    H = np.maximum(0, P["W1"] @ X + P["b1"])
    A = 1 / (1 + np.exp(-(P["W2"] @ H + P["b2"])))
    return -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))


Z1 = P["W1"] @ X + P["b1"]
assert np.min(np.abs(Z1)) > 1e-3
H = np.maximum(0, Z1)
Z2 = P["W2"] @ H + P["b2"]
caches = [((X, P["W1"], P["b1"]), Z1), ((H, P["W2"], P["b2"]), Z2)]
grads = L_model_backward(1 / (1 + np.exp(-Z2)), Y, caches)
for name in P:
    numeric = np.zeros_like(P[name])
    for index in np.ndindex(P[name].shape):
        plus, minus = {k: v.copy() for k, v in P.items()}, {k: v.copy() for k, v in P.items()}
        plus[name][index] += 1e-6
        minus[name][index] -= 1e-6
        numeric[index] = (cost_at(plus) - cost_at(minus)) / 2e-6
    expect_array(grads["d" + name], numeric, "d" + name, rtol=1e-5, atol=1e-8)
assert "dA0" in grads and grads["dA0"].shape == X.shape, "grads needs dA0, the gradient with respect to X (times m)"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Update
#
# `update_parameters(params, grads, learning_rate)`: `W_l - learning_rate * dW_l` and `b_l - learning_rate * db_l`
# for every layer, in a new dict (leave `params` as it was).

# %%
def update_parameters(params, grads, learning_rate):
    """One gradient-descent step for every W_l and b_l; returns a new dict."""
    parameters = dict(params)
    L = len(parameters) // 2
    ### BEGIN SOLUTION
    for l in range(1, L + 1):
        parameters["W" + str(l)] = params["W" + str(l)] - learning_rate * grads["dW" + str(l)]
        parameters["b" + str(l)] = params["b" + str(l)] - learning_rate * grads["db" + str(l)]
    ### END SOLUTION
    return parameters


# %% toynet={"points": 1, "question": "update_parameters"}
import numpy as np

from toynet.grading.checks import expect_array

np.random.seed(2)  # the course's test case
params = {"W1": np.random.randn(3, 4), "b1": np.random.randn(3, 1), "W2": np.random.randn(1, 3),
          "b2": np.random.randn(1, 1)}
np.random.seed(3)
grads = {"dW1": np.random.randn(3, 4), "db1": np.random.randn(3, 1), "dW2": np.random.randn(1, 3),
         "db2": np.random.randn(1, 1)}
updated = update_parameters(params, grads, 0.1)
print("W2 =", updated["W2"])
expect_array(updated["W2"], [[-0.55569196, 0.0354055, 1.32964895]], "W2", atol=1e-8)
expect_array(updated["b1"], [[-0.04659241], [-1.28888275], [0.53405496]], "b1", atol=1e-8)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(16)
params = {"W1": rng.randn(2, 2), "b1": rng.randn(2, 1), "W2": rng.randn(2, 2), "b2": rng.randn(2, 1),
          "W3": rng.randn(1, 2), "b3": rng.randn(1, 1)}
before = {k: v.copy() for k, v in params.items()}
grads = {"d" + k: rng.randn(*v.shape) for k, v in params.items()}
updated = update_parameters(params, grads, 0.5)
for name in before:
    expect_array(updated[name], before[name] - 0.5 * grads["d" + name], name)
    expect_array(params[name], before[name], f"params[{name!r}] (must not change)")
### END HIDDEN TESTS
