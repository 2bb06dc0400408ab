"""The shared graded class (tests/classroom.py) is what its plan says: the plan is checked without grading,
and the one autograde run of the session fixture ``classroom`` against the points each answer deserves."""
from __future__ import annotations

import csv
import tomllib
from collections import Counter
from datetime import datetime, timezone

import nbformat
import pytest

from classroom import ALL, ASSIGNMENTS, DUE, POOLS, STUB, answer_tests, expected_cells, plan_class, problem_of
from instructor_grading.record import Record
from instructor_grading.scores import scores
from instructor_grading.workers import gradebook_url

PROBLEM_ROLES = ("corrupt", "timeout", "kernel_death", "forbidden", "sandbox_refusal")


# --------------------------------------------------------------------------- the plan (no grading)

def test_every_pool_variant_is_used_by_three_students_or_more():
    used = Counter((answer, variant.name) for _, chosen in plan_class().values()
                   for answers in chosen.values() for answer, variant in answers.items())
    for assignment, pools in POOLS.items():
        for answer, pool in pools.items():
            assert len({v.name for v in pool}) == len(pool), answer
            if pool[0].earns == ALL:  # a code answer: two correct implementations besides the instructor's
                assert len([v for v in pool if v.body not in (None, STUB) and v.earns == ALL]) >= 2, answer
            for variant in pool:
                assert used[(answer, variant.name)] >= 3, (assignment, answer, variant.name)


def test_no_two_students_hand_in_the_same_combination():
    combos = [tuple(v.name for a in ASSIGNMENTS for v in chosen[a].values())
              for planned, chosen in plan_class().values() if planned.role != "nonsubmitter"]
    assert len(combos) >= 22
    assert len(set(combos)) == len(combos)


def test_the_late_cases_of_the_contract_are_there_and_most_are_on_time():
    lateness = [planned.submitted_at[a] - DUE[a] for planned, _ in plan_class().values()
                for a in ASSIGNMENTS if planned.submitted_at[a] is not None]
    hours = sorted(delta.total_seconds() / 3600 for delta in lateness if delta.total_seconds() >= 0)
    assert hours == [0, 1, 60, 144]
    assert len(lateness) - len(hours) > 0.8 * len(lateness)


# --------------------------------------------------------------------------- the graded class

def autograded_points(classroom) -> float:
    """Every autograded point of the assignments (the written answer is graded by hand)."""
    return sum(points for a in ASSIGNMENTS
               for tests in answer_tests(a, nbformat.read(classroom.course / "source" / a / f"{a}.ipynb", 4)).values()
               for points in tests.values())


def graded(classroom) -> dict:
    db_url, course_id = gradebook_url(classroom.course)
    return scores(db_url, course_id=course_id)


@pytest.mark.slow
def test_every_student_earns_what_their_answers_deserve(classroom):
    table = graded(classroom)
    got = {(s, a): table[(s, a)][0] if (s, a) in table else None for s in classroom.students for a in ASSIGNMENTS}
    expected = {(s, a): planned.expected[a] for s, planned in classroom.students.items() for a in ASSIGNMENTS}
    assert got == expected
    normal = [s for s, p in classroom.students.items() if all(p.expected[a] is not None for a in ASSIGNMENTS)]
    assert len(normal) >= 20
    totals = [sum(table[(s, a)][0] for a in ASSIGNMENTS) for s in normal]
    assert min(totals) == 0 and max(totals) == autograded_points(classroom) and len(set(totals)) >= 8


def cell_scores(classroom) -> dict:
    """{(student, assignment): {test grade_id: auto score}} from the gradebook."""
    from nbgrader.api import Gradebook

    db_url, course_id = gradebook_url(classroom.course)
    with Gradebook(db_url, course_id) as gb:
        return {(s.student.id, a.name): {g.name: g.auto_score for nb in s.notebooks for g in nb.grades
                                         if g.cell.cell_type == "code"}
                for a in gb.assignments for s in a.submissions}


@pytest.mark.slow
def test_every_test_cell_scores_what_the_answer_deserves(classroom):
    """Cell by cell (a total could hide two mistakes that cancel)."""
    got = cell_scores(classroom)
    for student, (planned, chosen) in plan_class().items():
        for a in ASSIGNMENTS:
            if classroom.students[student].expected[a] is None:
                assert (student, a) not in got
                continue
            source = nbformat.read(classroom.course / "source" / a / f"{a}.ipynb", 4)
            expected = expected_cells(chosen[a], problem_of(planned, a), answer_tests(a, source))
            assert got[(student, a)] == expected, (student, a, {k: v.name for k, v in chosen[a].items()})


@pytest.mark.slow
def test_the_copier_scores_what_the_original_scores(classroom):
    original, copier = classroom.copied_pair
    table = graded(classroom)
    assert [table[(copier, a)] for a in ASSIGNMENTS] == [table[(original, a)] for a in ASSIGNMENTS]
    for a in ASSIGNMENTS:
        mine = (classroom.course / "submitted" / copier / a / f"{a}.ipynb").read_text()
        theirs = (classroom.course / "submitted" / original / a / f"{a}.ipynb").read_text()
        assert mine != theirs


@pytest.mark.slow
def test_the_nonsubmitter_is_in_the_roster_only(classroom):
    student = classroom.nonsubmitter
    with classroom.roster.open(newline="") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(classroom.students)
    assert not (classroom.course / "submitted" / student).exists()
    assert not any(s == student for s, _ in graded(classroom))
    assert all(classroom.students[student].submitted_at[a] is None for a in ASSIGNMENTS)


@pytest.mark.slow
def test_roster_schedule_and_timestamps_follow_the_contracts(classroom):
    with classroom.roster.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == ["id", "first_name", "last_name", "email", "lms_user_id", "sis_user_id",
                                 "sis_login_id", "section"]
    assert 1 <= sum(not row["lms_user_id"] for row in rows) <= 2 and all(row["email"] for row in rows)
    schedule = tomllib.loads((classroom.course / "course_schedule.toml").read_text())
    assert schedule["late_policy"] == {"percent_per_day": 10, "zero_after_days": 5}
    assert schedule["due"] == classroom.due == DUE
    for student, planned in classroom.students.items():
        for a in ASSIGNMENTS:
            stamp = classroom.course / "submitted" / student / a / "timestamp.txt"
            if planned.submitted_at[a] is None:
                assert not stamp.exists()
                continue
            when = datetime.strptime(stamp.read_text(), "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=timezone.utc)
            assert when == planned.submitted_at[a], (student, a)


def record(classroom, student, assignment) -> Record:
    return Record.read(classroom.course / "autograded" / student / assignment / f"{assignment}.grading.json")


@pytest.mark.slow
def test_each_problem_student_is_named_and_recorded(classroom):
    run = classroom.run
    by_role = {p.role: s for s, p in classroom.students.items()}
    problems = [line for line in run.stdout.split("Problems:", 1)[-1].splitlines() if line.startswith("  student")]
    reasons = {"corrupt": "not valid JSON", "timeout": "timeout: ran past the time limit",
               "kernel_death": "dead kernel: the kernel died", "forbidden": ("forbidden reference:", "statsmodels"),
               "sandbox_refusal": "sandbox refusal: cell"}
    assert set(reasons) == set(PROBLEM_ROLES)
    for role, reason in reasons.items():
        parts = (reason,) if isinstance(reason, str) else reason
        assert any(repr(by_role[role]) in line and all(part in line for part in parts) for line in problems), \
            (role, run.stdout)
    named = {line.split("'")[1] for line in problems}
    assert named == {by_role[role] for role in PROBLEM_ROLES}, "only the problem students are named"
    assert record(classroom, by_role["timeout"], "demo_mean").timeouts
    assert record(classroom, by_role["kernel_death"], "ps6_poisson").kernel == "died"
    forbidden = record(classroom, by_role["forbidden"], "ps6_poisson").forbidden
    assert {(f["task"], f["name"].split(".")[0]) for f in forbidden} == {("fit_newton", "statsmodels")}, forbidden
    refusals = record(classroom, by_role["sandbox_refusal"], "ps6_poisson").sandbox_refusals
    assert refusals and "/home/jovyan" in refusals[0]["error"], refusals
    honest = next(s for s, p in classroom.students.items() if p.role == "perfect")
    clean = record(classroom, honest, "ps6_poisson")
    assert (clean.kernel, clean.timeouts, clean.forbidden, clean.sandbox_refusals) == ("ok", [], [], [])


@pytest.mark.slow
def test_a_copy_is_private(classroom, tmp_path):
    copy = classroom.copy(tmp_path)
    (copy / "gradebook.db").write_bytes(b"")
    assert (classroom.course / "gradebook.db").stat().st_size > 0
    assert sorted(p.name for p in (copy / "submitted").iterdir()) == sorted(
        p.name for p in (classroom.course / "submitted").iterdir())
