"""A class of students who try to beat the grader, and students whose correct code looks unusual.

Every submission is built from the release, as a student who has read only the
release would. The class is graded twice: by `make autograde` (JOBS=2) and by
plain `nbgrader autograde` in a copy of the course; both must give every cell
the same score. An attack scores nothing for the task it attacks (and costs
nothing elsewhere); correct code in another style earns every point; the
student's kernel cannot read or write the instructor's files, see the
grader's environment or reach the network; feedback shows no line of a check.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from instructor_grading import scratch
from instructor_grading.record import Record
from instructor_grading.regions import solved_release
from leaks import check_code_lines, shown_lines

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DEMO = scratch.DEMO_ASSIGNMENT
ASSIGNMENTS = [DEMO, "ps2_gradient_ascent", "ps3_optimizers", "ps4_stochastic", "ps6_poisson"]
PROBE = "grader-environment-probe-7f3a"  # set in the grader's environment; must never reach a kernel


def answer(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def lazy(nb):
    """Every stub returns None instead of raising: any point it earns comes from the attack."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = cell.source.replace("raise NotImplementedError()", "return None")
    return nb


def first_answer(nb):
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))


def with_cell(nb, source, *, before_first_answer=True):
    nb.cells.insert(first_answer(nb) if before_first_answer else len(nb.cells), new_code_cell(source))
    return nb


def replace_function(nb, grade_id, source):
    answer(nb, grade_id).source = source
    return nb


# (assignment, builder(release, perfect, course) -> notebook, tasks expected at 0 ("*" = every task))
ATTACKS = {
    "ipython_transformer": (DEMO, lambda r, p, c: with_cell(lazy(r), (
        "ip = get_ipython()\nip.input_transformers_post.append(lambda lines: ['pass\\n'])")), "*"),
    "ast_transformer": (DEMO, lambda r, p, c: with_cell(lazy(r), (
        "import ast\nclass Empty(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
        "        return ast.Module(body=[], type_ignores=[])\nget_ipython().ast_transformers.append(Empty())")), "*"),
    "builtins": (DEMO, lambda r, p, c: with_cell(lazy(r), (
        "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.all = lambda x: True\nbuiltins.float = lambda x=0: 0.0\n"
        "builtins.isinstance = lambda *a: True\nbuiltins.AssertionError = type('Quiet', (Exception,), {})")), "*"),
    "patched_checks": (DEMO, lambda r, p, c: with_cell(lazy(r), (
        "import mle_helpers as mh, numpy as np, torch\nfor _name in mh.checks.__all__:\n"
        "    setattr(mh.checks, _name, lambda *a, **k: None)\ntorch.allclose = lambda *a, **k: True\n"
        "np.allclose = lambda *a, **k: True\ntorch.Tensor.__eq__ = lambda *a: True")), "*"),
    "reference_import": (DEMO, lambda r, p, c: replace_function(p, "answer_mean", (
        "from mle_helpers.estimators import gaussian_mle\n\ndef sample_mean(x):\n    return gaussian_mle(x)[0]")),
        {"sample_mean"}),
    "reference_getattr": (DEMO, lambda r, p, c: replace_function(p, "answer_mean", (
        "def sample_mean(x):\n    module = getattr(mh, 'estim' + 'ators')\n    return module.gaussian_mle(x)[0]")),
        {"sample_mean"}),
    "reference_copied": (DEMO, lambda r, p, c: replace_function(p, "answer_mean", (
        "import types\nreference = mh.estimators.gaussian_mle\nsample_mean = types.FunctionType(\n"
        "    reference.__code__, reference.__globals__, 'sample_mean')")), {"sample_mean"}),
    "history_printed": (DEMO, lambda r, p, c: with_cell(p, "print(In)\nprint(Out)", before_first_answer=False), set()),
    "instructor_files": (DEMO, lambda r, p, c: with_cell(p, (
        "import os, pathlib\nfound = []\n"
        f"for target in [{str(c / 'gradebook.db')!r}, {str(c / 'source' / DEMO / (DEMO + '.ipynb'))!r}, "
        f"{str(ROOT / 'instructor_grading' / 'checks' / 'demo_mean.py')!r}, '../../../gradebook.db', '/root']:\n"
        "    try:\n        found.append((target, pathlib.Path(target).read_bytes()[:20]))\n"
        "    except Exception as error:\n        found.append((target, type(error).__name__))\n"
        f"for target in [{str(c / 'HACKED')!r}, {str(ROOT / 'instructor_grading' / 'HACKED')!r}]:\n"
        "    try:\n        pathlib.Path(target).write_text('x')\n    except Exception as error:\n"
        "        found.append((target, type(error).__name__))\n"
        "print(found)\nprint(sorted(os.environ))")), set()),
    "network": (DEMO, lambda r, p, c: with_cell(p, (
        "import socket\ntry:\n"
        f"    socket.create_connection(('127.0.0.1', {LISTENER['port']}), timeout=3).sendall(b'leak')\n"
        "    print('connected')\nexcept OSError as error:\n    print('no network:', type(error).__name__)")), set()),
    "shaped_to_inputs": ("ps2_gradient_ascent", lambda r, p, c: replace_function(p, "gradient_ascent", (
        "def gradient_ascent(X, sigma, mu0, lr, num_steps):\n"
        "    # the closed form, dressed as a path, unless only one step is asked for\n"
        "    if num_steps == 1:\n"
        "        mu = mu0.clone().requires_grad_(True)\n        mh.L(X, mu, sigma).backward()\n"
        "        return torch.stack([mu0, mu0 + lr * mu.grad])\n"
        "    return torch.stack([mu0] + [X.mean(0)] * num_steps)")), {"gradient_ascent", "plot_path"}),
    "manual_update": ("ps3_optimizers", lambda r, p, c: replace_function(p, "fit_with_optimizer", (
        "def fit_with_optimizer(X, sigma, mu0, make_optimizer, num_steps):\n"
        "    mu = mu0.detach().clone().requires_grad_(True)\n    path = [mu.detach().clone()]\n"
        "    for _ in range(num_steps):\n        mh.L(X, mu, sigma).backward()\n        with torch.no_grad():\n"
        "            mu += 1e-4 * mu.grad\n        mu.grad.zero_()\n        path.append(mu.detach().clone())\n"
        "    return torch.stack(path)")), {"fit_with_optimizer", "three_optimizers"}),  # it plots its paths right
    "empty_plot": ("ps3_optimizers", lambda r, p, c: replace_function(p, "plot_optimizers", (
        "import matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 3)")), {"plot_optimizers"}),
    "reused_batch": ("ps4_stochastic", lambda r, p, c: replace_function(p, "minibatch_ascent", (
        "def minibatch_ascent(X, sigma, mu0, lr, num_steps, batch_size, seed):\n"
        "    generator = torch.Generator().manual_seed(seed)\n"
        "    rows = torch.randperm(X.shape[0], generator=generator)[:batch_size]  # one batch, reused\n"
        "    mu = mu0.detach().clone().requires_grad_(True)\n    path = [mu.detach().clone()]\n"
        "    for _ in range(num_steps):\n        ((X.shape[0] / batch_size) * mh.L(X[rows], mu, sigma)).backward()\n"
        "        with torch.no_grad():\n            mu += lr * mu.grad\n        mu.grad.zero_()\n"
        "        path.append(mu.detach().clone())\n    return torch.stack(path)")), {"minibatch_ascent"}),
    # ps6: right numbers by a forbidden route, the gradient by hand, a Newton path shaped to the inputs.
    "fitting_library": ("ps6_poisson", lambda r, p, c: replace_function(p, "fit_newton", (
        "import scipy.linalg\n\ndef fit_newton(X, y, beta0, num_steps):\n    path = [beta0.detach().clone()]\n"
        "    for _ in range(num_steps):\n        rate = torch.exp(X @ path[-1])\n"
        "        step = scipy.linalg.solve((X.T @ (rate[:, None] * X)).numpy(), (X.T @ (y - rate)).numpy())\n"
        "        path.append(path[-1] + torch.as_tensor(step))\n    return torch.stack(path)\n\n"
        "path_newton = fit_newton(X, y, beta0, num_steps=8)\nbeta_hat = path_newton[-1]")), {"fit_newton"}),
    "gradient_by_hand": ("ps6_poisson", lambda r, p, c: replace_function(p, "fit_gradient_ascent", (
        "def fit_gradient_ascent(X, y, beta0, lr, num_steps):\n    path = [beta0.detach().clone()]\n"
        "    for _ in range(num_steps):\n        path.append(path[-1] + lr * X.T @ (y - torch.exp(X @ path[-1])))\n"
        "    return torch.stack(path)\n\npath_ascent = fit_gradient_ascent(X, y, beta0, lr=1e-3, num_steps=300)")),
        {"fit_gradient_ascent"}),
    "newton_shaped_to_inputs": ("ps6_poisson", lambda r, p, c: replace_function(p, "fit_newton", (
        "def fit_newton(X, y, beta0, num_steps):\n    def step(beta):\n        rate = torch.exp(X @ beta)\n"
        "        return beta + torch.linalg.solve(X.T @ (rate[:, None] * X), X.T @ (y - rate))\n"
        "    beta = step(beta0)\n    if num_steps == 1:\n        return torch.stack([beta0, beta])\n"
        "    for _ in range(30):\n        beta = step(beta)\n    return torch.stack([beta0] + [beta] * num_steps)\n\n"
        "path_newton = fit_newton(X, y, beta0, num_steps=8)\nbeta_hat = path_newton[-1]")), {"fit_newton"}),
}

# Correct code that does not look like the solution: every point.
CORRECT = {
    "perfect": (DEMO, lambda r, p, c: p),
    "warnings": (DEMO, lambda r, p, c: replace_function(p, "answer_mean", (
        "import sys, warnings\n\ndef sample_mean(x):\n    warnings.warn('about to average')\n"
        "    print('averaging', file=sys.stderr)\n    return x.mean()"))),
    "while_loop_list": ("ps2_gradient_ascent", lambda r, p, c: replace_function(p, "gradient_ascent", (
        "def gradient_ascent(X, sigma, mu0, lr, num_steps):\n    mu = mu0.detach().clone()\n"
        "    path, step = [mu.clone()], 0\n    while step < num_steps:\n        mu.requires_grad_(True)\n"
        "        grad, = torch.autograd.grad(mh.L(X, mu, sigma), mu)\n        mu = (mu + lr * grad).detach()\n"
        "        path.append(mu)\n        step += 1\n    return path"))),
    "float32": ("ps2_gradient_ascent", lambda r, p, c: replace_function(p, "gradient_ascent", (
        "def gradient_ascent(X, sigma, mu0, lr, num_steps):\n    X32, sigma32 = X.float(), sigma.float()\n"
        "    mu = mu0.detach().float().clone().requires_grad_(True)\n    path = [mu.detach().clone()]\n"
        "    for _ in range(num_steps):\n        mh.L(X32, mu, sigma32).backward()\n        with torch.no_grad():\n"
        "            mu += lr * mu.grad\n        mu.grad.zero_()\n        path.append(mu.detach().clone())\n"
        "    return torch.stack(path)"))),
    "numpy_seeding": ("ps4_stochastic", lambda r, p, c: replace_function(p, "minibatch_ascent", (
        "import numpy as np\n\ndef minibatch_ascent(X, sigma, mu0, lr, num_steps, batch_size, seed):\n"
        "    rng = np.random.default_rng(seed)\n    n_rows = X.shape[0]\n"
        "    mu = mu0.detach().clone().requires_grad_(True)\n    path = [mu.detach().clone()]\n"
        "    for _ in range(num_steps):\n"
        "        rows = torch.as_tensor(rng.choice(n_rows, size=batch_size, replace=False))\n"
        "        ((n_rows / batch_size) * mh.L(X[rows], mu, sigma)).backward()\n"
        "        with torch.no_grad():\n            mu += lr * mu.grad\n        mu.grad.zero_()\n"
        "        path.append(mu.detach().clone())\n    return torch.stack(path)"))),
    "autograd_hessian": ("ps6_poisson", lambda r, p, c: replace_function(replace_function(p, "fit_newton", (
        "from torch.autograd.functional import hessian\n\ndef fit_newton(X, y, beta0, num_steps):\n"
        "    path = [beta0.detach().clone()]\n    for _ in range(num_steps):\n"
        "        beta = path[-1].clone().requires_grad_(True)\n"
        "        grad, = torch.autograd.grad(poisson_loglik(X, y, beta), beta)\n"
        "        H = hessian(lambda b: poisson_loglik(X, y, b), path[-1])\n"
        "        path.append(path[-1] - torch.linalg.solve(H, grad))\n    return path\n\n"
        "path_newton = torch.stack(fit_newton(X, y, beta0, num_steps=8))\nbeta_hat = path_newton[-1]")),
        "standard_errors", (
        "def standard_errors(X, y, beta_hat):\n"
        "    H = torch.autograd.functional.hessian(lambda b: poisson_loglik(X, y, b), beta_hat)\n"
        "    return (-H).inverse().diagonal().sqrt()\n\nse = standard_errors(X, y, beta_hat)"))),
}
LISTENER: dict = {}


@pytest.fixture(scope="module")
def listener():
    """A TCP server on 127.0.0.1 that records whether anyone connected (the network attack's target)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    LISTENER.update(port=server.getsockname()[1], connections=0, stop=False)

    def accept():
        while not LISTENER["stop"]:
            try:
                server.accept()[0].close()
                LISTENER["connections"] += 1
            except OSError:
                pass
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield LISTENER
    LISTENER["stop"] = True
    thread.join(timeout=5)
    server.close()


def copy(nb):
    return nbformat.reads(nbformat.writes(nb), as_version=4)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    """The class graded through make autograde (course A) and plain nbgrader autograde (course B)."""
    base = tmp_path_factory.mktemp("attacks")
    course = scratch.scratch_course(base / "A", ASSIGNMENTS, solutions=ROOT / "solutions", timeout=30)
    for student, (assignment, build, *_) in {**ATTACKS, **CORRECT}.items():
        release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
        source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", 4)
        nb = build(copy(release), solved_release(release, source), course)
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{assignment}.ipynb")
        if student == "perfect":  # the perfect student hands in every assignment: the reference scores
            for other in ASSIGNMENTS[1:]:
                release = nbformat.read(course / "release" / other / f"{other}.ipynb", 4)
                source = nbformat.read(course / "source" / other / f"{other}.ipynb", 4)
                (course / "submitted" / student / other).mkdir(parents=True)
                nbformat.write(solved_release(release, source), course / "submitted" / student / other / f"{other}.ipynb")
    plain = base / "B"  # its nbgrader_config.py names A's course secret: both routes draw the same data
    shutil.copytree(course, plain)
    env = {**os.environ, "GRADER_PROBE": PROBE}
    wrapper = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", "2", "--course", str(course)],
                             env=env, capture_output=True, text=True, timeout=900)
    # Exit status 2: the attacks are named under the table, and only they (the correct styles pass unnoticed).
    assert wrapper.returncode == 2, wrapper.stdout[-3000:] + wrapper.stderr[-3000:]
    named = {line.split("'")[1] for line in wrapper.stdout.split("Problems:", 1)[-1].splitlines()
             if line.startswith("  student")}
    assert named and named <= set(ATTACKS), named - set(ATTACKS)
    cli = subprocess.run(["nbgrader", "autograde", "*", "--log-level=ERROR"], cwd=plain, env=env,
                         capture_output=True, text=True, timeout=900)
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    return {"A": course, "B": plain, "scores": {route: cell_scores(path) for route, path in (("A", course), ("B", plain))}}


def cell_scores(course: Path) -> dict:
    """{(student, assignment): {grade_id: score}} of every autograded test cell."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, a.name): {g.name: g.auto_score for nb in s.notebooks for g in nb.grades
                                         if g.cell.cell_type == "code"}
                for a in gb.assignments for s in a.submissions}


def task_of(course: Path, student: str, assignment: str) -> dict:
    """{grade_id: task} from the student's grading record."""
    record = Record.read(course / "autograded" / student / assignment / f"{assignment}.grading.json")
    return {grade_id: verdict["task"] for grade_id, verdict in record.checks.items()}


def test_make_autograde_and_plain_nbgrader_give_the_same_grades(graded):
    assert graded["scores"]["A"] == graded["scores"]["B"]
    assert len(graded["scores"]["A"]) == len(ATTACKS) + len(CORRECT) + len(ASSIGNMENTS) - 1


@pytest.mark.parametrize("student", ATTACKS)
def test_an_attack_scores_nothing_for_the_task_it_attacks(graded, student):
    assignment, _, attacked = ATTACKS[student]
    scores, perfect = graded["scores"]["A"][student, assignment], graded["scores"]["A"]["perfect", assignment]
    tasks = task_of(graded["A"], student, assignment)
    for grade_id, score in scores.items():
        if attacked == "*" or tasks[grade_id] in attacked:
            assert score == 0, f"{student} earned {score} on {grade_id}"
        else:
            assert score == perfect[grade_id], f"{student} lost points on {grade_id}, which it did not attack"


@pytest.mark.parametrize("student", CORRECT)
def test_correct_code_in_another_style_earns_every_point(graded, student):
    assignment = CORRECT[student][0]
    scores = graded["scores"]["A"][student, assignment]
    assert scores == graded["scores"]["A"]["perfect", assignment]
    points = {grade_id: score for grade_id, score in scores.items() if score is not None}
    assert points and all(score > 0 for score in points.values()), scores


def outputs_text(course: Path, student: str, assignment: str) -> str:
    nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", 4)
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_the_kernel_cannot_touch_the_instructors_files_or_the_network(graded):
    text = outputs_text(graded["A"], "instructor_files", DEMO)
    reads = re.findall(r"\('([^']+)', (b?'[^']*')\)", text)
    assert reads and all(not value.startswith("b'") for _, value in reads), reads  # nothing was read
    assert PROBE not in text and "GRADER_PROBE" not in text
    for course in (graded["A"], graded["B"]):
        assert not (course / "HACKED").exists()
    assert not (ROOT / "instructor_grading" / "HACKED").exists()
    assert "no network" in outputs_text(graded["A"], "network", DEMO)
    assert LISTENER["connections"] == 0
    record = Record.read(graded["A"] / "autograded" / "instructor_files" / DEMO / f"{DEMO}.grading.json")
    assert record.kernel == "ok"


def test_a_forbidden_reference_is_named_in_the_record(graded):
    for student in ("reference_import", "reference_getattr", "reference_copied"):
        record = Record.read(graded["A"] / "autograded" / student / DEMO / f"{DEMO}.grading.json")
        assert {f["task"] for f in record.forbidden} == {"sample_mean"}, record.forbidden
        assert all(f["cell"] is not None and f["reason"] for f in record.forbidden)


def test_feedback_shows_no_line_of_a_check(graded):
    course = graded["A"]
    run = subprocess.run([sys.executable, "-m", "instructor_grading", "feedback", "--course", str(course)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    secret = check_code_lines([path for folder in ("release", "source") for path in (course / folder).rglob("*.ipynb")])
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(graded["scores"]["A"])
    assert not list((course / "feedback").rglob("*.grading.json")), "grading records reached the feedback"
    for page in pages:
        leaked = sorted(secret & shown_lines(page.read_text()))
        assert not leaked, (page, leaked[:3])
