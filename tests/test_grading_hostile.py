"""Hostile and unusual submissions through the real sandbox, graded in batches beside an honest notebook.

Each notebook is the assignment's solution with one attack (or one unusual but fair idiom) added. The
attacks write raw bytes to the answer pipe (its fd is the student process's `sys.argv[2]`), stall across
many cells, try to carry the hidden inputs out, or call toynet code the assignment does not give. Every
batch runs with --jobs 2; the grader must return a result for every notebook, each attack must cost exactly
the questions it touched, and the honest notebook in the same batch keeps its full score.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from toynet.grading.assign import build
from toynet.grading.grade import HIDDEN_FAILED, SubmissionResult, grade_many
from toynet.grading.sandbox import Limits

ASSIGNMENTS = Path(__file__).resolve().parent / "fixtures" / "assignments"
LAYERS = {"linear_backward": 3, "relu_backward": 1, "sigmoid_backward": 1, "logistic_cost": 1,
          "logistic_cost_backward": 2}
GRADIENT_CHECKING = {"forward_propagation": 1, "backward_propagation": 1, "gradient_check": 2, "gradient_check_n": 4}
LIMITS = Limits(question_timeout=5, cell_timeout=2, wall_clock=40)  # a looping cell spins a CPU for cell_timeout
LEAK_FILE = f"/tmp/toynet-hostile-{uuid.uuid4().hex}"
DAEMON_NAME = f"toynet-{uuid.uuid4().hex[:8]}"  # the name a surviving daemon gives itself (/proc/PID/comm)

Edit = Callable[[list[str]], list[str]]


def write_raw(raw: bytes | str) -> str:
    """Python that writes `raw` (bytes, or a Python expression that makes them) to the answer pipe."""
    return f"__import__('os').write(int(__import__('sys').argv[2]), {raw if isinstance(raw, str) else repr(raw)})"


def replace(old: str, new: str) -> Edit:
    """Replace the first `old` of the first cell that holds it."""

    def edit(sources: list[str]) -> list[str]:
        first = next(n for n, s in enumerate(sources) if old in s)
        return [s.replace(old, new, 1) if n == first else s for n, s in enumerate(sources)]

    return edit


def append(*cells: str) -> Edit:
    return lambda sources: [*sources, *cells]


def chain(*edits: Edit) -> Edit:
    def edit(sources: list[str]) -> list[str]:
        for one in edits:
            sources = one(sources)
        return sources

    return edit


def variant(source: Path, folder: Path, name: str, edit: Edit | None) -> Path:
    """The solution notebook with its code cells edited (question cells stay: only the grader runs them)."""
    notebook = nbformat.read(source, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code" and "toynet" not in c.metadata]
    sources = edit([c.source for c in code]) if edit else [c.source for c in code]
    for cell, text in zip(code, sources[: len(code)], strict=True):
        cell.source = text
    notebook.cells += [nbformat.v4.new_code_cell(extra) for extra in sources[len(code) :]]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def scores(result: SubmissionResult) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


def losing(full: dict[str, int], *lost: str) -> dict[str, float]:
    return {name: 0 if name in lost else points for name, points in full.items()}


def feedback(result: SubmissionResult, question: str) -> str:
    return next(q.feedback for q in result.questions if q.name == question)


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("layers")
    build(ASSIGNMENTS / "layers.ipynb", out)
    return out / "autograder"


# ---------------------------------------------------------------- layers: one batch of attackers

LINEAR = "dW = dZ @ A_prev.T"
RELU = "dZ = np.where(Z > 0, dA, 0.0)"
SIGMOID = "dZ = dA * A * (1 - A)"
COST = "cost = -np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m"
COST_BACKWARD = "dA = -(Y / A - (1 - Y) / (1 - A)) / m"
HIDDEN_CALL = "dZ.shape != (3, 5)"  # Linear.backward's public test uses n_out = 3, m = 5; its hidden ones do not
SECRET = "repr((dZ.tolist(), cache[0].tolist()))"
ANSWER = b'{"__dict__": {"ok": true, "value": %s}}\n'  # the protocol's own encoding of an answer
DTYPE_LEAK = (  # an answer whose dtype is the hidden inputs: the grader's refusal once quoted it
    "__import__('os').write(int(__import__('sys').argv[2]), b'{\"__dict__\": {\"ok\": true, \"value\": "
    "{\"__ndarray__\": {\"dtype\": \"SECRET' + " + SECRET
    + ".encode() + b'\", \"shape\": [1], \"data\": [1]}}}}\\n')"
)
ARRAY = b'{"__ndarray__": {"dtype": "float64", "shape": %s, "data": []}}'

# name: (edit, questions lost, a phrase the feedback of the first lost question (or the output) must hold)
ATTACKS: dict[str, tuple[Edit | None, set[str], str]] = {
    "honest": (None, set(), "passed"),
    # raw protocol lines written during a call: only the question that made the call is lost
    "answer_without_value": (replace(RELU, write_raw(b'{"__dict__": {"ok": true}}\n') + "; " + RELU),
                             {"relu_backward"}, "malformed answer"),
    "answer_without_its_tags": (replace(RELU, write_raw(b'{"ok": true, "value": 1}\n') + "; " + RELU),
                                {"relu_backward"}, "not plain data"),
    "event_instead_of_answer": (
        replace(SIGMOID, write_raw(b'{"__dict__": {"event": "start", "index": "0"}}\n') + "; " + SIGMOID),
        {"sigmoid_backward"}, "malformed answer"),
    "answer_not_a_dict": (replace(RELU, write_raw(b"[1, 2]\n") + "; " + RELU), {"relu_backward"}, "malformed"),
    "shape_1e20_int": (replace(COST, write_raw(ANSWER % (ARRAY % b"[0, 100000000000000000000]")) + "; " + COST),
                       {"logistic_cost"}, "an array's shape must be a list of at most 32 ints"),
    "shape_1e20_float": (replace(COST, write_raw(ANSWER % (ARRAY % b"[0, 1e20]")) + "; " + COST),
                         {"logistic_cost"}, "an array's shape must be a list of at most 32 ints"),
    "answer_of_30_mb": (
        replace(COST_BACKWARD, write_raw("b'[' + b'0,' * 15_000_000 + b'0]\\n'") + "; " + COST_BACKWARD),
        {"logistic_cost_backward"}, "larger than 8 MB"),
    "million_tiny_lists": (replace(LINEAR, write_raw("b'[' + b'[],' * 1_100_000 + b'[]]\\n'") + "; " + LINEAR),
                           {"linear_backward"}, "values"),
    "deep_nesting": (replace(SIGMOID, write_raw("b'[' * 200_000 + b']' * 200_000 + b'\\n'") + "; " + SIGMOID),
                     {"sigmoid_backward"}, "not JSON"),
    "not_json_bytes": (replace(RELU, write_raw(b"\xff\x00 garbage\n") + "; " + RELU), {"relu_backward"}, "not JSON"),
    # raw lines written while cells run: the statement is stopped and skipped, every definition survives
    "garbage_during_a_cell": (append(write_raw(b"\xff\x00 garbage\n")), set(), "stopped and skipped"),
    "forged_ready_during_a_cell": (append(write_raw(b'{"__dict__": {"event": "ready"}}\n')), set(),
                                   "malformed message"),
    "index_not_int_during_a_cell": (append(write_raw(b'{"__dict__": {"event": "cell", "index": 1.5}}\n')), set(),
                                    "malformed message"),
    # hidden inputs carried out: through a dtype string, an exception, printing, a saved global, an exit code,
    # a file read back when a restart reruns the cells
    "exfiltrate_by_dtype": (replace(LINEAR, f"if {HIDDEN_CALL}: " + DTYPE_LEAK + "\n        " + LINEAR),
                            {"linear_backward"}, HIDDEN_FAILED),
    "exfiltrate_by_exception": (replace(LINEAR, f"if {HIDDEN_CALL}: raise ValueError('SECRET' + {SECRET})\n        "
                                                + LINEAR), {"linear_backward"}, HIDDEN_FAILED),
    "exfiltrate_by_printing": (replace(LINEAR, f"if {HIDDEN_CALL}: print('SECRET', {SECRET})\n        " + LINEAR),
                               set(), "passed"),
    "exfiltrate_through_a_later_test": (
        chain(replace(LINEAR, f"if {HIDDEN_CALL}: SAVED.append({SECRET})\n        " + LINEAR),
              replace(RELU, "if SAVED: raise ValueError('SECRET' + str(SAVED))\n        " + RELU),
              lambda sources: ["SAVED = []\n" + sources[0], *sources[1:]]),
        {"relu_backward"}, HIDDEN_FAILED),
    "exfiltrate_by_timing": (replace(LINEAR, f"if {HIDDEN_CALL}: __import__('time').sleep(dZ.shape[1] / 20)\n        "
                                             + LINEAR), set(), "passed"),
    "exfiltrate_by_exit_code": (replace(LINEAR, f"if {HIDDEN_CALL}: __import__('os')._exit(dZ.shape[0])\n        "
                                                + LINEAR), {"linear_backward"}, HIDDEN_FAILED),
    "exfiltrate_through_a_restart": (
        chain(replace(LINEAR, f"if {HIDDEN_CALL}:\n            open({LEAK_FILE!r}, 'w').write('SECRET' + {SECRET})\n"
                              f"            __import__('os')._exit(1)\n        {LINEAR}"),
              append(f"import os\nif os.path.exists({LEAK_FILE!r}):\n    print(open({LEAK_FILE!r}).read())\n"
                     f"    raise ValueError(open({LEAK_FILE!r}).read())")),
        {"linear_backward"}, HIDDEN_FAILED),
    # toynet the layers assignment does not give: the reference layer, its cost helper, gradcheck, exercises
    "calls_toynet_reference": (
        chain(replace(LINEAR, "from toynet.layers import Linear as Reference\n"
                              "        return (W.T @ dZ, *Reference.backward_params(dZ, cache))\n        " + LINEAR),
              replace(COST, f"from toynet.losses import logistic_costs\n    cost = logistic_costs(A, Y).mean()\n"
                            f"    {COST}"),
              replace(COST_BACKWARD, "from toynet.gradcheck import numerical_gradient\n    "
                                     f"dA = numerical_gradient(lambda a: 0.0, A)\n    {COST_BACKWARD}"),
              replace(RELU, f"import toynet.exercises.cs231n as ref\n        ref.rel_error\n        {RELU}")),
        {"linear_backward", "logistic_cost", "logistic_cost_backward", "relu_backward"},
        "not given in this assignment"),
    # a process that outlives its grading: the parent-death signal cleared, out of the process group, a
    # non-daemon thread keeping the interpreter up once the grader hangs up, and memory held all along
    "outlives_its_grading": (append(
        "import ctypes, os, threading, time\n"
        f"ctypes.CDLL(None).prctl(15, {DAEMON_NAME.encode()!r}, 0, 0, 0)  # PR_SET_NAME\n"
        "ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG: none\n"
        "os.setsid()\n"
        "HELD = bytearray(64 << 20)\n"
        "threading.Thread(target=time.sleep, args=(3600,)).start()"), set(), "passed"),
    # floods from threads that outlive the cell: answers written ahead of every call (they cost their author
    # every question), printing without end, and a fork bomb that spins in every process it can start
    "answer_flood_thread": (  # started by the first call, which then never returns: every answer is the flood's
        replace(LINEAR, "import os, sys, threading\n        def flood():\n            while True:\n"
                        f"                os.write(int(sys.argv[2]), {ANSWER % b'1'!r})\n"
                        "        threading.Thread(target=flood, daemon=True).start()\n"
                        "        threading.Event().wait()\n        " + LINEAR),
        set(LAYERS), "expected a tuple of 3 items"),
    "print_flood_thread": (append(
        "import sys, threading\ndef flood():\n    while True:\n        sys.stdout.write('x' * 65536)\n"
        "threading.Thread(target=flood, daemon=True).start()"), set(), "first 2000 characters"),
    "fork_bomb": (append("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
                  set(), "stopped and skipped"),
    # fair idioms that must pass
    "zero_d_cost": (replace("return float(cost)", "return np.squeeze(np.array([[cost]]))"), set(), "passed"),
    "slow_demo_in_the_linear_cell": (
        replace("        return dA_prev, dW, db", "        return dA_prev, dW, db\n\n\nwhile True:\n    pass\n\n\n"
                                                 "def after_the_demo():\n    return 1"),
        set(), f"cell 4 the statement at line 19 (`while True:`) was stopped and skipped: no answer within "
               f"{LIMITS.cell_timeout:g} s"),
    "error_in_the_relu_cell": (replace("        return dZ", "        return dZ\n\n\nraise ValueError('boom')", ),
                               set(), 'cell 7 raised:\nTraceback (most recent call last):\n  File "<cell 7>", line'),
}


@pytest.fixture(scope="module")
def layers_batch(layers: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    folder = tmp_path_factory.mktemp("attackers")
    names = sorted(ATTACKS)
    paths = [variant(ASSIGNMENTS / "layers.ipynb", folder, name, ATTACKS[name][0]) for name in names]
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        results = grade_many(paths, layers, jobs=2, progress=False, limits=LIMITS)
    finally:
        Path(LEAK_FILE).unlink(missing_ok=True)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    survivors = _processes_named(DAEMON_NAME)
    for pid in survivors:  # never leave one behind, whatever the test says
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "a submission's process outlived its grading"
    # a 30 MB answer once took the grader from 74 MB to 1.56 GB: it is now refused before it is parsed
    assert (peak_after - peak_before) * 1024 < 300 << 20
    return dict(zip(names, results, strict=True))


@pytest.mark.slow(15)  # the batch graded once by the module fixture layers_batch, which these tests share
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_costs_exactly_the_questions_it_touched(layers_batch: dict[str, SubmissionResult],
                                                         attack: str) -> None:
    _, lost, phrase = ATTACKS[attack]
    result = layers_batch[attack]
    assert scores(result) == losing(LAYERS, *lost)
    text = (feedback(result, sorted(lost)[0]) if lost else feedback(result, "linear_backward")) + result.output
    assert phrase in text
    shown = json.dumps(result.gradescope())
    assert "SECRET" not in shown  # no hidden input reaches any feedback
    assert len(shown) < 30_000  # student-controlled text is truncated everywhere
    # a hidden call lasts as long as the student's code likes: no duration is shown (Gradescope's is optional)
    assert "execution_time" not in result.gradescope()


def _processes_named(name: str, settle: float = 2.0) -> list[int]:
    """Pids whose /proc/PID/comm is `name`, once any being killed have had `settle` seconds to go."""
    deadline = time.monotonic() + settle
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.slow(15)  # shares layers_batch: kept next to the tests above, on the worker that graded it
def test_hidden_failures_say_one_fixed_sentence(layers_batch: dict[str, SubmissionResult]) -> None:
    for attack in ("exfiltrate_by_dtype", "exfiltrate_by_exception", "exfiltrate_by_exit_code",
                   "exfiltrate_through_a_restart"):
        assert feedback(layers_batch[attack], "linear_backward") == HIDDEN_FAILED, attack


@pytest.mark.slow(10)
def test_stalls_across_many_cells_are_bounded_by_the_wall_clock(layers: Path, tmp_path: Path) -> None:
    """Each cell stays under its own limit, but their total does not: the wall clock stops them, and
    slow-plus-hanging pairs (each hang restarts the process, which reruns every slow cell) cannot grow.

    A submission that starts 60 spinning processes, each in a session of its own, must not starve the
    classmates graded beside it (--jobs 2) into their cell limits: it gets at most one CPU in all.
    """
    # 14 slow cells take 21 s, far past the wall clock; every honest notebook takes well under 1 s of it
    limits = Limits(question_timeout=3, cell_timeout=2, wall_clock=5)
    slow = "import time\ntime.sleep(1.5)"
    spin = ("import os\nfor _ in range(60):\n    try:\n        if os.fork() == 0:\n            os.setsid()\n"
            "            while True:\n                pass\n    except OSError:\n        break")
    stalls = {
        "spinner": append(spin, *[slow] * 14),
        "honest": None,
        "honest_2": None,
        "honest_3": None,
        "many_slow_cells": append(*[slow] * 14),
        "slow_and_hanging_pairs": append(*[slow, "while True:\n    pass"] * 6),
    }
    paths = [variant(ASSIGNMENTS / "layers.ipynb", tmp_path, name, edit) for name, edit in stalls.items()]
    results = dict(zip(stalls, grade_many(paths, layers, jobs=2, progress=False, limits=limits), strict=True))
    for name in ("honest", "honest_2", "honest_3"):
        assert results[name].score == sum(LAYERS.values()), (name, results[name].output)
    for name in ("spinner", "many_slow_cells", "slow_and_hanging_pairs"):
        result = results[name]
        assert result.score == 0
        assert result.seconds < limits.wall_clock + 3, result.seconds
        assert f"the wall-clock limit of {limits.wall_clock:g} s was reached" in result.output


# ---------------------------------------------------------------- gradient checking: what it gives, and no more


@pytest.mark.slow(2)
def test_gradient_checking_gives_only_the_course_helpers(tmp_path: Path) -> None:
    built = build(ASSIGNMENTS / "gradient_checking.ipynb", tmp_path / "built")
    assert built.solution.score == 8 and built.stubbed.score == 0
    assert built.given == ["toynet.params:dictionary_to_vector", "toynet.params:gradients_to_vector",
                           "toynet.params:vector_to_dictionary"]
    notebooks = {
        "honest": None,
        "zero_d_answers": chain(
            replace("J = theta * x", "J = np.squeeze(np.array([[theta * x]]))"),
            replace("dtheta = x", "dtheta = np.asarray(x)"),
            replace("difference = float(numerator / denominator)",
                    "difference = np.squeeze(np.array([[numerator / denominator]]))")),
        "calls_toynet_reference": chain(
            replace("    parameters_values, _ = dictionary_to_vector(parameters)",
                    "    from toynet.gradcheck import gradient_check_n as reference\n"
                    "    return reference(parameters, gradients, X, Y, epsilon)\n"
                    "    parameters_values, _ = dictionary_to_vector(parameters)"),
            replace("    thetaplus = theta + epsilon",
                    "    from toynet.exercises.gradient_checking import gradient_check as reference\n"
                    "    return reference(x, theta, epsilon)\n    thetaplus = theta + epsilon")),
    }
    paths = [variant(ASSIGNMENTS / "gradient_checking.ipynb", tmp_path, name, edit) for name, edit in notebooks.items()]
    honest, zero_d, reference = grade_many(paths, built.autograder, jobs=2, progress=False)
    assert scores(honest) == GRADIENT_CHECKING
    assert scores(zero_d) == GRADIENT_CHECKING
    assert scores(reference) == losing(GRADIENT_CHECKING, "gradient_check", "gradient_check_n")
    assert "toynet.gradcheck.gradient_check_n is not given" in feedback(reference, "gradient_check_n")


def test_notebooks_that_are_not_what_they_seem_get_a_result_each(layers: Path, tmp_path: Path) -> None:
    """Malformed notebooks cost their author, with a reason; the honest notebook in the batch is untouched.

    Question metadata that is not a dict makes the test cells ordinary cells: they run in the student process
    (where the grader's checks cannot be imported) and the grader's own tests still grade the functions.
    """
    honest = variant(ASSIGNMENTS / "layers.ipynb", tmp_path, "honest", None)
    solution = json.loads(honest.read_text())
    odd = {
        "cells_not_a_list": {**solution, "cells": 5},
        "source_not_text": {**solution, "cells": [{"cell_type": "code", "id": "c1", "source": 12, "metadata": {},
                                                   "outputs": [], "execution_count": None}]},
        "question_metadata_not_a_dict": {**solution, "cells": [
            {**cell, "metadata": {"toynet": "x"}} if cell["cell_type"] == "code" else cell
            for cell in solution["cells"]]},
        "too_large": {**solution, "metadata": {"padding": "x" * (17 << 20)}},
    }
    paths = [honest]
    for name, notebook in odd.items():
        paths.append(tmp_path / f"{name}.ipynb")
        paths[-1].write_text(json.dumps(notebook))
    results = grade_many(paths, layers, jobs=2, progress=False, limits=LIMITS)
    full = sum(LAYERS.values())
    assert [r.score for r in results] == [full, 0, 0, full, 0]
    for result in results[1:]:
        assert result.output and all(q.feedback for q in result.questions)
    assert "No module named 'toynet.grading'" in results[3].output
    assert "at most 16 MB are graded" in results[-1].output
