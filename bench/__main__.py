"""``python -m bench [name ...]``: run the benchmarks, print every figure with its target, save results.json.

Names: grid, likelihood, ascent, build, autograde, autograde_parallel
(default: all, in that order). Figures of benchmarks not run this time are kept from the previous
results.json, so one slow benchmark can be re-run alone.
"""
from __future__ import annotations

import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from .common import THREADS

BENCHMARKS = ["grid", "likelihood", "ascent", "build", "autograde", "autograde_parallel"]
RESULTS = Path(__file__).resolve().parent / "results.json"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _print_table(figures: list[dict]) -> None:
    width = max(len(f["label"]) for f in figures)
    print(f"\n{'figure':<{width}}  {'measured':>16}  {'target':>16}  result")
    for f in figures:
        print(f"{f['label']:<{width}}  {f['measured']:>16}  {f['target_text']:>16}  {f['status']}")
    misses = [f["label"] for f in figures if f["status"] == "MISS"]
    print(f"\n{len(misses)} target(s) missed" + (": " + "; ".join(misses) if misses else ""))


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    print(f"threads: torch.set_num_threads({torch.get_num_threads()}), OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
          f" (set BENCH_THREADS to change); {os.cpu_count()} CPUs")
    previous = json.loads(RESULTS.read_text())["benchmarks"] if RESULTS.exists() else {}
    results = {name: previous[name] for name in BENCHMARKS if name in previous}
    for name in names:
        print(f"running {name} ...", flush=True)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        figures = importlib.import_module(f"bench.{name}").run()
        results[name] = {
            "seconds": round(time.perf_counter() - start, 1),
            "measured_at": datetime.datetime.now().isoformat(timespec="seconds"),
            # The machine is shared: a load average well above the core count slows every figure.
            "load_average": round(max(load_before, os.getloadavg()[0]), 1),
            "figures": [f.as_dict() for f in figures],
        }
    RESULTS.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "threads": THREADS, "torch": torch.__version__,
                    "python": platform.python_version(), "commit": _commit()},
        "benchmarks": {name: results[name] for name in BENCHMARKS if name in results},
    }, indent=1) + "\n")
    _print_table([f for name in BENCHMARKS if name in results for f in results[name]["figures"]])
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
