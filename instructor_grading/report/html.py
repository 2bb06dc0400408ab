"""The report's pages: ``index.html`` and one ``<assignment>.html`` each, written with jinja2 (autoescaped).

Student ids, file names, check messages and code come from submissions and
are untrusted: the templates never mark anything safe. The CSS is the
feedback pages' (the course's look, light and dark) plus ``report.css``,
inline; the figures are SVG files in ``figures/``; the pages hold no script.
"""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..feedback import TEMPLATES as FEEDBACK_TEMPLATES
from ..similarity import THRESHOLD
from . import figures
from .data import REASONS, ClassReport

__all__ = ["write_report", "TEMPLATES"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
TOP_MESSAGES = 3  # failure messages shown per check; the rest fold into a <details>
SLOWEST = 5  # notebooks in the table of the slowest
LISTED = 12  # students named beside a failure message; more fold into a <details>


def _number(value) -> str:
    return "–" if value is None else figures._number(value)


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return "–"
    return f"{moment.astimezone(timezone.utc) if moment.tzinfo else moment:%Y-%m-%d %H:%M}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _number
    env.filters["percent"] = lambda share: f"{share:.0%}"
    env.filters["two_decimals"] = lambda r: f"{round(r, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"
    env.filters["utc"] = _utc
    return env


def _css() -> Markup:
    """The course's stylesheets (files of this repository, never student input), to inline unescaped."""
    return Markup((FEEDBACK_TEMPLATES / "feedback" / "feedback.css").read_text(encoding="utf-8") + "\n"
                  + (TEMPLATES / "report.css").read_text(encoding="utf-8"))


def write_report(report: ClassReport, folder: Path) -> Path:
    """Write the pages and figures of ``report`` into ``folder``; return the index page's path.

    ``folder/figures`` is replaced: no figure of an assignment that is gone stays behind.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "figures", ignore_errors=True)
    env = _environment()
    common = {"css": _css(), "course": str(report.course),
              "written": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}
    for a in report.assignments:
        drawn = {
            "scores": figures.score_histogram(list(a.totals.values()), a.max_score, folder / "figures",
                                              f"{a.name}-scores"),
            "cells": figures.cell_outcomes(a.cells, folder / "figures", f"{a.name}-cells"),
            "times": figures.grading_times(a.timings, folder / "figures", f"{a.name}-times"),
        }
        counts = Counter(p.reason for p in a.problems)
        page = env.get_template("assignment.html.j2").render(
            a=a, figures=drawn, reasons=[(r, counts[r]) for r in REASONS if counts[r]],
            multiple_notebooks=len({c.notebook for c in a.cells}) > 1,
            top_messages=TOP_MESSAGES, slowest=SLOWEST, listed=LISTED, threshold=THRESHOLD, **common)
        (folder / f"{a.name}.html").write_text(page, encoding="utf-8")
    index = folder / "index.html"
    index.write_text(env.get_template("index.html.j2").render(report=report, **common),
                     encoding="utf-8")
    return index
