"""``make autograde``: grade a whole class with parallel workers, one bad submission at a time.

Every submission that :mod:`~instructor_grading.preflight` accepts is graded
by nbgrader's own API, with the course's ``nbgrader_config.py``, in a worker
process that has its *own* course directory (the source folder linked in, a
copy of the gradebook). Only the main process writes ``gradebook.db``, one
result at a time, so SQLite is never written concurrently; a re-grade
replaces a submission's rows, never duplicates them; ``submitted/`` is never
modified. A worker that crashes fails its submission only.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import shutil
import tempfile
import warnings
from pathlib import Path

import nbformat

from .config import course_config
from .preflight import Problem, expected_notebooks, preflight
from .scores import scores

__all__ = ["autograde"]

_WORKER: dict = {}  # this worker process's private course directory, made on first use


def _worker_course(course: Path) -> Path:
    if "dir" not in _WORKER:
        work = Path(tempfile.mkdtemp(prefix="mle-grading-"))
        shutil.copy2(course / "gradebook.db", work / "gradebook.db")
        source = course_config(course).CourseDirectory.get("source_directory", "source")
        if (course / source).is_dir():
            (work / source).symlink_to((course / source).resolve())
        _WORKER["dir"] = work
    return _WORKER["dir"]


def _grade_one(course: str, student: str, assignment: str, notebooks: dict[str, str]) -> dict:
    """Autograde one submission in this worker's private course; return its grades.

    ``notebooks`` maps notebook name -> notebook JSON. Runs in a worker
    process; never touches the main gradebook.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course_path = Path(course)
    work = _worker_course(course_path)
    folder = work / "submitted" / student / assignment
    shutil.rmtree(work / "submitted" / student, ignore_errors=True)
    shutil.rmtree(work / "autograded" / student, ignore_errors=True)
    original = course_path / "submitted" / student / assignment
    shutil.copytree(original, folder, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    for name, text in notebooks.items():
        (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")

    config = course_config(course_path)
    config.CourseDirectory.root = str(work)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    outcome = api.autograde(assignment, student, force=True, create=True)
    result = {"student": student, "assignment": assignment, "success": bool(outcome["success"]),
              "error": "", "notebooks": {}, "timestamp": None, "workdir": str(work)}
    if not outcome["success"]:
        lines = [ln for ln in (outcome.get("log", "") + "\n" + outcome.get("error", "")).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("[ERROR]")]
        result["error"] = (errors or lines or ["nbgrader failed"])[-1][:300]
    else:
        with Gradebook(f"sqlite:///{work / 'gradebook.db'}") as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                result.update(success=False, error="nbgrader recorded no submission")
                return result
            result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
            for nb in submission.notebooks:
                result["notebooks"][nb.name] = {
                    "late_submission_penalty": nb.late_submission_penalty,
                    "grades": {g.name: [g.auto_score, g.needs_manual_grade] for g in nb.grades},
                    "comments": {c.name: c.auto_comment for c in nb.comments},
                }
        target = course_path / "autograded" / student / assignment
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work / "autograded" / student / assignment, target)
    shutil.rmtree(work / "submitted" / student, ignore_errors=True)
    shutil.rmtree(work / "autograded" / student, ignore_errors=True)
    return result


def _merge(db_url: str, result: dict) -> None:
    """Write one worker's result into the main gradebook (called by one process only)."""
    from datetime import datetime

    from nbgrader.api import Gradebook
    from sqlalchemy import exc as sa_exc

    student, assignment = result["student"], result["assignment"]
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        # nbgrader's update_or_create_submission trips SQLAlchemy autoflush warnings; they are harmless.
        warnings.simplefilter("ignore", sa_exc.SAWarning)
        gb.update_or_create_student(student)
        timestamp = datetime.fromisoformat(result["timestamp"]) if result["timestamp"] else None
        gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        for notebook, data in result["notebooks"].items():
            for name, (auto_score, needs_manual) in data["grades"].items():
                grade = gb.find_grade(name, notebook, assignment, student)
                grade.auto_score, grade.needs_manual_grade = auto_score, needs_manual
            for name, auto_comment in data["comments"].items():
                gb.find_comment(name, notebook, assignment, student).auto_comment = auto_comment
            gb.find_submission_notebook(notebook, assignment, student).late_submission_penalty = \
                data["late_submission_penalty"]
        gb.db.commit()


def autograde(course: Path | str = ".", jobs: int = 1, *, log=print) -> tuple[dict, list[Problem]]:
    """Grade every submission of the course; return ``(scores(...), problems)``.

    Raises:
        ValueError: if ``jobs`` is not a positive integer or the course has no gradebook.
    """
    course = Path(course).resolve()
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    db = course / "gradebook.db"
    if not db.exists():
        raise ValueError(f"course {str(course)!r} has no gradebook.db; run `make assignments` first")
    db_url = f"sqlite:///{db}"
    submissions, problems = preflight(course, expected_notebooks(db_url))
    for problem in problems:
        log(f"preflight: {problem}")

    failed, workdirs = [], set()
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited kernels or sockets
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(_grade_one, str(course), s.student, s.assignment,
                        {name: nbformat.writes(nb) for name, nb in s.notebooks.items()}): s
            for s in sorted(submissions, key=lambda s: (s.assignment, s.student))  # spreads one student's slow notebooks
        }
        for future in concurrent.futures.as_completed(futures):
            s = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a worker that crashed outright
                result = {"success": False, "error": f"{type(error).__name__}: {error}"}
            workdirs.add(result.get("workdir"))
            if result["success"]:
                _merge(db_url, result)
                log(f"graded {s.student}/{s.assignment}")
            else:
                failed.append(Problem(s.student, s.assignment, str(s.folder.relative_to(course)),
                                      f"nbgrader could not grade it: {result['error']}"))
                log(f"FAILED {s.student}/{s.assignment}: {result['error']}")
    for workdir in workdirs - {None}:
        shutil.rmtree(workdir, ignore_errors=True)
    return scores(db_url), problems + failed
