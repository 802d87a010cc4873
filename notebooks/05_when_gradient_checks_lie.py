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
# # 5. When gradient checks lie
#
# A gradient check can fail on a correct backward, or pass on a wrong one, if you do not know its limits.
# Six of them, each with what it costs in evaluations of $J$ for $n$ parameters.

# %%
import numpy as np

from toynet import gradcheck, plots
from toynet.exercises import gradient_checking as course

X, Y, parameters = course.gradient_check_n_test_case()
_, cache = course.forward_propagation_n(X, Y, parameters)
fixed = course.backward_propagation_n_fixed(X, Y, cache)

def cost_fn(params):
    return course.forward_propagation_n(X, Y, params)[0]

def at(sweep, h):
    # the sweep's difference at the step nearest to h
    return sweep.differences[np.argmin(np.abs(np.log10(sweep.epsilons / h)))]


# %% [markdown]
# ## 1. float32: round-off is a billion times larger
#
# In float64 one rounding error is about $10^{-16}$; in float32 about $10^{-7}$. The round-off term of the
# two-sided difference, $\sim \text{eps} / \varepsilon$, grows accordingly: with $\varepsilon = 10^{-7}$ a float32
# check is pure noise, and even the best step leaves about $10^{-5}$. Check gradients in float64.

# %%
x0 = np.linspace(0.5, 2.0, 5)
exact = np.cos(x0)

def f64(x):
    return np.sum(np.sin(x))

def f32(x):
    return np.sum(np.sin(x.astype(np.float32)), dtype=np.float32)

sweep64 = gradcheck.step_sweep(f64, x0, exact)
sweep32 = gradcheck.step_sweep(f32, x0, exact)
at_course_step = at(sweep32, 1e-7)
print(f"float64 best {sweep64.best_difference:.1e} at {sweep64.best_epsilon:.0e}")
print(f"float32 best {sweep32.best_difference:.1e} at {sweep32.best_epsilon:.0e}; at 1e-7: {at_course_step:.1e}")
assert sweep64.best_difference < 1e-9
assert sweep32.best_difference > 1e-6   # float32 cannot do better
assert at_course_step > 1e-2            # and the course's step is hopeless in float32

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
plots.plot_step_sweep(sweep64, ax=left, threshold=1e-7).set_title("sum(sin x) in float64")
plots.plot_step_sweep(sweep32, ax=right, threshold=1e-7).set_title("the same in float32")
fig.tight_layout()

# %% [markdown]
# ## 2. The step size
#
# The corrected backward of notebook 2 scores $1.2 \times 10^{-7}$ at the course's $\varepsilon = 10^{-7}$
# but $10^{-9}$ at $10^{-5}$. The network is piecewise linear (ReLU), so truncation is tiny and round-off
# dominates across most of the sweep.
#
# ![the corrected backward across step sizes](../assets/step_sweep_fixed_backward.png)

# %%
sweep = gradcheck.step_sweep_n(cost_fn, parameters, fixed)
print(sweep)
assert 1e-8 < at(sweep, 1e-7) < 2e-7     # the course's step: round-off, not a bug
assert at(sweep, 1e-5) < 5e-9

# %% [markdown]
# ## 3. ReLU kinks
#
# $\max(0, z)$ has no derivative at $z = 0$. If a pre-activation $z$ sits closer to 0 than $\varepsilon$,
# $J(\theta + \varepsilon)$ and $J(\theta - \varepsilon)$ fall on different sides of the kink, and the
# numerical gradient is an average of two slopes that matches neither. Move one unit of layer 1 right
# onto its kink for the first example, and check again:

# %%
on_kink = {name: value.copy() for name, value in parameters.items()}
Z1 = on_kink["W1"] @ X + on_kink["b1"]
on_kink["b1"][0, 0] -= Z1[0, 0] - 1e-9     # now Z1[0, 0] = 1e-9, inside +-epsilon
assert Z1[0, 0] > 0                        # the unit was on; it stays (barely) on

_, cache = course.forward_propagation_n(X, Y, on_kink)
kink_grads = course.backward_propagation_n_fixed(X, Y, cache)   # the *correct* backward
plain = gradcheck.gradient_check_n(cost_fn, on_kink, kink_grads)
print(plain.summary())
assert not plain.passed and set(plain.failing_blocks) <= {"W1", "b1"}  # a correct backward, blamed

# %% [markdown]
# The check blames $W1$ and $b1$, yet the backward is the corrected one: the numerical side is wrong here.
# A plain `cost_fn` is a black box, so the checker cannot see the kink. toynet's own `Network` builds the
# same model and its `cost_function` reports when a perturbation flips the sign of a pre-activation; the
# checker then sets those entries aside and says so:

# %%
from toynet import Network

network = Network([4, 5, 3, 1])                # the same LINEAR-RELU-LINEAR-RELU-LINEAR-SIGMOID model
assert np.isclose(network.cost(X, Y, on_kink), cost_fn(on_kink))
report = gradcheck.gradient_check_n(network.cost_function(X, Y), on_kink, kink_grads)
print(report)
assert report.kinks and {entry.block for entry in report.kinks} <= {"W1", "b1"}
assert report.passed  # the kink entries are left out of the verdict, and the rest agrees


# %% [markdown]
# ## 4. Complex step and Richardson
#
# Two ways to beat the round-off/truncation trade-off of formula (1):
# - **Complex step**: $\dfrac{\partial J}{\partial \theta} \approx \dfrac{\operatorname{Im} J(\theta + i h)}{h}$.
#   Nothing is subtracted, so nothing cancels: any tiny $h$ (say $10^{-20}$) gives about 16 digits.
#   One complex evaluation per parameter. It needs a $J$ written for complex numbers: `abs`, `max` and
#   comparisons (ReLU!) break it.
# - **Richardson**: combine two central differences, $\dfrac{4 D(h/2) - D(h)}{3}$, to cancel the $h^2$ term.
#   Four evaluations per parameter.

# %%
def smooth(x):
    return np.sum(np.exp(x) * np.sin(x))

exact = np.exp(x0) * (np.sin(x0) + np.cos(x0))
errors = {method: gradcheck.relative_difference(exact, gradcheck.numerical_gradient(smooth, x0, method=method))
          for method in ("central", "richardson", "complex")}
print({method: f"{error:.1e}" for method, error in errors.items()})
assert errors["complex"] < 1e-15
assert errors["richardson"] < errors["central"] / 10

# %% [markdown]
# ## 5. Sampled and random-direction checks for large networks
#
# A full check costs $2n$ evaluations of $J$: fine for 47 parameters, slow for millions. Two cheaper checks:
# - **sampled** (cs231n's `grad_check_sparse`): formula (1) on $k$ random coordinates: $2k$ evaluations;
# - **random direction**: for a random unit vector $v$, compare $\dfrac{J(\theta + h v) - J(\theta - h v)}{2h}$
#   with $\nabla J \cdot v$: two evaluations per direction, and every parameter takes part.
#
# Both still catch the course's bugs, at a fraction of the cost:

# %%
buggy = course.backward_propagation_n(X, Y, course.forward_propagation_n(X, Y, parameters)[1])

class Counted:
    # counts how often the cost is evaluated
    def __init__(self, f):
        self.f, self.calls = f, 0
    def __call__(self, params):
        self.calls += 1
        return self.f(params)

counts = {}
for name, check in (("full", lambda f, g: gradcheck.gradient_check_n(f, parameters, g)),
                    ("sampled", lambda f, g: gradcheck.grad_check_sparse(f, parameters, g, num_checks=10, seed=0)),
                    ("direction", lambda f, g: gradcheck.directional_check(f, parameters, g, num_directions=3, seed=0))):
    counted = Counted(cost_fn)
    found_bug = not check(counted, buggy).passed
    passes_fixed = check(cost_fn, fixed).passed
    counts[name] = counted.calls
    print(f"{name:9s} {counted.calls:3d} evaluations of J   catches the bugs: {found_bug}   "
          f"passes the fix: {passes_fixed}")
    assert found_bug and passes_fixed
# 2 per entry or direction, plus at most one at theta itself (the checker validates the cost there first)
assert 2 * 47 <= counts["full"] <= 2 * 47 + 1
assert 2 * 10 <= counts["sampled"] <= 2 * 10 + 1
assert 2 * 3 <= counts["direction"] <= 2 * 3 + 1

# %% [markdown]
# ## 6. What each check costs
#
# | check | evaluations of $J$ | typical error (float64, smooth $J$) |
# |---|---|---|
# | central difference, formula (1) | $2n$ | $\sim 10^{-10}$ at $\varepsilon \approx 10^{-5}$ |
# | Richardson | $4n$ | $\sim 10^{-13}$ |
# | complex step | $n$ (complex) | $\sim 10^{-16}$ |
# | sampled, $k$ coordinates | $2k$ | as central, on $k$ entries only |
# | random directions, $d$ of them | $2d$ | as central, on the projection $\nabla J \cdot v$ |
#
# **Take-away.** A gradient check is a measurement with its own error. Use float64, a step near $10^{-5}$,
# keep inputs off ReLU kinks (or let the checker flag them), and for big models check a sample.
