"""Trusted checks of ps6_poisson: the Poisson-regression log-likelihood, gradient ascent, Newton, standard errors.

Everything is judged on data the grader draws (fresh counts for every student and check) against its own
arithmetic: the value and the autograd gradient of the log-likelihood; every gradient-ascent step and every
Newton step against the update applied to the student's own previous point; Newton's path from the
intercept-only start against the grader's MLE (to 1e-8 in 8 steps); the standard errors against
sqrt(diag((X^T W X)^-1)) at the point they are asked for.
"""
import numpy as np
import torch

import mle_helpers as mh

from ..remote import RequiresGrad
from . import Assignment, CheckFailed, Task, as_points, fmt

# A Newton step needs the Hessian's system solved (or inverted); a hand-written gradient reproduces autograd's.
SOLVE = ("hessian", "solve", "solve_ex", "inv", "inverse", "cholesky_solve", "cholesky_inverse", "solve_triangular")
ASSIGNMENT = Assignment("ps6_poisson", [
    Task("poisson_loglik", answers=["poisson_loglik"]),
    Task("fit_gradient_ascent", answers=["fit_gradient_ascent"], required=[("backward", "torch.autograd.grad")]),
    Task("fit_newton", answers=["fit_newton"], required=[SOLVE]),
    Task("standard_errors", answers=["standard_errors"]),
])

N, SEED, BETA_TRUE = 250, 6, (1.0, 0.4, -0.7)
LR, ASCENT_STEPS, NEWTON_STEPS = 1e-3, 300, 8  # the notebook's runs
MLE_ATOL = 1e-8  # Newton from the intercept-only start reaches the MLE to this in NEWTON_STEPS steps


def setup_data():
    """The setup cell's X, y and beta0, made by the grader (the kernel's copies may have been changed)."""
    generator = torch.Generator().manual_seed(SEED)
    age = torch.randn(N, generator=generator, dtype=torch.float64)
    serviced = (torch.rand(N, generator=generator, dtype=torch.float64) < 0.5).to(torch.float64)
    X = torch.column_stack([torch.ones(N, dtype=torch.float64), age, serviced])
    y = torch.poisson(torch.exp(X @ torch.tensor(BETA_TRUE, dtype=torch.float64)), generator=generator)
    return X, y, torch.tensor([y.mean().log().item(), 0.0, 0.0], dtype=torch.float64)


def information(X, beta):
    """Minus the Hessian of the Poisson log-likelihood: X^T diag(exp(X beta)) X (it does not depend on y)."""
    return X.T @ (torch.exp(X @ beta)[:, None] * X)


def newton_path(X, y, beta0, num_steps):
    path = [beta0]
    for _ in range(num_steps):
        beta = path[-1]
        path.append(beta + torch.linalg.solve(information(X, beta), X.T @ (y - torch.exp(X @ beta))))
    return torch.stack(path)


def intercept_only(y, p):
    """The start of every fit in the notebook: (log ybar, 0, ..., 0), the MLE of the intercept-only model."""
    return torch.cat([y.mean().log().reshape(1), torch.zeros(p - 1, dtype=torch.float64)])


def fresh_design(rng, n, p):
    """An intercept, continuous covariates (each correlated with the one before) and binary ones, full rank."""
    while True:
        columns, previous = [np.ones(n)], np.zeros(n)
        for j in range(p - 1):
            if j % 2 == 0:
                previous = rng.normal(0, 1, n) + rng.uniform(-0.8, 0.8) * previous
                columns.append(previous)
            else:
                columns.append((rng.uniform(size=n) < rng.uniform(0.3, 0.7)).astype(float))
        X = torch.as_tensor(np.column_stack(columns))
        if torch.linalg.matrix_rank(X) == p:
            return X


def fresh_problem(rng, n_range=(60, 300)):
    """Poisson-regression data from the model (rates up to about 20, some zero counts) and its MLE. Drawn again
    until Newton from the intercept-only start reaches the MLE to MLE_ATOL within NEWTON_STEPS steps (it nearly
    always does within 5)."""
    while True:
        n, p = int(rng.integers(*n_range)), int(rng.integers(2, 5))
        X = fresh_design(rng, n, p)
        beta = torch.as_tensor(np.concatenate([[rng.uniform(0, 1.5)], rng.uniform(-0.6, 0.6, p - 1)]))
        y = torch.as_tensor(rng.poisson(torch.exp(X @ beta).numpy()).astype(float))
        path = newton_path(X, y, intercept_only(y, p), 40)
        mle = path[-1]
        tolerance = 0.01 * MLE_ATOL * max(1.0, float(mle.abs().max()))
        if torch.isfinite(path).all() and (path[NEWTON_STEPS] - mle).abs().max() <= tolerance:
            return X, y, mle


def near(rng, beta, spread=0.3):
    return beta + torch.as_tensor(rng.normal(0, spread, beta.numel()))


def described(X):
    return f"X of shape {tuple(X.shape)}, y"


def judged(call, check, *args, **kwargs):
    """Run an mh.checks check on the student's answer; its message is prefixed with the call that gave it."""
    try:
        check(*args, **kwargs)
    except AssertionError as error:
        raise CheckFailed(f"{call}: {error}") from None


def answer_with_args(nb, name, *args):
    """The student's result and the arguments after the call (was beta0 changed in place?)."""
    answer = nb.call(name, *args, return_args=True)
    beta0 = args[2]
    if not torch.equal(as_points("beta0", answer["args"][2]).to(torch.float64), beta0):
        raise CheckFailed(f"{name} changed its argument beta0 in place (from {fmt(beta0)} to "
                          f"{fmt(answer['args'][2])}): start from a copy, beta0.detach().clone()")
    return answer["value"]


# ---------------------------------------------------------------- Task 1: poisson_loglik

def kernel_loglik(nb):
    """The student's poisson_loglik as a function of grader tensors: its value, and (when autograd reaches beta)
    a tensor whose gradient with respect to beta is the one the kernel's autograd computed."""
    def poisson_loglik(X, y, beta):
        point = beta.detach()
        value = nb.call("poisson_loglik", X, y, point)
        if not isinstance(value, torch.Tensor) or value.ndim != 0:
            return value
        try:
            grad = nb.call("poisson_loglik", X, y, RequiresGrad(point), backward=True)["grads"][2]
        except CheckFailed as failure:  # backward() failed: nothing in the result requires grad
            if "grad" not in str(failure):
                raise
            grad = None
        if grad is None:
            return value.to(torch.float64)
        return value.to(torch.float64) + ((beta - point) * as_points("the gradient", grad).to(torch.float64)).sum()
    return poisson_loglik


@ASSIGNMENT.check("test_poisson_loglik_visible", task="poisson_loglik")
def _(nb, rng):
    """The self-check on the setup's data: the value at two betas, a 0-dim tensor, the gradient."""
    X, y, _ = setup_data()
    mh.checks.check_poisson_loglik(kernel_loglik(nb), X, y)


@ASSIGNMENT.check("test_poisson_loglik_hidden", task="poisson_loglik")
def _(nb, rng):
    """Fresh data with many zeros and with large counts (log y! matters), other sizes, random betas."""
    for n_range, scale in (((5, 15), 0.5), ((30, 120), 1.0), ((20, 60), 3.0)):
        X = fresh_design(rng, int(rng.integers(*n_range)), int(rng.integers(2, 5)))
        y = torch.as_tensor(rng.poisson(scale * rng.uniform(0.1, 20, X.shape[0])).astype(float))
        betas = [torch.as_tensor(rng.normal(0, 0.5, X.shape[1])) for _ in range(2)]
        judged(f"poisson_loglik({described(X)} with counts up to {int(y.max())}, beta)", mh.checks.check_poisson_loglik,
               kernel_loglik(nb), X, y, betas=betas)


# ---------------------------------------------------------------- Task 2: fit_gradient_ascent

@ASSIGNMENT.check("test_fit_gradient_ascent_visible", task="fit_gradient_ascent")
def _(nb, rng):
    """The self-check: 300 steps with lr = 1e-3 on the setup's data follow the update and reach the maximum."""
    X, y, beta0 = setup_data()
    path = nb.call("fit_gradient_ascent", X, y, beta0, LR, ASCENT_STEPS)
    judged(f"fit_gradient_ascent(X, y, beta0, lr={LR:g}, num_steps={ASCENT_STEPS})",
           mh.checks.check_poisson_ascent_path, path, X, y, beta0, LR, ASCENT_STEPS, converged=True)


@ASSIGNMENT.check("test_fit_gradient_ascent_hidden", task="fit_gradient_ascent")
def _(nb, rng):
    """Fresh data, starts and stable learning rates; 1, a few and a few dozen steps, each beta_t + lr * grad."""
    for num_steps in (1, int(rng.integers(2, 6)), int(rng.integers(15, 40))):
        X, y, mle = fresh_problem(rng)
        beta0 = near(rng, mle)
        curvature = max(float(torch.linalg.eigvalsh(information(X, b)).max()) for b in (beta0, mle))
        lr = float(f"{float(rng.uniform(0.1, 0.9)) / curvature:.3g}")
        call = f"fit_gradient_ascent({described(X)}, beta0={fmt(beta0)}, lr={lr:g}, num_steps={num_steps})"
        path = answer_with_args(nb, "fit_gradient_ascent", X, y, beta0, lr, num_steps)
        judged(call, mh.checks.check_poisson_ascent_path, path, X, y, beta0, lr, num_steps)


# ---------------------------------------------------------------- Task 3: fit_newton

@ASSIGNMENT.check("test_fit_newton_visible", task="fit_newton")
def _(nb, rng):
    """The self-check: 8 Newton steps on the setup's data, each from the previous point, reach the MLE."""
    X, y, beta0 = setup_data()
    path = nb.call("fit_newton", X, y, beta0, NEWTON_STEPS)
    judged(f"fit_newton(X, y, beta0, num_steps={NEWTON_STEPS})", mh.checks.check_newton_path,
           path, X, y, beta0, NEWTON_STEPS)


@ASSIGNMENT.check("test_fit_newton_hidden", task="fit_newton")
def _(nb, rng):
    """Fresh data: 1 and a few steps from random starts, each Newton's step from the student's previous point;
    8 steps from the intercept-only start reach the grader's MLE to 1e-8."""
    X, y, mle = fresh_problem(rng)
    p = X.shape[1]
    for beta0, num_steps in ((near(rng, mle), 1), (near(rng, mle), int(rng.integers(2, 5))),
                             (intercept_only(y, p), NEWTON_STEPS)):
        call = f"fit_newton({described(X)}, beta0={fmt(beta0)}, num_steps={num_steps})"
        path = answer_with_args(nb, "fit_newton", X, y, beta0, num_steps)
        judged(call, mh.checks.check_newton_path, path, X, y, beta0, num_steps, converged=False)
    last = as_points("path", path).to(torch.float64)[-1]
    if not (last - mle).abs().max() <= MLE_ATOL * max(1.0, float(mle.abs().max())):
        raise CheckFailed(f"{call} ends at {fmt(last)}; the MLE is {fmt(mle)}: {NEWTON_STEPS} Newton steps from "
                          f"the intercept-only start reach it to {MLE_ATOL:g}")


# ---------------------------------------------------------------- Task 4: standard_errors

@ASSIGNMENT.check("test_standard_errors_visible", task="standard_errors")
def _(nb, rng):
    """The self-check at the MLE of the setup's data (the grader's, so that it does not depend on Task 3)."""
    X, y, beta0 = setup_data()
    beta_hat = newton_path(X, y, beta0, 2 * NEWTON_STEPS)[-1]
    se = nb.call("standard_errors", X, y, beta_hat)
    judged(f"standard_errors(X, y, beta_hat={fmt(beta_hat)})", mh.checks.check_standard_errors, se, X, y, beta_hat)


@ASSIGNMENT.check("test_standard_errors_hidden", task="standard_errors")
def _(nb, rng):
    """Fresh data with correlated covariates: sqrt(diag((X^T W X)^-1)) at the MLE and at the other point given."""
    X, y, mle = fresh_problem(rng)
    for beta_hat in (mle, near(rng, mle, 0.5)):
        se = nb.call("standard_errors", X, y, beta_hat)
        judged(f"standard_errors({described(X)}, beta_hat={fmt(beta_hat)})", mh.checks.check_standard_errors,
               se, X, y, beta_hat)
