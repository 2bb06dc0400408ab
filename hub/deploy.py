"""``make hub``: the whole course on JupyterHub on this machine, on 127.0.0.1.

``start`` makes what is missing and starts what is stopped, in this order:

1. the users' Python environment, ``HUB_ROOT/venv`` (built from /usr/bin/python3,
   world-readable, with ``mle_helpers`` as a wheel: no solution, check or
   grading code is in it) and configurable-http-proxy from npm;
2. PostgreSQL (``HUB_ROOT/postgres``) with the hub's database and the gradebook;
3. a system user for the instructor and for every row of the roster (homes 0700);
4. the instructor's course folder ``~instructor/mle-pytorch`` (the grading
   configuration, ``instructor_grading/``, ``solutions/``, the roster), mode 0700;
5. nbgrader's exchange ``HUB_ROOT/exchange`` and the Jupyter configuration of
   the environment (formgrader for the instructor only);
6. the gradebook: every assignment generated, the roster imported, the
   assignments of ``HUB_RELEASE`` released;
7. JupyterHub (which starts the proxy), in the background; returns once it answers.

Nothing is made twice: a second ``start`` finds the same users, course and gradebook.
``stop`` stops the hub, the proxy, the users' servers and PostgreSQL; every file and
every grade stays. Settings come from the environment (see :class:`Settings`).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from instructor_grading.roster import Student, check_user_name, read_roster

from .postgres import RUNUSER, Cluster

REPO = Path(__file__).resolve().parents[1]
COURSE_ID = "mle-pytorch"
HUB_CONFIG = Path(__file__).with_name("jupyterhub_config.py")
# The parts of the repository the instructor's course folder holds (never the users' environment).
COURSE_PARTS = ("nbgrader_config.py", "instructor_grading", "solutions", "course_schedule.toml")
DEMO_PASSWORD = "mle-demo"


@dataclass(frozen=True)
class Settings:
    """Where and how the hub runs, from the environment (defaults for the demo)."""

    root: Path  # HUB_ROOT: the environment, the database cluster, the exchange and the hub's state
    port: int  # HUB_PORT: the hub's public port; the two after it are the hub's API and the proxy's API
    pg_port: int  # HUB_PG_PORT
    password: str  # HUB_PASSWORD: the dummy authenticator's one password (demo and tests only)
    roster: Path  # HUB_ROSTER: the class roster (instructor_grading.roster): id,first_name,last_name,email,...
    instructor: str  # HUB_INSTRUCTOR
    release: tuple[str, ...]  # HUB_RELEASE: assignments released at start ("all", or ids separated by commas)

    @classmethod
    def from_environ(cls, environ=os.environ) -> "Settings":
        def port(name, default):
            value = environ.get(name, str(default))
            if not value.isdigit() or not 1024 <= int(value) <= 65533:
                raise ValueError(f"{name} must be a port number in 1024..65533; got {value!r}")
            return int(value)

        root = Path(environ.get("HUB_ROOT", "/srv/mle-hub")).resolve()
        if str(root).startswith(("/root", "/home")):
            raise ValueError(f"HUB_ROOT must be outside every home (the users must traverse it); got {str(root)!r}")
        release = environ.get("HUB_RELEASE", "all").strip()
        available = assignments()
        chosen = tuple(available) if release == "all" else tuple(a for a in release.split(",") if a.strip())
        unknown = sorted(set(chosen) - set(available))
        if unknown:
            raise ValueError(f"HUB_RELEASE names assignments that do not exist: {unknown}; choose from {available}")
        instructor = environ.get("HUB_INSTRUCTOR", "instructor")
        check_user_name("HUB_INSTRUCTOR", instructor)
        return cls(root=root, port=port("HUB_PORT", 8000), pg_port=port("HUB_PG_PORT", 5433),
                   password=environ.get("HUB_PASSWORD", DEMO_PASSWORD),
                   roster=Path(environ.get("HUB_ROSTER", REPO / "hub" / "roster.csv")).resolve(),
                   instructor=instructor, release=chosen)

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def state(self) -> Path:
        """Root's own folder (mode 0700): passwords, tokens, logs, the hub's pid."""
        return self.root / "state"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def course(self) -> Path:
        return Path(f"/home/{self.instructor}") / COURSE_ID

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cluster(self) -> Cluster:
        return Cluster(self.root / "postgres", self.pg_port)


def assignments() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb"))


def read_secrets(settings: Settings) -> dict:
    """Passwords and tokens, made once and kept in the state folder (root only)."""
    settings.state.mkdir(parents=True, exist_ok=True)
    settings.state.chmod(0o700)
    path = settings.state / "secrets.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    for key in ("hub_db_password", "gradebook_password", "proxy_token", "admin_token"):
        known.setdefault(key, secrets.token_hex(24))
    path.write_text(json.dumps(known, indent=1))
    path.chmod(0o600)
    return known


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command[:4]))} ... failed (exit {result.returncode}):\n"
                           f"{(result.stdout + result.stderr).strip()[-2000:]}")
    return result


def ensure_environment(settings: Settings, log=print) -> None:
    """The users' venv and the proxy; rebuilt only when a requirements file or mle_helpers changed."""
    sources = [REPO / "requirements.txt", REPO / "hub" / "requirements.txt", REPO / "pyproject.toml",
               *sorted((REPO / "mle_helpers").rglob("*.py")), *sorted((REPO / "mle_helpers").glob("*.mplstyle"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    stamp = settings.venv / ".installed"
    settings.root.mkdir(parents=True, exist_ok=True)
    settings.root.chmod(0o755)
    if not (stamp.exists() and stamp.read_text() == digest):
        log(f"installing the users' environment into {settings.venv} (a few minutes the first time)")
        if not (settings.venv / "bin" / "python").exists():
            _run(["/usr/bin/python3", "-m", "venv", str(settings.venv)])
        wheels = settings.root / "wheels"
        shutil.rmtree(wheels, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tree:  # built from a copy: setuptools writes build/ into its tree
            shutil.copy2(REPO / "pyproject.toml", tree)
            shutil.copytree(REPO / "mle_helpers", Path(tree) / "mle_helpers",
                            ignore=shutil.ignore_patterns("__pycache__"))
            _run([str(settings.venv / "bin" / "pip"), "wheel", "--quiet", "--no-deps", "-w", str(wheels), tree],
                 timeout=900)
        course_stack = settings.root / "requirements-course.txt"
        # The repository's own line (-e .[instructor]) would put the grading code in the users' environment.
        course_stack.write_text("".join(line for line in (REPO / "requirements.txt").read_text().splitlines(True)
                                        if not line.startswith("-e")))
        _run([str(settings.venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
              "-r", str(course_stack), "-r", str(REPO / "hub" / "requirements.txt")], timeout=1800)
        _run([str(settings.venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
              "--force-reinstall", "--no-deps", *map(str, wheels.glob("mle_helpers-*.whl"))], timeout=300)
        _run(["chmod", "-R", "a+rX", str(settings.venv)])
        stamp.write_text(digest)
    proxy = settings.root / "proxy"
    if not (proxy / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        log("installing configurable-http-proxy with npm")
        proxy.mkdir(exist_ok=True)
        _run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(proxy),
              "configurable-http-proxy@5"], timeout=900)
    _write_environment_config(settings)


def _write_environment_config(settings: Settings) -> None:
    """Jupyter configuration every user reads: the exchange, and no formgrader except where re-enabled."""
    etc = settings.venv / "etc" / "jupyter"
    (etc / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
    (etc / "labconfig").mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(
        "# Written by `make hub` (hub/deploy.py): every user's nbgrader talks to the shared exchange.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(settings.exchange)!r}\n"
        "c.Exchange.path_includes_course = True\n"
        "c.Authenticator.plugin_class = 'nbgrader.auth.JupyterHubAuthPlugin'\n")
    # Sorted after nbgrader.json, so it overrides nbgrader's own "enabled" for every user ...
    (etc / "jupyter_server_config.d" / "zz-mle-course.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {f"nbgrader.server_extensions.{name}": False
                                               for name in INSTRUCTOR_SERVER_EXTENSIONS}}}, indent=1))
    (etc / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in INSTRUCTOR_LAB_EXTENSIONS}}, indent=1))
    # No news feed and no update check: JupyterLab would fetch them from the internet.
    overrides = settings.venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps({"@jupyterlab/apputils-extension:notification":
                                     {"fetchNews": "false", "checkForUpdates": False}}, indent=1))
    _run(["chmod", "-R", "a+rX", str(etc), str(overrides.parent)])


# ... and the instructor's own configuration (~/.jupyter, read after the environment's) turns them back on.
INSTRUCTOR_SERVER_EXTENSIONS = ("formgrader", "course_list")
INSTRUCTOR_LAB_EXTENSIONS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                             "@jupyter/nbgrader:course-list")


def ensure_database(settings: Settings, known: dict) -> Cluster:
    cluster = settings.cluster()
    cluster.init()
    cluster.start()
    cluster.ensure_database("jupyterhub", known["hub_db_password"])
    cluster.ensure_database("gradebook", known["gradebook_password"])
    return cluster


def gradebook_url(settings: Settings, known: dict) -> str:
    return settings.cluster().url("gradebook", known["gradebook_password"])


def ensure_users(settings: Settings, roster: list[Student], log=print) -> None:
    """A system user per person (nbgrader takes the student id from the user name); homes mode 0700."""
    for name in [settings.instructor, *(student.id for student in roster)]:
        if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
            _run(["useradd", "-m", "-K", "HOME_MODE=0700", "-s", "/bin/bash", name])
            log(f"created user {name}")
        Path(f"/home/{name}").chmod(0o700)


def run_as(user: str, command: list[str], settings: Settings, known: dict, cwd: Path, **kwargs):
    """Run ``command`` as ``user`` with the hub's environment (and, for the instructor, the gradebook)."""
    env = {"HOME": f"/home/{user}", "USER": user, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "PATH": f"{settings.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
    if user == settings.instructor:
        env["MLE_GRADEBOOK_URL"] = gradebook_url(settings, known)
    return _run([RUNUSER, "-u", user, "--", *command], env=env, cwd=str(cwd), **kwargs)


def ensure_course(settings: Settings, known: dict, roster: list[Student], log=print) -> None:
    """The instructor's course folder and gradebook, made once; released assignments stay released."""
    course, home = settings.course, Path(f"/home/{settings.instructor}")
    if not (course / "nbgrader_config.py").exists():
        log(f"copying the course into {course}")
        course.mkdir(mode=0o700)
        for part in COURSE_PARTS:
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, course / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, course / part)
        _run(["chown", "-R", f"{settings.instructor}:{settings.instructor}", str(course)])
    shutil.copy2(settings.roster, course / "roster.csv")
    shutil.chown(course / "roster.csv", settings.instructor, settings.instructor)
    _write_instructor_config(settings, home)

    # nbgrader requires every user to be able to write the exchange's root; sticky, so that nobody removes
    # what another made. The course's folder in it is the instructor's: students write only into its
    # inbound folder, which nbgrader makes write-only (0733), and read outbound and their feedback.
    settings.exchange.mkdir(exist_ok=True)
    settings.exchange.chmod(0o1777)

    # Outside the hub, nbgrader cannot ask it for groups: the groups come from jupyterhub_config.py.
    options = ["--Authenticator.plugin_class=nbgrader.auth.NoAuthPlugin", "--log-level=WARN"]
    for assignment in assignments():
        if not (course / "exercises" / assignment).is_dir():
            run_as(settings.instructor, ["nbgrader", "generate_assignment", assignment, "--force", *options],
                     settings, known, course, timeout=600)
    run_as(settings.instructor, ["nbgrader", "db", "student", "import", "roster.csv", *options], settings, known,
             course, timeout=300)
    # the due dates of course_schedule.toml into the gradebook, as `make assignments` does
    run_as(settings.instructor, ["python", "-m", "instructor_grading", "due-dates"], settings, known, course,
           timeout=300)
    for assignment in settings.release:
        if not (settings.exchange / COURSE_ID / "outbound" / assignment).is_dir():
            run_as(settings.instructor, ["nbgrader", "release_assignment", assignment, *options], settings, known,
                     course, timeout=300)
            log(f"released {assignment}")


def _write_instructor_config(settings: Settings, home: Path) -> None:
    jupyter = home / ".jupyter"
    (jupyter / "labconfig").mkdir(parents=True, exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        "# Written by `make hub`: formgrader and the CLI grade this course, with its own configuration.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(settings.course)!r}\n"
        f"load_subconfig({str(settings.course / 'nbgrader_config.py')!r})  # noqa: F821\n")
    (jupyter / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {f"nbgrader.server_extensions.{name}": True
                                               for name in INSTRUCTOR_SERVER_EXTENSIONS}}}, indent=1))
    (jupyter / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: False for name in INSTRUCTOR_LAB_EXTENSIONS}}, indent=1))
    _run(["chown", "-R", f"{settings.instructor}:{settings.instructor}", str(jupyter)])


def hub_environment(settings: Settings, roster: list[Student], known: dict) -> dict:
    """What ``hub/jupyterhub_config.py`` reads (besides the tokens of the secrets file); only root sees it."""
    return {"PATH": f"{settings.venv / 'bin'}:{settings.root / 'proxy' / 'node_modules' / '.bin'}:/usr/bin:/bin",
            "LANG": "C.UTF-8", "HUB_ROOT": str(settings.root), "HUB_PORT": str(settings.port),
            "HUB_DB_URL": settings.cluster().url("jupyterhub", known["hub_db_password"]),
            "HUB_GRADEBOOK_URL": gradebook_url(settings, known), "HUB_PASSWORD": settings.password,
            "HUB_INSTRUCTOR": settings.instructor, "HUB_COURSE_ID": COURSE_ID,
            "HUB_STUDENTS": ",".join(student.id for student in roster)}


def hub_pid(settings: Settings) -> int | None:
    try:
        pid = int((settings.state / "jupyterhub.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def _answers(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"{settings.url}hub/api/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start(settings: Settings, log=print) -> None:
    if os.geteuid() != 0:
        raise RuntimeError("make hub needs root: it creates system users and runs JupyterHub's spawner")
    roster = read_roster(settings.roster)
    began = time.monotonic()
    ensure_environment(settings, log)
    known = read_secrets(settings)
    ensure_database(settings, known)
    ensure_users(settings, roster, log)
    ensure_course(settings, known, roster, log)
    if hub_pid(settings) is None:
        with (settings.state / "jupyterhub.log").open("ab") as out:
            process = subprocess.Popen([str(settings.venv / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG)],
                                       cwd=settings.state, env=hub_environment(settings, roster, known), stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        (settings.state / "jupyterhub.pid").write_text(str(process.pid))
        deadline = time.monotonic() + 120
        while not _answers(settings):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (settings.state / "jupyterhub.log").read_text(errors="replace")[-3000:]
                stop(settings)
                raise RuntimeError(f"JupyterHub did not start; the end of its log:\n{tail}")
            time.sleep(0.3)
    log(f"the course hub is up in {time.monotonic() - began:.0f} s: {settings.url}")
    log(f"  log in as {settings.instructor} (formgrader) or a student of {settings.roster.name} "
        f"({', '.join(student.id for student in roster[:3])}{', ...' if len(roster) > 3 else ''}), "
        f"password {settings.password!r}{' (the demo default: set HUB_PASSWORD)' if settings.password == DEMO_PASSWORD else ''}")
    log("  stop it with `make hub-stop` (nothing is lost)")


def stop(settings: Settings, log=print) -> None:
    """Stop the hub (which stops the proxy and every user's server) and PostgreSQL; keep every file."""
    pid = hub_pid(settings)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(pid, signal.SIGKILL)
        log("stopped JupyterHub")
    (settings.state / "jupyterhub.pid").unlink(missing_ok=True)
    _stop_proxy(settings.state / "proxy.pid")
    if settings.cluster().initialized:
        settings.cluster().stop()
        log("stopped PostgreSQL")


def _stop_proxy(pid_file: Path) -> None:
    """The proxy JupyterHub started, if it outlived the hub (it runs in a session of its own, so a hub
    killed after the 60 s above leaves it behind, holding the hub's port)."""
    try:
        pid = int(pid_file.read_text())
        if "configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):  # no file, or the proxy is gone already
        pass
    pid_file.unlink(missing_ok=True)


def backup(settings: Settings, target: Path | None = None, log=print) -> Path:
    """A ``pg_dump`` of the gradebook (custom format; restore with ``pg_restore``)."""
    target = target or REPO / "backups" / f"gradebook-{time.strftime('%Y%m%d-%H%M%S')}.dump"
    path = settings.cluster().dump("gradebook", target)
    log(f"wrote {path} ({path.stat().st_size} bytes)")
    return path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in {"start", "stop", "backup"}:
        print("usage: python -m hub.deploy start | stop | backup [FILE]", file=sys.stderr)
        return 1
    try:
        settings = Settings.from_environ()
        if argv[0] == "start":
            start(settings)
        elif argv[0] == "stop":
            stop(settings)
        else:
            backup(settings, Path(argv[1]) if len(argv) > 1 else None)
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
