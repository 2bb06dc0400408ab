"""Stated results of chapter 12 (logistic regression), read from the built book.

Each test reads the built page (``pages.Page``): what its cells printed, what its
prose states, the values it glued and the LaTeX of its numbered equations, and
checks them against an independent computation: statsmodels' own logistic fit
(``sm.Logit``, its score and Hessian), scipy (``linprog`` for separation,
``minimize`` for the MAP, ``log_expit`` for the log-likelihood) and fits written
here in numpy.
"""
from __future__ import annotations

import html
import math
import re
from fractions import Fraction

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import optimize, special
from statsmodels.datasets import spector

import mle_helpers as mh
from pages import Page

pytestmark = pytest.mark.slow

TOL = 1e-6  # the page's tolerance on the largest entry of the gradient, for the comparison of methods
NAMES = ["intercept", "GPA", "TUCE", "PSI"]


@pytest.fixture(scope="module")
def page(built_book):
    return Page(built_book, "logistic_regression")


@pytest.fixture(scope="module")
def glued(page):
    return page.glued()


def equation(page: Page, label: str) -> str:
    """The LaTeX of a numbered equation of the page (inside its \\[ \\]), with all whitespace removed."""
    match = re.search(r'id="equation-' + re.escape(label.replace(":", "-")) + r'">.*?\\\[(.*?)\\\]', page.html, flags=re.S)
    assert match, f"{page.name}: no equation {label}"
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", match.group(1))))


def spector_data() -> tuple[np.ndarray, np.ndarray]:
    """The Spector data as statsmodels ships them: the design (constant first) and the outcomes."""
    data = spector.load_pandas().data
    X = sm.add_constant(data[["GPA", "TUCE", "PSI"]].to_numpy(), prepend=True)
    return X, data["GRADE"].to_numpy()


def statsmodels_fit(X: np.ndarray, y: np.ndarray):
    fit = sm.Logit(y, X).fit(disp=0)
    assert fit.mle_retvals["converged"]
    return fit


def loglik(beta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """eq:logit-loglik from scipy's log of the logistic function, not from the page's softplus form."""
    u = X @ beta
    return float(np.sum(y * special.log_expit(u) + (1 - y) * special.log_expit(-u)))


def standardised(X: np.ndarray) -> np.ndarray:
    covariates = X[:, 1:]
    return np.column_stack([np.ones(len(X)), (covariates - covariates.mean(0)) / covariates.std(0, ddof=1)])


def numpy_newton(X, y, tol=1e-10, max_steps=50, prior_var=None, stop=True):
    """Newton's method in numpy: iterates, and the largest |gradient| entry at each (before its step)."""
    beta = np.zeros(X.shape[1])
    path, gradients, steps = [beta], [], []
    for _ in range(max_steps):
        u = X @ beta
        p = special.expit(u)
        gradient = X.T @ (y - p)
        curvature = X.T @ ((special.expit(u) * special.expit(-u))[:, None] * X)  # p (1 - p) without cancellation
        if prior_var is not None:
            gradient, curvature = gradient - beta / prior_var, curvature + np.eye(len(beta)) / prior_var
        gradients.append(np.abs(gradient).max())
        if stop and gradients[-1] <= tol:
            break
        step = np.linalg.solve(curvature, gradient)
        beta = beta + step
        path.append(beta)
        steps.append(np.abs(step).max())
    return np.array(path), gradients, steps


def numpy_gradient_ascent(X, y, lr, tol=TOL, max_steps=100_000):
    beta = np.zeros(X.shape[1])
    for step in range(max_steps + 1):
        gradient = X.T @ (y - special.expit(X @ beta))
        if np.abs(gradient).max() <= tol or step == max_steps:
            return beta, step, np.abs(gradient).max()
        beta = beta + lr * gradient


# ---------------------------------------------------------------- the model, its derivatives and concavity


def test_gradient_and_hessian_are_statsmodels_score_and_hessian(page):
    """eq:logit-gradient and eq:logit-hessian, as the page writes them, are statsmodels' score and Hessian."""
    assert equation(page, "eq:logit-gradient").endswith(r"=X^\top(y-p),")
    assert r"=-X^\topWX" in equation(page, "eq:logit-hessian")
    assert r"y_i\,x_i^\top\beta-\log\big(1+e^{x_i^\top\beta}\big)" in equation(page, "eq:logit-loglik-simple")
    X, y = spector_data()
    model = sm.Logit(y, X)
    rng = np.random.default_rng(0)
    for _ in range(5):
        beta = rng.normal(size=4) / 5
        p = special.expit(X @ beta)
        assert np.allclose(X.T @ (y - p), model.score(beta), rtol=1e-10, atol=1e-10)
        assert np.allclose(-X.T @ ((p * (1 - p))[:, None] * X), model.hessian(beta), rtol=1e-10)
        assert loglik(beta, X, y) == pytest.approx(model.loglike(beta), rel=1e-12)
    # The page's autograd check found only rounding errors.
    [gradient_gap, _] = page.stated("largest gap, gradient: {} (entries up to {})", where="printed")
    [hessian_gap, hessian_scale] = page.stated("largest gap, Hessian: {} (entries up to {})", where="printed")
    assert gradient_gap < 1e-12 and hessian_gap < 1e-14 * hessian_scale


def test_the_log_likelihood_is_concave_and_the_safe_step_climbs(page):
    """thm-logit-concave and thm-logit-safe-step on the Spector design, at many points and in many directions."""
    assert "Theorem 12.1 (The logistic log-likelihood is concave)" in page.text
    assert "Theorem 12.2 (A safe learning rate for logistic regression)" in page.text
    X, y = spector_data()
    assert np.linalg.matrix_rank(X) == 4
    h_max = np.linalg.eigvalsh(X.T @ X).max() / 4
    rng = np.random.default_rng(1)
    for _ in range(200):
        beta = rng.normal(size=4) * np.array([3.0, 1.0, 0.1, 1.0]) * rng.choice([0.3, 1.0, 3.0])  # x_i^T beta of order 1-10
        p = special.expit(X @ beta)
        assert np.all(p * (1 - p) <= 0.25)
        hessian = sm.Logit(y, X).hessian(beta)
        assert np.linalg.eigvalsh(hessian).max() < 0
        gradient = X.T @ (y - p)
        gain = loglik(beta + gradient / h_max, X, y) - loglik(beta, X, y)
        assert gain >= gradient @ gradient / (2 * h_max) * (1 - 1e-9) - 1e-12
    # A stationary point is the maximiser: statsmodels' MLE beats every random point.
    beta_hat = statsmodels_fit(X, y).params
    assert all(loglik(beta_hat, X, y) > loglik(beta_hat + rng.normal(size=4) / 10, X, y) for _ in range(100))


def test_irls_is_the_newton_step(page):
    """eq:logit-irls is eq:logit-newton: the weighted least-squares solution with the working response is the Newton iterate."""
    assert r"z_t=X\beta_t+W_t^{-1}(y-p_t)" in equation(page, "eq:logit-irls")
    X, y = spector_data()
    beta = np.array([-5.0, 1.0, 0.05, 1.0])
    p = special.expit(X @ beta)
    w = p * (1 - p)
    newton = beta + np.linalg.solve(X.T @ (w[:, None] * X), X.T @ (y - p))
    working = X @ beta + (y - p) / w
    weighted_least_squares = np.linalg.lstsq(X * np.sqrt(w)[:, None], working * np.sqrt(w), rcond=None)[0]
    assert np.allclose(newton, weighted_least_squares, rtol=1e-9)


# ---------------------------------------------------------------- the Spector fit and its standard errors


def test_estimates_and_standard_errors_match_statsmodels(page, glued):
    """The page's table (6 decimals) and glued values against statsmodels' unpenalised fit, to 1e-6."""
    X, y = spector_data()
    fit = statsmodels_fit(X, y)
    intervals = fit.conf_int(alpha=0.05)
    for j, name in enumerate(NAMES):
        estimate, se, z_value, low, high = page.numbers_after(name)
        assert estimate == pytest.approx(fit.params[j], abs=1e-6), name
        assert se == pytest.approx(fit.bse[j], abs=1e-6), name
        assert z_value == pytest.approx(fit.tvalues[j], abs=1e-3), name
        assert (low, high) == pytest.approx(tuple(intervals[j]), abs=1e-6), name
    psi = NAMES.index("PSI")
    assert glued["logit_psi_hat"] == pytest.approx(fit.params[psi], abs=1e-9)
    assert glued["logit_psi_se"] == pytest.approx(fit.bse[psi], abs=1e-9)
    assert (glued["logit_psi_low"], glued["logit_psi_high"]) == pytest.approx(tuple(intervals[psi]), abs=1e-9)
    assert glued["logit_psi_odds"] == pytest.approx(math.exp(fit.params[psi]), rel=1e-9)
    assert (glued["logit_psi_odds_low"], glued["logit_psi_odds_high"]) == pytest.approx(tuple(np.exp(intervals[psi])), rel=1e-9)
    # The prose: the PSI interval lies above zero, the TUCE interval contains it.
    assert intervals[psi][0] > 0 and "lies above zero" in page.text
    tuce = NAMES.index("TUCE")
    assert intervals[tuce][0] < 0 < intervals[tuce][1] and "contains zero" in page.text
    assert (glued["logit_tuce_low"], glued["logit_tuce_high"]) == pytest.approx(tuple(intervals[tuce]), abs=1e-9)
    # The observed information from autograd is X^T W X at the MLE.
    [gap] = page.stated("largest gap between autograd's J and X^T W X: {}", where="printed")
    assert gap < 1e-10 and glued["logit_J_gap"] == pytest.approx(gap, rel=0.06)
    assert glued["logit_improved"] == int(y.sum())


def test_the_fitted_curves_are_as_the_alt_text_says(page):
    """fig-logit-spector-fit: near 0 at GPA 2, about 0.6 and above 0.9 at GPA 4; the improved have high GPAs and PSI."""
    X, y = spector_data()
    beta = statsmodels_fit(X, y).params
    tuce = X[:, 2].mean()

    def curve(gpa, psi):
        return special.expit(beta @ np.array([1.0, gpa, tuce, psi]))

    assert curve(2.0, 0) < 0.01 and 0.55 < curve(4.0, 0) < 0.65
    assert 0.03 < curve(2.0, 1) < 0.07 and curve(4.0, 1) > 0.9
    assert all(curve(g, 1) > curve(g, 0) for g in np.linspace(2, 4, 21))
    improved = y == 1
    assert np.mean(X[improved, 1] > np.median(X[:, 1])) > 0.5 and np.mean(X[improved, 3]) > 0.5
    assert "about 0.6; with PSI it climbs from about 0.05 to above 0.9" in page.html


# ---------------------------------------------------------------- three methods, and the scale


def test_iteration_counts_to_the_same_tolerance(page, glued):
    """Newton, L-BFGS and gradient ascent on the standardised data: the page's counts against fits done here."""
    X, y = spector_data()
    X_std = standardised(X)
    counts = {method: int(page.numbers_after(f"{method}:")[0]) for method in ("gradient ascent", "Newton", "L-BFGS")}
    assert counts == {"gradient ascent": glued["logit_iter_ga"], "Newton": glued["logit_iter_newton"],
                      "L-BFGS": glued["logit_iter_lbfgs"]}
    for method in counts:  # each stopped within the tolerance
        assert page.numbers_after(f"{method}:")[-1] <= TOL
    # Newton's method, written here in numpy.
    path, gradients, _ = numpy_newton(X_std, y, tol=TOL)
    assert counts["Newton"] == len(gradients) - 1
    last = [glued[f"logit_newton_last_{k}"] for k in (3, 2, 1)]
    assert last == pytest.approx(gradients[-3:], rel=1e-4) and last[2] <= TOL < last[1]
    # "the exponent roughly doubles at each step"
    exponents = np.log10(gradients[-3:])
    assert 1.5 < exponents[1] / exponents[0] < 2.5 and 1.5 < exponents[2] / exponents[1] < 2.5
    # Gradient ascent with the safe rate 4 / lambda_max(X^T X), in numpy.
    lr = 4 / np.linalg.eigvalsh(X_std.T @ X_std).max()
    _, ga_steps, _ = numpy_gradient_ascent(X_std, y, lr)
    assert abs(counts["gradient ascent"] - ga_steps) <= 1
    # torch's L-BFGS with the page's settings: the count is a property of that implementation.
    import torch

    Xt, yt = torch.tensor(X_std), torch.tensor(y, dtype=torch.float64)
    def lbfgs_steps(tol, max_steps=500):
        beta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([beta], lr=1, max_iter=1, max_eval=25, history_size=10, tolerance_grad=tol,
                                      tolerance_change=0, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            u = Xt @ beta
            nll = -(yt * torch.nn.functional.logsigmoid(u) + (1 - yt) * torch.nn.functional.logsigmoid(-u)).sum()
            nll.backward()
            return nll

        for step in range(max_steps + 1):
            if np.abs(X_std.T @ (y - special.expit(X_std @ beta.detach().numpy()))).max() <= tol:
                return step
            optimizer.step(closure)
        return None

    assert counts["L-BFGS"] == lbfgs_steps(TOL)
    # "A tighter tol would ask more than the line search of L-BFGS can deliver": at 1e-8 it stalls.
    assert lbfgs_steps(1e-8) is None
    # The prose's order, and the alt text's "about 20" and "about 100".
    assert counts["Newton"] < counts["L-BFGS"] < counts["gradient ascent"]
    assert counts["Newton"] == 5 and 12 <= counts["L-BFGS"] <= 18 and 60 <= counts["gradient ascent"] <= 80
    # All three reach statsmodels' estimate on the standardised scale.
    gamma = statsmodels_fit(X_std, y).params
    assert page.numbers_after("gamma_hat (Newton):") == pytest.approx(gamma, abs=1e-6)
    assert max(page.numbers_after("largest gap to it:")) < 1e-5
    assert all(glued[f"logit_ms_{m}"] > 0 for m in ("ga", "newton", "lbfgs"))


def test_newton_ignores_the_scale_and_gradient_ascent_does_not(page, glued):
    """thm-logit-newton-invariant and the rough step counts, against numpy fits on the raw and standardised designs."""
    X, y = spector_data()
    X_std = standardised(X)
    A = np.linalg.lstsq(X, X_std, rcond=None)[0]  # X_std = X A
    assert np.allclose(X @ A, X_std, atol=1e-12)
    raw_path, std_path = numpy_newton(X, y)[0], numpy_newton(X_std, y)[0]
    assert len(raw_path) == len(std_path)
    assert np.abs(raw_path - std_path @ A.T).max() < 1e-9
    # To the page's tol the counts differ, only because the gradient's entries depend on the coordinates.
    raw_count, std_count = (len(numpy_newton(design, y, tol=TOL)[1]) - 1 for design in (X, X_std))
    assert (glued["logit_iter_newton_raw"], glued["logit_iter_newton"]) == (raw_count, std_count)
    assert raw_count != std_count and np.allclose(X_std.T @ (y - 0.5), A.T @ (X.T @ (y - 0.5)))
    [gap] = page.stated("largest gap between the raw Newton iterates and A times the standardised ones: {}", where="printed")
    assert gap < 1e-10
    # Gradient ascent has no such property: one step from 0 differs.
    lr = 0.01
    step_raw = lr * X.T @ (y - 0.5)
    step_std = lr * X_std.T @ (y - 0.5)
    assert not np.allclose(step_raw, A @ step_std)
    # The rough counts log(G_0 / tol) / -log(1 - lr lambda_min(J)), G_0 the largest gradient entry at 0.
    for design, key in ((X_std, "std"), (X, "raw")):
        beta_hat = statsmodels_fit(design, y).params
        p = special.expit(design @ beta_hat)
        fraction = 4 / np.linalg.eigvalsh(design.T @ design).max() * np.linalg.eigvalsh(design.T @ ((p * (1 - p))[:, None] * design)).min()
        assert glued[f"logit_fraction_{key}"] == pytest.approx(fraction, rel=1e-6)
        G_0 = np.abs(design.T @ (y - 0.5)).max()
        assert glued[f"logit_count_{key}"] == pytest.approx(math.log(G_0 / TOL) / -math.log1p(-fraction), rel=1e-6)
    # "close to the ... observed" on the standardised scale; far beyond 5000 on the raw scale.
    assert glued["logit_count_std"] == pytest.approx(glued["logit_iter_ga"], rel=0.25)
    assert glued["logit_count_raw"] > 100 * 5000
    _, steps, gradient_size = numpy_gradient_ascent(X, y, 4 / np.linalg.eigvalsh(X.T @ X).max(), max_steps=5000)
    assert steps == 5000 and gradient_size > TOL
    assert glued["logit_ga_raw_gradient"] == pytest.approx(gradient_size, rel=1e-6)
    assert "after 5000 steps the gradient is still" in page.text


# ---------------------------------------------------------------- separation and the MAP

X_TOY = np.column_stack([np.ones(8), [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]])
Y_TOY = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=float)


def test_separated_data_have_no_mle(page, glued):
    """thm-logit-separation on the toy data: b separates them, the log-likelihood climbs to 0, Newton runs away."""
    assert "b = (-2.25, 1)" in page.text
    b = np.array([-2.25, 1.0])
    margins = (2 * Y_TOY - 1) * (X_TOY @ b)
    assert np.all(margins > 0)
    # A linear program finds the toy data separable, as the theorem's condition asks.
    lp = optimize.linprog(np.zeros(2), A_ub=-(2 * Y_TOY - 1)[:, None] * X_TOY, b_ub=-np.ones(8), bounds=[(None, None)] * 2)
    assert lp.status == 0
    values = [loglik(c * b, X_TOY, Y_TOY) for c in np.linspace(0, 200, 401)]
    assert all(v < 0 for v in values) and np.all(np.diff(values) > 0) and values[-1] > -1e-20
    for beta in np.random.default_rng(2).normal(size=(20, 2)) * 3:  # increasing along beta + c b from anywhere
        along = [loglik(beta + c * b, X_TOY, Y_TOY) for c in np.linspace(0, 10, 41)]
        assert np.all(np.diff(along) > 0)
    # Newton's method for 25 steps, in numpy.
    path, gradients, steps = numpy_newton(X_TOY, Y_TOY, max_steps=25, stop=False)
    assert glued["logit_toy_slope_25"] == pytest.approx(path[-1][1], rel=1e-6)
    assert glued["logit_toy_loglik_25"] == pytest.approx(loglik(path[-1], X_TOY, Y_TOY), rel=1e-4)
    assert glued["logit_toy_boundary"] == pytest.approx(-path[-1][0] / path[-1][1], rel=1e-9)
    assert glued["logit_toy_boundary"] == pytest.approx(2.25, abs=5e-5)
    first = next(t for t, size in enumerate(gradients) if size <= TOL)
    assert glued["logit_toy_first_below_tol"] == first
    assert glued["logit_toy_step_at_tol"] == pytest.approx(steps[first], rel=1e-6) and steps[first] > 1
    # "growing by about the same amount every step", and the alt text's "about 90"
    growth = np.diff(path[10:, 1])
    assert growth.max() / growth.min() < 1.01 and 85 < path[-1][1] < 95


@pytest.mark.parametrize("v", [1, 4, 16, 100])
def test_the_map_exists_and_matches_a_direct_maximisation(page, glued, v):
    """thm-logit-map-exists: scipy maximises eq:logit-map directly; its maximiser is the page's MAP and lies in the ball."""
    def negative_log_posterior(beta):
        return -loglik(beta, X_TOY, Y_TOY) + beta @ beta / (2 * v)

    def gradient(beta):
        return -X_TOY.T @ (Y_TOY - special.expit(X_TOY @ beta)) + beta / v

    result = optimize.minimize(negative_log_posterior, np.zeros(2), jac=gradient, method="BFGS", options={"gtol": 1e-11})
    beta_v = result.x
    printed = page.numbers_after(f"v = {v:3d}: MAP beta =")
    assert printed[0:2] == pytest.approx(beta_v, abs=1e-4)
    assert beta_v @ beta_v <= 2 * v * 8 * math.log(2)
    if v == 4:
        assert (glued["logit_map_b0"], glued["logit_map_b1"]) == pytest.approx(tuple(beta_v), abs=1e-7)
        assert glued["logit_map_steps"] == len(numpy_newton(X_TOY, Y_TOY, prior_var=v)[1]) - 1
        assert 1.1 < beta_v[1] < 1.3  # the alt text's "about 1.2"
    if v == 100:
        assert glued["logit_map_b1_v100"] == pytest.approx(beta_v[1], abs=1e-7)


def test_the_map_slope_grows_as_the_prior_fades():
    """ex-logit-map-growth: the MAP slopes increase with v, past any bound."""
    slopes = [numpy_newton(X_TOY, Y_TOY, prior_var=v)[0][-1][1] for v in [1, 4, 16, 100, 1e4, 1e6]]
    assert np.all(np.diff(slopes) > 0) and slopes[-1] > 5 * slopes[3]


# ---------------------------------------------------------------- coverage by simulation


def simulated(n_sim: int, num_replications: int = 4000):
    """The page's simulated data sets for one n, drawn with torch exactly as the page draws them."""
    import torch

    beta_true = torch.tensor([-0.5, 1.0, -1.0], dtype=torch.float64)
    generator = torch.Generator().manual_seed(n_sim)
    designs = torch.cat([torch.ones(num_replications, n_sim, 1, dtype=torch.float64),
                         torch.randn(num_replications, n_sim, 2, generator=generator, dtype=torch.float64)], dim=-1)
    outcomes = torch.bernoulli(torch.sigmoid(designs @ beta_true), generator=generator)
    return designs.numpy(), outcomes.numpy(), beta_true.numpy()


def batched_numpy_newton(designs, outcomes, num_steps=40):
    betas = np.zeros((len(designs), designs.shape[2]))
    for _ in range(num_steps):
        u = np.einsum("rnd,rd->rn", designs, betas)
        gradients = np.einsum("rnd,rn->rd", designs, outcomes - special.expit(u))
        curvatures = np.einsum("rnd,rn,rne->rde", designs, special.expit(u) * special.expit(-u), designs)
        steps = np.linalg.solve(curvatures, gradients[..., None])[..., 0]
        betas = betas + steps
    u = np.einsum("rnd,rd->rn", designs, betas)
    curvatures = np.einsum("rnd,rn,rne->rde", designs, special.expit(u) * special.expit(-u), designs)
    return betas, np.abs(steps).max(axis=1), np.sqrt(np.diagonal(np.linalg.inv(curvatures), axis1=1, axis2=2))


def test_coverage_of_the_wald_intervals(page, glued):
    """The simulation's table: which samples have no MLE (a linear program decides separation), and the coverages."""
    z = 1.959963984540054
    mc_error = math.sqrt(0.95 * 0.05 / 4000)
    printed = {}
    for line in page.printed.splitlines():
        match = re.match(r"\s*(20|50|200)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if match:
            printed[int(match.group(1))] = (int(match.group(2)), [float(match.group(k)) for k in (3, 4, 5)])
    assert sorted(printed) == [20, 50, 200], printed
    for n_sim, (no_mle, coverage) in printed.items():
        designs, outcomes, beta_true = simulated(n_sim)
        betas, last_steps, se = batched_numpy_newton(designs, outcomes)
        has_mle = last_steps <= 1e-8
        if n_sim == 20:
            # Separation decided by a linear program: (2 y_i - 1) x_i^T b >= 1 for all i is feasible.
            signs = 2 * outcomes - 1
            separable = np.array([optimize.linprog(np.zeros(3), A_ub=-signs[r][:, None] * designs[r], b_ub=-np.ones(n_sim),
                                                   bounds=[(None, None)] * 3, method="highs").status == 0
                                  for r in range(len(designs))])
            assert np.array_equal(separable, ~has_mle)
        assert no_mle == int((~has_mle).sum())
        covers = (np.abs(betas - beta_true) <= z * se)[has_mle].mean(axis=0)
        assert coverage == pytest.approx(covers, abs=5e-5 + 1 / 4000)
    assert glued["logit_no_mle_20"] == printed[20][0] > 0 and printed[50][0] == printed[200][0] == 0
    assert glued["logit_no_mle_share_20"] == pytest.approx(printed[20][0] / 4000)
    # The prose: over-coverage at n = 20, within two Monte Carlo errors of 0.95 at n = 200.
    assert min(printed[20][1]) > 0.95 + 2 * mc_error
    assert glued["logit_cover_min_20"] == pytest.approx(min(printed[20][1]), abs=5e-5)
    assert all(abs(c - 0.95) <= 2 * mc_error for c in printed[200][1])
    assert glued["logit_cover_min_200"] == pytest.approx(min(printed[200][1]), abs=5e-5)
    assert glued["logit_cover_max_200"] == pytest.approx(max(printed[200][1]), abs=5e-5)
    assert glued["logit_mc_error"] == pytest.approx(mc_error)
    # The first replication at n = 200, fitted by statsmodels.
    designs, outcomes, _ = simulated(200)
    fit = statsmodels_fit(designs[0], outcomes[0])
    numbers = page.numbers_after("first replication with n = 200:")
    assert numbers[0:3] == pytest.approx(fit.params, abs=1e-3) and numbers[3:6] == pytest.approx(fit.bse, abs=1e-3)
    assert numbers[6:9] == [-0.5, 1.0, -1.0]


# ---------------------------------------------------------------- the exercises


def test_the_coin_as_a_logistic_regression(page, glued):
    """ex-logit-coin: beta_0 = log(3/4), the first Newton iterate -2/7, se = sqrt(7/12), as statsmodels finds."""
    tosses = np.array(mh.data.COIN_TOSSES, dtype=float)
    h, n = int(tosses.sum()), len(tosses)
    assert (h, n) == (3, 7)
    # The first Newton step from 0 in exact arithmetic: (h - n/2) / (n/4).
    assert (Fraction(h) - Fraction(n, 2)) / Fraction(n, 4) == Fraction(-2, 7)
    assert glued["logit_coin_step1"] == pytest.approx(-2 / 7, abs=1e-12)
    theta = special.expit(-2 / 7)
    assert glued["logit_coin_step2"] == pytest.approx(-2 / 7 + (h - n * theta) / (n * theta * (1 - theta)), abs=1e-12)
    fit = statsmodels_fit(np.ones((n, 1)), tosses)
    assert glued["logit_coin_beta0"] == pytest.approx(fit.params[0], abs=1e-7) == math.log(3 / 4)
    assert glued["logit_coin_se"] == pytest.approx(fit.bse[0], abs=1e-7)
    assert glued["logit_coin_se"] == pytest.approx(math.sqrt(7 / 12), abs=1e-9)
    assert Fraction(7) * Fraction(3, 7) * Fraction(4, 7) == Fraction(12, 7)


def test_one_binary_covariate_has_a_closed_form(page, glued):
    """ex-logit-binary: the counts the exercise states, and the group log-odds against statsmodels' fit."""
    X, y = spector_data()
    psi = X[:, 3]
    assert (int(y[psi == 0].sum()), int((psi == 0).sum()), int(y[psi == 1].sum()), int((psi == 1).sum())) == (3, 18, 8, 14)
    assert "3 of the 18 students without PSI and 8 of the 14 with PSI improved" in page.text
    fit = statsmodels_fit(X[:, [0, 3]], y)
    assert (glued["logit_binary_b0"], glued["logit_binary_b1"]) == pytest.approx(tuple(fit.params), abs=1e-7)
    assert glued["logit_binary_b0_exact"] == pytest.approx(math.log(3 / 15), abs=1e-12)
    assert glued["logit_binary_b1_exact"] == pytest.approx(math.log(8 / 6) - math.log(3 / 15), abs=1e-12)
    assert glued["logit_binary_b1_exact"] == pytest.approx(fit.params[1], abs=1e-7)


# ---------------------------------------------------------------- place in the book


def test_chapter_is_twelve_and_points_to_problem_set_6(built_book, page):
    assert "When there is no closed form: logistic regression" in page.text
    assert "12.1. The data: does a teaching method help?" in page.text
    assert "Problem set 6 practises its methods on another generalised linear model" in page.text
    link = 'href="../exercises/ps6_poisson/ps6_poisson.html"'
    assert link in page.html
    intro = Page(built_book, "intro")
    assert link in intro.html
    assert "spector1980" in page.html or "Spector and Mazzeo" in page.text
