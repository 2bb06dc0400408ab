"""Re-grading after a fix, and what `make autograde` prints.

`make autograde STUDENT=... ASSIGNMENT=...` re-grades exactly what it names;
what an instructor entered (manual scores, extra credit, manual comments)
survives a re-grade on the SQLite gradebook, on the PostgreSQL gradebook and
with plain `nbgrader autograde --force`, while the scores of a broken check
are replaced by the fixed check's.

One class (SQLite) of demo_mean and ps1_closed_form: ada solved both, bob
handed in demo_mean untouched, eve a corrupt demo_mean. It is graded once by
the command line with 2 workers; then the instructor's edits go in through
nbgrader's Gradebook API (as formgrader enters them), and one grade of ada
and of bob is spoilt as a broken check would have given it; then ada is
re-graded, then demo_mean, then ada's demo_mean by nbgrader's own CLI. A
second course grades ada and bob into PostgreSQL and re-grades ada.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from instructor_grading import scratch, workers
from instructor_grading.feedback import generate_feedback
from instructor_grading.regions import solved_release
from test_gradebook_postgres import PASSWORD, env_for, postgres_course, submit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO, PS1 = scratch.DEMO_ASSIGNMENT, "ps1_closed_form"
COMMENT = "Good: x.mean() is the maximum likelihood estimate."
BROKEN = 1.0  # what a broken check gave test_mean_hidden (2 points: the right score is 0 or 2)
# "[ 2/3] ada/demo_mean      5/5    3.1 s": counter, student, assignment, score
PROGRESS = re.compile(r"^\[ *(\d+)/(\d+)\] (\S+)/(\S+) +(\S+/\S+) +\d+\.\d s$")


# --------------------------------------------------------------------------- helpers

def clean_env() -> dict:
    """The environment of a command run on an SQLite course (no MLE_GRADEBOOK_URL), the venv's tools first."""
    env = {k: v for k, v in os.environ.items() if k != "MLE_GRADEBOOK_URL"}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"}


def rows(db_url: str) -> dict:
    """Every row of every submission, by (student, assignment, notebook, cell, kind), through nbgrader's API."""
    found = {}
    with Gradebook(db_url, "scratch") as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                found[(sub.student.id, assignment.name, "-", "-", "submission")] = {"timestamp": sub.timestamp}
                for nb in sub.notebooks:
                    key = (sub.student.id, assignment.name, nb.name)
                    found[(*key, "-", "late")] = {"auto": nb.late_submission_penalty}
                    for g in nb.grades:
                        found[(*key, g.name, "grade")] = {"auto": g.auto_score, "manual": g.manual_score,
                                                          "extra": g.extra_credit, "needs": g.needs_manual_grade}
                    for c in nb.comments:
                        found[(*key, c.name, "comment")] = {"auto": c.auto_comment, "manual": c.manual_comment}
    return found


def enter_edits(db_url: str, student: str, *, written: bool = False) -> None:
    """What an instructor enters in formgrader (its GradeHandler sets needs_manual_grade the same way),
    and the score a broken check gave one hidden test."""
    with Gradebook(db_url, "scratch") as gb:
        override = gb.find_grade("test_mean_visible", DEMO, DEMO, student)
        override.manual_score, override.needs_manual_grade = 0.5, False
        gb.find_grade("test_variance", DEMO, DEMO, student).extra_credit = 1.0
        gb.find_comment("answer_mean", DEMO, DEMO, student).manual_comment = COMMENT
        gb.find_grade("test_mean_hidden", DEMO, DEMO, student).auto_score = BROKEN
        if written:  # a written answer, graded by hand only
            answer = gb.find_grade("why_log_reasons", PS1, PS1, student)
            answer.manual_score, answer.needs_manual_grade = 1.5, False
            gb.find_comment("why_log_reasons", PS1, PS1, student).manual_comment = "Two good reasons."
        gb.db.commit()


def after_regrade(before: dict, truth: dict, regraded: set) -> dict:
    """``before`` with the submissions in ``regraded`` graded again: their autograder fields as ``truth``
    (a correct grading) gives them, everything the instructor entered kept, and, by nbgrader's rule, every
    cell with a manual score marked as needing manual grading (a review of the new automatic score)."""
    expected = {}
    for key, row in before.items():
        row = dict(row)
        if key[:2] in regraded and key[-1] in ("grade", "comment", "late"):
            row["auto"] = truth[key]["auto"]
            if key[-1] == "grade":
                row["needs"] = row["manual"] is not None or row["auto"] is None
        expected[key] = row
    return expected


def mtimes(course: Path) -> dict:
    return {p.relative_to(course / "autograded"): p.stat().st_mtime_ns
            for p in (course / "autograded").rglob("*") if p.is_file()}


def rewritten(before: dict, after: dict) -> set:
    """The (student, assignment) folders of autograded/ whose files were written again."""
    assert set(before) == set(after)
    return {p.parts[:2] for p in after if after[p] != before[p]}


def progress(lines: list[str]) -> dict:
    """(student, assignment) -> score of each progress line; fails on any other line."""
    matches = [PROGRESS.match(line) for line in lines]
    assert all(matches), lines
    return {(m[3], m[4]): m[5] for m in matches}


def regrade(course: Path, db_url: str, truth: dict, run) -> dict:
    """Snapshot, ``run()`` (a re-grade), snapshot."""
    before, files = rows(db_url), mtimes(course)
    log = run()
    return {"before": before, "after": rows(db_url), "truth": truth, "rewritten": rewritten(files, mtimes(course)),
            "log": log}


# --------------------------------------------------------------------------- the SQLite class

@pytest.fixture(scope="module")
def sqlite_class(tmp_path_factory):
    course = scratch.scratch_course(tmp_path_factory.mktemp("regrade") / "course", [DEMO, PS1],
                                    solutions=ROOT / "solutions")
    submit(course, {"ada": True, "bob": False})
    release = nbformat.read(course / "release" / PS1 / f"{PS1}.ipynb", as_version=4)
    solved = solved_release(release, nbformat.read(course / "source" / PS1 / f"{PS1}.ipynb", as_version=4))
    (course / "submitted" / "ada" / PS1).mkdir()
    nbformat.write(solved, course / "submitted" / "ada" / PS1 / f"{PS1}.ipynb")
    (course / "submitted" / "eve" / DEMO).mkdir(parents=True)
    (course / "submitted" / "eve" / DEMO / f"{DEMO}.ipynb").write_text('{"cells": [', encoding="utf-8")
    first = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", "2",
                            "--course", str(course)], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                           timeout=600)
    db_url, _ = workers.gradebook_url(course)
    return {"course": course, "db_url": db_url, "first": first, "truth": rows(db_url)}


@pytest.fixture(scope="module")
def regraded_ada(sqlite_class):
    """The edits entered for ada and bob; then `make autograde STUDENT=ada`."""
    course, db_url = sqlite_class["course"], sqlite_class["db_url"]
    enter_edits(db_url, "ada", written=True)
    enter_edits(db_url, "bob")

    def run():
        log = []
        workers.autograde(course, 1, student="ada", log=log.append)
        return log
    return regrade(course, db_url, sqlite_class["truth"], run)


@pytest.fixture(scope="module")
def regraded_demo(sqlite_class, regraded_ada):
    """Then `make autograde ASSIGNMENT=demo_mean`."""
    course = sqlite_class["course"]

    def run():
        log = []
        table, problems = workers.autograde(course, 1, assignment=DEMO, log=log.append)
        return {"lines": log, "table": table, "problems": problems}
    return regrade(course, sqlite_class["db_url"], sqlite_class["truth"], run)


@pytest.fixture(scope="module")
def regraded_by_nbgrader(sqlite_class, regraded_demo):
    """Then ada's demo_mean spoilt again, and `nbgrader autograde demo_mean --student ada --force`."""
    course, db_url = sqlite_class["course"], sqlite_class["db_url"]
    with Gradebook(db_url, "scratch") as gb:
        gb.find_grade("test_mean_hidden", DEMO, DEMO, "ada").auto_score = BROKEN
        gb.db.commit()

    def run():
        return subprocess.run([str(BIN / "nbgrader"), "autograde", DEMO, "--student", "ada", "--force",
                               "--log-level=ERROR"], cwd=course, env=clean_env(), capture_output=True, text=True,
                              timeout=600)
    return regrade(course, db_url, sqlite_class["truth"], run)


# --------------------------------------------------------------------------- what make autograde prints

def test_autograde_prints_a_line_per_submission_then_the_table_and_nothing_on_stderr(sqlite_class):
    run = sqlite_class["first"]
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]  # 2: eve's file is a named problem
    assert run.stderr == ""  # no warning, no traceback, no log line of nbgrader's
    lines = run.stdout.splitlines()
    blank = lines.index("")
    assert [int(PROGRESS.match(line)[1]) for line in lines[:blank]] == [1, 2, 3], lines[:blank]
    graded = progress(lines[:blank])
    header, rule, *table = lines[blank + 1:lines.index("", blank + 1)]
    assert header.split() == ["student", DEMO, PS1] and set(rule) == {"-", " "}
    cells = {(row.split()[0], assignment): score
             for row in table for assignment, score in zip([DEMO, PS1], row.split()[1:])}
    assert graded == {key: score for key, score in cells.items() if score not in ("-", "ERR")}
    assert graded[("ada", DEMO)] == "5/5" and graded[("bob", DEMO)] == "0/5"
    assert cells[("eve", DEMO)] == "ERR"
    problems = lines[lines.index("Problems:") + 1:]
    assert len(problems) == 1 and "'eve'" in problems[0] and "not valid JSON" in problems[0], problems


# --------------------------------------------------------------------------- STUDENT and ASSIGNMENT

def test_a_student_regrade_grades_that_student_only(regraded_ada):
    assert set(progress(regraded_ada["log"])) == {("ada", DEMO), ("ada", PS1)}
    assert regraded_ada["rewritten"] == {("ada", DEMO), ("ada", PS1)}
    bob = {k: v for k, v in regraded_ada["after"].items() if k[0] == "bob"}
    assert bob == {k: v for k, v in regraded_ada["before"].items() if k[0] == "bob"}
    assert bob[("bob", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == BROKEN  # not re-graded


def test_an_assignment_regrade_grades_that_assignment_only(regraded_demo):
    run = regraded_demo["log"]
    assert set(progress(run["lines"])) == {("ada", DEMO), ("bob", DEMO)}
    assert regraded_demo["rewritten"] == {("ada", DEMO), ("bob", DEMO)}
    ps1 = {k: v for k, v in regraded_demo["after"].items() if k[1] == PS1}
    assert ps1 == {k: v for k, v in regraded_demo["before"].items() if k[1] == PS1}
    assert set(run["table"]) == {("ada", DEMO), ("bob", DEMO)}  # the table shows what was graded
    assert [(p.student, p.assignment) for p in run["problems"]] == [("eve", DEMO)]


# --------------------------------------------------------------------------- what survives a re-grade

def test_sqlite_regrade_keeps_the_instructors_edits_and_replaces_the_broken_score(regraded_ada, regraded_demo):
    stages = ((regraded_ada, {("ada", DEMO), ("ada", PS1)}), (regraded_demo, {("ada", DEMO), ("bob", DEMO)}))
    for stage, regraded in stages:
        assert stage["after"] == after_regrade(stage["before"], stage["truth"], regraded)
    ada = regraded_ada["after"]
    assert ada[("ada", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == 2.0  # the fixed check's score
    assert ada[("ada", DEMO, DEMO, "test_mean_visible", "grade")] == {"auto": 1.0, "manual": 0.5, "extra": None,
                                                                     "needs": True}
    assert ada[("ada", DEMO, DEMO, "test_variance", "grade")]["extra"] == 1.0
    assert ada[("ada", DEMO, DEMO, "answer_mean", "comment")]["manual"] == COMMENT
    assert ada[("ada", PS1, PS1, "why_log_reasons", "grade")]["manual"] == 1.5
    bob = regraded_demo["after"]
    assert bob[("bob", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == 0.0
    assert bob[("bob", DEMO, DEMO, "answer_mean", "comment")]["manual"] == COMMENT


def test_plain_nbgrader_autograde_keeps_them_too(regraded_by_nbgrader):
    run = regraded_by_nbgrader["log"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert regraded_by_nbgrader["rewritten"] == {("ada", DEMO)}
    assert regraded_by_nbgrader["after"] == after_regrade(regraded_by_nbgrader["before"],
                                                          regraded_by_nbgrader["truth"], {("ada", DEMO)})
    assert regraded_by_nbgrader["after"][("ada", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == 2.0


def test_feedback_of_one_submission_carries_the_comment(sqlite_class, regraded_by_nbgrader):
    course, lines = sqlite_class["course"], []
    assert generate_feedback(course, student="ada", assignment=DEMO, log=lines.append) == []
    assert lines == [f"feedback ada/{DEMO}"]
    assert sorted(p.relative_to(course / "feedback").parts[:2] for p in (course / "feedback").glob("*/*")) == \
        [("ada", DEMO)]
    assert COMMENT in (course / "feedback" / "ada" / DEMO / f"{DEMO}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def postgres_regrade(postgres, tmp_path_factory):
    """ada and bob of demo_mean graded into PostgreSQL by the command line; the edits entered; then ada re-graded."""
    url = postgres.ensure_database("gradebook_regrade", PASSWORD)
    course = postgres_course(tmp_path_factory.mktemp("regrade-pg") / "course", url)
    submit(course, {"ada": True, "bob": False})
    first = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", "2",
                            "--course", str(course)], cwd=ROOT, env=env_for(url), capture_output=True, text=True,
                           timeout=600)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLE_GRADEBOOK_URL", url)
        truth = rows(url)
        enter_edits(url, "ada")
        enter_edits(url, "bob")

        def run():
            log = []
            workers.autograde(course, 1, student="ada", log=log.append)
            return log
        return {**regrade(course, url, truth, run), "first": first}


def test_postgres_regrade_keeps_the_instructors_edits_and_other_students_rows(postgres_regrade):
    first = postgres_regrade["first"]
    assert first.returncode == 0 and first.stderr == "", first.stdout[-3000:] + first.stderr[-3000:]
    assert set(progress(first.stdout.split("\n\n")[0].splitlines())) == {("ada", DEMO), ("bob", DEMO)}
    assert set(progress(postgres_regrade["log"])) == {("ada", DEMO)}
    assert postgres_regrade["rewritten"] == {("ada", DEMO)}
    after = postgres_regrade["after"]
    assert after == after_regrade(postgres_regrade["before"], postgres_regrade["truth"], {("ada", DEMO)})
    assert after[("ada", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == 2.0
    assert after[("ada", DEMO, DEMO, "test_mean_visible", "grade")]["manual"] == 0.5
    assert after[("bob", DEMO, DEMO, "test_mean_hidden", "grade")]["auto"] == BROKEN  # bob was not re-graded


# --------------------------------------------------------------------------- bad values

@pytest.mark.parametrize("selection, message", [
    ({"student": "zoe"}, "student 'zoe' has nothing in submitted/ (no folder submitted/zoe/)"),
    ({"assignment": "ps9_missing"}, "assignment 'ps9_missing' is not in the gradebook"),
    ({"student": "bob", "assignment": PS1}, f"student 'bob' has nothing in submitted/ for assignment '{PS1}'"),
])
def test_a_selection_with_nothing_to_grade_is_refused_naming_it(sqlite_class, selection, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        workers.autograde(sqlite_class["course"], 1, **selection)


def test_an_assignment_nobody_handed_in_is_refused_naming_it(sqlite_class, tmp_path):
    course = tmp_path / "course"  # the gradebook knows ps1_closed_form; submitted/ holds bob's demo_mean only
    course.mkdir()
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copy2(sqlite_class["course"] / name, course / name)
    shutil.copytree(sqlite_class["course"] / "submitted" / "bob", course / "submitted" / "bob")
    with pytest.raises(ValueError, match=re.escape(f"assignment '{PS1}' has nothing in submitted/")):
        workers.autograde(course, 1, assignment=PS1)


@pytest.mark.parametrize("command, option, value, message", [
    ("autograde", "--student", "zoe", "error: student 'zoe' has nothing in submitted/"),
    ("feedback", "--assignment", "ps9_missing", "error: assignment 'ps9_missing': nothing in autograded/"),
])
def test_the_command_line_refuses_them_with_exit_1(sqlite_class, command, option, value, message):
    run = subprocess.run([sys.executable, "-m", "instructor_grading", command, option, value,
                          "--course", str(sqlite_class["course"])], cwd=ROOT, env=clean_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.startswith(message), run.stderr
