"""Stated results of chapters 9 and 10 (stochastic, location_scale), read from the built book.

Each test reads a built page (``pages.Page``): what its cells printed and what
its prose states, and checks the numbers against an independent computation:
mle_helpers.estimators, scipy, or an exact formula.
"""
from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy import stats

import mle_helpers as mh
from pages import NUMBER, Page

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stochastic(built_book):
    return Page(built_book, "stochastic")


@pytest.fixture(scope="module")
def location_scale(built_book):
    return Page(built_book, "location_scale")


# ---------------------------------------------------------------- chapter 9


def _chapter9_data():
    return mh.data.two_d_problem().X  # the data set of the gradient-ascent chapter (seed 7)


def _gradients_at_start(X):
    """g_i = Sigma^{-1} (x_i - mu0) for Sigma = 5 I, mu0 = (-1, -1), by hand in numpy."""
    return (X.numpy() + 1.0) / 5.0


def test_the_problem_is_the_data_set_of_the_earlier_chapters(stochastic):
    X = _chapter9_data().numpy()
    assert stochastic.numbers_after("mu_hat =")[:2] == pytest.approx(X.mean(axis=0).tolist(), abs=6e-5)


def test_each_block_of_a_shuffled_epoch_is_a_uniform_set():
    """The page's claim: under per-epoch shuffling each block of k positions holds every k-set with
    probability k! (n - k)! / n!. Exact, by enumerating all permutations of a small n."""
    n, k = 5, 2
    counts = {}
    for order in itertools.permutations(range(n)):
        for start in range(0, n - k + 1, k):
            block = frozenset(order[start:start + k])
            counts[start, block] = counts.get((start, block), 0) + 1
    expected = math.factorial(k) * math.factorial(n - k) / math.factorial(n)
    for start in range(0, n - k + 1, k):
        probabilities = [c / math.factorial(n) for (s, _), c in counts.items() if s == start]
        assert len(probabilities) == math.comb(n, k)
        assert probabilities == pytest.approx([expected] * math.comb(n, k))


def test_gradient_ascent_draws_each_batch_afresh_without_repeats(stochastic):
    """The page says mh.ascent.gradient_ascent(batch_size=k) draws k distinct rows, independently at every step.

    With Sigma = I and lr = 1/n a step is mu <- mean of the batch, so the path shows every batch.
    """
    assert "This is what mh.ascent.gradient_ascent(..., batch_size=k) does" in stochastic.text
    X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 10.0], [100.0, 100.0]], dtype=torch.float64)
    n, sigma = X.shape[0], torch.eye(2, dtype=torch.float64)
    # k = 1: each step lands on one data point. Blocks of n steps are not permutations (not an epoch rule),
    # and every point comes up about equally often.
    path = mh.ascent.gradient_ascent(X, sigma, X[0], 1.0 / n, 2000, batch_size=1, seed=5)[1:]
    chosen = [int(torch.cdist(mu[None], X).argmin()) for mu in path]
    assert torch.cdist(path, X).min(dim=1).values.max() < 1e-9
    assert any(len(set(chosen[i:i + n])) < n for i in range(0, len(chosen), n))
    assert stats.chisquare([chosen.count(i) for i in range(n)]).pvalue > 1e-4
    # k = 2: each step lands on the mean of two *distinct* points (these six means and the points all differ).
    pair_means = torch.stack([(X[i] + X[j]) / 2 for i, j in itertools.combinations(range(n), 2)])
    path = mh.ascent.gradient_ascent(X, sigma, X[0], 1.0 / n, 500, batch_size=2, seed=6)[1:]
    assert torch.cdist(path, pair_means).min(dim=1).values.max() < 1e-9
    # k = n: the batch is all of X, every step.
    path = mh.ascent.gradient_ascent(X, sigma, X[0], 1.0 / n, 5, batch_size=n, seed=7)[1:]
    assert (path - X.mean(dim=0)).abs().max() < 1e-12


def test_minibatch_average_matches_the_full_gradient(stochastic):
    g = _gradients_at_start(_chapter9_data())
    n, k, num_draws = g.shape[0], 10, 200_000
    full_gradient = g.sum(axis=0)
    assert stochastic.numbers_after("full gradient") == pytest.approx(full_gradient.tolist(), abs=0.006)
    # The variance formula, computed independently: n (n - k) / k times the sample variance of g.
    predicted_std = np.sqrt(n * (n - k) / k * g.var(axis=0, ddof=1))
    standard_error = predicted_std / math.sqrt(num_draws)
    assert stochastic.numbers_after("standard error of the mean") == pytest.approx(standard_error.tolist(), abs=0.006)
    mean = np.array(stochastic.numbers_after("mean of the k=10 estimates"))
    z = (mean - full_gradient) / standard_error
    assert stochastic.numbers_after("z-scores") == pytest.approx(z.tolist(), abs=0.01)
    assert np.abs(z).max() < 3  # the theorem's prediction, checked with many draws
    stated_z = stochastic.stated("The two z-scores are {} and {}: inside that range")
    assert stated_z == pytest.approx(z.tolist(), abs=0.01)
    p_one = 2 * stats.norm.cdf(3) - 1
    [stated_p_one, stated_p_both] = stochastic.stated("with probability p = 2\\Phi(3) - 1 = {} ") + \
        stochastic.stated("1 - 2\\,(1 - p) = {} ")
    assert stated_p_one == pytest.approx(p_one, abs=5e-5)
    assert stated_p_both == pytest.approx(1 - 2 * (1 - p_one), abs=5e-5)
    [share] = stochastic.stated("three standard errors are at most {}%")
    assert share / 100 == pytest.approx((3 * standard_error / np.abs(full_gradient)).max(), abs=5e-5)
    # One estimate scatters as the variance formula says.
    numbers = stochastic.numbers_after("std of one estimate")
    measured_std, printed_prediction = numbers[:2], numbers[2:]
    assert printed_prediction == pytest.approx(predicted_std.tolist(), abs=0.06)
    gap = max(abs(m / p - 1) for m, p in zip(measured_std, predicted_std))
    assert gap < 0.01  # 200 000 draws: the relative sampling error of a standard deviation is about 0.2%
    [stated_gap] = stochastic.stated("predicts, to within {}%")
    assert stated_gap / 100 == pytest.approx(gap, abs=0.0006)


def test_noise_floor_table_matches_the_formula_and_the_runs(stochastic):
    X = _chapter9_data()
    n, a = 10_000, 1e-4 * 10_000 / 5.0
    table = re.findall(r"^\s*(\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s*$", stochastic.printed, flags=re.M)
    assert [int(k) for k, _, _ in table] == [1, 5, 10, 100, 1000, n]
    predicted, gaps = {}, []
    for k, stated_floor, measured in table:
        k, stated_floor, measured = int(k), float(stated_floor), float(measured)
        predicted[k] = math.sqrt(a / (2 - a) * (1 - k / n) / k * X.var(dim=0).sum().item())
        assert stated_floor == pytest.approx(predicted[k], abs=1e-4)
        if k == n:
            assert measured < 1e-4  # the full batch has no floor
        else:
            assert measured == pytest.approx(predicted[k], rel=0.25)
            gaps.append(abs(measured / predicted[k] - 1))
    floor_1, floor_100 = stochastic.stated("iterates wander about {} from the MLE; with k = 100 the floor is {}.")
    assert floor_1 == pytest.approx(predicted[1], abs=0.005)
    assert floor_100 == pytest.approx(predicted[100], abs=0.0005)
    [worst] = stochastic.stated("to within {}%. They cannot agree exactly")
    assert worst / 100 == pytest.approx(max(gaps), abs=0.006)


def test_unscaled_batch_sum_barely_moves(stochastic):
    [scaled] = stochastic.numbers_after("k = 10,   scaled by n/k: distance to mu_hat after 300 steps =")
    [unscaled] = stochastic.numbers_after("k = 10, plain batch sum: distance to mu_hat after 300 steps =")
    X = _chapter9_data()
    start_distance = (torch.tensor([-1.0, -1.0], dtype=torch.float64) - X.mean(dim=0)).norm().item()
    assert scaled < 0.5 < 0.9 * start_distance < unscaled < start_distance


def test_hand_written_gradient_agrees_with_autograd(stochastic):
    assert stochastic.numbers_after("largest |loglik - Normal.log_prob sum|")[0] < 1e-8
    assert stochastic.numbers_after("largest relative gap, hand vs autograd gradient")[0] < 1e-10
    x = mh.data.sample_gaussian(1000, 1.0, 4.0, seed=3)
    mu_hat, sigma2_hat = mh.estimators.gaussian_mle(x)
    assert stochastic.numbers_after("MLE: mu_hat =") == pytest.approx([mu_hat.item(), sigma2_hat.sqrt().item()], abs=1e-4)
    assert stochastic.numbers_after("full batch (k = 1000): final (mu, sigma) =")[-1] < 1e-3


def test_exercise_arithmetic_of_chapter9(stochastic):
    a = Fraction(1, 10_000) * 10_000 / 5  # lr n / sigma^2, exactly
    target = a / ((2 - a) * 100)
    a_small = 2 * target / (1 + target)  # exact: a' / (2 - a') = target
    assert a_small / (2 - a_small) == target
    [stated_a, stated_factor] = stochastic.stated("\\approx {}, about {} times smaller")
    assert stated_a == pytest.approx(float(a_small), abs=5e-6)
    assert stated_factor == round(float(a / a_small))
    log_ratio = math.log(1 - a) / math.log(1 - a_small)
    [stated_log, stated_log_small, stated_steps] = stochastic.stated("\\approx {} / {} \\approx {} times as many steps")
    assert stated_log == pytest.approx(math.log(1 - a), abs=5e-5)
    assert stated_log_small == pytest.approx(math.log(1 - a_small), abs=5e-7)
    assert stated_steps == round(log_ratio)


# ---------------------------------------------------------------- chapter 10


def _laplace_data():
    """The page's sample, drawn here through scipy's Laplace quantile function from the same uniforms."""
    uniform = torch.rand(10_001, generator=torch.Generator().manual_seed(10), dtype=torch.float64).numpy()
    return stats.laplace.ppf(uniform, loc=2.0, scale=1.5)


def test_laplace_fit_matches_the_closed_form(location_scale):
    x = _laplace_data()
    loc_hat, scale_hat = np.median(x), np.mean(np.abs(x - np.median(x)))
    # The page's closed form is the MLE: scipy fits the Laplace by its own route.
    assert stats.laplace.fit(x) == pytest.approx((loc_hat, scale_hat), abs=1e-9)
    assert location_scale.numbers_after("closed form      :") == pytest.approx([loc_hat, scale_hat], abs=1e-8)
    decay = location_scale.numbers_after("decaying lr      :")
    constant = location_scale.numbers_after("constant lr      :")
    errors = np.abs(np.array(decay) - [loc_hat, scale_hat])
    errors_constant = np.abs(np.array(constant) - [loc_hat, scale_hat])
    assert errors.max() < 1e-5 and errors_constant.max() < 1e-4  # both runs land on the MLE
    stated = location_scale.stated("the location ends within {} of the median and the scale within {} of the mean "
                                   "absolute deviation; with a constant one, within {} and {}.")
    for value, error in zip(stated, [*errors, *errors_constant]):
        assert value == pytest.approx(error, rel=0.06, abs=1e-8)  # one decimal in the prose, eight in print
    late_decay, late_constant = location_scale.stated("error is never above {} with the decay, while "
                                                      "without it the location keeps jittering, up to {} away")
    assert late_decay == location_scale.numbers_after("largest error over the last 100 steps, decaying lr: loc")[0]
    assert late_constant == location_scale.numbers_after("largest error over the last 100 steps, constant lr: loc")[0]
    assert late_constant > 5 * late_decay  # where the decay matters: the location, whose likelihood has kinks
    assert errors_constant[1] < 1e-8  # the scale needs no decay


def test_exponential_lr_is_the_written_out_schedule(location_scale):
    """The page says ExponentialLR multiplies the learning rate by gamma after every step: eta_t = eta gamma^t."""
    assert "That is what torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma) does" in location_scale.text
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.995)
    rates = []
    for _ in range(600):
        rates.append(optimizer.param_groups[0]["lr"])
        parameter.grad = torch.zeros(1)
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx((0.1 * 0.995 ** np.arange(600)).tolist(), rel=1e-12)


def test_one_raw_step_from_a_tiny_scale(location_scale):
    """One plain gradient step in rho from scale 0.01, recomputed in numpy from the derivative of the mean NLL."""
    x = _laplace_data()
    median = np.median(x)
    mean_deviation = np.mean(np.abs(x - median))
    maps = {"exp": (np.exp, np.log, lambda s: s),
            "softplus": (lambda r: np.log1p(np.exp(r)), lambda s: np.log(np.expm1(s)), lambda s: -np.expm1(-s))}
    after = {}
    for name, (to_scale, to_rho, derivative) in maps.items():
        rho = to_rho(0.01)
        gradient = (1 / 0.01 - mean_deviation / 0.01**2) * derivative(0.01)  # f'(s) s'(rho)
        new_rho = rho - 0.1 * gradient
        after[name] = to_scale(new_rho)
        printed = location_scale.numbers_after(f"{name}: gradient")
        assert printed == pytest.approx([gradient, rho, new_rho, 0.01, after[name]], rel=1e-5, abs=2e-3)
    assert after["exp"] > 1000 * after["softplus"]  # exponential against linear growth
    stated_exp, stated_softplus = location_scale.stated("turns it into a scale of {}, where softplus lands at {}.")
    assert stated_exp == pytest.approx(after["exp"], abs=0.5)
    assert stated_softplus == pytest.approx(after["softplus"], abs=0.005)
    assert "at rho = 710: exp gives inf, softplus gives 710.0" in location_scale.printed


def _second_difference(function, at, step):
    return (function(at + step) - 2 * function(at) + function(at - step)) / step**2


def test_curvature_in_the_raw_parameter(location_scale):
    """The table's F'' against numpy finite differences of the mean NLL in rho, and the formula (eq:ls-curvature)."""
    x = _laplace_data()
    mean_deviation = np.mean(np.abs(x - np.median(x)))
    rows = re.findall(r"^\s*(\d+(?:\.\d+)?)\s+(\d+\.\d+)\s+(\d\.\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$",
                      location_scale.printed, flags=re.M)
    assert [float(row[0]) for row in rows] == [0.01, 1.0, 100.0]
    for c, scale, f_exp, f_softplus, formula, stable in rows:
        c, scale, f_exp, f_softplus, formula, stable = map(float, (c, scale, f_exp, f_softplus, formula, stable))
        scale_hat = c * mean_deviation
        assert scale == pytest.approx(scale_hat, abs=1e-4)
        mean_nll = lambda s: np.log(2 * s) + scale_hat / s  # the location at the median: D = scale_hat
        softplus = lambda r: np.logaddexp(0.0, r)
        by_exp = _second_difference(lambda r: mean_nll(np.exp(r)), np.log(scale_hat), 1e-3)
        by_softplus = _second_difference(lambda r: mean_nll(softplus(r)), np.log(np.expm1(scale_hat)), 1e-3)
        assert f_exp == pytest.approx(by_exp, rel=1e-4) and by_exp == pytest.approx(1.0, rel=1e-5)
        assert f_softplus == pytest.approx(by_softplus, rel=1e-3)
        assert formula == pytest.approx(((1 - np.exp(-scale_hat)) / scale_hat) ** 2, rel=1e-3)
        assert formula == pytest.approx(by_softplus, rel=1e-3)
        assert stable == pytest.approx(2 / by_softplus, rel=1e-3)
    small, ours, large = location_scale.stated("With softplus it is {} for the small scale, nearly the same, but {} for "
                                               "our data and {} for the large scale")
    curvatures = [((1 - np.exp(-c * mean_deviation)) / (c * mean_deviation)) ** 2 for c in (0.01, 1.0, 100.0)]
    assert [small, ours] == pytest.approx(curvatures[:2], abs=5e-4)  # three decimals in the prose
    assert large == pytest.approx(curvatures[2], rel=0.012)  # two digits


def test_exercise_curvature_for_the_gaussian():
    """The exercise's answer: F''(rho_hat) = 2 for exp and 2 (1 - e^{-s_hat})^2 / s_hat^2 for softplus."""
    x = mh.data.sample_gaussian(300, 1.0, 3.0, seed=31).numpy()
    mu_hat, scale_hat = x.mean(), x.std()
    mean_nll = lambda s: 0.5 * np.log(2 * np.pi) + np.log(s) + np.mean((x - mu_hat) ** 2) / (2 * s**2)
    by_exp = _second_difference(lambda r: mean_nll(np.exp(r)), np.log(scale_hat), 1e-3)
    by_softplus = _second_difference(lambda r: mean_nll(np.logaddexp(0.0, r)), np.log(np.expm1(scale_hat)), 1e-3)
    assert by_exp == pytest.approx(2.0, rel=1e-5)
    assert by_softplus == pytest.approx(2 * (1 - np.exp(-scale_hat)) ** 2 / scale_hat**2, rel=1e-5)


def test_small_sample_scale_divides_by_n(location_scale):
    sample = mh.data.sample_gaussian(5, 2.0, 1.5**2, seed=12).numpy()
    mle_scale = sample.std(ddof=0)
    learned, _, no_correction, default_std, ratio = location_scale.numbers_after("n = 5:")  # _: correction=0
    assert learned == pytest.approx(mle_scale, abs=2e-6)
    assert no_correction == pytest.approx(mle_scale, abs=2e-6)
    assert default_std == pytest.approx(sample.std(ddof=1), abs=2e-6)  # torch divides by n - 1 by default
    assert ratio == pytest.approx(math.sqrt(4 / 5), abs=1e-4)
    stated_learned, stated_std = location_scale.stated("the optimiser finds {}, the divide-by- n value, while x.std() reports {};")
    assert stated_learned == pytest.approx(mle_scale, abs=5e-4)
    assert stated_std == pytest.approx(sample.std(ddof=1), abs=5e-4)
    [gap] = location_scale.stated("\\sqrt{4/5} = {}%")
    assert gap / 100 == pytest.approx(1 - math.sqrt(4 / 5), abs=5e-4)


def test_learned_covariance_printed_matches_gaussian_mle(location_scale):
    X = mh.data.sample_gaussian(2_000, [1.0, -1.0], [[2.0, -0.6], [-0.6, 1.0]], seed=11).numpy()
    mu_hat, sigma_hat = X.mean(axis=0), np.cov(X.T, bias=True)  # divisor n
    assert location_scale.numbers_after("learned mean      :") == pytest.approx(mu_hat.tolist(), abs=1e-5)
    block = location_scale.printed.split("learned covariance:")[1].split("closed-form")[0]
    learned = [float(number) for number in re.findall(NUMBER, block)]
    assert learned == pytest.approx(sigma_hat.flatten().tolist(), abs=1e-5)
    [mvn_error] = location_scale.stated("to within {} in every entry")
    assert mvn_error < 1e-6
    [evaluations] = location_scale.numbers_after("objective evaluations:")
    [stated_evaluations] = location_scale.stated("after {} evaluations of the objective")
    assert stated_evaluations == evaluations

