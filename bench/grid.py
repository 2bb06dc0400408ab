"""Figure 1: the heatmap surface, ``mh.loglik_grid`` against the seed's ``np.vectorize`` loop.

The seed's own setting: 100 x 100 means on [-5, 5]^2, n = 10000 points from
N((1, 1), 5 I). Both surfaces are compared after adding the constant the
seed drops; they agree to float32 precision, not float64, because the seed's
means are float32 (see :func:`bench.seed.seed_heatmap`).
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

import mle_helpers as mh

from .common import Figure, median_seconds
from .seed import missing_constant, seed_heatmap

N, RESOLUTION, BOUNDS = 10_000, 100, (-5.0, 5.0)
SEED_REPEATS, HELPER_REPEATS = 3, 21


def run() -> list[Figure]:
    sigma = 5.0 * torch.eye(2, dtype=torch.float64)
    X = mh.data.sample_gaussian(N, [1.0, 1.0], sigma, seed=0)
    space = np.linspace(*BOUNDS, RESOLUTION)

    ours = mh.loglik_grid(X, sigma, space, space)
    seed_surface = seed_heatmap(X, sigma, space) + missing_constant(N, sigma)
    rel_diff = float(np.max(np.abs(seed_surface - ours) / np.abs(ours)))

    # The seed's loop takes seconds, ours a millisecond: time each in proportion.
    seed_times = []
    for _ in range(SEED_REPEATS):
        start = time.perf_counter()
        seed_heatmap(X, sigma, space)
        seed_times.append(time.perf_counter() - start)
    seed_seconds = statistics.median(seed_times)
    ours_seconds = median_seconds(lambda: mh.loglik_grid(X, sigma, space, space), HELPER_REPEATS)

    setting = f"{RESOLUTION} x {RESOLUTION} grid, n = {N}"
    return [
        Figure("grid.rel_diff", "Heatmap: same surface as the seed (max relative difference)", rel_diff, "rel",
               target=1e-6, detail=f"{setting}; seed constant added back; seed means are float32"),
        Figure("grid.seed_seconds", "Heatmap: seed (np.vectorize over L)", seed_seconds, "s",
               detail=f"{setting}; median of {SEED_REPEATS}"),
        Figure("grid.ours_ms", "Heatmap: mh.loglik_grid", ours_seconds * 1e3, "ms",
               detail=f"{setting}; median of {HELPER_REPEATS}"),
        Figure("grid.speedup", "Heatmap: mh.loglik_grid speed-up over the seed", seed_seconds / ours_seconds, "x",
               target=500, better="higher", detail=setting),
    ]
