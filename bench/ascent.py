"""Figure 3: the gradient ascent of assignment ps2, with ``mh.L`` and with ``MultivariateNormal``.

ps2's setting: n = 10000 points from N((1, 1), 5 I) (seed 0), start
(-1, -1), lr = 1e-4, here for 500 steps. Both runs use the course's own loop,
``mh.ascent.gradient_ascent``; the baseline only swaps the log-likelihood it
calls for ``MultivariateNormal(mu, sigma).log_prob(X).sum()``.
"""
from __future__ import annotations

from unittest import mock

import torch
from torch.distributions import MultivariateNormal

import mle_helpers as mh

from .common import Figure, interleaved_medians

N, NUM_STEPS, LR, REPEATS = 10_000, 500, 1e-4, 5


def _mvn_loglik(X, mu, sigma):
    return MultivariateNormal(mu, covariance_matrix=sigma).log_prob(X).sum()


def _ascent_with_mvn(X, sigma, mu0):
    with mock.patch.object(mh.ascent, "L", _mvn_loglik):
        return mh.ascent.gradient_ascent(X, sigma, mu0, LR, NUM_STEPS)


def run() -> list[Figure]:
    sigma = 5.0 * torch.eye(2, dtype=torch.float64)
    X = mh.data.sample_gaussian(N, [1.0, 1.0], sigma, seed=0)
    mu0 = torch.tensor([-1.0, -1.0], dtype=torch.float64)

    path_L = mh.ascent.gradient_ascent(X, sigma, mu0, LR, NUM_STEPS)
    path_mvn = _ascent_with_mvn(X, sigma, mu0)
    path_diff = ((path_L - path_mvn).abs().max() / path_mvn.abs().max()).item()

    times = interleaved_medians({
        "L": lambda: mh.ascent.gradient_ascent(X, sigma, mu0, LR, NUM_STEPS),
        "mvn": lambda: _ascent_with_mvn(X, sigma, mu0),
    }, REPEATS)
    rate_L, rate_mvn = NUM_STEPS / times["L"], NUM_STEPS / times["mvn"]

    setting = f"ps2: n = {N}, {NUM_STEPS} steps, lr = {LR:g}, median of {REPEATS} runs"
    return [
        Figure("ascent.path_diff", "Gradient ascent: same path with L and MultivariateNormal (max relative difference)",
               path_diff, "rel", target=1e-9, detail=setting),
        Figure("ascent.L_rate", "Gradient ascent with L", rate_L, "steps/s", detail=setting),
        Figure("ascent.mvn_rate", "Gradient ascent with MultivariateNormal", rate_mvn, "steps/s", detail=setting),
        Figure("ascent.speedup", "Gradient ascent: L speed-up over MultivariateNormal", rate_L / rate_mvn, "x",
               detail=setting),
    ]
