"""Hover texts for PyTorch's mode and grad APIs, found under the cursor through import aliases."""

from __future__ import annotations

import ast

from torchmode.analysis import api_names
from torchmode.analysis.names import ImportMap
from torchmode.docs.i18n import text
from torchmode.rules import RULES_BY_CODE
from torchmode.syntax import suppression
from torchmode.syntax.document import Document
from torchmode.syntax.positions import Position, Span

# Methods recognised on any object that is not an imported module (``model.eval``).
_METHOD_HOVERS = {
    "train": "hover.train",
    "eval": "hover.eval",
    "requires_grad_": "hover.requires_grad_",
    "zero_grad": "hover.zero_grad",
}
_FUNCTIONAL = "torch.nn.functional."
_QUALIFIED_HOVERS = {
    **{
        _FUNCTIONAL + name: "hover.dropout_functional"
        for name in (
            "dropout",
            "dropout1d",
            "dropout2d",
            "dropout3d",
            "alpha_dropout",
            "feature_alpha_dropout",
        )
    },
    **{
        f"torch.nn.{name}": "hover.dropout_module"
        for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
    },
    **{
        f"torch.nn.{name}": "hover.batchnorm"
        for name in (
            "BatchNorm1d",
            "BatchNorm2d",
            "BatchNorm3d",
            "SyncBatchNorm",
            "LazyBatchNorm1d",
            "LazyBatchNorm2d",
            "LazyBatchNorm3d",
        )
    },
    "torch.compile": "hover.compile",
}
_GRAD_HOVERS = {
    "no_grad": "hover.no_grad",
    "enable_grad": "hover.enable_grad",
    "inference_mode": "hover.inference_mode",
    "set_grad_enabled": "hover.set_grad_enabled",
}


def _name_token(document: Document, node: ast.Name | ast.Attribute) -> Span:
    """The span of the identifier itself: ``eval`` in ``model.eval``."""
    if isinstance(node, ast.Name):
        return document.span_of(node)
    end = document.span_of(node).end
    return Span(Position(end.line, max(end.column - len(node.attr), 0)), end)


def suppression_code_hover(document: Document, position: Position, locale: str) -> tuple[str, Span] | None:
    """The rule's page when the cursor is on a code in ``# noqa: TM101`` / ``# torchmode: ignore[TM101]``."""
    for mention in suppression.code_mentions(document.line_text(position.line)):
        rule = RULES_BY_CODE.get(mention.code)
        if rule is not None and mention.start <= position.column <= mention.end:
            return rule.explanation(locale), Span(
                Position(position.line, mention.start), Position(position.line, mention.end)
            )
    return None


def api_hover(document: Document, position: Position, locale: str) -> tuple[str, Span] | None:
    """Markdown explaining the mode/grad API under ``position``, or None."""
    tree = document.tree
    if tree is None:
        return None
    imports = ImportMap(tree)
    best: tuple[str, Span] | None = None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        line = getattr(node, "end_lineno", None)
        if line != position.line:
            continue
        token = _name_token(document, node)
        if not token.contains(position):
            continue
        key = None
        qualified = imports.qualified_name(node)
        kind = api_names.grad_context_kind(qualified) if qualified else None
        if kind is not None:
            key = _GRAD_HOVERS[kind]
        elif qualified is not None and qualified in _QUALIFIED_HOVERS:
            key = _QUALIFIED_HOVERS[qualified]
        elif isinstance(node, ast.Attribute) and node.attr in _METHOD_HOVERS and qualified is None:
            # ``model.eval`` on a user object; ``torch.eval`` or ``ast.eval`` resolve to modules.
            key = _METHOD_HOVERS[node.attr]
        if key is not None:
            best = (text(key, locale), token)
    return best
