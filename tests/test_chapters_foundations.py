"""The numbers stated by the Foundations chapters and by 'The univariate Gaussian'.

Each test reads what a chapter printed when the book was built and what its
page says (both from the HTML in ``_build/html/book/``), and recomputes the result independently with
scipy/numpy or ``mle_helpers.estimators``. The data sets are regenerated from
the setup each page states (sampler, parameters, seed): if a page changes its
setup, update the constants here along with it.
"""
from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import numpy as np
import pytest
from scipy import integrate, special, stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

CHAPTERS = ("likelihood", "why_log", "gaussian")

# The setups the pages state (see the cell that draws the data on each page).
LIKELIHOOD_READINGS = dict(n=6, mu=3.0, cov=1.0, seed=7)
LIKELIHOOD_CANDIDATES = (1.5, 3.2, 4.5)
WHY_LOG_SAMPLE = dict(n=10_000, mu=0.0, cov=1.0, seed=2)
GAUSSIAN_SAMPLE = dict(n=200, mu=2.0, cov=2.25, seed=11)


def _sample(setup: dict) -> np.ndarray:
    return mh.data.sample_gaussian(setup["n"], setup["mu"], setup["cov"], seed=setup["seed"]).numpy()


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_cells_write_nothing_to_stderr(built_book, name):
    page = Page(built_book, name)
    assert page.printed, f"{name}: no printed output found; has the page layout changed?"
    for kind in ("stderr", "traceback"):
        assert not page.outputs(kind), f"{name}: a cell wrote {kind}: {page.outputs(kind)}"


@pytest.mark.parametrize("name, figures", [("likelihood", 2), ("why_log", 2), ("gaussian", 3)])
def test_every_figure_has_a_caption_and_real_alt_text(built_book, name, figures):
    raw = Page(built_book, name).html
    alts = re.findall(r'<img alt="([^"]*)"[^>]*src="\.\./_images/', raw)
    assert len(alts) == figures, f"{name}: expected {figures} figures, found {len(alts)}"
    for alt in alts:
        assert len(alt) > 60 and not alt.endswith(".png"), f"{name}: alt text is not a description: {alt!r}"
    assert raw.count("<figcaption") == figures


def test_likelihood_peak_is_the_sample_mean(built_book):
    page = Page(built_book, "likelihood")
    x = _sample(LIKELIHOOD_READINGS)
    [grid_max] = page.stated("grid maximiser of L(mu): {}", "printed")
    [step] = page.stated("(grid step {}", "printed")
    assert page.stated("sample mean of the readings: {}", "printed") == pytest.approx([x.mean()], abs=5e-4)
    assert abs(grid_max - x.mean()) <= step / 2 + 5e-4
    # The prose quotes the same two numbers the cell printed.
    assert f"The best grid point is {grid_max:.3f} and the average of the readings is {x.mean():.3f}" in page.text


def test_likelihood_values_and_area(built_book):
    page = Page(built_book, "likelihood")
    x = _sample(LIKELIHOOD_READINGS)
    for mu in LIKELIHOOD_CANDIDATES:
        expected = np.prod(stats.norm.pdf(x, loc=mu, scale=1.0))
        assert page.stated(f"mu = {mu}: likelihood = {{}}", "printed") == pytest.approx([expected], rel=1e-3)
    # Integrating prod_i N(x_i; mu, 1) over mu: not 1, so not a distribution over mu.
    area, _ = integrate.quad(lambda mu: np.prod(stats.norm.pdf(x, loc=mu)), -10, 15, points=[x.mean()])
    assert page.stated("area under L(mu): {}", "printed") == pytest.approx([area], rel=1e-3)
    assert f"The area under the curve is {area:.3e}, not 1" in page.text


def test_why_log_product_underflows_but_log_likelihood_does_not(built_book):
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    log_densities = stats.norm.logpdf(X)
    assert np.prod(stats.norm.pdf(X)) == 0.0  # the claim itself, independently
    assert page.stated("product of the 10000 densities: {}", "printed") == [0.0]
    assert page.stated("sum of the 10000 log-densities: {}", "printed") == pytest.approx([log_densities.sum()], abs=1e-3)
    first_zero = int(np.argmax(np.cumprod(stats.norm.pdf(X)) == 0.0)) + 1
    assert page.stated("float64 product is exactly 0 from reading {}", "printed") == [first_zero]
    # ...and just before that reading the exact product is still representable.
    assert log_densities[: first_zero - 1].sum() > math.log(math.ulp(0.0)) - 1
    assert f"From reading {first_zero} on, the product is" in page.text


def test_why_log_log_sum_exp_posterior(built_book):
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    log_lik = np.array([stats.norm.logpdf(X, loc=0.0).sum(), stats.norm.logpdf(X, loc=0.05).sum()])
    [direct] = page.stated("direct formula  P(A | data): {}", "printed")
    assert math.isnan(direct)
    expected = math.exp(log_lik[0] - special.logsumexp(log_lik))
    assert page.stated("log-sum-exp     P(A | data): {}", "printed") == pytest.approx([expected], abs=1e-8)
    assert page.stated("argmax of the likelihood: {}", "printed") == page.stated("argmax of the log-likelihood: {}", "printed")


def test_gaussian_estimates_match_the_reference_and_the_divisors(built_book):
    page = Page(built_book, "gaussian")
    x = _sample(GAUSSIAN_SAMPLE)
    mu_ref, sigma2_ref = (t.item() for t in mh.estimators.gaussian_mle(x))
    assert mu_ref == pytest.approx(np.mean(x)) and sigma2_ref == pytest.approx(np.var(x, ddof=0))
    assert page.stated("mu_hat     = {}", "printed") == pytest.approx([mu_ref], abs=5e-5)
    assert page.stated("sigma2_hat = {}", "printed") == pytest.approx([sigma2_ref], abs=5e-5)
    assert page.stated("x.var()                = {}", "printed") == pytest.approx([np.var(x, ddof=1)], abs=5e-5)
    assert page.stated("x.std()                = {}", "printed") == pytest.approx([np.std(x, ddof=1)], abs=5e-5)
    assert page.stated("sqrt(sigma2_hat)       = {}", "printed") == pytest.approx([np.std(x, ddof=0)], abs=5e-5)
    log_prob, density = stats.norm.logpdf(0.5, 2.0, 1.5), stats.norm.pdf(0.5, 2.0, 1.5)
    assert page.stated("log_prob at x = 0.5: {}", "printed") == pytest.approx([log_prob], abs=5e-7)
    assert page.stated("density at x = 0.5 (exp of it): {}", "printed") == pytest.approx([density], abs=5e-7)
    assert "divide by n - 1 by default" in page.text


def test_gaussian_bias_simulation_agrees_with_the_derivation(built_book):
    page = Page(built_book, "gaussian")
    rows = re.findall(r"^\s*(\d+)\s+" + r"\s+".join([NUMBER] * 5) + r"\s*$", page.printed, flags=re.MULTILINE)
    assert [int(r[0]) for r in rows] == [2, 3, 5, 10, 20, 50], "the bias table is missing or changed"
    true_sigma2 = 4.0
    for size, mean_mle, std_error, theory, mean_unbiased, mean_std in ((int(r[0]), *map(float, r[1:])) for r in rows):
        assert theory == pytest.approx((size - 1) / size * true_sigma2, abs=5e-5)
        # E[sigma2_hat] = (n-1)/n sigma^2: the simulated average is within 4 standard errors of it ...
        assert abs(mean_mle - theory) < 4 * std_error, f"n={size}: {mean_mle} vs {theory}"
        # ... and the n-1 version (the same samples times n/(n-1)) within 4 of its own errors of sigma^2.
        assert abs(mean_unbiased - true_sigma2) < 4 * std_error * size / (size - 1)
        # sqrt does not keep unbiasedness: torch.std averages below sigma.
        assert mean_std < math.sqrt(true_sigma2)
    [largest_gap] = page.stated("largest gap between the MLE average and the theory: {}", "printed")
    assert f"the largest gap is {largest_gap:.1f} standard errors" in page.text


def test_gaussian_std_ratio_is_printed_and_stated(built_book):
    """The ratio x.std() / sqrt(sigma2_hat) is exactly sqrt(n/(n-1)); the page prints it and the prose quotes it."""
    page = Page(built_book, "gaussian")
    x = _sample(GAUSSIAN_SAMPLE)
    n = len(x)
    ratio = np.std(x, ddof=1) / np.std(x, ddof=0)
    assert ratio == pytest.approx(math.sqrt(n / (n - 1)), rel=1e-12)  # "exactly", independently
    printed, formula = page.stated("ratio std() / sqrt(sigma2_hat) = {} = sqrt(n/(n-1)) = {}", "printed")
    assert printed == pytest.approx(ratio, abs=5e-7) and formula == pytest.approx(ratio, abs=5e-7)
    assert f"printed above for this sample’s n = {n}: {ratio:.6f}." in page.text
    large = float((Decimal(10_000) / Decimal(9_999)).sqrt())
    assert page.glued()["gauss_std_ratio_10000"] == pytest.approx(large, abs=1e-15)
    assert f"\\sqrt{{10000/9999}} = {large:.6f}: invisible at two decimals" in page.text


def test_gaussian_points_to_the_tasks_that_practise_it(built_book):
    """Links, not names: ps1 Part B is the univariate Gaussian MLE, ps5 Task 2 learns a 1-D location and scale."""
    page = Page(built_book, "gaussian")
    assert 'href="../exercises/ps1_closed_form/ps1_closed_form.html"' in page.html
    assert 'href="../exercises/ps5_location_scale/ps5_location_scale.html"' in page.html
    assert "Part B of Problem set 1 asks you to implement" in page.text
    assert "Task 2 of Problem set 5 practises it" in page.text

    def heading(assignment, start):
        release = json.loads((built_book / "exercises" / assignment / f"{assignment}.ipynb").read_text())
        return next("".join(c["source"]) for c in release["cells"] if "".join(c["source"]).startswith(start))

    assert "univariate Gaussian" in heading("ps1_closed_form", "## Part B")
    assert "`(mu_hat, sigma2_hat)`" in heading("ps1_closed_form", "## Part B")
    assert "location and scale of 1-D data" in heading("ps5_location_scale", "## Task 2")
