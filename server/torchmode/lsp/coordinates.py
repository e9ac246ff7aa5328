"""Conversions between torchmode positions and LSP positions, and LSP text edits on plain text.

torchmode counts lines from 1 and columns in code points; the LSP counts lines
from 0 and columns in the code units of the negotiated ``positionEncoding``
(UTF-16 unless client and server agreed on UTF-8 or UTF-32).

Line breaks are only ``\\n``, ``\\r\\n`` and ``\\r``, as the LSP specifies and as
``torchmode.syntax`` splits lines. ``str.splitlines`` (which pygls' workspace
uses) also breaks at form feeds and ``\\u2028``, so incremental edits after such
a line would land on the wrong line; this module never uses it.
"""

from __future__ import annotations

from bisect import bisect_right
from enum import Enum
from typing import Literal

from lsprotocol import types

from torchmode.syntax import Document, Position, Span
from torchmode.syntax.positions import line_start_offsets

Encoding = Literal["utf-8", "utf-16", "utf-32"]


def encoding_name(negotiated: object) -> Encoding:
    """The negotiated ``positionEncoding`` as a plain name; UTF-16 is the LSP default."""
    value = negotiated.value if isinstance(negotiated, Enum) else negotiated
    if value == "utf-8":
        return "utf-8"
    if value == "utf-32":
        return "utf-32"
    return "utf-16"


def _units(char: str, encoding: Encoding) -> int:
    code = ord(char)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    if encoding == "utf-8":
        # Lone surrogates (possible in JSON strings) count as the 3 bytes of their escape.
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def column_to_client(line_text: str, column: int, encoding: Encoding) -> int:
    """Code-point ``column`` in ``line_text`` -> client code units (clamped to the line)."""
    prefix = line_text[: max(column, 0)]
    if encoding == "utf-32" or prefix.isascii():
        return len(prefix)
    return sum(_units(char, encoding) for char in prefix)


def column_from_client(line_text: str, units: int, encoding: Encoding) -> int:
    """Client code units -> code-point column; a unit inside a character rounds up past it."""
    if encoding == "utf-32" or line_text.isascii():
        return min(max(units, 0), len(line_text))
    count = 0
    for index, char in enumerate(line_text):
        if count >= units:
            return index
        count += _units(char, encoding)
    return len(line_text)


# --- torchmode Document <-> LSP -------------------------------------------------------------


def to_lsp_position(document: Document, position: Position, encoding: Encoding) -> types.Position:
    line = max(position.line, 1)
    return types.Position(
        line=line - 1,
        character=column_to_client(document.line_text(line), position.column, encoding),
    )


def to_lsp_range(document: Document, span: Span, encoding: Encoding) -> types.Range:
    return types.Range(
        start=to_lsp_position(document, span.start, encoding),
        end=to_lsp_position(document, span.end, encoding),
    )


def from_lsp_position(document: Document, position: types.Position, encoding: Encoding) -> Position:
    line = position.line + 1
    return Position(line, column_from_client(document.line_text(line), position.character, encoding))


def ranges_overlap(first: types.Range, second: types.Range) -> bool:
    """Inclusive overlap, so a cursor touching either end of a diagnostic still matches it."""

    def key(position: types.Position) -> tuple[int, int]:
        return (position.line, position.character)

    return key(first.start) <= key(second.end) and key(second.start) <= key(first.end)


# --- LSP edits on plain text ----------------------------------------------------------------


def _line_end(text: str, offsets: list[int], line: int) -> int:
    end = offsets[line + 1] if line + 1 < len(offsets) else len(text)
    # Exclude the terminator, so a column past the end never lands inside "\r\n".
    while end > offsets[line] and text[end - 1] in "\r\n":
        end -= 1
    return end


def offset_at(text: str, offsets: list[int], position: types.Position, encoding: Encoding) -> int:
    """The str index of an LSP position; out-of-range positions clamp to the text."""
    if position.line < 0:
        return 0
    if position.line >= len(offsets):
        return len(text)
    start = offsets[position.line]
    line_text = text[start : _line_end(text, offsets, position.line)]
    return start + column_from_client(line_text, position.character, encoding)


def _offset_in_lf_text(text: str, position: types.Position, encoding: Encoding) -> int:
    """``offset_at`` for a text whose lines all end with ``\n``, without the offsets of every
    line: a keystroke in a file of thousands of lines finds its line by splitting (in C) only
    up to it."""
    if position.line < 0:
        return 0
    start = 0
    if position.line:
        parts = text.split("\n", position.line)
        if len(parts) <= position.line:
            return len(text)
        start = len(text) - len(parts[-1])
    end = text.find("\n", start)
    line_text = text[start : end if end >= 0 else len(text)]
    return start + column_from_client(line_text, position.character, encoding)


def position_at(text: str, offsets: list[int], offset: int, encoding: Encoding) -> types.Position:
    line = bisect_right(offsets, offset) - 1
    prefix = text[offsets[line] : offset]
    return types.Position(line=line, character=column_to_client(prefix, len(prefix), encoding))


def apply_content_change(text: str, change: types.TextDocumentContentChangeEvent, encoding: Encoding) -> str:
    """Apply one ``didChange`` content change (a range edit, or the whole text)."""
    if not isinstance(change, types.TextDocumentContentChangePartial):
        return change.text
    if "\r" in text:
        offsets = line_start_offsets(text)
        start = offset_at(text, offsets, change.range.start, encoding)
        end = offset_at(text, offsets, change.range.end, encoding)
    else:
        start = _offset_in_lf_text(text, change.range.start, encoding)
        end = _offset_in_lf_text(text, change.range.end, encoding)
    if end < start:
        start, end = end, start
    return text[:start] + change.text + text[end:]


def minimal_edit(old: str, new: str, encoding: Encoding) -> types.TextEdit | None:
    """One edit turning ``old`` into ``new`` that replaces only the lines that differ.

    A whole-document replacement would also be correct, but it moves the
    editor's cursor, folds and breakpoints; a tight edit keeps them.
    """
    if old == new:
        return None
    old_offsets = line_start_offsets(old)
    new_offsets = line_start_offsets(new)
    old_lines = _segments(old, old_offsets)
    new_lines = _segments(new, new_offsets)
    limit = min(len(old_lines), len(new_lines))
    prefix = 0
    while prefix < limit and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and old_lines[len(old_lines) - 1 - suffix] == new_lines[len(new_lines) - 1 - suffix]
    ):
        suffix += 1
    start = sum(len(segment) for segment in old_lines[:prefix])
    old_end = len(old) - sum(len(segment) for segment in old_lines[len(old_lines) - suffix :])
    new_end = len(new) - sum(len(segment) for segment in new_lines[len(new_lines) - suffix :])
    return types.TextEdit(
        range=types.Range(
            start=position_at(old, old_offsets, start, encoding),
            end=position_at(old, old_offsets, old_end, encoding),
        ),
        new_text=new[start:new_end],
    )


def _segments(text: str, offsets: list[int]) -> list[str]:
    """Lines with their terminators, so joining them gives back ``text``."""
    bounds = [*offsets, len(text)]
    return [text[bounds[index] : bounds[index + 1]] for index in range(len(offsets))]
