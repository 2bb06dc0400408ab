"""Trusted checks of ps5_location_scale: softplus scale, Cholesky factor, Adam fits of a Normal and an MVN.

The fits are judged against the grader's own ``torch.optim.Adam`` run of the parametrisation the
task states (after 1, a few and a few dozen steps from random starts, so the method is checked, not
only its limit) and, after enough steps, against the closed-form MLE (divisor n) of fresh data.
"""
import math

import torch
import torch.nn.functional as F

import mle_helpers as mh

from ..remote import RequiresGrad
from . import Assignment, CheckFailed, Task, as_points, expect_close, fmt

ASSIGNMENT = Assignment("ps5_location_scale", [
    Task("positive_scale", answers=["positive_scale"]),
    Task("fit_loc_scale", answers=["fit_loc_scale"], required=[("torch.optim.Adam",)]),
    Task("cholesky_factor", answers=["cholesky_factor"]),
    Task("fit_mvn", answers=["fit_mvn"], required=[("torch.optim.Adam",)]),
])

# Steps of the converged runs: the first checkpoint (from a random start) where the grader's own run has converged.
FIRST_CHECKPOINT, CHECKPOINT_EVERY, MAX_STEPS = (150, 260), 50, 1400
FEW_STEPS = 7  # path runs below this many steps use a random lr; the long path run gets a tiny one
LOC_ATOL, SCALE_RTOL, COV_RTOL, COV_ATOL = 1e-3, 1e-3, 1e-2, 1e-3  # the visible self-checks' tolerances


def _softplus_inverse(scale):
    return torch.log(torch.expm1(torch.as_tensor(scale, dtype=torch.float64)))


def _cholesky(raw):
    return torch.tril(raw, diagonal=-1) + torch.diag_embed(F.softplus(torch.diagonal(raw)))


def _adam_readouts(params, nll, lr, steps, readout, until=None):
    """{k: readout()} after k steps of torch.optim.Adam(params, lr) on nll(), for each k in ``steps``
    (stopping after the first k where ``until(readout())`` holds)."""
    optimizer = torch.optim.Adam(params, lr=lr)
    readouts, threads = {}, torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only contend (10x slower on a loaded machine)
    try:
        for step in range(1, max(steps) + 1):
            optimizer.zero_grad()
            nll().backward()
            optimizer.step()
            if step in steps:
                with torch.no_grad():
                    readouts[step] = readout()
                if until is not None and until(readouts[step]):
                    break
    finally:
        torch.set_num_threads(threads)
    return readouts


def _converged_steps(rng, reference, error):
    """The first checkpoint where the reference run is within a tenth of the tolerance, and the slack it needs."""
    checkpoints = set(range(int(rng.integers(*FIRST_CHECKPOINT)), MAX_STEPS + 1, CHECKPOINT_EVERY))
    readouts = reference(checkpoints, lambda r: error(r) < 0.1)
    num_steps = max(readouts)
    return num_steps, max(1.0, 3 * error(readouts[num_steps]))


def _loc_scale_reference(x, loc0, scale0, lr, steps, until=None):
    """The task's method: Adam on [loc, raw_scale], scale = softplus(raw_scale); (loc, scale) after each of steps."""
    loc = torch.tensor(float(loc0), dtype=torch.float64, requires_grad=True)
    raw = _softplus_inverse(scale0).requires_grad_(True)
    nll = lambda: -torch.distributions.Normal(loc, F.softplus(raw)).log_prob(x).sum()
    return _adam_readouts([loc, raw], nll, lr, steps, lambda: torch.stack([loc, F.softplus(raw)]).clone(), until)


def _mvn_reference(X, loc0, lr, steps, until=None):
    """The task's method: Adam on [loc, raw], L = cholesky_factor(raw) = I at the start; (loc, L L^T) per step."""
    n, d = X.shape
    loc = torch.tensor(loc0, dtype=torch.float64, requires_grad=True)
    raw = (_softplus_inverse(1.0) * torch.eye(d, dtype=torch.float64)).requires_grad_(True)

    def nll():  # -MultivariateNormal(loc, scale_tril=L).log_prob(X).sum(), written out (faster)
        factor = _cholesky(raw)
        z = torch.linalg.solve_triangular(factor, (X - loc).T, upper=False)
        return 0.5 * (z ** 2).sum() + n * torch.log(torch.diagonal(factor)).sum() + 0.5 * n * d * math.log(2 * math.pi)

    def readout():
        factor = _cholesky(raw)
        return loc.clone(), factor @ factor.T
    return _adam_readouts([loc, raw], nll, lr, steps, readout, until)


def _path_runs(rng, center, spread, converged_steps):
    """Random starts (loc0, lr, num_steps): Adam's first step, a few steps, and at least as many steps as the
    converged run gets but with lr too small to reach the MLE (lr * num_steps is 60% of the distance), so
    that no answer shaped to num_steps can pass."""
    long_steps = converged_steps + int(rng.integers(0, 101))
    for num_steps in (1, int(rng.integers(2, FEW_STEPS)), long_steps):
        offset = rng.choice([-1.0, 1.0], size=center.shape) * rng.uniform(2, 5, size=center.shape) * spread
        lr = float(rng.uniform(0.005, 0.05)) if num_steps < FEW_STEPS else 0.6 * float(abs(offset).min()) / num_steps
        yield center + offset, float(f"{lr:.3g}"), num_steps


def _adam_story(num_steps, lr):
    note = {1: " (Adam's first step moves every parameter by exactly lr, against the sign of its gradient)"}.get(
        num_steps, " (too few, with lr this small, to reach the MLE)" if num_steps >= FEW_STEPS else "")
    return f"{num_steps} step(s) of torch.optim.Adam(..., lr={lr}){note}"


# ---------------------------------------------------------------- Task 1: positive_scale

def _kernel_function(nb, name):
    return lambda *args: nb.call(name, *args)


@ASSIGNMENT.check("test_positive_scale_visible", task="positive_scale")
def _(nb, rng):
    """The visible self-check, with the student's functions called in the kernel."""
    mh.checks.check_positive_transform(_kernel_function(nb, "positive_scale"), _kernel_function(nb, "raw_for_scale"))


@ASSIGNMENT.check("test_positive_scale_hidden", task="positive_scale")
def _(nb, rng):
    """Softplus at very negative and very large raw, a finite positive gradient (the sigmoid), the inverse."""
    raw = torch.tensor(sorted([-rng.uniform(20, 35), *rng.normal(0, 3, size=4), rng.uniform(750, 1000)]),
                       dtype=torch.float64)
    answer = nb.call("positive_scale", RequiresGrad(raw), backward=True)
    scale, grad = as_points("positive_scale(raw)", answer["value"]), answer["grads"][0]
    where = f"at raw = {fmt(raw)}"
    if scale.numel() != raw.numel():
        raise CheckFailed(f"positive_scale must work elementwise: {raw.numel()} inputs gave shape {tuple(scale.shape)}")
    if not torch.isfinite(scale).all():
        raise CheckFailed(f"positive_scale {where} is {fmt(scale)}: not finite. log(1 + exp(raw)) overflows for "
                          "large raw; torch.nn.functional.softplus does not")
    if not (scale > 0).all():
        raise CheckFailed(f"positive_scale {where} is {fmt(scale)}: every value must be positive (softplus is)")
    expect_close(f"positive_scale {where}", scale, F.softplus(raw), "softplus(raw) = log(1 + exp(raw))")
    if grad is None:
        raise CheckFailed("no gradient of positive_scale(raw).sum() reaches raw: keep the computation in torch")
    grad = as_points("the gradient of positive_scale", grad)
    if not torch.isfinite(grad).all() or not (grad > 0).all():
        raise CheckFailed(f"the gradient of positive_scale {where} is {fmt(grad)}; it must be finite and positive "
                          "(a torch.where around log(1 + exp(raw)) still differentiates the overflowing branch: "
                          "use torch.nn.functional.softplus)")
    expect_close(f"the gradient of positive_scale {where}", grad, torch.sigmoid(raw),
                 "the derivative of softplus is the sigmoid", rtol64=1e-6)
    targets = torch.tensor(sorted([rng.uniform(1e-4, 1e-2), *rng.uniform(0.1, 5, size=3), rng.uniform(15, 30)]),
                           dtype=torch.float64)
    expect_close(f"raw_for_scale({fmt(targets)})", nb.call("raw_for_scale", targets), _softplus_inverse(targets),
                 "log(exp(s) - 1), the inverse of softplus", rtol64=1e-8)
    round_trip = nb.call("positive_scale", nb.call("raw_for_scale", targets))
    expect_close(f"positive_scale(raw_for_scale(s)) for s = {fmt(targets)}", round_trip, targets,
                 "s itself: the two functions are inverses", rtol64=1e-8)


# ---------------------------------------------------------------- Task 2: fit_loc_scale

def _loc_scale_answer(nb, x, loc0, scale0, lr, num_steps):
    result = nb.call("fit_loc_scale", x, loc0, scale0, lr, num_steps)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"fit_loc_scale must return (loc, scale); got {type(result).__name__}")
    return as_points("(loc, scale)", [torch.as_tensor(v).reshape(()) for v in result]).to(torch.float64)


@ASSIGNMENT.check("test_fit_loc_scale_visible", task="fit_loc_scale")
def _(nb, rng):
    """The visible self-check on the notebook's loc_hat, scale_hat and the setup's x."""
    x = mh.data.sample_gaussian(500, 2.0, 9.0, seed=3)
    mh.checks.check_loc_scale(nb.get("loc_hat"), nb.get("scale_hat"), x)


@ASSIGNMENT.check("test_fit_loc_scale_hidden", task="fit_loc_scale")
def _(nb, rng):
    """Adam's path (1, a few, a few dozen steps) from random starts, then the MLE (divisor n) of a small sample."""
    small = torch.as_tensor(rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 2), size=int(rng.integers(10, 16))))
    n, mean, std = len(small), small.mean(), small.std(unbiased=False)
    start0 = round(float(mean + rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)), 3)
    scale0, lr0 = round(float(std * rng.uniform(0.5, 2)), 3), 0.05
    error = lambda v: max(abs(float(v[0] - mean)) / LOC_ATOL, abs(float(v[1] / std - 1)) / SCALE_RTOL)
    converged, slack = _converged_steps(rng, lambda steps, until: _loc_scale_reference(small, start0, scale0, lr0, steps,
                                                                                   until), error)
    x = torch.as_tensor(rng.normal(rng.uniform(-5, 5), rng.uniform(0.5, 3), size=int(rng.integers(20, 60))))
    for start, lr, num_steps in _path_runs(rng, x.mean().reshape(1).numpy(), float(x.std()), converged):
        loc0, scale0_path = round(float(start[0]), 3), round(float(rng.uniform(0.3, 3)), 3)
        call = (f"fit_loc_scale(x of {len(x)} points, loc0={loc0}, scale0={scale0_path}, lr={lr}, "
                f"num_steps={num_steps})")
        got = _loc_scale_answer(nb, x, loc0, scale0_path, lr, num_steps)
        expected = _loc_scale_reference(x, loc0, scale0_path, lr, {num_steps})[num_steps]
        if not torch.isfinite(got).all():
            raise CheckFailed(f"{call} returned {fmt(got)}: the run diverged")
        if not torch.allclose(got, expected, rtol=2e-5, atol=2e-5):  # float32 parameters pass
            closed = torch.stack([x.mean(), x.std(unbiased=False)])
            note = (" That is the closed-form MLE, not where Adam is after these steps."
                    if torch.allclose(got, closed, rtol=1e-6) else "")
            raise CheckFailed(
                f"{call} returned (loc, scale) = {fmt(got)}; {_adam_story(num_steps, lr)} on [loc, raw_scale] from "
                f"loc = loc0, raw_scale = raw_for_scale(scale0), minimising the Normal NLL with scale = "
                f"positive_scale(raw_scale), give {fmt(expected)}.{note}")
    got = _loc_scale_answer(nb, small, start0, scale0, lr0, converged)
    call = f"fit_loc_scale(x of {n} points, loc0={start0}, scale0={scale0}, lr={lr0}, num_steps={converged})"
    if abs(float(got[1]) - float(std) * math.sqrt(n / (n - 1))) < 1e-6 * float(std):
        raise CheckFailed(f"{call} returned scale {float(got[1]):.6g} = x.std(), which divides by n - 1; "
                          f"the MLE (divisor n) is {float(std):.6g}")
    if not error(got) <= slack:
        raise CheckFailed(f"{call} returned (loc, scale) = {fmt(got)}; after {converged} Adam steps the fit "
                          f"reaches the MLE: the sample mean and the standard deviation with divisor n, "
                          f"{fmt([mean, std])}")


# ---------------------------------------------------------------- Task 3: cholesky_factor

@ASSIGNMENT.check("test_cholesky_factor_visible", task="cholesky_factor")
def _(nb, rng):
    """The visible self-check, with the student's functions called in the kernel."""
    mh.checks.check_cholesky_factor(_kernel_function(nb, "cholesky_factor"), _kernel_function(nb, "positive_scale"))


@ASSIGNMENT.check("test_cholesky_factor_hidden", task="cholesky_factor")
def _(nb, rng):
    """A 3 x 3 / 4 x 4 raw with very negative diagonal entries: triangular, positive diagonal, gradient to raw."""
    d = int(rng.integers(3, 5))
    raw = torch.as_tensor(rng.normal(0, 5, size=(d, d)))
    raw.diagonal().copy_(torch.as_tensor(rng.choice([-1.0, 1.0], size=d) * rng.uniform(15, 35, size=d)))
    raw[0, 0] = -rng.uniform(15, 35)
    answer = nb.call("cholesky_factor", raw.clone(), return_args=True)
    factor = as_points("cholesky_factor(raw)", answer["value"])
    shown = f"for raw =\n{raw.numpy().round(3)}"
    if tuple(factor.shape) != (d, d):
        raise CheckFailed(f"cholesky_factor of a {d} x {d} raw must be {d} x {d}; got shape {tuple(factor.shape)}")
    if not torch.equal(as_points("raw", answer["args"][0]).to(torch.float64), raw):
        raise CheckFailed(f"cholesky_factor changed its argument raw in place {shown}; build a new tensor "
                          "(the optimiser's parameter must stay as it is)")
    if (torch.triu(factor, diagonal=1) != 0).any():
        raise CheckFailed(f"cholesky_factor {shown} has nonzero entries above the diagonal:\n{factor.numpy()}")
    lower = torch.tril(torch.ones(d, d, dtype=torch.bool), diagonal=-1)
    expect_close(f"the strictly lower part {shown}", factor[lower], raw[lower], "raw's strictly lower part, kept")
    diagonal = torch.diagonal(factor)
    if not (diagonal > 0).all():
        raise CheckFailed(f"the diagonal {shown} is {fmt(diagonal)}; it must be positive: softplus of raw's diagonal")
    expect_close(f"the diagonal {shown}", diagonal, F.softplus(torch.diagonal(raw)), "softplus of raw's diagonal")
    try:
        grad = nb.call("cholesky_factor", RequiresGrad(raw), backward=True)["grads"][0]
    except CheckFailed as failure:
        raise CheckFailed(f"{failure}: cholesky_factor must stay differentiable in raw, the optimiser learns raw "
                          "through it") from None
    if grad is None:
        raise CheckFailed("no gradient of cholesky_factor(raw).sum() reaches raw: keep the computation in torch")
    expected_grad = lower.to(torch.float64) + torch.diag_embed(torch.sigmoid(torch.diagonal(raw)))
    expect_close("the gradient of cholesky_factor(raw).sum() with respect to raw", grad, expected_grad,
                 "1 below the diagonal, sigmoid(raw_ii) on it, 0 above", rtol64=1e-6)


# ---------------------------------------------------------------- Task 4: fit_mvn

def _mvn_answer(nb, X, loc0, lr, num_steps):
    result = nb.call("fit_mvn", X, loc0, lr, num_steps)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"fit_mvn must return (loc, cov); got {type(result).__name__}")
    d = X.shape[1]
    loc, cov = as_points("loc", result[0]), as_points("cov", result[1])
    if loc.numel() != d or cov.numel() != d * d:
        raise CheckFailed(f"fit_mvn on {d}-D data must return loc of {d} and cov of {d} x {d} numbers; "
                          f"got shapes {tuple(loc.shape)} and {tuple(cov.shape)}")
    return loc.reshape(d), cov.reshape(d, d)


@ASSIGNMENT.check("test_fit_mvn_visible", task="fit_mvn")
def _(nb, rng):
    """The visible self-check on the notebook's loc_mvn, cov_mvn and the setup's X."""
    X = mh.data.sample_gaussian(500, [0.0, 0.0], [[1.0, 0.5], [0.5, 2.0]], seed=4)
    mh.checks.check_mvn_fit(nb.get("loc_mvn"), nb.get("cov_mvn"), X)


def _fresh_mvn_data(rng, d, n):
    factor = torch.as_tensor(rng.normal(0, 0.5, size=(d, d))).tril(-1) + torch.diag(torch.as_tensor(rng.uniform(0.5, 1.5, d)))
    return torch.as_tensor(rng.normal(size=(n, d))) @ factor.T + torch.as_tensor(rng.uniform(-2, 2, d))


@ASSIGNMENT.check("test_fit_mvn_hidden", task="fit_mvn")
def _(nb, rng):
    """Adam's path (1, a few, a few dozen steps) from random starts, then the MLE (divisor n) of a small sample."""
    n = int(rng.integers(12, 21))
    small = _fresh_mvn_data(rng, 2, n)
    mean = small.mean(0)
    cov_mle = (small - mean).T @ (small - mean) / n
    start0 = [round(float(v), 3) for v in mean + torch.as_tensor(rng.choice([-1.0, 1.0], 2) * rng.uniform(0.5, 1.5, 2))]
    lr0 = 0.05
    error = lambda r: max(float((r[0] - mean).abs().max()) / LOC_ATOL,
                          float(((r[1] - cov_mle).abs() / (COV_ATOL + COV_RTOL * cov_mle.abs())).max()))
    converged, slack = _converged_steps(rng, lambda steps, until: _mvn_reference(small, start0, lr0, steps, until), error)
    d = int(rng.integers(2, 4))
    X = _fresh_mvn_data(rng, d, int(rng.integers(20, 60)))
    for start, lr, num_steps in _path_runs(rng, X.mean(0).numpy(), 1.0, converged):
        loc0 = [round(float(v), 3) for v in start]
        loc, cov = _mvn_answer(nb, X, loc0, lr, num_steps)
        loc_ref, cov_ref = _mvn_reference(X, loc0, lr, {num_steps})[num_steps]
        how = (f"fit_mvn(X of shape {tuple(X.shape)}, loc0={loc0}, lr={lr}, num_steps={num_steps}): "
               f"{_adam_story(num_steps, lr)} on [loc, raw] from loc = loc0 and cholesky_factor(raw) = I, "
               f"minimising the MultivariateNormal NLL with scale_tril = cholesky_factor(raw), give")
        for name, got, expected in (("loc", loc, loc_ref), ("cov", cov, cov_ref)):
            if not torch.isfinite(got).all():
                raise CheckFailed(f"{how} {name} = {fmt(expected)}; yours is {fmt(got)}: the run diverged")
            expect_close(name, got, expected, f"{how} this {name}", rtol64=2e-5)
    loc, cov = _mvn_answer(nb, small, start0, lr0, converged)
    call = f"fit_mvn(X of shape {tuple(small.shape)}, loc0={start0}, lr={lr0}, num_steps={converged})"
    if not torch.allclose(cov.to(torch.float64), cov.T.to(torch.float64), rtol=1e-5, atol=1e-8):
        raise CheckFailed(f"{call} returned a cov that is not symmetric: return L @ L.T with L = cholesky_factor(raw)")
    if torch.allclose(cov.to(torch.float64), cov_mle * n / (n - 1), rtol=1e-5):
        raise CheckFailed(f"{call} returned the covariance with divisor n - 1; the MLE divides by n: "
                          f"{fmt(cov_mle)}")
    if error((loc.to(torch.float64), cov.to(torch.float64))) > slack:
        raise CheckFailed(f"{call} returned loc = {fmt(loc)}, cov = {fmt(cov)}; after {converged} Adam steps the "
                          f"fit reaches the MLE: the sample mean {fmt(mean)} and the covariance with divisor n "
                          f"{fmt(cov_mle)}")
