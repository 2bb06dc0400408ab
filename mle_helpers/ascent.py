"""Reference optimisation loops for the numerical chapters (7 to 9).

Chapter 7 writes the gradient-ascent loop out by hand; later chapters call
these instead of pasting it again. Each returns the whole path, one row per
iterate, starting with ``mu0``.
"""
from __future__ import annotations

import torch

from . import _validate as v
from .likelihood import L

__all__ = ["gradient_ascent", "optimizer_path"]


def _start(X, sigma, mu0):
    X = v.data_matrix("X", X).to(torch.float64)
    sigma = v.covariance("sigma", sigma, X.shape[1]).detach().to(torch.float64)
    mu = v.check_finite("mu0", v.as_tensor("mu0", mu0, dtype=torch.float64)).detach().clone()
    if mu.shape != (X.shape[1],):
        raise ValueError(f"mu0 must have shape ({X.shape[1]},); got shape {tuple(mu.shape)}")
    return X, sigma, mu.requires_grad_(True)


def gradient_ascent(X, sigma, mu0, lr, num_steps, *, batch_size=None, seed=0) -> torch.Tensor:
    """Gradient ascent on mu: ``mu_{t+1} = mu_t + lr * grad``, full batch or minibatch.

    With ``batch_size=k`` each step draws k distinct rows at random and uses
    ``(n / k) * L(X_batch, mu, sigma)``, an unbiased estimate of ``L`` and of
    its gradient (chapter 9). ``batch_size=None`` or ``n`` is full batch.

    Args:
        X: (n, d) data. sigma: (d, d) covariance. mu0: (d,) start.
        lr: learning rate > 0. num_steps: number of updates >= 1.
        batch_size: rows per step, 1 <= k <= n, or None for all.
        seed: seed for drawing the minibatches.

    Returns:
        float64 tensor of shape (num_steps + 1, d): the path, mu0 first.
    """
    X, sigma, mu = _start(X, sigma, mu0)
    lr = v.positive("lr", lr)
    num_steps = v.positive_int("num_steps", num_steps)
    n = X.shape[0]
    if batch_size is not None:
        batch_size = v.positive_int("batch_size", batch_size)
        if batch_size > n:
            raise ValueError(f"batch_size must be at most n={n}; got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    path = [mu.detach().clone()]
    for _ in range(num_steps):
        if batch_size is None:
            objective = L(X, mu, sigma)
        else:
            rows = torch.randperm(n, generator=generator)[:batch_size]
            objective = (n / batch_size) * L(X[rows], mu, sigma)
        objective.backward()
        with torch.no_grad():
            mu += lr * mu.grad
        mu.grad.zero_()
        path.append(mu.detach().clone())
    return torch.stack(path)


def optimizer_path(X, sigma, mu0, make_optimizer, num_steps) -> torch.Tensor:
    """Minimise the negative log-likelihood ``-L`` with a ``torch.optim`` optimiser (chapter 8).

    Args:
        make_optimizer: called with ``[mu]``, returns the optimiser, e.g.
            ``lambda params: torch.optim.Adam(params, lr=0.1)``.

    Returns:
        float64 tensor of shape (num_steps + 1, d): the path, mu0 first.
    """
    X, sigma, mu = _start(X, sigma, mu0)
    num_steps = v.positive_int("num_steps", num_steps)
    optimizer = make_optimizer([mu])
    path = [mu.detach().clone()]
    for _ in range(num_steps):
        optimizer.zero_grad()
        nll = -L(X, mu, sigma)
        nll.backward()
        optimizer.step()
        path.append(mu.detach().clone())
    return torch.stack(path)
