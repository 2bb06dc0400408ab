"""Due dates and the late policy: ``course_schedule.toml`` in the course root.

The file (see the one in the repository) holds a ``[late_policy]`` table,
``percent_per_day`` (of the whole score: autograded + manual + extra credit,
per day or part of a day late) and ``zero_after_days`` (more days late than
this: the score is 0), and a ``[due]`` table of TOML datetimes with an offset,
one per assignment. A course without the file has no late policy: nothing is
penalised.

- :func:`late_penalty` is the one rule; the exports, the report and the
  feedback all apply it to the *current* whole score (:mod:`.grades`);
- :class:`CourseLatePenalty` is nbgrader's late-submission plugin with the
  same rule (``nbgrader_config.py``), so that ``nbgrader autograde``,
  formgrader and ``make autograde`` store the same penalty. nbgrader asks it at
  autograde time, on the autograded score only, before any manual grade
  (nbgrader issues #723, #1561): which is why the exports recompute it;
- :func:`store_due_dates` writes the due dates into the gradebook as
  nbgrader's assignment due dates (``make assignments``), where nbgrader's
  route reads them.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin

__all__ = ["SCHEDULE_FILE", "Schedule", "Late", "load_schedule", "late_penalty", "late_by", "penalty_percent",
           "store_due_dates", "CourseLatePenalty"]

SCHEDULE_FILE = "course_schedule.toml"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    due: dict[str, datetime] = field(default_factory=dict)  # assignment -> due date, aware, in UTC
    percent_per_day: float = 0.0
    zero_after_days: int | None = None  # None: no cut-off (only a course without course_schedule.toml)


@dataclass(frozen=True)
class Late:
    days: int  # days late, a part of a day counting as a day; 0 when on time
    penalty: float  # points taken off the whole score


def _number(path: Path, key: str, value, *, integer: bool):
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0 or not math.isfinite(value):
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{path}: [late_policy] {key} must be {kind} >= 0; got {value!r}")
    return value


def load_schedule(course: Path | str) -> Schedule:
    """The due dates and the late policy of ``course/course_schedule.toml`` (no file: no policy).

    Raises:
        ValueError: naming the key and the value, for a file that is not TOML, a
            missing or unknown key, a negative or non-numeric policy value, or a
            due date that is not a datetime with an offset.
    """
    path = Path(course) / SCHEDULE_FILE
    if not path.is_file():
        return Schedule()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"late_policy", "due"})
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {unknown}; expected [late_policy] and [due]")
    policy, due = data.get("late_policy", {}), data.get("due", {})
    if not isinstance(policy, dict) or not isinstance(due, dict):
        raise ValueError(f"{path}: late_policy and due must be tables ([late_policy], [due])")
    unknown = sorted(set(policy) - {"percent_per_day", "zero_after_days"})
    if unknown:  # a misspelt key, named before it is missed
        raise ValueError(f"{path}: unknown key(s) {unknown} in [late_policy]; expected percent_per_day, zero_after_days")
    for key in ("percent_per_day", "zero_after_days"):
        if key not in policy:
            raise ValueError(f"{path}: [late_policy] needs {key}")
    percent = _number(path, "percent_per_day", policy["percent_per_day"], integer=False)
    if percent > 100:
        raise ValueError(f"{path}: [late_policy] percent_per_day must be at most 100; got {percent!r}")
    zero_after = _number(path, "zero_after_days", policy["zero_after_days"], integer=True)
    dates = {}
    for assignment, value in due.items():
        # tomllib reads 2027-01-15T17:00:00 (no offset) as a naive datetime and 2027-01-15 as a date
        if not isinstance(value, datetime) or value.tzinfo is None:
            shown = value.isoformat() if isinstance(value, (date, datetime)) else repr(value)
            raise ValueError(f"{path}: [due] {assignment} must be a date and time with an offset, like "
                             f"2027-01-15T17:00:00Z or 2027-01-15T18:00:00+01:00; got {shown}")
        dates[assignment] = value.astimezone(timezone.utc)
    return Schedule(due=dates, percent_per_day=float(percent), zero_after_days=zero_after)


def penalty_percent(days: int, schedule: Schedule) -> float:
    """The percent of the whole score taken off a submission ``days`` days late."""
    if days <= 0:
        return 0.0
    if schedule.zero_after_days is not None and days > schedule.zero_after_days:
        return 100.0
    return min(100.0, schedule.percent_per_day * days)


def late_by(score: float, lateness: timedelta, schedule: Schedule) -> Late:
    """:func:`late_penalty` for a submission ``lateness`` after its due date (<= 0: on time)."""
    days = -(-lateness // DAY) if lateness > timedelta(0) else 0  # ceil: a part of a day counts as a day
    # a score of 0 or less loses nothing (a negative penalty would raise it)
    return Late(days=days, penalty=max(score, 0.0) * penalty_percent(days, schedule) / 100)


def late_penalty(score: float, submitted_at: datetime | None, due: datetime | None, schedule: Schedule) -> Late:
    """Days late and the points taken off ``score`` (the whole score) for a submission at ``submitted_at``.

    On time (at or before ``due``), not submitted or no due date: ``Late(0, 0.0)``.

    Raises:
        ValueError: if ``submitted_at`` or ``due`` is a naive datetime.
    """
    for name, value in (("submitted_at", submitted_at), ("due", due)):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{name} must be a timezone-aware datetime; got {value.isoformat()}")
    if submitted_at is None or due is None:
        return Late(days=0, penalty=0.0)
    return late_by(score, submitted_at - due, schedule)


def store_due_dates(course: Path | str, *, log=print) -> dict[str, datetime]:
    """Write each due date of the schedule into the gradebook as nbgrader's assignment due date.

    Only assignments that the gradebook has (``generate_assignment`` made
    them) are written; the others are named in the log. Returns the dates
    written. nbgrader keeps due dates as naive UTC.
    """
    from nbgrader.api import Gradebook

    from .workers import gradebook_url

    course = Path(course).resolve()
    schedule = load_schedule(course)
    db_url, course_id = gradebook_url(course)
    written = {}
    with Gradebook(db_url, course_id) as gradebook:
        known = {a.name for a in gradebook.assignments}
        for assignment, due in sorted(schedule.due.items()):
            if assignment in known:
                gradebook.update_or_create_assignment(assignment, duedate=due.replace(tzinfo=None))
                written[assignment] = due
                log(f"due {assignment}: {due:%Y-%m-%d %H:%M} UTC")
        skipped = sorted(set(schedule.due) - known)
        if skipped:
            log(f"not in the gradebook (no generate_assignment yet), due date not stored: {', '.join(skipped)}")
        missing = sorted(known - set(schedule.due))
        if missing:
            log(f"no due date in {SCHEDULE_FILE}: {', '.join(missing)}")
    return written


class CourseLatePenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin with the course's policy (``course_schedule.toml``).

    nbgrader's ``AssignLatePenalties`` asks it for each notebook of a late
    submission, with that notebook's autograded score. The schedule is read
    from the course root nbgrader runs in (``CourseDirectory.root``).
    """

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        from nbgrader.coursedir import CourseDirectory

        schedule = load_schedule(CourseDirectory(config=self.config).root)
        return late_by(score, timedelta(seconds=total_seconds_late), schedule).penalty
