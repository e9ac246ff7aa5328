"""Flags a caller passes: the tests of a parameter a constant argument decides.

``evaluate(model, loader, checkpoint=None)`` never takes ``if checkpoint is not None:``;
``run_epoch(model, train=False)`` never takes ``if train:``. Summaries keep the conditions of
such tests on their facts (``parameter_conditions``), and each call drops the facts
its constants rule out.
"""

from __future__ import annotations

import ast

from torchmode.analysis.facts import ENTERED_IN_TRAIN, Function, ModeLookup
from torchmode.analysis.lattice import Condition, Conditions, ModeValue
from torchmode.analysis.names import root_of
from torchmode.syntax.document import parse_expression


def flag_name(condition: Condition) -> str:
    """The parameter a summary condition tests (only plain ``Name`` tests are kept)."""
    return next(iter(condition.names)) if len(condition.names) == 1 else ""


def flag_test(test: ast.expr, parameters: list[str]) -> str | None:
    """The parameter a test of a flag reads: ``restore``, ``not restore``, ``checkpoint is
    None``, ``checkpoint is not None``, ``mode == "train"`` (a constant argument decides
    them); None for any other test."""
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    if isinstance(test, ast.Name):
        name = test.id
    elif (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.IsNot, ast.Eq, ast.NotEq))
        and isinstance(test.left, ast.Name)
        and isinstance(test.comparators[0], ast.Constant)
    ):
        name = test.left.id
    else:
        return None
    return name if name in parameters else None


def condition_test(condition: Condition) -> ast.expr | None:
    """The test of a condition, parsed again from its text (``not`` removed, as
    ``condition_of`` removes it and turns the truth around)."""
    try:
        test = parse_expression(condition.text.strip())
    except SyntaxError:
        return None
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
    return test


def condition_text(condition: Condition) -> str:
    """What holds on the condition's branch, as source: ``checkpoint is not None``, or
    ``not restore`` for the false branch of ``if restore:``."""
    text = " ".join(condition.text.split())
    try:
        test = parse_expression(text)
    except SyntaxError:
        return text
    negations = 0
    while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test = test.operand
        negations += 1
    # ``condition_of`` took the ``not``s off and turned the truth around once for each.
    branch = condition.truth if negations % 2 == 0 else not condition.truth
    return text if branch else f"not ({text})" if " " in text else f"not {text}"


def is_flag_condition(condition: Condition, function: Function) -> bool:
    """Is the condition a test of one of ``function``'s parameters that a caller's constant
    decides (and the function never rebinds)?"""
    name = flag_name(condition)
    if name not in function.parameters or name in function.rebound:
        return False
    test = condition_test(condition)
    return test is not None and flag_test(test, function.parameters) == name


def decided_otherwise(condition: Condition, flags: dict[str, object]) -> bool:
    """Does the constant a call passes for the tested parameter make the condition false?"""
    name = flag_name(condition)
    if name not in flags:
        return False
    test = condition_test(condition)
    if test is None or flag_test(test, [name]) is None:
        return False
    value = flags[name]
    if isinstance(test, ast.Name):
        outcome = bool(value)
    else:
        assert isinstance(test, ast.Compare)
        constant = test.comparators[0]
        assert isinstance(constant, ast.Constant)
        operator = test.ops[0]
        if isinstance(operator, ast.Is):
            outcome = value is constant.value
        elif isinstance(operator, ast.IsNot):
            outcome = value is not constant.value
        elif isinstance(operator, ast.Eq):
            outcome = bool(value == constant.value)
        else:
            outcome = bool(value != constant.value)
    return outcome != condition.truth


def constant_flags(callee: Function, call: ast.Call, has_receiver: bool) -> dict[str, object]:
    """Parameters of ``callee`` that this call sets to a constant (or leaves at a constant
    default), with the constant."""
    flags: dict[str, object] = {}
    node = callee.node
    if node is not None:
        positional = [*node.args.posonlyargs, *node.args.args]
        defaults = node.args.defaults
        for parameter, default in zip(positional[len(positional) - len(defaults) :], defaults, strict=True):
            if isinstance(default, ast.Constant):
                flags[parameter.arg] = default.value
        for parameter, keyword_default in zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True):
            if isinstance(keyword_default, ast.Constant):
                flags[parameter.arg] = keyword_default.value
    offset = 1 if has_receiver else 0
    names = callee.parameters[: callee.positional_count]
    for index, argument in enumerate(call.args):
        if isinstance(argument, ast.Starred) or index + offset >= len(names):
            break
        name = names[index + offset]
        if isinstance(argument, ast.Constant):
            flags[name] = argument.value
        else:
            flags.pop(name, None)
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        if isinstance(keyword.value, ast.Constant):
            flags[keyword.arg] = keyword.value.value
        else:
            flags.pop(keyword.arg, None)
    return flags


def parameter_conditions(conditions: Conditions, function: Function) -> Conditions:
    """The conditions of a fact that mean something to a caller: a flag parameter's test
    (``restore``, ``checkpoint is not None``: a constant argument decides it) and the mode a
    parameter's model had when the function was entered (the caller knows it)."""
    kept = set()
    for condition in conditions:
        if is_flag_condition(condition, function):
            kept.add(condition)
        elif condition.key.endswith(f".{ENTERED_IN_TRAIN}"):
            root = root_of(condition.key)
            if root in function.parameters or (root not in function.locals and not function.is_module):
                kept.add(condition)
    return frozenset(kept)


def entered_mode_known(
    condition: Condition, bindings: dict[str, str | None], lookup: ModeLookup, modes: dict[str, ModeValue]
) -> bool | None:
    """For an entry-mode condition of a callee: whether the caller's model is in train mode
    (True), in eval mode (False), or either (None)."""
    path = condition.key[: -len(f".{ENTERED_IN_TRAIN}")]
    root, dot, rest = path.partition(".")
    argument = bindings.get(root, root if root not in bindings else None)
    if argument is None:
        return None
    value = lookup.value(modes, argument + dot + rest)
    found = {fact.mode for fact in value}
    if found == {"train"}:
        return True
    if found == {"eval"}:
        return False
    return None
