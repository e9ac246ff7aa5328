"""Every node of a document by type, and each node's parent, from one walk.

Several passes (which names are models, which classes derive from what, the grad
context rule, the wrap fix's parent map) each walked the whole tree; on a
5,000-line file each walk cost more than the rest of their work. They now read
this index, built once per document. It is built per top-level statement, and a
statement the next version of the document keeps (``syntax.incremental.reparse``
keeps the very same node objects) keeps its part of the index as well.
"""

from __future__ import annotations

import ast
import bisect
import weakref
from collections.abc import Iterator

from torchmode.syntax.document import Document


class _StatementNodes:
    """One top-level statement's nodes (depth first, in source order) by type; parents on demand."""

    __slots__ = ("_parents", "by_type", "statement")

    def __init__(self, statement: ast.stmt) -> None:
        self.statement = statement
        self.by_type: dict[type, list[ast.AST]] = {}
        self._parents: dict[int, ast.AST] | None = None
        by_type = self.by_type
        # The fields by hand, not ast.walk + iter_child_nodes: a third of the time.
        stack: list[ast.AST] = [statement]
        while stack:
            node = stack.pop()
            by_type.setdefault(type(node), []).append(node)
            stack.extend(reversed(_children(node)))

    @property
    def parents(self) -> dict[int, ast.AST]:
        """Child id -> parent within the statement; only fixes need it, so built then (and
        not kept in memory for every open document)."""
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            stack: list[ast.AST] = [self.statement]
            while stack:
                node = stack.pop()
                for child in _children(node):
                    parents[id(child)] = node
                    stack.append(child)
            self._parents = parents
        return self._parents


def _children(node: ast.AST) -> list[ast.AST]:
    children: list[ast.AST] = []
    for field in node._fields:
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
        self._by_statement: dict[int, _StatementNodes] = {}
        self._parts: list[_StatementNodes] = []
        for statement in tree.body:
            part = known.get(id(statement))
            if part is None or part.statement is not statement:
                part = _StatementNodes(statement)
            self._by_statement[id(statement)] = part
            self._parts.append(part)
        self._first_lines = [_first_line(part.statement) for part in self._parts]
        # (first line with decorators, last line) of each top-level statement, in order.
        self.top_level_starts: list[int] = self._first_lines
        self.top_level_spans: list[tuple[int, int]] = [
            (first, part.statement.end_lineno or part.statement.lineno)
            for first, part in zip(self._first_lines, self._parts, strict=True)
        ]

    def of_type(self, *types: type[ast.AST]) -> Iterator[ast.AST]:
        """The nodes of exactly these types (not subclasses): statement by statement in
        source order; within one statement, type by type in the order given, each depth first."""
        for part in self._parts:
            by_type = part.by_type
            for kind in types:
                yield from by_type.get(kind, ())

    def statements_of_type(self, *types: type[ast.stmt]) -> list[ast.stmt]:
        """Statements of these types in source order (the order of a walk over statements)."""
        found = [node for node in self.of_type(*types) if isinstance(node, ast.stmt)]
        if len(types) > 1:
            found.sort(key=lambda node: (node.lineno, node.col_offset))
        return found

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        line = getattr(node, "lineno", None)
        if line is None:
            # Nodes without a position (arguments, operators...): search every statement.
            parts: list[_StatementNodes] = self._parts
        else:
            # Only the statement whose lines hold the node can hold it.
            position = bisect.bisect_right(self._first_lines, line) - 1
            parts = self._parts[max(position - 1, 0) : position + 2]
        for part in parts:
            if part.statement is node:
                return self.tree
            parent = part.parents.get(id(node))
            if parent is not None:
                return parent
        return None


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


def carry_over(previous: Document, document: Document) -> None:
    """``document`` is the next version of ``previous``: its index may take over the parts of
    the latest earlier index for the statements its tree keeps."""
    found = _INDEXES.get(previous) or _PREVIOUS.get(previous)
    if found is not None:
        _PREVIOUS[document] = found
