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
# # 3. Layers from scratch, each one checked
#
# A network is a chain of small layers. Each has a **forward** that returns its output and a **cache**
# (what backward will need), and a **backward** that takes the upstream gradient `dout` and the cache.
# Check each layer alone, the cs231n way: pick a random upstream gradient `dout`, and compare backward
# with the numerical gradient of $\sum (\text{forward}(x) \odot \text{dout})$:
#
# $$\frac{\partial}{\partial x_i} \sum_j f_j(x)\,\text{dout}_j \approx \sum_j \frac{f_j(x + \varepsilon e_i) - f_j(x - \varepsilon e_i)}{2\varepsilon}\,\text{dout}_j$$
#
# `gradcheck.numerical_gradient_array(f, x, dout)` computes the right-hand side. Examples are columns:
# `A` is `(n, m)` for `n` units and `m` examples.

# %% toynet={"graded": false}
import numpy as np

from toynet import Linear, LogisticCost, ReLU, Sigmoid, gradcheck

rng = np.random.default_rng(0)

# %% [markdown]
# ## Linear: $Z = W A_{prev} + b$
#
# Backward: $dW = dZ\, A_{prev}^T$, $\; db = \sum_{\text{examples}} dZ$, $\; dA_{prev} = W^T dZ$.

# %% toynet={"graded": false}
A_prev = rng.standard_normal((4, 3))   # 4 inputs, 3 examples
W = rng.standard_normal((5, 4))        # 5 units
b = rng.standard_normal((5, 1))
Z, cache = Linear.forward(A_prev, W, b)
print("Z", Z.shape, "  cache holds", [a.shape for a in cache])
assert Z.shape == (5, 3)

dZ = rng.standard_normal(Z.shape)      # a random upstream gradient
dA_prev, dW, db = Linear.backward(dZ, cache)

num_dA = gradcheck.numerical_gradient_array(lambda a: Linear.forward(a, W, b)[0], A_prev, dZ)
num_dW = gradcheck.numerical_gradient_array(lambda w: Linear.forward(A_prev, w, b)[0], W, dZ)
num_db = gradcheck.numerical_gradient_array(lambda v: Linear.forward(A_prev, W, v)[0], b, dZ)
for name, analytic, numeric in (("dA_prev", dA_prev, num_dA), ("dW", dW, num_dW), ("db", db, num_db)):
    error = gradcheck.rel_error(analytic, numeric)
    print(f"{name:8s} rel_error {error:.1e}")
    assert error < 1e-7

# %% [markdown]
# ## ReLU: $A = \max(0, Z)$
#
# Backward passes the gradient where $Z > 0$ and blocks it elsewhere: $dZ = dA \odot [Z > 0]$. At $Z = 0$
# the function has a kink and no derivative; keep test inputs away from it (notebook 5 shows what happens
# otherwise).

# %% toynet={"graded": false}
Z = rng.standard_normal((5, 3))
Z[np.abs(Z) < 0.1] = 0.5               # stay away from the kink at 0
A, cache = ReLU.forward(Z)
dA = rng.standard_normal(A.shape)
dZ = ReLU.backward(dA, cache)
num_dZ = gradcheck.numerical_gradient_array(lambda z: ReLU.forward(z)[0], Z, dA)
print("ReLU rel_error", gradcheck.rel_error(dZ, num_dZ))
assert gradcheck.rel_error(dZ, num_dZ) < 1e-9
assert np.array_equal(dZ == 0, Z <= 0)  # the gradient is blocked exactly where the unit is off

# %% [markdown]
# ## Sigmoid: $A = \sigma(Z) = \dfrac{1}{1 + e^{-Z}}$
#
# Its derivative is written with its own output: $dZ = dA \odot A (1 - A)$, so the cache keeps $A$.

# %% toynet={"graded": false}
Z = rng.standard_normal((1, 3))
A, cache = Sigmoid.forward(Z)
dA = rng.standard_normal(A.shape)
dZ = Sigmoid.backward(dA, cache)
num_dZ = gradcheck.numerical_gradient_array(lambda z: Sigmoid.forward(z)[0], Z, dA)
print("Sigmoid rel_error", gradcheck.rel_error(dZ, num_dZ))
assert gradcheck.rel_error(dZ, num_dZ) < 1e-7
assert np.allclose(dZ, dA * A * (1 - A))

# %% [markdown]
# ## The logistic cost
#
# $$J = -\frac{1}{m} \sum_{i=1}^{m} \Big( y^{(i)} \log a^{(i)} + (1 - y^{(i)}) \log (1 - a^{(i)}) \Big)$$
#
# $J$ is a single number, so its check uses the scalar `numerical_gradient` (the upstream gradient is 1).

# %% toynet={"graded": false}
A = rng.uniform(0.05, 0.95, size=(1, 6))
Y = np.array([[1, 0, 1, 1, 0, 0]])
J, cache = LogisticCost.forward(A, Y)
dA = LogisticCost.backward(1.0, cache)
num_dA = gradcheck.numerical_gradient(lambda a: LogisticCost.forward(a, Y)[0], A)
print(f"J = {J:.6f}, rel_error {gradcheck.rel_error(dA, num_dA):.1e}")
assert gradcheck.rel_error(dA, num_dA) < 1e-7
assert np.isclose(J, -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))

# %% [markdown]
# ## Chained: LINEAR $\to$ SIGMOID $\to$ cost
#
# Backward runs the chain in reverse, each layer handing its input gradient to the layer before.

# %% toynet={"graded": false}
X = rng.standard_normal((4, 6))
W = rng.standard_normal((1, 4))
b = np.zeros((1, 1))

def cost_of(W):
    Z, _ = Linear.forward(X, W, b)
    A, _ = Sigmoid.forward(Z)
    return LogisticCost.forward(A, Y)[0]

Z, linear_cache = Linear.forward(X, W, b)
A, sigmoid_cache = Sigmoid.forward(Z)
J, cost_cache = LogisticCost.forward(A, Y)
dA = LogisticCost.backward(1.0, cost_cache)
dZ = Sigmoid.backward(dA, sigmoid_cache)
_, dW, _ = Linear.backward(dZ, linear_cache)
assert np.allclose(dZ, (A - Y) / Y.shape[1])  # sigmoid + logistic cost simplify to (A - Y) / m
error = gradcheck.rel_error(dW, gradcheck.numerical_gradient(cost_of, W))
print("chained dW rel_error", error)
assert error < 1e-7

# %% [markdown]
# **Take-away.** Check each layer alone with a random `dout` before you chain them: a bug then points at
# one layer, not at the whole network.

# %% [markdown]
# ## Your turn: the layers' backward passes
#
# Write each backward below where it says `# YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line
# with your code), then run the check cell under it: it compares *your* backward with toynet's numerical
# gradient, the way this notebook did, and names the output that is wrong and what to look at. These cells
# are the graded assignment too (hidden checks run on other shapes); keep the names. From here on the names
# `Linear`, `ReLU` and `Sigmoid` are yours, not toynet's.
#
# Conventions: examples are columns, `Z = W @ A_prev + b`, `W` is `(n_out, n_in)`, `b` is `(n_out, 1)`.
# Backward passes do not divide by `m`: the `1/m` of the mean cost enters once, in the cost's backward.
#
# ### Exercise 1: Linear
# `Linear.backward(dZ, cache)` with `cache = (A_prev, W, b)` returns `(dA_prev, dW, db)`.

# %%
import numpy as np


class Linear:
    @staticmethod
    def forward(A_prev, W, b):
        """Z = W A_prev + b: (n_out, m), and the cache (A_prev, W, b)."""
        return W @ A_prev + b, (A_prev, W, b)

    @staticmethod
    def backward(dZ, cache):
        """dA_prev = W^T dZ (n_in, m), dW = dZ A_prev^T (n_out, n_in), db = sum of dZ over examples (n_out, 1)."""
        A_prev, W, b = cache
        ### BEGIN SOLUTION
        dW = dZ @ A_prev.T
        db = np.sum(dZ, axis=1, keepdims=True)
        dA_prev = W.T @ dZ
        ### END SOLUTION
        return dA_prev, dW, db


# %% toynet={"points": 3, "question": "linear_backward"}
import numpy as np

from toynet import gradcheck
from toynet.grading.checks import expect_array, expect_tuple
from toynet.student_check import assert_matches

# toynet's numerical gradients of sum(Z * dZ), Z = W A_prev + b, one input at a time (as in this notebook)
rng = np.random.RandomState(0)
A_prev, W, b, dZ = rng.randn(4, 5), rng.randn(3, 4), rng.randn(3, 1), rng.randn(3, 5)
answer = Linear.backward(dZ, (A_prev, W, b))
expect_tuple(answer, 3, "Linear.backward(dZ, cache)")
dA_prev, dW, db = answer
print(assert_matches("dA_prev", dA_prev, gradcheck.numerical_gradient_array(lambda a: W @ a + b, A_prev, dZ),
                     "dA_prev = W.T @ dZ: W transposed, shape (n_in, m)"))
print(assert_matches("dW", dW, gradcheck.numerical_gradient_array(lambda w: w @ A_prev + b, W, dZ),
                     "dW = dZ @ A_prev.T: A_prev transposed, shape (n_out, n_in), no 1/m here"))
print(assert_matches("db", db, gradcheck.numerical_gradient_array(lambda v: W @ A_prev + v, b, dZ),
                     "db = np.sum(dZ, axis=1, keepdims=True): summed over the examples (axis 1), shape (n_out, 1)"))
### BEGIN HIDDEN TESTS
def check_linear(n_in, n_out, m, seed):
    rng = np.random.RandomState(seed)
    A_prev, W, b, dZ = rng.randn(n_in, m), rng.randn(n_out, n_in), rng.randn(n_out, 1), rng.randn(n_out, m)
    answer = Linear.backward(dZ, (A_prev, W, b))
    expect_tuple(answer, 3, "Linear.backward(dZ, cache)")
    dA_prev, dW, db = answer
    # independent formulas: sums over indices
    expect_array(dW, np.einsum("im,jm->ij", dZ, A_prev), "dW")
    expect_array(db, dZ.sum(axis=1).reshape(n_out, 1), "db")
    expect_array(dA_prev, np.einsum("ij,im->jm", W, dZ), "dA_prev")


check_linear(1, 1, 1, seed=1)
check_linear(6, 2, 1, seed=2)
check_linear(3, 7, 11, seed=3)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: ReLU and Sigmoid
# `ReLU.backward(dA, Z)` returns `dZ = dA * 1[Z > 0]` (the derivative at 0 is taken as 0).
# `Sigmoid.backward(dA, A)`, with the cached output `A = sigma(Z)`, returns `dZ = dA * A * (1 - A)`.

# %%
class ReLU:
    @staticmethod
    def forward(Z):
        """A = max(0, Z); the cache is Z."""
        return np.maximum(0, Z), Z

    @staticmethod
    def backward(dA, Z):
        """dZ = dA where Z > 0, else 0; shape of Z."""
        ### BEGIN SOLUTION
        dZ = np.where(Z > 0, dA, 0.0)
        ### END SOLUTION
        return dZ


class Sigmoid:
    @staticmethod
    def forward(Z):
        """A = 1 / (1 + exp(-Z)); the cache is A."""
        A = 1 / (1 + np.exp(-Z))
        return A, A

    @staticmethod
    def backward(dA, A):
        """dZ = dA * sigma'(Z) = dA * A * (1 - A); shape of A."""
        ### BEGIN SOLUTION
        dZ = dA * A * (1 - A)
        ### END SOLUTION
        return dZ


# %% toynet={"points": 1, "question": "relu_backward"}
import numpy as np

from toynet import gradcheck
from toynet.grading.checks import expect_array  # noqa: F811 - each check cell runs on its own in the grader
from toynet.student_check import assert_matches

rng = np.random.RandomState(1)
Z, dA = rng.randn(3, 4), rng.randn(3, 4)
Z[np.abs(Z) < 0.1] = 0.5  # away from the kink at 0, where the numerical gradient is meaningless
print(assert_matches("dZ of ReLU.backward", ReLU.backward(dA, Z),
                     gradcheck.numerical_gradient_array(lambda z: np.maximum(0, z), Z, dA),
                     "dZ = dA where Z > 0 and 0 elsewhere (a mask on dA, not on Z)"))
### BEGIN HIDDEN TESTS
Z = np.array([[1.0, -2.0, 0.0], [3.0, 0.5, -0.1]])
dA = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
expect_array(ReLU.backward(dA, Z), np.array([[10.0, 0.0, 0.0], [40.0, 50.0, 0.0]]), "dZ")
rng = np.random.RandomState(4)
Z, dA = rng.randn(5, 7), rng.randn(5, 7)
expect_array(ReLU.backward(dA, Z), np.array([[a if z > 0 else 0.0 for a, z in zip(ra, rz, strict=True)] for ra, rz in zip(dA, Z, strict=True)]), "dZ")
### END HIDDEN TESTS

# %% toynet={"points": 1, "question": "sigmoid_backward"}
import numpy as np

from toynet import gradcheck
from toynet.grading.checks import expect_array
from toynet.student_check import assert_matches

rng = np.random.RandomState(2)
Z, dA = rng.randn(2, 5), rng.randn(2, 5)
print(assert_matches("dZ of Sigmoid.backward", Sigmoid.backward(dA, 1 / (1 + np.exp(-Z))),
                     gradcheck.numerical_gradient_array(lambda z: 1 / (1 + np.exp(-z)), Z, dA),
                     "dZ = dA * A * (1 - A), with A the cached output sigma(Z), not Z"))
### BEGIN HIDDEN TESTS
A = np.array([[0.5, 0.5], [0.5, 0.5]])  # sigma(0): the slope there is 1/4
expect_array(Sigmoid.backward(np.array([[4.0, 8.0], [-4.0, 1.0]]), A), np.array([[1.0, 2.0], [-1.0, 0.25]]), "dZ")
rng = np.random.RandomState(5)
Z, dA = rng.randn(3, 4), rng.randn(3, 4)
h = 1e-6
slope = (1 / (1 + np.exp(-(Z + h))) - 1 / (1 + np.exp(-(Z - h)))) / (2 * h)  # centred difference of sigma
expect_array(Sigmoid.backward(dA, 1 / (1 + np.exp(-Z))), dA * slope, "dZ", rtol=1e-6, atol=1e-9)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: the logistic cost and its backward
# `logistic_cost(A, Y)` returns the float $J = -\frac{1}{m} \sum (Y \log A + (1 - Y) \log(1 - A))$;
# `logistic_cost_backward(A, Y)` returns $dJ/dA$, shape `(1, m)`.

# %%
def logistic_cost(A, Y):
    """J = -(1/m) sum(Y log A + (1 - Y) log(1 - A)) as a float; A, Y: (1, m)."""
    ### BEGIN SOLUTION
    m = A.shape[1]
    cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m
    ### END SOLUTION
    return float(cost)


def logistic_cost_backward(A, Y):
    """dJ/dA = -(1/m) (Y / A - (1 - Y) / (1 - A)), shape (1, m)."""
    ### BEGIN SOLUTION
    m = A.shape[1]
    dA = -(Y / A - (1 - Y) / (1 - A)) / m
    ### END SOLUTION
    return dA


# %% toynet={"points": 1, "question": "logistic_cost"}
import math

import numpy as np

from toynet.grading.checks import expect_number

A, Y = np.array([[0.8, 0.9, 0.4]]), np.array([[1.0, 1.0, 0.0]])
# -(log 0.8 + log 0.9 + log 0.6) / 3. Off? Look at the minus sign, the 1/m, and which of A, 1 - A each label uses.
expect_number(logistic_cost(A, Y), -(math.log(0.8) + math.log(0.9) + math.log(0.6)) / 3, "cost", rtol=1e-12)
### BEGIN HIDDEN TESTS
A, Y = np.array([[0.25, 0.5]]), np.array([[0.0, 1.0]])
expect_number(logistic_cost(A, Y), -(math.log(0.75) + math.log(0.5)) / 2, "cost", rtol=1e-12)
### END HIDDEN TESTS

# %% toynet={"points": 2, "question": "logistic_cost_backward"}
import numpy as np

from toynet import gradcheck
from toynet.grading.checks import expect_array
from toynet.student_check import assert_matches

A, Y = np.array([[0.8, 0.9, 0.4, 0.3]]), np.array([[1.0, 1.0, 0.0, 1.0]])
# toynet's numerical gradient of the cost itself (written here, independent of your logistic_cost)
numeric = gradcheck.numerical_gradient(lambda a: float(-np.mean(Y * np.log(a) + (1 - Y) * np.log(1 - a))), A)
print(assert_matches("dA of logistic_cost_backward", logistic_cost_backward(A, Y), numeric,
                     "dA = -(1/m) (Y / A - (1 - Y) / (1 - A)): the 1/m, and the sign of each term"))
### BEGIN HIDDEN TESTS
A, Y = np.array([[0.8, 0.9, 0.4]]), np.array([[1.0, 1.0, 0.0]])
expect_array(logistic_cost_backward(A, Y), np.array([[-1 / 0.8, -1 / 0.9, 1 / 0.6]]) / 3, "dA", rtol=1e-12)
rng = np.random.RandomState(6)
A, Y = rng.uniform(0.1, 0.9, (1, 6)), (rng.uniform(size=(1, 6)) > 0.5).astype(float)
def J(a):
    return float(-np.mean(Y * np.log(a) + (1 - Y) * np.log(1 - a)))
numeric = np.array([[(J(A + h) - J(A - h)) / 2e-6 for h in np.eye(6)[i:i + 1] * 1e-6] for i in range(6)]).reshape(1, 6)
expect_array(logistic_cost_backward(A, Y), numeric, "dA", rtol=1e-6, atol=1e-8)
### END HIDDEN TESTS
