"""Chapter 6 (the coin) beyond the estimators: the theory of issue 16, checked on the built page.

- the page teaches on its own example and shows none of ps1 Part D's answers;
- a Normal prior is an L2 penalty of weight 1/(2v), and the MAP shrinks towards the prior mean as v decreases;
- the conjugate update Beta(a + h, b + t), and the posterior mean as a weighted average of prior mean and MLE;
- plug-in (1 - theta_MAP)^2 against the Bayesian E[(1 - theta)^2 | D] = b(b + 1)/((a + b)(a + b + 1));
- the MAP depends on the parametrisation (log-odds), the MLE does not.

Every number is recomputed independently (scipy.stats.beta, scipy.integrate.quad, scipy.optimize, sympy,
exact fractions) and compared with what the page glues, prints, tabulates or writes as a fraction.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from fractions import Fraction

import numpy as np
import pytest
import sympy
from scipy import integrate, optimize, special, stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

# The page's setup: the course's tosses, the Normal prior N(0.6, 0.05) (variance) and the Beta(5, 5) prior.
HEADS, TAILS = 3, 4
N = HEADS + TAILS
PRIOR_MEAN, PRIOR_VAR = 0.6, 0.05
PRIOR_A, PRIOR_B = 5, 5
ALPHA, BETA = PRIOR_A + HEADS, PRIOR_B + TAILS


@pytest.fixture(scope="module")
def page(built_book) -> Page:
    return Page(built_book, "bernoulli")


@pytest.fixture(scope="module")
def glued(page) -> dict:
    return page.glued()


def states_fraction(text: str, p: int, q: int) -> bool:
    """The page writes p/q, as \\frac{p}{q}, \\tfrac{p}{q} or p/q."""
    return bool(re.search(rf"\\t?frac\{{{p}\}}\{{{q}\}}|(?<![\d/.]){p}/{q}(?![\d])", text))


def map_normal_prior(m, v, h=HEADS, t=TAILS):
    """The maximiser of h log(theta) + t log(1 - theta) - (theta - m)^2/(2v), by scipy's bounded minimiser."""
    result = optimize.minimize_scalar(
        lambda th: -(h * np.log(th) + t * np.log1p(-th) - (th - m) ** 2 / (2 * v)),
        bounds=(1e-12, 1 - 1e-12), method="bounded", options={"xatol": 1e-13})
    return result.x


def beta_mode(a, b):
    """The mode of Beta(a, b), by scipy's bounded minimiser of minus the log density."""
    result = optimize.minimize_scalar(lambda th: -stats.beta(a, b).logpdf(th), bounds=(1e-9, 1 - 1e-9),
                                      method="bounded", options={"xatol": 1e-13})
    return result.x


# ---------------------------------------------------------------- no assignment answer on the page


def test_the_page_shows_none_of_the_ps1_part_d_answers(built_book, page, glued):
    """ps1 Part D asks, for the course's tosses, theta_MAP under N(0.5, 0.1) (D1), (1 - theta_MAP)^2 (D2) and the
    uniform-prior predictive (D3): none of them appears on the page, in its source or in its downloads, at 3 to 6
    decimals, nor in exact form; no glued value rounds to one of them."""
    tosses = mh.data.COIN_TOSSES
    d1 = mh.estimators.bernoulli_map(tosses, 0.5, 0.1)
    answers = {"D1": d1, "D2": (1 - d1) ** 2, "D3": mh.estimators.predictive_head(tosses)}
    # The test's own answers are the ones ps1 expects (exact values from the stationarity cubic and Beta(4, 5)).
    assert answers["D1"] == pytest.approx(1 / math.sqrt(5), abs=1e-12)
    assert answers["D3"] == pytest.approx(stats.beta(1 + sum(tosses), 1 + len(tosses) - sum(tosses)).mean())
    html_dir = built_book / "_build" / "html"
    sources = [html_dir / "_sources" / "book" / name for name in ("bernoulli.md", "bernoulli.ipynb")]
    texts = {"page text": page.text, "printed output": page.printed, "page html": page.html[page.html.index("<main"):]}
    texts.update({path.name: _readable_text(path) for path in sources if path.exists()})
    assert len(texts) == 5, f"the page's sources are missing from {html_dir / '_sources'}"
    found = []
    for (task, value), decimals in itertools.product(answers.items(), range(3, 7)):
        shown = f"{value:.{decimals}f}"
        pattern = rf"(?<![\d.]){re.escape(shown)}(?!\d)"
        found += [f"{task} as {shown} in the {where}" for where, text in texts.items() if re.search(pattern, text)]
    exact = {"D1 or D2 (sqrt 5)": r"\\sqrt\s*\{?\s*5\b",
             "D2 (6/5 - ...)": r"\\t?frac\{?6\}?\{?5\}?|(?<![\d/])6/5(?!\d)",
             "D3 (4/9)": r"\\t?frac\{4\}\{9\}|(?<![\d/.])4/9(?!\d)"}
    found += [f"{task} in exact form in the {where}" for task, pattern in exact.items()
              for where, text in texts.items() if re.search(pattern, text)]
    assert not found, found
    for name, value in glued.items():
        for task, answer in answers.items():
            assert f"{value:.3f}" != f"{answer:.3f}", (name, value, task)


def _readable_text(path) -> str:
    """A source file's text; for a notebook, its cells and text outputs (not base64 images, which are noise)."""
    if path.suffix != ".ipynb":
        return path.read_text()
    notebook = json.loads(path.read_text())
    parts = []
    for cell in notebook["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts += ["".join(value) for kind, value in output.get("data", {}).items() if kind.startswith("text/")]
    return "\n".join(parts)


def test_the_leak_finder_finds_a_d_answer_in_any_rounding():
    """The patterns above do find a leaked answer, and do not fire on a longer number that merely starts alike."""
    d1 = 1 / math.sqrt(5)
    for decimals in range(3, 7):
        shown = f"{d1:.{decimals}f}"
        assert re.search(rf"(?<![\d.]){re.escape(shown)}(?!\d)", f"the MAP is {shown}.")
    assert not re.search(r"(?<![\d.])0\.447(?!\d)", "the MAP is 0.44712.")
    assert states_fraction("so \\frac{8}{17} =", 8, 17) and not states_fraction("18/170", 8, 17)


# ---------------------------------------------------------------- MAP as an L2-penalised MLE


def _shrinkage_table(page: Page) -> list[list[float]]:
    """The rows (v, 1/(2v), MAP, share in %) of the page's table of the MAP against the prior variance."""
    table = next(t for t in re.findall(r"<table.*?</table>", page.html, re.S) if "penalty weight" in t)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells:
            rows.append([float(cell.rstrip("%")) for cell in cells])
    return rows


def test_the_map_is_the_penalised_mle_and_the_table_shrinks_towards_m(page, glued):
    rows = _shrinkage_table(page)
    assert len(rows) >= 4
    mle = HEADS / N
    maps = []
    for v, weight, shown_map, share in rows:
        assert weight == pytest.approx(1 / (2 * v), rel=1e-12)
        # the log posterior is ell(theta) - lambda (theta - m)^2: maximise the penalised log-likelihood directly
        lam = 1 / (2 * v)
        penalised = optimize.minimize_scalar(
            lambda th: -(HEADS * np.log(th) + TAILS * np.log1p(-th) - lam * (th - PRIOR_MEAN) ** 2),
            bounds=(1e-12, 1 - 1e-12), method="bounded", options={"xatol": 1e-13}).x
        assert penalised == pytest.approx(map_normal_prior(PRIOR_MEAN, v), abs=1e-8)
        assert shown_map == pytest.approx(penalised, abs=5e-5)
        assert share == pytest.approx(100 * (penalised - mle) / (PRIOR_MEAN - mle), abs=0.05)
        maps.append(penalised)
    vs = [row[0] for row in rows]
    assert vs == sorted(vs, reverse=True) and maps == sorted(maps)  # smaller v, larger MAP
    assert all(mle < value < PRIOR_MEAN for value in maps)
    assert glued["map_vague"] == pytest.approx(map_normal_prior(PRIOR_MEAN, vs[0]), abs=1e-8)
    assert glued["map_confident"] == pytest.approx(map_normal_prior(PRIOR_MEAN, vs[-1]), abs=1e-8)
    assert glued["share_vague"] == pytest.approx((glued["map_vague"] - mle) / (PRIOR_MEAN - mle), abs=1e-12)
    assert glued["share_confident"] == pytest.approx((glued["map_confident"] - mle) / (PRIOR_MEAN - mle), abs=1e-12)
    assert "\\lambda = \\frac{1}{2v}" in page.text
    assert (vs[0], vs[-1]) == (1, 0.001) and "With v = 1 (penalty weight 1/2)" in page.text
    assert "With v = 1/1000 (weight 500)" in page.text


def test_the_shrinkage_theorem_holds_for_many_data_and_priors():
    """Between the MLE and m, strictly monotone in v, MLE as v -> infinity, m as v -> 0 (0 < h < n, m in (0, 1))."""
    variances = [100.0, 10.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001]
    for n in (3, 7, 20):
        for h in range(1, n):
            mle = h / n
            for m in (0.1, 0.35, 0.6, 0.9):
                maps = [optimize.brentq(lambda th: h / th - (n - h) / (1 - th) - (th - m) / v, 1e-14, 1 - 1e-14,
                                        xtol=1e-15) for v in variances]
                lo, hi = sorted((mle, m))
                if mle == m:
                    assert maps == pytest.approx([m] * len(maps), abs=1e-12)
                    continue
                assert all(lo < value < hi for value in maps), (n, h, m, maps)
                steps = np.diff(maps) * np.sign(m - mle)
                assert np.all(steps > 0), (n, h, m, maps)  # strictly towards m as v decreases
                tiny, huge = (optimize.brentq(lambda th: h / th - (n - h) / (1 - th) - (th - m) / v,
                                              1e-14, 1 - 1e-14, xtol=1e-15) for v in (1e-9, 1e9))
                assert tiny == pytest.approx(m, abs=1e-5) and huge == pytest.approx(mle, abs=1e-6)


def test_the_penalty_and_limit_exercises(page):
    # A penalty that lands on a fair coin: m = 0.7, lambda = 5, so v = 1/10, puts the MAP at 1/2.
    lam = sympy.Symbol("lambda")
    half = sympy.Rational(1, 2)
    slope_at_half = HEADS / half - TAILS / (1 - half) - 2 * lam * (half - sympy.Rational(7, 10))
    assert sympy.solve(slope_at_half, lam) == [5]
    assert map_normal_prior(0.7, 1 / (2 * 5)) == pytest.approx(0.5, abs=1e-8)
    assert "\\lambda = 5" in page.text and "v = 1/(2\\lambda) = 1/10" in page.text
    # Weak and strong priors: as v -> 0 the cubic tends to theta (theta - 1)(theta - 0.6).
    theta = sympy.Symbol("theta")
    m = sympy.Rational(3, 5)
    assert sympy.expand(theta * (theta - 1) * (theta - m) - (theta**3 - (1 + m) * theta**2 + m * theta)) == 0
    assert map_normal_prior(PRIOR_MEAN, 1e-10) == pytest.approx(PRIOR_MEAN, abs=1e-5)
    assert map_normal_prior(PRIOR_MEAN, 1e10) == pytest.approx(HEADS / N, abs=1e-6)


# ---------------------------------------------------------------- the conjugate update and the posterior mean


def test_the_beta_prior_is_conjugate_with_posterior_beta_a_plus_h_b_plus_t():
    """Prior times likelihood, normalised by quadrature, is the Beta(a + h, b + t) density of scipy; the evidence
    is B(a + h, b + t)/B(a, b). Whole and fractional prior parameters."""
    for a, b, h, t in ((1, 1, 3, 4), (5, 5, 3, 4), (0.5, 2.5, 2, 9), (3.2, 0.7, 6, 1)):
        prior = stats.beta(a, b)

        def unnormalised(th, a=a, b=b, h=h, t=t, prior=prior):
            return th**h * (1 - th) ** t * prior.pdf(th)

        evidence, _ = integrate.quad(unnormalised, 0, 1, epsabs=1e-14, epsrel=1e-12)
        assert evidence == pytest.approx(special.beta(a + h, b + t) / special.beta(a, b), rel=1e-8)
        for th in (0.05, 0.3, 0.5, 0.77, 0.95):
            assert unnormalised(th) / evidence == pytest.approx(stats.beta(a + h, b + t).pdf(th), rel=1e-8)
    assert mh.estimators.beta_posterior(mh.data.COIN_TOSSES, PRIOR_A, PRIOR_B) == (ALPHA, BETA)


def test_the_pages_posterior_and_its_normalising_constant(page):
    assert page.numbers_after("posterior Beta(") == [ALPHA, BETA]
    assert "\\mathrm{Beta}(5 + 3, 5 + 4) = \\mathrm{Beta}(8, 9)" in page.text
    # B(8, 9) = 7! 8! / 16! = 1/102960, and the printed integral of theta^7 (1 - theta)^8 is it.
    exact = Fraction(math.factorial(ALPHA - 1) * math.factorial(BETA - 1), math.factorial(ALPHA + BETA - 1))
    assert exact == Fraction(1, 102960) and states_fraction(page.text, 1, 102960)
    assert float(exact) == pytest.approx(special.beta(ALPHA, BETA), rel=1e-12)
    printed = page.numbers_after(f"integral of theta^{ALPHA - 1} (1-theta)^{BETA - 1} =")
    integral, stated = printed[0], printed[-1]
    assert integral == pytest.approx(special.beta(ALPHA, BETA), rel=1e-6)
    assert stated == pytest.approx(float(exact), rel=1e-6)


def test_the_posterior_mean_is_the_weighted_average_of_prior_mean_and_mle(page, glued):
    a, b, h, n = sympy.symbols("a b h n", positive=True)
    weight = (a + b) / (a + b + n)
    assert sympy.simplify(weight * a / (a + b) + (1 - weight) * h / n - (a + h) / (a + b + n)) == 0
    assert sympy.simplify(weight + n / (a + b + n) - 1) == 0
    # The page's example: Beta(5, 5) prior, seven tosses: 8/17 = 10/17 * 1/2 + 7/17 * 3/7.
    posterior = stats.beta(ALPHA, BETA)
    prior_weight = Fraction(PRIOR_A + PRIOR_B, PRIOR_A + PRIOR_B + N)
    blend = prior_weight * Fraction(PRIOR_A, PRIOR_A + PRIOR_B) + (1 - prior_weight) * Fraction(HEADS, N)
    assert (prior_weight, blend) == (Fraction(10, 17), Fraction(8, 17))
    assert float(blend) == pytest.approx(posterior.mean(), abs=1e-15)
    assert glued["p_next_head"] == pytest.approx(posterior.mean(), abs=1e-15)
    for p, q in ((8, 17), (10, 17), (7, 17), (5, 17), (3, 17)):
        assert states_fraction(page.text, p, q), f"{p}/{q}"
    assert page.numbers_after("weight of the prior mean =")[0] == pytest.approx(10 / 17, abs=1e-6)
    assert page.numbers_after("posterior mean by numerical integration =") == [pytest.approx(8 / 17, abs=1e-6)]
    # With a uniform prior the same formula is the rule of succession (h + 1)/(n + 2).
    assert sympy.simplify(((a + h) / (a + b + n)).subs({a: 1, b: 1}) - (h + 1) / (n + 2)) == 0
    assert "(h + 1)/(n + 2)" in page.text


def test_the_exercises_on_the_beta_prior(page):
    # A prior worth twenty tosses: Beta(10, 10) -> Beta(13, 14), mode 12/25, mean 13/27 = 20/27 * 1/2 + 7/27 * 3/7.
    posterior = stats.beta(10 + HEADS, 10 + TAILS)
    assert beta_mode(10 + HEADS, 10 + TAILS) == pytest.approx(12 / 25, abs=1e-7)
    assert posterior.mean() == pytest.approx(13 / 27, abs=1e-15)
    assert Fraction(20, 27) * Fraction(1, 2) + Fraction(7, 27) * Fraction(3, 7) == Fraction(13, 27)
    for p, q in ((12, 25), (13, 27), (20, 27), (7, 27)):
        assert states_fraction(page.text, p, q), f"{p}/{q}"
    assert "\\mathrm{Beta}(13, 14)" in page.text
    # Updating one batch at a time: (0, 0, 1, 1) then (0, 0, 1) from Beta(5, 5) is Beta(7, 7), then Beta(8, 9).
    first, last = mh.data.COIN_TOSSES[:4], mh.data.COIN_TOSSES[4:]
    middle = mh.estimators.beta_posterior(first, PRIOR_A, PRIOR_B)
    assert middle == (7, 7) and mh.estimators.beta_posterior(last, *middle) == (ALPHA, BETA)
    assert "\\mathrm{Beta}(7, 7)" in page.text and "\\mathrm{Beta}(7 + 1, 7 + 2) = \\mathrm{Beta}(8, 9)" in page.text


# ---------------------------------------------------------------- plug-in vs Bayesian predictive


def test_the_bayesian_probability_of_two_tails_is_the_closed_form():
    """E[(1 - theta)^2] under Beta(a, b) is b(b + 1)/((a + b)(a + b + 1)): exact integrals (sympy) for whole a, b,
    quadrature for fractional ones, and the decomposition (1 - mean)^2 + variance."""
    theta = sympy.Symbol("theta")
    for a, b in ((1, 1), (8, 9), (2, 5), (6, 3)):
        kernel = theta ** (a - 1) * (1 - theta) ** (b - 1)
        density = kernel / sympy.integrate(kernel, (theta, 0, 1))
        expected = sympy.Rational(b * (b + 1), (a + b) * (a + b + 1))
        assert sympy.integrate((1 - theta) ** 2 * density, (theta, 0, 1)) == expected
    for a, b in ((0.5, 0.5), (2.3, 7.1), (8, 9)):
        posterior = stats.beta(a, b)
        value, _ = integrate.quad(lambda th: (1 - th) ** 2 * posterior.pdf(th), 0, 1, epsabs=1e-14)
        assert value == pytest.approx(b * (b + 1) / ((a + b) * (a + b + 1)), rel=1e-9)
        assert value == pytest.approx((1 - posterior.mean()) ** 2 + posterior.var(), rel=1e-9)


def test_the_pages_plug_in_and_bayesian_two_tails(page, glued):
    posterior = stats.beta(ALPHA, BETA)
    mode = beta_mode(ALPHA, BETA)
    assert mode == pytest.approx(7 / 15, abs=1e-7)
    bayes, _ = integrate.quad(lambda th: (1 - th) ** 2 * posterior.pdf(th), 0, 1, epsabs=1e-14)
    assert glued["p_two_tails_plugin"] == pytest.approx((1 - mode) ** 2, abs=1e-7)
    assert glued["p_two_tails_bayes"] == pytest.approx(bayes, abs=1e-10)
    # The fractions the page writes, and its comparison by cross-multiplication.
    assert Fraction(8, 15) ** 2 == Fraction(64, 225) and Fraction(9 * 10, 17 * 18) == Fraction(5, 17)
    assert Fraction(9, 17) ** 2 + Fraction(8 * 9, 17**2 * 18) == Fraction(81, 289) + Fraction(4, 289) == Fraction(5, 17)
    assert Fraction(4, 289) == pytest.approx(posterior.var(), abs=1e-15)
    assert 64 * 17 == 1088 < 1125 == 5 * 225 and glued["p_two_tails_plugin"] < glued["p_two_tails_bayes"]
    for p, q in ((7, 15), (64, 225), (5, 17), (81, 289), (4, 289)):
        assert states_fraction(page.text, p, q), f"{p}/{q}"
    # Printed: the closed form, the integral and the simulation (within four of its standard errors).
    assert page.numbers_after("Bayesian   E[(1 - theta)^2 | D]   =")[0] == pytest.approx(bayes, abs=1e-6)
    assert page.numbers_after("by numerical integration        =") == [pytest.approx(bayes, abs=1e-6)]
    draws, simulated, se = _simulation_line(page)
    assert se == pytest.approx(math.sqrt(bayes * (1 - bayes) / draws), abs=1e-4)
    assert abs(simulated - bayes) < 4 * se
    # The rounding note: rounding theta_MAP to 3 decimals first changes the fourth decimal of the answer.
    assert glued["theta_map_beta_rounded"] == round(7 / 15, 3)
    assert glued["p_plugin_rounded"] == pytest.approx((1 - round(7 / 15, 3)) ** 2, abs=1e-15)
    assert f"{glued['p_plugin_rounded']:.4f}" != f"{(1 - mode) ** 2:.4f}"


def _simulation_line(page: Page) -> tuple[float, float, float]:
    """(draws, estimate, standard error) of the printed simulation of two more tails."""
    pattern = r"by simulation, ([\d,]+) draws = " + NUMBER + r" \(standard error " + NUMBER + r"\)"
    match = re.search(pattern, page.printed)
    assert match, "the page no longer prints its simulation of two more tails"
    return float(match.group(1).replace(",", "")), float(match.group(2)), float(match.group(3))


def test_the_three_tails_exercise(page):
    posterior = stats.beta(ALPHA, BETA)
    bayes, _ = integrate.quad(lambda th: (1 - th) ** 3 * posterior.pdf(th), 0, 1, epsabs=1e-14)
    assert bayes == pytest.approx(55 / 323, rel=1e-10)
    assert Fraction(9 * 10 * 11, 17 * 18 * 19) == Fraction(55, 323) and Fraction(8, 15) ** 3 == Fraction(512, 3375)
    assert 55 * 3375 == 185625 > 165376 == 512 * 323
    assert states_fraction(page.text, 55, 323) and states_fraction(page.text, 512, 3375)


# ---------------------------------------------------------------- the MAP depends on the parametrisation


def _map_in_log_odds(log_density_theta, lo=-30, hi=30):
    """The maximiser over psi of log p_theta(theta(psi)) + log(d theta/d psi), mapped back to theta (scipy)."""
    def minus_log_density(psi):
        th = special.expit(psi)
        return -(log_density_theta(th) + np.log(th) + np.log1p(-th))  # d theta / d psi = theta (1 - theta)

    psi = optimize.minimize_scalar(minus_log_density, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).x
    return special.expit(psi)


def test_the_map_in_log_odds_is_the_posterior_mean_and_the_mle_is_invariant(page):
    # The Jacobian of the log-odds: d/dpsi of 1/(1 + exp(-psi)) is theta (1 - theta).
    psi = sympy.Symbol("psi", real=True)
    theta = 1 / (1 + sympy.exp(-psi))
    assert sympy.simplify(sympy.diff(theta, psi) - theta * (1 - theta)) == 0
    A, B = sympy.symbols("A B", positive=True)
    score = sympy.diff(A * sympy.log(theta) + B * sympy.log(1 - theta), psi)
    assert sympy.simplify(score - (A * (1 - theta) - B * theta)) == 0
    # The page's example, by brute optimisation of scipy's densities.
    posterior = stats.beta(ALPHA, BETA)
    in_theta = beta_mode(ALPHA, BETA)
    in_psi = _map_in_log_odds(posterior.logpdf)
    assert in_theta == pytest.approx(7 / 15, abs=1e-7) and in_psi == pytest.approx(8 / 17, abs=1e-7)
    assert in_psi == pytest.approx(posterior.mean(), abs=1e-7)
    loglik_in_psi = optimize.minimize_scalar(
        lambda s: -(HEADS * np.log(special.expit(s)) + TAILS * np.log1p(-special.expit(s))),
        bounds=(-30, 30), method="bounded", options={"xatol": 1e-12}).x
    assert special.expit(loglik_in_psi) == pytest.approx(HEADS / N, abs=1e-7)  # the MLE does not move
    assert page.numbers_after("MAP in theta                    =")[0] == pytest.approx(in_theta, abs=1e-4)
    assert page.numbers_after("MAP in psi, mapped back to theta =")[0] == pytest.approx(in_psi, abs=1e-4)
    assert page.numbers_after("MLE in psi, mapped back to theta =")[0] == pytest.approx(HEADS / N, abs=1e-4)
    assert "are 7/15 and 8/17" in page.text


def test_the_non_invariance_theorem_for_many_priors_and_data(page):
    """theta_MAP = (a + h - 1)/(a + b + n - 2), the psi-MAP maps back to (a + h)/(a + b + n), equal iff a + h = b + t,
    and the latter lies between the former and 1/2; the uniform prior gives h/n and (h + 1)/(n + 2)."""
    for a, b, h, t in itertools.product((1, 2, 5, 0.7, 3.5), (1, 3, 0.8), (1, 3, 6), (0, 2, 5)):
        alpha, beta = a + h, b + t
        if alpha <= 1 or beta <= 1:
            continue
        in_theta, in_psi = beta_mode(alpha, beta), _map_in_log_odds(stats.beta(alpha, beta).logpdf)
        assert in_theta == pytest.approx((alpha - 1) / (alpha + beta - 2), abs=1e-6)
        assert in_psi == pytest.approx(alpha / (alpha + beta), abs=1e-6)
        assert (abs(in_theta - in_psi) < 1e-5) == (alpha == beta)
        assert min(in_theta, 0.5) - 1e-9 <= in_psi <= max(in_theta, 0.5) + 1e-9
        if a == b == 1:
            assert in_theta == pytest.approx(h / (h + t), abs=1e-6)
            assert in_psi == pytest.approx((h + 1) / (h + t + 2), abs=1e-6)
    assert "\\theta(\\psi_{\\mathrm{MAP}}) = (h + 1)/(n + 2)" in page.text


def test_the_flat_log_odds_exercise(page):
    """A prior flat in psi is 1/(theta (1 - theta)) in theta: the theta-MAP is 2/5, the psi-MAP the MLE 3/7."""
    theta_posterior = optimize.minimize_scalar(
        lambda th: -((HEADS - 1) * np.log(th) + (TAILS - 1) * np.log1p(-th)),
        bounds=(1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-12}).x
    assert theta_posterior == pytest.approx(2 / 5, abs=1e-7)
    # In psi, the density 1/(theta (1 - theta)) times the Jacobian theta (1 - theta) is flat: the likelihood alone.
    in_psi = _map_in_log_odds(lambda th: HEADS * np.log(th) + TAILS * np.log1p(-th) - np.log(th) - np.log1p(-th))
    assert in_psi == pytest.approx(HEADS / N, abs=1e-7)
    assert "\\theta_{\\mathrm{MAP}} = 2/5" in page.text and "\\theta^{2}(1 - \\theta)^{3}" in page.text
