"""Figure 2: ``mh.L`` forward + backward against ``MultivariateNormal(...).log_prob(X).sum()``.

n = 10^6 points in d = 2, float64. ``MultivariateNormal`` solves a triangular
system for every row of X and keeps an (n, d) intermediate for the backward
pass; ``mh.L`` reads X once for its sufficient statistics (n, the column
sums, X^T X), after which value and gradients are d x d work. The floor is
one pass over X, ``X.sum()``.

Two timings of ``mh.L``: *first call*, with the statistics cache cleared
each time (the one pass over X is paid: the figure the targets apply to), and
*repeat call* on the same X, as inside an optimisation loop (the statistics
come from the cache, so the data are not read at all).

The price of the raw sums is cancellation in ``X^T X - n xbar xbar^T`` when
the data sit far from the origin; ``mh.L`` switches to centring X first
beyond ``xbar_j^2 > RAW_SUMS_MAX_OFFSET * var_j``. The accuracy figures below
are taken at the edge of that switch, where the raw sums lose the most.
"""
from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal

import mle_helpers as mh
from mle_helpers.likelihood import RAW_SUMS_MAX_OFFSET, clear_cache

from .common import Figure, interleaved_medians

N, REPEATS = 1_000_000, 15
SIGMA = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=torch.float64)


def _value_and_grads(loglik, X, mu, sigma):
    mu = mu.clone().requires_grad_(True)
    sigma = sigma.clone().requires_grad_(True)
    value = loglik(X, mu, sigma)
    value.backward()
    # Both read only one triangle of sigma (Cholesky): compare the symmetrised gradient.
    return value.detach(), mu.grad, sigma.grad + sigma.grad.T


def _mvn(X, mu, sigma):
    return MultivariateNormal(mu, covariance_matrix=sigma).log_prob(X).sum()


def _first_call(X, mu, sigma):
    clear_cache()
    return _value_and_grads(mh.L, X, mu, sigma)


def _rel(a, b) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def _accuracy(X, mu, sigma) -> dict:
    ours = _value_and_grads(mh.L, X, mu, sigma)
    ref = _value_and_grads(_mvn, X, mu, sigma)
    return {name: _rel(a, b) for name, a, b in zip(("value", "grad mu", "grad sigma"), ours, ref)}


def run() -> list[Figure]:
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(N, 2, generator=generator, dtype=torch.float64) @ torch.linalg.cholesky(SIGMA).T
    # Data centred as far from the origin as the raw-sum path allows: its worst case for accuracy.
    edge = 0.99 * math.sqrt(RAW_SUMS_MAX_OFFSET) * torch.sqrt(torch.diagonal(SIGMA))
    X = noise + edge
    mu = edge + torch.tensor([0.3, -0.2], dtype=torch.float64)  # off the MLE, so grad mu is not ~0

    errors = _accuracy(X, mu, SIGMA)
    worst = max(errors.values())
    times = interleaved_medians({
        "floor": lambda: X.sum(),
        "L": lambda: _first_call(X, mu, SIGMA),
        "L cached": lambda: _value_and_grads(mh.L, X, mu, SIGMA),
        "mvn": lambda: _value_and_grads(_mvn, X, mu, SIGMA),
    }, REPEATS)

    setting = f"n = {N:,}, d = 2, float64, forward + backward, median of {REPEATS}"
    return [
        Figure("likelihood.rel_diff", "L vs MultivariateNormal: value and gradients (max relative difference)",
               worst, "rel", target=1e-9,
               detail="; ".join(f"{k} {v:.1e}" for k, v in errors.items())
               + f"; data mean at {0.99 * math.sqrt(RAW_SUMS_MAX_OFFSET):.0f} sd, the raw-sum path's worst case"),
        Figure("likelihood.floor_ms", "One pass over X (X.sum()), the floor", times["floor"] * 1e3, "ms",
               detail=f"n = {N:,}, d = 2, float64, median of {REPEATS}"),
        Figure("likelihood.L_ms", "L forward + backward, first call on X", times["L"] * 1e3, "ms", detail=setting),
        Figure("likelihood.L_cached_ms", "L forward + backward, repeat call on X (statistics cached)",
               times["L cached"] * 1e3, "ms", detail=setting),
        Figure("likelihood.mvn_ms", "MultivariateNormal forward + backward", times["mvn"] * 1e3, "ms",
               detail=setting),
        Figure("likelihood.speedup", "L speed-up over MultivariateNormal (first call)", times["mvn"] / times["L"], "x",
               target=3, better="higher", detail=setting),
        Figure("likelihood.over_floor", "L (first call) time / one pass over X", times["L"] / times["floor"], "x",
               target=20, detail=setting),
        Figure("likelihood.cached_over_floor", "L (repeat call, statistics cached) time / one pass over X",
               times["L cached"] / times["floor"], "x", target=20, detail=setting),
    ]
