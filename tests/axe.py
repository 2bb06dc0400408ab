"""Accessibility audits with axe-core (from npm, installed by ``make axe``) in a Playwright page.

``audit(page)`` injects axe-core into the page the browser shows and runs it with
the WCAG 2.x A and AA rules (2.0, 2.1, 2.2); it returns every violation as axe
reports it (id, impact, help, nodes). ``serious(violations)`` keeps those of
impact serious or critical, the ones a page must not have.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AXE_JS = ROOT / ".node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def audit(page) -> list[dict]:
    """Every WCAG A/AA violation axe-core finds in the page as it is shown now."""
    assert AXE_JS.exists(), f"{AXE_JS} is missing: run `make axe` (npm install of axe-core)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return result["violations"]


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict], limit: int = 3) -> str:
    """One line per violation with up to ``limit`` of its elements, for an assertion message."""
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                            for n in v["nodes"][:limit])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} e.g. {targets}")
    return "\n".join(lines)
