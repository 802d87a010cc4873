"""`toynet check MODULE:FUNCTION`: gradient-check the network you wrote.

FUNCTION is your backward (or your loss), in one of the forms toynet knows:
  backward_propagation_n(X, Y, cache)   the course's 3-layer backward, run on
      the cache of the course's forward_propagation_n (the course's test case,
      4-5-3-1, m = 3, unless --sizes/--seed/--examples)
  L_model_backward(AL, Y, caches)       with L_model_forward(X, parameters),
      the course's L-layer pair, any depth (--sizes 5,4,3,1)
  my_backward(X, Y, cache) or my_backward(AL, Y, cache), with your forward
      my_forward(X, parameters) -> (AL, cache) or my_forward(X, Y, parameters)
      -> (cost, cache): found by name (backward -> forward) or --forward NAME
  loss(parameters) -> (cost, gradients)  on data of its own (--sizes, or a
      module-level parameters dict, or its module-level X)
Networks with AL are checked on the course's cross-entropy cost. Without
--sizes, the depth is read from the W1/b2-style keys your code names. The
per-block report says which block is wrong, and what to look at.

Exit status: 0 when the check passes, 1 when it fails (or your function
raises: the traceback into your file is shown), 2 on a usage error or a
signature toynet does not know (the forms it knows are listed).

examples:
  toynet check my_backward.py:backward_propagation_n
  toynet check mymodule:backward_propagation_n --sizes 6,8,4,1 --seed 3
  toynet check deep.py:L_model_backward --sizes 5,4,4,3,2,1
  toynet check two_layer.py:backprop --forward forward_pass --sizes 3,4,1
  toynet check tanh_net.py:loss
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from toynet import student_check as forms
from toynet.exercises import gradient_checking as course

COURSE_FORWARD = "forward_propagation_n"
DATA_NAMES = ("X", "X_train", "train_X", "x", "data")  # where a loss(parameters) keeps its inputs, (n_x, m)
LABEL_NAMES = ("Y", "Y_train", "train_Y", "y", "labels")


class UsageError(Exception):
    """A problem with the command line: reported in one sentence, exit status 2."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="gradient-check the backward (or loss) of the network you wrote",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("function", metavar="MODULE:FUNCTION",
                        help="your backward or loss, as module.path:name or path/to/file.py:name")
    parser.add_argument("--forward", metavar="NAME",
                        help="your forward, in the same module (default: the backward's name with 'forward')")
    parser.add_argument("--sizes", type=_layer_sizes, metavar="N_X,...,N_OUT",
                        help="layer sizes of a random test case, any depth (default: the course's test case "
                             "for the 3-layer form, else read from your code)")
    parser.add_argument("--seed", type=int, help="seed of the random test case (default 0; implies a random case)")
    parser.add_argument("--examples", type=_positive_int, metavar="M",
                        help="number of examples m of the random test case (default 3 for the course's form, "
                             "else 8; implies a random case)")
    parser.add_argument("--epsilon", type=_positive_float, metavar="H",
                        help="finite-difference step (default: toynet's default step; the course used 1e-7)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        module, name = load(args.function)
        backward = getattr(module, name)
        form = forms.backward_form(backward, name)
        forward_name = _forward_name(args, module, name, form)
        if form == ("X", "Y", "cache") and forward_name in (None, COURSE_FORWARD) and not _own_network(
                args, module, forward_name):
            return _run_course(args, backward, _where(module))
        network, case = _network(args, module, name, form, forward_name)
    except (UsageError, forms.SignatureError) as error:
        print(f"toynet check: error: {error}", file=sys.stderr)
        return 2
    except forms.StudentRaised as raised:
        return _report_raised(raised, _where(module))
    except ValueError as error:
        print(f"What your functions returned cannot be checked: {error}", file=sys.stderr)
        return 1
    return _run_check(args, network, case, _where(module))


def _own_network(args: argparse.Namespace, module: ModuleType, forward_name: str | None) -> bool:
    """Whether the module's own forward_propagation_n is to be used instead of toynet's course network: asked for
    with --forward, or needed (its code names another depth than 3, or --sizes gives another depth)."""
    if forward_name is None:
        return False
    if args.forward == COURSE_FORWARD:
        return True
    other_sizes = args.sizes is not None and len(args.sizes) != 4
    return other_sizes or forms.literal_depth(getattr(module, forward_name)) not in (None, 3)


def _forward_name(args: argparse.Namespace, module: ModuleType, name: str, form: tuple[str, ...]) -> str | None:
    if form == ("loss",):
        if args.forward:
            raise UsageError(f"{name} is a loss(parameters): it takes no --forward")
        return None
    if args.forward:
        if not callable(getattr(module, args.forward, None)):
            raise UsageError(f"--forward {args.forward}: {module.__name__} has no function {args.forward!r}; "
                             f"its functions are: {_functions(module)}")
        return str(args.forward)
    partner = forms.forward_partner(name, module)
    if partner is None and form != ("X", "Y", "cache"):
        raise UsageError(f"{name} takes {', '.join(form)}, so toynet needs your forward: name it with --forward NAME "
                         f"(its functions are: {_functions(module)})")
    return partner


def _random_case(args: argparse.Namespace, sizes: list[int]) -> tuple[Any, Any, dict[str, np.ndarray], str]:
    seed = 0 if args.seed is None else args.seed
    examples = 8 if args.examples is None else args.examples
    X, Y, parameters = forms.random_network(sizes, seed=seed, examples=examples)
    case = f"a random test case (--sizes {','.join(map(str, sizes))} --seed {seed} --examples {examples})"
    return X, Y, parameters, case


def _network(args: argparse.Namespace, module: ModuleType, name: str, form: tuple[str, ...],
             forward_name: str | None) -> tuple[forms.Network, str]:
    backward = getattr(module, name)
    if form == ("loss",):
        parameters, case = _loss_parameters(args, module, backward)
        return forms.loss_network(backward, parameters, name), case
    assert forward_name is not None
    forward = getattr(module, forward_name)
    sizes = args.sizes or forms.default_sizes(forms.literal_depth(forward, backward) or 3)
    X, Y, parameters, case = _random_case(args, sizes)
    network = forms.pair_network(forward, backward, X, Y, parameters, (forward_name, name))
    return network, f"{case}, with your {forward_name}"


def _loss_parameters(args: argparse.Namespace, module: ModuleType,
                     loss: Callable[..., Any]) -> tuple[dict[str, np.ndarray], str]:
    """--sizes, else the module's own parameters dict, else sizes read from its X (and Y) and the loss's keys."""
    if args.sizes:
        return _loss_case(args, args.sizes, "")
    for attribute in ("parameters", "params"):
        given = getattr(module, attribute, None)
        if isinstance(given, dict) and given and all(isinstance(v, np.ndarray) for v in given.values()):
            return {k: np.array(v, dtype=float) for k, v in given.items()}, f"your module's {attribute}"
    X, Y = _module_array(module, DATA_NAMES), _module_array(module, LABEL_NAMES)
    if X is None:
        raise UsageError("a loss(parameters) reads its own data, so toynet cannot tell the sizes of its network: "
                         "pass --sizes N_X,...,N_OUT (or define a module-level parameters dict)")
    n_out = Y.shape[0] if Y is not None else 1
    sizes = forms.default_sizes(forms.literal_depth(loss) or 3, n_x=X.shape[0], n_out=n_out)
    return _loss_case(args, sizes, f", sized by your X {X.shape}")


def _module_array(module: ModuleType, names: tuple[str, ...]) -> np.ndarray | None:
    """The first module-level 2-D array among these names (the data a loss(parameters) reads), or None."""
    for name in names:
        value = getattr(module, name, None)
        if isinstance(value, np.ndarray) and value.ndim == 2:
            return value
    return None


def _loss_case(args: argparse.Namespace, sizes: list[int], why: str) -> tuple[dict[str, np.ndarray], str]:
    seed = 0 if args.seed is None else args.seed
    parameters = forms.random_network(sizes, seed=seed, examples=1)[2]
    return parameters, f"random parameters (--sizes {','.join(map(str, sizes))} --seed {seed}){why}"


def _run_check(args: argparse.Namespace, network: forms.Network, case: str, where: str) -> int:
    n = sum(value.size for value in network.parameters.values())
    print(f"Checking {args.function}")
    print(textwrap.fill(f"on {case}:", 80, initial_indent="  ", subsequent_indent="    "))
    print(f"  {network.depth} layers, {n} parameters\n")
    try:
        report = forms.check(network, epsilon=args.epsilon)
    except forms.StudentRaised as raised:
        return _report_raised(raised, where)
    except (TypeError, ValueError) as error:
        print(f"The gradients your function returned cannot be checked: {error}", file=sys.stderr)
        return 1
    print(report)
    print()
    print("What to look at:")
    print(_wrapped(forms.advice(report.failing_blocks, network.depth)))
    return 0 if report.passed else 1


def _run_course(args: argparse.Namespace, backward: Callable[..., Any], where: str) -> int:
    if args.sizes is None and args.seed is None and args.examples is None:
        X, Y, parameters = course.gradient_check_n_test_case()
        case = "the course's test case"
    else:
        sizes = args.sizes or [4, 5, 3, 1]
        if len(sizes) != 4 or sizes[-1] != 1:
            print(f"toynet check: error: --sizes {','.join(map(str, sizes))}: the course's backward_propagation_n "
                  "form is the 3-layer N_X,N_1,N_2,1 network; for another network pass your forward with "
                  "--forward NAME", file=sys.stderr)
            return 2
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
        code = _report_raised(forms.StudentRaised("your function", error), where)
        print("(toynet ran it on the cache of the course's 3-layer forward_propagation_n: if your network is "
              "another, pass your forward with --forward NAME)", file=sys.stderr)
        return code
    try:
        report = course.gradient_check_n_report(parameters, gradients, X, Y, epsilon=args.epsilon)
    except (TypeError, ValueError) as error:
        print(f"The gradients your function returned cannot be checked: {error}", file=sys.stderr)
        return 1

    print(report)
    print()
    print(course.course_message(report.difference, report.threshold))
    print("What to look at:")
    print(_wrapped(forms.advice(report.failing_blocks, 3)))
    return 0 if report.passed else 1


def _wrapped(text: str) -> str:
    return "\n".join(textwrap.fill(line, 80, subsequent_indent="  ") for line in text.splitlines())


def _report_raised(raised: forms.StudentRaised, where: str) -> int:
    error = raised.error
    who = "Your function" if raised.function == "your function" else f"Your function {raised.function}"
    print(f"{who} raised {type(error).__name__}: {error}", file=sys.stderr)
    _print_their_frames(error, where)
    return 1


def _where(module: ModuleType) -> str:
    return str(getattr(module, "__file__", "") or "")


def _functions(module: ModuleType) -> str:
    defined = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
    return ", ".join(defined) or "none"


def load(spec: str) -> tuple[ModuleType, str]:
    """`module.path:name` or `path/to/file.py:name` -> (the module, the name of a callable in it)."""
    target, colon, name = spec.rpartition(":")
    if not colon or not target or not name:
        raise UsageError(f"expected MODULE:FUNCTION or path/to/file.py:FUNCTION, but got {spec!r}")
    if target.endswith(".py") or "/" in target or os.sep in target:
        module = _import_file(Path(target))
    else:
        module = _import_module(target)
    if not hasattr(module, name):
        raise UsageError(f"{target} has no attribute {name!r}; its functions are: {_functions(module)}")
    if not callable(getattr(module, name)):
        raise UsageError(f"{target}:{name} is a {type(getattr(module, name)).__name__}, not a function")
    return module, name


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
        raise argparse.ArgumentTypeError(f"expected comma-separated ints like 4,5,3,1, but got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected at least two positive layer sizes N_X,...,N_OUT (input first, output last), but got {text!r}"
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
