"""The class roster: one CSV file that the gradebook, the exports and the course hub all read.

Header ``id,first_name,last_name,email``, optionally followed by
``lms_user_id`` (the LMS's numeric user id, Canvas's "ID"), ``sis_user_id``,
``sis_login_id`` and ``section`` (Canvas's SIS columns). Every id becomes a
system user on the course hub (``hub/deploy.py`` reads the roster with
:func:`read_roster`), so it must be a valid user name. ``make roster
FILE=...`` imports it into the gradebook (:func:`import_roster`).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REQUIRED", "OPTIONAL", "Student", "check_user_name", "read_roster", "import_roster"]

REQUIRED = ("id", "first_name", "last_name", "email")
OPTIONAL = ("lms_user_id", "sis_user_id", "sis_login_id", "section")
# Debian's useradd NAME_REGEX, and its 32-character limit.
USER_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def check_user_name(argument: str, name: str) -> None:
    """Raise ValueError unless ``name`` can be a system user (the hub makes one per student)."""
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise ValueError(f"{argument} must be a lower-case user name (a letter, then letters, digits, _ or -, "
                         f"at most 32 characters); got {name!r}")


def read_roster(path: Path | str) -> list[Student]:
    """The roster's students, in file order.

    Raises:
        ValueError: naming the file, the line and the value: no such file, a
            missing or unknown column, an empty, invalid or repeated id, a
            repeated email, an lms_user_id that is not a number.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"roster must be a CSV file with the columns {','.join(REQUIRED)}; got {str(path)!r}")
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: a spreadsheet's byte-order mark
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in REQUIRED if name not in header]
        unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
        repeated = sorted({name for name in header if header.count(name) > 1})
        wrong = {"missing": missing, "unknown": unknown, "repeated": repeated}
        if any(wrong.values()):
            raise ValueError(f"roster {path}: the header must have the columns {','.join(REQUIRED)} (and optionally "
                             f"{','.join(OPTIONAL)}, each once); "
                             + "; ".join(f"{kind} {names}" for kind, names in wrong.items() if names) + f"; got {header}")
        students, ids, emails = [], {}, {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"roster {path} line {line}: {len(row)} fields for {len(header)} columns: {row}")
            values = {name: cell.strip() for name, cell in zip(header, row)}
            student = Student(**values)
            if not student.id:
                raise ValueError(f"roster {path} line {line}: id is empty")
            check_user_name(f"roster {path} line {line}: id", student.id)
            if student.id in ids:
                raise ValueError(f"roster {path} line {line}: id {student.id!r} repeats line {ids[student.id]}")
            if student.email and student.email in emails:
                raise ValueError(f"roster {path} line {line}: email {student.email!r} repeats line "
                                 f"{emails[student.email]} (the LMS matches students by it)")
            if student.lms_user_id and not student.lms_user_id.isdigit():
                raise ValueError(f"roster {path} line {line}: lms_user_id must be the LMS's numeric user id; "
                                 f"got {student.lms_user_id!r}")
            ids[student.id], emails[student.email] = line, line
            students.append(student)
    return students


def import_roster(course: Path | str, path: Path | str, *, log=print) -> list[Student]:
    """Create or update every student of the roster in the course's gradebook; return them.

    The whole file is checked before anything is written. Students in the
    gradebook but not in the roster are kept (their grades too).
    """
    from nbgrader.api import Gradebook

    from .workers import gradebook_url

    students = read_roster(path)
    db_url, course_id = gradebook_url(Path(course).resolve())
    with Gradebook(db_url, course_id) as gradebook:
        for student in students:
            gradebook.update_or_create_student(
                student.id, first_name=student.first_name or None, last_name=student.last_name or None,
                email=student.email or None, lms_user_id=student.lms_user_id or None)
    log(f"imported {len(students)} students from {path}")
    return students
