"""Shared fixtures.

``built_book`` runs the real book build once per test session, exactly as
``make book`` does, and returns the project root (where ``_build/`` is).
Set ``BOOK_ROOT=<dir>`` to test an already-built copy instead; then nothing
is built. ``browser`` (from browser.py) is the session's one headless chromium,
``postgres`` the one PostgreSQL cluster that the gradebook and hub tests share, and
``classroom`` (from classroom.py) the shared class, graded once: read-only, a test
that changes it works on ``classroom.copy(tmp_path)``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from browser import browser  # noqa: F401 (the one headless chromium of the session, for every browser test)
from browser import serve_directory

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


@pytest.fixture(scope="session")
def classroom(tmp_path_factory):
    """The shared graded class (contract 1): built and autograded once per session."""
    from classroom import build_classroom

    built = build_classroom(tmp_path_factory.mktemp("classroom"))
    if built.run.returncode != 2:  # 2: graded, with the named problems of the problem students
        pytest.fail(f"autograding the class failed (exit {built.run.returncode}):\n"
                    f"{built.run.stdout[-3000:]}\n{built.run.stderr[-3000:]}", pytrace=False)
    return built


@pytest.fixture(scope="session")
def site(built_book):
    """``(base_url, html_dir, project_root)`` of the built site, served on 127.0.0.1 for the whole session."""
    html_dir = built_book / "_build" / "html"
    with serve_directory(html_dir) as base_url:
        yield base_url, html_dir, built_book


# The course hub's state for the tests: a fixed folder (the hub's venv is kept between runs; everything
# else in it is made fresh), with ports of its own, so a demo `make hub` on the same machine is untouched.
HUB_TEST_ROOT = Path(os.environ.get("HUB_TEST_ROOT", "/srv/mle-hub-test"))
HUB_TEST_PORT = 8300
HUB_TEST_PG_PORT = 5434


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL cluster for every test that needs one (the hub tests use the same), stopped at the end.

    Made fresh in ``HUB_TEST_ROOT/postgres`` on 127.0.0.1:5434. Needs root (the server runs as ``postgres``).
    """
    from hub.postgres import Cluster

    if os.geteuid() != 0:
        pytest.fail("the PostgreSQL tests need root (the server runs as the postgres user)", pytrace=False)
    cluster = Cluster(HUB_TEST_ROOT / "postgres", HUB_TEST_PG_PORT)
    cluster.stop()  # a run that was killed may have left it running
    subprocess.run(["rm", "-rf", str(cluster.folder)], check=True)
    HUB_TEST_ROOT.mkdir(parents=True, exist_ok=True)
    HUB_TEST_ROOT.chmod(0o755)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
