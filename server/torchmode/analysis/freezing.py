"""Statements that freeze or unfreeze parameters: ``p.requires_grad = False`` and
``requires_grad_(False)``, read from the syntax alone (the transfer decides which model's
parameters they are)."""

from __future__ import annotations

import ast


def freezes_parameter(statement: ast.stmt, parameter: str) -> bool | None:
    """``p.requires_grad = False`` / ``p.requires_grad_(False)`` -> True, their ``True``
    forms -> False, anything else -> None."""
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Attribute)
        and statement.targets[0].attr == "requires_grad"
        and isinstance(statement.targets[0].value, ast.Name)
        and statement.targets[0].value.id == parameter
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, bool)
    ):
        return not statement.value.value
    if (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and statement.value.func.attr == "requires_grad_"
        and isinstance(statement.value.func.value, ast.Name)
        and statement.value.func.value.id == parameter
    ):
        return requires_grad_off(statement.value)
    return None


def requires_grad_off(call: ast.Call) -> bool | None:
    """``requires_grad_(False)`` -> True, ``requires_grad_()`` / ``(True)`` -> False, a flag
    only known at run time -> None."""
    flag: ast.expr | None = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "requires_grad":
            flag = keyword.value
    if flag is None:
        return False
    if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
        return not flag.value
    return None
