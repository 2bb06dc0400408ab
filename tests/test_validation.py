"""Every public function rejects bad input with a ValueError that names the argument."""
import math

import numpy as np
import pytest
import torch

import mle_helpers as mh
from mle_helpers import estimators as est

X2 = torch.zeros(4, 2, dtype=torch.float64) + torch.arange(4.0, dtype=torch.float64)[:, None]
MU = torch.zeros(2, dtype=torch.float64)
EYE = torch.eye(2, dtype=torch.float64)
TOSSES = (0, 1, 1)
GRID = np.linspace(-1, 1, 3)

CASES = [
    # (call, argument named, a fragment of the message)
    (lambda: mh.L(torch.zeros(4), MU, EYE), "X", "shape (4,)"),
    (lambda: mh.L(torch.full((3, 2), math.nan), MU, EYE), "X", "NaN"),
    (lambda: mh.L(X2, torch.zeros(3), EYE), "mu", "shape (3,)"),
    (lambda: mh.L(X2, torch.tensor([0.0, math.inf]), EYE), "mu", "finite"),
    (lambda: mh.L(X2, MU, torch.eye(3)), "sigma", "shape (3, 3)"),
    (lambda: mh.L(X2, MU, torch.tensor([[1.0, 0.5], [0.0, 1.0]])), "sigma", "symmetric"),
    (lambda: mh.L(X2, MU, torch.tensor([[1.0, 2.0], [2.0, 1.0]])), "sigma", "positive definite; got eigenvalues [-1."),
    (lambda: mh.L(X2, MU, torch.tensor([[1.0, math.nan], [math.nan, 1.0]])), "sigma", "NaN"),
    (lambda: mh.L("data", MU, EYE), "X", "numeric"),
    (lambda: mh.loglik_grid(torch.zeros(4, 3), torch.eye(3), GRID, GRID), "X", "2 columns"),
    (lambda: mh.loglik_grid(X2, -EYE, GRID, GRID), "sigma", "positive definite"),
    (lambda: mh.loglik_grid(X2, EYE, np.zeros((2, 2)), GRID), "xs", "1-D"),
    (lambda: mh.loglik_grid(X2, EYE, GRID, [0.0, math.nan]), "ys", "NaN"),
    (lambda: mh.vizualize(X2, [torch.zeros(3)], EYE), "mus", "2-D points"),
    (lambda: mh.vizualize(X2, [], EYE), "mus", "empty"),
    (lambda: mh.vizualize(X2, np.zeros((2, 2)), EYE, bounds=(1, -1)), "bounds", "low < high"),
    (lambda: mh.vizualize(X2, np.zeros((2, 2)), EYE, resolution=1), "resolution", "at least 2"),
    (lambda: mh.data.sample_gaussian(0, 0.0, 1.0, seed=0), "n", "positive integer; got 0"),
    (lambda: mh.data.sample_gaussian(5, 0.0, -1.0, seed=0), "cov", "positive; got -1.0"),
    (lambda: mh.data.sample_gaussian(5, [0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], seed=0), "cov", "positive definite"),
    (lambda: mh.data.sample_gaussian(5, 0.0, 1.0, seed=-1), "seed", "non-negative integer"),
    (lambda: mh.data.sample_linear(5, 1.0, 0.0, 0.0, seed=0), "noise_std", "positive; got 0.0"),
    (lambda: mh.data.sample_bernoulli(5, 1.5, seed=0), "theta", "(0, 1); got 1.5"),
    (lambda: mh.data.sample_bernoulli(5, 0.0, seed=0), "theta", "(0, 1); got 0.0"),
    (lambda: est.gaussian_mle(torch.zeros(0)), "X", "non-empty"),
    (lambda: est.gaussian_mle([1.0, math.inf]), "X", "finite"),
    (lambda: est.linreg_mle([1.0, 2.0, 3.0], [1.0, 2.0]), "y", "shape"),
    (lambda: est.linreg_mle([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), "x", "constant"),
    (lambda: est.bernoulli_mle([0, 1, 2]), "x", "only 0 (tails) and 1 (heads)"),
    (lambda: est.bernoulli_mle([]), "x", "non-empty"),
    (lambda: est.bernoulli_map(TOSSES, 0.5, 0.0), "prior_var", "positive; got 0.0"),
    (lambda: est.bernoulli_map(TOSSES, 0.5, -0.1), "prior_var", "positive; got -0.1"),
    (lambda: est.bernoulli_map(TOSSES, math.nan, 0.1), "prior_mean", "finite"),
    (lambda: est.beta_posterior(TOSSES, 0, 1), "a", "positive; got 0"),
    (lambda: est.predictive_head(TOSSES, 1, -2), "b", "positive; got -2"),
    (lambda: mh.ascent.gradient_ascent(X2, EYE, MU, -0.1, 5), "lr", "positive"),
    (lambda: mh.ascent.gradient_ascent(X2, EYE, MU, 0.1, 0), "num_steps", "positive integer"),
    (lambda: mh.ascent.gradient_ascent(X2, EYE, MU, 0.1, 5, batch_size=9), "batch_size", "at most n=4"),
    (lambda: mh.ascent.gradient_ascent(X2, EYE, torch.zeros(3), 0.1, 5), "mu0", "shape (2,)"),
]


@pytest.mark.parametrize("call,argument,fragment", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_raises_a_named_value_error(call, argument, fragment):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{argument} "), message
    assert fragment in message, message
