"""Preflight: read every submission before nbgrader does, and name what cannot be graded.

An empty or corrupt notebook, an unknown notebook name or an assignment
folder that does not exist becomes a :class:`Problem` naming the student, the
assignment and the file; such files are not graded, and the rest of the class
is. A ``grade_id`` that appears twice is reported here and repaired by
:class:`DeduplicateGradeIds` when the notebook is graded.
"""
from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import DeduplicateIds

__all__ = ["Problem", "Submission", "DeduplicateGradeIds", "read_notebook", "duplicate_grade_ids", "expected_notebooks", "preflight"]


@dataclass
class Problem:
    """A submission (or one file of it) that could not be graded as it is."""

    student: str
    assignment: str
    path: str
    message: str
    graded: bool = False  # True when the file is graded anyway (nbgrader repairs it)

    def __str__(self) -> str:
        where = f"student {self.student!r}, assignment {self.assignment!r}, file {self.path!r}"
        return f"{where}: {self.message}" + (" (graded)" if self.graded else " (not graded)")


@dataclass
class Submission:
    """One student's submission of one assignment, as it will be graded."""

    student: str
    assignment: str
    folder: Path  # submitted/<student>/<assignment>
    notebooks: dict = field(default_factory=dict)  # notebook name -> NotebookNode


def read_notebook(path: Path):
    """Read and validate a notebook (copied cell ids made unique); raise ValueError with a readable reason."""
    if path.stat().st_size == 0:
        raise ValueError("the file is empty")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the file is not text (not a notebook)") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the file is not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise ValueError("the file is JSON but not a notebook (no 'cells')")
    try:
        with warnings.catch_warnings():  # missing or copied cell ids: nbformat repairs them, and says so
            warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
            warnings.simplefilter("ignore", nbformat.warnings.DuplicateCellId)
            _, raw = nbformat.validator.normalize(raw)
            nb = nbformat.from_dict(raw)
            nbformat.validate(nb)
    except Exception as error:  # nbformat raises several types for a bad schema
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"the file is not a valid notebook ({first_line})") from None
    return nb


class DeduplicateGradeIds(DeduplicateIds):
    """nbgrader's DeduplicateIds (the last copy of a ``grade_id`` keeps it), removing the metadata of the others.

    nbgrader's own class leaves an empty ``nbgrader`` dict, on which
    ``OverwriteCells.add_missing_cells`` fails with ``KeyError: 'grade_id'``
    and the whole submission with it.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


def duplicate_grade_ids(nb) -> list[str]:
    """One message per cell whose ``grade_id`` :class:`DeduplicateGradeIds` will drop (``nb`` is unchanged)."""
    copy = nbformat.from_dict(json.loads(json.dumps(nb)))
    quiet = logging.getLogger(f"{__name__}.deduplicate")  # its warning names no file; the messages below do
    quiet.disabled = True
    deduplicator = DeduplicateGradeIds(log=quiet)
    copy, _ = deduplicator.preprocess(copy, {})
    return [f"cell {index} repeats grade_id {before.metadata.nbgrader['grade_id']!r}; "
            "nbgrader grades the last copy and this one as an ordinary cell"
            for index, (before, after) in enumerate(zip(nb.cells, copy.cells))
            if before.metadata.get("nbgrader", {}).get("grade_id") and "nbgrader" not in after.metadata]


def expected_notebooks(db_url: str, *, course_id: str = "default_course") -> dict[str, list[str]]:
    """Assignment name -> its notebook names, from the gradebook (``make assignments`` fills it).

    ``course_id``: the course's id (nbgrader adds a course it does not find to the gradebook).
    """
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        return {a.name: sorted(nb.name for nb in a.notebooks) for a in gb.assignments}


def _misplaced(student: str, folder: Path, expected: dict[str, list[str]], rel: str) -> Problem:
    owner = [a for a, names in expected.items() if folder.stem in names]
    hint = f"; move it to submitted/{student}/{owner[0]}/" if owner else ""
    return Problem(student, "-", rel, f"not inside an assignment folder{hint}")


def preflight(course: Path, expected: dict[str, list[str]]) -> tuple[list[Submission], list[Problem]]:
    """Check every file under ``submitted/``; return what can be graded and the named problems."""
    submitted = course / "submitted"
    submissions, problems = [], []
    if not submitted.is_dir():
        return submissions, problems
    for student_dir in sorted(submitted.iterdir()):
        student = student_dir.name
        if not student_dir.is_dir():
            problems.append(Problem(student, "-", str(student_dir.relative_to(course)),
                                    "a file directly in submitted/; expected submitted/<student>/<assignment>/<notebook>.ipynb"))
            continue
        for folder in sorted(student_dir.iterdir()):
            rel = str(folder.relative_to(course))
            if not folder.is_dir():
                problems.append(_misplaced(student, folder, expected, rel))
                continue
            assignment = folder.name
            if assignment not in expected:
                problems.append(Problem(student, assignment, rel,
                                        f"unknown assignment folder; known: {', '.join(sorted(expected)) or 'none'}"))
                continue
            submission = Submission(student, assignment, folder)
            for path in sorted(folder.rglob("*.ipynb")):
                rel = str(path.relative_to(course))
                if ".ipynb_checkpoints" in path.parts:
                    continue
                if path.parent != folder or path.stem not in expected[assignment]:
                    owner = [a for a, names in expected.items() if path.stem in names and a != assignment]
                    why = (f"this notebook belongs to assignment {owner[0]!r}" if owner else
                           f"unexpected notebook name; expected {', '.join(n + '.ipynb' for n in expected[assignment])}")
                    problems.append(Problem(student, assignment, rel, why))
                    continue
                try:
                    nb = read_notebook(path)
                except ValueError as error:
                    problems.append(Problem(student, assignment, rel, str(error)))
                    continue
                problems += [Problem(student, assignment, rel, message, graded=True)
                             for message in duplicate_grade_ids(nb)]
                submission.notebooks[path.stem] = nb
            if submission.notebooks:
                submissions.append(submission)
            elif not any(p.student == student and p.assignment == assignment for p in problems):
                problems.append(Problem(student, assignment, str(folder.relative_to(course)), "no notebook in this folder"))
    return submissions, problems
