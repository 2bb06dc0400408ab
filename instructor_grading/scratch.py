"""A throwaway course to rehearse grading in (the tests and the benchmarks use it).

Its ``nbgrader_config.py`` loads the real course's configuration and changes
only the course id, the folders and the per-cell timeout, so a scratch course
grades exactly like the course.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["DEMO_ASSIGNMENT", "COURSE_CONFIG", "demo_source", "scratch_course"]

DEMO_ASSIGNMENT = "demo_mean"
COURSE_CONFIG = Path(__file__).resolve().parents[1] / "nbgrader_config.py"
_POINTER = f"# Checked in the grader's process: instructor_grading/checks/{DEMO_ASSIGNMENT}.py"


def _cell(source, grade_id, *, grade=False, solution=False, points=0):
    cell = new_code_cell(source)
    cell.metadata.nbgrader = {"grade": grade, "solution": solution, "locked": not solution,
                              "grade_id": grade_id, "schema_version": 3, "task": False}
    if grade:
        cell.metadata.nbgrader["points"] = points
    return cell


def demo_source():
    """A small nbgrader source notebook to rehearse grading with: two answers, 5 points.

    ``sample_mean`` (visible test 1 point, hidden test 2 points) and
    ``sample_variance`` (one test cell, visible and hidden parts, 2 points);
    their trusted checks are :mod:`instructor_grading.checks.demo_mean`.
    """
    return new_notebook(cells=[
        new_markdown_cell("# Demo assignment: the sample mean and variance"),
        new_code_cell("import torch\nimport numpy as np\nimport mle_helpers as mh"),
        _cell('def sample_mean(x):\n    """The MLE of a Gaussian mean."""\n'
              "    ### BEGIN SOLUTION\n    return x.mean()\n    ### END SOLUTION", "answer_mean", solution=True),
        _cell('"""sample_mean of a small sample."""\n'
              'mh.checks.check_close("sample_mean", sample_mean(torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)), 3.0)',
              "test_mean_visible", grade=True, points=1),
        _cell('"""sample_mean on fresh data."""\n'
              f"### BEGIN HIDDEN TESTS\n{_POINTER}\n### END HIDDEN TESTS", "test_mean_hidden", grade=True, points=2),
        _cell('def sample_variance(x):\n    """The MLE of a Gaussian variance (divisor n)."""\n'
              "    ### BEGIN SOLUTION\n    return ((x - x.mean()) ** 2).mean()\n    ### END SOLUTION",
              "answer_variance", solution=True),
        _cell('"""sample_variance, visible and hidden."""\n'
              'mh.checks.check_close("sample_variance", sample_variance(torch.tensor([1.0, 3.0], dtype=torch.float64)), 1.0)\n'
              f"### BEGIN HIDDEN TESTS\n{_POINTER}\n### END HIDDEN TESTS", "test_variance", grade=True, points=2),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def scratch_course(root, assignments, *, solutions="solutions", timeout=30, config=COURSE_CONFIG) -> Path:
    """A new course in ``root`` with ``assignments`` generated, configured like the course.

    Each assignment is copied from ``solutions/<id>/`` (``DEMO_ASSIGNMENT``
    comes from :func:`demo_source`) into ``source/``, then nbgrader's
    ``generate_assignment`` writes ``release/`` and ``gradebook.db``.
    ``timeout`` is the per-cell ``Execute.timeout`` in seconds; ``config`` the
    course configuration the scratch course loads.

    Raises:
        ValueError: if ``root`` exists already, an assignment has no folder in
            ``solutions`` or ``config`` is not a file.
    """
    root, solutions, config = Path(root), Path(solutions), Path(config).resolve()
    if root.exists():
        raise ValueError(f"root must not exist yet; got {str(root)!r}")
    if not config.is_file():
        raise ValueError(f"config must be an nbgrader_config.py file; got {str(config)!r}")
    missing = [a for a in assignments if a != DEMO_ASSIGNMENT and not (solutions / a).is_dir()]
    if missing:
        raise ValueError(f"assignments {missing} have no folder in {str(solutions)!r}")
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(config)!r})  # noqa: F821 (the course's grading configuration)\n"
        "c.CourseDirectory.course_id = 'scratch'\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.Execute.timeout = {int(timeout)}\n"
        f"c.GradingExecute.secret_file = {str(root.resolve() / '.grading_secret')!r}\n")
    for assignment in assignments:
        target = root / "source" / assignment
        if assignment == DEMO_ASSIGNMENT:
            target.mkdir(parents=True)
            nbformat.write(demo_source(), target / f"{assignment}.ipynb")
        else:
            shutil.copytree(solutions / assignment, target,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--log-level=ERROR"],
                       cwd=root, check=True, capture_output=True, text=True)
    return root
