"""Gradient checking: numerical gradients, and checks that say *where* a backward pass is wrong.

    report = gradient_check_n(net.cost_function(X, Y), parameters, gradients)
    print(report)                    # per-block table: W1, b1, ... with the worst entries
    report.failing_blocks            # e.g. ["b1", "W2"]

Read bottom up: measures (formula 2, rel_error) -> numerical (central, Richardson, complex step) ->
noise (the cost's measured noise, ECnoise, and the step it implies) -> errorbars (each entry's error bar and
the verdicts against it) -> causes (what may mislead, named) -> second_looks (kinks at the point, randomness,
blocks given their own step) -> aware (the error-aware judgement, any evaluator) -> perturbations (the
incremental engine) -> report (the one result type) -> network_check (one problem, its evaluators and the
three checks; the network forms) -> check (the array forms, any f(x)).
"""

from toynet.gradcheck.causes import Cause
from toynet.gradcheck.check import directional_check, grad_check_sparse, gradient_check, step_sweep
from toynet.gradcheck.measures import rel_error, relative_difference
from toynet.gradcheck.network_check import gradient_check_n, numerical_gradient_n, step_sweep_n
from toynet.gradcheck.numerical import default_epsilon, numerical_gradient, numerical_gradient_array
from toynet.gradcheck.report import (
    BlockReport,
    DirectionalCheck,
    Entry,
    GradientCheckReport,
    GradientCheckResult,
    SparseCheck,
    StepSweep,
)

__all__ = [
    "BlockReport", "Cause", "DirectionalCheck", "Entry", "GradientCheckReport", "GradientCheckResult", "SparseCheck",
    "StepSweep", "default_epsilon", "directional_check", "grad_check_sparse", "gradient_check", "gradient_check_n",
    "numerical_gradient", "numerical_gradient_array", "numerical_gradient_n", "rel_error", "relative_difference",
    "step_sweep", "step_sweep_n",
]
