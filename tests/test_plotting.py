"""mh.vizualize draws the heatmap and the path; mh.set_theme applies seaborn's theme and the palette.

``mh.set_theme`` reads ``mle_helpers/course.mplstyle`` instead of importing seaborn (2 s in every
kernel). When seaborn's theme changes, the test below fails; ``python tests/test_plotting.py``
writes the style file again from the installed seaborn.
"""
from pathlib import Path

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


# Seaborn's theme, except the default colormap: seaborn's "rocket" exists only once seaborn is imported.
THEME = {"context": "notebook", "style": "whitegrid"}
COURSE_EXTRAS = {"image.cmap": mh.plotting.HEATMAP_CMAP, "figure.figsize": [6.4, 4.2], "figure.dpi": 96,
                 "savefig.dpi": 96}


def seaborn_theme() -> dict:
    """The rcParams that ``sns.set_theme`` sets for the course's context and style."""
    import seaborn as sns

    return {**sns.axes_style(THEME["style"]), **sns.plotting_context(THEME["context"])}


def write_course_style(path: Path = Path(mh.plotting.__file__).with_name("course.mplstyle")) -> None:
    def rc_text(value):
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return str(value).lstrip("#")  # '#' starts a comment in a style file

    rc = {**seaborn_theme(), **COURSE_EXTRAS}
    cycle = ", ".join(f"'{colour.lstrip('#')}'" for colour in mh.PALETTE)
    lines = [f"# seaborn {__import__('seaborn').__version__} set_theme({THEME}) with the course palette;",
             "# written by tests/test_plotting.py, checked by test_set_theme_is_seaborns_theme_without_importing_seaborn.",
             f"axes.prop_cycle: cycler('color', [{cycle}])"]
    path.write_text("\n".join(lines + [f"{key}: {rc_text(value)}" for key, value in rc.items()]) + "\n")


def test_set_theme_is_seaborns_theme_without_importing_seaborn():
    import subprocess
    import sys

    probe = "import mle_helpers as mh, sys; mh.set_theme(); print('seaborn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() \
        == "False", "mh.set_theme imported seaborn: every graded notebook would pay 2 s for it"
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        mh.set_theme()
        ours = dict(plt.rcParams)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        expected_rc = dict(plt.rcParams)
        expected_rc.update({key: matplotlib.rcParams.validate[key](value) for key, value in seaborn_theme().items()})
        expected_rc.update({key: matplotlib.rcParams.validate[key](value) for key, value in COURSE_EXTRAS.items()})
    differ = {key: (ours[key], expected_rc[key]) for key in expected_rc
              if key != "axes.prop_cycle" and ours[key] != expected_rc[key]}
    assert not differ, f"course.mplstyle differs from seaborn's theme (run python tests/test_plotting.py): {differ}"


def test_set_theme_uses_the_colour_blind_safe_palette():
    mh.set_theme()
    cycle = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle[:4] == [to_hex(c) for c in mh.PALETTE[:4]]


if __name__ == "__main__":
    write_course_style()
