"""nbgrader configuration of the course (see the Instructor guide).

Instructor sources live in solutions/<assignment>/, the student release that
`make assignments` generates in exercises/<assignment>/. Submissions go to
submitted/<student>/<assignment>/; autograded/ and feedback/ are nbgrader's
defaults. Run nbgrader from the repository root so it finds this file.
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "mle-pytorch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# A cell that runs longer than this is stopped (an endless loop scores 0 for that task only).
# A solution notebook needs under 20 s in all; 60 s leaves room for a loaded machine, where
# importing torch and matplotlib in the first cell alone can take 20 s.
c.Execute.timeout = 60
# Once the last cell has run, every output is in: kill the kernel rather than wait for it to
# exit by itself (saves 0.5-1 s per notebook, which is 2-3 minutes for a class of 200).
c.Execute.shutdown_kernel = "immediate"
# A deleted test cell is put back from the gradebook and graded.
c.OverwriteCells.add_missing_cells = True


class HideHiddenTestOutput(NbGraderPreprocessor):  # nbgrader's base is enabled by default
    """In feedback, replace what a test cell with hidden tests printed by one line.

    A failing hidden assert leaves a traceback that quotes the hidden lines
    (and their expected values); ClearHiddenTests only clears the source.
    This runs first, while the autograded source still holds the hidden
    region, so it can tell which cells to clean. The cell keeps an error
    output, so the feedback still shows that it failed.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            failed = [out for out in cell.get("outputs", []) if out.output_type == "error"
                      or (out.output_type == "stream" and out.name == "stderr")]
            cell.outputs = []
            if failed:
                name = failed[0].get("ename", "Error")
                cell.outputs.append({"output_type": "error", "ename": name, "evalue": "hidden test failed",
                                     "traceback": [f"{name}: a hidden test failed (its details are not shown)"]})
        return cell, resources


# Feedback: grades, then no hidden test (neither its source nor its traceback) in the HTML.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTestOutput, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
