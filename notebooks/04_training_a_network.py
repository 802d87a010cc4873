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
# # 4. Training a network
#
# Gradient descent repeats $\theta \leftarrow \theta - \alpha \, \nabla_\theta J$, so a wrong gradient makes
# training fail, often quietly. The habit: **check the gradient once, before training**, then train.

# %%
import numpy as np

from toynet import Network, datasets, gradcheck, plots

X, Y = datasets.moons(m=200, noise=0.15, seed=0)
print("X", X.shape, " Y", Y.shape, " class balance", Y.mean())
assert X.shape == (2, 200) and Y.shape == (1, 200)

# %% [markdown]
# ## A gradient check before training
#
# A 2-8-1 network with tanh hidden units, checked on the whole batch at its random starting point.

# %%
network = Network([2, 8, 1], hidden="tanh")
parameters = network.initialize_parameters(seed=1, method="xavier")
cost, caches = network.forward(X, Y, parameters)
grads = network.backward(caches)
report = gradcheck.gradient_check_n(network.cost_function(X, Y), parameters, grads)
print(report.summary())
assert report.passed and report.difference < 1e-7

# %% [markdown]
# ## Train and watch the cost

# %%
trained, costs = network.train(X, Y, parameters, learning_rate=1.0, num_iterations=1500, progress=False)
ax = plots.plot_cost_history(costs)
accuracy = network.accuracy(X, Y, trained)
print(f"cost {costs[0]:.3f} -> {costs[-1]:.3f}, training accuracy {accuracy:.1%}")
assert costs[-1] < costs[0] / 5
assert accuracy > 0.95

# %%
ax = plots.plot_decision_boundary(network, trained, X, Y)

# %% [markdown]
# ## Depth and initialisation
#
# Deeper ReLU networks need the right scale of random weights. With the course's first choice, weights
# $\times 0.01$, the signal shrinks layer after layer, the gradients of the first layers all but vanish, and
# the cost stays near $\log 2 \approx 0.693$ (a coin flip). He initialisation, $\sqrt{2 / n_{in}}$, keeps the
# signal's size through the layers.

# %%
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

# %%
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
