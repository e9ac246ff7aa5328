"""Edits of a call: add a keyword argument, or call what was only named."""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from torchmode.fixes.lines import parses_after
from torchmode.syntax.document import Document
from torchmode.syntax.positions import Position, Span, TextEdit


def call_it(document: Document, expr: ast.expr) -> TextEdit | None:
    """``()`` right after ``expr`` (``model.eval`` -> ``model.eval()``), when the result parses.

    Parentheses around it (``(model.eval)``) stay valid: the call goes inside them.
    """
    span = document.span_of(expr)
    edit = TextEdit(Span(span.end, span.end), "()")
    return edit if parses_after(document, [edit]) else None


@dataclass(frozen=True)
class _Token:
    kind: int
    text: str
    start: Position
    end: Position


def _tokens_of_call(document: Document, call: ast.Call) -> list[_Token] | None:
    """The call's significant tokens, with document positions (None if it cannot be tokenized)."""
    span = document.span_of(call)
    source = document.source_of(call)
    tokens: list[_Token] = []

    def to_document(row: int, column: int) -> Position:
        return Position(span.start.line + row - 1, column + (span.start.column if row == 1 else 0))

    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.COMMENT,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            ):
                continue
            tokens.append(
                _Token(token.type, token.string, to_document(*token.start), to_document(*token.end))
            )
    except (tokenize.TokenError, SyntaxError):
        return None
    return tokens


def add_keyword_edits(document: Document, call: ast.Call, keyword: str) -> tuple[TextEdit, ...] | None:
    """Edits that append ``keyword`` (``training=self.training``) to a call's arguments.

    One line: ``f(x, 0.5)`` -> ``f(x, 0.5, keyword)``, keeping a trailing comma's place.
    Closing parenthesis on its own line: a new argument line, indented like the last
    argument, with a trailing comma (black's magic trailing comma), and a comma added
    after the last argument when it had none. Comments stay where they were.
    """
    tokens = _tokens_of_call(document, call)
    if tokens is None or len(tokens) < 2 or tokens[-1].text != ")":
        return None
    closing = tokens[-1]
    before = tokens[-2]
    if before.text == "(":
        return None  # no argument at all: nothing to add to
    trailing_comma = before.text == ","
    closing_line = document.line_text(closing.start.line)
    closing_alone = not closing_line[: closing.start.column].strip()
    if not closing_alone:
        if trailing_comma:
            return (TextEdit(Span(before.end, before.end), f" {keyword}"),)
        return (TextEdit(Span(before.end, before.end), f", {keyword}"),)
    arguments: list[ast.AST] = [*call.args, *call.keywords]
    last = max(arguments, key=lambda node: (getattr(node, "lineno", 0), getattr(node, "col_offset", 0)))
    last_span = document.span_of(last)
    last_line = document.line_text(last_span.start.line)
    if (
        last_span.start.line != document.span_of(call).start.line
        and not last_line[: last_span.start.column].strip()
    ):
        indentation = last_line[: last_span.start.column]
    else:
        indentation = document.indentation_of_line(closing.start.line) + "    "
    line_start = Position(closing.start.line, 0)
    edits = [TextEdit(Span(line_start, line_start), f"{indentation}{keyword},{document.newline}")]
    if not trailing_comma:
        edits.append(TextEdit(Span(before.end, before.end), ","))
    return tuple(edits)
