"""``make pdf``: the whole book as one PDF, read back with poppler-utils as a reader's PDF viewer would.

The PDF is made once per session from the book ``built_book`` built (``python -m book_pdf``,
as ``make pdf`` runs it after ``make book``), so nothing is executed again.
"""
from __future__ import annotations

import filecmp
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from browser import ensure_chromium
from test_site import chapter_texts, release_text, secret_regions

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PDF_NAME = "mle-pytorch.pdf"
# The book is about 330 A4 pages; far fewer means chapters went missing, far more a broken layout.
PAGES = (150, 700)
MAX_MEGABYTES = 40
POPPLER = ("pdftotext", "pdfinfo", "pdfimages", "pdftohtml")


def poppler(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True, timeout=300).stdout


@pytest.fixture(scope="module")
def book_pdf(built_book) -> Path:
    missing = [tool for tool in POPPLER if not shutil.which(tool)]
    if missing:
        pytest.fail(f"{missing} missing: `make poppler` installs Debian's poppler-utils", pytrace=False)
    ensure_chromium()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # as conftest's book build
    result = subprocess.run([sys.executable, "-m", "book_pdf"], cwd=built_book, env=env,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        pytest.fail(f"python -m book_pdf failed (exit {result.returncode}):\n{tail}", pytrace=False)
    pdf = built_book / "_build" / "pdf" / PDF_NAME
    assert pdf.is_file(), f"python -m book_pdf succeeded but wrote no {pdf}"
    return pdf


@pytest.fixture(scope="module")
def pages(book_pdf) -> list[str]:
    """The text of every page, whitespace normalised."""
    return [" ".join(page.split()) for page in poppler("pdftotext", str(book_pdf), "-").split("\f")[:-1]]


def toc_titles(root: Path) -> list[tuple[str, str]]:
    """``(file, title)`` of every page in _toc.yml, in reading order; the title is the source's first heading."""
    def files(entries):
        for entry in entries:
            yield entry["file"]
            yield from files(entry.get("sections", []))
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    titles = []
    for file in [toc["root"]] + [f for part in toc["parts"] for f in files(part["chapters"])]:
        path = next(root.glob(f"{file}.*"))
        if path.suffix == ".ipynb":
            text = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                             for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
        else:
            text = path.read_text()
        heading = re.search(r"^# (.+)$", text, flags=re.M)[1]
        titles.append((file, re.sub(r"[`*]", "", heading).strip()))
    return titles


def test_every_chapter_in_order_each_on_the_page_the_contents_give(built_book, book_pdf, pages):
    titles = toc_titles(built_book)
    assert len(titles) >= 20, f"only {len(titles)} pages in _toc.yml"
    destinations = {}
    for line in poppler("pdfinfo", "-dests", str(book_pdf)).splitlines():
        if match := re.match(r'\s*(\d+)\s+\[.*\]\s+"(.*)"$', line):
            destinations.setdefault(match[2], int(match[1]))
    contents = poppler("pdftotext", "-layout", "-f", "2", "-l", "4", str(book_pdf), "-")
    problems, previous = [], 0
    for file, title in titles[1:]:  # the introduction opens the book, after the contents
        page = destinations.get(f"document-{file}")
        if page is None:
            problems.append(f"{file}: no link target in the PDF (is it in the book?)")
            continue
        if title not in pages[page - 1]:
            problems.append(f"{file}: {title!r} is not on page {page}, where the chapter's anchor is")
        if page <= previous:
            problems.append(f"{file}: starts on page {page}, not after the previous chapter (page {previous})")
        previous = page
        # The printed contents list gives the same page.
        if not re.search(rf"{re.escape(title)} +{page}$", contents, flags=re.M):
            problems.append(f"{file}: the contents do not list {title!r} on page {page}")
    first_title = titles[0][1]
    assert first_title in pages[0], f"the title page does not show {first_title!r}"
    assert not problems, "\n".join(problems)


def test_math_is_typeset_with_numbered_equations_and_links_to_them(book_pdf, pages):
    text = "\n".join(pages)
    raw = sorted(set(re.findall(r"\\[A-Za-z]{2,}|\\[()\[\]]|\$\$", text)))
    assert not raw, f"raw TeX in the PDF's text: {raw[:20]}"
    assert text.count("θ") >= 200 and text.count("∑") >= 50, "few typeset symbols: is the math in the PDF?"
    numbers = set(re.findall(r"\((\d{1,2}\.\d{1,2})\)", text))
    assert len(numbers) >= 100, f"only {len(numbers)} equation numbers such as (3.1)"
    # A destination is written for every target of a link inside the PDF: references to equations,
    # figures and sections land on their page instead of on the website.
    names = poppler("pdfinfo", "-dests", str(book_pdf))
    assert len(re.findall(r'"equation-', names)) >= 30, "references to equations are not links inside the PDF"
    assert "http://127.0.0.1" not in names


def test_figures_are_printed(built_book, book_pdf, pages):
    page = (built_book / "_build" / "singlehtml" / "book.html").read_text()
    article = page[page.index("<article"):page.index("</article>")]
    figures = len(re.findall(r"<img\b", article))
    assert figures >= 20, f"only {figures} images in the book's single page"
    images = poppler("pdfimages", "-list", str(book_pdf)).splitlines()[2:]
    assert len(images) >= figures, f"the PDF holds {len(images)} images; the book has {figures}"
    captions = set(re.findall(r"Fig\. (\d+\.\d+)", "\n".join(pages)))
    assert len(captions) >= 20, f"only {len(captions)} figure captions (Fig. 3.1)"


def test_bibliography_and_outline(book_pdf, pages):
    assert any(p.startswith("References") or " References [" in p for p in pages[-3:]), \
        "the last pages are not the bibliography"
    assert "Pattern Recognition and Machine Learning" in " ".join(pages[-3:])
    outline = poppler("pdftohtml", "-xml", "-i", "-q", "-stdout", "-f", "1", "-l", "1", str(book_pdf))
    items = [html.unescape(i) for i in re.findall(r"<item[^>]*>([^<]*)</item>", outline)]
    for heading in ("Contents", "Foundations", "1. Probabilistic models and the", "Assignments", "References"):
        assert any(i.startswith(heading) for i in items), f"no {heading!r} in the PDF's outline: {items[:12]}"


def test_no_solution_or_hidden_test_is_printed(built_book, pages):
    """The assignments are printed as released: their instructions and stubs, never a solution line.

    Compared without whitespace, since long code lines wrap on the page.
    """
    def squeeze(text: str) -> str:
        return "".join(text.split())
    text = squeeze("\n".join(pages))
    sources = sorted((built_book / "solutions").glob("*/*.ipynb"))
    assert sources, f"no source notebooks in {built_book / 'solutions'}"
    taught = squeeze("\n".join(chapter_texts(built_book).values()))
    secrets = {}
    for source in sources:
        public = squeeze(release_text(source))
        for kind, lines in secret_regions(source):
            for line in lines:
                if squeeze(line) not in taught and squeeze(line) not in public:
                    secrets[line] = f"{kind} of {source.parent.name}"
    assert len(secrets) >= 20, f"only {len(secrets)} secret lines to look for"
    leaks = [f"{line!r} ({where})" for line, where in secrets.items() if squeeze(line) in text]
    assert not leaks, f"{len(leaks)} solution/hidden-test lines in the PDF:\n" + "\n".join(leaks[:30])
    assert text.count(squeeze("raise NotImplementedError()")) >= 10, "the assignments' stubs are not printed"


def test_page_count_size_and_the_copy_the_site_links(built_book, book_pdf, pages):
    assert PAGES[0] <= len(pages) <= PAGES[1], f"{len(pages)} pages"
    megabytes = book_pdf.stat().st_size / 1e6
    assert megabytes <= MAX_MEGABYTES, f"the PDF is {megabytes:.1f} MB"
    site = built_book / "_build" / "html"
    copy = site / PDF_NAME
    assert copy.is_file() and filecmp.cmp(copy, book_pdf, shallow=False), f"{copy} is not the PDF just made"
    intro = (site / "book" / "intro.html").read_text()
    links = re.findall(r'href="([^"]*\.pdf)"', intro)
    assert links, "the introduction does not link the PDF"
    for link in links:
        assert (site / "book" / link).resolve() == copy.resolve(), f"the introduction links {link}, not {PDF_NAME}"
