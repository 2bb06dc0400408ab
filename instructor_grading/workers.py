"""``make autograde``: grade a whole class with parallel workers, one bad submission at a time.

Every submission that :mod:`~instructor_grading.preflight` accepts is graded
by nbgrader's own API, with the course's ``nbgrader_config.py``, in a worker
process that has its *own* course directory (the source folder linked in,
private copies of the submitted and autograded files). A re-grade replaces a
submission's rows, never duplicates them; ``submitted/`` is never modified. A
worker that crashes fails its submission only.

The gradebook is the course's ``CourseDirectory.db_url`` (nbgrader's default
``sqlite:///<course>/gradebook.db``, or the PostgreSQL database that
``MLE_GRADEBOOK_URL`` names):

- SQLite: each worker grades into a copy of the gradebook, and only the main
  process writes ``gradebook.db``, one result at a time (:func:`_merge`), so
  SQLite is never written concurrently;
- PostgreSQL: the workers write the gradebook directly, at the same time. The
  main process creates every student first, one after another, so that no two
  workers race to create the same student.

``shard="i/N"`` grades only every N-th student (students sorted by id; the
k-th, counting from 0, belongs to shard ``k % N + 1``), so that N machines can
grade one class into one PostgreSQL gradebook.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import nbformat

from .config import course_config
from .preflight import Problem, expected_notebooks, preflight
from .schedule import SCHEDULE_FILE
from .scores import scores

__all__ = ["autograde", "parse_shard", "gradebook_url"]

_WORKER: dict = {}  # this worker process's private course directory, made on first use


def parse_shard(shard: str | None) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)``; ``None`` -> ``(1, 1)`` (the whole class).

    Raises:
        ValueError: if ``shard`` is not ``i/N`` with ``1 <= i <= N``.
    """
    if shard is None:
        return 1, 1
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", shard) if isinstance(shard, str) else None
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"shard must look like i/N with 1 <= i <= N (say 1/2, then 2/2 on another machine); "
                         f"got {shard!r}")
    return int(match[1]), int(match[2])


def gradebook_url(course: Path) -> tuple[str, str]:
    """The course's gradebook URL and its course id, as nbgrader reads them from ``nbgrader_config.py``."""
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    directory = CourseDirectory(config=course_config(course))  # db_url defaults to sqlite:///<root>/gradebook.db
    try:
        make_url(directory.db_url)
    except ArgumentError:  # the value is not shown: it may hold a password
        raise ValueError(f"course {str(course)!r}: CourseDirectory.db_url (MLE_GRADEBOOK_URL) is not a database "
                         "URL; expected postgresql+psycopg2://user:password@host:port/database") from None
    return directory.db_url, directory.course_id


def _shown(db_url: str) -> str:
    """``db_url`` without its password, to print."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


def _sqlite_file(course: Path, db_url: str) -> Path | None:
    """The SQLite file of ``db_url``, or None when the gradebook is a database server."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return None
    return (course / (url.database or "gradebook.db")).resolve()


def _worker_course(course: Path, gradebook: Path | None) -> Path:
    """This worker's private course folder; with a copy of the SQLite ``gradebook`` when there is one."""
    if "dir" not in _WORKER:
        work = Path(tempfile.mkdtemp(prefix="mle-grading-"))
        if gradebook is not None:
            shutil.copy2(gradebook, work / "gradebook.db")
        source = course_config(course).CourseDirectory.get("source_directory", "source")
        for part in (source, SCHEDULE_FILE):  # the sources, and the late policy nbgrader's late plugin reads
            if (course / part).exists():
                (work / part).symlink_to((course / part).resolve())
        _WORKER["dir"] = work
    return _WORKER["dir"]


def _grade_one(course: str, student: str, assignment: str, notebooks: dict[str, str],
               gradebook: str | None = None, db_url: str | None = None) -> dict:
    """Autograde one submission in this worker's private course folder.

    ``notebooks`` maps notebook name -> notebook JSON. With an SQLite
    ``gradebook`` (its path), the worker grades into a private copy of it and
    returns the grades for :func:`_merge`; it never touches the main
    gradebook. Otherwise it writes the database ``db_url`` directly.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course_path = Path(course)
    work = _worker_course(course_path, Path(gradebook) if gradebook else None)
    folder = work / "submitted" / student / assignment
    shutil.rmtree(work / "submitted" / student, ignore_errors=True)
    shutil.rmtree(work / "autograded" / student, ignore_errors=True)
    original = course_path / "submitted" / student / assignment
    shutil.copytree(original, folder, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    for name, text in notebooks.items():
        (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")

    config = course_config(course_path)
    config.CourseDirectory.root = str(work)
    private = f"sqlite:///{work / 'gradebook.db'}"
    config.CourseDirectory.db_url = private if gradebook else db_url
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    outcome = api.autograde(assignment, student, force=True, create=True)
    result = {"student": student, "assignment": assignment, "success": bool(outcome["success"]),
              "error": "", "notebooks": {}, "timestamp": None, "workdir": str(work)}
    if not outcome["success"]:
        lines = [ln for ln in (outcome.get("log", "") + "\n" + outcome.get("error", "")).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("[ERROR]")]
        result["error"] = (errors or lines or ["nbgrader failed"])[-1][:300]
    else:
        if gradebook:
            with Gradebook(private) as gb:
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
    """Write one worker's result into the main SQLite gradebook (called by one process only)."""
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


def _create_students(db_url: str, course_id: str, students) -> None:
    """Every student in the shared gradebook before any worker starts (so none races to create one)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        for student in sorted(students):
            gb.update_or_create_student(student)


def autograde(course: Path | str = ".", jobs: int = 1, *, shard: str | None = None,
              log=print) -> tuple[dict, list[Problem]]:
    """Grade every submission of the course (of the shard's students); return ``(scores(...), problems)``.

    The scores are those of the whole gradebook, or of the shard's students
    only when ``shard`` is given.

    Raises:
        ValueError: if ``jobs`` is not a positive integer, ``shard`` is not
            ``i/N`` (or N > 1 with an SQLite gradebook), or the gradebook is
            missing or holds no assignment.
    """
    from sqlalchemy import exc as sa_exc

    course = Path(course).resolve()
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    index, count = parse_shard(shard)
    db_url, course_id = gradebook_url(course)
    gradebook = _sqlite_file(course, db_url)
    if gradebook is not None:
        if count > 1:
            raise ValueError(f"shard {shard!r} needs a gradebook that several machines share (PostgreSQL: set "
                             f"MLE_GRADEBOOK_URL); this course's gradebook is the SQLite file {str(gradebook)!r}")
        if not gradebook.exists():
            raise ValueError(f"course {str(course)!r} has no {gradebook.name}; run `make assignments` first")
        db_url = f"sqlite:///{gradebook}"
    try:
        expected = expected_notebooks(db_url, course_id=course_id)
    except sa_exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ValueError(f"cannot open the gradebook {_shown(db_url)}: {reason}") from None
    if gradebook is None and not expected:
        raise ValueError(f"the gradebook {_shown(db_url)} holds no assignment; run `make assignments` "
                         "with MLE_GRADEBOOK_URL set to it first")
    submissions, problems = preflight(course, expected)
    students = sorted({s.student for s in submissions} | {p.student for p in problems})
    if count > 1:
        mine = {student for k, student in enumerate(students) if k % count == index - 1}
        submissions = [s for s in submissions if s.student in mine]
        problems = [p for p in problems if p.student in mine]
        log(f"shard {index}/{count}: {len(mine)} of the {len(students)} students in submitted/")
    for problem in problems:
        log(f"preflight: {problem}")
    if gradebook is None:
        _create_students(db_url, course_id, {s.student for s in submissions})

    failed, workdirs = [], set()
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited kernels or sockets
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(_grade_one, str(course), s.student, s.assignment,
                        {name: nbformat.writes(nb) for name, nb in s.notebooks.items()},
                        str(gradebook) if gradebook else None, db_url): s
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
                if gradebook is not None:
                    _merge(db_url, result)
                log(f"graded {s.student}/{s.assignment}")
            else:
                failed.append(Problem(s.student, s.assignment, str(s.folder.relative_to(course)),
                                      f"nbgrader could not grade it: {result['error']}"))
                log(f"FAILED {s.student}/{s.assignment}: {result['error']}")
    for workdir in workdirs - {None}:
        shutil.rmtree(workdir, ignore_errors=True)
    table = scores(db_url, course_id=course_id)
    if count > 1:
        table = {key: value for key, value in table.items() if key[0] in mine}
        log(f"the table shows shard {index}/{count}'s students only; the whole class is in {_shown(db_url)} "
            "(`make grades` exports it once every shard has finished)")
    return table, problems + failed
