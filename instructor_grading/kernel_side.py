"""Code that runs inside the student's kernel while a notebook is graded.

The executor (:mod:`instructor_grading.execute`) calls :func:`warm_up` once
before the first cell and :func:`guard` before every test cell; the hidden
tests of the assignments use :func:`references_off`. It imports only what a
student's kernel has anyway (numpy, torch, mle_helpers), and no private
module of theirs.
"""
from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
import warnings

__all__ = ["warm_up", "guard", "references_off"]

# The comparison functions a test cell may call, as they were before any student code ran.
_ORIGINALS: dict = {}
_COMPARISONS = {
    "torch": ("allclose", "isclose", "equal"),
    "torch.testing": ("assert_close",),
    "numpy": ("allclose", "isclose", "array_equal"),
    "numpy.testing": ("assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal"),
}
# mle_helpers modules that test cells call; re-executed from their files before every test cell.
_RELOADED = ("_validate", "estimators", "checks")


def warm_up() -> None:
    """Import the heavy modules (outside the per-cell timeout) and remember the comparison functions."""
    import mle_helpers  # noqa: F401 (imported for its import time)

    for module_name, names in _COMPARISONS.items():
        module = importlib.import_module(module_name)
        for name in names:
            _ORIGINALS.setdefault((module_name, name), getattr(module, name))


def guard(namespace: dict) -> None:
    """Put back what a submission could have replaced, so that a test cell judges with the real functions.

    The comparison functions get their remembered originals; ``mle_helpers``'
    checks and estimators are executed again from their files; the names
    ``mh``, ``torch`` and ``np`` of the notebook, where it has them, point to
    the real modules again.
    """
    if not _ORIGINALS:  # remembering them now could remember a student's replacements
        raise RuntimeError("warm_up() did not run before the first cell")
    for (module_name, name), function in _ORIGINALS.items():
        setattr(importlib.import_module(module_name), name, function)
    import mle_helpers

    for name in _RELOADED:
        spec = importlib.machinery.PathFinder.find_spec("mle_helpers." + name, mle_helpers.__path__)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(mle_helpers, name, module)
    real = {"mh": mle_helpers, "torch": sys.modules["torch"], "np": sys.modules["numpy"]}
    namespace.update({name: module for name, module in real.items() if name in namespace})


def _unavailable(*args, **kwargs):
    raise RuntimeError("this test switches off the course's reference implementation: write your own")


@contextlib.contextmanager
def references_off(*names: str):
    """Within the block, the named ``mle_helpers`` functions (``"estimators.gaussian_mle"``) raise.

    Swapping ``__code__`` reaches every name bound to the function object;
    ``finally`` puts the code back even when the student's code raises.
    Warnings are silenced: nbgrader scores a test cell that writes to stderr 0.
    """
    import mle_helpers

    functions = []
    for name in names:
        module_name, function_name = ("mle_helpers." + name).rsplit(".", 1)
        functions.append(getattr(importlib.import_module(module_name), function_name))
    saved = [function.__code__ for function in functions]
    try:
        for function in functions:
            function.__code__ = _unavailable.__code__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield mle_helpers
    finally:
        for function, code in zip(functions, saved):
            function.__code__ = code
