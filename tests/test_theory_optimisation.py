"""The theory that issue 16 added to chapters 7 (gradient ascent) and 8 (optimizers).

Newton's step, Polyak's heavy ball, Nesterov's momentum, the steps to a tolerance against the condition number
for gradient descent, momentum and Adam, and L-BFGS. Every number the pages state is checked against a computation
that does not share the page's code: numpy eigenvalues and finite differences, the optimisers' recursions written out
in numpy, brute-force searches over their settings, scipy.optimize, and exact arithmetic with fractions and sympy.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import scipy.optimize
import sympy

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

N, SIGMA2 = 10_000, 5.0
MU0 = np.array([-1.0, -1.0])
MU_TRUE = np.array([1.0, 1.0])
KAPPAS = np.array([1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0])


@pytest.fixture(scope="module")
def gradient_ascent(built_book):
    return Page(built_book, "gradient_ascent")


@pytest.fixture(scope="module")
def optimizers(built_book):
    return Page(built_book, "optimizers")


def _table(page: Page, width: int) -> np.ndarray:
    """The printed lines that hold exactly ``width`` numbers and nothing else, as an array (one row per line)."""
    rows = []
    for line in page.printed.splitlines():
        tokens = line.split()
        if len(tokens) == width and all(re.fullmatch(NUMBER, token) for token in tokens):
            rows.append([float(token) for token in tokens])
    return np.array(rows)


def _loglik(X: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """The Gaussian log-likelihood written out in numpy (no torch)."""
    d = X - mu
    _, logdet = np.linalg.slogdet(cov)
    quad = np.einsum("ij,jk,ik->", d, np.linalg.inv(cov), d)
    return -0.5 * (X.size * math.log(2 * math.pi) + X.shape[0] * logdet + quad)


def _family_covs(tilted: bool) -> np.ndarray:
    """Sigma_kappa = s_kappa diag(kappa, 1), s_kappa = sigma^2 (1 + kappa) / (2 kappa), optionally turned by 30 degrees."""
    scales = SIGMA2 * (1 + KAPPAS) / (2 * KAPPAS)
    covs = np.stack([np.diag([k * s, s]) for k, s in zip(KAPPAS, scales)])
    if tilted:
        c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
        R = np.array([[c, -s], [s, c]])
        covs = R @ covs @ R.T
    return covs


def _family_xbars(covs: np.ndarray) -> np.ndarray:
    """Each problem's sample mean: mu + L_k z_bar, with the page's standard normal draws (seed 21)."""
    z_bar = mh.data.sample_gaussian(N, np.zeros(2), np.eye(2), seed=21).numpy().mean(axis=0)
    return MU_TRUE + np.einsum("kij,j->ki", np.linalg.cholesky(covs), z_bar)


def _heavy_ball(H: np.ndarray, e0: np.ndarray, lr, beta, num_steps: int, nesterov: bool = False) -> np.ndarray:
    """|e_t| of PyTorch's SGD with momentum on 0.5 e^T H e, written out in numpy; H (K, 2, 2), e0 (K, 2).

    v_{t+1} = beta v_t + g_t; step g_t + beta v_{t+1} (Nesterov) or v_{t+1} (heavy ball); mu -= lr * step.
    """
    lr, beta = np.broadcast_to(lr, (len(e0),))[:, None], np.broadcast_to(beta, (len(e0),))[:, None]
    e, v, out = e0.copy(), np.zeros_like(e0), [np.linalg.norm(e0, axis=1)]
    for _ in range(num_steps):
        g = np.einsum("kij,kj->ki", H, e)
        v = beta * v + g
        e = e - lr * (g + beta * v if nesterov else v)
        out.append(np.linalg.norm(e, axis=1))
    return np.array(out)


def _adam(H: np.ndarray, e0: np.ndarray, lr: float, num_steps: int, beta1=0.9, beta2=0.999, eps=1e-8) -> np.ndarray:
    """|e_t| of Adam on 0.5 e^T H e, written out in numpy from Kingma and Ba's rule; H (K, 2, 2), e0 (K, 2)."""
    e, m, v, out = e0.copy(), np.zeros_like(e0), np.zeros_like(e0), [np.linalg.norm(e0, axis=1)]
    for t in range(1, num_steps + 1):
        g = np.einsum("kij,kj->ki", H, e)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        e = e - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        out.append(np.linalg.norm(e, axis=1))
    return np.array(out)


def _settle(distances: np.ndarray, tolerance: float) -> np.ndarray:
    """The first step after which distances / distances[0] stays below tolerance (per column); inf if never."""
    above = distances / distances[0] >= tolerance
    last = above.shape[0] - 1 - np.argmax(above[::-1], axis=0)
    return np.where(above[-1], np.inf, last + 1)


# ---------------------------------------------------------------- chapter 7: Newton's step


def test_newton_step_on_the_round_bowl_is_gradient_ascent_at_sigma2_over_n(gradient_ascent):
    """The Hessian of -ell is (n / sigma^2) I (finite differences of the log-likelihood in numpy), Newton's step
    lands on x_bar, and it is the gradient step with lr = sigma^2 / n."""
    page = gradient_ascent
    X = mh.data.two_d_problem().X.numpy()
    cov = SIGMA2 * np.eye(2)
    step = 1e-3
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            di, dj = step * np.eye(2)[i], step * np.eye(2)[j]
            f = lambda mu: -_loglik(X, mu, cov)
            hessian[i, j] = (f(MU0 + di + dj) - f(MU0 + di - dj) - f(MU0 - di + dj) + f(MU0 - di - dj)) / (4 * step**2)
    assert hessian == pytest.approx(N / SIGMA2 * np.eye(2), abs=1e-3)
    diagonal = page.numbers_after("Hessian of -ell: diagonal")[:3]  # the diagonal, then the largest off-diagonal
    assert diagonal[:2] == pytest.approx(np.diag(hessian), rel=1e-6) and diagonal[2] < 1e-9
    assert page.stated("with diagonal {} = 10\\,000/5")[0] == N / SIGMA2
    assert page.stated("one Newton step lands {} from \\hat\\mu")[0] < 1e-12
    assert page.stated("with lr = sigma^2/n: largest difference {}", "printed")[0] < 1e-12
    # the gradient step with lr = sigma^2 / n from mu0, in numpy: mu0 + (sigma^2 / n) * n Sigma^-1 (x_bar - mu0)
    xbar = X.mean(axis=0)
    assert np.linalg.norm(MU0 + SIGMA2 / N * N / SIGMA2 * (xbar - MU0) - xbar) < 1e-12


def test_newton_takes_one_step_where_no_learning_rate_does(gradient_ascent):
    """Sigma = [[5, 2], [2, 2]]: eigenvalues 1 and 6 (numpy); the best single learning rate for the start, found by
    scipy's scalar minimiser, leaves the stated fraction of the distance; Newton's step from numpy lands on x_bar."""
    page = gradient_ascent
    cov = np.array([[5.0, 2.0], [2.0, 2.0]])
    assert np.linalg.eigvalsh(cov) == pytest.approx([1.0, 6.0])
    assert page.numbers_after("eigenvalues of Sigma:") == pytest.approx([1.0, 6.0])
    xbar = mh.data.sample_gaussian(N, MU_TRUE, cov, seed=11).numpy().mean(axis=0)
    A = N * np.linalg.inv(cov)
    e0 = MU0 - xbar
    one_step = lambda lr: np.linalg.norm((np.eye(2) - lr * A) @ e0) / np.linalg.norm(e0)
    best = scipy.optimize.minimize_scalar(one_step, bounds=(0, 2 / np.linalg.eigvalsh(A).max()), method="bounded",
                                          options={"xatol": 1e-14})
    lr_one, left = page.stated("\\eta_1 = {}, still leaves {} of the starting distance after one step")
    assert lr_one == pytest.approx(best.x, rel=1e-4)
    assert left == pytest.approx(best.fun, abs=1e-4)
    assert left > 0.5, "no single learning rate comes close to landing on x_bar here"
    grid = np.linspace(0, 2e-3, 200_001)[1:]
    assert min(one_step(lr) for lr in grid[::100]) >= best.fun - 1e-9
    newton = MU0 - np.linalg.solve(A, A @ (MU0 - xbar))  # H^-1 times the gradient of -ell
    assert np.linalg.norm(newton - xbar) < 1e-12
    assert page.stated("Newton’s step lands {} from \\bar x")[0] < 1e-12


def test_newton_for_a_variance(gradient_ascent):
    """r_{t+1} = r (2r - 3) / (r - 2) and delta_{t+1} = 2 delta^2 / (1 + delta) (sympy); from r_0 = 1/2 the exact
    ratios are 2/3, 5/6, 20/21, 230/231 (fractions); Newton converges exactly for 0 < r_0 < 3/2 (brute force)."""
    page = gradient_ascent
    v, v_hat, n = sympy.symbols("v v_hat n", positive=True)
    loglik = -n / 2 * sympy.log(2 * sympy.pi * v) - n * v_hat / (2 * v)
    newton = v - sympy.diff(loglik, v) / sympy.diff(loglik, v, 2)
    assert sympy.simplify(newton - v * (2 * v - 3 * v_hat) / (v - 2 * v_hat)) == 0
    delta = sympy.symbols("delta")
    r = 1 - delta
    assert sympy.simplify((1 - r * (2 * r - 3) / (r - 2)) - 2 * delta**2 / (1 + delta)) == 0

    step = lambda r: r * (2 * r - 3) / (r - 2)
    exact = [Fraction(1, 2)]
    for _ in range(5):
        exact.append(step(exact[-1]))
    assert exact[1:5] == [Fraction(2, 3), Fraction(5, 6), Fraction(20, 21), Fraction(230, 231)]
    assert [1 - x for x in exact[1:5]] == [Fraction(1, 3), Fraction(1, 6), Fraction(1, 21), Fraction(1, 231)]
    for r0 in (0.5, 1.4, 1.6, 3.0):
        printed = page.numbers_after(f"r_0 = {r0}: r_t =")
        expected = [r0]
        while len(expected) < 6 and expected[-1] > 0:
            expected.append(step(expected[-1]))
        assert printed == pytest.approx(expected, abs=2e-6), r0

    def converges(r0: float) -> bool:
        r = r0
        for _ in range(60):
            if r <= 0 or r == 2:
                return False
            r = step(r)
        return abs(r - 1) < 1e-9

    starts = np.linspace(0.01, 4.0, 400)
    converging = np.array([converges(r0) for r0 in starts])
    assert converging[starts < 1.49].all() and not converging[starts > 1.51].any()


# ---------------------------------------------------------------- chapter 8: the family and Polyak's heavy ball


def test_family_curvatures(optimizers):
    """h_min, h_max of n Sigma_kappa^-1 from numpy's eigenvalues: ratio kappa, sum 2 n / sigma^2; the page's table."""
    table = _table(optimizers, 5)
    assert table[:, 0] == pytest.approx(KAPPAS)
    for tilted in (False, True):
        h = np.linalg.eigvalsh(N * np.linalg.inv(_family_covs(tilted)))
        assert h[:, 1] / h[:, 0] == pytest.approx(KAPPAS)
        assert h.sum(axis=1) == pytest.approx(2 * N / SIGMA2)
        assert table[:, 1:3] == pytest.approx(h, abs=5e-3)
    assert table[:, 4] == pytest.approx(2.0)


def test_polyak_tuning_is_the_best_heavy_ball(optimizers):
    """The proof's identities (sympy); for two curvatures a brute-force search over (lr, beta), with the roots from
    the quadratic formula, finds no rate below (sqrt(k) - 1) / (sqrt(k) + 1) and reaches it near Polyak's tuning;
    the page's table and its glued values for kappa = 1000."""
    s, beta, a = sympy.symbols("s beta a", positive=True)
    p = lambda z: z**2 - (1 + beta - s**2) * z + beta
    assert sympy.expand(p(1 - s) - s * (beta - (1 - s) ** 2)) == 0
    sb = sympy.sqrt(beta)
    assert sympy.expand((1 + beta - a) ** 2 - 4 * beta - ((1 - sb) ** 2 - a) * ((1 + sb) ** 2 - a)) == 0

    def worst_rate(lr, b, hs):
        rates = []
        for h in hs:
            coef = 1 + b - lr * h
            disc = (coef**2 - 4 * b).astype(complex)
            rates.append(np.maximum(np.abs((coef + np.sqrt(disc)) / 2), np.abs((coef - np.sqrt(disc)) / 2)))
        return np.max(np.stack(rates), axis=0)

    for kappa in (10.0, 100.0):
        h_min, h_max = 1.0, kappa
        lr_polyak = 4 / (math.sqrt(h_max) + math.sqrt(h_min)) ** 2
        beta_polyak = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
        rate = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        lrs, betas = np.meshgrid(np.linspace(1e-4, 3 * lr_polyak, 1500), np.linspace(0, 0.999, 1500))
        worst = worst_rate(lrs, betas, (h_min, h_max))
        assert worst.min() >= rate - 1e-9, "no heavy ball beats Polyak's rate"
        assert worst.min() == pytest.approx(rate, abs=2e-3)
        i = np.unravel_index(worst.argmin(), worst.shape)
        assert lrs[i] == pytest.approx(lr_polyak, rel=0.02) and betas[i] == pytest.approx(beta_polyak, abs=0.01)
        # every curvature in between has the same rate at Polyak's tuning
        inside = worst_rate(np.array(lr_polyak), np.array(beta_polyak), np.linspace(h_min, h_max, 50))
        assert inside == pytest.approx(rate, abs=1e-6)

    table = _table(optimizers, 6)
    h = np.linalg.eigvalsh(N * np.linalg.inv(_family_covs(False)))
    assert table[:, 0] == pytest.approx(KAPPAS)
    assert table[:, 1] == pytest.approx((KAPPAS - 1) / (KAPPAS + 1), abs=5e-5)
    lr = 4 / (np.sqrt(h[:, 1]) + np.sqrt(h[:, 0])) ** 2
    assert table[:, 2] == pytest.approx(lr * N / SIGMA2, abs=5e-5)
    rate = (np.sqrt(KAPPAS) - 1) / (np.sqrt(KAPPAS) + 1)
    assert table[:, 3] == pytest.approx(rate**2, abs=5e-5)
    assert table[:, 4] == pytest.approx(rate, abs=5e-5) and table[:, 5] == pytest.approx(rate, abs=5e-5)
    glued = optimizers.glued()
    assert glued["family_rate_gd_1000"] == pytest.approx(999 / 1001)
    assert glued["family_rate_hb_1000"] == pytest.approx(rate[-1])
    assert glued["family_beta_1000"] == pytest.approx(rate[-1] ** 2)
    assert glued["family_lr_1000"] == pytest.approx(lr[-1])
    assert optimizers.stated("momentum with \\eta = {} and \\beta = {} by {}") == pytest.approx(
        [lr[-1], rate[-1] ** 2, rate[-1]], rel=1e-3)


def test_nesterov_damps_the_overshoot(optimizers):
    """PyTorch's form (step g + beta v) and the look-ahead form give the same iterates; the rate is
    sqrt(beta (1 - a)) from the recursion in numpy; the settling steps of Nesterov and the heavy ball."""
    a, beta = 1e-4 * N / SIGMA2, 0.9
    # the look-ahead form: y_t = mu_t + beta (mu_t - mu_{t-1}), mu_{t+1} = y_t - lr grad(y_t), on e -> a e
    mu_prev = mu = 1.0
    lookahead = []
    for _ in range(30):
        y = mu + beta * (mu - mu_prev)
        lookahead.append(y)
        mu_prev, mu = mu, y - a * y
    torch_form = _heavy_ball(np.array([[[a, 0], [0, a]]]), np.array([[1.0, 0.0]]), 1.0, beta, 29, nesterov=True)[:, 0]
    assert torch_form == pytest.approx(np.abs(lookahead), rel=1e-9, abs=1e-15)

    err0 = np.linalg.norm(MU0 - mh.data.two_d_problem().X.numpy().mean(axis=0))
    H = np.array([[[N / SIGMA2, 0], [0, N / SIGMA2]]])
    e0 = np.array([[err0, 0.0]])
    nesterov = _heavy_ball(H, e0, 1e-4, beta, 200, nesterov=True)[:, 0]
    heavy = _heavy_ball(H, e0, 1e-4, beta, 200)[:, 0]
    measured, predicted = optimizers.stated("Nesterov’s error shrinks by {} per step (predicted {})")
    assert predicted == pytest.approx(math.sqrt(beta * (1 - a)), abs=1e-4)
    assert measured == pytest.approx((nesterov[60] / nesterov[20]) ** (1 / 40), abs=1e-4)
    settle_nesterov, settle_heavy = optimizers.stated("stays within 10^{-3} from step {} instead of {}. Tuned")
    assert settle_nesterov == _settle(nesterov[:, None], 1e-3 / err0)[0]
    assert settle_heavy == _settle(heavy[:, None], 1e-3 / err0)[0]
    assert settle_nesterov < settle_heavy


# ---------------------------------------------------------------- chapter 8: steps against kappa


def test_steps_against_the_condition_number(optimizers):
    """Gradient descent, Polyak's heavy ball and Adam written out in numpy on the page's problems give the page's
    step counts; gradient descent grows like kappa, momentum like sqrt(kappa); Adam is flat on the axis-aligned
    family (it does not depend on the curvatures at all) and grows on the tilted one."""
    page = optimizers
    table = _table(page, 9)
    assert table[:, 0] == pytest.approx(KAPPAS)
    gd, gd_pred, mom, mom_pred, adam_axis, _, adam_tilted, _ = table[:, 1:].T
    rate_gd = (KAPPAS[1:] - 1) / (KAPPAS[1:] + 1)
    assert gd[1:].tolist() == np.ceil(np.log(1e-6) / np.log(rate_gd)).tolist() and gd[0] == 1
    assert (gd == gd_pred).all() and (mom == mom_pred).all()

    covs = _family_covs(False)
    H = N * np.linalg.inv(covs)
    e0 = MU0 - _family_xbars(covs)
    h = np.linalg.eigvalsh(H)
    lr = 4 / (np.sqrt(h[:, 1]) + np.sqrt(h[:, 0])) ** 2
    beta = ((np.sqrt(KAPPAS) - 1) / (np.sqrt(KAPPAS) + 1)) ** 2
    assert mom.tolist() == _settle(_heavy_ball(H, e0, lr, beta, 400), 1e-6).tolist()
    assert (mom[2:] < gd[2:] / 2).all()
    slope = lambda steps: np.log(steps[-1] / steps[-3]) / np.log(KAPPAS[-1] / KAPPAS[-3])  # kappa 100 to 1000
    assert slope(gd) == pytest.approx(1.0, abs=0.02) and slope(mom) == pytest.approx(0.5, abs=0.1)

    # Adam: on a diagonal Hessian every coordinate moves as if its curvature were 1
    same_start = np.repeat(e0[-1:], 2, axis=0)
    diag_H = np.stack([np.diag(h[-1]), np.eye(2)])
    paths = _adam(diag_H, same_start, 0.3, 300)
    assert paths[:, 0] == pytest.approx(paths[:, 1], rel=1e-6)
    best_axis = np.min([_settle(_adam(H, e0, lr_adam, 600), 1e-6) for lr_adam in (0.03, 0.1, 0.3)], axis=0)
    assert adam_axis == pytest.approx(best_axis, abs=3)
    assert adam_axis.max() - adam_axis.min() < 10
    tilted = _family_covs(True)
    H_tilted = N * np.linalg.inv(tilted)
    e0_tilted = MU0 - _family_xbars(tilted)
    best_tilted = np.min([_settle(_adam(H_tilted, e0_tilted, lr_adam, 1500), 1e-6) for lr_adam in (0.03, 0.1, 0.3)],
                         axis=0)
    assert adam_tilted == pytest.approx(best_tilted, rel=0.02, abs=3)
    assert adam_tilted[-1] > 3 * adam_axis[-1]

    glued = page.glued()
    assert glued["sweep_gd_100"] == gd[4] and glued["sweep_gd_1000"] == gd[-1]
    assert glued["sweep_mom_100"] == mom[4] and glued["sweep_mom_1000"] == mom[-1]
    assert glued["sweep_mom_asymptotic_1000"] == pytest.approx(math.log(1e-6) / math.log(beta[-1] ** 0.5))
    assert (glued["sweep_adam_axis_min"], glued["sweep_adam_axis_max"]) == (adam_axis.min(), adam_axis.max())
    assert [glued[f"sweep_adam_tilted_{k}"] for k in (100, 300, 1000)] == adam_tilted[4:].tolist()
    assert page.stated("Gradient descent needs {} steps at \\kappa = 100 and {} at") == [gd[4], gd[-1]]


def test_lbfgs_needs_a_handful_of_evaluations(optimizers):
    """L-BFGS reaches the tolerance with few evaluations; scipy's own L-BFGS agrees that a handful suffice where
    gradient descent needs thousands; the first curvature pair gives gamma = g^T H g / g^T H^2 g (numpy)."""
    page = optimizers
    lines = {name: page.numbers_after(f"L-BFGS, {name}") for name in
             ("chapter, kappa = 1", "axis-aligned, kappa = 1000", "tilted, kappa = 1000")}
    assert lines["chapter, kappa = 1"][-3:-1] == [2, 3]
    for name, numbers in lines.items():
        iterations, evaluations, ratio = numbers[-3:]
        assert iterations <= evaluations <= 25 and ratio < 1e-6, name
    glued = page.glued()
    for key, name in [("chapter", "chapter, kappa = 1"), ("axis", "axis-aligned, kappa = 1000"),
                      ("tilted", "tilted, kappa = 1000")]:
        assert [glued[f"lbfgs_{key}_iterations"], glued[f"lbfgs_{key}_evaluations"]] == lines[name][-3:-1]

    for tilted in (False, True):
        cov = _family_covs(tilted)[-1]
        H = N * np.linalg.inv(cov)
        xbar = _family_xbars(_family_covs(tilted))[-1]
        result = scipy.optimize.minimize(lambda mu: 0.5 * (mu - xbar) @ H @ (mu - xbar), MU0,
                                         jac=lambda mu: H @ (mu - xbar), method="L-BFGS-B",
                                         options={"gtol": 1e-12, "ftol": 1e-300})
        assert np.linalg.norm(result.x - xbar) / np.linalg.norm(MU0 - xbar) < 1e-6
        assert result.nfev < 40

    # the exercise: one pair along -g0 gives gamma = g0^T H g0 / g0^T H^2 g0, whatever the step length
    for label, cov, xbar in [("chapter", SIGMA2 * np.eye(2), mh.data.two_d_problem().X.numpy().mean(axis=0)),
                             ("tilted, kappa = 1000", _family_covs(True)[-1], _family_xbars(_family_covs(True))[-1])]:
        H = N * np.linalg.inv(cov)
        g0 = H @ (MU0 - xbar)
        gamma = g0 @ H @ g0 / (g0 @ H @ H @ g0)
        h = np.linalg.eigvalsh(H)
        residual, page_gamma, gamma_h_max, gamma_h_min = page.numbers_after(f"{label}: |y0 - H s0| / |y0| =")[-4:]
        assert residual < 1e-10
        assert page_gamma == pytest.approx(gamma, rel=1e-4)
        assert gamma_h_max == pytest.approx(gamma * h[1], abs=2e-6) and gamma_h_max >= 1 - 1e-9
        assert gamma_h_min == pytest.approx(gamma * h[0], abs=2e-6) and gamma_h_min <= 1 + 1e-9
    assert page.numbers_after("chapter: |y0 - H s0| / |y0| =")[-2:] == pytest.approx([1.0, 1.0], abs=1e-6)


# ---------------------------------------------------------------- chapter 8: the exercises


def test_exercise_polyak_for_two_curvatures(optimizers):
    """Closed forms checked with sympy; the runs against the heavy-ball recursion in numpy."""
    r5 = sympy.sqrt(5)
    lr = sympy.Integer(4) / (100 + 20 * r5) ** 2
    assert sympy.simplify(lr - 1 / (1000 * (3 + r5))) == 0
    root = (r5 - 1) / (r5 + 1)
    assert sympy.simplify(root - (3 - r5) / 2) == 0
    assert sympy.simplify(root**2 - (7 - 3 * r5) / 2) == 0
    printed_lr, printed_beta, printed_rate = optimizers.stated("Polyak: lr = {}, beta = {}, rate = {}", "printed")
    assert printed_lr == pytest.approx(float(lr), rel=1e-4)
    assert printed_beta == pytest.approx(float(root**2), abs=1e-4)
    assert printed_rate == pytest.approx(float(root), abs=1e-4)

    cov = np.diag([5.0, 1.0])
    xbar = mh.data.sample_gaussian(N, MU_TRUE, cov, seed=7).numpy().mean(axis=0)
    H = (N * np.linalg.inv(cov))[None]
    e0 = (MU0 - xbar)[None]
    momentum = _settle(_heavy_ball(H, e0, float(lr), float(root**2), 60), 1e-6)[0]
    gd = _settle(_heavy_ball(H, e0, 1 / 6000, 0.0, 60), 1e-6)[0]
    assert optimizers.stated("measured: momentum {} steps, gradient descent {} steps", "printed") == [momentum, gd]
    assert gd == math.ceil(math.log(1e-6) / math.log(2 / 3))


def test_exercise_nesterov_bound(optimizers):
    """The Jury bound a < 2 (1 + beta) / (1 + 2 beta) = 19/14 for beta = 0.9 against a brute-force search over a
    with numpy.roots; the runs on either side."""
    beta = 0.9
    a_grid = np.linspace(1.0, 2.0, 100_001)
    stable = np.array([np.abs(np.roots([1.0, -(1 + beta) * (1 - a), beta * (1 - a)])).max() < 1 for a in a_grid[::10]])
    a_edge = a_grid[::10][stable].max()
    assert a_edge == pytest.approx(19 / 14, abs=2e-4)
    assert Fraction(2) * (1 + Fraction(9, 10)) / (1 + 2 * Fraction(9, 10)) == Fraction(19, 14)
    assert optimizers.stated("bound: lr < {}", "printed")[0] == pytest.approx(19 / 14 * SIGMA2 / N, rel=1e-4)
    below = optimizers.stated("lr = 0.00066: distance to mu_hat after 400 steps {}", "printed")[0]
    above = optimizers.stated("lr = 0.0007: distance to mu_hat after 400 steps {}", "printed")[0]
    assert 0.00066 * N / SIGMA2 < 19 / 14 < 0.0007 * N / SIGMA2
    assert below < 1e-10 and above > 1e6


def test_the_kappa_figure_has_its_caption_and_alt_text(optimizers):
    html = optimizers.html
    assert "fig-opt-kappa" in html
    alt = re.search(r'alt="(A log-log plot of steps to tolerance[^"]*)"', html)
    assert alt and len(alt.group(1)) > 300
