"""The executor of autograding: the student's notebook runs in a sandbox, every verdict is the grader's.

``GradingExecute`` replaces nbgrader's ``Execute`` in
``Autograde.autograde_preprocessors`` (see ``nbgrader_config.py``), so
``make autograde``, ``nbgrader autograde`` and formgrader's Autograde button
all grade through it. For each notebook it

1. reads the answers statically for forbidden references
   (:mod:`.forbidden`): a task that reaches one scores 0 on every test cell;
2. runs every cell in order in a sandboxed kernel (:mod:`.sandbox`), so the
   student sees outputs and figures; a test cell runs without its hidden
   region: no hidden check's source ever enters the kernel;
3. after each test cell, runs that cell's trusted check
   (:mod:`.checks`) in this process; the check asks the kernel only for data
   (:mod:`.remote`) and judges it here, on inputs drawn from the course
   secret, the student id and the grade id;
4. replaces what the test cell reported about itself with the verdict: a
   line saying it passed, or an error with the check's message (nbgrader
   scores a cell by its outputs); the kernel's warnings are kept as plain
   output and never cost points;
5. writes the grading record (:mod:`.record`) beside the notebook.

It also survives a dead kernel (the cells it ran keep their verdicts, the
rest fail) and stops a kernel whose cell ignores the timeout's interrupt
after ``INTERRUPT_GRACE`` more seconds.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Unicode

from . import checks as trusted
from .forbidden import find_forbidden
from .record import Record
from .regions import HIDDEN_TESTS
from .remote import CheckFailed, Notebook

__all__ = ["GradingExecute", "KERNEL_DIED", "KERNEL_STOPPED", "INTERRUPT_GRACE", "PASSED"]

KERNEL_DIED = "KernelDied"
KERNEL_STOPPED = ("the cell ran past the time limit and ignored the interrupt (a bare `except:` in a loop?); "
                  "its kernel was stopped")
PASSED = "Checked by the grader: passed."
# Seconds an interrupted cell has to stop before its kernel is stopped instead.
INTERRUPT_GRACE = 10
# The warm-up imports take seconds on a loaded machine; they must not eat a student's cell time.
WARM_UP_TIMEOUT = 300
# Inside a function, so that it defines no name a student forgot to define.
WARM_UP_CODE = "def __grader_warm_up():\n    import numpy, torch, mle_helpers\n__grader_warm_up()\ndel __grader_warm_up\n"
# Errors that mean the sandbox said no (recorded for the instructor).
SANDBOX_ERRORS = {"PermissionError", "ConnectionRefusedError", "ConnectionError", "OSError", "FileNotFoundError",
                  "ModuleNotFoundError"}


class KernelStopped(DeadKernelError):
    """The kernel was stopped because its cell ignored the timeout's interrupt."""


class _TolerateDeadKernelCleanup:
    """Wrap nbclient's kernel context so that shutting down a dead kernel cannot fail the notebook."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        return self.context.__enter__()

    def __exit__(self, *exc):
        try:
            return self.context.__exit__(*exc)
        except Exception:
            return False


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def _shown(output: NotebookNode) -> NotebookNode:
    """A test cell's own output, kept for the student to see but never scored by nbgrader.

    nbgrader reads stderr as a failure and a final expression's value as partial
    credit; both become plain output, so that only the verdict counts.
    """
    if output.output_type == "stream" and output.get("name") == "stderr":
        return NotebookNode(output, name="stdout")
    if output.output_type == "execute_result":
        return NotebookNode(output_type="display_data", data=output.get("data", {}), metadata=output.get("metadata", {}))
    return output


def _visible_part(source: str) -> str:
    """The test cell as released: without its hidden region."""
    begin, end = HIDDEN_TESTS
    lines, hidden = [], False
    for line in source.split("\n"):
        if begin in line:
            hidden = True
        elif end in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def course_secret(path: str) -> bytes:
    """The course's grading secret, made on first use (readable by the instructor only)."""
    secret_path = Path(path)
    if not secret_path.exists():  # written aside, then linked in: parallel graders never read half a file
        draft = secret_path.with_name(f".{secret_path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, secret_path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    text = secret_path.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"secret_file {str(secret_path)!r} holds no secret (fewer than 32 characters)")
    return text.encode()


class GradingExecute(Execute):
    """nbgrader's Execute with a sandboxed kernel and verdicts from trusted checks (see the module docstring)."""

    sandbox = Bool(True, help="run the student's kernel in the bubblewrap sandbox").tag(config=True)
    secret_file = Unicode(".grading_secret", help="file with the course secret that seeds every check's data; "
                          "made on first use").tag(config=True)

    # ------------------------------------------------------------------ the notebook
    def preprocess(self, nb, resources=None, km=None):
        from .sandbox import SandboxedKernelManager

        if self.sandbox:
            self.kernel_manager_class = SandboxedKernelManager
        info = (resources or {}).get("nbgrader", {})
        self._record = Record(info.get("student", "?"), info.get("assignment", "?"), info.get("notebook", "?"))
        self._assignment = trusted.load(self._record.assignment)
        self._secret = course_secret(self.secret_file)
        self._kernel_dead = self._warm = False
        self._managers = []  # every sandbox this notebook made, removed at the end whatever happened
        self._blocked = self._forbidden(nb)
        started = time.monotonic()
        try:
            return super().preprocess(nb, resources, km)
        finally:
            for manager in self._managers:
                manager.remove_sandbox()
            self._record.seconds = round(time.monotonic() - started, 3)
            folder = (resources or {}).get("metadata", {}).get("path")
            if folder:
                self._record.write(Path(folder))

    def _forbidden(self, nb) -> dict:
        """Task -> its findings, from a static reading of every cell the student can edit."""
        if self._assignment is None:
            return {}
        cells = [(i, (cell.metadata.get("nbgrader") or {}).get("grade_id"), cell.source, not utils.is_locked(cell))
                 for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
        answers = {grade_id: task.name for task in self._assignment.tasks for grade_id in task.answers}
        try:
            findings = find_forbidden(cells, {t.name: t.forbidden() for t in self._assignment.tasks}, answers,
                                      {t.name: t.required for t in self._assignment.tasks if t.required})
        except Exception as error:  # a bug of the reader must not cost the student points: grade, and say so
            self.log.error("the static check failed: %r", error)
            self._record.forbidden.append({"task": None, "cell": None, "grade_id": None, "name": None,
                                           "reason": f"the static check could not read this notebook: {error!r}"})
            return {}
        for task, found in findings.items():
            self._record.forbidden += [{"task": task, "cell": f.cell, "grade_id": f.grade_id, "name": f.name,
                                        "reason": f.reason} for f in found]
        return {task: found for task, found in findings.items() if found}

    def create_kernel_manager(self):
        manager = super().create_kernel_manager()
        if hasattr(manager, "remove_sandbox"):
            self._managers.append(manager)
        return manager

    def setup_kernel(self, **kwargs):
        return _TolerateDeadKernelCleanup(super().setup_kernel(**kwargs))

    # ------------------------------------------------------------------ talking to the kernel
    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)  # interrupts the kernel
        try:  # an interrupted cell answers on the shell channel; one that ignores it stays silent
            await ensure_async(self.kc.shell_channel.get_msg(timeout=INTERRUPT_GRACE))
        except Empty:
            await ensure_async(self.km.shutdown_kernel(now=True))
            raise KernelStopped(KERNEL_STOPPED) from None
        return reply

    def _ask(self, code: str, timeout: float, user_expressions: dict | None = None):
        """Run ``code`` silently (outside the kernel's history); the reply's content, or None if none came."""
        if self._kernel_dead:
            return None
        msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions=user_expressions or {})
        saved, self.timeout = self.timeout, timeout
        try:
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError as error:
            self._kernel_died(error)
            return None
        finally:
            self.timeout = saved
        if reply is None:
            self._record.timeouts.append({"cell": None, "grade_id": "a check's data request"})
        return (reply or {}).get("content")

    def _kernel_died(self, error) -> str:
        self._kernel_dead = True
        stopped = isinstance(error, KernelStopped)
        self._record.kernel = "stopped after ignoring the interrupt" if stopped else "died"
        return KERNEL_STOPPED if stopped else "the kernel died while this cell ran (e.g. os._exit or a crash)"

    # ------------------------------------------------------------------ cells
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if not (utils.is_grade(cell) and not utils.is_solution(cell)):
            cell, resources = self._run(cell, resources, index)
            self._note_refusals(cell, index)
            return cell, resources
        source = cell.source
        cell.source = _visible_part(source)
        try:
            cell, resources = self._run(cell, resources, index)
        finally:
            cell.source = source
        cell.outputs = [_shown(output) for output in cell.outputs if output.output_type != "error"]
        cell.outputs.append(self._verdict(cell, index))
        return cell, resources

    def _run(self, cell, resources, index):
        """Run one cell in the kernel as nbgrader does; a dead kernel fails this and every later cell."""
        if self._kernel_dead:
            cell.outputs = [_error(KERNEL_DIED, "not run: the kernel died or was stopped in an earlier cell")]
            return cell, resources
        try:
            if not self._warm:
                self._warm = True
                self._ask(WARM_UP_CODE, max(self.timeout or 0, WARM_UP_TIMEOUT))
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError as error:
            self.log.warning("The kernel died in cell %d; later cells are not run", index)
            cell.outputs = [_error(KERNEL_DIED, self._kernel_died(error))]
        if any(output.get("ename") == "CellTimeoutError" for output in cell.outputs):
            self._record.timeouts.append({"cell": index, "grade_id": (cell.metadata.get("nbgrader") or {}).get("grade_id")})
        return cell, resources

    def _note_refusals(self, cell, index) -> None:
        for output in cell.outputs:
            if output.output_type == "error" and output.get("ename") in SANDBOX_ERRORS:
                self._record.sandbox_refusals.append({"cell": index, "error": f"{output.ename}: {output.evalue}"[:300]})

    def _verdict(self, cell, index) -> NotebookNode:
        """The grader's verdict on test cell ``cell``, as the one output nbgrader scores it by."""
        grade_id = cell.metadata.nbgrader["grade_id"]
        check = self._assignment.checks.get(grade_id) if self._assignment else None
        started = time.monotonic()
        if check is None:
            passed, message = False, (f"the grader has no trusted check for test cell {grade_id!r} of "
                                      f"{self._record.assignment!r}; your instructor has to add one")
            self._record.grader_errors.append({"grade_id": grade_id, "error": "no trusted check"})
        elif check.task in self._blocked:
            passed = False
            message = (f"this task ({check.task}) scores 0 on every test cell: "
                       + "; ".join(str(f) for f in self._blocked[check.task]))
        elif self._kernel_dead:
            passed, message = False, "not checked: the kernel died or was stopped in an earlier cell"
        else:
            passed, message = self._run_check(check)
        self._record.checks[grade_id] = {"task": check.task if check else None, "passed": passed,
                                         "message": message, "seconds": round(time.monotonic() - started, 3)}
        if passed:
            return NotebookNode(output_type="stream", name="stdout", text=PASSED + "\n")
        return _error("CheckFailed", message)

    def _run_check(self, check) -> tuple[bool, str]:
        rng = trusted.rng_for(self._secret, self._record.student, self._record.assignment, check.grade_id)
        try:
            check.function(Notebook(self._ask, self.timeout), rng)
        except CheckFailed as failure:
            return False, str(failure)
        except AssertionError as failure:  # the messages of mle_helpers.checks
            return False, str(failure) or "the answer is not what the task asks for"
        except Exception as error:  # a bug of the check, not of the student: say so
            self.log.error("check %s failed with %r", check.grade_id, error)
            self._record.grader_errors.append({"grade_id": check.grade_id, "error": f"{type(error).__name__}: {error}"})
            return False, (f"the grader could not check this cell ({type(error).__name__}: {error}); "
                           "your instructor will look at it")
        return True, ""
