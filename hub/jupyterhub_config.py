"""JupyterHub configuration of the course hub (started by ``make hub``, see hub/deploy.py).

Everything listens on 127.0.0.1. Users log in with the dummy authenticator's
one password (demo and tests only; see "Running the course on JupyterHub" for a
real class) and get their own JupyterLab, run as their own system user by the
default LocalProcessSpawner, so nbgrader's student id is the user name.
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

root = Path(os.environ["HUB_ROOT"])
port = int(os.environ["HUB_PORT"])
known = json.loads((root / "state" / "secrets.json").read_text())
instructor = os.environ["HUB_INSTRUCTOR"]
students = [name for name in os.environ["HUB_STUDENTS"].split(",") if name]
course = os.environ["HUB_COURSE_ID"]

# The public port, and the hub's and the proxy's APIs on the next two, all on loopback.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = port
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{port + 1}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.auth_token = known["proxy_token"]
c.ConfigurableHTTPProxy.pid_file = str(root / "state" / "proxy.pid")
c.JupyterHub.cookie_secret_file = str(root / "state" / "cookie_secret")
c.JupyterHub.db_url = os.environ["HUB_DB_URL"]

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["HUB_PASSWORD"]
c.Authenticator.allowed_users = {instructor, *students}

# nbgrader's groups: a course's students (and its instructor) see it in the assignment list.
c.JupyterHub.load_groups = {
    f"nbgrader-{course}": {"users": [instructor, *students]},
    f"formgrade-{course}": {"users": [instructor]},
}
c.JupyterHub.load_roles = [
    # The servers' own token reads the user's groups (nbgrader's JupyterHubAuthPlugin), nothing more.
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server",
                                  "read:users:name!user", "read:users:groups!user"]},
    # The course's administration token (make hub and the tests): users, servers and their tokens.
    {"name": "course-admin", "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:groups"],
     "services": ["course-admin"]},
]
c.JupyterHub.services = [{"name": "course-admin", "api_token": known["admin_token"]}]

c.Spawner.cmd = [str(root / "venv" / "bin" / "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "LANG": "C.UTF-8"}


def give_the_instructor_the_gradebook(spawner):
    """Only the instructor's server (formgrader, terminals) gets the gradebook's address and password."""
    if spawner.user.name == instructor:
        spawner.environment = {**spawner.environment, "MLE_GRADEBOOK_URL": os.environ["HUB_GRADEBOOK_URL"]}


c.Spawner.pre_spawn_hook = give_the_instructor_the_gradebook
c.JupyterHub.cleanup_servers = True  # make hub-stop stops every user's server too
