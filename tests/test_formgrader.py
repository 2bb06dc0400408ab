"""Manual grading in formgrader: the instructor's click path, in a real browser, ends in ``make grades``.

A scratch course of ps6_poisson (configured like the course) gets a solved
submission with the student's own written answer to Task 5, and the course's
wrapper autogrades it: every point but the written answer's is in.
``jupyter lab`` (tests/browser.py) then runs in the course folder, so nbgrader's
formgrader extension reads the course's ``nbgrader_config.py``, and Debian's
chromium follows the click path of the Instructor guide (*Manual grading in
formgrader*): the Nbgrader menu, Manage Assignments, Manual Grading,
ps6_poisson, the notebook, a submission, a score and a comment for the written
answer, Next, back to the list. The points must reach the gradebook and
``nbgrader export``'s grades.csv (what ``make grades`` runs).

The guide's screenshots are taken on the way: into a temporary folder, or into
book/images/formgrader/ when the test runs with ``UPDATE_SCREENSHOTS=1``.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from instructor_grading import scratch
from instructor_grading.regions import solved_release
from instructor_grading.workers import gradebook_url

from browser import jupyterlab_server
from test_feedback_pages import wrapper

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GUIDE = ROOT / "book" / "instructor_guide.md"
IMAGES = ROOT / "book" / "images" / "formgrader"
ASSIGNMENT = "ps6_poisson"
VIEWPORT = {"width": 1200, "height": 800}
# In the order of the click path; the guide shows every one of them.
SCREENSHOTS = ("nbgrader-menu.png", "manage-assignments.png", "manual-grading.png", "notebooks.png",
               "submissions.png", "submission-nav.png", "written-answer.png", "graded.png")
# The student's own answer to Task 5 (plain text: formgrader's page typesets math with MathJax from a CDN,
# which the test blocks), and the points and comment the instructor gives it.
STUDENT = "ada"
ANSWER = ("(a) The log-likelihood is concave (its Hessian -X^T W X is negative definite) and near the maximum it "
          "is almost a quadratic, which Newton's method maximises exactly: the error is squared at every step. "
          "Gradient ascent uses one `lr` in every direction, so it converges only linearly. With the log link "
          "the Hessian does not depend on y, so it equals the expected information and Fisher scoring takes "
          "the same steps.\n\n"
          "(b) The coefficient of `new_model` falls by about 1 per step and the log-likelihood keeps increasing: "
          "the 15 counts are all 0, so the fit pushes their rate to 0, i.e. the coefficient to minus infinity. "
          "The supremum is never reached, so there is no MLE.")
MARK, COMMENT = 2.5, "(a) complete. (b) right, but what would you change? A Gaussian prior (an L2 penalty) makes the MAP finite."


def written_cell(source) -> tuple[str, float]:
    """The ``(grade_id, points)`` of the assignment's one written answer graded by hand."""
    cells = [cell.metadata.nbgrader for cell in source.cells
             if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")]
    assert len(cells) == 1, f"{ASSIGNMENT} should have one graded written answer; found {len(cells)}"
    return cells[0]["grade_id"], cells[0]["points"]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The scratch course with the student's submission, autograded."""
    course = scratch.scratch_course(tmp_path_factory.mktemp("formgrader") / "course", [ASSIGNMENT],
                                    solutions=ROOT / "solutions", timeout=60)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    grade_id, _ = written_cell(source)
    notebook = solved_release(release, source)
    [cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    cell.source = ANSWER
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / f"{ASSIGNMENT}.ipynb")
    wrapper("autograde", course=course)
    return course


def is_png(path: Path) -> bool:
    """``path`` holds a PNG image that decodes."""
    with Image.open(path) as image:
        image.load()
        return image.format == "PNG" and image.width > 0 and image.height > 0


def test_the_guide_shows_every_screenshot_with_alt_text():
    """The committed screenshots are the test's, decode as PNG, and the guide shows each with a real alt text."""
    assert sorted(p.name for p in IMAGES.iterdir()) == sorted(SCREENSHOTS), \
        "book/images/formgrader/ differs from the screenshots of the test; run it with UPDATE_SCREENSHOTS=1"
    assert all(is_png(IMAGES / name) for name in SCREENSHOTS)
    guide = GUIDE.read_text(encoding="utf-8")
    shown = re.findall(r"^ *```\{(?:figure|image)\} images/formgrader/(\S+)$", guide, re.M)
    assert sorted(shown) == sorted(SCREENSHOTS)
    # Every image of the guide (a MyST directive) states in words what it shows; none is Markdown's ![]().
    directives = re.findall(r"^ *```\{(?:figure|image)\}[^\n]*\n((?: *:[^\n]*\n)*)", guide, re.M)
    assert len(directives) == guide.count("{figure}") + guide.count("{image}")
    alts = [re.search(r"^ *:alt: (.+)$", options, re.M) for options in directives]
    assert all(alt and len(alt.group(1).split()) >= 6 for alt in alts), alts
    assert not re.search(r"!\[[^\]]*\]\(", guide), "an image in Markdown syntax; use a figure with :alt:"


def clip_to(page, locator, margin: int = 12) -> dict:
    """The viewport's width, from its top down to ``locator``'s bottom edge."""
    box = locator.bounding_box()
    return {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": min(box["y"] + box["height"] + margin,
                                                                      VIEWPORT["height"])}


def saved(page, kind: str):
    """Wait for formgrader's PUT of a grade or a comment (it saves when the box loses focus)."""
    return page.expect_response(lambda r: f"/formgrader/api/{kind}/" in r.url and r.request.method == "PUT")


@pytest.mark.slow
@pytest.mark.browser
def test_instructor_grades_a_written_answer_in_formgrader(browser, course, tmp_path):
    """The guide's click path saves the written answer's points and comment; `make grades` has the new total."""
    from nbgrader.api import Gradebook
    from playwright.sync_api import expect

    shots = IMAGES if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    grade_id, points = written_cell(source)
    db_url, course_id = gradebook_url(course)
    with Gradebook(db_url, course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, STUDENT)
        assert grade.needs_manual_grade and grade.manual_score is None
        autograded = gradebook.find_submission(ASSIGNMENT, STUDENT).score
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    assert autograded <= max_score - points  # the written answer's points are not in yet
    total = autograded + MARK

    with jupyterlab_server(course, tmp_path / "jupyter") as (base_url, token):
        context = browser.new_context(viewport=VIEWPORT)
        # Only the server's own pages: the submission page asks a CDN for MathJax, and works without it.
        context.route(lambda url: not url.startswith(base_url + "/"), lambda route: route.abort())
        try:
            page = context.new_page()
            # JupyterLab in the course folder: Nbgrader -> Formgrader opens the course's formgrader in a tab.
            page.goto(f"{base_url}/lab?token={token}")
            page.get_by_role("menuitem", name="Nbgrader").click()
            menu = page.get_by_role("menu")
            expect(menu.get_by_role("menuitem", name="Formgrader", exact=True)).to_be_visible()
            box = menu.bounding_box()
            page.screenshot(path=shots / "nbgrader-menu.png", clip={
                "x": 0, "y": 0, "width": box["x"] + box["width"] + 16, "height": box["y"] + box["height"] + 16})
            menu.get_by_role("menuitem", name="Formgrader", exact=True).click()
            expect(page.frame_locator("iframe").get_by_role("link", name=ASSIGNMENT)).to_be_visible()

            # The same pages at /formgrader, full width: Manage Assignments, from the course's configuration.
            page.goto(f"{base_url}/formgrader")
            assert "'course_id': 'scratch'" in page.locator("#collapseConfig pre").text_content()
            table = page.locator("table", has=page.get_by_role("link", name=ASSIGNMENT))
            expect(table.locator("tbody tr")).to_have_count(1)
            page.screenshot(path=shots / "manage-assignments.png", clip=clip_to(page, table))

            page.get_by_role("link", name="Manual Grading").click()
            link = page.locator("#main-table").get_by_role("link", name=ASSIGNMENT)
            expect(link).to_be_visible()
            page.screenshot(path=shots / "manual-grading.png", clip=clip_to(page, page.locator("table")))
            link.click()
            row = page.locator("#main-table tr", has=page.get_by_role("link", name=ASSIGNMENT))
            expect(row.locator(".needs-manual-grade .glyphicon-ok")).to_be_visible()
            page.screenshot(path=shots / "notebooks.png", clip=clip_to(page, page.locator("table")))
            row.get_by_role("link", name=ASSIGNMENT).click()
            list_url = page.url
            row = page.locator("#main-table tr", has=page.get_by_role("link", name="Submission #1"))
            expect(row.locator(".needs-manual-grade .glyphicon-ok")).to_be_visible()
            page.screenshot(path=shots / "submissions.png", clip=clip_to(page, page.locator("table")))

            # The submission: a score and a comment for the written answer.
            row.get_by_role("link", name="Submission #1").click()
            assert page.locator("a.name-shown").first.text_content().strip() == STUDENT
            page.screenshot(path=shots / "submission-nav.png", clip=clip_to(page, page.locator("nav"), margin=0))
            cell = page.locator(".nbgrader_cell", has=page.locator(f"#{grade_id}"))
            expect(cell.locator(".text_cell_render")).to_contain_text(ANSWER[:40])
            score, comment = cell.locator(f"#{grade_id}"), cell.locator(f"#{grade_id}-comment")
            # formgrader's script has loaded the grade (it marks the box) and the comment (it sets a placeholder)
            expect(score).to_have_class(re.compile(r"\bneeds_manual_grade\b"))
            expect(comment).to_have_attribute("placeholder", re.compile("."))
            with saved(page, "grade") as response:
                score.fill(f"{MARK:g}")
                comment.click()
            assert response.value.ok
            with saved(page, "comment") as response:
                comment.fill(COMMENT)
                comment.blur()
            assert response.value.ok
            cell.screenshot(path=shots / "written-answer.png")

            # Next, after the last submission, is back at the list: the total has the manual points.
            page.get_by_role("link", name="Next").click()
            page.wait_for_url(list_url)
            expect(row.locator(".score")).to_have_text(f"{total:g} / {max_score:g}")
            expect(row.locator(".written-score")).to_have_text(f"{MARK:g} / {points:g}")
            expect(row.locator(".needs-manual-grade .glyphicon-ok")).to_have_count(0)
            page.screenshot(path=shots / "graded.png", clip=clip_to(page, page.locator("table")))
        finally:
            context.close()

    assert sorted(p.name for p in shots.iterdir()) == sorted(SCREENSHOTS)
    assert all(is_png(shots / name) for name in SCREENSHOTS)
    with Gradebook(db_url, course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, STUDENT)
        assert (grade.manual_score, grade.score, grade.needs_manual_grade) == (MARK, MARK, False)
        assert gradebook.find_comment(grade_id, ASSIGNMENT, ASSIGNMENT, STUDENT).manual_comment == COMMENT
        assert gradebook.find_submission(ASSIGNMENT, STUDENT).score == total

    # `make grades`: the export has the student's total with the manual points.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    export = subprocess.run([str(BIN / "nbgrader"), "export", "--to", "grades.csv", "--log-level=WARN"],
                            cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert export.returncode == 0, export.stderr[-3000:]
    with open(course / "grades.csv", newline="", encoding="utf-8") as file:
        exported = [(row["student_id"], row["assignment"], float(row["score"])) for row in csv.DictReader(file)]
    assert exported == [(STUDENT, ASSIGNMENT, total)]
