"""Sphinx extension: execute the book's outdated notebooks in parallel, before Sphinx reads them.

Jupyter Book 1 (myst-nb, ``execute_notebooks: cache``) executes notebooks one after
another while it reads the pages, and each one spends about 4 s starting a kernel and
importing torch. Before the read phase this extension runs every outdated notebook
through jupyter-cache's own parallel executor (one worker per core) and stores the
results in the same cache, with the same timeout and cwd that myst-nb uses. myst-nb then
finds each notebook in the cache and only renders it. A notebook that fails here is not
cached: myst-nb executes it again in the read phase and reports the error as it always does.

It also lets a page depend on a data file that its cells read (the config value
``nb_execution_depends``: docname -> paths relative to the book's root). Sphinx then
re-reads the page when the file changes, and its cached outputs are dropped so that it
is executed again: jupyter-cache alone keys a notebook on its code, so after
``make bench`` the Performance page would keep showing the previous results.
"""
from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from sphinx.util import logging as sphinx_logging

# myst-nb's reader of MyST-Markdown notebooks, as registered with jupyter-cache.
_MYST_READER = {"type": "plugin", "name": "myst_nb_md"}


def _notebooks_to_execute(app, env, docnames) -> list[str]:
    from myst_nb.core.read import is_myst_markdown_notebook

    config = env.mystnb_config
    paths = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        if path.suffix != ".md" or not is_myst_markdown_notebook(path.read_text("utf8")):
            continue  # plain Markdown pages, and the unexecuted .ipynb assignments
        if any(PurePosixPath(path.as_posix()).match(p) for p in config.execution_excludepatterns):
            continue
        paths.append(str(path))
    return paths


def note_data_dependencies(app, docname, source) -> None:
    for relative in app.config.nb_execution_depends.get(docname, []):
        app.env.note_dependency(str(Path(app.srcdir, relative).resolve()))


def execute_outdated_notebooks(app, env, docnames) -> None:
    config = env.mystnb_config
    if config.execution_mode != "cache":
        return
    paths = _notebooks_to_execute(app, env, docnames)
    from jupyter_cache import get_cache
    from jupyter_cache.executors.basic import JupyterExecutorLocalMproc

    cache = get_cache(config.execution_cache_path or ".jupyter_cache")
    for path in paths:
        cache.add_nb_to_project(path, read_data=_MYST_READER)
    dependent = {str(Path(env.doc2path(d))) for d in docnames if d in app.config.nb_execution_depends}
    for path in dependent & set(paths):  # re-read because its source or a data file changed: run it again
        record = cache.get_cached_project_nb(path)
        if record is not None:
            cache.remove_cache(record.pk)
    if len(paths) < 2:
        return  # nothing to run side by side: myst-nb executes it as usual
    quiet = logging.getLogger("book.parallel_execution")
    quiet.setLevel(logging.ERROR)  # failures are reported by myst-nb when it executes them again
    result = JupyterExecutorLocalMproc(cache, quiet).run_and_cache(
        filter_uris=paths, timeout=config.execution_timeout, allow_errors=config.execution_allow_errors)
    sphinx_logging.getLogger(__name__).info(
        f"parallel execution: {len(result.succeeded)} notebook(s) cached, "
        f"{len(result.excepted) + len(result.errored)} left for myst-nb")


def setup(app):
    app.add_config_value("nb_execution_depends", {}, "env")
    app.connect("source-read", note_data_dependencies)
    app.connect("env-before-read-docs", execute_outdated_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
