"""A Python source document: text, syntax tree and position conversions.

The analysis runs on CPython's own ``ast``: it parses about ten times faster
than libcst (measured on ``torch/nn/modules/module.py``: 14 ms against 136 ms
for the parse plus 227 ms for libcst's position metadata), it carries exact
start and end positions on every node, and it accepts exactly the syntax of
the running interpreter. Fixes are plain text edits computed from those
positions, so comments and formatting outside the edited lines cannot change.
"""

from __future__ import annotations

import ast
import threading
import warnings
from collections.abc import Callable
from functools import cached_property

from torchmode.syntax.positions import Position, Span, line_start_offsets

# One syntax tree is built at a time in this process. CPython 3.11 counts the depth of the
# ``ast`` objects it is building in state every thread shares, and a thread switch while one
# parse builds them (a garbage collection running a finalizer) lets another parse move that
# count: either fails with "SystemError: AST constructor recursion depth mismatch". The
# language server parses in two check threads: 16 checks in 800 edits of
# ``bench/long_session.py`` failed so, and a version whose incremental parse failed so was
# never published. ``catch_warnings`` is not thread-safe either (it swaps the process'
# filters), so it is inside the lock too. A parse is C code that lets another thread run only
# by accident, as here: the lock costs no parallelism.
_PARSE_LOCK = threading.Lock()


def parse_source(text: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` as every part of torchmode must call it (see ``_PARSE_LOCK``), with the
    compiler's warnings about the user's code silenced (see ``Document``); raises as it does."""
    with _PARSE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename=filename)


def parse_expression(text: str) -> ast.expr:
    """One expression (``ast.parse`` in ``eval`` mode, under ``_PARSE_LOCK``); raises as it does."""
    with _PARSE_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, mode="eval").body


def parse(text: str) -> ast.Module | None:
    """``parse_source``, None when the text does not parse."""
    try:
        return parse_source(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


class ParseFailure:
    """Why a text could not be parsed, and where (1-based line, 0-based column).

    The language server can know that a version does not parse before knowing why: the edited
    statement cannot parse whatever surrounds it (``syntax.incremental``). The message and
    position are then those of a parse of the whole text, run only if someone reads them
    (the editor shows no diagnostics for such a version and never does).
    """

    __slots__ = ("_find", "_found")

    def __init__(self, message: str, position: Position) -> None:
        self._found: tuple[str, Position] | None = (message, position)
        self._find: Callable[[], ParseFailure] | None = None

    @classmethod
    def found_later(cls, find: Callable[[], ParseFailure]) -> ParseFailure:
        failure = cls.__new__(cls)
        failure._found = None
        failure._find = find
        return failure

    def _resolved(self) -> tuple[str, Position]:
        if self._found is None:
            assert self._find is not None
            found = self._find()
            self._found = (found.message, found.position)
            self._find = None
        return self._found

    @property
    def message(self) -> str:
        return self._resolved()[0]

    @property
    def position(self) -> Position:
        return self._resolved()[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParseFailure):
            return NotImplemented
        return self._resolved() == other._resolved()

    def __hash__(self) -> int:
        return hash(self._resolved())

    def __reduce__(self) -> tuple[object, ...]:
        return (ParseFailure, self._resolved())

    def __repr__(self) -> str:
        message, position = self._resolved()
        return f"ParseFailure(message={message!r}, position={position!r})"


class Document:
    """A source text (never changed) with lazily built views of it."""

    def __init__(self, text: str, path: str = "<string>", *, incremental: bool = False) -> None:
        self.text = text
        self.path = path
        # The language server's incremental path (``syntax.incremental.reparse``): the
        # latest earlier version whose analysis can be partly reused, taken (and cleared)
        # by the analysis of this one; and whether an analysis of this version ran and left
        # its results for the next (``analysis.reuse`` keeps them beside the document).
        self.predecessor: Document | None = None
        self.analysed = False
        # Also for the incremental path: whether this text is one version in the language
        # server's chain, whose nodes later versions share and move in place (then analysis
        # results anchor their line numbers, see ``positions.LineAnchor``); the latest
        # earlier version with a tree, to parse from while this one has none; whether a later
        # version was parsed from this one (its nodes are shared, and their lines may be moved:
        # no other version may be parsed from it again).
        self.incremental = incremental
        self.base: Document | None = None
        self.spliced = False

    @cached_property
    def lines(self) -> list[str]:
        """Lines without their terminators; ``lines[0]`` is line 1."""
        offsets = self.line_offsets
        result = []
        for index, start in enumerate(offsets):
            end = offsets[index + 1] if index + 1 < len(offsets) else len(self.text)
            result.append(self.text[start:end].rstrip("\r\n"))
        return result

    @cached_property
    def line_offsets(self) -> list[int]:
        return line_start_offsets(self.text)

    @cached_property
    def _parsed(self) -> ast.Module | ParseFailure:
        parsed = self._parse_in_full()
        if isinstance(parsed, ast.Module):
            self.base = None  # this version is the base of the next one
        return parsed

    def _parse_in_full(self) -> ast.Module | ParseFailure:
        try:
            # type_comments stays off: they are irrelevant to modes and cost time. The compiler's
            # warnings (invalid escape sequences...) are about the user's code: printing them would
            # spam the server's stderr on every keystroke, and ``-W error`` would turn them into
            # parse failures (``parse_source`` silences them).
            return parse_source(self.text, filename=self.path)
        except SyntaxError as error:
            line = error.lineno or 1
            column = max((error.offset or 1) - 1, 0)
            return ParseFailure(error.msg, Position(line, self._byte_to_column(line, column)))
        except (ValueError, MemoryError, RecursionError) as error:
            # ValueError: null bytes; RecursionError: absurdly deep nesting.
            return ParseFailure(str(error) or type(error).__name__, Position(1, 0))

    def set_parsed(self, tree: ast.Module | None) -> None:
        """The incremental path's verdict: this tree, or None for a text known not to parse
        (why and where is found by a full parse if asked)."""
        if tree is None:
            self.__dict__["_parsed"] = ParseFailure.found_later(self._failure_in_full)
        else:
            self.__dict__["_parsed"] = tree
            self.base = None

    def _failure_in_full(self) -> ParseFailure:
        parsed = self._parse_in_full()
        if isinstance(parsed, ParseFailure):
            return parsed
        # Not reached while the incremental path is right; were it wrong, saying so beats a
        # made-up message.
        return ParseFailure("the incremental parse found an error a full parse does not", Position(1, 0))

    @property
    def parse_known(self) -> bool:
        """Whether this version's parse (or its failure) is known already, without parsing."""
        return "_parsed" in self.__dict__

    @property
    def tree(self) -> ast.Module | None:
        parsed = self._parsed
        return parsed if isinstance(parsed, ast.Module) else None

    @property
    def parse_failure(self) -> ParseFailure | None:
        parsed = self._parsed
        return parsed if isinstance(parsed, ParseFailure) else None

    def line_text(self, line: int) -> str:
        # From the offsets, not ``lines``: a check reads a few lines of a long file.
        offsets = self.line_offsets
        if 1 <= line <= len(offsets):
            end = offsets[line] if line < len(offsets) else len(self.text)
            return self.text[offsets[line - 1] : end].rstrip("\r\n")
        return ""

    def _byte_to_column(self, line: int, byte_offset: int) -> int:
        """``ast`` columns count UTF-8 bytes; ours count code points."""
        text = self.line_text(line)
        if text.isascii():
            return byte_offset
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def span_of(self, node: ast.AST) -> Span:
        """The exact source span of an ``ast`` node (statement or expression)."""
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        column = self._byte_to_column(line, getattr(node, "col_offset", 0))
        end_byte = getattr(node, "end_col_offset", None)
        end_column = self._byte_to_column(end_line, end_byte) if end_byte is not None else column
        return Span.of(line, column, end_line, end_column)

    def source_of(self, node: ast.AST) -> str:
        span = self.span_of(node)
        if span.start.line == span.end.line:
            return self.line_text(span.start.line)[span.start.column : span.end.column]
        parts = [self.line_text(span.start.line)[span.start.column :]]
        parts.extend(self.line_text(line) for line in range(span.start.line + 1, span.end.line))
        parts.append(self.line_text(span.end.line)[: span.end.column])
        return "\n".join(parts)

    def indentation_of_line(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]

    @cached_property
    def newline(self) -> str:
        """The document's dominant line terminator, reused by inserted lines."""
        crlf = self.text.count("\r\n")
        lf = self.text.count("\n") - crlf
        return "\r\n" if crlf > lf else "\n"

    # --- UTF-16 conversions for LSP clients -------------------------------------------

    def column_to_utf16(self, line: int, column: int) -> int:
        text = self.line_text(line)[:column]
        if text.isascii():
            return len(text)
        return len(text.encode("utf-16-le")) // 2

    def utf16_to_column(self, line: int, utf16_column: int) -> int:
        text = self.line_text(line)
        if text.isascii():
            return min(utf16_column, len(text))
        units = 0
        for index, char in enumerate(text):
            if units >= utf16_column:
                return index
            units += 2 if ord(char) > 0xFFFF else 1
        return len(text)
