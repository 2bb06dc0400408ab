"""The gradebook in PostgreSQL: `make autograde JOBS=n` and `SHARD=i/N` write one database at the same time.

One class of 20 students of the demo assignment (14 solved, 6 untouched
releases) is graded with 2 workers straight into a PostgreSQL gradebook, then
8 of them are re-graded; a second class is graded by two `--shard` processes running at
once against one gradebook; the graded gradebook is dumped and restored into
a fresh cluster. The SQLite route is covered by tests/test_grading_robustness.py.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from instructor_grading import scores, scratch, workers
from instructor_grading.regions import solved_release

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO = scratch.DEMO_ASSIGNMENT
PASSWORD = "grader-test-password"  # noqa: S105 (a throwaway cluster on 127.0.0.1)
RESTORE_PORT = 5435  # the second cluster of the backup test

# The rows of every (student, notebook, grade cell), through SQL rather than through nbgrader.
GRADE_ROWS = """
SELECT sa.student_id, nb.name, cell.name, g.auto_score, g.manual_score
FROM grade g
JOIN submitted_notebook sn ON g.notebook_id = sn.id
JOIN submitted_assignment sa ON sn.assignment_id = sa.id
JOIN student st ON sa.student_id = st.id
JOIN notebook nb ON sn.notebook_id = nb.id
JOIN base_cell cell ON g.cell_id = cell.id
ORDER BY 1, 2, 3
"""


def grade_rows(cluster, database: str) -> list[tuple[str, ...]]:
    """(student, notebook, grade cell, auto_score, manual_score) of every grade row, duplicates kept."""
    return [tuple(line.split("|")) for line in cluster.psql(GRADE_ROWS, database).splitlines()]


def cell_points(course: Path) -> dict[str, float]:
    """grade_id -> points of every autograded test cell of the demo's source notebook."""
    source = nbformat.read(course / "source" / DEMO / f"{DEMO}.ipynb", as_version=4)
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader["points"]) for c in source.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}


def postgres_course(root: Path, url: str) -> Path:
    """A scratch course whose gradebook is ``url`` (``generate_assignment`` writes the demo into it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLE_GRADEBOOK_URL", url)
        return scratch.scratch_course(root, [DEMO], timeout=30)


def submit(course: Path, solved: dict[str, bool]) -> None:
    """``submitted/<student>/demo_mean/demo_mean.ipynb``: the solved release, or the release untouched."""
    release = nbformat.read(course / "release" / DEMO / f"{DEMO}.ipynb", as_version=4)
    perfect = solved_release(release, nbformat.read(course / "source" / DEMO / f"{DEMO}.ipynb", as_version=4))
    for student, is_solved in solved.items():
        folder = course / "submitted" / student / DEMO
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(perfect if is_solved else release, folder / f"{DEMO}.ipynb")


def expected_rows(course: Path, solved: dict[str, bool]) -> list[tuple[str, ...]]:
    """The grade rows a correct run writes: every test cell's points when solved, 0 for an untouched release."""
    points = cell_points(course)
    return sorted((student, DEMO, cell, f"{points[cell] if solved[student] else 0.0:g}", "")  # psql's 2.0 is "2"
                  for student in solved for cell in points)


def env_for(url: str) -> dict:
    return {**os.environ, "MLE_GRADEBOOK_URL": url, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


# --------------------------------------------------------------------------- 20 students, 2 workers

@pytest.fixture(scope="module")
def jobs_class(postgres, tmp_path_factory):
    """20 students (14 solved, 6 untouched) graded with jobs=2; then 8 of them (4 of each) re-graded with jobs=2."""
    database = "gradebook_jobs"
    url = postgres.ensure_database(database, PASSWORD)
    course = postgres_course(tmp_path_factory.mktemp("jobs") / "course", url)
    solved = {f"s{i:02d}": i % 10 < 7 for i in range(20)}
    submit(course, solved)
    regraded = [s for s in solved if solved[s]][:4] + [s for s in solved if not solved[s]][:4]
    aside = course / "aside"  # the other 12 submissions, out of submitted/ during the re-grade
    runs = []
    for run in range(2):
        if run == 1:
            aside.mkdir()
            for student in set(solved) - set(regraded):
                (course / "submitted" / student).rename(aside / student)
        log = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLE_GRADEBOOK_URL", url)
            table, problems = workers.autograde(course, 2, log=log.append)
        runs.append({"table": table, "problems": problems, "log": log, "rows": grade_rows(postgres, database),
                     "students": postgres.psql("SELECT count(*) FROM student", database)})
    return {"course": course, "url": url, "database": database, "solved": solved, "regraded": regraded,
            "runs": runs}


@pytest.mark.slow
def test_parallel_workers_write_every_grade_exactly_once(jobs_class):
    first = jobs_class["runs"][0]
    assert first["problems"] == [], first["log"][-20:]
    assert sum(workers.graded_in(line) is not None for line in first["log"]) == 20
    assert first["rows"] == expected_rows(jobs_class["course"], jobs_class["solved"])  # sorted, duplicates kept
    assert first["students"] == "20"


@pytest.mark.slow
def test_solved_earn_every_point_and_untouched_none(jobs_class):
    full = sum(cell_points(jobs_class["course"]).values())
    expected = {(s, DEMO): (full if ok else 0.0, full) for s, ok in jobs_class["solved"].items()}
    assert jobs_class["runs"][0]["table"] == expected
    assert not (jobs_class["course"] / "gradebook.db").exists()  # nothing went to SQLite
    for student in jobs_class["solved"]:
        assert (jobs_class["course"] / "autograded" / student / DEMO / f"{DEMO}.ipynb").is_file(), student


@pytest.mark.slow
def test_regrade_keeps_one_row_each_and_the_same_grades(jobs_class):
    first, again = jobs_class["runs"]
    assert again["problems"] == [], again["log"][-20:]
    regraded = {graded[0] for graded in map(workers.graded_in, again["log"]) if graded}
    assert regraded == set(jobs_class["regraded"])
    assert again["rows"] == first["rows"]  # all 20 students, one row per test cell each, the same scores
    assert again["students"] == "20"
    assert again["table"] == first["table"]


# --------------------------------------------------------------------------- two shards at the same time

@pytest.fixture(scope="module")
def shard_class(postgres, tmp_path_factory):
    """10 students graded by `--shard 1/2` and `--shard 2/2` running at the same time on one course folder."""
    database = "gradebook_shards"
    url = postgres.ensure_database(database, PASSWORD)
    course = postgres_course(tmp_path_factory.mktemp("shards") / "course", url)
    solved = {f"t{i:02d}": i % 3 != 2 for i in range(10)}
    submit(course, solved)
    processes = [subprocess.Popen([sys.executable, "-m", "instructor_grading", "autograde", "--shard", f"{i}/2",
                                   "--course", str(course)], env=env_for(url), cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in (1, 2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    return {"course": course, "solved": solved, "rows": grade_rows(postgres, database),
            "runs": [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs)]}


@pytest.mark.slow
def test_two_shards_at_once_grade_every_student_once(shard_class):
    graded = []
    for returncode, out, err in shard_class["runs"]:
        assert returncode == 0, out[-2000:] + err[-2000:]
        graded.append({done[0] for done in map(workers.graded_in, out.splitlines()) if done})
    students = sorted(shard_class["solved"])
    # Students sorted by id: the k-th (from 0) belongs to shard k % 2 + 1.
    assert graded == [set(students[0::2]), set(students[1::2])]
    assert shard_class["rows"] == expected_rows(shard_class["course"], shard_class["solved"])
    for student in students:  # each shard copied its own students' autograded notebooks back
        assert (shard_class["course"] / "autograded" / student / DEMO / f"{DEMO}.ipynb").is_file(), student


@pytest.mark.slow
def test_a_shard_prints_the_table_of_its_students_and_says_so(shard_class):
    students = sorted(shard_class["solved"])
    for index, (_, out, _) in enumerate(shard_class["runs"]):
        lines = out.splitlines()
        header = next(i for i, line in enumerate(lines) if line.startswith("student ") and DEMO in line)
        rows = {line.split()[0] for line in lines[header + 2:] if line.strip()}  # below the header and its rule
        assert rows == set(students[index::2]), out[-2000:]
        assert f"shard {index + 1}/2" in out and "students only" in out
        assert PASSWORD not in out


# --------------------------------------------------------------------------- wrong uses are refused

@pytest.mark.parametrize("shard", ["0/2", "3/2", "2", "1/0", "a/b", "1/2/3", "", "-1/2"])
def test_a_bad_shard_is_refused_naming_it(tmp_path, shard):
    with pytest.raises(ValueError, match=f"^shard .*got {re.escape(repr(shard))}$"):
        workers.autograde(tmp_path, 1, shard=shard)


def sqlite_course(root: Path) -> Path:
    """A course folder with nbgrader's default gradebook (SQLite) and no environment involved."""
    root.mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = 'x'\n")
    return root


def test_sqlite_gradebook_refuses_shards(tmp_path):
    course = sqlite_course(tmp_path / "course")
    with pytest.raises(ValueError, match="shard '1/2' needs a gradebook that several machines share"):
        workers.autograde(course, 1, shard="1/2")
    # One shard of one is the whole class: the SQLite route goes on (to its usual check).
    with pytest.raises(ValueError, match="has no gradebook.db; run `make assignments` first"):
        workers.autograde(course, 1, shard="1/1")


@pytest.mark.slow
def test_the_command_line_refuses_a_bad_shard_with_exit_1(tmp_path):
    course = sqlite_course(tmp_path / "course")
    for shard, message in (("3/2", "shard must look like i/N"), ("2/2", "needs a gradebook that several")):
        run = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--shard", shard,
                              "--course", str(course)], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={k: v for k, v in os.environ.items() if k != "MLE_GRADEBOOK_URL"})
        assert run.returncode == 1, run.stdout + run.stderr
        assert message in run.stderr and repr(shard) in run.stderr, run.stderr


@pytest.mark.slow
def test_an_empty_postgres_gradebook_is_named_without_its_password(postgres, tmp_path):
    url = postgres.ensure_database("gradebook_empty", PASSWORD)
    (tmp_path / "nbgrader_config.py").write_text(
        "import os\nc = get_config()  # noqa: F821\nc.CourseDirectory.db_url = os.environ['MLE_GRADEBOOK_URL']\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLE_GRADEBOOK_URL", url)
        with pytest.raises(ValueError, match="holds no assignment; run `make assignments`") as refused:
            workers.autograde(tmp_path, 1)
    assert f"127.0.0.1:{postgres.port}/gradebook_empty" in str(refused.value)
    assert PASSWORD not in str(refused.value)


# --------------------------------------------------------------------------- backup

@pytest.mark.slow
def test_a_dump_restored_into_a_fresh_cluster_gives_the_same_grades(postgres, jobs_class, tmp_path):
    from hub.postgres import Cluster

    graded = grade_rows(postgres, jobs_class["database"])
    assert len(graded) == 20 * len(cell_points(jobs_class["course"]))
    dump = postgres.dump(jobs_class["database"], tmp_path / "gradebook.dump")
    # The second cluster lives beside the first: its folders must be reachable by the postgres user.
    second = Cluster(postgres.folder.parent / "postgres-restore", RESTORE_PORT)
    second.stop()
    subprocess.run(["rm", "-rf", str(second.folder)], check=True)
    try:
        second.init()
        second.start()
        url = second.restore("gradebook_restored", dump, PASSWORD)
        assert grade_rows(second, "gradebook_restored") == graded
        # nbgrader reads the restored gradebook as the course's role (tables owned by it, not by postgres).
        assert scores.scores(url) == jobs_class["runs"][-1]["table"]
    finally:
        second.stop()
        subprocess.run(["rm", "-rf", str(second.folder)], check=False)
