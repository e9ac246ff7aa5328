"""Walking a function's own code: its statements and their expressions, not nested defs."""

from __future__ import annotations

import ast
from collections.abc import Iterator


def own_expressions(node: ast.AST) -> Iterator[ast.AST]:
    """Expression nodes of one statement (or expression), not of statements nested in it.

    Lambdas are skipped: their bodies run later, under whatever grad mode is then.
    """
    stack: list[ast.AST] = (
        [node]
        if isinstance(node, ast.expr)
        else [
            child
            for child in ast.iter_child_nodes(node)
            if not isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case))
        ]
    )
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Lambda):
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def statements_of(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a body, nested blocks included, nested ``def``/``class`` bodies not."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from statements_of(getattr(statement, name, []) or [])
        for handler in getattr(statement, "handlers", []) or []:
            yield from statements_of(handler.body)
        for case in getattr(statement, "cases", []) or []:
            yield from statements_of(case.body)


def all_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement of a module, inside functions and classes too, without visiting expressions.

    Imports and class definitions are statements, so finding them needs no walk over
    the (far more numerous) expression nodes.
    """
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        statement = stack.pop()
        yield statement
        nested: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            nested.extend(getattr(statement, name, []) or [])
        for handler in getattr(statement, "handlers", []) or []:
            nested.extend(handler.body)
        for case in getattr(statement, "cases", []) or []:
            nested.extend(case.body)
        stack.extend(reversed(nested))
