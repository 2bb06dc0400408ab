"""Benchmarks of the course: ``make bench`` (or ``python -m bench [name ...]``).

Each module measures one figure side by side with its baseline in the same
process and returns :class:`bench.common.Figure` rows; ``python -m bench``
prints them with their targets and writes ``bench/results.json``, which the
book's *Performance* page renders.

The thread count is pinned here, before anything imports torch, so every
figure (and every subprocess: the book build, nbgrader) uses the same number.
Set ``BENCH_THREADS`` to measure with another.
"""
import os

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
os.environ["OMP_NUM_THREADS"] = str(THREADS)
os.environ["MKL_NUM_THREADS"] = str(THREADS)
