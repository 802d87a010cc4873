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
# # 2. Gradient checking a network
#
# The course's network, figure 2: LINEAR $\to$ RELU $\to$ LINEAR $\to$ RELU $\to$ LINEAR $\to$ SIGMOID,
# with the logistic cost. Its backward pass, as handed out, hides **two bugs**. Find them with a gradient
# check, first the course's way (one number), then toynet's way (which block is wrong).
#
# ![Figure 2: the N-D network, forward and backward](../assets/gradient_check_nd.png)

# %% toynet={"graded": false}
import numpy as np

from toynet import dictionary_to_vector, gradcheck, plots, vector_to_dictionary
from toynet.exercises import gradient_checking as course

# %% toynet={"graded": false}
X, Y, parameters = course.gradient_check_n_test_case()
cost, cache = course.forward_propagation_n(X, Y, parameters)
print("X", X.shape, " Y", np.shape(Y), {name: value.shape for name, value in parameters.items()})
print("cost =", cost)
assert np.isclose(cost, 2.407833389834357, rtol=1e-13, atol=0)

# %% [markdown]
# ## Every parameter in one vector
#
# Formula (1) nudges one number at a time, so first lay every parameter into one column vector $\theta$,
# layer by layer, $W$ before $b$, each matrix row by row. `dictionary_to_vector` does it;
# `vector_to_dictionary` undoes it.
#
# ![dictionary_to_vector](../assets/dictionary_to_vector.png)

# %% toynet={"graded": false}
theta, keys = dictionary_to_vector(parameters)
print(theta.shape, keys[:3], "...", keys[-4:])
assert theta.shape == (47, 1)
assert [keys.count(name) for name in ("W1", "b1", "W2", "b2", "W3", "b3")] == [20, 5, 15, 3, 3, 1]
back = vector_to_dictionary(theta, parameters)
assert all(np.array_equal(back[name], parameters[name]) for name in parameters)

# %% [markdown]
# ## The course's check: formula (1) for every entry, then formula (3)
#
# For each $i$: $\theta^{+} = \theta$ with $\theta_i + \varepsilon$, $\theta^{-}$ likewise with
# $-\varepsilon$, and $\text{gradapprox}_i = \dfrac{J(\theta^{+}) - J(\theta^{-})}{2\varepsilon}$. Then compare
# the whole vectors:
#
# $$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}{\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2} \tag{3}$$

# %% toynet={"graded": false}
gradients = course.backward_propagation_n(X, Y, cache)  # as handed out: two planted bugs
difference = course.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
# The course printed 0.2850931567761623(4), and toynet, computing the cost in the course's order, gives the
# same float. But J+ - J- is about 1e-7 * gradient, so a rounding error of 1e-16 in the cost moves the
# quotient by about 1e-9: only the first 9 digits are the method's, the rest are how the cost rounds.
assert abs(difference - 0.2850931567761623) < 1e-9


# %% [markdown]
# $0.285$ says *something* is wrong, not *what*. You would now reread all eleven lines of backward.
#
# ## Which block is wrong?
#
# toynet's checker computes the same numbers, then applies formula (2) to each block ($W1$, $b1$, ...)
# separately and lists the entries that disagree most.

# %% toynet={"graded": false}
def cost_fn(params):
    return course.forward_propagation_n(X, Y, params)[0]

buggy = gradcheck.gradient_check_n(cost_fn, parameters, gradients, epsilon=1e-7)
buggy

# %% toynet={"graded": false}
print(buggy.summary())
assert abs(buggy.difference - 0.2850931567761623) < 1e-9
assert set(buggy.failing_blocks) == {"W2", "b1"}

# %% [markdown]
# The ratio of the two gradients inside a failing block tells you *how* it is wrong: a constant ratio
# means a wrong factor.

# %% toynet={"graded": false}
layout = {name: np.array(keys) == name for name in ("W2", "b1")}
for name, mask in layout.items():
    analytic = buggy.analytical_gradient[mask]
    numeric = buggy.numerical_gradient[mask]
    used = np.abs(numeric) > 1e-6  # entries with a real gradient (ReLU zeroes some)
    ratio = analytic[used] / numeric[used]
    print(f"d{name}: analytic / numeric = {np.round(ratio, 4)}")
    assert np.allclose(ratio, {"W2": 2.0, "b1": 4.0}[name], rtol=1e-4)

# %% [markdown]
# `dW2` is twice too large and `db1` four times. In the handed-out backward the culprits are
# `dW2 = 1./m * np.dot(dZ2, A1.T) * 2` and `db1 = 4./m * np.sum(dZ1, ...)`. Each bug alone:

# %% toynet={"graded": false}
fixed = course.backward_propagation_n_fixed(X, Y, cache)
only_dW2 = dict(fixed, dW2=2 * fixed["dW2"])
only_db1 = dict(fixed, db1=4 * fixed["db1"])
for label, grads, expected in (("only the dW2 bug", only_dW2, 0.17344196893145924),
                               ("only the db1 bug", only_db1, 0.2544229712458523)):
    d = course.gradient_check_n(parameters, grads, X, Y)
    print(f"{label}: difference {d}")
    assert abs(d - expected) < 1e-9

# %% [markdown]
# ## The fix
#
# With both lines corrected the check passes. At the course's $\varepsilon = 10^{-7}$ the difference is
# about $1.2 \times 10^{-7}$, just above the first course version's $10^{-7}$ threshold. That is round-off
# (notebook 1), not a bug, which is why the course later moved the threshold to $2 \times 10^{-7}$. toynet's
# network check steps by $2 \times 10^{-5}$ times the size of the parameters (root mean square, at least 1),
# here $2 \times 10^{-5}$; with it the same backward scores below $10^{-9}$.

# %% toynet={"graded": false}
difference_fixed = course.gradient_check_n(parameters, fixed, X, Y, print_msg=True)
assert 1e-8 < difference_fixed < 2e-7

good = gradcheck.gradient_check_n(cost_fn, parameters, fixed, epsilon=1e-7)
assert good.passed and good.failing_blocks == []
default = gradcheck.gradient_check_n(cost_fn, parameters, fixed)  # toynet's default step
print(f"default step {default.epsilon:.0e}: difference {default.difference:.1e}")
assert default.passed and default.difference < 5e-9

# %% [markdown]
# ## Before and after, block by block

# %% toynet={"graded": false}
ax = plots.plot_block_differences([("buggy backward", buggy), ("fixed backward", good)])

# %% [markdown]
# **Take-away.** The course's single number tells you *whether* backward is wrong; the same numbers split
# by block tell you *where*, and the ratio inside the block tells you *what*.

# %% [markdown]
# ## Your turn
#
# Fill in each function where it says `# YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line
# with your code), then run the check cell below it: it checks *your* code with toynet and says what is wrong
# and where to look. These cells are the graded assignment too (the autograder adds hidden checks on other
# inputs); do not rename the functions.
#
# The course's network, in plain numpy, as the course hands it out (run this cell; change nothing):
# `forward_propagation_n(X, Y, parameters)` returns the cost and the cache, `backward_propagation_n` has the two
# planted bugs.

# %%
import numpy as np

from toynet.params import dictionary_to_vector, gradients_to_vector, vector_to_dictionary


def relu(Z):
    return np.maximum(0, Z)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def forward_propagation_n(X, Y, parameters):
    """The cost of the 3-layer network and the cache (Z1, A1, W1, b1, ..., Z3, A3, W3, b3)."""
    m = X.shape[1]
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    logprobs = np.multiply(-np.log(A3), Y) + np.multiply(-np.log(1 - A3), 1 - Y)
    cost = 1.0 / m * np.sum(logprobs)
    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return cost, cache


def backward_propagation_n(X, Y, cache):
    """The course's backward pass, as handed out (two planted bugs)."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) * 2
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    db1 = 4.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


# %% [markdown]
# ### Exercise 1: the course's check, `gradient_check_n`
# Perturb one parameter at a time: `dictionary_to_vector(parameters)` gives $\theta$ (and its keys),
# `vector_to_dictionary(theta, parameters)` turns a perturbed $\theta$ back into a dict for
# `forward_propagation_n`, and `gradients_to_vector(gradients)` lays the gradients out in the same order.
# Return formula (3)'s difference as a float.

# %%
def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, print_msg=False):
    """Formula 2 between `gradients` and the centred difference of forward_propagation_n's cost, one parameter at a time."""
    ### BEGIN SOLUTION
    parameters_values, _ = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients)
    num_parameters = parameters_values.shape[0]
    gradapprox = np.zeros((num_parameters, 1))
    for i in range(num_parameters):
        thetaplus = np.copy(parameters_values)
        thetaplus[i][0] = thetaplus[i][0] + epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaplus, parameters))
        thetaminus = np.copy(parameters_values)
        thetaminus[i][0] = thetaminus[i][0] - epsilon
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(thetaminus, parameters))
        gradapprox[i] = (J_plus - J_minus) / (2.0 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = float(numerator / denominator)
    ### END SOLUTION
    if print_msg:
        if difference > 2e-7:
            print("There is a mistake in the backward propagation! difference = " + str(difference))
        else:
            print("Your backward propagation works perfectly fine! difference = " + str(difference))
    return difference


# %% toynet={"points": 4, "question": "gradient_check_n"}
import numpy as np

from toynet.grading.checks import expect_number
from toynet.network import Network

# The course's test case, built here so the check does not depend on your copy of the given code.
rng = np.random.RandomState(1)
X = rng.randn(4, 3)
parameters = {}
for name, shape in [("W1", (5, 4)), ("b1", (5, 1)), ("W2", (3, 5)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1))]:
    parameters[name] = rng.randn(*shape)
Y = np.array([[1, 1, 0]])
_, caches = Network([4, 5, 3, 1]).forward(X, Y, parameters)
correct = Network([4, 5, 3, 1]).backward(caches)
# the backward as handed out: dW2 doubled, db1 with 4/m. A wrong value? Look at which entry you perturb
# (thetaplus[i][0]), at the 2 * epsilon, and at formula (3)'s denominator.
buggy = dict(correct, dW2=2 * correct["dW2"], db1=4 * correct["db1"])
difference = gradient_check_n(parameters, buggy, X, Y, print_msg=True)
expect_number(difference, 0.2850931567761623, "difference", rtol=1e-6)
### BEGIN HIDDEN TESTS
only_dW2 = dict(correct, dW2=2 * correct["dW2"])
expect_number(gradient_check_n(parameters, only_dW2, X, Y), 0.17344196893145924, "difference", rtol=1e-6)
only_db1 = dict(correct, db1=4 * correct["db1"])
expect_number(gradient_check_n(parameters, only_db1, X, Y), 0.2544229712458523, "difference", rtol=1e-6)
fine = gradient_check_n(parameters, correct, X, Y)
expect_number(fine, 1.19e-7, "difference", rtol=0.2)
assert gradient_check_n(parameters, correct, X, Y, epsilon=1e-5) < 1e-8, "with epsilon = 1e-5 the difference should be about 1e-9"
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: fix the backward
# Write `backward_propagation_n_fixed(X, Y, cache)`: the handed-out backward with its two bugs corrected. The
# check runs toynet's per-block gradient check on *your* function (with the course's forward above) and names
# the block that is still wrong.

# %%
def backward_propagation_n_fixed(X, Y, cache):
    """The course's backward pass, corrected: dJ/dW1 .. dJ/db3 (and the dZ, dA) of forward_propagation_n's cost."""
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T)
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    ### BEGIN SOLUTION
    dW2 = 1.0 / m * np.dot(dZ2, A1.T)
    ### END SOLUTION
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T)
    ### BEGIN SOLUTION
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    ### END SOLUTION
    return {"dZ3": dZ3, "dW3": dW3, "db3": db3, "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


# %% toynet={"points": 2, "question": "backward_propagation_n_fixed"}
from toynet.student_check import check_pair

# A random 4-5-3-1 network, 8 examples; the numerical gradient is of forward_propagation_n's cost.
print(check_pair(forward_propagation_n, backward_propagation_n_fixed, [4, 5, 3, 1],
                 ("forward_propagation_n", "backward_propagation_n_fixed"), forward_gives="cost", backward_takes="X"))
### BEGIN HIDDEN TESTS
print(check_pair(forward_propagation_n, backward_propagation_n_fixed, [3, 6, 2, 1],
                 ("forward_propagation_n", "backward_propagation_n_fixed"), forward_gives="cost", backward_takes="X",
                 seed=7, examples=5))
### END HIDDEN TESTS
