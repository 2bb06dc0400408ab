"""Forbidden references: a static check of the answers, on their syntax tree, before anything runs.

Where a task says "implement X", its answers must not reach the course's
reference implementation of X (``mh.estimators``, ``mh.ascent``, ...) or a
third-party fitting function, whatever the spelling: an alias
(``e = mh.estimators``), ``from ... import``, ``import ... as``, a copied
function object, or dynamic access the grader cannot follow (``getattr`` on a
course module, ``exec``, ``eval``, ``compile``, ``__import__``, ``importlib``,
``globals()``, ``__dict__``, ``__code__``, IPython's machinery). Every code
cell a student can edit is read, in notebook order, with the names the
locked cells bind (``import mle_helpers as mh``). A finding in an answer
cell counts against that cell's task; one in a cell the student added counts
against every task it concerns.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from dataclasses import dataclass

__all__ = ["Finding", "find_forbidden"]

PACKAGE = "mle_helpers"
# Names whose use the grader cannot follow statically.
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "locals", "get_ipython", "breakpoint"}
# Modules that reach objects by a computed name; `sys` only through `sys.modules`.
DYNAMIC_MODULES = {"importlib", "builtins", "ctypes", "gc", "IPython", "marshal", "pickle", "dill", "cloudpickle",
                   "runpy", "code", "codeop"}
DYNAMIC_PATHS = {"sys.modules", "sys._getframe"}
DYNAMIC_ATTRIBUTES = {"__dict__", "__code__", "__globals__", "__builtins__", "__closure__", "__wrapped__",
                      "__getattribute__", "__class__", "__subclasses__", "__import__", "__loader__", "__spec__",
                      "__func__", "__self__", "__module__", "__reduce__", "__reduce_ex__"}
# IPython magics a notebook may use (they become get_ipython().run_line_magic(...)).
HARMLESS_MAGICS = {"matplotlib"}  # %time and %timeit run code strings the grader cannot read


@dataclass(frozen=True)
class Finding:
    cell: int  # index in the notebook
    grade_id: str | None  # the answer cell's grade_id, None for a cell the student added
    name: str  # the dotted name reached (or the dynamic construct used)
    reason: str

    def __str__(self) -> str:
        if self.cell < 0:  # a method the task requires, missing from its answers
            return self.reason
        where = f"cell {self.cell}" + (f" ({self.grade_id})" if self.grade_id else " (a cell you added)")
        return f"{where}: {self.reason}"


def _source(cell_source: str) -> str:
    """Python source of a cell, IPython magics made into calls (``%matplotlib inline`` -> get_ipython()...)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def canonical(path: str) -> str:
    """What a dotted path into the course package really names (``mle_helpers.checks.estimators`` is
    ``mle_helpers.estimators``; ``mle_helpers.checks.np.polyfit`` is ``numpy.polyfit``), read from the modules."""
    parts = path.split(".")
    if parts[0] != PACKAGE:
        return path
    target, name, used = importlib.import_module(PACKAGE), PACKAGE, 1
    for index, part in enumerate(parts[1:], start=1):
        try:
            target = getattr(target, part)
        except AttributeError:
            break
        if inspect.ismodule(target):
            name, used = target.__name__, index + 1
        elif callable(target) and str(getattr(target, "__module__", "")).startswith(PACKAGE) \
                and "." not in getattr(target, "__qualname__", "."):
            name, used = f"{target.__module__}.{target.__qualname__}", index + 1
            break
        else:
            break
    return ".".join([name] + parts[used:])


def _dotted(node) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None for anything that is not a plain chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id] + parts[::-1]
    return None


class _Reader(ast.NodeVisitor):
    """Walks one cell; ``aliases`` maps a name to the dotted module path it stands for."""

    def __init__(self, aliases: dict[str, str], forbidden: set[str], report):
        self.aliases, self.forbidden, self.report = aliases, forbidden, report
        self.used: set[str] = set()  # names reached (course names as in Task.required) and attributes read

    # -- which dotted paths are forbidden
    def _forbidden_name(self, path: str) -> str | None:
        path = canonical(path)
        if path == PACKAGE or path.startswith(PACKAGE + "."):
            inner = path[len(PACKAGE) + 1:]
            inner = {"likelihood.L": "L", "plotting.vizualize": "vizualize",
                     "plotting.visualize": "visualize"}.get(inner, inner)
            for name in self.forbidden:
                if inner == name or inner.startswith(name + "."):
                    return f"mh.{name}"
            return None
        for name in self.forbidden:
            if path == name or path.startswith(name + "."):
                return name
        return None

    def _module_holds_forbidden(self, path: str) -> bool:
        """True when ``path`` is the course package (or a part of it) that contains a forbidden name."""
        path = canonical(path)
        if path == PACKAGE:
            return True
        if path.startswith(PACKAGE + "."):
            inner = path[len(PACKAGE) + 1:]
            return any(name.startswith(inner + ".") or name == inner for name in self.forbidden)
        return any(name.startswith(path + ".") for name in self.forbidden)

    def _use(self, node, path: str) -> None:
        path = canonical(path)
        inner = path[len(PACKAGE) + 1:] if path.startswith(PACKAGE + ".") else path
        self.used.add({"likelihood.L": "L"}.get(inner, inner))
        name = self._forbidden_name(path)
        if name:
            self.report(name, f"uses {name}, which this task does not allow: write it yourself")

    # -- imports bind aliases
    def visit_Import(self, node):
        for alias in node.names:
            self._use(node, alias.name)
            self._dynamic_module(alias.name)
            bound = alias.asname or alias.name.split(".")[0]
            self.aliases[bound] = alias.name if alias.asname else alias.name.split(".")[0]

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._dynamic_module(module)
        for alias in node.names:
            path = f"{module}.{alias.name}"
            if alias.name == "*":
                if self._module_holds_forbidden(module) or self._forbidden_name(module):
                    self.report(module, f"imports everything from {module}, which holds what this task asks you to write")
                continue
            self._use(node, path)
            self.aliases[alias.asname or alias.name] = path

    def _dynamic_module(self, module: str) -> None:
        if module.split(".")[0] in DYNAMIC_MODULES or module in DYNAMIC_PATHS:
            self.report(module, f"imports {module}, which the grader cannot follow in an answer")

    # -- assignments of module paths make aliases; anything else unbinds the name
    def visit_Assign(self, node):
        chain = _dotted(node.value)
        path = self._resolve(chain) if chain else None
        if path:  # `m = mh` or `e = mh.estimators`: an alias, judged as a use of what it names
            self._use(node, path)
        else:
            self.visit(node.value)
        for target in node.targets:
            for name in [t.id for t in ast.walk(target) if isinstance(t, ast.Name)]:
                if path and isinstance(target, ast.Name):
                    self.aliases[name] = path
                else:
                    self.aliases.pop(name, None)
            if not isinstance(target, ast.Name):
                self.visit(target)

    def _resolve(self, chain: list[str]) -> str | None:
        if chain[0] not in self.aliases:
            return None
        return ".".join([self.aliases[chain[0]]] + chain[1:])

    # -- uses
    def visit_Attribute(self, node):
        self.used.add(node.attr)
        if node.attr in DYNAMIC_ATTRIBUTES:
            self.report(node.attr, f"uses `{node.attr}`, which the grader cannot follow in an answer")
        chain = _dotted(node)
        if chain and chain[0] in self.aliases:
            path = self._resolve(chain)
            if any(path == p or path.startswith(p + ".") for p in DYNAMIC_PATHS):
                self.report(path, f"uses `{path}`, which the grader cannot follow in an answer")
            self._use(node, path)
            return  # the whole chain was judged; its inner names are part of it
        self.generic_visit(node)

    def visit_Name(self, node):
        if not isinstance(node.ctx, ast.Load):
            return
        if node.id in DYNAMIC_CALLS:
            self.report(node.id, f"uses `{node.id}`, which the grader cannot follow in an answer")
        if node.id in self.aliases:
            path = self.aliases[node.id]
            if self._forbidden_name(path):
                self._use(node, path)
            elif self._module_holds_forbidden(path) and not isinstance(getattr(node, "parent", None), ast.Attribute):
                self.report(path, f"passes the module {path} around, which the grader cannot follow")

    def visit_Call(self, node):
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "run_line_magic" and isinstance(func.value, ast.Call)
                and _dotted(func.value.func) == ["get_ipython"] and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value in HARMLESS_MAGICS):
            return  # %matplotlib inline
        if _dotted(func) == ["getattr"] and node.args:
            target = _dotted(node.args[0])
            if target and target[0] in self.aliases and self._module_holds_forbidden(self._resolve(target)):
                self.report("getattr", "uses getattr on a course module, which the grader cannot follow")
        self.generic_visit(node)


def find_forbidden(cells: list[tuple[int, str | None, str, bool]], forbidden_by_task: dict[str, set[str]],
                   task_of_answer: dict[str, str], required_by_task: dict | None = None) -> dict[str, list[Finding]]:
    """Findings per task, from ``cells``: (index, grade_id, source, editable) in notebook order.

    Locked cells (``editable`` False) only bind names. ``forbidden_by_task``
    maps each task to the dotted names it forbids; ``task_of_answer`` maps an
    answer cell's grade_id to its task; ``required_by_task`` maps a task to
    groups of names of which its answers (or cells the student added) must
    use one each, such as ``[("L",), ("backward", "torch.autograd.grad")]``.
    """
    findings: dict[str, list[Finding]] = {task: [] for task in forbidden_by_task}
    used: dict[str, set[str]] = {task: set() for task in forbidden_by_task}
    aliases: dict[str, str] = {}
    for index, grade_id, source, editable in cells:
        try:
            tree = ast.parse(_source(source))
        except SyntaxError:
            continue  # it fails when it runs; nothing to follow
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                child.parent = node
        owner = task_of_answer.get(grade_id) if grade_id else None
        tasks = [owner] if owner else list(forbidden_by_task)
        for task in tasks:
            def report(name, reason, task=task):
                finding = Finding(index, grade_id, name, reason)
                if editable and finding not in findings[task]:
                    findings[task].append(finding)
            reader = _Reader(aliases if task == tasks[-1] else dict(aliases), set(forbidden_by_task[task]), report)
            reader.visit(tree)
            if editable:
                used[task] |= reader.used
    for task, groups in (required_by_task or {}).items():
        for group in groups:
            if not used[task] & set(group):
                findings[task].append(Finding(-1, None, " or ".join(group),
                                              f"the task asks you to use {' or '.join(group)}; the answers never do"))
    return findings
