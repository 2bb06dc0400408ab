"""Input validation shared by every public function of mle_helpers.

Each helper converts array-likes to tensors and raises ``ValueError`` whose
message names the argument and the value it received, so a student sees
*which* input was wrong, not a shape error from deep inside torch.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = [
    "as_tensor",
    "check_finite",
    "data_matrix",
    "covariance",
    "probability",
    "positive",
    "binary_vector",
    "positive_int",
    "scalar",
]


def _show(value) -> str:
    """A short rendering of a value for an error message."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    text = np.array2string(np.asarray(value), precision=4, threshold=8) if not isinstance(value, str) else repr(value)
    return text if len(text) < 200 else text[:200] + "..."


def as_tensor(name: str, value, dtype=None) -> torch.Tensor:
    """Convert ``value`` to a floating tensor (float64 unless it already is a floating tensor)."""
    if isinstance(value, torch.Tensor):
        if not (value.is_floating_point() or value.dtype in (torch.int32, torch.int64, torch.bool, torch.uint8)):
            raise ValueError(f"{name} must be a real-valued tensor; got dtype {value.dtype}")
        tensor = value if value.is_floating_point() else value.to(torch.float64)
    else:
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric (a tensor, array or number); got {value!r:.200}") from None
        tensor = torch.from_numpy(array)
    if dtype is not None:
        tensor = tensor.to(dtype)
    return tensor


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Raise if ``tensor`` holds a NaN or an infinity."""
    detached = tensor.detach()
    # Any NaN or inf makes the sum non-finite, and one sum costs a tenth of isfinite() on a big
    # tensor; only a non-finite sum (finite values can overflow too) needs the element-wise check.
    if not torch.isfinite(detached.sum()) and not torch.isfinite(detached).all():
        raise ValueError(f"{name} must be finite; got a value with NaN or inf: {_show(tensor)}")
    return tensor


def data_matrix(name: str, value) -> torch.Tensor:
    """An (n, d) data matrix with n >= 1, d >= 1, all finite."""
    X = as_tensor(name, value)
    if X.ndim != 2:
        hint = " (for univariate data use X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D with shape (n, d){hint}; got shape {tuple(X.shape)}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must hold at least one row and one column; got shape {tuple(X.shape)}")
    return check_finite(name, X)


def covariance(name: str, value, d: int) -> torch.Tensor:
    """A (d, d) symmetric positive-definite matrix."""
    sigma = as_tensor(name, value)
    if sigma.shape != (d, d):
        raise ValueError(f"{name} must be (d, d) with d={d}; got shape {tuple(sigma.shape)}")
    check_finite(name, sigma)
    detached = sigma.detach()
    scale = detached.abs().max().clamp_min(1e-300)
    if not torch.allclose(detached, detached.T, rtol=1e-6, atol=1e-9 * float(scale)):
        raise ValueError(f"{name} must be symmetric; got {_show(sigma)}")
    _, info = torch.linalg.cholesky_ex(detached)
    if int(info) != 0:
        eigenvalues = torch.linalg.eigvalsh(detached.to(torch.float64))
        raise ValueError(f"{name} must be positive definite; got eigenvalues {_show(eigenvalues)}")
    return sigma


def probability(name: str, value) -> float:
    """A number strictly between 0 and 1."""
    number = scalar(name, value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be a probability in (0, 1); got {number!r}")
    return number


def positive(name: str, value) -> float:
    """A finite number > 0."""
    number = scalar(name, value)
    if not number > 0.0:
        raise ValueError(f"{name} must be positive; got {number!r}")
    return number


def positive_int(name: str, value) -> int:
    """An integer >= 1 (bools are not accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def binary_vector(name: str, value) -> torch.Tensor:
    """A non-empty 1-D sequence of 0s and 1s, returned as float64."""
    x = as_tensor(name, value, dtype=torch.float64)
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of 0/1 outcomes; got shape {tuple(x.shape)}")
    check_finite(name, x)
    if not ((x == 0) | (x == 1)).all():
        raise ValueError(f"{name} must contain only 0 (tails) and 1 (heads); got {_show(x)}")
    return x


def scalar(name: str, value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a single number; got shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite; got {number!r}")
    return number
