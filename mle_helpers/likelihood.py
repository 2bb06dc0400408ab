"""The exact Gaussian log-likelihood, for one mean or a whole grid of means.

Introduced in chapter 7 (gradient ascent) and used by every numerical chapter.

Both functions rest on one identity. With the sample mean ``xbar`` and the
scatter matrix ``C = sum_i (x_i - xbar)(x_i - xbar)^T``,

    sum_i (x_i - mu)^T Sigma^{-1} (x_i - mu)
        = tr(Sigma^{-1} C) + n (xbar - mu)^T Sigma^{-1} (xbar - mu),

so the log-likelihood needs the data only through ``(n, xbar, C)``: one pass
over X, then d x d work for every mean. Centring on ``xbar`` first (rather
than using the raw sums of x and x x^T) keeps it accurate when the data sit
far from the origin.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import _validate as v

__all__ = ["L", "loglik_grid", "sufficient_stats"]


def sufficient_stats(X: torch.Tensor) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Return ``(n, xbar, C)`` for a validated (n, d) data matrix."""
    xbar = X.mean(dim=0)
    centred = X - xbar
    return X.shape[0], xbar, centred.T @ centred


def _loglik_from_stats(n, xbar, scatter, mu, chol):
    """Gaussian log-likelihood from sufficient statistics; mu is (..., d)."""
    d = xbar.shape[-1]
    log_det = 2.0 * torch.log(torch.diagonal(chol)).sum()
    trace_term = torch.diagonal(torch.cholesky_solve(scatter, chol)).sum()
    diff = (xbar - mu).unsqueeze(-1)  # (..., d, 1)
    z = torch.linalg.solve_triangular(chol, diff, upper=False)
    mahalanobis = (z**2).sum(dim=(-2, -1))
    return -0.5 * (n * d * math.log(2.0 * math.pi) + n * log_det + trace_term + n * mahalanobis)


def L(X, mu, sigma) -> torch.Tensor:
    """Exact log-likelihood of i.i.d. Gaussian data, ``sum_i log N(x_i; mu, sigma)``.

    Introduced in chapter 7 (gradient ascent). The normalising constants are
    included, so the value equals
    ``torch.distributions.MultivariateNormal(mu, sigma).log_prob(X).sum()``.
    It factorises ``sigma`` with Cholesky and never forms an inverse.

    Args:
        X: data matrix of shape (n, d).
        mu: mean vector of shape (d,); may require grad.
        sigma: covariance matrix of shape (d, d), symmetric positive definite;
            may require grad.

    Returns:
        A 0-dim tensor, differentiable in ``mu`` and ``sigma``.

    Raises:
        ValueError: a wrong shape, a NaN or inf, or a ``sigma`` that is not
            symmetric positive definite; the message names the argument.

    Example::

        >>> import torch, mle_helpers as mh
        >>> X = torch.zeros(3, 2, dtype=torch.float64)
        >>> round(mh.L(X, torch.zeros(2), torch.eye(2)).item(), 4)
        -5.5136
    """
    X = v.data_matrix("X", X)
    d = X.shape[1]
    mu = v.check_finite("mu", v.as_tensor("mu", mu))
    if mu.shape != (d,):
        raise ValueError(f"mu must have shape (d,) with d={d} (the columns of X); got shape {tuple(mu.shape)}")
    sigma = v.covariance("sigma", sigma, d)
    dtype = torch.promote_types(torch.promote_types(X.dtype, mu.dtype), sigma.dtype)
    X, mu, sigma = X.to(dtype), mu.to(dtype), sigma.to(dtype)
    chol = torch.linalg.cholesky(sigma)
    n, xbar, scatter = sufficient_stats(X)
    return _loglik_from_stats(n, xbar, scatter, mu, chol)


def loglik_grid(X, sigma, xs, ys) -> np.ndarray:
    """``L(X, mu, sigma)`` at every ``mu = (x, y)`` of a grid, vectorised.

    Introduced in chapter 7 for the heatmap of :func:`mle_helpers.vizualize`.
    The data enter once, through their sufficient statistics; each grid point
    then costs a 2 x 2 triangular solve, done for all points in one call.

    Args:
        X: data matrix of shape (n, 2).
        sigma: covariance matrix of shape (2, 2).
        xs: 1-D grid of first coordinates of mu.
        ys: 1-D grid of second coordinates of mu.

    Returns:
        float64 array of shape (len(ys), len(xs)); entry [i, j] is the
        log-likelihood at ``mu = (xs[j], ys[i])`` (the layout of
        ``np.meshgrid(xs, ys)`` and ``plt.pcolormesh``).

    Raises:
        ValueError: X not (n, 2), sigma not SPD (2, 2), grids not 1-D and
            finite.
    """
    X = v.data_matrix("X", X).to(torch.float64)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns for a grid over mu = (x, y); got shape {tuple(X.shape)}")
    sigma = v.covariance("sigma", sigma, 2).detach().to(torch.float64)
    grids = []
    for name, grid in (("xs", xs), ("ys", ys)):
        grid = v.check_finite(name, v.as_tensor(name, grid, dtype=torch.float64))
        if grid.ndim != 1 or grid.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array; got shape {tuple(grid.shape)}")
        grids.append(grid)
    gx, gy = grids
    with torch.no_grad():
        n, xbar, scatter = sufficient_stats(X.detach())
        mus = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)  # (len(ys), len(xs), 2)
        values = _loglik_from_stats(n, xbar, scatter, mus, torch.linalg.cholesky(sigma))
    return values.numpy()
