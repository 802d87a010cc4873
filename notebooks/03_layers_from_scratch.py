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

# %%
import numpy as np

from toynet import Linear, LogisticCost, ReLU, Sigmoid, gradcheck

rng = np.random.default_rng(0)

# %% [markdown]
# ## Linear: $Z = W A_{prev} + b$
#
# Backward: $dW = dZ\, A_{prev}^T$, $\; db = \sum_{\text{examples}} dZ$, $\; dA_{prev} = W^T dZ$.

# %%
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

# %%
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

# %%
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

# %%
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

# %%
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
