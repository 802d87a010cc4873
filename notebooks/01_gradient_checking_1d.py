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
# # 1. Gradient checking in one dimension
#
# Backpropagation computes $\partial J / \partial \theta$ with formulas you derived and typed by hand, so it can
# be wrong. Gradient checking computes the same derivative a second way, straight from its definition, and
# compares the two. Start with the smallest possible case, figure 1: one input $x$, one parameter $\theta$,
# and $J(\theta) = \theta x$.
#
# ![Figure 1: x -> J(theta) = theta * x -> J](../assets/gradient_check_1d.png)

# %% toynet={"graded": false}
import numpy as np

from toynet import gradcheck, plots
from toynet.exercises import gradient_checking as course

# %% [markdown]
# ## Forward and backward
#
# Forward: $J = \theta x$. Backward: $\dfrac{\partial J}{\partial \theta} = x$. For $x = 2$, $\theta = 4$:
# $J = 8$ and the gradient is $2$.

# %% toynet={"graded": false}
x, theta = 2, 4
J = course.forward_propagation(x, theta)
dtheta = course.backward_propagation(x, theta)
print("J =", J, "  dJ/dtheta =", dtheta)
assert J == 8 and dtheta == 2

# %% [markdown]
# ## The two-sided difference, formula (1)
#
# The derivative is the limit of the slope between two nearby points:
#
# $$\frac{\partial J}{\partial \theta} = \lim_{\varepsilon \to 0} \frac{J(\theta + \varepsilon) - J(\theta - \varepsilon)}{2 \varepsilon} \tag{1}$$
#
# With a small $\varepsilon$ (the course uses $10^{-7}$) the fraction is `gradapprox`, the numerical gradient:
# 1. $\theta^{+} = \theta + \varepsilon$, $\theta^{-} = \theta - \varepsilon$
# 2. $J^{+} = J(\theta^{+})$, $J^{-} = J(\theta^{-})$
# 3. $\text{gradapprox} = \dfrac{J^{+} - J^{-}}{2 \varepsilon}$

# %% toynet={"graded": false}
epsilon = 1e-7
J_plus = course.forward_propagation(x, theta + epsilon)
J_minus = course.forward_propagation(x, theta - epsilon)
gradapprox = (J_plus - J_minus) / (2 * epsilon)
print("gradapprox =", gradapprox)
assert gradapprox == 2.0000000011677344  # not exactly 2: floating-point round-off, see the end of this notebook

# %% [markdown]
# ## The relative difference, formula (2)
#
# Compare `grad` (from backward) with `gradapprox`, relative to their size, so the verdict does not depend
# on the scale of $J$:
#
# $$\text{difference} = \frac{\lVert \text{grad} - \text{gradapprox} \rVert_2}{\lVert \text{grad} \rVert_2 + \lVert \text{gradapprox} \rVert_2} \tag{2}$$
#
# Below about $10^{-7}$ the gradient is almost certainly right; around $10^{-2}$ or above it is wrong.

# %% toynet={"graded": false}
grad = course.backward_propagation(x, theta)
numerator = np.linalg.norm(grad - gradapprox)
denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
difference = numerator / denominator
print("difference =", difference)
assert difference == 2.919335883291695e-10
assert gradcheck.relative_difference(np.array([grad]), np.array([gradapprox])) == difference

# %% [markdown]
# ## The check as one function
#
# `course.gradient_check(x, theta)` does the three steps above. Try other points: for $x = 3$ the difference
# is $7.8 \times 10^{-11}$.

# %% toynet={"graded": false}
assert course.gradient_check(2, 4, print_msg=True) == 2.919335883291695e-10
assert course.gradient_check(3, 4) == 7.814075313343006e-11

# %% [markdown]
# ## What a bug looks like
#
# Suppose the backward pass returned $\theta$ instead of $x$ (an easy slip). The check sees it at once:

# %% toynet={"graded": false}
wrong_grad = theta  # the slip: dJ/dtheta = theta
wrong_difference = gradcheck.relative_difference(np.array([wrong_grad]), np.array([gradapprox]))
print("difference with the wrong backward =", wrong_difference)
assert wrong_difference > 1e-2  # (4 - 2) / (4 + 2) = 1/3
assert np.isclose(wrong_difference, 1 / 3)


# %% [markdown]
# ## How small should $\varepsilon$ be?
#
# Formula (1) only becomes exact as $\varepsilon \to 0$, yet a computer cannot take a limit. Two errors
# compete:
# - **truncation**: the two-sided difference of a curved function is off by about
#   $\tfrac{\varepsilon^2}{6} J'''(\theta)$, which shrinks as $\varepsilon$ shrinks;
# - **round-off**: $J^+$ and $J^-$ carry errors of about $10^{-16} |J|$, and dividing their difference by
#   $2\varepsilon$ magnifies it like $10^{-16} / \varepsilon$, which grows as $\varepsilon$ shrinks.
#
# $J = \theta x$ is a straight line, so it has no truncation error at all; the $1.2 \times 10^{-9}$ in
# `gradapprox` above is pure round-off. Sweep $\varepsilon$ from $10^{-1}$ down to $10^{-10}$:

# %% toynet={"graded": false}
def J_line(theta):
    return course.forward_propagation(x, theta)

line = gradcheck.step_sweep(J_line, np.array([4.0]), np.array([2.0]))
for h, d in zip(line.epsilons, line.differences, strict=True):
    print(f"epsilon {h:.0e}   difference {d:.2e}")
# a line: large steps are (nearly) exact, small steps lose digits to round-off
assert line.differences[-1] > 1e-8 > line.differences[0]


# %% [markdown]
# A curved $J$ shows both sides. Take $J(\theta) = \theta^3 x$, so $\partial J / \partial \theta = 3 \theta^2 x$.
# On the right of the plot (large $\varepsilon$) the truncation error falls like $\varepsilon^2$; on the left
# (small $\varepsilon$) round-off rises like $1/\varepsilon$. The best step sits at the bottom of the V,
# near $10^{-5}$, which is why toynet's default step is $10^{-5}$ rather than the course's $10^{-7}$.

# %% toynet={"graded": false}
def J_cubic(theta):
    return theta**3 * x

sweep = gradcheck.step_sweep(J_cubic, np.array([4.0]), np.array([3 * 4.0**2 * x]))
ax = plots.plot_step_sweep(sweep, threshold=1e-7)
ax.set_title("J(theta) = theta^3 x at theta = 4: difference vs step")
print(f"best step {sweep.best_epsilon:.0e}, difference {sweep.best_difference:.1e}")
assert 1e-7 <= sweep.best_epsilon <= 1e-3 and sweep.best_difference < 1e-9
assert sweep.differences[0] > 1e3 * sweep.best_difference   # truncation at epsilon = 1e-1
assert sweep.differences[-1] > 1e3 * sweep.best_difference  # round-off at epsilon = 1e-10

# %% [markdown]
# **Take-away.** The check is formula (1) plus formula (2). A difference near $10^{-7}$ or below means the
# backward pass agrees with the definition of the derivative; much larger means a bug. Next notebook: the
# same idea for a network with 47 parameters.

# %% [markdown]
# ## Your turn
#
# Now write the check yourself, in the course's rhythm: fill in each function where it says
# `# YOUR CODE HERE` (replace the `raise NotImplementedError(...)` line with your code), then run the check
# cell below it. Each check gradient-checks *your* code with toynet and, when it fails, says what is wrong and
# where to look. These cells are also the graded assignment: the autograder runs the same checks, plus hidden
# ones on other inputs. Do not rename the functions.
#
# ### Exercise 1: forward and backward
# `forward_propagation(x, theta)` returns $J = \theta x$; `backward_propagation(x, theta)` returns
# $\partial J / \partial \theta$.

# %%
import numpy as np


def forward_propagation(x, theta):
    """J(theta) = theta * x for real numbers x and theta."""
    ### BEGIN SOLUTION
    J = theta * x
    ### END SOLUTION
    return J


def backward_propagation(x, theta):
    """dJ/dtheta for J(theta) = theta * x."""
    ### BEGIN SOLUTION
    dtheta = x
    ### END SOLUTION
    return dtheta


# %% toynet={"points": 1, "question": "forward_propagation"}
from toynet.grading.checks import expect_number

J = forward_propagation(2, 4)
print("J =", J)
expect_number(J, 8, "J = forward_propagation(2, 4), theta * x,")
### BEGIN HIDDEN TESTS
expect_number(forward_propagation(-1.5, 3.0), -4.5, "J")
expect_number(forward_propagation(0.25, -8.0), -2.0, "J")
### END HIDDEN TESTS

# %% toynet={"points": 1, "question": "backward_propagation"}
import numpy as np

from toynet import gradcheck
from toynet.grading.checks import expect_number

# toynet's numerical gradient of J(theta) = theta * x at theta = 4, x = 2: your backward must agree with it.
numeric = gradcheck.numerical_gradient(lambda t: float(t[0] * 2.0), np.array([4.0]))[0]
dtheta = backward_propagation(2, 4)
print(f"your dtheta = {dtheta}, numerical gradient = {numeric:.10f}")
expect_number(dtheta, numeric, "dtheta (look at what J = theta * x changes by when theta moves: x, not theta)",
              rtol=1e-6)
### BEGIN HIDDEN TESTS
expect_number(backward_propagation(-1.5, 3.0), -1.5, "dtheta")
expect_number(backward_propagation(7.0, 0.0), 7.0, "dtheta")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: the check itself
# `gradient_check(x, theta, epsilon)` computes `gradapprox` with formula (1) from *your*
# `forward_propagation`, compares it with *your* `backward_propagation` using formula (2), and returns the
# difference (a float).

# %%
def gradient_check(x, theta, epsilon=1e-7, print_msg=False):
    """Relative difference (formula 2) between backward_propagation and the centred difference of J."""
    ### BEGIN SOLUTION
    thetaplus = theta + epsilon
    thetaminus = theta - epsilon
    J_plus = forward_propagation(x, thetaplus)
    J_minus = forward_propagation(x, thetaminus)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    difference = numerator / denominator
    ### END SOLUTION
    if print_msg:
        if difference > 2e-7:
            print("There is a mistake in the backward propagation! difference = " + str(difference))
        else:
            print("Your backward propagation works perfectly fine! difference = " + str(difference))
    return difference


# %% toynet={"points": 2, "question": "gradient_check"}
from toynet.grading.checks import expect_number

difference = gradient_check(2, 4, print_msg=True)
# The course's value for x = 2, theta = 4 (REFERENCE.md). Far off? Look at formula (1)'s 2 * epsilon, and at
# formula (2)'s denominator: the sum of the two norms.
expect_number(difference, 2.919335883291695e-10, "difference", rtol=1e-6)
### BEGIN HIDDEN TESTS
expect_number(gradient_check(3, 4), 7.814075313343006e-11, "difference", rtol=1e-6)
assert gradient_check(2.0, 4.0, epsilon=1e-4) < 1e-9, "the difference with epsilon = 1e-4 should be tiny"
### END HIDDEN TESTS
