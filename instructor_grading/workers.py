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
grade one class into one PostgreSQL gradebook. ``student`` and ``assignment``
grade one student, one assignment or one submission only (a re-grade after a
check was fixed): no other submission's rows or ``autograded/`` folder change.

A re-grade rewrites only what the autograder owns (each cell's ``auto_score``
and ``needs_manual_grade``, the automatic comments, the late penalty). What an
instructor entered stays: manual scores, extra credit and manual comments, on
either gradebook, as with plain ``nbgrader autograde``; and, by nbgrader's
rule, a cell with a manual score is marked as needing manual grading again.

It prints one line per graded submission as it finishes (``[ 3/44]
ada/ps1_closed_form  13/16  3.1 s``); nbgrader's log and the harmless warnings
of its gradebook code stay out of the output.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import nbformat

from .config import course_config
from .preflight import Problem, expected_notebooks, preflight
from .record import SUFFIX, Record
from .schedule import SCHEDULE_FILE
from .scores import scores

__all__ = ["autograde", "check_selection", "graded_in", "parse_shard", "gradebook_url"]

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


@contextlib.contextmanager
def _quiet_autoflush():
    """Without the SQLAlchemy warning that nbgrader's ``add_submission`` trips on every new submission.

    It builds a submission's rows while the session autoflushes, and SQLAlchemy
    warns that the new objects are "not in session" yet; nbgrader adds and
    commits them right after, so nothing is lost. Other warnings still show.
    """
    from sqlalchemy import exc as sa_exc

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Object of type <\w+> not in session", sa_exc.SAWarning)
        yield


def _nbgrader_error(outcome: dict) -> str:
    """Why nbgrader failed, in its own words: its ERROR log entries and the exception that started it."""
    log, trace = outcome.get("log") or "", outcome.get("error") or ""
    errors = [" ".join(entry.split()) for entry in re.findall(r"^\[ERROR\](.*?)(?=^\[|\Z)", log, re.M | re.S)]
    causes = re.findall(r"^(?:\w+\.)*(\w+(?:Error|Exception): .+)$", trace, re.M)
    message = "; ".join(e for e in errors if e)
    if causes and causes[0].split(": ", 1)[1] not in message:
        message += f" ({causes[0]})" if message else causes[0]
    return (message or "nbgrader failed and said nothing")[:400]


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
    started = time.monotonic()
    with _quiet_autoflush():
        outcome = api.autograde(assignment, student, force=True, create=True)
    result = {"student": student, "assignment": assignment, "success": bool(outcome["success"]),
              "error": "", "notebooks": {}, "timestamp": None, "score": None,
              "seconds": time.monotonic() - started, "workdir": str(work)}
    if not outcome["success"]:
        result["error"] = _nbgrader_error(outcome)
    else:
        with Gradebook(private if gradebook else db_url, api.coursedir.course_id) as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                result.update(success=False, error="nbgrader recorded no submission")
                return result
            result["score"] = [submission.score, submission.max_score]
            if gradebook:
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
    """Write one worker's result into the main SQLite gradebook (called by one process only).

    Only the autograder's fields are written; manual scores, extra credit and
    manual comments are left as the instructor entered them.
    """
    from datetime import datetime

    from nbgrader.api import Gradebook

    student, assignment = result["student"], result["assignment"]
    with _quiet_autoflush(), Gradebook(db_url) as gb:
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


def check_selection(course: Path, expected: dict[str, list[str]], db_url: str,
                    student: str | None, assignment: str | None) -> None:
    """Refuse a ``student`` or ``assignment`` that has nothing to grade.

    Raises:
        ValueError: naming the value, if ``assignment`` is not in the gradebook
            (``expected``), or the student, the assignment or the pair has no
            folder in ``submitted/``.
    """
    if assignment is not None and assignment not in expected:
        raise ValueError(f"assignment {assignment!r} is not in the gradebook {_shown(db_url)}; it holds "
                         f"{', '.join(sorted(expected)) or 'no assignment'} (`make assignments` adds one)")
    submitted = course / "submitted"
    folders = {p.name: p for p in submitted.iterdir() if p.is_dir()} if submitted.is_dir() else {}
    if student is not None and student not in folders:
        raise ValueError(f"student {student!r} has nothing in submitted/ (no folder submitted/{student}/)")
    if assignment is None:
        return
    if student is not None and not (folders[student] / assignment).is_dir():
        raise ValueError(f"student {student!r} has nothing in submitted/ for assignment {assignment!r} "
                         f"(no folder submitted/{student}/{assignment}/)")
    if not any((folder / assignment).is_dir() for folder in folders.values()):
        raise ValueError(f"assignment {assignment!r} has nothing in submitted/ "
                         f"(no folder submitted/<student>/{assignment}/)")


def _progress(done: int, total: int, name_width: int, s, result: dict) -> str:
    """One submission's line: ``[ 3/44] ada/ps1_closed_form  13/16  3.1 s``, or why it was not graded."""
    name = f"{s.student}/{s.assignment}".ljust(name_width)
    counter = f"[{done:>{len(str(total))}}/{total}]"
    if not result["success"]:
        return f"{counter} {name}  not graded (see the problems below)"
    score, max_score = result["score"]
    return f"{counter} {name}  {f'{score:g}/{max_score:g}':>7}  {result['seconds']:5.1f} s"


_GRADED = re.compile(r"\[ *\d+/\d+\] ([^/\s]+)/(\S+) +\S+/\S+ +[\d.]+ s")


def graded_in(line: str) -> tuple[str, str] | None:
    """``(student, assignment)`` if ``line`` is the progress line of a graded submission, else None."""
    match = _GRADED.fullmatch(line)
    return (match[1], match[2]) if match else None


def autograde(course: Path | str = ".", jobs: int = 1, *, shard: str | None = None,
              student: str | None = None, assignment: str | None = None,
              log=print) -> tuple[dict, list[Problem]]:
    """Grade every submission of the course; return ``(scores(...), problems)``.

    ``shard``, ``student`` and ``assignment`` narrow what is graded (see the
    module docstring); the scores and problems returned are then those of the
    selection only. ``log`` gets one line per finished submission.

    Raises:
        ValueError: if ``jobs`` is not a positive integer, ``shard`` is not
            ``i/N`` (or N > 1 with an SQLite gradebook), the gradebook is
            missing or holds no assignment, or ``student`` / ``assignment``
            has nothing to grade (:func:`check_selection`).
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
    check_selection(course, expected, db_url, student, assignment)
    submissions, problems = preflight(course, expected)
    students = sorted({s.student for s in submissions} | {p.student for p in problems})
    in_shard = {s for k, s in enumerate(students) if k % count == index - 1}
    if count > 1:
        log(f"shard {index}/{count}: {len(in_shard)} of the {len(students)} students in submitted/")

    def selected(who: str, what: str) -> bool:  # a problem outside any assignment folder has what == "-"
        return (count == 1 or who in in_shard) and student in (None, who) and assignment in (None, what, "-")

    submissions = [s for s in submissions if selected(s.student, s.assignment)]
    problems = [p for p in problems if selected(p.student, p.assignment)]
    if gradebook is None:
        _create_students(db_url, course_id, {s.student for s in submissions})

    failed, noted, workdirs = [], [], set()
    total = len(submissions)
    name_width = max((len(f"{s.student}/{s.assignment}") for s in submissions), default=0)
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited kernels or sockets
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {
            pool.submit(_grade_one, str(course), s.student, s.assignment,
                        {name: nbformat.writes(nb) for name, nb in s.notebooks.items()},
                        str(gradebook) if gradebook else None, db_url): s
            for s in sorted(submissions, key=lambda s: (s.assignment, s.student))  # spreads one student's slow notebooks
        }
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            s = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a worker that crashed outright
                result = {"success": False, "error": f"the grading process crashed ({type(error).__name__}: {error})"}
            workdirs.add(result.get("workdir"))
            if result["success"] and gradebook is not None:
                _merge(db_url, result)
            if not result["success"]:
                failed.append(Problem(s.student, s.assignment, str(s.folder.relative_to(course)),
                                      f"nbgrader could not grade it: {result['error']}"))
            else:
                noted += _notes(course, s)
            log(_progress(done, total, name_width, s, result))
    for workdir in workdirs - {None}:
        shutil.rmtree(workdir, ignore_errors=True)
    table = {(who, what): score for (who, what), score in scores(db_url, course_id=course_id).items()
             if selected(who, what)}
    if count > 1:
        log(f"the table shows shard {index}/{count}'s students only; the whole class is in {_shown(db_url)} "
            "(`make grades` exports it once every shard has finished)")
    return table, problems + failed + noted


def _notes(course: Path, submission) -> list[Problem]:
    """What the grading records of a graded submission ask the instructor to look at (graded anyway)."""
    folder = course / "autograded" / submission.student / submission.assignment
    where = str(folder.relative_to(course))
    return [Problem(submission.student, submission.assignment, where, f"{record.notebook}: {reason}: {detail}",
                    graded=True)
            for record in map(Record.read, sorted(folder.glob(f"*{SUFFIX}"))) for reason, detail in record.problems()]
