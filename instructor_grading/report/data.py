"""The report's statistics as plain data: what the pages show, computed without any HTML.

Read once per report:

- the gradebook, through nbgrader's Gradebook API (SQLite or PostgreSQL: the
  course's ``CourseDirectory.db_url``): every graded cell's score of every
  submission;
- the grading records (:mod:`..record`, ``<notebook>.grading.json`` beside
  each autograded notebook): every check's verdict and message, timeouts,
  the kernel's state, forbidden references, sandbox refusals, grader errors,
  grading time;
- the class's grades (:func:`..grades.class_grades`): the roster, each total
  after the late penalty of ``course_schedule.toml``, the late submissions;
- the similar pairs (:func:`..similarity.similar_pairs`).

The preflight (:func:`..preflight.preflight`) is run again on ``submitted/``
to name the files that could not be graded; nothing new is stored anywhere.
The pure functions (:func:`discrimination`, :func:`cell_statistics`,
:func:`check_failures`, :func:`record_problems`) take plain numbers and
records, so that they can be checked by hand.
"""
from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..grades import class_grades
from ..preflight import Problem, expected_notebooks, preflight
from ..record import FORBIDDEN, GRADER_ERROR, KERNEL_DIED, SANDBOX, SUFFIX, TIMEOUT, Record
from ..schedule import load_schedule
from ..similarity import similar_pairs

__all__ = ["CellStats", "MessageCount", "CheckFailures", "StudentProblem", "Timing", "AssignmentReport",
           "ClassReport", "discrimination", "cell_statistics", "message_pattern", "check_failures",
           "record_problems", "class_report"]

# Reasons a student is listed under "Students with problems", in the order the page shows them.
PREFLIGHT, NOT_GRADED = "preflight error", "not graded"  # the others are the kinds of Record.problems()
REASONS = (PREFLIGHT, NOT_GRADED, GRADER_ERROR, TIMEOUT, KERNEL_DIED, FORBIDDEN, SANDBOX)
# How close to the maximum a score must be to count as full points (scores are floats).
EPSILON = 1e-9


# --------------------------------------------------------------------------- the data the pages show

@dataclass
class CellStats:
    """One graded cell across the class."""

    notebook: str
    grade_id: str
    max_score: float
    graded: int  # submissions with a score on this cell
    waiting: int  # submissions whose score on this cell waits for a grader
    mean: float | None
    full: float  # shares of the graded submissions, in [0, 1]
    partial: float
    none: float
    discrimination: float | None  # corrected item-total correlation
    undefined_because: str = ""  # why discrimination is None


@dataclass
class MessageCount:
    """One failure message of a check (its numbers masked) and the students who got it."""

    message: str
    example: str  # one student's message as it was written
    students: list[str]


@dataclass
class CheckFailures:
    notebook: str
    grade_id: str
    task: str | None
    checked: int  # submissions whose record has a verdict on this check
    messages: list[MessageCount]  # most common first

    @property
    def failed(self) -> int:
        return sum(len(m.students) for m in self.messages)


@dataclass
class StudentProblem:
    student: str
    file: str  # the notebook (or path) concerned
    reason: str  # one of REASONS
    detail: str


@dataclass
class Timing:
    student: str
    notebook: str
    seconds: float


@dataclass
class AssignmentReport:
    name: str
    max_score: float
    roster: int  # students of the roster and the gradebook
    totals: dict[str, float]  # student -> total score after the late penalty, for every graded submission
    cells: list[CellStats]
    failures: list[CheckFailures]
    problems: list[StudentProblem]
    timings: list[Timing]  # slowest first
    late: list  # grades.Grade of every late submission, the latest first
    late_policy: str  # the due date and the policy, in words
    similar: list  # similarity.Pair of every pair of students whose answers are nearly the same, most similar first
    similar_error: str = ""  # why the similarity check could not run, if it could not

    @property
    def submitted(self) -> int:
        return len(self.totals)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.totals.values()) if self.totals else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.totals.values()) if self.totals else None

    @property
    def students_with_problems(self) -> list[str]:
        return sorted({p.student for p in self.problems})


@dataclass
class ClassReport:
    course: Path
    assignments: list[AssignmentReport]
    stray: list[StudentProblem] = field(default_factory=list)  # files in submitted/ outside any known assignment


# --------------------------------------------------------------------------- pure statistics

def discrimination(item, rest) -> tuple[float | None, str]:
    """The correlation of one cell's scores with the rest of the assignment's (same students, same order).

    Returns ``(r, "")``, or ``(None, why)`` when it is undefined: fewer than
    three students, or a column with the same value for everyone.
    """
    item, rest = np.asarray(item, dtype=float), np.asarray(rest, dtype=float)
    if item.shape != rest.shape:
        raise ValueError(f"item and rest must have the same length; got {item.shape} and {rest.shape}")
    if len(item) < 3:
        return None, f"{len(item)} graded submission{'s' if len(item) != 1 else ''}; it needs at least 3"
    if np.ptp(item) <= EPSILON:
        return None, f"every student has the same score on this cell ({item[0]:g})"
    if np.ptp(rest) <= EPSILON:
        return None, f"every student has the same score on the rest of the assignment ({rest[0]:g})"
    return float(np.corrcoef(item, rest)[0, 1]), ""


def cell_statistics(cells: list[tuple[str, str, float]], scores: dict[str, dict]) -> list[CellStats]:
    """Statistics of every graded cell.

    ``cells``: ``(notebook, grade_id, max_score)`` in page order; ``scores``:
    student -> ``{(notebook, grade_id): score}``, a score None while it waits
    for a grader. The rest of the assignment is the student's total minus the
    cell (cells waiting for a grader count 0, as in nbgrader's total).
    """
    totals = {student: sum(s or 0.0 for s in by_cell.values()) for student, by_cell in scores.items()}
    stats = []
    for notebook, grade_id, max_score in cells:
        key = (notebook, grade_id)
        graded = [(scores[s][key], totals[s] - scores[s][key]) for s in sorted(scores)
                  if scores[s].get(key) is not None]
        waiting = sum(1 for s in scores if key in scores[s] and scores[s][key] is None)
        item = [score for score, _ in graded]
        n = len(item)
        full = sum(1 for x in item if x >= max_score - EPSILON)
        none = sum(1 for x in item if x <= EPSILON and max_score > 0)
        if n:
            r, why = discrimination(item, [rest for _, rest in graded])
        else:
            r, why = None, "no submission has a score on this cell yet"
        stats.append(CellStats(notebook, grade_id, max_score, graded=n, waiting=waiting,
                               mean=statistics.fmean(item) if n else None,
                               full=full / n if n else 0.0, partial=(n - full - none) / n if n else 0.0,
                               none=none / n if n else 0.0, discrimination=r, undefined_because=why))
    return stats


# A number on its own (not part of a name such as ps6_poisson or x2): an int, a decimal or 1e-06.
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w])")


# Masked numbers in a row ("…, …, …") and a bracketed vector ("[ … ]"), however long and however spaced.
_ROW, _VECTOR = re.compile(r"…(?:\s*,\s*…)+"), re.compile(r"\[\s*…\s*\]")


def message_pattern(message: str) -> str:
    """A check's message with its numbers masked as "…", so that one mistake on each student's own data
    (``sample_mean of 137 points is 4.1; expected 3.2``, ``se is [ 0.1, 0.2 ]``) counts as one message."""
    masked = _NUMBER.sub("…", " ".join(message.split()))
    return _VECTOR.sub("[…]", _ROW.sub("…", masked))


def check_failures(records: list[Record], order: list[tuple[str, str]]) -> list[CheckFailures]:
    """Every check's failure messages, most common first, in ``order`` (``(notebook, grade_id)``)."""
    by_check: dict = defaultdict(lambda: {"task": None, "checked": 0, "messages": defaultdict(list)})
    for record in records:
        for grade_id, verdict in record.checks.items():
            entry = by_check[(record.notebook, grade_id)]
            entry["task"] = entry["task"] or verdict.get("task")
            entry["checked"] += 1
            if not verdict.get("passed"):
                message = verdict.get("message") or "failed (no message)"
                entry["messages"][message_pattern(message)].append((record.student, message))
    known = [key for key in order if key in by_check]
    result = []
    for notebook, grade_id in known + sorted(set(by_check) - set(known)):
        entry = by_check[(notebook, grade_id)]
        messages = [MessageCount(pattern, min(got)[1], sorted(student for student, _ in got))
                    for pattern, got in entry["messages"].items()]
        messages.sort(key=lambda m: (-len(m.students), m.message))
        result.append(CheckFailures(notebook, grade_id, entry["task"], entry["checked"], messages))
    return result


def record_problems(record: Record) -> list[StudentProblem]:
    """What went wrong around the checks of one graded notebook, as the page lists it."""
    return [StudentProblem(record.student, f"{record.notebook}.ipynb", reason, detail)
            for reason, detail in record.problems()]


# --------------------------------------------------------------------------- reading the course

def _read_gradebook(db_url: str, course_id: str) -> dict[str, tuple[list, dict]]:
    """``{assignment: (cells, scores)}`` of every assignment in the gradebook.

    ``cells``: ``(notebook, grade_id, max_score)`` of every graded cell;
    ``scores``: student -> ``{(notebook, grade_id): score}`` for every
    submission, a score None while it waits for a grader. One query per
    assignment for the scores, whatever the size of the class.
    """
    from nbgrader.api import (BaseCell, Grade, Gradebook, Notebook, Student, SubmittedAssignment,
                              SubmittedNotebook)

    assignments = {}
    with Gradebook(db_url, course_id) as gb:
        for assignment in gb.assignments:
            cells = sorted((nb.name, cell.name, float(cell.max_score or 0.0))
                           for nb in assignment.notebooks for cell in nb.grade_cells + nb.task_cells)
            rows = (gb.db.query(Student.id, Notebook.name, BaseCell.name, Grade.auto_score, Grade.manual_score,
                                Grade.extra_credit)
                    .select_from(Grade)
                    .join(BaseCell, Grade.cell_id == BaseCell.id)
                    .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                    .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                    .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                    .join(Student, SubmittedAssignment.student_id == Student.id)
                    .filter(SubmittedAssignment.assignment_id == assignment.id))
            scores: dict[str, dict] = {s.student.id: {} for s in assignment.submissions}
            for student, notebook, grade_id, auto, manual, extra in rows:
                # nbgrader's Grade.score: the manual score wins over the automatic one; plus extra credit
                base = manual if manual is not None else auto
                scores[student][(notebook, grade_id)] = None if base is None else base + (extra or 0.0)
            assignments[assignment.name] = (cells, scores)
    return assignments


def _cell_order(course: Path, assignment: str, cells: list) -> list:
    """``cells`` in the order of the assignment's source notebooks (the gradebook keeps no order)."""
    import nbformat

    from ..config import course_config

    source = course / course_config(course).CourseDirectory.get("source_directory", "source") / assignment
    position = {}
    for notebook in sorted({nb for nb, _, _ in cells}):
        try:
            nb = nbformat.read(source / f"{notebook}.ipynb", as_version=4)
        except (OSError, ValueError):
            continue  # no source here: the gradebook's (alphabetical) order
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id:
                position[(notebook, grade_id)] = index
    return sorted(cells, key=lambda c: (c[0], position.get((c[0], c[1]), len(position)), c[1]))


def _records(course: Path, assignment: str) -> list[Record]:
    """Every grading record of ``assignment`` in the course's autograded folders."""
    import glob

    from nbgrader.coursedir import CourseDirectory

    from ..config import course_config

    directory = CourseDirectory(config=course_config(course))
    autograded = Path(directory.root) / directory.autograded_directory
    records = []
    for path in sorted(autograded.glob(f"*/{glob.escape(assignment)}/*{SUFFIX}")):
        try:
            records.append(Record.read(path))
        except (OSError, ValueError, TypeError):
            continue  # unreadable: the submission is listed as not graded
    return records


def _listed(problem: Problem) -> StudentProblem:
    """A preflight problem as the page lists it: the file relative to the submission's folder when inside one."""
    prefix = f"submitted/{problem.student}/{problem.assignment}/"
    file = problem.path[len(prefix):] if problem.path.startswith(prefix) else problem.path
    detail = problem.message + (" (graded)" if problem.graded else " (not graded)")
    return StudentProblem(problem.student, file, PREFLIGHT, detail)


# --------------------------------------------------------------------------- late work and similar pairs

def _late_policy(schedule, assignment: str) -> str:
    """The due date and the late policy of ``assignment``, in words."""
    due = schedule.due.get(assignment)
    if due is None:
        return "This assignment has no due date in course_schedule.toml: nothing is late."
    policy = f"Due {due:%Y-%m-%d %H:%M} UTC. Late work loses {schedule.percent_per_day:g} % of its whole score per day"
    policy += " or part of a day"
    if schedule.zero_after_days is not None:
        policy += f", and all of it when more than {schedule.zero_after_days} days late"
    return policy + " (course_schedule.toml)."


def _similar(course: Path, assignment: str) -> tuple[list, str]:
    """``(pairs, "")`` from :func:`..similarity.similar_pairs` (contract 4), or ``([], why it could not run)``."""
    try:
        return similar_pairs(course, assignment), ""
    except ValueError as error:  # e.g. no release folder to tell a student's answer from the stub
        return [], str(error)


# --------------------------------------------------------------------------- the whole class

def class_report(course: Path | str) -> ClassReport:
    """Everything the report shows, for every assignment in the gradebook."""
    from sqlalchemy import exc as sa_exc

    from ..workers import _shown, _sqlite_file, gradebook_url

    course = Path(course).resolve()
    db_url, course_id = gradebook_url(course)
    sqlite = _sqlite_file(course, db_url)
    if sqlite is not None and not sqlite.is_file():  # nbgrader would make an empty one
        raise ValueError(f"course {str(course)!r} has no gradebook {str(sqlite)!r}; run `make assignments` first")
    try:
        gradebook = _read_gradebook(db_url, course_id)
    except sa_exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ValueError(f"cannot open the gradebook {_shown(db_url)}: {reason}") from None
    submissions, problems = preflight(course, expected_notebooks(db_url, course_id=course_id))
    grades = class_grades(course)  # every student of the roster and the gradebook, the late penalty applied
    schedule = load_schedule(course)
    roster = {g.student for g in grades}

    reports = []
    for name, (cells, scores) in gradebook.items():
        cells = _cell_order(course, name, cells)
        records = _records(course, name)
        found = [_listed(p) for p in problems if p.assignment == name]
        for record in records:
            found += record_problems(record)
        recorded = {(r.student, r.notebook) for r in records}
        for submission in (s for s in submissions if s.assignment == name):
            for notebook in sorted(submission.notebooks):
                if (submission.student, notebook) not in recorded:
                    found.append(StudentProblem(submission.student, f"{notebook}.ipynb", NOT_GRADED,
                                                "no grading record: nbgrader failed on it (see make autograde's output)"))
                elif submission.student not in scores:
                    found.append(StudentProblem(submission.student, f"{notebook}.ipynb", NOT_GRADED,
                                                "graded, but the gradebook holds no submission for it"))
        found.sort(key=lambda p: (p.student, REASONS.index(p.reason), p.file))
        timings = sorted((Timing(r.student, r.notebook, r.seconds) for r in records),
                         key=lambda t: (-t.seconds, t.student))
        submitted = [g for g in grades if g.assignment == name and g.submitted]
        late = sorted((g for g in submitted if g.days_late > 0), key=lambda g: (-g.days_late, g.student))
        pairs, why = _similar(course, name)
        reports.append(AssignmentReport(
            name=name, max_score=sum(c[2] for c in cells), roster=len(roster),
            totals={g.student: g.score for g in submitted}, cells=cell_statistics(cells, scores),
            failures=check_failures(records, [(nb, gid) for nb, gid, _ in cells]), problems=found, timings=timings,
            late=late, late_policy=_late_policy(schedule, name), similar=pairs, similar_error=why))
    stray = sorted((_listed(p) for p in problems if p.assignment not in gradebook), key=lambda p: (p.student, p.file))
    return ClassReport(course, reports, stray)
