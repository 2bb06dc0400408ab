"""mle_helpers: the helper package of *Maximum Likelihood Estimation with PyTorch*.

Import it the same way everywhere::

    import mle_helpers as mh

Public API: :func:`L`, :func:`loglik_grid`, :func:`vizualize` (also spelled
:func:`visualize`), :func:`set_theme`, and the modules :mod:`data`,
:mod:`estimators`, :mod:`ascent` and :mod:`checks`.
"""
from . import ascent, checks, data, estimators
from .likelihood import L, loglik_grid
from .plotting import PALETTE, set_theme, visualize, vizualize

__all__ = ["L", "loglik_grid", "vizualize", "visualize", "set_theme", "PALETTE",
           "data", "estimators", "ascent", "checks"]
__version__ = "0.1.0"
