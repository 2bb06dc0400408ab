"""Trusted checks of ps1_closed_form: the closed-form Gaussian and regression MLEs, a Bernoulli MAP, a predictive.

Visible checks repeat the notebook's self-checks with the same data; hidden
checks call the student's functions on fresh data drawn from ``rng`` and judge
the answers against the formulas the tasks ask for.
"""
import math

import torch

import mle_helpers as mh

from . import Assignment, CheckFailed, Task, fmt, expect_close, tolerance

ASSIGNMENT = Assignment("ps1_closed_form", [
    Task("gaussian_mle_1d", answers=["gaussian_mle_1d"]),
    Task("linreg_mle", answers=["linreg_mle"]),
    Task("bernoulli_map", answers=["bernoulli_map"]),
    Task("p_two_tails", answers=["p_two_tails"]),
    Task("predictive_head", answers=["predictive_head"]),
])


def _values(name: str, result, names: tuple[str, ...]) -> tuple:
    """``result`` as a tuple of ``len(names)`` values; CheckFailed says what the function must return if not."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else type(result).__name__
        raise CheckFailed(f"{name} must return the {len(names)} values ({', '.join(names)}); got {got}")
    return tuple(result)


def _number(name: str, value) -> float:
    """``value`` (a number or a one-element tensor) as a float; CheckFailed names ``name`` if it is not one."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.reshape(()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise CheckFailed(f"{name} must be a number (a float or a one-element tensor); got {type(value).__name__}"
                      + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""))


def _sample(x: torch.Tensor) -> str:
    """How a message names the sample ``x``: its values when short, else its size."""
    return f"x = {fmt(x)}" if len(x) <= 8 else f"a sample of n = {len(x)} points"


def _call_without_changing(nb, name: str, *args):
    """What ``name(*args)`` returns; CheckFailed if it changed one of its tensor arguments in place."""
    answer = nb.call(name, *args, return_args=True)
    for position, (before, after) in enumerate(zip(args, answer["args"])):
        if isinstance(before, torch.Tensor) and not (isinstance(after, torch.Tensor)
                                                     and torch.equal(after.to(before.dtype), before)):
            raise CheckFailed(f"{name} changed its argument {position + 1} in place; an estimator must leave "
                              "the data as it was (compute x - x.mean() into a new tensor, not x -= ...)")
    return answer["value"]


def _expect_variance(name: str, got, residuals: torch.Tensor, where: str, fitted: int) -> None:
    """``got`` is the mean squared residual (divisor n); name the divisor n - k or a standard deviation if used."""
    n, squares = len(residuals), float((residuals ** 2).sum())
    value = _number(name, got)
    expected = squares / n
    rtol, _ = tolerance(got, 1e-8)
    for divisor in range(n - fitted, n):
        if divisor > 0 and math.isclose(value, squares / divisor, rel_tol=rtol):
            raise CheckFailed(f"{name} for {where} is {value:.6g} = sum of squared residuals / (n - {n - divisor}), "
                              f"the unbiased estimate; the MLE divides by n = {n}: {expected:.6g}")
    if math.isclose(value, math.sqrt(expected), rel_tol=rtol) and not math.isclose(expected, 1.0, rel_tol=1e-3):
        raise CheckFailed(f"{name} for {where} is {value:.6g}, the standard deviation; return the variance "
                          f"(mean squared residual, divisor n): {expected:.6g}")
    expect_close(f"{name} for {where}", got, expected, f"the mean squared residual, divisor n = {n}", rtol64=1e-8)


@ASSIGNMENT.check("test_gaussian_mle_1d_visible", task="gaussian_mle_1d")
def _(nb, rng):
    """The notebook's self-check: sample_gaussian(200, 2, 4, seed=1)."""
    x_check = mh.data.sample_gaussian(200, 2.0, 4.0, seed=1)
    mh.checks.check_gaussian_mle(*_values("gaussian_mle_1d", nb.call("gaussian_mle_1d", x_check),
                                          ("mu_hat", "sigma2_hat")), x_check)


@ASSIGNMENT.check("test_gaussian_mle_1d_hidden", task="gaussian_mle_1d")
def _(nb, rng):
    """Fresh samples of n = 2, a few and many points, any location and scale: sample mean and divisor-n variance."""
    for n in (2, int(rng.integers(3, 9)), int(rng.integers(300, 2000))):
        x = torch.as_tensor(rng.normal(rng.uniform(-100, 100), rng.uniform(0.1, 10), size=n))
        mu_hat, sigma2_hat = _values("gaussian_mle_1d", _call_without_changing(nb, "gaussian_mle_1d", x),
                                     ("mu_hat", "sigma2_hat"))
        expect_close(f"mu_hat for {_sample(x)}", mu_hat, x.sum() / n, "the sample average sum(x) / n", rtol64=1e-8)
        _expect_variance("sigma2_hat", sigma2_hat, x - x.sum() / n, _sample(x), fitted=1)


@ASSIGNMENT.check("test_linreg_mle_visible", task="linreg_mle")
def _(nb, rng):
    """The notebook's self-check: sample_linear(100, 1.5, -0.5, 0.8, seed=2)."""
    x_check, y_check = mh.data.sample_linear(100, 1.5, -0.5, 0.8, seed=2)
    mh.checks.check_linreg_mle(*_values("linreg_mle", nb.call("linreg_mle", x_check, y_check),
                                        ("a_hat", "b_hat", "sigma2_hat")), x_check, y_check)


@ASSIGNMENT.check("test_linreg_mle_hidden", task="linreg_mle")
def _(nb, rng):
    """Fresh lines (few and many points, x off-centre): least squares slope and intercept, divisor-n noise variance."""
    for n in (int(rng.integers(3, 7)), int(rng.integers(200, 2000))):
        low, width = rng.uniform(-50, 50), rng.uniform(0.5, 20)
        x = torch.as_tensor(rng.uniform(low, low + width, size=n))
        a, b = rng.uniform(-5, 5), rng.uniform(-20, 20)
        y = a * x + b + torch.as_tensor(rng.normal(0, rng.uniform(0.1, 3), size=n))
        a_hat, b_hat, sigma2_hat = _values("linreg_mle", _call_without_changing(nb, "linreg_mle", x, y),
                                           ("a_hat", "b_hat", "sigma2_hat"))
        where = f"x = {fmt(x)}, y = {fmt(y)}" if n <= 8 else f"{n} points from y = {a:.3g} x + {b:.3g} + noise"
        dx, dy = x - x.mean(), y - y.mean()
        a_ref = (dx * dy).sum() / (dx ** 2).sum()
        b_ref = y.mean() - a_ref * x.mean()
        expect_close(f"a_hat for {where}", a_hat, a_ref, "cov(x, y) / var(x), which makes the residuals "
                     "orthogonal to x", rtol64=1e-8)
        expect_close(f"b_hat for {where}", b_hat, b_ref, "mean(y) - a_hat * mean(x), which makes the residuals "
                     "sum to zero", rtol64=1e-8)
        _expect_variance("sigma2_hat", sigma2_hat, y - a_ref * x - b_ref, where, fitted=2)


@ASSIGNMENT.check("test_bernoulli_map_visible", task="bernoulli_map")
def _(nb, rng):
    """The notebook's self-check: the course's seven tosses under N(0.5, 0.1)."""
    theta = nb.call("bernoulli_map", mh.data.COIN_TOSSES, 0.5, 0.1)
    mh.checks.check_bernoulli_map(_number("theta_map", theta), mh.data.COIN_TOSSES, 0.5, 0.1)


def _random_tosses(rng, n: int) -> tuple[int, ...]:
    """``n`` tosses in random order with at least one head and one tail (the MAP is then inside (0, 1))."""
    heads = int(rng.integers(1, n))
    return tuple(int(t) for t in rng.permutation([1] * heads + [0] * (n - heads)))


@ASSIGNMENT.check("test_bernoulli_map_hidden", task="bernoulli_map")
def _(nb, rng):
    """Other tosses and priors (narrow and wide): the derivative of the log posterior vanishes at the answer."""
    for n, log_var in ((int(rng.integers(2, 8)), rng.uniform(-5, -3)), (int(rng.integers(8, 40)), rng.uniform(-3, -1)),
                       (int(rng.integers(2, 60)), rng.uniform(-1, 1))):
        tosses, m, v = _random_tosses(rng, n), float(rng.uniform(0.05, 0.95)), float(math.exp(log_var))
        h, t = sum(tosses), n - sum(tosses)
        result = nb.call("bernoulli_map", tosses, m, v)
        theta = _number("theta_map", result)
        where = f"{h} heads and {t} tails under the prior N({m:.4g}, {v:.4g}) ({v:.4g} the variance)"
        expected = mh.estimators.bernoulli_map(tosses, m, v)
        if not 0 < theta < 1:
            raise CheckFailed(f"theta_map for {where} is {theta:.6g}; it must lie in (0, 1): expected {expected:.6g}")
        slope = h / theta - t / (1 - theta) - (theta - m) / v
        scale = h / theta + t / (1 - theta) + abs(theta - m) / v + 1
        if abs(slope) <= (1e-4 if tolerance(result)[0] > 1e-6 else 1e-6) * scale:  # float32 or float64 precision
            continue
        if abs(theta - mh.estimators.bernoulli_map(tosses, m, v ** 2)) < 1e-6:
            reading = f"the MAP when {v:.4g} is the prior's standard deviation; this course reads N(m, v) with v the variance"
        elif abs(theta - h / n) < 1e-9:
            reading = "the MLE heads / n, which ignores the prior"
        else:
            reading = "not a maximiser of the log posterior"
        raise CheckFailed(f"theta_map for {where} is {theta:.6g}, {reading}: the derivative h/theta - t/(1 - theta) "
                          f"- (theta - m)/v is {slope:.4g} there; it vanishes at theta = {expected:.6g}")


@ASSIGNMENT.check("test_p_two_tails_visible", task="p_two_tails")
def _(nb, rng):
    """The notebook's self-check: p_two_tails is (1 - theta_MAP)^2 with the student's own theta_MAP."""
    theta = _number("bernoulli_map(COIN_TOSSES, 0.5, 0.1)", nb.call("bernoulli_map", mh.data.COIN_TOSSES, 0.5, 0.1))
    mh.checks.check_close("p_two_tails", _number("p_two_tails", nb.get("p_two_tails")), (1 - theta) ** 2,
                          rtol=1e-6, hint="Use theta_MAP from D1 (prior variance 0.1): P = (1 - theta_MAP)^2.")


@ASSIGNMENT.check("test_p_two_tails_hidden", task="p_two_tails")
def _(nb, rng):
    """The exact value: theta_MAP = 1/sqrt(5) solves 3/theta - 4/(1 - theta) - (theta - 0.5)/0.1 = 0."""
    got, theta = _number("p_two_tails", nb.get("p_two_tails")), 1 / math.sqrt(5)
    if abs(got - (1 - theta) ** 2) >= 1e-6:
        raise CheckFailed(f"p_two_tails is {got:.6g}; expected (1 - theta_MAP)^2 = {(1 - theta) ** 2:.6g} with the "
                          f"exact theta_MAP = 1/sqrt(5) = {theta:.6g} of the seven tosses under N(0.5, 0.1)")


@ASSIGNMENT.check("test_predictive_head_visible", task="predictive_head")
def _(nb, rng):
    """The notebook's self-check: the predictive for the seven tosses is not the MLE 3/7."""
    got = _number("predictive_head(COIN_TOSSES)", nb.call("predictive_head", mh.data.COIN_TOSSES))
    if abs(got - 3 / 7) < 1e-9:
        raise AssertionError("predictive_head returned 3/7, the MLE; under a uniform prior the posterior is "
                             "Beta(1 + heads, 1 + tails).")
    mh.checks.check_close("predictive_head(COIN_TOSSES)", got, mh.estimators.predictive_head(mh.data.COIN_TOSSES),
                          hint="It is the mean of the Beta posterior, alpha / (alpha + beta).")


@ASSIGNMENT.check("test_predictive_head_hidden", task="predictive_head")
def _(nb, rng):
    """No tosses, all heads, all tails, a long random run: Laplace's rule (heads + 1) / (n + 2)."""
    long_run = int(rng.integers(50, 500))
    cases = [(), (1,) * int(rng.integers(1, 6)), (0,) * int(rng.integers(1, 6)),
             tuple(int(t) for t in rng.random(long_run) < rng.uniform(0.1, 0.9))]
    for tosses in cases:
        h, n = sum(tosses), len(tosses)
        result = nb.call("predictive_head", tosses)
        got = _number(f"predictive_head of {n} tosses", result)
        if not math.isclose(got, (h + 1) / (n + 2), rel_tol=tolerance(result)[0]):
            shown = f"x = {tosses}" if n <= 8 else f"{n} tosses with {h} heads"
            raise CheckFailed(f"predictive_head for {shown} is {got:.6g}; expected (heads + 1) / (n + 2) = "
                              f"{h + 1}/{n + 2} = {(h + 1) / (n + 2):.6g}, the mean of the Beta({1 + h}, {1 + n - h}) "
                              "posterior under the uniform prior")
