"""Sphinx extension: accessible names and roles that the theme and extensions get wrong.

Each fix changes the HTML when it is written (no script patches the page after
it loads) and names the upstream cause; tests/test_accessibility.py audits every
page with axe-core and fails on a serious or critical violation.

- myst-nb writes the "Show code cell source" toggle of a ``hide-input`` cell as
  ``<summary aria-label="Toggle hidden content">``: the accessible name does not
  contain the visible label (axe: label-content-name-mismatch, WCAG 2.5.3).
  Written here without the aria-label, the name is the label the reader sees.
- docutils' HTML writer gives each bibliography entry the DPUB role
  ``doc-biblioentry`` inside a ``role="list"``. DPUB-ARIA 1.1 deprecates that role
  (axe: aria-deprecated-role) and axe, no longer counting it as a list item, sees
  the entries' DOI links as children that a list must not own (aria-required-children,
  critical). Written here as ``role="listitem"``, what DPUB-ARIA 1.1 recommends.
- pydata-sphinx-theme's sidebar wraps each page's sub-pages in ``<details>`` whose
  ``<summary>`` holds only a decorative chevron (``role="presentation"``): a
  control with no name (axe: summary-name). Each gets ``aria-label="Contents of <page>"``.

The search button and the colour-mode switch are fixed by template overrides in
``book/_templates/``, the colours by ``book/_static/accessibility.css``.
"""
from __future__ import annotations

import functools
from html import escape

from docutils import nodes
from sphinx.writers.html5 import HTML5Translator


def visit_hide_input(self, node) -> None:
    """myst_nb.sphinx_.visit_HideCellInput without the summary's aria-label."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append("<summary>\n")
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def visit_citation(self, node) -> None:
    """docutils' HTML5 visit_citation with role="listitem" for the deprecated doc-biblioentry."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def label_toctree_toggles(soup) -> None:
    """Name every sidebar ``<summary>`` that has no text after the entry it opens."""
    for summary in soup.select("li > details > summary"):
        if summary.get_text(strip=True) or summary.get("aria-label"):
            continue  # a part's caption inside the summary already names it
        entry = summary.find_parent("li").find(["a", "p"], recursive=False)
        title = entry.get_text(" ", strip=True) if entry else ""
        summary["aria-label"] = f"Contents of {title}" if title else "Contents"


def _label_sidebar(app, pagename, templatename, context, doctree) -> None:
    generate = context.get("generate_toctree_html")
    if generate is None:
        return  # not a pydata-sphinx-theme page

    @functools.wraps(generate)
    def generate_labelled(kind, *args, **kwargs):
        soup = generate(kind, *args, **kwargs)
        if kind == "sidebar":
            label_toctree_toggles(soup)
        return soup

    context["generate_toctree_html"] = generate_labelled


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(HideCodeCellNode, override=True, html=(visit_hide_input, depart_HideCellInput))
    app.add_node(nodes.citation, override=True, html=(visit_citation, HTML5Translator.depart_citation))
    # After pydata-sphinx-theme (default priority 500) has put generate_toctree_html in the context.
    app.connect("html-page-context", _label_sidebar, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
