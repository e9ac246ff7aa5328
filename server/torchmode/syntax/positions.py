"""Positions in source text.

Lines are 1-based and columns are 0-based counts of code points (Python ``str``
indices), the way a person reads an editor's status bar minus one on the column.
The LSP layer converts columns to UTF-16 units; the CLI prints ``column + 1``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True, order=True)
class Span:
    start: Position
    end: Position

    @staticmethod
    def of(line: int, column: int, end_line: int, end_column: int) -> Span:
        return Span(Position(line, column), Position(end_line, end_column))

    def contains(self, position: Position) -> bool:
        return self.start <= position <= self.end

    def moved(self, lines: int) -> Span:
        """The same span ``lines`` lines further down (up when negative)."""
        start, end = self.start, self.end
        return Span(Position(start.line + lines, start.column), Position(end.line + lines, end.column))


@dataclass(frozen=True)
class TextEdit:
    """Replace the text in ``span`` by ``new_text`` (an empty span inserts)."""

    span: Span
    new_text: str


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_start_offsets(text: str) -> list[int]:
    """Offsets (str indices) at which each line starts; index 0 is line 1.

    Lines end at ``\n``, ``\r\n`` or a lone ``\r`` (as Python's tokenizer and LSP count
    them), never at form feeds or other Unicode separators.
    """
    return [0, *(match.end() for match in _LINE_BREAK.finditer(text))]


def offset_of(offsets: list[int], text: str, position: Position) -> int:
    """The str index of ``position``; positions past a line's end clamp to it."""
    if position.line < 1:
        return 0
    if position.line > len(offsets):
        return len(text)
    start = offsets[position.line - 1]
    end = offsets[position.line] if position.line < len(offsets) else len(text)
    # The line end excludes its terminator so a column never lands inside "\r\n".
    while end > start and text[end - 1] in "\r\n":
        end -= 1
    return min(start + max(position.column, 0), end)


def apply_edits(
    text: str, edits: list[TextEdit] | tuple[TextEdit, ...], offsets: list[int] | None = None
) -> str:
    """Apply non-overlapping edits; they may come in any order.

    Raises ``ValueError`` when two edits overlap, because applying both would
    silently mangle the user's code. ``offsets`` are the text's line starts if known.
    """
    if offsets is None:
        offsets = line_start_offsets(text)
    resolved = sorted(
        (offset_of(offsets, text, edit.span.start), offset_of(offsets, text, edit.span.end), edit.new_text)
        for edit in edits
    )
    for (_, previous_end, _), (next_start, _, _) in itertools.pairwise(resolved):
        if next_start < previous_end:
            raise ValueError("overlapping edits")
    pieces: list[str] = []
    cursor = 0
    for start, end, new_text in resolved:
        pieces.append(text[cursor:start])
        pieces.append(new_text)
        cursor = max(cursor, end)
    pieces.append(text[cursor:])
    return "".join(pieces)


class LineAnchor:
    """How many lines one part of a document (a top-level statement, or a statement of a class
    body) moved since it was parsed.

    The language server moves the nodes below an edit that adds or removes lines in place
    (``syntax.incremental``) rather than parsing them again, so that their analysis can be
    kept. What that analysis recorded with line numbers (``analysis.lattice.Site``) stores
    them as they were when the part was parsed, with the part's anchor: its lines now are
    the stored ones plus ``shift``, and two records compare equal whenever they say the same
    thing, whichever version recorded them.
    """

    __slots__ = ("__weakref__", "shift")

    def __init__(self) -> None:
        self.shift = 0

    def __repr__(self) -> str:
        return f"LineAnchor(shift={self.shift})"


def common_prefix_length(old: str, new: str) -> int:
    """Length of the longest common prefix, by bisection on C-speed slice comparisons."""
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def common_suffix_length(old: str, new: str, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit`` (so it never overlaps the prefix)."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle : len(old) - low] == new[len(new) - middle : len(new) - low]:
            low = middle
        else:
            high = middle - 1
    return low
