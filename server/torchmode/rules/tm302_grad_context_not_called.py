"""TM302 grad-context-not-called."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from torchmode.analysis import api_names
from torchmode.analysis.names import ImportMap
from torchmode.findings import Finding, Fix, Severity
from torchmode.fixes import is_alone_on_its_lines, parses_after
from torchmode.fixes.calls import call_it
from torchmode.fixes.wrap import block_of, wrap_statements
from torchmode.rules.base import Invalid, Rule, RuleContext, Valid
from torchmode.syntax.document import Document
from torchmode.syntax.node_index import node_index

_WITH_CLASS = """\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad:
        return [model(x) for x in loader]
"""

_WITH_CLASS_FIXED = _WITH_CLASS.replace("torch.no_grad:", "torch.no_grad():")

_BARE_STATEMENT = """\
import torch


def predict(model, batch):
    model.eval()
    torch.no_grad()
    # One forward pass, no graph.
    logits = model(batch)
    return logits.argmax(dim=1)
"""

_BARE_STATEMENT_FIXED = """\
import torch


def predict(model, batch):
    model.eval()
    with torch.no_grad():
        # One forward pass, no graph.
        logits = model(batch)
        return logits.argmax(dim=1)
"""

# A bare call of these makes an object and drops it: the mode never changes. (A bare
# ``torch.set_grad_enabled(False)`` does change it; TM202 follows where that leaks.)
_NO_EFFECT_WHEN_BARE = frozenset({"no_grad", "enable_grad", "inference_mode"})
# Statements the wrap fix stops before: they bind names for the rest of the block, and an
# import or a ``def`` under ``with torch.no_grad():`` would only confuse.
_WRAP_STOPS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Global,
    ast.Nonlocal,
)


def _grad_kind(expr: ast.expr, imports: ImportMap | None) -> str | None:
    qualified = imports.qualified_name(expr) if imports is not None else None
    return api_names.grad_context_kind(qualified) if qualified is not None else None


def _following(document: Document, statement: ast.stmt) -> list[ast.stmt]:
    """The statements after ``statement`` in its block, up to a def/class/import."""
    block = block_of(document, statement) or []
    index = next((position for position, item in enumerate(block) if item is statement), len(block))
    run: list[ast.stmt] = []
    for item in block[index + 1 :]:
        if isinstance(item, _WRAP_STOPS):
            break
        run.append(item)
    return run


class GradContextNotCalled(Rule):
    """A grad-mode context manager used without its call.

    ``with torch.no_grad:`` (also ``enable_grad``, ``inference_mode``,
    ``set_grad_enabled``) hands the class itself to ``with``: Python raises
    ``TypeError: 'type' object does not support the context manager protocol``
    as soon as the block is reached. The opposite slip, ``torch.no_grad()`` alone on
    a line, builds a context manager and drops it: nothing changes, autograd stays
    on for the code after it. Bare decorators (``@torch.no_grad``,
    ``@torch.inference_mode``, ``@torch.enable_grad``) are valid since PyTorch 2.1
    and not reported.
    """

    code = "TM302"
    name = "grad-context-not-called"
    default_severity = Severity.ERROR

    VALID = (
        Valid(_WITH_CLASS_FIXED),
        Valid(_BARE_STATEMENT_FIXED),
        # Bare decorators work since torch 2.1.
        Valid("import torch\n\n\n@torch.no_grad\ndef predict(model, x):\n    return model(x)\n"),
        Valid(
            "from torch import inference_mode\n\n\n"
            "@inference_mode\ndef predict(model, x):\n    return model(x)\n"
        ),
        # A plain set_grad_enabled call changes the mode (TM202 watches where it leaks).
        Valid("import torch\n\ntorch.set_grad_enabled(False)\n"),
        # Epoch runner: the mode comes from a flag.
        Valid(
            "import torch\n\n\ndef run_epoch(model, loader, is_train):\n"
            "    with torch.set_grad_enabled(is_train):\n        for x in loader:\n            model(x)\n"
        ),
    )
    INVALID = (
        Invalid(_WITH_CLASS, line=6, fixed=_WITH_CLASS_FIXED),
        Invalid(_BARE_STATEMENT, line=6, fixed=_BARE_STATEMENT_FIXED),
        Invalid("import torch as T\n\nwith T.set_grad_enabled:\n    pass\n", line=3),
    )

    @classmethod
    def may_apply(cls, text: str) -> bool:
        return any(word in text for word in ("no_grad", "enable_grad", "inference_mode", "set_grad_enabled"))

    def check(self, context: RuleContext) -> Iterator[Finding]:
        tree = context.document.tree
        if tree is None:
            return
        imports = context.analysis.imports
        index = node_index(context.document)
        for node in index.of_type(ast.With, ast.AsyncWith, ast.Expr) if index is not None else ast.walk(tree):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    expr = item.context_expr
                    if isinstance(expr, ast.Call):
                        continue
                    kind = _grad_kind(expr, imports)
                    if kind is not None:
                        yield self._not_called(context, expr, kind)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                kind = _grad_kind(node.value.func, imports)
                if kind in _NO_EFFECT_WHEN_BARE:
                    yield self._bare_statement(context, node, node.value)

    def _not_called(self, context: RuleContext, expr: ast.expr, kind: str) -> Finding:
        document = context.document
        span = document.span_of(expr)
        name = document.source_of(expr)
        fixes: list[Fix] = []
        if kind == "set_grad_enabled":
            # It needs the mode; which one is the author's call, so no fix is guessed.
            message = context.text("TM302.message.with_set_grad_enabled", name=name)
        else:
            message = context.text("TM302.message.with", name=name)
            edit = call_it(document, expr)
            if edit is not None:
                fixes.append(Fix(context.text("TM302.fix.call", name=name), (edit,)))
        return self.report(
            span,
            message,
            fixes=tuple(fixes),
        )

    def _bare_statement(self, context: RuleContext, statement: ast.Expr, call: ast.Call) -> Finding:
        document = context.document
        call_text = document.source_of(call)
        fixes: list[Fix] = []
        span = document.span_of(statement)
        following = _following(document, statement)
        if following and is_alone_on_its_lines(document, span) and not _runs_backward(following):
            edit = wrap_statements(document, following, f"with {call_text}:", replacing=statement)
            if edit is not None and parses_after(document, [edit]):
                # How far the author meant it to reach is a guess: review before applying.
                fixes.append(Fix(context.text("TM302.fix.wrap", context=call_text), (edit,), "unsafe"))
        return self.report(
            document.span_of(call),
            context.text("TM302.message.bare", call=call_text),
            fixes=tuple(fixes),
        )


def _runs_backward(statements: list[ast.stmt]) -> bool:
    """A backward pass after the bare call: wrapping it in no_grad would make it fail."""
    return any(
        isinstance(node, ast.Attribute) and node.attr in ("backward", "manual_backward")
        for statement in statements
        for node in ast.walk(statement)
    )
