"""Feedback pages: ``make feedback``, ``nbgrader generate_feedback`` and formgrader write the same page.

Every route runs nbgrader's ``GenerateFeedback`` converter with the course's
``nbgrader_config.py``, which names :class:`FeedbackExporter` as its exporter.
Its template, ``templates/feedback/`` beside this file, shadows nbgrader's
``feedback`` template, so all routes write one page. nbgrader's release copies
only the ``.html`` file to the student, so that page stands alone:

- math is typeset when the page is written, as MathML (shown by current
  browsers with no script), instead of nbgrader's MathJax from a CDN;
- the course's CSS (the site's fonts and colours, light and dark through
  ``prefers-color-scheme``) and the code colours are inline; images are
  data URIs; the page holds no script, and its Content-Security-Policy
  forbids every request to another file or host, so a student's output that
  points elsewhere loads nothing either;
- a table of the points of every graded cell opens the page, each test
  marked passed or failed in words, not by colour alone.

The hidden tests stay out of it on every route: ``nbgrader_config.py`` adds
nbgrader's ``ClearHiddenTests`` to ``GenerateFeedback.preprocessors``, which
``nbgrader generate_feedback``, formgrader and this command all read. (A
hidden check never runs in the student's kernel, so no traceback can quote
one; the verdicts carry only the checks' messages.)
"""
from __future__ import annotations

import functools
from html import escape
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets import Unicode, default, validate

try:  # jinja2 >= 3 (nbconvert does the same)
    from jinja2 import pass_context
except ImportError:  # pragma: no cover
    from jinja2 import contextfilter as pass_context

__all__ = ["generate_feedback", "FeedbackExporter", "tex_to_mathml", "TEMPLATES"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The site's code colours (pydata-sphinx-theme's defaults): accessible-pygments' high-contrast styles.
PYGMENTS_LIGHT, PYGMENTS_DARK = "a11y-high-contrast-light", "a11y-high-contrast-dark"


def generate_feedback(course: Path | str = ".", *, student: str | None = None, assignment: str | None = None,
                      log=print) -> list[str]:
    """Write feedback HTML for every autograded submission (of ``student``, of ``assignment``); return the failures.

    Raises:
        ValueError: naming the value, if ``student`` or ``assignment`` has nothing in ``autograded/``.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .config import course_config

    course = Path(course).resolve()
    config = course_config(course)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    autograded = course / "autograded"
    folders = [folder for student_dir in (sorted(autograded.iterdir()) if autograded.is_dir() else [])
               for folder in sorted(p for p in student_dir.iterdir() if p.is_dir())
               if student in (None, student_dir.name) and assignment in (None, folder.name)]
    if not folders and (student or assignment):
        which = " and ".join(f"{kind} {value!r}" for kind, value in (("student", student), ("assignment", assignment))
                             if value is not None)
        raise ValueError(f"{which}: nothing in autograded/ to write feedback for; run `make autograde` first")
    failures = []
    for folder in folders:
        outcome = api.generate_feedback(folder.name, folder.parent.name, force=True)
        if outcome["success"]:
            log(f"feedback {folder.parent.name}/{folder.name}")
        else:
            failures.append(f"student {folder.parent.name!r}, assignment {folder.name!r}: feedback failed")
            log(failures[-1])
    return failures


@functools.cache
def _converter():
    from math_core import LatexToMathML  # the [instructor] stack's LaTeX-to-MathML-Core converter

    return LatexToMathML()


def tex_to_mathml(tex: str, *, display: bool) -> str:
    r"""The MathML of one formula (without its delimiters), ``display`` for a displayed one.

    A formula that does not parse (a student's ``$\frac{1}{$``) is shown as its
    source in a ``<code class="tex-error">``, so the page is written all the same.

    Example::

        >>> tex_to_mathml(r"\hat\mu", display=False)
        '<math><mover accent="true"><mi>μ</mi><mo stretchy="false">ˆ</mo></mover></math>'
    """
    from math_core import LatexError

    try:
        return _converter().convert_with_local_state(tex.strip(), displaystyle=display)
    except LatexError:
        delimiter = "$$" if display else "$"
        return f'<code class="tex-error">{escape(delimiter + tex + delimiter)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer (the delimiters Jupyter knows) with each formula as MathML."""

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, display=True)

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter made standalone: MathML, the course's CSS inline, no script.

    nbgrader sets ``HTMLExporter.template_name = "feedback"`` and its own
    template folder on every route; this exporter puts :data:`TEMPLATES` in
    front of whatever folders it is given, so its ``feedback`` template wins.
    """

    export_from_notebook = None  # not offered as an nbconvert format of its own
    course_title = Unicode("Maximum Likelihood Estimation with PyTorch",
                           help="The course's name at the top of each feedback page.").tag(config=True)

    @default("template_name")
    def _default_template_name(self):
        return "feedback"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        return [str(TEMPLATES)]

    @validate("extra_template_basedirs")
    def _course_templates_first(self, proposal):
        return [str(TEMPLATES)] + [d for d in proposal["value"] if Path(d).resolve() != TEMPLATES]

    @default("exclude_input_prompt")
    def _default_exclude_input_prompt(self):
        return True  # "In [7]:" says nothing to a student reading feedback

    @default("exclude_output_prompt")
    def _default_exclude_output_prompt(self):
        return True

    @default("exclude_anchor_links")
    def _default_exclude_anchor_links(self):
        return True

    @default("embed_images")
    def _default_embed_images(self):
        return True  # a markdown image next to the notebook would not travel with the page

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's ``markdown2html`` (markdown cells, outputs, grader comments) with MathML math."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def latex2html(self, source: str) -> str:
        """A ``text/latex`` output (``$...$``, ``$$...$$``, ``\\begin{...}``) with its math as MathML."""
        return MarkdownWithMath(renderer=MathMLRenderer(escape=True, exclude_anchor_links=True)).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("latex2html", self.latex2html)

    def _preprocess(self, nb, resources):
        nb, resources = super()._preprocess(nb, resources)  # nbgrader's GetGrades among them
        _mark_waiting_for_grader(nb, resources.get("nbgrader", {}))
        return nb, resources

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        resources["course_feedback"] = {"course_title": self.course_title, "pygments_css": _pygments_css()}
        return resources


def _mark_waiting_for_grader(nb, info: dict) -> None:
    """Give the cells that still wait for a grader's points the score None (nbgrader's GetGrades says 0)."""
    if not {"db_url", "notebook", "assignment", "student"} <= info.keys():
        return
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
        except MissingEntry:
            return
        waiting = {g.name for g in notebook.grades if g.needs_manual_grade and g.manual_score is None}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") in waiting and "score" in meta:
            meta["score"] = None


@functools.cache
def _pygments_css() -> str:
    """The code colours of the site, light and (with ``prefers-color-scheme: dark``) dark."""
    import logging

    from pygments.formatters import HtmlFormatter

    # accessible-pygments calls logging.basicConfig(level=INFO) when its styles are imported, which
    # would print every INFO line of nbgrader's: the root logger is put back as it was.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        light = HtmlFormatter(style=PYGMENTS_LIGHT).get_style_defs(".highlight")
        dark = HtmlFormatter(style=PYGMENTS_DARK).get_style_defs(".highlight")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}"
