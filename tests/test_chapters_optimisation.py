"""The numbers stated by chapters 7 (gradient ascent) and 8 (optimizers).

The tests read what a reader reads (``pages.Page``): the built HTML page, its
prose as plain text and what its cells printed.
Each stated number is checked against an independent computation: the sample
mean computed with numpy, the error recursion e_t = rho^t e_0 that chapter 7
derives, eigenvalues and polynomial roots from numpy, a brute-force search
over the learning rate or the momentum, Adam's recursion written out in numpy,
and exact arithmetic with fractions.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow

N, SIGMA2 = 10_000, 5.0
MU0 = np.array([-1.0, -1.0])


def _sample_mean() -> np.ndarray:
    """The chapters' data set (the course's 2-D problem), averaged with numpy."""
    return mh.data.two_d_problem().X.numpy().mean(axis=0)


def _scalar_momentum_errors(a: float, beta: float, num_steps: int) -> np.ndarray:
    """|e_t| / |e_0| of heavy-ball momentum on a round quadratic, from the recursion in numpy.

    PyTorch's form: v_{t+1} = beta v_t + g_t, mu_{t+1} = mu_t - lr v_{t+1}, v_0 = 0, with
    lr * g_t = a e_t on the quadratic with Hessian (n / sigma^2) I.
    """
    e, v, out = 1.0, 0.0, [1.0]
    for _ in range(num_steps):
        v = beta * v + a * e  # lr * v, in units of the error
        e = e - v
        out.append(abs(e))
    return np.array(out)


def _adam_ratio(g: np.ndarray, beta1: float = 0.9, beta2: float = 0.999) -> np.ndarray:
    """|m_hat_t| / sqrt(v_hat_t) at the last step of each row of g, from Adam's recursion (not the weights)."""
    m = np.zeros(g.shape[0])
    v = np.zeros(g.shape[0])
    for t in range(1, g.shape[1] + 1):
        m = beta1 * m + (1 - beta1) * g[:, t - 1]
        v = beta2 * v + (1 - beta2) * g[:, t - 1] ** 2
    t = g.shape[1]
    return np.abs(m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t))


@pytest.fixture(scope="module")
def gradient_ascent(built_book):
    return Page(built_book, "gradient_ascent")


@pytest.fixture(scope="module")
def optimizers(built_book):
    return Page(built_book, "optimizers")


def test_gradient_ascent_reaches_the_sample_mean(gradient_ascent):
    page = gradient_ascent
    xbar = _sample_mean()
    assert page.stated("The sample mean is \\hat\\mu = ({}, {})") == pytest.approx(xbar, abs=5e-5)
    assert page.stated("agree to {}, which is rounding")[0] < 1e-8
    steps, lr, error = page.stated("After {} steps with \\eta = {}, the iterate is within {}")
    rho = 1 - lr * N / SIGMA2
    assert error == pytest.approx(abs(rho) ** steps * np.linalg.norm(MU0 - xbar), rel=0.05)


def test_gradient_ascent_learning_rate_regimes(gradient_ascent):
    page = gradient_ascent
    err0 = np.linalg.norm(MU0 - _sample_mean())
    # the arithmetic typed into the prose, redone exactly
    assert Fraction(page.stated("\\sigma^2/n = 5/10\\,000 = {}")[0]).limit_denominator(10**6) == Fraction(5, N)
    assert Fraction(page.stated("2\\sigma^2/n = 10/10\\,000 = {}")[0]).limit_denominator(10**6) == Fraction(10, N)
    lr, rho = page.stated("\\eta = {} is safe, with factor \\rho = 1 - 0.0001 \\cdot 10\\,000 / 5 = 1 - 0.2 = {}")
    assert Fraction(rho).limit_denominator(100) == 1 - Fraction(lr).limit_denominator(10**6) * N / 5 == Fraction(4, 5)

    assert page.stated("The start is {} away")[0] == pytest.approx(err0, abs=5e-4)
    one_step, after_one = page.stated("With \\eta = \\sigma^2/n = {} the error after one step is {}")
    assert one_step == SIGMA2 / N and after_one < 1e-12
    lr_slow, rho_slow, lr_zig, rho_zig, err_slow, err_zig = page.stated(
        "With \\eta = {} (\\rho = {}) and \\eta = {} (\\rho = {}) the distances after 20 steps, {} and {}, are the same")
    for lr, rho in [(lr_slow, rho_slow), (lr_zig, rho_zig)]:
        assert rho == pytest.approx(1 - lr * N / SIGMA2, abs=1e-9)
    assert abs(rho_slow) == pytest.approx(abs(rho_zig)) and rho_slow > 0 > rho_zig
    assert err_slow == pytest.approx(abs(rho_slow) ** 20 * err0, rel=5e-3)
    assert err_zig == pytest.approx(abs(rho_zig) ** 20 * err0, rel=5e-3)
    edge, bounce = page.stated("At the bound, \\eta = {}, the distance stays at {} forever")
    assert edge == 2 * SIGMA2 / N and bounce == pytest.approx(err0, abs=5e-4)
    beyond, rho_beyond, grown = page.stated("just beyond it, \\eta = {} (\\rho = {}), it has grown to {} after 20 steps")
    assert rho_beyond == pytest.approx(1 - beyond * N / SIGMA2, abs=1e-9) and rho_beyond < -1
    assert grown == pytest.approx(abs(rho_beyond) ** 20 * err0, rel=1e-3)
    assert page.stated("stability bound 2 sigma^2/n = {}", "printed") == [2 * SIGMA2 / N]
    # every row of the printed table: the measured ratio |e1|/|e0| is |1 - lr n / sigma^2|
    rows = re.findall(rf"^ *{NUMBER} +{NUMBER} +{NUMBER} +{NUMBER}$", page.printed, flags=re.M)
    assert len(rows) >= 5
    for lr, rho, ratio, _ in rows:
        assert float(ratio) == pytest.approx(abs(1 - float(lr) * N / SIGMA2), abs=1e-4)
    assert page.stated("steps needed: {}", "printed") == [math.ceil(math.log(1e-6) / math.log(0.8))]


def test_gradient_ascent_two_curvatures_best_step(gradient_ascent):
    """diag(5, 1): the steep direction is the slow one near the bound; the best step 2/(h1 + h2) has rate (k-1)/(k+1).

    Checked against numpy's eigenvalues of the Hessian n Sigma^-1 and a brute-force search over the learning rate.
    """
    page = gradient_ascent
    h = np.linalg.eigvalsh(N * np.linalg.inv(np.diag([5.0, 1.0])))  # ascending: shallow, steep
    assert page.stated("0 < \\eta < 2/10\\,000 = {}")[0] == pytest.approx(2 / h.max())
    assert page.stated("h_1 = 10\\,000/5 = {}")[0] == h[0]
    assert page.stated("\\kappa = {}, so")[0] == h[1] / h[0]
    assert Fraction(2, int(h[0] + h[1])) == Fraction(1, int(page.stated("\\eta^* = 2/12\\,000 = 1/{}")[0]))
    kappa = Fraction(int(h[1]), int(h[0]))
    assert (kappa - 1) / (kappa + 1) == Fraction(2, int(page.stated("the rate is (5 - 1)/(5 + 1) = 2/{}")[0]))
    assert page.stated("tends to 1 - 2h_1/h_2 = 1 - 2/5 = {}")[0] == pytest.approx(1 - 2 * h[0] / h[1])

    # brute force: the learning rate in (0, 2/h_max) that minimises the worst factor max_j |1 - lr h_j|
    grid = np.linspace(0, 2 / h.max(), 200_001)[1:-1]
    worst = np.abs(1 - grid[:, None] * h[None, :]).max(axis=1)
    best = grid[worst.argmin()]
    stated_lr, stated_rate, gap = page.stated(
        "With \\eta^* = {} the distance to \\bar x shrinks at every step by the predicted factor "
        "(\\kappa - 1)/(\\kappa + 1) = {}, up to {}")
    assert stated_lr == pytest.approx(best, rel=1e-3)
    assert stated_rate == pytest.approx(worst.min(), abs=1e-4)
    assert gap < 1e-8
    assert page.glued()["aniso_rate_best"] == pytest.approx(worst.min(), abs=5e-5)  # the grid step times h_max

    # just below the bound the steep coordinate has the factor near -1: it is the slow one
    near, shallow, steep = page.stated(
        "at \\eta = {}, the shallow coordinate shrinks by {} per step but the steep one only by {}")
    assert near < 2 / h.max()
    assert shallow == pytest.approx(abs(1 - near * h[0]), abs=1e-4)
    assert steep == pytest.approx(abs(1 - near * h[1]), abs=1e-4)
    assert steep > shallow, "just below the bound the steep direction must be the slow one"
    assert page.stated("With \\eta = 1/h_2 the shallow coordinate shrinks by {} per step")[0] == pytest.approx(
        1 - h[0] / h[1], abs=1e-4)


def test_optimizers_sign_mistake_walks_away(optimizers):
    page = optimizers
    xbar = _sample_mean()
    err0 = np.linalg.norm(MU0 - xbar)
    start, end = page.stated("distance grows from {} to {}")
    assert start == pytest.approx(err0, abs=5e-3)
    assert end > start + 1.0, "backward() on L must move away from the maximum"
    wrong, right = page.stated("each coordinate ends at {} with the wrong sign and {} with the right one")
    # Adam moves a coordinate by at most about lr per step: 100 steps of 1e-4 cover at most ~0.01.
    assert -1.0 - 0.0101 < wrong < -1.0
    assert -1.0 < right < -1.0 + 0.0101
    assert page.stated("the maximum is {} away in the first coordinate and {} in the second") == pytest.approx(
        xbar - MU0, abs=5e-3)
    assert page.stated("needs at least {} steps")[0] == math.ceil((xbar - MU0)[0] / 0.1)
    assert page.stated("that is at least {} steps")[0] == math.ceil((xbar - MU0)[0] / 1e-4)


def test_optimizers_equivalences_and_adam_scale(optimizers):
    page = optimizers
    assert page.stated("agree to rounding error ({})")[0] < 1e-12, "full-batch SGD on nll is gradient ascent"
    assert page.stated("maximize=True) on L vs Adam on nll: largest difference {}", "printed")[0] < 1e-12
    assert page.stated("differ by {}, although")[0] < 1e-6, "Adam's path must not depend on the loss's scale"
    assert page.stated("moves by {} in 100 steps")[0] < 0.01
    assert 0.99 < page.stated("longest step is {} times")[0] <= 1.0


def test_optimizers_adam_first_steps(optimizers):
    """The first Adam step is lr in each coordinate; the next ones are lr |m_hat| / (sqrt(v_hat) + eps), below lr.

    Reference: Adam written out in numpy on the gradient (n / sigma^2)(mu - x_bar) of the chapter's nll.
    """
    page = optimizers
    xbar, lr, beta1, beta2, eps = _sample_mean(), 0.1, 0.9, 0.999, 1e-8
    mu, m, v, steps = MU0.copy(), 0.0, 0.0, []
    for t in range(1, 4):
        g = N / SIGMA2 * (mu - xbar)
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        step = lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        mu = mu - step
        steps.append(abs(step[0]) / lr)
    first = page.stated("The first step is \\eta in each coordinate ({} \\eta in the first)")[0]
    second, third = page.stated("{} \\eta and {} \\eta at steps 2 and 3")
    assert first == pytest.approx(steps[0], abs=1e-4) == pytest.approx(1.0, abs=1e-4)
    assert second == pytest.approx(steps[1], abs=1e-4) and third == pytest.approx(steps[2], abs=1e-4)
    assert third < second < 1.0, "the steps after the first are below lr as the gradient shrinks"


def test_optimizers_adam_mean_rms_bound(optimizers):
    """|m_hat| <= sqrt(v_hat) when the gradient's size never grows (Adam's own recursion, fresh random sequences);
    more when it grows, up to the Cauchy-Schwarz cap; the page's numbers agree."""
    page = optimizers
    beta1, beta2 = 0.9, 0.999
    rng = np.random.default_rng(12345)
    sizes = np.exp(-np.cumsum(rng.exponential(size=(20_000, 40)) * 10.0 ** rng.uniform(-4, 0, (20_000, 1)), axis=1))
    signs = np.where(rng.random((20_000, 40)) < 0.5, -1.0, 1.0)
    signs[::2] = 1.0
    shrinking = _adam_ratio(signs * sizes)
    assert shrinking.max() <= 1 + 1e-12 and shrinking.max() > 0.99
    spike = np.zeros((1, 20_000))
    spike[0, -1] = 1.0  # Kingma and Ba's case: zero gradients, then one
    assert _adam_ratio(spike)[0] == pytest.approx((1 - beta1) / math.sqrt(1 - beta2), rel=1e-3)
    cap = (1 - beta1) / math.sqrt((1 - beta2) * (1 - beta1**2 / beta2))
    growing = (beta2 / beta1) ** np.arange(6000.0)
    growing_ratio = _adam_ratio((growing / growing[-1])[None, :])[0]
    assert 0.99 * cap < growing_ratio <= cap

    assert page.stated("= \\sqrt{10}\\,\\eta \\approx {}")[0] == pytest.approx(math.sqrt(10), abs=5e-3)
    assert page.stated("\\frac{1 - \\beta_1}{\\sqrt{(1 - \\beta_2)(1 - \\gamma)}} \\approx {}")[0] == pytest.approx(
        cap, abs=5e-3)
    page_shrinking, page_any, page_growing, page_cap = page.stated(
        "the largest ratio among the random sequences is {}, at most 1 as the proposition says; with sizes drawn "
        "freely it reaches {}; the growing sequence reaches {} after 5000 steps, close to the cap {}")
    assert 0.99 < page_shrinking <= 1.0
    assert page_any > 1.0
    assert page_cap == pytest.approx(cap, abs=1e-4)
    assert page_growing == pytest.approx(_adam_ratio((growing[:5000] / growing[4999])[None, :])[0], abs=1e-4)


def test_optimizers_momentum_roots(optimizers):
    """Each printed rate is the largest |root| of z^2 - (1 + beta - a) z + beta (numpy.roots), and the page's runs
    shrink at about that rate; for beta = 0 the roots are 0 and 1 - a."""
    page = optimizers
    a = 1e-4 * N / SIGMA2
    for beta in (0.0, 0.5, 0.9):
        line = next(line for line in page.printed.splitlines() if line.startswith(f"beta = {beta}: roots"))
        predicted, measured = (float(x) for x in re.search(
            rf"predicted factor {NUMBER}, measured {NUMBER}", line).groups())
        roots = np.roots([1.0, -(1 + beta - a), beta])
        assert predicted == pytest.approx(np.abs(roots).max(), abs=1e-4)
        assert measured == pytest.approx(predicted, rel=1e-2)
        if beta == 0.0:
            assert sorted(float(x) for x in re.findall(NUMBER, line.split("roots")[1].split("]")[0])) == \
                pytest.approx(sorted([0.0, 1 - a]))
    rate5, measured5, measured0, rate9, measured9 = page.stated(
        "the error shrinks at rate \\sqrt{0.5} = {} (measured: {}), faster than plain gradient descent’s "
        "1 - a = 0.8 (measured: {}), or at rate \\sqrt{0.9} = {} (measured: {}), slower")
    assert rate5 == pytest.approx(math.sqrt(0.5), abs=1e-4) and rate9 == pytest.approx(math.sqrt(0.9), abs=1e-4)
    assert measured0 == pytest.approx(1 - a, abs=1e-4)
    assert measured5 < measured0 < measured9
    assert page.stated("Here a = 10^{-4} \\cdot 10\\,000/5 = {}")[0] == a
    d5, d9 = page.stated("(1.3^2 - 2 = {} and 1.7^2 - 3.6 = {})")
    assert d5 == pytest.approx((1 + 0.5 - a) ** 2 - 4 * 0.5) and d9 == pytest.approx((1 + 0.9 - a) ** 2 - 4 * 0.9)


def test_optimizers_critical_damping(optimizers):
    """beta_c = (1 - sqrt a)^2 is where the roots meet and where max |root| is smallest (brute force over beta with
    numpy.roots), the rate is 1 - sqrt(a) < 1 - a; the page's run settles sooner than SGD and momentum 0.5; at the best
    step sigma^2/n momentum lands with gradient descent and then leaves."""
    page = optimizers
    a = 1e-4 * N / SIGMA2
    betas = np.linspace(0.0, 0.99, 9901)
    rates = np.array([np.abs(np.roots([1.0, -(1 + b - a), b])).max() for b in betas])
    beta_best, rate_best = betas[rates.argmin()], rates.min()
    beta_c, rate_c = page.stated("\\beta_c = (1 - \\sqrt{0.2})^2 = {}, with rate 1 - \\sqrt{0.2} = {}")
    assert beta_c == pytest.approx(beta_best, abs=2e-3)
    assert rate_c == pytest.approx(rate_best, abs=1e-3)
    assert np.ptp(np.roots([1.0, -(1 + beta_c - a), beta_c])) < 1e-2, "a double root at beta_c"
    assert rate_c < 1 - a
    printed_beta = page.stated("beta_c = {}: roots [{} {}], rate 1 - sqrt(a) = {}", "printed")
    assert printed_beta[1] == pytest.approx(printed_beta[2]) == pytest.approx(printed_beta[3], abs=1e-4)

    # the page's run against the closed form, and its settling step against the recursion done in numpy
    assert page.stated("The run follows ({}) to a relative {}")[1] < 1e-5
    critical, mom5, sgd = page.stated(
        "stays within 10^{-3} from step {}, against {} for \\beta = 0.5 and {} for plain SGD")
    err0 = np.linalg.norm(MU0 - _sample_mean())
    for beta, stated in [((1 - math.sqrt(a)) ** 2, critical), (0.5, mom5), (0.0, sgd)]:
        errors = _scalar_momentum_errors(a, beta, 200) * err0
        assert stated == int(np.nonzero(errors >= 1e-3)[0].max()) + 1
    assert critical < mom5 < sgd

    # at lr = sigma^2 / n (a = 1): one step reaches x_bar; momentum then jumps back to beta |e_0|
    plain = page.numbers_after("lr = sigma^2/n, momentum 0.0: |e_t| for t = 0..3:")
    heavy = page.numbers_after("lr = sigma^2/n, momentum 0.5: |e_t| for t = 0..3:")
    expected = _scalar_momentum_errors(1.0, 0.5, 3) * err0
    assert plain[-4:] == pytest.approx([err0, 0, 0, 0], abs=1e-4)
    assert heavy[-4:] == pytest.approx(expected, abs=1e-4)
    assert heavy[-2] == pytest.approx(0.5 * err0, abs=1e-4)


def test_optimizers_settling_steps_and_momentum_bound(optimizers):
    page = optimizers
    err0 = np.linalg.norm(MU0 - _sample_mean())
    mom9, sgd, mom5 = page.stated("from step {} instead of {}), while momentum 0.5 is faster (step {})")
    assert sgd == math.ceil(math.log(1e-3 / err0) / math.log(0.8)), "SGD's error is 0.8^t e_0"
    assert mom5 < sgd < mom9
    below = page.stated("lr = 0.00185: distance to mu_hat after 400 steps {}", "printed")[0]
    above = page.stated("lr = 0.00195: distance to mu_hat after 400 steps {}", "printed")[0]
    assert below < 1e-6 and above > 1e6, "the momentum bound 2 (1 + beta) sigma^2 / n = 0.0019"


@pytest.mark.parametrize("name, figures", [("gradient_ascent", 3), ("optimizers", 5)])
def test_pages_show_figures_with_alt_text_and_no_stderr(built_book, name, figures):
    page = Page(built_book, name)
    images = re.findall(r"<img [^>]*src=\"\.\./_images/[^>]*>", page.html)
    alts = [re.search(r'alt="([^"]*)"', image).group(1) for image in images]
    assert len(alts) == figures
    assert all(len(alt) > 40 and ".png" not in alt for alt in alts), alts
    assert "<Figure size" not in page.text
    assert "output stderr" not in page.html, "a cell wrote to stderr"


@pytest.mark.parametrize("name, assignment", [("gradient_ascent", "ps2_gradient_ascent"),
                                              ("optimizers", "ps3_optimizers")])
def test_pages_link_their_assignment(built_book, name, assignment):
    page = Page(built_book, name)
    assert f'href="../exercises/{assignment}/{assignment}.html"' in page.html
