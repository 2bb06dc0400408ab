"""Figure 5: nbgrader autograde, seconds per notebook for each assignment, against the kernel floor.

In a private copy of the course: ``nbgrader generate_assignment`` for every
assignment in ``solutions/``, then the solution notebooks are submitted by a
"perfect" student and graded with ``nbgrader autograde`` (the real CLI, the
course's ``nbgrader_config.py``). Every autograded cell must score full
marks, otherwise the timing measured a broken notebook; the written answers
wait for a human and are not counted.

The floor is what every graded notebook pays before its first answer cell: a
kernel starting and running ``import torch, mle_helpers`` (through nbclient,
as nbgrader executes notebooks), then shutting down. A notebook that uses
``torch.optim`` pays more: torch imports ``torch._dynamo`` when the first
optimiser is made (about 2 s); its floor includes that.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ._subprocess import BIN, private_copy, tail, timed_run
from .common import Figure

TARGET_SECONDS, FLOOR_REPEATS, STUDENT = 8.0, 3, "perfect"


FLOOR_CODE = "import torch, mle_helpers"
OPTIM_FLOOR_CODE = FLOOR_CODE + "\ntorch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"


def kernel_floor_seconds(code: str = FLOOR_CODE) -> float:
    """Median time for a fresh kernel to start, run ``code``, and stop (as nbgrader's config stops it)."""
    times = []
    for _ in range(FLOOR_REPEATS):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        start = time.perf_counter()
        NotebookClient(notebook, kernel_name="python3", timeout=120, shutdown_kernel="immediate").execute()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _auto_score(root: Path, assignment: str) -> tuple[float, float]:
    """Points scored and possible on the autograded cells (manually graded answers left out)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        grades = [grade for notebook in gradebook.find_submission(assignment, STUDENT).notebooks
                  for grade in notebook.grades if grade.auto_score is not None]
        return sum(g.auto_score for g in grades), sum(g.max_score for g in grades)


def run() -> list[Figure]:
    floor, optim_floor = kernel_floor_seconds(), kernel_floor_seconds(OPTIM_FLOOR_CODE)
    figures = [Figure("autograde.floor", "Kernel start + import torch, mle_helpers (the floor)", floor, "s",
                      detail=f"nbclient, median of {FLOOR_REPEATS}"),
               Figure("autograde.floor_optim", "The floor + a first torch.optim optimiser (imports torch._dynamo)",
                      optim_floor, "s", detail=f"nbclient, median of {FLOOR_REPEATS}")]
    nbgrader = str(BIN / "nbgrader")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        root = private_copy(Path(tmp) / "course")
        assignments = sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb"))
        for assignment in dict.fromkeys(assignments):
            notebooks = sorted((root / "solutions" / assignment).glob("*.ipynb"))
            _, generated = timed_run([nbgrader, "generate_assignment", assignment, "--force", "--log-level=WARN"], root)
            submitted = root / "submitted" / STUDENT / assignment
            submitted.mkdir(parents=True)
            for notebook in notebooks:
                shutil.copy(notebook, submitted / notebook.name)
            seconds, graded = timed_run([nbgrader, "autograde", assignment, "--student", STUDENT, "--force",
                                         "--log-level=WARN"], root)
            per_notebook = seconds / len(notebooks)
            if generated.returncode or graded.returncode:
                problem = f"nbgrader failed (exit {generated.returncode or graded.returncode})"
                print(tail(generated if generated.returncode else graded))
            else:
                score, max_score = _auto_score(root, assignment)
                problem = "" if score == max_score else f"NOT FULL MARKS: {score:g} / {max_score:g} autograded points"
            uses_optim = any("torch.optim" in cell.source for n in notebooks
                             for cell in nbformat.read(n, as_version=4).cells if cell.cell_type == "code")
            detail = problem or (f"{score:g} / {max_score:g} autograded points; {per_notebook - floor:.1f} s above "
                                 + (f"the floor, {per_notebook - optim_floor:.1f} s above the torch.optim floor"
                                    if uses_optim else "the floor"))
            figures.append(Figure(f"autograde.{assignment}", f"Autograde {assignment}, per notebook", per_notebook,
                                  "s", target=TARGET_SECONDS, detail=detail, failed=bool(problem)))
    return figures
