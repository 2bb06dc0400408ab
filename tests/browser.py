"""Browser test set-up: Debian's chromium driven by Playwright.

Used by ``test_site.py``. It gives

- :func:`browser`, a session fixture: headless chromium, installed with
  apt-get first when the machine has none (a fresh CI machine);
- :func:`serve_directory`: a static HTTP server on 127.0.0.1 for ``_build/html``;
- :class:`PageWatch`: records every failed request, HTTP error, console error
  and request to another host while a page loads;
- :func:`jupyterlab_server`: ``jupyter lab`` from the venv on 127.0.0.1 with a
  random port and token, isolated from the user's Jupyter settings.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from book_pdf import serve as serve_directory  # noqa: F401 (one 127.0.0.1 file server for the PDF and the tests)

CHROMIUM = Path("/usr/bin/chromium")
BIN = Path(sys.executable).parent


def ensure_chromium() -> None:
    """Install Debian's chromium when it is missing (as ``make chromium`` does)."""
    if CHROMIUM.exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed; the browser tests need Debian's chromium:\n"
                        f"{result.stderr[-2000:]}", pytrace=False)
    assert CHROMIUM.exists(), f"apt-get installed chromium but {CHROMIUM} is missing"


@pytest.fixture(scope="session")
def browser():
    """A headless chromium for the whole session."""
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class PageWatch:
    """Everything that went wrong while a page loaded, as readable strings."""

    def __init__(self, page, base_url: str):
        self.base_url = base_url
        self.problems: list[str] = []
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        page.on("request", self._on_request)
        page.on("console", lambda message: message.type == "error" and self.problems.append(
            f"console error: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _on_failed(self, request) -> None:
        # ERR_ABORTED is a request the browser cancelled because the test went on to the next page
        # (Chromium fetches the favicon late). A missing file is an HTTP status >= 400, seen below.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _on_request(self, request) -> None:
        url = request.url
        if not (url.startswith(self.base_url + "/") or url.startswith(("data:", "blob:", "about:"))):
            self.problems.append(f"request to another host: {url}")

    def take(self) -> list[str]:
        """The problems seen since the last call."""
        problems, self.problems = self.problems, []
        return problems


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# JupyterLab settings for the test server: no news and no update check (both would fetch from the internet).
_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                 {"fetchNews": "false", "checkForUpdates": False}}


@contextmanager
def jupyterlab_server(root_dir: Path, work_dir: Path, *, timeout: float = 90):
    """Run ``jupyter lab`` on 127.0.0.1 serving ``root_dir``; yields ``(base_url, token)``.

    Jupyter's config, runtime files, workspaces and settings go to ``work_dir``
    so the test neither reads nor changes the user's. ``window.jupyterapp`` is
    exposed so the test can drive commands and read the notebook model. The
    server is killed on exit, whatever happened.
    """
    port, token = free_port(), secrets.token_hex(16)
    settings_dir = work_dir / "settings"
    for name, values in _LAB_SETTINGS.items():
        (settings_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings_dir / name).write_text(json.dumps(values))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(work_dir / "config"),
           "JUPYTER_RUNTIME_DIR": str(work_dir / "runtime")}
    env.pop("MPLBACKEND", None)
    command = [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
               "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={settings_dir}", f"--LabApp.workspaces_dir={work_dir / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root; the server refuses to start otherwise
    log_path = work_dir / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n{log_path.read_text()[-3000:]}",
                            pytrace=False)
            try:
                with urllib.request.urlopen(f"{base_url}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {timeout} s:\n{log_path.read_text()[-3000:]}",
                            pytrace=False)
            time.sleep(0.5)
        yield base_url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def copy_tree(source: Path, target: Path) -> Path:
    """Copy a folder without Jupyter's checkpoints; returns the copy."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target
