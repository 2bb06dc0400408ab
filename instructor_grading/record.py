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

__all__ = ["Record", "SUFFIX"]

SUFFIX = ".grading.json"


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

    def notes(self) -> list[str]:
        """What an instructor should look at, in plain words (the score table marks these submissions)."""
        notes = [f"{self.notebook}: the grader could not check {e['grade_id']!r} ({e['error']}); fix the check "
                 "and grade again" for e in self.grader_errors]
        notes += [f"{self.notebook}: cell {t['cell']} ({t['grade_id'] or 'not graded'}) ran out of time and was stopped"
                  for t in self.timeouts]
        if self.kernel != "ok":
            notes.append(f"{self.notebook}: the kernel {self.kernel}; later cells scored 0")
        notes += [f"{self.notebook}: task {f['task']} uses {f['name']} ({f['reason']}): the task scores 0"
                  for f in self.forbidden]
        notes += [f"{self.notebook}: the sandbox refused cell {r['cell']}: {r['error']}" for r in self.sandbox_refusals]
        return notes

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.notebook}{SUFFIX}"
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True), encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> "Record":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))
