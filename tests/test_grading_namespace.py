"""Tests as instructors write them, through the real sandbox: a test sees the student's notebook.

Each notebook here is graded by `grade_submission` as `toynet grade` grades a class: the cells run in the
student's sandboxed process, the test code runs in the grader with globals that reach the student's names
and objects through handles. The expected values come from independent formulas written in the tests
(a finite difference, a closed form), never from the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from toynet.grading.grade import HIDDEN_FAILED, Bundle, Question, SubmissionResult, grade_submission
from toynet.grading.sandbox import Limits

LIMITS = Limits(question_timeout=15, cell_timeout=15, wall_clock=90)

NET = '''
import numpy as np


class TwoLayerNet:
    """cs231n's two-layer net: row-major X (N, D), softmax loss."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-1):
        rng = np.random.RandomState(0)
        self.params = {"W1": std * rng.randn(input_size, hidden_size), "b1": np.zeros(hidden_size),
                       "W2": std * rng.randn(hidden_size, output_size), "b2": np.zeros(output_size)}

    def loss(self, X, y, reg=0.0):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        N = X.shape[0]
        loss = -np.log(p[np.arange(N), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = p.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads = {"W2": h.T @ dscores + 2 * reg * W2, "b2": dscores.sum(axis=0)}
        dh = dscores @ W2.T
        dh[h <= 0] = 0
        grads["W1"] = X.T @ dh + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads


def eval_numerical_gradient(f, x, verbose=True, h=0.00001):
    """cs231n's: perturbs x in place, one entry at a time, and calls f(x) twice per entry."""
    fx = f(x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad
'''

REL_ERROR = "def rel_error(x, y):\n    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))\n"


def notebook(tmp_path: Path, cells: list[str], name: str = "submission") -> Path:
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path)
    return path


def grade(tmp_path: Path, cells: list[str], tests: dict[str, str | tuple[str, str]],
          packages: tuple[str, ...] = (), limits: Limits = LIMITS) -> SubmissionResult:
    """Grade `cells` against one question per test (public code, or (public, hidden)), one point each."""
    questions = [Question(name, 1.0, *((code, "") if isinstance(code, str) else code)) for name, code in tests.items()]
    bundle = Bundle("t", questions, functions=[], gives=[], packages=list(packages))
    bundle.save(tmp_path / "bundle")
    return grade_submission(notebook(tmp_path, cells), bundle, tmp_path / "bundle", limits=limits)


def feedback(result: SubmissionResult) -> dict[str, str]:
    return {q.name: q.feedback for q in result.questions}


def assert_full_marks(result: SubmissionResult) -> None:
    assert result.score == result.max_score, json.dumps(result.gradescope(), indent=1)


# ---------------------------------------------------------------- the student's namespace


@pytest.mark.slow(3)
def test_tests_see_the_notebooks_imports_values_functions_and_objects(tmp_path: Path) -> None:
    cells = [
        NET,
        "X = np.arange(20.0).reshape(5, 4) / 10 - 0.9\ny = np.array([0, 1, 2, 2, 1])\nscale = 2.5",
        "squares = [1, 4, 9]\n\ndef sum_of_squares():\n    return sum(squares)",
    ]
    tests = {
        # `np` is the grader's numpy (a module is not data), X and scale are what the earlier cell computed
        "uses_np_and_earlier_values": "import numpy\nassert np is numpy\n"
                                      "expected = (np.arange(20.0).reshape(5, 4) / 10 - 0.9) * 2.5\n"
                                      "assert np.allclose(X * scale, expected)\n"
                                      "assert X.shape == (5, 4) and scale == 2.5",
        # cs231n's check: the student's eval_numerical_gradient perturbs net.params[name] (the student's own
        # array, through its handle) and calls the test's lambda, which calls net.loss in the student process
        "numerical_gradient_with_a_lambda": REL_ERROR
        + "net = TwoLayerNet(4, 5, 3)\nloss, grads = net.loss(X, y, reg=0.05)\n"
          "for name in sorted(grads):\n"
          "    f = lambda W: net.loss(X, y, reg=0.05)[0]\n"
          "    num = eval_numerical_gradient(f, net.params[name], verbose=False)\n"
          "    assert rel_error(num, grads[name]) < 1e-6, name\n"
          "    assert np.abs(num).max() > 1e-4, name  # a zero gradient: the perturbations missed the array",
        # a test that perturbs a student object's array in place, by hand: a central difference
        "perturbs_params_in_place": "net = TwoLayerNet(4, 5, 3)\nloss, grads = net.loss(X, y)\nh = 1e-5\n"
                                    "net.params['W1'][1, 2] += h\nplus = net.loss(X, y)[0]\n"
                                    "net.params['W1'][1, 2] -= 2 * h\nminus = net.loss(X, y)[0]\n"
                                    "net.params['W1'][1, 2] += h\n"
                                    "assert abs((plus - minus) / (2 * h) - grads['W1'][1, 2]) < 1e-7\n"
                                    "assert net.loss(X, y)[0] == loss  # put back exactly",
        # deleting a name reaches the student's globals: sum_of_squares must now fail in the student's code
        "del_reaches_the_student": "assert sum_of_squares() == 14\nsquares = [4, 9]\nassert sum_of_squares() == 13\n"
                                   "del squares\ntry:\n    sum_of_squares()\nexcept NameError as error:\n"
                                   "    assert 'squares' in str(error)\nelse:\n"
                                   "    raise AssertionError('sum_of_squares still found squares')",
    }
    result = grade(tmp_path, cells, tests)
    assert_full_marks(result)


@pytest.mark.slow(3)
def test_changes_in_place_travel_both_ways(tmp_path: Path) -> None:
    cells = [
        "import numpy as np\n\n"
        "def center_(x):\n    x -= x.mean()\n\n"
        "def add_key(d, key):\n    d[key] = len(d)\n\n"
        "def extend(items):\n    items.append(len(items))\n\n"
        "def fill_with(f):\n    a = np.zeros(3)\n    f(a)\n    return a\n\n"
        "class Accumulator:\n    def __init__(self):\n        self.total = 0\n\n"
        "def add_to(acc, amount):\n    acc.total += amount\n    return acc\n\n"
        "def restores(x):\n    x[0] += 1.0\n    x[0] -= 1.0\n    return float(x.sum())",
    ]
    tests = {
        "arrays_dicts_lists": "x = np.array([1.0, 2.0, 6.0])\nkept = x\ncenter_(x)\nassert kept is x\n"
                              "assert np.allclose(x, [-2.0, -1.0, 3.0])\n"
                              "d = {'a': 5}\nadd_key(d, 'b')\nassert d == {'a': 5, 'b': 1}\n"
                              "items = [7]\nextend(items)\nassert items == [7, 1]",
        # the test's function changes the array the student passed it: the student's array changes
        "a_test_lambda_changes_the_students_array": "def fill(a):\n    a[:] = 7.0\n"
                                                    "assert np.allclose(fill_with(fill), [7.0, 7.0, 7.0])",
        # a student object created in the test and passed back to a student function stays that object
        "objects_stay_handles": "acc = Accumulator()\nback = add_to(acc, 5)\nassert acc.total == 5\n"
                                "assert back == acc and isinstance(acc, Accumulator)\n"
                                "acc.total = 10\nadd_to(acc, 1)\nassert acc.total == 11",
        "unchanged_arguments_stay": "x = np.array([1.0, 2.0])\nassert restores(x) == 3.0\n"
                                    "assert np.array_equal(x, [1.0, 2.0])",
    }
    assert_full_marks(grade(tmp_path, cells, tests))


@pytest.mark.slow(3)
def test_hidden_parts_keep_their_names_and_asserts_explain_public_failures(tmp_path: Path) -> None:
    cells = [
        "calls = []\n\ndef double(x):\n    calls.append(x)\n    return 2 * x\n\n"
        "def peek(name):\n    return globals().get(name, 'absent')",
    ]
    tests = {
        "failing_assert": "assert double(2) == 5, 'double is off'",
        "side_effects_once": "assert calls == [2], calls",  # runs after failing_assert's public part
        # a hidden part binds an expected value: it must not reach the student's globals
        "hidden_names_stay": ("assert peek('expected_secret') == 'absent'",
                              "expected_secret = 42\nassert peek('expected_secret') == 'absent'\n"
                              "assert double(1) == 2"),
        "hidden_failure": ("assert True", "assert double(3) == 7, 'the hidden value is 7'"),
        "public_names_reach": "pushed = 5\nassert peek('pushed') == 5\nlast = [1, 2]",
        "a_later_test_sees_them": "assert peek('last') == [1, 2]",
    }
    result = grade(tmp_path, cells, tests)
    said = feedback(result)
    assert {q.name: q.score for q in result.questions} == {
        "failing_assert": 0, "side_effects_once": 1, "hidden_names_stay": 1, "hidden_failure": 0,
        "public_names_reach": 1, "a_later_test_sees_them": 1}, said
    assert "double is off" in said["failing_assert"]
    assert "assert double(2) == 5" in said["failing_assert"]
    assert "double(2) = 4" in said["failing_assert"]
    assert said["hidden_failure"] == HIDDEN_FAILED


def test_assert_rewriting_evaluates_each_part_once_in_order() -> None:
    """Pure Python, no sandbox: the rewritten assert has the semantics of the plain one, plus an explanation."""
    import ast

    from toynet.grading.asserts import EXPLAIN, explain, rewrite_asserts

    source = ("log = []\ndef f(x):\n    log.append(x)\n    return x\n"
              "assert f(1) < f(2), f'message {len(log)}'\n"
              "try:\n    assert f(3) == f(4), 'no'\nexcept AssertionError as e:\n    text = str(e)\n"
              "try:\n    assert g(f(5), k=f(6))\nexcept AssertionError as e:\n    call = str(e)\n")
    namespace = {EXPLAIN: explain, "g": lambda a, k: a > k}
    exec(compile(rewrite_asserts(ast.parse(source), source), "<t>", "exec"), namespace)
    assert namespace["log"] == [1, 2, 3, 4, 5, 6]
    assert namespace["text"] == "no\nassert f(3) == f(4)\n  f(3) = 3\n  f(4) = 4"
    assert namespace["call"] == "assert g(f(5), k=f(6))\n  f(5) = 5\n  k = 6"


# ---------------------------------------------------------------- what students import, and magics


FAIR_CELLS = [
    "import matplotlib.pyplot as plt\nimport numpy as np\n%matplotlib inline",
    "from scipy.special import expit\nfrom IPython.display import display, HTML, Markdown, clear_output\n"
    "from tqdm import tqdm\nfrom tqdm.auto import trange",
    "files = !ls\n\ndef sigmoid(z):\n    return expit(z)\n\ntotal = 0\nfor i in tqdm(range(5)):\n    total += i\n"
    "display(HTML('<b>done</b>'), Markdown('**ok**'))\nclear_output(wait=True)",
    "%%script false\ndef sigmoid(z):\n    raise NotImplementedError('the old stub')",
    "%%writefile helper_data.txt\n3.5\n",
    "with open('helper_data.txt') as handle:\n    VALUE = float(handle.read())\n\n"
    "fig, ax = plt.subplots()\nax.plot(np.arange(3), sigmoid(np.arange(3)))\nplt.title('sigmoid')\nplt.show()\n"
    "!pip install something",
    "%%capture captured\nprint('hidden from the output')\nCAPTURED_VALUE = 11",
    "%time slow = sum(range(10))\nnp.sum?\ntimed = %time sum(range(4))",
    "%%bash\nrm -rf ~\ndef sigmoid(z): broken",
    "%%html\n<b>not Python</b>",
]


@pytest.mark.slow(5)
def test_a_fair_notebook_with_imports_and_magics_gets_full_marks(tmp_path: Path) -> None:
    tests = {
        "sigmoid": "import math\nassert abs(sigmoid(0.5) - 1 / (1 + math.exp(-0.5))) < 1e-12\n"
                   "assert np.allclose(sigmoid(np.array([-1.0, 2.0])), 1 / (1 + np.exp(-np.array([-1.0, 2.0]))))",
        "loop_and_files": "assert total == 10\nassert files == []",
        "writefile": "assert VALUE == 3.5",
        "capture": "assert CAPTURED_VALUE == 11\nassert captured.stdout == 'hidden from the output\\n'\n"
                   "assert slow == 45 and timed == 6",
    }
    result = grade(tmp_path, FAIR_CELLS, tests, packages=("scipy",))
    assert_full_marks(result)
    assert "Writing helper_data.txt" in result.output
    assert "is not run while grading" in result.output  # `!ls` and `!pip` are said not to run
    assert "a %%bash cell is not run while grading" in result.output
    assert "hidden from the output" not in result.output
    assert "raised" not in result.output, result.output  # no cell lost to a SyntaxError or a missing module
    assert "font cache" not in result.output  # the grader's prepared font list was used, not rebuilt


def test_an_assignment_may_list_only_installed_packages(tmp_path: Path) -> None:
    from toynet.grading.assign import AssignmentError, load_config

    source = tmp_path / "hw.ipynb"
    (tmp_path / "config.json").write_text(json.dumps({"hw": {"packages": ["scipy"]}}))
    assert load_config(source)["packages"] == ["scipy"]
    (tmp_path / "config.json").write_text(json.dumps({"hw": {"packages": ["no-such-package-here"]}}))
    with pytest.raises(AssignmentError, match="'no-such-package-here' is not installed where toynet grades"):
        load_config(source)


@pytest.mark.slow(3)
def test_packages_not_listed_are_not_importable(tmp_path: Path) -> None:
    result = grade(tmp_path, ["import numpy as np\ntry:\n    import scipy\n    HAS = True\nexcept ImportError:\n"
                              "    HAS = False"], {"no_scipy": "assert HAS is False"})
    assert_full_marks(result)


# ---------------------------------------------------------------- attacks on handles and callbacks

HONEST = {
    "imports": "import numpy as np\nKEPT = []\nSEEN = []",
    "apply": "def apply(f, x):\n    return f(x)",
    "Counter": "class Counter:\n    def __init__(self):\n        self.count = 0\n\n"
               "    def add(self, n):\n        self.count += n",
    "make_array": "def make_array():\n    return np.array([1.0, 2.0])",
    "make_value": "def make_value():\n    return 42",
    "later": "def later(x):\n    return x",
}
HANDLE_TESTS = {
    "callback": "assert apply(lambda v: v * 2, 3) == 6",
    "object": "c = Counter()\nc.add(2)\nassert c.count == 2",
    "array": "assert np.allclose(make_array(), [1.0, 2.0])",
    "equal": "assert make_value() == 42",
    "after": "assert later(5) == 5\nassert SEEN == []",
}
# name: (the cells replaced, the questions lost, a phrase the first lost question's feedback holds)
HANDLE_ATTACKS: dict[str, tuple[dict[str, str], set[str], str]] = {
    "honest": ({}, set(), "passed"),
    # a callback number it was not handed: refused, and the refusal is all its code gets
    "forged_callback": ({"apply": "def apply(f, x):\n    return type(f)(f._server, f._number + 7)(x)"},
                        {"callback"}, "GraderRefused: the grader refused"),
    # a callback kept past its test and called from a later one
    "stale_callback": ({"apply": "def apply(f, x):\n    KEPT.append(f)\n    return f(x)",
                        "later": "def later(x):\n    return KEPT[0](x)"}, {"after"}, "GraderRefused"),
    "callback_flood": ({"apply": "def apply(f, x):\n    while True:\n        f(x)"}, {"callback"}, "no answer within"),
    "huge_object_graph": ({"make_array": "def make_array():\n    return [object() for _ in range(20_000)]"},
                          {"array"}, "more than 10000 objects"),
    "looping_attribute_lookup": ({"Counter": "class Counter:\n    def __getattribute__(self, name):\n"
                                             "        while True:\n            pass"}, {"object"}, "no answer within"),
    "always_equal": ({"make_value": "def make_value():\n    class E:\n        def __eq__(self, other):\n"
                                    "            return True\n    return E()"}, {"equal"}, "assert make_value() == 42"),
    "array_protocol_object": ({"make_array": "def make_array():\n    class A:\n        def __array__(self, *a, **k):\n"
                                             "            return np.array([1.0, 2.0])\n    return A()"},
                              {"array"}, "not data"),
    "looping_repr": ({"make_value": "def make_value():\n    class R:\n        def __repr__(self):\n"
                                    "            while True:\n                pass\n    return R()"},
                     {"equal"}, "assert make_value() == 42"),
    # an object that would read what it is compared with: the comparison never reaches it
    "spies_on_expected_values": ({"make_value": "def make_value():\n    class Spy:\n        def __eq__(self, other):\n"
                                                "            SEEN.append(other)\n            return True\n"
                                                "    return Spy()"}, {"equal"}, "assert make_value() == 42"),
}


@pytest.mark.slow(20)
def test_attacks_on_handles_and_callbacks_cost_exactly_their_questions(tmp_path: Path) -> None:
    from toynet.grading.grade import grade_many

    questions = [Question(name, 1.0, code) for name, code in HANDLE_TESTS.items()]
    Bundle("t", questions, functions=[], gives=[]).save(tmp_path / "bundle")
    paths = [notebook(tmp_path, list({**HONEST, **cells}.values()), name)
             for name, (cells, _, _) in HANDLE_ATTACKS.items()]
    limits = Limits(question_timeout=6, cell_timeout=10, wall_clock=90)  # honest questions: far below, even loaded
    results = dict(zip(HANDLE_ATTACKS, grade_many(paths, tmp_path / "bundle", jobs=2, progress=False, limits=limits),
                       strict=True))
    for name, (_, lost, phrase) in HANDLE_ATTACKS.items():
        result = results[name]
        assert {q.name: q.score for q in result.questions} == {q: 0 if q in lost else 1 for q in HANDLE_TESTS}, \
            (name, feedback(result))
        said = feedback(result)[sorted(lost)[0]] if lost else feedback(result)["callback"]
        assert phrase in said, (name, said)


# ---------------------------------------------------------------- the pieces, without a sandbox


def test_references_need_both_sides_hooks_and_slices_are_data() -> None:
    import numpy as np

    from toynet.grading import protocol

    with pytest.raises(protocol.ProtocolError, match="not plain data"):
        protocol.dumps(lambda: 1)  # no refer: a function is refused, as before
    line = protocol.dumps({"f": len}, refer=lambda value: {"handle": 7})
    with pytest.raises(protocol.ProtocolError, match="not plain data"):
        protocol.loads(line)  # no resolve: a reference is refused
    assert protocol.loads(line, resolve=lambda fields: ("resolved", fields)) == {"f": ("resolved", {"handle": 7})}
    key = (slice(None, 2), Ellipsis, slice(1, None, -1))
    assert protocol.loads(protocol.dumps(key)) == key
    kept = np.zeros((2, 2))
    holder = [kept, {"a": [1]}]
    assert protocol.write_back(holder, [np.ones((2, 2)), {"a": [1, 2]}]) is holder
    assert holder[0] is kept and kept.sum() == 4 and holder[1] == {"a": [1, 2]}


def test_magics_become_python_that_the_sandbox_shell_runs() -> None:
    from toynet.grading.magics import MAX_CELL, python_of

    assert python_of("x = 1\n") == "x = 1\n"  # no magic: untouched, IPython not needed
    assert python_of("files = !ls\ny = 2") == "files = get_ipython().getoutput('ls')\ny = 2\n"
    assert python_of("%%script false\nraise X") == "get_ipython().run_cell_magic('script', 'false', 'raise X\\n')\n"
    nested = python_of("%%capture out\n!pip install x\nz = 3")
    assert "get_ipython().system('pip install x')" in nested and nested.startswith("get_ipython().run_cell_magic(")
    huge = "%matplotlib inline\n" + "a = 1\n" * (MAX_CELL // 6)
    assert python_of(huge).startswith("# %matplotlib inline\n")  # too large for the transformer: commented out



@pytest.mark.slow(8)
def test_an_assignment_written_as_a_course_writes_it_builds_and_grades(tmp_path: Path) -> None:
    """Through `toynet assign`: the solution scores full marks, the student copy zero, a partly wrong one its points."""
    from toynet.grading.assign import build

    solution_net = NET.replace("        W1, b1, W2, b2 = (", "        ### BEGIN SOLUTION\n        W1, b1, W2, b2 = (") \
        .replace("        return loss, grads\n", "        return loss, grads\n        ### END SOLUTION\n")
    cells = [
        nbformat.v4.new_markdown_cell("# Sigmoid and a two-layer net"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                                  "from scipy.special import expit\nfrom IPython.display import display\n"
                                  "from tqdm import tqdm"),
        nbformat.v4.new_code_cell("files = !ls\n\ndef sigmoid(z):\n    ### BEGIN SOLUTION\n    return expit(z)\n"
                                  "    ### END SOLUTION"),
        nbformat.v4.new_code_cell(solution_net),
        nbformat.v4.new_code_cell("X = np.linspace(-1, 1, 20).reshape(5, 4)\ny = np.array([0, 1, 2, 2, 1])"),
        nbformat.v4.new_code_cell(
            "assert abs(sigmoid(0.0) - 0.5) < 1e-12\n### BEGIN HIDDEN TESTS\n"
            "assert abs(sigmoid(2.0) - 1 / (1 + np.exp(-2.0))) < 1e-12\n### END HIDDEN TESTS",
            metadata={"toynet": {"question": "sigmoid", "points": 1}}),
        nbformat.v4.new_code_cell(
            REL_ERROR + "net = TwoLayerNet(4, 5, 3)\nloss, grads = net.loss(X, y, reg=0.1)\n"
            "for name in ('W1', 'b2'):\n    f = lambda W: net.loss(X, y, reg=0.1)[0]\n"
            "    num = eval_numerical_gradient(f, net.params[name], verbose=False)\n"
            "    assert rel_error(num, grads[name]) < 1e-6, name",
            metadata={"toynet": {"question": "two_layer_net", "points": 3}}),
    ]
    source = tmp_path / "course.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), source)
    (tmp_path / "config.json").write_text(json.dumps({"course": {"packages": ["scipy"]}}))
    built = build(source, tmp_path / "out")
    assert (built.solution.score, built.stubbed.score) == (4, 0), json.dumps(built.solution.gradescope())
    wrong = nbformat.read(source, as_version=4)
    wrong.cells[3].source = wrong.cells[3].source.replace("2 * reg * W1", "reg * W1")  # a regularisation slip
    nbformat.write(wrong, tmp_path / "wrong.ipynb")
    bundle = Bundle.load(built.autograder)
    graded = grade_submission(tmp_path / "wrong.ipynb", bundle, built.autograder)
    assert {q.name: q.score for q in graded.questions} == {"sigmoid": 1, "two_layer_net": 0}
    said = graded.questions[1].feedback  # the message, the expression, the values compared
    assert said.startswith("test failed: W1\nassert rel_error(num, grads[name]) < 1e-6\n"
                           "  rel_error(num, grads[name]) = ")
