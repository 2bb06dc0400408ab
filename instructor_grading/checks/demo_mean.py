"""Trusted checks of the demo assignment (``instructor_grading.scratch.demo_source``)."""
import torch

import mle_helpers as mh

from . import Assignment, CheckFailed, Task, expect_close

ASSIGNMENT = Assignment("demo_mean", [
    Task("sample_mean", answers=["answer_mean"]),
    Task("sample_variance", answers=["answer_variance"]),
])


@ASSIGNMENT.check("test_mean_visible", task="sample_mean")
def _(nb, rng):
    mh.checks.check_close("sample_mean", nb.call("sample_mean", torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)), 3.0)


@ASSIGNMENT.check("test_mean_hidden", task="sample_mean")
def _(nb, rng):
    for n in (1, 2, int(rng.integers(50, 500))):
        x = torch.as_tensor(rng.normal(rng.uniform(-100, 100), rng.uniform(0.1, 10), size=n))
        expect_close(f"sample_mean of {n} points", nb.call("sample_mean", x), x.sum() / n,
                     "the MLE of a Gaussian mean is the sample average")


@ASSIGNMENT.check("test_variance", task="sample_variance")
def _(nb, rng):
    mh.checks.check_close("sample_variance", nb.call("sample_variance", torch.tensor([1.0, 3.0], dtype=torch.float64)), 1.0)
    x = torch.as_tensor(rng.normal(0, rng.uniform(0.5, 5), size=int(rng.integers(3, 40))))
    got = nb.call("sample_variance", x)
    unbiased = ((x - x.mean()) ** 2).sum() / (len(x) - 1)
    if abs(float(got) - float(unbiased)) < 1e-9 * float(unbiased):
        raise CheckFailed("sample_variance divides by n - 1 (the unbiased estimate); the MLE divides by n")
    expect_close("sample_variance", got, ((x - x.mean()) ** 2).mean(), "the mean squared deviation from the mean (divisor n)")
