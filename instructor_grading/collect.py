"""``make collect``: an LMS's "download all submissions" archive into ``submitted/``.

nbgrader's own ``zip_collect`` (``ZipCollectApp``) does the work, with the two plugins of its extension
points that ``nbgrader_config.py`` names, so ``nbgrader zip_collect <assignment>`` collects the same way:

- :class:`LMSExtractor` unpacks ``downloaded/<assignment>/archive/*.zip`` into ``extracted/`` and gives
  every file the date its zip entry carries;
- :class:`LMSCollector` reads who handed in each file from the name the LMS gave it, maps that to the
  course's student id with the roster, and decides, for the whole archive at once, which file becomes
  ``submitted/<student>/<assignment>/<notebook>.ipynb``. Every other file is named with the reason.

The names (read from the LMSs' sources):

- Canvas: ``<lastfirst>[_LATE]_<user id>_<file id>_<file name>``, flat; ``<user id>`` is Canvas's
  numeric user id (the roster's ``lms_user_id``), ``LATE`` is Canvas's own verdict against its due
  date, ``<file id>`` grows with every upload. A re-upload of a file name the student already has is
  renamed ``name-1.ipynb``. With anonymous grading the name is ``anon_<id>``: nobody to map it to.
- Moodle: ``<Full Name>_<participant id>_assignsubmission_file/<file name>`` (a folder per
  submission, the default since Moodle 3.1) or ``..._assignsubmission_file_<file name>`` (flat).
  Participant ids are not user ids, so the student is found by full name in the roster (first last,
  or last first); a name that no row or several rows have is reported, never guessed.

The time written to ``timestamp.txt``: no LMS archive records when a file was handed in. Canvas and
Moodle (4.1 on) date every zip entry when the archive is made, so an entry's date is the latest
time the file can have been handed in. The collector writes that date (read in
``LMSExtractor.zip_timezone``), and tightens it two ways: a Canvas file without ``LATE``, or every
file with ``LMSCollector.on_time`` (a Moodle archive downloaded right after the deadline), is dated
at most the assignment's due date in ``course_schedule.toml``; a notebook that is byte for byte the
one an earlier collect wrote keeps that collect's time. The newest file of a student wins: the latest
date, then the later upload (Canvas's file id, or the copy number of a re-uploaded name).

One released notebook: a student's only notebook is collected under the released name whatever it
is called (``Untitled.ipynb``), and the report says so. A copy marker (``ps1-1.ipynb``,
``ps1 (1).ipynb``) counts as the released name. Several notebooks with other names are not guessed at.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import tomllib
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Bool, Enum, Unicode

__all__ = ["LMS_NAMES", "LMSExtractor", "LMSCollector", "Entry", "Report", "collect", "format_report",
           "read_roster"]

LMS_NAMES = ("canvas", "moodle")
CANVAS_NAME = re.compile(r"^(?:(?P<name>.*?)_)?(?:(?P<late>LATE)_)?(?:(?P<user>\d+)|anon_(?P<anon>[^_]+))"
                         r"_(?P<file_id>\d+)_(?P<file>.+)$")
MOODLE_PREFIX = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)"
                           r"(?:_(?P<file>.+))?$")
# A re-upload of a name: ps1-1 (Canvas), ps1 (1) (Moodle, browsers).
COPY_MARKER = re.compile(r"^(?P<stem>.+?)(?:-(?P<n>\d+)| ?\((?P<m>\d+)\))$")


def read_roster(path: Path) -> list[dict]:
    """The rows of a roster CSV (id,first_name,last_name,email and optionally lms_user_id, ...).

    Raises:
        ValueError: if ``path`` is not a CSV file with an ``id`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"roster must be a CSV file with the columns id,first_name,last_name,email; got {str(path)!r}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]  # None: extra cells
        columns = reader.fieldnames or []
    if "id" not in columns:
        raise ValueError(f"roster {str(path)!r} has no id column; its columns are {columns}")
    return rows


@dataclass
class Entry:
    """One file of the archive, and what became of it."""
    shown: str               # its path from the course root, as the report names it
    file: str                # the file name the student gave it
    time: datetime           # its zip entry's date (UTC), then tightened (see the module docstring)
    who: str = ""            # the LMS's identity of the student, for messages
    student: str | None = None
    late: bool = False       # Canvas marked it LATE
    order: int = 0           # Canvas's file id: the later upload is the larger
    target: str = ""         # collected as submitted/<student>/<assignment>/<target>
    reason: str = ""         # why it was not collected
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    assignment: str
    lms: str
    collected: list[Entry]   # one per student and notebook
    skipped: list[Entry]     # every other file, with its reason
    absent: list[str]        # roster ids with nothing collected

    def problems(self) -> list[Entry]:
        """The files that may hold a submission nobody collected: no student, or a student with nothing collected."""
        done = {e.student for e in self.collected}
        return [e for e in self.skipped if e.student is None or e.student not in done]


class LMSExtractor(ExtractorPlugin):
    """nbgrader's extractor for zip files, keeping each entry's date as the file's modification time."""

    zip_timezone = Unicode("UTC", help="The time zone of the zip entries' dates (the LMS server's clock).").tag(
        config=True)

    failed: list[Entry]  # the entries that could not be unpacked, with why

    def extract(self, archive_path: str, extracted_path: str) -> None:
        zone, self.failed = ZoneInfo(self.zip_timezone), []
        for archive in sorted(p for p in Path(archive_path).iterdir() if p.is_file()):
            if archive.suffix.lower() != ".zip":
                shutil.copy2(archive, extracted_path)
                continue
            target = Path(extracted_path) / archive.stem
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.infolist():
                    if member.is_dir():
                        continue
                    if not member.flag_bits & 0x800:  # no UTF-8 flag: zipfile read the name as cp437
                        try:
                            member.filename = member.filename.encode("cp437").decode("utf-8")
                        except UnicodeError:
                            pass
                    when = datetime(*member.date_time, tzinfo=zone)
                    try:
                        zipped.read(member)  # checked first: extract() would leave a damaged file behind
                        path = zipped.extract(member, target)  # strips "..", drive letters and leading slashes
                    except (zipfile.BadZipFile, OSError, EOFError) as error:  # one broken entry, not the archive
                        shown = f"{os.path.relpath(archive, self.parent.coursedir.root)}: {member.filename}"
                        self.failed.append(Entry(shown, member.filename, when.astimezone(timezone.utc),
                                                 reason=f"could not be unpacked: {error}"))
                        self.log.warning("not extracted: %s: %s", self.failed[-1].shown, error)
                        continue
                    os.utime(path, (when.timestamp(), when.timestamp()))


class LMSCollector(FileNameCollectorPlugin):
    """nbgrader's collector for the file names of Canvas and Moodle (see the module docstring)."""

    lms = Enum(LMS_NAMES, default_value="canvas", help="The LMS that made the archive.").tag(config=True)
    roster = Unicode("hub/roster.csv", help="The roster CSV, relative to the course root.").tag(config=True)
    on_time = Bool(False, help="Every file of the archive was handed in by the due date "
                   "(course_schedule.toml): date none of them later.").tag(config=True)

    report: Report | None = None  # the decisions, made at the first file

    def collect(self, submitted_file: str):
        if self.report is None:
            self.report = self._decide()
        entry = self._entries[os.path.abspath(submitted_file)]
        if entry.reason:
            self.log.warning("not collected: %s: %s", entry.shown, entry.reason)
            return None
        return {"student_id": entry.student, "file_id": entry.target, "timestamp": entry.time}

    # Everything below decides for the whole archive at once: which file of a student wins needs all of them.

    def _decide(self) -> Report:
        app, coursedir = self.parent, self.parent.coursedir
        assignment, root = coursedir.assignment_id, Path(coursedir.root)
        extracted = Path(app._format_collect_path(app.extracted_directory))
        expected = sorted(p.name for p in Path(coursedir.format_path(
            coursedir.release_directory, ".", assignment)).glob("*.ipynb"))
        rows = read_roster(root / self.roster)
        identify = self._canvas if self.lms == "canvas" else self._moodle
        due = due_date(root, assignment)
        self._entries = {}
        for folder, _, files in os.walk(extracted):
            for name in files:
                path = Path(folder) / name
                stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
                entry = Entry(shown=str(path.relative_to(root)), file=name, time=stamp)
                identify(entry, path.relative_to(extracted), rows)
                self._entries[os.path.abspath(path)] = entry
        entries = list(self._entries.values())
        for student in {e.student for e in entries if e.student}:
            self._choose([e for e in entries if e.student == student], expected, assignment)
        for entry in entries:
            if not entry.reason:
                self._date(entry, due, coursedir, assignment)
        collected = sorted((e for e in entries if not e.reason), key=lambda e: (e.student, e.target))
        done = {e.student for e in collected}
        return Report(assignment, self.lms, collected, sorted((e for e in entries if e.reason), key=lambda e: e.shown),
                      [r["id"] for r in rows if r["id"] not in done])

    def _canvas(self, entry: Entry, relative: Path, rows: list[dict]) -> None:
        match = CANVAS_NAME.match(relative.name)
        if not match:
            entry.reason = "not named the way Canvas names a submission (<lastfirst>_<user id>_<file id>_<file name>)"
            return
        entry.file, entry.late, entry.order = match["file"], bool(match["late"]), int(match["file_id"])
        if match["anon"]:
            entry.reason = f"anonymous in Canvas (anon_{match['anon']}): turn anonymous grading off and download again"
            return
        entry.who = f"Canvas user {match['user']} ({match['name'] or 'no name'})"
        if rows and "lms_user_id" not in rows[0]:
            entry.reason = f"{entry.who}: the roster has no lms_user_id column (Canvas's user id)"
            return
        ids = [r["id"] for r in rows if r.get("lms_user_id") == match["user"]]
        if len(ids) != 1:
            entry.reason = (f"{entry.who} is not in the roster's lms_user_id column" if not ids else
                            f"{entry.who} is the lms_user_id of several roster rows: {', '.join(ids)}")
            return
        entry.student = ids[0]

    def _moodle(self, entry: Entry, relative: Path, rows: list[dict]) -> None:
        parts = relative.parts[1:]  # the first part is the zip file's own folder
        for depth, part in enumerate(parts):
            match = MOODLE_PREFIX.match(part)
            if match and (match["file"] or depth < len(parts) - 1):
                break
        else:
            entry.reason = ("not named the way Moodle names a submission "
                            "(<Full Name>_<participant id>_assignsubmission_file/<file name>)")
            return
        entry.file = match["file"] or relative.name
        entry.who = f"Moodle participant {match['participant']} ({match['name']})"
        if match["plugin"] != "file":
            entry.reason = f"{entry.who}: a Moodle '{match['plugin']}' submission, not an uploaded file"
        ids = sorted({r["id"] for r in rows if _name(match["name"]) in
                      {_name(f"{r.get('first_name')} {r.get('last_name')}"),
                       _name(f"{r.get('last_name')} {r.get('first_name')}")}})
        if len(ids) == 1:
            entry.student = ids[0]
        elif not entry.reason:
            entry.reason = (f"{entry.who}: no roster row has the name {match['name']!r}" if not ids else
                            f"{entry.who}: several roster rows have the name {match['name']!r}: {', '.join(ids)}")

    def _choose(self, files: list[Entry], expected: list[str], assignment: str) -> None:
        """Pick the file of one student for each released notebook; give every other file its reason."""
        notebooks = [e for e in files if not e.reason and e.file.endswith(".ipynb")]
        for entry in files:
            if not entry.reason and entry not in notebooks:
                entry.reason = f"{entry.student}: not a notebook"
        for name in expected:
            copies = [e for e in notebooks if _copy_of(e.file, expected)[0] == name]
            if not copies and len(expected) == 1 and len(notebooks) == 1:
                copies = notebooks  # the student's only notebook, whatever its name
            if not copies:
                continue
            # The latest date; on a tie (an archive dates all entries alike) the later upload: Canvas's file
            # id, or the copy number the LMS gave a re-upload of the same name.
            newest = max(copies, key=lambda e: (e.time, e.order, _copy_of(e.file, expected)[1], e.shown))
            newest.target = name
            if newest.file != name:
                newest.notes.append(f"handed in as {newest.file!r}")
            for older in copies:
                if older is not newest:
                    older.reason = f"{older.student}: replaced by the newer {Path(newest.shown).name}"
        for entry in notebooks:
            if not entry.target and not entry.reason:
                entry.reason = (f"{entry.student}: {entry.file!r} is not a notebook of {assignment} "
                                f"({', '.join(expected)})")

    def _date(self, entry: Entry, due: datetime | None, coursedir, assignment: str) -> None:
        """Tighten the entry's date (the module docstring says how) and note why."""
        if entry.late:
            entry.notes.insert(0, "LATE in Canvas")
        elif due and entry.time > due and (self.on_time or self.lms == "canvas"):
            entry.time = due
            entry.notes.append("on time " + ("(ON_TIME)" if self.on_time else "in Canvas") + ": dated at the due date")
        before = Path(coursedir.format_path(coursedir.submitted_directory, entry.student, assignment))
        stamp = before / "timestamp.txt"
        same = (before / entry.target).is_file() and (before / entry.target).read_bytes() == \
            (Path(coursedir.root) / entry.shown).read_bytes()
        if same and stamp.is_file():
            earlier = _parse_time(stamp.read_text(encoding="utf-8").strip())
            if earlier and earlier < entry.time:
                entry.time = earlier
                entry.notes.append("unchanged since the last collect: its time kept")


def due_date(course: Path, assignment: str) -> datetime | None:
    """The assignment's due date in ``course_schedule.toml`` (UTC), or None."""
    # (contract 3: instructor_grading.schedule.load_schedule reads the same table)
    path = Path(course) / "course_schedule.toml"
    if not path.is_file():
        return None
    due = tomllib.loads(path.read_text(encoding="utf-8")).get("due", {}).get(assignment)
    if not isinstance(due, datetime):
        return None
    return (due if due.tzinfo else due.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _parse_time(text: str) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text).replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        return None


def _name(text: str) -> str:
    """A person's name for comparing: Unicode-normalised, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _copy_of(file: str, expected: list[str]) -> tuple[str | None, int]:
    """The released notebook ``file`` is a copy of (itself, or itself without a copy marker), and the copy's number."""
    name = Path(file).name
    if name in expected:
        return name, 0
    marked = COPY_MARKER.match(Path(name).stem)
    if marked and f"{marked['stem']}.ipynb" in expected:
        return f"{marked['stem']}.ipynb", int(marked["n"] or marked["m"])
    return None, 0


def collect(course, assignment: str, archive, lms: str, roster=None, *, on_time: bool = False) -> Report:
    """Collect ``archive`` (a zip downloaded from ``lms``) into ``course``'s ``submitted/`` with nbgrader's zip_collect.

    The archive is copied into ``downloaded/<assignment>/archive/`` (anything else there is removed),
    unpacked into ``downloaded/<assignment>/extracted/``; every student in it gets
    ``submitted/<student>/<assignment>/`` replaced. ``roster`` defaults to the course's
    ``LMSCollector.roster``.

    Raises:
        ValueError: for an unknown ``lms``, an ``archive`` that is no zip file, an ``assignment`` with
            no released notebook, an unreadable ``roster``, or ``on_time`` with no due date.
    """
    from nbgrader.apps import ZipCollectApp

    from .config import course_config

    course = Path(course).resolve()
    if lms not in LMS_NAMES:
        raise ValueError(f"lms must be one of {', '.join(LMS_NAMES)}; got {lms!r}")
    archive = Path(archive).expanduser().resolve()
    if not archive.is_file() or not zipfile.is_zipfile(archive):
        raise ValueError(f"archive must be the zip file downloaded from {lms}; got {str(archive)!r}")
    if on_time and not due_date(course, assignment):
        raise ValueError(f"on_time needs the due date of {assignment!r} in {course / 'course_schedule.toml'}")
    argv = [assignment, "--force", "--log-level=ERROR", f"--LMSCollector.lms={lms}"]
    if roster is not None:
        argv.append(f"--LMSCollector.roster={Path(roster).resolve()}")
    if on_time:
        argv.append("--LMSCollector.on_time=True")
    app = ZipCollectApp(config=course_config(course))
    try:
        app.initialize(argv)
    except SystemExit:
        raise ValueError(f"nbgrader zip_collect refused the arguments {argv}") from None
    if not issubclass(app.collector_plugin, LMSCollector):
        raise ValueError(f"{course / 'nbgrader_config.py'} must set c.ZipCollectApp.collector_plugin to "
                         f"instructor_grading.collect.LMSCollector; it is {app.collector_plugin.__name__}")
    released = Path(app.coursedir.format_path(app.coursedir.release_directory, ".", assignment))
    if not assignment or not list(released.glob("*.ipynb")):
        raise ValueError(f"assignment must have its released notebooks in {str(released)!r}; got {assignment!r}")
    roster = course / LMSCollector(parent=app).roster  # as configured, relative to the course root
    rows = read_roster(roster)
    if lms == "canvas" and rows and "lms_user_id" not in rows[0]:
        raise ValueError(f"roster {str(roster)!r} needs an lms_user_id column (Canvas's user id of each student) "
                         "to collect from Canvas")
    folder = Path(app._format_collect_path(app.archive_directory))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.resolve() != archive:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    if archive.parent != folder.resolve():
        shutil.copy2(archive, folder / archive.name)
    try:
        app.start()
    except SystemExit:
        raise ValueError(f"nbgrader zip_collect failed for {assignment!r}; "
                         "run it with --log-level=INFO to see why") from None
    report = app.collector_plugin_inst.report or Report(assignment, lms, [], [], [r["id"] for r in rows])
    report.skipped += app.extractor_plugin_inst.failed
    return report


def format_report(report: Report) -> str:
    """The report ``make collect`` prints: every collected notebook, every other file with its reason."""
    lines = [f"collected {len(report.collected)} notebooks of {report.assignment} into submitted/<student>/"
             f"{report.assignment}/ (times UTC):"]
    width = max([len(e.student) for e in report.collected] + [1])
    for e in report.collected:
        notes = f"  {'; '.join(e.notes)}" if e.notes else ""
        lines.append(f"  {e.student:<{width}}  {e.target}  {e.time:%Y-%m-%d %H:%M:%S}{notes}")
    problems = report.problems()
    others = [e for e in report.skipped if e not in problems]
    if problems:
        lines += ["", f"NOT COLLECTED, needs you ({len(problems)}):"]
        lines += [f"  {e.shown}\n    {e.reason}" for e in problems]
    if others:
        lines += ["", f"not collected, the student's notebook came from another file ({len(others)}):"]
        lines += [f"  {e.shown}\n    {e.reason}" for e in others]
    if report.absent:
        lines += ["", f"in the roster, nothing collected: {', '.join(report.absent)}"]
    return "\n".join(lines)
