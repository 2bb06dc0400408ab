"""The book builds with execution, a failing cell fails the build, and math is served locally."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pages import Page

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def test_every_toc_page_is_built(built_book):
    toc = (built_book / "_toc.yml").read_text()
    pages = re.findall(r"file:\s*(\S+)", toc) + [re.search(r"root:\s*(\S+)", toc).group(1)]
    for page in pages:
        html = built_book / "_build" / "html" / (Path(page).with_suffix("").as_posix() + ".html")
        assert html.exists(), f"{page} is in _toc.yml but {html} was not built"


# The book's own machinery, which a reader copying the code does not need: set-up, glue, thread settings.
PLUMBING = ("myst_nb", "glue(", "set_theme(", "set_num_threads(")


def test_readers_see_the_method_not_the_books_plumbing(built_book):
    """Code cells shown on a page (even folded behind "show code") hold no glue or set-up:
    that lives in removed cells, so every number is still computed on the page."""
    shown = {}
    for page in sorted((built_book / "_build" / "html" / "book").glob("*.html")):
        html = page.read_text()
        inputs = re.findall(r'<div class="cell_input[^"]*">(.*?)</pre>', html, flags=re.S)
        found = sorted({word for block in inputs for word in PLUMBING if word in re.sub(r"<[^>]+>", "", block)})
        if found:
            shown[page.name] = found
    assert len(list((built_book / "_build" / "html" / "book").glob("*.html"))) >= 11
    assert not shown, f"pages show the book's plumbing in code cells: {shown}"


def test_every_glued_value_is_used_by_the_text(built_book):
    """A value glued on a page is a number the page states: none is glued for nothing (or only for a test)."""
    unused = {}
    for source in sorted((built_book / "book").glob("*.md")):
        text = source.read_text()
        used = set(re.findall(r"\{glue(?::\w+)?\}`([\w-]+)", text)) | set(re.findall(r"```\{glue(?::\w+)?\}\s+([\w-]+)", text))
        if "glue(" in text:
            glued = set(Page(built_book, source.stem).glued())
            assert glued, f"{source.name} calls glue() but nothing was glued"
            if glued - used:
                unused[source.name] = sorted(glued - used)
    assert not unused, f"glued values that no text uses: {unused}"


def test_mathjax_is_served_from_the_site_itself(built_book):
    html_dir = built_book / "_build" / "html"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").exists()
    notation = (html_dir / "book" / "notation.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', notation)
    assert any(s.endswith("_static/mathjax/tex-chtml.js") for s in scripts), scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts


HEADER = ("---\njupytext:\n  text_representation: {extension: .md, format_name: myst, format_version: 0.13}\n"
          "kernelspec: {display_name: Python 3 (ipykernel), language: python, name: python3}\n---\n")


def one_page_book(root: Path, project_root: Path, docname: str, body: str) -> Path:
    """A book with the course's configuration whose only page ``docname`` is ``body``."""
    for name in ("_config.yml", "references.bib"):
        shutil.copy(project_root / name, root / name)
    # The config refers to the book's own extension and static files; copy them too.
    for folder in ("_ext", "_static"):
        shutil.copytree(project_root / "book" / folder, root / "book" / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (root / f"{docname}.md").write_text(HEADER + body)
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: {docname}\n")
    return root


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "jupyter-book"), "build", str(root), "-W", "-n", "--keep-going"],
                          capture_output=True, text=True, timeout=600)


def test_a_cell_that_raises_fails_the_build(tmp_path, project_root):
    """The same configuration on a one-page book whose only cell raises must fail (-W makes it fatal)."""
    one_page_book(tmp_path, project_root, "book/intro",
                  "# Broken\n\n```{code-cell} ipython3\nraise RuntimeError('this chapter is broken')\n```\n")
    result = build(tmp_path)
    assert result.returncode != 0
    assert "Executing notebook failed" in result.stdout + result.stderr
    assert "this chapter is broken" in (tmp_path / "_build/html/reports/book/intro.err.log").read_text()


def test_the_performance_page_shows_the_latest_benchmark_results(tmp_path, project_root):
    """After `make bench` rewrites bench/results.json, `make book` runs the page again (its code is unchanged)."""
    one_page_book(tmp_path, project_root, "book/performance",
                  "# Performance\n\n```{code-cell} ipython3\n"
                  "from pathlib import Path\nprint('figure:', Path('../bench/results.json').read_text().strip())\n```\n")
    (tmp_path / "bench").mkdir()
    page = tmp_path / "_build" / "html" / "book" / "performance.html"
    for figure in ("first-run", "second-run"):
        (tmp_path / "bench" / "results.json").write_text(figure)
        result = build(tmp_path)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        assert f"figure: {figure}" in page.read_text(), figure
