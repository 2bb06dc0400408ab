"""What every benchmark shares: the result record, timing, and the pinned thread count."""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch

from . import THREADS

torch.set_num_threads(THREADS)

__all__ = ["Figure", "THREADS", "interleaved_medians", "median_seconds", "submit_solved"]


@dataclass
class Figure:
    """One measured number with its target.

    ``target`` is None for a figure that is reported for information only
    (status "info");
    otherwise the figure passes when ``value <= target`` (``better="lower"``)
    or ``value >= target`` (``better="higher"``).
    """

    key: str
    label: str
    value: float
    unit: str
    target: float | None = None
    better: str = "lower"
    detail: str = ""
    failed: bool = False  # the measured thing did not work (a build or grading error): always a MISS

    @property
    def status(self) -> str:
        if self.failed:
            return "MISS"
        if self.target is None:
            return "info"
        ok = self.value <= self.target if self.better == "lower" else self.value >= self.target
        return "PASS" if ok else "MISS"

    @property
    def measured(self) -> str:
        return _format(self.value, self.unit)

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return ("<= " if self.better == "lower" else ">= ") + _format(self.target, self.unit)

    def as_dict(self) -> dict:
        return {**asdict(self), "status": self.status, "measured": self.measured, "target_text": self.target_text}


def _format(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:,.1f}x" if value < 100 else f"{value:,.0f}x"
    if unit == "rel":
        return f"{value:.1e}"
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "steps/s":
        return f"{value:,.0f} steps/s"
    return f"{value:g} {unit}"


def median_seconds(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, after one untimed warm-up call."""
    return interleaved_medians({"fn": fn}, repeats)["fn"]


def interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median wall time of each function, timed in turn within every round.

    Interleaving puts the candidates under the same machine load (the CPU is
    shared), so their ratio is steadier than that of two separate runs.
    """
    for fn in fns.values():
        fn()  # warm-up: first-call allocations and lazy initialisation
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def submit_solved(course, assignment: str, students: list[str], *, release, source) -> None:
    """Each of ``students`` submits the solved release of ``assignment`` to ``course/submitted``.

    ``release`` and ``source`` are the course's release and source folders (they hold
    ``<assignment>/<notebook>.ipynb``); the solution code goes into the release's answer cells.
    """
    import nbformat

    from instructor_grading.regions import solved_release

    for path in sorted((release / assignment).glob("*.ipynb")):
        solved = solved_release(nbformat.read(path, 4), nbformat.read(source / assignment / path.name, 4))
        for student in students:
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(solved, folder / path.name)
