"""Grading that survives a real class: `python -m instructor_grading` (make autograde / feedback).

One temporary course holds the small demo assignment plus every assignment found
in solutions/. A class of deliberately bad students (each submitting every
assignment) is autograded in ONE run with three workers; each test below asserts
one behaviour of that run. A copy of the shared graded class (the session fixture
``classroom``) is graded again, to check that a re-run changes nothing.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from instructor_grading import scratch, workers
from instructor_grading.regions import HIDDEN_TESTS, region_lines, solved_release

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30  # the course's per-cell timeout; the endless loop costs it once per assignment
DEMO = scratch.DEMO_ASSIGNMENT

# --------------------------------------------------------------------------- the course

def real_assignments() -> list[str]:
    folder = ROOT / "solutions"
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and list(p.glob("*.ipynb"))) if folder.is_dir() else []


def make_course(root: Path, assignments: list[str]) -> Path:
    return scratch.scratch_course(root, assignments, solutions=ROOT / "solutions", timeout=TIMEOUT)


def notebook_pairs(course: Path, assignment: str):
    """(name, release notebook, source notebook) for each notebook of the assignment."""
    for path in sorted((course / "release" / assignment).glob("*.ipynb")):
        yield path.stem, nbformat.read(path, 4), nbformat.read(course / "source" / assignment / path.name, 4)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_test(cell):
    return meta(cell).get("grade") and not meta(cell).get("solution")


def answer_indices(nb):
    return [i for i, c in enumerate(nb.cells) if meta(c).get("solution") and not meta(c).get("grade")]


# --------------------------------------------------------------------------- the bad students

def _copy(nb):
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def tamper_with_tests(nb):
    """Copy the first test cell (same grade_id), edit the first half of the tests, delete the rest,
    and print a million lines before the first answer."""
    tests = [i for i, c in enumerate(nb.cells) if is_test(c)]
    edited, deleted = tests[: (len(tests) + 1) // 2], set(tests[(len(tests) + 1) // 2:])
    for i in edited:
        nb.cells[i].source = "pass"
    copy = _copy(nb).cells[tests[0]]
    copy.id = "copy-of-" + copy.id  # JupyterLab's copy-paste gives a new cell id but keeps the metadata
    cells = []
    for i, cell in enumerate(nb.cells):
        if i == answer_indices(nb)[0]:
            cells.append(new_code_cell('print("\\n".join(map(str, range(1_000_000))))'))
        if i not in deleted:
            cells.append(cell)
        if i == tests[0]:
            cells.append(copy)
    nb.cells = cells
    return nb


def rearrange(nb):
    """Merge the first two answer cells, then reverse the order of all cells."""
    first, second = answer_indices(nb)[:2]
    nb.cells[first].source += "\n\n" + nb.cells[second].source
    del nb.cells[second]
    nb.cells = nb.cells[::-1]
    return nb


def last_answer(nb):
    """Index of the last answer cell: the endless loop and the kernel death go there."""
    return answer_indices(nb)[-1]


def endless_loop(nb):
    # It sleeps so that it holds a worker but not a core: the test run stays fast on 2 cores.
    cell = nb.cells[last_answer(nb)]
    cell.source = "import time\nwhile True:\n    time.sleep(0.05)\n" + cell.source
    return nb


def deaf_loop(nb):
    """An endless loop whose bare ``except:`` swallows the KeyboardInterrupt of the timeout."""
    cell = nb.cells[last_answer(nb)]
    cell.source = "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except:\n        pass\n" + cell.source
    return nb


def kernel_dies(nb):
    nb.cells.insert(last_answer(nb), new_code_cell("import os\nos._exit(1)"))
    return nb


def lazy(nb):
    """Every answer stub returns None instead of raising: wrong answers that do not crash."""
    for i in answer_indices(nb):
        nb.cells[i].source = re.sub(r"raise NotImplementedError\(\)", "return None", nb.cells[i].source)
    return nb


PATCH = """import mle_helpers as mh, numpy as np, torch
for _name in mh.checks.__all__:
    setattr(mh.checks, _name, lambda *a, **k: None)
torch.allclose = lambda *a, **k: True
np.allclose = lambda *a, **k: True
"""


def cheater(nb):
    nb = lazy(nb)
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first_code + 1, new_code_cell(PATCH))
    return nb


BUILDERS = {
    "perfect": lambda nb, release: nb,
    "tampered": lambda nb, release: tamper_with_tests(nb),
    "rearranged": lambda nb, release: rearrange(nb),
    "endless_loop": lambda nb, release: endless_loop(nb),
    "deaf_loop": lambda nb, release: deaf_loop(nb),
    "kernel_dies": lambda nb, release: kernel_dies(nb),
    "cheater": lambda nb, release: cheater(_copy(release)),
}
FILE_PROBLEMS = ["corrupt", "empty", "wrong_name", "wrong_folder"]


def submit(course: Path, assignments: list[str], students=BUILDERS) -> None:
    for assignment in assignments:
        for name, release, source in notebook_pairs(course, assignment):
            perfect = solved_release(release, source)
            for student in students:
                folder = course / "submitted" / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(BUILDERS[student](_copy(perfect), release), folder / f"{name}.ipynb")
            text = nbformat.writes(perfect)
            bad = {"corrupt": (f"{assignment}/{name}.ipynb", text[: len(text) // 2]),
                   "empty": (f"{assignment}/{name}.ipynb", ""),
                   "wrong_name": (f"{assignment}/{name} (1).ipynb", text),
                   "wrong_folder": (f"{name}.ipynb", text)}
            for student, (relative, content) in bad.items():
                path = course / "submitted" / student / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)


def run_wrapper(course: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instructor_grading", *args, "--course", str(course)],
                          capture_output=True, text=True, timeout=1200)


def cell_scores(course: Path, student: str, assignment: str) -> dict:
    """{(notebook, grade_id): auto_score} for one submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(assignment, student)
        return {(nb.name, g.name): g.auto_score for nb in submission.notebooks for g in nb.grades}


def autograded_points(course: Path, assignment: str) -> float:
    return sum(meta(c)["points"] for _, _, source in notebook_pairs(course, assignment)
               for c in source.cells if is_test(c))


def total(scores: dict) -> float:
    return sum(v or 0 for v in scores.values())


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    assignments = [DEMO] + real_assignments()
    course = make_course(tmp_path_factory.mktemp("class") / "course", assignments)
    submit(course, assignments)
    first = run_wrapper(course, "autograde", "--jobs", "3")  # 3 workers: the endless loops sleep
    first_scores = {(s, a): cell_scores(course, s, a) for s in BUILDERS for a in assignments
                    if (course / "autograded" / s / a).exists()}
    return {"course": course, "assignments": assignments, "run": first, "scores": first_scores}


def problems_of(run, student):
    return [line for line in run.stdout.splitlines() if line.startswith("preflight:") and repr(student) in line
            or line.startswith("  student") and repr(student) in line]


# --------------------------------------------------------------------------- the tests

@pytest.mark.slow
def test_the_run_finishes_and_prints_the_table(graded_class):
    run = graded_class["run"]
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]  # 2: finished, with named problems
    header = next(line for line in run.stdout.splitlines() if line.startswith("student "))
    for assignment in graded_class["assignments"]:
        assert assignment in header
    rows = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert set(BUILDERS) | set(FILE_PROBLEMS) <= rows


@pytest.mark.slow
def test_perfect_student_earns_every_autograded_point(graded_class, classroom):
    course = graded_class["course"]
    for assignment in graded_class["assignments"]:
        got = total(graded_class["scores"][("perfect", assignment)])
        assert got == autograded_points(course, assignment), assignment
    # The same perfect notebook earns the same points in another run, with other students around it.
    perfect = next(s for s, planned in classroom.students.items() if planned.role == "perfect")
    assert cell_scores(classroom.course, perfect, DEMO) == graded_class["scores"][("perfect", DEMO)]


def expected_around(course, assignment, perfect, cut):
    """Per-cell scores: the perfect student's for graded cells before the last answer, 0 after it."""
    expected = {}
    for name, release, source in notebook_pairs(course, assignment):
        for index, cell in enumerate(source.cells):
            if meta(cell).get("grade"):
                key = (name, meta(cell)["grade_id"])
                expected[key] = (perfect[key] or 0) if index < cut(release) and is_test(cell) else 0
    return expected


@pytest.mark.slow
def test_edited_and_deleted_test_cells_are_restored_and_run(graded_class):
    for assignment in graded_class["assignments"]:
        assert graded_class["scores"][("tampered", assignment)] == graded_class["scores"][("perfect", assignment)]


@pytest.mark.slow
def test_duplicated_grade_id_is_named_repaired_and_graded(graded_class):
    run = graded_class["run"]
    for assignment in graded_class["assignments"]:
        named = [line for line in problems_of(run, "tampered") if repr(assignment) in line]
        assert any("repeats grade_id" in line and ".ipynb" in line for line in named), run.stdout
        assert any(re.search(r"cell \d+ repeats grade_id '\w+'", line) for line in named)
    # graded as well: the scores of the tampered student are checked in the test above


@pytest.mark.slow
def test_reordered_and_merged_cells_are_graded_or_named(graded_class):
    run = graded_class["run"]
    for assignment in graded_class["assignments"]:
        graded = ("rearranged", assignment) in graded_class["scores"]
        named = any(repr(assignment) in line for line in problems_of(run, "rearranged"))
        assert graded or named, assignment


def notebooks_cut_at_last_answer(graded_class, student):
    """Assert that the student scores like the perfect student before the last answer and 0 from it on;
    yield each of the student's autograded notebooks."""
    course = graded_class["course"]
    for assignment in graded_class["assignments"]:
        perfect = graded_class["scores"][("perfect", assignment)]
        got = graded_class["scores"][(student, assignment)]
        assert {k: v or 0 for k, v in got.items()} == expected_around(course, assignment, perfect, last_answer)
        for path in (course / "autograded" / student / assignment).glob("*.ipynb"):
            yield nbformat.read(path, 4)


@pytest.mark.slow
def test_endless_loop_is_stopped_its_task_scores_0_and_the_run_goes_on(graded_class):
    for nb in notebooks_cut_at_last_answer(graded_class, "endless_loop"):
        loop = nb.cells[last_answer(nb)]
        assert any(o.get("ename") == "CellTimeoutError" for o in loop.outputs), loop.outputs
        after = [c for c in nb.cells[last_answer(nb) + 1:] if is_test(c)]
        assert after and all(c.outputs for c in after)  # the cells after the loop did run


@pytest.mark.slow
def test_a_loop_that_ignores_the_interrupt_has_its_kernel_stopped(graded_class):
    """Without the stop, the busy kernel makes every later cell wait out its timeout, then nbgrader gives up."""
    for nb in notebooks_cut_at_last_answer(graded_class, "deaf_loop"):
        loop = nb.cells[last_answer(nb)]
        assert any("ignored the interrupt" in o.get("evalue", "") for o in loop.outputs), loop.outputs


@pytest.mark.slow
def test_dead_kernel_keeps_the_points_earned_before(graded_class):
    course = graded_class["course"]
    for assignment in graded_class["assignments"]:
        perfect = graded_class["scores"][("perfect", assignment)]
        got = graded_class["scores"][("kernel_dies", assignment)]
        assert {k: v or 0 for k, v in got.items()} == expected_around(course, assignment, perfect, last_answer)
        assert 0 < total(got) < total(perfect)


@pytest.mark.slow
def test_unreadable_or_misplaced_files_are_named_and_others_graded(graded_class):
    run = graded_class["run"]
    reasons = {"corrupt": "not valid JSON", "empty": "empty", "wrong_name": "unexpected notebook name",
               "wrong_folder": "not inside an assignment folder"}
    for student, reason in reasons.items():
        assert any(reason in line for line in problems_of(run, student)), (student, run.stdout)
        assert not (graded_class["course"] / "autograded" / student).exists()
    row = next(line for line in run.stdout.splitlines() if line.startswith("corrupt "))
    assert "ERR" in row


@pytest.mark.slow
def test_huge_output_is_graded_and_stays_small(graded_class):
    course = graded_class["course"]
    for assignment in graded_class["assignments"]:  # the tampered student printed a million lines
        assert graded_class["scores"][("tampered", assignment)] == graded_class["scores"][("perfect", assignment)]
        for path in (course / "autograded" / "tampered" / assignment).glob("*.ipynb"):
            assert path.stat().st_size < 1_000_000, path
    assert (course / "gradebook.db").stat().st_size < 5_000_000


@pytest.mark.slow
def test_monkeypatched_checks_gain_no_points(graded_class):
    # Every answer of the cheater is wrong (the stubs return None), so any point would come from the patch.
    for assignment in graded_class["assignments"]:
        patched = graded_class["scores"][("cheater", assignment)]
        assert patched and {k: v or 0 for k, v in patched.items()} == dict.fromkeys(patched, 0), assignment
    # The demo's visible test calls mh.checks in the notebook: the patch would pass it if the kernel judged.
    assert graded_class["scores"][("cheater", DEMO)][(DEMO, "test_mean_visible")] == 0


def _visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.slow
def test_feedback_shows_no_hidden_test(graded_class):
    course = graded_class["course"]
    run = run_wrapper(course, "feedback")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    hidden, public = set(), set()
    for assignment in graded_class["assignments"]:
        for _, _, source in notebook_pairs(course, assignment):
            for cell in source.cells:
                region = region_lines(cell.source, HIDDEN_TESTS, markers=True)
                hidden |= {ln.strip() for ln in region if len(ln.strip()) > 12}
                public |= {ln.strip() for ln in cell.source.split("\n") if ln not in region}
    hidden -= public  # a line that also appears outside the hidden tests (in a solution, say) is no leak
    assert hidden
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(graded_class["scores"])
    for page in pages:
        text = _visible_text(page.read_text(encoding="utf-8"))
        assert "HIDDEN TESTS" not in text, page
        # whole lines, as code or as a numbered traceback line ("----> 5 assert ...")
        shown = {re.sub(r"^(?:-*>\s*)?\d+\s", "", ln.strip()).strip() for ln in text.split("\n")}
        leaked = [line for line in hidden if line in shown]
        assert not leaked, (page, leaked[:3])
    # The cheater fails every check: its feedback gives each check's message.
    demo = _visible_text((course / "feedback" / "cheater" / DEMO / f"{DEMO}.html").read_text(encoding="utf-8"))
    assert "CheckFailed" in demo and "did your function forget to `return` it?" in demo


def row_counts(db: Path) -> dict:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("submitted_assignment", "submitted_notebook", "grade", "comment", "student")}


@pytest.mark.slow
def test_rerun_gives_the_same_grades_and_no_duplicate_rows(classroom, tmp_path):
    course = classroom.copy(tmp_path)
    graded = [s for s, planned in classroom.students.items() if planned.expected[DEMO] is not None]
    before_rows = row_counts(course / "gradebook.db")
    before = {s: cell_scores(course, s, DEMO) for s in graded}
    # Re-grade the demo of four students (two with every point, two without); the others keep their rows.
    partial = next(s for s in graded if classroom.students[s].role == "honest" and 0 < classroom.students[s].expected[DEMO] < 5)
    again = {s for s in graded if classroom.students[s].role in ("perfect", "copier", "blank")} | {partial}
    for student in graded:
        shutil.rmtree(course / "submitted" / student / "ps6_poisson", ignore_errors=True)
        if student not in again:
            shutil.rmtree(course / "submitted" / student)
    run = run_wrapper(course, "autograde", "--jobs", "2")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(g[0] for g in map(workers.graded_in, run.stdout.splitlines()) if g) == sorted(again)
    assert row_counts(course / "gradebook.db") == before_rows
    assert {s: cell_scores(course, s, DEMO) for s in graded} == before


# --------------------------------------------------------------------------- fast unit tests

@pytest.mark.parametrize("jobs", [0, -1, 1.5])
def test_jobs_must_be_a_positive_integer(tmp_path, jobs):
    with pytest.raises(ValueError, match="jobs"):
        workers.autograde(tmp_path, jobs)
