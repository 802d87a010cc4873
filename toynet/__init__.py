"""toynet: a small, exact, teaching-first neural-network library.

    from toynet import Network, Linear, ReLU, Sigmoid, dictionary_to_vector

Read the modules bottom up: layers, losses, params -> network -> gradcheck -> plots, exercises.
"""

from toynet import datasets
from toynet.gradcheck import (
    GradientCheckReport,
    StepSweep,
    directional_check,
    grad_check_sparse,
    gradient_check,
    gradient_check_n,
    numerical_gradient,
    rel_error,
    relative_difference,
    step_sweep,
    step_sweep_n,
)
from toynet.layers import Linear, LinearCache, ReLU, Sigmoid, Tanh, sigmoid
from toynet.losses import CostCache, LogisticCost, LogisticCostFromLogits, logistic_cost
from toynet.network import CostFunction, Network, NetworkCache, RegularizedCostFunction, TrainingResult
from toynet.params import (
    Block,
    ParamLayout,
    dictionary_to_vector,
    gradients_to_vector,
    vector_to_dictionary,
)

Sequential = Network  # the name other libraries use for the same idea

__version__ = "0.2.0"

__all__ = [
    "Block",
    "GradientCheckReport",
    "StepSweep",
    "directional_check",
    "grad_check_sparse",
    "gradient_check",
    "gradient_check_n",
    "numerical_gradient",
    "rel_error",
    "relative_difference",
    "step_sweep",
    "step_sweep_n",
    "CostCache",
    "CostFunction",
    "Linear",
    "LinearCache",
    "LogisticCost",
    "LogisticCostFromLogits",
    "Network",
    "NetworkCache",
    "ParamLayout",
    "ReLU",
    "RegularizedCostFunction",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "TrainingResult",
    "datasets",
    "dictionary_to_vector",
    "gradients_to_vector",
    "logistic_cost",
    "sigmoid",
    "vector_to_dictionary",
]
