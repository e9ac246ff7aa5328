"""The calls of an expression in the order Python evaluates them."""

from __future__ import annotations

import ast


def collect_events(expr: ast.expr, found: list[ast.Call | ast.NamedExpr | ast.IfExp]) -> None:
    """Post-order: a call's callee and arguments are evaluated before the call itself.

    Iterative: an expression can nest thousands deep (``a + a + ... + a``, a long
    method chain), deeper than the interpreter's recursion limit.
    """
    stack: list[tuple[ast.AST, bool]] = [(expr, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            assert isinstance(node, (ast.Call, ast.NamedExpr))
            found.append(node)
            continue
        if isinstance(node, ast.Lambda):
            continue  # its body runs later, if ever
        if isinstance(node, ast.NamedExpr):
            stack.append((node, True))
            stack.append((node.value, False))
            continue
        if isinstance(node, ast.IfExp) and has_call(node):
            found.append(node)  # its branches are evaluated each under its condition
            continue
        children: list[ast.AST] = []
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                children.append(child)
            elif isinstance(child, ast.comprehension):
                children.append(child.iter)
                children.extend(child.ifs)
            elif isinstance(child, ast.keyword):
                children.append(child.value)
        if isinstance(node, ast.Call):
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(children))


def has_call(node: ast.IfExp) -> bool:
    """Only a conditional expression that calls something needs branches of its own."""
    return any(isinstance(child, ast.Call) for child in ast.walk(node))
