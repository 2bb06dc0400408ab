"""Sphinx extension: write every script tag of a page once.

sphinx-thebe (loaded by Jupyter Book) registers its inline configuration
script (``const THEBE_JS_URL = ...``) twice under Sphinx 7, and the second
copy throws "Identifier 'THEBE_JS_URL' has already been declared" in the
browser console of every page. This drops repeated scripts, keeping order.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # The copies differ in filename (None or "") and priority: compare what the page gets.
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
