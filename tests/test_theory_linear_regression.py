"""Chapter 5's theory beyond one input: the matrix form, ridge regression as MAP, Laplace noise and LAD.

Each test reads what the *built* page computed (glued values, printed output,
the prose) and checks it against an independent computation on regenerated
data: numpy / scipy least squares, scipy minimisers of the log-likelihood and
of the log-posterior, scipy's linear programming for least absolute
deviations, and sympy for the exercises' algebra. A page whose claim breaks
(a wrong closed form, lambda not sigma^2/tau^2, E[RSS] not (n - p) sigma^2,
an LAD line that is not the minimiser) fails here.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy
import torch
from scipy import linalg, optimize, stats

import mle_helpers as mh
from pages import Page

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[1] / "book" / "linear_regression.md"


@pytest.fixture(scope="module")
def page(built_book):
    return Page(built_book, "linear_regression")


@pytest.fixture(scope="module")
def glued(page):
    return page.glued()


def _setting(pattern: str) -> tuple[str, ...]:
    match = re.search(pattern, SOURCE.read_text(), re.M)
    assert match, f"linear_regression.md no longer sets {pattern!r}"
    return match.groups()


def several_inputs() -> dict:
    """The page's data with three inputs, regenerated from the settings its cell runs with."""
    n, seed = (int(v) for v in _setting(r"^n_multi, multi_seed = (\d+), (\d+)$"))
    beta = np.array([float(v) for v in _setting(r"^beta_true = torch\.tensor\(\[([^\]]+)\]")[0].split(",")])
    noise_std = float(_setting(r"^noise_std_multi = (\S+)$")[0])
    mix = [float(v) for v in _setting(
        r"^inputs\[:, 1\] = (\S+) \* inputs\[:, 0\] \+ (\S+) \* inputs\[:, 1\]")]
    tau = float(_setting(r"^tau = (\S+)$")[0])
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(n, 3, generator=generator, dtype=torch.float64)
    inputs[:, 1] = mix[0] * inputs[:, 0] + mix[1] * inputs[:, 1]
    noise = torch.randn(n, generator=generator, dtype=torch.float64)
    Z = np.column_stack([inputs.numpy(), np.ones(n)])
    y = Z @ beta + noise_std * noise.numpy()
    return {"n": n, "p": Z.shape[1], "beta": beta, "noise_std": noise_std, "tau": tau, "mix": mix, "Z": Z, "y": y}


def one_input() -> tuple[np.ndarray, np.ndarray, dict]:
    """The chapter's first data set (one input), regenerated from its settings."""
    a, b, noise_std = (float(v) for v in _setting(r"^a_true, b_true, noise_std = (\S+), (\S+), (\S+)$"))
    n = int(_setting(r"^n = (\d+)$")[0])
    seed = int(_setting(r"^data_seed = (\d+)$")[0])
    x, y = mh.data.sample_linear(n, a, b, noise_std, seed=seed)
    return x.numpy(), y.numpy(), {"a": a, "b": b, "n": n}


def penalised_minimum(Z, y, lam, penalised, start=None):
    """scipy's minimiser of ||y - Z beta||^2 + lam * sum of beta_j^2 over the penalised j (BFGS, exact gradient)."""
    weights = np.asarray(penalised, dtype=float)

    def objective(beta):
        residual = y - Z @ beta
        return residual @ residual + lam * np.sum(weights * beta**2), -2 * Z.T @ residual + 2 * lam * weights * beta

    start = np.zeros(Z.shape[1]) if start is None else start
    result = optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 10_000})
    return result.x


# ---------------------------------------------------------------- several inputs


def test_several_inputs_mle_matches_numpy_and_scipy_least_squares(glued, page):
    data = several_inputs()
    Z, y, n, p = data["Z"], data["y"], data["n"], data["p"]
    assert np.linalg.matrix_rank(Z) == p == 4
    beta_np, rss_np, *_ = np.linalg.lstsq(Z, y, rcond=None)
    beta_sp = linalg.lstsq(Z, y)[0]
    np.testing.assert_allclose(beta_np, beta_sp, atol=1e-12)
    glued_beta = [glued["multi_slope_1"], glued["multi_slope_2"], glued["multi_slope_3"], glued["multi_intercept"]]
    np.testing.assert_allclose(glued_beta, beta_np, atol=1e-10)
    rss = float(np.sum((y - Z @ beta_np) ** 2))
    assert rss == pytest.approx(float(rss_np[0]), rel=1e-10)
    assert glued["multi_var_hat"] == pytest.approx(rss / n, rel=1e-10)
    assert glued["multi_var_unbiased"] == pytest.approx(rss / (n - p), rel=1e-10)
    # What the cell prints is the same fit, by both torch routes.
    np.testing.assert_allclose(page.numbers_after("beta_hat (solve):"), beta_np, atol=1e-4)
    np.testing.assert_allclose(page.numbers_after("beta_hat (lstsq):"), beta_np, atol=1e-4)


def test_several_inputs_mle_is_the_global_maximum_found_by_scipy(glued):
    """scipy maximises the log-likelihood over (beta, log sigma^2) from far-apart starts: every run ends at the
    page's (beta_hat, sigma2_hat), so the normal equations and RSS/n are the maximiser."""
    data = several_inputs()
    Z, y = data["Z"], data["y"]
    estimate = np.array([glued["multi_slope_1"], glued["multi_slope_2"], glued["multi_slope_3"],
                         glued["multi_intercept"], glued["multi_var_hat"]])

    def negative_loglik(params):
        return -stats.norm.logpdf(y, Z @ params[:4], math.exp(params[4] / 2)).sum()

    for start in ([0, 0, 0, 0, 0], [5, 5, -5, -5, 3], [-3, 4, 2, 10, -2]):
        result = optimize.minimize(negative_loglik, np.array(start, dtype=float), method="BFGS",
                                   options={"gtol": 1e-9})
        found = np.append(result.x[:4], math.exp(result.x[4]))
        np.testing.assert_allclose(found, estimate, atol=1e-5)


def test_expected_rss_is_n_minus_p_sigma2_on_the_pages_design(glued):
    """E[RSS] = (n - p) sigma^2: tr(I - H) = n - p exactly; the page's average is within 4 standard errors of it
    (the standard error from theory: RSS / sigma^2 is chi-square with n - p degrees of freedom); and numpy's own
    simulation on the same design, with its own random numbers and fits by lstsq, agrees and tells n - p from n."""
    data = several_inputs()
    Z, n, p, noise_var = data["Z"], data["n"], data["p"], data["noise_std"] ** 2
    residual_maker = np.eye(n) - Z @ np.linalg.pinv(Z)
    assert np.trace(residual_maker) == pytest.approx(n - p, abs=1e-9)

    repeats = int(_setting(r"^repeats_multi = ([\d_]+)$")[0].replace("_", ""))
    standard_error = noise_var * math.sqrt(2 * (n - p)) / math.sqrt(repeats)
    assert glued["multi_rss_expected"] == pytest.approx((n - p) * noise_var, rel=1e-14)
    assert abs(glued["multi_rss_average"] - (n - p) * noise_var) < 4 * standard_error
    assert abs(glued["multi_rss_average"] - n * noise_var) > 20 * standard_error
    page_se = (glued["multi_rss_average"] - glued["multi_rss_expected"]) / glued["multi_rss_z"]
    assert page_se == pytest.approx(standard_error, rel=0.05)

    rng = np.random.default_rng(2025)
    Y = Z @ data["beta"][:, None] + data["noise_std"] * rng.standard_normal((n, 20_000))
    fits = np.linalg.lstsq(Z, Y, rcond=None)[0]
    rss = ((Y - Z @ fits) ** 2).sum(axis=0)
    assert abs(rss.mean() - (n - p) * noise_var) < 4 * rss.std(ddof=1) / math.sqrt(rss.size)
    assert stats.chi2(n - p).mean() * noise_var == pytest.approx((n - p) * noise_var)


def test_the_prose_describes_the_data_the_cell_draws(page, glued):
    """Slopes, intercept, sigma, n and p typed into the prose and its arithmetic are the ones the cell uses."""
    data = several_inputs()
    beta, n, p, noise_std, tau = data["beta"], data["n"], data["p"], data["noise_std"], data["tau"]
    slopes = page.stated("with slopes ({}, {}, {}), intercept {} and \\sigma = {}.")
    np.testing.assert_allclose(slopes, [*beta, noise_std])
    assert page.stated("draws n = {} observations of three inputs")[0] == n
    a, b, var = page.stated("(n - p)\\sigma^2 = ({} - {}) \\cdot {} =")
    assert (a, b, var) == (n, p, noise_std**2)
    assert page.stated("n\\sigma^2 = {} \\cdot {} = {}") == [n, noise_std**2, n * noise_std**2]
    assert data["mix"][0] ** 2 + data["mix"][1] ** 2 == pytest.approx(1.0)
    assert page.stated("so it has variance {}^2 + {}^2 = 1") == data["mix"]
    sigma, t, lam = page.stated("\\lambda = \\sigma^2/\\tau^2 = {}^2/{}^2 = {}.")
    assert (sigma, t) == (noise_std, tau) and lam == pytest.approx(noise_std**2 / tau**2)
    corr = np.corrcoef(data["Z"][:, 0], data["Z"][:, 1])[0, 1]
    assert abs(corr - data["mix"][0]) < 0.15  # the sample correlation is near the stated 0.8


# ---------------------------------------------------------------- ridge regression


def _printed_ridge_table(page) -> dict[float, np.ndarray]:
    rows = re.findall(r"^\s*(\d+)" + r"\s+(-?\d+\.\d{4})" * 5 + r"\s*$", page.printed, flags=re.M)
    assert len(rows) == 5, f"the ridge table has {len(rows)} rows"
    return {float(row[0]): np.array([float(v) for v in row[1:]]) for row in rows}


def test_ridge_map_is_the_maximum_of_the_log_posterior_found_by_scipy(glued):
    """scipy maximises likelihood N(Z beta, sigma^2) times the prior N(0, tau^2) on each slope (flat on the
    intercept), written from scratch: it lands on the page's MAP, so lambda = sigma^2 / tau^2 and the closed form
    (Z^T Z + lambda D)^{-1} Z^T y are right."""
    data = several_inputs()
    Z, y, noise_std, tau = data["Z"], data["y"], data["noise_std"], data["tau"]

    def negative_log_posterior(beta):
        return -(stats.norm.logpdf(y, Z @ beta, noise_std).sum() + stats.norm.logpdf(beta[:3], 0, tau).sum())

    glued_map = [glued["ridge_slope_1"], glued["ridge_slope_2"], glued["ridge_slope_3"], glued["ridge_intercept"]]
    for start in (np.zeros(4), np.array([3.0, -3.0, 3.0, -3.0])):
        result = optimize.minimize(negative_log_posterior, start, method="BFGS", options={"gtol": 1e-10})
        np.testing.assert_allclose(result.x, glued_map, atol=1e-6)
    mle = np.linalg.lstsq(Z, y, rcond=None)[0]
    assert np.linalg.norm(glued_map[:3]) < np.linalg.norm(mle[:3])  # the prior shrinks the slopes


def test_ridge_table_and_norms_match_scipy_minimum_of_the_penalised_objective(page, glued):
    """Every printed row is scipy's minimiser of RSS + lambda * |slopes|^2 (intercept unpenalised); lambda = 0 is
    the MLE; the slope vector's length falls along the rows; the glued lengths and values are these."""
    data = several_inputs()
    Z, y = data["Z"], data["y"]
    table = _printed_ridge_table(page)
    assert sorted(table) == [0, 1, 10, 100, 1000]
    lengths = []
    for lam, row in table.items():
        beta = penalised_minimum(Z, y, lam, [1, 1, 1, 0])
        np.testing.assert_allclose(row[:4], beta, atol=1e-4)
        assert row[4] == pytest.approx(np.linalg.norm(beta[:3]), abs=1e-4)
        lengths.append(np.linalg.norm(beta[:3]))
    assert all(np.diff(lengths) < 0)
    np.testing.assert_allclose(table[0][:4], np.linalg.lstsq(Z, y, rcond=None)[0], atol=1e-4)

    lam = data["noise_std"] ** 2 / data["tau"] ** 2
    assert glued["ridge_norm_mle"] == pytest.approx(np.linalg.norm(penalised_minimum(Z, y, 0, [1, 1, 1, 0])[:3]),
                                                    abs=1e-7)
    assert glued["ridge_norm_map"] == pytest.approx(np.linalg.norm(penalised_minimum(Z, y, lam, [1, 1, 1, 0])[:3]),
                                                    abs=1e-7)
    assert glued["ridge_norm_1000"] == pytest.approx(
        np.linalg.norm(penalised_minimum(Z, y, 1000, [1, 1, 1, 0])[:3]), abs=1e-7)
    slope_1_at_100 = penalised_minimum(Z, y, 100, [1, 1, 1, 0])[0]
    assert glued["ridge_slope_1_at_100"] == pytest.approx(slope_1_at_100, abs=1e-7)
    assert slope_1_at_100 < 0 < table[0][0]  # slope 1 changes sign, as the page says
    assert glued["multi_y_bar"] == pytest.approx(y.mean(), abs=1e-12)


def test_ridge_slopes_for_large_lambda_follow_the_sample_covariances(glued):
    """lambda * beta_j tends to sum_i (x_ij - mean_j)(y_i - y_bar), and the intercept to y_bar, as lambda grows;
    the glued sum for input 1 is that sum and negative."""
    data = several_inputs()
    Z, y = data["Z"], data["y"]
    centred = Z[:, :3] - Z[:, :3].mean(axis=0)
    sums = centred.T @ (y - y.mean())
    assert glued["ridge_s1y"] == pytest.approx(sums[0], rel=1e-10)
    assert sums[0] < 0
    lam = 1e7
    beta = np.linalg.solve(Z.T @ Z + lam * np.diag([1.0, 1.0, 1.0, 0.0]), Z.T @ y)
    np.testing.assert_allclose(lam * beta[:3], sums, rtol=1e-3)
    assert beta[3] == pytest.approx(y.mean(), abs=1e-4)


def test_ridge_is_unique_without_full_rank_and_shifting_y_moves_only_the_intercept():
    """With collinear inputs or p > n, Z^T Z is singular but Z^T Z + lambda D is positive definite; scipy finds the
    same penalised minimum from two starts, equal to the closed form. Adding c to every y_i adds c to the MAP
    intercept and leaves the slopes."""
    rng = np.random.default_rng(7)
    lengths = rng.normal(size=20)
    cases = {
        "centimetres and inches": np.column_stack([lengths, lengths / 2.54, np.ones(20)]),
        "p > n": np.column_stack([rng.normal(size=(5, 7)), np.ones(5)]),
    }
    for name, Z in cases.items():
        n, p = Z.shape
        y = rng.normal(size=n)
        D = np.diag([1.0] * (p - 1) + [0.0])
        assert np.linalg.matrix_rank(Z) < p, name
        assert np.linalg.eigvalsh(Z.T @ Z).min() < 1e-10, name
        assert np.linalg.eigvalsh(Z.T @ Z + 0.5 * D).min() > 1e-6, name
        closed_form = np.linalg.solve(Z.T @ Z + 0.5 * D, Z.T @ y)
        for start in (np.zeros(p), rng.normal(size=p) * 5):
            np.testing.assert_allclose(penalised_minimum(Z, y, 0.5, np.diag(D), start), closed_form, atol=1e-6)
        shifted = np.linalg.solve(Z.T @ Z + 0.5 * D, Z.T @ (y + 3.0))
        np.testing.assert_allclose(shifted[:-1], closed_form[:-1], atol=1e-10)
        assert shifted[-1] == pytest.approx(closed_form[-1] + 3.0, abs=1e-10)


def test_weight_decay_adds_w_theta_to_the_gradient_the_gradient_of_a_gaussian_prior():
    """One torch.optim.SGD step with weight_decay = w equals a step on the gradient plus w * theta; and
    w theta^2 / 2 is minus the N(0, 1/w) log-density up to a constant (scipy)."""
    w, lr = 0.3, 0.1
    theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr, weight_decay=w)
    target = torch.tensor([0.2, 0.1, -0.4], dtype=torch.float64)
    loss = ((theta - target) ** 2).sum()
    loss.backward()
    expected = theta.detach() - lr * (2 * (theta.detach() - target) + w * theta.detach())
    optimizer.step()
    torch.testing.assert_close(theta.detach(), expected)
    values = np.array([-1.0, 0.0, 0.7, 2.5])
    constants = -stats.norm.logpdf(values, 0, math.sqrt(1 / w)) - w * values**2 / 2
    np.testing.assert_allclose(constants, constants[0], atol=1e-12)


# ---------------------------------------------------------------- exercises


def test_collinear_exercise_only_the_per_centimetre_effect_and_the_intercept_are_determined():
    """Lengths in cm and in inches: Z v = 0 for v = (1, -2.54, 0); scipy's least squares from different starts
    gives different beta but one RSS, one beta_1 + beta_2 / 2.54 and one intercept."""
    rng = np.random.default_rng(3)
    cm = rng.normal(10, 2, size=30)
    Z = np.column_stack([cm, cm / 2.54, np.ones(30)])
    y = 0.4 * cm + 1.0 + rng.normal(size=30)
    np.testing.assert_allclose(Z @ np.array([1.0, -2.54, 0.0]), 0, atol=1e-12)
    assert np.linalg.matrix_rank(Z) == 2
    fits = [penalised_minimum(Z, y, 0.0, [0, 0, 0], start) for start in
            (np.zeros(3), np.array([10.0, -10.0, 0.0]), np.array([-5.0, 20.0, 3.0]))]
    assert max(abs(f[0] - fits[0][0]) for f in fits) > 1  # the coefficients themselves differ
    rss = [np.sum((y - Z @ f) ** 2) for f in fits]
    np.testing.assert_allclose(rss, rss[0], rtol=1e-9)
    per_cm = [f[0] + f[1] / 2.54 for f in fits]
    np.testing.assert_allclose(per_cm, np.polyfit(cm, y, 1)[0], atol=1e-6)
    np.testing.assert_allclose([f[2] for f in fits], np.polyfit(cm, y, 1)[1], atol=1e-5)


def test_shrunken_slope_exercise_by_sympy():
    """d/da [sum (y_i - a x_i)^2 + lambda a^2] = 0 solves to sum x y / (sum x^2 + lambda), the stated factor times
    the MLE; the factor is in (0, 1) and tends to 1 as n grows."""
    a = sympy.Symbol("a", real=True)
    lam = sympy.Symbol("lambda", positive=True)
    xs, ys = sympy.symbols("x1:5", real=True), sympy.symbols("y1:5", real=True)
    objective = sum((yi - a * xi) ** 2 for xi, yi in zip(xs, ys)) + lam * a**2
    (solution,) = sympy.solve(sympy.diff(objective, a), a)
    sxx, sxy = sum(xi**2 for xi in xs), sum(xi * yi for xi, yi in zip(xs, ys))
    assert sympy.simplify(solution - sxy / (sxx + lam)) == 0
    assert sympy.simplify(solution - sxx / (sxx + lam) * (sxy / sxx)) == 0
    assert sympy.diff(objective, a, 2).equals(2 * (sxx + lam))
    rng = np.random.default_rng(0)
    sums_of_squares = [np.sum(rng.normal(size=m) ** 2) for m in (5, 500, 50_000)]
    factors = [total / (total + 4.0) for total in sums_of_squares]  # lambda = 4
    assert all(0 < f < 1 for f in factors) and factors[0] < factors[1] < factors[2] and factors[2] > 0.999


def _lad_by_linear_programming(x, y):
    """min sum u_i subject to -u_i <= y_i - a x_i - b <= u_i, by scipy's linprog: (a, b, SAD)."""
    n = len(x)
    cost = np.concatenate([[0.0, 0.0], np.ones(n)])
    line = np.column_stack([x, np.ones(n)])
    A = np.block([[-line, -np.eye(n)], [line, -np.eye(n)]])  # y - line <= u and line - y <= u
    b_ub = np.concatenate([-y, y])
    result = optimize.linprog(cost, A_ub=A, b_ub=b_ub, bounds=[(None, None)] * 2 + [(0, None)] * n, method="highs")
    assert result.status == 0
    return result.x[0], result.x[1], result.fun


def test_laplace_exercise_lad_line_is_the_linear_programming_optimum(page, glued):
    """The page's LAD lines (found among lines through two points) are scipy's linear-programming minimisers of
    the sum of absolute residuals, for both sizes of the gross error; least squares is numpy's polyfit; the
    printed s_hat is SAD / n."""
    x, y, setup = one_input()
    printed = [line for line in page.printed.splitlines() if line.startswith("error ")]
    assert len(printed) == 2
    for error, line in zip((12, 24), printed):
        corrupted = y.copy()
        corrupted[np.argmax(x)] -= error
        slope, intercept, sad = _lad_by_linear_programming(x, corrupted)
        suffix = "" if error == 12 else "_error_24"
        assert glued["lad_slope" + suffix] == pytest.approx(slope, abs=1e-8)
        assert glued["lad_intercept" + suffix] == pytest.approx(intercept, abs=1e-8)
        assert glued[f"ls_slope_error_{error}"] == pytest.approx(np.polyfit(x, corrupted, 1)[0], abs=1e-10)
        assert float(re.search(r"s_hat = SAD/n = (\S+)$", line).group(1)) == pytest.approx(sad / setup["n"],
                                                                                            abs=1e-4)
    assert glued["ls_slope_error_24"] < glued["ls_slope_error_12"] < glued["a_hat"]
    assert page.stated("trying all {} \\cdot {}/2 = {} lines") == [setup["n"], setup["n"] - 1,
                                                                    setup["n"] * (setup["n"] - 1) / 2]
    assert "(780 lines tried each time)" in page.printed


def test_laplace_exercise_loglik_scale_and_median():
    """The Laplace log-likelihood is -n log(2s) - SAD/s (scipy's logpdf); it is largest at s = SAD/n; without an
    input the maximiser of the location is the median (odd n)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=15)
    y = 1.5 * x - 0.5 + rng.laplace(scale=0.7, size=15)
    a, b, s = 1.2, -0.3, 0.9
    sad = np.sum(np.abs(y - a * x - b))
    assert stats.laplace.logpdf(y, a * x + b, s).sum() == pytest.approx(-15 * math.log(2 * s) - sad / s, rel=1e-12)
    best_s = optimize.minimize_scalar(lambda s: -stats.laplace.logpdf(y, a * x + b, s).sum(),
                                      bounds=(1e-3, 50), method="bounded", options={"xatol": 1e-10}).x
    assert best_s == pytest.approx(sad / 15, abs=1e-6)
    location = optimize.minimize_scalar(lambda c: np.sum(np.abs(y - c)), bounds=(y.min(), y.max()),
                                        method="bounded", options={"xatol": 1e-12}).x
    assert location == pytest.approx(np.median(y), abs=1e-6)
    assert abs(np.mean(y) - np.median(y)) > 1e-3  # and the median is not the mean here
