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
