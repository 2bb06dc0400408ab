"""Reference checks that the assignments' test cells call.

Each check is silent when the answer is right and raises ``AssertionError``
with a message that tells a student what to look at when it is wrong. They
never print and never warn: nbgrader scores a test cell that writes to
stderr as 0. Hidden tests also assert directly, so replacing these functions
in a notebook gains nothing.
"""
from __future__ import annotations

import numpy as np
import torch

from . import estimators

__all__ = [
    "check_close",
    "check_gaussian_mle",
    "check_linreg_mle",
    "check_bernoulli_map",
    "check_path",
    "check_gradient_ascent_path",
    "check_converged",
]


def _array(name, value) -> np.ndarray:
    """A float64 array from a tensor (possibly requiring grad), list of tensors, or number."""
    if value is None:
        raise AssertionError(f"{name} is None: did your function forget to `return` it?")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy()
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
        try:
            return np.stack([t.detach().cpu().to(torch.float64).numpy() for t in value])
        except ValueError:
            raise AssertionError(f"{name} holds tensors of different shapes; every entry must be a point of the same size") from None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} must be a number, tensor or array; got {type(value).__name__}") from None


def _fmt(array) -> str:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        return f"{array.item():.6g}"
    return np.array2string(array, precision=4, separator=", ", threshold=6, floatmode="maxprec")


def check_close(name, got, expected, *, rtol=1e-6, atol=1e-8, hint=""):
    """Assert ``got`` equals ``expected`` within tolerance, naming ``name`` if not."""
    got_a, expected_a = _array(name, got), _array("expected", expected)
    if got_a.shape != expected_a.shape and got_a.size != expected_a.size:
        raise AssertionError(f"{name} has shape {got_a.shape}; expected shape {expected_a.shape}. {hint}".strip())
    got_a = got_a.reshape(expected_a.shape)
    if not np.all(np.isfinite(got_a)):
        raise AssertionError(f"{name} is {_fmt(got_a)}: it contains NaN or inf. {hint}".strip())
    if not np.allclose(got_a, expected_a, rtol=rtol, atol=atol):
        raise AssertionError(f"{name} is {_fmt(got_a)}; expected {_fmt(expected_a)}. {hint}".strip())


def check_gaussian_mle(mu_hat, sigma2_hat, x):
    """Check a univariate Gaussian MLE ``(mu_hat, sigma2_hat)`` for the sample ``x``."""
    mu_ref, var_ref = estimators.gaussian_mle(x)
    check_close("mu_hat", mu_hat, mu_ref, hint="The MLE of the mean is the sample average.")
    n = np.size(_array("x", x))
    unbiased = var_ref * n / (n - 1) if n > 1 else var_ref
    if n > 1 and np.allclose(_array("sigma2_hat", sigma2_hat), unbiased.item(), rtol=1e-9):
        raise AssertionError("sigma2_hat divides by n - 1 (the unbiased estimate); the MLE divides by n.")
    check_close("sigma2_hat", sigma2_hat, var_ref,
                hint="The MLE of the variance is the mean squared deviation from mu_hat, with divisor n.")


def check_linreg_mle(a_hat, b_hat, var_hat, x, y):
    """Check the linear-regression MLE ``(a_hat, b_hat, var_hat)`` for data ``(x, y)``."""
    a_ref, b_ref, var_ref = estimators.linreg_mle(x, y)
    check_close("a_hat", a_hat, a_ref, hint="The slope is cov(x, y) / var(x).")
    check_close("b_hat", b_hat, b_ref, hint="The intercept is mean(y) - a_hat * mean(x).")
    check_close("var_hat", var_hat, var_ref, hint="The noise variance is the mean squared residual (divisor n).")


def check_bernoulli_map(theta_map, x, prior_mean, prior_var):
    """Check a Bernoulli MAP under a Normal prior with the given *variance*."""
    expected = estimators.bernoulli_map(x, prior_mean, prior_var)
    as_std = estimators.bernoulli_map(x, prior_mean, prior_var**2)
    got = float(_array("theta_map", theta_map).reshape(-1)[0])
    if not np.isclose(got, expected, atol=1e-6) and np.isclose(got, as_std, atol=1e-6):
        raise AssertionError(f"theta_map is {got:.4f}, the MAP when {prior_var} is the prior's standard deviation; "
                             f"this course reads N(m, v) with v the variance.")
    check_close("theta_map", got, expected, atol=1e-6, rtol=0,
                hint="Maximise heads*log(theta) + tails*log(1-theta) - (theta - m)^2 / (2 v).")


def check_path(path, mu0, num_steps):
    """Check a path's shape, its start, and that it moved; return it as an (k, d) array."""
    points = _array("path", path)
    start = _array("mu0", mu0).reshape(-1)
    if points.ndim != 2 or points.shape[1] != start.size:
        raise AssertionError(f"path must be a list of {start.size}-D points (or a (k, {start.size}) array); "
                             f"got shape {points.shape}")
    if points.shape[0] != num_steps + 1:
        raise AssertionError(f"path has {points.shape[0]} points; expected num_steps + 1 = {num_steps + 1} "
                             f"(the start, then one point after every update)")
    if not np.all(np.isfinite(points)):
        raise AssertionError("path contains NaN or inf: the iterates diverged. Is the learning rate too large?")
    if not np.allclose(points[0], start):
        raise AssertionError(f"path starts at {_fmt(points[0])}; it must start at mu0 = {_fmt(start)}")
    if np.allclose(points, points[0]):
        raise AssertionError(f"mu_hat is {_fmt(points[-1])}: the path never moved. Did you update mu inside "
                             f"`torch.no_grad()` (in place, mu += lr * mu.grad) and zero the gradient?")
    return points


def check_gradient_ascent_path(path, X, sigma, mu0, lr, num_steps):
    """Check that ``path`` follows ``mu_{t+1} = mu_t + lr * grad L(mu_t)`` step by step."""
    points = check_path(path, mu0, num_steps)
    X_a, sigma_a = _array("X", X), _array("sigma", sigma)
    n = X_a.shape[0]
    precision = np.linalg.inv(sigma_a)  # 2 x 2 here; the closed-form gradient is n Sigma^-1 (xbar - mu)
    xbar = X_a.mean(axis=0)
    for t in range(num_steps):
        expected = points[t] + lr * n * precision @ (xbar - points[t])
        if not np.allclose(points[t + 1], expected, rtol=1e-6, atol=1e-9):
            if np.allclose(points[t + 1], points[t] - lr * n * precision @ (xbar - points[t]), rtol=1e-6, atol=1e-9):
                raise AssertionError(f"step {t + 1} goes downhill: gradient *ascent* adds lr * grad (mu += lr * mu.grad).")
            raise AssertionError(f"step {t + 1} is {_fmt(points[t + 1])}; mu_t + lr * grad gives {_fmt(expected)}. "
                                 f"Is the gradient zeroed after every step (mu.grad.zero_()), so it does not accumulate?")


def check_converged(mu_hat, X, *, atol=1e-3):
    """Check that an estimate of the mean is within ``atol`` of the sample mean of ``X``."""
    target = _array("X", X).mean(axis=0)
    got = _array("mu_hat", mu_hat).reshape(target.shape)
    if not np.allclose(got, target, atol=atol, rtol=0):
        raise AssertionError(f"mu_hat is {_fmt(got)} but the MLE (the sample mean) is {_fmt(target)}: "
                             f"not converged yet. Take more steps or a larger (still stable) learning rate.")
