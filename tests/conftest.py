"""Shared fixtures.

``built_book`` runs the real book build once per test session, exactly as
``make book`` does, and returns the project root (where ``_build/`` is).
Set ``BOOK_ROOT=<dir>`` to test an already-built copy instead; then nothing
is built.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def built_book() -> Path:
    if os.environ.get("BOOK_ROOT"):
        root = Path(os.environ["BOOK_ROOT"]).resolve()
        assert (root / "_build" / "html" / "index.html").exists(), f"BOOK_ROOT={root} has no built site"
        return root
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # Agg would drop figures from pages
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "-W", "-n", "--keep-going"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
        pytest.fail(f"jupyter-book build failed (exit {result.returncode}):\n{tail}", pytrace=False)
    return ROOT
