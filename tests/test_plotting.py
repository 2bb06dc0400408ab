"""mh.vizualize draws the heatmap and the path; mh.set_theme applies the palette."""
import matplotlib

matplotlib.use("Agg")  # tests only: no window; the book build keeps its inline backend
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_hex

import mle_helpers as mh

SIGMA = 5 * torch.eye(2, dtype=torch.float64)


@pytest.fixture()
def X():
    return mh.data.sample_gaussian(500, [1.0, 1.0], SIGMA, seed=0)


def path_line(ax):
    return next(line for line in ax.get_lines() if line.get_label() == "path")


def test_heatmap_is_the_log_likelihood_surface(X):
    ax = mh.vizualize(X, np.array([[0.0, 0.0], [1.0, 1.0]]), SIGMA, resolution=40)
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    grid = np.linspace(-5, 5, 40)
    expected = mh.loglik_grid(X, SIGMA, grid, grid)
    assert np.allclose(np.asarray(meshes[0].get_array()).reshape(40, 40), expected)
    assert ax.get_xlim() == (-5, 5) and ax.get_ylim() == (-5, 5)
    plt.close("all")


def test_path_of_tensors_requiring_grad_is_drawn(X):
    mu = torch.tensor([-1.0, -1.0], dtype=torch.float64, requires_grad=True)
    mus = [mu * s for s in (1.0, 0.5, 0.0)]  # tensors that are part of a graph
    assert all(m.requires_grad for m in mus)
    ax = mh.vizualize(X, mus, SIGMA, resolution=20)
    xs, ys = path_line(ax).get_data()
    assert np.allclose(xs, [-1.0, -0.5, 0.0]) and np.allclose(ys, [-1.0, -0.5, 0.0])
    plt.close("all")


def test_draws_on_a_given_axes_with_custom_bounds_and_never_shows(X, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("vizualize called plt.show()"))
    fig, ax = plt.subplots()
    returned = mh.visualize(X, np.zeros((1, 2)), SIGMA, bounds=(-2, 3), resolution=10, ax=ax)
    assert returned is ax
    assert ax.get_xlim() == (-2, 3)
    plt.close("all")


def test_vizualize_and_visualize_are_one_function():
    assert mh.visualize is mh.vizualize


def test_a_diverged_path_is_named(X):
    with pytest.raises(ValueError, match="mus must be finite"):
        mh.vizualize(X, np.array([[0.0, 0.0], [np.inf, 0.0]]), SIGMA)


def test_set_theme_uses_the_colour_blind_safe_palette():
    mh.set_theme()
    cycle = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle[:4] == [to_hex(c) for c in mh.PALETTE[:4]]
