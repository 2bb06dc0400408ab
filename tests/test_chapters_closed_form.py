"""The closed-form chapters (4 multivariate Gaussian, 5 linear regression, 6 Bernoulli) state the right numbers.

Each test reads what the *built* book computed (the values a page glues into its
prose, stored next to the executed notebook) and checks it against an
independent computation: numpy / scipy on freshly regenerated data, or exact
arithmetic. A chapter that prints a wrong estimate, drifts from its data or
loses its figures' alt text fails here.
"""
from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy
from scipy import linalg, optimize, special, stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

PAGES = ("multivariate_gaussian", "linear_regression", "bernoulli")


@pytest.fixture(scope="module")
def glued(built_book):
    return {page: Page(built_book, page).glued() for page in PAGES}


# ---------------------------------------------------------------- chapter 6

# The page's setup (typed on it): the course's seven tosses, the Normal prior N(0.6, 0.05) with 0.05 the
# variance, the standard-deviation reading of it (variance 0.05^2) and, for the Bayesian part, Beta(5, 5).
COIN_HEADS, COIN_TAILS = 3, 4
PRIOR_MEAN, PRIOR_VAR = 0.6, 0.05
BETA_PRIOR = (5, 5)


def _normal_prior_map(m, v, h=COIN_HEADS, t=COIN_TAILS):
    """The MAP under N(m, v), by scipy's root finder on the slope of the log posterior (0 < h < n)."""
    return optimize.brentq(lambda th: h / th - t / (1 - th) - (th - m) / v, 1e-12, 1 - 1e-12, xtol=1e-15)


def test_bernoulli_setup_mle_exact_map_and_predictive(built_book, glued):
    page = Page(built_book, "bernoulli")
    assert (sum(mh.data.COIN_TOSSES), len(mh.data.COIN_TOSSES)) == (COIN_HEADS, COIN_HEADS + COIN_TAILS)
    assert "\\mathcal{N}(0.6, 0.05)" in page.text and "\\mathrm{Beta}(5, 5)" in page.text
    values = glued["bernoulli"]
    assert values["theta_mle"] == pytest.approx(3 / 7, abs=1e-15)
    assert values["sqrt_prior_var"] == pytest.approx(math.sqrt(PRIOR_VAR), abs=1e-15)
    # Variance 0.05: the cubic is exactly the product the page shows, and its only root in (0, 1) is 1/2.
    theta = sympy.Symbol("theta")
    m, v, half = sympy.Rational(3, 5), sympy.Rational(1, 20), sympy.Rational(1, 2)
    cubic = theta**3 - (1 + m) * theta**2 + (m - 7 * v) * theta + 3 * v
    factored = (theta - half) * (theta**2 - sympy.Rational(11, 10) * theta - sympy.Rational(3, 10))
    assert sympy.expand(cubic - factored) == 0
    quadratic = 10 * theta**2 - 11 * theta - 3
    assert sympy.expand(10 * (theta**2 - sympy.Rational(11, 10) * theta - sympy.Rational(3, 10))) == quadratic
    assert set(sympy.solve(quadratic, theta)) == {(11 + sympy.sqrt(241)) / 20, (11 - sympy.sqrt(241)) / 20}
    assert [r for r in sympy.Poly(cubic, theta).real_roots() if 0 < r < 1] == [half]
    assert _normal_prior_map(PRIOR_MEAN, PRIOR_VAR) == pytest.approx(0.5, abs=1e-12)
    assert "\\theta_{\\mathrm{MAP}} = 1/2" in page.text and "(1 - 1/2)^2 = 1/4" in page.text
    # The standard-deviation reading: 0.6 - 7v and 3v with v = 1/400, as the page writes them.
    assert sympy.Rational(3, 5) - 7 * sympy.Rational(1, 400) == sympy.Rational(233, 400)
    assert "\\tfrac{233}{400}" in page.text and "v = 1/400" in page.text
    # The Beta(5, 5) predictive.
    a, b = BETA_PRIOR
    assert values["p_next_head"] == pytest.approx(stats.beta(a + COIN_HEADS, b + COIN_TAILS).mean(), abs=1e-15)


def test_bernoulli_map_with_standard_deviation_reading_is_an_independent_root(glued):
    """Reading N(0.6, 0.05) as a standard deviation (variance 0.0025): checked with scipy's root finder."""
    root = _normal_prior_map(PRIOR_MEAN, PRIOR_VAR**2)
    values = glued["bernoulli"]
    assert values["theta_map_sd"] == pytest.approx(root, abs=1e-10)
    assert values["p_two_tails_sd"] == pytest.approx((1 - root) ** 2, abs=1e-10)
    assert 0.5 < root < PRIOR_MEAN  # the stronger prior pulls further towards 0.6, as the page says


def test_bernoulli_credible_interval_matches_beta_quantiles(glued):
    values = glued["bernoulli"]
    posterior = stats.beta(BETA_PRIOR[0] + COIN_HEADS, BETA_PRIOR[1] + COIN_TAILS)
    assert values["credible_low"] == pytest.approx(posterior.ppf(0.025), abs=1e-4)
    assert values["credible_high"] == pytest.approx(posterior.ppf(0.975), abs=1e-4)


def test_bernoulli_page_states_the_convention_and_tabulates_both_readings(built_book):
    page = Page(built_book, "bernoulli")
    assert re.search(r"names the\s+mean\s+.*?and\s+the\s+variance", page.text, re.S), "the variance convention is not stated"
    table = re.search(r"<table.*?</table>", page.html, re.S).group(0)
    rows = [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr.*?</tr>", table, re.S)]
    variance_row = next(r for r in rows if "variance 0.05" in r)
    sd_row = next(r for r in rows if "standard deviation 0.05" in r)
    # bisection, cubic root and grid search each show the root found by scipy
    assert variance_row.count(f"{_normal_prior_map(PRIOR_MEAN, PRIOR_VAR):.4f}") == 3, variance_row
    assert sd_row.count(f"{_normal_prior_map(PRIOR_MEAN, PRIOR_VAR**2):.4f}") == 3, sd_row


def _cubic_roots_in_open_unit_interval(h, n, m, v):
    """Exact count (sympy, rational coefficients) of the roots in (0, 1) of the MAP stationarity cubic."""
    theta = sympy.Symbol("theta")
    m, v = sympy.Rational(m), sympy.Rational(v)
    cubic = sympy.Poly(theta**3 - (1 + m) * theta**2 + (m - v * n) * theta + v * h, theta)
    return sum(1 for root in cubic.real_roots() if 0 < root < 1)


def _stated_root_count(h, n, m, v):
    """The page's claim: one root if 0 < h < n; at h = 0 one iff m/v > n; at h = n one iff (1 - m)/v > n."""
    if 0 < h < n:
        return 1
    return int((m if h == 0 else 1 - m) / v > n)


def test_bernoulli_map_cubic_has_one_root_inside_exactly_under_the_stated_conditions(built_book):
    """Every h in 0..n, boundaries included, for several n and priors (m/v = n too): exact roots and numpy.roots."""
    page = Page(built_book, "bernoulli")
    assert "if and only if m/v > n" in page.text and "if and only if (1 - m)/v > n" in page.text
    for n in range(1, 13):
        for m in ("1/2", "1/5", "4/5", "3/5"):
            for v in ("1/10", "1/100", "1/20", "1", "1/50", "1/400"):
                for h in range(n + 1):
                    exact = _cubic_roots_in_open_unit_interval(h, n, m, v)
                    stated = _stated_root_count(h, n, float(Fraction(m)), float(Fraction(v)))
                    assert exact == stated, (n, h, m, v, exact)
                    mf, vf = float(Fraction(m)), float(Fraction(v))
                    if abs(mf / vf - n) > 0.5 and abs((1 - mf) / vf - n) > 0.5:  # no double root at 0 or 1
                        roots = np.roots([1.0, -(1 + mf), mf - vf * n, vf * h])
                        inside = [r for r in roots if abs(r.imag) < 1e-12 and 1e-9 < r.real < 1 - 1e-9]
                        assert len(inside) == stated, (n, h, m, v, roots)
    # The page's own rows for its seven tosses: both readings of N(0.6, 0.05) and the weaker variance 0.1.
    for label, v in (("variance 0.05 (this course):", "1/20"), ("standard deviation 0.05:", "1/400"),
                     ("variance 0.1 (weaker):", "1/10")):
        printed = page.numbers_after(f"roots in (0, 1), {label}")
        assert printed == [_cubic_roots_in_open_unit_interval(h, 7, "3/5", v) for h in range(8)], (label, printed)
    # The ratios the page quotes for m = 0.6.
    assert "m/v = 0.6/0.05 = 12" in page.text and "(1 - m)/v = 0.4/0.05 = 8" in page.text
    assert "m/v = 6" in page.text and "(1 - m)/v = 4" in page.text
    assert Fraction(3, 5) / Fraction(1, 20) == 12 and Fraction(2, 5) / Fraction(1, 20) == 8
    assert Fraction(3, 5) / Fraction(1, 10) == 6 and Fraction(2, 5) / Fraction(1, 10) == 4


def test_bernoulli_all_tails_or_all_heads_puts_the_mle_and_a_weak_prior_map_on_the_end_point():
    """h = 0 or n: the likelihood and (if the prior is weak) the posterior peak at 0 or 1, with no stationary point inside."""
    n, m = 7, PRIOR_MEAN
    grid = np.linspace(0, 1, 100_001)
    for h, end in ((0, 0.0), (n, 1.0)):
        t = n - h
        loglik = special.xlogy(h, grid) + special.xlogy(t, 1 - grid)  # 0 log 0 = 0 at the end points
        assert grid[np.argmax(loglik)] == end == h / n
        slope = h / grid[1:-1] - t / (1 - grid[1:-1])
        assert np.all(slope < 0) or np.all(slope > 0)  # the derivative never vanishes in (0, 1)
        # the page: v = 0.1 is too weak (m/v = 6, (1 - m)/v = 4 < 7); v = 0.05 and v = 0.0025 keep the MAP inside
        for v, inside in ((0.1, False), (PRIOR_VAR, True), (PRIOR_VAR**2, True)):
            log_posterior = loglik - (grid - m) ** 2 / (2 * v)
            peak = grid[np.argmax(log_posterior)]
            assert (0 < peak < 1) == inside, (h, v, peak)
            if not inside:
                assert peak == end


# ---------------------------------------------------------------- chapter 4

# The setup the page states (the cell that draws the data), regenerated here.
MVN_SAMPLE = dict(n=500, mu=[1.0, -0.5], cov=[[1.0, 0.6], [0.6, 2.0]], seed=4)
MVN_BIAS_SIMULATION = dict(n=5, repeats=40_000, seed=7)


def _mvn_sample() -> np.ndarray:
    setup = MVN_SAMPLE
    return mh.data.sample_gaussian(setup["n"], setup["mu"], setup["cov"], seed=setup["seed"]).numpy()


def _printed_matrix(page: Page, after: str, before: str) -> np.ndarray:
    """The numbers printed between two labels (a matrix printed by numpy), as a flat array."""
    block = page.printed[page.printed.index(after) + len(after):]
    block = block[:block.index(before)]
    return np.array([float(x) for x in re.findall(NUMBER, block)])


def test_multivariate_estimates_match_numpy_on_the_same_data(built_book, glued):
    page = Page(built_book, "multivariate_gaussian")
    X = _mvn_sample()
    mu_hat, sigma_hat = X.mean(axis=0), np.cov(X, rowvar=False, bias=True)
    np.testing.assert_allclose(page.numbers_after("mu_hat =")[:2], mu_hat, atol=5e-4)
    np.testing.assert_allclose(_printed_matrix(page, "sigma_hat =", "true sigma"), sigma_hat.ravel(), atol=5e-4)
    # The theorem's condition on this sample: S is positive definite, with the smallest eigenvalue the page states.
    smallest = np.linalg.eigvalsh(len(X) * sigma_hat).min()
    assert smallest > 0
    assert glued["multivariate_gaussian"]["mvn_scatter_min_eigenvalue"] == pytest.approx(smallest, rel=1e-10)
    assert f"The smallest eigenvalue of S is {smallest:.2f} > 0" in page.text


def test_multivariate_errors_shrink_like_one_over_root_n(glued):
    values = glued["multivariate_gaussian"]
    assert -0.6 < values["slope_mean"] < -0.4
    assert -0.6 < values["slope_cov"] < -0.4


def test_multivariate_bias_simulation_agrees_with_n_minus_one_over_n_within_its_monte_carlo_error(built_book, glued):
    """E[Sigma_hat] = (n-1)/n Sigma: the page's average of 40 000 estimates (n = 5) is within 4 Monte-Carlo
    standard errors of it, and many standard errors from Sigma. The errors come from theory: S is
    Wishart(Sigma, n - 1), so Var(S_jk) = (n - 1)(Sigma_jk^2 + Sigma_jj Sigma_kk)."""
    page = Page(built_book, "multivariate_gaussian")
    n, repeats, seed = MVN_BIAS_SIMULATION["n"], MVN_BIAS_SIMULATION["repeats"], MVN_BIAS_SIMULATION["seed"]
    sigma = np.array(MVN_SAMPLE["cov"])
    draws = mh.data.sample_gaussian(repeats * n, MVN_SAMPLE["mu"], sigma, seed=seed).numpy().reshape(repeats, n, 2)
    centred = draws - draws.mean(axis=1, keepdims=True)
    average = np.einsum("rni,rnj->ij", centred, centred) / n / repeats
    printed = _printed_matrix(page, f"average of {repeats} estimates with n = {n}:", "(n - 1)/n")
    np.testing.assert_allclose(printed, average.ravel(), atol=5e-4)  # the page simulated what it says

    standard_error = np.sqrt((n - 1) * (sigma**2 + np.outer(np.diag(sigma), np.diag(sigma)))) / n / math.sqrt(repeats)
    np.testing.assert_allclose(_printed_matrix(page, "standard errors of the average:", "largest gap"),
                               standard_error.ravel(), rtol=0.05)
    assert np.abs(average - (n - 1) / n * sigma).max() < 4 * standard_error.min()
    assert (np.abs(average - sigma) / standard_error).min() > 20  # and visibly not the unbiased value
    values = glued["multivariate_gaussian"]
    assert values["mvn_small_n_gap_to_theory"] < 4
    assert values["mvn_small_n_gap_to_sigma"] == pytest.approx((np.abs(average - sigma) / standard_error).min(), rel=0.05)
    assert f"Every entry of the average is within {values['mvn_small_n_gap_to_theory']:.1f} standard errors" in page.text


def test_multivariate_scatter_split_and_expectation_are_exact():
    """The two steps of E[S] = (n-1) Sigma, in exact arithmetic: the split of the scatter matrix, and the
    expectation of S when x_i = mu + L z_i with z_i independent standard normal (E z = 0, E z z^T = I)."""
    sympy = pytest.importorskip("sympy")
    n, d = 3, 2
    z = sympy.Matrix(n, d, lambda i, j: sympy.Symbol(f"z{i}{j}"))
    L = sympy.Matrix([[sympy.Symbol("a"), 0], [sympy.Symbol("b"), sympy.Symbol("c")]])
    mu = sympy.Matrix(d, 1, sympy.symbols("m0 m1"))
    xs = [mu + L * z[i, :].T for i in range(n)]
    xbar = sum(xs, sympy.zeros(d, 1)) / n
    S = sum(((x - xbar) * (x - xbar).T for x in xs), sympy.zeros(d, d))
    split = sum(((x - mu) * (x - mu).T for x in xs), sympy.zeros(d, d)) - n * (xbar - mu) * (xbar - mu).T
    assert (S - split).expand() == sympy.zeros(d, d)

    def expectation(entry):  # a quadratic polynomial in independent standard normals
        poly = sympy.Poly(sympy.expand(entry), *z)
        return sum((coeff for monom, coeff in poly.terms() if sorted(monom) == [0] * (n * d - 1) + [2]),
                   poly.coeff_monomial(1))

    expected_S = S.applyfunc(expectation)
    assert (expected_S - (n - 1) * L * L.T).expand() == sympy.zeros(d, d)


def test_multivariate_covariance_proof_identity_and_global_maximum(built_book, glued):
    """The proof's exact loss: l(mu, Sigma) - l(mu_hat, Sigma_hat)
    = -n/2 (xbar - mu)^T Sigma^-1 (xbar - mu) - n/2 sum_j (l_j - 1 - log l_j), with l_j the eigenvalues of
    Sigma^-1 Sigma_hat (scipy's generalised eigenproblem), log-likelihoods from scipy; so every other pair is below."""
    X = _mvn_sample()
    n = len(X)
    xbar, sigma_hat = X.mean(axis=0), np.cov(X, rowvar=False, bias=True)
    at_mle = stats.multivariate_normal(xbar, sigma_hat).logpdf(X).sum()
    rng = np.random.default_rng(2026)
    candidates = []
    for _ in range(100):  # far from the MLE ...
        B = rng.normal(size=(2, 2))
        candidates.append((xbar + rng.normal(size=2), B @ B.T + 0.05 * np.eye(2)))
    for scale in (1e-1, 1e-3):  # ... and very close to it
        E = scale * rng.normal(size=(2, 2))
        candidates += [(xbar, sigma_hat + (E + E.T) / 2), (xbar + scale * rng.normal(size=2), sigma_hat)]
    for mu, sigma in candidates:
        loglik = stats.multivariate_normal(mu, sigma).logpdf(X).sum()
        l = linalg.eigh(sigma_hat, sigma, eigvals_only=True)
        mean_term = -n / 2 * (xbar - mu) @ np.linalg.solve(sigma, xbar - mu)
        assert loglik - at_mle == pytest.approx(mean_term - n / 2 * np.sum(l - 1 - np.log(l)), abs=1e-7)
        assert loglik < at_mle
    # The page's own check of that identity, and what it says the truth loses on its sample.
    values = glued["multivariate_gaussian"]
    assert values["mvn_largest_gradient"] < 1e-9 and values["mvn_largest_mismatch"] < 1e-8
    assert values["mvn_smallest_loss"] > 0
    truth_loss = at_mle - stats.multivariate_normal(MVN_SAMPLE["mu"], MVN_SAMPLE["cov"]).logpdf(X).sum()
    assert values["mvn_truth_loss"] == pytest.approx(truth_loss, abs=1e-8)
    page = Page(built_book, "multivariate_gaussian")
    assert "the log-likelihood (4.1) has a unique global maximiser" in page.text


def test_multivariate_condition_is_that_the_centred_data_span(built_book):
    """S is positive definite exactly when the centred data span R^d: exact ranks and determinants, including
    points in a plane of R^3 that are not on one line (the case "not all on one line or plane" got wrong)."""
    sympy = pytest.importorskip("sympy")

    def scatter(points):
        P = sympy.Matrix(points)
        centred = P - sympy.ones(P.rows, 1) * (sympy.ones(1, P.rows) * P) / P.rows
        return centred.T * centred, centred.rank()

    cases = {  # points: (centred data span R^d?)
        ((0, 1), (1, 3), (2, 5), (5, 11)): False,  # on the line y = 2x + 1
        ((0, 0), (1, 0), (0, 1)): True,  # n = d + 1, in general position
        ((0, 0, 0), (1, 0, 1), (0, 1, 1), (2, 3, 5), (1, 1, 2)): False,  # on the plane z = x + y, not on a line
        ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)): True,
        ((0, 0, 0), (1, 2, 0), (3, 1, 4)): False,  # n = d: never enough
    }
    for points, spans in cases.items():
        S, rank = scatter(points)
        d = len(points[0])
        assert (rank == d) == spans
        positive_definite = all(S[:k, :k].det() > 0 for k in range(1, d + 1))  # Sylvester's criterion
        assert positive_definite == spans, points
    # The exercise: d = n = 2 gives S = (x1 - x2)(x1 - x2)^T / 2 of rank one, and l(xbar, Sigma_eps) grows
    # by n/2 log(10) for each tenfold shrink of the variance across the line.
    x1, x2 = sympy.Matrix([1, 2]), sympy.Matrix([4, 6])
    S, rank = scatter([list(x1), list(x2)])
    assert rank == 1 and S == (x1 - x2) * (x1 - x2).T / 2
    X = np.array([[1.0, 2.0], [4.0, 6.0]])
    v = (X[0] - X[1]) / np.linalg.norm(X[0] - X[1])
    u = np.array([-v[1], v[0]])
    loglik = [stats.multivariate_normal(X.mean(axis=0), np.outer(v, v) + eps * np.outer(u, u)).logpdf(X).sum()
              for eps in (1e-2, 1e-3, 1e-4)]
    np.testing.assert_allclose(np.diff(loglik), math.log(10), rtol=1e-9)
    text = Page(built_book, "multivariate_gaussian").text
    assert "whose centred versions x_i - \\bar x span \\mathbb{R}^d (which needs n \\ge d + 1)" in text
    assert "if and only if the centred observations" in text
    assert "not all lie on one line or plane" not in text


def test_multivariate_points_to_the_task_that_practises_it(built_book):
    """The pointer is a link to Problem set 5, whose Task 4 really fits a full covariance through a Cholesky factor."""
    page = Page(built_book, "multivariate_gaussian")
    assert 'href="../exercises/ps5_location_scale/ps5_location_scale.html"' in page.html
    assert "Task 4 of Problem set 5 practises that" in page.text
    assert "Assignment ps1_closed_form practises" not in page.text
    release = json.loads((built_book / "exercises" / "ps5_location_scale" / "ps5_location_scale.ipynb").read_text())
    task4 = next("".join(c["source"]) for c in release["cells"] if "".join(c["source"]).startswith("## Task 4"))
    assert "full covariance" in task4 and "cholesky_factor" in task4 and "MultivariateNormal" in task4


# ---------------------------------------------------------------- chapter 5


def _linreg_setup() -> dict:
    """The chapter's data set-up, read from its source (the same numbers its first cell runs with)."""
    source = (Path(__file__).resolve().parents[1] / "book" / "linear_regression.md").read_text()
    a, b, noise_std = (float(v) for v in re.search(
        r"^a_true, b_true, noise_std = (\S+), (\S+), (\S+)$", source, re.M).groups())
    n = int(re.search(r"^n = (\d+)$", source, re.M).group(1))
    seed = int(re.search(r"^data_seed = (\d+)$", source, re.M).group(1))
    return {"n": n, "a": a, "b": b, "noise_std": noise_std, "seed": seed}


def test_linear_regression_estimates_match_scipy_on_the_same_data(glued):
    values = glued["linear_regression"]
    setup = _linreg_setup()
    x, y = (t.numpy() for t in mh.data.sample_linear(setup["n"], setup["a"], setup["b"], setup["noise_std"],
                                                     seed=setup["seed"]))
    fit = stats.linregress(x, y)
    assert values["a_hat"] == pytest.approx(fit.slope, abs=1e-12)
    assert values["b_hat"] == pytest.approx(fit.intercept, abs=1e-12)
    residuals = y - (fit.slope * x + fit.intercept)
    assert values["var_hat"] == pytest.approx(np.mean(residuals**2), abs=1e-12)


def _page_data(values):
    setup = _linreg_setup()
    x, y = mh.data.sample_linear(setup["n"], setup["a"], setup["b"], setup["noise_std"], seed=setup["seed"])
    return setup, x.numpy(), y.numpy()


def test_linear_regression_small_sample_variance_is_biased_by_n_minus_two_over_n(glued):
    """The page's average of sigma2_hat is within 4 Monte Carlo standard errors of (n-2)/n sigma^2 and far from sigma^2.

    The standard error comes from theory, not from the page: n sigma2_hat / sigma^2 is chi-square with
    n - 2 degrees of freedom, so Var(sigma2_hat) = 2 (n - 2) sigma^4 / n^2.
    """
    values = glued["linear_regression"]
    noise_var = _linreg_setup()["noise_std"] ** 2
    n, repeats = values["linreg_small_n"], values["linreg_repeats"]
    average = values["linreg_small_n_average_var_hat"]
    standard_error = noise_var * math.sqrt(2 * (n - 2)) / n / math.sqrt(repeats)
    assert abs(average - (n - 2) / n * noise_var) < 4 * standard_error
    assert abs(average - noise_var) > 20 * standard_error  # and visibly not the unbiased value
    assert values["linreg_small_n_expected_var_hat"] == pytest.approx((n - 2) / n * noise_var, abs=1e-15)
    assert values["linreg_small_n_se_var_hat"] == pytest.approx(standard_error, rel=0.05)
    assert values["linreg_small_n_z_var_hat"] == pytest.approx(
        (average - (n - 2) / n * noise_var) / values["linreg_small_n_se_var_hat"], rel=1e-9)
    assert values["linreg_small_n_average_unbiased"] == pytest.approx(average * n / (n - 2), rel=1e-12)


def test_linear_regression_trace_of_i_minus_h_is_n_minus_two_for_the_pages_design(glued):
    """numpy's hat matrix of the page's design [x, 1]: I - H symmetric, idempotent, kills Z, trace n - 2 as glued."""
    values = glued["linear_regression"]
    setup, x, y = _page_data(values)
    n = setup["n"]
    Z = np.column_stack([x, np.ones(n)])
    residual_maker = np.eye(n) - Z @ np.linalg.inv(Z.T @ Z) @ Z.T
    np.testing.assert_allclose(residual_maker, residual_maker.T, atol=1e-12)
    np.testing.assert_allclose(residual_maker @ residual_maker, residual_maker, atol=1e-12)
    np.testing.assert_allclose(residual_maker @ Z, 0, atol=1e-12)
    assert np.trace(residual_maker) == pytest.approx(n - 2, abs=1e-9)
    assert values["residual_maker_trace"] == pytest.approx(np.trace(residual_maker), abs=1e-9)


def test_linear_regression_expected_rss_is_n_minus_two_sigma2_on_the_pages_design(glued):
    """E[RSS] = (n - 2) sigma^2 for the page's fixed inputs: 20,000 noise draws, each line fitted by np.polyfit."""
    values = glued["linear_regression"]
    setup, x, _ = _page_data(values)
    n, noise_var, repeats = setup["n"], setup["noise_std"] ** 2, 20_000
    rng = np.random.default_rng(2024)
    Y = setup["a"] * x[:, None] + setup["b"] + setup["noise_std"] * rng.standard_normal((n, repeats))
    slope, intercept = np.polyfit(x, Y, 1)  # one fit per column
    rss = ((Y - slope * x[:, None] - intercept) ** 2).sum(axis=0)
    standard_error = rss.std(ddof=1) / math.sqrt(repeats)
    assert abs(rss.mean() - (n - 2) * noise_var) < 4 * standard_error
    assert abs(rss.mean() - n * noise_var) > 10 * standard_error  # the test tells n - 2 from n


def test_linear_regression_variance_curvature_matches_a_finite_difference_of_scipy(glued):
    """The glued second derivative in sigma^2 is a central difference of scipy's log-likelihood, and -n / (2 sigma2_hat^2)."""
    values = glued["linear_regression"]
    setup, x, y = _page_data(values)
    a_hat, b_hat, var_hat = values["a_hat"], values["b_hat"], values["var_hat"]

    def loglik(variance):
        return stats.norm.logpdf(y, a_hat * x + b_hat, math.sqrt(variance)).sum()

    step = 1e-4 * var_hat
    difference = (loglik(var_hat + step) - 2 * loglik(var_hat) + loglik(var_hat - step)) / step**2
    assert values["var_curvature"] == pytest.approx(difference, rel=1e-4)
    assert values["var_curvature_formula"] == pytest.approx(-setup["n"] / (2 * var_hat**2), rel=1e-12)
    assert values["var_curvature"] < 0


def test_linear_regression_estimates_are_the_global_maximum_found_by_scipy(glued):
    """scipy maximises the log-likelihood over (a, b, log sigma^2) from far-apart starts and over sigma^2 alone:
    every run ends at the page's (a_hat, b_hat, sigma2_hat)."""
    values = glued["linear_regression"]
    _, x, y = _page_data(values)
    estimate = np.array([values["a_hat"], values["b_hat"], values["var_hat"]])

    def negative_loglik(params):
        a, b, log_variance = params
        return -stats.norm.logpdf(y, a * x + b, math.exp(log_variance / 2)).sum()

    for start in ([0.0, 0.0, 0.0], [-5.0, 5.0, 3.0], [5.0, -5.0, -3.0]):
        result = optimize.minimize(negative_loglik, start, method="BFGS", options={"gtol": 1e-10})
        found = np.array([result.x[0], result.x[1], math.exp(result.x[2])])
        np.testing.assert_allclose(found, estimate, atol=1e-5)
    profile = optimize.minimize_scalar(
        lambda variance: -stats.norm.logpdf(y, estimate[0] * x + estimate[1], math.sqrt(variance)).sum(),
        bounds=(1e-4, 100.0), method="bounded", options={"xatol": 1e-10})
    assert profile.x == pytest.approx(estimate[2], abs=1e-6)


def test_linear_regression_band_counts_and_probability_are_right(glued):
    values = glued["linear_regression"]
    _, x, y = _page_data(values)
    residuals = y - (values["a_hat"] * x + values["b_hat"])
    assert values["points_in_band"] == int(np.sum(np.abs(residuals) <= 2 * math.sqrt(values["var_hat"])))
    assert values["p_within_two_sd"] == pytest.approx(stats.norm.cdf(2) - stats.norm.cdf(-2), abs=1e-12)


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
    if name != "multivariate_gaussian":  # chapter 4 points to ps5: test_multivariate_points_to_the_task_that_practises_it
        assert "Assignment ps1_closed_form" in page.text, f"{name} does not point to its assignment"
