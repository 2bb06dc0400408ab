"""The class's grades: the one place that combines the gradebook, the roster and the schedule.

Every student of the roster and of the gradebook gets one :class:`Grade` per
assignment of the gradebook; a student who never submitted scores 0. The late
penalty is recomputed from the *current* whole score (autograded + manual +
extra credit) with :func:`~instructor_grading.schedule.late_penalty`, never
taken from nbgrader's stored one, which nbgrader computed from the autograded
score alone at autograde time. The exports (:mod:`.exports`), the report and
the feedback (:func:`lateness`) all read the grades from here.

The due date of a submission is the schedule's (``course_schedule.toml``),
else the gradebook's (set in formgrader, say), plus the extension nbgrader
holds for that student, if any.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .roster import Student, read_roster
from .schedule import Late, Schedule, late_penalty, load_schedule

__all__ = ["Grade", "class_grades", "gradebook_grades", "lateness", "default_roster"]

ROSTER_FILE = "roster.csv"


@dataclass(frozen=True)
class Grade:
    student: str
    first_name: str
    last_name: str
    email: str
    assignment: str
    submitted: bool
    submitted_at: datetime | None  # aware, UTC
    due: datetime | None  # aware, UTC, with the student's extension
    raw_score: float  # autograded + manual + extra credit; 0 when not submitted
    max_score: float
    days_late: int
    penalty: float
    score: float  # raw_score - penalty
    # From the roster (empty for a gradebook student who is not in it): the LMS's ids.
    in_roster: bool = False
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def _utc(value: datetime | None) -> datetime | None:
    """A gradebook datetime (nbgrader keeps naive UTC) as an aware one."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


def _due(assignment, schedule: Schedule) -> datetime | None:
    """The due date of a gradebook ``Assignment``: the schedule's, else the gradebook's."""
    return schedule.due.get(assignment.name) or _utc(assignment.duedate)


def lateness(submission, score: float, schedule: Schedule) -> tuple[datetime | None, datetime | None, Late]:
    """``(due, submitted_at, Late)`` of a gradebook submission (``SubmittedAssignment``) whose whole score is ``score``."""
    due = _due(submission.assignment, schedule)
    if due is not None and submission.extension is not None:
        due = due + submission.extension
    submitted_at = _utc(submission.timestamp)
    return due, submitted_at, late_penalty(score, submitted_at, due, schedule)


def gradebook_grades(gradebook, schedule: Schedule, roster: list[Student]) -> list[Grade]:
    """Every student (the roster's in its order, then the gradebook's others by id) x every assignment."""
    from nbgrader.api import MissingEntry

    in_gradebook = {student.id: student for student in gradebook.students}
    listed = {student.id for student in roster}
    people = list(roster) + [Student(id=s.id, first_name=s.first_name or "", last_name=s.last_name or "",
                                     email=s.email or "", lms_user_id=s.lms_user_id or "")
                             for s in sorted(in_gradebook.values(), key=lambda s: s.id) if s.id not in listed]
    grades = []
    for assignment in gradebook.assignments:
        for person in people:
            submission = None
            if person.id in in_gradebook:
                try:
                    submission = gradebook.find_submission(assignment.name, person.id)
                except MissingEntry:
                    pass
            raw, due, submitted_at, late = 0.0, _due(assignment, schedule), None, Late(0, 0.0)
            if submission is not None:
                raw = float(submission.score)
                due, submitted_at, late = lateness(submission, raw, schedule)
            grades.append(Grade(
                student=person.id, first_name=person.first_name, last_name=person.last_name, email=person.email,
                assignment=assignment.name, submitted=submission is not None, submitted_at=submitted_at, due=due,
                raw_score=raw, max_score=float(assignment.max_score), days_late=late.days, penalty=late.penalty,
                score=raw - late.penalty, in_roster=person.id in listed, lms_user_id=person.lms_user_id,
                sis_user_id=person.sis_user_id, sis_login_id=person.sis_login_id, section=person.section))
    return grades


def default_roster(course: Path) -> Path | None:
    """``course/roster.csv`` if there is one (the course hub keeps its roster there)."""
    path = Path(course) / ROSTER_FILE
    return path if path.is_file() else None


def class_grades(course: Path | str, roster: Path | str | None = None) -> list[Grade]:
    """Every student (roster + gradebook) x every assignment of the course's gradebook.

    ``roster`` defaults to ``course/roster.csv`` when there is one; without a
    roster, the gradebook's students only.

    Raises:
        ValueError: for a bad roster or ``course_schedule.toml`` (see
            :func:`~instructor_grading.roster.read_roster`, :func:`~instructor_grading.schedule.load_schedule`).
    """
    from nbgrader.api import Gradebook

    from .workers import gradebook_url

    course = Path(course).resolve()
    roster = roster if roster is not None else default_roster(course)
    students = read_roster(roster) if roster is not None else []
    schedule = load_schedule(course)
    db_url, course_id = gradebook_url(course)
    with Gradebook(db_url, course_id) as gradebook:
        return gradebook_grades(gradebook, schedule, students)
