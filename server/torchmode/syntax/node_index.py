"""Every node of a document by type, and each node's parent, from one walk.

Several passes (which names are models, which classes derive from what, the grad
context rule, the wrap fix's parent map) each walked the whole tree; on a
5,000-line file each walk cost more than the rest of their work. They now read
this index, built once per document.

It is built per *part*: a top-level statement, except that a class is split into its own
nodes (the ``class`` line, bases, decorators) and one part per statement of its body (and so
on for a class in a class). ``syntax.incremental.reparse`` keeps the very same node objects
for the statements an edit does not touch, even below an edit that adds or removes lines
(their positions are moved in place, through ``move``), so the next version's index takes
their parts over: an edit in one method of a big class walks that method only.
"""

from __future__ import annotations

import ast
import bisect
import weakref
from collections.abc import Iterable, Iterator

from torchmode.syntax.document import Document
from torchmode.syntax.positions import LineAnchor

# The attribute of a part's statement that holds its line anchor (``positions.LineAnchor``).
# On the node rather than in the index: every index and every version that holds the node
# then finds the same anchor, and a class copied by the incremental parse keeps its own.
_ANCHOR = "_torchmode_line_anchor"


def line_anchor(statement: ast.AST) -> LineAnchor:
    """The anchor of a part's statement (made on first use)."""
    anchor: LineAnchor | None = statement.__dict__.get(_ANCHOR)
    if anchor is None:
        anchor = LineAnchor()
        setattr(statement, _ANCHOR, anchor)
    return anchor


_POSITIONED: dict[type, bool] = {}


def _has_position(kind: type) -> bool:
    found = _POSITIONED.get(kind)
    if found is None:
        found = _POSITIONED[kind] = "lineno" in getattr(kind, "_attributes", ())
    return found


def _move_nodes(by_type: dict[type, list[ast.AST]], delta: int) -> None:
    for kind, nodes in by_type.items():
        if _has_position(kind):
            for node in nodes:
                node.lineno += delta  # type: ignore[attr-defined]
                end = node.end_lineno  # type: ignore[attr-defined]
                if end is not None:
                    node.end_lineno = end + delta  # type: ignore[attr-defined]


def _walk_by_type(roots: Iterable[ast.AST], by_type: dict[type, list[ast.AST]]) -> None:
    """Each node under ``roots`` (depth first, in source order) into ``by_type``."""
    # The fields by hand, not ast.walk + iter_child_nodes: a third of the time.
    stack: list[ast.AST] = list(roots)
    stack.reverse()
    while stack:
        node = stack.pop()
        by_type.setdefault(type(node), []).append(node)
        stack.extend(reversed(_children(node)))


def _parents_under(roots: Iterable[tuple[ast.AST, ast.AST]], parents: dict[int, ast.AST]) -> None:
    stack = list(roots)
    while stack:
        node, parent = stack.pop()
        parents[id(node)] = parent
        stack.extend((child, node) for child in _children(node))


class _StatementNodes:
    """One statement's nodes (depth first, in source order) by type; parents on demand."""

    __slots__ = ("_parents", "by_type", "statement")

    def __init__(self, statement: ast.stmt) -> None:
        self.statement = statement
        self.by_type: dict[type, list[ast.AST]] = {}
        self._parents: dict[int, ast.AST] | None = None
        _walk_by_type([statement], self.by_type)

    def nodes(self, kind: type) -> Iterable[ast.AST]:
        return self.by_type.get(kind, ())

    @property
    def parents(self) -> dict[int, ast.AST]:
        """Child id -> parent within the statement; only fixes need it, so built then (and
        not kept in memory for every open document)."""
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            _parents_under(((child, self.statement) for child in _children(self.statement)), parents)
            self._parents = parents
        return self._parents

    def move(self, delta: int) -> None:
        _move_nodes(self.by_type, delta)
        line_anchor(self.statement).shift += delta


class _ClassNodes:
    """A class: its own nodes, split where its body would come in a depth-first walk (so that
    ``of_type`` yields the order a walk of the whole statement would), and one part per
    statement of its body."""

    __slots__ = ("_parents", "after", "before", "members", "statement")

    def __init__(self, statement: ast.ClassDef, members: list[_Part]) -> None:
        self.statement = statement
        self.members = members
        self.before: dict[type, list[ast.AST]] = {type(statement): [statement]}
        self.after: dict[type, list[ast.AST]] = {}
        self._parents: dict[int, ast.AST] | None = None
        fields = statement._fields
        split = fields.index("body")
        _walk_by_type(_field_children(statement, fields[:split]), self.before)
        _walk_by_type(_field_children(statement, fields[split + 1 :]), self.after)

    def nodes(self, kind: type) -> Iterator[ast.AST]:
        yield from self.before.get(kind, ())
        for member in self.members:
            yield from member.nodes(kind)
        yield from self.after.get(kind, ())

    @property
    def parents(self) -> dict[int, ast.AST]:
        """Parents of the class's own nodes (its body's statements included)."""
        if self._parents is None:
            statement = self.statement
            parents: dict[int, ast.AST] = {id(member.statement): statement for member in self.members}
            fields = statement._fields
            own = [field for field in fields if field != "body"]
            _parents_under(((child, statement) for child in _field_children(statement, own)), parents)
            self._parents = parents
        return self._parents

    def move(self, delta: int) -> None:
        _move_nodes(self.before, delta)
        _move_nodes(self.after, delta)
        line_anchor(self.statement).shift += delta
        for member in self.members:
            member.move(delta)


_Part = _StatementNodes | _ClassNodes


def _children(node: ast.AST) -> list[ast.AST]:
    return _field_children(node, node._fields)


def _field_children(node: ast.AST, fields: Iterable[str]) -> list[ast.AST]:
    children: list[ast.AST] = []
    for field in fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            children.extend(
                item for item in value if isinstance(item, ast.AST) and not isinstance(item, ast.expr_context)
            )
        elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
            children.append(value)
    return children


class NodeIndex:
    def __init__(self, tree: ast.Module, previous: NodeIndex | None = None) -> None:
        self.tree = tree
        known = previous._by_statement if previous is not None else {}
        # Every part of this tree, at every depth, by its statement's id.
        self._by_statement: dict[int, _Part] = {}
        self._parts: list[_Part] = [self._part(statement, known) for statement in tree.body]
        self._first_lines = [_first_line(part.statement) for part in self._parts]
        # Per class part: the first line of each of its members (this version's lines).
        self._member_lines: dict[int, list[int]] = {}
        # (first line with decorators, last line) of each top-level statement, in order.
        self.top_level_starts: list[int] = self._first_lines
        self.top_level_spans: list[tuple[int, int]] = [
            (first, part.statement.end_lineno or part.statement.lineno)
            for first, part in zip(self._first_lines, self._parts, strict=True)
        ]

    def _part(self, statement: ast.stmt, known: dict[int, _Part]) -> _Part:
        part = known.get(id(statement))
        if part is None or part.statement is not statement:
            if isinstance(statement, ast.ClassDef):
                part = _ClassNodes(statement, [self._part(member, known) for member in statement.body])
            else:
                part = _StatementNodes(statement)
        else:
            self._register_members(part)
        self._by_statement[id(statement)] = part
        return part

    def _register_members(self, part: _Part) -> None:
        if isinstance(part, _ClassNodes):
            for member in part.members:
                self._by_statement[id(member.statement)] = member
                self._register_members(member)

    def of_type(self, *types: type[ast.AST]) -> Iterator[ast.AST]:
        """The nodes of exactly these types (not subclasses): statement by statement in
        source order; within one statement, type by type in the order given, each depth first."""
        for part in self._parts:
            if isinstance(part, _StatementNodes):
                by_type = part.by_type
                for kind in types:
                    yield from by_type.get(kind, ())
            else:
                for kind in types:
                    yield from part.nodes(kind)

    def statements_of_type(self, *types: type[ast.stmt]) -> list[ast.stmt]:
        """Statements of these types in source order (the order of a walk over statements)."""
        found = [node for node in self.of_type(*types) if isinstance(node, ast.stmt)]
        if len(types) > 1:
            found.sort(key=lambda node: (node.lineno, node.col_offset))
        return found

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        return self._parent_in(self._parts, self._first_lines, node, getattr(node, "lineno", None), self.tree)

    def _parent_in(
        self, parts: list[_Part], first_lines: list[int], node: ast.AST, line: int | None, container: ast.AST
    ) -> ast.AST | None:
        if line is None:
            # Nodes without a position (arguments, operators...): search every statement.
            candidates = parts
        else:
            # Only the statement whose lines hold the node can hold it.
            position = bisect.bisect_right(first_lines, line) - 1
            candidates = parts[max(position - 1, 0) : position + 2]
        for part in candidates:
            if part.statement is node:
                return container
            parent = part.parents.get(id(node))
            if parent is None and isinstance(part, _ClassNodes):
                parent = self._parent_in(part.members, self._member_starts(part), node, line, part.statement)
            if parent is not None:
                return parent
        return None

    def _member_starts(self, part: _ClassNodes) -> list[int]:
        found = self._member_lines.get(id(part))
        if found is None:
            found = self._member_lines[id(part)] = [_first_line(member.statement) for member in part.members]
        return found

    def anchor_at(self, line: int) -> LineAnchor | None:
        """The line anchor of the innermost part holding ``line`` (None outside every statement)."""
        parts, first_lines = self._parts, self._first_lines
        found: LineAnchor | None = None
        while True:
            position = bisect.bisect_right(first_lines, line) - 1
            if position < 0:
                return found
            part = parts[position]
            statement = part.statement
            if line > (statement.end_lineno or statement.lineno):
                return found
            found = line_anchor(statement)
            if not isinstance(part, _ClassNodes):
                return found
            parts, first_lines = part.members, self._member_starts(part)

    def part_of(self, statement: ast.stmt) -> _Part | None:
        part = self._by_statement.get(id(statement))
        return part if part is not None and part.statement is statement else None


def move_statement(statement: ast.stmt, delta: int, index: NodeIndex | None) -> None:
    """Move a statement ``delta`` lines in place (its nodes and its parts' anchors), through
    its part in ``index`` when it has one (no walk), else by walking it."""
    part = index.part_of(statement) if index is not None else None
    if part is None:
        if isinstance(statement, ast.ClassDef):
            # Its own nodes here, each statement of its body through its own part if it has one.
            part = _ClassNodes(statement, [])
            for member in statement.body:
                move_statement(member, delta, index)
        else:
            part = _StatementNodes(statement)
    part.move(delta)


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


# Each document's index once built, and for a new version the latest earlier version's index
# (its parts for the statements this tree kept are taken over). Beside the documents: they go
# with them.
_INDEXES: weakref.WeakKeyDictionary[Document, NodeIndex] = weakref.WeakKeyDictionary()
_PREVIOUS: weakref.WeakKeyDictionary[Document, NodeIndex] = weakref.WeakKeyDictionary()


def node_index(document: Document) -> NodeIndex | None:
    """The document's index (None when it does not parse), built on first use."""
    index = _INDEXES.get(document)
    if index is None:
        tree = document.tree
        if tree is None:
            return None
        index = NodeIndex(tree, _PREVIOUS.pop(document, None))
        _INDEXES[document] = index
    return index


def latest_index(document: Document) -> NodeIndex | None:
    """The index of ``document`` or, when it has none yet, of the latest earlier version."""
    return _INDEXES.get(document) or _PREVIOUS.get(document)


def carry_over(previous: Document, document: Document) -> None:
    """``document`` is the next version of ``previous``: its index may take over the parts of
    the latest earlier index for the statements its tree keeps."""
    found = latest_index(previous)
    if found is not None:
        _PREVIOUS[document] = found
