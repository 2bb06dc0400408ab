"""The website for readers with a screen reader, low vision or only a keyboard.

axe-core (tests/axe.py: the WCAG 2.x A/AA rules) audits every page of the built
site as a reader sees it, in the theme's light and dark mode: a violation of
impact serious or critical fails the test, and every violation found (the
moderate and minor ones too) is written to ``_build/accessibility.json`` for a
maintainer to read. A second test walks a chapter with the Tab key.

Pages audited: every ``.html`` of ``_build/html`` outside the theme's assets
(the chapters, the assignments' release pages, genindex.html, search.html and
sphinx-proof's index prf-prf.html), except the root index.html, a meta refresh
to book/intro.html (audited itself; test_site.py checks the redirect); then the
search page showing the results for a word. Each page is loaded once, audited in
light mode, switched to dark mode with the theme's own button and audited again.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from axe import audit, describe, serious

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LOAD_TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1280, "height": 900}
MODES = ("light", "dark")
# A chapter with equations, proofs, exercises with solution dropdowns and hidden code cells.
KEYBOARD_CHAPTER = "book/gaussian.html"
# A word whose search results are audited (each result's title and summary highlight it).
SEARCH_WORD = "likelihood"
# Sphinx's searchtools.js lists the results one by one, then stops its "Searching" pulse.
_SEARCH_DONE_JS = """() => document.querySelector('#search-results ul.search li span.highlighted')
  && typeof Search !== 'undefined' && Search._pulse_status === -1"""
# Tab stops of a chapter: its links and equation references, and every formula (MathJax puts each
# in the tab order for its keyboard explorer): 420 in gaussian.html, 291 of them formulas.
MAX_TABS = 1500


def audited_pages(html_dir: Path) -> list[str]:
    skip = {"_static", "_sources", "_downloads", "_images"}
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html")
                   if not skip & set(p.relative_to(html_dir).parts))
    return [p for p in pages if p != "index.html"]


@pytest.fixture()
def page(browser):
    """One page for the whole site; each load starts in light mode (the theme keeps the mode in localStorage)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script("localStorage.setItem('mode', 'light')")
    try:
        yield context.new_page()
    finally:
        context.close()


# MathJax typesets and Font Awesome swaps its <i> icons for <svg> after "load": audit the page as it ends up.
_SETTLED_JS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  return true;
}"""
_ICONS_DONE_JS = """() => !document.querySelector('i.fa-solid, i.fa-brands, i.fa-regular')
  || document.documentElement.classList.contains('fontawesome-i2svg-complete')"""
_MODE_JS = "() => [document.documentElement.dataset.mode, document.documentElement.dataset.theme]"
_BACKGROUND_JS = """() => getComputedStyle(document.body).backgroundColor.match(/[\\d.]+/g).slice(0, 3)
  .reduce((sum, v) => sum + Number(v) / 3, 0)"""
# The theme animates colours and focus rings: a style read mid-transition is neither state's.
_TRANSITIONS = ("Promise.all(document.getAnimations().filter(a => a instanceof CSSTransition)"
                ".map(a => a.finished.catch(() => null)))")
_TRANSITIONS_DONE_JS = f"() => {_TRANSITIONS}.then(() => true)"


def open_settled(page, url: str) -> None:
    page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
    page.evaluate(_SETTLED_JS)
    page.wait_for_function(_ICONS_DONE_JS, timeout=LOAD_TIMEOUT_MS)
    page.evaluate(_TRANSITIONS_DONE_JS)


def switch_to(page, mode: str) -> None:
    """Click the theme's own colour-mode button until it shows ``mode`` (it cycles auto, dark, light)."""
    for _ in range(3):
        if page.evaluate(_MODE_JS) == [mode, mode]:
            break
        page.evaluate("document.querySelector('.theme-switch-button').click()")
    assert page.evaluate(_MODE_JS) == [mode, mode], f"{page.url}: the colour-mode switch never reached {mode}"
    page.evaluate(_TRANSITIONS_DONE_JS)
    brightness = page.evaluate(_BACKGROUND_JS)
    assert (brightness > 200) if mode == "light" else (brightness < 60), \
        f"{page.url}: in {mode} mode the page's background has brightness {brightness:.0f} of 255"


def _record(violations: list[dict]) -> list[dict]:
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "helpUrl": v["helpUrl"],
             "nodes": [{"target": n["target"], "html": n["html"][:300], "summary": n.get("failureSummary", "")}
                       for n in v["nodes"]]} for v in violations]


def test_every_page_in_both_colour_modes_has_no_serious_accessibility_violation(site, page):
    base_url, html_dir, root = site
    pages = audited_pages(html_dir)
    assert len(pages) >= 20, f"only {len(pages)} pages built in {html_dir}"
    assert {"book/intro.html", "genindex.html", "search.html"} <= set(pages), pages
    assert any(p.startswith("exercises/") for p in pages), "no assignment release page was built"
    started = time.monotonic()
    report, failures = [], []

    def audit_both_modes(name: str) -> None:
        for mode in MODES:
            switch_to(page, mode)  # each page load starts light (the fixture's localStorage)
            audit_started = time.monotonic()
            violations = audit(page)
            report.append({"page": name, "mode": mode, "audit_seconds": round(time.monotonic() - audit_started, 2),
                           "violations": _record(violations)})
            if serious(violations):
                failures.append(f"{name} ({mode}):\n{describe(serious(violations))}")

    for name in pages:
        open_settled(page, f"{base_url}/{name}")
        audit_both_modes(name)
    # The search page as it shows results (the search word highlighted in them).
    open_settled(page, f"{base_url}/search.html?q={SEARCH_WORD}")
    page.wait_for_function(_SEARCH_DONE_JS, timeout=LOAD_TIMEOUT_MS)
    audit_both_modes(f"search.html?q={SEARCH_WORD}")

    seconds = time.monotonic() - started
    counts = Counter()
    for entry in report:
        for v in entry["violations"]:
            counts[f"{v['id']} ({v['impact']})"] += len(v["nodes"])
    path = root / "_build" / "accessibility.json"
    path.write_text(json.dumps({
        "rules": "axe-core, WCAG 2.0/2.1/2.2 A and AA", "modes": list(MODES), "seconds": round(seconds, 1),
        "audit_seconds": round(sum(e["audit_seconds"] for e in report), 1),
        "pages": sorted({e["page"] for e in report}), "elements_per_rule": dict(sorted(counts.items())),
        "audits": report}, indent=1))
    print(f"\naxe audit of {len(report) // len(MODES)} pages x {len(MODES)} modes in {seconds:.0f} s "
          f"({sum(e['audit_seconds'] for e in report):.0f} s in axe); "
          f"violations by rule (elements): {dict(counts) or 'none'}; report: {path}")
    assert not failures, ("serious or critical accessibility violations (all of them in "
                          f"{path}):\n" + "\n".join(failures))


# --- the keyboard: a Tab walk through a chapter ----------------------------------------------------

# What a focus indicator can change: outline, box-shadow, background, border, underline, on the
# focused element or a child (pydata-sphinx-theme outlines the chevron inside a sidebar <summary>).
_FOCUS_LOOK_JS = """(e) => [e, ...e.children].map(x => {
  const s = getComputedStyle(x);
  const drawn = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && !/rgba\\(.*, 0\\)$/.test(s.outlineColor);
  const outline = drawn ? `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor} ${s.outlineOffset}` : 'none';
  return [outline, s.boxShadow, s.backgroundColor, s.borderColor, s.textDecorationLine].join(' | ');
}).join(' || ')"""

# After each Tab: the focused element (null for the page itself) and how it looks.
_STEP_JS = """async () => {
  await %s;
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const walk = window.__tabWalk = window.__tabWalk || [];
  const seen = walk.includes(e);
  if (!seen) walk.push(e);
  return {index: walk.indexOf(e), seen, look: (%s)(e)};
}""" % (_TRANSITIONS, _FOCUS_LOOK_JS)

# Every element of the walk as it looks without focus, described for a message.
_UNFOCUSED_JS = """async () => {
  document.activeElement.blur();
  await %s;
  const describe = e => `<${e.tagName.toLowerCase()} class="${e.getAttribute('class') || ''}"> `
    + JSON.stringify((e.getAttribute('aria-label') || e.textContent).trim().replace(/\\s+/g, ' ').slice(0, 50));
  return window.__tabWalk.map(e => ({look: (%s)(e), description: describe(e)}));
}""" % (_TRANSITIONS, _FOCUS_LOOK_JS)

# The controls a Tab walk must reach: all of a kind, or at least one of it (the search button is
# in the header and the sidebar). Hidden ones (a collapsed sidebar section's links) are not counted.
_REQUIRED_JS = """() => {
  const walk = window.__tabWalk, shown = e => e.checkVisibility();
  const missed = (selector, all) => {
    const elements = Array.from(document.querySelectorAll(selector)).filter(shown);
    const reached = elements.filter(e => walk.includes(e));
    const notReached = elements.filter(e => !walk.includes(e)).map(e => e.outerHTML.slice(0, 120));
    return {count: elements.length, missed: all ? notReached : (reached.length ? [] : [selector])};
  };
  return {
    'sidebar links': missed('nav.bd-docs-nav a[href]', true),
    'search button': missed('.search-button-field', false),
    'colour-mode switch': missed('.theme-switch-button', false),
    'hidden code cells': missed('.bd-article details.hide > summary', true),
    'solution dropdowns': missed('.bd-article .dropdown button.toggle-button', true),
  };
}"""


def test_a_tab_walk_through_a_chapter_reaches_every_control_and_shows_where_focus_is(site, page):
    base_url, html_dir, root = site
    chapter = KEYBOARD_CHAPTER if (html_dir / KEYBOARD_CHAPTER).exists() else "book/likelihood.html"
    open_settled(page, f"{base_url}/{chapter}")
    started, focused = time.monotonic(), []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        step = page.evaluate(_STEP_JS)
        if step and step["seen"]:
            break  # focus went round the page and came back
        if step:
            focused.append(step)
    else:
        pytest.fail(f"{chapter}: {MAX_TABS} Tab presses never came back to the first control")
    seconds = time.monotonic() - started
    required = page.evaluate(_REQUIRED_JS)
    unfocused = page.evaluate(_UNFOCUSED_JS)
    print(f"\n{chapter}: {len(unfocused)} tab stops in {seconds:.0f} s; "
          + ", ".join(f"{name} {found['count']}" for name, found in required.items()))
    for name in ("sidebar links", "hidden code cells", "solution dropdowns"):
        assert required[name]["count"] >= 1, f"{chapter} has no {name}: the walk would check nothing"
    not_reached = {name: found["missed"] for name, found in required.items() if found["missed"]}
    assert not not_reached, f"{chapter}: the Tab key never reaches {json.dumps(not_reached, indent=1)}"
    invisible = sorted({unfocused[s["index"]]["description"] for s in focused
                        if s["look"] == unfocused[s["index"]]["look"]})
    assert not invisible, (f"{chapter}: no visible focus indicator (outline, shadow, background, border "
                           f"or underline) on {len(invisible)} controls:\n" + "\n".join(invisible))

    # The dropdowns open from the keyboard: Enter on a solution's button and on a hidden cell's summary.
    toggle = page.locator(".bd-article .dropdown button.toggle-button").first
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true", "Enter does not open a solution"
    folder = root / "_build" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.evaluate(_TRANSITIONS_DONE_JS)  # the solution fades in
    page.screenshot(path=folder / "keyboard_focus_solution.png")  # the focus ring, for a maintainer to look at
    summary = page.locator(".bd-article details.hide > summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert summary.evaluate("s => s.parentElement.open"), "Enter does not show a hidden code cell"
