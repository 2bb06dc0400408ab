"""One way for the chapter tests to read a built page, ``_build/html/book/<name>.html``.

The tests read the HTML, which is what readers see, and not the executed
notebooks in ``_build/jupyter_execute``: when MyST-NB takes a page from its
execution cache it writes that notebook without outputs, while the HTML always
has them. Only glued values come from the execution directory (see ``glued``).
"""
from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|\bnan\b)"


class Page:
    """A built chapter: its raw ``html``, its prose as plain ``text`` and what its cells ``printed``."""

    def __init__(self, root: Path, name: str):
        self.root, self.name = Path(root), name
        path = self.root / "_build" / "html" / "book" / f"{name}.html"
        assert path.exists(), f"{path} was not built"
        self.html = path.read_text()
        # The page body only (the navigation around it repeats other pages' titles), without scripts and comments.
        main = re.sub(r"<script.*?</script>|<!--.*?-->", " ", self.html[self.html.index("<main"):], flags=re.S)
        # A reader sees neither tags nor the \( \) around inline math.
        text = html.unescape(re.sub(r"<[^>]+>", " ", main)).replace("\\(", " ").replace("\\)", " ")
        # A tag boundary is not a space: "0.106 ." -> "0.106.", "( 1e-16 )" -> "(1e-16)".
        self.text = re.sub(r"([(\[]) | ([,.;:)\]])", r"\1\2", " ".join(text.split()))
        self.printed = "".join(self.outputs("stream"))

    def outputs(self, kind: str = "stream") -> list[str]:
        """The text of each cell output of one kind: "stream" (stdout), "stderr" or "traceback"."""
        blocks = re.findall(r'<div class="output ' + kind + r'[^"]*"><div class="highlight"><pre>(.*?)</pre>',
                            self.html, flags=re.S)
        return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]

    def stated(self, sentence: str, where: str = "text") -> list[float]:
        """The numbers at the ``{}`` marks of ``sentence`` (literal text otherwise) in the prose or the printed output.

        A mark may follow extra whitespace, as in printed output aligned in columns.
        """
        pattern = (r"\s*" + NUMBER).join(re.escape(piece) for piece in sentence.split("{}"))
        match = re.search(pattern, getattr(self, where))
        assert match, f"{self.name}: the page no longer states {sentence!r}"
        return [float(group) for group in match.groups()]

    def equation(self, label: str) -> str:
        """The LaTeX of a numbered equation (inside its \\[ \\]), with all whitespace removed."""
        match = re.search(r'id="equation-' + re.escape(label.replace(":", "-")) + r'">.*?\\\[(.*?)\\\]', self.html,
                          flags=re.S)
        assert match, f"{self.name}: no equation {label}"
        return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", match.group(1))))

    def numbers_after(self, label: str) -> list[float]:
        """The numbers on the printed line that starts with ``label``."""
        line = next((line.strip() for line in self.printed.splitlines() if line.strip().startswith(label)), None)
        assert line is not None, f"{self.name}: no printed line starts with {label!r}"
        return [float(number) for number in re.findall(NUMBER, line[len(label):])]

    def glued(self) -> dict:
        """The values the page glued, as Python objects (parsed from their text/plain repr).

        Read from the execution directory: the HTML holds them only as formatted text.
        """
        executed = self.root / "_build" / "jupyter_execute" / "book"
        glue_file = executed / f"{self.name}.glue.json"
        if glue_file.exists():
            outputs = json.loads(glue_file.read_text()).values()
        else:  # older myst-nb keeps glue outputs inside the executed notebook
            notebook = json.loads((executed / f"{self.name}.ipynb").read_text())
            outputs = [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        values = {}
        for output in outputs:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                values[name] = ast.literal_eval(output["data"]["text/plain"])
        return values
