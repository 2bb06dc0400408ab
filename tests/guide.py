"""The instructor guide's commands, as a test reads them: every line of its ```bash blocks, in order."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

__all__ = ["Command", "guide_commands", "course_copy"]


@dataclass(frozen=True)
class Command:
    text: str  # the command as the guide prints it, without its trailing comment
    line: int  # where it is in the guide (1-based), for the failure message
    prints: str | None = None  # what the guide says it prints: a ```text block after a paragraph "prints"


def guide_commands(path: Path) -> list[Command]:
    """Every command line of the ```bash blocks of ``path``, in the order the guide gives them.

    Comments are dropped; a line ending in a backslash continues on the next one. Blocks of other
    languages (the ```text layouts, the ````md examples that quote a cell) are not commands. When the
    block is followed by the paragraph "prints" and a ```text block, that text is the last command's
    ``prints``.
    """
    commands = []
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    for index, token in enumerate(tokens):
        if token.type != "fence" or token.info.strip() != "bash":
            continue
        after = tokens[index + 1: index + 5]
        prints = (after[3].content.rstrip("\n") if [t.type for t in after] == ["paragraph_open", "inline",
                  "paragraph_close", "fence"] and after[1].content.strip().endswith("prints") else None)
        first = len(commands)
        pending, start = "", None
        for offset, raw in enumerate(token.content.splitlines()):
            line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line and not pending:
                continue
            start = start if pending else token.map[0] + 2 + offset
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            commands.append(Command((pending + line.strip()).strip(), start))
            pending = ""
        if prints is not None and len(commands) > first:
            commands[-1] = Command(commands[-1].text, commands[-1].line, prints)
    return commands


def course_copy(root: Path, target: Path) -> Path:
    """A copy of the repository's files (tracked, and new files git does not ignore) in ``target``.

    Its ``.venv`` is a link to the repository's, so ``make`` in the copy installs nothing: the install
    stamp keeps its time, and the copied requirement files keep theirs (copy2).
    """
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = root / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    os.symlink(root / ".venv", target / ".venv")
    return target
