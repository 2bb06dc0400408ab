"""Two packages by audience: students import mle_helpers, instructors run instructor_grading."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDENT_PACKAGE = ROOT / "mle_helpers"
# Code that runs inside a student's kernel: it must work with any numpy/torch in the supported range.
KERNEL_SIDE = [*STUDENT_PACKAGE.glob("*.py"), ROOT / "instructor_grading" / "kernel_protocol.py"]


def imported_modules(path: Path) -> set[str]:
    """Every module name that ``path`` imports, anywhere in the file (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_importing_mle_helpers_loads_no_grading_tool():
    code = ("import sys, mle_helpers, mle_helpers.plotting\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'nbgrader', 'nbformat', 'nbconvert', 'instructor_grading'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT / "tests")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import mle_helpers loads {result.stdout.strip()}"


def test_mle_helpers_dependencies_are_what_it_imports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {requirement.split("=")[0].split(">")[0].split("<")[0].strip() for requirement in project["dependencies"]}
    third_party = {name.split(".")[0] for path in STUDENT_PACKAGE.glob("*.py") for name in imported_modules(path)}
    third_party -= set(sys.stdlib_module_names) | {"mle_helpers", "__future__"}
    assert third_party == declared, f"mle_helpers imports {sorted(third_party)}; pyproject.toml declares {sorted(declared)}"


def test_kernel_side_code_imports_no_private_numpy_or_torch_module():
    private = {f"{path.relative_to(ROOT)}: {name}" for path in KERNEL_SIDE for name in imported_modules(path)
               if name.split(".")[0] in {"numpy", "torch"} and any(part.startswith("_") for part in name.split("."))}
    assert not private, f"private modules differ between numpy/torch versions: {sorted(private)}"
