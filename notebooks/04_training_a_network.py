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
# # 4. Training a network
#
# Gradient descent repeats $\theta \leftarrow \theta - \alpha \, \nabla_\theta J$, so a wrong gradient makes
# training fail, often quietly. The habit: **check the gradient once, before training**, then train.

# %% toynet={"graded": false}
import numpy as np

from toynet import Network, datasets, gradcheck, plots

X, Y = datasets.moons(m=200, noise=0.15, seed=0)
print("X", X.shape, " Y", Y.shape, " class balance", Y.mean())
assert X.shape == (2, 200) and Y.shape == (1, 200)

# %% [markdown]
# ## A gradient check before training
#
# A 2-8-1 network with tanh hidden units, checked on the whole batch at its random starting point.

# %% toynet={"graded": false}
network = Network([2, 8, 1], hidden="tanh")
parameters = network.initialize_parameters(seed=1, method="xavier")
cost, caches = network.forward(X, Y, parameters)
grads = network.backward(caches)
report = gradcheck.gradient_check_n(network.cost_function(X, Y), parameters, grads)
print(report.summary())
assert report.passed and report.difference < 1e-7

# %% [markdown]
# ## Train and watch the cost

# %% toynet={"graded": false}
trained, costs = network.train(X, Y, parameters, learning_rate=1.0, num_iterations=1500, progress=False)
ax = plots.plot_cost_history(costs)
accuracy = network.accuracy(X, Y, trained)
print(f"cost {costs[0]:.3f} -> {costs[-1]:.3f}, training accuracy {accuracy:.1%}")
assert costs[-1] < costs[0] / 5
assert accuracy > 0.95

# %% toynet={"graded": false}
ax = plots.plot_decision_boundary(network, trained, X, Y)

# %% [markdown]
# ## Depth and initialisation
#
# Deeper ReLU networks need the right scale of random weights. With the course's first choice, weights
# $\times 0.01$, the signal shrinks layer after layer, the gradients of the first layers all but vanish, and
# the cost stays near $\log 2 \approx 0.693$ (a coin flip). He initialisation, $\sqrt{2 / n_{in}}$, keeps the
# signal's size through the layers.

# %% toynet={"graded": false}
deep = Network([2, 10, 10, 10, 1], hidden="relu")
histories = {}
for method in ("small", "he"):
    start = deep.initialize_parameters(seed=3, method=method)
    _, caches = deep.forward(X, Y, start)
    first_layer = np.linalg.norm(deep.backward(caches)["dW1"])
    params, costs = deep.train(X, Y, start, learning_rate=0.5, num_iterations=1500, progress=False)
    histories[method] = costs
    print(f"{method:5s}  |dW1| at start {first_layer:.1e}   cost {costs[0]:.3f} -> {costs[-1]:.3f}  "
          f"accuracy {deep.accuracy(X, Y, params):.1%}")

assert abs(histories["small"][-1] - np.log(2)) < 0.01  # stuck at a coin flip
assert histories["he"][-1] < 0.2

# %% toynet={"graded": false}
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.4, 4.4))
for method, costs in histories.items():
    plots.plot_cost_history(costs, ax=ax, label=f"init {method!r}")
ax.axhline(np.log(2), color="gray", ls=":", label="log 2: a coin flip")
ax.set_title("Deep ReLU network (2-10-10-10-1): initialisation")
ax.legend()

# %% [markdown]
# **Take-away.** Check first, then train. When training stalls and the gradient check passes, suspect the
# set-up (initialisation, learning rate, depth), not the backward pass.

# %% [markdown]
# ## Your turn: the 2-8-1 tanh network by hand
#
# The network above, written by you: `forward_propagation(X, parameters)` and `backward_propagation(X, Y,
# cache)` for LINEAR $\to$ TANH $\to$ LINEAR $\to$ SIGMOID with the logistic cost. Fill in each
# `# YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line), then run the check under it: it
# gradient-checks *your* code with toynet and names the block that is wrong. These cells are the graded
# assignment too (hidden checks run other sizes); keep the names.
#
# ### Exercise 1: forward
# $Z^{[1]} = W^{[1]} X + b^{[1]}$, $A^{[1]} = \tanh(Z^{[1]})$, $Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]}$,
# $A^{[2]} = \sigma(Z^{[2]})$. Return `A2` and the cache `(Z1, A1, W1, b1, Z2, A2, W2, b2)`.

# %%
import numpy as np


def forward_propagation(X, parameters):
    """A2 (1, m) and the cache (Z1, A1, W1, b1, Z2, A2, W2, b2) of LINEAR -> TANH -> LINEAR -> SIGMOID."""
    W1, b1, W2, b2 = parameters["W1"], parameters["b1"], parameters["W2"], parameters["b2"]
    ### BEGIN SOLUTION
    Z1 = W1 @ X + b1
    A1 = np.tanh(Z1)
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    ### END SOLUTION
    return A2, (Z1, A1, W1, b1, Z2, A2, W2, b2)


# %% toynet={"points": 1, "question": "forward_propagation"}
import numpy as np

from toynet import Network
from toynet.grading.checks import expect_array

# toynet's own 2-3-1 tanh network computes the reference A2 (its cost is the logistic cost of A2).
reference = Network([2, 3, 1], hidden="tanh")
parameters = reference.initialize_parameters(seed=0, method="xavier")
X = np.array([[0.5, -1.0, 2.0, 0.1], [1.5, 0.3, -0.7, -2.0]])
A2, cache = forward_propagation(X, parameters)
expected = reference.predict_proba(X, parameters)
print("A2 =", A2)
expect_array(A2, expected, "A2 (look at tanh on the hidden layer, the sigmoid on the output, W @ A + b)",
             rtol=1e-10)
### BEGIN HIDDEN TESTS
reference = Network([3, 5, 1], hidden="tanh")
parameters = reference.initialize_parameters(seed=4, method="xavier")
X = np.random.RandomState(9).randn(3, 7)
expect_array(forward_propagation(X, parameters)[0], reference.predict_proba(X, parameters), "A2", rtol=1e-10)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: backward
# With the logistic cost, $dZ^{[2]} = A^{[2]} - Y$; then $dW^{[2]} = \frac{1}{m} dZ^{[2]} A^{[1]T}$,
# $db^{[2]} = \frac{1}{m} \sum dZ^{[2]}$, $dZ^{[1]} = W^{[2]T} dZ^{[2]} \odot (1 - A^{[1]2})$ (the derivative
# of tanh), $dW^{[1]} = \frac{1}{m} dZ^{[1]} X^T$, $db^{[1]} = \frac{1}{m} \sum dZ^{[1]}$.
# Return the dict `{"dW1", "db1", "dW2", "db2"}`.

# %%
def backward_propagation(X, Y, cache):
    """dW1, db1, dW2, db2 of the logistic cost of forward_propagation's network."""
    Z1, A1, W1, b1, Z2, A2, W2, b2 = cache
    m = X.shape[1]
    ### BEGIN SOLUTION
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (1 - A1**2)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    ### END SOLUTION
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


# %% toynet={"points": 2, "question": "backward_propagation"}
from toynet.student_check import check_pair

# A random 2-8-1 network, 8 examples: your backward against the numerical gradient of your forward's cost
# (so do exercise 1 first).
print(check_pair(forward_propagation, backward_propagation, [2, 8, 1], ("forward_propagation", "backward_propagation"),
                 backward_takes="X"))
### BEGIN HIDDEN TESTS
print(check_pair(forward_propagation, backward_propagation, [5, 3, 1], ("forward_propagation", "backward_propagation"),
                 backward_takes="X", seed=11, examples=6))
### END HIDDEN TESTS
