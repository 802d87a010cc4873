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
# # 6. A deep network, step by step
#
# The course's "Building your Deep Neural Network: Step by Step", run on toynet: every function has the
# course's name and signature (`toynet.exercises.step_by_step`), and gives the course's printed numbers.
#
# $[\text{LINEAR} \to \text{RELU}] \times (L-1) \to \text{LINEAR} \to \text{SIGMOID}$, with
# $Z^{[l]} = W^{[l]} A^{[l-1]} + b^{[l]}$, $A^{[l]} = g^{[l]}(Z^{[l]})$, examples in columns.
# Forward, each layer keeps a **cache** of what its backward will need; backward, each layer reads it.

# %%
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

# %%
parameters = initialize_parameters_deep([5, 4, 3])
print("W1 =", parameters["W1"][0])
print({name: value.shape for name, value in parameters.items()})
assert np.allclose(parameters["W1"][0], [0.01788628, 0.0043651, 0.00096497, -0.01863493, -0.00277388])

# %% [markdown]
# ## Forward: one layer, and its cache
#
# `linear_activation_forward` returns $A^{[l]}$ and `cache = ((A_prev, W, b), Z)`: the linear cache for
# $dW$, $db$, $dA^{[l-1]}$, and $Z$ for the activation's derivative $g'(Z)$.

# %%
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

# %%
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

# %%
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

# %%
cost = compute_cost(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]]))
print("Cost:", cost)
assert str(cost) == "0.2797765635793422"

# %% [markdown]
# ## Backward: one linear layer
#
# $dW^{[l]} = \frac{1}{m} dZ^{[l]} A^{[l-1]T}$, $db^{[l]} = \frac{1}{m} \sum_i dZ^{[l](i)}$,
# $dA^{[l-1]} = W^{[l]T} dZ^{[l]}$. The course puts the $\frac{1}{m}$ here; toynet's own `Linear.backward`
# leaves it to the cost's backward. Same gradients of $J$ in the end, different intermediate $dZ$'s.

# %%
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

# %%
Y = np.array([[1, 0, 1, 0]])
grads = L_model_backward(AL, Y, caches)
print(sorted(grads))
assert set(grads) == {"dA0", "dA1", "dA2", "dW1", "db1", "dW2", "db2", "dW3", "db3"}

# %% [markdown]
# Are these gradients right? toynet's gradient checker compares them with central differences of the
# cost, block by block.

# %%
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

# %%
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
