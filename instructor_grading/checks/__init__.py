"""Trusted checks: the grader's verdict on every test cell, computed in the grader's own process.

Each assignment has a module here, named like it (``ps1_closed_form.py``),
that defines ``ASSIGNMENT``: its tasks and one check per test cell. The
module lives in the grading package, never in ``solutions/<id>/`` (which
nbgrader copies into the release) and never on the website.

A check gets the student's notebook as a source of *data*
(:class:`~instructor_grading.remote.Notebook`: ``nb.call(name, *args)``,
``nb.get(name)``) and a random generator drawn from the course secret, the
student id and the grade id (fresh data for every student and check, the same
on a re-grade). It raises :class:`CheckFailed` (or ``AssertionError`` from
``mle_helpers.checks``) with a message for the student, or returns to pass::

    ASSIGNMENT = Assignment("ps1_closed_form", [
        Task("gaussian_mle_1d", answers=["gaussian_mle_1d"]),
    ])

    @ASSIGNMENT.check("test_gaussian_mle_1d_hidden", task="gaussian_mle_1d")
    def _(nb, rng):
        x = torch.as_tensor(rng.normal(3.0, 2.0, size=50))
        mu_hat, var_hat = nb.call("gaussian_mle_1d", x)
        expect_close("mu_hat", mu_hat, x.mean(), "the sample average of x")

A task names the answer cells it grades and the course references it allows
(``allowed``: e.g. ``"L"`` where the task builds on ``mh.L``); every other
reference implementation of ``mle_helpers`` (see :data:`REFERENCES`) and every
name in :data:`THIRD_PARTY_FITTING` is forbidden in its answers.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..remote import CheckFailed

__all__ = ["CheckFailed", "Task", "Check", "Assignment", "load", "rng_for", "TOOLS", "REFERENCES",
           "THIRD_PARTY_FITTING", "expect_close", "tolerance", "as_points", "fmt"]

# Every public name of mle_helpers, classified (a test fails when a new one is not).
# TOOLS may be used by any answer: data, plotting, the self-checks.
TOOLS = frozenset({
    "data", "data.sample_gaussian", "data.sample_gaussian_batches", "data.TwoDProblem", "data.two_d_problem",
    "data.sample_linear", "data.sample_bernoulli", "data.COIN_TOSSES",
    "checks", *(f"checks.{name}" for name in importlib.import_module("mle_helpers.checks").__all__),
    "plotting", "set_theme", "PALETTE", "HEATMAP_CMAP", "vizualize", "visualize", "loglik_grid",
    "likelihood.clear_cache",
})
# REFERENCES implement what students are asked to write: forbidden unless a task allows them.
REFERENCES = frozenset({
    "L", "likelihood", "likelihood.sufficient_stats",
    "estimators", "estimators.scatter_matrix", "estimators.gaussian_mle", "estimators.linreg_mle", "estimators.bernoulli_mle",
    "estimators.bernoulli_map", "estimators.beta_posterior", "estimators.predictive_head",
    "ascent", "ascent.gradient_ascent", "ascent.optimizer_path",
})
# Third-party functions that fit a model for the student: forbidden in every task (a module forbids all in it).
THIRD_PARTY_FITTING = frozenset({
    "scipy", "sklearn", "statsmodels", "numpy.polyfit", "numpy.linalg.lstsq", "numpy.linalg.pinv",
    "torch.linalg.lstsq", "torch.linalg.pinv", "torch.distributions.MultivariateNormal.fit",
})


@dataclass(frozen=True)
class Task:
    """What the student implements: the answer cells (grade ids) it grades, the references it allows."""

    name: str
    answers: tuple[str, ...] | list[str]
    allowed: frozenset[str] | set[str] = frozenset()
    # Groups of names the method needs, one of each group: [("L",), ("backward", "torch.autograd.grad")].
    required: tuple[tuple[str, ...], ...] | list = ()

    def forbidden(self) -> frozenset[str]:
        return (REFERENCES - set(self.allowed)) | THIRD_PARTY_FITTING


@dataclass
class Check:
    grade_id: str
    task: str
    function: Callable


@dataclass
class Assignment:
    """The tasks of one assignment and the check of each of its test cells."""

    name: str
    tasks: list[Task]
    checks: dict[str, Check] = field(default_factory=dict)

    def __post_init__(self):
        unknown = [n for t in self.tasks for n in t.allowed if n not in REFERENCES | TOOLS]
        if unknown:
            raise ValueError(f"{self.name}: allowed names {unknown} are not public names of mle_helpers")

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def check(self, grade_id: str, *, task: str):
        """Register the decorated function as the check of test cell ``grade_id``, grading ``task``."""
        if task not in {t.name for t in self.tasks}:
            raise ValueError(f"{self.name}: check {grade_id} names unknown task {task!r}")

        def register(function):
            if grade_id in self.checks:
                raise ValueError(f"{self.name}: two checks for {grade_id}")
            self.checks[grade_id] = Check(grade_id, task, function)
            return function
        return register


def load(assignment: str) -> Assignment | None:
    """The trusted checks of ``assignment``, or None when the grading package has none."""
    try:
        module = importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError as error:
        if error.name == f"{__name__}.{assignment}":
            return None
        raise
    return module.ASSIGNMENT


def rng_for(secret: bytes, student: str, assignment: str, grade_id: str) -> np.random.Generator:
    """The random generator of one check for one student: the same on a re-grade, different between students."""
    digest = hmac.new(secret, "\0".join([student, assignment, grade_id]).encode(), hashlib.sha256).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def tolerance(value: torch.Tensor, rtol64: float = 1e-9) -> tuple[float, float]:
    """(rtol, atol) for comparing ``value``: float32 answers get float32's precision."""
    if isinstance(value, torch.Tensor) and value.dtype in (torch.float32, torch.float16, torch.bfloat16):
        return 2e-4, 1e-5
    return rtol64, rtol64 * 1e-2


def as_points(name: str, value, *, dims: int | None = None) -> torch.Tensor:
    """``value`` (a tensor, a list of tensors or numbers) as a float tensor; CheckFailed names ``name`` if not."""
    try:
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], torch.Tensor):
            dtype = value[0].dtype
            tensor = torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(-1) if dims else
                                  torch.as_tensor(v, dtype=torch.float64) for v in value]).to(dtype)
        else:
            tensor = torch.as_tensor(value)
    except Exception:
        raise CheckFailed(f"{name} must be a tensor or a list of tensors of one shape; got {type(value).__name__}") from None
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.float64)
    if dims is not None and (tensor.ndim != 2 or tensor.shape[1] != dims):
        raise CheckFailed(f"{name} must hold {dims}-D points, one per row; got shape {tuple(tensor.shape)}")
    return tensor


def expect_close(name: str, got, expected, what: str, *, rtol64: float = 1e-9) -> None:
    """Pass when ``got`` equals ``expected`` within the tolerance of ``got``'s dtype; else say what was expected."""
    got_t = as_points(name, got)
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    if got_t.numel() != expected_t.numel():
        raise CheckFailed(f"{name} has shape {tuple(got_t.shape)}; expected shape {tuple(expected_t.shape)} ({what})")
    got64 = got_t.to(torch.float64).reshape(expected_t.shape)
    if not torch.isfinite(got64).all():
        raise CheckFailed(f"{name} contains NaN or inf; expected {fmt(expected_t)} ({what})")
    rtol, atol = tolerance(got_t, rtol64)
    if not torch.allclose(got64, expected_t, rtol=rtol, atol=atol * max(1.0, float(expected_t.abs().max()) if expected_t.numel() else 1.0)):
        raise CheckFailed(f"{name} is {fmt(got64)}; expected {fmt(expected_t)}: {what}")


def fmt(values) -> str:
    """Numbers (a tensor, a list, a float) as a message shows them: 6 significant digits, long arrays cut."""
    array = torch.as_tensor(values).detach().to(torch.float64).numpy()
    if array.ndim == 0:
        return f"{array.item():.6g}"
    return np.array2string(array, precision=5, separator=", ", threshold=6)
