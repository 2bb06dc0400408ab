"""The trusted checks and the static reading of answers (fast: no kernel, no nbgrader run).

The end-to-end behaviour (a class of attackers graded on every route) is in
test_grading_attacks.py.
"""
from __future__ import annotations

import asyncio
import base64
import importlib
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from instructor_grading import checks
from instructor_grading.forbidden import find_forbidden
from instructor_grading.remote import CheckFailed, Notebook, decode

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.stem for p in (ROOT / "solutions").glob("*.md"))
SETUP = (0, "setup", "import torch\nimport numpy as np\nimport mle_helpers as mh\n%matplotlib inline", False)
FORBIDDEN = {"task": set(checks.Task("task", answers=["answer"], allowed={"L"}).forbidden())}


def public_names() -> set[str]:
    """Every public name of mle_helpers: the package's __all__ and each public module's __all__."""
    import mle_helpers

    names = set(mle_helpers.__all__)
    for module_name in ("data", "estimators", "ascent", "checks", "likelihood", "plotting"):
        module = importlib.import_module(f"mle_helpers.{module_name}")
        names |= {module_name} | {f"{module_name}.{name}" for name in module.__all__}
    aliases = {"likelihood.L": "L", "likelihood.loglik_grid": "loglik_grid", "plotting.set_theme": "set_theme",
               "plotting.PALETTE": "PALETTE", "plotting.HEATMAP_CMAP": "HEATMAP_CMAP",
               "plotting.vizualize": "vizualize", "plotting.visualize": "visualize"}
    return {aliases.get(name, name) for name in names}


def test_every_public_name_of_mle_helpers_is_classified():
    """A name added to mle_helpers must be declared a tool (any task may use it) or a reference (forbidden
    unless a task allows it): otherwise students could call a new reference implementation unnoticed."""
    unclassified = public_names() - checks.TOOLS - checks.REFERENCES
    assert not unclassified, f"classify these in instructor_grading/checks/__init__.py: {sorted(unclassified)}"
    assert not checks.TOOLS & checks.REFERENCES


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_has_a_trusted_check_and_every_task_its_answers(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    meta = [cell.metadata.get("nbgrader", {}) for cell in nb.cells]
    tests = {m["grade_id"] for m in meta if m.get("grade") and not m.get("solution") and "points" in m}
    answers = {m["grade_id"] for m in meta if m.get("solution") and not m.get("grade")}
    trusted = checks.load(assignment)
    assert trusted is not None, f"instructor_grading/checks/{assignment}.py is missing"
    assert set(trusted.checks) == tests, f"checks for {sorted(set(trusted.checks) ^ tests)} differ from the test cells"
    for task in trusted.tasks:
        assert set(task.answers) <= answers, f"{task.name} names answer cells {task.answers} not in the notebook"


def test_the_course_secret_student_and_cell_choose_the_data():
    draw = lambda *key: checks.rng_for(b"s" * 32, *key).normal(size=3).tolist()
    assert draw("ada", "ps1", "test_x") == draw("ada", "ps1", "test_x")
    assert draw("ada", "ps1", "test_x") != draw("bob", "ps1", "test_x") != draw("ada", "ps1", "test_y")
    assert checks.rng_for(b"t" * 32, "ada", "ps1", "test_x").normal() != checks.rng_for(b"s" * 32, "ada", "ps1", "test_x").normal()


SPELLINGS = {
    "a direct call": "def f(x):\n    return mh.estimators.gaussian_mle(x)",
    "from ... import ... as": "from mle_helpers.estimators import gaussian_mle as g\ndef f(x): return g(x)",
    "a module alias": "e = mh.estimators\ndef f(x): return e.gaussian_mle(x)",
    "a package alias": "m = mh\ndef f(x): return m.ascent.gradient_ascent(x)",
    "import ... as": "import mle_helpers.ascent as a\nf = a.optimizer_path",
    "a copied function object": "import copy\ng = copy.copy(mh.estimators.linreg_mle)",
    "getattr on the package": "def f(x): return getattr(mh, 'estim' + 'ators').gaussian_mle(x)",
    "importlib": "import importlib\nf = importlib.import_module('mle_helpers.estimators').gaussian_mle",
    "__import__": "f = __import__('mle_helpers.estimators')",
    "exec": "exec('from mle_helpers.estimators import gaussian_mle')",
    "eval": "f = eval('mh.' + 'estimators')",
    "__dict__": "f = mh.__dict__['estimators']",
    "sys.modules": "import sys\nf = sys.modules['mle_helpers.estimators']",
    "the module passed around": "def f(m): return m\nf(mh)",
    "a third-party fit": "def f(x, y): return np.polyfit(x, y, 1)",
    "scipy": "from scipy import optimize",
    "IPython's machinery": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
    "a magic that runs code": "%time f = mh.estimators.gaussian_mle",
    "a star import": "from mle_helpers.estimators import *",
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_forbidden_reference_is_found_in_every_spelling(spelling):
    found = find_forbidden([SETUP, (1, "answer", SPELLINGS[spelling], True)], FORBIDDEN, {"answer": "task"})["task"]
    assert found and found[0].cell == 1 and found[0].grade_id == "answer", spelling


@pytest.mark.parametrize("source", [
    "import sys, inspect, types\nprint(sys.version)",  # harmless modules are not findings
    "def f(X, mu, sigma):\n    return mh.L(X, mu, sigma)",  # allowed by the task
    "from mle_helpers import L\nax = mh.vizualize(X, [mu], sigma)",
    "x = mh.data.sample_gaussian(10, 0.0, 1.0, seed=0)\nmh.checks.check_close('x', x, x)",
    "opt = torch.optim.Adam([mu], lr=0.1)\nimport math\nimport matplotlib.pyplot as plt",
])
def test_allowed_references_and_tools_are_not_findings(source):
    assert find_forbidden([SETUP, (1, "answer", source, True)], FORBIDDEN, {"answer": "task"})["task"] == []


def test_a_locked_cell_binds_names_and_an_added_cell_counts_against_every_task():
    forbidden = {"one": FORBIDDEN["task"], "two": FORBIDDEN["task"]}
    cells = [SETUP, (1, None, "g = mh.estimators.gaussian_mle", True)]
    found = find_forbidden(cells, forbidden, {})
    assert [f.grade_id for f in found["one"]] == [None] and found["two"]  # named as a cell the student added
    assert find_forbidden([(0, "setup", "g = mh.estimators.gaussian_mle", False)], forbidden, {})["one"] == []


def reply(payload: str) -> dict:
    return {"user_expressions": {"reply": {"status": "ok", "data": {"text/plain": repr(payload)}}}}


def test_the_data_channel_decodes_data_and_never_runs_what_the_kernel_sends():
    raw = base64.b64encode(np.array([1.0, 2.0]).tobytes()).decode()
    answer = json.dumps({"value": {"__kind__": "array", "dtype": "float32", "shape": [2], "b64": raw,
                                   "requires_grad": False}})
    got = Notebook(lambda code, timeout, expressions: reply(answer), 5).get("x")
    assert got.dtype == torch.float32 and got.tolist() == [1.0, 2.0]
    hostile = "__import__('os').system('touch /tmp/pwned')"
    with pytest.raises(CheckFailed, match="no readable answer"):
        Notebook(lambda code, timeout, expressions: {"user_expressions": {"reply": {
            "status": "ok", "data": {"text/plain": hostile}}}}, 5).get("x")
    assert decode({"__kind__": "function", "name": "f"}) == {"kind": "function", "name": "f"}
    with pytest.raises(CheckFailed, match="not defined"):
        Notebook(lambda code, timeout, expressions: reply(json.dumps({"missing": "f"})), 5).call("f")
    with pytest.raises(CheckFailed, match="did not answer"):
        Notebook(lambda code, timeout, expressions: None, 5).call("f")


def test_a_task_that_asks_for_a_method_needs_it_in_its_answers():
    """The closed-form gradient reproduces gradient ascent's numbers; the task asks for mh.L and autograd."""
    required = {"task": [("L",), ("backward", "torch.autograd.grad")]}
    by_hand = "def f(X, sigma, mu):\n    return torch.linalg.solve(sigma, (X - mu).sum(0))"
    found = find_forbidden([SETUP, (1, "answer", by_hand, True)], FORBIDDEN, {"answer": "task"}, required)["task"]
    assert [f.name for f in found] == ["L", "backward or torch.autograd.grad"]
    for autograd in ("mh.L(X, mu, sigma).backward()", "g, = torch.autograd.grad(mh.L(X, mu, sigma), mu)",
                     "from mle_helpers.likelihood import L as lik\nlik(X, mu, sigma).backward()"):
        assert not find_forbidden([SETUP, (1, "answer", autograd, True)], FORBIDDEN, {"answer": "task"}, required)["task"]


def test_a_reference_reached_through_another_course_module_is_found():
    for source in ("from mle_helpers.checks import estimators as e\nf = e.gaussian_mle",
                   "f = mh.checks.estimators.linreg_mle", "f = mh.checks.np.polyfit"):
        assert find_forbidden([SETUP, (1, "answer", source, True)], FORBIDDEN, {"answer": "task"})["task"], source


def test_the_sandbox_can_reach_a_python_environment_wherever_it_lives(tmp_path, monkeypatch):
    """Every folder above a bound path is made traversable inside (a venv under /tmp or /root included)."""
    from instructor_grading import sandbox
    from instructor_grading.sandbox import SandboxedKernelManager, _python_roots

    roots = _python_roots() + [str(tmp_path / "clone" / ".venv")]  # a fresh clone in /tmp, as CI may make
    monkeypatch.setattr(sandbox, "_python_roots", lambda: roots)
    manager = SandboxedKernelManager()
    try:
        command = manager.sandbox_command(["python"])
    finally:
        asyncio.run(manager.cleanup_resources())
    made = {command[i + 1] for i, arg in enumerate(command) if arg == "--dir"}
    bound = {command[i + 1] for i, arg in enumerate(command) if arg in ("--ro-bind", "--bind")}
    for root in roots:
        assert root in bound
        parents = {str(p) for p in Path(root).parents if str(p) not in ("/", "/tmp")}
        assert parents <= made, f"{root}: {sorted(parents - made)} would not be traversable in the sandbox"
