"""The assignment seed's heatmap code, rewritten faithfully as the baseline of figure 1.

The seed (the 2-D normal assignment) computes its log-likelihood with an
explicit inverse and without the normalising constants, and draws the
heatmap by calling it once per grid point through ``np.vectorize``. Both
choices are kept here on purpose: this is what the course's helpers are
compared against, not code the course teaches.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["seed_L", "seed_heatmap", "missing_constant"]


def seed_L(X, mu, sigma):
    """The seed's ``L``: ``-1/2 sum_i (x_i - mu)^T sigma^{-1} (x_i - mu)``, constants dropped."""
    diff = X - mu
    return (-0.5 * diff @ sigma.inverse() * diff).sum()


def seed_heatmap(X, sigma, space):
    """The seed's surface: one Python call of ``seed_L`` per point of ``space x space``.

    As in the seed, ``torch.tensor([x, y])`` receives the Python floats that
    ``np.vectorize`` passes, so each mean is float32 (rounded to ~7 digits).
    """
    loss = np.vectorize(lambda x, y: seed_L(X, torch.tensor([x, y]), sigma))
    gx, gy = np.meshgrid(space, space)
    return np.array(loss(np.ravel(gx), np.ravel(gy))).reshape(gx.shape)


def missing_constant(n: int, sigma) -> float:
    """What the seed's ``L`` leaves out: ``-n/2 (d log(2 pi) + log det sigma)``."""
    sigma = torch.as_tensor(sigma, dtype=torch.float64)
    d = sigma.shape[0]
    return -0.5 * n * (d * math.log(2 * math.pi) + torch.logdet(sigma).item())
