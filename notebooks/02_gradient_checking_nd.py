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
# # 2. Gradient checking a network
#
# The course's network, figure 2: LINEAR $\to$ RELU $\to$ LINEAR $\to$ RELU $\to$ LINEAR $\to$ SIGMOID,
# with the logistic cost. Its backward pass, as handed out, hides **two bugs**. Find them with a gradient
# check, first the course's way (one number), then toynet's way (which block is wrong).
#
# ![Figure 2: the N-D network, forward and backward](../assets/gradient_check_nd.png)

# %%
import numpy as np

from toynet import dictionary_to_vector, gradcheck, plots, vector_to_dictionary
from toynet.exercises import gradient_checking as course

# %%
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

# %%
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

# %%
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

# %%
def cost_fn(params):
    return course.forward_propagation_n(X, Y, params)[0]

buggy = gradcheck.gradient_check_n(cost_fn, parameters, gradients, epsilon=1e-7)
buggy

# %%
print(buggy.summary())
assert abs(buggy.difference - 0.2850931567761623) < 1e-9
assert set(buggy.failing_blocks) == {"W2", "b1"}

# %% [markdown]
# The ratio of the two gradients inside a failing block tells you *how* it is wrong: a constant ratio
# means a wrong factor.

# %%
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

# %%
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

# %%
difference_fixed = course.gradient_check_n(parameters, fixed, X, Y, print_msg=True)
assert 1e-8 < difference_fixed < 2e-7

good = gradcheck.gradient_check_n(cost_fn, parameters, fixed, epsilon=1e-7)
assert good.passed and good.failing_blocks == []
default = gradcheck.gradient_check_n(cost_fn, parameters, fixed)  # toynet's default step
print(f"default step {default.epsilon:.0e}: difference {default.difference:.1e}")
assert default.passed and default.difference < 5e-9

# %% [markdown]
# ## Before and after, block by block

# %%
ax = plots.plot_block_differences([("buggy backward", buggy), ("fixed backward", good)])

# %% [markdown]
# **Take-away.** The course's single number tells you *whether* backward is wrong; the same numbers split
# by block tell you *where*, and the ratio inside the block tells you *what*.
