"""Numerical derivatives for the tests: independent of autograd, which the chapters use."""
from __future__ import annotations

import numpy as np


def hessian_fd(f, point, h=1e-4) -> np.ndarray:
    """The Hessian of f at point by central finite differences; h is one step or one step per coordinate."""
    point = np.asarray(point, dtype=float)
    d = len(point)
    steps = np.broadcast_to(np.asarray(h, dtype=float), (d,))
    H = np.empty((d, d))
    for i in range(d):
        for j in range(d):
            ei, ej = np.eye(d)[i] * steps[i], np.eye(d)[j] * steps[j]
            H[i, j] = (f(point + ei + ej) - f(point + ei - ej) - f(point - ei + ej) + f(point - ei - ej)) \
                / (4 * steps[i] * steps[j])
    return H
