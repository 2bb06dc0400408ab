"""The command line of the instructor's tools (``make autograde JOBS=n``, ``make feedback``)::

    python -m instructor_grading autograde [--jobs N] [--shard i/N] [--course DIR]
    python -m instructor_grading feedback [--course DIR]
    python -m instructor_grading similarity [--course DIR] [--assignment ID]

Exit status: 0 when everything was graded, 2 when some submission has a
named problem (listed under the table), 1 on a usage error.
"""
from __future__ import annotations

import argparse
import sys

from .feedback import generate_feedback
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
    sub.add_parser("similarity", help="pairs of students with nearly identical answers, ranked").add_argument(
        "--assignment", help="one assignment (default: every released one)")
    for command in sub.choices.values():
        command.add_argument("--course", default=".", help="course root (default: the current folder)")
    args = parser.parse_args(argv)
    try:
        if args.command == "autograde":
            table, problems = autograde(args.course, args.jobs, shard=args.shard)
            print()
            print(format_table(table, problems))
            return 2 if problems else 0
        if args.command == "similarity":
            print(similarity_report(args.course, args.assignment))
            return 0
        return 2 if generate_feedback(args.course) else 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
