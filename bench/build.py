"""Figure 4: the whole book, clean build and no-change rebuild, and each chapter's execution time.

Builds a private copy of the repository exactly as ``make book`` does
(``jupyter-book build . -W -n --keep-going``), first from nothing, then again
with nothing changed (every notebook comes from the execution cache). The
per-chapter times are the ``execution_seconds`` that the execution cache
(jupyter-cache, in ``_build/.jupyter_cache``) recorded for each notebook
during the clean build.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from jupyter_cache import get_cache

from ._subprocess import BIN, private_copy, tail, timed_run
from .common import Figure

CLEAN_TARGET, REBUILD_TARGET = 120.0, 10.0


def chapter_seconds(root: Path) -> dict[str, float]:
    """Execution time of every notebook in the book's execution cache, keyed by its path in the book."""
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    return {
        Path(record.uri).relative_to(root).as_posix(): record.data.get("execution_seconds", float("nan"))
        for record in cache.list_cache_records()
    }


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        root = private_copy(Path(tmp) / "course")
        command = [str(BIN / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]
        clean_seconds, clean = timed_run(command, root)
        rebuild_seconds, rebuild = timed_run(command, root)
        chapters = chapter_seconds(root)

    def outcome(result):
        return "build succeeded" if result.returncode == 0 else f"BUILD FAILED (exit {result.returncode})"

    failed = [r for r in (clean, rebuild) if r.returncode != 0]
    if failed:
        print(tail(failed[0]))
    figures = [
        Figure("build.clean", "Book: clean build", clean_seconds, "s", target=CLEAN_TARGET,
               detail=f"{len(chapters)} notebooks executed; {outcome(clean)}", failed=clean.returncode != 0),
        Figure("build.rebuild", "Book: rebuild with no change", rebuild_seconds, "s", target=REBUILD_TARGET,
               detail=outcome(rebuild), failed=rebuild.returncode != 0),
    ]
    total = sum(chapters.values())
    for page, seconds in sorted(chapters.items(), key=lambda item: -item[1]):
        figures.append(Figure(f"build.exec.{page}", f"Execution of {page}", seconds, "s",
                              detail=f"{100 * seconds / total:.0f}% of all notebook execution"))
    return figures
