"""The course on JupyterHub, end to end: what students and the instructor do, through the hub's REST API.

One hub (``make hub`` with the test settings of conftest.py) and its PostgreSQL
serve every test here. The module fixture ``loop`` plays one assignment through
the whole cycle the way the browser does it, with the users' own API tokens:
the instructor releases ps1 in formgrader; two students fetch it, put a
notebook in place through the contents API and submit; the second re-submits;
the instructor collects, autogrades, grades a written answer by hand, generates
and releases feedback; each student fetches theirs. The tests then check what
each step left behind. Isolation is tried as a student's terminal would try it:
commands run as the student's system user.
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
import requests

from conftest import HUB_TEST_PG_PORT, HUB_TEST_PORT, HUB_TEST_ROOT, ROOT
from hub.deploy import Settings, hub_pid, read_secrets, run_as
from hub.postgres import RUNUSER
from instructor_grading.regions import solved_release
from leaks import check_code_lines, shown_lines

pytestmark = pytest.mark.slow

COURSE = "mle-pytorch"
PS1 = "ps1_closed_form"
INSTRUCTOR = "hubt-instructor"
STUDENTS = ["hubt-s1", "hubt-s2", "hubt-s3", "hubt-s4"]
SOLVER, RESUBMITTER, BROWSER_STUDENT, PROBER = STUDENTS
# The prober's first cell looks, from inside the grading kernel, for the gradebook's password and address.
PROBE = """import os, socket
print("env:", sorted(k for k in os.environ if "GRADEBOOK" in k or "JUPYTERHUB" in k))
found = []
for pid in os.listdir("/proc"):
    try:
        found.append(open(f"/proc/{pid}/environ", "rb").read().count(b"postgresql"))
    except (OSError, ValueError):
        pass
print("proc:", sum(found))
try:
    print("home:", os.listdir("/home/%s"))
except OSError:
    print("home: unreadable")
try:
    socket.create_connection(("127.0.0.1", %d), timeout=3)
    print("net: connected")
except OSError:
    print("net: unreachable")
"""
BASE = f"http://127.0.0.1:{HUB_TEST_PORT}"


def hub_env(tmp: Path, password: str) -> dict:
    roster = tmp / "roster.csv"
    with roster.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for number, name in enumerate(STUDENTS, start=1):
            writer.writerow([name, "Test", f"Student{number}", f"{name}@example.org"])
    everything_but_ps1 = ",".join(p.parent.name for p in sorted((ROOT / "solutions").glob("*/*.ipynb"))
                                  if p.parent.name != PS1)
    return {**os.environ, "HUB_ROOT": str(HUB_TEST_ROOT), "HUB_PORT": str(HUB_TEST_PORT),
            "HUB_PG_PORT": str(HUB_TEST_PG_PORT), "HUB_PASSWORD": password, "HUB_ROSTER": str(roster),
            "HUB_INSTRUCTOR": INSTRUCTOR, "HUB_RELEASE": everything_but_ps1}


def make(target: str, env: dict, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(ROOT), target], env=env, capture_output=True, text=True,
                          timeout=timeout)


class Hub:
    """The running test hub, seen through its REST API."""

    def __init__(self, env: dict):
        self.env = env
        self.password = env["HUB_PASSWORD"]
        known = json.loads((HUB_TEST_ROOT / "state" / "secrets.json").read_text())
        self.admin = {"Authorization": f"token {known['admin_token']}"}
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            made = requests.post(f"{BASE}/hub/api/users/{user}/tokens", headers=self.admin,
                                 json={"note": "test_hub"}, timeout=30)
            made.raise_for_status()
            self.tokens[user] = made.json()["token"]
        return self.tokens[user]

    def start_server(self, user: str) -> None:
        requests.post(f"{BASE}/hub/api/users/{user}/server", headers=self.admin, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            model = requests.get(f"{BASE}/hub/api/users/{user}", headers=self.admin, timeout=30).json()
            if model.get("server") and not model.get("pending"):
                return
            time.sleep(0.3)
        pytest.fail(f"the server of {user} did not start in 120 s", pytrace=False)

    def call(self, user: str, method: str, path: str, *, as_user: str | None = None, **kwargs) -> requests.Response:
        """``method`` on ``/user/<user>/<path>`` with the token of ``as_user`` (default: ``user`` itself)."""
        headers = {"Authorization": f"token {self.token(as_user or user)}"}
        return requests.request(method, f"{BASE}/user/{user}/{path}", headers=headers, timeout=600, **kwargs)

    def ok(self, user: str, method: str, path: str, **kwargs):
        """The JSON of a successful call (nbgrader's own {"success": ...} envelope checked too)."""
        response = self.call(user, method, path, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text[:500]}"
        body = response.json() if response.text else None
        if isinstance(body, dict) and "success" in body:
            assert body["success"], f"{method} {path}: {str(body)[:1500]}"
            return body.get("value")
        return body

    def as_student(self, user: str, *command: str) -> subprocess.CompletedProcess:
        """``command`` as ``user``'s own system user: what their terminal in JupyterLab can do."""
        return subprocess.run([RUNUSER, "-u", user, "--", *command], capture_output=True, text=True, timeout=60,
                              cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": f"/home/{user}"})

    def gradebook_sql(self, sql: str) -> str:
        return subprocess.run([RUNUSER, "-u", "postgres", "--", "psql", "-X", "-tA", "-h",
                               str(HUB_TEST_ROOT / "postgres" / "run"), "-p", str(HUB_TEST_PG_PORT), "-d",
                               "gradebook", "-c", sql], capture_output=True, text=True, check=True, cwd="/",
                              timeout=60).stdout.strip()


def remove_test_users() -> None:
    for user in [INSTRUCTOR, *STUDENTS]:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", "-r", "-f", user], capture_output=True)


@pytest.fixture(scope="module")
def hub(postgres, tmp_path_factory):
    """``make hub`` with fresh test users, exchange and gradebook; ``make hub-stop`` at the end, whatever happens."""
    env = hub_env(tmp_path_factory.mktemp("hub"), secrets.token_urlsafe(12))
    settings = Settings.from_environ(env)
    if (pid := hub_pid(settings)) is not None:  # a hub left by a killed run
        os.killpg(pid, signal.SIGKILL)
    for stale in ("exchange", "state"):
        subprocess.run(["rm", "-rf", str(HUB_TEST_ROOT / stale)], check=True)
    remove_test_users()
    try:
        started = make("hub", env)
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        assert f"{BASE}/" in started.stdout and env["HUB_PASSWORD"] in started.stdout, started.stdout
        yield Hub(env)
    finally:
        stopped = make("hub-stop", env)
        everything_stopped = hub_pid(settings) is None and not settings.cluster().running
        remove_test_users()
        postgres.start()  # make hub-stop stopped the session's cluster too: hand it back as it was
        assert stopped.returncode == 0, stopped.stderr[-2000:]
        assert everything_stopped, "make hub-stop left the hub or PostgreSQL running"


def notebook_json(path: Path) -> dict:
    return json.loads(nbformat.writes(nbformat.read(path, as_version=4)))


@pytest.fixture(scope="module")
def loop(hub):
    """ps1 through the whole cycle (see the module docstring); returns what the steps answered."""
    release = nbformat.read(ROOT / "exercises" / PS1 / f"{PS1}.ipynb", as_version=4)
    solved = solved_release(release, nbformat.read(ROOT / "solutions" / PS1 / f"{PS1}.ipynb", as_version=4))
    solved_json = json.loads(nbformat.writes(solved))
    untouched_json = notebook_json(ROOT / "exercises" / PS1 / f"{PS1}.ipynb")
    contents = f"api/contents/{COURSE}/{PS1}/{PS1}.ipynb"
    seen: dict = {}
    probe = nbformat.read(ROOT / "exercises" / PS1 / f"{PS1}.ipynb", as_version=4)
    probe.cells.insert(0, nbformat.v4.new_code_cell(PROBE % (INSTRUCTOR, HUB_TEST_PG_PORT)))
    probe_json = json.loads(nbformat.writes(probe))
    for user in [INSTRUCTOR, SOLVER, RESUBMITTER, PROBER]:
        hub.start_server(user)

    # 1. The instructor releases ps1 in formgrader.
    seen["before_release"] = hub.ok(SOLVER, "GET", "assignments", params={"course_id": COURSE})
    hub.ok(INSTRUCTOR, "POST", f"formgrader/api/assignment/{PS1}/release")
    # 2. Both students fetch it; the first solves it, the second submits it solved, then untouched.
    for user in (SOLVER, RESUBMITTER, PROBER):
        hub.ok(user, "POST", "assignments/fetch", data={"course_id": COURSE, "assignment_id": PS1})
    hub.ok(SOLVER, "PUT", contents, json={"type": "notebook", "format": "json", "content": solved_json})
    hub.ok(RESUBMITTER, "PUT", contents, json={"type": "notebook", "format": "json", "content": solved_json})
    hub.ok(PROBER, "PUT", contents, json={"type": "notebook", "format": "json", "content": probe_json})
    for user in (SOLVER, RESUBMITTER, PROBER):
        hub.ok(user, "POST", "assignments/submit", data={"course_id": COURSE, "assignment_id": PS1})
    time.sleep(1.1)  # nbgrader's submissions are told apart by their timestamp
    hub.ok(RESUBMITTER, "PUT", contents, json={"type": "notebook", "format": "json", "content": untouched_json})
    # nbgrader's Validate button, in each student's own server, before the last submit.
    seen["validated"] = {user: hub.ok(user, "POST", "assignments/validate", data={"path": contents.split("/", 2)[2]})
                         for user in (SOLVER, RESUBMITTER)}
    hub.ok(RESUBMITTER, "POST", "assignments/submit", data={"course_id": COURSE, "assignment_id": PS1})
    # 3. The instructor collects and autogrades every submission in formgrader.
    hub.ok(INSTRUCTOR, "POST", f"formgrader/api/assignment/{PS1}/collect")
    for user in (SOLVER, RESUBMITTER, PROBER):
        hub.ok(INSTRUCTOR, "POST", f"formgrader/api/submission/{PS1}/{user}/autograde")
    seen["submissions"] = {s["student"]: s for s in hub.ok(INSTRUCTOR, "GET", f"formgrader/api/submissions/{PS1}")}
    # ... and grades the first written answer of the solver by hand.
    notebooks = hub.ok(INSTRUCTOR, "GET", f"formgrader/api/submitted_notebooks/{PS1}/{PS1}")
    submission_id = next(n["id"] for n in notebooks if n["student"] == SOLVER)
    grades = hub.ok(INSTRUCTOR, "GET", "formgrader/api/grades", params={"submission_id": submission_id})
    written = next(g for g in grades if g["auto_score"] is None)
    seen["manual"] = {"name": written["name"], "score": written["max_score"] / 2}
    hub.ok(INSTRUCTOR, "PUT", f"formgrader/api/grade/{written['id']}", json={"manual_score": seen["manual"]["score"]})
    # 4. Feedback is generated and released; each student fetches theirs.
    hub.ok(INSTRUCTOR, "POST", f"formgrader/api/assignment/{PS1}/generate_feedback")
    hub.ok(INSTRUCTOR, "POST", f"formgrader/api/assignment/{PS1}/release_feedback")
    seen["feedback"] = {}
    for user in (SOLVER, RESUBMITTER):
        hub.ok(user, "POST", "assignments/fetch_feedback", data={"course_id": COURSE, "assignment_id": PS1})
        folder = hub.ok(user, "GET", f"api/contents/{COURSE}/{PS1}/feedback")
        pages = []
        for timestamp in folder["content"]:
            for page in hub.ok(user, "GET", f"api/contents/{timestamp['path']}")["content"]:
                pages.append(hub.ok(user, "GET", f"api/contents/{page['path']}")["content"])
        seen["feedback"][user] = pages
    return seen


def test_make_hub_answers_with_the_assignments_released_and_prints_how_to_log_in(hub, loop):
    released = {a["assignment_id"] for a in loop["before_release"]}
    expected = set(hub.env["HUB_RELEASE"].split(","))
    assert released == expected, f"a student sees {sorted(released)} before any release in formgrader"
    assert log_in(SOLVER, hub.password).status_code == 302
    assert log_in(SOLVER, "not-" + hub.password).status_code == 403


def log_in(user: str, password: str) -> requests.Response:
    """The hub's login form, as a browser sends it (with its XSRF token)."""
    session = requests.Session()
    form = session.get(f"{BASE}/hub/login", timeout=30).text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
    return session.post(f"{BASE}/hub/login", data={"username": user, "password": password, "_xsrf": xsrf},
                        allow_redirects=False, timeout=30)


def test_hub_and_database_listen_on_loopback_only(hub):
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line for line in listening
            if any(f":{port} " in line for port in (HUB_TEST_PORT, HUB_TEST_PORT + 1, HUB_TEST_PORT + 2,
                                                     HUB_TEST_PG_PORT))]
    assert len(ours) >= 4, listening
    assert all(line.split()[3].startswith(("127.0.0.1:", "[::1]:")) for line in ours), ours


def test_validate_tells_a_student_whether_the_visible_tests_pass(loop):
    solved, untouched = loop["validated"][SOLVER], loop["validated"][RESUBMITTER]
    assert not solved.get("failed") and not solved.get("changed"), solved
    assert untouched.get("failed"), untouched


def test_only_the_last_submission_is_graded(hub, loop):
    submissions = loop["submissions"]
    release = nbformat.read(ROOT / "exercises" / PS1 / f"{PS1}.ipynb", as_version=4)
    autograded_points = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in release.cells
                            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert submissions[SOLVER]["code_score"] == pytest.approx(autograded_points)
    assert submissions[RESUBMITTER]["code_score"] == 0, "the re-submitted untouched notebook earned points"
    inbound = subprocess.run(["ls", str(HUB_TEST_ROOT / "exchange" / COURSE / "inbound")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert sum(name.startswith(f"{RESUBMITTER}+{PS1}+") for name in inbound) == 2, inbound


def test_the_gradebook_in_postgresql_holds_the_points_and_the_manual_grade(hub, loop):
    rows = hub.gradebook_sql(
        "SELECT s.id, sum(coalesce(g.manual_score, g.auto_score, 0)) FROM grade g "
        "JOIN submitted_notebook n ON g.notebook_id = n.id JOIN submitted_assignment a ON n.assignment_id = a.id "
        f"JOIN student s ON a.student_id = s.id JOIN assignment aa ON a.assignment_id = aa.id "
        f"WHERE aa.name = '{PS1}' GROUP BY s.id ORDER BY s.id")
    totals = {line.split("|")[0]: float(line.split("|")[1]) for line in rows.splitlines()}
    assert totals[SOLVER] == pytest.approx(loop["submissions"][SOLVER]["code_score"] + loop["manual"]["score"])
    assert totals[RESUBMITTER] == 0
    manual = hub.gradebook_sql(
        "SELECT g.manual_score FROM grade g JOIN base_cell c ON g.cell_id = c.id "
        "JOIN submitted_notebook n ON g.notebook_id = n.id JOIN submitted_assignment a ON n.assignment_id = a.id "
        f"WHERE a.student_id = '{SOLVER}' AND c.name = '{loop['manual']['name']}'")
    assert float(manual) == loop["manual"]["score"]
    assert not (Path(f"/home/{INSTRUCTOR}") / COURSE / "gradebook.db").exists(), "an SQLite gradebook was used"


def test_the_hubs_gradebook_holds_the_due_dates_of_the_course_schedule(hub):
    from instructor_grading.schedule import load_schedule

    rows = hub.gradebook_sql("SELECT name, duedate FROM assignment WHERE duedate IS NOT NULL ORDER BY name")
    stored = dict(line.split("|") for line in rows.splitlines() if line)
    due = load_schedule(ROOT).due
    assert set(stored) == set(due), stored
    assert all(stored[name].startswith(due[name].strftime("%Y-%m-%d %H:%M:%S")) for name in stored), stored


def test_each_student_fetches_only_their_own_feedback_and_no_hidden_check(hub, loop):
    notebooks = [*(ROOT / "exercises").rglob("*.ipynb"), *(ROOT / "solutions").rglob("*.ipynb")]
    secret = check_code_lines(notebooks)
    for user in (SOLVER, RESUBMITTER):
        pages = loop["feedback"][user]
        assert len(pages) == 1, f"{user} fetched {len(pages)} feedback pages"
        shown = shown_lines(pages[0])
        assert not secret & shown, sorted(secret & shown)[:3]
        assert "BEGIN HIDDEN TESTS" not in pages[0] and "instructor_grading" not in pages[0]
    solver_page, resubmitter_page = loop["feedback"][SOLVER][0], loop["feedback"][RESUBMITTER][0]
    assert f"{loop['submissions'][SOLVER]['code_score'] + loop['manual']['score']:g}" in solver_page
    assert solver_page != resubmitter_page


@pytest.mark.parametrize("path", [
    f"/home/{RESUBMITTER}",  # another student's home: their work, fetched feedback, submission cache
    f"/home/{INSTRUCTOR}/{COURSE}/solutions",  # the solutions
    f"/home/{INSTRUCTOR}/{COURSE}",  # the instructor's course (submitted/, autograded/, instructor_grading/)
    str(HUB_TEST_ROOT / "state"),  # the hub's passwords and tokens
])
def test_a_student_cannot_list_or_read_what_is_not_theirs(hub, loop, path):
    listed = hub.as_student(SOLVER, "ls", path)
    assert listed.returncode != 0 and "Permission denied" in listed.stderr, (path, listed.stdout[:300])
    found = subprocess.run(["find", path, "-type", "f"], capture_output=True, text=True).stdout.splitlines()
    assert found, f"{path} holds no file to try"
    for name in found[:30]:
        read = hub.as_student(SOLVER, "head", "-c", "1", name)
        assert read.returncode != 0, f"{SOLVER} could read {name}"


def test_the_exchange_hides_every_submission_and_feedback_page_behind_an_unguessable_name(hub, loop):
    """nbgrader's own protection, kept as it is: students write into inbound/ but cannot list it or
    feedback/, and every name there holds a secret part (a random suffix; a hash of a 128-hex-digit
    submission secret), so another student's submission or feedback cannot be found."""
    exchange = HUB_TEST_ROOT / "exchange" / COURSE
    for folder in ("inbound", "feedback"):
        listed = hub.as_student(SOLVER, "ls", str(exchange / folder))
        assert listed.returncode != 0 and "Permission denied" in listed.stderr, listed.stdout[:300]
    submissions = sorted(p.name for p in (exchange / "inbound").iterdir())
    assert len(submissions) == 4 and all(re.fullmatch(r".+\+.+\+.+\+[A-Za-z0-9_-]{12}", n) for n in submissions)
    pages = sorted(p.name for p in (exchange / "feedback").iterdir())
    assert len(pages) == 3 and all(re.fullmatch(r"[0-9a-f]{32}\.html", n) for n in pages), pages
    mine = next(p for p in (exchange / "inbound").iterdir() if p.name.startswith(f"{RESUBMITTER}+"))
    without_random_part = str(mine).rsplit("+", 1)[0]
    assert hub.as_student(SOLVER, "ls", without_random_part).returncode != 0
    released = exchange / "outbound" / PS1
    assert hub.as_student(SOLVER, "touch", str(released / "planted.txt")).returncode != 0, "release is writable"


def test_a_student_cannot_read_the_instructors_environment_or_the_gradebook(hub, loop):
    servers = subprocess.run(["pgrep", "-u", INSTRUCTOR, "-f", "jupyterhub-singleuser"], capture_output=True,
                             text=True).stdout.split()
    assert servers, "the instructor's server is not running"
    assert hub.as_student(SOLVER, "cat", f"/proc/{servers[0]}/environ").returncode != 0
    # The hub gives the gradebook's address to the instructor's server only.
    for user, expected in ((INSTRUCTOR, True), (SOLVER, False)):
        pid = subprocess.run(["pgrep", "-u", user, "-f", "jupyterhub-singleuser"], capture_output=True,
                             text=True).stdout.split()[0]
        has_url = b"MLE_GRADEBOOK_URL=" in Path(f"/proc/{pid}/environ").read_bytes()
        assert has_url is expected, f"{user}'s server has MLE_GRADEBOOK_URL: {has_url}"
    venv = HUB_TEST_ROOT / "venv" / "bin" / "python"
    code = "import importlib.util as u; print(u.find_spec('instructor_grading'), u.find_spec('mle_helpers') is not None)"
    imported = hub.as_student(SOLVER, str(venv), "-c", code)
    assert imported.stdout.split() == ["None", "True"], imported.stdout + imported.stderr
    connect = hub.as_student(SOLVER, "psql", "-h", "127.0.0.1", "-p", str(HUB_TEST_PG_PORT), "-U", "gradebook",
                             "-d", "gradebook", "-w", "-c", "SELECT 1")
    assert connect.returncode != 0 and "password" in connect.stderr, connect.stderr


def test_a_student_has_no_formgrader_and_cannot_call_the_instructors(hub, loop):
    assert hub.call(SOLVER, "GET", "formgrader/api/assignments").status_code == 404
    assert hub.call(INSTRUCTOR, "GET", "formgrader/api/assignments", as_user=SOLVER).status_code == 403
    assert hub.call(INSTRUCTOR, "POST", f"formgrader/api/assignment/{PS1}/release_feedback",
                    as_user=SOLVER).status_code == 403
    assert hub.call(INSTRUCTOR, "GET", "formgrader/api/assignments").status_code == 200
    assert hub.call(SOLVER, "GET", "assignments", params={"course_id": COURSE}).status_code == 200


def test_student_code_graded_by_formgrader_finds_no_password_no_instructor_file_no_network(hub, loop):
    """Formgrader runs student code as the instructor, next to the gradebook's password: the sandbox is
    what keeps them apart (instructor_grading/sandbox.py, unprivileged here: --unshare-user)."""
    graded = Path(f"/home/{INSTRUCTOR}") / COURSE / "autograded" / PROBER / PS1 / f"{PS1}.ipynb"
    first = nbformat.read(graded, as_version=4).cells[0]
    assert "socket.create_connection" in first.source, "the probe cell was not graded"
    printed = "".join(output.get("text", "") for output in first.outputs)
    assert printed.splitlines() == ["env: []", "proc: 0", "home: unreadable", "net: unreachable"], printed


SCREENSHOTS = ROOT / "_build" / "screenshots"


def browser_log_in(browser, user: str, password: str):
    """A new browser context logged in as ``user`` through the hub's login page; returns its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{BASE}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{BASE}/user/{user}/lab**", timeout=120_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    return page


@pytest.mark.browser
def test_in_a_browser_a_student_fetches_and_submits_and_the_instructor_sees_it(hub, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assignment = "ps2_gradient_ascent"  # released by make hub
    page = browser_log_in(browser, BROWSER_STUDENT, hub.password)
    page.get_by_text("Nbgrader", exact=True).click()
    menu = page.locator(".lm-Menu-content")
    assert "Formgrader" not in menu.inner_text(), "a student's Nbgrader menu offers formgrader"
    page.get_by_text("Assignment List", exact=True).click()
    released = page.locator("#released_assignments_list")
    released.get_by_text(assignment).wait_for(timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "hub-student-assignment-list.png"))
    released.locator(".list_item", has_text=assignment).get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=assignment)
    fetched.get_by_role("button", name="Submit").click()
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=assignment)
    submitted.first.wait_for(timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "hub-student-submitted.png"))
    page.context.close()

    page = browser_log_in(browser, INSTRUCTOR, hub.password)
    page.goto(f"{BASE}/user/{INSTRUCTOR}/formgrader/manage_assignments")
    page.locator("#main-table tr", has_text=assignment).locator("td.collect a").click()
    page.locator(".modal", has_text="Successfully collected").wait_for(timeout=60_000)
    page.goto(f"{BASE}/user/{INSTRUCTOR}/formgrader/manage_submissions/{assignment}")
    row = page.locator("tr", has_text=BROWSER_STUDENT)
    row.locator("td.autograde a").click()  # formgrader's own button: the course's sandboxed grading
    row.locator("td.score", has_text=" / ").wait_for(timeout=300_000)
    page.screenshot(path=str(SCREENSHOTS / "hub-instructor-formgrader.png"))
    assert row.locator("td.score").inner_text().strip().startswith("0"), "an untouched notebook earned points"
    page.context.close()


def test_the_instructors_command_line_grades_like_formgrader(hub, loop):
    """In a terminal on the hub the instructor grades with the CLI: plain `nbgrader autograde` for one
    student, and `python -m instructor_grading autograde --jobs 2` (what `make autograde JOBS=2` runs) for
    the class, both into the PostgreSQL gradebook: the same scores as formgrader's button."""
    settings = Settings.from_environ(hub.env)
    known = read_secrets(settings)
    plain = run_as(INSTRUCTOR, ["nbgrader", "autograde", PS1, "--student", SOLVER, "--force"], settings, known,
                   settings.course, timeout=600)
    assert "[ERROR]" not in plain.stdout + plain.stderr, plain.stderr[-2000:]
    parallel = run_as(INSTRUCTOR, ["python", "-m", "instructor_grading", "autograde", "--jobs", "2"], settings,
                      known, settings.course, timeout=900)
    assert "could not grade it" not in parallel.stdout, parallel.stdout[-2000:]
    again = {s["student"]: s for s in hub.ok(INSTRUCTOR, "GET", f"formgrader/api/submissions/{PS1}")}
    for student in (SOLVER, RESUBMITTER, PROBER):
        assert again[student]["code_score"] == loop["submissions"][student]["code_score"], student
    rows = hub.gradebook_sql("SELECT count(*), count(DISTINCT (g.cell_id, g.notebook_id)) FROM grade g")
    total, distinct = map(int, rows.split("|"))
    assert total == distinct, f"{total - distinct} grades written twice"


def test_make_gradebook_backup_writes_a_dump_of_the_grades(hub, loop, tmp_path):
    """(tests/test_gradebook_postgres.py restores such a dump into a fresh cluster and compares every grade.)"""
    target = tmp_path / "gradebook.dump"
    backup = make("gradebook-backup", {**hub.env, "FILE": str(target)})
    assert backup.returncode == 0 and str(target) in backup.stdout, backup.stdout + backup.stderr
    listed = subprocess.run(["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True)
    assert "TABLE DATA public grade " in listed.stdout and "TABLE DATA public student " in listed.stdout


def test_a_stopped_and_restarted_hub_finds_the_same_gradebook_and_users(hub, loop):
    """Runs last: make hub-stop, then make hub again."""
    stopped = make("hub-stop", hub.env)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{BASE}/hub/api/", timeout=5)
    restarted = make("hub", hub.env)
    assert restarted.returncode == 0, restarted.stdout[-2000:] + restarted.stderr[-2000:]
    assert "created user" not in restarted.stdout and "released" not in restarted.stdout, restarted.stdout
    hub.start_server(INSTRUCTOR)
    again = {s["student"]: s for s in hub.ok(INSTRUCTOR, "GET", f"formgrader/api/submissions/{PS1}")}
    for student in (SOLVER, RESUBMITTER, PROBER):
        assert again[student]["score"] == loop["submissions"][student]["score"] + (
            loop["manual"]["score"] if student == SOLVER else 0), student
