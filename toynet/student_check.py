"""Gradient-check the network a student wrote, in whichever of the course's forms it comes.

The forms (`FORMS` lists them with an example each, for messages):

    backward(X, Y, cache)           the course's 3-layer backward_propagation_n, on forward_propagation_n's cache
    forward(X, parameters) -> (AL, caches);  backward(AL, Y, caches)   the course's L-layer pair, any depth
    forward(X, parameters) -> (AL, cache);   backward(X, Y, cache)     a pair of the student's own naming
    forward(X, Y, parameters) -> (cost, cache); backward(X, Y, cache)  (the same, the forward returning the cost)
    backward(parameters, cache, X, Y)   the course's week 3: a backward's arguments are matched by their names
    loss(parameters) -> (cost, gradients)                              one function, data of its own

Each form becomes one `Network`: a cost function of the parameters dict (the numerical gradient's source) and
the gradients dict the student's backward returns at the point. With AL forms the cost is the course's
cross-entropy J = -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)). `check` runs toynet's gradient check on it and
`advice` turns the failing blocks into what to look at, in the course's notation (dW2 = dZ2 A1^T / m, ...).
The same functions serve `toynet check` and the lessons' check cells (`check_pair`, `assert_correct`,
`assert_matches`: an AssertionError that names the block and what to look at). In the grader a lesson's
functions are proxies to the student's process, whose signatures cannot be read: the check cells say the form.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from toynet import gradcheck

Arrays = dict[str, np.ndarray]

FORMS = """\
  1. the course's 3-layer backward:  backward_propagation_n(X, Y, cache)
       toynet check my_file.py:backward_propagation_n
  2. the course's L-layer pair:  L_model_forward(X, parameters) -> (AL, caches),
     L_model_backward(AL, Y, caches) -> grads
       toynet check my_file.py:L_model_backward --sizes 5,4,3,1
  3. a forward/backward pair of your own naming:  my_forward(X, parameters) -> (AL, cache)
     or my_forward(X, Y, parameters) -> (cost, cache), with my_backward(X, Y, cache),
     my_backward(AL, Y, cache) or the course's backward_propagation(parameters, cache, X, Y)
       toynet check my_file.py:my_backward --forward my_forward --sizes 4,5,1
  4. one function:  loss(parameters) -> (cost, gradients), on data of its own
       toynet check my_file.py:loss --sizes 2,3,1"""


class SignatureError(ValueError):
    """A function whose signature is none of the forms toynet knows (the message lists them)."""


class StudentRaised(Exception):
    """The student's own function raised: `error` is theirs, with its traceback."""

    def __init__(self, function: str, error: BaseException) -> None:
        super().__init__(f"{function} raised {type(error).__name__}: {error}")
        self.function, self.error = function, error


@dataclass
class Network:
    """A student's network at one point: cost(parameters) -> float, and what their backward returned there."""

    cost: Callable[[Mapping[str, np.ndarray]], float]
    parameters: Arrays
    gradients: Mapping[str, Any]
    depth: int


# ------------------------------------------------------------------------------------------------ forms


def positional_names(function: Callable[..., Any]) -> list[str]:
    """The names of the arguments a function needs (those without defaults), in order."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in signature.parameters.values() if p.kind in kinds and p.default is p.empty]


def role_of(argument: str) -> str | None:
    """What an argument named like this holds: X, Y, AL (the output), cache or parameters; None if unclear."""
    name = argument.lower()
    if name in ("x", "x_batch", "inputs"):
        return "X"
    if name in ("y", "labels", "y_batch"):
        return "Y"
    if name.startswith("cache"):
        return "cache"
    if name.startswith(("param", "theta", "weights")):
        return "parameters"
    if name.startswith(("a", "yhat", "y_hat", "out", "prob")):
        return "AL"
    return None


def backward_form(function: Callable[..., Any], name: str) -> tuple[str, ...]:
    """The roles of a backward's arguments, e.g. ("X", "Y", "cache"), ("AL", "Y", "caches") or the course's
    week-3 ("parameters", "cache", "X", "Y"); ("loss",) for loss(parameters). SignatureError otherwise."""
    names = positional_names(function)
    if len(names) == 1:
        return ("loss",)
    roles = tuple(role_of(argument) for argument in names)
    if "cache" in roles and len(set(roles)) == len(roles) and None not in roles and not (
            "AL" in roles and "X" in roles):
        return tuple(str(role) for role in roles)
    raise SignatureError(f"{name}({', '.join(names)}) is not a signature toynet knows. It knows:\n{FORMS}")


def forward_form(function: Callable[..., Any], name: str) -> str:
    """"AL" for forward(X, parameters) -> (AL, cache), "cost" for forward(X, Y, parameters) -> (cost, cache)."""
    names = positional_names(function)
    roles = [role_of(argument) for argument in names]
    if len(names) == 2 and roles in (["X", "parameters"], [None, None], ["X", None], [None, "parameters"]):
        return "AL"
    if len(names) == 3 and roles in (["X", "Y", "parameters"], [None, None, None], ["X", "Y", None]):
        return "cost"
    raise SignatureError(f"the forward {name}({', '.join(names)}) is not a signature toynet knows. It knows:\n{FORMS}")


def forward_partner(backward_name: str, module: Any) -> str | None:
    """The forward paired with a backward: by name (L_model_backward -> L_model_forward, backprop -> forwardprop),
    else the module's one function with "forward" in its name, if it defines exactly one; None otherwise."""
    for old, new in (("backward", "forward"), ("Backward", "Forward"), ("bwd", "fwd"), ("back", "forward")):
        candidate = backward_name.replace(old, new)
        if candidate != backward_name and callable(getattr(module, candidate, None)):
            return candidate
    own = [name for name, value in vars(module).items() if "forward" in name.lower() and inspect.isfunction(value)
           and getattr(value, "__module__", None) == getattr(module, "__name__", None)]
    return own[0] if len(own) == 1 else None


def literal_depth(*functions: Callable[..., Any]) -> int | None:
    """The highest layer named by a literal key ("W3", "db2") in the functions' code; None if they name none.

    An L-layer loop builds its keys ("W" + str(l)) and names none: it works at any depth.
    """
    layers = []
    for function in functions:
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = re.fullmatch(r"d?[Wb]([1-9][0-9]*)", node.value)
                if match:
                    layers.append(int(match.group(1)))
    return max(layers) if layers else None


def default_sizes(depth: int, n_x: int = 4, n_out: int = 1) -> list[int]:
    """Layer sizes [n_x, 5, 4, 3, 3, ..., n_out] of a network with `depth` layers (weight matrices)."""
    hidden = [5, 4, 3] + [3] * max(depth - 4, 0)
    return [n_x, *hidden[: depth - 1], n_out]


def random_network(sizes: list[int], seed: int = 0, examples: int = 8) -> tuple[np.ndarray, np.ndarray, Arrays]:
    """X (n_x, m), 0/1 labels Y (n_out, m) and He-scaled parameters W1, b1, ... for layer sizes [n_x, ..., n_out].

    He scaling and small biases keep ReLU units alive on a few examples, so no block is all zeros (where a
    gradient check is blind).
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(sizes[0], examples)
    parameters: Arrays = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        parameters[f"W{layer}"] = rng.randn(n_out, n_in) * np.sqrt(2.0 / n_in)
        parameters[f"b{layer}"] = rng.randn(n_out, 1) * 0.1
    Y = (rng.rand(sizes[-1], examples) > 0.5).astype(float)
    if examples > 1:
        Y[:, 0], Y[:, 1] = 0.0, 1.0  # both labels present
    return X, Y, parameters


def cross_entropy(AL: Any, Y: np.ndarray) -> float:
    """The course's compute_cost: -(1/m) sum(Y log AL + (1 - Y) log(1 - AL)), AL and Y (n_out, m)."""
    AL = np.asarray(AL, dtype=float)
    if AL.shape != Y.shape:
        raise ValueError(f"the forward's output AL must have shape {Y.shape} (n_out, m), but got {AL.shape}: "
                         "if your network has other layer sizes than the one checked, give them with --sizes")
    if not np.all((AL > 0) & (AL < 1)):
        raise ValueError("the forward's output AL must be probabilities strictly between 0 and 1 (a sigmoid "
                         f"output), but it ranges over [{AL.min():.3g}, {AL.max():.3g}]")
    return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / Y.shape[1])


def _call(function: Callable[..., Any], name: str, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:  # the student's code: reported as theirs, with its traceback
        raise StudentRaised(name, error) from error


def _pair(result: Any, name: str, what: str) -> tuple[Any, Any]:
    if not (isinstance(result, tuple) and len(result) == 2):
        raise ValueError(f"{name} must return a pair {what}, but returned {_describe(result)}")
    return result


def pair_network(forward: Callable[..., Any], backward: Callable[..., Any], X: np.ndarray, Y: np.ndarray,
                 parameters: Arrays, names: tuple[str, str] = ("forward", "backward"),
                 forward_gives: str | None = None, backward_takes: str | None = None) -> Network:
    """The Network of a forward/backward pair (forms 2 and 3); the forward is called at every perturbed point.

    forward_gives: "AL" (forward(X, parameters) -> (AL, cache)) or "cost" (forward(X, Y, parameters) ->
    (cost, cache)); backward_takes: "AL" or "X", its first argument. None: read from their signatures.
    """
    forward_name, backward_name = names
    takes_y = (forward_gives or forward_form(forward, forward_name)) == "cost"
    roles = (backward_takes, "Y", "cache") if backward_takes else backward_form(backward, backward_name)
    if "AL" in roles and takes_y:
        raise SignatureError(f"{backward_name} takes AL, but {forward_name} returns the cost, not AL. It knows:\n"
                             f"{FORMS}")

    def run_forward(params: Mapping[str, np.ndarray]) -> tuple[Any, Any]:
        args = (X, Y, dict(params)) if takes_y else (X, dict(params))
        what = "(cost, cache)" if takes_y else "(AL, cache)"
        return _pair(_call(forward, forward_name, *args), forward_name, what)

    def cost(params: Mapping[str, np.ndarray]) -> float:
        out, _ = run_forward(params)
        return float(out) if takes_y else cross_entropy(out, Y)

    out, cache = run_forward(parameters)
    cost(parameters)  # a forward whose output is no probability is reported before any check
    values = {"X": X, "Y": Y, "AL": out, "cache": cache, "parameters": {k: v.copy() for k, v in parameters.items()}}
    gradients = _call(backward, backward_name, *(values[role] for role in roles))
    return Network(cost, parameters, gradients, len(parameters) // 2)


def loss_network(loss: Callable[..., Any], parameters: Arrays, name: str = "loss") -> Network:
    """The Network of loss(parameters) -> (cost, gradients) (form 4)."""

    def cost(params: Mapping[str, np.ndarray]) -> float:
        return float(_pair(_call(loss, name, dict(params)), name, "(cost, gradients)")[0])

    _, gradients = _pair(_call(loss, name, {k: v.copy() for k, v in parameters.items()}), name, "(cost, gradients)")
    return Network(cost, parameters, gradients, len(parameters) // 2)


# ------------------------------------------------------------------------------------------------ verdict


def check(network: Network, epsilon: float | None = None) -> gradcheck.GradientCheckReport:
    """toynet's gradient check of the network's gradients against its cost (ValueError: not checkable)."""
    given = network.gradients
    if isinstance(given, Mapping) and all(k in given for k in network.parameters) and not any(
            f"d{k}" in given for k in network.parameters):
        network.gradients = {f"d{k}": given[k] for k in network.parameters}  # gradients keyed W1, b1, ... too
    missing = [f"d{k}" for k in network.parameters if f"d{k}" not in network.gradients]
    if isinstance(network.gradients, Mapping) and missing:
        have = sorted(k for k in network.gradients if re.fullmatch(r"d[Wb]\d+", str(k)))
        raise ValueError(f"the gradients hold no {', '.join(missing)} (they hold {', '.join(have) or 'none'}): "
                         f"the network checked has {network.depth} layers; if yours has another depth, say so "
                         "with --sizes")
    return gradcheck.gradient_check_n(network.cost, network.parameters, network.gradients, epsilon=epsilon)


def assert_correct(network: Network, name: str, epsilon: float | None = None) -> str:
    """The lessons' check: the verdict to print; AssertionError naming the wrong blocks and what to look at.

    (Returned, not printed: a check cell prints it, so that the autograder shows it with the question.)
    """
    try:
        report = check(network, epsilon=epsilon)
    except StudentRaised as raised:
        raise AssertionError(str(raised)) from None
    if not report.passed:
        blocks = ", ".join(f"d{block}" for block in report.failing_blocks) or "none (inconclusive)"
        raise AssertionError(f"{name} is wrong in {blocks}.\n{advice(report.failing_blocks, network.depth)}\n"
                             f"{report.summary()}")
    return f"{name}: every block agrees with the numerical gradient.\n{report.summary()}"


def check_pair(forward: Callable[..., Any], backward: Callable[..., Any], sizes: list[int],
               names: tuple[str, str], forward_gives: str = "AL", backward_takes: str = "AL",
               seed: int = 0, examples: int = 8) -> str:
    """Gradient-check a student's forward/backward pair on a random network of these layer sizes (lessons)."""
    X, Y, parameters = random_network(sizes, seed=seed, examples=examples)
    try:
        network = pair_network(forward, backward, X, Y, parameters, names, forward_gives, backward_takes)
    except StudentRaised as raised:
        raise AssertionError(str(raised)) from None
    return assert_correct(network, names[1])


def assert_matches(name: str, analytic: Any, numeric: np.ndarray, look_at: str, tolerance: float = 1e-6) -> str:
    """One block of a lesson's check: `analytic` (the student's) against toynet's numerical gradient `numeric`.

    AssertionError naming the block, its worst entry and what to look at when the shapes differ or the
    cs231n relative error max |a - n| / max(|a| + |n|, 1e-8) exceeds `tolerance`; else the verdict to print.
    """
    got = np.asarray(analytic, dtype=float)
    if got.shape != numeric.shape:
        raise AssertionError(f"{name} has shape {got.shape}, but the numerical gradient has shape {numeric.shape}. "
                             f"Look at {look_at}.")
    errors = np.abs(got - numeric) / np.maximum(np.abs(got) + np.abs(numeric), 1e-8)
    if not np.all(np.isfinite(got)) or float(errors.max(initial=0.0)) > tolerance:
        worst = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(errors), errors, np.inf))), errors.shape)
        raise AssertionError(f"{name} is wrong: at {list(worst)} yours is {got[worst]:.6g}, the numerical gradient "
                             f"{numeric[worst]:.6g}. Look at {look_at}.")
    return f"{name}: agrees with the numerical gradient (largest relative error {errors.max(initial=0.0):.1e})"


def advice(failing: list[str], depth: int) -> str:
    """What to look at, from the failing blocks (e.g. ["W2", "b2", "W1", "b1"]) of a `depth`-layer network."""
    if not failing:
        return "Every block agrees with the numerical gradient: your backward is right."
    layers = {int(name[1:]) for name in failing}
    top = max(layers)
    whole = all(f"{kind}{layer}" in failing for layer in range(1, top + 1) for kind in "Wb")
    if whole:
        where = "AL - Y or dAL" if top == depth else f"dA{top} = W{top + 1}^T dZ{top + 1}"
        below = " and of every layer below it" if top > 1 else ""
        return (f"dW and db of layer {top}{below} are wrong: the mistake enters at layer {top}, in what they share: "
                f"dZ{top} (from {where}, times the activation's derivative g'(Z{top})).")
    lines = []
    for name in failing:
        layer = int(name[1:])
        if name[0] == "W":
            lines.append(f"dW{layer}: look at dW{layer} = dZ{layer} A{layer - 1}^T / m (which A, the transpose, "
                         "the 1/m, any regularization term).")
        else:
            lines.append(f"db{layer}: look at db{layer} = (1/m) sum of dZ{layer} over the examples "
                         "(axis=1, keepdims=True, the 1/m).")
    return "\n".join(lines)


def _describe(value: Any) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}"
