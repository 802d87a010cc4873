# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Initialization, regularization and dropout
#
# The course's "Initialization" and "Regularization" assignments on toynet
# (`toynet.exercises.initialization`, `toynet.exercises.regularization`), then the same ideas in toynet's
# own `Network`, and why a gradient check must hold dropout still.

# %%
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

# %%
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

# %%
he = init.train(train_X, train_Y, initialization="he")
assert abs(he.costs[0] - 0.8830537463419761) < 1e-12 and abs(he.costs[14000] - 0.07357895962677362) < 1e-9
network = Network([2, 10, 5, 1])  # the same architecture: toynet's plots draw any parameters of it
print(f"train accuracy {network.accuracy(train_X, train_Y, he.parameters):.4f}, "
      f"test accuracy {network.accuracy(test_X, test_Y, he.parameters):.2f}")
assert network.accuracy(test_X, test_Y, he.parameters) == 0.96

# %%
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

# %%
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

# %%
results["L2, lambda = 0.7"] = reg.model(field_X, field_Y, lambd=0.7)
print("train {:.3f}, test {:.3f}".format(*accuracies(results["L2, lambda = 0.7"])))

# %% [markdown]
# **Inverted dropout** shuts each hidden unit with probability $1 - p$ at every step and divides the
# survivors by $p$ (`keep_prob`), so no unit can rely on any other. Only in training: `predict` runs the
# plain forward.

# %%
results["dropout, keep_prob = 0.86"] = reg.model(field_X, field_Y, keep_prob=0.86)
print("train {:.3f}, test {:.3f}".format(*accuracies(results["dropout, keep_prob = 0.86"])))

# %%
fig, axes = plt.subplots(1, 3, figsize=(18, 5))
for ax, (name, parameters) in zip(axes, results.items(), strict=True):
    plots.plot_decision_boundary(field_network, parameters, field_X, field_Y, ax=ax)
    train_accuracy, test_accuracy = accuracies(parameters)
    ax.set_title(f"{name}: train {train_accuracy:.1%}, test {test_accuracy:.1%}")

# %%
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

# %%
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

# %%
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

# %%
# Forgetting "/ keep_prob" on dA1 leaves dZ1, and so dW1 and db1, keep_prob times too small; the rest is right.
buggy = {**grads, "dW1": grads["dW1"] * 0.7, "db1": grads["db1"] * 0.7}
located = gradcheck.gradient_check_n(small.cost_function(X5, Y5, keep_prob=0.7, masks=masks), theta, buggy)
print(located.summary())
assert located.failing_blocks == ["W1", "b1"]

# %% [markdown]
# **Take-aways.** Random weights break symmetry, and their scale matters (He for ReLU). L2 and dropout trade
# a little training accuracy for a better fit to new points. Gradient-check with dropout switched off, or
# with its masks held fixed.
