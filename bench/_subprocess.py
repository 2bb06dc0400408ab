"""Helpers for the benchmarks that run the course's own command-line tools in a private copy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import THREADS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Never copied: the venv, build outputs, grading state, git history.
IGNORED = shutil.ignore_patterns(".venv", "_build", ".git", ".jupyter_cache", "submitted", "autograded", "feedback",
                                 "gradebook.db", "__pycache__", ".pytest_cache", "*.egg-info")


def private_copy(destination: Path) -> Path:
    """A copy of the repository in ``destination`` (which must not exist yet)."""
    shutil.copytree(ROOT, destination, ignore=IGNORED)
    return destination


def environment() -> dict:
    """The environment for a subprocess: pinned threads, and figures enabled (no MPLBACKEND)."""
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(THREADS)
    return env


def timed_run(args: list[str], cwd: Path, timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command, returning its wall time and the completed process (output captured)."""
    start = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - start, result


def tail(result: subprocess.CompletedProcess, lines: int = 15) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])
