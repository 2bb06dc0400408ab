"""The theory that 'The univariate Gaussian' adds around its estimators: the mean squared error of
sigma2_hat against s^2, and the invariance of the MLE under a one-to-one reparametrisation.

Each test reads what the built page printed, glued and says (from ``_build/html/book/gaussian.html``)
and recomputes it independently: exact algebra with sympy and fractions, moments of the chi-squared
distribution from scipy, maximum likelihood by scipy's optimisers, simulations redone with numpy.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from scipy import optimize, stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

# The setups the page states: the data of the chapter, and the bias simulation (sigma^2 = 4, 20,000 samples
# of each size, seed 100 + n).
SAMPLE = dict(n=200, mu=2.0, cov=2.25, seed=11)
SIM_SIGMA2, REPEATS, SIZES = 4.0, 20_000, (2, 3, 5, 10, 20, 50)


@pytest.fixture(scope="module")
def page(built_book):
    return Page(built_book, "gaussian")


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return mh.data.sample_gaussian(SAMPLE["n"], SAMPLE["mu"], SAMPLE["cov"], seed=SAMPLE["seed"]).numpy()


def _mse_rows(page) -> list[tuple[int, ...]]:
    """The printed MSE table: n, then simulated MSE, standard error, formula for the MLE and for s^2."""
    rows = re.findall(r"^\s*(\d+)\s+" + r"\s+".join([NUMBER] * 6) + r"\s*$", page.printed, flags=re.M)
    assert [int(r[0]) for r in rows] == list(SIZES), "the MSE table is missing or changed"
    return [(int(r[0]), *map(float, r[1:])) for r in rows]


# ---------------------------------------------------------------------------------------------------------
# The mean squared error of sigma2_hat and of s^2
# ---------------------------------------------------------------------------------------------------------

def exact_mse(n: int, sigma2: Fraction) -> tuple[Fraction, Fraction]:
    """MSE of sigma2_hat and of s^2 from the chi-squared moments (scipy's), as exact fractions.

    (n-1) s^2 / sigma^2 ~ chi2(n-1): s^2 = sigma^2/(n-1) * Q and sigma2_hat = sigma^2/n * Q.
    """
    k = n - 1
    mean_q, var_q = (Fraction(round(float(m))) for m in stats.chi2(k).stats(moments="mv"))
    assert (mean_q, var_q) == (k, 2 * k)  # integers, so the rounding above is exact
    sigma4 = sigma2**2
    mse = []
    for c in (Fraction(1, n), Fraction(1, n - 1)):  # T = c sigma^2 Q
        bias = c * mean_q * sigma2 - sigma2
        mse.append(c**2 * var_q * sigma4 + bias**2)
    return tuple(mse)


def test_mse_formulas_hold_for_gaussian_data():
    """Eqs. gauss-mse-s2, gauss-mse-mle and gauss-mse-gap: from chi-squared moments, for every n, exactly."""
    n, s4 = sp.symbols("n sigma4", positive=True)
    mse_mle, mse_s2 = (2 * n - 1) * s4 / n**2, 2 * s4 / (n - 1)
    assert sp.simplify(mse_s2 - mse_mle - (3 * n - 1) * s4 / (n**2 * (n - 1))) == 0
    assert sp.simplify(2 * n**2 - (2 * n - 1) * (n - 1) - (3 * n - 1)) == 0
    for size in range(2, 60):
        mle, unbiased = exact_mse(size, Fraction(4))
        assert mle == Fraction(2 * size - 1, size**2) * 16
        assert unbiased == Fraction(2, size - 1) * 16
        assert mle < unbiased  # "for every n >= 2 the biased MLE is the more accurate"
        assert mle / unbiased == Fraction((2 * size - 1) * (size - 1), 2 * size**2)
    assert exact_mse(2, Fraction(1))[0] / exact_mse(2, Fraction(1))[1] == Fraction(3, 8)
    # Independently of the chi-squared fact: a numpy simulation with its own generator, n = 5, sigma^2 = 4.
    rng = np.random.default_rng(2024)
    samples = rng.normal(0.0, 2.0, size=(200_000, 5))
    for ddof, formula in ((0, 9 * 16 / 25), (1, 2 * 16 / 4)):
        squared = (samples.var(axis=1, ddof=ddof) - 4.0) ** 2
        assert abs(squared.mean() - formula) < 4 * squared.std() / math.sqrt(len(squared)), ddof


def test_mse_derivation_is_stated_on_the_page(page):
    text = page.text
    assert "\\operatorname{MSE}(T) = \\operatorname{Var}(T) + \\operatorname{bias}(T)^2" in text
    assert "\\operatorname{Var}(s^2) = \\frac{\\sigma^4}{(n-1)^2}\\, 2(n-1) = \\frac{2\\sigma^4}{n-1}" in text
    assert "= \\frac{(2n-1)\\,\\sigma^4}{n^2}" in text
    assert "= \\frac{(3n-1)\\,\\sigma^4}{n^2(n-1)} > 0" in text
    assert "\\frac{(2n-1)(n-1)}{2n^2} is \\frac{3}{8} at n = 2" in text
    assert "(2 \\cdot 2 - 1) \\cdot 16/2^2 = 12 and 2 \\cdot 16/1 = 32" in text


def test_simulated_mses_are_the_simulations_and_agree_with_the_formulas(page):
    """The table's MSEs are those of the page's own draws (recomputed with numpy), within 4 standard
    errors of the exact formulas; the MLE's is the smaller at every n, as the page says."""
    rows = _mse_rows(page)
    gaps = []
    for size, mse_mle, se_mle, theory_mle, mse_s2, se_s2, theory_s2 in rows:
        exact_mle, exact_s2 = exact_mse(size, Fraction(4))
        assert theory_mle == pytest.approx(float(exact_mle), abs=5e-5)
        assert theory_s2 == pytest.approx(float(exact_s2), abs=5e-5)
        draws = mh.data.sample_gaussian_batches(REPEATS, size, 0.0, SIM_SIGMA2, seed=100 + size).numpy()
        for ddof, printed, printed_se in ((0, mse_mle, se_mle), (1, mse_s2, se_s2)):
            squared = (draws.var(axis=1, ddof=ddof) - SIM_SIGMA2) ** 2
            assert printed == pytest.approx(squared.mean(), abs=5e-5), (size, ddof)
            assert printed_se == pytest.approx(squared.std(ddof=1) / math.sqrt(REPEATS), abs=5e-5), (size, ddof)
        assert abs(mse_mle - float(exact_mle)) < 4 * se_mle, size
        assert abs(mse_s2 - float(exact_s2)) < 4 * se_s2, size
        assert mse_mle < mse_s2, size
        gaps += [abs(mse_mle - float(exact_mle)) / se_mle, abs(mse_s2 - float(exact_s2)) / se_s2]
    glued = page.glued()
    assert glued["gauss_mse_max_gap"] == pytest.approx(max(gaps), abs=0.01)
    [largest] = page.stated("largest gap between a simulated MSE and its formula: {}", "printed")
    assert f"Every simulated MSE is within {largest:.1f} standard errors of its formula" in page.text
    assert "MLE has the smaller simulated MSE at every n: True" in page.printed
    size, mse_mle, se_mle, _, mse_s2, se_s2, _ = rows[0]
    for key, value in [("gauss_mse_mle_n2", mse_mle), ("gauss_mse_mle_n2_se", se_mle),
                       ("gauss_mse_s2_n2", mse_s2), ("gauss_mse_s2_n2_se", se_s2)]:
        assert glued[key] == pytest.approx(value, abs=5e-5), key
    assert (f"At n = 2 the simulation gives {mse_mle:.2f} (standard error {se_mle:.2f}) for \\hat\\sigma^2 and "
            f"{mse_s2:.2f} (standard error {se_s2:.2f}) for s^2") in page.text


def test_exercise_divisor_n_plus_1_minimises_the_mse():
    """The worked solution: MSE(c Q) is smallest at c = 1/(n+1), where it is 2 sigma^4/(n+1) < the MLE's."""
    n, c = sp.symbols("n c", positive=True)
    # E[Q] = (n-1) sigma^2 and Var(Q) = 2 (n-1) sigma^4, in units of sigma^4 (checked against scipy below).
    mse = c**2 * 2 * (n - 1) + (c * (n - 1) - 1) ** 2
    assert sp.factor(sp.diff(mse, c) - 2 * (n - 1) * (c * (n + 1) - 1)) == 0
    [best] = sp.solve(sp.diff(mse, c), c)
    assert sp.simplify(best - 1 / (n + 1)) == 0
    assert sp.simplify(mse.subs(c, best) - 2 / (n + 1)) == 0
    assert sp.simplify(mse.subs(c, 1 / n) - (2 * n - 1) / n**2) == 0
    assert sp.simplify((2 * n - 1) / n**2 - 2 / (n + 1) - (n - 1) / (n**2 * (n + 1))) == 0
    assert sp.diff(mse, c, 2).expand() == sp.expand(4 * (n - 1) + 2 * (n - 1) ** 2)  # opens upwards for n > 1
    for size in (2, 3, 10):
        k = size - 1
        assert stats.chi2(k).mean() == pytest.approx(k) and stats.chi2(k).var() == pytest.approx(2 * k)
        # A numeric minimisation of the same function agrees with 1/(n+1).
        found = optimize.minimize_scalar(lambda value: float(mse.subs({n: size, c: value})), bounds=(0.01, 2),
                                         method="bounded", options={"xatol": 1e-10})
        assert found.x == pytest.approx(1 / (size + 1), abs=1e-6)
    assert [mse.subs({n: 2, c: value}) for value in (sp.Rational(1, 3), sp.Rational(1, 2), 1)] == \
        [sp.Rational(2, 3), sp.Rational(3, 4), 2]  # "at n = 2 the three MSEs are ..."


# ---------------------------------------------------------------------------------------------------------
# The invariance of the MLE
# ---------------------------------------------------------------------------------------------------------

def _scipy_fit(x: np.ndarray, sigma_of, start) -> np.ndarray:
    """Maximise the Gaussian log-likelihood over (mu, psi) with scipy, Normal's scale being sigma_of(psi)."""
    def nll(params):
        scale = sigma_of(params[1])
        return np.inf if not scale > 0 else -stats.norm.logpdf(x, params[0], scale).sum()
    return optimize.minimize(nll, start, method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000}).x


def test_invariance_fits_land_on_g_of_the_closed_form(page, x):
    """In the sigma and log sigma^2 parametrisations the maximiser is sqrt and log of sigma2_hat, found
    here by scipy and on the page by L-BFGS; the page's table, glued values and prose agree."""
    sigma2_hat = x.var(ddof=0)
    closed = {"sigma2": sigma2_hat, "sigma": math.sqrt(sigma2_hat), "log sigma2": math.log(sigma2_hat)}
    sigma_of = {"sigma2": np.sqrt, "sigma": lambda psi: psi, "log sigma2": lambda psi: np.exp(psi / 2)}
    for name, start in (("sigma2", 1.0), ("sigma", 1.0), ("log sigma2", 0.0)):
        mu_fit, psi_fit = _scipy_fit(x, sigma_of[name], [0.0, start])
        assert psi_fit == pytest.approx(closed[name], abs=1e-6), name
        assert mu_fit == pytest.approx(x.mean(), abs=1e-6), name
    rows = re.findall(r"^\s*(sigma2|sigma|log sigma2)\s+" + r"\s+".join([NUMBER] * 3) + r"\s*$",
                      page.printed, flags=re.M)
    assert [r[0] for r in rows] == ["sigma2", "sigma", "log sigma2"], "the invariance table is missing or changed"
    for name, psi_fit, closed_form, mu_fit in ((r[0], *map(float, r[1:])) for r in rows):
        assert closed_form == pytest.approx(closed[name], abs=5e-9), name
        assert psi_fit == pytest.approx(closed[name], abs=1e-8), name
        assert mu_fit == pytest.approx(x.mean(), abs=5e-7), name
    glued = page.glued()
    assert glued["gauss_inv_sigma_closed"] == pytest.approx(math.sqrt(sigma2_hat), abs=1e-12)
    assert glued["gauss_inv_log_closed"] == pytest.approx(math.log(sigma2_hat), abs=1e-12)
    assert glued["gauss_inv_sigma_fit"] == pytest.approx(math.sqrt(sigma2_hat), abs=1e-8)
    assert glued["gauss_inv_log_fit"] == pytest.approx(math.log(sigma2_hat), abs=1e-8)
    assert 0 <= glued["gauss_inv_gap"] < 1e-8
    [gap] = page.stated("largest difference from the closed form (psi or mu): {}", "printed")
    assert gap == pytest.approx(glued["gauss_inv_gap"], rel=0.05)
    assert (f"Working in \\sigma, L-BFGS finds \\sigma = {glued['gauss_inv_sigma_fit']:.8f}, and "
            f"\\sqrt{{\\hat\\sigma^2}} = {math.sqrt(sigma2_hat):.8f}") in page.text
    assert f"\\log\\hat\\sigma^2 = {math.log(sigma2_hat):.8f}" in page.text
    assert f"is within {glued['gauss_inv_gap']:.0e} of the closed form" in page.text


def test_invariance_theorem_and_its_use_are_stated(page):
    text = page.text
    assert "Theorem 3.2 (Invariance of the MLE)" in text
    assert "\\tilde\\ell(\\psi) = \\ell\\bigl(g^{-1}(\\psi)\\bigr)" in text
    assert "\\hat\\sigma = \\sqrt{\\hat\\sigma^2} = \\sqrt{\\frac1n \\sum_{i=1}^n (x_i - \\bar x)^2}" in text
    assert "the MLE of \\log\\sigma^2 is \\log\\hat\\sigma^2" in text
    assert "Zehna [Zehna, 1966] showed that this maximiser is again h(\\hat\\theta)" in text, "Zehna's result is not stated"
    assert 'id="fig-gauss-invariance"' in page.html and 'id="fig-gauss-mse"' in page.html


def test_the_induced_likelihood_of_a_non_injective_function_peaks_at_the_plug_in(x):
    """Zehna's statement, which the page names without proof, on the page's data for h(mu, sigma^2) = mu^2:
    the induced likelihood sup{L : mu^2 = tau} is largest at tau = xbar^2."""
    n = len(x)

    def induced_loglik(tau):  # best over mu = +-sqrt(tau), with sigma^2 at its best value for that mu
        return max(-n / 2 * math.log(2 * math.pi * np.mean((x - mu) ** 2)) - n / 2
                   for mu in (math.sqrt(tau), -math.sqrt(tau)))

    found = optimize.minimize_scalar(lambda tau: -induced_loglik(tau), bounds=(0.0, 10.0), method="bounded",
                                     options={"xatol": 1e-10})
    assert found.x == pytest.approx(x.mean() ** 2, abs=1e-6)


def test_exercise_precision_and_tail_probability(x):
    """The worked solution: lambda_hat = 1/sigma2_hat (directly and by a numerical fit in lambda), and the MLE
    of p = Phi(mu/sigma) is Phi(xbar/sigma_hat) (by a numerical fit in (p, sigma))."""
    n_, lam, s = sp.symbols("n lambda S", positive=True)
    nll = n_ / 2 * sp.log(2 * sp.pi) - n_ / 2 * sp.log(lam) + lam / 2 * s
    assert sp.solve(sp.diff(nll, lam), lam) == [n_ / s]
    assert sp.simplify(sp.diff(nll, lam, 2) - n_ / (2 * lam**2)) == 0
    sigma2_hat = x.var(ddof=0)
    mu_fit, lam_fit = _scipy_fit(x, lambda lam_: lam_**-0.5 if lam_ > 0 else -1.0, [0.0, 1.0])
    assert lam_fit == pytest.approx(1 / sigma2_hat, abs=1e-6) and mu_fit == pytest.approx(x.mean(), abs=1e-6)

    def nll_p_sigma(params):
        p, sigma = params
        if not (0 < p < 1 and sigma > 0):
            return np.inf
        return -stats.norm.logpdf(x, sigma * stats.norm.ppf(p), sigma).sum()

    p_fit, sigma_fit = optimize.minimize(nll_p_sigma, [0.5, 1.0], method="Nelder-Mead",
                                         options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000}).x
    assert p_fit == pytest.approx(stats.norm.cdf(x.mean() / math.sqrt(sigma2_hat)), abs=1e-6)
    assert sigma_fit == pytest.approx(math.sqrt(sigma2_hat), abs=1e-6)


def test_new_exercises_have_titles_and_hidden_solutions(page):
    for title in ("The divisor with the smallest mean squared error", "The precision and a tail probability"):
        for kind in ("Exercise", "Solution to Exercise"):
            assert re.search(kind + r" \d+\.\d+ \(" + re.escape(title) + r"\)", page.text), (kind, title)
    # Every solution on the page is a dropdown: hidden until the reader opens it.
    solutions = re.findall(r'<div class="solution([^"]*)"', page.html)
    assert len(solutions) == 4 and all("dropdown" in classes for classes in solutions), solutions
