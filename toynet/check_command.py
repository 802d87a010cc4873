"""`toynet check MODULE:FUNCTION`: gradient-check your own backward pass.

Your function must have the course's signature, backward(X, Y, cache) ->
gradients, where cache is the 12-tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3,
W3, b3) of forward_propagation_n, and gradients holds at least dW1, db1, dW2,
db2, dW3, db3. It runs on the course's test case (4-5-3-1 network, m = 3), or
on a network of your choice (--sizes/--seed/--examples); the per-block report
says where it is wrong. No script to write.

Exit status: 0 when the check passes, 1 when it fails (or your function
raises), 2 on a usage error.

examples:
  toynet check my_backward.py:backward_propagation_n
  toynet check mymodule:backward_propagation_n --sizes 6,8,4,1 --seed 3
  toynet check toynet.exercises.gradient_checking:backward_propagation_n
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from toynet.exercises import gradient_checking as course


class UsageError(Exception):
    """A problem with the command line: reported in one sentence, exit status 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="gradient-check your own backward_propagation_n(X, Y, cache)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", metavar="MODULE:FUNCTION",
                        help="your backward, as module.path:name or path/to/file.py:name")
    parser.add_argument("--sizes", type=_layer_sizes, metavar="N_X,N_1,N_2,1",
                        help="layer sizes of a random test case (default: the course's test case, 4,5,3,1)")
    parser.add_argument("--seed", type=int, help="seed of the random test case (default 0; implies a random case)")
    parser.add_argument("--examples", type=_positive_int, metavar="M",
                        help="number of examples m of the random test case (default 3; implies a random case)")
    parser.add_argument("--epsilon", type=_positive_float, metavar="H",
                        help="finite-difference step (default: toynet's default step; the course used 1e-7)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        backward, where = load_function(args.function)
    except UsageError as error:
        print(f"toynet check: error: {error}", file=sys.stderr)
        return 2

    if args.sizes is None and args.seed is None and args.examples is None:
        X, Y, parameters = course.gradient_check_n_test_case()
        case = "the course's test case"
    else:
        sizes = args.sizes or [4, 5, 3, 1]
        seed = 0 if args.seed is None else args.seed
        examples = 3 if args.examples is None else args.examples
        X, Y, parameters = course.random_test_case(sizes, seed=seed, examples=examples)
        case = f"a random test case (--sizes {','.join(map(str, sizes))} --seed {seed} --examples {examples})"
    n = sum(value.size for value in parameters.values())
    print(f"Checking {args.function}")
    print(f"  on {case}:")
    print(f"  X {X.shape}, m = {X.shape[1]}, {n} parameters\n")

    _, cache = course.forward_propagation_n(X, Y, parameters)
    try:
        gradients = backward(X, Y, cache)
    except Exception as error:  # the student's code: show where in *their* file it failed, not ours
        print(f"Your function raised {type(error).__name__}: {error}", file=sys.stderr)
        _print_their_frames(error, where)
        return 1
    try:
        report = course.gradient_check_n_report(parameters, gradients, X, Y, epsilon=args.epsilon)
    except (TypeError, ValueError) as error:
        print(f"The gradients your function returned cannot be checked: {error}", file=sys.stderr)
        return 1

    print(report)
    print()
    print(course.course_message(report.difference, report.threshold))
    return 0 if report.passed else 1


def load_function(spec: str) -> tuple[Callable[..., Any], str]:
    """`module.path:name` or `path/to/file.py:name` -> (the callable, the file it lives in)."""
    target, colon, name = spec.rpartition(":")
    if not colon or not target or not name:
        raise UsageError(f"expected MODULE:FUNCTION or path/to/file.py:FUNCTION, but got {spec!r}")
    if target.endswith(".py") or "/" in target or os.sep in target:
        module = _import_file(Path(target))
    else:
        module = _import_module(target)
    if not hasattr(module, name):
        defined = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise UsageError(f"{target} has no attribute {name!r}; its functions are: {', '.join(defined) or 'none'}")
    function = getattr(module, name)
    if not callable(function):
        raise UsageError(f"{target}:{name} is a {type(function).__name__}, not a function")
    return function, str(getattr(module, "__file__", "") or "")


def _import_module(name: str) -> ModuleType:
    # A console script does not put the current folder on sys.path; `python -m` does. Make both behave.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        raise UsageError(f"cannot import {name!r}: {error}") from None
    except Exception as error:  # noqa: BLE001 - a SyntaxError or a crash in the module's top-level code
        raise UsageError(f"importing {name!r} failed: {type(error).__name__}: {error}") from None


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    if path.suffix != ".py":
        raise UsageError(f"{path} is not a .py file")
    module_name = f"_toynet_check_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - only for exotic paths
        raise UsageError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))  # so that its own `import gc_utils` and the like work
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001
        raise UsageError(f"importing {path} failed: {type(error).__name__}: {error}") from None
    return module


def _print_their_frames(error: BaseException, where: str) -> None:
    """The traceback lines that are in the student's file (all of them if we cannot tell)."""
    frames = traceback.extract_tb(error.__traceback__)
    theirs = [frame for frame in frames if where and os.path.abspath(frame.filename) == os.path.abspath(where)]
    if theirs:
        print("".join(traceback.format_list(theirs)), end="", file=sys.stderr)


def _layer_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected four comma-separated ints like 4,5,3,1, but got {text!r}") from None
    if len(sizes) != 4 or min(sizes) < 1 or sizes[-1] != 1:
        raise argparse.ArgumentTypeError(
            f"expected four positive sizes N_X,N_1,N_2,1 (the course's 3-layer network), but got {text!r}"
        )
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, but got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number such as 1e-7, but got {text!r}")
    return value
