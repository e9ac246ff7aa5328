"""Names: import aliases, qualified names and access paths.

An *access path* is a dotted chain of names rooted at a variable (``model``,
``self.net``, ``model.backbone``). Paths are how the analysis tracks models
without executing anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

from torchmode.analysis.walk import all_statements, child_nodes


class ImportMap:
    """Maps local names to what they were imported as (``F`` -> ``torch.nn.functional``)."""

    def __init__(self, tree: ast.Module, statements: Iterable[ast.stmt] | None = None) -> None:
        """``statements``: the module's import statements in source order, when known (the
        node index has them); otherwise every statement is visited."""
        self.aliases: dict[str, str] = {}
        # ``from .core import evaluate as ev``: ev -> (1, "core.evaluate"). Kept apart from
        # ``aliases``, whose qualified names the rules match against library APIs.
        self.relative: dict[str, tuple[int, str]] = {}
        # ``from x import *`` (level, module), for names a package re-exports wholesale.
        self.star_imports: list[tuple[int, str]] = []
        for node in statements if statements is not None else all_statements(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        # ``import torch.nn`` binds ``torch``.
                        root = alias.name.split(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                for alias in node.names:
                    if alias.name == "*":
                        self.star_imports.append((node.level, module))
                    elif node.level == 0 and module:
                        self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
                    elif node.level > 0:
                        dotted = f"{module}.{alias.name}" if module else alias.name
                        self.relative[alias.asname or alias.name] = (node.level, dotted)

    def add_star_aliases(self, aliases: dict[str, str]) -> None:
        """Names a ``from x import *`` brings in that x itself imported (``torch`` through a
        helpers module that imports it): aliases of this file too, unless it binds them itself."""
        for name, target in aliases.items():
            if name not in self.aliases and name not in self.relative and not name.startswith("_"):
                self.aliases[name] = target

    def import_target(self, path: str) -> tuple[int, str] | None:
        """What an access path names through the imports: (relative level, dotted name).

        ``evaluate`` after ``from engine import evaluate`` -> (0, "engine.evaluate");
        ``E.Trainer`` after ``import pkg.engine as E`` -> (0, "pkg.engine.Trainer");
        ``ev`` after ``from .core import evaluate as ev`` -> (1, "core.evaluate").
        """
        root, dot, rest = path.partition(".")
        if root in self.relative:
            level, dotted = self.relative[root]
            return level, dotted + dot + rest
        absolute = self.aliases.get(root)
        if absolute is None:
            return None
        return 0, absolute + dot + rest

    def qualified_name(self, expr: ast.expr) -> str | None:
        """``torch.no_grad`` for ``no_grad`` (from-imported) or ``T.no_grad`` (``import torch as T``)."""
        path = access_path(expr)
        return None if path is None else self.qualify(path)

    def qualify(self, path: str) -> str | None:
        """``qualified_name`` of an access path given as text (``T.no_grad``)."""
        root, _, rest = path.partition(".")
        resolved = self.aliases.get(root)
        if resolved is None:
            return None
        return f"{resolved}.{rest}" if rest else resolved


def access_path(expr: ast.expr) -> str | None:
    """``self.net.backbone`` for that attribute chain; None for anything else."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def root_of(path: str) -> str:
    return path.split(".", 1)[0]


def is_under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or one of its sub-paths."""
    return path == prefix or path.startswith(prefix + ".")


def prefixes(path: str) -> Iterator[str]:
    """``a.b.c`` -> ``a.b.c``, ``a.b``, ``a``."""
    while True:
        yield path
        head, dot, _ = path.rpartition(".")
        if not dot:
            return
        path = head


def names_in(expr: ast.AST) -> frozenset[str]:
    return frozenset(node.id for node in ast.walk(expr) if isinstance(node, ast.Name))


def stored_names(target: ast.AST) -> Iterator[str]:
    """Names bound by an assignment target (tuples and starred unpacked)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from stored_names(element)
    elif isinstance(target, ast.Starred):
        yield from stored_names(target.value)


def local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names local to a function: parameters and names bound in its body (minus ``global``)."""
    arguments = function.args
    names: set[str] = {arg.arg for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    if arguments.vararg:
        names.add(arguments.vararg.arg)
    if arguments.kwarg:
        names.add(arguments.kwarg.arg)
    declared_global: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            # Decorators and defaults run in this scope; the body does not.
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(child_nodes(node))
    return frozenset(names - declared_global)
