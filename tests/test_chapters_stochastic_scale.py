"""Stated results of chapters 9-11 (stochastic, location_scale, uncertainty), read from the built book.

Each test reads a built page (``pages.Page``): what its cells printed and what
its prose states, and checks the numbers against an independent computation:
mle_helpers.estimators, scipy, or an exact formula.
"""
from __future__ import annotations

import math
import re

import pytest
import torch
from scipy import stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stochastic(built_book):
    return Page(built_book, "stochastic")


@pytest.fixture(scope="module")
def location_scale(built_book):
    return Page(built_book, "location_scale")


# ---------------------------------------------------------------- chapter 9


def _chapter9_data():
    sigma = 5.0 * torch.eye(2, dtype=torch.float64)
    return mh.data.sample_gaussian(10_000, [1.0, 1.0], sigma, seed=0)


def test_minibatch_average_matches_the_full_gradient(stochastic):
    X = _chapter9_data()
    mu0 = torch.tensor([-1.0, -1.0], dtype=torch.float64)
    full_gradient = ((X - mu0) / 5.0).sum(dim=0).tolist()  # sum_i Sigma^{-1} (x_i - mu0), by hand
    assert stochastic.numbers_after("full gradient") == pytest.approx(full_gradient, abs=0.06)
    mean = stochastic.numbers_after("mean of the k=10 estimates")
    standard_error = stochastic.numbers_after("standard error of the mean")
    gaps_in_se = [abs(m - g) / se for m, g, se in zip(mean, full_gradient, standard_error)]
    assert max(gaps_in_se) < 4
    [stated] = stochastic.stated("agrees with the full gradient to within {} standard errors")
    assert stated == pytest.approx(max(gaps_in_se), abs=0.1)


def test_noise_floor_table_matches_the_formula_and_the_runs(stochastic):
    X = _chapter9_data()
    n, a = 10_000, 1e-4 * 10_000 / 5.0
    table = re.findall(r"^\s*(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$", stochastic.printed, flags=re.M)
    assert [int(k) for k, _, _ in table] == [1, 5, 10, 100, 1000, n]
    predicted = {}
    for k, stated_floor, measured in table:
        k, stated_floor, measured = int(k), float(stated_floor), float(measured)
        predicted[k] = math.sqrt(a / (2 - a) * (1 - k / n) / k * X.var(dim=0).sum().item())
        assert stated_floor == pytest.approx(predicted[k], abs=1e-4)
        if k == n:
            assert measured < 1e-4  # the full batch has no floor
        else:
            assert measured == pytest.approx(predicted[k], rel=0.25)
    floor_1, floor_100 = stochastic.stated("iterates wander about {} from the MLE; with k = 100 the floor is {}.")
    assert floor_1 == pytest.approx(predicted[1], abs=0.005)
    assert floor_100 == pytest.approx(predicted[100], abs=0.0005)


def test_unscaled_batch_sum_barely_moves(stochastic):
    [scaled] = stochastic.numbers_after("k = 10,   scaled by n/k: distance to mu_hat after 300 steps =")
    [unscaled] = stochastic.numbers_after("k = 10, plain batch sum: distance to mu_hat after 300 steps =")
    X = _chapter9_data()
    start_distance = (torch.tensor([-1.0, -1.0], dtype=torch.float64) - X.mean(dim=0)).norm().item()
    assert scaled < 0.5 < 0.9 * start_distance < unscaled < start_distance


def test_hand_written_gradient_agrees_with_autograd(stochastic):
    assert stochastic.numbers_after("largest |loglik - Normal.log_prob sum|")[0] < 1e-8
    assert stochastic.numbers_after("largest relative gap, hand vs autograd gradient")[0] < 1e-10
    x = mh.data.sample_gaussian(1000, 1.0, 4.0, seed=3)
    mu_hat, sigma2_hat = mh.estimators.gaussian_mle(x)
    assert stochastic.numbers_after("MLE: mu_hat =") == pytest.approx([mu_hat.item(), sigma2_hat.sqrt().item()], abs=1e-4)
    assert stochastic.numbers_after("full batch (k = 1000): final (mu, sigma) =")[-1] < 1e-3


def test_exercise_arithmetic_of_chapter9(stochastic):
    a, k_ratio = 0.2, 100
    target = a / ((2 - a) * k_ratio)
    a_small = 2 * target / (1 + target)
    [stated_a, stated_factor] = stochastic.stated("\\approx {}, about {} times smaller")
    assert stated_a == pytest.approx(a_small, abs=5e-6)
    assert stated_factor == round(a / a_small)
    log_ratio = math.log(1 - a) / math.log(1 - a_small)
    [stated_log, stated_log_small, stated_steps] = stochastic.stated("\\approx {} / {} \\approx {} times as many steps")
    assert (stated_log, stated_log_small) == pytest.approx((math.log(1 - a), math.log(1 - a_small)), abs=5e-5)
    assert stated_steps == round(log_ratio, -1)


# ---------------------------------------------------------------- chapter 10


def test_learned_location_and_scale_match_the_closed_form(location_scale):
    x = mh.data.sample_gaussian(10_000, 2.0, 1.5**2, seed=10)
    mu_hat, sigma2_hat = mh.estimators.gaussian_mle(x)
    learned_loc, closed_loc = location_scale.numbers_after("location: learned")
    learned_scale, closed_scale = location_scale.numbers_after("scale   : learned")
    assert learned_loc == pytest.approx(mu_hat.item(), abs=2e-6)
    assert closed_loc == pytest.approx(mu_hat.item(), abs=2e-6)
    assert learned_scale == pytest.approx(sigma2_hat.sqrt().item(), abs=2e-6)
    assert closed_scale == pytest.approx(sigma2_hat.sqrt().item(), abs=2e-6)
    loc_error, scale_error = location_scale.stated("the location to within {} and the scale to within {}.")
    assert loc_error < 1e-6 and scale_error < 1e-6
    [mvn_error] = location_scale.stated("to within {} in every entry")
    assert mvn_error < 1e-5


def test_small_sample_scale_divides_by_n(location_scale):
    sample = mh.data.sample_gaussian(5, 2.0, 1.5**2, seed=12)
    mle_scale = mh.estimators.gaussian_mle(sample)[1].sqrt().item()
    line = next(line for line in location_scale.printed.splitlines() if line.startswith("n =      5"))
    learned, no_correction, default_std, ratio = map(float, re.findall(r"\d\.\d+", line))
    assert learned == pytest.approx(mle_scale, abs=2e-6)
    assert no_correction == pytest.approx(mle_scale, abs=2e-6)
    assert default_std == pytest.approx(sample.std().item(), abs=2e-6)  # torch divides by n - 1 by default
    assert ratio == pytest.approx(math.sqrt(4 / 5), abs=1e-4)
    stated_learned, stated_std = location_scale.stated("the optimiser finds {}, the divide-by- n value, while x.std() reports {};")
    assert stated_learned == pytest.approx(mle_scale, abs=5e-4)
    assert stated_std == pytest.approx(sample.std().item(), abs=5e-4)


def test_learned_covariance_printed_matches_gaussian_mle(location_scale):
    X = mh.data.sample_gaussian(2_000, [1.0, -1.0], [[1.0, 0.5], [0.5, 2.0]], seed=11)
    mu_hat, sigma_hat = mh.estimators.gaussian_mle(X)
    assert location_scale.numbers_after("learned mean      :") == pytest.approx(mu_hat.tolist(), abs=1e-5)
    block = location_scale.printed.split("learned covariance:")[1].split("closed-form")[0]
    learned = [float(number) for number in re.findall(NUMBER, block)]
    assert learned == pytest.approx(sigma_hat.flatten().tolist(), abs=1e-5)
