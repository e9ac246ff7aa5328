"""Line-level edits. Positions are 1-based lines and 0-based code-point columns."""

from __future__ import annotations

import ast
import warnings

from torchmode.syntax.document import Document
from torchmode.syntax.positions import Position, Span, TextEdit, apply_edits


def _block_indentation(document: Document, line: int) -> str:
    return document.indentation_of_line(line)


def insert_line_before(document: Document, statement: Span, code: str) -> TextEdit | None:
    """Insert ``code`` as a new line above ``statement``, indented like it.

    Refuses (None) when the statement does not start its line, e.g. the body of
    ``for x in y: step()`` written on one line: a new line there would change
    which block the code belongs to.
    """
    line_text = document.line_text(statement.start.line)
    indentation = _block_indentation(document, statement.start.line)
    if line_text[: statement.start.column].strip():
        return None
    position = Position(statement.start.line, 0)
    return TextEdit(Span(position, position), f"{indentation}{code}{document.newline}")


def insert_line_after(document: Document, statement: Span, code: str) -> TextEdit | None:
    """Insert ``code`` as a new line below ``statement``, indented like the statement's first line."""
    first_line = document.line_text(statement.start.line)
    if first_line[: statement.start.column].strip():
        return None  # ``if c: call()``: the indentation of the body is not a line's
    indentation = _block_indentation(document, statement.start.line)
    end_line = statement.end.line
    last_text = document.line_text(end_line)
    if last_text[statement.end.column :].strip().startswith(";"):
        return None  # another statement follows on the same line
    if end_line < len(document.lines) and end_line < len(document.line_offsets):
        position = Position(end_line + 1, 0)
        return TextEdit(Span(position, position), f"{indentation}{code}{document.newline}")
    # The statement ends the file without a final newline.
    position = Position(end_line, len(last_text))
    return TextEdit(Span(position, position), f"{document.newline}{indentation}{code}")


def is_alone_on_its_lines(document: Document, statement: Span) -> bool:
    """True when nothing but whitespace and a comment shares the statement's lines."""
    before = document.line_text(statement.start.line)[: statement.start.column]
    after = document.line_text(statement.end.line)[statement.end.column :].strip()
    return not before.strip() and (not after or after.startswith("#"))


def delete_statement_lines(document: Document, statement: Span) -> TextEdit:
    """Delete the statement's whole lines, terminators included."""
    start = Position(statement.start.line, 0)
    if statement.end.line < len(document.line_offsets):
        end = Position(statement.end.line + 1, 0)
    else:
        end = Position(statement.end.line, len(document.line_text(statement.end.line)))
    return TextEdit(Span(start, end), "")


def parses_after(document: Document, edits: list[TextEdit]) -> bool:
    """A fix is only offered when the code it yields still parses."""
    try:
        new_text = apply_edits(document.text, edits)
    except ValueError:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes elsewhere
            ast.parse(new_text)
    except (SyntaxError, ValueError):
        return False
    return True
