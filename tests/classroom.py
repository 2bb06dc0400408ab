"""The shared graded class (contract 1): a scratch course with demo_mean and ps6_poisson, a class of
students who handed them in, autograded once by ``python -m instructor_grading autograde --jobs 2``.

Every student is a composition: for each answer cell a variant from that answer's pool (the
instructor's solution, other correct implementations as students write them, the usual mistakes, the
release stub left unanswered), with small touches of the student's own (a comment, a debugging print,
another name for a local variable, two statements in the other order). The expected autograded points of a submission are derived from
its variants and the points of the test cells each answer's checks grade (instructor_grading.checks),
never typed in. Besides the honest class: an original author with distinctive code and a copier who
renamed, re-commented and reformatted it; one student each with a corrupt notebook, an endless loop,
a kernel that dies, a forbidden reference and a sandbox refusal; a student in the roster who never
submitted; late submissions (at the deadline, 1 h, 2.5 days, 6 days late).

:func:`build_classroom` makes it; the session fixture ``classroom`` (tests/conftest.py) shares it.
"""
from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell
from nbgrader import utils

from instructor_grading import checks, scratch
from instructor_grading.regions import solution_answers

__all__ = ["Classroom", "Planned", "Variant", "POOLS", "ALL", "STUB", "build_classroom", "plan_class", "answer_tests",
           "expected_cells", "problem_of",
           "ASSIGNMENTS", "DEMO", "PS6", "DUE", "TIMEOUT"]

ROOT = Path(__file__).resolve().parents[1]
DEMO, PS6 = scratch.DEMO_ASSIGNMENT, "ps6_poisson"
ASSIGNMENTS = [DEMO, PS6]
DUE = {DEMO: datetime(2027, 1, 15, 17, tzinfo=timezone.utc), PS6: datetime(2027, 3, 5, 17, tzinfo=timezone.utc)}
TIMEOUT = 15  # the scratch course's per-cell timeout: the endless loop holds one worker this long
ALL = "all"  # a variant that passes every test cell of its answer
STUB = "stub"  # the release's answer cell, unchanged


@dataclass(frozen=True)
class Variant:
    """One way to answer one answer cell.

    ``body`` replaces the release's ``# YOUR CODE HERE / raise NotImplementedError()`` (the function
    body, or the text of a written answer); ``head`` goes above the ``def`` (imports). ``earns``: the
    test cells it passes, ALL or a tuple of grade ids. ``gives``/``needs``: what a later answer relies on
    ("loglik_grad": poisson_loglik is a scalar whose autograd gradient and Hessian are right).
    ``local``: a local variable of ``body`` a student may name otherwise; ``swap``: two adjacent lines of
    ``body`` whose order does not matter.
    """

    name: str
    body: str | None  # None: the instructor's solution; STUB: the release left as it is
    earns: str | tuple = ALL
    head: str = ""
    gives: frozenset = frozenset()
    needs: frozenset = frozenset()
    local: str = ""
    swap: tuple = ()


GRAD = frozenset({"loglik_grad"})
NOTHING: tuple = ()


def _stub():
    return Variant(STUB, STUB, NOTHING)


# --------------------------------------------------------------------------- the pools of answers

POOLS: dict[str, dict[str, list[Variant]]] = {DEMO: {
    "answer_mean": [
        Variant("solution", None),
        Variant("sum_over_n", "    n = len(x)\n    return x.sum() / n", local="n"),
        Variant("loop", "    total = 0.0\n    for value in x:\n        total = total + value\n    return total / x.shape[0]",
                local="total"),
        Variant("torch_mean_dim", "    return torch.mean(x, dim=0)"),
        Variant("no_return", "    mean = x.sum() / len(x)", NOTHING, local="mean"),
        Variant("median", "    # the middle value is the most likely one\n    return x.median()", NOTHING),
        _stub(),
    ],
    "answer_variance": [
        Variant("solution", None),
        Variant("correction_0", "    return torch.var(x, correction=0)"),
        Variant("moments", "    mean_sq = (x ** 2).mean()\n    return mean_sq - x.mean() ** 2", local="mean_sq"),
        Variant("loop", "    m = sum(x) / len(x)\n    squares = [(xi - m) ** 2 for xi in x]\n    return sum(squares) / len(x)",
                local="squares"),
        Variant("unbiased", "    return x.var()", NOTHING),
        Variant("std", "    centred = x - x.mean()\n    return torch.sqrt((centred ** 2).mean())", NOTHING, local="centred"),
        _stub(),
    ],
}, PS6: {
    "poisson_loglik": [
        Variant("solution", None, gives=GRAD),
        Variant("distributions", "    rates = torch.exp(X @ beta)\n    return torch.distributions.Poisson(rates).log_prob(y).sum()",
                gives=GRAD, local="rates"),
        Variant("dot_gammaln", "    eta = X @ beta\n    return torch.dot(y, eta) - eta.exp().sum() - torch.special.gammaln(y + 1).sum()",
                gives=GRAD, local="eta"),
        Variant("no_factorial", "    eta = X @ beta\n    return (y * eta - torch.exp(eta)).sum()  # log(y!) does not depend on beta",
                NOTHING, gives=GRAD, local="eta"),
        Variant("lgamma_of_y", "    eta = X @ beta\n    return (y * eta - torch.exp(eta) - torch.lgamma(y)).sum()",
                NOTHING, gives=GRAD, local="eta"),
        Variant("per_row", "    eta = X @ beta\n    return y * eta - torch.exp(eta) - torch.lgamma(y + 1)", NOTHING, local="eta"),
        _stub(),
    ],
    "fit_gradient_ascent": [
        Variant("solution", None, needs=GRAD),
        Variant("backward", (
            "    beta = beta0.clone().detach().requires_grad_(True)\n    path = [beta0.clone()]\n"
            "    for step in range(num_steps):\n        ll = poisson_loglik(X, y, beta)\n        ll.backward()\n"
            "        with torch.no_grad():\n            beta += lr * beta.grad\n            beta.grad.zero_()\n"
            "        path.append(beta.detach().clone())\n    return torch.stack(path)"), needs=GRAD, local="path",
            swap=("    beta = beta0.clone().detach().requires_grad_(True)", "    path = [beta0.clone()]")),
        Variant("while_autograd_grad", (
            "    betas = [beta0.detach()]\n    t = 0\n    while t < num_steps:\n"
            "        current = betas[-1].clone().requires_grad_()\n"
            "        (g,) = torch.autograd.grad(poisson_loglik(X, y, current), current)\n"
            "        betas.append((current + lr * g).detach())\n        t += 1\n    return torch.stack(betas)"),
            needs=GRAD, local="betas", swap=("    betas = [beta0.detach()]", "    t = 0")),
        Variant("grad_not_zeroed", (
            "    beta = beta0.clone().detach().requires_grad_(True)\n    path = [beta0.clone()]\n"
            "    for _ in range(num_steps):\n        poisson_loglik(X, y, beta).backward()\n"
            "        with torch.no_grad():\n            beta += lr * beta.grad\n"
            "        path.append(beta.detach().clone())\n    return torch.stack(path)"), NOTHING, needs=GRAD, local="path",
            swap=("    beta = beta0.clone().detach().requires_grad_(True)", "    path = [beta0.clone()]")),
        # beta0 changed in place: the self-check passes, the hidden test (beta0 kept) does not
        Variant("beta0_in_place", (
            "    beta = beta0.requires_grad_(True)\n    path = [beta.detach().clone()]\n"
            "    for _ in range(num_steps):\n        grad, = torch.autograd.grad(poisson_loglik(X, y, beta), beta)\n"
            "        with torch.no_grad():\n            beta += lr * grad\n        path.append(beta.detach().clone())\n"
            "    return torch.stack(path)"), ("test_fit_gradient_ascent_visible",), needs=GRAD, local="path"),
        # the gradient derived by hand: right numbers, but the task asks for autograd
        Variant("gradient_by_hand", (
            "    beta = beta0.detach().clone()\n    path = [beta]\n    for _ in range(num_steps):\n"
            "        gradient = X.T @ (y - torch.exp(X @ beta))  # derived on paper\n"
            "        beta = beta + lr * gradient\n        path.append(beta)\n    return torch.stack(path)"),
            NOTHING, local="gradient"),
        _stub(),
    ],
    "fit_newton": [
        Variant("solution", None),
        Variant("autograd_hessian", (
            "    path = [beta0.detach().clone()]\n    for _ in range(num_steps):\n"
            "        current = path[-1].clone().requires_grad_(True)\n"
            "        grad, = torch.autograd.grad(poisson_loglik(X, y, current), current)\n"
            "        H = hessian(lambda b: poisson_loglik(X, y, b), path[-1])\n"
            "        path.append(path[-1] - torch.linalg.solve(H, grad))\n    return torch.stack(path)"),
            head="from torch.autograd.functional import hessian\n\n", needs=GRAD, local="current"),
        Variant("loops_inverse", (
            "    beta = beta0.detach().clone()\n    betas = [beta]\n    p = X.shape[1]\n    for step in range(num_steps):\n"
            "        mu = torch.exp(X @ beta)\n        g = X.T @ (y - mu)\n        info = torch.zeros(p, p, dtype=X.dtype)\n"
            "        for j in range(p):\n            for k in range(p):\n"
            "                info[j, k] = (X[:, j] * X[:, k] * mu).sum()\n"
            "        beta = beta + torch.linalg.inv(info) @ g\n        betas.append(beta)\n    return torch.stack(betas)"),
            local="info", swap=("    betas = [beta]", "    p = X.shape[1]")),
        Variant("cholesky", (
            "    beta = beta0.detach().clone()\n    out = [beta]\n    for _ in range(num_steps):\n"
            "        mu = (X @ beta).exp()\n        info = X.T @ (mu.unsqueeze(1) * X)\n"
            "        chol = torch.linalg.cholesky(info)\n"
            "        beta = beta + torch.cholesky_solve((X.T @ (y - mu)).unsqueeze(1), chol).squeeze(1)\n"
            "        out.append(beta)\n    return torch.stack(out)"), local="out"),
        Variant("hessian_at_beta0", (
            "    beta = beta0.detach().clone()\n    path = [beta]\n    mu0 = torch.exp(X @ beta)\n"
            "    information = X.T @ (mu0[:, None] * X)  # computed once, outside the loop\n"
            "    for _ in range(num_steps):\n        score = X.T @ (y - torch.exp(X @ beta))\n"
            "        beta = beta + torch.linalg.solve(information, score)\n        path.append(beta)\n"
            "    return torch.stack(path)"), NOTHING, local="score"),
        Variant("wrong_sign", (
            "    beta = beta0.detach().clone()\n    path = [beta]\n    for _ in range(num_steps):\n"
            "        rate = torch.exp(X @ beta)\n        information = X.T @ (rate[:, None] * X)\n"
            "        beta = beta - torch.linalg.solve(information, X.T @ (y - rate))\n        path.append(beta)\n"
            "    return torch.stack(path)"), NOTHING, local="rate"),
        _stub(),
    ],
    "standard_errors": [
        Variant("solution", None),
        Variant("autograd_hessian", (
            "    H = torch.autograd.functional.hessian(lambda b: poisson_loglik(X, y, b), beta_hat)\n"
            "    return torch.sqrt(torch.diag(torch.linalg.inv(-H)))"), needs=GRAD, local="H"),
        Variant("loop_over_diagonal", (
            "    mu = torch.exp(X @ beta_hat)\n    cov = torch.linalg.inv(X.T @ torch.diag(mu) @ X)\n    ses = []\n"
            "    for j in range(len(beta_hat)):\n        ses.append(cov[j, j] ** 0.5)\n    return torch.stack(ses)"),
            local="cov", swap=("    cov = torch.linalg.inv(X.T @ torch.diag(mu) @ X)", "    ses = []")),
        Variant("variances", (
            "    mu = torch.exp(X @ beta_hat)\n    return torch.diagonal(torch.linalg.inv(X.T @ (mu[:, None] * X)))"),
            NOTHING, local="mu"),
        Variant("inverse_of_diagonal", (
            "    information = X.T @ (torch.exp(X @ beta_hat)[:, None] * X)\n"
            "    return 1 / torch.sqrt(torch.diagonal(information))"), NOTHING, local="information"),
        Variant("unweighted", "    return torch.sqrt(torch.diagonal(torch.linalg.inv(X.T @ X)))", NOTHING),
        _stub(),
    ],
    # Written (graded by hand): no autograded points, so every text "earns" nothing here.
    "newton_and_existence": [
        Variant("solution", None, NOTHING),
        Variant("thorough", (
            "(a) The Poisson log-likelihood is concave: its Hessian is $-X^\\top W X$ with $W$ the diagonal of the "
            "rates, negative definite. Near the maximum it is almost a quadratic, and Newton maximises that quadratic "
            "exactly, so the error is squared at each step. Gradient ascent moves by a fixed lr and converges only "
            "linearly. With the canonical log link the Hessian does not contain $y$, so the observed and the expected "
            "information are equal and Fisher scoring takes the very same steps.\n\n"
            "(b) The coefficient of `new_model` keeps decreasing by about one per step and the log-likelihood still "
            "grows a little each time. All 15 new machines have 0 faults, so making their rate smaller always helps: "
            "the supremum is reached only at $-\\infty$, there is no MLE. A prior on the coefficients (a ridge "
            "penalty) would give a finite estimate."), NOTHING),
        Variant("part_a_only", (
            "Newton uses the second derivative so it knows how curved the function is and jumps straight to the "
            "top, while gradient ascent only knows the slope. The log-likelihood is concave, so there is only one "
            "maximum and Newton converges quadratically. For Poisson with the log link Fisher scoring is the same "
            "because the Hessian does not depend on the data y.\n\n(b) I did not finish this part."), NOTHING),
        Variant("vague", (
            "Newton is faster because it is a second order method. In (b) the new_model coefficient goes to minus "
            "infinity because these machines have no faults. Maybe use more data."), NOTHING),
        Variant("misread", (
            "(a) Newton is fast because the data set is small (250 machines) and there are only 3 coefficients, "
            "so each step is cheap. Fisher scoring is the same as Newton for every model.\n\n"
            "(b) The log-likelihood goes down because Newton overshoots; a smaller step size would fix it."), NOTHING),
        _stub(),
    ],
}}

# The original author's answers (nobody else's) and the copier's disguised copy of each.
ORIGINAL = {DEMO: {
    "answer_mean": Variant("original", (
        "    # MLE of the mean: set d/dmu sum (x - mu)^2 to 0, i.e. mu = sum(x) / n\n"
        "    running = torch.zeros((), dtype=x.dtype)\n"
        "    for count, value in enumerate(x, start=1):\n"
        "        running += (value - running) / count   # running mean, one pass\n"
        "    return running")),
    "answer_variance": Variant("original", (
        "    # second pass around the mean (stable); divisor n, not n - 1, for the MLE\n"
        "    centre = sample_mean(x)\n    deviations = x - centre\n"
        "    return torch.dot(deviations, deviations) / deviations.numel()")),
}, PS6: {
    "poisson_loglik": Variant("original", (
        "    # log pmf summed over machines; log(y!) = lgamma(y + 1)\n"
        "    linear_predictor = torch.mv(X, beta)\n    log_factorials = torch.lgamma(y.add(1))\n"
        "    return torch.sum(y * linear_predictor) - torch.sum(torch.exp(linear_predictor)) - torch.sum(log_factorials)"),
        gives=GRAD),
    "fit_gradient_ascent": Variant("original", (
        "    # grow the path as a tensor, one row per step\n"
        "    trajectory = beta0.detach().clone().unsqueeze(0)\n    for _ in range(num_steps):\n"
        "        point = trajectory[-1].clone().requires_grad_(True)\n        poisson_loglik(X, y, point).backward()\n"
        "        trajectory = torch.cat([trajectory, (point + lr * point.grad).detach().unsqueeze(0)])\n"
        "    return trajectory"), needs=GRAD),
    "fit_newton": Variant("original", (
        "    # IRLS: for the canonical link Newton = iteratively reweighted least squares\n"
        "    coef = beta0.detach().clone()\n    history = [coef]\n    for _ in range(num_steps):\n"
        "        mu = torch.exp(X @ coef)\n        z = X @ coef + (y - mu) / mu        # working response\n"
        "        XtW = X.T * mu                      # X^T W\n        coef = torch.linalg.solve(XtW @ X, XtW @ z)\n"
        "        history.append(coef)\n    return torch.stack(history)")),
    "standard_errors": Variant("original", (
        "    weights = torch.exp(X @ beta_hat)\n"
        "    observed_information = torch.einsum(\"ni,n,nj->ij\", X, weights, X)\n"
        "    return torch.cholesky_inverse(torch.linalg.cholesky(observed_information)).diagonal().sqrt()")),
    "newton_and_existence": Variant("original", (
        "(a) Think of $\\ell$ as a bowl turned upside down: it is strictly concave ($H = -X^\\top \\mathrm{diag}(\\mu) X$), "
        "and close to $\\hat\\beta$ a second-order Taylor expansion is almost exact. Each Newton step jumps to the top "
        "of that Taylor bowl, so the number of correct digits doubles per step (1e-1, 1e-2, 1e-5, 1e-9). Gradient "
        "ascent is throttled by the steepest direction: lr < 2 / largest eigenvalue, so the flat directions crawl. "
        "Fisher scoring = Newton here because for the log link $H$ has no $y$ in it: $E[H] = H$.\n\n"
        "(b) The `new_model` coefficient drifts down by roughly 1 per iteration forever, and the log-likelihood creeps "
        "up towards a ceiling it never touches. Those 15 machines all have zero counts, so their rates want to be "
        "exactly 0, which needs $\\beta = -\\infty$: no maximiser, no MLE. Fix: put a N(0, v) prior on the "
        "coefficients (MAP = ridge-penalised likelihood), which is strictly concave and has a finite maximum."),
        NOTHING),
}}
COPY = {DEMO: {
    "answer_mean": Variant("copy", (
        "    acc = torch.zeros((), dtype = x.dtype)\n"
        "    for k, v in enumerate(x, start = 1):\n"
        "        acc += (v-acc)/k\n"
        "    return acc")),
    "answer_variance": Variant("copy", (
        "    # divide by n (MLE)\n    c = sample_mean(x)\n    d = x-c\n    return torch.dot(d, d)/d.numel()")),
}, PS6: {
    "poisson_loglik": Variant("copy", (
        "    lp = torch.mv(X, beta)\n    lf = torch.lgamma(y.add(1))\n"
        "    return (torch.sum(y*lp)\n            - torch.sum(torch.exp(lp))\n            - torch.sum(lf))"), gives=GRAD),
    "fit_gradient_ascent": Variant("copy", (
        "    traj = beta0.detach().clone().unsqueeze(0)\n    for i in range(num_steps):\n"
        "        b = traj[-1].clone().requires_grad_(True)\n        poisson_loglik(X, y, b).backward()\n"
        "        traj = torch.cat([traj,\n                          (b + lr*b.grad).detach().unsqueeze(0)])\n"
        "    return traj"), needs=GRAD),
    "fit_newton": Variant("copy", (
        "    # newton steps\n    b = beta0.detach().clone()\n    hist = [b]\n    for i in range(num_steps):\n"
        "        m = torch.exp(X@b)\n        work = X@b + (y-m)/m\n        A = X.T*m\n"
        "        b = torch.linalg.solve(A@X, A@work)\n        hist.append(b)\n    return torch.stack(hist)")),
    "standard_errors": Variant("copy", (
        "    w = torch.exp(X@beta_hat)\n    I = torch.einsum('ni,n,nj->ij', X, w, X)\n"
        "    return torch.cholesky_inverse(torch.linalg.cholesky(I)).diagonal().sqrt()")),
    "newton_and_existence": Variant("copy", (
        "(a) $\\ell$ is like an upside-down bowl: strictly concave ($H = -X^\\top \\mathrm{diag}(\\mu) X$), and near "
        "$\\hat\\beta$ the second-order Taylor expansion is almost exact. Every Newton step jumps to the top of that "
        "bowl, so the correct digits double each step. Gradient ascent is limited by the steepest direction "
        "(lr < 2 / largest eigenvalue) so flat directions crawl. Fisher scoring is Newton here since H has no y "
        "in it for the log link, E[H] = H.\n\n"
        "(b) The new_model coefficient goes down by about 1 each iteration forever and the log-likelihood creeps up "
        "to a ceiling it never reaches. The 15 machines all have zero counts so their rates want to be 0, which "
        "needs beta = -infinity: no maximiser, so no MLE. Fix: a N(0, v) prior on the coefficients (MAP = ridge "
        "penalised likelihood), strictly concave with a finite maximum."), NOTHING),
}}

# --------------------------------------------------------------------------- the students' own touches

COMMENTS = ["# worked on this in the Tuesday lab", "# checked against the lecture notes", "# TODO tidy up before handing in",
            "# (second attempt)", "# my version", "# took me a while!", "# see chapter 3"]
NAMES = {"n": ["count", "num"], "total": ["acc", "running_sum"], "mean": ["m", "avg"], "mean_sq": ["second_moment", "ex2"],
         "squares": ["sq", "sq_devs"], "centred": ["dev", "diffs"], "rates": ["mu", "lam"], "eta": ["lin", "xb"],
         "path": ["history", "iterates"], "betas": ["steps", "trace"], "gradient": ["grad_manual", "g"],
         "current": ["b_now", "point"], "info": ["fisher", "I_mat"], "out": ["trajectory", "res"],
         "score": ["grad_vec", "s"], "rate": ["lam", "mu_t"], "H": ["hess", "Hmat"], "cov": ["covariance", "V"],
         "information": ["fisher_info", "info"], "mu": ["rate", "lam"]}
DEBUG = {"answer_mean": 'print("mean of 1, 2, 6:", sample_mean(torch.tensor([1.0, 2.0, 6.0])))',
         "answer_variance": "print(sample_variance(torch.tensor([1.0, 3.0])))",
         "poisson_loglik": 'print("loglik at beta0", poisson_loglik(X, y, beta0))',
         "fit_gradient_ascent": "print(path_ascent.shape)",
         "fit_newton": "print(path_newton[-3:])",
         "standard_errors": "print(se)"}


def _pick(options, *key) -> int:
    """A deterministic choice among ``options`` for ``key`` (the same in every run)."""
    return int(hashlib.sha256("/".join(map(str, key)).encode()).hexdigest(), 16) % len(options)


def touched(variant: Variant, body: str, student: str, answer: str) -> tuple[str, str, str]:
    """``(comment line, body, debugging statement)``: ``body`` of ``variant`` as this student wrote it."""
    if variant.swap and _pick([0, 1], student, answer, "order"):
        first, second = variant.swap
        body = body.replace(f"{first}\n{second}", f"{second}\n{first}")
    if variant.local and _pick([0, 1, 2], student, answer, "rename"):
        new = NAMES[variant.local][_pick(NAMES[variant.local], student, answer)]
        body = re.sub(rf"\b{re.escape(variant.local)}\b", new, body)
    comment = COMMENTS[_pick(COMMENTS, student, answer)] + "\n" if _pick([0, 1], student, answer, "comment") else ""
    debug = DEBUG[answer] if _pick([0, 1, 2], student, answer, "debug") == 0 else ""
    return comment, body, debug


# --------------------------------------------------------------------------- the class

@dataclass
class Planned:
    role: str  # "perfect", "honest", "blank", "original", "copier", "corrupt", "timeout", "kernel_death",
    #            "forbidden", "sandbox_refusal", "nonsubmitter"
    answers: dict = field(default_factory=dict)  # assignment -> {answer grade_id: variant name}
    expected: dict = field(default_factory=dict)  # assignment -> autograded points, None when nothing is graded
    submitted_at: dict = field(default_factory=dict)  # assignment -> aware UTC datetime, None when not submitted


@dataclass
class Classroom:
    course: Path
    assignments: list
    roster: Path
    students: dict  # id -> Planned
    copied_pair: tuple
    nonsubmitter: str
    due: dict
    run: subprocess.CompletedProcess

    def copy(self, folder) -> Path:
        """A private copy of the course (gradebook included) in ``folder``/course, for a test that changes it.

        Its ``nbgrader_config.py`` still names this course's secret (read only): a re-grade draws the same data.
        """
        target = Path(folder) / "course"
        shutil.copytree(self.course, target, symlinks=True)
        return target


PEOPLE = [("Amara", "Okafor"), ("Ben", "Hartley"), ("Chloe", "Nguyen"), ("Dmitri", "Volkov"), ("Elif", "Demir"),
          ("Farah", "Haddad"), ("Gustavo", "Rocha"), ("Hana", "Sato"), ("Ivan", "Petrov"), ("Jasmine", "Clarke"),
          ("Kofi", "Mensah"), ("Lena", "Fischer"), ("Mateo", "Garcia"), ("Nadia", "Rahman"), ("Oskar", "Lindqvist"),
          ("Priya", "Iyer"), ("Quentin", "Moreau"), ("Rosa", "Bianchi"), ("Samuel", "Adeyemi"), ("Tara", "Walsh"),
          ("Umar", "Siddiqui"), ("Vera", "Novak"), ("William", "Chen"), ("Xenia", "Popescu"), ("Yusuf", "Kaya"),
          ("Zoe", "Martin")]
CYCLED = 21  # students whose answers cycle through the pools: 3 blocks of 7, every variant used 3 times or more
# Per answer (a, b, c): variant index = (a * r + b + c * block) % len(pool) for the r-th student of a block; a and
# c prime to 7 and c different per answer, so no two students share their whole combination.
CYCLE = {"answer_mean": (1, 0, 1), "answer_variance": (3, 2, 2), "poisson_loglik": (2, 1, 3), "fit_gradient_ascent": (3, 5, 4),
         "fit_newton": (5, 3, 5), "standard_errors": (4, 6, 6), "newton_and_existence": (1, 4, 3)}
# Problem students (cycled students given one problem each; chosen so that the problem costs points the
# answers would have earned) and late submissions, by the student's index.
PROBLEMS = {0: ("timeout", DEMO), 1: ("forbidden", PS6), 3: ("corrupt", PS6), 13: ("kernel_death", PS6),
            19: ("sandbox_refusal", PS6)}
# The answer cell each problem is attached to.
LOOP_ANSWER, DEATH_ANSWER, FORBIDDEN_ANSWER = "answer_variance", "fit_newton", "fit_newton"
LATE = {(4, DEMO): timedelta(0), (8, PS6): timedelta(hours=1), (12, DEMO): timedelta(days=2.5),
        (16, PS6): timedelta(days=6)}


def student_id(first, last) -> str:
    return (first[0] + last).lower()


def answer_tests(assignment: str, source) -> dict[str, dict[str, float]]:
    """``{answer grade_id: {test grade_id: points}}``: the test cells whose trusted checks grade each answer."""
    points = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader["points"] for c in source.cells
              if utils.is_grade(c) and not utils.is_solution(c)}
    spec = checks.load(assignment)
    tests: dict = {}
    for grade_id, check in spec.checks.items():
        for answer in spec.task(check.task).answers:
            tests.setdefault(answer, {})[grade_id] = points[grade_id]
    return tests


def plan_class() -> dict[str, tuple[Planned, dict]]:
    """``{student: (Planned without expected points, {assignment: {answer: Variant}})}``, deterministic."""
    people = [student_id(*p) for p in PEOPLE]
    plans = {}
    for i, student in enumerate(people[:CYCLED]):
        block, r = divmod(i, 7)
        chosen = {a: {answer: pool[(CYCLE[answer][0] * r + CYCLE[answer][1] + CYCLE[answer][2] * block) % len(pool)]
                      for answer, pool in pools.items()} for a, pools in POOLS.items()}
        role = PROBLEMS.get(i, ("honest",))[0]
        plans[student] = (Planned(role), chosen)
    named = people[CYCLED:]

    def every(k):  # the k-th variant of every pool
        return {a: {answer: pool[k] for answer, pool in pools.items()} for a, pools in POOLS.items()}

    plans[named[0]] = (Planned("perfect"), every(0))  # the instructor's solutions, as solved_release writes them
    plans[named[1]] = (Planned("blank"), every(-1))  # the release handed in unchanged
    plans[named[2]] = (Planned("original"), ORIGINAL)
    plans[named[3]] = (Planned("copier"), COPY)
    plans[named[4]] = (Planned("nonsubmitter"), {})
    for i, student in enumerate(people):
        planned, chosen = plans[student]
        planned.answers = {a: {answer: v.name for answer, v in answers.items()} for a, answers in chosen.items()}
        for k, assignment in enumerate(ASSIGNMENTS):
            if planned.role == "nonsubmitter":
                planned.submitted_at[assignment] = None
            elif (i, assignment) in LATE:
                planned.submitted_at[assignment] = DUE[assignment] + LATE[(i, assignment)]
            else:  # on time: from a few minutes to two days before the deadline
                planned.submitted_at[assignment] = DUE[assignment] - timedelta(minutes=7 + (97 * i + 53 * k) % 2880)
    return plans


def problem_of(planned: Planned, assignment: str) -> str | None:
    """The student's problem if it is in ``assignment``."""
    return planned.role if (planned.role, assignment) in PROBLEMS.values() else None


def expected_cells(chosen: dict, problem: str | None, tests: dict) -> dict[str, float]:
    """``{test grade_id: points}`` that the answers deserve, in notebook order: a variant earns the points of
    its test cells when what it needs was given by an earlier answer and no problem took them."""
    earned, given, dead = {}, set(), False
    for answer, variant in chosen.items():  # the pools, ORIGINAL and COPY list the answers in notebook order
        given |= variant.gives
        dead = dead or (problem == "kernel_death" and answer == DEATH_ANSWER)
        lost = (dead or (problem == "timeout" and answer == LOOP_ANSWER)
                or (problem == "forbidden" and answer == FORBIDDEN_ANSWER) or not variant.needs <= given)
        for grade_id, points in tests.get(answer, {}).items():
            earned[grade_id] = 0.0 if lost or (variant.earns != ALL and grade_id not in variant.earns) else float(points)
    return earned


def expected_points(chosen: dict, problem: str | None, tests: dict) -> float | None:
    """The autograded points of a submission; None when nothing of it is graded."""
    return None if problem == "corrupt" else sum(expected_cells(chosen, problem, tests).values())


# --------------------------------------------------------------------------- notebooks

ENDLESS_LOOP = ("import time\n\n# wait until the plot window is closed (it never is in a notebook)\n"
                "while True:\n    time.sleep(0.05)\n\n")
KERNEL_DEATH = "# the kernel got slow: restart it\nimport os\nos._exit(1)"
FORBIDDEN = ("\n\n# compare with statsmodels\nimport statsmodels.api as sm\n"
             "print(sm.GLM(y.numpy(), X.numpy(), family=sm.families.Poisson()).fit().params)")
REFUSAL = ("# keep a copy of the data for the report I write at home\nimport csv\n"
           "with open('/home/jovyan/ps6_faults.csv', 'w', newline='') as handle:\n"
           "    csv.writer(handle).writerows(torch.column_stack([X, y]).tolist())")


STUB_LINES = "    # YOUR CODE HERE\n    raise NotImplementedError()"


def answer_cell(release_cell, variant: Variant, solution: str, student: str, answer: str, touch: bool) -> str:
    """The source of the release's answer cell with ``variant`` written in (and the student's touches)."""
    if variant.body == STUB:
        return release_cell.source
    if release_cell.cell_type == "markdown":
        return solution if variant.body is None else release_cell.source.replace("YOUR ANSWER HERE", variant.body)
    # the solution is a whole cell; a variant's body goes between the release's def line and what follows it
    prefix, suffix = release_cell.source.split(STUB_LINES) if variant.body else ("", "")
    comment, body, debug = "", variant.body or solution, ""
    if touch:
        comment, body, debug = touched(variant, body, student, answer)
    cell = comment + variant.head + prefix + body + suffix
    if debug:  # a blank line first when the cell ends inside the function
        cell += ("\n\n" if cell.rsplit("\n", 1)[-1].startswith(" ") else "\n") + debug
    return cell


def student_notebook(release, source, chosen: dict, student: str, problem: str | None, touch: bool):
    nb = nbformat.reads(nbformat.writes(release), as_version=4)
    solutions = solution_answers(source)
    cells = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_solution(cell) and grade_id in chosen:
            cell.source = answer_cell(cell, chosen[grade_id], solutions[grade_id], student, grade_id, touch)
            if problem == "timeout" and grade_id == LOOP_ANSWER:
                cell.source = ENDLESS_LOOP + cell.source
            if problem == "forbidden" and grade_id == FORBIDDEN_ANSWER:
                cell.source += FORBIDDEN
            if problem == "kernel_death" and grade_id == DEATH_ANSWER:
                cells.append(new_code_cell(KERNEL_DEATH))
        cells.append(cell)
        if problem == "sandbox_refusal" and grade_id == "setup":
            cells.append(new_code_cell(REFUSAL))
    nb.cells = cells
    return nb


def write_submission(course: Path, student: str, assignment: str, nb, submitted_at: datetime, corrupt: bool) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    text = nbformat.writes(nb)
    (folder / f"{assignment}.ipynb").write_text(text[: len(text) // 2] if corrupt else text, encoding="utf-8")
    # nbgrader reads the submission time from here
    (folder / "timestamp.txt").write_text(submitted_at.strftime("%Y-%m-%d %H:%M:%S.%f %Z"), encoding="utf-8")


def write_roster(path: Path, students: list[str]) -> None:
    """Contract 2: id,first_name,last_name,email and the LMS columns (left empty for two students)."""
    names = {student_id(*p): p for p in PEOPLE}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id", "sis_login_id", "section"])
        for k, student in enumerate(students):
            first, last = names[student]
            lms = ["", "", "", ""] if k in (5, 17) else [str(48210 + 37 * k), f"S27{k:04d}", student, "A" if k % 2 else "B"]
            writer.writerow([student, first, last, f"{student}@students.example.edu", *lms])


def write_schedule(course: Path) -> None:
    """Contract 3: the due dates and the late policy."""
    lines = ["# Due dates and the late policy of the scratch course (contract 3).",
             "# A submission at or before its due date is on time; late by t > 0: days = ceil(t / 1 day),",
             "# the penalty is percent_per_day * days % of the whole score, or all of it when days > zero_after_days.",
             "[late_policy]", "percent_per_day = 10", "zero_after_days = 5", "", "[due]"]
    lines += [f"{a} = {DUE[a].strftime('%Y-%m-%dT%H:%M:%SZ')}" for a in ASSIGNMENTS]
    (course / "course_schedule.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_classroom(root: Path) -> Classroom:
    """Make the course in ``root``/course, hand in every submission, autograde once with 2 workers."""
    course = scratch.scratch_course(Path(root) / "course", ASSIGNMENTS, solutions=ROOT / "solutions", timeout=TIMEOUT)
    plans = plan_class()
    notebooks = {a: (nbformat.read(course / "release" / a / f"{a}.ipynb", 4),
                     nbformat.read(course / "source" / a / f"{a}.ipynb", 4)) for a in ASSIGNMENTS}
    students = {}
    for student, (planned, chosen) in plans.items():
        for assignment in ASSIGNMENTS:
            if planned.role == "nonsubmitter":
                planned.expected[assignment] = None
                continue
            release, source = notebooks[assignment]
            problem = problem_of(planned, assignment)
            planned.expected[assignment] = expected_points(chosen[assignment], problem, answer_tests(assignment, source))
            nb = student_notebook(release, source, chosen[assignment], student, problem,
                                  touch=planned.role not in ("perfect", "blank", "original", "copier"))
            write_submission(course, student, assignment, nb, planned.submitted_at[assignment], problem == "corrupt")
        students[student] = planned
    roster = course / "roster.csv"
    write_roster(roster, list(students))
    write_schedule(course)
    run = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", "2", "--course", str(course)],
                         capture_output=True, text=True, timeout=1800)
    by_role = {p.role: s for s, p in students.items()}
    return Classroom(course=course, assignments=list(ASSIGNMENTS), roster=roster, students=students,
                     copied_pair=(by_role["original"], by_role["copier"]), nonsubmitter=by_role["nonsubmitter"],
                     due=dict(DUE), run=run)
