"""The instructor guide, run command by command as a new instructor would, in a scratch copy of the course.

Every command of the guide's ```bash blocks is either run here, in the order the guide gives, from the top
of a copy of the repository, and its stated result checked (CHECKS); or listed in NOT_RUN with the test
that covers it instead. A command the guide gains without either fails this test, so the guide cannot
grow a step nobody ran. Where the guide shows what a command prints (a paragraph "prints" and a text
block), the output must hold that text, with the seconds of each graded notebook left out.

The class is the guide's own: the LMS archives of examples/lms/, collected with `make collect`.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
from datetime import timezone
from pathlib import Path

import pytest

from guide import course_copy, guide_commands

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "instructor_guide.md"

NOT_RUN = {
    "make test": "the suite this test is part of",
    "export MLE_GRADEBOOK_URL='postgresql+psycopg2://<user>:<password>@<host>:5432/<database>'":
        "needs the instructor's own database server; tests/test_gradebook_postgres.py grades into PostgreSQL",
    "make autograde JOBS=4": "the PostgreSQL example; tests/test_gradebook_postgres.py runs parallel workers on it",
    "make autograde SHARD=1/2 JOBS=2": "two machines; tests/test_gradebook_postgres.py grades both shards",
    "make autograde SHARD=2/2 JOBS=2": "two machines; tests/test_gradebook_postgres.py grades both shards",
    ".venv/bin/jupyter lab": "a server for a person; tests/test_formgrader.py starts it and walks the click path",
}


def seconds_dropped(text: str) -> str:
    return re.sub(r"\s+\d+(\.\d+)? s$", "", text, flags=re.M)


def run(course: Path, command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MLE_GRADEBOOK_URL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(["bash", "-c", command], cwd=course, env={**env, "MPLBACKEND": "Agg"},
                          capture_output=True, text=True, timeout=900)


def submissions(course: Path) -> set[tuple[str, str]]:
    return {(p.parent.parent.name, p.parent.name) for p in (course / "submitted").glob("*/*/*.ipynb")}


def graded_lines(stdout: str) -> set[tuple[str, str]]:
    return {(m[1], m[2]) for m in re.finditer(r"^\[\s*\d+/\d+\] (\S+)/(\S+)\s", stdout, flags=re.M)}


def gradebook_scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mle-pytorch") as gb:
        return {(s.student.id, a.name): s.score for a in gb.assignments for s in a.submissions}


# --------------------------------------------------------------------------- what each command must do

def released(course, result, state):
    """Every assignment released as committed, in the gradebook with its due date, and no warning printed."""
    assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr
    for folder in (course / "solutions").iterdir():
        if folder.is_dir():
            assert (course / "exercises" / folder.name / f"{folder.name}.ipynb").is_file(), folder.name
    changed = subprocess.run(["git", "diff", "--no-index", "--stat", str(ROOT / "exercises"), str(course / "exercises")],
                             capture_output=True, text=True).stdout
    assert not changed, f"make assignments changed the committed release:\n{changed}"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mle-pytorch") as gb:
        released = {p.name for p in (course / "solutions").iterdir() if p.is_dir()}
        assert {a.name for a in gb.assignments if a.duedate is not None} >= released


def collected(course, result, state):
    assignment = re.search(r"ASSIGNMENT=(\S+)", state["command"])[1]
    got = {s for s, a in submissions(course) if a == assignment}
    printed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and ".ipynb  " in line}
    assert got and got == printed, (got, printed)
    for student in got:
        assert (course / "submitted" / student / assignment / "timestamp.txt").is_file(), student


def autograded(course, result, state):
    """Every submission graded: in the gradebook, in autograded/, and on a progress line."""
    expected = submissions(course)
    assert graded_lines(result.stdout) == expected, result.stdout
    scores = gradebook_scores(course)
    assert expected <= set(scores)
    for student, assignment in expected:
        assert (course / "autograded" / student / assignment).is_dir()
    if "scores" in state:  # graded before: the same grades again
        assert {k: scores[k] for k in state["scores"]} == state["scores"]
    state["scores"] = {k: scores[k] for k in expected}


def regraded(course, result, state):
    """Only what STUDENT= and ASSIGNMENT= name is graded again; the grades stay what they were."""
    student = re.search(r"STUDENT=(\S+)", state["command"])
    assignment = re.search(r"ASSIGNMENT=(\S+)", state["command"])
    expected = {(s, a) for s, a in submissions(course)
                if (not student or s == student[1]) and (not assignment or a == assignment[1])}
    assert expected and graded_lines(result.stdout) == expected, result.stdout
    scores = gradebook_scores(course)
    assert {k: scores[k] for k in state["scores"]} == state["scores"]


def exported(course, result, state):
    """grades.csv holds every graded score, less the late penalty of the course's policy."""
    from instructor_grading.schedule import late_penalty, load_schedule
    from nbgrader.utils import parse_utc

    schedule = load_schedule(course)
    with open(course / "grades.csv", newline="") as file:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(file)}
    for (student, assignment), score in state["scores"].items():
        row = rows[(student, assignment)]
        stamp = (course / "submitted" / student / assignment / "timestamp.txt").read_text().strip()
        late = late_penalty(score, parse_utc(stamp).replace(tzinfo=timezone.utc), schedule.due[assignment], schedule)
        assert float(row["raw_score"]) == score and float(row["score"]) == pytest.approx(score - late.penalty), row


def rostered(course, result, state):
    """Every roster student is in the gradebook, with the roster's name and email."""
    from nbgrader.api import Gradebook

    roster = Path(course / re.search(r"FILE=(\S+)", state["command"])[1])
    with open(roster, newline="") as file:
        rows = list(csv.DictReader(file))
    assert f"imported {len(rows)} students from" in result.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "mle-pytorch") as gb:
        for row in rows:
            student = gb.find_student(row["id"])
            assert (student.first_name, student.last_name, student.email) == \
                (row["first_name"], row["last_name"], row["email"])
    state["roster"] = [row["id"] for row in rows]


def exported_for_the_lms(course, result, state):
    """grades.csv as above, every roster student in it, and grades_canvas.csv as the guide shows it."""
    exported(course, result, state)
    with open(course / "grades.csv", newline="") as file:
        students = {row["student_id"] for row in csv.DictReader(file)}
    assert set(state["roster"]) <= students
    shown = re.search(r"`grades_canvas.csv` reads\n\n```text\n(.*?)\n```", GUIDE.read_text(), flags=re.S)
    assert shown, "the guide no longer shows grades_canvas.csv"
    assert (course / "grades_canvas.csv").read_text().strip().splitlines() == shown[1].splitlines()
    moodle = (course / "grades_moodle.csv").read_text().splitlines()
    assert moodle[0].startswith("Email address,") and len(moodle) == 1 + len(state["roster"])


def fed_back(course, result, state):
    for student, assignment in submissions(course):
        page = course / "feedback" / student / assignment / f"{assignment}.html"
        assert page.is_file(), page
        assert "BEGIN HIDDEN TESTS" not in page.read_text(encoding="utf-8")


def reported(course, result, state):
    """reports/: the index and a page for every assignment in the gradebook (tests/test_report.py checks them)."""
    assert "wrote the report to" in result.stdout, result.stdout
    assert (course / "reports" / "index.html").is_file()
    for assignment in {a for _, a in state["scores"]}:
        assert (course / "reports" / f"{assignment}.html").is_file(), assignment


CHECKS = {
    "make assignments": released,
    "make autograde": autograded,
    "make autograde JOBS=2": autograded,
    "make grades": exported,
    "make feedback": fed_back,
    "make report": reported,
}


def check_for(command: str):
    if command.startswith("make collect "):
        return collected
    if command.startswith("make roster "):
        return rostered
    if command.startswith("make grades ROSTER="):
        return exported_for_the_lms
    if command.startswith("make autograde ") and ("STUDENT=" in command or "ASSIGNMENT=" in command):
        return regraded
    return CHECKS.get(command)


# --------------------------------------------------------------------------- the tests

def test_every_command_of_the_guide_is_run_here_or_says_why_not():
    commands = [c.text for c in guide_commands(GUIDE)]
    assert commands, "the guide shows no command"
    unknown = [c for c in commands if c not in NOT_RUN and check_for(c) is None]
    assert not unknown, f"commands of the guide this test neither runs nor explains: {unknown}"
    stale = [c for c in NOT_RUN if c not in commands]
    assert not stale, f"NOT_RUN names commands the guide no longer shows: {stale}"
    # the printed examples are read (a reader that lost them would check nothing): both collects, the autograde
    shown = [c.text.split()[1] for c in guide_commands(GUIDE) if c.prints is not None]
    assert shown.count("collect") == 2 and "autograde" in shown, shown


@pytest.mark.slow
def test_the_guide_runs_as_written(tmp_path):
    """From `make assignments` to the grades, in the guide's order, in a copy of the repository."""
    if "pip install" in subprocess.run(["make", "-n", "install"], cwd=ROOT, capture_output=True, text=True).stdout:
        pytest.fail(".venv is older than the requirements: run `make install` first", pytrace=False)
    course = course_copy(ROOT, tmp_path / "course")
    state: dict = {}
    previous = None
    for command in guide_commands(GUIDE):
        if command.text in NOT_RUN or command.text == previous:  # the same command again, nothing in between
            continue
        previous = command.text
        where = f"guide line {command.line}: `{command.text}`"
        result = run(course, command.text)
        assert result.returncode == 0, f"{where} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        if command.prints is not None:
            assert seconds_dropped(command.prints) in seconds_dropped(result.stdout), \
                f"{where} does not print what the guide shows:\n{result.stdout}"
        state["command"] = command.text
        check_for(command.text)(course, result, state)
