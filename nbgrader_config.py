"""nbgrader configuration of the course (see the Instructor guide)."""
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "mle-pytorch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# A cell that runs longer than this is stopped (an endless loop scores 0 for that task only).
c.Execute.timeout = 30
# A deleted test cell is put back from the gradebook and graded.
c.OverwriteCells.add_missing_cells = True
