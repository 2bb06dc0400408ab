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
optimiser is made (the difference of the two floors in the results); its floor includes that.

The target applies to what an instructor pays per notebook when grading a
class: ``CLASS_SIZE`` perfect students per assignment graded in one
``make autograde`` run (``instructor_grading.workers.autograde``, one job). With one
worker the submissions are graded one after another in the order of
(assignment, student), so the time between two "graded" lines is the cost
of one notebook; the median of those intervals is the figure. The one-off
``nbgrader autograde`` of a single notebook is reported beside it: it also
pays nbgrader's start-up, which a class run pays once.
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
from .common import Figure, submit_solved

TARGET_SECONDS, FLOOR_REPEATS, STUDENT, CLASS_SIZE = 8.0, 3, "perfect", 4


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


def class_seconds_per_notebook(root: Path, assignments: list[str]) -> dict[str, float]:
    """Median seconds between consecutive graded submissions (progress lines) of one ``make autograde`` run, per assignment."""
    from instructor_grading.workers import autograde, graded_in

    for assignment in assignments:
        submit_solved(root, assignment, [f"class{i:02d}" for i in range(CLASS_SIZE)],
                      release=root / "exercises", source=root / "solutions")
    events = []

    def log(line: str) -> None:
        graded = graded_in(line)
        if graded:
            events.append((time.perf_counter(), graded[1]))

    table, problems = autograde(root, 1, log=log)
    if problems:
        raise RuntimeError(f"make autograde reported problems: {[str(p) for p in problems]}")
    short = sorted({key for key, score in table.items() if score != table[(STUDENT, key[1])]})
    if short:  # every student submitted the perfect notebook, checked at full marks above
        raise RuntimeError(f"make autograde gave these submissions fewer points than the perfect one: {short}")
    intervals = {a: [] for a in assignments}
    for (before, _), (after, assignment) in zip(events, events[1:]):  # the first includes the worker's start
        intervals[assignment].append(after - before)
    return {a: statistics.median(v) for a, v in intervals.items() if v}


def run() -> list[Figure]:
    floor, optim_floor = kernel_floor_seconds(), kernel_floor_seconds(OPTIM_FLOOR_CODE)
    figures = [Figure("autograde.floor", "Kernel start + import torch, mle_helpers (the floor)", floor, "s",
                      detail=f"nbclient, median of {FLOOR_REPEATS}"),
               Figure("autograde.floor_optim", "The floor + a first torch.optim optimiser (imports torch._dynamo)",
                      optim_floor, "s", detail=f"nbclient, median of {FLOOR_REPEATS}")]
    nbgrader = str(BIN / "nbgrader")
    one_off, floors = {}, {}
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
            one_off[assignment] = per_notebook
            if generated.returncode or graded.returncode:
                problem = f"nbgrader failed (exit {generated.returncode or graded.returncode})"
                print(tail(generated if generated.returncode else graded))
            else:
                score, max_score = _auto_score(root, assignment)
                problem = "" if score == max_score else f"NOT FULL MARKS: {score:g} / {max_score:g} autograded points"
            uses_optim = any("torch.optim" in cell.source for n in notebooks
                             for cell in nbformat.read(n, as_version=4).cells if cell.cell_type == "code")
            floors[assignment] = optim_floor if uses_optim else floor
            figures.append(Figure(f"autograde.{assignment}.one_off", f"nbgrader autograde {assignment}, one notebook",
                                  per_notebook, "s", detail=problem or f"{score:g} / {max_score:g} autograded points;"
                                  " includes nbgrader's start-up", failed=bool(problem)))
        in_class = class_seconds_per_notebook(root, list(one_off))
    for assignment, seconds in in_class.items():
        above = seconds - floors[assignment]
        figures.append(Figure(
            f"autograde.{assignment}", f"Autograde {assignment}, per notebook in a class", seconds, "s",
            target=TARGET_SECONDS,
            detail=f"make autograde JOBS=1, {CLASS_SIZE} students, median; {above:.1f} s above "
                   + ("the torch.optim floor" if floors[assignment] == optim_floor else "the floor")))
    return figures
