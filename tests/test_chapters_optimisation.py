"""The numbers stated by chapters 7 (gradient ascent) and 8 (optimizers).

The tests read what a reader reads (``pages.Page``): the built HTML page, its
prose as plain text and what its cells printed.
Each stated number is checked against an independent computation: the sample
mean computed with numpy, the error recursion e_t = rho^t e_0 that chapter 7
derives, and the bounds the text states.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

N, SIGMA2 = 10_000, 5.0
MU0 = np.array([-1.0, -1.0])


def _sample_mean(page: Page) -> np.ndarray:
    """The chapter's data set, regenerated from the seed in its code, averaged with numpy."""
    seed = int(re.search(r"DATA_SEED = (\d+)", (page.root / "book" / f"{page.name}.md").read_text()).group(1))
    X = mh.data.sample_gaussian(N, [1.0, 1.0], SIGMA2 * torch.eye(2, dtype=torch.float64), seed=seed)
    return X.numpy().mean(axis=0)


@pytest.fixture(scope="module")
def gradient_ascent(built_book):
    return Page(built_book, "gradient_ascent")


@pytest.fixture(scope="module")
def optimizers(built_book):
    return Page(built_book, "optimizers")


def test_gradient_ascent_reaches_the_sample_mean(gradient_ascent):
    page = gradient_ascent
    xbar = _sample_mean(page)
    assert page.stated("The sample mean is \\hat\\mu = ({}, {})") == pytest.approx(xbar, abs=5e-5)
    assert page.stated("agree to {}, which is rounding")[0] < 1e-8
    steps, lr, error = page.stated("After {} steps with \\eta = {}, the iterate is within {}")
    rho = 1 - lr * N / SIGMA2
    assert error == pytest.approx(abs(rho) ** steps * np.linalg.norm(MU0 - xbar), rel=0.05)


def test_gradient_ascent_learning_rate_regimes(gradient_ascent):
    page = gradient_ascent
    err0 = np.linalg.norm(MU0 - _sample_mean(page))
    assert page.stated("The start is {} away")[0] == pytest.approx(err0, abs=5e-4)
    assert page.stated("error after one step is {}")[0] < 1e-12
    assert page.stated("after 20 steps is the same, {},")[0] == pytest.approx(0.8**20 * err0, rel=5e-3)
    assert page.stated("the distance stays at {} forever")[0] == pytest.approx(err0, abs=5e-4)
    assert page.stated("it has grown to {} after 20 steps")[0] == pytest.approx(1.2**20 * err0, rel=1e-3)
    assert page.stated("stability bound 2 sigma^2/n = {}", "printed") == [2 * SIGMA2 / N]
    # every row of the printed table: the measured ratio |e1|/|e0| is |1 - lr n / sigma^2|
    rows = re.findall(rf"^ *{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}$", page.printed, flags=re.M)
    assert len(rows) >= 5
    for lr, rho, ratio, _ in rows:
        assert float(ratio) == pytest.approx(abs(1 - float(lr) * N / SIGMA2), abs=1e-4)
    assert page.stated("steps needed: {}", "printed") == [math.ceil(math.log(1e-6) / math.log(0.8))]


def test_optimizers_sign_mistake_walks_away(optimizers):
    page = optimizers
    err0 = np.linalg.norm(MU0 - _sample_mean(page))
    start, end = page.stated("distance grows from {} to {}")
    assert start == pytest.approx(err0, abs=5e-3)
    assert end > start + 1.0, "backward() on L must move away from the maximum"
    wrong, right = page.stated("each coordinate ends at {} with the wrong sign and {} with the right one")
    # Adam moves a coordinate by at most about lr per step: 100 steps of 1e-4 cover at most ~0.01.
    assert -1.0 - 0.0101 < wrong < -1.0
    assert -1.0 < right < -1.0 + 0.0101


def test_optimizers_equivalences_and_adam_scale(optimizers):
    page = optimizers
    assert page.stated("agree to rounding error ({})")[0] < 1e-12, "full-batch SGD on nll is gradient ascent"
    assert page.stated("maximize=True) on L vs Adam on nll: largest difference {}", "printed")[0] < 1e-12
    assert page.stated("differ by {}, although")[0] < 1e-6, "Adam's path must not depend on the loss's scale"
    assert page.stated("moves by {} in 100 steps")[0] < 0.01
    assert 0.99 < page.stated("longest step is {} times")[0] <= 1.0


def test_optimizers_settling_steps_and_momentum_bound(optimizers):
    page = optimizers
    err0 = np.linalg.norm(MU0 - _sample_mean(page))
    mom9, sgd, mom5 = page.stated("from step {} instead of {}), while momentum 0.5 is faster (step {})")
    assert sgd == math.ceil(math.log(1e-3 / err0) / math.log(0.8)), "SGD's error is 0.8^t e_0"
    assert mom5 < sgd < mom9
    below = page.stated("lr = 0.00185: distance to mu_hat after 400 steps {}", "printed")[0]
    above = page.stated("lr = 0.00195: distance to mu_hat after 400 steps {}", "printed")[0]
    assert below < 1e-6 and above > 1e6, "the momentum bound 2 (1 + beta) sigma^2 / n = 0.0019"


@pytest.mark.parametrize("name, figures", [("gradient_ascent", 3), ("optimizers", 4)])
def test_pages_show_figures_with_alt_text_and_no_stderr(built_book, name, figures):
    page = Page(built_book, name)
    images = re.findall(r"<img [^>]*src=\"\.\./_images/[^>]*>", page.html)
    alts = [re.search(r'alt="([^"]*)"', image).group(1) for image in images]
    assert len(alts) == figures
    assert all(len(alt) > 40 and ".png" not in alt for alt in alts), alts
    assert "<Figure size" not in page.text
    assert "output stderr" not in page.html, "a cell wrote to stderr"
