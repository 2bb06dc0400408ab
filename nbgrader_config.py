"""nbgrader configuration of the course: the only grading configuration (see the Instructor guide).

nbgrader's CLI, formgrader and `make autograde` / `make feedback` all read this
file, so they grade and write feedback identically. Run nbgrader from the
repository root so that it finds it.

Instructor sources: solutions/<assignment>/ (written from solutions/<assignment>.md
by `make assignments`); the student release: exercises/<assignment>/. Submissions
go to submitted/<student>/<assignment>/; autograded/ and feedback/ are nbgrader's
defaults.

The grading package instructor_grading/ is a folder beside this file, never an
installed package, so that no student's environment holds the checks: this file
puts its own folder on the import path. The gradebook is nbgrader's SQLite file
gradebook.db, or the database that MLE_GRADEBOOK_URL names (PostgreSQL on the
course's JupyterHub, see "Running the course on JupyterHub").
"""
import os
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent  # noqa: F821 (set by traitlets for every config file)
if str(COURSE) not in sys.path:
    sys.path.insert(0, str(COURSE))

from instructor_grading.config import autograde_preprocessors, feedback_preprocessors, sanitize_preprocessors
from instructor_grading.feedback import FeedbackExporter
from nbgrader.coursedir import CourseDirectory

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "mle-pytorch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
if os.environ.get("MLE_GRADEBOOK_URL"):
    c.CourseDirectory.db_url = os.environ["MLE_GRADEBOOK_URL"]

# Execute replaced by GradingExecute: the kernel runs sandboxed, and every test cell's verdict comes
# from its trusted check in instructor_grading/checks/ (see the Instructor guide).
c.Autograde.autograde_preprocessors = autograde_preprocessors()
# The secret that seeds each check's data per student: keep it, and out of git (a re-grade needs it).
c.GradingExecute.secret_file = str(COURSE / ".grading_secret")
# Grading records (<notebook>.grading.json) stay with the instructor: never copied into feedback.
c.CourseDirectory.ignore = CourseDirectory.class_traits()["ignore"].default() + ["*.grading.json"]
# A cell that runs longer than this is stopped (an endless loop scores 0 for that task only).
# A solution notebook needs under 20 s in all; 60 s leaves room for a loaded machine.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# Output still arriving after the reply (a loaded machine, a huge print) is waited for this long.
c.Execute.iopub_timeout = 60
# Once the last cell has run, every output is in: kill the kernel rather than wait for it to
# exit by itself (saves 0.5-1 s per notebook, which is 2-3 minutes for a class of 200).
c.Execute.shutdown_kernel = "immediate"
# A million printed lines are cut to this many, so the autograded notebook stays small.
c.LimitOutput.max_lines = 1000
# A deleted test cell is put back from the gradebook and graded.
c.OverwriteCells.add_missing_cells = True
# DeduplicateIds replaced by DeduplicateGradeIds: nbgrader's own fails the whole submission
# together with add_missing_cells when a student copied a graded cell.
c.Autograde.sanitize_preprocessors = sanitize_preprocessors()

# Feedback: nbgrader's ClearHiddenTests added, so that no route shows a hidden region.
c.GenerateFeedback.preprocessors = feedback_preprocessors()
# Feedback pages that stand alone (nbgrader releases only the .html): math as MathML, the course's CSS
# inline, no script or CDN; its template instructor_grading/templates/feedback/ shadows nbgrader's.
c.GenerateFeedback.exporter_class = FeedbackExporter

# `make collect` and `nbgrader zip_collect <assignment>`: an LMS's "download all submissions" zip into
# submitted/ (see the Instructor guide, 3. Collect). The LMS (canvas or moodle) is given per run.
c.ZipCollectApp.extractor_plugin = "instructor_grading.collect.LMSExtractor"
c.ZipCollectApp.collector_plugin = "instructor_grading.collect.LMSCollector"
# Canvas students by lms_user_id, Moodle students by name (relative to the course root).
c.LMSCollector.roster = "hub/roster.csv"
# The clock the LMS's server dates the zip's entries by.
c.LMSExtractor.zip_timezone = "UTC"
