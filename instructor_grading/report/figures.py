"""The report's figures: SVG files drawn by matplotlib (Agg), in the course's colour-blind-safe palette.

Every figure is drawn twice, for a light and a dark page (the page picks one
with ``<picture>`` and ``prefers-color-scheme``), and comes with alt text
that states in numbers what it shows.
"""
from __future__ import annotations

import io
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from mle_helpers.plotting import _STYLE_FILE, PALETTE

__all__ = ["Figure", "score_histogram", "cell_outcomes", "grading_times"]

# The page's colours (report.css) and the palette's colours that stand out on each background.
THEMES = {
    "light": {"background": "#ffffff", "text": "#222832", "grid": "#d1d5da",
              "bars": PALETTE[0], "marker": PALETTE[3]},
    "dark": {"background": "#121212", "text": "#ced6dd", "grid": "#48566b",
             "bars": PALETTE[5], "marker": PALETTE[1]},
}
# Full, partial and no points: colour and hatching, so that the parts differ without colour too.
OUTCOMES = [("full points", "full", PALETTE[2], ""), ("partial points", "partial", PALETTE[1], "//"),
            ("no points", "none", PALETTE[3], "xx")]
PX_PER_INCH = 96  # CSS pixels; the SVG's size in pt is the same size


@dataclass
class Figure:
    """One figure on disk: its light and dark SVG files (relative to the report folder) and its alt text."""

    light: str
    dark: str
    alt: str
    width: int  # CSS pixels
    height: int


def _number(x: float) -> str:
    """A score as people write it: 11, 7.5, 2.33."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if x == x else "n/a"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _draw(folder: Path, stem: str, size: tuple[float, float], draw, alt: str) -> Figure:
    """Call ``draw(fig, theme)`` for each theme and save ``<stem>-light.svg`` and ``<stem>-dark.svg``."""
    import matplotlib.style
    from matplotlib.figure import Figure as MplFigure

    folder.mkdir(parents=True, exist_ok=True)
    names = {}
    for name, theme in THEMES.items():
        with matplotlib.style.context([_STYLE_FILE, {
            "figure.facecolor": theme["background"], "axes.facecolor": theme["background"],
            "savefig.facecolor": theme["background"], "text.color": theme["text"],
            "axes.labelcolor": theme["text"], "xtick.color": theme["text"], "ytick.color": theme["text"],
            "axes.edgecolor": theme["grid"], "grid.color": theme["grid"], "patch.edgecolor": theme["background"],
            "hatch.color": theme["background"], "svg.hashsalt": stem, "svg.fonttype": "path"}]):
            fig = MplFigure(figsize=size, layout="constrained")
            draw(fig, theme)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        names[name] = f"{stem}-{name}.svg"
        (folder / names[name]).write_text(buffer.getvalue(), encoding="utf-8")
    prefix = folder.name
    return Figure(f"{prefix}/{names['light']}", f"{prefix}/{names['dark']}", alt,
                  round(size[0] * PX_PER_INCH), round(size[1] * PX_PER_INCH))


def score_histogram(totals: list[float], max_score: float, folder: Path, stem: str) -> Figure:
    """Histogram of the total scores (after the late penalty), with the median marked."""
    what = "total scores"
    if not totals:
        alt = f"Histogram of {what} out of {_number(max_score)}: no submission is graded yet"
    else:
        median, half = statistics.median(totals), max_score / 2
        below = sum(1 for t in totals if t < half)
        alt = (f"Histogram of {len(totals)} {what} out of {_number(max_score)}: median {_number(median)}, "
               f"lowest {_number(min(totals))}, highest {_number(max(totals))}, "
               f"{_plural(below, 'student')} below half marks ({_number(half)})")
    top = max(max_score, max(totals, default=0.0))
    if top <= 40 and float(top).is_integer():
        edges = [x - 0.5 for x in range(int(top) + 2)]  # one bar per whole point
    else:
        edges = [top * i / 20 for i in range(21)]

    def draw(fig, theme):
        ax = fig.subplots()
        ax.hist(totals, bins=edges, color=theme["bars"])
        if totals:
            ax.axvline(statistics.median(totals), color=theme["marker"], linestyle="--", linewidth=2,
                       label=f"median {_number(statistics.median(totals))}")
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False)  # above the bars
        ax.set_xlabel(f"{what} (out of {_number(max_score)})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(edges[0], edges[-1])

    return _draw(folder, stem, (6.4, 3.6), draw, alt)


def cell_outcomes(cells, folder: Path, stem: str) -> Figure:
    """One horizontal bar per graded cell: the shares of full, partial and no points (``data.CellStats``)."""
    shown = [c for c in cells if c.graded]
    if shown:
        hardest = min(shown, key=lambda c: (c.full, -c.none))
        alt = (f"Stacked bars of the share of students with full, partial and no points on each of "
               f"{_plural(len(shown), 'graded cell')}; fewest full points on {hardest.grade_id}: "
               f"{hardest.full:.0%} full, {hardest.partial:.0%} partial, {hardest.none:.0%} none")
        best = max(shown, key=lambda c: c.full)
        alt += f"; most full points on {best.grade_id}: {best.full:.0%}"
    else:
        alt = "Stacked bars of full, partial and no points per graded cell: no cell has a score yet"

    def draw(fig, theme):
        ax = fig.subplots()
        labels = [c.grade_id for c in shown]
        left = [0.0] * len(shown)
        for label, attribute, colour, hatch in OUTCOMES:
            widths = [100 * getattr(c, attribute) for c in shown]
            ax.barh(labels, widths, left=left, color=colour, hatch=hatch, label=label)
            left = [a + b for a, b in zip(left, widths)]
        ax.invert_yaxis()  # the notebook's first cell on top
        ax.set_xlim(0, 100)
        ax.set_xlabel("share of graded submissions (%)")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)

    height = 1.3 + 0.32 * max(len(shown), 1)
    return _draw(folder, stem, (7.2, height), draw, alt)


def grading_times(timings, folder: Path, stem: str) -> Figure:
    """Histogram of the seconds each notebook took to grade (``data.Timing``, slowest first)."""
    seconds = [t.seconds for t in timings]
    if seconds:
        slowest = timings[0]
        alt = (f"Histogram of the grading times of {_plural(len(seconds), 'notebook')}: median "
               f"{statistics.median(seconds):.1f} s, slowest {slowest.seconds:.1f} s "
               f"({slowest.student}, {slowest.notebook}), total {sum(seconds) / 60:.1f} min")
    else:
        alt = "Histogram of grading times: no grading record was found"

    def draw(fig, theme):
        ax = fig.subplots()
        top = max(seconds, default=1.0)
        ax.hist(seconds, bins=[top * i / 20 for i in range(21)] if top > 0 else 1, color=theme["bars"])
        ax.set_xlabel("seconds to grade one notebook")
        ax.set_ylabel("notebooks")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(0, math.ceil(top) if top > 0 else 1)

    return _draw(folder, stem, (6.4, 3.2), draw, alt)
