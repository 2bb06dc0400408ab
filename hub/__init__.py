"""The course on a multi-user JupyterHub on one machine (``make hub``); see book/instructor_hub.md."""
