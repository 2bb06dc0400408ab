"""The command line of the instructor's tools (``make autograde``, ``make feedback``)::

    python -m instructor_grading autograde [--jobs N] [--shard i/N] [--student ID] [--assignment ID] [--course DIR]
    python -m instructor_grading feedback [--student ID] [--assignment ID] [--course DIR]
    python -m instructor_grading collect ASSIGNMENT --archive ZIP --lms canvas|moodle [--roster CSV] [--on-time] [--course DIR]
    python -m instructor_grading due-dates [--course DIR]
    python -m instructor_grading roster FILE [--course DIR]
    python -m instructor_grading similarity [--assignment ID] [--course DIR]
    python -m instructor_grading report [--course DIR]

``--student`` and ``--assignment`` narrow the work to one student, one
assignment or one submission (a re-grade after a check was fixed).

Exit status: 0 when everything was graded (collected), 2 when some submission has a
named problem (listed under the table), 1 on a usage error.
"""
from __future__ import annotations

import argparse
import functools
import sys

from .collect import collect, format_report
from .feedback import generate_feedback
from .report import report_command
from .roster import import_roster
from .schedule import store_due_dates
from .scores import format_table
from .similarity import similarity_report
from .workers import autograde


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m instructor_grading",
                                     description="Grade the course's submissions with nbgrader.")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("autograde", help="grade submitted/ into the gradebook and autograded/")
    grade.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    grade.add_argument("--shard", metavar="i/N", help="grade every N-th student only, starting at the i-th "
                       "(N machines, one PostgreSQL gradebook); the table then shows these students only")
    sub.add_parser("feedback", help="feedback/ HTML without hidden tests")
    lms = sub.add_parser("collect", help="an LMS's 'download all submissions' zip into submitted/ (nbgrader zip_collect)")
    lms.add_argument("assignment", nargs="?", default="")
    lms.add_argument("--archive", default="", help="the zip file downloaded from the LMS")
    lms.add_argument("--lms", default="", help="canvas or moodle")
    lms.add_argument("--roster", help="the roster CSV (default: LMSCollector.roster in nbgrader_config.py)")
    lms.add_argument("--on-time", action="store_true", help="every file was handed in by the due date")
    sub.add_parser("report", help="reports/: where the class struggled, one page per assignment")
    for name in ("autograde", "feedback"):
        source = "submitted/" if name == "autograde" else "autograded/"
        sub.choices[name].add_argument("--student", metavar="ID", help=f"this student only (a folder of {source})")
        sub.choices[name].add_argument("--assignment", metavar="ID", help="this assignment only")
    sub.add_parser("due-dates", help="the due dates of course_schedule.toml into the gradebook")
    sub.add_parser("roster", help="create or update the roster's students in the gradebook").add_argument("file")
    sub.add_parser("similarity", help="pairs of students with nearly identical answers, ranked").add_argument(
        "--assignment", metavar="ID", help="one assignment (default: every released one)")
    for command in sub.choices.values():
        command.add_argument("--course", default=".", help="course root (default: the current folder)")
    args = parser.parse_args(argv)
    log = functools.partial(print, flush=True)  # progress shows at once, also through a pipe or tee
    try:
        if args.command == "autograde":
            table, problems = autograde(args.course, args.jobs, shard=args.shard, student=args.student,
                                        assignment=args.assignment, log=log)
            print()
            print(format_table(table, problems))
            return 2 if problems else 0
        if args.command == "due-dates":
            store_due_dates(args.course)
            return 0
        if args.command == "roster":
            import_roster(args.course, args.file)
            return 0
        if args.command == "similarity":
            print(similarity_report(args.course, args.assignment))
            return 0
        if args.command == "collect":
            report = collect(args.course, args.assignment, args.archive, args.lms, args.roster, on_time=args.on_time)
            print(format_report(report))
            return 2 if report.problems() else 0
        if args.command == "report":
            return report_command(args.course)
        return 2 if generate_feedback(args.course, student=args.student, assignment=args.assignment, log=log) else 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
