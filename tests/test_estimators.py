"""mh.estimators against independent computations; mh.data samplers."""
import math

import numpy as np
import pytest
import scipy.optimize
import scipy.stats
import torch

import mle_helpers as mh
from mle_helpers import estimators as est


def test_gaussian_mle_univariate_divides_by_n():
    x = mh.data.sample_gaussian(101, 2.0, 9.0, seed=1)
    mu_hat, sigma2_hat = est.gaussian_mle(x)
    assert mu_hat.item() == pytest.approx(np.mean(x.numpy()), rel=1e-13)
    assert sigma2_hat.item() == pytest.approx(np.var(x.numpy(), ddof=0), rel=1e-12)
    assert sigma2_hat.item() != pytest.approx(np.var(x.numpy(), ddof=1), rel=1e-6)


def test_gaussian_mle_univariate_maximises_the_likelihood():
    x = mh.data.sample_gaussian(50, -1.0, 2.0, seed=2).numpy()
    nll = lambda p: -scipy.stats.norm(p[0], math.exp(p[1])).logpdf(x).sum()
    res = scipy.optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    mu_hat, sigma2_hat = est.gaussian_mle(torch.from_numpy(x))
    assert mu_hat.item() == pytest.approx(res.x[0], abs=1e-6)
    assert sigma2_hat.item() == pytest.approx(math.exp(2 * res.x[1]), rel=1e-5)


def test_gaussian_mle_multivariate_matches_numpy():
    cov = torch.tensor([[2.0, 0.6, 0.0], [0.6, 1.0, 0.3], [0.0, 0.3, 0.5]], dtype=torch.float64)
    X = mh.data.sample_gaussian(500, [1.0, -2.0, 0.5], cov, seed=3)
    mu_hat, cov_hat = est.gaussian_mle(X)
    assert np.allclose(mu_hat.numpy(), X.numpy().mean(0), rtol=1e-13)
    assert np.allclose(cov_hat.numpy(), np.cov(X.numpy().T, bias=True), rtol=1e-12)


def test_linreg_mle_equals_least_squares():
    x, y = mh.data.sample_linear(200, 1.5, -0.7, 0.4, seed=4)
    a_hat, b_hat, var_hat = est.linreg_mle(x, y)
    design = np.column_stack([x.numpy(), np.ones(200)])
    (a_ls, b_ls), rss, *_ = np.linalg.lstsq(design, y.numpy(), rcond=None)
    assert a_hat.item() == pytest.approx(a_ls, rel=1e-12)
    assert b_hat.item() == pytest.approx(b_ls, rel=1e-12)
    assert var_hat.item() == pytest.approx(rss[0] / 200, rel=1e-10)


def test_bernoulli_estimates_for_the_course_tosses():
    tosses = mh.data.COIN_TOSSES
    assert est.bernoulli_mle(tosses) == pytest.approx(3 / 7, abs=1e-15)
    # Prior N(0.5, v) with v the variance: v = 0.1 gives exactly 1/sqrt(5); sd 0.1 (v = 0.01) gives ~0.484.
    assert est.bernoulli_map(tosses, 0.5, 0.1) == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    assert est.bernoulli_map(tosses, 0.5, 0.01) == pytest.approx(0.4844, abs=5e-4)
    assert est.beta_posterior(tosses) == (4.0, 5.0)
    assert est.predictive_head(tosses) == pytest.approx(4 / 9, abs=1e-15)


@pytest.mark.parametrize("x,m,v", [((0, 0, 1, 1, 0, 0, 1), 0.5, 0.1), ((1, 1, 1, 0), 0.2, 0.05),
                                   ((0,) * 9 + (1,), 0.7, 2.0), ((1, 0), 0.9, 0.001)])
def test_bernoulli_map_matches_a_fine_grid_search(x, m, v):
    theta = np.linspace(1e-6, 1 - 1e-6, 2_000_001)
    heads, tails = sum(x), len(x) - sum(x)
    log_post = heads * np.log(theta) + tails * np.log1p(-theta) - (theta - m) ** 2 / (2 * v)
    assert est.bernoulli_map(x, m, v) == pytest.approx(theta[np.argmax(log_post)], abs=1e-6)


def test_bernoulli_map_at_the_boundary_when_all_tails():
    # All tails and a weak pull towards 0.5: the log posterior still rises towards theta = 0.
    assert est.bernoulli_map((0, 0, 0), 0.5, 1.0) == 0.0


def test_beta_posterior_and_predictive_with_a_prior():
    x = mh.data.sample_bernoulli(40, 0.3, seed=5)
    heads = int(x.sum())
    assert est.beta_posterior(x, 2, 3) == (2 + heads, 3 + 40 - heads)
    assert est.predictive_head(x, 2, 3) == pytest.approx(scipy.stats.beta(2 + heads, 43 - heads).mean(), rel=1e-12)


def test_samplers_are_seeded_and_shaped():
    a = mh.data.sample_gaussian(5, [0.0, 0.0], torch.eye(2), seed=7)
    assert a.shape == (5, 2) and a.dtype == torch.float64
    assert torch.equal(a, mh.data.sample_gaussian(5, [0.0, 0.0], torch.eye(2), seed=7))
    assert not torch.equal(a, mh.data.sample_gaussian(5, [0.0, 0.0], torch.eye(2), seed=8))
    assert mh.data.sample_gaussian(4, 1.0, 2.0, seed=0).shape == (4,)
    x, y = mh.data.sample_linear(6, 1.0, 0.0, 0.1, seed=0)
    assert x.shape == y.shape == (6,)
    coins = mh.data.sample_bernoulli(1000, 0.25, seed=0)
    assert set(coins.unique().tolist()) <= {0.0, 1.0} and 0.2 < coins.mean().item() < 0.3


def test_sample_gaussian_has_the_requested_moments():
    cov = torch.tensor([[5.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    X = mh.data.sample_gaussian(200_000, [1.0, -1.0], cov, seed=0)
    mu_hat, cov_hat = est.gaussian_mle(X)
    assert torch.allclose(mu_hat, torch.tensor([1.0, -1.0], dtype=torch.float64), atol=0.02)
    assert torch.allclose(cov_hat, cov, atol=0.05)


def test_samplers_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    mh.data.sample_gaussian(10, 0.0, 1.0, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_batched_samples_are_independent_samples_of_the_requested_shape():
    one = mh.data.sample_gaussian_batches(4000, 3, [1.0, -1.0], torch.eye(2), seed=5)
    assert one.shape == (4000, 3, 2)
    assert torch.equal(one, mh.data.sample_gaussian_batches(4000, 3, [1.0, -1.0], torch.eye(2), seed=5))
    # rows of different batches are uncorrelated draws with the requested moments
    first, second = one[:, 0, 0].numpy(), one[:, 1, 0].numpy()
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.05 and abs(first.mean() - 1.0) < 0.05
    assert mh.data.sample_gaussian_batches(2, 5, 0.0, 1.0, seed=0).shape == (2, 5)
    with pytest.raises(ValueError, match="repeats"):
        mh.data.sample_gaussian_batches(0, 5, 0.0, 1.0, seed=0)


def test_two_d_problem_is_the_course_problem_and_the_seed_changes_only_the_sample():
    problem = mh.data.two_d_problem()
    assert problem.X.shape == (10_000, 2)
    assert problem.mu_true.tolist() == [1.0, 1.0] and problem.mu0.tolist() == [-1.0, -1.0]
    assert torch.equal(problem.sigma, 5.0 * torch.eye(2, dtype=torch.float64))
    assert abs(problem.X.mean(dim=0) - 1.0).max() < 0.1
    other = mh.data.two_d_problem(seed=0)
    assert not torch.equal(problem.X, other.X) and torch.equal(other.sigma, problem.sigma)


def test_scatter_matrix_is_the_sum_of_outer_products():
    X = mh.data.sample_gaussian(50, [0.0, 1.0, 2.0], torch.eye(3), seed=4)
    centre = torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64)
    by_loop = sum(torch.outer(x - centre, x - centre) for x in X)
    assert torch.allclose(est.scatter_matrix(X, centre), by_loop, atol=1e-12)
    assert torch.allclose(est.scatter_matrix(X) / 50, est.gaussian_mle(X)[1], atol=1e-12)
    with pytest.raises(ValueError, match="mu must have shape"):
        est.scatter_matrix(X, [0.0, 0.0])
