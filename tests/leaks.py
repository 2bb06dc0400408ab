"""What a student must never see: the distinctive code lines of the trusted checks."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def check_code_lines(notebooks) -> set[str]:
    """Every distinctive code line of the trusted checks that the ``notebooks`` (the release and the
    solutions) do not also hold: a student's own code may well contain `optimizer.step()`."""
    public = {line.strip() for path in notebooks
              for cell in nbformat.read(path, 4).cells for line in cell.source.splitlines()}
    lines = set()
    for path in (ROOT / "instructor_grading" / "checks").glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) > 15 and not line.startswith(("#", '"""', "from ", "import ", "@", "def ", "return")):
                lines.add(line)
    return lines - public


def shown_lines(html: str) -> set[str]:
    """The text lines of an HTML page, as a reader sees them."""
    return {line.strip() for line in unescape(re.sub(r"<[^>]+>", "", html)).splitlines()}
