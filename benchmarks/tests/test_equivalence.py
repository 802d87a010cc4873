"""Every benchmark peer computes the same function as toynet (a benchmark comparing different functions is worthless).

Run by `make bench-check` and before every `make bench` (CI runs it after `make test`). The peers (PyTorch CPU,
SciPy, numdifftools: the `bench` extra) are imported outright: a missing install fails here instead of skipping,
and `make test` never needs them. Quick, tiny sizes, no timing asserts. Expected values come from the peer.
"""

from __future__ import annotations

import numdifftools  # noqa: F401  (bench_accuracy.methods() quietly leaves it out when missing)
import numpy as np
import pytest
import torch
from scipy import optimize

from benchmarks import bench_accuracy, bench_detection
from benchmarks.models import buggy_gradients, formula2, make_problem
from toynet.network import Network

SMALL = [5, 4, 4, 1]  # the shape tests/test_benchmarks.py plants its bugs in


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_torch_network_equals_toynet(hidden: str) -> None:
    from benchmarks.models import torch_problem

    problem = make_problem(SMALL, seed=4, hidden=hidden)
    f, theta = torch_problem(problem)
    cost = f(theta)
    cost.backward()
    assert cost.item() == pytest.approx(problem.net.cost(problem.X, problem.Y, problem.parameters), abs=1e-14)
    assert formula2(theta.grad.numpy(), problem.grad) < 1e-14
    assert torch.autograd.gradcheck(f, (theta,))


def test_torch_gradcheck_on_toynet_passes_correct_and_fails_buggy() -> None:
    from benchmarks.models import torch_wrapped

    problem = make_problem(SMALL, seed=6)
    f, theta = torch_wrapped(problem, problem.gradients)
    assert f(theta).item() == pytest.approx(problem.net.cost(problem.X, problem.Y, problem.parameters), abs=1e-15)
    assert bench_detection.torch_verdict(problem, problem.gradients)
    assert not bench_detection.torch_verdict(problem, buggy_gradients(problem, "sign flip", "b1"))


def test_torch_training_matches_toynet_training() -> None:
    from benchmarks.bench_training import LEARNING_RATE, data
    from benchmarks.models import TorchMLP

    sizes = [2, 8, 8, 1]
    X, Y = data(sizes, 32, np.float64)
    net = Network(sizes)
    params = net.initialize_parameters(seed=0)
    trained = net.train(X, Y, params, learning_rate=LEARNING_RATE, num_iterations=5, progress=False)
    model = TorchMLP(params, torch.float64)
    costs = model.train(torch.from_numpy(np.ascontiguousarray(X.T)), torch.from_numpy(Y.reshape(-1)),
                        LEARNING_RATE, 5)
    np.testing.assert_allclose(costs, trained.costs, rtol=1e-12)
    for layer in range(1, 4):
        np.testing.assert_allclose(model.weights[layer - 1].detach().numpy(), trained.parameters[f"W{layer}"],
                                   atol=1e-13)


def test_scipy_side_checks_the_same_function() -> None:
    from benchmarks.models import scipy_functions

    problem = make_problem(SMALL, seed=7)
    f, grad, x0 = scipy_functions(problem)
    assert f(x0) == problem.net.cost(problem.X, problem.Y, problem.parameters)
    np.testing.assert_array_equal(grad(x0), problem.grad.reshape(-1))
    assert optimize.check_grad(f, grad, x0) < 1e-5 * np.linalg.norm(grad(x0))
    assert bench_detection.scipy_verdict(problem, buggy_gradients(problem, "sign flip", "b1")) is False
    # the Rosenbrock of the accuracy benchmark is scipy's
    x = np.linspace(-1, 1.3, 10)
    assert bench_accuracy.rosenbrock(x) == pytest.approx(optimize.rosen(x), rel=1e-14)
    np.testing.assert_allclose(bench_accuracy.rosenbrock_grad(x), optimize.rosen_der(x), rtol=1e-13)


def test_numdifftools_side_estimates_the_same_gradient() -> None:
    methods = bench_accuracy.methods()
    x = np.random.default_rng(2).standard_normal(bench_accuracy.DIM)
    exact = bench_accuracy.log_sum_exp_grad(x)
    assert formula2(methods["numdifftools Gradient (default)"](bench_accuracy.log_sum_exp, x), exact) < 1e-10
