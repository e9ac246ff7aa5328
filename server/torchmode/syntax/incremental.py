"""Re-parse only the top-level statement an edit falls in.

The language server checks a document on every keystroke. A typing edit almost
always stays inside one top-level ``def``/``class``/statement; parsing that
statement's lines alone and keeping the other statements' nodes (the very same
objects) is a fraction of a full parse, and lets the analysis keep what it
computed for the untouched statements (``analysis.dataflow`` reuses work keyed by
those nodes).

When is the spliced tree the tree ``ast.parse`` would build from scratch? The
old text parsed; the edit lies within the lines of one top-level statement that
shares no line with another; those lines start at column 0 right after a line
break and end with one. The tokenizer is then at a fresh line with no open
bracket, string or continuation both where the chunk starts and where it ends
(a chunk that leaves one open does not parse alone), so the lines around it
tokenize as before. Everything else falls back to a full parse: an edit between
statements, a chunk that fails alone (the full parse reports the error where it
is), or line breaks that could merge (``\\r`` + ``\\n``). (``ast.parse`` applies no
``from __future__`` feature and does not check where such imports stand, so they
change nothing here.) ``tests/engine/test_incremental.py`` compares the two on
thousands of random edits.
"""

from __future__ import annotations

import ast
import bisect

from torchmode.syntax.document import Document, parse
from torchmode.syntax.node_index import carry_over


def reparse(previous: Document, text: str) -> Document:
    """A ``Document`` of ``text``, the next version of ``previous``, parsed incrementally
    when that is provably the same tree (otherwise lazily, in full, as any document)."""
    document = Document(text, previous.path)
    # The analysis reuses the latest version that was analysed (a version superseded while
    # the user kept typing never was).
    document.predecessor = previous if previous.analysed else previous.predecessor
    # The node index (``syntax.node_index``) of the latest version that built one.
    carry_over(previous, document)
    old_tree = previous.tree
    if old_tree is None:
        return document
    if text == previous.text:
        document.__dict__["_parsed"] = old_tree
        return document
    tree = _spliced(previous, old_tree, text)
    if tree is not None:
        document.__dict__["_parsed"] = tree
    return document


def _common_prefix(old: str, new: str) -> int:
    """Length of the longest common prefix, by bisection on C-speed slice comparisons."""
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if old[low:middle] == new[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(old: str, new: str, limit: int) -> int:
    """Length of the longest common suffix, at most ``limit`` (so it never overlaps the prefix)."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle : len(old) - low] == new[len(new) - middle : len(new) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _line_breaks(text: str, start: int, end: int) -> int:
    return text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)


def _spliced(previous: Document, old_tree: ast.Module, text: str) -> ast.Module | None:
    old = previous.text
    body = old_tree.body
    if not body:
        return None
    prefix = _common_prefix(old, text)
    suffix = _common_suffix(old, text, min(len(old), len(text)) - prefix)
    old_end = len(old) - suffix  # the old text changed in [prefix, old_end)
    offsets = previous.line_offsets
    first_changed = bisect.bisect_right(offsets, prefix)
    last_changed = bisect.bisect_right(offsets, max(old_end - 1, prefix))
    starts = [_first_line(statement) for statement in body]
    index = bisect.bisect_right(starts, first_changed) - 1
    if index < 0:
        return None
    statement = body[index]
    first, last = starts[index], statement.end_lineno or statement.lineno
    if last_changed > last:
        return None
    if index > 0 and (body[index - 1].end_lineno or 0) >= first:
        return None  # ``a = 1; b = 2``: statements sharing a line
    if index + 1 < len(body) and starts[index + 1] <= last:
        return None
    chunk_start = offsets[first - 1]
    old_chunk_end = offsets[last] if last < len(offsets) else len(old)
    if old_end > old_chunk_end or prefix < chunk_start:
        return None
    new_chunk_end = old_chunk_end + len(text) - len(old)
    chunk = text[chunk_start:new_chunk_end]
    # The chunk must end with its own line break, one that cannot merge with the next
    # character into another one (``\r`` + ``\n``).
    if new_chunk_end < len(text) and (
        not chunk.endswith(("\n", "\r")) or (chunk.endswith("\r") and text[new_chunk_end] == "\n")
    ):
        return None
    if chunk_start > 0 and text[chunk_start - 1] == "\r" and chunk.startswith("\n"):
        return None
    if chunk.rstrip("\r\n").endswith("\\"):
        return None  # a continuation onto the next statement's line
    parsed = parse(chunk)
    if parsed is None:
        return None
    ast.increment_lineno(parsed, first - 1)
    line_shift = _line_breaks(text, chunk_start, new_chunk_end) - _line_breaks(
        old, chunk_start, old_chunk_end
    )
    following = body[index + 1 :]
    if following and line_shift:
        # The statements below moved: their nodes carry line numbers, and the previous
        # version's analysis may still be read (a hover), so they are parsed again rather
        # than shifted in place.
        tail = parse(text[new_chunk_end:])
        if tail is None:
            return None
        ast.increment_lineno(tail, last + line_shift)
        following = tail.body
    return ast.Module(body=[*body[:index], *parsed.body, *following], type_ignores=[])
