"""Closed-form reference estimators (chapters 3 to 6).

These are the answers the numerical chapters are checked against. Every
function validates its input and returns float64 tensors (Bernoulli results
are Python floats, being single probabilities).
"""
from __future__ import annotations

import torch

from . import _validate as v

__all__ = ["scatter_matrix", "gaussian_mle", "linreg_mle", "bernoulli_mle", "bernoulli_map", "beta_posterior", "predictive_head"]


def scatter_matrix(X, mu=None) -> torch.Tensor:
    """The scatter matrix ``S = sum_i (x_i - mu)(x_i - mu)^T`` of an (n, d) sample (chapter 4).

    Args:
        X: data matrix of shape (n, d).
        mu: the centre, shape (d,); the sample mean when None.

    Returns:
        float64 tensor of shape (d, d); divided by n it is the covariance MLE.

    Raises:
        ValueError: X not a non-empty (n, d) matrix, or mu of the wrong shape.
    """
    X = v.data_matrix("X", X).to(torch.float64)
    if mu is None:
        mu = X.mean(dim=0)
    mu = v.check_finite("mu", v.as_tensor("mu", mu, dtype=torch.float64))
    if mu.shape != (X.shape[1],):
        raise ValueError(f"mu must have shape ({X.shape[1]},); got shape {tuple(mu.shape)}")
    centred = X - mu
    return centred.T @ centred


def gaussian_mle(X):
    """MLE of a Gaussian's mean and (co)variance, with divisor n (chapters 3 and 4).

    Args:
        X: a 1-D sample of shape (n,) or a data matrix of shape (n, d).

    Returns:
        For 1-D input, ``(mu_hat, sigma2_hat)`` as 0-dim tensors; for (n, d)
        input, ``(mu_hat, cov_hat)`` of shapes (d,) and (d, d).

    Raises:
        ValueError: X empty, not 1-D or 2-D, or not finite.

    Example::

        >>> import torch, mle_helpers as mh
        >>> mh.estimators.gaussian_mle(torch.tensor([1.0, 3.0]))
        (tensor(2., dtype=torch.float64), tensor(1., dtype=torch.float64))
    """
    X = v.check_finite("X", v.as_tensor("X", X, dtype=torch.float64))
    if X.ndim not in (1, 2) or X.shape[0] == 0 or (X.ndim == 2 and X.shape[1] == 0):
        raise ValueError(f"X must be a non-empty sample of shape (n,) or (n, d); got shape {tuple(X.shape)}")
    mu_hat = X.mean(dim=0)
    if X.ndim == 1:
        return mu_hat, ((X - mu_hat) ** 2).mean()
    return mu_hat, scatter_matrix(X, mu_hat) / X.shape[0]


def linreg_mle(x, y):
    """MLE of ``y = a x + b + eps`` with ``eps ~ N(0, sigma^2)`` (chapter 5).

    Args:
        x: inputs, shape (n,), not all equal.
        y: targets, shape (n,).

    Returns:
        ``(a_hat, b_hat, var_hat)`` as 0-dim float64 tensors; ``var_hat`` is
        the mean squared residual (divisor n).

    Raises:
        ValueError: shapes differ, n < 2, x constant, or a NaN/inf.
    """
    x = v.check_finite("x", v.as_tensor("x", x, dtype=torch.float64))
    y = v.check_finite("y", v.as_tensor("y", y, dtype=torch.float64))
    if x.ndim != 1 or x.numel() < 2:
        raise ValueError(f"x must be 1-D with at least 2 points; got shape {tuple(x.shape)}")
    if y.shape != x.shape:
        raise ValueError(f"y must have the shape of x {tuple(x.shape)}; got shape {tuple(y.shape)}")
    dx, dy = x - x.mean(), y - y.mean()
    sxx = (dx**2).sum()
    if sxx == 0:
        raise ValueError(f"x must not be constant (the slope is not identifiable); got every x = {x[0].item()!r}")
    a_hat = (dx * dy).sum() / sxx
    b_hat = y.mean() - a_hat * x.mean()
    residuals = y - (a_hat * x + b_hat)
    return a_hat, b_hat, (residuals**2).mean()


def _counts(x) -> tuple[float, float]:
    x = v.binary_vector("x", x)
    heads = float(x.sum())
    return heads, float(x.numel()) - heads


def bernoulli_mle(x) -> float:
    """MLE of P(heads): the fraction of heads (chapter 6)."""
    heads, tails = _counts(x)
    return heads / (heads + tails)


def _log_posterior_slope(theta, heads, tails, prior_mean, prior_var):
    """d/dtheta of heads log(theta) + tails log(1 - theta) - (theta - m)^2 / (2 v)."""
    return heads / theta - tails / (1.0 - theta) - (theta - prior_mean) / prior_var


def bernoulli_map(x, prior_mean, prior_var) -> float:
    """MAP of theta under a Normal prior N(prior_mean, prior_var) on [0, 1] (chapter 6).

    ``prior_var`` is the **variance** of the prior (so ``N(0.5, 0.1)`` means a
    standard deviation of ``sqrt(0.1)``). The log posterior is strictly
    concave in theta, so its slope falls from left to right and the MAP is
    where the slope crosses zero; bisection finds it to machine precision.
    If the slope never crosses zero inside (0, 1) (all tails or all heads
    with a weak prior), the maximum is at the boundary 0 or 1.

    Args:
        x: 0/1 outcomes.
        prior_mean: mean of the Normal prior, a finite number.
        prior_var: variance of the Normal prior, > 0.

    Returns:
        theta_MAP as a float in [0, 1].

    Raises:
        ValueError: x not 0/1, prior_mean not finite, prior_var <= 0.

    Example::

        >>> import mle_helpers as mh
        >>> round(mh.estimators.bernoulli_map(mh.data.COIN_TOSSES, 0.5, 0.1), 4)
        0.4472
    """
    heads, tails = _counts(x)
    prior_mean = v.scalar("prior_mean", prior_mean)
    prior_var = v.positive("prior_var", prior_var)
    tiny = 1e-300

    def slope(theta):
        return _log_posterior_slope(theta, heads, tails, prior_mean, prior_var)

    if tails > 0 and heads == 0 and slope(tiny) <= 0:
        return 0.0
    if heads > 0 and tails == 0 and slope(1.0 - 1e-16) >= 0:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        theta = min(max(mid, tiny), 1.0 - 1e-16)
        if slope(theta) > 0:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def beta_posterior(x, a=1, b=1) -> tuple[float, float]:
    """Posterior ``Beta(a + heads, b + tails)`` under a ``Beta(a, b)`` prior (chapter 6).

    The default ``a = b = 1`` is the uniform prior on [0, 1].

    Raises:
        ValueError: x not 0/1, a or b not positive.
    """
    heads, tails = _counts(x)
    a = v.positive("a", a)
    b = v.positive("b", b)
    return a + heads, b + tails


def predictive_head(x, a=1, b=1) -> float:
    """P(next toss = 1 | x) under a ``Beta(a, b)`` prior: the posterior mean (chapter 6)."""
    alpha, beta = beta_posterior(x, a, b)
    return alpha / (alpha + beta)

