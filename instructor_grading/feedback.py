"""Feedback without hidden tests: the one sanitiser of every route, and ``make feedback``.

:class:`HideHiddenTests` replaces nbgrader's ``ClearHiddenTests`` in
``GenerateFeedback.preprocessors`` (see ``nbgrader_config.py``): it clears the
hidden region of every test cell like nbgrader does, and first removes every
traceback line that quotes a hidden line; a frame that points at a failing
hidden line becomes :data:`NEUTRAL_FRAME`. ``nbgrader generate_feedback``,
formgrader and ``make feedback`` all write feedback through it.
"""
from __future__ import annotations

import re
from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests

from .regions import region_lines

__all__ = ["NEUTRAL_FRAME", "HideHiddenTests", "scrub_frame", "generate_feedback"]

NEUTRAL_FRAME = "[a hidden test failed here; its code is not shown]"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# An IPython traceback line: optional arrow, the line number, then the code.
_NUMBERED_LINE = re.compile(r"^\s*(?:-*>\s*)?\d+\s(.*)$")
_ARROW = re.compile(r"^\s*-+>")


def _code(line: str) -> str:
    match = _NUMBERED_LINE.match(line)
    return (match.group(1) if match else line).strip()


def scrub_frame(frame: str, hidden: set[str]) -> str:
    """One traceback entry with the ``hidden`` lines removed; :data:`NEUTRAL_FRAME` if one of them failed."""
    lines = _ANSI.sub("", frame).split("\n")
    if not any(_code(line) in hidden for line in lines):
        return frame
    if any(_ARROW.match(line) and _code(line) in hidden for line in lines):
        return NEUTRAL_FRAME
    return "\n".join(line for line in lines if _code(line) not in hidden)


class HideHiddenTests(ClearHiddenTests):
    """nbgrader's ClearHiddenTests, plus tracebacks that never quote a hidden line."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            delimiters = (self.begin_test_delimeter, self.end_test_delimeter)
            hidden = {line.strip() for line in region_lines(cell.source, delimiters, markers=True) if line.strip()}
            for output in cell.get("outputs", []) if hidden else []:
                if output.output_type == "error":
                    output.traceback = [scrub_frame(frame, hidden) for frame in output.traceback]
        return super().preprocess_cell(cell, resources, index)


def generate_feedback(course: Path | str = ".", *, log=print) -> list[str]:
    """Write feedback HTML for every autograded submission; return the failures as messages.

    nbgrader's own API with the course's ``nbgrader_config.py``: the same
    preprocessors as ``nbgrader generate_feedback`` and formgrader.
    """
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
