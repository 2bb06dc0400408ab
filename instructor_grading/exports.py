"""Grade exports: ``make grades`` and ``nbgrader export`` write grades.csv, grades_canvas.csv and grades_moodle.csv.

``nbgrader_config.py`` names :class:`CourseGradesExport` as nbgrader's export
plugin, so ``nbgrader export --to grades.csv`` (which ``make grades`` runs)
writes, from :func:`~instructor_grading.grades.gradebook_grades` (the late
penalty recomputed on the current whole score):

- ``grades.csv``: nbgrader's own columns, one row per student and assignment;
- ``grades_canvas.csv``: Canvas's gradebook import layout, ``Student, ID,
  SIS User ID, SIS Login ID, Section``, then one column of points per
  assignment, and a ``Points Possible`` second row as in Canvas's own export
  (Canvas takes a new assignment column's points from it); Canvas matches a
  row by ``ID`` (the roster's ``lms_user_id``) or the SIS ids;
- ``grades_moodle.csv``: ``Email address`` (the identifier to map in Moodle's
  CSV import) and one column of points per assignment.

One row per student of the roster and of the gradebook: a student who never
submitted scores 0. A gradebook student missing from the roster is exported
with the gradebook's name, email and lms_user_id, and named in a warning.
"""
from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.plugins import ExportPlugin
from traitlets import Unicode

from .grades import Grade, default_roster, gradebook_grades
from .roster import read_roster
from .schedule import load_schedule

__all__ = ["NBGRADER_COLUMNS", "CANVAS_COLUMNS", "MOODLE_ID", "CourseGradesExport", "write_exports"]

# nbgrader's CsvExportPlugin's columns, in its order.
NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_ID = "Email address"


def points(value: float) -> str:
    """``3``, ``2.5``, ``1.35``: points to 4 decimals, without trailing zeros."""
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _gradebook_time(value) -> str:
    """An aware UTC datetime as nbgrader writes its naive UTC ones (``2027-01-15 17:00:00``)."""
    return str(value.replace(tzinfo=None)) if value is not None else ""


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_exports(grades: list[Grade], to: Path, *, roster: Path | None, log=print) -> list[Path]:
    """Write ``to`` (nbgrader's columns) and, beside it, ``<stem>_canvas.csv`` and ``<stem>_moodle.csv``.

    ``roster`` is the roster the grades were joined with (None: no roster),
    for the warnings about students the LMS cannot match.
    """
    to = Path(to)
    to.parent.mkdir(parents=True, exist_ok=True)
    assignments = list(dict.fromkeys(g.assignment for g in grades))
    students = list(dict.fromkeys(g.student for g in grades))
    by_key = {(g.student, g.assignment): g for g in grades}
    first = {g.student: g for g in reversed(grades)}  # each student's name and ids
    max_score = {g.assignment: g.max_score for g in grades}

    nbgrader_rows = [NBGRADER_COLUMNS] + [
        [g.assignment, _gradebook_time(g.due), _gradebook_time(g.submitted_at), g.student, g.last_name,
         g.first_name, g.email, points(g.raw_score), points(g.penalty), points(g.score), points(g.max_score)]
        for g in grades]
    canvas_rows = [CANVAS_COLUMNS + assignments, ["Points Possible", "", "", "", ""] +
                   [points(max_score[a]) for a in assignments]]
    moodle_rows = [[MOODLE_ID] + assignments]
    for student in students:
        person = first[student]
        name = ", ".join(part for part in (person.last_name, person.first_name) if part) or student
        scores = [points(by_key[student, a].score) for a in assignments]
        canvas_rows.append([name, person.lms_user_id, person.sis_user_id, person.sis_login_id, person.section] + scores)
        moodle_rows.append([person.email] + scores)
    written = [_write(to, nbgrader_rows), _write(to.with_name(f"{to.stem}_canvas.csv"), canvas_rows),
               _write(to.with_name(f"{to.stem}_moodle.csv"), moodle_rows)]

    if roster is None:
        log("no roster: the LMS files hold the gradebook's names, emails and lms_user_ids only "
            "(give one: make grades ROSTER=roster.csv)")
    else:
        outside = [s for s in students if not first[s].in_roster]
        if outside:
            log(f"{len(outside)} student(s) of the gradebook are not in the roster {roster}: {', '.join(outside)}; "
                "they are exported all the same, with the gradebook's name, email and lms_user_id (no SIS ids, "
                "no section): add them to the roster so that the LMS can match them")
    listed = [s for s in students if first[s].in_roster]  # (the others are named above)
    no_canvas_id = [s for s in listed if not (first[s].lms_user_id or first[s].sis_user_id or first[s].sis_login_id)]
    if no_canvas_id:
        log(f"{written[1].name}: Canvas cannot match the rows of {len(no_canvas_id)} of the roster's {len(listed)} "
            f"students, which have no lms_user_id, sis_user_id or sis_login_id: {', '.join(no_canvas_id)}")
    no_email = [s for s in listed if not first[s].email]
    if no_email:
        log(f"{written[2].name}: Moodle cannot match the rows of {len(no_email)} students, which have no email in "
            f"the roster: {', '.join(no_email)}")
    return written


class CourseGradesExport(ExportPlugin):
    """nbgrader's export plugin of the course (``nbgrader export``, ``make grades``): see the module's docstring.

    ``--to`` names the nbgrader-layout file (default ``grades.csv``); the LMS
    files are written beside it. ``--assignment`` and ``--student`` select as
    in nbgrader's own CSV export.
    """

    roster = Unicode("", help="The class roster (CSV); default: roster.csv in the course root, if there is one."
                     ).tag(config=True)

    def export(self, gradebook) -> None:
        from nbgrader.coursedir import CourseDirectory

        course = Path((getattr(self.parent, "coursedir", None) or CourseDirectory(config=self.config)).root)
        roster = Path(self.roster) if self.roster else default_roster(course)
        try:
            grades = gradebook_grades(gradebook, load_schedule(course), read_roster(roster) if roster else [])
        except ValueError as error:
            self.log.error("%s", error)
            raise SystemExit(1) from None
        assignments, students = {str(a) for a in self.assignment}, {str(s) for s in self.student}
        grades = [g for g in grades if (not assignments or g.assignment in assignments)
                  and (not students or g.student in students)]
        written = write_exports(grades, Path(self.to or "grades.csv"), roster=roster, log=self.log.warning)
        self.log.info("wrote %s", ", ".join(str(path) for path in written))
