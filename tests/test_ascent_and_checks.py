"""mh.ascent reference loops and the mh.checks that test cells call."""
import contextlib
import io

import numpy as np
import pytest
import torch

import mle_helpers as mh

SIGMA = 5 * torch.eye(2, dtype=torch.float64)
X = mh.data.sample_gaussian(10_000, [1.0, 1.0], SIGMA, seed=0)
MU0 = torch.tensor([-1.0, -1.0], dtype=torch.float64)


def test_gradient_ascent_follows_the_update_rule_and_converges():
    path = mh.ascent.gradient_ascent(X, SIGMA, MU0, 5e-4, 20)
    assert path.shape == (21, 2) and torch.equal(path[0], MU0)
    grad = lambda mu: X.shape[0] * torch.linalg.solve(SIGMA, X.mean(0) - mu)
    for t in range(20):
        assert torch.allclose(path[t + 1], path[t] + 5e-4 * grad(path[t]), rtol=1e-12)
    # lr = sigma^2 / n is the one-step rate for this problem: one update lands on the sample mean.
    one_step = mh.ascent.gradient_ascent(X, SIGMA, MU0, 5.0 / 10_000, 1)
    assert torch.allclose(one_step[-1], X.mean(0), atol=1e-12)


def test_minibatch_with_k_equal_n_is_full_batch_and_small_k_is_noisy():
    full = mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 15)
    assert torch.allclose(mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 15, batch_size=10_000), full, rtol=1e-10)
    a = mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 15, batch_size=10, seed=1)
    b = mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 15, batch_size=10, seed=1)
    assert torch.equal(a, b) and not torch.allclose(a, full, atol=1e-3)


def test_optimizer_path_minimises_the_nll():
    path = mh.ascent.optimizer_path(X, SIGMA, MU0, lambda p: torch.optim.Adam(p, lr=0.1), 300)
    assert torch.allclose(path[-1], X.mean(0), atol=1e-2)


def run_silently(fn, *args):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        fn(*args)
    assert err.getvalue() == "" and out.getvalue() == ""


def test_checks_are_silent_on_correct_answers():
    x = mh.data.sample_gaussian(30, 0.0, 1.0, seed=0)
    run_silently(mh.checks.check_gaussian_mle, *mh.estimators.gaussian_mle(x), x)
    xs, ys = mh.data.sample_linear(30, 2.0, 1.0, 0.5, seed=0)
    run_silently(mh.checks.check_linreg_mle, *mh.estimators.linreg_mle(xs, ys), xs, ys)
    run_silently(mh.checks.check_bernoulli_map, 1 / 5**0.5, mh.data.COIN_TOSSES, 0.5, 0.1)
    path = mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 5)
    run_silently(mh.checks.check_gradient_ascent_path, list(path), X, SIGMA, MU0, 1e-4, 5)


@pytest.mark.parametrize("make_path,fragment", [
    (lambda: [MU0.clone() for _ in range(6)], "never moved"),
    (lambda: list(mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 4)), r"expected num_steps \+ 1 = 6"),
    (lambda: list(2 * MU0 - mh.ascent.gradient_ascent(X, SIGMA, MU0, 1e-4, 5)), "goes downhill"),  # mirrored path
    (lambda: [MU0] + [X.mean(0)] * 5, "step 1 is"),
])
def test_path_check_explains_what_is_wrong(make_path, fragment):
    with pytest.raises(AssertionError, match=fragment):
        mh.checks.check_gradient_ascent_path(make_path(), X, SIGMA, MU0, 1e-4, 5)


def test_variance_check_names_the_n_minus_1_mistake():
    x = mh.data.sample_gaussian(20, 0.0, 1.0, seed=1)
    with pytest.raises(AssertionError, match="divides by n - 1"):
        mh.checks.check_gaussian_mle(x.mean(), x.var(), x)  # torch.var divides by n - 1


def test_map_check_names_the_standard_deviation_mistake():
    with pytest.raises(AssertionError, match="standard deviation"):
        mh.checks.check_bernoulli_map(mh.estimators.bernoulli_map(mh.data.COIN_TOSSES, 0.5, 0.01),
                                      mh.data.COIN_TOSSES, 0.5, 0.1)


def test_check_close_reports_a_missing_return():
    with pytest.raises(AssertionError, match="forget to `return`"):
        mh.checks.check_close("mu_hat", None, 1.0)
    with pytest.raises(AssertionError, match="mu_hat is 2; expected 1"):
        mh.checks.check_close("mu_hat", np.float64(2.0), 1.0)


# --- ps6: Poisson regression -------------------------------------------------------------------------

def poisson_problem():
    generator = torch.Generator().manual_seed(1)
    n = 120
    x = torch.randn(n, generator=generator, dtype=torch.float64)
    group = (torch.rand(n, generator=generator, dtype=torch.float64) < 0.5).to(torch.float64)
    X_p = torch.column_stack([torch.ones(n, dtype=torch.float64), x, group])
    y_p = torch.poisson(torch.exp(X_p @ torch.tensor([0.8, 0.3, -0.5], dtype=torch.float64)), generator=generator)
    return X_p, y_p, torch.tensor([float(y_p.mean().log()), 0.0, 0.0], dtype=torch.float64)


X_P, Y_P, BETA0_P = poisson_problem()


def poisson_loglik(X, y, beta):
    eta = X @ beta
    return (y * eta - torch.exp(eta) - torch.lgamma(y + 1)).sum()


def poisson_ascent(lr, num_steps, *, scale=1.0, sign=1.0, accumulate=False):
    beta, path, total = BETA0_P.clone(), [BETA0_P.clone()], torch.zeros(3, dtype=torch.float64)
    for _ in range(num_steps):
        total = total + X_P.T @ (Y_P - torch.exp(X_P @ beta))
        beta = beta + sign * lr * scale * (total if accumulate else X_P.T @ (Y_P - torch.exp(X_P @ beta)))
        path.append(beta)
    return torch.stack(path)


def information(beta):
    return X_P.T @ (torch.exp(X_P @ beta)[:, None] * X_P)


def poisson_newton(num_steps, *, sign=1.0, frozen=False):
    beta, path = BETA0_P.clone(), [BETA0_P.clone()]
    for _ in range(num_steps):
        curvature = information(BETA0_P if frozen else beta)
        beta = beta + sign * torch.linalg.solve(curvature, X_P.T @ (Y_P - torch.exp(X_P @ beta)))
        path.append(beta)
    return torch.stack(path)


BETA_HAT_P = poisson_newton(20)[-1]
COVARIANCE_P = torch.linalg.inv(information(BETA_HAT_P))


def test_poisson_checks_are_silent_on_correct_answers():
    run_silently(mh.checks.check_poisson_loglik, poisson_loglik, X_P, Y_P)
    run_silently(lambda: mh.checks.check_poisson_ascent_path(list(poisson_ascent(1e-3, 400)), X_P, Y_P, BETA0_P,
                                                             1e-3, 400, converged=True))
    run_silently(mh.checks.check_newton_path, poisson_newton(8), X_P, Y_P, BETA0_P, 8)
    run_silently(mh.checks.check_standard_errors, COVARIANCE_P.diagonal().sqrt(), X_P, Y_P, BETA_HAT_P)


@pytest.mark.parametrize("loglik,fragment", [
    (lambda X, y, b: poisson_loglik(X, y, b) + torch.lgamma(y + 1).sum(), "left out the -log"),
    (lambda X, y, b: (y * (X @ b) - torch.exp(X @ b) - torch.lgamma(y)).sum(), "infinite at y = 0"),
    (lambda X, y, b: poisson_loglik(X, y, b) / len(y), "mean over the data"),
    (lambda X, y, b: -poisson_loglik(X, y, b), "negative log-likelihood"),
    (lambda X, y, b: poisson_loglik(X, y, b).item(), "must return a torch tensor"),
    (lambda X, y, b: poisson_loglik(X, y, b.detach()), "does not depend on beta"),
    (lambda X, y, b: y * (X @ b) - torch.exp(X @ b) - torch.lgamma(y + 1), "0-dim tensor"),
])
def test_poisson_loglik_check_explains_what_is_wrong(loglik, fragment):
    with pytest.raises(AssertionError, match=fragment):
        mh.checks.check_poisson_loglik(loglik, X_P, Y_P)


@pytest.mark.parametrize("make_path,fragment", [
    (lambda: poisson_ascent(1e-3, 5, sign=-1.0), "goes downhill"),
    (lambda: poisson_ascent(1e-3, 5, accumulate=True), "zero beta.grad"),
    (lambda: poisson_ascent(1e-3, 5, scale=1 / 120), "1/n of the update"),
    (lambda: poisson_ascent(1e-3, 4), r"expected \(num_steps \+ 1, p\)"),
    (lambda: BETA0_P.repeat(6, 1), "never moves"),
])
def test_poisson_ascent_check_explains_what_is_wrong(make_path, fragment):
    with pytest.raises(AssertionError, match=fragment):
        mh.checks.check_poisson_ascent_path(make_path(), X_P, Y_P, BETA0_P, 1e-3, 5)


@pytest.mark.parametrize("num_steps,make_path,fragment", [
    (1, lambda: poisson_newton(1, sign=-1.0), "wrong way"),  # it diverges after a few steps
    (8, lambda: poisson_newton(8, frozen=True), "Hessian at beta0"),
    (8, lambda: torch.stack([BETA0_P] + [BETA_HAT_P] * 8), "Newton step 1 is"),
    (8, lambda: poisson_newton(8)[:8], r"expected \(num_steps \+ 1, p\)"),  # stopped early
])
def test_newton_check_explains_what_is_wrong(num_steps, make_path, fragment):
    with pytest.raises(AssertionError, match=fragment):
        mh.checks.check_newton_path(make_path(), X_P, Y_P, BETA0_P, num_steps)


def test_newton_check_wants_the_maximum_after_the_steps_it_is_given():
    with pytest.raises(AssertionError, match="gradient is still"):
        mh.checks.check_newton_path(poisson_newton(1), X_P, Y_P, BETA0_P, 1)
    mh.checks.check_newton_path(poisson_newton(1), X_P, Y_P, BETA0_P, 1, converged=False)


@pytest.mark.parametrize("se,fragment", [
    (COVARIANCE_P.diagonal(), "variances"),
    (1 / information(BETA_HAT_P).diagonal().sqrt(), "invert the whole matrix first"),
    (torch.linalg.inv(X_P.T @ X_P).diagonal().sqrt(), "weights are missing"),
    (torch.linalg.inv(-information(BETA_HAT_P)).diagonal().sqrt(), "not the Hessian"),
])
def test_standard_error_check_names_the_usual_mistakes(se, fragment):
    with pytest.raises(AssertionError, match=fragment):
        mh.checks.check_standard_errors(se, X_P, Y_P, BETA_HAT_P)


def test_poisson_checks_do_not_warn_on_a_diverged_path():
    """exp(X beta) of a runaway path overflows in NumPy: the check says so and writes nothing to stderr."""
    path = poisson_ascent(1e-3, 3)
    path[2:] = 1e3
    with pytest.raises(AssertionError) as failure, contextlib.redirect_stderr(io.StringIO()) as err:
        mh.checks.check_newton_path(path, X_P, Y_P, BETA0_P, 3)
    assert err.getvalue() == "" and "step" in str(failure.value)
