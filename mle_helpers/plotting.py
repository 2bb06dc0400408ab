"""The course's plotting: one seaborn theme and the log-likelihood heatmap.

The theme is introduced in chapter 1; the heatmap in chapter 7.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import _validate as v
from .likelihood import loglik_grid

__all__ = ["set_theme", "PALETTE", "HEATMAP_CMAP", "vizualize", "visualize"]

#: Okabe-Ito colours, distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: A perceptually uniform colormap that is also readable in greyscale.
HEATMAP_CMAP = "viridis"
_STYLE_FILE = str(Path(__file__).with_name("course.mplstyle"))


def set_theme() -> None:
    """Apply the course's theme: seaborn's "whitegrid" look with the colour-blind-safe palette.

    Introduced in chapter 1; every chapter calls it once in its first cell. The theme is
    seaborn's ``set_theme(context="notebook", style="whitegrid")`` saved as a matplotlib style
    file (``course.mplstyle``, checked against seaborn by the tests), so that calling it does not
    import seaborn, which takes about 2 s in every kernel.
    """
    import matplotlib.pyplot as plt  # imported here: notebooks that never plot should not pay for it

    plt.style.use(_STYLE_FILE)


def _path_array(mus) -> np.ndarray:
    """A (k, 2) float64 array from a list of tensors (possibly requiring grad) or an array."""
    if isinstance(mus, torch.Tensor):
        points = mus.detach().cpu().to(torch.float64).numpy()
    elif isinstance(mus, (list, tuple)):
        if len(mus) == 0:
            raise ValueError("mus must hold at least one point; got an empty list")
        rows = [m.detach().cpu().to(torch.float64).numpy() if isinstance(m, torch.Tensor) else np.asarray(m, dtype=float)
                for m in mus]
        try:
            points = np.stack([np.ravel(r) for r in rows])
        except ValueError:
            raise ValueError(f"mus must be points of 2 numbers each; got shapes {[np.shape(r) for r in rows][:5]}") from None
    else:
        try:
            points = np.asarray(mus, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"mus must be a list of 2-D points or a (k, 2) array; got {type(mus).__name__}") from None
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError(f"mus must be a list of 2-D points or a (k, 2) array; got shape {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("mus must be finite; the path contains NaN or inf (did the learning rate make it diverge?)")
    return points


def vizualize(X, mus, sigma, *, bounds=(-5, 5), resolution=100, ax=None):
    """Heatmap of the log-likelihood over mu, with an optimisation path on top.

    Introduced in chapter 7. The spelling is the one the course's assignment
    has always used; :func:`visualize` is the same function.

    Args:
        X: data matrix of shape (n, 2).
        mus: the path, a list of 2-element tensors (they may require grad)
            or an array of shape (k, 2).
        sigma: the (2, 2) covariance used for the likelihood.
        bounds: ``(low, high)`` of the square window in both coordinates.
        resolution: grid points per axis (at least 2).
        ax: the matplotlib Axes to draw on; a new figure if None.

    Returns:
        The matplotlib Axes. It never calls ``plt.show()``.

    Raises:
        ValueError: bad X, sigma, path, bounds or resolution (named).
    """
    points = _path_array(mus)
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be two numbers (low, high); got {bounds!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"bounds must be finite with low < high; got {bounds!r}")
    resolution = v.positive_int("resolution", resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2; got {resolution}")
    grid = np.linspace(low, high, resolution)
    surface = loglik_grid(X, sigma, grid, grid)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5.6, 4.6))
    mesh = ax.pcolormesh(grid, grid, surface, cmap=HEATMAP_CMAP, shading="auto")
    ax.figure.colorbar(mesh, ax=ax, label="log-likelihood $L(\\mu)$")
    ax.plot(points[:, 0], points[:, 1], color="white", lw=1.5, marker="o", ms=3, label="path")
    ax.plot(points[0, 0], points[0, 1], marker="s", ms=8, color=PALETTE[1], ls="none", label="start")
    ax.plot(points[-1, 0], points[-1, 1], marker="*", ms=12, color=PALETTE[3], ls="none", label="end")
    ax.set(xlim=(low, high), ylim=(low, high), xlabel="$\\mu_1$", ylabel="$\\mu_2$", aspect="equal")
    ax.legend(loc="lower right", fontsize="small", framealpha=0.8)
    return ax


visualize = vizualize
