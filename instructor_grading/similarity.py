"""Pairs of students whose answers are nearly identical, ranked, for the instructor to judge.

``python -m instructor_grading similarity [--course DIR] [--assignment ID]``
prints the pairs scored at or above :data:`THRESHOLD`; the report shows them
side by side. A high score is a reason to read two answers, not a verdict.

How it works (MOSS's ideas: Schleimer, Wilkerson and Aiken, *Winnowing*, SIGMOD 2003):

1. Answers. Every nbgrader solution cell (code and written) of each
   student's ``submitted/<student>/<assignment>/*.ipynb``, keyed by notebook
   and ``grade_id``; a file nbformat cannot read is skipped (preflight names it).
2. Normalised tokens. Code is parsed with :mod:`ast`, which drops comments
   and formatting; docstrings and other bare strings go too, keyword
   arguments are sorted, and every name the cell binds (functions, arguments,
   assigned, loop and comprehension variables, ``as`` names) becomes ``v0``,
   ``v1``, ... in order of first appearance. The release stub's names are
   numbered first, so the stub's lines read the same in every answer. Names
   the cell does not bind stay (``torch``, ``mh``, ``len``, attributes,
   imports). ``ast.unparse`` then :mod:`tokenize` give the tokens. A cell
   that does not parse is tokenised as it is, comments dropped and names
   renamed where the tokens show them bound. Written answers become their
   lower-case words (punctuation and math delimiters dropped).
3. Fingerprints. Every run of :data:`K_CODE` code tokens (about half a
   statement) or :data:`K_WORDS` words is hashed. All of them are kept, not
   MOSS's winnowed sample: an answer is tens to hundreds of tokens, so a
   class of 500 holds a few hundred thousand, and a sample would drop most of
   a short answer's evidence. A fingerprint belongs to its cell: the same
   line in two different answers is no match.
4. What does not count: a fingerprint of the release's stub of the cell,
   and a fingerprint found in more than ``max_share`` submissions (MOSS's
   ``-m``; default ``max(3, 10 % of the submissions)``): a taught idiom, or
   the obvious way to write a line, is no evidence of copying. A submission
   with fewer than :data:`MIN_FINGERPRINTS` fingerprints beyond the stub
   (stubs left, one-line answers) is too little to judge and is not scored.
5. Score of a pair = its shared rare fingerprints / the countable
   (non-stub) fingerprints of the smaller submission. A fingerprint that
   ``k`` submissions have weighs ``1 / (k - 1)`` for each of their pairs: a
   line only two students wrote points at them, one three students wrote
   points at a group, not at one pair. Idioms stay in the denominator: a
   submission made mostly of idioms has little that can show copying, and two
   such submissions sharing one unusual line are not "fully copied". So a
   complete copy scores below 1 when the original holds idioms, and a
   paraphrased written answer adds only its unchanged phrases.
6. Cost: one inverted index, (cell, fingerprint) -> submissions, built in
   one pass; a pair is counted only from the fingerprints it shares, at most
   ``max_share`` submissions each, so the work grows with the number of
   fingerprints, never with the number of pairs of notebooks (a class of
   500 of ps6_poisson: about 3 s of CPU).

:data:`THRESHOLD`, :data:`K_CODE` and :data:`K_WORDS` were chosen on the
test classes (tests/test_similarity.py and the shared graded classroom of
tests/classroom.py). There, complete copies (names, comments and layout
changed, the written answer paraphrased) score 0.57 to 0.95, and honest
students at most 0.32, although honest students there answer with the same
few ways as two others (identical after normalising) in up to two answers.
Shorter runs lower the honest scores more than the copies' (6 to 8 tokens
separate them best; 8 is kept, as shorter runs match by chance more often
in a large class), and 0.45 lies half way.

Known blind spots: a copier who reorders statements or adds variables early
shifts the numbered names and loses the matches after them (the unchanged
stretches still match); a group of more than ``max_share`` students who
share one answer is taken for an idiom, and a group of three gets half the
score of a pair.
"""
from __future__ import annotations

import ast
import builtins
import functools
import glob
import hashlib
import io
import keyword
import math
import os
import re
import tokenize
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from nbgrader import utils

__all__ = ["THRESHOLD", "K_CODE", "K_WORDS", "MIN_FINGERPRINTS", "Pair", "code_tokens", "words",
           "fingerprints", "released_assignments", "similar_pairs", "similarity_report"]

THRESHOLD = 0.45  # see the module's docstring and tests/test_similarity.py
K_CODE = 8  # tokens per fingerprint: about half a statement
K_WORDS = 4  # words per fingerprint of a written answer
MIN_FINGERPRINTS = 40  # fewer beyond the stub (about three lines of code) is too little to judge


@dataclass
class Pair:
    """Two students of one assignment with their answers that share rare fingerprints, in notebook order."""

    assignment: str
    students: tuple[str, str]  # in alphabetical order (who copied whom is for the instructor to judge)
    score: float  # in [0, 1]
    cells: list[tuple[str, str, str]] = field(default_factory=list)  # (grade_id, answer of students[0], of students[1])


# -- normalised tokens ------------------------------------------------------------------------------


def _bound_names(tree: ast.AST) -> set[str]:
    """The names ``tree`` binds: definitions, arguments, assignment/loop/``as`` targets (not imports)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


_NAME_FIELDS = {ast.FunctionDef: "name", ast.AsyncFunctionDef: "name", ast.ClassDef: "name", ast.arg: "arg",
                ast.Name: "id", ast.keyword: "arg", ast.ExceptHandler: "name", ast.MatchAs: "name",
                ast.MatchStar: "name", ast.MatchMapping: "rest"}  # not ast.alias: imported names stay


class _Normaliser(ast.NodeTransformer):
    """Drops bare strings, sorts keyword arguments and renames the bound names, in source order."""

    def __init__(self, bound: set[str], names: dict[str, str]):
        self.bound, self.names = bound, names

    def rename(self, name):
        if name is None or name not in self.bound:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def generic_visit(self, node):
        attribute = _NAME_FIELDS.get(type(node))
        if attribute:  # the node's own name, before its children's
            setattr(node, attribute, self.rename(getattr(node, attribute)))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            node.names = [self.rename(n) for n in node.names]
        node = super().generic_visit(node)
        if isinstance(node, ast.Call):
            node.keywords.sort(key=lambda k: (k.arg is None, k.arg or ""))
        for body in ("body", "orelse", "finalbody"):  # a bare string statement does nothing: a comment
            statements = getattr(node, body, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                kept = [s for s in statements if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                     and isinstance(s.value.value, str))]
                setattr(node, body, kept or ([] if isinstance(node, ast.Module) else [ast.Pass()]))
        return node


_MARKERS = {tokenize.NEWLINE: "<newline>", tokenize.INDENT: "<indent>", tokenize.DEDENT: "<dedent>"}
_SKIPPED = {tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER}
_KEPT_NAMES = set(keyword.kwlist) | set(dir(builtins))


def _raw_tokens(source: str) -> list[tokenize.TokenInfo]:
    """The tokens of ``source`` without comments, up to where tokenizing fails."""
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in _SKIPPED:
                tokens.append(token)
    except (tokenize.TokenError, SyntaxError):  # an unclosed bracket or string, a bad dedent: keep what came before
        pass
    return tokens


def _text(token: tokenize.TokenInfo) -> str:
    return _MARKERS.get(token.type, token.string)


def _bound_by_tokens(tokens: list[tokenize.TokenInfo]) -> set[str]:
    """The names the tokens show bound: after def/class/as, parameters, between for and in, before ``=``/``+=``."""
    bound, depth, state = set(), 0, None  # state: "def" in a def's header, "for" between for and in
    strings = [t.string for t in tokens] + [""]
    for i, token in enumerate(tokens):
        text, before, after = token.string, strings[i - 1] if i else "", strings[i + 1]
        if text in ("(", "[", "{"):
            depth += 1
        elif text in (")", "]", "}"):
            depth = max(0, depth - 1)
        elif text in ("def", "for"):
            state = text
        elif (state, text) == ("for", "in") or ((state, text, depth) == ("def", ":", 0)):
            state = None
        elif token.type == tokenize.NAME and text not in _KEPT_NAMES:
            assigned = depth == 0 and after.endswith("=") and after not in ("==", "<=", ">=", "!=")  # not f(key=...)
            parameter = state == "def" and depth == 1 and before in ("(", ",", "*", "**")
            if before in ("def", "class", "as") or assigned or parameter or state == "for":
                bound.add(text)
    return bound


def code_tokens(source: str, stub: str = "") -> list[str]:
    """The normalised tokens of a code answer; ``stub``: the release's code of the cell (its names numbered first)."""
    try:
        tree = ast.parse(source)
        tree = _Normaliser(_bound_names(tree), dict(_numbering(stub))).visit(tree)
        return [_text(t) for t in _raw_tokens(ast.unparse(tree))]
    except (SyntaxError, ValueError, RecursionError):  # not Python (an error, an IPython magic), or nested too deep
        pass
    tokens, names = _raw_tokens(source), dict(_numbering(stub))
    bound = _bound_by_tokens(tokens)
    out, previous = [], ""
    for token in tokens:
        text = _text(token)
        if token.type == tokenize.NAME and text in bound and previous != ".":
            text = names.setdefault(text, f"v{len(names)}")
        out.append(text)
        previous = token.string
    return out


@functools.lru_cache(maxsize=256)  # one stub per answer cell of the class
def _numbering(stub: str) -> tuple[tuple[str, str], ...]:
    """The placeholders of the names the stub binds, in the stub's order."""
    names: dict[str, str] = {}
    try:
        tree = ast.parse(stub)
        _Normaliser(_bound_names(tree), names).visit(tree)
    except (SyntaxError, ValueError, RecursionError):
        return ()
    return tuple(names.items())


def words(source: str) -> list[str]:
    """The lower-case words of a written answer (punctuation, math delimiters and markup dropped)."""
    return re.findall(r"\w+", source.lower())


def fingerprints(tokens: list[str], k: int) -> set[int]:
    """The hashes of every run of ``k`` tokens (of all of them when there are fewer)."""
    runs = [tokens[i:i + k] for i in range(max(1, len(tokens) - k + 1))] if tokens else []
    return {int.from_bytes(hashlib.blake2b("\x1f".join(run).encode(), digest_size=8).digest(), "big")
            for run in runs}


def _cell_fingerprints(cell_type: str, source: str, stub: str) -> set[int]:
    if cell_type == "markdown":
        return fingerprints(words(source), K_WORDS)
    return fingerprints(code_tokens(source, stub), K_CODE)


# -- the class --------------------------------------------------------------------------------------


def _course_directory(course: Path):
    from nbgrader.coursedir import CourseDirectory

    from .config import course_config

    return CourseDirectory(config=course_config(course))


def released_assignments(course: Path | str = ".") -> list[str]:
    """The assignments that have a folder in the course's release directory."""
    directory = _course_directory(Path(course).resolve())
    pattern = directory.format_path(directory.release_directory, ".", "*")
    return sorted(Path(p).name for p in glob.glob(pattern) if os.path.isdir(p))


def _answers(nb) -> dict[str, tuple[str, str]]:
    """grade_id -> (cell type, source) of every solution cell of ``nb`` (read by :func:`.preflight.read_notebook`)."""
    return {cell.metadata.nbgrader["grade_id"]: (cell.cell_type, "".join(cell.source))  # a list of lines on disk
            for cell in nb.cells if utils.is_solution(cell) and cell.metadata.nbgrader.get("grade_id")}


def _submissions(directory, assignment: str) -> list[tuple[str, Path]]:
    """(student, folder) of every submission of ``assignment``, as nbgrader's ``get_submitted_students`` finds them."""
    folders = glob.glob(directory.format_path(directory.submitted_directory, "*", assignment))
    pattern = directory.format_path(directory.submitted_directory, "(?P<student_id>[^/]+)", re.escape(assignment),
                                    escape=True)
    found = [(re.fullmatch(pattern, folder), folder) for folder in folders if os.path.isdir(folder)]
    return sorted((match["student_id"], Path(folder)) for match, folder in found if match)


def _class_fingerprints(directory, assignment: str, stubs: dict) -> tuple[dict, dict]:
    """``({student: {cell: fingerprints beyond the stub}}, {student: {cell: source}})`` of the readable submissions."""
    from .preflight import read_notebook

    stub_prints = {key: _cell_fingerprints(cell_type, source, source) for key, (cell_type, source) in stubs.items()}
    prints: dict[str, dict[tuple, set[int]]] = {}
    sources: dict[str, dict[tuple, str]] = {}
    for student, folder in _submissions(directory, assignment):
        for path in sorted(folder.glob("*.ipynb")):
            try:
                nb = read_notebook(path)
            except ValueError:  # preflight names it; the rest of the class is compared
                continue
            for grade_id, (cell_type, source) in _answers(nb).items():
                key = (path.stem, grade_id)
                stub = stubs.get(key, (cell_type, ""))[1]
                prints.setdefault(student, {})[key] = (_cell_fingerprints(cell_type, source, stub)
                                                       - stub_prints.get(key, set()))
                sources.setdefault(student, {})[key] = source
    return prints, sources


def _shared(prints: dict, judged: set, max_share: int) -> dict[tuple[str, str], dict[tuple, float]]:
    """``{(a, b): {cell: weight of the rare fingerprints a and b share}}`` from one inverted index.

    A fingerprint that ``k <= max_share`` submissions have gives each of their
    pairs ``1 / (k - 1)``: a line that only two students wrote points at
    them, one that three wrote points at a group, not at any one pair.
    """
    index: dict[tuple, list[str]] = {}  # (cell, fingerprint) -> the students who have it, in sorted order
    for student in sorted(prints):
        for key, hashes in prints[student].items():
            for h in hashes:
                index.setdefault((key, h), []).append(student)
    shared: dict[tuple[str, str], dict[tuple, float]] = {}
    for (key, _), holders in index.items():
        if len(holders) > max_share:  # an idiom
            continue
        for pair in combinations([s for s in holders if s in judged], 2):
            cells = shared.setdefault(pair, {})
            cells[key] = cells.get(key, 0) + 1 / (len(holders) - 1)
    return shared


def similar_pairs(course: Path | str, assignment: str, *, threshold: float = THRESHOLD,
                  max_share: int | None = None) -> list[Pair]:
    """The pairs of students whose answers to ``assignment`` score at least ``threshold``, highest first.

    ``max_share``: a fingerprint found in more submissions than this is an
    idiom and does not count (default ``max(3, 10 % of the submissions)``).

    Raises:
        ValueError: if ``threshold`` is not in [0, 1], ``max_share`` is below
            2, or ``assignment`` has no release folder.
    """
    from .preflight import read_notebook

    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be between 0 and 1; got {threshold!r}")
    if max_share is not None and max_share < 2:
        raise ValueError(f"max_share must be at least 2 (submissions sharing a fingerprint); got {max_share!r}")
    course = Path(course).resolve()
    directory = _course_directory(course)
    release = Path(directory.format_path(directory.release_directory, ".", assignment))
    if not release.is_dir():
        raise ValueError(f"assignment {assignment!r} has no release folder ({release}); "
                         f"released: {', '.join(released_assignments(course)) or 'none'}")
    stubs = {(path.stem, grade_id): answer for path in sorted(release.glob("*.ipynb"))
             for grade_id, answer in _answers(read_notebook(path)).items()}
    position = {key: i for i, key in enumerate(stubs)}  # the release's order
    prints, sources = _class_fingerprints(directory, assignment, stubs)
    countable = {student: sum(map(len, cells.values())) for student, cells in prints.items()}
    judged = {student for student, n in countable.items() if n >= MIN_FINGERPRINTS}
    if max_share is None:
        max_share = max(3, math.ceil(0.1 * len(prints)))

    pairs = []
    for (a, b), cells in _shared(prints, judged, max_share).items():
        score = sum(cells.values()) / min(countable[a], countable[b])
        if score >= threshold:
            keys = sorted(cells, key=lambda key: (position.get(key, len(position)), key))
            pairs.append(Pair(assignment, (a, b), score,
                              [(key[1], sources[a].get(key, ""), sources[b].get(key, "")) for key in keys]))
    return sorted(pairs, key=lambda p: (-p.score, p.students))


def similarity_report(course: Path | str = ".", assignment: str | None = None, *, threshold: float = THRESHOLD) -> str:
    """The ranked pairs at or above ``threshold`` of ``assignment`` (default: every released one), as text."""
    names = [assignment] if assignment else released_assignments(course)
    if not names:
        raise ValueError(f"course {str(course)!r} has no released assignment (nbgrader's release directory is empty)")
    lines = []
    for name in names:
        pairs = similar_pairs(course, name, threshold=threshold)
        lines.append(f"{name}: {len(pairs)} pair(s) scored {threshold:g} or more (1 = identical after normalising)")
        lines += [f"  {p.score:.2f}  {p.students[0]}  {p.students[1]}  cells: {', '.join(c[0] for c in p.cells)}"
                  for p in pairs]
    return "\n".join(lines)
