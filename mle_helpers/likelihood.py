"""The exact Gaussian log-likelihood, for one mean or a whole grid of means.

Introduced in chapter 7 (gradient ascent) and used by every numerical chapter.

Both functions rest on one identity. With the sample mean ``xbar`` and the
scatter matrix ``C = sum_i (x_i - xbar)(x_i - xbar)^T``,

    sum_i (x_i - mu)^T Sigma^{-1} (x_i - mu)
        = tr(Sigma^{-1} C) + n (xbar - mu)^T Sigma^{-1} (xbar - mu),

so the log-likelihood needs the data only through ``(n, xbar, C)``: one pass
over X, then d x d work for every mean.

``C`` comes from the raw sums, ``X^T X - n xbar xbar^T`` (one matrix product,
no copy of X), when that is safe: the subtraction cancels about
``log10(1 + xbar_j^2 / var_j)`` digits. When the data sit far from the origin
relative to their spread (or are not float64) X is centred on ``xbar`` first,
which keeps every digit at the price of one more pass and a copy.

``L`` remembers the statistics of the last few data tensors it saw, so an
optimisation loop that calls it hundreds of times on the same ``X`` reads the
data once. An entry is used only for the very same tensor object (held by a
weak reference) whose version counter has not moved, so any in-place change
made through PyTorch (``X[0] = 1``, ``X += 1``, also through a view or
``.detach()``) forces a recount. Writes that PyTorch cannot see are not
detected: through a NumPy array that shares memory with ``X``
(``torch.from_numpy``) or through ``X.data``; call :func:`clear_cache` after
those. Tensors that require grad are never cached.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
import torch

from . import _validate as v

__all__ = ["L", "loglik_grid", "sufficient_stats", "clear_cache"]


# The raw-sum scatter matrix is used only while xbar_j^2 <= this * var_j for every column,
# so the cancellation costs at most 2 of float64's 16 digits.
RAW_SUMS_MAX_OFFSET = 1e2
# How many data tensors' statistics L keeps (a course notebook alternates between a few).
CACHE_SIZE = 4


def sufficient_stats(X: torch.Tensor) -> tuple[int, torch.Tensor, torch.Tensor]:
    """Return ``(n, xbar, C)`` for a validated (n, d) data matrix."""
    n = X.shape[0]
    xbar = X.sum(dim=0) / n
    if X.dtype == torch.float64:
        scatter = X.T @ X - n * torch.outer(xbar, xbar)
        spread = torch.diagonal(scatter).detach() / n
        if bool((xbar.detach() ** 2 <= RAW_SUMS_MAX_OFFSET * spread).all()):
            return n, xbar, scatter
    centred = X - xbar
    return n, xbar, centred.T @ centred


class _CacheEntry:
    def __init__(self, X, stats):
        self.ref = weakref.ref(X)
        self.version = X._version
        self.stats = stats

    def matches(self, X) -> bool:
        return self.ref() is X and self.version == X._version


_cache: list[_CacheEntry] = []


def clear_cache() -> None:
    """Forget the cached statistics (needed only after writes PyTorch cannot see, see above)."""
    _cache.clear()


def _cached_stats(X):
    """The statistics of X if cached for this exact tensor and version, else None."""
    if not isinstance(X, torch.Tensor):
        return None
    for entry in _cache:
        if entry.matches(X):
            return entry.stats
    return None


def _stats_of(X):
    """``sufficient_stats(X)``, remembered for later calls when that is safe.

    Not cached: a tensor that requires grad (the statistics carry its graph) and
    inference-mode tensors (they have no version counter).
    """
    stats = sufficient_stats(X)
    if not (X.requires_grad or X.is_inference() or torch.is_inference_mode_enabled()):
        _cache[:] = [entry for entry in _cache if entry.ref() is not None and entry.ref() is not X]
        _cache.insert(0, _CacheEntry(X, stats))
        del _cache[CACHE_SIZE:]
    return stats


def _loglik_from_stats(n, xbar, scatter, mu, chol):
    """Gaussian log-likelihood from sufficient statistics; mu is (..., d)."""
    d = xbar.shape[-1]
    log_det = 2.0 * torch.log(torch.diagonal(chol)).sum()
    trace_term = torch.diagonal(torch.cholesky_solve(scatter, chol)).sum()
    # Every mean is one column of a single (d, m) right-hand side: one triangular
    # solve for a whole grid instead of m tiny batched ones.
    diff = (xbar - mu).reshape(-1, d).T
    z = torch.linalg.solve_triangular(chol, diff, upper=False)
    mahalanobis = (z**2).sum(dim=0).reshape(mu.shape[:-1])
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
    stats = _cached_stats(X)  # a cached X was validated when it was first seen
    if stats is None:
        X = v.data_matrix("X", X)
    d = X.shape[1]
    mu = v.check_finite("mu", v.as_tensor("mu", mu))
    if mu.shape != (d,):
        raise ValueError(f"mu must have shape (d,) with d={d} (the columns of X); got shape {tuple(mu.shape)}")
    sigma = v.covariance("sigma", sigma, d)
    dtype = torch.promote_types(torch.promote_types(X.dtype, mu.dtype), sigma.dtype)
    mu, sigma = mu.to(dtype), sigma.to(dtype)
    chol = torch.linalg.cholesky(sigma)
    if stats is None or X.dtype != dtype:
        # Only the caller's own tensor is worth caching, not a converted copy that dies on return.
        stats = _stats_of(X) if X.dtype == dtype else sufficient_stats(X.to(dtype))
    n, xbar, scatter = stats
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
