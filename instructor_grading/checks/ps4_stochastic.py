"""Trusted checks of ps4_stochastic: minibatch gradient ascent on a Gaussian mean and the batch-size runs.

A minibatch step is mu_{t+1} = mu_t + lr * (n / k) * sigma^-1 * sum_{i in B_t} (x_i - mu_t), so each step reveals
its batch mean: mean(B_t) = mu_t + sigma (mu_{t+1} - mu_t) / (lr n). The checks read the batches back from the
path (k = 1: a row of X; k = n - 1: all rows but one, distinct) on fresh data on a grid (rows at least one grid
step apart), and require that k = n is the full-batch path, that batches change from step to step, and that the
seed argument alone drives them.
"""
import torch

import mle_helpers as mh

from . import Assignment, CheckFailed, Task, as_points, tolerance, fmt
from .ps2_gradient_ascent import check_ascent_path, path_points, setup_data

ASSIGNMENT = Assignment("ps4_stochastic", [
    Task("minibatch_ascent", answers=["minibatch_ascent"], allowed={"L"}, required=[("L",), ("backward", "torch.autograd.grad")]),
    Task("batch_size_runs", answers=["batch_size_runs"]),
])

LR, NUM_STEPS, BATCH_SIZES = 1e-4, 100, [1, 10, 100, 1000, 10_000]


def run(nb, X, sigma, mu0, lr, num_steps, batch_size, seed, kernel_seed=None):
    """The student's minibatch_ascent (``kernel_seed`` first seeds torch and NumPy's global generators)."""
    return nb.call("minibatch_ascent", X, sigma, mu0, lr, num_steps, batch_size, seed, kernel_seed=kernel_seed)


def grid_data(rng, n):
    """n distinct rows on a random grid (spacing ``step``), a random covariance with eigenvalues in [0.5, 3]."""
    cells = torch.unique(torch.as_tensor(rng.normal(0, 10, size=(2 * n, 2))).round(), dim=0)
    cells = cells[torch.as_tensor(rng.permutation(len(cells))[:n])]
    step = float(rng.uniform(0.3, 1.0))
    X = cells * step + torch.as_tensor(rng.uniform(-5, 5, 2))
    rotation = torch.linalg.qr(torch.as_tensor(rng.normal(size=(2, 2))))[0]
    sigma = rotation @ torch.diag(torch.as_tensor(rng.uniform(0.5, 3.0, 2))) @ rotation.T
    mu0 = torch.as_tensor(rng.uniform(-8, 8, 2))
    lr = float(rng.uniform(0.3, 1.0)) / (len(X) * float(torch.linalg.eigvalsh(torch.linalg.inv(sigma)).max()))
    return X, sigma, mu0, lr, step


def batch_means(points, X, sigma, lr, scale=None):
    """mean(B_t) = mu_t + sigma (mu_{t+1} - mu_t) / (lr * scale), scale = n for the unbiased n / k estimate."""
    scale = X.shape[0] if scale is None else scale
    return points[:-1] + (points[1:] - points[:-1]) @ sigma.T / (lr * scale)


def nearest_row(targets, X):
    """For each target, the distance to the nearest row of X."""
    return torch.cdist(targets, X).min(dim=1).values


def check_single_rows(name, path, X, sigma, mu0, lr, num_steps, step):
    """batch_size = 1: every step aims at one row of X, with the n / k scaling; the rows change between steps."""
    points, _ = path_points(name, path, mu0, lr, num_steps)
    tol = 0.2 * step
    aimed_at = batch_means(points, X, sigma, lr)
    distance = nearest_row(aimed_at, X)
    for t in torch.nonzero(distance > tol).reshape(-1).tolist():
        why = "Multiply the batch log-likelihood by n / batch_size."
        if nearest_row(batch_means(points[t:t + 2], X, sigma, lr, scale=1), X)[0] <= tol:
            why = "The step is 1/n of that: the batch log-likelihood is not multiplied by n / batch_size."
        elif nearest_row(batch_means(points[t:t + 2], X, sigma, -lr), X)[0] <= tol:
            why = "The step goes downhill: gradient *ascent* adds lr * grad."
        raise CheckFailed(f"{name}: step {t + 1} goes from {fmt(points[t])} to {fmt(points[t + 1])}; with batch_size = 1 "
                          f"a step is lr * n * sigma^-1 (x_i - mu_t) for one row x_i of X, but this one aims at "
                          f"{fmt(aimed_at[t])}, no row of X. {why}")
    check_batches_change(name, aimed_at, tol)


def check_distinct_rows(name, path, X, sigma, mu0, lr, num_steps, step):
    """batch_size = n - 1: every batch sums all rows but one, so its n - 1 rows are distinct."""
    points, _ = path_points(name, path, mu0, lr, num_steps)
    k = X.shape[0] - 1
    left_out = X.sum(0) - k * batch_means(points, X, sigma, lr)
    distance = nearest_row(left_out, X)
    bad = torch.nonzero(distance > 0.2 * step).reshape(-1).tolist()
    if bad:
        t = bad[0]
        raise CheckFailed(f"{name}: step {t + 1} goes from {fmt(points[t])} to {fmt(points[t + 1])}, the step of a batch "
                          f"whose sum is {fmt(k * batch_means(points[t:t + 2], X, sigma, lr)[0])}; {k} distinct rows of "
                          f"X sum to the total {fmt(X.sum(0))} minus one row, which this is not. Draw batch_size "
                          "distinct rows (without replacement, e.g. torch.randperm(n)[:batch_size]).")


def check_batches_change(name, means, tol):
    """At least half of the steps use a batch (mean) not used before: the batch is drawn anew at every step."""
    distinct = []
    for mean in means:
        if not any(float((mean - seen).norm()) <= tol for seen in distinct):
            distinct.append(mean)
    if len(means) > 1 and len(distinct) <= len(means) // 2:
        raise CheckFailed(f"{name}: its {len(means)} steps use only {len(distinct)} different batches (batch means "
                          f"{fmt(distinct[0])}{', ...' if len(distinct) > 1 else ''}): draw a new random batch at every step")


def check_seed(nb, name, args, seed, other_seed):
    """The seed argument alone drives the batches: same seed, same path (whatever the global state); else another."""
    first = as_points(name, run(nb, *args, seed, kernel_seed=11))
    again = as_points(name, run(nb, *args, seed, kernel_seed=12))
    if first.shape != again.shape or not torch.equal(first, again):
        raise CheckFailed(f"{name}: two runs with seed={seed} gave different paths: the batches must come from the seed "
                          "argument, e.g. one torch.Generator().manual_seed(seed) created at the start of the run, not "
                          "from the global random state")
    other = as_points(name, run(nb, *args, other_seed, kernel_seed=11))
    if first.shape == other.shape and torch.equal(first, other):
        raise CheckFailed(f"{name}: seed={seed} and seed={other_seed} gave the same path: the seed must drive the random "
                          "batches")


@ASSIGNMENT.check("test_minibatch_ascent_visible", task="minibatch_ascent")
def _(nb, rng):
    """The self-check: k = n is full-batch ascent; k = 1 steps towards one data point; the seed reproduces."""
    X, sigma, mu0 = setup_data()
    n = X.shape[0]
    mh.checks.check_gradient_ascent_path(run(nb, X, sigma, mu0, LR, 20, n, 0), X, sigma, mu0, LR, 20)
    single = run(nb, X, sigma, mu0, LR, 20, 1, 0)
    mh.checks.check_single_point_steps(single, X, sigma, mu0, LR, 20)
    points, _ = path_points("minibatch_ascent(X, sigma, mu0, lr, 20, batch_size=1, seed=0)", single, mu0, LR, 20)
    check_batches_change("minibatch_ascent(X, sigma, mu0, lr, 20, batch_size=1, seed=0)",
                         batch_means(points, X, sigma, LR), 1e-9)
    mh.checks.check_reproducible(lambda seed: run(nb, X, sigma, mu0, LR, 20, 10, seed))


@ASSIGNMENT.check("test_minibatch_ascent_hidden", task="minibatch_ascent")
def _(nb, rng):
    """Fresh data and sigma: k = n is the full-batch recursion; k = 1 aims at rows; k = n - 1 rows are distinct;
    batches change every step; the seed reproduces the path and another seed changes it."""
    X, sigma, mu0, lr, step = grid_data(rng, int(rng.integers(100, 400)))
    n, num_steps, seed = X.shape[0], int(rng.integers(8, 20)), int(rng.integers(0, 10_000))
    call = f"minibatch_ascent(X of {n} rows, sigma, mu0, lr={lr:.4g}, num_steps={num_steps}, batch_size={{}}, seed={seed})"
    answer = nb.call("minibatch_ascent", X, sigma, mu0, lr, num_steps, n, seed, return_args=True)
    if not torch.equal(answer["args"][2].to(torch.float64), mu0):
        raise CheckFailed("minibatch_ascent changed its argument mu0 in place: start from a copy, mu0.detach().clone()")
    check_ascent_path(call.format(n), answer["value"], X, sigma, mu0, lr, num_steps,
                      hint="With batch_size = n every batch holds all n rows once, so each step is the full-batch step.")
    check_single_rows(call.format(1), run(nb, X, sigma, mu0, lr, num_steps, 1, seed), X, sigma, mu0, lr, num_steps, step)
    k = int(rng.integers(5, n // 4))
    middle, _ = path_points(call.format(k), run(nb, X, sigma, mu0, lr, num_steps, k, seed), mu0, lr, num_steps)
    check_batches_change(call.format(k), batch_means(middle, X, sigma, lr), 1e-3 * step)
    check_seed(nb, call.format(k), (X, sigma, mu0, lr, num_steps, k), seed, seed + int(rng.integers(1, 100)))
    X, sigma, mu0, lr, step = grid_data(rng, int(rng.integers(20, 40)))
    n, num_steps = X.shape[0], int(rng.integers(8, 15))
    check_distinct_rows(f"minibatch_ascent(X of {n} rows, sigma, mu0, lr={lr:.4g}, num_steps={num_steps}, "
                        f"batch_size={n - 1}, seed={seed})", run(nb, X, sigma, mu0, lr, num_steps, n - 1, seed),
                        X, sigma, mu0, lr, num_steps, step)


@ASSIGNMENT.check("test_batch_size_runs", task="batch_size_runs")
def _(nb, rng):
    """`paths` holds one path per batch size, k = 1 noisier than k = n; they are minibatch_ascent's paths with seed 0."""
    X, sigma, mu0 = setup_data()
    paths = nb.get("paths")
    mh.checks.check_batch_size_runs(paths, BATCH_SIZES, X, mu0, NUM_STEPS)
    check_ascent_path(f"paths[{X.shape[0]}]", paths[X.shape[0]], X, sigma, mu0, LR, NUM_STEPS,
                      hint="With batch_size = n every batch holds all n rows once, so each step is the full-batch step.")
    expected = as_points("minibatch_ascent", run(nb, X, sigma, mu0, LR, NUM_STEPS, 1, 0)).to(torch.float64)
    got = as_points("paths[1]", paths[1]).to(torch.float64)
    rtol, atol = tolerance(as_points("paths[1]", paths[1]))
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=rtol, atol=atol):
        raise CheckFailed(f"paths[1] is not minibatch_ascent(X, sigma, mu0, lr={LR:g}, num_steps={NUM_STEPS}, "
                          "batch_size=1, seed=0): run every batch size with seed=0 and the setup's lr and num_steps")
