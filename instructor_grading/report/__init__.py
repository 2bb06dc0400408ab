"""``make report``: where the class struggled, one page per assignment (``reports/``).

- :mod:`.data`: the statistics as plain data, from the gradebook, the grading
  records, the class's grades (late penalties), the similarity check and a
  new preflight of ``submitted/``;
- :mod:`.figures`: the SVG figures (light and dark) and their alt text;
- :mod:`.html`: the pages, from the jinja2 templates in ``templates/``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["build_report", "report_command"]


def build_report(course: Path | str = ".", folder: Path | str | None = None) -> Path:
    """Write the report of ``course`` into ``folder`` (default ``<course>/reports``); return its index page."""
    from .data import class_report
    from .html import write_report

    course = Path(course).resolve()
    return write_report(class_report(course), Path(folder) if folder else course / "reports")


def report_command(course: Path | str = ".", *, log=print) -> int:
    """``python -m instructor_grading report``: write the report, say where and how long it took."""
    import time

    started = time.monotonic()
    index = build_report(course)
    log(f"wrote the report to {index.parent}/ (open {index}) in {time.monotonic() - started:.1f} s")
    return 0
