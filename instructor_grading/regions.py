"""The solution and hidden-test regions of nbgrader notebooks, with nbgrader's own delimiters.

One place that knows how ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS``
regions look: the feedback sanitiser, the tests and the benchmarks all read
them from here, and the delimiters are the traits of nbgrader's
``ClearSolutions`` and ``ClearHiddenTests`` (so a course that configures
other delimiters is read correctly).
"""
from __future__ import annotations

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearSolutions

__all__ = ["SOLUTION", "HIDDEN_TESTS", "MARK_SCHEME", "region_lines", "without_markers", "solution_answers", "solved_release"]

# (begin, end) delimiters, as nbgrader reads them by default.
SOLUTION = (ClearSolutions.begin_solution_delimeter.default_value, ClearSolutions.end_solution_delimeter.default_value)
HIDDEN_TESTS = (ClearHiddenTests.begin_test_delimeter.default_value, ClearHiddenTests.end_test_delimeter.default_value)
MARK_SCHEME = (ClearMarkScheme.begin_mark_scheme_delimeter.default_value,
               ClearMarkScheme.end_mark_scheme_delimeter.default_value)


def region_lines(source: str, delimiters: tuple[str, str] = HIDDEN_TESTS, *, markers: bool = False) -> list[str]:
    """The lines inside every ``delimiters`` region of ``source``; the marker lines too if ``markers``."""
    begin, end = delimiters
    lines, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
            if markers:
                lines.append(line)
        elif end in line:
            inside = False
            if markers:
                lines.append(line)
        elif inside:
            lines.append(line)
    return lines


def without_markers(source: str, delimiters: tuple[str, str] = SOLUTION) -> str:
    """``source`` without its marker lines: what a student who wrote the solution would have."""
    return "\n".join(line for line in source.split("\n") if not any(d in line for d in delimiters))


def solution_answers(source) -> dict[str, str]:
    """The solution of every answer cell (code and written) of a source notebook, by grade_id, without markers."""
    return {cell.metadata.nbgrader["grade_id"]: without_markers(cell.source)
            for cell in source.cells if utils.is_solution(cell)}


def solved_release(release, source):
    """A perfect submission: a copy of ``release`` with every answer cell taken from ``source``.

    Used to check that the solutions earn every autograded point, to rehearse
    grading and to benchmark it.
    """
    answers = solution_answers(source)
    solved = nbformat.reads(nbformat.writes(release), as_version=4)
    for cell in solved.cells:
        if utils.is_solution(cell) and cell.metadata.nbgrader.get("grade_id") in answers:
            cell.source = answers[cell.metadata.nbgrader["grade_id"]]
    return solved
