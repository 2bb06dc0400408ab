"""``make collect``: Canvas and Moodle "download all submissions" archives into submitted/.

The archives are built here with zipfile, named the way Canvas (lib/content_zipper.rb) and Moodle
(mod/assign's downloader) name their entries, for a scratch course with the demo assignment; nothing
is graded. Every test collects into its own copy of the course.
"""
from __future__ import annotations

import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from instructor_grading.collect import collect, format_report
from instructor_grading.scratch import DEMO_ASSIGNMENT, scratch_course

ROOT = Path(__file__).resolve().parents[1]
A = DEMO_ASSIGNMENT  # demo_mean: one released notebook, demo_mean.ipynb
ROSTER = """id,first_name,last_name,email,lms_user_id
ada,Ada,Lovelace,ada@example.org,1001
carl,Carl,Gauss,carl@example.org,1002
emmy,Emmy,Noether,emmy@example.org,1003
grace,Grace,Hopper,grace@example.org,1004
"""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    course = scratch_course(tmp_path_factory.mktemp("collect") / "course", [A])
    (course / "roster.csv").write_text(ROSTER)
    return course


@pytest.fixture
def course(scratch, tmp_path) -> Path:
    return Path(shutil.copytree(scratch, tmp_path / "course"))


def notebook(course: Path, mark: str) -> bytes:
    """The released notebook as a student hands it in, with ``mark`` in a cell of its own."""
    nb = nbformat.read(course / "release" / A / f"{A}.ipynb", as_version=4)
    nb.cells.append(new_markdown_cell(mark))
    return nbformat.writes(nb).encode()


def archive(path: Path, entries: dict[str, tuple[bytes, datetime]]) -> Path:
    """A zip whose entries carry these names, contents and dates (an LMS dates them in its server's clock, UTC)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, (data, when) in entries.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=when.timetuple()[:6]), data)
    return path


def handed_in(course: Path, student: str) -> tuple[str, datetime]:
    """The mark of a student's collected notebook and its timestamp.txt, read as nbgrader reads it."""
    from nbgrader.utils import parse_utc

    folder = course / "submitted" / student / A
    assert sorted(p.name for p in folder.iterdir()) == [f"{A}.ipynb", "timestamp.txt"]
    nb = nbformat.read(folder / f"{A}.ipynb", as_version=4)
    return nb.cells[-1].source, parse_utc((folder / "timestamp.txt").read_text())


def schedule(course: Path, due: str) -> None:
    (course / "course_schedule.toml").write_text(f"[late_policy]\npercent_per_day = 10\nzero_after_days = 5\n"
                                                 f"[due]\n{A} = {due}\n")


def test_canvas_archive_downloaded_after_the_deadline(course, tmp_path):
    # Canvas dates every entry when it makes the zip: here two days after the deadline.
    made = datetime(2027, 1, 17, 9, 0, 0)
    schedule(course, "2027-01-15T17:00:00Z")
    zipped = archive(tmp_path / "submissions.zip", {
        f"lovelaceada_1001_5001_{A}.ipynb": (notebook(course, "ada"), made),
        f"gausscarl_LATE_1002_5002_{A}.ipynb": (notebook(course, "carl first"), made),
        f"gausscarl_LATE_1002_5107_{A}-1.ipynb": (notebook(course, "carl resubmitted"), made),
        "noetheremmy_1003_5003_Untitled.ipynb": (notebook(course, "emmy"), made),
        "noetheremmy_1003_5004_notes.pdf": (b"%PDF-1.4", made),
        f"turingalan_1009_5009_{A}.ipynb": (notebook(course, "alan"), made),
        f"anon_x7Kq2_5010_{A}.ipynb": (notebook(course, "someone"), made),
    })
    report = collect(course, A, zipped, "canvas", course / "roster.csv")
    text = format_report(report)

    # Not LATE in Canvas: on time, dated at the due date; LATE: the time Canvas made the zip (the latest it can be).
    assert handed_in(course, "ada") == ("ada", datetime(2027, 1, 15, 17, 0, 0))
    assert handed_in(course, "carl") == ("carl resubmitted", datetime(2027, 1, 17, 9, 0, 0))  # the later upload
    assert handed_in(course, "emmy") == ("emmy", datetime(2027, 1, 15, 17, 0, 0))  # Untitled.ipynb, her only notebook
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ada", "carl", "emmy"]
    assert "LATE in Canvas" in text and "handed in as 'Untitled.ipynb'" in text
    assert "handed in as 'demo_mean-1.ipynb'" in text

    # Every other file is named, with why; the two whose student is unknown need the instructor.
    reasons = {Path(e.shown).name: e.reason for e in report.skipped}
    assert sorted(reasons) == sorted([f"gausscarl_LATE_1002_5002_{A}.ipynb", "noetheremmy_1003_5004_notes.pdf",
                                      f"turingalan_1009_5009_{A}.ipynb", f"anon_x7Kq2_5010_{A}.ipynb"])
    assert f"replaced by the newer gausscarl_LATE_1002_5107_{A}-1.ipynb" in reasons[f"gausscarl_LATE_1002_5002_{A}.ipynb"]
    assert "not a notebook" in reasons["noetheremmy_1003_5004_notes.pdf"]
    assert "Canvas user 1009" in reasons[f"turingalan_1009_5009_{A}.ipynb"]
    assert "not in the roster" in reasons[f"turingalan_1009_5009_{A}.ipynb"]
    assert "anonymous" in reasons[f"anon_x7Kq2_5010_{A}.ipynb"]
    assert {Path(e.shown).name for e in report.problems()} == {f"turingalan_1009_5009_{A}.ipynb",
                                                               f"anon_x7Kq2_5010_{A}.ipynb"}
    for entry in report.skipped:
        assert f"{entry.shown}\n    {entry.reason}" in text
    assert "in the roster, nothing collected: grace" in text


@pytest.mark.parametrize("folders", [True, False], ids=["a folder per submission", "flat"])
def test_moodle_archive_with_a_late_resubmission(course, tmp_path, folders):
    # Moodle's file names: "<Full Name>_<participant id>_assignsubmission_file" then "/" (folders) or "_".
    def name(person, participant, file, plugin="file"):
        return f"{person}_{participant}_assignsubmission_{plugin}{'/' if folders else '_'}{file}"

    zipped = archive(tmp_path / "moodle.zip", {
        name("Ada Lovelace", 88001, f"{A}.ipynb"): (notebook(course, "ada"), datetime(2027, 1, 15, 16, 58, 2)),
        name("Carl Gauss", 88002, f"{A}.ipynb"): (notebook(course, "carl first"), datetime(2027, 1, 15, 16, 0, 0)),
        name("Carl Gauss", 88002, f"{A} (1).ipynb"): (notebook(course, "carl late"), datetime(2027, 1, 16, 12, 0, 0)),
        name("Carl Gauss", 88002, "onlinetext.html", "onlinetext"): (b"<p>see my notebook</p>", datetime(2027, 1, 15, 16, 0)),
        name("Emmy Noether", 88003, "Untitled.ipynb"): (notebook(course, "emmy"), datetime(2027, 1, 14, 8, 30, 0)),
        name("Alan Turing", 88009, f"{A}.ipynb"): (notebook(course, "alan"), datetime(2027, 1, 15, 9, 0, 0)),
    })
    report = collect(course, A, zipped, "moodle", course / "roster.csv")
    text = format_report(report)

    assert handed_in(course, "ada") == ("ada", datetime(2027, 1, 15, 16, 58, 2))
    assert handed_in(course, "carl") == ("carl late", datetime(2027, 1, 16, 12, 0, 0))  # the newest file wins
    assert handed_in(course, "emmy") == ("emmy", datetime(2027, 1, 14, 8, 30, 0))
    assert "handed in as 'Untitled.ipynb'" in text and "handed in as 'demo_mean (1).ipynb'" in text
    reasons = {e.shown.split("extracted/moodle/", 1)[1]: e.reason for e in report.skipped}
    assert sorted(reasons) == sorted([name("Carl Gauss", 88002, f"{A}.ipynb"),
                                      name("Carl Gauss", 88002, "onlinetext.html", "onlinetext"),
                                      name("Alan Turing", 88009, f"{A}.ipynb")])
    assert "no roster row has the name 'Alan Turing'" in reasons[name("Alan Turing", 88009, f"{A}.ipynb")]
    assert [e.reason for e in report.problems()] == [reasons[name("Alan Turing", 88009, f"{A}.ipynb")]]
    for entry in report.skipped:
        assert f"{entry.shown}\n    {entry.reason}" in text


def test_moodle_name_of_two_roster_rows_is_not_guessed(course, tmp_path):
    (course / "roster.csv").write_text(ROSTER + "ada2,Ada,Lovelace,ada2@example.org,1005\n")
    zipped = archive(tmp_path / "moodle.zip", {
        f"Ada Lovelace_88001_assignsubmission_file/{A}.ipynb": (notebook(course, "ada?"), datetime(2027, 1, 15, 9, 0)),
        f"lovelace ada_88005_assignsubmission_file/{A}.ipynb": (notebook(course, "ada2?"), datetime(2027, 1, 15, 9, 0)),
    })
    report = collect(course, A, zipped, "moodle", course / "roster.csv")
    assert report.collected == [] and not (course / "submitted").exists()
    assert len(report.problems()) == 2
    assert all("several roster rows have the name" in e.reason and "ada, ada2" in e.reason for e in report.problems())


def test_a_later_download_keeps_the_time_of_unchanged_notebooks(course, tmp_path):
    """Moodle dates entries at download: download right after the deadline with ON_TIME, later again for late work."""
    schedule(course, "2027-01-15T17:00:00Z")
    ada, emmy = notebook(course, "ada"), notebook(course, "emmy")
    first = datetime(2027, 1, 15, 17, 4, 0)
    collect(course, A, archive(tmp_path / "first.zip", {
        f"Ada Lovelace_88001_assignsubmission_file/{A}.ipynb": (ada, first),
        f"Emmy Noether_88003_assignsubmission_file/{A}.ipynb": (emmy, first),
    }), "moodle", course / "roster.csv", on_time=True)
    assert handed_in(course, "ada") == ("ada", datetime(2027, 1, 15, 17, 0, 0))

    second = datetime(2027, 1, 16, 12, 30, 0)
    report = collect(course, A, archive(tmp_path / "second.zip", {
        f"Ada Lovelace_88001_assignsubmission_file/{A}.ipynb": (ada, second),
        f"Emmy Noether_88003_assignsubmission_file/{A}.ipynb": (notebook(course, "emmy again"), second),
        f"Carl Gauss_88002_assignsubmission_file/{A} (1).ipynb": (notebook(course, "carl again"), second),
        f"Carl Gauss_88002_assignsubmission_file/{A}.ipynb": (notebook(course, "carl"), second),
    }), "moodle", course / "roster.csv")
    assert handed_in(course, "ada") == ("ada", datetime(2027, 1, 15, 17, 0, 0))
    assert handed_in(course, "emmy") == ("emmy again", second)
    assert handed_in(course, "carl") == ("carl again", second)  # same date: Moodle's "(1)" is the re-upload
    assert "unchanged since the last collect" in format_report(report)
    assert not (course / "downloaded" / A / "archive" / "first.zip").exists()  # only the archive collected


def test_the_command_line_names_the_problems_and_exits_2(course, tmp_path, capsys, monkeypatch):
    from instructor_grading.__main__ import main

    zipped = archive(tmp_path / "canvas.zip", {
        f"lovelaceada_1001_5001_{A}.ipynb": (notebook(course, "ada"), datetime(2027, 1, 15, 9, 0)),
        f"turingalan_1009_5009_{A}.ipynb": (notebook(course, "alan"), datetime(2027, 1, 15, 9, 0)),
        f"gausscarl_1002_5002_{A}.ipynb": (b"carl's notebook, damaged in the zip", datetime(2027, 1, 15, 9, 0)),
    })
    data = zipped.read_bytes()  # deflated, the damaged entry's text is not in the zip: break its checksum instead
    with zipfile.ZipFile(zipped) as read:
        entry = read.getinfo(f"gausscarl_1002_5002_{A}.ipynb")
    at = entry.header_offset + 30 + len(entry.filename) + len(entry.extra) + entry.compress_size // 2
    zipped.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:])
    monkeypatch.chdir(course)  # make collect runs it at the course root; the roster is found from there
    assert main(["collect", A, "--archive", str(zipped), "--lms", "canvas", "--roster", "roster.csv"]) == 2
    printed = capsys.readouterr().out
    assert f"turingalan_1009_5009_{A}.ipynb\n    Canvas user 1009 (turingalan) is not in the roster" in printed
    assert f"archive/canvas.zip: gausscarl_1002_5002_{A}.ipynb\n    could not be unpacked:" in printed
    assert not (course / "submitted" / "carl").exists()
    assert handed_in(course, "ada")[0] == "ada"
    assert main(["collect", A, "--archive", str(zipped), "--lms", "moodle "]) == 1
    assert "lms must be one of canvas, moodle; got 'moodle '" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    ({"lms": "blackboard"}, "lms must be one of canvas, moodle; got 'blackboard'"),
    ({"archive": "roster.csv"}, "archive must be the zip file downloaded from canvas"),
    ({"assignment": "ps9"}, "got 'ps9'"),
    ({"roster": "missing.csv"}, "roster must be a CSV file"),
    ({"roster": "plain.csv"}, "needs an lms_user_id column"),
    ({"on_time": True}, "on_time needs the due date of 'demo_mean'"),
])
def test_bad_arguments_are_named(course, tmp_path, change, message):
    (course / "plain.csv").write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n")
    zipped = archive(tmp_path / "canvas.zip", {f"lovelaceada_1001_5001_{A}.ipynb": (b"{}", datetime(2027, 1, 1))})
    arguments = {"assignment": A, "archive": zipped, "lms": "canvas", "roster": "roster.csv", "on_time": False}
    arguments.update(change)
    for key in ("archive", "roster"):
        arguments[key] = course / arguments[key]
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        collect(course, arguments["assignment"], arguments["archive"], arguments["lms"], arguments["roster"],
                on_time=arguments["on_time"])
    assert not (course / "submitted").exists()


# The instructor guide's worked examples (section 3) collect these archives of examples/lms/, made by
# example_archives() from the released notebooks: `python tests/test_collect.py` writes them again.
EXAMPLES = ROOT / "examples" / "lms"
CANVAS_EXAMPLE = EXAMPLES / "mle-pytorch-ps1_closed_form_submissions.zip"
MOODLE_EXAMPLE = EXAMPLES / "mle-pytorch-ps2_gradient_ascent-42.zip"


def example_notebooks(assignment: str) -> dict[str, bytes]:
    """The example class's notebooks: the release untouched, solved, and solved but for its last answer."""
    from nbgrader import utils

    from instructor_grading.regions import solved_release

    release = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", 4)
    solved = solved_release(release, nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4))
    partial = nbformat.reads(nbformat.writes(solved), 4)
    last = max(i for i, cell in enumerate(partial.cells) if utils.is_solution(cell) and cell.cell_type == "code")
    partial.cells[last].source = release.cells[last].source
    return {name: nbformat.writes(nb).encode() for name, nb in
            {"release": release, "solved": solved, "partial": partial}.items()}


def example_archives() -> None:
    ps1, ps2 = "ps1_closed_form", "ps2_gradient_ascent"
    one, two = example_notebooks(ps1), example_notebooks(ps2)
    made = datetime(2027, 1, 30, 9, 15, 0)  # the morning after the deadline: Canvas dates every entry then
    archive(CANVAS_EXAMPLE, {name: (data, made) for name, data in [
        (f"lovelaceada_1001_7301_{ps1}.ipynb", one["solved"]),
        (f"gausscarl_LATE_1002_7302_{ps1}.ipynb", one["release"]),
        (f"gausscarl_LATE_1002_7388_{ps1}-1.ipynb", one["partial"]),
        ("noetheremmy_1003_7304_Untitled.ipynb", one["solved"])]})
    downloaded = datetime(2027, 2, 5, 17, 30, 0)  # so does Moodle (4.1 on): downloaded just after the deadline
    archive(MOODLE_EXAMPLE, {name: (data, downloaded) for name, data in [
        (f"Ada Lovelace_120001_assignsubmission_file/{ps2}.ipynb", two["solved"]),
        (f"Carl Gauss_120002_assignsubmission_file/{ps2}.ipynb", two["partial"]),
        ("Carl Gauss_120002_assignsubmission_onlinetext/onlinetext.html", b"<p>My answers are in the notebook.</p>"),
        (f"Emmy Noether_120003_assignsubmission_file/{ps2} (1).ipynb", two["solved"]),
        (f"Grace Hopper_120004_assignsubmission_file/{ps2}.ipynb", two["release"])]})


if __name__ == "__main__":
    example_archives()
