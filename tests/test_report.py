"""`make report`: the statistics the instructor reads, checked by hand, and the pages in a real browser.

A small course is made by hand with nbgrader's Gradebook API (five graded
students, one cell every student got right, one cell waiting for a grader)
and grading records written as the grader writes them; its numbers are
computed here independently (numpy.corrcoef for discrimination).
"""
from __future__ import annotations

import math
import re
import subprocess
import sys
import warnings
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import nbformat
import numpy as np
import pytest

from instructor_grading.record import Record
from instructor_grading.report.data import (FORBIDDEN, GRADER_ERROR, KERNEL_DIED, NOT_GRADED, PREFLIGHT, SANDBOX,
                                            TIMEOUT, class_report, discrimination, message_pattern, record_problems)

ASSIGNMENT = "hw"
MALLORY = "<em>mallory"  # an id that is HTML: it must reach the page as text
# (cell, max_score, cell_type): three autograded cells and a written answer graded by hand
CELLS = [("test_a", 2, "code"), ("test_b", 1, "code"), ("test_c", 3, "code"), ("essay", 2, "markdown")]
# student -> scores in the order of CELLS; None: the essay waits for a grader
SCORES = {"s1": [2, 1, 3, 2], "s2": [2, 0, 3, None], "s3": [1, 1, 3, 1], "s4": [0, 0, 3, None],
          MALLORY: [2, 1, 3, 0]}
SCRIPT = "<script>alert('x')</script>"
# student -> (failed checks {grade_id: message}, other parts of the record)
RECORDS = {
    "s1": ({}, {"sandbox_refusals": [{"cell": 3, "error": "PermissionError: [Errno 13] Permission denied: '/root'"}]}),
    "s2": ({"test_b": "not checked: the kernel died or was stopped in an earlier cell"},
           {"kernel": "died", "grader_errors": [{"grade_id": "test_c", "error": "KeyError: 'beta'"}]}),
    "s4": ({"test_a": "sample_mean of 12 points is -1.5; expected 0.25", "test_b": f"{SCRIPT} is not a number"},
           {"timeouts": [{"cell": 4, "grade_id": "answer_b"}]}),
    MALLORY: ({}, {"forbidden": [{"task": "mean", "cell": 2, "grade_id": "answer_a", "name": "mh.estimators",
                                  "reason": "uses mh.estimators, which this task does not allow"}]}),
    # a method the task requires, never used (cell -1): its message is a failed check, not a forbidden reference
    "s3": ({"test_a": "sample_mean of 137 points is 4.1; expected 3.2"},
           {"forbidden": [{"task": "mean", "cell": -1, "grade_id": None, "name": "backward",
                           "reason": "the task asks you to use backward; the answers never do"}]}),
}
SECONDS = {"s1": 3.0, "s2": 41.5, "s3": 2.0, "s4": 30.25, MALLORY: 4.0}
DUE = datetime(2027, 1, 15, 17)  # UTC, as nbgrader keeps it
# s3 is 1.5 days late: 2 days, 20 % of the whole score; MALLORY at the due date: on time
SUBMITTED = {"s3": DUE + timedelta(days=1.5), MALLORY: DUE}
SCHEDULE = "[late_policy]\npercent_per_day = 10\nzero_after_days = 5\n[due]\nhw = 2027-01-15T17:00:00Z\n"
# Beyond the graded: a valid submission nbgrader never graded, a corrupt one, a notebook outside any folder.
EXPECTED_PROBLEMS = {("s1", SANDBOX), ("s2", KERNEL_DIED), ("s2", GRADER_ERROR), ("s4", TIMEOUT), (MALLORY, FORBIDDEN),
                     ("s6", NOT_GRADED), ("s7", PREFLIGHT)}


def make_course(root: Path, db_url: str | None = None) -> Path:
    """The hand-made course; its gradebook ``db_url`` (PostgreSQL), or nbgrader's default SQLite file."""
    from nbgrader.api import Gradebook
    from sqlalchemy import exc as sa_exc

    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n"
                                             + (f"c.CourseDirectory.db_url = {db_url!r}\n" if db_url else ""))
    source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(metadata={"nbgrader": {"grade_id": name}})
                                             for name, _, _ in CELLS])  # the order the page shows the cells in
    for folder in ("source", "release"):  # release/: what the similarity check tells the answers from
        (root / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(source, root / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    with warnings.catch_warnings(), Gradebook(db_url or f"sqlite:///{root / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore", sa_exc.SAWarning)  # nbgrader's add_submission trips autoflush warnings
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
        for name, points, cell_type in CELLS:
            gb.add_grade_cell(name, ASSIGNMENT, ASSIGNMENT, max_score=points, cell_type=cell_type)
        for student, scores in SCORES.items():
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student, timestamp=SUBMITTED.get(student, DUE - timedelta(hours=5)))
            for (name, _, cell_type), score in zip(CELLS, scores):
                grade = gb.find_grade(name, ASSIGNMENT, ASSIGNMENT, student)
                if cell_type == "markdown":
                    grade.manual_score = score
                else:
                    grade.auto_score = score
        gb.db.commit()
    notebook = nbformat.writes(nbformat.v4.new_notebook())
    for student in list(SCORES) + ["s6", "s7"]:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(notebook[:20] if student == "s7" else notebook)
    (root / "submitted" / "s8").mkdir()
    (root / "submitted" / "s8" / f"{ASSIGNMENT}.ipynb").write_text(notebook)
    for student, (failed, extra) in RECORDS.items():
        checks = {name: {"task": "mean", "passed": name not in failed, "message": failed.get(name, ""), "seconds": 0.1}
                  for name, _, cell_type in CELLS if cell_type == "code"}
        folder = root / "autograded" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        Record(student, ASSIGNMENT, ASSIGNMENT, seconds=SECONDS[student], checks=checks, **extra).write(folder)
    (root / "course_schedule.toml").write_text(SCHEDULE)
    (root / "roster.csv").write_text("id,first_name,last_name,email\n" + "".join(
        f"{s},A,B,{i}@example.org\n" for i, s in enumerate(["s1", "s2", "s3", "s4", "s6", "s7", "s8", "nat"])))
    return root


@pytest.fixture(scope="module")
def hand_course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("report") / "course")


@pytest.fixture(scope="module")
def hand_report(hand_course):
    (report,) = class_report(hand_course).assignments
    return report


def column(name: str, students=SCORES) -> list:
    index = [c[0] for c in CELLS].index(name)
    return [SCORES[s][index] for s in students]


def totals() -> dict:
    """Every student's gradebook total (no late penalty)."""
    return {s: sum(x or 0 for x in scores) for s, scores in SCORES.items()}


def test_discrimination_is_the_correlation_with_the_rest_of_the_assignment(hand_report):
    cells = {c.grade_id: c for c in hand_report.cells}
    a = column("test_a")
    rest = [totals()[s] - x for s, x in zip(SCORES, a)]
    assert cells["test_a"].discrimination == pytest.approx(np.corrcoef(a, rest)[0, 1])
    graded = [s for s in SCORES if SCORES[s][3] is not None]  # the essay: only the graded ones
    essay = column("essay", graded)
    rest = [totals()[s] - x for s, x in zip(graded, essay)]
    assert cells["essay"].discrimination == pytest.approx(np.corrcoef(essay, rest)[0, 1])


def test_discrimination_is_undefined_for_a_constant_column_and_says_why(hand_report):
    test_c = next(c for c in hand_report.cells if c.grade_id == "test_c")
    assert test_c.discrimination is None
    assert "same score on this cell (3)" in test_c.undefined_because
    assert discrimination([1, 0, 1], [4, 4, 4]) == (None, "every student has the same score on the rest of "
                                                           "the assignment (4)")
    assert discrimination([1, 0], [2, 3])[0] is None  # two students: no correlation to speak of
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        discrimination([1, 0, 1], [2, 3])


def test_means_and_shares_of_full_partial_and_no_points(hand_report):
    cells = {c.grade_id: c for c in hand_report.cells}
    assert [c.grade_id for c in hand_report.cells] == [c[0] for c in CELLS]
    a = cells["test_a"]  # 2, 2, 1, 0, 2 out of 2
    assert (a.graded, a.waiting, a.mean) == (5, 0, pytest.approx(7 / 5))
    assert (a.full, a.partial, a.none) == (pytest.approx(3 / 5), pytest.approx(1 / 5), pytest.approx(1 / 5))
    essay = cells["essay"]  # 2, 1, 0 out of 2; two wait for a grader
    assert (essay.graded, essay.waiting, essay.mean) == (3, 2, pytest.approx(1.0))
    assert (essay.full, essay.partial, essay.none) == (pytest.approx(1 / 3),) * 3
    assert hand_report.totals == pytest.approx({**totals(), "s3": totals()["s3"] * 0.8})  # s3: 2 days late, 20 %
    assert hand_report.max_score == 8 and hand_report.roster == 9  # roster.csv and the gradebook's students


def test_late_submissions_with_their_days_and_penalty(hand_report):
    assert [(g.student, g.days_late, g.raw_score, g.penalty, g.score) for g in hand_report.late] == \
        [("s3", 2, 6.0, pytest.approx(1.2), pytest.approx(4.8))]
    assert hand_report.late_policy.startswith("Due 2027-01-15 17:00 UTC. Late work loses 10 % of its whole score")


def test_failure_messages_are_counted_per_check_with_the_numbers_masked(hand_report):
    failures = {f.grade_id: f for f in hand_report.failures}
    (mean_message,) = failures["test_a"].messages  # the same mistake on two students' own data
    assert mean_message.message == "sample_mean of … points is …; expected …"
    assert mean_message.students == ["s3", "s4"]
    assert failures["test_a"].failed == 2 and failures["test_a"].checked == 5
    assert sorted(len(m.students) for m in failures["test_b"].messages) == [1, 1]
    assert failures["test_c"].messages == []
    assert message_pattern("cell 2 of ps6_poisson: x2 is 1e-06, not -3.5") == "cell … of ps6_poisson: x2 is …, not …"
    assert message_pattern("se is [ 0.1, -0.25,  3 ]; expected [0.2, 0.3]") == "se is […]; expected […]"


def test_every_student_with_a_problem_is_listed_with_the_reason(hand_course, hand_report):
    assert {(p.student, p.reason) for p in hand_report.problems} == EXPECTED_PROBLEMS
    timeout = next(p for p in hand_report.problems if p.reason == TIMEOUT)
    assert "answer_b" in timeout.detail
    corrupt = next(p for p in hand_report.problems if p.reason == PREFLIGHT)
    assert corrupt.file == f"{ASSIGNMENT}.ipynb" and "not valid JSON" in corrupt.detail
    (stray,) = class_report(hand_course).stray
    assert stray.student == "s8" and "not inside an assignment folder" in stray.detail
    assert [(t.student, t.seconds) for t in hand_report.timings[:2]] == [("s2", 41.5), ("s4", 30.25)]
    # a loop that ignored the interrupt: no CellTimeoutError, the kernel was stopped; a timeout all the same
    (stopped,) = record_problems(Record("s9", ASSIGNMENT, ASSIGNMENT, kernel="stopped after ignoring the interrupt"))
    assert stopped.reason == TIMEOUT and "ignoring the interrupt" in stopped.detail


@pytest.mark.slow
def test_a_postgresql_gradebook_gives_the_same_report(postgres, hand_course, tmp_path):
    url = postgres.ensure_database("gradebook_report", "report-test-password")
    course = make_course(tmp_path / "course", db_url=url)
    assert not (course / "gradebook.db").exists()
    on_postgres, on_sqlite = class_report(course), class_report(hand_course)
    assert on_postgres.assignments == on_sqlite.assignments and on_postgres.stray == on_sqlite.stray


def page_text(path: Path) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


def test_the_command_writes_the_pages_and_says_where_and_how_long(hand_course):
    run = subprocess.run([sys.executable, "-m", "instructor_grading", "report", "--course", str(hand_course)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    reports = hand_course / "reports"
    assert re.search(rf"wrote the report to {re.escape(str(reports))}/ .* in \d+\.\d s", run.stdout), run.stdout
    index, page = reports / "index.html", reports / f"{ASSIGNMENT}.html"
    assert f'href="{ASSIGNMENT}.html"' in index.read_text()
    text = " ".join(page_text(index).split())
    assert "hw 5 9 5.36 5 8 6" in text  # submitted, in the roster, mean, median, out of, students with problems
    html = page.read_text()
    style = html[html.index("<style>"):html.index("</style>")]
    assert '"DejaVu Sans Mono"' in style and "&#34;" not in style  # the course's CSS arrives as it is written
    assert SCRIPT not in html and "&lt;script&gt;" in html  # a check's message is text, not markup
    assert "<em>" not in html and "&lt;em&gt;mallory" in html
    text = page_text(page)
    for student, reason in EXPECTED_PROBLEMS:
        assert re.search(rf"{re.escape(student)}\s+\S+\s+{reason}", text), (student, reason)
    assert "n/a: every student has the same score on this cell (3)" in text
    assert re.search(r"s3\s+2027-01-17 05:00\s+2\s+6\s+1\.2\s+4\.8", text)  # the late submission
    assert "No two submissions share enough rare code" in text


def test_a_course_without_gradebook_is_named(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "gradebook.db"))):
        class_report(tmp_path)
    assert not (tmp_path / "gradebook.db").exists()  # nbgrader would have made an empty one


# --------------------------------------------------------------------------- the pages in a browser

FIGURES_JS = """async () => Promise.all(Array.from(document.images).map(async img => {
  await img.decode().catch(() => null);
  return {src: img.currentSrc, alt: img.getAttribute('alt') || '', width: img.naturalWidth};
}))"""


def looks_like_a_file_name(alt: str) -> bool:
    return bool(re.fullmatch(r"\S+\.(svg|png|jpe?g)", alt.strip(), re.IGNORECASE))


def check_pages(browser, folder: Path, assignments: list[str]) -> None:
    """Open the index and every assignment page, served on 127.0.0.1, in light and dark: every figure is
    decoded with alt text that states numbers, no request fails or leaves the server, no serious axe violation."""
    from axe import audit, describe, serious
    from browser import PageWatch, serve_directory

    with serve_directory(folder) as base_url:
        for scheme in ("light", "dark"):
            # First under the pages' own Content-Security-Policy (it must let their figures in) ...
            context = browser.new_context(color_scheme=scheme, viewport={"width": 1100, "height": 900})
            try:
                page = context.new_page()
                watch = PageWatch(page, base_url)
                page.goto(f"{base_url}/index.html")
                links = page.eval_on_selector_all("table a", "links => links.map(a => a.getAttribute('href'))")
                assert links == [f"{name}.html" for name in assignments]
                for name in assignments:
                    page.goto(f"{base_url}/{name}.html")
                    images = page.evaluate(FIGURES_JS)
                    assert len(images) == 3, (name, images)
                    for image in images:
                        assert image["src"].endswith(f"-{scheme}.svg") and image["width"] > 0, (name, image)
                        alt = image["alt"]
                        assert alt.strip() and not looks_like_a_file_name(alt) and re.search(r"\d", alt), image
                    assert watch.take() == [], (name, scheme)
            finally:
                context.close()
            # ... then with it off, so that axe-core can be injected.
            context = browser.new_context(color_scheme=scheme, bypass_csp=True, viewport={"width": 1100, "height": 900})
            try:
                page = context.new_page()
                for name in ["index"] + assignments:
                    page.goto(f"{base_url}/{name}.html")
                    violations = serious(audit(page))
                    assert not violations, f"{name}.html ({scheme}):\n{describe(violations)}"
            finally:
                context.close()


# --------------------------------------------------------------------------- the shared graded class

ROLE_REASONS = {"corrupt": PREFLIGHT, "timeout": TIMEOUT, "kernel_death": KERNEL_DIED, "forbidden": FORBIDDEN,
                "sandbox_refusal": SANDBOX}


@pytest.fixture(scope="module")
def class_pages(classroom, tmp_path_factory):
    """The report of the class (contract 1), written outside the read-only course: ``(report, folder)``."""
    from instructor_grading.report.html import write_report

    report = class_report(classroom.course)
    folder = tmp_path_factory.mktemp("class-report") / "reports"
    write_report(report, folder)
    return report, folder


@pytest.mark.slow
def test_every_problem_student_of_the_class_is_listed_with_the_reason(classroom, class_pages):
    from classroom import problem_of

    report, folder = class_pages
    assert [a.name for a in report.assignments] == classroom.assignments
    for a in report.assignments:
        planned = {(student, ROLE_REASONS[problem_of(p, a.name)]) for student, p in classroom.students.items()
                   if problem_of(p, a.name)}
        listed = {(p.student, p.reason) for p in a.problems}
        assert listed == planned, a.name  # and no one else: every honest submission was graded cleanly
        text = page_text(folder / f"{a.name}.html")
        for student, reason in planned:
            assert re.search(rf"{student}\s+\S+\s+{reason}", text), (a.name, student, reason)


def days_late(submitted_at: datetime, due: datetime) -> int:
    """Contract 3: a part of a day counts as a day."""
    return max(0, math.ceil((submitted_at - due) / timedelta(days=1)))


@pytest.mark.slow
def test_the_class_report_counts_scores_and_late_work(classroom, class_pages):
    report, folder = class_pages
    for a in report.assignments:
        graded = {s: p.expected[a.name] for s, p in classroom.students.items() if p.expected[a.name] is not None}
        late = {s: days_late(classroom.students[s].submitted_at[a.name], classroom.due[a.name]) for s in graded}
        assert a.submitted == len(graded) >= 20
        assert a.roster == len(classroom.students)  # the non-submitter too
        # the autograded points (the written answers wait for a grader), less 10 % a day, all of it after 5 days
        assert a.totals == pytest.approx({s: 0.0 if late[s] > 5 else points * (1 - late[s] / 10)
                                          for s, points in graded.items()})
        assert [(g.student, g.days_late) for g in a.late] == sorted(((s, d) for s, d in late.items() if d),
                                                                    key=lambda sd: (-sd[1], sd[0]))
        assert {t.student for t in a.timings} == set(graded) and all(t.seconds > 0 for t in a.timings)
    index = " ".join(page_text(folder / "index.html").split())
    for a in report.assignments:
        assert f"{a.name} {a.submitted} {a.roster} " in index


@pytest.mark.slow
def test_the_copied_pair_is_shown_side_by_side_answer_by_answer(classroom, class_pages):
    import nbformat
    from nbgrader import utils

    report, folder = class_pages
    pair = tuple(sorted(classroom.copied_pair))
    for a in report.assignments:
        assert a.similar and a.similar[0].students == pair, a.name  # the most similar pair comes first
        html = (folder / f"{a.name}.html").read_text()
        assert f"{pair[0]} and {pair[1]}: similarity" in html
        copier = nbformat.read(classroom.course / "submitted" / pair[1] / a.name / f"{a.name}.ipynb", 4)
        answers = {c.metadata.nbgrader["grade_id"]: c.source for c in copier.cells if utils.is_solution(c)}
        shown = re.findall(r'<pre class="code">(.*?)</pre>', html, flags=re.S)
        for grade_id, _, second in a.similar[0].cells:
            assert second.strip() in answers[grade_id]  # the student's own code ...
            assert any(unescape(block) == second for block in shown), grade_id  # ... escaped in a <pre>


@pytest.mark.slow
@pytest.mark.browser
def test_the_pages_in_a_browser_figures_alt_text_accessibility(browser, classroom, class_pages):
    check_pages(browser, class_pages[1], classroom.assignments)
