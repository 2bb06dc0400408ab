"""The book builds with execution, a failing cell fails the build, and math is served locally."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def test_every_toc_page_is_built(built_book):
    toc = (built_book / "_toc.yml").read_text()
    pages = re.findall(r"file:\s*(\S+)", toc) + [re.search(r"root:\s*(\S+)", toc).group(1)]
    for page in pages:
        html = built_book / "_build" / "html" / (Path(page).with_suffix("").as_posix() + ".html")
        assert html.exists(), f"{page} is in _toc.yml but {html} was not built"


def test_mathjax_is_served_from_the_site_itself(built_book):
    html_dir = built_book / "_build" / "html"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").exists()
    notation = (html_dir / "book" / "notation.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', notation)
    assert any(s.endswith("_static/mathjax/tex-chtml.js") for s in scripts), scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts


def test_a_cell_that_raises_fails_the_build(tmp_path, project_root):
    """The same configuration on a one-page book whose only cell raises must fail (-W makes it fatal)."""
    for name in ("_config.yml", "references.bib"):
        shutil.copy(project_root / name, tmp_path / name)
    # The config refers to the book's own extension and static files; copy them too.
    for folder in ("_ext", "_static"):
        shutil.copytree(project_root / "book" / folder, tmp_path / "book" / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "book" / "intro.md").write_text(
        "---\njupytext:\n  text_representation: {extension: .md, format_name: myst, format_version: 0.13}\n"
        "kernelspec: {display_name: Python 3 (ipykernel), language: python, name: python3}\n---\n"
        "# Broken\n\n```{code-cell} ipython3\nraise RuntimeError('this chapter is broken')\n```\n"
    )
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    result = subprocess.run([str(BIN / "jupyter-book"), "build", str(tmp_path), "-W", "-n", "--keep-going"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "Executing notebook failed" in result.stdout + result.stderr
    assert "this chapter is broken" in (tmp_path / "_build/html/reports/book/intro.err.log").read_text()
