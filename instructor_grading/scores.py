"""The score table that ``make autograde`` prints: students as rows, assignments as columns."""
from __future__ import annotations

__all__ = ["scores", "format_table"]


def scores(db_url: str, *, course_id: str = "default_course") -> dict:
    """``{(student, assignment): (auto score, max score)}`` from the gradebook.

    ``course_id``: the course's id (nbgrader adds a course it does not find to the gradebook).
    """
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(db_url, course_id) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                table[(sub.student.id, assignment.name)] = (sub.score, sub.max_score)
    return table


def format_table(table: dict, problems: list) -> str:
    """``score/max`` per student and assignment; ``*`` where a problem was named, ERR where nothing was graded."""
    students = sorted({s for s, _ in table} | {p.student for p in problems})
    assignments = sorted({a for _, a in table} | {p.assignment for p in problems if p.assignment != "-"})
    rows = [["student"] + assignments]
    for student in students:
        row = [student]
        for assignment in assignments:
            flagged = any(p.student == student and p.assignment in (assignment, "-") for p in problems)
            if (student, assignment) in table:
                score, max_score = table[(student, assignment)]
                row.append(f"{score:g}/{max_score:g}" + ("*" if flagged else ""))
            else:
                row.append("ERR" if flagged else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if problems:
        lines += ["", "* or ERR: see the problems below", "", "Problems:"]
        lines += [f"  {p}" for p in problems]
    return "\n".join(lines)
