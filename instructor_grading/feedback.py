"""``make feedback``: feedback HTML for every autograded submission, with nbgrader's own converter.

The hidden tests stay out of it on every route: ``nbgrader_config.py`` adds
nbgrader's ``ClearHiddenTests`` to ``GenerateFeedback.preprocessors``, which
``nbgrader generate_feedback``, formgrader and this command all read. (A
hidden check never runs in the student's kernel, so no traceback can quote
one; the verdicts carry only the checks' messages.)
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["generate_feedback"]


def generate_feedback(course: Path | str = ".", *, log=print) -> list[str]:
    """Write feedback HTML for every autograded submission; return the failures as messages."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .config import course_config

    course = Path(course).resolve()
    config = course_config(course)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    failures = []
    autograded = course / "autograded"
    for student_dir in sorted(autograded.iterdir()) if autograded.is_dir() else []:
        for folder in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            outcome = api.generate_feedback(folder.name, student_dir.name, force=True)
            if outcome["success"]:
                log(f"feedback {student_dir.name}/{folder.name}")
            else:
                failures.append(f"student {student_dir.name!r}, assignment {folder.name!r}: feedback failed")
                log(failures[-1])
    return failures
