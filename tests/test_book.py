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


def test_no_page_shows_an_error_or_a_warning(built_book):
    """A cell that writes to stderr or a figure that fails while it is drawn (IPython prints the traceback
    and the build still passes) shows nothing of it on a page."""
    broken = {}
    for html in sorted((built_book / "_build" / "html" / "book").glob("*.html")):
        page = Page(built_book, html.stem)
        found = [kind for kind in ("stderr", "traceback") if page.outputs(kind)]
        found += ["a traceback"] if re.search(r"Traceback|most recent call last", page.html) else []
        if found:
            broken[html.name] = found
    assert not broken, f"pages that show errors or warnings: {broken}"


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


# Decimals a page may type because no computation on it produces them: versions, book sections, percentiles,
# and arithmetic the page shows in full (each is checked by its chapter's tests).
TYPED_ON_PURPOSE = {
    "assignments.html": {"3.11": "Python version"},
    "instructor_hub.html": {"20.04": "Ubuntu version", "22.04": "Ubuntu version", "23.10": "Ubuntu version",
                            "3.11": "Python version", "4.1": "chart version", "5.5": "JupyterHub version"},
    "performance.html": {"4.24": "jsonschema version"},
    "instructor_guide.html": {"4.1": "Moodle version", "2.5": "the formgrader example's manual score; 2.5 days late in the policy example",
                              "14.5": "that example's total, which tests/test_formgrader.py checks",
                              "3.0": "formgrader's display of the written answer's 3 points"},
    "why_log.html": {"4.2": "a section of Murphy's book"},
    "notation.html": {"97.5": "the 97.5% quantile"},
    "uncertainty.html": {"97.5": "the 97.5% quantile"},
    "location_scale.html": {"0.005": "1 - gamma for the page's gamma = 0.995"},
}
DECIMAL = r"(?<![\w.])\d+\.\d+(?:e-?\d+)?(?![\w]|\.\d)|(?<![\w.])\d+e-\d+"
LITERAL = r"(?<![\w.])\d+(?:_\d+)*(?:\.\d*)?(?:e[-+]?\d+)?(?![\w])"
NUMBERED = r"(?:Theorem|Exercise|Solution|Proof|Definition|Lemma|Proposition|Corollary|Example|Fig\.|Figure|Table|Section|Chapter)\s+\d+\.\d+"


# "2 \\cdot 5/10\\,000 = 0.001": arithmetic of plain numbers, then the decimal it comes to.
_PLAIN = r"(?:[\d. ]|\\,|\\cdot)+"
ARITHMETIC = re.compile(r"((?:\d[\d.]*|\\,|\\cdot|\\frac\{" + _PLAIN + r"\}\{" + _PLAIN + r"\}|[-+*/()^ ])+)=\s*("
                        + DECIMAL + r")(?!\s*[\^*/])")


def _value(arithmetic: str) -> float | None:
    """The value of arithmetic written in TeX or plain text, or None when it is not plain arithmetic."""
    expression = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", arithmetic)
    expression = expression.replace("\\,", "").replace("\\cdot", "*").replace("^", "**")
    expression = re.sub(r"(?<=\d) (?=\d{3}\b)", "", expression)  # "10 000" is one number
    if not re.search(r"\d\s*[-+*/]", expression) or not re.fullmatch(r"[\d.\s()+\-*/]+", expression):
        return None
    try:
        return float(eval(expression, {"__builtins__": {}}))  # digits and operators only, checked above
    except (SyntaxError, ZeroDivisionError):
        return None


def shown_arithmetic(text: str) -> tuple[set[str], list[str]]:
    """Decimals that a page shows as the result of arithmetic, and the ones whose arithmetic is wrong."""
    shown, wrong = set(), []
    for left, number in ARITHMETIC.findall(text):
        value = _value(left.split("=")[-1])
        if value is None:
            continue
        decimals = len(number.split(".")[1].split("e")[0]) if "." in number else 0
        if abs(value - float(number)) <= 0.5 * 10.0**-decimals + 1e-12 * abs(value):
            shown.add(number)
        else:
            wrong.append(f"{left.strip()} = {number} (it is {value:.6g})")
    return shown, wrong


def typed_decimals(html: str) -> tuple[list[str], list[str]]:
    """Decimals the author typed (in the prose, and with 3 or more decimals in the math) that neither a glue
    role pasted, nor a code cell of the page sets as an input (``lr = 1e-4`` may be quoted as 0.0001), nor
    arithmetic on the page produces; and the shown arithmetic that is wrong."""
    from bs4 import BeautifulSoup  # the theme's own dependency

    article = BeautifulSoup(html, "html.parser").find("article")
    code = " ".join(node.get_text() for node in article.select("div.cell_input"))
    inputs = {float(m.replace("_", "")) for m in re.findall(LITERAL, code)}
    for node in article.select("div.cell, span.pasted-text, span.eqno, span.section-number, code, pre, a, nav"):
        node.decompose()
    math = " ".join(node.get_text() for node in article.select(".math"))
    for node in article.select(".math"):
        node.decompose()
    prose = re.sub(NUMBERED, " ", " ".join(article.get_text(" ").split()))
    shown, wrong = shown_arithmetic(prose + " " + math)
    found = re.findall(DECIMAL, prose) + [m for m in re.findall(DECIMAL, math) if len(m.split(".")[1]) >= 3]
    return [number for number in found if float(number) not in inputs and number not in shown], wrong


def test_no_computed_number_is_typed_into_a_page(built_book):
    """Every number a page states comes from a cell (glued) or is arithmetic shown on the page."""
    typed, wrong = {}, {}
    for page in sorted((built_book / "_build" / "html" / "book").glob("*.html")):
        found, wrong_arithmetic = typed_decimals(page.read_text())
        found = sorted(set(found) - set(TYPED_ON_PURPOSE.get(page.name, {})))
        if found:
            typed[page.name] = found
        if wrong_arithmetic:
            wrong[page.name] = wrong_arithmetic
    assert not typed, f"numbers typed into pages (glue them, or list them in TYPED_ON_PURPOSE with why): {typed}"
    assert not wrong, f"arithmetic on the pages that does not come to the number it states: {wrong}"


def test_the_typed_number_finder_finds_a_typed_number_and_wrong_arithmetic():
    page = ('<article><p>The error is 0.0123 after <span class="pasted-text">0.0456</span> steps, '
            '<span class="math">\\(\\eta = 0.0001\\)</span>, the bound 2 \\cdot 5/10\\,000 = 0.001 '
            'and 10/10 000 = 0.002.</p><div class="cell_input"><pre>lr = 1e-4</pre></div></article>')
    assert typed_decimals(page) == (["0.0123", "0.002"], ["10/10 000 = 0.002 (it is 0.001)"])


def test_mathjax_is_served_from_the_site_itself(built_book):
    html_dir = built_book / "_build" / "html"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").exists()
    notation = (html_dir / "book" / "notation.html").read_text()
    # Sphinx may add a "?v=<digest>" to a static file's address so that browsers reload it when it changes.
    scripts = [s.split("?")[0] for s in re.findall(r'<script[^>]+src="([^"]+)"', notation)]
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


def _performance_tables(page_html: str) -> dict[str, tuple[str, str]]:
    """Every row of the performance page's tables: figure label -> (measured cell, setting cell or "")."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page_html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if len(cells) >= 2:
            rows[cells[0]] = (cells[1], cells[4] if len(cells) > 4 else "")
    return rows


def _number(cell: str) -> float:
    """The number in a measured cell such as "4,576x", "1.84 s" or "6.4e-11"."""
    return float(re.match(r"-?[\d,]+(?:\.\d+)?(?:e[-+]?\d+)?", cell).group(0).replace(",", ""))


def test_the_performance_pages_prose_numbers_are_its_tables_cells(built_book):
    """Every cost the prose states is glued from the same results as the table beside it, and agrees with its cells."""
    import html as html_lib
    import json

    from pages import Page

    page = Page(built_book, "performance")
    page_html, text = page.html, page.text
    main = page_html[page_html.index("<main"):]
    table = _performance_tables(page_html)
    results = json.loads((built_book / "bench" / "results.json").read_text())
    figures = {f["key"]: f for bench in results["benchmarks"].values() for f in bench["figures"]}
    # The tables show the latest results.
    for figure in figures.values():
        assert table[figure["label"]][0] == figure["measured"], figure["label"]

    def stated(sentence: str) -> list[float]:
        pattern = r"\s*(-?[\d,]+(?:\.\d+)?(?:e[-+]?\d+)?)".join(re.escape(piece) for piece in sentence.split("{}"))
        match = re.search(pattern, text)
        assert match, f"the performance page no longer states {sentence!r}"
        return [float(group.replace(",", "")) for group in match.groups()]

    def cell(key: str) -> float:
        return _number(table[figures[key]["label"]][0])

    assert stated("The two surfaces agree to {} (relative)") == [cell("grid.rel_diff")]
    assert stated("helper is {} times faster") == [cell("grid.speedup")]
    assert stated("MultivariateNormal to {} (relative)") == [cell("likelihood.rel_diff")]
    assert stated("A first call is {} times faster than MultivariateNormal and takes {} times as long as one X.sum(); "
                  "a repeated call on the same data takes {} times as long") == \
        [cell("likelihood.speedup"), cell("likelihood.over_floor"), cell("likelihood.cached_over_floor")]
    gain, one_evaluation = stated("so the gain, {} times, is smaller than the {} times of one big evaluation")
    assert (gain, one_evaluation) == (cell("ascent.speedup"), cell("likelihood.speedup")) and gain < one_evaluation
    [floor] = stated("which alone takes {} s (the floor")
    assert floor == pytest.approx(cell("autograde.floor"), abs=0.051)
    [optim_extra] = stated("torch._dynamo, {} s more")
    assert optim_extra == pytest.approx(cell("autograde.floor_optim") - cell("autograde.floor"), abs=0.061)
    # In a class: the share of each assignment's time that its floor takes (the setting names the floor used).
    in_class = {key: figure for key, figure in figures.items() if key.startswith("autograde.") and figure["target"]}
    assert in_class
    shares = [cell("autograde.floor_optim" if "torch.optim floor" in table[f["label"]][1] else "autograde.floor")
              / cell(key) for key, f in in_class.items()]
    [share] = stated("The floor is {}% or more of each assignment")
    assert share / 100 == pytest.approx(min(shares), abs=0.011)
    # A one-off `nbgrader autograde` costs more than a notebook graded in a class.
    for key in in_class:
        assert cell(key + ".one_off") > cell(key), key
    # The class sizes the prose states are those of the settings.
    [class_size] = stated("Then {} more students submit")
    assert {re.search(r"(\d+) students", table[f["label"]][1]).group(1) for f in in_class.values()} == {str(int(class_size))}
    [parallel_class] = stated("The same class of {} students")
    assert f"{int(parallel_class)} students" in table[figures["class.serial"]["label"]][1]
    # No other cost in the prose: every number with a unit of time or a ratio is a glued value.
    prose = " ".join(re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", main, flags=re.S))
    typed = re.sub(r'<span class="pasted-text">.*?</span>|\\\(.*?\\\)|<[^>]+>', " ", prose, flags=re.S)
    typed = " ".join(html_lib.unescape(typed).split())
    assert not re.findall(r"\b\d[\d,.]*\s*(?:s|ms|seconds?|times|x|%)(?![\w-])", typed)
    assert not re.findall(r"\b(?:a|one|two|three|a few|several) seconds?\b", typed)
