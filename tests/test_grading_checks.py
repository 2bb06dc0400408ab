"""The trusted checks and the static reading of answers (fast: no kernel, no nbgrader run).

The end-to-end behaviour (a class of attackers graded on every route) is in
test_grading_attacks.py.
"""
from __future__ import annotations

import asyncio
import base64
import importlib
import json
import threading
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
        # In a thread of its own: the session's browser (sync Playwright) keeps an event loop running in this one.
        cleanup = threading.Thread(target=lambda: asyncio.run(manager.cleanup_resources()))
        cleanup.start()
        cleanup.join()
    made = {command[i + 1] for i, arg in enumerate(command) if arg == "--dir"}
    bound = {command[i + 1] for i, arg in enumerate(command) if arg in ("--ro-bind", "--bind")}
    for root in roots:
        assert root in bound
        parents = {str(p) for p in Path(root).parents if str(p) not in ("/", "/tmp")}
        assert parents <= made, f"{root}: {sorted(parents - made)} would not be traversable in the sandbox"


# --- ps6_poisson: the trusted checks without a kernel, the static reading of its answers -----------------

PS6 = "ps6_poisson"


def ps6_cells(**replaced) -> list[tuple[int, str | None, str, bool]]:
    """The ps6 solution notebook as find_forbidden reads it, with some answer cells' sources ``replaced``."""
    nb = nbformat.read(ROOT / "solutions" / PS6 / f"{PS6}.ipynb", as_version=4)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            cells.append((index, grade_id, replaced.get(grade_id, cell.source), not meta.get("locked", False)))
    return cells


def ps6_findings(**replaced) -> dict:
    assignment = checks.load(PS6)
    return find_forbidden(ps6_cells(**replaced), {t.name: set(t.forbidden()) for t in assignment.tasks},
                          {answer: t.name for t in assignment.tasks for answer in t.answers},
                          {t.name: t.required for t in assignment.tasks if t.required})


NEWTON_BY = {
    "statsmodels": "import statsmodels.api as sm\ndef fit_newton(X, y, beta0, num_steps):\n"
                   "    fit = sm.GLM(y.numpy(), X.numpy(), family=sm.families.Poisson()).fit()\n"
                   "    return torch.stack([beta0] + [torch.as_tensor(fit.params)] * num_steps)",
    "scikit-learn": "from sklearn.linear_model import PoissonRegressor\ndef fit_newton(X, y, beta0, num_steps):\n"
                    "    model = PoissonRegressor(alpha=0, fit_intercept=False).fit(X, y)\n"
                    "    return torch.stack([beta0] + [torch.as_tensor(model.coef_)] * num_steps)",
    "scipy.optimize": "from scipy.optimize import minimize\ndef fit_newton(X, y, beta0, num_steps):\n"
                      "    best = minimize(lambda b: -poisson_loglik(X, y, torch.as_tensor(b)).item(), beta0.numpy())\n"
                      "    return torch.stack([beta0] + [torch.as_tensor(best.x)] * num_steps)",
    "scipy.linalg": "import scipy.linalg as la\ndef fit_newton(X, y, beta0, num_steps):\n    path = [beta0]\n"
                    "    for _ in range(num_steps):\n        mu = torch.exp(X @ path[-1])\n"
                    "        step = la.solve((X.T @ (mu[:, None] * X)).numpy(), (X.T @ (y - mu)).numpy())\n"
                    "        path.append(path[-1] + torch.as_tensor(step))\n    return torch.stack(path)",
}


def test_ps6_solution_reaches_nothing_forbidden_and_uses_what_its_tasks_require():
    assert all(found == [] for found in ps6_findings().values()), ps6_findings()


@pytest.mark.parametrize("library", NEWTON_BY)
def test_ps6_fitting_functions_of_other_libraries_score_0_for_their_task_only(library):
    found = ps6_findings(fit_newton=NEWTON_BY[library])
    assert found["fit_newton"] and found["fit_newton"][0].grade_id == "fit_newton", found
    assert all(found[task] == [] for task in found if task != "fit_newton"), found


def test_ps6_standard_errors_from_a_fitted_model_of_another_library_are_found():
    source = ("from statsmodels.discrete.discrete_model import Poisson\ndef standard_errors(X, y, beta_hat):\n"
              "    return torch.as_tensor(Poisson(y.numpy(), X.numpy()).fit(disp=0).bse)")
    assert [f.name for f in ps6_findings(standard_errors=source)["standard_errors"]] == ["statsmodels"]


def test_ps6_asks_for_autograd_in_gradient_ascent_and_a_solve_in_newton():
    by_hand = ("def fit_gradient_ascent(X, y, beta0, lr, num_steps):\n    path = [beta0]\n"
               "    for _ in range(num_steps):\n"
               "        path.append(path[-1] + lr * X.T @ (y - torch.exp(X @ path[-1])))\n"
               "    return torch.stack(path)")
    assert [f.name for f in ps6_findings(fit_gradient_ascent=by_hand)["fit_gradient_ascent"]] == \
        ["backward or torch.autograd.grad"]
    no_solve = ("def fit_newton(X, y, beta0, num_steps):\n    path = [beta0]\n    for _ in range(num_steps):\n"
                "        path.append(path[-1] + 1e-3 * X.T @ (y - torch.exp(X @ path[-1])))\n"
                "    return torch.stack(path)")
    assert ps6_findings(fit_newton=no_solve)["fit_newton"]
    with_hessian = ("from torch.autograd.functional import hessian\ndef fit_newton(X, y, beta0, num_steps):\n"
                    "    path = [beta0]\n    for _ in range(num_steps):\n"
                    "        H = hessian(lambda b: poisson_loglik(X, y, b), path[-1])\n"
                    "        path.append(path[-1] - H.inverse() @ (X.T @ (y - torch.exp(X @ path[-1]))))\n"
                    "    return torch.stack(path)")
    assert ps6_findings(fit_newton=with_hessian)["fit_newton"] == []


class LocalNotebook:
    """``instructor_grading.remote.Notebook``'s data channel answered by functions of this process (no kernel)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def get(self, name, *path):
        return self.namespace[name]

    def call(self, name, *args, backward=False, return_args=False, kernel_seed=None, path=(), **kwargs):
        from instructor_grading.remote import RequiresGrad

        args = [a.tensor.clone().requires_grad_(True) if isinstance(a, RequiresGrad) else
                a.clone() if isinstance(a, torch.Tensor) else a for a in args]
        try:
            value = self.namespace[name](*args, **kwargs)
            if backward:
                torch.as_tensor(value).sum().backward()
        except Exception as error:
            raise CheckFailed(f"{name} raised {type(error).__name__}: {error}") from None
        plain = lambda v: v.detach().clone() if isinstance(v, torch.Tensor) else (
            [plain(item) for item in v] if isinstance(v, list) else v)
        if not (backward or return_args):
            return plain(value)
        answer = {"value": plain(value), "args": [plain(a) for a in args]}
        if backward:
            answer["grads"] = [a.grad if isinstance(a, torch.Tensor) else None for a in args]
        return answer


def ps6_solution() -> dict:
    """The namespace of the ps6 solution notebook, run here (every code cell but the test cells)."""
    import contextlib
    import io

    nb = nbformat.read(ROOT / "solutions" / PS6 / f"{PS6}.ipynb", as_version=4)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                exec(cell.source, namespace)
    return namespace


def ps6_verdicts(namespace, student="ada") -> dict[str, str]:
    """{grade_id: "" if passed else the message} of every ps6 check, for ``student``."""
    verdicts = {}
    for grade_id, check in checks.load(PS6).checks.items():
        try:
            check.function(LocalNotebook(namespace), checks.rng_for(b"s" * 32, student, PS6, grade_id))
            verdicts[grade_id] = ""
        except (CheckFailed, AssertionError) as failure:
            verdicts[grade_id] = str(failure) or type(failure).__name__
    return verdicts


@pytest.fixture(scope="module")
def ps6():
    return ps6_solution()


@pytest.mark.parametrize("student", ["ada", "bob", "cy"])
def test_ps6_solution_passes_every_trusted_check(ps6, student):
    failed = {grade_id: message for grade_id, message in ps6_verdicts(ps6, student).items() if message}
    assert not failed


def _newton_with_hessian_at_start(X, y, beta0, num_steps):
    information = X.T @ (torch.exp(X @ beta0)[:, None] * X)
    path = [beta0]
    for _ in range(num_steps):
        path.append(path[-1] + torch.linalg.solve(information, X.T @ (y - torch.exp(X @ path[-1]))))
    return torch.stack(path)


def _newton_to_the_answer(X, y, beta0, num_steps):
    """One true Newton step when asked for one; otherwise the MLE after every step (shaped to the inputs)."""
    def step(beta):
        rate = torch.exp(X @ beta)
        return beta + torch.linalg.solve(X.T @ (rate[:, None] * X), X.T @ (y - rate))
    beta = step(beta0)
    if num_steps == 1:
        return torch.stack([beta0, beta])
    for _ in range(30):
        beta = step(beta)
    return torch.stack([beta0] + [beta] * num_steps)


def _standard_errors_refitted(X, y, beta_hat):
    """Fits again inside: right at the MLE, wrong at any other point it is given."""
    beta = _newton_to_the_answer(X, y, beta_hat, 2)[-1]
    return torch.linalg.inv(X.T @ (torch.exp(X @ beta)[:, None] * X)).diagonal().sqrt()


PS6_WRONG = {  # (function replaced, its wrong version made from the solution's namespace, the cells that must fail)
    "no log y!": ("poisson_loglik", lambda ns: lambda X, y, b: (y * (X @ b) - torch.exp(X @ b)).sum(),
                  {"test_poisson_loglik_visible", "test_poisson_loglik_hidden"}),
    "detached": ("poisson_loglik", lambda ns: lambda X, y, b: ns["poisson_loglik"](X, y, b.detach()),
                 {"test_poisson_loglik_visible", "test_poisson_loglik_hidden"}),
    "downhill": ("fit_gradient_ascent", lambda ns: lambda X, y, b0, lr, k: ns["fit_gradient_ascent"](X, y, b0, -lr, k),
                 {"test_fit_gradient_ascent_visible", "test_fit_gradient_ascent_hidden"}),
    "Hessian at the start": ("fit_newton", lambda ns: _newton_with_hessian_at_start,
                             {"test_fit_newton_visible", "test_fit_newton_hidden"}),
    "shaped to the inputs": ("fit_newton", lambda ns: _newton_to_the_answer,
                             {"test_fit_newton_visible", "test_fit_newton_hidden"}),
    "variances": ("standard_errors", lambda ns: lambda X, y, b: ns["standard_errors"](X, y, b) ** 2,
                  {"test_standard_errors_visible", "test_standard_errors_hidden"}),
    "refitted inside": ("standard_errors", lambda ns: _standard_errors_refitted, {"test_standard_errors_hidden"}),
}


@pytest.mark.parametrize("mistake", PS6_WRONG)
def test_ps6_checks_fail_exactly_the_cells_of_a_wrong_method(ps6, mistake):
    name, wrong, expected = PS6_WRONG[mistake]
    failed = {grade_id for grade_id, message in ps6_verdicts({**ps6, name: wrong(ps6)}).items() if message}
    assert failed == expected


def test_ps6_grader_data_is_the_setup_cell_and_the_task_text_states_what_it_shows(ps6):
    """The visible checks rebuild the setup cell's data; Task 5 says Newton needs five steps there, gradient
    ascent about 300, and that the new model's coefficient runs away by about 1 per Newton step."""
    from instructor_grading.checks import ps6_poisson as trusted

    X, y, beta0 = trusted.setup_data()
    assert torch.equal(X, ps6["X"]) and torch.equal(y, ps6["y"]) and torch.equal(beta0, ps6["beta0"])
    newton = trusted.newton_path(X, y, beta0, 20)
    beta_hat = newton[-1]
    error = (newton - beta_hat).norm(dim=1)
    assert error[4] > 1e-12 and error[5] < 1e-13  # within rounding error after five steps, not four
    ascent = ps6["fit_gradient_ascent"](X, y, beta0, trusted.LR, trusted.ASCENT_STEPS)
    distance = (ascent - beta_hat).norm(dim=1)
    assert distance[100] > 1e-6 and distance[trusted.ASCENT_STEPS] < 1e-12  # "about 300"
    assert trusted.LR < 2 / float(torch.linalg.eigvalsh(trusted.information(X, beta_hat)).max())  # a stable lr
    runaway = ps6["path_new"][:, 3]
    assert torch.allclose(runaway[3:].diff(), torch.full((9,), -1.0, dtype=torch.float64), atol=0.02)
    loglik = torch.stack([ps6["poisson_loglik"](ps6["X_new"], ps6["y_new"], b) for b in ps6["path_new"]])
    assert (loglik.diff() > 0).all()
