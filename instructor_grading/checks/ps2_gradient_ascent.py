"""Trusted checks of ps2_gradient_ascent: gradient ascent on a Gaussian mean, its plot, the stable learning rates.

Every gradient-ascent path is judged step by step against the update rule applied to its own previous point,
mu_{t+1} = mu_t + lr * n * sigma^-1 (xbar - mu_t), on the grader's copy of the setup's data and on fresh data.
"""
import torch

import mle_helpers as mh

from . import Assignment, CheckFailed, Task, as_points, tolerance, fmt
from ..remote import Axes

ASSIGNMENT = Assignment("ps2_gradient_ascent", [
    Task("gradient_ascent", answers=["gradient_ascent"], allowed={"L"}, required=[("L",), ("backward", "torch.autograd.grad")]),
    Task("plot_path", answers=["plot_path"]),
    Task("largest_stable_lr", answers=["largest_stable_lr"]),
])

N, VARIANCE = 10_000, 5.0


def setup_data():
    """The setup cell's X, sigma and mu0, computed by the grader (the kernel's copies may have been changed)."""
    sigma = VARIANCE * torch.eye(2, dtype=torch.float64)
    X = mh.data.sample_gaussian(N, torch.tensor([1.0, 1.0], dtype=torch.float64), sigma, seed=0)
    return X, sigma, torch.tensor([-1.0, -1.0], dtype=torch.float64)


def path_points(name, path, mu0, lr, num_steps):
    """``path`` as float64 points after checking its shape, its start and that it is finite; with its dtype."""
    points = as_points(name, path)
    if points.ndim != 2 or points.shape != (num_steps + 1, mu0.numel()):
        raise CheckFailed(f"{name} has shape {tuple(points.shape)}; expected (num_steps + 1, 2) = "
                          f"({num_steps + 1}, 2): mu0, then one point after each of the {num_steps} updates")
    rtol, atol = tolerance(points, rtol64=1e-8)
    got = points.to(torch.float64)
    if not torch.isfinite(got).all():
        raise CheckFailed(f"{name} contains NaN or inf; with lr = {lr:g} the update should not diverge")
    if not torch.allclose(got[0], mu0, rtol=rtol, atol=atol):
        raise CheckFailed(f"{name} starts at {fmt(got[0])}; its first row must be mu0 = {fmt(mu0)}")
    return got, points.dtype


def check_ascent_path(name, path, X, sigma, mu0, lr, num_steps, hint=""):
    """Judge ``path`` step by step: each point is the update mu + lr * grad L(mu) from the previous point."""
    got, dtype = path_points(name, path, mu0, lr, num_steps)
    rtol, atol = tolerance(torch.empty(0, dtype=dtype), rtol64=1e-8)
    n, xbar, precision = X.shape[0], X.mean(0), torch.linalg.inv(sigma)
    gradient = lambda mu: n * precision @ (xbar - mu)  # grad of L(X, mu, sigma) = sum_i log N(x_i; mu, sigma)
    accumulated = torch.zeros_like(mu0)
    for t in range(num_steps):
        before, after = got[t], got[t + 1]
        accumulated = accumulated + gradient(before)
        expected = before + lr * gradient(before)
        scale = atol * max(1.0, float(expected.abs().max()), float((lr * gradient(before)).abs().max()))
        if torch.allclose(after, expected, rtol=rtol, atol=scale):
            continue
        close = lambda candidate: torch.allclose(after, candidate, rtol=rtol, atol=scale)
        why = f" {hint}" if hint else ""
        if close(before - lr * gradient(before)):
            why = " This step goes downhill: gradient *ascent* adds lr * grad (mu += lr * mu.grad)."
        elif t > 0 and close(before + lr * accumulated):
            why = (" It adds the sum of all gradients so far: the gradient accumulates in mu.grad; "
                   "zero it after every update (mu.grad.zero_()).")
        elif close(before + lr * gradient(before) / n):
            why = " This step is 1/n of the update: L is the sum of the log-densities over all n rows, not their mean."
        raise CheckFailed(f"{name}: step {t + 1} is {fmt(after)}; from step {t} at {fmt(before)} the update "
                          f"mu + lr * grad L(mu) with lr = {lr:g} gives {fmt(expected)} "
                          f"(here grad L(mu) = n sigma^-1 (xbar - mu), n = {n}).{why}")


def random_covariance(rng) -> torch.Tensor:
    """A random correlated 2 x 2 covariance matrix."""
    A = torch.as_tensor(rng.normal(size=(2, 2)))
    return A @ A.T + float(rng.uniform(0.3, 2.0)) * torch.eye(2, dtype=torch.float64)


@ASSIGNMENT.check("test_gradient_ascent_visible", task="gradient_ascent")
def _(nb, rng):
    """The self-check: 50 steps with lr = 1e-4 on the setup's data follow the update and reach the sample mean."""
    X, sigma, mu0 = setup_data()
    path = nb.call("gradient_ascent", X, sigma, mu0, 1e-4, 50)
    mh.checks.check_gradient_ascent_path(path, X, sigma, mu0, 1e-4, 50)
    mh.checks.check_converged(as_points("path", path)[-1], X)


@ASSIGNMENT.check("test_gradient_ascent_hidden", task="gradient_ascent")
def _(nb, rng):
    """Fresh data, correlated sigma, other starts, sizes and learning rates: every step follows the update; mu0 kept."""
    for num_steps in (1, int(rng.integers(2, 6)), int(rng.integers(15, 40))):
        n = int(rng.integers(100, 2000))
        sigma = random_covariance(rng)
        X = torch.as_tensor(rng.multivariate_normal(rng.uniform(-5, 5, 2), random_covariance(rng).numpy(), size=n))
        mu0 = torch.as_tensor(rng.uniform(-8, 8, 2))
        largest_eigenvalue = float(torch.linalg.eigvalsh(torch.linalg.inv(sigma)).max())
        lr = float(rng.uniform(0.05, 1.2)) / (n * largest_eigenvalue)  # stable: lr n lambda_max < 2
        answer = nb.call("gradient_ascent", X, sigma, mu0, lr, num_steps, return_args=True)
        if not torch.equal(answer["args"][2].to(torch.float64), mu0):
            raise CheckFailed(f"gradient_ascent changed its argument mu0 in place (from {fmt(mu0)} to "
                              f"{fmt(answer['args'][2])}): start from a copy, mu0.detach().clone()")
        check_ascent_path(f"gradient_ascent(X of {n} rows, sigma, mu0, lr={lr:.4g}, num_steps={num_steps})",
                          answer["value"], X, sigma, mu0, lr, num_steps)


class _AxesData:
    """The Axes data sent by the kernel, shaped for mh.checks.check_path_drawn (it reads get_lines())."""

    class _Line:
        def __init__(self, xy):
            self.xy = xy.reshape(-1, 2) if xy.numel() else xy.reshape(0, 2)

        def get_xdata(self):
            return self.xy[:, 0].numpy()

        def get_ydata(self):
            return self.xy[:, 1].numpy()

    def __init__(self, axes: Axes):
        self.lines = [self._Line(torch.as_tensor(line, dtype=torch.float64)) for line in axes["lines"]]

    def get_lines(self):
        return self.lines


@ASSIGNMENT.check("test_plot_path", task="plot_path")
def _(nb, rng):
    """`path` is the lr = 1e-4, 50-step path; `ax` is a heatmap Axes with a line through every point of it."""
    X, sigma, mu0 = setup_data()
    path = nb.get("path")
    points = as_points("path", path).to(torch.float64)
    if points.ndim == 2 and points.shape[0] > 1 and torch.isfinite(points).all():  # a path with another lr?
        step, gradient = points[1] - points[0], N * torch.linalg.solve(sigma, X.mean(0) - points[0])
        lr = float(step @ gradient / (gradient @ gradient))
        if abs(lr - 1e-4) > 1e-6 and torch.allclose(step, lr * gradient, rtol=1e-6, atol=1e-9):
            raise CheckFailed(f"path takes its first step with lr = {lr:.4g}; this test needs the path of "
                              "gradient_ascent(X, sigma, mu0, 1e-4, 50): keep lr = 1e-4 and num_steps = 50")
    mh.checks.check_gradient_ascent_path(path, X, sigma, mu0, 1e-4, 50)
    ax = nb.get("ax")
    if not isinstance(ax, Axes):
        raise CheckFailed("ax must be the matplotlib Axes that mh.vizualize returns; got "
                          f"{ax.get('type', ax.get('kind')) if isinstance(ax, dict) else type(ax).__name__}")
    mh.checks.check_path_drawn(_AxesData(ax), as_points("path", path).to(torch.float64))
    if not ax["collections"] and not ax["images"]:
        raise CheckFailed("ax shows the path but no log-likelihood heatmap: draw it with mh.vizualize(X, path, sigma)")


@ASSIGNMENT.check("test_largest_stable_lr_visible", task="largest_stable_lr")
def _(nb, rng):
    """The self-check: lr_max for n = 10 000 and variance 5 separates converging from diverging learning rates."""
    mh.checks.check_stability_boundary(nb.get("lr_max"), N, VARIANCE)


def contraction(lr, n, variance):
    """|1 - lr n / variance|: one step's factor on |mu_t - xbar| when sigma = variance * I."""
    return abs(1.0 - lr * n / variance)


@ASSIGNMENT.check("test_largest_stable_lr_hidden", task="largest_stable_lr")
def _(nb, rng):
    """Other n and variances: gradient ascent converges at 0.97 * the answer and diverges at 1.03 * it."""
    problems = [(int(rng.integers(2, 60)), float(rng.uniform(0.05, 1.0))),
                (int(rng.integers(100, 5000)), float(rng.uniform(1.0, 20.0))),
                (int(rng.integers(10_000, 1_000_000)), float(rng.uniform(0.1, 100.0)))]
    for n, variance in problems:
        call = f"largest_stable_lr({n}, {variance:.6g})"
        answer = nb.call("largest_stable_lr", n, variance)
        try:
            value = float(as_points(call, answer).reshape(-1)[0])
        except (CheckFailed, IndexError, RuntimeError):
            raise CheckFailed(f"{call} returned {answer!r}; expected a positive number (a learning rate)") from None
        if not (value > 0 and value < float("inf")):
            raise CheckFailed(f"{call} is {value!r}; a learning rate is a positive finite number")
        below, above = contraction(0.97 * value, n, variance), contraction(1.03 * value, n, variance)
        if below >= 1:
            raise CheckFailed(f"{call} is {value:.6g}, too large: at lr = 0.97 * {value:.6g} every step multiplies "
                              f"mu_t - xbar by 1 - lr n / variance = {1 - 0.97 * value * n / variance:.4g}, "
                              "so gradient ascent diverges there")
        if above < 1:
            raise CheckFailed(f"{call} is {value:.6g}, too small: at lr = 1.03 * {value:.6g} every step multiplies "
                              f"mu_t - xbar by 1 - lr n / variance = {1 - 1.03 * value * n / variance:.4g}, "
                              "which still shrinks it, so gradient ascent still converges there")
