"""A student's feedback page stands alone: math typeset, no request, readable in light and dark.

nbgrader's release copies only the ``.html`` file to the student, so the page
is opened here copied alone into an empty folder, in an offline chromium,
with every request recorded. One failing student of ps1_closed_form is graded
in a scratch course configured like the course; the same page must come out
of every route (``make feedback``, ``nbgrader generate_feedback``, the
formgrader's API). Screenshots go to ``_build/screenshots/feedback-*.png``.
"""
from __future__ import annotations

import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from instructor_grading import scratch
from instructor_grading.config import course_config
from instructor_grading.feedback import TEMPLATES, FeedbackExporter, tex_to_mathml
from instructor_grading.regions import HIDDEN_TESTS, region_lines, solved_release

from axe import audit, describe, serious
from test_assignments import WRONG

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "ps1_closed_form"
STUDENT = "one_wrong"
SCREENSHOTS = ROOT / "_build" / "screenshots"
# The student's written answers, with the math a student writes: inline, displayed, \\( \\).
WRITTEN = {
    "why_log_reasons": (
        "Analytic: the log turns the product into a sum, $\\log \\prod_i p(x_i \\mid \\theta) = "
        "\\sum_i \\log p(x_i \\mid \\theta)$, and a sum is easy to differentiate:\n\n"
        "$$\\frac{\\partial \\ell}{\\partial \\mu} = \\sum_{i=1}^n \\frac{x_i - \\mu}{\\sigma^2} = 0 "
        "\\quad\\Rightarrow\\quad \\hat\\mu = \\frac{1}{n}\\sum_{i=1}^n x_i.$$\n\n"
        "Numerical: a product of many densities underflows to $0$; \\\\(\\log\\\\) keeps it finite."),
    "why_log_estimator": "No: $\\log$ is strictly increasing, so $\\arg\\max_\\theta L(\\theta) = "
                         "\\arg\\max_\\theta \\log L(\\theta)$.",
}
RAW_TEX = ("$", "\\frac", "\\(", "\\hat", "\\sum", "\\mathcal")


def visible_text(page_html: str) -> str:
    """The page's text without tags and style sheets (as the leak tests of test_assignments.py read it)."""
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style.*?</style>", "", page_html, flags=re.S)))


def wrapper(*args, course: Path) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "instructor_grading", *args, "--course", str(course)],
                         env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


# --------------------------------------------------------------------------- fast: the exporter alone

def test_course_config_writes_feedback_with_the_course_exporter():
    """nbgrader's CLI, formgrader and `make feedback` all read nbgrader_config.py: one exporter, one template."""
    config = course_config(ROOT)
    assert config.GenerateFeedback.exporter_class is FeedbackExporter
    # nbgrader puts its own template folder in front on every route; the course's stays first
    nbgrader_templates = "/somewhere/nbgrader/server_extensions/formgrader/templates"
    exporter = FeedbackExporter(extra_template_basedirs=[nbgrader_templates])
    assert exporter.extra_template_basedirs == [str(TEMPLATES), nbgrader_templates]
    assert exporter.template_name == "feedback"
    assert Path(exporter.environment.get_template("index.html.j2").filename).parent == TEMPLATES / "feedback"


@pytest.mark.parametrize("tex", [r"\frac{\partial \ell}{\partial \mu}", r"\mathcal N(\mu, \Sigma)",
                                 r"\lVert \mu_t - \bar x \rVert", r"x_i^\top \beta", r"k = \text{batch\_size}",
                                 r"\begin{aligned} a &= b \\ c &= d \end{aligned}"])
def test_formulas_become_mathml(tex):
    mathml = tex_to_mathml(tex, display=True)
    assert mathml.startswith('<math display="block">') and mathml.endswith("</math>")
    assert "\\" not in mathml, mathml


def test_a_formula_that_does_not_parse_is_shown_as_its_source():
    assert tex_to_mathml(r"\frac{1}{", display=False) == r'<code class="tex-error">$\frac{1}{$</code>'


def small_page(tmp_path: Path, outside: str = "http://127.0.0.1:9") -> Path:
    """A notebook with math in markdown and outputs, a figure, a script output and an image from ``outside``."""
    cell = new_code_cell("display(...)", outputs=[
        new_output("display_data", {"text/latex": r"$$\hat\theta = \frac{h}{h + t}$$", "text/plain": "<Math>"}),
        new_output("display_data", {"text/markdown": r"The MLE is $\bar x$.", "text/plain": "<Markdown>"}),
        new_output("display_data", {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                                                 "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "text/plain": "<Figure>"}),
        new_output("display_data", {"application/javascript": "document.title = 'ran'", "text/plain": "<JS>"}),
        new_output("display_data", {"text/html": f'<img alt="outside" src="{outside}/x.png">'
                                                 f'<link rel="stylesheet" href="{outside}/s.css">',
                                    "text/plain": "<HTML>"}),
    ])
    nb = new_notebook(cells=[new_markdown_cell("# Title\n\n$x_1, \\dots, x_n$ and\n\n$$\\sum_i \\log p(x_i)$$"), cell])
    resources = {"nbgrader": {"notebook": "small", "assignment": "small", "score": 1.0, "max_score": 2.0,
                              "late_penalty": 0}}
    body, _ = FeedbackExporter().from_notebook_node(nb, resources=resources)
    path = tmp_path / "small.html"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_page_has_no_script_no_mathjax_and_forbids_requests(tmp_path):
    page = small_page(tmp_path).read_text(encoding="utf-8")
    template_part = page.split('<img alt="outside"')[0]  # what the template wrote, before the student's HTML
    assert "<script" not in page.lower() and "mathjax" not in page.lower()
    loads = re.search(r"""<link\b|@import|url\(\s*['"]?(?!data:)""", template_part)
    assert not loads, f"the template loads a style sheet or font: {loads}"
    assert "default-src 'none'" in page  # its Content-Security-Policy: a student's output loads nothing either
    assert page.count("<math") == 4 and not [t for t in RAW_TEX if t in visible_text(page)]


@contextmanager
def recording_server():
    """A server on 127.0.0.1 that answers 404 and records every path asked for."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_a_students_outside_image_or_script_loads_nothing(browser, tmp_path):
    """Student outputs may hold a script or a link to another host: the page's own policy blocks both."""
    with recording_server() as (outside, hits):
        path = small_page(tmp_path, outside)
        context = browser.new_context()
        try:
            page = context.new_page()
            blocked = []
            page.on("requestfailed", lambda request: blocked.append((request.url, request.failure)))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            assert page.title() != "ran", "a script in an output ran"
            assert page.locator("math").count() == 4
            assert sorted(blocked) == [(f"{outside}/s.css", "csp"), (f"{outside}/x.png", "csp")]
        finally:
            context.close()
        assert hits == [], f"the page reached another host: {hits}"


# --------------------------------------------------------------------------- a graded student

def failing_submission(course: Path):
    """ps1 solved except one realistic mistake (test_assignments.WRONG) and written answers full of math."""
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    nb = solved_release(release, source)
    cell_id, right, wrong, _ = WRONG[ASSIGNMENT]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == cell_id:
            assert right in cell.source, f"WRONG[{ASSIGNMENT!r}] no longer matches the solution"
            cell.source = cell.source.replace(right, wrong)
        elif grade_id in WRITTEN:
            cell.source = WRITTEN[grade_id]
    # a figure of the student's own: it must travel inside the page
    nb.cells.append(new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.show()"))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The scratch course, the student's page as `make feedback` writes it, and the gradebook's scores."""
    course = scratch.scratch_course(tmp_path_factory.mktemp("feedback") / "course", [ASSIGNMENT],
                                    solutions=ROOT / "solutions", timeout=60)
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(failing_submission(course), folder / f"{ASSIGNMENT}.ipynb")
    wrapper("autograde", course=course)
    wrapper("feedback", course=course)
    page = course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        tests = {g.name: (g.score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"}
        total = (notebook.score, notebook.max_score)
    return {"course": course, "page": page, "html": page.read_text(encoding="utf-8"), "tests": tests, "total": total}


@pytest.mark.slow
def test_every_route_writes_the_same_page(graded):
    """`make feedback` (above), `nbgrader generate_feedback` and the formgrader's API give one page."""
    course, made = graded["course"], graded["html"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", ASSIGNMENT, "--force",
                          "--log-level=ERROR"], cwd=course, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert graded["page"].read_text(encoding="utf-8") == made, "nbgrader generate_feedback wrote another page"
    # The formgrader's own settings come first (its template and folder), nbgrader_config.py on top of them.
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    config.merge(course_config(course))
    graded["page"].unlink()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.generate_feedback(ASSIGNMENT, STUDENT, force=True)["success"]
    assert graded["page"].read_text(encoding="utf-8") == made, "the formgrader's route wrote another page"


@pytest.mark.slow
def test_the_page_shows_no_hidden_test(graded):
    text = visible_text(graded["html"])
    source = nbformat.read(graded["course"] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    hidden = {line.strip() for cell in source.cells for line in region_lines(cell.source, HIDDEN_TESTS)}
    checks = (ROOT / "instructor_grading" / "checks" / f"{ASSIGNMENT}.py").read_text().splitlines()
    # a line the student's own notebook holds too (the release's, or their code that a check repeats) is no leak
    own = [graded["course"] / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
           for folder in ("release", f"submitted/{STUDENT}")]
    public = {line.strip() for path in own for cell in nbformat.read(path, 4).cells
              for line in cell.source.splitlines()}
    secret = {line.strip() for line in [*hidden, *checks] if len(line.strip()) >= 15} - public
    assert len(secret) > 20
    shown = {line.strip() for line in text.splitlines()}
    assert not sorted(secret & shown), sorted(secret & shown)[:3]
    assert "HIDDEN TESTS" not in text and "instructor_grading" not in graded["html"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_alone_offline_typeset_readable_accessible(graded, browser, tmp_path, scheme):
    """The page copied alone into an empty folder, opened offline: math as MathML, no request at all,
    every graded cell's points and result in the table, each failed test's message, no serious axe violation."""
    alone = tmp_path / "alone" / graded["page"].name
    alone.parent.mkdir()
    shutil.copy(graded["page"], alone)
    url = alone.as_uri()
    # First as the student's browser reads it: its own policy must not block anything of its own.
    context = browser.new_context(offline=True, color_scheme=scheme)
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        assert errors == [], errors
    finally:
        context.close()
    # Then with its Content-Security-Policy switched off, so that any reference to another file or host
    # would really be requested (and recorded), and axe-core can be injected.
    context = browser.new_context(offline=True, color_scheme=scheme, bypass_csp=True,
                                  viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        requests, failed = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: failed.append(request.url))
        page.goto(url)
        page.wait_for_load_state("load")
        # data: URLs (the figure) are inside the file itself
        assert [u for u in requests if u != url and not u.startswith("data:")] == [], requests
        assert failed == []
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")

        # typeset: the instructions' and the student's math is MathML, no TeX shows
        assert page.locator("math").count() >= 30
        assert page.locator('math[display="block"]').count() >= 1
        body = page.inner_text("body")
        assert not [t for t in RAW_TEX if t in body], [t for t in RAW_TEX if t in body]
        assert page.locator(".tex-error").count() == 0
        assert page.locator("img[src^='data:image/png']").count() == 1

        # readable scores: the total, and each test's points and verdict in words
        score, max_score = graded["total"]
        assert f"{score:g} / {max_score:g}" in page.inner_text(".total")
        for grade_id, (got, most) in graded["tests"].items():
            row = page.locator(f"table.scores tr:has(a[href='#{grade_id}'])")
            verdict, points = row.locator("td").all_inner_texts()
            assert points == f"{got:g} / {most:g}"
            assert verdict.endswith("passed" if got == most else "failed"), (grade_id, verdict)
            if got < most:  # the check's message is there, in the test's own section
                message = page.locator(f"section[id='{grade_id}'] .output_error").first
                assert message.is_visible() and "CheckFailed" in message.inner_text()
        assert set(WRONG[ASSIGNMENT][3]) == {g for g, (got, most) in graded["tests"].items() if got < most}
        assert page.locator("table.scores tr.pending").count() == len(WRITTEN)  # graded by hand, not yet

        violations = audit(page)
        assert not serious(violations), describe(serious(violations))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"feedback-{scheme}.png"), full_page=True)
    finally:
        context.close()
