"""The executor of autograding: nbgrader's ``Execute`` with a guard and a kernel that may die.

``GuardedExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``
(see ``nbgrader_config.py``), so ``make autograde``, ``nbgrader autograde``
and formgrader's Autograde button all run it. On top of nbgrader it

- warms the kernel up once (imports outside the per-cell timeout) and runs
  :func:`instructor_grading.kernel_side.guard` before every test cell: a
  notebook that replaced the comparison functions gains nothing, and a test
  that could not be guarded does not score;
- survives a dead kernel: the cells it ran keep their grades, the rest fail;
- stops a kernel whose cell ignores the timeout's interrupt (a bare
  ``except:`` in an endless loop) after ``INTERRUPT_GRACE`` more seconds, and
  grades it like a dead kernel: otherwise every later cell would wait out its
  own timeout.
"""
from __future__ import annotations

from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute

__all__ = ["GuardedExecute", "KERNEL_DIED", "KERNEL_STOPPED", "INTERRUPT_GRACE"]

KERNEL_DIED = "KernelDied"
KERNEL_STOPPED = ("the cell ran past the time limit and ignored the interrupt (a bare `except:` in a loop?); "
                  "its kernel was stopped")
# Seconds an interrupted cell has to stop before its kernel is stopped instead.
INTERRUPT_GRACE = 10
# The warm-up imports take seconds on a loaded machine; they must not eat a student's cell time.
WARM_UP_TIMEOUT = 300
# Run silently in the kernel; through __import__ so that they define no name a student forgot to define.
_KERNEL_SIDE = "__import__('instructor_grading.kernel_side').kernel_side"
WARM_UP_CODE = f"{_KERNEL_SIDE}.warm_up()"
GUARD_CODE = f"{_KERNEL_SIDE}.guard(globals())"


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


def _error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class GuardedExecute(Execute):
    """nbgrader's Execute, plus the guard before test cells and survival of a dead or deaf kernel."""

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

    def setup_kernel(self, **kwargs):
        return _TolerateDeadKernelCleanup(super().setup_kernel(**kwargs))

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
        if self._kernel_dead:
            cell.outputs = [_error_output(KERNEL_DIED, "not run: the kernel died or was stopped in an earlier cell")]
            return cell, resources
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
                cell.outputs.append(_error_output(
                    "GradingGuardError", f"could not restore the checking functions ({reason})"))
            return cell, resources
        except DeadKernelError as error:
            self._kernel_dead = True
            self.log.warning("The kernel died in cell %d; later cells are not run", index)
            message = (KERNEL_STOPPED if isinstance(error, KernelStopped)
                       else "the kernel died while this cell ran (e.g. os._exit or a crash)")
            cell.outputs = [_error_output(KERNEL_DIED, message)]
            return cell, resources
