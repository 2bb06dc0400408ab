"""The Makefile sets up .venv once and reinstalls only when the requirements change."""
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(project_root, *args):
    result = subprocess.run(["make", "-n", *args], cwd=project_root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_up_to_date_environment_is_not_reinstalled(project_root):
    assert (project_root / ".venv" / ".installed").exists(), "make test should have left the install stamp"
    assert "pip install" not in dry_run(project_root, "book")


@pytest.mark.parametrize("changed", ["requirements.txt", "requirements-test.txt", "pyproject.toml"])
def test_a_changed_requirement_triggers_a_reinstall(project_root, changed):
    # -W pretends the file was just modified, without touching it.
    assert "pip install" in dry_run(project_root, "-W", changed, "book")


def test_ci_runs_the_readme_test_command(project_root):
    ci = (project_root / ".ci" / "run").read_text()
    readme = (project_root / "README.md").read_text()
    assert "make test" in readme
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test"
