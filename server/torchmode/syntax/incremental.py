"""Re-parse only the statement an edit falls in: a top-level statement, or a method (any
statement of a class body, at any depth of classes).

The language server checks a document on every keystroke. A typing edit almost always
stays inside one function or method; parsing that statement's lines alone and keeping every
other node (the very same objects) is a fraction of a full parse, and lets the analysis keep
what it computed for the untouched statements (``analysis.dataflow`` reuses work keyed by
those nodes).

When is the spliced tree the tree ``ast.parse`` would build from scratch? The old text
parsed; the edit lies within the lines of one statement that shares no line with another;
those lines start at a line break (not one continued by ``\\``) and end with one, and the
statement's first line keeps its indentation. The tokenizer is then at a fresh line with no
open bracket, string or continuation both where the chunk starts and where it ends (a chunk
that leaves one open does not parse alone), at the same indentation, so the lines around it
tokenize as before. A statement of a class body is parsed under a stand-in ``class _:``
line: its lines keep their own indentation, so columns and the tokenizer's indentation
stack are those of the file (the first line's indentation is the same string as before, and
a line that went left of it would end the stand-in class: such a parse is not used).
Positions come out right by padding the chunk with as many empty lines as precede it.
Everything else falls back to a full parse: an edit between statements, line breaks that
could merge (``\\r`` + ``\\n``). (``ast.parse`` applies no ``from __future__`` feature and
checks neither where such imports stand nor ``return``/``await``/``nonlocal`` placement, so a
statement parses the same alone.)

An edit that adds or removes lines moves what lies below it: those nodes are moved in place
(``node_index.move_statement``: their line numbers, and the line anchors that what the
analysis recorded of them is stored against, ``positions.LineAnchor``) rather than parsed
again, so the analysis keeps them too. The version parsed from is therefore spent: its nodes
now carry the new version's lines, and no other version may be parsed from it again
(``Document.spliced``); the language server only ever parses a version from the latest one.

A version that does not parse (a statement half typed) should cost little too: when the
edited chunk does not parse and nothing around it could make it parse (see
``_fails_wherever_it_stands``), the version is known not to parse without a full parse; why
and where is found by one only if asked (``ParseFailure.found_later``). The next version is
then parsed from the latest one that did parse (``Document.base``).

``tests/engine/test_incremental.py`` compares the result with ``ast.parse`` on thousands of
random edits, and every version's analysis with a check from scratch.
"""

from __future__ import annotations

import ast
import bisect
import copy
import io
import tokenize
from dataclasses import dataclass

from torchmode.syntax.document import Document, parse
from torchmode.syntax.node_index import NodeIndex, carry_over, latest_index, move_statement
from torchmode.syntax.positions import common_prefix_length, common_suffix_length


def reparse(previous: Document, text: str) -> Document:
    """A ``Document`` of ``text``, the next version of ``previous``, parsed incrementally
    when that is provably the same tree (otherwise lazily, in full, as any document)."""
    document = Document(text, previous.path, incremental=previous.incremental)
    # The analysis reuses the latest version that was analysed (a version superseded while
    # the user kept typing, or one that did not parse, never was).
    document.predecessor = previous if previous.analysed else previous.predecessor
    # The node index (``syntax.node_index``) of the latest version that built one.
    carry_over(previous, document)
    base = _base_of(previous)
    if base is None:
        return document
    old_tree = base.tree
    assert old_tree is not None
    document.base = base
    if text == base.text:
        base.spliced = True
        document.set_parsed(old_tree)
        return document
    outcome = _spliced(base, old_tree, text)
    if isinstance(outcome, ast.Module):
        base.spliced = True
        document.set_parsed(outcome)
    elif outcome is _NO_PARSE:
        document.set_parsed(None)
    return document


def _base_of(previous: Document) -> Document | None:
    """The version to parse from: ``previous`` if its tree is known, else the latest earlier
    version whose tree is (a version that did not parse, or was never parsed); None when that
    version's nodes went to another version already."""
    if previous.parse_known and previous.tree is not None:
        base: Document | None = previous
    else:
        base = previous.base
    if base is None or base.spliced:
        return None
    return base


class _Outcome:
    """What an attempt at one level says when it gives no tree."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# The text does not parse (proven without a full parse).
_NO_PARSE = _Outcome("no parse")
# Nothing proven at this level: try the enclosing statement.
_OUTWARD = _Outcome("outward")
# Nothing proven and no point trying further out: parse the whole text.
_FULL = _Outcome("full")


@dataclass(frozen=True)
class _Level:
    """One statement holding the edit: the body it is in, where, and its first line's indentation."""

    body: list[ast.stmt]
    index: int
    first: int  # its first line (decorators included)
    last: int
    indentation: str
    nested: bool  # in a class body, not at module level


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _line_breaks(text: str, start: int, end: int) -> int:
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _levels(base: Document, tree: ast.Module, first_changed: int, last_changed: int) -> list[_Level]:
    """The statements holding the changed lines, outermost first: a top-level statement, and
    while that is a class and the lines lie in one statement of its body, that statement."""
    levels: list[_Level] = []
    body = tree.body
    nested = False
    while body:
        starts = [_first_line(statement) for statement in body]
        index = bisect.bisect_right(starts, first_changed) - 1
        if index < 0:
            break
        statement = body[index]
        first, last = starts[index], statement.end_lineno or statement.lineno
        if last_changed > last:
            break
        if index > 0 and (body[index - 1].end_lineno or 0) >= first:
            break  # ``a = 1; b = 2``: statements sharing a line
        if index + 1 < len(body) and starts[index + 1] <= last:
            break
        line = base.line_text(first)
        indentation = line[: len(line) - len(line.lstrip(" \t"))]
        # The statement starts its first line (not ``class A: x = 1``, nor after the ``)`` of a
        # class header); columns count UTF-8 bytes, and the indentation is ASCII.
        if getattr(statement, "decorator_list", None):
            starts_line = line.startswith("@", len(indentation))
        else:
            starts_line = statement.col_offset == len(indentation)
        if not starts_line or nested != bool(indentation):
            break
        if first > 1 and base.line_text(first - 1).endswith("\\"):
            break  # joined to the line above
        levels.append(_Level(body, index, first, last, indentation, nested))
        if not isinstance(statement, ast.ClassDef):
            break
        body = statement.body
        nested = True
    return levels


def _spliced(base: Document, old_tree: ast.Module, text: str) -> ast.Module | _Outcome:
    old = base.text
    prefix = common_prefix_length(old, text)
    suffix = common_suffix_length(old, text, min(len(old), len(text)) - prefix)
    old_end = len(old) - suffix  # the old text changed in [prefix, old_end)
    offsets = base.line_offsets
    first_changed = bisect.bisect_right(offsets, prefix)
    last_changed = bisect.bisect_right(offsets, max(old_end - 1, prefix))
    levels = _levels(base, old_tree, first_changed, last_changed)
    # The innermost statement first: a method rather than its whole class.
    for depth in range(len(levels) - 1, -1, -1):
        outcome = _spliced_at(base, text, levels, depth, prefix, old_end)
        if outcome is not _OUTWARD:
            return outcome
    return _FULL


def _spliced_at(
    base: Document, text: str, levels: list[_Level], depth: int, prefix: int, old_end: int
) -> ast.Module | _Outcome:
    old = base.text
    offsets = base.line_offsets
    level = levels[depth]
    chunk_start = offsets[level.first - 1]
    old_chunk_end = offsets[level.last] if level.last < len(offsets) else len(old)
    if old_end > old_chunk_end or prefix < chunk_start:
        return _OUTWARD
    new_chunk_end = old_chunk_end + len(text) - len(old)
    chunk = text[chunk_start:new_chunk_end]
    # The chunk must end with its own line break, one that cannot merge with the next
    # character into another one (``\r`` + ``\n``).
    if new_chunk_end < len(text) and (
        not chunk.endswith(("\n", "\r")) or (chunk.endswith("\r") and text[new_chunk_end] == "\n")
    ):
        return _OUTWARD
    if chunk_start > 0 and text[chunk_start - 1] == "\r" and chunk.startswith("\n"):
        return _OUTWARD
    if chunk.rstrip("\r\n").endswith("\\"):
        return _OUTWARD  # a continuation onto the next statement's line
    # Its first line keeps its indentation and still starts a statement there.
    indentation = level.indentation
    if not chunk.startswith(indentation) or chunk[len(indentation) : len(indentation) + 1] in (
        "",
        " ",
        "\t",
        "\f",
        "\r",
        "\n",
        "#",
    ):
        return _OUTWARD
    if level.nested:
        # The stand-in class on the line above (a statement of a class body is on line 2 or later).
        parsed = parse("\n" * (level.first - 2) + "class _:\n" + chunk)
    else:
        parsed = parse("\n" * (level.first - 1) + chunk)
    if parsed is None:
        return _NO_PARSE if _fails_wherever_it_stands(chunk, text[new_chunk_end:]) else _FULL
    if level.nested:
        if len(parsed.body) != 1 or not isinstance(parsed.body[0], ast.ClassDef):
            return _OUTWARD  # a line went left of the statement: it left the class body
        statements = parsed.body[0].body
    else:
        statements = parsed.body
    line_shift = _line_breaks(text, chunk_start, new_chunk_end)
    line_shift -= _line_breaks(old, chunk_start, old_chunk_end)
    if line_shift and not base.incremental:
        # Not a language-server document: its analysis recorded lines without anchors, so
        # nothing may move in place.
        return _FULL
    index = latest_index(base)
    body = _replaced(level, statements, line_shift, index)
    # The classes holding it: copies with the new body (the previous version's class nodes
    # stay as they were), their following statements moved.
    for outer in reversed(levels[:depth]):
        holder = outer.body[outer.index]
        assert isinstance(holder, ast.ClassDef)
        copied = copy.copy(holder)
        copied.body = body
        copied.end_lineno = body[-1].end_lineno
        copied.end_col_offset = body[-1].end_col_offset
        body = _replaced(outer, [copied], line_shift, index)
    return ast.Module(body=body, type_ignores=[])


def _replaced(
    level: _Level, statements: list[ast.stmt], line_shift: int, index: NodeIndex | None
) -> list[ast.stmt]:
    """The level's body with its statement replaced by ``statements``; the statements after
    it moved ``line_shift`` lines."""
    following = level.body[level.index + 1 :]
    if line_shift:
        for statement in following:
            move_statement(statement, line_shift, index)
    return [*level.body[: level.index], *statements, *following]


# Clauses that continue the statement before them.
_CLAUSES = frozenset({"else", "elif", "except", "finally"})
# Keywords that only ever start a statement or a clause: never inside brackets.
_STATEMENT_ONLY = frozenset(
    {
        "assert",
        "break",
        "class",
        "continue",
        "def",
        "del",
        "elif",
        "except",
        "finally",
        "global",
        "import",
        "nonlocal",
        "pass",
        "raise",
        "return",
        "try",
        "while",
        "with",
    }
)
_CLOSING = {"(": ")", "[": "]", "{": "}"}


def _fails_wherever_it_stands(chunk: str, following: str) -> bool:
    """Does a text fail to parse in which this chunk replaced a statement that parsed, given
    that the chunk failed alone (in its stand-in class, at the same indentation), and that
    ``following`` comes after it?

    Yes when what precedes and follows the chunk cannot change how it tokenizes or parses:
    the chunk tokenizes to its end with no bracket, string or continuation left open (so its
    tokens are the same in the file, and so are those after it), no line of it goes left of
    its first line (it stays in the same body), its first line is no clause continuing the
    statement before (``else:``), and its last statement at that indentation is no decorator
    that the statement after it would complete. Then the file's parse must parse the chunk's
    lines as a sequence of whole statements of that body, which is what failed.

    Yes also when the chunk leaves only brackets open (``f(`` while typing a call) and the
    next statement starts with a keyword that cannot stand inside brackets (``def``,
    ``return``...): that keyword is then read inside them. Otherwise (a string left open,
    which a later docstring could close...) nothing is concluded: the whole text is parsed.
    """
    depth = 0
    first_depth: int | None = None
    starts: list[tuple[int, str]] = []  # (depth, first token) of each logical line
    brackets: list[str] = []
    at_line_start = True
    try:
        for token in tokenize.generate_tokens(io.StringIO(chunk).readline):
            kind = token.type
            if kind == tokenize.INDENT:
                depth += 1
            elif kind == tokenize.DEDENT:
                depth -= 1
            elif kind == tokenize.NEWLINE:
                at_line_start = True
            elif kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            else:
                if kind == tokenize.OP:
                    if token.string in _CLOSING:
                        brackets.append(token.string)
                    elif brackets and token.string == _CLOSING[brackets[-1]]:
                        brackets.pop()
                if at_line_start:
                    at_line_start = False
                    if first_depth is None:
                        first_depth = depth
                    elif depth < first_depth:
                        return False
                    starts.append((depth, token.string))
    except tokenize.TokenError:  # left open at the end
        return bool(brackets) and _only_brackets_open(chunk, brackets) and _statement_only(following)
    except SyntaxError:  # indentation (IndentationError)
        return False
    if first_depth is None or starts[0][1] in _CLAUSES:
        return False
    last_at_first_depth = [first for depth, first in starts if depth == first_depth][-1]
    return last_at_first_depth != "@"


def _only_brackets_open(chunk: str, brackets: list[str]) -> bool:
    """Closing the brackets left open (on a line of their own: not in a comment) completes
    the chunk's tokens: no string was left open."""
    closed = chunk + "".join(_CLOSING[bracket] for bracket in reversed(brackets)) + "\n"
    try:
        for _ in tokenize.generate_tokens(io.StringIO(closed).readline):
            pass
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def _statement_only(following: str) -> bool:
    """Does the next statement (past blank lines, comments and one-line decorators, which are
    balanced) start with a keyword that cannot stand inside brackets?"""
    for line in following.splitlines():
        stripped = line.lstrip()
        if not stripped or stripped.startswith(("#", "@")):
            continue
        word = stripped.split(None, 1)[0].split("(", 1)[0].split(":", 1)[0]
        if word == "async":
            parts = stripped.split(None, 2)
            return len(parts) > 1 and parts[1].startswith("def")
        return word in _STATEMENT_ONLY
    return True  # nothing follows: the end of the text is inside the brackets
