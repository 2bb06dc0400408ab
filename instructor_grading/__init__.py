"""The instructor's grading tools for the course (never imported by students).

One module per job:

- :mod:`.config`: the preprocessor lists ``nbgrader_config.py`` installs;
- :mod:`.execute`: the autograding executor (``GuardedExecute``);
- :mod:`.kernel_side`: what the executor and hidden tests run inside the student's kernel;
- :mod:`.feedback`: the feedback sanitiser (``HideHiddenTests``) and ``make feedback``;
- :mod:`.preflight`: named problems of unreadable or misplaced submissions;
- :mod:`.workers`: ``make autograde``, parallel workers and the gradebook merge;
- :mod:`.scores`: the score table;
- :mod:`.regions`: solution and hidden-test regions, the perfect submission;
- :mod:`.sources`: the assignment sources (MyST Markdown) to nbgrader's source notebooks;
- :mod:`.scratch`: a throwaway course with a demo assignment to rehearse grading;
- ``python -m instructor_grading``: the command line.
"""
