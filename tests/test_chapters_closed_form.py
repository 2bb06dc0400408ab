"""The closed-form chapters (4 multivariate Gaussian, 5 linear regression, 6 Bernoulli) state the right numbers.

Each test reads what the *built* book computed (the values a page glues into its
prose, stored next to the executed notebook) and checks it against an
independent computation: numpy / scipy on freshly regenerated data, or exact
arithmetic. A chapter that prints a wrong estimate, drifts from its data or
loses its figures' alt text fails here.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import optimize, stats

import mle_helpers as mh
from pages import Page

pytestmark = pytest.mark.slow

PAGES = ("multivariate_gaussian", "linear_regression", "bernoulli")


@pytest.fixture(scope="module")
def glued(built_book):
    return {page: Page(built_book, page).glued() for page in PAGES}


# ---------------------------------------------------------------- chapter 6


def test_bernoulli_mle_map_and_predictive_match_exact_values(glued):
    values = glued["bernoulli"]
    assert values["theta_mle"] == pytest.approx(3 / 7, abs=1e-15)
    # Variance 0.1: the stationarity cubic factors as (theta - 1.5)(theta^2 - 1/5).
    assert values["theta_map_var"] == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    assert values["p_two_tails_var"] == pytest.approx(6 / 5 - 2 / math.sqrt(5), abs=1e-12)
    assert values["p_next_head"] == pytest.approx(4 / 9, abs=1e-15)
    assert values["p_next_head"] == pytest.approx(stats.beta(4, 5).mean(), abs=1e-15)


def test_bernoulli_map_with_standard_deviation_reading_is_an_independent_root(glued):
    """Reading N(0.5, 0.1) as a standard deviation (variance 0.01) gives ~0.484: checked with scipy's root finder."""
    heads, tails, prior_mean, prior_var = 3, 4, 0.5, 0.01

    def slope(theta):
        return heads / theta - tails / (1 - theta) - (theta - prior_mean) / prior_var

    root = optimize.brentq(slope, 1e-9, 1 - 1e-9, xtol=1e-14)
    values = glued["bernoulli"]
    assert values["theta_map_sd"] == pytest.approx(root, abs=1e-10)
    assert round(values["theta_map_sd"], 3) == 0.484
    assert values["p_two_tails_sd"] == pytest.approx((1 - root) ** 2, abs=1e-10)


def test_bernoulli_credible_interval_matches_beta_quantiles(glued):
    values = glued["bernoulli"]
    posterior = stats.beta(4, 5)
    assert values["credible_low"] == pytest.approx(posterior.ppf(0.025), abs=1e-4)
    assert values["credible_high"] == pytest.approx(posterior.ppf(0.975), abs=1e-4)


def test_bernoulli_page_states_the_convention_and_tabulates_both_readings(built_book):
    page = Page(built_book, "bernoulli")
    assert re.search(r"names the\s+mean\s+.*?and\s+the\s+variance", page.text, re.S), "the variance convention is not stated"
    table = re.search(r"<table.*?</table>", page.html, re.S).group(0)
    rows = [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr.*?</tr>", table, re.S)]
    variance_row = next(r for r in rows if "variance 0.1" in r)
    sd_row = next(r for r in rows if "standard deviation 0.1" in r)
    assert variance_row.count("0.4472") == 3, variance_row  # bisection, cubic root, grid search
    assert sd_row.count("0.4844") == 3, sd_row


# ---------------------------------------------------------------- chapter 4


def test_multivariate_estimates_match_numpy_on_the_same_data(glued):
    values = glued["multivariate_gaussian"]
    setup = values["mvn_setup"]
    X = mh.data.sample_gaussian(setup["n"], setup["mu"], setup["sigma"], seed=setup["seed"]).numpy()
    np.testing.assert_allclose(values["mvn_mu_hat"], X.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(values["mvn_sigma_hat"], np.cov(X, rowvar=False, bias=True), rtol=0, atol=1e-12)


def test_multivariate_errors_shrink_like_one_over_root_n(glued):
    values = glued["multivariate_gaussian"]
    assert -0.6 < values["slope_mean"] < -0.4
    assert -0.6 < values["slope_cov"] < -0.4


def test_multivariate_small_sample_average_shows_the_n_minus_one_over_n_bias(glued):
    values = glued["multivariate_gaussian"]
    sigma = np.array(values["mvn_setup"]["sigma"])
    average = np.array(values["mvn_small_n_average_sigma_hat"])
    np.testing.assert_allclose(average, 4 / 5 * sigma, atol=0.03)  # n = 5
    assert np.abs(average - sigma).max() > 0.15  # and visibly not the unbiased value


# ---------------------------------------------------------------- chapter 5


def test_linear_regression_estimates_match_scipy_on_the_same_data(glued):
    values = glued["linear_regression"]
    setup = values["linreg_setup"]
    x, y = (t.numpy() for t in mh.data.sample_linear(setup["n"], setup["a"], setup["b"], setup["noise_std"],
                                                     seed=setup["seed"]))
    fit = stats.linregress(x, y)
    assert values["a_hat"] == pytest.approx(fit.slope, abs=1e-12)
    assert values["b_hat"] == pytest.approx(fit.intercept, abs=1e-12)
    residuals = y - (fit.slope * x + fit.intercept)
    assert values["var_hat"] == pytest.approx(np.mean(residuals**2), abs=1e-12)


def test_linear_regression_small_sample_variance_is_biased_by_n_minus_two_over_n(glued):
    values = glued["linear_regression"]
    noise_var = values["linreg_setup"]["noise_std"] ** 2
    average = values["linreg_small_n_average_var_hat"]
    assert average == pytest.approx(3 / 5 * noise_var, rel=0.08)  # n = 5, two fitted parameters


# ---------------------------------------------------------------- all three pages


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_clean_and_its_figures_are_described(built_book, name):
    """No stderr or error output in any cell; every figure has a caption and real alt text."""
    page = Page(built_book, name)
    assert page.printed, f"{name}: no printed output found; has the page layout changed?"
    assert not page.outputs("stderr") and not page.outputs("traceback")
    images = re.findall(r"<img[^>]*>", page.html)
    figures = [img for img in images if "_images/" in img]
    assert figures, f"{name} shows no figure"
    for img in figures:
        alt = re.search(r'alt="([^"]*)"', img).group(1)
        assert len(alt) > 40 and not alt.endswith(".png"), f"{name}: weak alt text {alt!r}"
    assert page.html.count("<figcaption") == len(figures)
    assert "Assignment ps1_closed_form" in page.text, f"{name} does not point to its assignment"
