"""Chapter 9 below the noise floor: Robbins-Monro step sizes, a decaying step, Polyak-Ruppert averaging.

Each test reads the built page (``pages.Page``) and checks its numbers against computations of its own:
numpy simulations with their own random numbers, the mean and variance of the error propagated step by step
(not the page's closed forms), exact fractions and the roots of polynomials.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

import mle_helpers as mh
from pages import Page

pytestmark = pytest.mark.slow

N, SIGMA2, LR = 10_000, 5.0, 1e-4
A = LR * N / SIGMA2  # the step fraction of the chapter, 0.2
T0 = 5  # sigma^2 / (lr n): the decaying rate lr / (1 + t / t0) has step fractions 1 / (t + 5)
START = np.array([-1.0, -1.0])
CHECKPOINTS = (10, 100, 1000, 10_000)


@pytest.fixture(scope="module")
def stochastic(built_book):
    return Page(built_book, "stochastic")


@pytest.fixture(scope="module")
def data():
    X = mh.data.two_d_problem().X.numpy()
    x_bar = X.mean(axis=0)
    w1 = float(np.mean(np.sum((X - x_bar) ** 2, axis=1)))  # E||x_B - x_bar||^2 for one uniformly drawn point
    return X, x_bar, w1, float(np.sum((START - x_bar) ** 2))


def _w(k, w1):
    """E||x_B - x_bar||^2 for a batch of k distinct points: the sampling-without-replacement variance."""
    return w1 / k * (N - k) / (N - 1)


def _mse_last(step_fractions, start_sq, w):
    """E||e_t||^2 for t = 0, 1, ...: the squared mean and the variance of the error, propagated step by step."""
    mean_sq, variance, out = start_sq, 0.0, [start_sq]
    for a_t in step_fractions:
        mean_sq *= (1 - a_t) ** 2
        variance = (1 - a_t) ** 2 * variance + a_t**2 * w
        out.append(mean_sq + variance)
    return np.array(out)


def _mse_average(a, steps, start_sq, w):
    """E||(e_1 + ... + e_T) / T||^2 at each T in `steps`, by propagating the second moments of (e_t, e_1 + ... + e_t)."""
    step_map = np.array([[1 - a, 0.0], [1 - a, 1.0]])  # (e, S) -> ((1-a) e, S + (1-a) e), plus (a, a) xi
    noise = w * np.outer([a, a], [a, a])
    moments = np.array([[start_sq, 0.0], [0.0, 0.0]])  # E[z z^T], summed over the two coordinates
    out = {}
    for T in range(1, max(steps) + 1):
        moments = step_map @ moments @ step_map.T + noise
        if T in steps:
            out[T] = moments[1, 1] / T**2
    return out


@pytest.fixture(scope="module")
def simulation(data):
    """2000 chains of single-point steps in numpy: constant a, the decaying 1 / (t + t0), and the constant's average."""
    X, x_bar, _, _ = data
    rng = np.random.default_rng(20240611)
    chains = 2000
    constant, decaying = np.tile(START, (chains, 1)), np.tile(START, (chains, 1))
    total, out = np.zeros((chains, 2)), {}
    for t in range(max(CHECKPOINTS)):
        x = X[rng.integers(N, size=chains)]  # a batch of one point: with or without replacement is the same
        constant += A * (x - constant)  # mu <- (1 - a) mu + a x_B
        decaying += (x - decaying) / (t + T0)
        total += constant
        if t + 1 in CHECKPOINTS:
            out[t + 1] = [float(np.mean(np.sum((m - x_bar) ** 2, axis=1))) for m in (constant, decaying, total / (t + 1))]
    return out


def _table(page, columns):
    """The printed rows of `columns` numbers whose first entry is a checkpoint step."""
    pattern = r"^\s*(\d+)" + r"\s+(\d+\.\d+)" * (columns - 1) + r"\s*$"
    rows = {int(m[0]): [float(v) for v in m[1:]] for m in re.findall(pattern, page.printed, flags=re.M)}
    return {t: rows[t] for t in CHECKPOINTS if t in rows}


def test_batch_noise_and_floor(stochastic, data):
    _, _, w1, _ = data
    t0, w, floor_sq = stochastic.stated("t0 = {},  W_k = {},  floor(k)^2 = {}", where="printed")
    assert t0 == T0 == pytest.approx(SIGMA2 / (LR * N))
    assert w == pytest.approx(_w(1, w1), abs=5e-5)
    assert floor_sq == pytest.approx(A / (2 - A) * _w(1, w1), abs=5e-5)
    [stated] = stochastic.stated("predicts \\text{floor}(1)^2 = {}")
    assert stated == pytest.approx(A / (2 - A) * _w(1, w1), abs=5e-5)


def test_decaying_step_is_a_running_average_and_averaging_cancels_the_noise():
    """The identities behind both formulas, path by path on numpy runs: mu_t = ((t0 - 1) mu_0 + sum of batch
    means) / (t + t0 - 1) for a_t = 1 / (t + t0); and e_bar_T = xi_bar_T + (1 - a)(e_0 - e_T) / (aT)."""
    rng = np.random.default_rng(7)
    batch_means = rng.normal(size=(500, 3, 2)) * 2 + 1  # any numbers will do: the identities are algebra
    x_bar = np.array([0.3, -0.2])
    decaying, constant, total = np.tile(START, (3, 1)), np.tile(START, (3, 1)), np.zeros((3, 2))
    for t, means in enumerate(batch_means):
        decaying = decaying + (means - decaying) / (t + T0)
        constant = constant + A * (means - constant)
        total += constant
        steps = t + 1
        closed = ((T0 - 1) * START + batch_means[:steps].sum(axis=0)) / (steps + T0 - 1)
        assert np.allclose(decaying, closed, atol=1e-12)
        xi_bar = (batch_means[:steps] - x_bar).mean(axis=0)
        identity = xi_bar + (1 - A) / (A * steps) * ((START - x_bar) - (constant - x_bar))
        assert np.allclose(total / steps - x_bar, identity, atol=1e-12)


def test_decaying_step_table_and_prose(stochastic, data, simulation):
    _, _, w1, start_sq = data
    exact = _mse_last([1 / (t + T0) for t in range(max(CHECKPOINTS))], start_sq, _w(1, w1))
    exact_constant = _mse_last([A] * max(CHECKPOINTS), start_sq, _w(1, w1))
    floor_sq = A / (2 - A) * _w(1, w1)
    table = _table(stochastic, 4)
    assert sorted(table) == list(CHECKPOINTS)
    for t, (constant, decaying, theory) in table.items():
        assert theory == pytest.approx(exact[t], abs=1e-6)
        assert decaying == pytest.approx(exact[t], rel=0.12)  # 1000 chains: a few percent of Monte Carlo error
        assert constant == pytest.approx(exact_constant[t], rel=0.12)
        assert simulation[t][1] == pytest.approx(exact[t], rel=0.1)  # the formula against our own simulation
        assert simulation[t][0] == pytest.approx(exact_constant[t], rel=0.1)
    assert exact[max(CHECKPOINTS)] < floor_sq / 1000  # Robbins-Monro: below the floor, and still falling

    [settled, predicted] = stochastic.stated("from 100 on, its mean squared error is {}, and (9.5) predicts "
                                             "\\text{floor}(1)^2 = {}")
    assert predicted == pytest.approx(floor_sq, abs=5e-5)
    assert settled == pytest.approx(floor_sq, rel=0.06)
    [first] = stochastic.stated("below the floor from step {} on")
    assert first == int(np.flatnonzero(exact <= floor_sq)[0])
    assert np.all(np.diff(exact[int(first):]) < 0)
    end, end_theory, gain = stochastic.stated("at step 10\\,000 it is {}, against {} from (9.11), {} times below")
    last = table[max(CHECKPOINTS)]
    assert (end, end_theory) == (last[1], last[2])
    assert gain == pytest.approx(last[0] / last[1], rel=2e-3)
    [scaled] = stochastic.stated("/ W_k = {}, close to 1")
    assert scaled == pytest.approx(max(CHECKPOINTS) * last[1] / _w(1, w1), abs=2e-3)


def test_the_factor_in_front_of_one_over_t_sets_the_rate(stochastic):
    """a_t = c / (t + t0): the squared error falls like 1/t for c > 1/2 and like t^(-2c) below (exact recursion)."""
    assert "falls like 1/t only for c > 1/2, and like t^{-2c} for c < 1/2" in stochastic.text
    for c, slope in [(0.25, -0.5), (0.4, -0.8), (0.75, -1.0), (1.0, -1.0), (2.0, -1.0)]:
        mse = _mse_last([min(1.0, c / (t + T0)) for t in range(200_000)], 8.0, 10.0)
        measured = math.log(mse[200_000] / mse[20_000]) / math.log(10)
        assert measured == pytest.approx(slope, abs=0.06), c


def test_averaging_table_and_prose(stochastic, data, simulation):
    _, _, w1, start_sq = data
    w = _w(1, w1)
    exact = _mse_average(A, set(CHECKPOINTS), start_sq, w)
    table = _table(stochastic, 5)
    assert sorted(table) == list(CHECKPOINTS)
    for T, (last, average, theory, w_over_t) in table.items():
        assert theory == pytest.approx(exact[T], abs=1e-6)
        assert average == pytest.approx(exact[T], rel=0.12)
        assert simulation[T][2] == pytest.approx(exact[T], rel=0.1)
        assert w_over_t == pytest.approx(w / T, abs=1e-6)
    assert max(CHECKPOINTS) * exact[max(CHECKPOINTS)] / w == pytest.approx(1, abs=2e-3)  # T E||e_bar||^2 -> W_k

    end, end_theory, scaled, gain = stochastic.stated(
        "has mean squared error {}, against {} from (9.13) (T\\,\\mathbb{E}\\lVert\\bar e_T\\rVert^2/W_k = {} "
        "by the formula), {} times smaller")
    row = table[max(CHECKPOINTS)]
    assert (end, end_theory) == (row[1], row[2])
    assert scaled == pytest.approx(max(CHECKPOINTS) * exact[max(CHECKPOINTS)] / w, abs=6e-4)
    assert gain == pytest.approx(row[0] / row[1], rel=2e-3)
    [rms] = stochastic.stated("a root-mean-square distance {} from")
    assert rms == pytest.approx(math.sqrt(row[1]), abs=1e-4)
    [standard_error] = stochastic.stated("\\sqrt{2\\sigma^2/n} = {}")
    assert standard_error == pytest.approx(math.sqrt(2 * SIGMA2 / N), abs=5e-5)
    assert rms == pytest.approx(standard_error, rel=0.1)  # "about the distance by which x_bar misses mu"


def test_average_overtakes_the_last_iterate_where_stated(stochastic, data):
    _, _, w1, start_sq = data
    w = _w(1, w1)
    steps = range(1, 301)
    average = _mse_average(A, set(steps), start_sq, w)
    last = _mse_last([A] * 300, start_sq, w)
    worse = [T for T in steps if average[T] >= last[T] * (1 - 1e-12)]
    [stated] = stochastic.stated("by the two exact formulas it is better from step {} on")
    assert stated == max(worse) + 1
    assert stated > 10  # "early on the average is worse than the last iterate"


def test_exercise_a_schedule_that_stops_too_soon(stochastic, data):
    _, x_bar, _, _ = data
    product = Fraction(1)
    for t in range(1, 80):
        product *= 1 - Fraction(1, (t - 1 + 2) ** 2)  # the factor of step t - 1
        assert product == Fraction(t + 2, 2 * (t + 1))
    assert product > Fraction(1, 2)
    assert sum(1 / m**2 for m in range(2, 10**6)) == pytest.approx(math.pi**2 / 6 - 1, abs=1e-5)
    half, start = stochastic.stated("here above {} (the start is {} away)")
    assert start == pytest.approx(np.linalg.norm(START - x_bar), abs=5e-5)
    assert half == pytest.approx(np.linalg.norm(START - x_bar) / 2, abs=5e-5)


def test_exercise_single_points_against_a_larger_batch(stochastic, data):
    _, _, w1, start_sq = data
    floor_100_sq = A / (2 - A) * _w(100, w1)
    [stated_floor] = stochastic.stated("F = \\text{floor}(100)^2 = {}")
    assert stated_floor == pytest.approx(floor_100_sq, abs=5e-7)
    # F (t + 4)^2 - t W_1 - 16 ||e_0||^2 = 0
    roots = np.roots([floor_100_sq, 8 * floor_100_sq - _w(1, w1), 16 * floor_100_sq - 16 * start_sq])
    [root] = stochastic.stated("Its larger root is t \\approx {}")
    assert root == pytest.approx(max(roots.real), abs=0.05)
    exact = _mse_last([1 / (t + T0) for t in range(2000)], start_sq, _w(1, w1))
    [step] = stochastic.stated("so it is below F from step {} on")
    assert step == int(np.flatnonzero(exact <= floor_100_sq)[0])
    assert abs(step - 100 * (2 - A) / A) < 20  # "about 900 ... add a few steps"


def test_exercise_which_constant_step_to_average(stochastic, data):
    _, _, w1, start_sq = data
    parts = {}
    for a in (0.2, 0.02):
        start_part = _mse_average(a, {1000}, start_sq, 0.0)[1000]  # no noise: the start alone
        noise_part = _mse_average(a, {1000}, 0.0, _w(1, w1))[1000]  # from mu_0 = x_bar: the noise alone
        parts[a] = start_part, noise_part
    stated = stochastic.stated("0.004 and the start part is {}; the noise part is {}. For a = 0.02")
    assert stated == pytest.approx(list(parts[0.2]), abs=5e-7)
    start_small, ratio, noise_small, w_over_t = stochastic.stated(
        "0.049 and the start part is {}, {} times larger, while the noise part, {}, is close to the other one "
        "and to W_1/T = {}")
    assert start_small == pytest.approx(parts[0.02][0], abs=5e-7)
    assert noise_small == pytest.approx(parts[0.02][1], abs=5e-7)
    assert ratio == round(parts[0.02][0] / parts[0.2][0])
    assert w_over_t == pytest.approx(_w(1, w1) / 1000, abs=5e-7)
    assert parts[0.02][0] > parts[0.02][1] and parts[0.2][0] < parts[0.2][1] / 50  # who dominates
