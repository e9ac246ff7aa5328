"""State hovers: the inferred mode and grad state of a model at the line under the cursor."""

from __future__ import annotations

import ast
from pathlib import PurePath

from torchmode.analysis.facts import FileAnalysis, Function, mode_in
from torchmode.analysis.lattice import GradFact, ModeFact, Site
from torchmode.analysis.names import access_path
from torchmode.analysis.roles import TrainingRoles
from torchmode.docs.i18n import CellLines, line_label, text
from torchmode.syntax.document import Document
from torchmode.syntax.positions import Position, Span

_HEADER_STATEMENTS = (ast.If, ast.While, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)


def state_hover(
    document: Document,
    analysis: FileAnalysis,
    position: Position,
    locale: str,
    cells: CellLines | None = None,
) -> tuple[str, Span] | None:
    """Markdown for the model under ``position``: its mode and the grad mode there, and why.
    ``cells``: the notebook whose program ``document`` is (lines are named by cell)."""
    tree = document.tree
    if tree is None:
        return None
    target = _model_at(document, analysis, tree, position) or _trained_model_at(document, analysis, position)
    if target is None:
        return None
    path, token = target
    statement = _statement_at(document, tree, position)
    if statement is None:
        return None
    key: ast.AST = statement
    if isinstance(statement, (ast.With, ast.AsyncWith)) and statement.items:
        key = statement.items[0]
    state = analysis.state_before(key)
    if state is None:
        return None  # unreachable code: no state to show
    function = _function_of(analysis, statement)
    value = mode_in(state, path, function)
    lines = [text("state.title", locale, cells, path=path, line=position.line), ""]
    modes = sorted({fact.mode for fact in value}, key=["train", "eval", "entry", "unknown"].index)
    lines.append(
        text("state.mode", locale, modes=" | ".join(text(f"state.mode.{mode}", locale) for mode in modes))
    )
    lines.append("")
    for fact in sorted(value, key=_fact_order):
        if fact.origin:
            lines.append(
                _origin_line(fact.mode, fact.origin, fact.fresh, statement.lineno, function, locale, cells)
            )
    grads = sorted({fact.grad for fact in state.grad}, key=["on", "off", "entry", "unknown"].index)
    # A blank line ends the list; otherwise Markdown folds the next line into its last item.
    lines.append("")
    lines.append(
        text("state.grad", locale, grads=" | ".join(text(f"state.grad.{grad}", locale) for grad in grads))
    )
    lines.append("")
    for grad_fact in sorted(state.grad, key=_grad_order):
        if grad_fact.origin and grad_fact.grad in ("on", "off"):
            lines.append(
                _origin_line(
                    grad_fact.grad, grad_fact.origin, False, statement.lineno, function, locale, cells
                )
            )
    while lines[-1] == "":
        lines.pop()
    return "\n".join(lines), token


def _fact_order(fact: ModeFact) -> tuple[int, int, int]:
    start = fact.origin[0].span.start if fact.origin else Position(0, 0)
    return (["train", "eval", "entry", "unknown"].index(fact.mode), start.line, start.column)


def _grad_order(fact: GradFact) -> tuple[int, int]:
    start = fact.origin[0].span.start if fact.origin else Position(0, 0)
    return (start.line, start.column)


def _origin_line(
    value: str,
    origin: tuple[Site, ...],
    fresh: bool,
    statement_line: int,
    function: Function,
    locale: str,
    cells: CellLines | None,
) -> str:
    site = origin[0]
    # The state shown is the one before the statement: a site in that statement or later in
    # the same function reaches it only through a loop's back edge.
    earlier = site.function == function.name and site.span.start.line >= statement_line
    key = "state.origin.fresh" if fresh else "state.origin.earlier" if earlier else "state.origin"
    line = "- " + text(
        key,
        locale,
        cells,
        value=text(f"state.value.{value}", locale),
        site=site.short_text(),
        line=site.span.start.line,
    )
    for inner in origin[1:]:
        same_file = inner.path == site.path
        line += text(
            # A site in another file (a function imported from it) names that file, and its
            # line is that file's (never a notebook cell's).
            "state.origin.inner" if same_file else "state.origin.inner_file",
            locale,
            cells,
            site=inner.short_text(),
            line=inner.span.start.line if same_file else line_label(inner.span.start.line, locale),
            function=inner.function,
            file=PurePath(inner.path).name,
        )
    return line


def _model_at(
    document: Document, analysis: FileAnalysis, tree: ast.Module, position: Position
) -> tuple[str, Span] | None:
    """The tracked model path whose last name is under ``position``."""
    best: tuple[str, Span] | None = None
    for node in ast.walk(tree):
        if (
            not isinstance(node, (ast.Name, ast.Attribute))
            or getattr(node, "end_lineno", None) != position.line
        ):
            continue
        path = access_path(node)
        if path is None or path not in analysis.model_paths:
            continue
        end = document.span_of(node).end
        name = node.id if isinstance(node, ast.Name) else node.attr
        token = Span(Position(end.line, max(end.column - len(name), 0)), end)
        if token.contains(position):
            best = (path, token)
    return best


def _trained_model_at(
    document: Document, analysis: FileAnalysis, position: Position
) -> tuple[str, Span] | None:
    """On ``backward`` / ``step`` of a training step: the model whose forward pass it trains."""
    training = TrainingRoles(analysis)
    for step in analysis.steps:
        func = step.call.func
        if not isinstance(func, ast.Attribute) or getattr(func, "end_lineno", None) != position.line:
            continue
        end = document.span_of(func).end
        token = Span(Position(end.line, max(end.column - len(func.attr), 0)), end)
        if not token.contains(position):
            continue
        for forward in analysis.forward_calls:
            if step in training.backwards_after(forward):
                return forward.path, token
    return None


def _statement_at(document: Document, tree: ast.Module, position: Position) -> ast.stmt | None:
    """The innermost statement holding ``position``; a compound statement only in its header."""
    found: ast.stmt | None = None
    body: list[ast.stmt] = tree.body
    while True:
        inner: ast.stmt | None = None
        for statement in body:
            span = document.span_of(statement)
            if span.start <= position <= span.end:
                inner = statement
                break
        if inner is None:
            return found
        found = inner
        children = [
            child
            for name in ("body", "orelse", "finalbody")
            for child in getattr(inner, name, []) or []
            if isinstance(child, ast.stmt)
        ]
        for handler in getattr(inner, "handlers", []) or []:
            children.extend(handler.body)
        for case in getattr(inner, "cases", []) or []:
            children.extend(case.body)
        if not children or (isinstance(inner, _HEADER_STATEMENTS) and position.line == inner.lineno):
            return found
        body = children


def _function_of(analysis: FileAnalysis, statement: ast.stmt) -> Function:
    best = analysis.functions[0]
    best_size = None
    for function in analysis.functions:
        node = function.node
        if node is None:
            continue
        end = node.end_lineno or node.lineno
        if node.lineno <= statement.lineno <= end and (best_size is None or end - node.lineno < best_size):
            best, best_size = function, end - node.lineno
    return best
