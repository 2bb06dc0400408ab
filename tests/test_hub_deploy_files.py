"""The files for a large class, which cannot be deployed here: the course image (Dockerfile,
.dockerignore) and the Zero to JupyterHub values (hub/k8s/values.yaml).

Nothing is built and no cluster is contacted: the files are parsed, and each test checks one promise
that "Running the course on JupyterHub" (book/instructor_hub.md) makes about them.
"""
from __future__ import annotations

import json
import posixpath
import re
import shlex
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from jupyter_core.paths import SYSTEM_CONFIG_PATH
from nbgrader.auth import JupyterHubAuthPlugin
from traitlets.config import Config
from traitlets.utils.importstring import import_item

ROOT = Path(__file__).resolve().parents[1]
COURSE = "mle-pytorch"
INSTRUCTOR_FILES = ("solutions", "instructor_grading", "nbgrader_config.py", ".grading_secret")
GLOBAL_NBGRADER_CONFIG = "/etc/jupyter/nbgrader_config.py"

# The JupyterHub version each checked chart release ships (appVersion in jupyterhub/Chart.yaml).
CHART_JUPYTERHUB = {"4.4.0": "5.5.0"}

# Keys the chart accepts, copied from jupyterhub/values.schema.yaml of Zero to JupyterHub 4.4.0
# (commit 5c5f5df751588a68a7781ead01d0f62e88e2e72f): the top level, and the properties of the three
# sections this course sets. All of these objects have additionalProperties: false, so helm refuses
# any other key. Using another section means copying its keys here first.
CHART_TOP_LEVEL = {
    "enabled", "fullnameOverride", "nameOverride", "imagePullSecret", "imagePullSecrets", "hub", "proxy",
    "singleuser", "scheduling", "ingress", "httpRoute", "prePuller", "custom", "cull", "debug", "rbac", "global",
}
CHART_SECOND_LEVEL = {
    "hub": {
        "revisionHistoryLimit", "config", "extraFiles", "baseUrl", "command", "args", "cookieSecret", "image",
        "networkPolicy", "db", "labels", "initContainers", "extraEnv", "extraConfig", "fsGid", "service", "pdb",
        "existingSecret", "nodeSelector", "tolerations", "activeServerLimit", "allowNamedServers", "annotations",
        "authenticatePrometheus", "concurrentSpawnLimit", "consecutiveFailureLimit", "podSecurityContext",
        "containerSecurityContext", "deploymentStrategy", "extraContainers", "extraVolumeMounts", "extraVolumes",
        "livenessProbe", "readinessProbe", "namedServerLimitPerUser", "redirectToServer", "resources", "lifecycle",
        "services", "loadRoles", "shutdownOnLogout", "templatePaths", "templateVars", "serviceAccount",
        "extraPodSpec",
    },
    "singleuser": {
        "networkPolicy", "podNameTemplate", "cpu", "memory", "image", "initContainers", "profileList", "extraFiles",
        "extraEnv", "nodeSelector", "extraTolerations", "extraNodeAffinity", "extraPodAffinity",
        "extraPodAntiAffinity", "cloudMetadata", "cmd", "defaultUrl", "events", "extraAnnotations",
        "extraContainers", "extraLabels", "extraPodConfig", "extraResource", "fsGid", "lifecycleHooks",
        "networkTools", "serviceAccountName", "startTimeout", "storage", "allowPrivilegeEscalation", "uid",
    },
    "proxy": {
        "chp", "secretToken", "service", "https", "traefik", "labels", "annotations", "deploymentStrategy",
        "secretSync",
    },
}
# And one level further down, for the closed objects this course fills in.
CHART_THIRD_LEVEL = {
    ("hub", "db"): {"type", "pvc", "upgrade", "url", "password"},
    ("singleuser", "image"): {"name", "tag", "pullPolicy", "pullSecrets"},
    ("singleuser", "storage"): {"capacity", "dynamic", "extraLabels", "extraVolumeMounts", "extraVolumes",
                                "homeMountPath", "static", "type"},
    ("singleuser", "cpu"): {"limit", "guarantee"},
    ("singleuser", "memory"): {"limit", "guarantee"},
    ("proxy", "https"): {"enabled", "type", "letsencrypt", "manual", "secret", "hosts"},
}


# --- the course image -------------------------------------------------------------------------

def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each a list of (INSTRUCTION, arguments); continuations joined."""
    stages: list[list[tuple[str, str]]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue  # blank lines and comments, also between continuation lines
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        instruction, _, arguments = (pending + text).partition(" ")
        pending = ""
        if instruction.upper() == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def copy_sources(arguments: str) -> tuple[list[str], str | None]:
    """The source paths of a COPY/ADD and the stage it copies from (None: the build context)."""
    words = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    paths = [w for w in words if not w.startswith("--")]
    return paths[:-1], stage


def shell_commands(stage: list[tuple[str, str]]) -> list[str]:
    """Every command of the stage's RUN instructions (split at &&)."""
    return [part.strip() for kind, arguments in stage if kind == "RUN" for part in arguments.split("&&")]


def test_course_image_holds_no_solutions():
    from_context = []
    for stage in dockerfile_stages():
        for kind, arguments in stage:
            if kind in ("COPY", "ADD"):
                sources, from_stage = copy_sources(arguments)
                if from_stage is None:
                    from_context += [posixpath.normpath(source).rstrip("/") for source in sources]
    for source in from_context:
        top = source.split("/")[0]
        assert source not in (".", "*") and top not in INSTRUCTOR_FILES, f"the image copies {source}"
    # An allow-list: a new COPY of the repository has to be argued for here.
    assert set(from_context) == {"pyproject.toml", "mle_helpers", "requirements.txt"}, from_context


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def docker_glob(pattern: str) -> re.Pattern:
    """Docker's .dockerignore syntax: * and ? stay within a folder, ** spans folders."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.compile(regex)


def excluded_from_context(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = docker_glob(posixpath.normpath(pattern.lstrip("!").strip().lstrip("/")))
        if any(glob.fullmatch(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("path", [
    "solutions/ps1_closed_form.md", "solutions/ps1_closed_form/ps1_closed_form.ipynb",
    "instructor_grading/checks/ps1_closed_form.py", "nbgrader_config.py", ".grading_secret", "gradebook.db",
    "submitted/ada/ps1_closed_form/ps1_closed_form.ipynb", "autograded/ada/ps1_closed_form/ps1_closed_form.ipynb",
    "feedback/ada/ps1_closed_form/ps1_closed_form.html", "grades.csv", ".git/config", ".venv/bin/python",
    "_build/html/index.html", "hub/state/secrets.json",
])
def test_build_context_leaves_out_instructor_files_and_student_work(path):
    assert excluded_from_context(path, dockerignore_patterns()), f".dockerignore lets {path} into the build"


@pytest.mark.parametrize("path", ["pyproject.toml", "requirements.txt", "mle_helpers/__init__.py",
                                  "mle_helpers/course.mplstyle"])
def test_build_context_keeps_what_the_image_needs(path):
    assert not excluded_from_context(path, dockerignore_patterns()), f".dockerignore leaves out {path}"


def test_torch_comes_from_the_cpu_index_given_as_build_argument():
    final = dockerfile_stages()[-1]
    args = {arguments.split("=", 1)[0]: arguments.split("=", 1)[1] if "=" in arguments else None
            for kind, arguments in final if kind == "ARG"}
    assert "TORCH_INDEX_URL" in args, "ARG TORCH_INDEX_URL must be declared in the final stage (where pip runs)"
    default = args["TORCH_INDEX_URL"]
    assert default and default.startswith("https://") and default.rstrip("/").endswith("/whl/cpu"), default
    declared_at = next(i for i, (kind, arguments) in enumerate(final)
                       if kind == "ARG" and arguments.startswith("TORCH_INDEX_URL"))
    uses = [i for i, (kind, arguments) in enumerate(final) if kind == "RUN" and "pip install" in arguments
            and re.search(r'--extra-index-url[= ]+"?\$\{?TORCH_INDEX_URL\}?"?', arguments)]
    assert uses and min(uses) > declared_at, "pip install must use --extra-index-url $TORCH_INDEX_URL after the ARG"


def test_image_leaves_out_the_editable_install_of_the_repository():
    final = dockerfile_stages()[-1]
    commands = shell_commands(final)
    filters = (re.match(r"grep -v '\^-e' \S*requirements\.txt > (\S+)", command) for command in commands)
    filtered = [match.group(1) for match in filters if match]
    assert filtered, "requirements.txt's '-e .[instructor]' line must be filtered out before pip reads the file"
    installs = [command for command in commands if "pip install" in command]
    assert any(f"-r {filtered[0]}" in command for command in installs), "pip must read the filtered requirements"
    for command in installs:
        assert not re.search(r"-r (\S*/)?requirements\.txt\b", command) and "-e ." not in command, command
    assert any("mle_helpers-" in command and ".whl" in command for command in installs), "mle_helpers as a wheel"


def test_image_runs_the_hubs_jupyterhub_major():
    chart = re.search(r"chart (\d+\.\d+\.\d+)", (ROOT / "hub" / "k8s" / "values.yaml").read_text())
    assert chart and chart.group(1) in CHART_JUPYTERHUB, "values.yaml must name the chart release it was checked with"
    major = int(CHART_JUPYTERHUB[chart.group(1)].split(".")[0])
    pins = [re.search(r"jupyterhub>=(\d+),<(\d+)", command) for command in shell_commands(dockerfile_stages()[-1])]
    pins = [pin for pin in pins if pin]
    assert pins and all((int(p.group(1)), int(p.group(2))) == (major, major + 1) for p in pins), (
        f"the image must pin jupyterhub>={major},<{major + 1}, the hub's major version")


def test_students_image_hides_the_instructors_tools():
    disabled_server, disabled_lab = set(), set()
    for command in shell_commands(dockerfile_stages()[-1]):
        words = command.split()
        if words[:4] == ["jupyter", "server", "extension", "disable"] and "--sys-prefix" in words:
            disabled_server |= {w for w in words[4:] if not w.startswith("--")}
        if words[:3] == ["jupyter", "labextension", "disable"] and "--level=sys_prefix" in words:
            disabled_lab |= {w for w in words[3:] if not w.startswith("--")}
    assert {"nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"} <= disabled_server
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= disabled_lab


def test_image_runs_as_jovyan_so_student_ids_are_hub_names():
    final = dockerfile_stages()[-1]
    commands = shell_commands(final)
    assert any(c.startswith("useradd") and re.search(r"--uid 1000\b", c) and c.split()[-1] == "jovyan"
               for c in commands), "the image needs a user jovyan with uid 1000 (nbgrader then uses JUPYTERHUB_USER)"
    users = [arguments for kind, arguments in final if kind == "USER"]
    assert users and users[-1].split(":")[0] in ("1000", "jovyan"), f"the image must not run as root: USER {users}"
    cmds = [json.loads(arguments) for kind, arguments in final if kind == "CMD"]
    assert cmds and cmds[-1] == ["jupyterhub-singleuser"]


# --- the Zero to JupyterHub values ------------------------------------------------------------

@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((ROOT / "hub" / "k8s" / "values.yaml").read_text())


def extra_file(values: dict, mount_path: str) -> dict:
    files = [f for f in values["singleuser"].get("extraFiles", {}).values() if f["mountPath"] == mount_path]
    assert len(files) == 1, f"singleuser.extraFiles must mount exactly one file at {mount_path}"
    return files[0]


def run_config(source: str) -> Config:
    """Run a traitlets config file's text as nbgrader would, with load_subconfig doing nothing."""
    c = Config()
    exec(compile(source, "<config>", "exec"), {"get_config": lambda: c, "c": c, "load_subconfig": lambda *a, **k: None})
    return c


def global_nbgrader_config(values: dict) -> Config:
    assert posixpath.dirname(GLOBAL_NBGRADER_CONFIG) in SYSTEM_CONFIG_PATH  # a folder every user's nbgrader reads
    return run_config(extra_file(values, GLOBAL_NBGRADER_CONFIG)["stringData"])


def test_values_name_the_course_image(values):
    image = values["singleuser"]["image"]
    assert image.get("name") and "k8s-singleuser-sample" not in image["name"], "singleuser.image.name must be set"
    assert isinstance(image.get("tag"), str) and image["tag"], "singleuser.image.tag must be a string"


def test_exchange_volume_is_mounted_where_nbgrader_looks(values):
    root = global_nbgrader_config(values).Exchange.root
    storage = values["singleuser"]["storage"]
    mounts = [m for m in storage.get("extraVolumeMounts") or [] if m["mountPath"] == root]
    assert len(mounts) == 1 and not mounts[0].get("readOnly"), f"one writable volume must be mounted at {root}"
    volumes = [v for v in storage.get("extraVolumes") or [] if v["name"] == mounts[0]["name"]]
    assert len(volumes) == 1 and volumes[0].get("persistentVolumeClaim", {}).get("claimName"), (
        "the exchange must be a shared PersistentVolumeClaim")
    assert storage["type"] == "dynamic", "every user needs their own home volume"


def test_every_pod_uses_course_folders_and_hub_groups(values):
    config = global_nbgrader_config(values)
    assert config.Exchange.path_includes_course is True
    plugin = config.Authenticator.plugin_class
    assert (import_item(plugin) if isinstance(plugin, str) else plugin) is JupyterHubAuthPlugin


def test_hub_database_is_postgres_without_a_password_in_the_file(values):
    db = values["hub"]["db"]
    assert db["type"] == "postgres"
    assert db["url"].startswith("postgresql"), db["url"]
    assert not re.match(r"[^:]+://[^:/@]+:[^@]+@", db["url"]), "no password in hub.db.url"
    assert "password" in db and db["password"] is None, "hub.db.password is set at install time, not in the file"


def test_both_nbgrader_groups_exist(values):
    groups = values["hub"]["config"]["JupyterHub"]["load_groups"]
    members = {name: set(group["users"] if isinstance(group, dict) else group) for name, group in groups.items()}
    assert f"nbgrader-{COURSE}" in members and f"formgrade-{COURSE}" in members, sorted(members)
    assert members[f"formgrade-{COURSE}"] and members[f"formgrade-{COURSE}"] <= members[f"nbgrader-{COURSE}"]


def fake_spawner(*groups: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups]),
                           environment={"OMP_NUM_THREADS": "1"},
                           extra_labels={"component": "singleuser-server"})


def pre_spawn_hook(values: dict):
    c = Config()
    for name, snippet in sorted(values["hub"].get("extraConfig", {}).items()):
        exec(compile(snippet, name, "exec"), {"c": c, "get_config": lambda: c})
    assert "pre_spawn_hook" in c.KubeSpawner, "hub.extraConfig must set c.KubeSpawner.pre_spawn_hook"
    return c.KubeSpawner.pre_spawn_hook


def strings_mentioning(node, needle: str, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings_mentioning(value, needle, path + (key,))
            if needle in str(key):
                yield path + (key,)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from strings_mentioning(value, needle, path + (i,))
    elif isinstance(node, str) and needle in node:
        yield path


def test_gradebook_url_reaches_only_the_instructor(values):
    assert "MLE_GRADEBOOK_URL" not in (values["singleuser"].get("extraEnv") or {})
    places = list(strings_mentioning(values, "MLE_GRADEBOOK_URL"))
    assert places and all(place[:2] == ("hub", "extraConfig") for place in places), places

    hook = pre_spawn_hook(values)
    student = fake_spawner(f"nbgrader-{COURSE}")
    hook(student)
    assert "MLE_GRADEBOOK_URL" not in student.environment and "JUPYTER_CONFIG_PATH" not in student.environment

    instructor = fake_spawner(f"nbgrader-{COURSE}", f"formgrade-{COURSE}")
    hook(instructor)
    gradebook = instructor.environment["MLE_GRADEBOOK_URL"]
    assert isinstance(gradebook, dict) and gradebook["valueFrom"]["secretKeyRef"]["name"], (
        "the gradebook's URL (with its password) must come from a Kubernetes Secret, not from the values")
    assert instructor.environment["OMP_NUM_THREADS"] == "1", "the hook must keep the pod's other variables"

    former = fake_spawner(f"nbgrader-{COURSE}")  # removed from the graders since the last start
    former.environment.update(instructor.environment)
    former.extra_labels.update(instructor.extra_labels)
    hook(former)
    assert "MLE_GRADEBOOK_URL" not in former.environment and former.extra_labels == student.extra_labels


def test_only_the_instructor_reads_the_config_that_shows_the_tools(values):
    instructor = fake_spawner(f"nbgrader-{COURSE}", f"formgrade-{COURSE}")
    pre_spawn_hook(values)(instructor)
    folder = instructor.environment["JUPYTER_CONFIG_PATH"]
    assert folder not in SYSTEM_CONFIG_PATH and folder != "/usr/local/etc/jupyter", (
        "the instructor's folder must not be one every user's Jupyter reads")
    server = extra_file(values, f"{folder}/jupyter_server_config.json")["data"]["ServerApp"]["jpserver_extensions"]
    assert server == {"nbgrader.server_extensions.formgrader": True, "nbgrader.server_extensions.course_list": True}
    lab = extra_file(values, f"{folder}/labconfig/page_config.json")["data"]["disabledExtensions"]
    assert lab == {"@jupyter/nbgrader:formgrader": False, "@jupyter/nbgrader:create-assignment": False,
                   "@jupyter/nbgrader:course-list": False}
    course = run_config(extra_file(values, f"{folder}/nbgrader_config.py")["stringData"])
    assert course.CourseDirectory.root.startswith(values["singleuser"]["storage"]["homeMountPath"] + "/"), (
        "the instructor's course folder lives in their home volume")


def test_values_keys_are_known_to_the_chart(values):
    header = (ROOT / "hub" / "k8s" / "values.yaml").read_text().split("\n\n")[0]
    assert "4.4.0" in header and "5c5f5df751588a68a7781ead01d0f62e88e2e72f" in header, (
        "values.yaml must say which chart release its keys were checked against")
    assert set(values) <= CHART_TOP_LEVEL, sorted(set(values) - CHART_TOP_LEVEL)
    for section, content in values.items():
        assert section in CHART_SECOND_LEVEL, f"copy the keys of '{section}' from the chart's schema first"
        unknown = set(content) - CHART_SECOND_LEVEL[section]
        assert not unknown, f"{section}: the chart knows no {sorted(unknown)}"
    for (section, key), known in CHART_THIRD_LEVEL.items():
        unknown = set(values.get(section, {}).get(key) or {}) - known
        assert not unknown, f"{section}.{key}: the chart knows no {sorted(unknown)}"
