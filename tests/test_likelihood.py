"""mh.L and mh.loglik_grid: exact values, gradients, vectorisation."""
import numpy as np
import pytest
import scipy.stats
import torch
from torch.distributions import MultivariateNormal

import mle_helpers as mh

torch.set_default_dtype(torch.float64)


def random_problem(d, n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(d, d, generator=g)
    sigma = A @ A.T + d * torch.eye(d)
    mu = torch.randn(d, generator=g)
    X = torch.randn(n, d, generator=g) * 2 + 3
    return X, mu, sigma


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_L_matches_scipy_and_torch_distributions(d):
    X, mu, sigma = random_problem(d)
    value = mh.L(X, mu, sigma)
    assert value.ndim == 0 and value.dtype == torch.float64
    expected_torch = MultivariateNormal(mu, covariance_matrix=sigma).log_prob(X).sum()
    expected_scipy = scipy.stats.multivariate_normal(mu.numpy(), sigma.numpy()).logpdf(X.numpy()).sum()
    assert value.item() == pytest.approx(expected_torch.item(), rel=1e-12)
    assert value.item() == pytest.approx(expected_scipy, rel=1e-10)


def test_L_includes_normalising_constants():
    # One point at the mean of a standard 2-D normal: log N = -log(2 pi), not 0.
    X = torch.zeros(1, 2)
    assert mh.L(X, torch.zeros(2), torch.eye(2)).item() == pytest.approx(-np.log(2 * np.pi), rel=1e-14)


def test_L_is_accurate_far_from_the_origin():
    # Data centred at 1e6 with unit spread: raw sums of x x^T would lose every digit.
    X, mu, sigma = random_problem(2, n=200)
    shift = torch.tensor([1e6, -1e6])
    got = mh.L(X + shift, mu + shift, sigma).item()
    expected = MultivariateNormal(mu, covariance_matrix=sigma).log_prob(X).sum().item()
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_L_gradcheck_in_mu_and_sigma(d):
    X, mu, sigma = random_problem(d, n=20)
    A = torch.linalg.cholesky(sigma).clone().requires_grad_(True)
    mu = mu.clone().requires_grad_(True)
    # sigma is built from A so every perturbation gradcheck makes stays symmetric positive definite.
    assert torch.autograd.gradcheck(lambda m, a: mh.L(X, m, a @ a.T), (mu, A))


def test_L_gradients_match_torch_distributions():
    X, mu, sigma = random_problem(3)
    mu1, s1 = mu.clone().requires_grad_(True), sigma.clone().requires_grad_(True)
    mu2, s2 = mu.clone().requires_grad_(True), sigma.clone().requires_grad_(True)
    mh.L(X, mu1, s1).backward()
    MultivariateNormal(mu2, covariance_matrix=s2).log_prob(X).sum().backward()
    assert torch.allclose(mu1.grad, mu2.grad, rtol=1e-10)
    # Only the lower triangle of sigma is read by both (Cholesky), so compare the symmetrised gradients.
    assert torch.allclose(s1.grad + s1.grad.T, s2.grad + s2.grad.T, rtol=1e-9)


def test_L_gradient_in_mu_is_the_closed_form():
    X, mu, sigma = random_problem(2, n=100)
    mu = mu.clone().requires_grad_(True)
    mh.L(X, mu, sigma).backward()
    expected = X.shape[0] * torch.linalg.solve(sigma, X.mean(0) - mu.detach())
    assert torch.allclose(mu.grad, expected, rtol=1e-10)


def test_L_keeps_float32_when_given_float32():
    X, mu, sigma = random_problem(2)
    assert mh.L(X.float(), mu.float(), sigma.float()).dtype == torch.float32


def test_L_never_inverts_sigma(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("L called an explicit inverse")
    monkeypatch.setattr(torch.linalg, "inv", forbidden)
    monkeypatch.setattr(torch, "inverse", forbidden)
    monkeypatch.setattr(torch.Tensor, "inverse", forbidden)
    X, mu, sigma = random_problem(2)
    mh.L(X, mu, sigma)


def test_loglik_grid_matches_L_at_every_point():
    X, _, sigma = random_problem(2, n=300)
    xs, ys = np.linspace(-4, 4, 7), np.linspace(-3, 5, 5)
    grid = mh.loglik_grid(X, sigma, xs, ys)
    assert grid.shape == (len(ys), len(xs)) and grid.dtype == np.float64
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            assert grid[i, j] == pytest.approx(mh.L(X, torch.tensor([x, y]), sigma).item(), rel=1e-12)


def test_loglik_grid_is_vectorised(monkeypatch):
    # A Python loop over grid points would call L (or its per-point pieces) once per point.
    X, _, sigma = random_problem(2, n=100)
    calls = []
    original = mh.likelihood._loglik_from_stats
    monkeypatch.setattr(mh.likelihood, "_loglik_from_stats", lambda *a: calls.append(1) or original(*a))
    mh.loglik_grid(X, sigma, np.linspace(-5, 5, 100), np.linspace(-5, 5, 100))
    assert len(calls) == 1


def test_loglik_grid_maximum_is_at_the_sample_mean():
    X = mh.data.sample_gaussian(2000, [1.0, 1.0], 5 * torch.eye(2), seed=3)
    xs = ys = np.linspace(-5, 5, 201)
    grid = mh.loglik_grid(X, 5 * torch.eye(2), xs, ys)
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    assert abs(xs[j] - X[:, 0].mean().item()) <= 0.05 and abs(ys[i] - X[:, 1].mean().item()) <= 0.05
