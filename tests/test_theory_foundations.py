"""The theory the Foundations chapters and the introduction add: sufficiency, identifiability, MLE as KL minimisation.

Each test reads the built page (``pages.Page``: what its cells printed and what its prose states) and checks
it against an independent computation: scipy (numerical integration with ``quad``, ``optimize``, ``stats``
log-densities and entropies), sympy, or numpy. The data are regenerated from the setup each page states
(sampler, parameters, seed); if a page changes its setup, change the constants here with it.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, special, stats

import mle_helpers as mh
from numeric import hessian_fd
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

# likelihood: the six sensor readings (N(3, 1), seed 7) and the six unrelated draws (N(0, 1), seed 8).
READINGS = dict(n=6, mu=3.0, cov=1.0, seed=7)
UNRELATED = dict(n=6, mu=0.0, cov=1.0, seed=8)
SUFFICIENCY_GRID = (np.linspace(0.0, 6.0, 301), np.linspace(0.1, 5.0, 246))  # mu, sigma^2
# why_log: p_data = Gamma(shape 2, rate 1); the MLE table uses prefixes of one million draws after torch.manual_seed(0).
GAMMA_SHAPE, GAMMA_RATE, DRAWS, DRAW_SEED = 2.0, 1.0, 1_000_000, 0
TABLE_SIZES = [10, 100, 1_000, 10_000, 100_000, 1_000_000]


@pytest.fixture(scope="module")
def likelihood(built_book):
    return Page(built_book, "likelihood")


@pytest.fixture(scope="module")
def why_log(built_book):
    return Page(built_book, "why_log")


def _sample(setup: dict) -> np.ndarray:
    return mh.data.sample_gaussian(setup["n"], setup["mu"], setup["cov"], seed=setup["seed"]).numpy()


def _second_set(x: np.ndarray) -> np.ndarray:
    """The page's construction: unrelated draws shifted to the mean of x, rescaled to its squared deviations."""
    z = _sample(UNRELATED)
    return x.mean() + (z - z.mean()) * math.sqrt(((x - x.mean()) ** 2).sum() / ((z - z.mean()) ** 2).sum())


def _gauss_loglik(data: np.ndarray, mu: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """sum_i log N(x_i; mu, sigma^2) from scipy, broadcast over mu (rows) and sigma^2 (columns)."""
    return stats.norm.logpdf(data[None, None, :], loc=mu[:, None, None], scale=np.sqrt(sigma2)[None, :, None]).sum(-1)



# ---------------------------------------------------------------------------------------------------------------
# likelihood: sufficient statistics


def test_likelihood_equal_sufficient_statistics_give_identical_log_likelihoods(likelihood):
    """Two different data sets with the same sum and sum of squares: the same ell(mu, sigma^2) on the whole grid."""
    x = _sample(READINGS)
    y = _second_set(x)
    assert x.sum() == pytest.approx(y.sum(), abs=1e-12) and (x**2).sum() == pytest.approx((y**2).sum(), abs=1e-11)
    sums = likelihood.stated("sums: {} {}", "printed")
    squares = likelihood.stated("sums of squares: {} {}", "printed")
    assert sums == pytest.approx([x.sum()] * 2, abs=1e-9) and squares == pytest.approx([(x**2).sum()] * 2, abs=1e-9)
    # The data sets differ (as the page prints them, even sorted) ...
    data_gap = np.abs(np.sort(x) - np.sort(y)).max()
    assert data_gap > 0.1
    assert likelihood.stated("largest gap between the sorted data sets: {}", "printed") == pytest.approx([data_gap], abs=5e-4)
    # ... but their log-likelihoods agree at every grid point, to rounding (scipy's log-densities, not the page's).
    mu, sigma2 = SUFFICIENCY_GRID
    ell_x, ell_y = _gauss_loglik(x, mu, sigma2), _gauss_loglik(y, mu, sigma2)
    assert np.abs(ell_x - ell_y).max() < 1e-9
    count, gap = likelihood.stated("largest |ell_x - ell_y| over {} grid points: {}", "printed")
    assert count == ell_x.size and 0 <= gap < 1e-10
    assert likelihood.stated("largest |ell_x| on the grid: {}", "printed") == pytest.approx([np.abs(ell_x).max()], abs=0.05)
    stated = likelihood.stated("Even sorted, the two data sets differ by up to {} in a reading, yet at all {} points of "
                               "the (\\mu, \\sigma^2) grid their log-likelihoods agree to {}")
    assert stated[:2] == [round(data_gap, 3), ell_x.size] and stated[2] == pytest.approx(gap, rel=0.5)


def test_likelihood_same_sum_means_same_shape_when_the_variance_is_known(likelihood):
    """Proposition prop-lik-sufficient with T = sum x_i: same sum, other sum of squares -> ell differs by a constant."""
    x = _sample(READINGS)
    z = _sample(UNRELATED)
    w = x.mean() + 3 * (z - z.mean())  # the same sum, a different sum of squares
    assert w.sum() == pytest.approx(x.sum()) and abs((w**2).sum() - (x**2).sum()) > 1
    mu = np.linspace(-2.0, 8.0, 201)
    difference = _gauss_loglik(x, mu, np.array([1.0]))[:, 0] - _gauss_loglik(w, mu, np.array([1.0]))[:, 0]
    # eq:lik-same-shape: log h(x) - log h(w), with h of eq:lik-factor-sensor.
    log_h_gap = -((x**2).sum() - (w**2).sum()) / 2
    assert difference == pytest.approx(np.full_like(mu, log_h_gap), abs=1e-9) and abs(log_h_gap) > 0.5
    assert "Equal sufficient statistics, equal likelihood shapes" in likelihood.text
    assert "The curve sees the six readings only through their sum, a sufficient statistic" in likelihood.text


def test_likelihood_uniform_exercise(likelihood):
    """Uniform(0, theta): the maximum is sufficient, the MLE of 3, 7, 5 is 7 with L(7) = 1/343, and 1, 7, 2 ties."""
    theta = np.linspace(1.0, 20.0, 19_001)  # step 0.001: 7 is a grid point

    def L(data):
        return np.prod(stats.uniform(loc=0.0, scale=theta[:, None]).pdf(np.asarray(data, float)[None, :]), axis=1)

    first, second = L([3, 7, 5]), L([1, 7, 2])
    assert np.array_equal(first, second)
    assert theta[np.argmax(first)] == pytest.approx(7.0) and first.max() == pytest.approx(1 / 343)
    assert L([3, 7, 6]).max() == pytest.approx(first.max()) and not np.array_equal(L([3, 8, 5]), first)
    text = likelihood.text
    assert "the MLE is \\hat\\theta = 7, with \\mathcal{L}(7) = 7^{-3} = 1/343" in text
    assert "for instance 1, 7, 2, have exactly the same likelihood function" in text


# ---------------------------------------------------------------------------------------------------------------
# likelihood: identifiability


def test_likelihood_offset_model_has_a_ridge_of_maximisers(likelihood):
    """N(a + b, 1): three points of a + b = x_bar share the largest log-likelihood, the one of N(x_bar, 1)."""
    x = _sample(READINGS)
    rows = re.findall(r"a = " + NUMBER + r", b = " + NUMBER + r": ell = " + NUMBER, likelihood.printed)
    assert len(rows) == 3
    best = -optimize.minimize_scalar(lambda m: -stats.norm.logpdf(x, loc=m).sum()).fun  # max over the mean alone
    points = []
    for a, b, ell in (map(float, row) for row in rows):
        assert a + b == pytest.approx(x.mean(), abs=2e-3)
        assert ell == pytest.approx(stats.norm.logpdf(x, loc=x.mean()).sum(), abs=1e-9)
        assert ell == pytest.approx(best, abs=1e-9)
        points.append((a, b))
    assert len(set(points)) == 3  # three different parameters


def test_likelihood_offset_model_hessian_is_singular(likelihood):
    """The Hessian of ell(a, b) is -n times the matrix of ones: eigenvalues -2n and 0, flat along (1, -1)."""
    x = _sample(READINGS)
    n = len(x)
    a, b = sp.symbols("a b")
    ell = sum(-(sp.Float(xi) - a - b) ** 2 / 2 for xi in x)  # up to the constant -n/2 log(2 pi)
    exact = np.array(sp.hessian(ell, (a, b)), dtype=float)
    assert exact == pytest.approx(-n * np.ones((2, 2)))
    numeric = hessian_fd(lambda p: stats.norm.logpdf(x, loc=p[0] + p[1]).sum(), [1.0, 2.0])
    assert numeric == pytest.approx(exact, abs=1e-3)
    printed = [float(v) for v in re.findall(NUMBER, likelihood.printed.split("Hessian at (1, 2):")[1].splitlines()[0])]
    assert printed == pytest.approx(exact.ravel().tolist(), abs=1e-9)
    values, vectors = np.linalg.eigh(exact)
    assert likelihood.numbers_after("eigenvalues:") == pytest.approx(values.tolist(), abs=1e-9)
    assert values.tolist() == pytest.approx([-2 * n, 0.0])
    direction = np.array(likelihood.numbers_after("direction of the zero eigenvalue:"))
    assert abs(direction @ vectors[:, 1]) == pytest.approx(1.0, abs=1e-4)  # (1, -1)/sqrt 2 up to sign
    assert f"with n = {n}, its eigenvalues -2n = {-2 * n} and 0" in likelihood.text


def test_likelihood_product_exercise(likelihood):
    """N(ab, 1) with data 1, 2, 6: every ab = 3 maximises; the Hessian of -ell at (1, 3) is [[27, 9], [9, 3]], singular."""
    data = np.array([1.0, 2.0, 6.0])

    def nll(p):
        return -stats.norm.logpdf(data, loc=p[0] * p[1]).sum()

    best = optimize.minimize(nll, x0=[0.5, 0.5]).fun
    for point in [(1, 3), (3, 1), (-1, -3)]:
        assert nll(point) == pytest.approx(best, abs=1e-8)
    a, b = sp.symbols("a b")
    exact = sp.hessian(sum((xi - a * b) ** 2 / 2 for xi in (1, 2, 6)), (a, b)).subs({a: 1, b: 3})
    assert exact == sp.Matrix([[27, 9], [9, 3]]) and exact.det() == 0
    assert hessian_fd(nll, [1.0, 3.0]) == pytest.approx(np.array(exact, dtype=float), abs=1e-3)
    assert exact * sp.Matrix([1, -3]) == sp.zeros(2, 1)
    text = likelihood.text
    assert "\\begin{pmatrix} 27 & 9 \\\\ 9 & 3 \\end{pmatrix}" in text
    assert "that is v = (1, -3)" in text and "\\hat c = \\bar x = 3" in text


# ---------------------------------------------------------------------------------------------------------------
# why_log: MLE as minimising the KL divergence


def _kl_to_normal(log_p, m: float, v: float, low: float, high: float, kinks=()) -> float:
    """KL(p || N(m, v)) = E_p[log p - log q] by scipy's quad over [low, high], for p given by its log-density."""
    def integrand(t):
        log_q = -0.5 * math.log(2 * math.pi * v) - (t - m) ** 2 / (2 * v)
        return math.exp(log_p(t)) * (log_p(t) - log_q)

    value, _ = integrate.quad(integrand, low, high, points=kinks, limit=200, epsabs=1e-13, epsrel=1e-13)
    return value


def _gamma_log_density(t: float) -> float:
    """Gamma(shape 2, rate 1): log(t e^{-t})."""
    return math.log(t) - t


def _kl_gamma_to_normal(m: float, v: float) -> float:
    return _kl_to_normal(_gamma_log_density, m, v, 0.0, 80.0, kinks=(1.0, 5.0))  # the density beyond 80 is below 1e-33


def _closest_normal(kl) -> tuple[float, float, float]:
    """(m, v, KL) minimising kl(m, v) by scipy's BFGS, over m and log v."""
    fit = optimize.minimize(lambda t: kl(t[0], math.exp(t[1])), x0=[1.0, 0.0], method="BFGS", options=dict(gtol=1e-9))
    return fit.x[0], math.exp(fit.x[1]), fit.fun


def test_why_log_kl_minimiser_is_the_gaussian_with_the_data_mean_and_variance(why_log):
    """The KL-closest Gaussian to Gamma(2, 1), found by scipy's optimiser on quad integrals: N(2, 2)."""
    p = stats.gamma(GAMMA_SHAPE, scale=1 / GAMMA_RATE)
    for t in (0.1, 1.0, 7.0):  # the density the page states, x e^{-x}, is scipy's Gamma(2, 1)
        assert _gamma_log_density(t) == pytest.approx(p.logpdf(t), abs=1e-12)
    m_kl, v_kl, kl_fit = _closest_normal(_kl_gamma_to_normal)
    assert (m_kl, v_kl) == pytest.approx((p.mean(), p.var()), abs=1e-5) and (p.mean(), p.var()) == (2.0, 2.0)
    kl_min = 0.5 * math.log(2 * math.pi * math.e * p.var()) - p.entropy()
    assert kl_fit == pytest.approx(kl_min, abs=1e-10) and kl_min > 0.1
    # What the page printed: the integrated moments and entropy, the grid minimiser and the smallest KL.
    assert why_log.stated("mean and variance of p_data (integrated): {}, {}", "printed") == pytest.approx([2.0, 2.0], abs=1e-4)
    assert why_log.stated("entropy H(p_data) (integrated): {}", "printed") == pytest.approx([p.entropy()], abs=1e-4)
    m_grid, v_grid, step = why_log.stated("grid minimiser of KL: m = {}, v = {} (grid step {})", "printed")
    assert abs(m_grid - m_kl) <= step / 2 and abs(v_grid - v_kl) <= step / 2
    assert why_log.stated("smallest KL on the grid: {}; eq:log-moment-match gives {}", "printed") == \
        pytest.approx([kl_min, kl_min], abs=1e-4)
    # The prose quotes them.
    assert why_log.stated("the grid search lands on m = {} and v = {}") == [round(m_grid, 2), round(v_grid, 2)]
    assert why_log.stated("Even the closest Gaussian is {} nats") == pytest.approx([kl_min], abs=1e-4)
    assert why_log.stated("and the entropy of the Gamma is H(p_{\\text{data}}) = {}") == pytest.approx([p.entropy()], abs=1e-4)
    assert "2/1 = 2" in why_log.text and "2/1^2 = 2" in why_log.text


@pytest.fixture(scope="module")
def gamma_draws():
    """The page's million draws (its own sampler and seed; everything computed from them below is scipy's)."""
    import torch

    torch.manual_seed(DRAW_SEED)
    gamma = torch.distributions.Gamma(torch.tensor(GAMMA_SHAPE, dtype=torch.float64),
                                      torch.tensor(GAMMA_RATE, dtype=torch.float64))
    draws = gamma.sample((DRAWS,)).numpy()
    # They are Gamma(2, 1) draws: a Kolmogorov-Smirnov test on them does not reject.
    assert stats.kstest(draws[:100_000], stats.gamma(GAMMA_SHAPE, scale=1 / GAMMA_RATE).cdf).pvalue > 1e-3
    return draws


def test_why_log_mle_approaches_the_kl_minimiser(why_log, gamma_draws):
    """The table: scipy's Gaussian MLE of each prefix, its excess KL by quad, and the law of large numbers at N(2, 2)."""
    rows = re.findall(r"^\s*(\d+)\s+" + r"\s+".join([NUMBER] * 5) + r"\s*$", why_log.printed, flags=re.MULTILINE)
    assert [int(row[0]) for row in rows] == TABLE_SIZES, "the MLE table is missing or changed"
    kl_min = _kl_gamma_to_normal(2.0, 2.0)
    cross_entropy_kl = 0.5 * math.log(2 * math.pi * 2.0) + 0.5  # H(p_data, N(2, 2)) = 1/2 log(4 pi e)
    excesses = {}
    for size, mu_hat, sigma2_hat, excess, average, cross in ((int(r[0]), *map(float, r[1:])) for r in rows):
        loc, scale = stats.norm.fit(gamma_draws[:size])  # scipy's maximum likelihood fit
        assert (mu_hat, sigma2_hat) == pytest.approx((loc, scale**2), abs=5e-5)
        excesses[size] = _kl_gamma_to_normal(loc, scale**2) - kl_min
        assert excess == pytest.approx(excesses[size], rel=0.02, abs=1e-9)
        assert average == pytest.approx(-stats.norm.logpdf(gamma_draws[:size], 2.0, math.sqrt(2.0)).mean(), abs=5e-5)
        assert cross == pytest.approx(cross_entropy_kl, abs=5e-5)
    # The MLE approaches theta_KL: the excess ends far below where it starts, and the last fit is within
    # four standard errors of (2, 2) (Var of the sample mean 2/n; of the sample variance about (mu_4 - 4)/n = 20/n).
    assert excesses[TABLE_SIZES[-1]] < 1e-3 * excesses[TABLE_SIZES[0]]
    loc, scale = stats.norm.fit(gamma_draws)
    assert abs(loc - 2) < 4 * math.sqrt(2 / DRAWS) and abs(scale**2 - 2) < 4 * math.sqrt(20 / DRAWS)
    assert abs(float(rows[-1][4]) - cross_entropy_kl) < abs(float(rows[0][4]) - cross_entropy_kl)
    first, last = stats.norm.fit(gamma_draws[:10]), stats.norm.fit(gamma_draws)
    stated = why_log.stated("From ten readings the fitted Gaussian has mean {} and variance {}, with an excess divergence "
                            "of {}; from a million it has mean {} and variance {}, and the excess has fallen to {}")
    assert stated[:2] == pytest.approx([first[0], first[1] ** 2], abs=0.006)
    assert stated[3:5] == pytest.approx([last[0], last[1] ** 2], abs=6e-4)
    assert stated[2] == pytest.approx(excesses[10], rel=0.03) and stated[5] == pytest.approx(excesses[DRAWS], rel=0.03)
    # "It does not fall at every step of the table": true of this sample.
    assert any(later > earlier for earlier, later in zip(list(excesses.values()), list(excesses.values())[1:]))


def test_why_log_average_log_likelihood_is_the_empirical_cross_entropy(why_log, gamma_draws):
    """eq:log-empirical at n = 10: -ell(1, 3)/n equals the cross-entropy from the empirical distribution, by scipy."""
    x_10, m, v = gamma_draws[:10], 1.0, 3.0
    nll_average = -stats.norm.logpdf(x_10, m, math.sqrt(v)).mean()
    # H(hat p_10, q) = -sum_k hat p(x_k) log q(x_k) over the distinct readings, each with probability 1/10.
    values, counts = np.unique(x_10, return_counts=True)
    cross_entropy = -(counts / 10 * stats.norm.logpdf(values, m, math.sqrt(v))).sum()
    assert cross_entropy == pytest.approx(nll_average, abs=1e-13)
    printed = [why_log.stated("-ell(m, v) / n: {}", "printed"),
               why_log.stated("H(hat p_n, N(m, v)) by eq:log-gauss-ce: {}", "printed")]
    assert printed == [pytest.approx([nll_average], abs=1e-11)] * 2
    assert "The two agree to the last printed digit" in why_log.text


def test_why_log_laplace_exercise(why_log):
    """The closest Gaussian to Laplace(0, 1) is N(0, 2), at KL divergence (log pi - 1)/2."""
    p = stats.laplace()
    assert (p.mean(), p.var()) == (0.0, 2.0) and p.entropy() == pytest.approx(1 + math.log(2))

    def log_density(t):  # the page's 1/2 e^{-|x|}, which is scipy's Laplace(0, 1)
        return -abs(t) - math.log(2)

    for t in (-3.0, 0.5, 10.0):
        assert log_density(t) == pytest.approx(p.logpdf(t), abs=1e-12)

    def kl(m, v):
        return _kl_to_normal(log_density, m, v, -80.0, 80.0, kinks=(0.0,))

    m_kl, v_kl, kl_fit = _closest_normal(kl)
    assert (m_kl, v_kl) == pytest.approx((0.0, 2.0), abs=1e-5)
    assert kl_fit == pytest.approx((math.log(math.pi) - 1) / 2, abs=1e-10)
    assert kl(0.0, 2.0) < _kl_gamma_to_normal(2.0, 2.0)  # "smaller than for the Gamma above"
    assert "= \\tfrac12 (\\log \\pi - 1)" in why_log.text and "\\theta_{\\mathrm{KL}} = (0, 2)" in why_log.text


def test_why_log_die_exercise(why_log):
    """Counts 5, 3, 2: scipy's optimiser over the simplex finds q = (1/2, 3/10, 1/5), at ell = -n H(hat p)."""
    counts = np.array([5, 3, 2])

    def negative_loglik(raw):
        return -(counts * special.log_softmax(np.append(raw, 0.0))).sum()

    fit = optimize.minimize(negative_loglik, x0=[0.0, 0.0], method="BFGS", options=dict(gtol=1e-10))
    assert special.softmax(np.append(fit.x, 0.0)) == pytest.approx([1 / 2, 3 / 10, 1 / 5], abs=1e-6)
    assert -fit.fun == pytest.approx(5 * math.log(1 / 2) + 3 * math.log(3 / 10) + 2 * math.log(1 / 5), abs=1e-10)
    assert -fit.fun == pytest.approx(-counts.sum() * stats.entropy(counts / counts.sum()), abs=1e-10)
    text = why_log.text
    assert "\\hat q = \\hat p = (1/2, 3/10, 1/5)" in text
    assert "5 \\log\\tfrac12 + 3 \\log\\tfrac{3}{10} + 2 \\log\\tfrac15" in text


def test_why_log_states_the_kl_results(why_log):
    """The chapter names what it proves, and its Gamma example has a positive divergence from every Gaussian."""
    for phrase in ("Gibbs’ inequality", "Entropy, cross-entropy and KL divergence", "The exact version: the empirical "
                   "distribution", "Example: a Gaussian fitted to skewed data"):
        assert phrase in why_log.text, phrase
    # Gibbs' inequality, on the page's own example: KL(Gamma(2, 1) || N(m, v)) > 0 everywhere, and not 0 at the best.
    assert min(_kl_gamma_to_normal(m, v) for m in (1.5, 2.0, 2.5) for v in (1.5, 2.0, 2.5)) > 0.1


# ---------------------------------------------------------------------------------------------------------------
# intro: learning outcomes and the map of chapters to assignments


def _numbered_chapters(root: Path) -> list[str]:
    """The chapters of the _toc.yml parts that are numbered, in order."""
    chapters, numbered = [], False
    for line in (root / "_toc.yml").read_text().splitlines():
        if re.match(r"\s*- caption:", line):
            numbered = False
        if re.match(r"\s*numbered:\s*true", line):
            numbered = True
        match = re.match(r"\s*- file:\s*book/(\S+)", line)
        if match and numbered:
            chapters.append(match.group(1))
    return chapters


def _headings(root: Path, assignment: str) -> list[str]:
    release = json.loads((root / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    return [line for cell in release["cells"] if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("## ")]


def test_intro_maps_every_chapter_to_the_tasks_that_practise_it(built_book):
    page = Page(built_book, "intro")
    table = re.search(r"Chapters and the assignments that practise them.*?<table.*?</table>", page.html, flags=re.S)
    assert table, "the intro has no table of chapters and assignments"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), flags=re.S)[1:]  # without the header
    listed = []
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        assert len(cells) == 3, row
        [chapter] = re.findall(r'href="([\w]+)\.html"', cells[0])
        listed.append(chapter)
        assignments = re.findall(r'href="\.\./exercises/(ps\d_\w+)/\1\.html"', cells[1])
        tasks = re.sub(r"<[^>]+>", "", cells[2])
        chapter_page = Page(built_book, chapter)
        for assignment in assignments:
            assert (built_book / "_build" / "html" / "exercises" / assignment / f"{assignment}.html").exists()
            # The chapter's own closing pointer names the same problem set.
            assert f"exercises/{assignment}/{assignment}.html" in chapter_page.html, (chapter, assignment)
        # Every part or task the row names is a heading of one of its notebooks.
        headings = [h for assignment in assignments for h in _headings(built_book, assignment)]
        named = [f"Part {p}" for p in re.findall(r"Part ([A-Z])\b", tasks)]
        for first, last in re.findall(r"Tasks? (\d)(?: (?:to|and) (\d))?", tasks):
            named += [f"Task {k}" for k in range(int(first), int(last or first) + 1)]
        assert (named != []) == (assignments != []), (chapter, tasks)
        for name in named:
            assert any(h.startswith(f"## {name}:") for h in headings), (chapter, name, headings)
    assert listed == _numbered_chapters(built_book), "the map must list every numbered chapter, in order"


def test_intro_lists_learning_outcomes(built_book):
    page = Page(built_book, "intro")
    section = re.search(r'id="learning-outcomes".*?<ul[^>]*>(.*?)</ul>', page.html, flags=re.S)
    assert section, "the intro has no learning outcomes"
    outcomes = re.findall(r"<li>(.*?)</li>", section.group(1), flags=re.S)
    assert len(outcomes) >= 6
    text = " ".join(" ".join(re.sub(r"<[^>]+>", " ", outcome).split()) for outcome in outcomes)
    # Each outcome names what the chapters teach: a few of the words they are built on.
    for word in ("log-likelihood", "Kullback–Leibler", "sufficient statistic", "identifiable", "gradient ascent",
                 "Cholesky", "standard errors"):
        assert word in text, word
