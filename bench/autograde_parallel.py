"""Autograde throughput: seconds per notebook, serial (--jobs 1) vs parallel (--jobs N).

Part of ``make bench`` (``python -m bench autograde_parallel``: 20 students of
the first assignment, 2 jobs), or alone, from the repository root::

    python bench/autograde_parallel.py [--assignment ID] [--students 20] [--jobs 2]

In two scratch courses (see ``instructor_grading.scratch.scratch_course``) the same
class is graded by ``python -m instructor_grading autograde``: every
student submits the solved release of one assignment (default: the first in
solutions/). It prints the seconds per notebook of each run, the ratio, and
checks that both runs gave every student the same grade.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from instructor_grading import scratch, scores

try:
    from .common import Figure, submit_solved
except ImportError:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.common import Figure, submit_solved

ROOT = Path(__file__).resolve().parents[1]


def build_class(root: Path, assignment: str, students: int) -> Path:
    course = scratch.scratch_course(root, [assignment], solutions=ROOT / "solutions")
    submit_solved(course, assignment, [f"student{i:03d}" for i in range(students)],
                  release=course / "release", source=course / "source")
    return course


def grade(course: Path, jobs: int) -> float:
    """Wall-clock seconds of one `autograde --jobs N` run over the whole class."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", str(jobs),
                          "--course", str(course)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"autograde --jobs {jobs} failed (exit {run.returncode}):\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return seconds


def measure(assignment: str, students: int, jobs: int) -> tuple[float, float, list[str]]:
    """Seconds per notebook serially and with ``jobs`` workers, and the grades (the same in both runs)."""
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        runs = {}
        for n_jobs in (1, jobs):
            course = build_class(Path(tmp) / f"jobs{n_jobs}", assignment, students)
            notebooks = len(list((course / "submitted").rglob("*.ipynb")))
            seconds = grade(course, n_jobs)
            runs[n_jobs] = (seconds / notebooks, scores.scores(f"sqlite:///{course / 'gradebook.db'}"))
    (serial, serial_scores), (parallel, parallel_scores) = runs[1], runs[jobs]
    if serial_scores != parallel_scores:
        sys.exit("the serial and parallel runs gave different grades")
    return serial, parallel, sorted({f"{score:g}/{max_score:g}" for score, max_score in serial_scores.values()})


def _first_assignment() -> str:
    solutions = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    return solutions[0] if solutions else scratch.DEMO_ASSIGNMENT


def run(students: int = 20, jobs: int = 2) -> list[Figure]:
    assignment = _first_assignment()
    serial, parallel, grades = measure(assignment, students, jobs)
    detail = f"{students} students of {assignment}, make autograde; the same grades in both runs ({', '.join(grades)})"
    return [Figure("class.serial", "Grading a class: seconds per notebook, JOBS=1", serial, "s", detail=detail),
            Figure("class.parallel", f"Grading a class: seconds per notebook, JOBS={jobs}", parallel, "s",
                   detail=detail),
            Figure("class.speedup", f"Grading a class: JOBS={jobs} speed-up over JOBS=1", serial / parallel, "x",
                   detail=f"{os.cpu_count()} CPUs")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default=_first_assignment())
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.students < 1 or args.jobs < 2:
        parser.error(f"need --students >= 1 and --jobs >= 2; got {args.students}, {args.jobs}")
    serial, parallel, grades = measure(args.assignment, args.students, args.jobs)
    print(f"assignment {args.assignment}: {args.students} students, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  serial   (--jobs 1): {serial:6.2f} s per notebook")
    print(f"  parallel (--jobs {args.jobs}): {parallel:6.2f} s per notebook")
    print(f"  speed-up: {serial / parallel:.2f}x   (same grades in both runs: {', '.join(grades)}; "
          f"manually graded points are not autograded)")


if __name__ == "__main__":
    main()
