"""The instructor's grading wrapper around nbgrader (see the Instructor guide).

Run it from the course root (``make autograde JOBS=n`` and ``make feedback``
call it)::

    python -m mle_helpers.grading autograde [--jobs N]
    python -m mle_helpers.grading feedback

``autograde`` grades every ``submitted/<student>/<assignment>/<notebook>.ipynb``
with nbgrader so that one bad submission never stops the class:

1. *Preflight* reads every submission before nbgrader does and reports a
   named error (student, assignment, file) for an empty or corrupt notebook,
   an unknown file name or an unknown folder; such files are not graded.
   A cell ``grade_id`` that appears twice is repaired (the first cell keeps
   it, later copies become ordinary cells) and reported.
2. Each (student, assignment) is autograded by the real nbgrader API in a
   worker process with its *own* temporary course directory and a copy of
   the gradebook; ``--jobs N`` runs N workers. Only this process writes to
   ``gradebook.db``, one submission at a time, so SQLite is never written
   concurrently. Re-grading replaces a submission's rows, never duplicates
   them. ``submitted/`` is never modified.
3. Execution is nbgrader's ``Execute`` with two additions: before every test
   cell the kernel's comparison functions (``mle_helpers.checks``,
   ``torch.allclose``, ``numpy.allclose``, ...) are restored, so a notebook
   that replaces them gains nothing; and a kernel that dies leaves the cells
   it ran graded and the rest failed, instead of failing the notebook.
   A cell that runs past ``Execute.timeout`` is interrupted and fails. A cell
   that ignores the interrupt (a bare ``except:`` inside an endless loop)
   has its kernel stopped after ``INTERRUPT_GRACE`` seconds more, and is
   graded like a kernel that died: otherwise the still-busy kernel would make
   every later cell wait out its own timeout.

``feedback`` writes ``feedback/<student>/<assignment>/*.html`` without the
hidden tests, and with every traceback frame that would quote a hidden-test
line replaced by a neutral message.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = [
    "Problem",
    "Submission",
    "preflight",
    "solved_release",
    "repair_duplicate_grade_ids",
    "autograde",
    "generate_feedback",
    "scores",
    "format_table",
    "hidden_test_lines",
    "DEMO_ASSIGNMENT",
    "demo_source",
    "scratch_course",
    "main",
]

NEUTRAL_FRAME = "[a hidden test failed here; its code is not shown]"
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
KERNEL_DIED = "KernelDied"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# An IPython traceback line: optional arrow, the line number, then the code.
_NUMBERED_LINE = re.compile(r"^\s*(?:-*>\s*)?\d+\s(.*)$")


def _tools_on_path() -> None:
    """nbgrader runs the ``alembic`` command of its own environment; make sure it is found."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


# --------------------------------------------------------------------------- preflight

@dataclass
class Problem:
    """A submission (or one file of it) that could not be graded as it is."""

    student: str
    assignment: str
    path: str
    message: str
    graded: bool = False  # True when the file was repaired and graded anyway

    def __str__(self) -> str:
        where = f"student {self.student!r}, assignment {self.assignment!r}, file {self.path!r}"
        return f"{where}: {self.message}" + (" (repaired, graded)" if self.graded else " (not graded)")


@dataclass
class Submission:
    """One student's submission of one assignment, as it will be graded."""

    student: str
    assignment: str
    folder: Path  # submitted/<student>/<assignment>
    notebooks: dict = field(default_factory=dict)  # notebook name -> NotebookNode, repaired


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def repair_duplicate_grade_ids(nb) -> list[str]:
    """Keep the first cell of every ``grade_id``; later copies become ordinary cells.

    nbgrader fails (or silently grades the wrong copy) when a ``grade_id``
    appears twice. Returns one message per removed duplicate, naming the
    cell by its ``grade_id`` and position; ``nb`` is changed in place.
    """
    seen, messages = set(), []
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader_meta(cell)
        if not (meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
            continue
        grade_id = meta.get("grade_id")
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            messages.append(f"cell {index} repeats grade_id {grade_id!r}; the copy is graded as an ordinary cell")
        else:
            seen.add(grade_id)
    return messages


def _read_notebook(path: Path):
    """Read and validate a notebook; raise ValueError with a readable reason."""
    if path.stat().st_size == 0:
        raise ValueError("the file is empty")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the file is not text (not a notebook)") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the file is not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise ValueError("the file is JSON but not a notebook (no 'cells')")
    # A copied cell can carry a copied cell id, which nbformat rejects: give copies fresh ids.
    seen_ids = set()
    for cell in raw["cells"]:
        if isinstance(cell, dict) and cell.get("id") in seen_ids:
            cell["id"] = nbformat.v4.nbbase.random_cell_id()
        seen_ids.add(cell.get("id") if isinstance(cell, dict) else None)
    try:
        with warnings.catch_warnings():  # old notebooks without cell ids: nbformat adds them
            warnings.simplefilter("ignore", nbformat.warnings.MissingIDFieldWarning)
            nb = nbformat.reads(json.dumps(raw), as_version=4)
            nbformat.validate(nb)
    except Exception as error:  # nbformat raises several types for a bad schema
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"the file is not a valid notebook ({first_line})") from None
    return nb


def expected_notebooks(db_url: str) -> dict[str, list[str]]:
    """Assignment name -> its notebook names, from the gradebook (``make assignments`` fills it)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return {a.name: sorted(nb.name for nb in a.notebooks) for a in gb.assignments}


def preflight(course: Path, expected: dict[str, list[str]]) -> tuple[list[Submission], list[Problem]]:
    """Check every file under ``submitted/``; return what can be graded and the named problems."""
    submitted = course / "submitted"
    submissions, problems = [], []
    if not submitted.is_dir():
        return submissions, problems
    for student_dir in sorted(p for p in submitted.iterdir()):
        student = student_dir.name
        if not student_dir.is_dir():
            problems.append(Problem(student, "-", str(student_dir.relative_to(course)),
                                    "a file directly in submitted/; expected submitted/<student>/<assignment>/<notebook>.ipynb"))
            continue
        for folder in sorted(student_dir.iterdir()):
            rel = str(folder.relative_to(course))
            if not folder.is_dir():
                owner = [a for a, names in expected.items() if folder.stem in names]
                hint = f"; move it to submitted/{student}/{owner[0]}/" if owner else ""
                problems.append(Problem(student, "-", rel, f"not inside an assignment folder{hint}"))
                continue
            assignment = folder.name
            if assignment not in expected:
                problems.append(Problem(student, assignment, rel,
                                        f"unknown assignment folder; known: {', '.join(sorted(expected)) or 'none'}"))
                continue
            submission = Submission(student, assignment, folder)
            for path in sorted(folder.rglob("*.ipynb")):
                rel = str(path.relative_to(course))
                if ".ipynb_checkpoints" in path.parts:
                    continue
                if path.parent != folder or path.stem not in expected[assignment]:
                    owner = [a for a, names in expected.items() if path.stem in names and a != assignment]
                    why = (f"this notebook belongs to assignment {owner[0]!r}" if owner else
                           f"unexpected notebook name; expected {', '.join(n + '.ipynb' for n in expected[assignment])}")
                    problems.append(Problem(student, assignment, rel, why))
                    continue
                try:
                    nb = _read_notebook(path)
                except ValueError as error:
                    problems.append(Problem(student, assignment, rel, str(error)))
                    continue
                for message in repair_duplicate_grade_ids(nb):
                    problems.append(Problem(student, assignment, rel, message, graded=True))
                submission.notebooks[path.stem] = nb
            if submission.notebooks:
                submissions.append(submission)
            elif not any(p.student == student and p.assignment == assignment for p in problems):
                problems.append(Problem(student, assignment, str(folder.relative_to(course)),
                                        "no notebook in this folder"))
    return submissions, problems


def solved_release(release, source):
    """A perfect submission: the release notebook with every answer cell taken from the source.

    The ``### BEGIN/END SOLUTION`` marker lines are dropped, as a student's
    notebook would not have them. Used to check that the solutions earn
    every autograded point and to benchmark grading.
    """
    answers = {_nbgrader_meta(c).get("grade_id"): c.source for c in source.cells if _nbgrader_meta(c).get("solution")}
    solved = nbformat.reads(nbformat.writes(release), as_version=4)
    for cell in solved.cells:
        grade_id = _nbgrader_meta(cell).get("grade_id")
        if _nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell.source = "\n".join(line for line in answers[grade_id].split("\n")
                                    if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
    return solved


# --------------------------------------------------------------------------- execution

# Runs silently in the kernel before every test cell: put back the comparison
# functions a submission could have replaced, from their defining modules.
GUARD_CODE = r'''
def __mle_grading_guard():
    import importlib.machinery, importlib.util, sys
    import numpy, numpy.testing, torch, torch.testing
    import mle_helpers
    for name in ("_validate", "estimators", "checks"):
        spec = importlib.machinery.PathFinder.find_spec("mle_helpers." + name, mle_helpers.__path__)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(mle_helpers, name, module)
    for name in ("allclose", "isclose", "equal"):
        setattr(torch, name, getattr(torch._C._VariableFunctions, name))
    torch.testing.assert_close = torch.testing._comparison.assert_close
    from numpy._core import numeric
    for name in ("allclose", "isclose", "array_equal"):
        setattr(numpy, name, getattr(numeric, name))
    from numpy.testing._private import utils as npt
    for name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_almost_equal"):
        setattr(numpy.testing, name, getattr(npt, name))
    return {"mh": mle_helpers, "torch": torch, "np": numpy}
# Test cells see the real modules under the names the notebook gave them.
globals().update({k: v for k, v in __mle_grading_guard().items() if k in globals()})
del __mle_grading_guard
'''
# Runs silently once before the first cell, outside the per-cell timeout: the
# imports take seconds on a loaded machine and must not eat a student's cell time.
# Inside a function, so it defines no name a student forgot to import.
WARM_UP_CODE = "def __mle_grading_warm_up():\n    import numpy, torch, mle_helpers\n__mle_grading_warm_up()\ndel __mle_grading_warm_up\n"
WARM_UP_TIMEOUT = 300
# Seconds an interrupted cell has to stop before its kernel is stopped instead.
INTERRUPT_GRACE = 10
KERNEL_STOPPED = "the cell ran past the time limit and ignored the interrupt (a bare `except:` in a loop?); its kernel was stopped"


def _guarded_execute_class():
    """nbgrader's Execute, plus the guard before test cells and survival of a dead kernel."""
    from queue import Empty

    from jupyter_core.utils import ensure_async
    from nbclient.exceptions import DeadKernelError
    from nbformat.notebooknode import NotebookNode
    from nbgrader import utils
    from nbgrader.preprocessors import Execute

    class KernelStopped(DeadKernelError):
        """The kernel was stopped because its cell ignored the timeout's interrupt."""

    class GuardedExecute(Execute):
        async def _async_handle_timeout(self, timeout, cell=None):
            reply = await super()._async_handle_timeout(timeout, cell)  # interrupts the kernel
            try:  # an interrupted cell answers on the shell channel; one that ignores it stays silent
                await ensure_async(self.kc.shell_channel.get_msg(timeout=INTERRUPT_GRACE))
            except Empty:
                await ensure_async(self.km.shutdown_kernel(now=True))
                raise KernelStopped(KERNEL_STOPPED) from None
            return reply

        def preprocess(self, nb, resources=None, km=None):
            self._kernel_dead = False
            self._warm = False
            return super().preprocess(nb, resources, km)

        def _run_silently(self, code, timeout):
            """Run ``code`` in the kernel with no output; return the error reply content, if any."""
            msg_id = self.kc.execute(code, silent=True, store_history=False)
            saved, self.timeout = self.timeout, timeout
            try:
                reply = self.wait_for_reply(msg_id)
            finally:
                self.timeout = saved
            content = (reply or {}).get("content", {"status": "error", "ename": "Timeout", "evalue": ""})
            return content if content.get("status") != "ok" else None

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type != "code" or not cell.source.strip():
                return cell, resources
            if not self._kernel_dead:
                try:
                    if not self._warm:
                        self._warm = True
                        self._run_silently(WARM_UP_CODE, max(self.timeout or 0, WARM_UP_TIMEOUT))
                    guard_error = None
                    if utils.is_grade(cell) and not utils.is_solution(cell):
                        guard_error = self._run_silently(GUARD_CODE, self.timeout)
                    cell, resources = super().preprocess_cell(cell, resources, index)
                    if guard_error:  # the test could not be protected: it must not score
                        reason = f"{guard_error.get('ename')}: {guard_error.get('evalue')}"
                        cell.outputs.append(NotebookNode(
                            output_type="error", ename="GradingGuardError", evalue=reason,
                            traceback=[f"GradingGuardError: could not restore the checking functions ({reason})"]))
                    return cell, resources
                except DeadKernelError as error:
                    self._kernel_dead = True
                    self.log.warning("The kernel died in cell %d; later cells are not run", index)
                    message = (KERNEL_STOPPED if isinstance(error, KernelStopped)
                               else "the kernel died while this cell ran (e.g. os._exit or a crash)")
            else:
                message = "not run: the kernel died or was stopped in an earlier cell"
            cell.outputs = [NotebookNode(output_type="error", ename=KERNEL_DIED, evalue=message,
                                         traceback=[f"{KERNEL_DIED}: {message}"])]
            return cell, resources

        def setup_kernel(self, **kwargs):
            return _tolerate_dead_kernel_cleanup(super().setup_kernel(**kwargs))

    return GuardedExecute


class _tolerate_dead_kernel_cleanup:
    """Wrap nbclient's kernel context so shutting down a dead kernel cannot fail the notebook."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        return self.context.__enter__()

    def __exit__(self, *exc):
        try:
            return self.context.__exit__(*exc)
        except Exception:
            return False


# --------------------------------------------------------------------------- workers

_WORKER: dict = {}


def _worker_course(course: Path) -> Path:
    """This worker process's private course directory (created on first use)."""
    if "dir" not in _WORKER:
        work = Path(tempfile.mkdtemp(prefix="mle-grading-"))
        shutil.copy2(course / "gradebook.db", work / "gradebook.db")
        if (course / "nbgrader_config.py").exists():
            shutil.copy2(course / "nbgrader_config.py", work / "nbgrader_config.py")
        source = course / _config(course).CourseDirectory.source_directory
        if source.is_dir():
            (work / "source").symlink_to(source.resolve())
        _WORKER["dir"] = work
    return _WORKER["dir"]


def _config(course: Path, work: Path | None = None):
    """The course's nbgrader config, with this wrapper's grading settings on top."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)
    from traitlets.config import Config, PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").exists():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    if "source_directory" not in config.CourseDirectory:
        config.CourseDirectory.source_directory = "source"
    if work is not None:
        config.CourseDirectory.root = str(work)
        config.CourseDirectory.source_directory = "source"
        config.Autograde.autograde_preprocessors = [
            _guarded_execute_class(), IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
        config.OverwriteCells.add_missing_cells = True
        config.Execute.interrupt_on_timeout = True
        if "shutdown_kernel" not in config.Execute:
            config.Execute.shutdown_kernel = "immediate"  # every output is in once the last cell ran
        if "iopub_timeout" not in config.Execute:
            config.Execute.iopub_timeout = 60  # output still arriving after the reply (a loaded machine, a huge print)
        config.LimitOutput.max_lines = 1000
    return config


def _grade_one(course: str, student: str, assignment: str, notebooks: dict[str, str]) -> dict:
    """Autograde one submission in this worker's private course; return its grades.

    ``notebooks`` maps notebook name -> repaired notebook JSON. Runs in a
    worker process; never touches the main gradebook.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _tools_on_path()
    course_path = Path(course)
    work = _worker_course(course_path)
    folder = work / "submitted" / student / assignment
    shutil.rmtree(work / "submitted" / student, ignore_errors=True)
    shutil.rmtree(work / "autograded" / student, ignore_errors=True)
    original = course_path / "submitted" / student / assignment
    shutil.copytree(original, folder, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    for name, text in notebooks.items():
        (folder / f"{name}.ipynb").write_text(text, encoding="utf-8")

    config = _config(course_path, work)
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
    _tools_on_path()
    course = Path(course).resolve()
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer; got {jobs!r}")
    db = course / "gradebook.db"
    if not db.exists():
        raise ValueError(f"course {str(course)!r} has no gradebook.db; run `make assignments` first")
    db_url = f"sqlite:///{db}"
    expected = expected_notebooks(db_url)
    submissions, problems = preflight(course, expected)
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


def scores(db_url: str) -> dict:
    """``{(student, assignment): (auto score, max score)}`` from the gradebook."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                table[(sub.student.id, assignment.name)] = (sub.score, sub.max_score)
    return table


def format_table(table: dict, problems: list[Problem]) -> str:
    """Students as rows, assignments as columns, ``score/max``; ERR where nothing was graded."""
    students = sorted({s for s, _ in table} | {p.student for p in problems})
    assignments = sorted({a for _, a in table} | {p.assignment for p in problems if p.assignment != "-"})
    rows = [["student"] + assignments]
    for student in students:
        row = [student]
        for assignment in assignments:
            flagged = any(p.student == student and p.assignment in (assignment, "-") for p in problems)
            if (student, assignment) in table:
                score, max_score = table[(student, assignment)]
                row.append(f"{score:g}/{max_score:g}" + ("*" if flagged else ""))
            else:
                row.append("ERR" if flagged else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if problems:
        lines += ["", "* or ERR: see the problems below", "", "Problems:"]
        lines += [f"  {p}" for p in problems]
    return "\n".join(lines)


# --------------------------------------------------------------------------- feedback

def hidden_test_lines(source: str) -> list[str]:
    """The code lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (markers included)."""
    lines, inside = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            inside = True
        if inside:
            lines.append(line)
        if HIDDEN_END in line:
            inside = False
    return lines


def _hide_hidden_tests_class():
    """nbgrader's ClearHiddenTests, plus tracebacks that never quote a hidden line."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearHiddenTests

    class HideHiddenTests(ClearHiddenTests):
        def preprocess_cell(self, cell, resources, index):
            hidden = {ln.strip() for ln in hidden_test_lines(cell.source) if ln.strip()}
            if hidden and cell.cell_type == "code" and utils.is_grade(cell):
                for output in cell.get("outputs", []):
                    if output.output_type == "error":
                        output.traceback = [_scrub_frame(frame, hidden) for frame in output.traceback]
            return super().preprocess_cell(cell, resources, index)

    return HideHiddenTests


def _scrub_frame(frame: str, hidden: set[str]) -> str:
    """One traceback entry with hidden-test lines removed; a neutral message if one failed."""
    lines = _ANSI.sub("", frame).split("\n")

    def code(line):
        match = _NUMBERED_LINE.match(line)
        return (match.group(1) if match else line).strip()

    if not any(code(line) in hidden for line in lines):
        return frame
    if any(re.match(r"^\s*-+>", line) and code(line) in hidden for line in lines):
        return NEUTRAL_FRAME
    return "\n".join(line for line in lines if code(line) not in hidden)


def generate_feedback(course: Path | str = ".", *, log=print) -> list[str]:
    """Write feedback HTML for every autograded submission; return the failures as messages."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades

    _tools_on_path()
    course = Path(course).resolve()
    config = _config(course)
    config.CourseDirectory.root = str(course)
    config.GenerateFeedback.preprocessors = [GetGrades, _hide_hidden_tests_class(), CSSHTMLHeaderPreprocessor]
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    failures = []
    autograded = course / "autograded"
    for student_dir in sorted(autograded.iterdir()) if autograded.is_dir() else []:
        for folder in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            outcome = api.generate_feedback(folder.name, student_dir.name, force=True)
            if outcome["success"]:
                log(f"feedback {student_dir.name}/{folder.name}")
            else:
                failures.append(f"student {student_dir.name!r}, assignment {folder.name!r}: feedback failed")
                log(failures[-1])
    return failures


# --------------------------------------------------------------------------- a scratch course

DEMO_ASSIGNMENT = "demo_mean"


def _grading_cell(source, grade_id, *, grade=False, solution=False, points=0):
    from nbformat.v4 import new_code_cell

    cell = new_code_cell(source)
    cell.metadata.nbgrader = {"grade": grade, "solution": solution, "locked": not solution,
                              "grade_id": grade_id, "schema_version": 3, "task": False}
    if grade:
        cell.metadata.nbgrader["points"] = points
    return cell


def demo_source():
    """A small nbgrader source notebook to rehearse grading with: two answers, 5 points.

    ``sample_mean`` (visible test 1 point, hidden test 2 points, calling
    ``mh.checks`` and ``torch.allclose``) and ``sample_variance`` (one test
    cell, visible and hidden parts, 2 points).
    """
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    return new_notebook(cells=[
        new_markdown_cell("# Demo assignment: the sample mean and variance"),
        new_code_cell("import torch\nimport numpy as np\nimport mle_helpers as mh"),
        _grading_cell('def sample_mean(x):\n    """The MLE of a Gaussian mean."""\n'
                      "    ### BEGIN SOLUTION\n    return x.mean()\n    ### END SOLUTION", "answer_mean", solution=True),
        _grading_cell('"""sample_mean of a small sample."""\n'
                      'mh.checks.check_close("sample_mean", sample_mean(torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)), 3.0)',
                      "test_mean_visible", grade=True, points=1),
        _grading_cell('"""sample_mean on fresh data."""\n'
                      "### BEGIN HIDDEN TESTS\nx_hidden = torch.arange(10, dtype=torch.float64) ** 2\n"
                      'mh.checks.check_close("sample_mean", sample_mean(x_hidden), 28.5)\n'
                      "assert torch.allclose(sample_mean(x_hidden), torch.tensor(28.5, dtype=torch.float64))\n"
                      "### END HIDDEN TESTS", "test_mean_hidden", grade=True, points=2),
        _grading_cell('def sample_variance(x):\n    """The MLE of a Gaussian variance (divisor n)."""\n'
                      "    ### BEGIN SOLUTION\n    return ((x - x.mean()) ** 2).mean()\n    ### END SOLUTION",
                      "answer_variance", solution=True),
        _grading_cell('"""sample_variance, visible and hidden."""\n'
                      'mh.checks.check_close("sample_variance", sample_variance(torch.tensor([1.0, 3.0], dtype=torch.float64)), 1.0)\n'
                      "### BEGIN HIDDEN TESTS\nx_hidden_var = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)\n"
                      "assert np.allclose(sample_variance(x_hidden_var).item(), 2.0)\n"
                      "### END HIDDEN TESTS", "test_variance", grade=True, points=2),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def scratch_course(root, assignments, *, solutions="solutions", timeout=30) -> Path:
    """A throwaway course in ``root`` to rehearse grading (tests and benchmarks use it).

    Each assignment is copied from ``solutions/<id>/`` (``DEMO_ASSIGNMENT``
    comes from :func:`demo_source`) into ``source/``, then nbgrader's
    ``generate_assignment`` writes ``release/`` and ``gradebook.db``.
    ``timeout`` is the per-cell ``Execute.timeout`` in seconds.

    Raises:
        ValueError: if ``root`` exists already or an assignment has no folder in ``solutions``.
    """
    import subprocess

    root, solutions = Path(root), Path(solutions)
    if root.exists():
        raise ValueError(f"root must not exist yet; got {str(root)!r}")
    missing = [a for a in assignments if a != DEMO_ASSIGNMENT and not (solutions / a).is_dir()]
    if missing:
        raise ValueError(f"assignments {missing} have no folder in {str(solutions)!r}")
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'scratch'\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.Execute.timeout = {int(timeout)}\n")
    _tools_on_path()
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


# --------------------------------------------------------------------------- command line

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mle_helpers.grading", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser("autograde", help="grade submitted/ into gradebook.db and autograded/")
    grade.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    sub.add_parser("feedback", help="feedback/ HTML without hidden tests")
    for p in sub.choices.values():
        p.add_argument("--course", default=".", help="course root (default: the current folder)")
    args = parser.parse_args(argv)
    try:
        if args.command == "autograde":
            table, problems = autograde(args.course, args.jobs)
            print()
            print(format_table(table, problems))
            return 2 if problems else 0
        failures = generate_feedback(args.course)
        return 2 if failures else 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
