"""Stated results of chapter 11 (uncertainty), read from the built book.

Each test reads the built page (``pages.Page``): what its cells printed, what
its prose states and the LaTeX of its numbered equations, and checks them
against an independent computation: scipy (numerical integration, finite
differences of ``scipy.stats`` log-densities, exact small-sample laws), numpy
or sympy.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, stats

import mle_helpers as mh
from numeric import hessian_fd
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

# The chapter's one-dimensional example: n = 200 draws from N(1, 4), seed 20.
MU_0, SIGMA2_0, N = 1.0, 4.0, 200


@pytest.fixture(scope="module")
def uncertainty(built_book):
    return Page(built_book, "uncertainty")



def sample() -> np.ndarray:
    return mh.data.sample_gaussian(N, MU_0, SIGMA2_0, seed=20).numpy()


def nll(x: np.ndarray, mu: float, v: float) -> float:
    """The Gaussian negative log-likelihood in (mu, variance), from scipy's log-density."""
    return -stats.norm.logpdf(x, loc=mu, scale=math.sqrt(v)).sum()



# ---------------------------------------------------------------- score and Fisher information


@pytest.mark.parametrize("mu, v", [(1.0, 4.0), (-2.0, 0.5)])
def test_score_has_mean_zero_and_variance_the_fisher_information(uncertainty, mu, v):
    """E[s] = 0 and Var(s) = -E[second derivative] = I, by numerical integration for one Gaussian."""
    assert uncertainty.equation("eq:unc-score-mean").endswith(r"=\int\partial_\thetap(x\mid\theta)\,dx=\ints\,p(x\mid\theta)\,dx=\mathbb{E}_\theta[s].")
    assert r"\operatorname{Var}_\theta(s)=\mathbb{E}_\theta[s^2]=-\mathbb{E}_\theta\big[\partial^2_\theta\logp(x\mid\theta)\big]=I(\theta)" \
        in uncertainty.equation("eq:unc-score-variance")
    fisher = uncertainty.equation("eq:unc-fisher")
    assert r"\dfrac{1}{\sigma^2}&0\\[1ex]0&\dfrac{1}{2\sigma^4}" in fisher

    def logp(x, theta):
        return stats.norm.logpdf(x, loc=theta[0], scale=math.sqrt(theta[1]))

    h = np.array([1e-4, 1e-4])

    def score(x):  # central differences of scipy's log-density, not the page's formulas
        return np.array([(logp(x, np.array([mu, v]) + h * e) - logp(x, np.array([mu, v]) - h * e)) / (2 * h @ e)
                         for e in np.eye(2)])

    def expect(g):
        return integrate.quad(lambda x: g(x) * stats.norm.pdf(x, mu, math.sqrt(v)), -np.inf, np.inf, epsabs=1e-11)[0]

    page_fisher = np.array([[1 / v, 0.0], [0.0, 1 / (2 * v**2)]])  # eq:unc-fisher at (mu, v)
    for i in range(2):
        assert expect(lambda x: score(x)[i]) == pytest.approx(0.0, abs=1e-6)
        for j in range(2):
            variance = expect(lambda x: score(x)[i] * score(x)[j])
            curvature = -expect(lambda x: hessian_fd(lambda t: logp(x, t), [mu, v], [1e-3, 1e-3])[i, j])
            assert variance == pytest.approx(page_fisher[i, j], rel=1e-5, abs=1e-7)
            assert curvature == pytest.approx(page_fisher[i, j], rel=1e-4, abs=1e-6)


def test_a_support_that_moves_breaks_the_mean_zero_identity(uncertainty):
    """For the uniform on [0, theta] the score -1/theta has mean -1/theta, as the page says."""
    assert r"\mathbb{E}_\theta[s] = -1/\theta \neq 0" in uncertainty.text
    theta = 2.5
    logp = lambda t: -math.log(t)  # log p(x | t) on the support, for every x in [0, t]  # noqa: E731
    score = (logp(theta + 1e-6) - logp(theta - 1e-6)) / 2e-6
    mean_score = integrate.quad(lambda x: score * stats.uniform.pdf(x, 0, theta), 0, theta)[0]
    assert mean_score == pytest.approx(-1 / theta, rel=1e-6)
    assert abs(mean_score) > 0.1


# ---------------------------------------------------------------- the theorem and its proof


def test_the_theorem_lists_its_conditions_and_the_proof_its_steps(uncertainty):
    text = uncertainty.text
    for condition in ("i.i.d.", "identifiability", "interior point", "support", "three times continuously differentiable",
                      "dominated", "finite and positive", "nonsingular", "consistent"):
        assert condition in text, condition
    assert uncertainty.equation("eq:unc-mean-value") == \
        r"0=\ell'(\hat\theta)=\ell'(\theta_0)+\ell''(\tilde\theta)\,(\hat\theta-\theta_0),"
    for step in ("central limit theorem", "law of large numbers", "Slutsky"):
        assert step in text, step
    assert r"\mathcal{N}\big(0,\;I(\theta_0)^{-1}\big)" in uncertainty.equation("eq:unc-asymptotic")


def test_the_mle_has_the_asymptotic_covariance_of_the_theorem():
    """sqrt(n) (theta_hat - theta_0) has covariance close to I^{-1} = diag(sigma^2, 2 sigma^4) (numpy simulation)."""
    rng = np.random.default_rng(2024)
    repeats, n = 4000, 1000
    x = rng.normal(MU_0, math.sqrt(SIGMA2_0), size=(repeats, n))
    scaled = math.sqrt(n) * np.stack([x.mean(axis=1) - MU_0, x.var(axis=1) - SIGMA2_0], axis=1)
    covariance = np.cov(scaled, rowvar=False)
    assert np.diag(covariance) == pytest.approx([SIGMA2_0, 2 * SIGMA2_0**2], rel=0.08)
    assert covariance[0, 1] / math.sqrt(covariance[0, 0] * covariance[1, 1]) == pytest.approx(0.0, abs=0.06)


# ---------------------------------------------------------------- observed and expected information


def test_observed_and_expected_information_for_sigma2(uncertainty):
    """J for sigma^2 by finite differences of scipy's log-density against n / (2 sigma^4): equal at the MLE, not at theta_0."""
    x = sample()
    mu_hat, v_hat = x.mean(), x.var()
    f = lambda t: nll(x, t[0], t[1])  # noqa: E731
    J_hat = hessian_fd(f, [mu_hat, v_hat], [1e-3, 1e-3])
    J_true = hessian_fd(f, [MU_0, SIGMA2_0], [1e-3, 1e-3])
    glued = uncertainty.glued()
    assert glued["unc_J_s2_hat"] == pytest.approx(J_hat[1, 1], rel=1e-5)
    assert glued["unc_nI_s2_hat"] == pytest.approx(N / (2 * v_hat**2), rel=1e-10)
    assert glued["unc_J_s2_true"] == pytest.approx(J_true[1, 1], rel=1e-5)
    assert glued["unc_nI_s2_true"] == pytest.approx(N / (2 * SIGMA2_0**2), rel=1e-12)
    assert glued["unc_J_mixed_true"] == pytest.approx(J_true[0, 1], rel=1e-5)
    # eq:unc-observed-gaussian in closed form at theta_0, and the mu entry n / sigma^2 at both points.
    assert J_true[1, 1] == pytest.approx(-N / (2 * SIGMA2_0**2) + ((x - MU_0) ** 2).sum() / SIGMA2_0**3, rel=1e-5)
    assert J_true[0, 1] == pytest.approx((x - MU_0).sum() / SIGMA2_0**2, rel=1e-5)
    assert (J_true[0, 0], J_hat[0, 0]) == pytest.approx((N / SIGMA2_0, N / v_hat), rel=1e-5)
    # The page's claims: they agree at the MLE and not at theta_0 (by more than finite-difference error).
    assert J_hat[1, 1] == pytest.approx(N / (2 * v_hat**2), rel=1e-5) and J_hat[0, 1] == pytest.approx(0.0, abs=1e-4)
    assert abs(J_true[1, 1] - N / (2 * SIGMA2_0**2)) > 0.05 and abs(J_true[0, 1]) > 0.05
    stated = uncertainty.stated("entry of J(\\hat\\theta) is {} and n/(2\\hat\\sigma^4) = {}. At the true \\theta_0 they "
                                "do not: the \\sigma^2 entry of J(\\theta_0) is {} against n/(2\\sigma_0^4) = {}, and the "
                                "off-diagonal entry is {} instead of 0.")
    assert stated == pytest.approx([J_hat[1, 1], N / (2 * v_hat**2), J_true[1, 1], N / (2 * SIGMA2_0**2), J_true[0, 1]],
                                   abs=6e-5)
    block = uncertainty.printed.split("observed information J(theta_0) (autograd):")[1].split("n I(theta_0)")[0]
    assert [float(v) for v in re.findall(NUMBER, block)] == pytest.approx(J_true.flatten().tolist(), abs=2e-4)
    assert uncertainty.numbers_after("n I(theta_0) by the Fisher formula:") == [N / SIGMA2_0, N / (2 * SIGMA2_0**2)]


def test_exponential_family_makes_observed_equal_expected_at_the_mle(uncertainty):
    """The chain-rule argument for the Gaussian in (mu, v), symbolically (sympy)."""
    assert r"\sum_k\frac{\partial\ell}{\partial\psi_k}\,\nabla^2_\theta\,\psi_k" in re.sub(r"\s+", "", uncertainty.html)
    mu, n = sp.symbols("mu n", real=True)
    v, S1, S2 = sp.symbols("v S1 S2", positive=True)  # S1 = sum x_i, S2 = sum x_i^2
    p1, p2 = sp.symbols("psi1 psi2", real=True)
    A = -p1**2 / (4 * p2) - sp.log(-2 * p2) / 2
    psi = sp.Matrix([mu / v, -1 / (2 * v)])  # the page's canonical parameter
    at_psi = {p1: psi[0], p2: psi[1]}
    # The exponential-family form is the Gaussian log-likelihood.
    ell_family = (p1 * S1 + p2 * S2 - n * A).subs(at_psi) - n * sp.log(2 * sp.pi) / 2
    ell_gauss = -n * sp.log(2 * sp.pi * v) / 2 - (S2 - 2 * mu * S1 + n * mu**2) / (2 * v)
    assert sp.simplify(sp.expand_log(ell_family - ell_gauss, force=True)) == 0
    theta = [mu, v]
    D = psi.jacobian(theta)
    hess_A = sp.hessian(A, (p1, p2)).subs(at_psi)
    grad_psi = sp.Matrix([sp.diff(p1 * S1 + p2 * S2 - n * A, p) for p in (p1, p2)]).subs(at_psi)
    chain = D.T * (-n * hess_A) * D + sum((grad_psi[k] * sp.hessian(psi[k], theta) for k in range(2)), sp.zeros(2, 2))
    assert sp.simplify(sp.hessian(ell_gauss, theta) - chain) == sp.zeros(2, 2)
    # I(theta) = D^T I(psi) D is eq:unc-fisher, and at the MLE (S1 = n mu, S2 = n (v + mu^2)) the Hessian is -n I.
    fisher = sp.Matrix([[1 / v, 0], [0, 1 / (2 * v**2)]])
    assert sp.simplify(D.T * hess_A * D - fisher) == sp.zeros(2, 2)
    at_mle = {S1: n * mu, S2: n * (v + mu**2)}
    assert sp.simplify(sp.hessian(ell_gauss, theta).subs(at_mle) + n * fisher) == sp.zeros(2, 2)


def test_cauchy_information_is_one_half_and_its_observed_information_differs(uncertainty):
    assert r"J(\hat\theta) = \sum_i \frac{2(1 - u_i^2)}{(1 + u_i^2)^2}" in uncertainty.text
    assert r"I(\theta) = \frac12 for every" in uncertainty.text
    theta = 0.3

    def second_derivative(x, t, h=1e-4):  # of scipy's Cauchy log-density in the location
        return (stats.cauchy.logpdf(x, t + h) - 2 * stats.cauchy.logpdf(x, t) + stats.cauchy.logpdf(x, t - h)) / h**2

    for u in (-3.0, -0.5, 0.0, 0.9, 2.0):
        assert -second_derivative(theta + u, theta) == pytest.approx(2 * (1 - u**2) / (1 + u**2) ** 2, abs=1e-5)
    curvature = -integrate.quad(lambda x: second_derivative(x, theta) * stats.cauchy.pdf(x, theta), -np.inf, np.inf)[0]
    score = lambda x: 2 * (x - theta) / (1 + (x - theta) ** 2)  # noqa: E731
    variance = integrate.quad(lambda x: score(x) ** 2 * stats.cauchy.pdf(x, theta), -np.inf, np.inf)[0]
    assert curvature == pytest.approx(0.5, abs=1e-5) and variance == pytest.approx(0.5, rel=1e-8)
    # At the MLE of a sample, J differs from n I = n / 2.
    x = stats.cauchy.rvs(loc=theta, size=200, random_state=np.random.default_rng(3))
    theta_hat = optimize.minimize_scalar(lambda t: -stats.cauchy.logpdf(x, t).sum(),
                                         bracket=(np.median(x) - 1, np.median(x), np.median(x) + 1)).x
    u = x - theta_hat
    J = (2 * (1 - u**2) / (1 + u**2) ** 2).sum()
    assert abs(J - len(x) / 2) > 0.05 * len(x) / 2
    assert (u**2 > 1).any() and (2 * (1 - u**2) / (1 + u**2) ** 2)[u**2 > 1].max() < 0


# ---------------------------------------------------------------- standard errors, the 2-D problem, coverage


def test_standard_errors_and_intervals(uncertainty):
    z = stats.norm.ppf(0.975)
    [stated_z] = uncertainty.stated("Here z = {}.")
    assert stated_z == pytest.approx(z, abs=1e-4)
    x = sample()
    mu_hat, sigma2_hat = x.mean(), x.var()
    expected = {"mu:": (mu_hat, math.sqrt(sigma2_hat / N)), "sigma2:": (sigma2_hat, sigma2_hat * math.sqrt(2 / N))}
    for label, (estimate, se) in expected.items():
        stated_estimate, stated_se, _, low, high, _ = uncertainty.numbers_after(label)  # _: "95%", truth
        assert stated_estimate == pytest.approx(estimate, abs=1e-4)
        assert stated_se == pytest.approx(se, abs=1e-4)
        assert (low, high) == pytest.approx((estimate - z * se, estimate + z * se), abs=2e-4)
    block = uncertainty.printed.split("observed information J(theta_hat) (autograd):")[1].split("n I(theta_hat)")[0]
    observed = [float(number) for number in re.findall(NUMBER, block)]
    fisher = [N / sigma2_hat, N / (2 * sigma2_hat**2)]
    assert observed == pytest.approx([fisher[0], 0.0, 0.0, fisher[1]], abs=1e-4)
    assert uncertainty.stated("The autograd standard error of \\hat\\mu, {}, is the formula") == \
        pytest.approx([math.sqrt(sigma2_hat / N)], abs=1e-4)


def test_the_two_d_example_is_the_course_data_set(uncertainty):
    """The 2-D example uses the course's problem (seed 7), and its Hessian is n Sigma^{-1}."""
    rng_free = mh.data.sample_gaussian(10_000, [1.0, 1.0], 5.0 * np.eye(2), seed=7).numpy()
    assert uncertainty.numbers_after("mu_hat:") == pytest.approx(rng_free.mean(axis=0).tolist(), abs=1e-4)
    block = uncertainty.printed.split("Hessian of -L at mu_hat:")[1].split("standard errors")[0]
    assert [float(v) for v in re.findall(NUMBER, block)] == pytest.approx([10_000 / 5, 0, 0, 10_000 / 5], abs=1e-6)
    assert uncertainty.numbers_after("standard errors of mu_hat:") == pytest.approx([math.sqrt(5 / 10_000)] * 2, abs=1e-5)
    assert "two_d_problem()" in uncertainty.text and "seed=0" not in uncertainty.text.replace(" ", "")


def test_coverage_matches_the_exact_small_sample_probabilities(uncertainty):
    """The simulated coverage agrees with the exact coverage from the t and chi-square laws."""
    z = stats.norm.ppf(0.975)
    rows = re.findall(r"^\s*(\d+)\s+(0\.\d+)\s+(0\.\d+)\s*$", uncertainty.printed, flags=re.M)
    assert [int(n) for n, _, _ in rows] == [10, 20, 50, 100, 200]
    tolerance = 4 * math.sqrt(0.95 * 0.05 / 4000)
    coverage = {}
    for n, cover_mu, cover_sigma2 in rows:
        n = int(n)
        coverage[n] = (float(cover_mu), float(cover_sigma2))
        # mu: (mu_hat - mu) / (sigma_hat / sqrt n) = T sqrt(n / (n - 1)) with T ~ t(n - 1).
        exact_mu = 2 * stats.t.cdf(z * math.sqrt((n - 1) / n), df=n - 1) - 1
        # sigma2: Q = n sigma2_hat / sigma2 ~ chi2(n - 1), covered iff n / (1 + c) <= Q <= n / (1 - c).
        c = z * math.sqrt(2 / n)
        upper = stats.chi2.cdf(n / (1 - c), df=n - 1) if c < 1 else 1.0
        exact_sigma2 = upper - stats.chi2.cdf(n / (1 + c), df=n - 1)
        assert coverage[n][0] == pytest.approx(exact_mu, abs=tolerance)
        assert coverage[n][1] == pytest.approx(exact_sigma2, abs=tolerance)
    stated = uncertainty.stated("covers the truth in {} of the samples and the interval for \\sigma^2 in only {}; "
                                "at n = 200 the figures are {} and {}.")
    assert stated == pytest.approx([*coverage[10], *coverage[200]], abs=5e-4)


def test_coin_exercise_arithmetic(uncertainty):
    tosses = mh.data.COIN_TOSSES
    theta_hat = sum(tosses) / len(tosses)
    se = math.sqrt(theta_hat * (1 - theta_hat) / len(tosses))
    z = stats.norm.ppf(0.975)
    assert (theta_hat, se**2) == pytest.approx((3 / 7, 12 / 343), rel=1e-12)  # the exact arithmetic on the page
    stated_se, low, high = uncertainty.stated(
        "\\operatorname{se} = \\sqrt{12/343} \\approx {} and the interval \\hat\\theta \\pm z\\operatorname{se} is [{}, {}]")
    assert stated_se == pytest.approx(se, abs=5e-4)
    assert (low, high) == pytest.approx((theta_hat - z * se, theta_hat + z * se), abs=5e-4)


def test_the_pointer_goes_to_the_task_that_practises_the_estimators(uncertainty):
    links = re.findall(r'href="([^"]*ps1_closed_form[^"]*)"', uncertainty.html)
    assert links and all(link.endswith("exercises/ps1_closed_form/ps1_closed_form.html") for link in links), links
    assert "Part B of Problem set 1" in uncertainty.text
