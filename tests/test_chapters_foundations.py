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


@pytest.mark.parametrize("name, figures", [("likelihood", 3), ("why_log", 3), ("gaussian", 5)])
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
    # The prose says the grid maximiser and the mean differ by less than half the grid step.
    mu_grid = np.linspace(0.0, 6.0, 1201)
    exact_grid_max = mu_grid[np.argmax(stats.norm.logpdf(x[None, :], loc=mu_grid[:, None]).sum(axis=1))]
    assert grid_max == pytest.approx(exact_grid_max, abs=5e-4) and step == pytest.approx(mu_grid[1] - mu_grid[0])
    assert abs(exact_grid_max - x.mean()) < step / 2
    # The prose quotes the same two numbers the cell printed.
    assert f"The best grid point is {grid_max:.3f} and the average of the readings is {x.mean():.3f}" in page.text
    assert "they differ by less than half the grid step" in page.text


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


def _box_probabilities(x: np.ndarray, mu: np.ndarray, eps: float) -> np.ndarray:
    """P(x_i - eps/2 <= X_i <= x_i + eps/2) under N(mu, 1), per (mu, reading), from the side of the smaller tail."""
    low, high = x[None, :] - eps / 2 - mu[:, None], x[None, :] + eps / 2 - mu[:, None]
    left = special.ndtr(high) - special.ndtr(low)
    right = special.ndtr(-low) - special.ndtr(-high)  # the same probability, accurate in the upper tail
    return np.where(low > 0, right, left)


def test_likelihood_small_box_probabilities_approach_the_likelihood(built_book):
    """The box argument for multiplying densities, recomputed with scipy's normal CDF on the page's grid."""
    page = Page(built_book, "likelihood")
    x = _sample(LIKELIHOOD_READINGS)
    n = len(x)
    mu_grid = np.linspace(0.0, 6.0, 1201)
    L = stats.norm.pdf(x[None, :], loc=mu_grid[:, None]).prod(axis=1)
    best = np.argmax(L)
    [_, L_peak] = page.stated("L at the grid maximiser {}: {}", "printed")
    assert L_peak == pytest.approx(L[best], rel=1e-6)
    rows = re.findall(r"^\s*" + r"\s+".join([NUMBER] * 5) + r"\s*$", page.printed, flags=re.MULTILINE)
    assert [float(row[0]) for row in rows] == [1.0, 0.1, 0.01, 0.001], "the box table is missing or changed"
    gaps = []
    for eps, box_at_best, ratio_at_best, gap, argmax in (map(float, row) for row in rows):
        P = _box_probabilities(x, mu_grid, eps).prod(axis=1)
        assert box_at_best == pytest.approx(P[best], rel=1e-5)
        assert ratio_at_best == pytest.approx(P[best] / eps**n, rel=1e-5)
        gaps.append(np.abs(P / eps**n - L).max() / L[best])
        assert gap == pytest.approx(gaps[-1], rel=0.05)
        # The boxes pick the likelihood's best candidate at every eps of the table (the theorem's claim, here).
        assert np.argmax(P) == best and argmax == pytest.approx(mu_grid[best], abs=5e-4)
    # P_eps / eps^n tends to L over the whole grid (eq:lik-box-limit): the gap shrinks at every step and ends tiny.
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:])) and gaps[-1] < 1e-6
    [factor] = page.stated("each tenfold smaller \\varepsilon cuts the largest gap by a factor of about {}")
    assert factor == round(gaps[-2] / gaps[-1])
    # Step 1 on its own: one box's probability over its volume is the density at the reading (scipy's quad).
    for eps in (1e-2, 1e-4):
        one_box, _ = integrate.quad(lambda u: stats.norm.pdf(u, loc=3.0), x[0] - eps / 2, x[0] + eps / 2)
        assert one_box / eps == pytest.approx(stats.norm.pdf(x[0], loc=3.0), rel=eps)
    assert "Densities rank parameters as small boxes do" in page.text


def test_likelihood_counts_parameters_not_dimensions(built_book):
    """The grid cost is 1000 to the number of parameters, which for a d-dimensional Gaussian is not d."""
    text = Page(built_book, "likelihood").text
    assert "for $d$ parameters" not in text and "for d parameters" not in text
    assert "1000^{\\dim\\theta}" in text
    d = 2
    free_covariance_entries = len(np.triu_indices(d)[0])  # a symmetric matrix: the diagonal and one triangle
    assert free_covariance_entries == d * (d + 1) // 2
    count = d + free_covariance_entries
    assert f"\\dim\\theta = {d} + {free_covariance_entries} = {count}" in text
    assert f"1000^{count} = 10^{{{round(math.log10(1000**count))}}}" in text


def test_why_log_product_underflows_but_log_likelihood_does_not(built_book):
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    log_densities = stats.norm.logpdf(X)
    assert np.prod(stats.norm.pdf(X)) == 0.0  # the claim itself, independently
    assert page.stated("product of the 10000 densities: {}", "printed") == [0.0]
    assert page.stated("sum of the 10000 log-densities: {}", "printed") == pytest.approx([log_densities.sum()], abs=1e-3)
    log10_likelihood = log_densities.sum() / math.log(10)
    assert page.stated("log10 of the likelihood: {}", "printed") == pytest.approx([log10_likelihood], abs=0.05)
    assert page.stated("its base-10 logarithm is \\ell / \\ln 10 = {}") == pytest.approx([log10_likelihood], abs=0.05)
    # Neither type holds it: far below the smallest positive float64.
    assert log10_likelihood < math.log10(np.nextafter(0.0, 1.0))


def _first_reading(condition: np.ndarray) -> int:
    assert condition.any()
    return int(np.argmax(condition)) + 1


def test_why_log_float32_and_float64_limits_and_where_each_underflows(built_book):
    """The limits torch.finfo gives, and the reading from which each type's running product is subnormal or 0."""
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    exact_log = np.cumsum(stats.norm.logpdf(X))  # log of the exact running product, no underflow
    reached = {}
    for name, dtype in (("float32", np.float32), ("float64", np.float64)):
        smallest_normal = float(np.finfo(dtype).smallest_normal)
        smallest_subnormal = float(np.nextafter(dtype(0), dtype(1)))
        assert smallest_subnormal == smallest_normal * float(np.finfo(dtype).eps)
        assert dtype(smallest_subnormal / 2) == 0 and dtype(smallest_subnormal * 0.5000001) == smallest_subnormal
        printed = page.stated(f"{name}: smallest normal {{}}, smallest subnormal {{}} (10^{{}}), half of it rounds to {{}}",
                              "printed")
        assert printed[:2] == pytest.approx([smallest_normal, smallest_subnormal], rel=1e-4)
        assert printed[2:] == pytest.approx([math.log10(smallest_subnormal), 0.0], abs=0.05)
        # The running product, multiplied in this type (numpy, with scipy's densities rounded to it).
        running = np.cumprod(stats.norm.pdf(X).astype(dtype), dtype=dtype)
        subnormal_from, zero_from = _first_reading(running < smallest_normal), _first_reading(running == 0)
        stated = page.stated(f"{name} product is subnormal from reading {{}} and exactly 0 from reading {{}} on",
                             "printed")
        assert abs(stated[0] - subnormal_from) <= 1 and abs(stated[1] - zero_from) <= 1
        # ... and close to where the exact product crosses the limits (rounding only blurs the last subnormal steps).
        assert abs(stated[0] - _first_reading(exact_log < math.log(smallest_normal))) <= 1
        assert abs(stated[1] - _first_reading(exact_log <= math.log(smallest_subnormal) - math.log(2))) <= 2
        reached[name] = (int(stated[0]), int(stated[1]), -math.log10(smallest_subnormal))
    assert reached["float32"][1] < reached["float64"][1]
    assert page.stated("reaches about {} powers of ten below 1") == [round(reached["float64"][2])]
    assert page.stated("PyTorch’s default type, only about {}") == [round(reached["float32"][2])]
    # The prose states the printed readings and the two ratios.
    assert page.stated("In float64 the product is subnormal, losing precision, from reading {} on and exactly 0 "
                       "from reading {} on") == list(reached["float64"][:2])
    ratios = page.stated("In float32 the same happens already from readings {} and {} on: its range holds {} times "
                         "fewer powers of ten, and it gives up {} times sooner")
    assert ratios[:2] == list(reached["float32"][:2])
    assert ratios[2] == pytest.approx(reached["float64"][2] / reached["float32"][2], abs=0.05)
    assert ratios[3] == pytest.approx(reached["float64"][1] / reached["float32"][1], abs=0.05)
    # "roughly in proportion to its range": the two ratios agree to within 10%.
    assert ratios[3] == pytest.approx(ratios[2], rel=0.1)
    assert page.stated("from reading {} on in float64 and from reading {} on in float32") == \
        [reached["float64"][1], reached["float32"][1]]


def test_why_log_gradient_points_back_to_the_sample_mean(built_book):
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    assert page.stated("gradient of the likelihood at mu = 0.5: {}", "printed") == [0.0]
    # eq:log-dmu with sigma^2 = 1: sum_i x_i - n mu, negative because 0.5 is above the sample mean.
    expected = X.sum() - len(X) * 0.5
    assert page.stated("gradient of the log-likelihood at mu = 0.5: {}", "printed") == pytest.approx([expected], abs=0.01)
    [mean] = page.stated("sample mean of the readings: {}", "printed")
    assert mean == pytest.approx(X.mean(), abs=5e-5) and X.mean() < 0.5 and expected < 0
    assert "negative here because \\mu = 0.5 is above the sample mean" in page.text


def test_why_log_log_sum_exp_posterior(built_book):
    page = Page(built_book, "why_log")
    X = _sample(WHY_LOG_SAMPLE)
    log_lik = np.array([stats.norm.logpdf(X, loc=0.0).sum(), stats.norm.logpdf(X, loc=0.05).sum()])
    [direct] = page.stated("direct formula  P(A | data): {}", "printed")
    assert math.isnan(direct)
    expected = math.exp(log_lik[0] - special.logsumexp(log_lik))
    assert page.stated("log-sum-exp     P(A | data): {}", "printed") == pytest.approx([expected], abs=1e-8)
    assert page.stated("argmax of the likelihood: {}", "printed") == page.stated("argmax of the log-likelihood: {}", "printed")


def test_why_log_exercise_exponents(built_book):
    """The log-sum-exp exercise: e^-1000 is about 10^-434, below float64's smallest positive number, about 10^-323."""
    text = Page(built_book, "why_log").text
    assert np.exp(np.float64(-1000)) == 0.0 and special.logsumexp([-1000.0] * 4) == pytest.approx(-1000 + math.log(4))
    assert f"e^{{-1000}} = 10^{{-1000/\\ln 10}} \\approx 10^{{{round(-1000 / math.log(10))}}}" in text
    assert f"the smallest positive float64, about 10^{{{round(math.log10(np.nextafter(0.0, 1.0)))}}}" in text


def test_every_exercise_has_a_title(project_root):
    """sphinx-exercise shows a title next to "Exercise 2.1"; an untitled exercise is only a number in the margin."""
    untitled = []
    for source in sorted((project_root / "book").glob("*.md")):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            match = re.match(r"^(`{3,}|:{3,})\{exercise\}(.*)$", line)
            if match and not match.group(2).strip():
                untitled.append(f"{source.name}:{number}")
    assert not untitled, f"exercises without a title: {untitled}"


def test_notation_page_names_what_the_code_computes(built_book):
    """The notation page's two warnings: mh.L is the log-likelihood ell, and code's sigma is a covariance matrix."""
    text = Page(built_book, "notation").text
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 2))
    mu, sigma = np.array([0.3, -0.2]), np.array([[2.0, 0.5], [0.5, 1.0]])
    ell = stats.multivariate_normal(mu, sigma).logpdf(X).sum()
    assert mh.L(X, mu, sigma).item() == pytest.approx(ell, abs=1e-10)
    assert mh.L(X, mu, sigma).item() == pytest.approx(math.log(np.prod(stats.multivariate_normal(mu, sigma).pdf(X))))
    assert "mh.L is the log-likelihood" in text and "mh.L(X, mu, sigma) returns \\ell(\\mu, \\Sigma)" in text
    assert "sigma is a covariance matrix; \\sigma is a standard deviation" in text
    # torch's Normal takes the standard deviation: Normal(m, v**0.5) has variance v, as the page says.
    import torch
    assert torch.distributions.Normal(0.0, 2.0**0.5).variance.item() == pytest.approx(2.0)
    assert "Normal(m, v**0.5)" in text


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
