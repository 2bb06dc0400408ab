"""The student-facing website and JupyterLab, checked in a real browser.

The site is the one ``built_book`` builds (or ``BOOK_ROOT`` points at),
served on 127.0.0.1 and driven with Debian's chromium through Playwright.
Screenshots for a maintainer to look at go to ``_build/screenshots/``.
"""
from __future__ import annotations

import html
import html.parser
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from playwright.sync_api import expect

from instructor_grading.regions import HIDDEN_TESTS, MARK_SCHEME, SOLUTION, region_lines, solution_answers

from browser import PageWatch, copy_tree, jupyterlab_server

pytestmark = pytest.mark.slow

LOAD_TIMEOUT_MS = 30_000
MATH_TIMEOUT_MS = 20_000
VIEWPORT = {"width": 1280, "height": 900}
# Search words and the chapter each must find (item 2 of the site's issue).
SEARCHES = {"likelihood": "book/likelihood.html", "Adam": "book/optimizers.html",
            "Cholesky": "book/location_scale.html"}
# The assignment the JupyterLab test works through; LAB_ASSIGNMENT=<id> runs it on another one.
LAB_ASSIGNMENT = os.environ.get("LAB_ASSIGNMENT", "ps1_closed_form")
# A figure-rich chapter for the screenshot, when it exists.
SCREENSHOT_CHAPTER = "book/gradient_ascent.html"


def release_notebooks(root: Path) -> list[Path]:
    return sorted((root / "exercises").glob("*/*.ipynb"))


def html_pages(html_dir: Path) -> list[Path]:
    """Every page of the site (not the theme's assets or the copied sources)."""
    skip = {"_static", "_sources", "_downloads", "_images"}
    return sorted(p for p in html_dir.rglob("*.html") if not skip & set(p.relative_to(html_dir).parts))


def screenshot_path(root: Path, name: str) -> Path:
    folder = root / "_build" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- 1. every page loads cleanly, images decode, math is typeset ----------------------------------

_IMAGE_PROBLEMS_JS = """async () => {
  const problems = [];
  for (const img of Array.from(document.images)) {
    try { await img.decode(); } catch (e) { problems.push(`does not decode: ${img.src}`); continue; }
    if (img.naturalWidth === 0) problems.push(`empty image: ${img.src}`);
    const alt = (img.getAttribute('alt') || '').trim();
    if (alt.length < 8 || /^\\S+\\.(png|svg|jpe?g|gif)$/i.test(alt) || /^\\S*\\/\\S*$/.test(alt)) problems.push(`no real alt text (${JSON.stringify(alt)}): ${img.src}`);
  }
  return problems;
}"""

_MATH_TYPESET_JS = """() => Array.from(document.querySelectorAll('.math')).every(e => e.querySelector('mjx-container'))"""

# Raw TeX delimiters left in the visible text, outside code.
_RAW_MATH_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  return (body.textContent.match(/\\\\[\\(\\[][^]{0,40}/g) || []);
}"""


@pytest.mark.browser
def test_every_page_loads_cleanly_with_images_and_math(site, page):
    base_url, html_dir, root = site
    pages = html_pages(html_dir)
    assert len(pages) >= 10, f"only {len(pages)} pages built in {html_dir}"
    page.goto(f"{base_url}/index.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_url(f"{base_url}/book/intro.html", timeout=LOAD_TIMEOUT_MS)  # the redirect to the first page
    pages.remove(html_dir / "index.html")
    watch = PageWatch(page, base_url)
    problems, pages_with_math = [], 0
    for path in pages:
        url = f"{base_url}/{path.relative_to(html_dir).as_posix()}"
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        if page.locator(".math").count():
            pages_with_math += 1
            try:
                page.wait_for_function(_MATH_TYPESET_JS, timeout=MATH_TIMEOUT_MS)
            except Exception:
                problems.append(f"{url}: MathJax did not typeset every formula within {MATH_TIMEOUT_MS} ms")
            raw = page.evaluate(_RAW_MATH_JS)
            if raw:
                problems.append(f"{url}: raw TeX on the page: {raw[:3]}")
        problems += [f"{url}: {p}" for p in page.evaluate(_IMAGE_PROBLEMS_JS)]
        page.evaluate("document.fonts.ready.then(() => true)")  # fonts are fetched late; wait for them
        # The favicon and lazy assets load after "load"; leaving the page earlier aborts them (ERR_ABORTED).
        page.wait_for_load_state("networkidle", timeout=LOAD_TIMEOUT_MS)
        problems += [f"{url}: {p}" for p in watch.take()]
    assert pages_with_math >= 1, "no page has math: the .math check would never run"
    assert not problems, f"{len(problems)} problems on {len(pages)} pages:\n" + "\n".join(problems)


# --- 2. search ----------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("word, chapter", SEARCHES.items())
def test_search_finds_the_chapter(site, page, word, chapter):
    base_url, _, _ = site
    page.goto(f"{base_url}/search.html?q={word}", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => /Search finished/.test(document.querySelector('#search-results')?.textContent || '')",
                           timeout=LOAD_TIMEOUT_MS)
    found = page.eval_on_selector_all("#search-results ul.search li a",
                                      "links => links.map(a => a.getAttribute('href'))")
    found_pages = {href.split("#")[0].split("?")[0] for href in found}
    assert chapter in found_pages, f"searching {word!r} finds {sorted(found_pages)}, not {chapter}"


# --- 3. no solution or hidden test anywhere in the site -------------------------------------------

_REGIONS = {"SOLUTION": SOLUTION, "HIDDEN TESTS": HIDDEN_TESTS, "MARK SCHEME": MARK_SCHEME}
# Lines that say nothing about the answer: blanks, brackets, bare keywords, comments.
_TRIVIAL = re.compile(r"^([\s\[\](){}:,.;'\"]*|pass|else:|try:|finally:|return|continue|break|#.*|\"\"\"|''')$")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def secret_regions(notebook: Path) -> list[tuple[str, list[str]]]:
    """``(kind, distinctive lines)`` of every solution, hidden-test and mark-scheme region of a source notebook.

    A solution cell without markers is one region: nbgrader replaces the whole cell.
    """
    regions = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and not any(b in cell.source for b, _ in _REGIONS.values()):
            regions.append(("SOLUTION", cell.source.splitlines()))
        regions += [(kind, lines) for kind, delimiters in _REGIONS.items()
                    if (lines := region_lines(cell.source, delimiters))]
    return [(kind, [n for n in map(_normalise, lines) if len(n) >= 6 and not _TRIVIAL.match(n)])
            for kind, lines in regions]


def chapter_texts(root: Path) -> dict[str, str]:
    """The normalised text of every chapter source: code the chapters teach on purpose."""
    return {md.name: _normalise(md.read_text()) for md in sorted((root / "book").glob("*.md"))}


def release_text(source: Path) -> str:
    """All text of the release notebook made from ``source`` (the task statements are public)."""
    release = source.parents[2] / "exercises" / source.parent.name / source.name
    return _normalise("\n".join(c.source for c in nbformat.read(release, as_version=4).cells))


class _TextOf(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def site_texts(html_dir: Path):
    """``(path, normalised text)`` of every page, source, download and the search index."""
    for path in sorted(html_dir.rglob("*")):
        parts = path.relative_to(html_dir).parts
        if not path.is_file() or parts[0] in {"_static", "_images"}:
            continue
        raw = path.read_bytes().decode("utf-8", errors="replace")
        texts = [raw, html.unescape(raw)]
        if path.suffix == ".html":
            parser = _TextOf()
            parser.feed(raw)
            texts.append("".join(parser.parts))
        elif path.suffix in {".ipynb", ".json"}:
            texts.append("\n".join(_strings(json.loads(raw))))
        yield path, _normalise("\n".join(texts))


def test_no_solution_or_hidden_test_reaches_the_site(built_book):
    """No solution, hidden-test or mark-scheme line is anywhere in _build/html.

    Single idioms that a chapter teaches on purpose (``optimizer.zero_grad()``)
    or that the task statement quotes are not secrets; a page that reproduces
    half a solution block is the next test's business.
    """
    html_dir = built_book / "_build" / "html"
    sources = sorted((built_book / "solutions").glob("*/*.ipynb"))
    assert sources, f"no source notebooks in {built_book / 'solutions'}"
    taught = "\n".join(chapter_texts(built_book).values())
    secrets = {}
    for source in sources:
        public = release_text(source)
        for kind, lines in secret_regions(source):
            for line in lines:
                if line not in taught and line not in public:
                    secrets[line] = f"{kind} of {source.parent.name}"
    assert len(secrets) >= 20, f"only {len(secrets)} secret lines to look for in {len(sources)} notebooks"
    leaks = [f"{path.relative_to(html_dir)}: {line!r} ({secrets[line]})"
             for path, text in site_texts(html_dir) for line in secrets if line in text]
    assert not leaks, f"{len(leaks)} solution/hidden-test lines in the site:\n" + "\n".join(leaks[:30])


def solution_blocks(source: Path) -> list[list[str]]:
    """The lines that give away each solution block of 3 or more lines: 12 characters or more, not in the release."""
    public = release_text(source)
    return [[line for line in lines if len(line) >= 12 and line not in public]
            for kind, lines in secret_regions(source) if kind == "SOLUTION" and len(lines) >= 3]


def test_no_page_holds_half_of_a_solution_block(built_book):
    """A chapter teaches a method on another case than the assignment's: no file of the site
    (page, ``_sources``, download) holds half or more of a solution block's telling lines.
    One taught idiom alone is never half a block: two matching lines at least make a leak."""
    html_dir = built_book / "_build" / "html"
    blocks = [(source.parent.name, block) for source in sorted((built_book / "solutions").glob("*/*.ipynb"))
              for block in solution_blocks(source) if block]
    assert len(blocks) >= 10, f"only {len(blocks)} solution blocks to look for"
    leaks = []
    for path, text in site_texts(html_dir):
        for assignment, block in blocks:
            found = [line for line in block if line in text]
            if len(found) >= max(2, len(block) / 2):
                leaks.append(f"{path.relative_to(html_dir)} holds {len(found)} of the {len(block)} lines of a "
                             f"solution block of {assignment}: {found}")
    assert not leaks, "\n".join(leaks)


# --- the assignments part: release notebooks, unexecuted, all in the table of contents ------------

@pytest.mark.browser
def test_every_release_notebook_is_a_page_shown_unexecuted(site, page):
    base_url, html_dir, root = site
    notebooks = release_notebooks(root)
    assert notebooks, f"no release notebooks in {root / 'exercises'}"
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    assignments = next(part for part in toc["parts"] if part["caption"] == "Assignments")
    listed = {s["file"] for chapter in assignments["chapters"] for s in chapter.get("sections", [])}
    for notebook in notebooks:
        name = notebook.relative_to(root).with_suffix("").as_posix()
        assert name in listed, f"{name} is not in the Assignments part of _toc.yml"
        page.goto(f"{base_url}/{name}.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
        assert page.locator(".cell_output").count() == 0, f"{name}: the page shows outputs; it must be unexecuted"
        assert "NotImplementedError" in page.locator("article").inner_text(), f"{name}: no stub on the page"
        download = html_dir / "_sources" / f"{name}.ipynb"
        assert nbformat.read(download, as_version=4) == nbformat.read(notebook, as_version=4), \
            f"{download} (the page's download) differs from the release notebook"
    page.goto(f"{base_url}/{notebooks[0].relative_to(root).with_suffix('').as_posix()}.html", wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=screenshot_path(root, "assignment_page.png"))


def test_instructor_guide_commands_are_makefile_targets(project_root):
    guide = (project_root / "book" / "instructor_guide.md").read_text()
    makefile = (project_root / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    used = set(re.findall(r"\bmake ([a-z][\w-]*)", guide))
    assert {"assignments", "autograde", "feedback", "grades"} <= used, f"the guide shows only make {sorted(used)}"
    assert used <= targets, f"the guide uses make targets the Makefile lacks: {sorted(used - targets)}"


@pytest.mark.browser
def test_theme_features_a_reader_expects(site, page):
    base_url, html_dir, root = site
    chapter = SCREENSHOT_CHAPTER if (html_dir / SCREENSHOT_CHAPTER).exists() else "book/likelihood.html"
    page.goto(f"{base_url}/{chapter}", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    page.evaluate("document.fonts.ready.then(() => true)")
    # Bootstrap turns the buttons' titles into tooltips, so the links are found by where they point.
    links = page.eval_on_selector_all(".article-header-buttons a[href]", "as => as.map(a => a.getAttribute('href'))")
    stem = chapter.removesuffix(".html")
    expected = {"download .ipynb": f"_sources/{stem}.ipynb", "download .md": f"_sources/{stem}.md",
                "repository": "https://github.com/", "JupyterHub": "/hub/user-redirect/git-pull?",
                "Binder": "/v2/gh/"}
    missing = [name for name, part in expected.items() if not any(part in href for href in links)]
    assert not missing, f"{chapter}: no header button for {missing}; links: {links}"
    for href in links:
        if href.startswith("../_sources/"):
            assert (html_dir / "book" / href).resolve().is_file(), f"{chapter}: download {href} is missing"
    assert page.locator(".prev-next-area a").count() >= 1, "no previous/next links"
    # Chapters are numbered in the sidebar ("3. Why the log").
    numbered = page.eval_on_selector_all("nav.bd-links a.reference.internal", "as => as.map(a => a.textContent.trim())")
    assert sum(bool(re.match(r"^\d+\.", t)) for t in numbered) >= 5, f"chapters are not numbered: {numbered[:8]}"
    page.screenshot(path=screenshot_path(root, "chapter_top.png"))
    figure = page.locator("article img").first
    if figure.count():
        figure.scroll_into_view_if_needed()
        page.screenshot(path=screenshot_path(root, "chapter_figure.png"))
    page.goto(f"{base_url}/book/references.html", wait_until="load", timeout=LOAD_TIMEOUT_MS)
    # The helpers' docstrings cite chapters by number ("Introduced in chapter 7"): the numbers must match.
    ascent_link = page.eval_on_selector_all(
        "nav.bd-links a.reference.internal",
        "as => as.filter(a => a.getAttribute('href') === 'gradient_ascent.html').map(a => a.textContent.trim())")
    assert ascent_link and ascent_link[0].startswith("7."), \
        f"the sidebar shows gradient ascent as {ascent_link}; mle_helpers calls it chapter 7"
    assert page.locator(".citation, dl.citation, div.citation").count() >= 1, "the bibliography is empty"


# --- 4. JupyterLab: run an assignment, fail, solve, pass, validate ------------------------------------

_NOTEBOOK_JS = "Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path)"

_SUMMARY_JS = f"""(path) => {{
  const panel = {_NOTEBOOK_JS};
  if (!panel || !panel.content.model) return null;
  const model = panel.content.model, cells = [];
  for (let i = 0; i < model.cells.length; i++) {{
    const cell = model.cells.get(i), nbgrader = cell.getMetadata('nbgrader') || {{}};
    const info = {{type: cell.type, grade_id: nbgrader.grade_id || null, grade: !!nbgrader.grade,
                  solution: !!nbgrader.solution}};
    if (cell.type === 'code') {{
      info.running = cell.executionState === 'running';
      info.count = cell.executionCount;
      info.errors = cell.outputs.toJSON().filter(o => o.output_type === 'error')
                        .map(o => ({{ename: o.ename, evalue: o.evalue}}));
    }}
    cells.push(info);
  }}
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {{kernel: kernel ? kernel.status : null, cells}};
}}"""

_RUN_ALL_JS = f"""async (path) => {{
  const panel = {_NOTEBOOK_JS};
  window.jupyterapp.shell.activateById(panel.id);
  await window.jupyterapp.commands.execute('notebook:run-all-cells');
}}"""

_RESTART_JS = f"""async (path) => {{ const panel = {_NOTEBOOK_JS}; await panel.sessionContext.restartKernel(); }}"""

_SET_ANSWERS_JS = f"""([path, answers]) => {{
  const panel = {_NOTEBOOK_JS}, model = panel.content.model;
  let replaced = 0;
  for (let i = 0; i < model.cells.length; i++) {{
    const cell = model.cells.get(i), nbgrader = cell.getMetadata('nbgrader') || {{}};
    if (nbgrader.solution && answers[nbgrader.grade_id] !== undefined) {{
      cell.sharedModel.setSource(answers[nbgrader.grade_id]);
      replaced++;
    }}
  }}
  return replaced;
}}"""


def _wait_until_idle(page, path: str, timeout_ms: int) -> dict:
    page.wait_for_function(
        "(path) => { const s = (" + _SUMMARY_JS + ")(path);"
        " return s && s.kernel === 'idle' && !s.cells.some(c => c.running); }",
        arg=path, timeout=timeout_ms, polling=250)
    return page.evaluate(_SUMMARY_JS, path)


@pytest.mark.browser
def test_jupyterlab_runs_an_assignment_from_failing_to_validated(built_book, browser, tmp_path):
    root = built_book
    notebooks = release_notebooks(root)
    assert notebooks, f"no release notebooks in {root / 'exercises'}"
    chosen = next((nb for nb in notebooks if nb.stem == LAB_ASSIGNMENT), notebooks[0])
    assignment = chosen.parent.name
    lab_root = tmp_path / "exercises"
    copy_tree(chosen.parent, lab_root / assignment)
    path = f"{assignment}/{chosen.name}"
    answers = solution_answers(nbformat.read(root / "solutions" / assignment / chosen.name, as_version=4))
    assert answers, f"no autograded answer cells in solutions/{assignment}/{chosen.name}"

    (tmp_path / "jupyter").mkdir()
    with jupyterlab_server(lab_root, tmp_path / "jupyter") as (base_url, token):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{base_url}/lab/tree/{path}?token={token}", wait_until="load", timeout=60_000)
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
            validate = page.locator(".jp-NotebookPanel-toolbar .validate-button")
            validate.wait_for(timeout=30_000)
            assert "Validate" in validate.inner_text(), "nbgrader's Validate button has no label"
            page.wait_for_function(f"(path) => (({_SUMMARY_JS})(path) || {{}}).kernel === 'idle'",
                                   arg=path, timeout=60_000, polling=250)

            # The release as handed out: the first visible test fails on the stub above it.
            page.evaluate(_RUN_ALL_JS, path)
            summary = _wait_until_idle(page, path, 120_000)
            failing = [c for c in summary["cells"] if c["type"] == "code" and c["errors"]]
            assert failing, "running the release raised nothing: the stubs should make a visible test fail"
            first = failing[0]
            assert first["grade"] and not first["solution"], f"the first error is not in a test cell: {first}"
            assert first["errors"][0]["ename"] == "NotImplementedError", f"unexpected failure: {first['errors']}"
            # JupyterLab renders the outputs of cells scrolled into view only: find the traceback where it shows.
            error_output = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                                        has_text="NotImplementedError").first
            error_output.scroll_into_view_if_needed(timeout=30_000)
            expect(error_output).to_contain_text("NotImplementedError", timeout=30_000)  # retried while it renders
            page.screenshot(path=screenshot_path(root, "jupyterlab_failing.png"))

            # A student's correct answers: every visible test passes.
            replaced = page.evaluate(_SET_ANSWERS_JS, [path, answers])
            assert replaced == len(answers), f"put {replaced} of {len(answers)} answers into the notebook"
            page.evaluate(_RESTART_JS, path)
            page.wait_for_function(f"(path) => (({_SUMMARY_JS})(path) || {{}}).kernel === 'idle'",
                                   arg=path, timeout=60_000, polling=250)
            page.evaluate(_RUN_ALL_JS, path)
            summary = _wait_until_idle(page, path, 180_000)
            code_cells = [c for c in summary["cells"] if c["type"] == "code"]
            errors = [(c["grade_id"], c["errors"]) for c in code_cells if c["errors"]]
            assert not errors, f"with the solutions in place some cells still fail: {errors}"
            not_run = [c["grade_id"] for c in code_cells if c["count"] is None]
            assert not not_run, f"cells that did not run: {not_run}"

            # nbgrader's Validate saves the notebook, runs it on the server and reports.
            validate.click()
            dialog = page.locator(".jp-Dialog")
            dialog.wait_for(timeout=180_000)
            page.wait_for_function("() => !/Validating|Saving/.test(document.querySelector('.jp-Dialog')?.textContent"
                                   " || 'Validating')", timeout=180_000)
            page.screenshot(path=screenshot_path(root, "jupyterlab_validated.png"))
            assert "Success! Your notebook passes all the tests." in dialog.inner_text(), dialog.inner_text()
        finally:
            context.close()
