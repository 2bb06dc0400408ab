"""The whole book as one PDF (``make pdf``): ``_build/html/mle-pytorch.pdf``, linked from the introduction.

Offline, with Debian's chromium (the one the browser tests use) and poppler-utils:

1. Jupyter Book's single-page HTML build (``--builder singlehtml``) of the book, with the same
   configuration, ``_build/.doctrees`` and executed-notebook cache as ``make book``: after
   ``make book`` nothing is read or executed again, only the one page is written.
2. That page opened in headless chromium through Playwright, once MathJax has typeset every
   formula; the site's sidebars and buttons hidden by ``print.css``; a title page, a contents
   list and a heading for each part of ``_toc.yml`` added by ``prepare.js``.
3. Printed twice with ``page.pdf``: the first print tells on which page each chapter starts
   (``pdfinfo -dests``), the second prints those numbers in the contents list. The PDF has an
   outline (bookmarks) from the headings, and its cross-references are links inside it.

The assignments are printed as released (``exercises/``): the book never holds a solution.
"""
from __future__ import annotations

import datetime
import functools
import http.server
import re
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PDF_NAME = "mle-pytorch.pdf"
CHROMIUM = Path("/usr/bin/chromium")
LOAD_TIMEOUT_MS = 120_000
# A4 with room for the page number at the foot; the browser's window is as wide as the printed text.
MARGINS_MM = {"top": 16, "bottom": 18, "left": 16, "right": 16}
PX_PER_MM = 96 / 25.4
PRINTED_PX = {"width": round((210 - MARGINS_MM["left"] - MARGINS_MM["right"]) * PX_PER_MM),
              "height": round((297 - MARGINS_MM["top"] - MARGINS_MM["bottom"]) * PX_PER_MM)}
PDF_OPTIONS = {"format": "A4", "margin": {side: f"{mm}mm" for side, mm in MARGINS_MM.items()},
               "print_background": True, "outline": True, "tagged": True, "display_header_footer": True,
               "header_template": "<span></span>",
               "footer_template": '<div style="font-size: 9px; width: 100%; text-align: center; color: #555;">'
                                  '<span class="pageNumber"></span></div>'}


def log(message: str) -> None:
    print(f"book_pdf: {message}", flush=True)


# --- 1. the single-page HTML build -----------------------------------------------------------------

def _singlehtml_sees_html_nodes() -> None:
    """Let the singlehtml builder write every node that extensions taught the html builder.

    Sphinx looks up a builder's node visitors under its name and falls back to its format
    ("html") only when no extension registered any under that name. sphinx-exercise registers
    its nodes for "singlehtml" too, so the fallback never happens and myst-nb's HideCodeCellNode
    (``tags: [hide-input]``), registered for "html" only, fails with "unknown node type".
    Merging the two tables here leaves the configuration, and so the shared environment, untouched.
    """
    from sphinx.registry import SphinxComponentRegistry

    original = SphinxComponentRegistry.create_translator
    if getattr(original, "merges_html_visitors", False):
        return

    def create_translator(self, builder, *args):
        if builder.name == "singlehtml":
            self.translation_handlers["singlehtml"] = {**self.translation_handlers.get("html", {}),
                                                       **self.translation_handlers.get("singlehtml", {})}
        return original(self, builder, *args)

    create_translator.merges_html_visitors = True
    SphinxComponentRegistry.create_translator = create_translator


def build_single_page(root: Path) -> Path:
    """Build the book as one HTML page (``_build/singlehtml``); returns the page, moved to the top folder.

    Sphinx writes the page as ``book/intro.html`` (the root document) but with links relative to
    the top folder, so it is copied to ``_build/singlehtml/book.html`` where those links resolve.
    """
    _singlehtml_sees_html_nodes()
    from jupyter_book.cli.main import main as jupyter_book

    try:
        jupyter_book(["build", str(root), "--builder", "singlehtml", "-W", "-n", "--keep-going"],
                     standalone_mode=False)
    except SystemExit as exit:  # a warning: jupyter-book printed it and its message box
        if exit.code:
            raise SystemExit(f"book_pdf: the single-page build failed (exit {exit.code}); see above") from None
    out = root / "_build" / "singlehtml"
    root_doc = yaml.safe_load((root / "_toc.yml").read_text())["root"]
    page = out / "book.html"
    shutil.copyfile(out / f"{root_doc}.html", page)
    return page


# --- 2. what prepare.js needs: the parts of _toc.yml and the title page -----------------------------

def toc_parts(root: Path) -> list[dict]:
    """``[{caption, files}]`` of _toc.yml, files in reading order (sections after their chapter)."""
    def files(entries):
        for entry in entries:
            yield entry["file"]
            yield from files(entry.get("sections", []))
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [{"caption": part["caption"], "files": list(files(part["chapters"]))} for part in toc["parts"]]


def title_page(root: Path) -> dict:
    config = yaml.safe_load((root / "_config.yml").read_text())
    printed = f"Printed from the course's website on {datetime.date.today().isoformat()}"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    if commit.returncode == 0:
        printed += f", commit {commit.stdout.strip()}"
    return {"title": config["title"],
            "lines": [{"text": config["author"]}, {"text": f"© {config['copyright']}"},
                      {"text": printed + ".", "className": "book-printed"}]}


# --- 3. printing ------------------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextmanager
def serve(directory: Path):
    """``directory`` over HTTP on 127.0.0.1 (a page opened from file:// may not load its fonts)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


_TYPESET_JS = """async () => {
  await MathJax.startup.promise;
  await document.fonts.ready;
  const images = Array.from(document.images);
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return {
    untypeset: Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length,
    formulas: document.querySelectorAll('mjx-container').length,
    broken_images: images.filter(img => !img.naturalWidth).map(img => img.getAttribute('src')),
  };
}"""

_FILL_PAGES_JS = """(pages) => {
  for (const a of document.querySelectorAll('.book-contents a[data-target]'))
    a.querySelector('.book-entry-page').textContent = pages[a.dataset.target];
}"""


def destination_pages(pdf: Path) -> dict[str, int]:
    """The page of every named destination of ``pdf`` (chromium makes one for each link target)."""
    result = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True, check=True)
    pages = {}
    for line in result.stdout.splitlines():
        match = re.match(r'\s*(\d+)\s+\[.*\]\s+"(.*)"$', line)
        if match:
            pages.setdefault(match[2], int(match[1]))
    return pages


def print_book(page_path: Path, target: Path, book: dict) -> int:
    """Print the single page to ``target``; returns the number of pages."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise SystemExit(f"book_pdf: {CHROMIUM} is missing; `make chromium` installs Debian's chromium")
    if not shutil.which("pdfinfo"):
        raise SystemExit("book_pdf: pdfinfo is missing; `make poppler` installs Debian's poppler-utils")
    with serve(page_path.parent) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(color_scheme="light", viewport=PRINTED_PX)
            page.emulate_media(media="print", color_scheme="light")
            start = time.monotonic()
            page.goto(f"{base_url}/{page_path.name}", wait_until="load", timeout=LOAD_TIMEOUT_MS)
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=LOAD_TIMEOUT_MS)
            state = page.evaluate(_TYPESET_JS)
            if state["untypeset"] or state["broken_images"]:
                raise SystemExit(f"book_pdf: {state['untypeset']} formulas not typeset, images that do not load: "
                                 f"{state['broken_images'][:5]}")
            page.add_style_tag(content=(HERE / "print.css").read_text())
            prepared = page.evaluate((HERE / "prepare.js").read_text(), book)
            log(f"page loaded, {state['formulas']} formulas typeset in {time.monotonic() - start:.0f} s; "
                f"{len(prepared['dropped'])} links to other files of the site printed as text")
            first = target.with_name(target.stem + ".pass1.pdf")
            _print(page, first, tagged=False, outline=False)  # page numbers only: 20% faster untagged
            pages = destination_pages(first)
            missing = [e for e in prepared["entries"] if e not in pages]
            if missing:
                raise SystemExit(f"book_pdf: no page found for {missing} in the PDF's destinations")
            numbers = {e: pages[e] for e in prepared["entries"]}
            log(f"first print: {time.monotonic() - start:.0f} s; numbering the contents")
            page.evaluate(_FILL_PAGES_JS, numbers)
            _print(page, target)
            moved = {e: p for e, p in destination_pages(target).items() if e in numbers and numbers[e] != p}
            if moved:
                raise SystemExit(f"book_pdf: chapters moved between the two prints: {moved}")
            first.unlink()
        finally:
            browser.close()
    return _page_count(target)


def _print(page, path: Path, **options) -> None:
    page.pdf(path=str(path), **{**PDF_OPTIONS, **options})


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M)[1])


def main(root: Path = ROOT) -> Path:
    start = time.monotonic()
    page = build_single_page(root)
    log(f"single-page build: {time.monotonic() - start:.0f} s")
    target = root / "_build" / "pdf" / PDF_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    pages = print_book(page, target, {**title_page(root), "parts": toc_parts(root), "pageHeight": PRINTED_PX["height"]})
    site = root / "_build" / "html"
    if site.is_dir():
        shutil.copyfile(target, site / PDF_NAME)
    log(f"wrote {target.relative_to(root)}{' and ' + str((site / PDF_NAME).relative_to(root)) if site.is_dir() else ''}: "
        f"{pages} pages, {target.stat().st_size / 1e6:.1f} MB, {time.monotonic() - start:.0f} s")
    return target
