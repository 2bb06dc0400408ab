"""Due dates, late work, the roster and the grade exports (make assignments, make roster, make grades).

The late rule, the schedule and the roster are tested alone first. Then one
small course of the demo assignment, with course_schedule.toml and a roster,
is graded once: one late student through `make autograde`'s workers, another
through the plain `nbgrader autograde` CLI, so that both of nbgrader's routes
are seen to store the course's penalty. The exports, a manual grade with extra
credit and the feedback page are checked on it (on copies where they change
the gradebook); the same exports read a PostgreSQL gradebook.
"""
from __future__ import annotations

import csv
import html
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.plugins import CsvExportPlugin

from instructor_grading import scratch
from instructor_grading.__main__ import main
from instructor_grading.config import course_config
from instructor_grading.exports import CANVAS_COLUMNS, MOODLE_ID, NBGRADER_COLUMNS, points
from instructor_grading.feedback import generate_feedback
from instructor_grading.grades import class_grades
from instructor_grading.regions import solved_release
from instructor_grading.roster import Student, read_roster
from instructor_grading.schedule import Schedule, late_penalty, load_schedule
from instructor_grading.workers import gradebook_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO = scratch.DEMO_ASSIGNMENT
UTC = timezone.utc
DUE = datetime(2027, 1, 15, 17, tzinfo=UTC)
POLICY = Schedule(due={DEMO: DUE}, percent_per_day=10, zero_after_days=5)
SCHEDULE = f"""# the demo's due date; the course's policy
[late_policy]
percent_per_day = 10
zero_after_days = 5

[due]
{DEMO} = 2027-01-15T17:00:00Z
"""
ROSTER_HEADER = "id,first_name,last_name,email,lms_user_id,sis_user_id,sis_login_id,section\n"


# --------------------------------------------------------------------------- the late rule

@pytest.mark.parametrize("after_due, days, percent", [
    (-timedelta(days=1), 0, 0),
    (timedelta(0), 0, 0),  # exactly on the deadline: on time
    (timedelta(microseconds=1), 1, 10),  # just after: a part of a day counts as a day
    (timedelta(hours=1), 1, 10),
    (timedelta(days=2.5), 3, 30),
    (timedelta(days=5), 5, 50),  # exactly 5 days: still 50 %
    (timedelta(days=5, seconds=1), 6, 100),  # more than 5 days: the score is 0
    (timedelta(days=12), 12, 100),
])
def test_late_penalty_takes_a_share_of_the_whole_score(after_due, days, percent):
    late = late_penalty(8.0, DUE + after_due, DUE, POLICY)
    assert (late.days, late.penalty) == (days, pytest.approx(8.0 * percent / 100))


def test_late_penalty_reads_the_time_zones():
    paris = timezone(timedelta(hours=1))
    assert late_penalty(8.0, datetime(2027, 1, 15, 18, 0, tzinfo=paris), DUE, POLICY).days == 0  # 17:00 UTC
    assert late_penalty(8.0, datetime(2027, 1, 15, 19, 0, tzinfo=paris), DUE, POLICY).days == 1


def test_nothing_to_take_when_not_submitted_undated_or_scoring_zero():
    assert late_penalty(8.0, None, DUE, POLICY).penalty == 0
    assert late_penalty(8.0, DUE + timedelta(days=1), None, POLICY).penalty == 0
    assert late_penalty(0.0, DUE + timedelta(days=1), DUE, POLICY).penalty == 0


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match=r"submitted_at must be a timezone-aware datetime; got 2027-01-16T17:00:00"):
        late_penalty(8.0, datetime(2027, 1, 16, 17), DUE, POLICY)


# --------------------------------------------------------------------------- course_schedule.toml

def test_the_course_schedule_dates_every_assignment_with_the_policy():
    schedule = load_schedule(ROOT)
    assert (schedule.percent_per_day, schedule.zero_after_days) == (10, 5)
    assignments = sorted(p.stem for p in (ROOT / "solutions").glob("*.md"))
    assert assignments and sorted(schedule.due) == assignments
    assert all(due.tzinfo == UTC and due.year == 2027 for due in schedule.due.values())


def test_an_unknown_assignment_is_fine_and_no_file_is_no_policy(tmp_path):
    (tmp_path / "course_schedule.toml").write_text(SCHEDULE + "not_yet_written = 2027-06-01T12:00:00+02:00\n")
    assert load_schedule(tmp_path).due["not_yet_written"] == datetime(2027, 6, 1, 10, tzinfo=UTC)
    without = load_schedule(tmp_path / "elsewhere")
    assert without.due == {} and late_penalty(8.0, DUE + timedelta(days=9), DUE, without).penalty == 0


@pytest.mark.parametrize("change, message", [
    ((f"{DEMO} = 2027-01-15T17:00:00Z", f"{DEMO} = 2027-01-15T17:00:00"),
     rf"\[due\] {DEMO} must be a date and time with an offset.*got 2027-01-15T17:00:00$"),
    ((f"{DEMO} = 2027-01-15T17:00:00Z", f"{DEMO} = 2027-01-15"), rf"\[due\] {DEMO} .*got 2027-01-15$"),
    ((f"{DEMO} = 2027-01-15T17:00:00Z", f'{DEMO} = "next friday"'), r"got 'next friday'$"),
    (("percent_per_day = 10", "percent_per_day = -10"), r"percent_per_day must be a number >= 0; got -10$"),
    (("percent_per_day = 10", "percent_per_day = '10 %'"), r"percent_per_day must be a number >= 0; got '10 %'$"),
    (("zero_after_days = 5", "zero_after_days = 4.5"), r"zero_after_days must be a whole number >= 0; got 4.5$"),
    (("zero_after_days = 5", ""), r"\[late_policy\] needs zero_after_days"),
    (("percent_per_day", "percent_per_dya"), r"unknown key\(s\) \['percent_per_dya'\]"),
    (("[due]", "[due"), r"is not valid TOML"),
])
def test_a_bad_schedule_names_the_key_and_the_value(tmp_path, change, message):
    (tmp_path / "course_schedule.toml").write_text(SCHEDULE.replace(*change))
    with pytest.raises(ValueError, match=message):
        load_schedule(tmp_path)


# --------------------------------------------------------------------------- the roster

def write_roster(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_roster_reads_the_lms_columns_and_a_spreadsheets_byte_order_mark(tmp_path):
    path = write_roster(tmp_path / "roster.csv", "\ufeff" + ROSTER_HEADER + "ada,Ada,Lovelace,ada@example.org,1001,S1,ada,A\n"
                        "carl,Carl,Gauss,carl@example.org,,,,\n")
    assert read_roster(path) == [Student("ada", "Ada", "Lovelace", "ada@example.org", "1001", "S1", "ada", "A"),
                                 Student("carl", "Carl", "Gauss", "carl@example.org")]


@pytest.mark.parametrize("text, message", [
    ("id,first_name,last_name\nada,Ada,Lovelace\n", r"missing \['email'\]"),
    ("id,first_name,last_name,email,phone\nada,Ada,Lovelace,a@x.org,1\n", r"unknown \['phone'\]"),
    ("id,first_name,last_name,email\nada,Ada,Lovelace,a@x.org\nada,Ada,King,k@x.org\n",
     r"line 3: id 'ada' repeats line 2"),
    ("id,first_name,last_name,email\n,Ada,Lovelace,a@x.org\n", r"line 2: id is empty"),
    ("id,first_name,last_name,email\nAda Lovelace,Ada,Lovelace,a@x.org\n", r"line 2: id must be a lower-case user name.*got 'Ada Lovelace'"),
    ("id,first_name,last_name,email\n1ada,Ada,Lovelace,a@x.org\n", r"got '1ada'"),
    (f"id,first_name,last_name,email\n{'a' * 33},Ada,Lovelace,a@x.org\n", r"at most 32 characters"),
    ("id,first_name,last_name,email\nada,Ada,Lovelace,a@x.org\ncarl,Carl,Gauss,a@x.org\n", r"line 3: email 'a@x.org' repeats line 2"),
    (ROSTER_HEADER + "ada,Ada,Lovelace,a@x.org,ada42,,,\n", r"lms_user_id must be the LMS's numeric user id; got 'ada42'"),
])
def test_a_bad_roster_names_the_line_and_the_value(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        read_roster(write_roster(tmp_path / "roster.csv", text))


def test_the_hub_reads_the_roster_and_user_names_the_same_way(tmp_path):
    from hub import deploy

    assert deploy.read_roster is read_roster  # one reader: a roster the hub takes, the gradebook takes
    with pytest.raises(ValueError, match=r"HUB_INSTRUCTOR must be a lower-case user name.*got 'Prof X'"):
        deploy.Settings.from_environ({"HUB_INSTRUCTOR": "Prof X"})
    with pytest.raises(ValueError, match="roster must be a CSV file"):
        read_roster(tmp_path / "missing.csv")


# --------------------------------------------------------------------------- one graded course

def run(*command, cwd: Path, env=None) -> subprocess.CompletedProcess:
    # the repository on the path: `python -m instructor_grading` run from a course folder finds the package
    env = {**(env or os.environ), "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def submit(course: Path, student: str, at: datetime, *, solved: bool = True) -> None:
    """``submitted/<student>/demo_mean/`` with nbgrader's timestamp.txt."""
    release = nbformat.read(course / "release" / DEMO / f"{DEMO}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / DEMO / f"{DEMO}.ipynb", as_version=4)
    folder = course / "submitted" / student / DEMO
    folder.mkdir(parents=True)
    nbformat.write(solved_release(release, source) if solved else release, folder / f"{DEMO}.ipynb")
    (folder / "timestamp.txt").write_text(at.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))


# late25 is in the roster, late1h is not; never is in the roster and never submits.
SUBMITTED = {"late1h": DUE + timedelta(hours=1), "late25": DUE + timedelta(days=2.5)}
ROSTER = (ROSTER_HEADER + "late25,Carl,Gauss,carl@example.org,1002,S0002,carl,B\n"
          "never,Emmy,Noether,emmy@example.org,1003,S0003,emmy,A\n")


def wrapper(*args: str) -> None:
    """``python -m instructor_grading ...`` (what the make targets run), in this process."""
    assert main([str(a) for a in args]) == 0


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The demo course: schedule and roster imported (`make assignments` / `make roster`), two late submissions.

    late1h is graded by `python -m instructor_grading autograde` (make autograde's workers), then late25 by
    `nbgrader autograde` alone.
    """
    course = scratch.scratch_course(tmp_path_factory.mktemp("late") / "course", [DEMO], timeout=30)
    (course / "course_schedule.toml").write_text(SCHEDULE)
    write_roster(course / "roster.csv", ROSTER)
    wrapper("due-dates", "--course", course)
    wrapper("roster", course / "roster.csv", "--course", course)
    submit(course, "late1h", SUBMITTED["late1h"])
    run(sys.executable, "-m", "instructor_grading", "autograde", "--course", course, cwd=course)
    submit(course, "late25", SUBMITTED["late25"])
    run(BIN / "nbgrader", "autograde", DEMO, "--student", "late25", "--log-level=ERROR", cwd=course)
    return course


def stored(course: Path) -> dict:
    """{student: (timestamp, nbgrader's stored late penalty, score)} from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: (s.timestamp, s.late_submission_penalty, s.score)
                for s in gradebook.find_assignment(DEMO).submissions}


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def export(course: Path, to: Path, plugin=None) -> None:
    """What `nbgrader export --to <to>` does in ``course``, in this process: the configured plugin, or ``plugin``."""
    from nbgrader.api import Gradebook

    config = course_config(course)
    db_url, course_id = gradebook_url(course)
    with Gradebook(db_url, course_id) as gradebook:
        (plugin or config.ExportApp.plugin_class)(config=config, to=str(to)).export(gradebook)


@pytest.mark.slow
def test_make_assignments_and_make_roster_fill_the_gradebook(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assert gradebook.find_assignment(DEMO).duedate == DUE.replace(tzinfo=None)  # nbgrader's naive UTC
        never = gradebook.find_student("never")
        assert (never.first_name, never.last_name, never.email, never.lms_user_id) == \
            ("Emmy", "Noether", "emmy@example.org", "1003")


@pytest.mark.slow
def test_both_nbgrader_routes_store_the_course_penalty(course):
    grades = stored(course)
    for student, at in SUBMITTED.items():
        timestamp, penalty, score = grades[student]
        assert timestamp == at.replace(tzinfo=None) and score == 5  # every test passed
        assert (penalty or 0) == pytest.approx(late_penalty(score, at, DUE, POLICY).penalty)
    assert grades["late1h"][1] == pytest.approx(0.5) and grades["late25"][1] == pytest.approx(1.5)


@pytest.mark.slow
def test_nbgrader_export_writes_nbgraders_layout_and_both_lms_layouts(course, tmp_path):
    # `make grades`: nbgrader's own command, with nbgrader_config.py's CourseGradesExport
    result = run(BIN / "nbgrader", "export", "--to", tmp_path / "grades.csv", "--log-level=WARN", cwd=course)
    ours = read_csv(tmp_path / "grades.csv")
    export(course, tmp_path / "nbgrader.csv", plugin=CsvExportPlugin)  # nbgrader's own export
    theirs = read_csv(tmp_path / "nbgrader.csv")
    assert ours[0] == theirs[0] == NBGRADER_COLUMNS
    # Before any manual grade, nbgrader's own export (its stored penalties) gives the same numbers.
    numbers = ["raw_score", "late_submission_penalty", "score", "max_score"]
    rows = {(r[0], r[3]): r for r in ours[1:]}
    for row in theirs[1:]:
        mine = rows[row[0], row[3]]
        assert [float(mine[NBGRADER_COLUMNS.index(k)]) for k in numbers] == \
               [float(row[NBGRADER_COLUMNS.index(k)]) for k in numbers]
    assert rows[DEMO, "late25"] == [DEMO, "2027-01-15 17:00:00", "2027-01-18 05:00:00", "late25", "Gauss", "Carl",
                                    "carl@example.org", "5", "1.5", "3.5", "5"]
    assert rows[DEMO, "never"][7:] == ["0", "0", "0", "5"]  # in the roster, never submitted

    canvas = read_csv(tmp_path / "grades_canvas.csv")
    assert canvas[0] == CANVAS_COLUMNS + [DEMO] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", DEMO]
    assert canvas[1] == ["Points Possible", "", "", "", "", "5"]
    assert canvas[2:] == [["Gauss, Carl", "1002", "S0002", "carl", "B", "3.5"],
                          ["Noether, Emmy", "1003", "S0003", "emmy", "A", "0"],
                          ["late1h", "", "", "", "", "4.5"]]  # not in the roster: the gradebook's id only
    moodle = read_csv(tmp_path / "grades_moodle.csv")
    assert moodle[0] == [MOODLE_ID, DEMO] == ["Email address", DEMO]
    assert moodle[1:] == [["carl@example.org", "3.5"], ["emmy@example.org", "0"], ["", "4.5"]]
    assert re.search(r"WARNING.*1 student\(s\) of the gradebook are not in the roster .*roster.csv: late1h",
                     result.stderr), result.stderr


def page_text(path: Path) -> str:
    page = path.read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", page, flags=re.S)))
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- the shared class

def late_by(classroom, lateness: timedelta) -> tuple[str, str]:
    """The (student, assignment) the class handed in ``lateness`` after the due date."""
    [found] = [(s, a) for s, planned in classroom.students.items() for a, at in planned.submitted_at.items()
               if at is not None and at - classroom.due[a] == lateness]
    return found


@pytest.mark.slow
def test_class_grades_follow_the_class_plan(classroom):
    """Every student of the roster x every assignment: the autograded points, 0 when nothing was graded, the penalty."""
    grades = {(g.student, g.assignment): g for g in class_grades(classroom.course)}  # roster.csv of the course
    assert set(grades) == {(s, a) for s in classroom.students for a in classroom.assignments}
    for (student, assignment), grade in grades.items():
        planned, due = classroom.students[student], classroom.due[assignment]
        expected, at = planned.expected[assignment], planned.submitted_at[assignment]
        assert grade.due == due and grade.in_roster
        if expected is None:  # never submitted, or nothing could be graded
            assert (grade.submitted, grade.raw_score, grade.penalty, grade.score) == (False, 0, 0, 0)
            continue
        late = late_penalty(expected, at, due, POLICY)
        assert (grade.submitted, grade.submitted_at, grade.days_late) == (True, at, late.days)
        assert (grade.raw_score, grade.penalty, grade.score) == \
            (pytest.approx(expected), pytest.approx(late.penalty), pytest.approx(expected - late.penalty))
    assert all(grades[classroom.nonsubmitter, a].submitted is False for a in classroom.assignments)
    for lateness, days, share in [(timedelta(0), 0, 0), (timedelta(hours=1), 1, 0.1), (timedelta(days=2.5), 3, 0.3),
                                  (timedelta(days=6), 6, 1)]:
        grade = grades[late_by(classroom, lateness)]
        assert (grade.days_late, grade.penalty) == (days, pytest.approx(share * grade.raw_score))
    assert grades[late_by(classroom, timedelta(days=6))].score == 0


@pytest.mark.slow
def test_the_class_exports_in_the_three_layouts(classroom, tmp_path):
    """grades.csv has nbgrader's header and one row per student and assignment; Canvas and Moodle one per student."""
    export(classroom.course, tmp_path / "grades.csv")  # what `make grades` writes; the course is only read
    export(classroom.course, tmp_path / "nbgrader.csv", plugin=CsvExportPlugin)
    grades = {(g.student, g.assignment): g for g in class_grades(classroom.course)}
    rows = read_csv(tmp_path / "grades.csv")
    assert rows[0] == read_csv(tmp_path / "nbgrader.csv")[0] == NBGRADER_COLUMNS
    assert len(rows) - 1 == len(grades)
    student, assignment = late_by(classroom, timedelta(days=2.5))
    grade = grades[student, assignment]
    [row] = [r for r in rows if r[0] == assignment and r[3] == student]
    assert row == [assignment, "2027-01-15 17:00:00", "2027-01-18 05:00:00", student, grade.last_name,
                   grade.first_name, f"{student}@students.example.edu", points(grade.raw_score), points(grade.penalty),
                   points(grade.score), points(grade.max_score)]
    [never] = [r for r in rows if r[3] == classroom.nonsubmitter and r[0] == assignment]
    assert never[2] == "" and never[7:10] == ["0", "0", "0"]

    roster = {s.id: s for s in read_roster(classroom.roster)}
    person = roster[student]
    canvas = read_csv(tmp_path / "grades_canvas.csv")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + classroom.assignments
    assert canvas[1] == ["Points Possible", "", "", "", ""] + [points(grades[student, a].max_score)
                                                               for a in classroom.assignments]
    assert [f"{person.last_name}, {person.first_name}", person.lms_user_id, person.sis_user_id, person.sis_login_id,
            person.section] + [points(grades[student, a].score) for a in classroom.assignments] in canvas
    assert len(canvas) == 2 + len(classroom.students)
    moodle = read_csv(tmp_path / "grades_moodle.csv")
    assert moodle[0] == ["Email address"] + classroom.assignments
    assert [person.email] + [points(grades[student, a].score) for a in classroom.assignments] in moodle
    assert [roster[classroom.nonsubmitter].email, "0", "0"] in moodle


@pytest.mark.slow
def test_a_manual_grade_and_extra_credit_change_the_penalty_and_the_feedback(classroom, tmp_path):
    """nbgrader's penalty is of the autograded score; the exports and the page take it off the whole score now."""
    from nbgrader.api import Gradebook

    copy = classroom.copy(tmp_path)
    student, assignment = late_by(classroom, timedelta(days=2.5))
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(assignment, student)
        before = submission.score
        [first, second, *_] = sorted(submission.notebooks[0].grades, key=lambda g: g.name)
        first.manual_score = 0.0  # the grader takes this cell's points back ...
        second.extra_credit = 1.5  # ... and gives extra credit on another
        gradebook.db.commit()
        whole = gradebook.find_submission(assignment, student).score
    assert whole != before
    export(copy, tmp_path / "out" / "grades.csv")
    [row] = [r for r in read_csv(tmp_path / "out" / "grades.csv") if r[0] == assignment and r[3] == student]
    assert row[7:10] == [points(whole), points(0.3 * whole), points(0.7 * whole)]  # 3 days late: 30 % of the whole

    on_time = next(s for s, p in classroom.students.items()
                   if p.submitted_at[assignment] and p.submitted_at[assignment] < classroom.due[assignment]
                   and p.expected[assignment] is not None)
    for who in (student, on_time):
        assert generate_feedback(copy, student=who, assignment=assignment, log=lambda line: None) == []
    late = page_text(copy / "feedback" / student / assignment / f"{assignment}.html")
    assert f"after a late-submission penalty of {points(0.3 * whole)}." in late
    assert ("Due Friday 15 January 2027, 17:00 UTC; submitted Monday 18 January 2027, 05:00 UTC, "
            "2 days 12 hours late (counted as 3 days).") in late
    assert f"Your penalty: 30 % of your whole score of {points(whole)} points, −{points(0.3 * whole)} points." in late
    on_time_page = page_text(copy / "feedback" / on_time / assignment / f"{assignment}.html")
    assert "Due Friday 15 January 2027, 17:00 UTC; submitted on time." in on_time_page
    assert "penalty" not in on_time_page.lower()


@pytest.mark.slow
def test_make_grades_reads_a_postgresql_gradebook(postgres, tmp_path, monkeypatch):
    """The same exports from the course hub's gradebook: roster, due dates and a late submission in PostgreSQL."""
    from nbgrader.api import Gradebook

    url = postgres.ensure_database("grades_export", "grades-export-password")
    monkeypatch.setenv("MLE_GRADEBOOK_URL", url)  # nbgrader_config.py's db_url
    course = scratch.scratch_course(tmp_path / "course", [DEMO], timeout=30)
    (course / "course_schedule.toml").write_text(SCHEDULE)
    wrapper("due-dates", "--course", course)
    wrapper("roster", write_roster(course / "roster.csv", ROSTER), "--course", course)
    with Gradebook(url, "scratch") as gradebook:  # a late25 submission, as the autograder records one
        gradebook.add_submission(DEMO, "late25", timestamp=SUBMITTED["late25"].replace(tzinfo=None))
        for name, auto_score in {"test_mean_visible": 1, "test_mean_hidden": 2, "test_variance": 0}.items():
            gradebook.find_grade(name, DEMO, DEMO, "late25").auto_score = auto_score
        gradebook.db.commit()
    export(course, tmp_path / "grades.csv")
    rows = {r[3]: r for r in read_csv(tmp_path / "grades.csv")[1:]}
    assert rows["late25"][7:] == ["3", "0.9", "2.1", "5"] and rows["never"][7:] == ["0", "0", "0", "5"]
    assert read_csv(tmp_path / "grades_moodle.csv")[1:] == [["carl@example.org", "2.1"], ["emmy@example.org", "0"]]
