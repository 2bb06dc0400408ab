"""mh.L's sufficient statistics: the raw-sum fast path, and the cache that reads X once per loop.

The cache must never return the statistics of data that have changed: every
test here modifies or replaces X after a call and checks the next call sees it.
"""
import math

import pytest
import torch
from torch.distributions import MultivariateNormal

import mle_helpers as mh
from mle_helpers import _validate, likelihood

SIGMA = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
MU = torch.tensor([0.5, -0.5], dtype=torch.float64)


def reference(X, mu=MU, sigma=SIGMA):
    return MultivariateNormal(mu, covariance_matrix=sigma).log_prob(X).sum().item()


@pytest.fixture
def X():
    likelihood.clear_cache()
    return mh.data.sample_gaussian(200, [1.0, 2.0], SIGMA, seed=1)


def test_repeated_calls_read_the_data_once(X, monkeypatch):
    passes = []
    original = likelihood.sufficient_stats
    monkeypatch.setattr(likelihood, "sufficient_stats", lambda data: passes.append(1) or original(data))
    values = [mh.L(X, MU + 0.1 * k, SIGMA).item() for k in range(5)]
    assert len(passes) == 1
    assert values == [pytest.approx(reference(X, MU + 0.1 * k), rel=1e-12) for k in range(5)]


@pytest.mark.parametrize("edit", [
    lambda X: X.__setitem__((0, 0), 10.0),
    lambda X: X.add_(1.0),
    lambda X: X[:5].mul_(3.0),          # through a view
    lambda X: X.detach().sub_(2.0),     # through a detached alias
    lambda X: torch.no_grad()(lambda: X.clamp_(max=0.0))(),
], ids=["setitem", "add_", "view", "detach", "no_grad"])
def test_in_place_change_after_a_call_changes_the_result(X, edit):
    before = mh.L(X, MU, SIGMA).item()
    edit(X)
    after = mh.L(X, MU, SIGMA).item()
    assert after != pytest.approx(before, rel=1e-9)
    assert after == pytest.approx(reference(X), rel=1e-12)


def test_a_new_tensor_never_gets_a_dead_tensor_s_statistics():
    # Once X dies its id() may be reused by the next tensor; the weak reference tells them apart.
    likelihood.clear_cache()
    for seed in range(20):
        X = mh.data.sample_gaussian(50, [0.0, 0.0], SIGMA, seed=seed)
        assert mh.L(X, MU, SIGMA).item() == pytest.approx(reference(X), rel=1e-12)
        del X


def test_data_that_require_grad_are_not_cached_and_keep_their_gradient(X):
    X = X.clone().requires_grad_(True)
    for _ in range(2):
        X.grad = None
        mh.L(X, MU, SIGMA).backward()
        # d/dx_i of log N(x_i; mu, sigma) = -sigma^{-1} (x_i - mu)
        expected = -torch.linalg.solve(SIGMA, (X.detach() - MU).T).T
        assert torch.allclose(X.grad, expected, rtol=1e-10)


def test_inference_mode_tensors_work(X):
    with torch.inference_mode():
        frozen = X.clone()
        assert mh.L(frozen, MU, SIGMA).item() == pytest.approx(reference(X), rel=1e-12)
    assert mh.L(frozen, MU, SIGMA).item() == pytest.approx(reference(X), rel=1e-12)


def test_float32_data_with_float64_parameters_match(X):
    X32 = X.float()
    for _ in range(2):
        assert mh.L(X32, MU, SIGMA).item() == pytest.approx(reference(X32.double()), rel=1e-12)


@pytest.mark.parametrize("offset_sd", [0.0, 0.99 * math.sqrt(likelihood.RAW_SUMS_MAX_OFFSET), 1e6])
def test_value_and_gradients_match_torch_near_and_far_from_the_origin(offset_sd):
    # Up to sqrt(RAW_SUMS_MAX_OFFSET) sd the raw sums X^T X are used; beyond, X is centred first.
    noise = mh.data.sample_gaussian(20_000, [0.0, 0.0], SIGMA, seed=2)
    shift = offset_sd * torch.sqrt(torch.diagonal(SIGMA))
    X, mu = noise + shift, MU + shift
    grads = []
    for loglik in (mh.L, lambda X, m, s: MultivariateNormal(m, covariance_matrix=s).log_prob(X).sum()):
        m, s = mu.clone().requires_grad_(True), SIGMA.clone().requires_grad_(True)
        value = loglik(X, m, s)
        value.backward()
        grads.append((value.detach(), m.grad, s.grad + s.grad.T))
    for ours, theirs in zip(*grads):
        assert torch.allclose(ours, theirs, rtol=1e-9, atol=0)


def test_finite_check_accepts_huge_finite_values_whose_sum_overflows():
    big = torch.full((4, 2), 1e308, dtype=torch.float64)
    assert _validate.data_matrix("X", big) is big
    big[2, 1] = float("nan")
    with pytest.raises(ValueError, match="X must be finite"):
        _validate.data_matrix("X", big)
