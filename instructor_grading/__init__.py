"""The instructor's grading tools for the course (never imported by students).

One module per job:

- :mod:`.config`: the preprocessor lists ``nbgrader_config.py`` installs;
- :mod:`.execute`: the autograding executor (``GradingExecute``): sandboxed kernel, verdicts from trusted checks;
- :mod:`.sandbox`: the bubblewrap sandbox the student's kernel runs in;
- :mod:`.remote` and :mod:`.kernel_protocol`: the data-only channel between a check and the kernel;
- :mod:`.checks`: the trusted checks, one module per assignment;
- :mod:`.forbidden`: the static check of answers for forbidden references;
- :mod:`.record`: the grading record of each notebook;
- :mod:`.feedback`: ``make feedback``;
- :mod:`.preflight`: named problems of unreadable or misplaced submissions;
- :mod:`.collect`: ``make collect``, an LMS's archive of submissions into ``submitted/``;
- :mod:`.workers`: ``make autograde``, parallel workers and the gradebook merge;
- :mod:`.scores`: the score table;
- :mod:`.regions`: solution and hidden-test regions, the perfect submission;
- :mod:`.sources`: the assignment sources (MyST Markdown) to nbgrader's source notebooks;
- :mod:`.scratch`: a throwaway course with a demo assignment to rehearse grading;
- ``python -m instructor_grading``: the command line.
"""
