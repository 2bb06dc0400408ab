"""The graded assignments, from instructor source to grades, with the real nbgrader CLI.

One temporary course directory (nbgrader_config.py, instructor_grading/ and solutions/ copied in, as
`make hub` makes the instructor's)
serves every test here: `nbgrader generate_assignment "*"` makes the release
there, three students submit every assignment, and one `nbgrader autograde
"*"` grades them all.

- "perfect": the release with the solution pasted into every answer cell;
- "untouched": the release as handed out;
- "one_wrong": perfect except one realistic mistake per assignment (WRONG).
"""
from __future__ import annotations

import ast
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from instructor_grading.regions import SOLUTION, region_lines, solved_release
from instructor_grading.sources import source_notebook

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[0] not in "._")

# One mistake per assignment: (answer cell, text in the solution, its wrong version, test cells that must fail).
WRONG = {
    "ps1_closed_form": ("gaussian_mle_1d", "sigma2_hat = ((x - mu_hat) ** 2).mean()",
                        "sigma2_hat = ((x - mu_hat) ** 2).sum() / (len(x) - 1)",
                        {"test_gaussian_mle_1d_visible", "test_gaussian_mle_1d_hidden"}),
    "ps2_gradient_ascent": ("largest_stable_lr", "return 2.0 * variance / n", "return variance / n",
                            {"test_largest_stable_lr_visible", "test_largest_stable_lr_hidden"}),
    "ps3_optimizers": ("three_optimizers", "torch.optim.Adam(params, lr=0.1)", "torch.optim.Adam(params, lr=1e-4)",
                       {"test_three_optimizers"}),
    "ps4_stochastic": ("minibatch_ascent", "estimate = (n_rows / batch_size) * mh.L(", "estimate = mh.L(",
                       {"test_minibatch_ascent_visible", "test_minibatch_ascent_hidden"}),
    "ps5_location_scale": ("cholesky_factor",
                           "return torch.tril(raw, diagonal=-1) + torch.diag_embed(positive_scale(torch.diagonal(raw)))",
                           "return torch.tril(raw)", {"test_cholesky_factor_visible", "test_cholesky_factor_hidden",
                                                      "test_fit_mvn_hidden"}),  # fit_mvn builds on it
    "ps6_poisson": ("standard_errors", "return torch.sqrt(torch.diagonal(covariance))",
                    "return torch.diagonal(covariance)", {"test_standard_errors_visible", "test_standard_errors_hidden"}),
}
STUDENTS = ("perfect", "untouched", "one_wrong")

pytestmark = pytest.mark.slow


def nbgrader(*args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    quiet = [] if args[0] == "validate" else ["--log-level=WARN"]  # validate has no --log-level
    result = subprocess.run([str(BIN / "nbgrader"), *args, *quiet], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def notebook_path(base: Path, assignment: str) -> Path:
    return base / assignment / f"{assignment}.ipynb"


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def check_lines(assignment: str) -> set[str]:
    """Distinctive code lines of the assignment's trusted checks that its release does not also hold
    (a check rebuilds the setup cell's data with the setup's own line)."""
    release = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
    public = "\n".join(cell.source for cell in release.cells)
    path = ROOT / "instructor_grading" / "checks" / f"{assignment}.py"
    lines = {line.strip() for line in path.read_text().splitlines()}
    return {line for line in lines if len(line) >= 15 and line not in public
            and not line.startswith(("#", '"""', "def ", "@"))}


def secret_lines(assignment: str, delimiters: tuple[str, str]) -> set[str]:
    """Distinctive lines of the solution (or hidden-test) regions, except those the instructions quote as hints."""
    source = nbformat.read(notebook_path(ROOT / "solutions", assignment), as_version=4)
    release = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
    prose = "\n".join(cell.source for cell in release.cells if cell.cell_type == "markdown")
    found = {line.strip() for cell in source.cells for line in region_lines(cell.source, delimiters)}
    return {line for line in found if len(line) >= 12 and not line.startswith("#") and line not in prose}


def submission(assignment: str, student: str):
    """The notebook a student hands in, made from the committed release."""
    release = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
    if student == "untouched":
        return release
    release = solved_release(release, nbformat.read(notebook_path(ROOT / "solutions", assignment), as_version=4))
    if student == "one_wrong":
        cell_id, right, wrong, _ = WRONG[assignment]
        cell = next(c for c in release.cells if grade_id(c) == cell_id)
        assert right in cell.source, f"{assignment}: WRONG no longer matches the solution of {cell_id}"
        cell.source = cell.source.replace(right, wrong)
    return release


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "instructor_grading", course / "instructor_grading",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for assignment in ASSIGNMENTS:
        shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    nbgrader("generate_assignment", "*", "--force", cwd=course)
    return course


@pytest.fixture(scope="module")
def graded(course) -> dict:
    """Autograde every student's every assignment; return {(student, assignment): {grade_id: (score, max)}}."""
    for student in STUDENTS:
        for assignment in ASSIGNMENTS:
            path = notebook_path(course / "submitted" / student, assignment)
            path.parent.mkdir(parents=True)
            nbformat.write(submission(assignment, student), path)
    nbgrader("autograde", "*", cwd=course)
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            for assignment in ASSIGNMENTS:
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
                scores[student, assignment] = {g.name: (g.score, g.max_score) for g in notebook.grades
                                               if g.cell.cell_type == "code"}
    return scores


def test_release_is_what_generate_assignment_makes(course):
    for assignment in ASSIGNMENTS:
        committed = notebook_path(ROOT / "exercises", assignment).read_text()
        fresh = notebook_path(course / "exercises", assignment).read_text()
        assert fresh == committed, f"exercises/{assignment} is stale: run `make assignments` and commit it"
    assert sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir()) == ASSIGNMENTS


def test_solutions_pass_nbgrader_validate():
    paths = [str(notebook_path(ROOT / "solutions", a)) for a in ASSIGNMENTS]
    output = nbgrader("validate", *paths, cwd=ROOT).stdout
    assert output.count("Success! Your notebook passes all the tests.") == len(paths), output[-3000:]


def test_source_notebooks_are_what_the_markdown_sources_make():
    """solutions/<id>.md is what a maintainer edits: the committed nbgrader source must be written from it."""
    sources = sorted((ROOT / "solutions").glob("*.md"))
    assert [md.stem for md in sources] == ASSIGNMENTS, "every assignment needs exactly one solutions/<id>.md"
    for md in sources:
        committed = notebook_path(ROOT / "solutions", md.stem).read_text()
        assert committed == nbformat.writes(source_notebook(md)) + "\n", (
            f"solutions/{md.stem}/{md.stem}.ipynb differs from solutions/{md.stem}.md: run `make assignments` "
            "and commit both (edit the .md, not the notebook)")


def test_assignment_folders_hold_nothing_but_the_notebook():
    """nbgrader copies every other file of solutions/<id>/ into the student release."""
    for assignment in ASSIGNMENTS:
        files = sorted(str(p.relative_to(ROOT / "solutions" / assignment))
                       for p in (ROOT / "solutions" / assignment).rglob("*") if "__pycache__" not in p.parts)
        assert files == [f"{assignment}.ipynb"], f"solutions/{assignment}/ would release {files}"


def test_assignment_sources_keep_nbgrader_invariants():
    """No outputs in git; unique grade ids; points on every graded cell and the stated total right;
    answer cells with solution markers; test cells named test_* that open with a docstring."""
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(notebook_path(ROOT / "solutions", assignment), as_version=4)
        where = f"solutions/{assignment}.md"
        ids = [cell.metadata.nbgrader["grade_id"] for cell in nb.cells if "nbgrader" in cell.metadata]
        assert len(ids) == len(set(ids)), f"{where}: a grade_id appears twice in {ids}"
        total = 0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{where}: outputs committed"
            if meta.get("solution") and cell.cell_type == "code":
                assert region_lines(cell.source, SOLUTION), f"{where}: answer {meta['grade_id']} has no solution region"
            if meta.get("grade"):
                assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, f"{where}: {meta}"
                total += meta["points"]
                if not meta.get("solution"):
                    body = ast.parse(cell.source).body
                    docstring = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    assert docstring and meta["grade_id"].startswith("test_"), f"{where}: {meta['grade_id']}"
        assert 10 <= total <= 20, f"{where} is worth {total} points"
        assert f"Worth **{total:g} points**" in nb.cells[0].source, f"{where}: its title cell states another total"


def test_no_released_test_cell_echoes_its_docstring():
    """A student who runs a released test cell sees a result, not the cell's docstring repeated as Out[]."""
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(notebook_path(ROOT / "exercises", assignment), as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution"):
                last = ast.parse(cell.source).body[-1]
                echoed = isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant)
                assert not echoed, f"{assignment}: {grade_id(cell)} ends with a bare docstring in the release"


def autograded(scores):
    return sum(score for score, _ in scores.values()), sum(points for _, points in scores.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_perfect_student_gets_every_autograded_point(graded, assignment):
    scores = graded["perfect", assignment]
    lost = {name: s for name, s in scores.items() if s[0] != s[1]}
    assert not lost, f"{assignment}: the solution loses points in {lost}"
    assert autograded(scores)[1] > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_gets_nothing(graded, assignment):
    scores = graded["untouched", assignment]
    assert autograded(scores)[0] == 0, f"{assignment}: free points in {scores}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_one_wrong_answer_loses_exactly_its_tasks_points(graded, assignment):
    expected_failures = WRONG[assignment][3]
    scores = graded["one_wrong", assignment]
    assert expected_failures <= set(scores)
    failed = {name for name, (score, points) in scores.items() if score != points}
    assert failed == expected_failures
    assert all(scores[name][0] == 0 for name in failed)


def visible_text(html_text: str) -> str:
    """The text a reader sees: tags dropped (syntax highlighting splits lines into spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def test_feedback_and_release_leak_no_hidden_test_or_solution(course, graded):
    nbgrader("generate_feedback", "*", cwd=course)
    for assignment in ASSIGNMENTS:
        solution = secret_lines(assignment, SOLUTION)
        # a line the solution also contains (mu.grad.zero_()) is the student's own code in their feedback
        solution_text = "\n".join(solution)
        hidden = {line for line in check_lines(assignment) if line not in solution_text}
        assert hidden and solution
        release = notebook_path(ROOT / "exercises", assignment).read_text()
        release_text = "\n".join(c.source for c in nbformat.reads(release, as_version=4).cells if c.cell_type == "code")
        assert not [line for line in hidden | solution if line in release_text], f"exercises/{assignment} leaks"
        for student in STUDENTS:
            page = course / "feedback" / student / assignment / f"{assignment}.html"
            text = visible_text(page.read_text())
            assert "BEGIN HIDDEN TESTS" not in text
            shown = {line.strip() for line in text.splitlines()}
            leaked = sorted(hidden & shown)
            assert not leaked, f"feedback of {student}/{assignment} shows its checks' code: {leaked[:3]}"
            if student == "untouched":
                leaked = [line for line in solution if line in text]
                assert not leaked, f"feedback of {student}/{assignment} shows the solution: {leaked[:3]}"
        # the one_wrong student failed a check: the feedback gives its message, not its code
        text = visible_text((course / "feedback" / "one_wrong" / assignment / f"{assignment}.html").read_text())
        assert "CheckFailed" in text


def test_make_autograde_gives_the_grades_of_nbgrader_autograde(course, graded):
    """`make autograde` (parallel workers) and plain `nbgrader autograde` read one configuration:
    re-grading the same class through the wrapper gives every cell the same score."""
    run = subprocess.run([sys.executable, "-m", "instructor_grading", "autograde", "--jobs", "2", "--course", str(course)],
                         env={**os.environ, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for (student, assignment), scores in graded.items():
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            again = {g.name: (g.score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"}
            assert again == scores, f"{student}/{assignment}: nbgrader gave {scores}, make autograde {again}"


def test_every_route_reads_the_course_executor_and_feedback_sanitiser():
    """nbgrader_config.py installs the course's classes into nbgrader's own default lists, so the CLI,
    formgrader and make all use them, and nbgrader's other default preprocessors stay."""
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, Execute
    from traitlets.config import PyFileConfigLoader

    from instructor_grading.execute import GradingExecute
    from instructor_grading.preflight import DeduplicateGradeIds

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    autograde = config.Autograde.autograde_preprocessors
    defaults = Autograde.class_traits()["autograde_preprocessors"].default()
    assert autograde == [GradingExecute if p is Execute else p for p in defaults]
    assert DeduplicateGradeIds in config.Autograde.sanitize_preprocessors
    feedback = config.GenerateFeedback.preprocessors
    assert ClearHiddenTests in feedback
    assert set(GenerateFeedback.class_traits()["preprocessors"].default()) <= set(feedback)
    assert config.OverwriteCells.add_missing_cells is True
