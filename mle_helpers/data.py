"""Seeded samplers for the data sets the course uses.

Every sampler takes a keyword-only ``seed`` and draws from its own
``torch.Generator``, so the same call gives the same tensor on every machine
and never disturbs the global random state. Introduced in chapter 1.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import _validate as v

__all__ = ["sample_gaussian", "sample_gaussian_batches", "sample_linear", "sample_bernoulli", "COIN_TOSSES",
           "TwoDProblem", "two_d_problem"]

#: The seven coin tosses of chapter 6 (1 = heads, 0 = tails).
COIN_TOSSES = (0, 0, 1, 1, 0, 0, 1)


def _generator(seed) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return torch.Generator().manual_seed(seed)


def sample_gaussian(n, mu, cov, *, seed) -> torch.Tensor:
    """Draw n i.i.d. Gaussian samples (chapters 3, 4 and 7).

    Args:
        n: number of samples.
        mu: the mean: a number (univariate) or a vector of length d.
        cov: the variance (univariate) or a (d, d) covariance matrix.
        seed: seed of the private random generator.

    Returns:
        float64 tensor of shape (n,) for a scalar ``mu``, else (n, d).

    Raises:
        ValueError: n not a positive integer, cov not positive (definite).
    """
    n = v.positive_int("n", n)
    generator = _generator(seed)
    mu_t = v.check_finite("mu", v.as_tensor("mu", mu, dtype=torch.float64))
    if mu_t.ndim == 0:
        variance = v.positive("cov", cov)
        return mu_t + variance**0.5 * torch.randn(n, generator=generator, dtype=torch.float64)
    if mu_t.ndim != 1:
        raise ValueError(f"mu must be a number or a 1-D vector; got shape {tuple(mu_t.shape)}")
    cov_t = v.covariance("cov", cov, mu_t.shape[0]).to(torch.float64)
    z = torch.randn(n, mu_t.shape[0], generator=generator, dtype=torch.float64)
    return mu_t + z @ torch.linalg.cholesky(cov_t).T


def sample_linear(n, a, b, noise_std, *, seed) -> tuple[torch.Tensor, torch.Tensor]:
    """Data from ``y = a x + b + noise`` with x uniform on [-3, 3] (chapter 5).

    Returns:
        ``(x, y)``, two float64 tensors of shape (n,).

    Raises:
        ValueError: n not a positive integer, a or b not finite,
            noise_std not positive.
    """
    n = v.positive_int("n", n)
    a = v.scalar("a", a)
    b = v.scalar("b", b)
    noise_std = v.positive("noise_std", noise_std)
    generator = _generator(seed)
    x = 6.0 * torch.rand(n, generator=generator, dtype=torch.float64) - 3.0
    y = a * x + b + noise_std * torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y


def sample_bernoulli(n, theta, *, seed) -> torch.Tensor:
    """n coin tosses with P(heads) = theta, as a float64 tensor of 0s and 1s (chapter 6)."""
    n = v.positive_int("n", n)
    theta = v.probability("theta", theta)
    generator = _generator(seed)
    return (torch.rand(n, generator=generator, dtype=torch.float64) < theta).to(torch.float64)


def sample_gaussian_batches(repeats, n, mu, cov, *, seed) -> torch.Tensor:
    """``repeats`` independent samples of size n at once, for simulations (chapters 3, 4 and 11).

    One call to :func:`sample_gaussian` with ``repeats * n`` draws, reshaped, so a
    simulation over many data sets is one vectorised draw instead of a loop.

    Returns:
        float64 tensor of shape (repeats, n) for a scalar ``mu``, else (repeats, n, d).

    Raises:
        ValueError: repeats or n not a positive integer, or what :func:`sample_gaussian` raises.
    """
    repeats = v.positive_int("repeats", repeats)
    n = v.positive_int("n", n)
    draws = sample_gaussian(repeats * n, mu, cov, seed=seed)
    return draws.reshape(repeats, n, *draws.shape[1:])


class TwoDProblem(NamedTuple):
    """The course's two-dimensional problem: data, the truth that made it, and the start of every climb."""

    X: torch.Tensor  #: (n, 2) data
    mu_true: torch.Tensor  #: the true mean (1, 1)
    sigma: torch.Tensor  #: the known covariance 5 I
    mu0: torch.Tensor  #: the starting point (-1, -1)


def two_d_problem(*, n=10_000, seed=7) -> TwoDProblem:
    """The problem of chapters 7 to 11 and of ps2-ps4: n points from N((1, 1), 5 I), start (-1, -1).

    The chapters use the default seed; an assignment draws its own sample
    from the same model, so a chapter's numbers are never an assignment's answers.
    """
    mu_true = torch.tensor([1.0, 1.0], dtype=torch.float64)
    sigma = 5.0 * torch.eye(2, dtype=torch.float64)
    X = sample_gaussian(n, mu_true, sigma, seed=seed)
    return TwoDProblem(X, mu_true, sigma, torch.tensor([-1.0, -1.0], dtype=torch.float64))
