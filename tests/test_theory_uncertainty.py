"""The theory added to chapter 11 (uncertainty), read from the built book.

Wald, likelihood-ratio and score intervals; the profile likelihood of sigma^2;
the delta method; the coverage of three intervals for sigma^2; sandwich standard
errors under a misspecified model; and the four exercises that practise them.
Each test recomputes the page's numbers independently, with scipy (the chi-square,
normal, t, gamma and binomial laws, ``optimize.brentq``, log-densities
differentiated by finite differences) or numpy simulations of its own.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import optimize, special, stats

import mle_helpers as mh
from numeric import hessian_fd
from pages import Page
from test_chapters_uncertainty import MU_0, N, SIGMA2_0, sample

pytestmark = pytest.mark.slow

# The chapter's simulation: R = 4000 samples per n (its example, MU_0, SIGMA2_0, N, from the chapter's tests).
R, SAMPLE_SIZES = 4000, [10, 20, 50, 100, 200]
Z = stats.norm.ppf(0.975)
CHI2_95 = stats.chi2.ppf(0.95, df=1)
# The proportion of the three intervals: 2 successes in 20 trials.
HEADS, TRIALS = 2, 20


@pytest.fixture(scope="module")
def uncertainty(built_book):
    return Page(built_book, "uncertainty")




def printed_interval(page: Page, label: str) -> tuple[float, float]:
    """The two ends of the interval on the printed line that starts with ``label``."""
    low, high = page.numbers_after(label)
    return low, high


def table(page: Page, columns: int) -> dict[int, list[float]]:
    """The printed rows "n  c1 ... c_columns" of the simulation tables with that many coverage columns."""
    pattern = r"^\s*(\d+)" + r"\s+(0\.\d+)" * columns + r"\s*$"
    rows = {int(row[0]): [float(value) for value in row[1:]] for row in re.findall(pattern, page.printed, flags=re.M)}
    assert sorted(rows) == SAMPLE_SIZES, rows
    return rows


def monte_carlo_error(p: float, replications: int = R) -> float:
    return math.sqrt(p * (1 - p) / replications)


# ---------------------------------------------------------------- Wald, likelihood-ratio and score intervals


def binomial_loglik(theta: float) -> float:
    return stats.binom.logpmf(HEADS, TRIALS, theta)  # scipy's log-probability, the constant included


def score_statistic(theta: float, heads: int = HEADS, trials: int = TRIALS) -> float:
    """ell'(theta)^2 / (n I(theta)), with ell' by central differences of scipy's log-probability."""
    h = 1e-7 * min(theta, 1 - theta)
    slope = (stats.binom.logpmf(heads, trials, theta + h) - stats.binom.logpmf(heads, trials, theta - h)) / (2 * h)
    return slope**2 * theta * (1 - theta) / trials


def test_the_quantile_is_z_squared(uncertainty):
    assert CHI2_95 == pytest.approx(Z**2, rel=1e-10)
    [stated] = uncertainty.stated("\\chi^2_1(0.95) = z^2 = {};")
    assert stated == pytest.approx(CHI2_95, abs=5e-5)
    assert uncertainty.glued()["unc_chi2_95"] == pytest.approx(CHI2_95, rel=1e-12)


def test_the_three_intervals_are_defined_as_the_page_says(uncertainty):
    assert r"2\big(\ell(\hat\theta)-\ell(\theta)\big)\le\chi^2_1(0.95)" in uncertainty.equation("eq:unc-lr-interval")
    assert r"\frac{\ell'(\theta)^2}{nI(\theta)}\le\chi^2_1(0.95)" in uncertainty.equation("eq:unc-score-interval")
    assert r"(\hat\theta-\theta)^2\,J(\hat\theta)\le\chi^2_1(0.95)" in uncertainty.equation("eq:unc-wald-interval")
    assert "Wilks' theorem" in uncertainty.text.replace("\u2019", "'")


def test_three_intervals_for_a_proportion(uncertainty):
    """Wald in closed form, likelihood ratio and score by brentq on scipy's binomial log-probability."""
    theta_hat = HEADS / TRIALS
    se = math.sqrt(theta_hat * (1 - theta_hat) / TRIALS)
    wald = (theta_hat - Z * se, theta_hat + Z * se)

    def lr_excess(theta):
        return 2 * (binomial_loglik(theta_hat) - binomial_loglik(theta)) - CHI2_95

    def score_excess(theta):
        return score_statistic(theta) - CHI2_95

    lr = (optimize.brentq(lr_excess, 1e-9, theta_hat), optimize.brentq(lr_excess, theta_hat, 1 - 1e-9))
    score = (optimize.brentq(score_excess, 1e-6, theta_hat - 1e-6), optimize.brentq(score_excess, theta_hat + 1e-6, 1 - 1e-6))
    glued = uncertainty.glued()
    for key, label, expected in [("wald", "Wald", wald), ("lr", "likelihood ratio", lr), ("score", "score", score)]:
        assert (glued[f"unc_p_{key}_low"], glued[f"unc_p_{key}_high"]) == pytest.approx(expected, abs=1e-7)
        assert printed_interval(uncertainty, f"{label} interval:") == pytest.approx(expected, abs=6e-5)
    stated = uncertainty.stated("The Wald interval, [{}, {}], reaches below 0")
    stated += uncertainty.stated("The likelihood-ratio interval [{}, {}] and the score interval [{}, {}] stay inside (0, 1)")
    assert stated == pytest.approx([*wald, *lr, *score], abs=6e-5)
    # The page's claims: Wald leaves (0, 1); the other two stay inside and reach further right of theta_hat than left.
    assert wald[0] < 0
    for low, high in (lr, score):
        assert 0 < low < theta_hat < high < 1 and high - theta_hat > theta_hat - low


def test_the_three_statistics_tend_to_chi_square_one():
    """The theorem: at large n, each statistic at theta_0 is below z^2 with probability near 0.95 (numpy simulation)."""
    rng = np.random.default_rng(11)
    theta_0, n, repeats = 0.3, 2000, 40_000
    heads = rng.binomial(n, theta_0, size=repeats)
    theta_hat = np.clip(heads / n, 1e-12, 1 - 1e-12)

    def loglik(theta):
        return heads * np.log(theta) + (n - heads) * np.log1p(-theta)

    statistics = {
        "Wald": (theta_hat - theta_0) ** 2 * n / (theta_hat * (1 - theta_hat)),
        "score": (heads - n * theta_0) ** 2 / (n * theta_0 * (1 - theta_0)),
        "likelihood ratio": 2 * (loglik(theta_hat) - loglik(theta_0)),
    }
    for name, values in statistics.items():
        assert (values <= CHI2_95).mean() == pytest.approx(0.95, abs=4 * monte_carlo_error(0.95, repeats)), name
        # the law itself, at a second point: the 95% quantile of chi-square with 2 degrees of freedom
        q = stats.chi2.ppf(0.95, df=2)
        expected = stats.chi2.cdf(q, df=1)
        assert (values <= q).mean() == pytest.approx(expected, abs=4 * monte_carlo_error(expected, repeats)), name


def test_the_likelihood_ratio_expansion_of_the_proof():
    """eq:unc-wilks-expansion: T_LR / (theta_hat - theta_0)^2 is -ell'' at a point between theta_0 and theta_hat,
    so it lies between the smallest and largest -ell'' on that segment."""
    for heads, n, theta_0 in [(2, 20, 0.2), (13, 40, 0.25), (70, 100, 0.6)]:
        theta_hat = heads / n
        ell = lambda t: stats.binom.logpmf(heads, n, t)  # noqa: E731
        t_lr = 2 * (ell(theta_hat) - ell(theta_0))
        grid = np.linspace(min(theta_0, theta_hat), max(theta_0, theta_hat), 2001)
        curvature = heads / grid**2 + (n - heads) / (1 - grid) ** 2  # -ell''
        assert curvature.min() - 1e-9 <= t_lr / (theta_hat - theta_0) ** 2 <= curvature.max() + 1e-9


# ---------------------------------------------------------------- the profile likelihood of sigma^2


def gaussian_loglik(x: np.ndarray, mu: float, v: float) -> float:
    return stats.norm.logpdf(x, loc=mu, scale=math.sqrt(v)).sum()


def test_the_profile_maximises_out_mu_at_x_bar(uncertainty):
    """ell_p(v) = max_mu ell(mu, v) = ell(x_bar, v), eq:unc-profile and eq:unc-profile-ratio, with scipy."""
    assert uncertainty.equation("eq:unc-profile-ratio").endswith(r"=n\,(r-1-\logr),")
    x = sample()
    v_hat = x.var()
    for v in (2.5, 4.0, 6.0):
        best = optimize.minimize_scalar(lambda mu: -gaussian_loglik(x, mu, v), bracket=(0.0, 1.0, 2.0))
        assert best.x == pytest.approx(x.mean(), abs=1e-6)
        assert -best.fun == pytest.approx(-N / 2 * math.log(2 * math.pi * v) - N * v_hat / (2 * v), rel=1e-10)
        r = v_hat / v
        assert 2 * (gaussian_loglik(x, x.mean(), v_hat) - gaussian_loglik(x, x.mean(), v)) == \
            pytest.approx(N * (r - 1 - math.log(r)), rel=1e-9)


def profile_interval(x: np.ndarray) -> tuple[float, float]:
    """The profile-likelihood interval for sigma^2 by brentq on scipy's log-density at mu = x_bar."""
    x_bar, v_hat = x.mean(), x.var()

    def excess(v):
        return 2 * (gaussian_loglik(x, x_bar, v_hat) - gaussian_loglik(x, x_bar, v)) - CHI2_95

    return optimize.brentq(excess, v_hat / 10, v_hat), optimize.brentq(excess, v_hat, v_hat * 10)


def test_profile_and_wald_intervals_for_sigma2(uncertainty):
    x = sample()
    v_hat = x.var()
    profile = profile_interval(x)
    wald = (v_hat - Z * v_hat * math.sqrt(2 / N), v_hat + Z * v_hat * math.sqrt(2 / N))
    glued = uncertainty.glued()
    assert (glued["unc_profile_low"], glued["unc_profile_high"]) == pytest.approx(profile, rel=1e-9)
    assert (glued["unc_wald_s2_low"], glued["unc_wald_s2_high"]) == pytest.approx(wald, rel=1e-12)
    assert printed_interval(uncertainty, "profile-likelihood interval for sigma2:") == pytest.approx(profile, abs=6e-5)
    assert printed_interval(uncertainty, "Wald interval for sigma2:") == pytest.approx(wald, abs=6e-5)
    stated = uncertainty.stated("The profile interval, [{}, {}], lies to the right of the Wald interval [{}, {}]")
    assert stated == pytest.approx([*profile, *wald], abs=6e-5)
    assert profile[0] > wald[0] and profile[1] > wald[1]  # "lies to the right"
    # Invariance: the profile interval for sigma is the square root of the one for sigma^2.
    sd = math.sqrt(v_hat)

    def excess_sd(s):
        return 2 * (gaussian_loglik(x, x.mean(), sd**2) - gaussian_loglik(x, x.mean(), s**2)) - CHI2_95

    assert (optimize.brentq(excess_sd, sd / 3, sd), optimize.brentq(excess_sd, sd, 3 * sd)) == \
        pytest.approx(np.sqrt(profile), rel=1e-9)


# ---------------------------------------------------------------- the delta method



def test_delta_method_standard_errors_match_the_observed_information(uncertainty):
    """se of sigma_hat and of log sigma2_hat: the inverse Hessian of scipy's NLL in (mu, sigma) and (mu, log v)."""
    assert r"\frac{\hat\sigma}{\sqrt{2n}}" in uncertainty.equation("eq:unc-delta-scales")
    assert uncertainty.equation("eq:unc-delta-scales").endswith(r"=\sqrt{\frac2n}.")
    x = sample()
    mu_hat, v_hat = x.mean(), x.var()
    in_sd = hessian_fd(lambda p: -stats.norm.logpdf(x, p[0], p[1]).sum(), [mu_hat, math.sqrt(v_hat)], 1e-4)
    in_log = hessian_fd(lambda p: -stats.norm.logpdf(x, p[0], math.exp(p[1] / 2)).sum(), [mu_hat, math.log(v_hat)], 1e-4)
    se_sd, se_log = math.sqrt(np.linalg.inv(in_sd)[1, 1]), math.sqrt(np.linalg.inv(in_log)[1, 1])
    assert se_sd == pytest.approx(math.sqrt(v_hat) / math.sqrt(2 * N), rel=1e-5)  # the delta method, exact at the MLE
    assert se_log == pytest.approx(math.sqrt(2 / N), rel=1e-5)
    glued = uncertainty.glued()
    assert glued["unc_se_sd_autograd"] == pytest.approx(se_sd, rel=1e-5)
    assert glued["unc_se_log_autograd"] == pytest.approx(se_log, rel=1e-5)
    assert glued["unc_se_sd_delta"] == pytest.approx(math.sqrt(v_hat / (2 * N)), rel=1e-12)
    assert glued["unc_se_log_delta"] == pytest.approx(math.sqrt(2 / N), rel=1e-12)
    stated = uncertainty.stated("The two agree: {} and {} for \\hat\\sigma, {} and {} for \\log\\hat\\sigma^2.")
    assert stated == pytest.approx([se_sd, se_sd, se_log, se_log], abs=6e-7)
    for label, estimate, se in [("sigma:", math.sqrt(v_hat), se_sd), ("log sigma2:", math.log(v_hat), se_log)]:
        assert uncertainty.numbers_after(label) == pytest.approx([estimate, se, se], abs=6e-5)


def test_the_delta_method_predicts_the_spread_of_the_transformed_estimates():
    """The sd of sigma_hat and of log sigma2_hat over many samples is close to sigma / sqrt(2n) and sqrt(2/n)."""
    rng = np.random.default_rng(5)
    v_hats = rng.normal(MU_0, math.sqrt(SIGMA2_0), size=(20_000, N)).var(axis=1)
    assert np.sqrt(v_hats).std() == pytest.approx(math.sqrt(SIGMA2_0) / math.sqrt(2 * N), rel=0.03)
    assert np.log(v_hats).std() == pytest.approx(math.sqrt(2 / N), rel=0.03)


def test_wald_interval_on_log_sigma2(uncertainty):
    x = sample()
    v_hat = x.var()
    expected = (v_hat * math.exp(-Z * math.sqrt(2 / N)), v_hat * math.exp(Z * math.sqrt(2 / N)))
    # the same interval as exp of log v_hat +- z se, with se = sqrt(2/n)
    assert expected == pytest.approx((math.exp(math.log(v_hat) - Z * math.sqrt(2 / N)),
                                      math.exp(math.log(v_hat) + Z * math.sqrt(2 / N))), rel=1e-12)
    glued = uncertainty.glued()
    assert (glued["unc_log_wald_low"], glued["unc_log_wald_high"]) == pytest.approx(expected, rel=1e-12)
    assert printed_interval(uncertainty, "Wald interval on log sigma2, mapped back:") == pytest.approx(expected, abs=6e-5)
    assert uncertainty.stated("On the chapter's sample it is [{}, {}]".replace("'", "\u2019")) == \
        pytest.approx(expected, abs=6e-5)
    assert expected[1] - v_hat > v_hat - expected[0]  # "longer above sigma2_hat than below"


# ---------------------------------------------------------------- coverage of the three intervals for sigma^2


def profile_ratio_roots(n: int) -> tuple[float, float]:
    """r_- < 1 < r_+ with n (r - 1 - log r) = chi2_1(0.95)."""
    g = lambda r: n * (r - 1 - math.log(r)) - CHI2_95  # noqa: E731
    return optimize.brentq(g, 1e-9, 1.0), optimize.brentq(g, 1.0, 1e3)


def exact_coverages(n: int) -> tuple[float, float, float]:
    """Exact coverage of Wald on sigma2, Wald on log sigma2 and profile, from Q = n sigma2_hat / sigma2 ~ chi2(n - 1)."""
    Q = stats.chi2(df=n - 1)
    c = Z * math.sqrt(2 / n)
    wald = (Q.cdf(n / (1 - c)) if c < 1 else 1.0) - Q.cdf(n / (1 + c))
    log_wald = Q.cdf(n * math.exp(c)) - Q.cdf(n * math.exp(-c))
    r_minus, r_plus = profile_ratio_roots(n)
    return wald, log_wald, Q.cdf(n * r_plus) - Q.cdf(n * r_minus)


def test_coverage_of_three_sigma2_intervals_matches_the_exact_coverage(uncertainty):
    rows = table(uncertainty, 3)
    first_table = table(uncertainty, 2)  # the chapter's first simulation: n, coverage mu, coverage sigma2
    for n, simulated in rows.items():
        exact = exact_coverages(n)
        for value, truth in zip(simulated, exact):
            assert value == pytest.approx(truth, abs=4 * monte_carlo_error(truth))
        assert simulated[0] == first_table[n][1]  # the same samples as the first simulation
    glued = uncertainty.glued()
    for n in (10, 50):
        assert [glued[f"unc_cover3_{key}_{n}"] for key in ("wald", "log", "profile")] == pytest.approx(rows[n], abs=5e-5)
    stated = uncertainty.stated("At n = 10 the Wald interval for \\sigma^2 covers in {} of the samples, the Wald "
                                "interval on \\log\\sigma^2 in {} and the profile interval in {}; at n = 50 the three are "
                                "{}, {} and {}.")
    assert stated == pytest.approx([*rows[10], *rows[50]], abs=6e-4)
    # "the profile interval covers best, the Wald interval on log sigma2 next": exactly so at every n up to 50.
    for n in (10, 20, 50):
        wald, log_wald, profile = exact_coverages(n)
        assert wald < log_wald < profile < 0.95


# ---------------------------------------------------------------- the sandwich


def test_sandwich_standard_error_of_the_unit_variance_model(uncertainty):
    """J and K by finite differences of scipy's N(mu, 1) log-density; the sandwich is sigma_hat / sqrt(n)."""
    assert uncertainty.equation("eq:unc-sandwich") == \
        r"\widehat{\operatorname{Var}}(\hat\theta)=J(\hat\theta)^{-1}\,K(\hat\theta)\,J(\hat\theta)^{-1}."
    x = sample()
    mu_hat = optimize.minimize_scalar(lambda mu: -stats.norm.logpdf(x, mu, 1.0).sum()).x
    assert mu_hat == pytest.approx(x.mean(), abs=1e-6)
    h = 1e-4
    scores = (stats.norm.logpdf(x, mu_hat + h, 1.0) - stats.norm.logpdf(x, mu_hat - h, 1.0)) / (2 * h)
    J = -(stats.norm.logpdf(x, mu_hat + h, 1.0).sum() - 2 * stats.norm.logpdf(x, mu_hat, 1.0).sum()
          + stats.norm.logpdf(x, mu_hat - h, 1.0).sum()) / h**2
    K = (scores**2).sum()
    se_naive, se_sandwich = 1 / math.sqrt(J), math.sqrt(K) / J
    assert se_naive == pytest.approx(1 / math.sqrt(N), rel=1e-5)
    assert se_sandwich == pytest.approx(x.std() / math.sqrt(N), rel=1e-5)
    glued = uncertainty.glued()
    assert glued["unc_se_naive"] == pytest.approx(se_naive, rel=1e-5)
    assert glued["unc_se_sandwich"] == pytest.approx(se_sandwich, rel=1e-5)
    assert glued["unc_se_true_sd"] == pytest.approx(math.sqrt(SIGMA2_0 / N), rel=1e-12)
    assert uncertainty.numbers_after("naive se") == pytest.approx([se_naive, se_sandwich, x.std() / math.sqrt(N)], abs=6e-5)
    stated = uncertainty.stated("The naive standard error, {}, is half the real spread of \\bar x, {}; the sandwich, {}, "
                                "is close to it.")
    assert stated == pytest.approx([se_naive, math.sqrt(SIGMA2_0 / N), se_sandwich], abs=6e-5)
    assert 1 / math.sqrt(N) == pytest.approx(math.sqrt(SIGMA2_0 / N) / 2, rel=1e-12)  # "half the real spread"


def test_sandwich_coverage_against_exact_laws_and_a_simulation_of_our_own(uncertainty):
    """Naive coverage exactly (normal and gamma laws), Gaussian sandwich exactly (t law), skewed sandwich by numpy."""
    naive_exact = 2 * stats.norm.cdf(Z / 2) - 1
    assert uncertainty.glued()["unc_naive_exact"] == pytest.approx(naive_exact, rel=1e-12)
    assert uncertainty.numbers_after("exact coverage of the naive interval:") == pytest.approx([naive_exact], abs=6e-5)
    rows = table(uncertainty, 4)  # n, Gaussian naive, Gaussian sandwich, skewed naive, skewed sandwich
    first_table = table(uncertainty, 2)
    rng = np.random.default_rng(99)
    own = {}
    for n, (gauss_naive, gauss_sandwich, skew_naive, skew_sandwich) in rows.items():
        # x = 1 + 2 (e - 1): the naive interval covers iff |e_bar - 1| <= z / (2 sqrt n), and n e_bar ~ Gamma(n).
        half = Z / (2 * math.sqrt(n))
        skew_naive_exact = stats.gamma.cdf(n * (1 + half), a=n) - stats.gamma.cdf(n * (1 - half), a=n)
        gauss_sandwich_exact = 2 * stats.t.cdf(Z * math.sqrt((n - 1) / n), df=n - 1) - 1
        for value, truth in [(gauss_naive, naive_exact), (gauss_sandwich, gauss_sandwich_exact), (skew_naive, skew_naive_exact)]:
            assert value == pytest.approx(truth, abs=4 * monte_carlo_error(truth))
        assert gauss_sandwich == first_table[n][0]  # "its column repeats the coverage of mu found earlier"
        e = rng.exponential(size=(20_000, n))
        skewed = 1 + 2 * (e - 1)
        own[n] = (np.abs(skewed.mean(axis=1) - MU_0) <= Z * skewed.std(axis=1) / math.sqrt(n)).mean()
        tolerance = 4 * math.hypot(monte_carlo_error(own[n]), monte_carlo_error(own[n], 20_000))
        assert skew_sandwich == pytest.approx(own[n], abs=tolerance)
    assert own[10] < 0.9 and own[200] > 0.93  # short at n = 10, close to 0.95 at n = 200
    glued = uncertainty.glued()
    assert [glued["unc_sw_gauss_naive_200"], glued["unc_sw_skew_naive_200"], glued["unc_sw_gauss_sandwich_200"],
            glued["unc_sw_skew_sandwich_200"], glued["unc_sw_skew_sandwich_10"]] == \
        pytest.approx([rows[200][0], rows[200][2], rows[200][1], rows[200][3], rows[10][3]], abs=5e-5)
    stated = uncertainty.stated("At n = 200 the naive interval covers in {} (Gaussian) and {} (skewed) of the samples, "
                                "and the sandwich interval in {} and {}.")
    assert stated == pytest.approx([rows[200][0], rows[200][2], rows[200][1], rows[200][3]], abs=6e-4)
    assert uncertainty.stated("with skewed data at n = 10 it covers in {}.") == pytest.approx([rows[10][3]], abs=6e-4)
    assert uncertainty.stated("probability 2\\Phi(z/2) - 1 = {}, at every n") == pytest.approx([naive_exact], abs=6e-5)


# ---------------------------------------------------------------- the exercises


def test_wilson_exercise(uncertainty):
    """The closed form of the solution against brentq on the score statistic, for the page's example and the coin."""
    tosses = mh.data.COIN_TOSSES
    heads, n = int(sum(tosses)), len(tosses)

    def wilson(heads, n):
        p, c = heads / n, Z**2
        centre, half = p + c / (2 * n), Z * math.sqrt(p * (1 - p) / n + c / (4 * n**2))
        return (centre - half) / (1 + c / n), (centre + half) / (1 + c / n)

    for h, m in [(heads, n), (HEADS, TRIALS), (17, 40)]:
        roots = [optimize.brentq(lambda t: score_statistic(t, h, m) - CHI2_95, a, b)
                 for a, b in [(1e-6, h / m - 1e-6), (h / m + 1e-6, 1 - 1e-6)]]
        assert wilson(h, m) == pytest.approx(roots, abs=1e-7)
    expected = wilson(heads, n)
    glued = uncertainty.glued()
    assert (glued["unc_wilson_low"], glued["unc_wilson_high"]) == pytest.approx(expected, abs=1e-8)
    low, high, wald_low, wald_high = uncertainty.stated("For h = 3, n = 7 it is [{}, {}], against the Wald interval [{}, {}]")
    assert (low, high) == pytest.approx(expected, abs=6e-4)
    se = math.sqrt((3 / 7) * (4 / 7) / 7)
    assert (wald_low, wald_high) == pytest.approx((3 / 7 - Z * se, 3 / 7 + Z * se), abs=6e-4)
    # "narrower, and shifted towards 1/2"
    assert high - low < wald_high - wald_low and abs((low + high) / 2 - 0.5) < abs(3 / 7 - 0.5)


def test_exact_coverage_exercise(uncertainty):
    r_minus, r_plus = profile_ratio_roots(10)
    _, log_wald, profile = exact_coverages(10)
    glued = uncertainty.glued()
    assert (glued["unc_r_minus"], glued["unc_r_plus"]) == pytest.approx((r_minus, r_plus), rel=1e-9)
    assert (glued["unc_exact_log_10"], glued["unc_exact_profile_10"]) == pytest.approx((log_wald, profile), rel=1e-9)
    stated = uncertainty.stated("bisection gives r_- = {} and r_+ = {}, and the \\chi^2_9 law gives the exact coverages "
                                "{} (log scale) and {} (profile), against {} and {} simulated")
    assert stated[:4] == pytest.approx([r_minus, r_plus, log_wald, profile], abs=6e-5)
    simulated = table(uncertainty, 3)[10]
    assert stated[4:] == pytest.approx(simulated[1:], abs=6e-5)
    # "the gaps are within two Monte Carlo errors" (the page's Monte Carlo error at 0.95)
    for value, truth in zip(simulated[1:], (log_wald, profile)):
        assert abs(value - truth) <= 2 * monte_carlo_error(0.95)


def test_log_odds_exercise(uncertainty):
    theta_hat = HEADS / TRIALS
    log_odds = special.logit(theta_hat)
    h = 1e-6  # the delta method's slope by central differences of scipy's logit
    slope = (special.logit(theta_hat + h) - special.logit(theta_hat - h)) / (2 * h)
    se = slope * math.sqrt(theta_hat * (1 - theta_hat) / TRIALS)
    assert se == pytest.approx(math.sqrt(5) / 3, rel=1e-8)  # the exact arithmetic of the solution
    low, high = log_odds - Z * se, log_odds + Z * se
    expected = [log_odds, se, low, high, special.expit(low), special.expit(high)]
    glued = uncertainty.glued()
    keys = ["hat", "se", "low", "high", "theta_low", "theta_high"]
    assert [glued[f"unc_log_odds_{key}"] for key in keys] == pytest.approx(expected, rel=1e-9)
    stated = uncertainty.stated("\\hat\\lambda = \\log\\frac19 = {} and \\operatorname{se} = {}, the interval for \\lambda is "
                                "[{}, {}]. The logistic function is increasing, so the interval for \\theta is [{}, {}]")
    assert stated == pytest.approx(expected, abs=6e-5)
    # "inside (0, 1) ..., longer above theta_hat than below, with an upper end beyond both of theirs"
    lr_high, score_high = uncertainty.glued()["unc_p_lr_high"], uncertainty.glued()["unc_p_score_high"]
    assert 0 < expected[4] < theta_hat < expected[5] < 1
    assert expected[5] - theta_hat > theta_hat - expected[4] and expected[5] > max(lr_high, score_high)


def test_poisson_sandwich_exercise(uncertainty):
    match = re.search(r"fitted to the counts \(([\d, ]+)\)", uncertainty.text)
    assert match, "the exercise no longer lists its counts"
    counts = np.array([int(c) for c in match.group(1).split(",")])
    lam = optimize.minimize_scalar(lambda t: -stats.poisson.logpmf(counts, t).sum(), bounds=(0.1, 20), method="bounded",
                                   options={"xatol": 1e-10}).x
    assert lam == pytest.approx(counts.mean(), abs=1e-6) and counts.sum() == 28 and (counts**2).sum() == 170
    h = 1e-4
    scores = (stats.poisson.logpmf(counts, lam + h) - stats.poisson.logpmf(counts, lam - h)) / (2 * h)
    J = -(stats.poisson.logpmf(counts, lam + h) - 2 * stats.poisson.logpmf(counts, lam)
          + stats.poisson.logpmf(counts, lam - h)).sum() / h**2
    se_model, se_sandwich = 1 / math.sqrt(J), math.sqrt((scores**2).sum()) / J
    glued = uncertainty.glued()
    assert glued["unc_poisson_se_naive"] == pytest.approx(se_model, rel=1e-5)
    assert glued["unc_poisson_se_sandwich"] == pytest.approx(se_sandwich, rel=1e-5)
    stated = uncertainty.stated("the standard errors are \\sqrt{28/100} = {} (model) and \\sqrt{91.6/100} = {} (sandwich)")
    assert stated == pytest.approx([se_model, se_sandwich], abs=6e-5)
    # "sample variance 91.6/10, more than three times their mean 2.8"
    assert counts.var() == pytest.approx(91.6 / 10) and counts.var() > 3 * counts.mean()
