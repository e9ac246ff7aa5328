"""What keeps a module's identity: methods that return the module itself, wrappers that
forward to it, and the loop variables that stand for some of its sub-modules."""

from __future__ import annotations

import ast

from torchmode.analysis import api_names
from torchmode.analysis.cfg import Loop
from torchmode.analysis.facts import SUBMODULES
from torchmode.analysis.names import access_path

# ``model.modules()`` and its kin yield sub-modules (``named_*``: (name, module) pairs).
SUBMODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})

# Last names of the wrappers, for code that has no import map at hand.
_WRAPPER_NAMES = frozenset(
    {qualified.rsplit(".", 1)[1] for qualified in api_names.WRAPPER_CONSTRUCTORS} | {"DDP"}
)


def is_wrapper_call(call: ast.Call) -> bool:
    """``torch.compile(m)``, ``DataParallel(m)``, ``DDP(m)`` by their last name (no import map here)."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name in _WRAPPER_NAMES


def strip_wrappers(expr: ast.expr) -> ast.expr | None:
    """``model.to(device).cuda()`` -> ``model``: these methods return the module itself.

    None when the chain has a call of any other method (its result is another object).
    """
    while isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        if expr.func.attr in api_names.SAME_MODULE_METHODS:
            expr = expr.func.value
        else:
            return None
    return expr


def strip_mode_chain(expr: ast.expr) -> ast.expr:
    """``Net().to(device).eval()`` -> ``Net()``."""
    while (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and (expr.func.attr in api_names.SAME_MODULE_METHODS or expr.func.attr in ("train", "eval"))
    ):
        expr = expr.func.value
    return expr


def submodule_alias(loops: tuple[Loop, ...], name: str) -> str | None:
    """``model.<submodules>`` when ``name`` is the variable of ``for name in model.modules()``.

    ``named_modules()`` / ``named_children()`` yield ``(name, module)`` pairs: the
    module is the second target.
    """
    for loop in reversed(loops):
        statement = loop.statement
        if not isinstance(statement, (ast.For, ast.AsyncFor)):
            continue
        iterable = statement.iter
        if not (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Attribute)
            and iterable.func.attr in SUBMODULE_ITERATORS
        ):
            continue
        target = statement.target
        if iterable.func.attr.startswith("named_"):
            if not (isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == 2):
                continue
            target = target.elts[1]
        owner = access_path(iterable.func.value)
        if isinstance(target, ast.Name) and target.id == name and owner is not None:
            return f"{owner}.{SUBMODULES}"
    return None
