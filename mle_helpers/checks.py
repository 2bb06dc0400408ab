"""Reference checks that the assignments' test cells call.

Each check is silent when the answer is right and raises ``AssertionError``
with a message that tells a student what to look at when it is wrong. They
never print and never warn: nbgrader scores a test cell that writes to
stderr as 0. Hidden tests also assert directly, so replacing these functions
in a notebook gains nothing.
"""
from __future__ import annotations

import functools

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
    "check_path_drawn",
    "check_stability_boundary",
    "check_optimizer_kinds",
    "check_single_point_steps",
    "check_reproducible",
    "check_batch_size_runs",
    "check_positive_transform",
    "check_loc_scale",
    "check_cholesky_factor",
    "check_mvn_fit",
    "check_poisson_loglik",
    "check_poisson_ascent_path",
    "check_newton_path",
    "check_standard_errors",
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


def check_gradient_ascent_path(path, X, sigma, mu0, lr, num_steps, *,
                               downhill_hint="gradient *ascent* adds lr * grad (mu += lr * mu.grad)."):
    """Check that ``path`` follows ``mu_{t+1} = mu_t + lr * grad L(mu_t)`` step by step.

    ``downhill_hint`` is what a student reads when the steps go the wrong way
    (the assignment on ``torch.optim`` explains that optimisers minimise).
    """
    points = check_path(path, mu0, num_steps)
    X_a, sigma_a = _array("X", X), _array("sigma", sigma)
    n = X_a.shape[0]
    precision = np.linalg.inv(sigma_a)  # 2 x 2 here; the closed-form gradient is n Sigma^-1 (xbar - mu)
    xbar = X_a.mean(axis=0)
    for t in range(num_steps):
        expected = points[t] + lr * n * precision @ (xbar - points[t])
        if not np.allclose(points[t + 1], expected, rtol=1e-6, atol=1e-9):
            if np.allclose(points[t + 1], points[t] - lr * n * precision @ (xbar - points[t]), rtol=1e-6, atol=1e-9):
                raise AssertionError(f"step {t + 1} goes downhill: {downhill_hint}")
            raise AssertionError(f"step {t + 1} is {_fmt(points[t + 1])}; mu_t + lr * grad gives {_fmt(expected)}. "
                                 f"Is the gradient zeroed after every step (mu.grad.zero_()), so it does not accumulate?")


def check_converged(mu_hat, X, *, atol=1e-3, name="mu_hat"):
    """Check that an estimate of the mean is within ``atol`` of the sample mean of ``X``."""
    target = _array("X", X).mean(axis=0)
    got = _array(name, mu_hat).reshape(target.shape)
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{name} is {_fmt(got)}: it diverged. Is the learning rate too large?")
    if not np.allclose(got, target, atol=atol, rtol=0):
        raise AssertionError(f"{name} is {_fmt(got)} but the MLE (the sample mean) is {_fmt(target)}: "
                             f"not within {atol:g} yet. Take more steps or a larger (still stable) learning rate.")



def check_path_drawn(ax, path):
    """Check that the matplotlib Axes ``ax`` has a line through every point of ``path`` (ps2, ps3)."""
    if not hasattr(ax, "get_lines"):
        raise AssertionError(f"ax must be the matplotlib Axes that mh.vizualize returns; got {type(ax).__name__}")
    points = _array("path", path)
    for line in ax.get_lines():
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        if xy.shape == points.shape and np.allclose(xy, points):
            return
    raise AssertionError("no line on ax goes through the points of the path: "
                         "draw it with mh.vizualize(X, path, sigma) (or ax=... for an existing Axes).")


def _contraction(lr, n, variance):
    """|1 - lr n / variance|: the factor by which one gradient-ascent step scales mu_t - xbar when sigma = variance I."""
    return abs(1.0 - lr * n / variance)


def check_stability_boundary(lr_max, n, variance):
    """Check that gradient ascent on mu converges just below ``lr_max`` and diverges just above it (ps2)."""
    lr_max = float(_array("lr_max", lr_max).reshape(-1)[0])
    if not np.isfinite(lr_max) or lr_max <= 0:
        raise AssertionError(f"lr_max is {lr_max}; a learning rate must be a positive number")
    below, above = _contraction(0.99 * lr_max, n, variance), _contraction(1.01 * lr_max, n, variance)
    if below >= 1:
        raise AssertionError(f"lr = 0.99 * lr_max = {0.99 * lr_max:.3g} already diverges: lr_max is too large. "
                             "One step multiplies mu_t - xbar by (1 - lr n / variance); when does that shrink?")
    if above < 1:
        raise AssertionError(f"lr = 1.01 * lr_max = {1.01 * lr_max:.3g} still converges: lr_max is too small. "
                             "The factor (1 - lr n / variance) may be negative; the path still converges while |factor| < 1.")


def check_optimizer_kinds(make_sgd, make_momentum, make_adam):
    """Check that the three factories build plain SGD, SGD with momentum and Adam (ps3)."""
    expected = [("make_sgd", make_sgd, torch.optim.SGD), ("make_momentum", make_momentum, torch.optim.SGD),
                ("make_adam", make_adam, torch.optim.Adam)]
    for name, make, kind in expected:
        optimizer = make([torch.zeros(2, requires_grad=True)])
        if not isinstance(optimizer, kind):
            raise AssertionError(f"{name} must return a torch.optim.{kind.__name__}; got {type(optimizer).__name__}")
        if optimizer.defaults.get("maximize"):
            raise AssertionError(f"{name} sets maximize=True, but fit_with_optimizer already minimises -L: "
                                 "together they walk away from the maximum.")
        momentum = optimizer.defaults.get("momentum", 0)
        if name == "make_sgd" and momentum:
            raise AssertionError(f"make_sgd should be plain SGD (momentum 0); got momentum={momentum}")
        if name == "make_momentum" and not momentum:
            raise AssertionError("make_momentum needs momentum > 0, e.g. torch.optim.SGD(params, lr=..., momentum=0.5)")


def _as_path(name, path, num_steps):
    points = _array(name, path)
    if points.ndim != 2 or points.shape[0] != num_steps + 1:
        raise AssertionError(f"{name} must have shape (num_steps + 1, d) = ({num_steps + 1}, d); got {points.shape}")
    return points


def check_single_point_steps(path, X, sigma, mu0, lr, num_steps):
    """With batch_size = 1 every step is ``lr * n * sigma^-1 (x_i - mu_t)`` for some row x_i of X (ps4)."""
    points = check_path(path, mu0, num_steps)
    X_a, sigma_a = _array("X", X), _array("sigma", sigma)
    n = X_a.shape[0]
    # Solve the step for the data point it aims at: x_i = mu_t + sigma (mu_{t+1} - mu_t) / (lr n).
    aimed_at = points[:-1] + np.diff(points, axis=0) @ sigma_a.T / (lr * n)
    for t, target in enumerate(aimed_at):
        distance = np.sqrt(((X_a - target) ** 2).sum(axis=1)).min()
        if distance > 1e-6 * (1 + np.abs(target).max()):
            raise AssertionError(
                f"with batch_size=1, step {t + 1} does not move towards a single row of X with the unbiased "
                f"scaling. Did you multiply the batch log-likelihood by n / batch_size and draw rows of X?")


def check_reproducible(run):
    """``run(seed)`` gives the same path for the same seed and another path for another seed (ps4)."""
    first, again, other = (_array("path", run(seed)) for seed in (0, 0, 1))
    if not np.array_equal(first, again):
        raise AssertionError("two runs with seed=0 gave different paths: draw the batches from "
                             "torch.Generator().manual_seed(seed), created once per run.")
    if np.array_equal(first, other):
        raise AssertionError("seed=0 and seed=1 gave the same path: the seed must drive the random batches.")


def check_batch_size_runs(paths, batch_sizes, X, mu0, num_steps):
    """``paths`` maps every batch size to its path; k = 1 ends noisier than k = n (ps4)."""
    if not isinstance(paths, dict) or sorted(paths) != sorted(batch_sizes):
        keys = sorted(paths) if isinstance(paths, dict) else type(paths).__name__
        raise AssertionError(f"paths must be a dict with one entry per batch size {list(batch_sizes)}; got {keys}")
    xbar = _array("X", X).mean(axis=0)
    tail = {}
    for k in batch_sizes:
        points = check_path(paths[k], mu0, num_steps)
        tail[k] = np.sqrt(((points[-20:] - xbar) ** 2).sum(axis=1)).mean()
    smallest, largest = min(batch_sizes), max(batch_sizes)
    if not tail[smallest] > tail[largest]:
        raise AssertionError(f"over the last 20 steps the path for k={smallest} stays closer to the sample mean "
                             f"({tail[smallest]:.3g}) than the one for k={largest} ({tail[largest]:.3g}); "
                             "with one point per step the path should keep jumping around.")


def check_positive_transform(positive_scale, raw_for_scale):
    """``positive_scale`` is softplus and ``raw_for_scale`` its inverse (ps5)."""
    raw = torch.tensor([-5.0, -1.0, 0.0, 2.0, 30.0], dtype=torch.float64)
    scale = _array("positive_scale(raw)", positive_scale(raw))
    if scale.shape != (5,):
        raise AssertionError(f"positive_scale must work elementwise; got shape {scale.shape} for 5 inputs")
    if not np.all(scale > 0):
        raise AssertionError(f"positive_scale({_fmt(raw.numpy())}) = {_fmt(scale)}: every value must be positive")
    check_close("positive_scale(raw)", scale, np.log1p(np.exp(raw.numpy())), rtol=1e-9,
                hint="softplus(r) = log(1 + exp(r)); torch.nn.functional.softplus computes it stably.")
    targets = torch.tensor([0.01, 1.0, 3.0], dtype=torch.float64)
    check_close("positive_scale(raw_for_scale(s))", positive_scale(raw_for_scale(targets)), targets.numpy(),
                rtol=1e-9, hint="raw_for_scale(s) = log(exp(s) - 1); torch.expm1 keeps it accurate for small s.")


def check_loc_scale(loc, scale, x):
    """The learned ``(loc, scale)`` match the sample mean and the MLE standard deviation, divisor n (ps5)."""
    mu_ref, var_ref = estimators.gaussian_mle(x)
    std_ref = var_ref.sqrt().item()
    check_close("loc", loc, mu_ref, rtol=0, atol=1e-3, hint="Take more steps or a larger lr.")
    n = _array("x", x).size
    got = float(_array("scale", scale).reshape(-1)[0])
    if abs(got - std_ref * (n / (n - 1)) ** 0.5) < 1e-6 * std_ref:
        raise AssertionError("scale equals x.std(), which divides by n - 1; the MLE divides by n.")
    check_close("scale", got, std_ref, rtol=1e-3, atol=0,
                hint="Return positive_scale(raw_scale), the standard deviation, not the raw parameter.")


def check_cholesky_factor(cholesky_factor, positive_scale):
    """``cholesky_factor(raw)`` is lower triangular, keeps raw below the diagonal, softplus on it (ps5)."""
    raw = torch.tensor([[-4.0, 9.0], [0.7, 1.5]], dtype=torch.float64)
    factor = _array("cholesky_factor(raw)", cholesky_factor(raw))
    if factor.shape != (2, 2):
        raise AssertionError(f"cholesky_factor of a 2 x 2 raw must be 2 x 2; got shape {factor.shape}")
    if factor[0, 1] != 0:
        raise AssertionError(f"the entry above the diagonal is {factor[0, 1]:.4g}; it must be 0 (torch.tril)")
    if factor[1, 0] != raw[1, 0].item():
        raise AssertionError(f"the entry below the diagonal is {factor[1, 0]:.4g}; keep raw's value {raw[1, 0].item()}")
    if not np.all(np.diag(factor) > 0):
        raise AssertionError(f"the diagonal is {_fmt(np.diag(factor))}; it must be positive: "
                             "put positive_scale(torch.diagonal(raw)) on it.")
    check_close("the diagonal", np.diag(factor), _array("softplus", positive_scale(torch.diagonal(raw))), rtol=1e-9)


def check_mvn_fit(loc, cov, X):
    """The learned mean and covariance match the closed forms with divisor n (ps5)."""
    mu_ref, cov_ref = estimators.gaussian_mle(X)
    check_close("loc", loc, mu_ref, rtol=0, atol=1e-3, hint="Take more steps or a larger lr.")
    cov_a = _array("cov", cov)
    if cov_a.shape != tuple(cov_ref.shape):
        raise AssertionError(f"cov must have shape {tuple(cov_ref.shape)}; got {cov_a.shape}")
    if not np.allclose(cov_a, cov_a.T):
        raise AssertionError("cov is not symmetric: return L @ L.T with L = cholesky_factor(raw)")
    check_close("cov", cov_a, cov_ref, rtol=1e-2, atol=1e-3,
                hint="Return the covariance L @ L.T, not the factor L; the MLE divides by n.")


# ps6: Poisson regression, y_i ~ Poisson(exp(x_i^T beta)). Each check works out what it needs inline (no
# helper here computes a gradient, a Hessian or a Newton step that an answer could call instead).

def _quietly(check):
    """Run ``check`` with NumPy's floating-point warnings off: exp(X beta) of a diverged path must not warn
    (a test cell that writes to stderr scores 0); the check reports such a path itself."""
    @functools.wraps(check)
    def quiet(*args, **kwargs):
        with np.errstate(all="ignore"):
            try:
                return check(*args, **kwargs)
            except np.linalg.LinAlgError:
                raise AssertionError("the information X^T W X is singular at your iterate (exp(X beta) is 0 "
                                     "or inf there): the path has run away") from None
    return quiet


def _beta_path(path, beta0, num_steps, what):
    """``path`` as a (num_steps + 1, p) array that starts at beta0 and is finite."""
    points = _array("path", path)
    start = _array("beta0", beta0).reshape(-1)
    if points.ndim != 2 or points.shape != (num_steps + 1, start.size):
        raise AssertionError(f"path has shape {points.shape}; expected (num_steps + 1, p) = ({num_steps + 1}, "
                             f"{start.size}): beta0, then one row after each of the {num_steps} {what} steps")
    if not np.all(np.isfinite(points)):
        raise AssertionError("path contains NaN or inf: the iterates diverged. exp(X @ beta) overflows once a "
                             "step overshoots: is the step's sign right (and, for gradient ascent, lr small enough)?")
    if not np.allclose(points[0], start, rtol=1e-6, atol=1e-9):
        raise AssertionError(f"path starts at {_fmt(points[0])}; its first row must be beta0 = {_fmt(start)}")
    if np.allclose(points, points[0]):
        raise AssertionError(f"path never moves from beta0 = {_fmt(start)}: update beta at every step "
                             "(in place inside torch.no_grad(), or as a new tensor) and record it")
    return points


def check_poisson_loglik(poisson_loglik, X, y, betas=None):
    """``poisson_loglik(X, y, beta)`` is the exact Poisson log-likelihood with its gradient, at each of
    ``betas`` (default: zeros and one other point) (ps6)."""
    X_t, y_t = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    p = X_t.shape[1]
    if betas is None:
        betas = (torch.zeros(p, dtype=torch.float64), torch.linspace(0.5, -0.5, p, dtype=torch.float64))
    for beta in betas:
        beta = torch.as_tensor(beta, dtype=torch.float64).clone().requires_grad_(True)
        value = poisson_loglik(X_t, y_t, beta)
        if value is None:
            raise AssertionError("poisson_loglik returned None: did your function forget to `return` it?")
        if not isinstance(value, torch.Tensor):
            raise AssertionError(f"poisson_loglik must return a torch tensor; got {type(value).__name__}. "
                                 "Keep the computation in torch (no .item(), float() or numpy), so that autograd "
                                 "can differentiate it")
        if value.dim() != 0:
            raise AssertionError(f"poisson_loglik returned shape {tuple(value.shape)}; it must be a 0-dim tensor: "
                                 "the sum of the n log-probabilities, not one per row")
        eta = (X_t @ beta).detach()
        expected = float((y_t * eta - torch.exp(eta) - torch.lgamma(y_t + 1)).sum())
        got = float(value.detach())
        where = f"at beta = {_fmt(beta.detach().numpy())}"
        if not np.isfinite(got):
            raise AssertionError(f"poisson_loglik {where} is {got}: log(y!) is torch.lgamma(y + 1); "
                                 "torch.lgamma(y) is infinite at y = 0")
        without_factorial = expected + float(torch.lgamma(y_t + 1).sum())
        hint = ""
        if np.isclose(got, without_factorial, rtol=1e-9):
            hint = " You left out the -log(y_i!) term: subtract torch.lgamma(y + 1).sum()."
        elif np.isclose(got, expected / len(y_t), rtol=1e-9):
            hint = " That is the mean over the data; the log-likelihood is the sum."
        elif np.isclose(got, expected + float((torch.lgamma(y_t + 1) - torch.lgamma(y_t)).sum()), rtol=1e-9):
            hint = " log(y_i!) is torch.lgamma(y + 1), not torch.lgamma(y)."
        elif np.isclose(got, -expected, rtol=1e-9):
            hint = " That is the negative log-likelihood; return the log-likelihood itself."
        if not np.isclose(got, expected, rtol=1e-9, atol=1e-9):
            raise AssertionError(f"poisson_loglik {where} is {got:.6g}; expected {expected:.6g}: "
                                 f"sum_i [y_i x_i^T beta - exp(x_i^T beta) - log(y_i!)].{hint}")
        if not value.requires_grad:
            raise AssertionError("poisson_loglik's result does not depend on beta for autograd: compute it with "
                                 "torch operations on beta (no .detach(), .item() or numpy)")
        grad, = torch.autograd.grad(value, beta)
        check_close(f"the gradient of poisson_loglik {where}", grad, (X_t.T @ (y_t - torch.exp(eta))).numpy(),
                    rtol=1e-8, atol=1e-8, hint="It must be X^T (y - exp(X beta)).")


@_quietly
def check_poisson_ascent_path(path, X, y, beta0, lr, num_steps, *, converged=False):
    """Every step of ``path`` is beta + lr * X^T (y - exp(X beta)) from the previous point; with
    ``converged``, the last point is a maximum (the gradient is ~0) (ps6)."""
    points = _beta_path(path, beta0, num_steps, "gradient-ascent")
    X_a, y_a = _array("X", X), _array("y", y)
    total = np.zeros(X_a.shape[1])
    for t in range(num_steps):
        before, after = points[t], points[t + 1]
        gradient = X_a.T @ (y_a - np.exp(X_a @ before))
        total = total + gradient
        expected = before + lr * gradient
        if np.allclose(after, expected, rtol=1e-8, atol=1e-10):
            continue
        close = lambda candidate: np.allclose(after, candidate, rtol=1e-8, atol=1e-10)
        why = " Is the gradient of the log-likelihood X^T (y - exp(X beta))?"
        if close(before - lr * gradient):
            why = " This step goes downhill: gradient *ascent* adds lr * grad (beta += lr * beta.grad)."
        elif t > 0 and close(before + lr * total):
            why = " It adds the sum of all gradients so far: zero beta.grad after every step."
        elif close(before + lr * gradient / len(y_a)):
            why = " This step is 1/n of the update: the log-likelihood is a sum over the data, not a mean."
        raise AssertionError(f"step {t + 1} is {_fmt(after)}; from {_fmt(before)} the update beta + lr * grad "
                             f"with lr = {lr:g} gives {_fmt(expected)}.{why}")
    if converged:
        gradient = X_a.T @ (y_a - np.exp(X_a @ points[-1]))
        if np.abs(gradient).max() > 1e-6:
            raise AssertionError(f"after {num_steps} steps the gradient is still {_fmt(gradient)}; at the MLE it is 0")


@_quietly
def check_newton_path(path, X, y, beta0, num_steps, *, converged=True):
    """Every step of ``path`` is a Newton step from the previous point, beta + (X^T W X)^-1 X^T (y - mu)
    with mu = exp(X beta), W = diag(mu); with ``converged``, the last point is the MLE (ps6)."""
    points = _beta_path(path, beta0, num_steps, "Newton")
    X_a, y_a = _array("X", X), _array("y", y)
    first_information = None
    for t in range(num_steps):
        before, after = points[t], points[t + 1]
        mu = np.exp(X_a @ before)
        gradient, information = X_a.T @ (y_a - mu), X_a.T @ (mu[:, None] * X_a)
        if first_information is None:
            first_information = information
        expected = before + np.linalg.solve(information, gradient)
        close = lambda candidate: np.allclose(after, candidate, rtol=1e-8, atol=1e-10)
        if close(expected):
            continue
        why = ""
        if close(before - np.linalg.solve(information, gradient)):
            why = (" The step goes the wrong way: the Hessian H = -X^T W X is negative definite, so the Newton "
                   "step is beta - H^-1 grad = beta + (X^T W X)^-1 grad.")
        elif t > 0 and close(before + np.linalg.solve(first_information, gradient)):
            why = " It uses the Hessian at beta0: compute the Hessian again at every iterate."
        elif close(before + gradient):
            why = " That is a gradient step with lr = 1; Newton's step solves a system with the Hessian."
        raise AssertionError(f"Newton step {t + 1} is {_fmt(after)}; from {_fmt(before)} Newton's method gives "
                             f"{_fmt(expected)} (beta - H^-1 grad, H = -X^T diag(exp(X beta)) X).{why}")
    if converged:
        mu = np.exp(X_a @ points[-1])
        gradient = X_a.T @ (y_a - mu)
        if np.abs(gradient).max() > 1e-6 * max(1.0, np.abs(y_a).sum()):
            raise AssertionError(f"after {num_steps} Newton steps the gradient is still {_fmt(gradient)}; "
                                 "at the MLE it is 0")


@_quietly
def check_standard_errors(se, X, y, beta_hat):
    """``se`` is sqrt(diag(I^-1)), I = X^T diag(exp(X beta_hat)) X the observed information (ps6)."""
    X_a, beta = _array("X", X), _array("beta_hat", beta_hat).reshape(-1)
    information = X_a.T @ (np.exp(X_a @ beta)[:, None] * X_a)
    covariance = np.linalg.inv(information)
    expected = np.sqrt(np.diag(covariance))
    got = _array("se", se).reshape(-1)
    if got.shape != expected.shape:
        raise AssertionError(f"se has {got.size} numbers; expected one standard error per coefficient "
                             f"({expected.size})")
    close = lambda candidate: np.allclose(got, candidate, rtol=1e-6)
    hint = ""
    if close(np.diag(covariance)):
        hint = "These are the variances, the diagonal of the inverse information: take their square root."
    elif close(1 / np.sqrt(np.diag(information))):
        hint = ("That is 1 / sqrt of the information's diagonal; invert the whole matrix first, then take its "
                "diagonal (the two differ when the coefficients are correlated).")
    elif close(np.sqrt(np.diag(np.linalg.inv(X_a.T @ X_a)))):
        hint = "The weights are missing: the information is X^T W X with W = diag(exp(X beta_hat))."
    elif not np.all(np.isfinite(got)):
        hint = "A negative variance? Invert minus the Hessian (the information), not the Hessian."
    check_close("se", got, expected, rtol=1e-6, atol=0,
                hint=hint or "se = sqrt(diag((X^T W X)^-1)), W = diag(exp(X beta_hat)), at the beta_hat given.")
