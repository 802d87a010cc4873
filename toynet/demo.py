"""`toynet demo`: the main job. For now: train a small network on the flower dataset, cost falling."""

from __future__ import annotations

import argparse

from toynet import datasets
from toynet.network import Network


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="run the main demonstration", description=__doc__)
    parser.add_argument("--out", default="build/demo", help="folder for the figures (default: build/demo)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    X, Y = datasets.flower(seed=1)
    network = Network([2, 8, 1], hidden="tanh")
    result = network.train(X, Y, learning_rate=1.0, num_iterations=2000, progress=False)
    for step in range(0, 2000, 250):
        print(f"iteration {step:5d}  cost {result.costs[step]:.4f}")
    print(f"accuracy {network.accuracy(X, Y, result.parameters):.2%}")
    return 0
