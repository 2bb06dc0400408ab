"""The assignments' sources: ``solutions/<id>.md`` (MyST Markdown) to ``solutions/<id>/<id>.ipynb``.

A maintainer edits one readable file per assignment, a jupytext MyST
notebook like the chapters, whose cells carry nbgrader's metadata. This
module writes nbgrader's source notebook from it (``make assignments`` runs
it before ``nbgrader generate_assignment``). The ``.md`` sits beside the
assignment folder, not in it: nbgrader copies every other file of the folder
into the release::

    python -m instructor_grading.sources [SOLUTIONS_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

__all__ = ["KERNELSPEC", "source_notebook", "write_sources"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def source_notebook(markdown: Path):
    """nbgrader's source notebook of the assignment written in ``markdown`` (named ``<id>.md``).

    Cell ids are ``<id>-<index>``, so a regenerated notebook differs from the
    committed one only where the source changed.
    """
    nb = jupytext.read(markdown, fmt="md:myst")
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for index, cell in enumerate(nb.cells):
        cell.id = f"{markdown.stem}-{index:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.validate(nb)
    return nb


def write_sources(solutions: Path) -> list[Path]:
    """Write ``solutions/<id>/<id>.ipynb`` for every ``solutions/<id>.md``; return the notebooks written."""
    written = []
    for markdown in sorted(Path(solutions).glob("*.md")):
        path = markdown.parent / markdown.stem / f"{markdown.stem}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(source_notebook(markdown), path)
        written.append(path)
    return written


if __name__ == "__main__":
    for notebook in write_sources(Path(sys.argv[1] if len(sys.argv) > 1 else "solutions")):
        print(f"wrote {notebook}")
