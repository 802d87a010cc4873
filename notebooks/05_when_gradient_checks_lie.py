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
# # 5. When gradient checks lie
#
# A gradient check can fail on a correct backward, or pass on a wrong one, if you do not know its limits.
# Six of them, each with what it costs in evaluations of $J$ for $n$ parameters.

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
on_kink = {name: value.copy() for name, value in parameters.items()}
Z1 = on_kink["W1"] @ X + on_kink["b1"]
on_kink["b1"][0, 0] -= Z1[0, 0] - 1e-9     # now Z1[0, 0] = 1e-9, inside +-epsilon
assert Z1[0, 0] > 0                        # the unit was on; it stays (barely) on

_, cache = course.forward_propagation_n(X, Y, on_kink)
kink_grads = course.backward_propagation_n_fixed(X, Y, cache)   # the *correct* backward
plain = gradcheck.gradient_check_n(cost_fn, on_kink, kink_grads)
print(plain.summary())
assert plain.difference > 1e-2                                 # the course's check would blame the backward
assert plain.passed and {entry.block for entry in plain.kinks} <= {"W1", "b1"}

# %% [markdown]
# Formula 2 is $6 \times 10^{-2}$, far above the threshold: the course's check would call this backward wrong.
# A plain `cost_fn` is a black box, so toynet cannot see the kink; it sees its effect. Every entry whose error
# exceeds what the measured noise explains is measured again at $2\varepsilon$ and $\varepsilon/2$: on a smooth
# cost the three values follow the $\varepsilon^2$ law of truncation; across a kink they do not, so those entries
# are set aside and named (cause "kinks"), and the rest is judged. toynet's own `Network` builds the same model,
# and its `cost_function` reports exactly which perturbations flip the sign of a pre-activation:

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
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

# %% toynet={"graded": false}
buggy = course.backward_propagation_n(X, Y, course.forward_propagation_n(X, Y, parameters)[1])

class Counted:
    # counts how often the cost is evaluated
    def __init__(self, f):
        self.f, self.calls = f, 0
    def __call__(self, params):
        self.calls += 1
        return self.f(params)

counts, measured = {}, {}
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
full = gradcheck.gradient_check_n(Counted(cost_fn), parameters, buggy)
print(f"of the full check's {counts['full']}: {2 * 47} for the entries, {full.noise_evaluations} to measure the "
      f"cost's noise, the rest for entries measured again at other steps and the cost at theta")
assert counts["full"] >= 2 * 47 + full.noise_evaluations
assert counts["sampled"] < counts["full"] and counts["direction"] < counts["full"]

# %% [markdown]
# Each check also measures the cost's noise first (a few difference tables, about 100 evaluations whatever the
# size of the network): a large share of a 47-parameter check, under 1% of a 10,000-parameter one.

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
# | measuring the cost's noise (every check) | ~100, whatever $n$ | the error bar every entry is judged against |
#
# **Take-away.** A gradient check is a measurement with its own error. Use float64, a step near $10^{-5}$,
# keep inputs off ReLU kinks (or let the checker flag them), and for big models check a sample. Three more ways
# a check lies follow: saturated outputs, a random cost, and a function that writes into its input.

# %% [markdown]
# ## 7. Saturated outputs: the cost itself is noisy
#
# A confidently wrong output (A within $10^{-8}$ of 1 for an example labelled 0) is common early in training
# with large weights. The cost is still right, but $\log(1 - A)$ takes the log of a difference that lost eight of
# its sixteen digits, so $J$ carries round-off about $10^6$ times larger than usual, and every numerical entry
# inherits it divided by the step. toynet does not assume the cost's noise: it measures it (Moré and Wild's
# difference table on a few coordinates), puts an error bar on every numerical entry, chooses the step that
# balances noise against truncation, and judges each block against its bars. It also says *why*:

# %% toynet={"graded": false}
from toynet import Network

net = Network([6, 7, 4, 1])
rng = np.random.default_rng(0)
X_sat, Y_sat = rng.standard_normal((6, 4)), np.array([[0.0, 1.0, 1.0, 0.0]])
saturated = net.initialize_parameters(seed=3)
A = net.predict_proba(X_sat, saturated)
# shift the output bias so that example 0 sits at A = 1 - 1e-8, while its label says 0
saturated["b3"] = saturated["b3"] + np.log((1 - 1e-8) / 1e-8) - np.log(A[0, 0] / (1 - A[0, 0]))
_, caches = net.forward(X_sat, Y_sat, saturated)
sat_grads = net.backward(caches)                      # the correct backward
sat_cost = net.cost_function(X_sat, Y_sat)

report = gradcheck.gradient_check_n(sat_cost, saturated, sat_grads)
print(report.summary())
assert report.passed and report.cause("saturated") is not None
print(f"measured noise {report.noise:.1e}, step chosen {report.epsilon:.1e}, "
      f"{report.noise_evaluations} evaluations to measure it ({2 * report.num_parameters} for the check itself)")

# %% [markdown]
# The plot shows each block's difference (the dot) against the error bar of its numerical gradient (grey): a
# dot inside its bar is a backward that agrees with the numerical gradient as well as that gradient can tell.

# %% toynet={"graded": false}
plots.plot_error_bars(report)

# %% [markdown]
# A real bug still shows, in its own block only: $db2$ off by 1% (or by a factor 3, the bug a fixed noise model
# used to lose among six blamed blocks):

# %% toynet={"graded": false}
for factor in (1.01, 3.0):
    buggy_sat = dict(sat_grads, db2=sat_grads["db2"] * factor)
    found = gradcheck.gradient_check_n(sat_cost, saturated, buggy_sat)
    print(f"db2 x {factor}: {found.verdict}, failing blocks {found.failing_blocks}")
    assert found.failing_blocks == ["b2"]

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
plots.plot_error_bars(report, ax=left).set_title("correct backward")
plots.plot_error_bars(found, ax=right).set_title("db2 x 3")
fig.tight_layout()

# %% [markdown]
# The remedy the cause names is the one to use in training too: compute the cost from the logits $Z$
# (`toynet.losses.LogisticCostFromLogits`), which never takes the log of a rounded probability.
#
# ## 8. A random cost: dropout left on
#
# A cost that draws a fresh dropout mask (or a fresh minibatch) on every call is a different function each
# time: $J(\theta + \varepsilon) - J(\theta - \varepsilon)$ measures the masks, not the gradient. toynet
# evaluates the cost twice at the same point while measuring its noise; when the two differ it says so and blames
# no block (verdict "inconclusive"):

# %% toynet={"graded": false}
mask_rng = np.random.default_rng(1)

def dropout_cost(params, keep=0.8):
    A1 = np.maximum(0, params["W1"] @ X + params["b1"])
    A1 = A1 * (mask_rng.random(A1.shape) < keep) / keep     # a fresh mask on every call
    A2 = np.maximum(0, params["W2"] @ A1 + params["b2"])
    A3 = 1 / (1 + np.exp(-(params["W3"] @ A2 + params["b3"])))
    return float(-np.mean(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)))

random_report = gradcheck.gradient_check_n(dropout_cost, parameters, fixed)
print(random_report.summary())
assert random_report.verdict == "inconclusive" and random_report.failing_blocks == []
assert "switch dropout off for the check" in random_report.cause("random").advice

# %% [markdown]
# ## 9. A function that changes its input
#
# cs231n's softmax, written with `x -= x.max(axis=1, keepdims=True)`, shifts the caller's scores in place. The
# loss is unchanged (softmax ignores a shift), so a checker that restores its input after every call reports a
# perfect match and hides the bug. toynet hands the function a private copy, compares it afterwards, and names
# what was written:

# %% toynet={"graded": false}
scores = np.random.default_rng(2).standard_normal((5, 4))
labels = np.array([0, 3, 1, 2, 0])

def softmax_loss_in_place(x):
    x -= x.max(axis=1, keepdims=True)                        # the bug: writes into the caller's array
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(5), labels]))

def softmax_grad(x):
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(5), labels] -= 1
    return p / 5

before = scores.copy()
result = gradcheck.gradient_check(softmax_loss_in_place, softmax_grad, scores)
print(result.verdict, "-", result.cause("in-place"))
assert result.verdict == "inconclusive" and np.array_equal(scores, before)   # named, and nothing corrupted

# %% [markdown]
# ## Your turn: the cost from the logits
#
# Section 7's remedy, written by you. Fill in each `# YOUR CODE HERE` (replace the `raise
# NotImplementedError(...)` line), then run the check under it: it checks *your* code against toynet's
# numerical gradient and says what to look at. These cells are the graded assignment too (hidden checks use
# other inputs); keep the names.
#
# ### Exercise 1: the cost, stable
# `cost_from_logits(Z, Y)` returns, as a float, the logistic cost of $A = \sigma(Z)$ computed from $Z$ without
# ever forming $A$:
#
# $$J = \frac{1}{m} \sum \Big( \max(Z, 0) - Z Y + \log\big(1 + e^{-|Z|}\big) \Big)$$
#
# (`np.log1p(x)` is $\log(1 + x)$ without losing digits when $x$ is tiny.) It must stay finite for
# $Z = \pm 40$, where $\log(1 - \sigma(Z))$ would be $\log 0$.

# %%
import numpy as np


def cost_from_logits(Z, Y):
    """J = (1/m) sum(max(Z, 0) - Z Y + log(1 + exp(-|Z|))) as a float; Z, Y: (1, m)."""
    m = Z.shape[1]
    ### BEGIN SOLUTION
    cost = np.sum(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))) / m
    ### END SOLUTION
    return float(cost)


# %% toynet={"points": 1, "question": "cost_from_logits"}
import numpy as np

from toynet.grading.checks import expect_number

Z, Y = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, 0.0]])
A = 1 / (1 + np.exp(-Z))
# where A is not rounded, the cost from the logits is the course's cost of A
expect_number(cost_from_logits(Z, Y), float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))),
              "the cost (look at max(Z, 0) - Z * Y, and the 1/m)", rtol=1e-12)
saturated = cost_from_logits(np.array([[40.0, -40.0]]), np.array([[0.0, 1.0]]))
# confidently wrong by 40 each: the true cost is 40 + log(1 + e^-40) per example
expect_number(saturated, 40.0, "the cost at Z = +-40 (use log1p(exp(-|Z|)): never the log of a rounded sigma)",
              rtol=1e-12)
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(31)
Z, Y = rng.randn(1, 9) * 3, (rng.rand(1, 9) > 0.5).astype(float)
expected = float(np.mean(np.logaddexp(0, Z) - Z * Y))  # log(1 + e^Z) - Z Y, numpy's stable form
expect_number(cost_from_logits(Z, Y), expected, "cost", rtol=1e-12)
expect_number(cost_from_logits(np.array([[-800.0, 800.0]]), np.array([[1.0, 0.0]])), 800.0, "cost", rtol=1e-12)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: its backward
# `cost_from_logits_backward(Z, Y)` returns $dJ/dZ = \frac{1}{m} (\sigma(Z) - Y)$, shape `(1, m)`: the simple,
# exact gradient that makes this form the one to train with.

# %%
def cost_from_logits_backward(Z, Y):
    """dJ/dZ = (sigma(Z) - Y) / m, shape (1, m)."""
    m = Z.shape[1]
    ### BEGIN SOLUTION
    dZ = (1 / (1 + np.exp(-Z)) - Y) / m
    ### END SOLUTION
    return dZ


# %% toynet={"points": 2, "question": "cost_from_logits_backward"}
import numpy as np

from toynet import gradcheck
from toynet.student_check import assert_matches

Z, Y = np.array([[0.5, -1.0, 2.0, 0.1]]), np.array([[1.0, 0.0, 0.0, 1.0]])
# toynet's numerical gradient of the stable cost (numpy's logaddexp form, independent of your cost_from_logits)
numeric = gradcheck.numerical_gradient(lambda z: float(np.mean(np.logaddexp(0, z) - z * Y)), Z)
print(assert_matches("dZ of cost_from_logits_backward", cost_from_logits_backward(Z, Y), numeric,
                     "dZ = (sigma(Z) - Y) / m: the sign of Y, and the 1/m"))
### BEGIN HIDDEN TESTS
rng = np.random.RandomState(32)
Z, Y = rng.randn(1, 7) * 2, (rng.rand(1, 7) > 0.5).astype(float)
numeric = gradcheck.numerical_gradient(lambda z: float(np.mean(np.logaddexp(0, z) - z * Y)), Z)
print(assert_matches("dZ", cost_from_logits_backward(Z, Y), numeric, "dZ"))
### END HIDDEN TESTS
