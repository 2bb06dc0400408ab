"""The repository's own text files are whole: no merge left half done."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "_build", "node_modules", "__pycache__", ".pytest_cache"}
TEXT = {".md", ".py", ".yml", ".yaml", ".toml", ".txt", ".bib", ".cfg", ".csv", ".json", ".ipynb", ".css", ".js", ""}
CONFLICT = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)


def test_no_file_holds_merge_conflict_markers():
    files = [p for p in ROOT.rglob("*") if p.is_file() and not SKIP & set(p.relative_to(ROOT).parts)
             and p.suffix in TEXT]
    assert len(files) > 50
    marked = [str(p.relative_to(ROOT)) for p in files if CONFLICT.search(p.read_text(errors="replace"))]
    assert not marked, f"merge conflict markers in {marked}"
