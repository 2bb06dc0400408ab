"""The course's nbgrader configuration, and the preprocessor lists it installs.

``nbgrader_config.py`` at the course root is the only grading configuration:
nbgrader's CLI, formgrader and ``make autograde`` / ``make feedback`` all read
it. It calls the functions below, which take nbgrader's own default
lists and swap in this package's classes, so that a new nbgrader default
preprocessor is kept rather than silently dropped.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["sanitize_preprocessors", "autograde_preprocessors", "feedback_preprocessors", "course_config"]


def _replaced(cls, trait: str, old, new) -> list:
    """nbgrader's default list ``cls.trait`` with the class ``old`` replaced by ``new``."""
    defaults = list(cls.class_traits()[trait].default())
    if old not in defaults:
        raise RuntimeError(f"nbgrader's {cls.__name__}.{trait} no longer contains {old.__name__}: {defaults}")
    return [new if p is old else p for p in defaults]


def sanitize_preprocessors() -> list:
    """nbgrader's ``Autograde.sanitize_preprocessors`` with ``DeduplicateIds`` replaced by ``DeduplicateGradeIds``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import DeduplicateIds

    from .preflight import DeduplicateGradeIds

    return _replaced(Autograde, "sanitize_preprocessors", DeduplicateIds, DeduplicateGradeIds)


def autograde_preprocessors() -> list:
    """nbgrader's ``Autograde.autograde_preprocessors`` with ``Execute`` replaced by ``GradingExecute``."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    from .execute import GradingExecute

    return _replaced(Autograde, "autograde_preprocessors", Execute, GradingExecute)


def feedback_preprocessors() -> list:
    """nbgrader's ``GenerateFeedback.preprocessors`` with its ``ClearHiddenTests`` right after ``GetGrades``.

    nbgrader's feedback would show the hidden regions of test cells otherwise.
    """
    from nbgrader.converters import GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    defaults = list(GenerateFeedback.class_traits()["preprocessors"].default())
    if GetGrades not in defaults:
        raise RuntimeError(f"nbgrader's feedback preprocessors no longer contain GetGrades: {defaults}")
    position = defaults.index(GetGrades) + 1
    return defaults[:position] + [ClearHiddenTests] + defaults[position:]


def course_config(course: Path):
    """The traitlets config of ``course/nbgrader_config.py`` with the course root set.

    Raises:
        ValueError: if the course has no ``nbgrader_config.py``.
    """
    from traitlets.config import Config, PyFileConfigLoader

    if not (course / "nbgrader_config.py").is_file():
        raise ValueError(f"course {str(course)!r} has no nbgrader_config.py")
    config = Config()
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    config.CourseDirectory.root = str(course)
    return config
