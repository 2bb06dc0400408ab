"""The grading record of one notebook: every check's verdict, and what went wrong around it.

The executor writes ``<notebook>.grading.json`` beside the autograded
notebook on every route (``make autograde``, ``nbgrader autograde``,
formgrader); the score table, the feedback and the reports read it. It is
never copied into feedback (``CourseDirectory.ignore``).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Record", "SUFFIX", "TIMEOUT", "KERNEL_DIED", "FORBIDDEN", "SANDBOX", "GRADER_ERROR"]

SUFFIX = ".grading.json"
# The kinds of Record.problems().
TIMEOUT, KERNEL_DIED, FORBIDDEN, SANDBOX = "timeout", "dead kernel", "forbidden reference", "sandbox refusal"
GRADER_ERROR = "grader error"  # a check that failed or is missing: the instructor's to fix, then grade again


@dataclass
class Record:
    student: str
    assignment: str
    notebook: str
    seconds: float = 0.0
    kernel: str = "ok"  # "ok", or why it stopped answering: "died", "stopped after ignoring the interrupt"
    checks: dict = field(default_factory=dict)  # grade_id -> {"task", "passed", "message", "seconds"}
    timeouts: list = field(default_factory=list)  # {"cell", "grade_id"}
    forbidden: list = field(default_factory=list)  # {"task", "cell", "grade_id", "name", "reason"}
    sandbox_refusals: list = field(default_factory=list)  # {"cell", "error"}: what the sandbox did not allow
    grader_errors: list = field(default_factory=list)  # {"grade_id", "error"}: a check that failed, or is missing

    def problems(self) -> list[tuple[str, str]]:
        """``(reason, detail)`` of everything around the checks an instructor should look at, in plain words.

        `make autograde` names them under its table, the report lists them; a method a task requires
        that the answers never use (``cell`` -1) is not here: the failed checks tell the student.
        """
        problems = [(GRADER_ERROR, f"the grader could not check {e['grade_id']} ({e['error']}); fix the check "
                                   "and grade again") for e in self.grader_errors]
        for timeout in self.timeouts:
            where = timeout.get("grade_id") or (f"cell {timeout['cell']}" if timeout.get("cell") is not None else "")
            problems.append((TIMEOUT, f"ran past the time limit in {where}" if where else "ran past the time limit"))
        if self.kernel == "died":
            problems.append((KERNEL_DIED, "the kernel died (e.g. os._exit or a crash); later cells were not run"))
        elif self.kernel != "ok":  # a cell that ignored the timeout's interrupt
            problems.append((TIMEOUT, f"ran past the time limit; the kernel was {self.kernel}; later cells were not run"))
        for finding in self.forbidden:
            cell = finding.get("cell")
            if cell is not None and cell < 0:
                continue
            where = finding.get("grade_id") or (f"cell {cell}" if cell is not None else "")
            problems.append((FORBIDDEN, f"{where}: {finding['reason']}" if where else finding["reason"]))
        problems += [(SANDBOX, f"cell {r['cell']}: {r['error']}") for r in self.sandbox_refusals]
        return problems

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.notebook}{SUFFIX}"
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> "Record":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
