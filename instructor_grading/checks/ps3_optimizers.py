"""Trusted checks of ps3_optimizers: one loop for every torch.optim optimiser, three optimisers, their plots.

Paths are replayed step by step in the grader: from the path's own point
``mu_t`` (and the optimiser state built from the gradients at the path's
earlier points), one ``step()`` of the same torch.optim optimiser on the exact
gradient of ``nll = -L`` must give ``mu_{t+1}``.
"""
import copy
import inspect

import torch

import mle_helpers as mh

from . import Assignment, CheckFailed, Task, fmt, as_points, tolerance
from ..remote import Axes, Opaque, Optimizer, Params

ASSIGNMENT = Assignment("ps3_optimizers", [
    Task("fit_with_optimizer", answers=["fit_with_optimizer"], allowed={"L"}, required=[("step",)]),
    Task("three_optimizers", answers=["three_optimizers"]),
    Task("plot_optimizers", answers=["plot_optimizers"]),
])

OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}
FACTORIES = {"SGD": ("make_sgd", "SGD"), "momentum": ("make_momentum", "SGD"), "Adam": ("make_adam", "Adam")}
NUM_STEPS = 200


def _course_data():
    """The notebook's setup, rebuilt in the grader: X, sigma, mu0."""
    sigma = 5 * torch.eye(2, dtype=torch.float64)
    X = mh.data.sample_gaussian(10_000, torch.tensor([1.0, 1.0], dtype=torch.float64), sigma, seed=0)
    return X, sigma, torch.tensor([-1.0, -1.0], dtype=torch.float64)


def _describe(name: str, options: dict) -> str:
    shown = {key: options[key] for key in ("lr", "momentum", "betas") if key in options and options[key] is not None}
    number = lambda value: f"{value:.4g}" if isinstance(value, float) else str(value)
    return f"torch.optim.{name}(" + ", ".join(
        f"{key}=({', '.join(map(number, value))})" if isinstance(value, (tuple, list)) else f"{key}={number(value)}"
        for key, value in shown.items()) + ")"


def _one_step(name: str, options: dict, state, point: torch.Tensor, gradient: torch.Tensor):
    """``point`` after one step of torch.optim.``name`` with ``gradient`` from optimiser ``state``; and the new state."""
    mu = point.clone().requires_grad_(True)
    optimizer = OPTIMIZERS[name]([mu], **options)
    if state is not None:
        optimizer.load_state_dict(copy.deepcopy(state))
    mu.grad = gradient.clone()
    optimizer.step()
    return mu.detach().clone(), optimizer.state_dict()


def _buildable(name: str, options: dict) -> dict:
    """The options of torch.optim.``name`` that its constructor takes (reported options may hold more)."""
    accepted = inspect.signature(OPTIMIZERS[name]).parameters
    return {key: (tuple(value) if isinstance(value, list) else value) for key, value in options.items()
            if key in accepted and key != "params"}


def expect_optimizer_path(label: str, path, X, sigma, mu0, name: str, options: dict, num_steps: int) -> None:
    """``path`` is what torch.optim.``name``(**options) makes minimising -L(X, mu, sigma) from mu0, step by step."""
    mh.checks.check_path(path, mu0, num_steps)
    got = as_points(label, path, dims=mu0.numel())
    points, (rtol, atol) = got.to(torch.float64), tolerance(got, 1e-7)
    n, precision, xbar = X.shape[0], torch.linalg.inv(sigma), X.mean(0)
    gradient = lambda mu: n * precision @ (mu - xbar)  # of nll = -L, at mu
    options = _buildable(name, options)
    method = _describe(name, options)
    state, accumulated = None, torch.zeros_like(mu0)
    for t in range(num_steps):
        g = gradient(points[t])
        accumulated = accumulated + g
        expected, next_state = _one_step(name, options, state, points[t], g)
        if not torch.allclose(points[t + 1], expected, rtol=rtol, atol=atol):
            alternatives = [
                (_one_step(name, options, state, points[t], -g)[0],
                 "it goes uphill on nll (downhill on L): torch optimisers minimise, so minimise nll = -mh.L(X, mu, sigma)"),
                (_one_step(name, options, state, points[t], accumulated)[0],
                 "it used the sum of all gradients so far: call optimizer.zero_grad() at every step"),
                (points[t] - options["lr"] * g,
                 f"that is a plain gradient step mu - lr * grad(nll), not a step of {method}, whose state (momentum, "
                 "running averages) carries over from step to step: build the optimiser once with make_optimizer([mu]) "
                 "before the loop and call its step()"),
            ]
            reason = next((why for point, why in alternatives if torch.allclose(points[t + 1], point, rtol=rtol, atol=atol)),
                          "the path must be the one that optimiser makes: build it once with make_optimizer([mu]) before "
                          "the loop, then at every step zero_grad(), backward() of nll = -L and step(), and record mu")
            if name == "Adam" and t == 0:
                reason += f" (Adam's first step moves every coordinate by lr = {options['lr']:.4g} against the gradient of nll)"
            raise CheckFailed(f"{label}: step {t + 1} is {fmt(points[t + 1])}; from step {t} at {fmt(points[t])}, one "
                              f"step of {method} on nll = -L gives {fmt(expected)}; {reason}")
        state = next_state


@ASSIGNMENT.check("test_fit_with_optimizer_visible", task="fit_with_optimizer")
def _(nb, rng):
    """The notebook's self-check: SGD(lr=1e-4) for 30 steps is gradient ascent on L; so is SGD(lr=5e-5),
    so the path follows the optimiser it is handed."""
    X, sigma, mu0 = _course_data()
    for lr, num_steps in ((1e-4, 30), (5e-5, 5)):
        path = nb.call("fit_with_optimizer", X, sigma, mu0, Optimizer("SGD", lr=lr), num_steps)
        mh.checks.check_gradient_ascent_path(
            path, X, sigma, mu0, lr, num_steps,
            downhill_hint="torch optimisers minimise: minimise nll = -mh.L(X, mu, sigma), not L; and step with "
                          "the optimiser make_optimizer([mu]) returns, whatever its learning rate.")


def _random_problem(rng):
    """Fresh data X, a known covariance sigma (not the identity), a start mu0, and the largest curvature of nll."""
    n = int(rng.integers(200, 800))
    X = torch.as_tensor(rng.normal(rng.uniform(-3, 3, size=2), rng.uniform(0.5, 2), size=(n, 2)))
    A = torch.as_tensor(rng.normal(size=(2, 2)))
    sigma = A @ A.T + float(rng.uniform(0.5, 2)) * torch.eye(2, dtype=torch.float64)
    mu0 = X.mean(0) + torch.as_tensor(rng.uniform(-3, 3, size=2))
    return X, sigma, mu0, n * float(torch.linalg.eigvalsh(torch.linalg.inv(sigma)).max())


@ASSIGNMENT.check("test_fit_with_optimizer_hidden", task="fit_with_optimizer")
def _(nb, rng):
    """Fresh data; SGD with momentum, Adam and plain SGD: each path is the optimiser it was handed, step by step."""
    X, sigma, mu0, curvature = _random_problem(rng)
    runs = [("SGD", {"lr": float(rng.uniform(0.05, 0.3)) / curvature, "momentum": float(rng.uniform(0.5, 0.9))},
             int(rng.integers(8, 25))),
            ("Adam", {"lr": float(rng.uniform(0.02, 0.3)), "betas": (float(rng.uniform(0.7, 0.95)),
                                                                    float(rng.uniform(0.9, 0.999)))},
             int(rng.integers(5, 30))),
            ("SGD", {"lr": float(rng.uniform(0.1, 0.9)) / curvature}, int(rng.integers(1, 4)))]
    for name, options, num_steps in runs:
        answer = nb.call("fit_with_optimizer", X, sigma, mu0, Optimizer(name, **options), num_steps, return_args=True)
        start_after = answer["args"][2]
        if not (isinstance(start_after, torch.Tensor) and torch.equal(start_after.to(torch.float64), mu0)):
            raise CheckFailed(f"fit_with_optimizer changed mu0 in place (it was {fmt(mu0)}): start from a copy, "
                              "mu = mu0.detach().clone().requires_grad_(True)")
        label = f"fit_with_optimizer(X of {X.shape[0]} points, sigma, mu0, {_describe(name, options)}, {num_steps})"
        expect_optimizer_path(label, answer["value"], X, sigma, mu0, name, options, num_steps)


def _factory_options(nb, key: str) -> dict:
    """The options of the optimiser that the notebook's factory for ``paths[key]`` builds; check_optimizer_kinds' rules."""
    factory, kind = FACTORIES[key]
    optimizer = nb.call(factory, Params([torch.zeros(2, dtype=torch.float64)]))
    if not (isinstance(optimizer, Opaque) and optimizer.get("kind") == "optimizer" and optimizer["name"] == kind
            and str(optimizer.get("module", "")).startswith("torch.optim")):
        got = optimizer.get("name") if isinstance(optimizer, Opaque) else type(optimizer).__name__
        raise AssertionError(f"{factory} must return a torch.optim.{kind}; got {got}")
    options = optimizer["options"]
    if options.get("maximize"):
        raise AssertionError(f"{factory} sets maximize=True, but fit_with_optimizer already minimises -L: "
                             "together they walk away from the maximum.")
    momentum = options.get("momentum", 0)
    if key == "SGD" and momentum:
        raise AssertionError(f"make_sgd should be plain SGD (momentum 0); got momentum={momentum}")
    if key == "momentum" and not momentum:
        raise AssertionError("make_momentum needs momentum > 0, e.g. torch.optim.SGD(params, lr=..., momentum=0.5)")
    return options


def _paths(nb) -> dict:
    paths = nb.get("paths")
    if not isinstance(paths, dict) or sorted(paths) != sorted(FACTORIES):
        keys = sorted(paths) if isinstance(paths, dict) else type(paths).__name__
        raise CheckFailed(f"paths must be the dict with the keys {list(FACTORIES)} (one path per optimiser); got {keys}")
    return paths


@ASSIGNMENT.check("test_three_optimizers", task="three_optimizers")
def _(nb, rng):
    """Each factory makes the optimiser it names; each path ends within 0.05 of the mean and is that optimiser's path."""
    X, sigma, mu0 = _course_data()
    options = {key: _factory_options(nb, key) for key in FACTORIES}
    paths = _paths(nb)
    for key, path in paths.items():
        mh.checks.check_path(path, mu0, NUM_STEPS)
        mh.checks.check_converged(as_points(f"paths[{key!r}]", path)[-1], X, atol=0.05, name=f"the {key} path's end")
    for key, path in paths.items():
        expect_optimizer_path(f"paths[{key!r}]", path, X, sigma, mu0, FACTORIES[key][1], options[key], NUM_STEPS)


@ASSIGNMENT.check("test_plot_optimizers", task="plot_optimizers")
def _(nb, rng):
    """Every optimiser's path is drawn over a heatmap on its own Axes, in the order of `paths`."""
    paths, axes = _paths(nb), nb.get("axes")
    if isinstance(axes, Axes):
        axes = [axes]
    if not isinstance(axes, (list, tuple)) or not all(isinstance(ax, Axes) for ax in axes):
        raise AssertionError("axes must be the Axes of plt.subplots(1, 3, ...); got "
                             f"{type(axes).__name__ if not isinstance(axes, Opaque) else axes.get('type', 'an object')}")
    if len(axes) != len(paths):
        raise AssertionError(f"axes has {len(axes)} Axes; expected one per optimiser ({len(paths)})")
    for position, (ax, (key, path)) in enumerate(zip(axes, paths.items())):
        points = as_points(f"paths[{key!r}]", path).to(torch.float64)
        if not any(line.shape == points.shape and torch.allclose(line.to(torch.float64), points) for line in ax["lines"]):
            raise AssertionError(f"no line on axes[{position}] goes through the points of paths[{key!r}] "
                                 f"({len(ax['lines'])} lines drawn): draw it with mh.vizualize(X, paths[{key!r}], sigma, ax=axes[{position}]).")
        if not ax["collections"] and not ax["images"]:
            raise AssertionError(f"axes[{position}] has the path of {key} but no heatmap: draw it with "
                                 f"mh.vizualize(X, paths[{key!r}], sigma, ax=axes[{position}]).")
