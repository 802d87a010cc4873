"""Write the step-through notebooks (without outputs) from the cells below: `python notebooks/make_notebooks.py`.

Edit a notebook here, regenerate, and commit both. The committed .ipynb files carry no outputs and no
execution counts (tests/test_notebooks.py checks that and runs every notebook top to bottom).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


NB01 = [
    md(r"""
# 1. Gradient checking in one dimension

Backpropagation computes $\partial J / \partial \theta$ with formulas you derived and typed by hand, so it can
be wrong. Gradient checking computes the same derivative a second way, straight from its definition, and
compares the two. Start with the smallest possible case, figure 1: one input $x$, one parameter $\theta$,
and $J(\theta) = \theta x$.

![Figure 1: x -> J(theta) = theta * x -> J](../assets/gradient_check_1d.png)
"""),
    code(r"""
import numpy as np

from toynet import gradcheck, plots
from toynet.exercises import gradient_checking as course
"""),
    md(r"""
## Forward and backward

Forward: $J = \theta x$. Backward: $\dfrac{\partial J}{\partial \theta} = x$. For $x = 2$, $\theta = 4$:
$J = 8$ and the gradient is $2$.
"""),
    code(r"""
x, theta = 2, 4
J = course.forward_propagation(x, theta)
dtheta = course.backward_propagation(x, theta)
print("J =", J, "  dJ/dtheta =", dtheta)
assert J == 8 and dtheta == 2
"""),
    md(r"""
## The two-sided difference, formula (1)

The derivative is the limit of the slope between two nearby points:

$$\frac{\partial J}{\partial \theta} = \lim_{\varepsilon \to 0} \frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}{2 \varepsilon} \tag{1}$$

With a small $\varepsilon$ (the course uses $10^{-7}$) the fraction is `gradapprox`, the numerical gradient:
1. $\theta^{+} = \theta + \varepsilon$, $\theta^{-} = \theta - \varepsilon$
2. $J^{+} = J(\theta^{+})$, $J^{-} = J(\theta^{-})$
3. $\text{gradapprox} = \dfrac{J^{+} - J^{-}}{2 \varepsilon}$
"""),
    code(r"""
epsilon = 1e-7
J_plus = course.forward_propagation(x, theta + epsilon)
J_minus = course.forward_propagation(x, theta - epsilon)
gradapprox = (J_plus - J_minus) / (2 * epsilon)
print("gradapprox =", gradapprox)
assert gradapprox == 2.0000000011677344  # not exactly 2: floating-point round-off, see the end of this notebook
"""),
    md(r"""
## The relative difference, formula (2)

Compare `grad` (from backward) with `gradapprox`, relative to their size, so the verdict does not depend
on the scale of $J$:

$$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}{\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2} \tag{2}$$

Below about $10^{-7}$ the gradient is almost certainly right; around $10^{-2}$ or above it is wrong.
"""),
    code(r"""
grad = course.backward_propagation(x, theta)
numerator = np.linalg.norm(grad - gradapprox)
denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
difference = numerator / denominator
print("difference =", difference)
assert difference == 2.919335883291695e-10
assert gradcheck.relative_difference(np.array([grad]), np.array([gradapprox])) == difference
"""),
    md(r"""
## The check as one function

`course.gradient_check(x, theta)` does the three steps above. Try other points: for $x = 3$ the difference
is $7.8 \times 10^{-11}$.
"""),
    code(r"""
assert course.gradient_check(2, 4, print_msg=True) == 2.919335883291695e-10
assert course.gradient_check(3, 4) == 7.814075313343006e-11
"""),
    md(r"""
## What a bug looks like

Suppose the backward pass returned $\theta$ instead of $x$ (an easy slip). The check sees it at once:
"""),
    code(r"""
wrong_grad = theta  # the slip: dJ/dtheta = theta
wrong_difference = gradcheck.relative_difference(np.array([wrong_grad]), np.array([gradapprox]))
print("difference with the wrong backward =", wrong_difference)
assert wrong_difference > 1e-2  # (4 - 2) / (4 + 2) = 1/3
assert np.isclose(wrong_difference, 1 / 3)
"""),
    md(r"""
## How small should $\varepsilon$ be?

Formula (1) only becomes exact as $\varepsilon \to 0$, yet a computer cannot take a limit. Two errors
compete:
- **truncation**: the two-sided difference of a curved function is off by about
  $\tfrac{\varepsilon^2}{6} J'''(\theta)$, which shrinks as $\varepsilon$ shrinks;
- **round-off**: $J^+$ and $J^-$ carry errors of about $10^{-16} |J|$, and dividing their difference by
  $2\varepsilon$ magnifies it like $10^{-16} / \varepsilon$, which grows as $\varepsilon$ shrinks.

$J = \theta x$ is a straight line, so it has no truncation error at all; the $1.2 \times 10^{-9}$ in
`gradapprox` above is pure round-off. Sweep $\varepsilon$ from $10^{-1}$ down to $10^{-10}$:
"""),
    code(r"""
def J_line(theta):
    return course.forward_propagation(x, theta)

line = gradcheck.step_sweep(J_line, np.array([4.0]), np.array([2.0]))
for h, d in zip(line.epsilons, line.differences):
    print(f"epsilon {h:.0e}   difference {d:.2e}")
# a line: large steps are (nearly) exact, small steps lose digits to round-off
assert line.differences[-1] > 1e-8 > line.differences[0]
"""),
    md(r"""
A curved $J$ shows both sides. Take $J(\theta) = \theta^3 x$, so $\partial J / \partial \theta = 3 \theta^2 x$.
On the right of the plot (large $\varepsilon$) the truncation error falls like $\varepsilon^2$; on the left
(small $\varepsilon$) round-off rises like $1/\varepsilon$. The best step sits at the bottom of the V,
near $10^{-5}$, which is why toynet's default step is $10^{-5}$ rather than the course's $10^{-7}$.
"""),
    code(r"""
def J_cubic(theta):
    return theta**3 * x

sweep = gradcheck.step_sweep(J_cubic, np.array([4.0]), np.array([3 * 4.0**2 * x]))
ax = plots.plot_step_sweep(sweep, threshold=1e-7)
ax.set_title("J(theta) = theta^3 x at theta = 4: difference vs step")
print(f"best step {sweep.best_epsilon:.0e}, difference {sweep.best_difference:.1e}")
assert 1e-7 <= sweep.best_epsilon <= 1e-3 and sweep.best_difference < 1e-9
assert sweep.differences[0] > 1e3 * sweep.best_difference   # truncation at epsilon = 1e-1
assert sweep.differences[-1] > 1e3 * sweep.best_difference  # round-off at epsilon = 1e-10
"""),
    md(r"""
**Take-away.** The check is formula (1) plus formula (2). A difference near $10^{-7}$ or below means the
backward pass agrees with the definition of the derivative; much larger means a bug. Next notebook: the
same idea for a network with 47 parameters.
"""),
]


NB02 = [
    md(r"""
# 2. Gradient checking a network

The course's network, figure 2: LINEAR $\to$ RELU $\to$ LINEAR $\to$ RELU $\to$ LINEAR $\to$ SIGMOID,
with the logistic cost. Its backward pass, as handed out, hides **two bugs**. Find them with a gradient
check, first the course's way (one number), then toynet's way (which block is wrong).

![Figure 2: the N-D network, forward and backward](../assets/gradient_check_nd.png)
"""),
    code(r"""
import numpy as np

from toynet import dictionary_to_vector, gradcheck, plots, vector_to_dictionary
from toynet.exercises import gradient_checking as course
"""),
    code(r"""
X, Y, parameters = course.gradient_check_n_test_case()
cost, cache = course.forward_propagation_n(X, Y, parameters)
print("X", X.shape, " Y", np.shape(Y), {name: value.shape for name, value in parameters.items()})
print("cost =", cost)
assert np.isclose(cost, 2.407833389834357, rtol=1e-13, atol=0)
"""),
    md(r"""
## Every parameter in one vector

Formula (1) nudges one number at a time, so first lay every parameter into one column vector $\theta$,
layer by layer, $W$ before $b$, each matrix row by row. `dictionary_to_vector` does it;
`vector_to_dictionary` undoes it.

![dictionary_to_vector](../assets/dictionary_to_vector.png)
"""),
    code(r"""
theta, keys = dictionary_to_vector(parameters)
print(theta.shape, keys[:3], "...", keys[-4:])
assert theta.shape == (47, 1)
assert [keys.count(name) for name in ("W1", "b1", "W2", "b2", "W3", "b3")] == [20, 5, 15, 3, 3, 1]
back = vector_to_dictionary(theta, parameters)
assert all(np.array_equal(back[name], parameters[name]) for name in parameters)
"""),
    md(r"""
## The course's check: formula (1) for every entry, then formula (3)

For each $i$: $\theta^{+} = \theta$ with $\theta_i + \varepsilon$, $\theta^{-}$ likewise with
$-\varepsilon$, and $\text{gradapprox}_i = \dfrac{J(\theta^{+}) - J(\theta^{-})}{2\varepsilon}$. Then compare
the whole vectors:

$$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}{\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2} \tag{3}$$
"""),
    code(r"""
gradients = course.backward_propagation_n(X, Y, cache)  # as handed out: two planted bugs
difference = course.gradient_check_n(parameters, gradients, X, Y, print_msg=True)
# The course printed 0.2850931567761623(4), and toynet, computing the cost in the course's order, gives the
# same float. But J+ - J- is about 1e-7 * gradient, so a rounding error of 1e-16 in the cost moves the
# quotient by about 1e-9: only the first 9 digits are the method's, the rest are how the cost rounds.
assert abs(difference - 0.2850931567761623) < 1e-9
"""),
    md(r"""
$0.285$ says *something* is wrong, not *what*. You would now reread all eleven lines of backward.

## Which block is wrong?

toynet's checker computes the same numbers, then applies formula (2) to each block ($W1$, $b1$, ...)
separately and lists the entries that disagree most.
"""),
    code(r"""
def cost_fn(params):
    return course.forward_propagation_n(X, Y, params)[0]

buggy = gradcheck.gradient_check_n(cost_fn, parameters, gradients, epsilon=1e-7)
buggy
"""),
    code(r"""
print(buggy.summary())
assert abs(buggy.difference - 0.2850931567761623) < 1e-9
assert set(buggy.failing_blocks) == {"W2", "b1"}
"""),
    md(r"""
The ratio of the two gradients inside a failing block tells you *how* it is wrong: a constant ratio
means a wrong factor.
"""),
    code(r"""
layout = {name: np.array(keys) == name for name in ("W2", "b1")}
for name, mask in layout.items():
    analytic = buggy.analytical_gradient[mask]
    numeric = buggy.numerical_gradient[mask]
    used = np.abs(numeric) > 1e-6  # entries with a real gradient (ReLU zeroes some)
    ratio = analytic[used] / numeric[used]
    print(f"d{name}: analytic / numeric = {np.round(ratio, 4)}")
    assert np.allclose(ratio, {"W2": 2.0, "b1": 4.0}[name], rtol=1e-4)
"""),
    md(r"""
`dW2` is twice too large and `db1` four times. In the handed-out backward the culprits are
`dW2 = 1./m * np.dot(dZ2, A1.T) * 2` and `db1 = 4./m * np.sum(dZ1, ...)`. Each bug alone:
"""),
    code(r"""
fixed = course.backward_propagation_n_fixed(X, Y, cache)
only_dW2 = dict(fixed, dW2=2 * fixed["dW2"])
only_db1 = dict(fixed, db1=4 * fixed["db1"])
for label, grads, expected in (("only the dW2 bug", only_dW2, 0.17344196893145924),
                               ("only the db1 bug", only_db1, 0.2544229712458523)):
    d = course.gradient_check_n(parameters, grads, X, Y)
    print(f"{label}: difference {d}")
    assert abs(d - expected) < 1e-9
"""),
    md(r"""
## The fix

With both lines corrected the check passes. At the course's $\varepsilon = 10^{-7}$ the difference is
about $1.2 \times 10^{-7}$, just above the first course version's $10^{-7}$ threshold. That is round-off
(notebook 1), not a bug, which is why the course later moved the threshold to $2 \times 10^{-7}$. toynet's
network check steps by $2 \times 10^{-5}$ times the size of the parameters (root mean square, at least 1),
here $2 \times 10^{-5}$; with it the same backward scores below $10^{-9}$.
"""),
    code(r"""
difference_fixed = course.gradient_check_n(parameters, fixed, X, Y, print_msg=True)
assert 1e-8 < difference_fixed < 2e-7

good = gradcheck.gradient_check_n(cost_fn, parameters, fixed, epsilon=1e-7)
assert good.passed and good.failing_blocks == []
default = gradcheck.gradient_check_n(cost_fn, parameters, fixed)  # toynet's default step
print(f"default step {default.epsilon:.0e}: difference {default.difference:.1e}")
assert default.passed and default.difference < 5e-9
"""),
    md(r"""
## Before and after, block by block
"""),
    code(r"""
ax = plots.plot_block_differences([("buggy backward", buggy), ("fixed backward", good)])
"""),
    md(r"""
**Take-away.** The course's single number tells you *whether* backward is wrong; the same numbers split
by block tell you *where*, and the ratio inside the block tells you *what*.
"""),
]


NB03 = [
    md(r"""
# 3. Layers from scratch, each one checked

A network is a chain of small layers. Each has a **forward** that returns its output and a **cache**
(what backward will need), and a **backward** that takes the upstream gradient `dout` and the cache.
Check each layer alone, the cs231n way: pick a random upstream gradient `dout`, and compare backward
with the numerical gradient of $\sum (\text{forward}(x) \odot \text{dout})$:

$$\frac{\partial}{\partial x_i} \sum_j f_j(x)\,\text{dout}_j \approx \sum_j \frac{f_j(x + \varepsilon e_i) - f_j(x - \varepsilon e_i)}{2\varepsilon}\,\text{dout}_j$$

`gradcheck.numerical_gradient_array(f, x, dout)` computes the right-hand side. Examples are columns:
`A` is `(n, m)` for `n` units and `m` examples.
"""),
    code(r"""
import numpy as np

from toynet import Linear, LogisticCost, ReLU, Sigmoid, gradcheck

rng = np.random.default_rng(0)
"""),
    md(r"""
## Linear: $Z = W A_{prev} + b$

Backward: $dW = dZ\, A_{prev}^T$, $\; db = \sum_{\text{examples}} dZ$, $\; dA_{prev} = W^T dZ$.
"""),
    code(r"""
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
"""),
    md(r"""
## ReLU: $A = \max(0, Z)$

Backward passes the gradient where $Z > 0$ and blocks it elsewhere: $dZ = dA \odot [Z > 0]$. At $Z = 0$
the function has a kink and no derivative; keep test inputs away from it (notebook 5 shows what happens
otherwise).
"""),
    code(r"""
Z = rng.standard_normal((5, 3))
Z[np.abs(Z) < 0.1] = 0.5               # stay away from the kink at 0
A, cache = ReLU.forward(Z)
dA = rng.standard_normal(A.shape)
dZ = ReLU.backward(dA, cache)
num_dZ = gradcheck.numerical_gradient_array(lambda z: ReLU.forward(z)[0], Z, dA)
print("ReLU rel_error", gradcheck.rel_error(dZ, num_dZ))
assert gradcheck.rel_error(dZ, num_dZ) < 1e-9
assert np.array_equal(dZ == 0, Z <= 0)  # the gradient is blocked exactly where the unit is off
"""),
    md(r"""
## Sigmoid: $A = \sigma(Z) = \dfrac{1}{1 + e^{-Z}}$

Its derivative is written with its own output: $dZ = dA \odot A (1 - A)$, so the cache keeps $A$.
"""),
    code(r"""
Z = rng.standard_normal((1, 3))
A, cache = Sigmoid.forward(Z)
dA = rng.standard_normal(A.shape)
dZ = Sigmoid.backward(dA, cache)
num_dZ = gradcheck.numerical_gradient_array(lambda z: Sigmoid.forward(z)[0], Z, dA)
print("Sigmoid rel_error", gradcheck.rel_error(dZ, num_dZ))
assert gradcheck.rel_error(dZ, num_dZ) < 1e-7
assert np.allclose(dZ, dA * A * (1 - A))
"""),
    md(r"""
## The logistic cost

$$J = -\frac{1}{m} \sum_{i=1}^{m} \Big( y^{(i)} \log a^{(i)} + (1 - y^{(i)}) \log (1 - a^{(i)}) \Big)$$

$J$ is a single number, so its check uses the scalar `numerical_gradient` (the upstream gradient is 1).
"""),
    code(r"""
A = rng.uniform(0.05, 0.95, size=(1, 6))
Y = np.array([[1, 0, 1, 1, 0, 0]])
J, cache = LogisticCost.forward(A, Y)
dA = LogisticCost.backward(1.0, cache)
num_dA = gradcheck.numerical_gradient(lambda a: LogisticCost.forward(a, Y)[0], A)
print(f"J = {J:.6f}, rel_error {gradcheck.rel_error(dA, num_dA):.1e}")
assert gradcheck.rel_error(dA, num_dA) < 1e-7
assert np.isclose(J, -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))
"""),
    md(r"""
## Chained: LINEAR $\to$ SIGMOID $\to$ cost

Backward runs the chain in reverse, each layer handing its input gradient to the layer before.
"""),
    code(r"""
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
"""),
    md(r"""
**Take-away.** Check each layer alone with a random `dout` before you chain them: a bug then points at
one layer, not at the whole network.
"""),
]


NB04 = [
    md(r"""
# 4. Training a network

Gradient descent repeats $\theta \leftarrow \theta - \alpha \, \nabla_\theta J$, so a wrong gradient makes
training fail, often quietly. The habit: **check the gradient once, before training**, then train.
"""),
    code(r"""
import numpy as np

from toynet import Network, datasets, gradcheck, plots

X, Y = datasets.moons(m=200, noise=0.15, seed=0)
print("X", X.shape, " Y", Y.shape, " class balance", Y.mean())
assert X.shape == (2, 200) and Y.shape == (1, 200)
"""),
    md(r"""
## A gradient check before training

A 2-8-1 network with tanh hidden units, checked on the whole batch at its random starting point.
"""),
    code(r"""
network = Network([2, 8, 1], hidden="tanh")
parameters = network.initialize_parameters(seed=1, method="xavier")
cost, caches = network.forward(X, Y, parameters)
grads = network.backward(caches)
report = gradcheck.gradient_check_n(network.cost_function(X, Y), parameters, grads)
print(report.summary())
assert report.passed and report.difference < 1e-7
"""),
    md(r"""
## Train and watch the cost
"""),
    code(r"""
trained, costs = network.train(X, Y, parameters, learning_rate=1.0, num_iterations=1500, progress=False)
ax = plots.plot_cost_history(costs)
accuracy = network.accuracy(X, Y, trained)
print(f"cost {costs[0]:.3f} -> {costs[-1]:.3f}, training accuracy {accuracy:.1%}")
assert costs[-1] < costs[0] / 5
assert accuracy > 0.95
"""),
    code(r"""
ax = plots.plot_decision_boundary(network, trained, X, Y)
"""),
    md(r"""
## Depth and initialisation

Deeper ReLU networks need the right scale of random weights. With the course's first choice, weights
$\times 0.01$, the signal shrinks layer after layer, the gradients of the first layers all but vanish, and
the cost stays near $\log 2 \approx 0.693$ (a coin flip). He initialisation, $\sqrt{2 / n_{in}}$, keeps the
signal's size through the layers.
"""),
    code(r"""
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
"""),
    code(r"""
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.4, 4.4))
for method, costs in histories.items():
    plots.plot_cost_history(costs, ax=ax, label=f"init {method!r}")
ax.axhline(np.log(2), color="gray", ls=":", label="log 2: a coin flip")
ax.set_title("Deep ReLU network (2-10-10-10-1): initialisation")
ax.legend()
"""),
    md(r"""
**Take-away.** Check first, then train. When training stalls and the gradient check passes, suspect the
set-up (initialisation, learning rate, depth), not the backward pass.
"""),
]


NB05 = [
    md(r"""
# 5. When gradient checks lie

A gradient check can fail on a correct backward, or pass on a wrong one, if you do not know its limits.
Six of them, each with what it costs in evaluations of $J$ for $n$ parameters.
"""),
    code(r"""
import numpy as np

from toynet import Network, datasets, gradcheck, plots
from toynet.exercises import gradient_checking as course

X, Y, parameters = course.gradient_check_n_test_case()
_, cache = course.forward_propagation_n(X, Y, parameters)
fixed = course.backward_propagation_n_fixed(X, Y, cache)

def cost_fn(params):
    return course.forward_propagation_n(X, Y, params)[0]

def at(sweep, h):
    # the sweep's difference at the step nearest to h
    return sweep.differences[np.argmin(np.abs(np.log10(sweep.epsilons / h)))]
"""),
    md(r"""
## 1. float32: round-off is a billion times larger

In float64 one rounding error is about $10^{-16}$; in float32 about $10^{-7}$. The round-off term of the
two-sided difference, $\sim \text{eps} / \varepsilon$, grows accordingly: with $\varepsilon = 10^{-7}$ a float32
check is pure noise, and even the best step leaves about $10^{-5}$. Check gradients in float64.
"""),
    code(r"""
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
"""),
    code(r"""
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
plots.plot_step_sweep(sweep64, ax=left, threshold=1e-7).set_title("sum(sin x) in float64")
plots.plot_step_sweep(sweep32, ax=right, threshold=1e-7).set_title("the same in float32")
fig.tight_layout()
"""),
    md(r"""
## 2. The step size

The corrected backward of notebook 2 scores $1.2 \times 10^{-7}$ at the course's $\varepsilon = 10^{-7}$
but $10^{-9}$ at $10^{-5}$. The network is piecewise linear (ReLU), so truncation is tiny and round-off
dominates across most of the sweep.

![the corrected backward across step sizes](../assets/step_sweep_fixed_backward.png)
"""),
    code(r"""
sweep = gradcheck.step_sweep_n(cost_fn, parameters, fixed)
print(sweep)
assert 1e-8 < at(sweep, 1e-7) < 2e-7     # the course's step: round-off, not a bug
assert at(sweep, 1e-5) < 5e-9
"""),
    md(r"""
## 3. ReLU kinks

$\max(0, z)$ has no derivative at $z = 0$. If a pre-activation $z$ sits closer to 0 than $\varepsilon$,
$J(\theta + \varepsilon)$ and $J(\theta - \varepsilon)$ fall on different sides of the kink, and the
numerical gradient is an average of two slopes that matches neither. Move one unit of layer 1 right
onto its kink for the first example, and check again:
"""),
    code(r"""
on_kink = {name: value.copy() for name, value in parameters.items()}
Z1 = on_kink["W1"] @ X + on_kink["b1"]
on_kink["b1"][0, 0] -= Z1[0, 0] - 1e-9     # now Z1[0, 0] = 1e-9, inside +-epsilon
assert Z1[0, 0] > 0                        # the unit was on; it stays (barely) on

_, cache = course.forward_propagation_n(X, Y, on_kink)
kink_grads = course.backward_propagation_n_fixed(X, Y, cache)   # the *correct* backward
plain = gradcheck.gradient_check_n(cost_fn, on_kink, kink_grads)
print(plain.summary())
assert not plain.passed and set(plain.failing_blocks) <= {"W1", "b1"}  # a correct backward, blamed
"""),
    md(r"""
The check blames $W1$ and $b1$, yet the backward is the corrected one: the numerical side is wrong here.
A plain `cost_fn` is a black box, so the checker cannot see the kink. toynet's own `Network` builds the
same model and its `cost_function` reports when a perturbation flips the sign of a pre-activation; the
checker then sets those entries aside and says so:
"""),
    code(r"""
from toynet import Network

network = Network([4, 5, 3, 1])                # the same LINEAR-RELU-LINEAR-RELU-LINEAR-SIGMOID model
assert np.isclose(network.cost(X, Y, on_kink), cost_fn(on_kink))
report = gradcheck.gradient_check_n(network.cost_function(X, Y), on_kink, kink_grads)
print(report)
assert report.kinks and {entry.block for entry in report.kinks} <= {"W1", "b1"}
assert report.passed  # the kink entries are left out of the verdict, and the rest agrees
"""),
    md(r"""
## 4. Complex step and Richardson

Two ways to beat the round-off/truncation trade-off of formula (1):
- **Complex step**: $\dfrac{\partial J}{\partial \theta} \approx \dfrac{\operatorname{Im} J(\theta + i h)}{h}$.
  Nothing is subtracted, so nothing cancels: any tiny $h$ (say $10^{-20}$) gives about 16 digits.
  One complex evaluation per parameter. It needs a $J$ written for complex numbers: `abs`, `max` and
  comparisons (ReLU!) break it.
- **Richardson**: combine two central differences, $\dfrac{4 D(h/2) - D(h)}{3}$, to cancel the $h^2$ term.
  Four evaluations per parameter.
"""),
    code(r"""
def smooth(x):
    return np.sum(np.exp(x) * np.sin(x))

exact = np.exp(x0) * (np.sin(x0) + np.cos(x0))
errors = {method: gradcheck.relative_difference(exact, gradcheck.numerical_gradient(smooth, x0, method=method))
          for method in ("central", "richardson", "complex")}
print({method: f"{error:.1e}" for method, error in errors.items()})
assert errors["complex"] < 1e-15
assert errors["richardson"] < errors["central"] / 10
"""),
    md(r"""
## 5. Sampled and random-direction checks for large networks

A full check costs $2n$ evaluations of $J$: fine for 47 parameters, slow for millions. Two cheaper checks:
- **sampled** (cs231n's `grad_check_sparse`): formula (1) on $k$ random coordinates: $2k$ evaluations;
- **random direction**: for a random unit vector $v$, compare $\dfrac{J(\theta + h v) - J(\theta - h v)}{2h}$
  with $\nabla J \cdot v$: two evaluations per direction, and every parameter takes part.

Both still catch the course's bugs, at a fraction of the cost:
"""),
    code(r"""
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
"""),
    md(r"""
## 6. What each check costs

| check | evaluations of $J$ | typical error (float64, smooth $J$) |
|---|---|---|
| central difference, formula (1) | $2n$ | $\sim 10^{-10}$ at $\varepsilon \approx 10^{-5}$ |
| Richardson | $4n$ | $\sim 10^{-13}$ |
| complex step | $n$ (complex) | $\sim 10^{-16}$ |
| sampled, $k$ coordinates | $2k$ | as central, on $k$ entries only |
| random directions, $d$ of them | $2d$ | as central, on the projection $\nabla J \cdot v$ |

**Take-away.** A gradient check is a measurement with its own error. Use float64, a step near $10^{-5}$,
keep inputs off ReLU kinks (or let the checker flag them), and for big models check a sample.
"""),
]


NOTEBOOKS = {
    "01_gradient_checking_1d": NB01,
    "02_gradient_checking_nd": NB02,
    "03_layers_from_scratch": NB03,
    "04_training_a_network": NB04,
    "05_when_gradient_checks_lie": NB05,
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells)
        notebook.metadata = {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
        for i, cell in enumerate(notebook.cells):
            cell.id = f"{name[:2]}-{i:02d}"  # stable ids: regenerating gives the same file
        nbformat.validate(notebook)
        path = HERE / f"{name}.ipynb"
        nbformat.write(notebook, path)
        print(path)


if __name__ == "__main__":
    main()
