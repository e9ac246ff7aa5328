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
from collections.abc import Iterator

from torchmode.syntax.document import Document


class _StatementNodes:
    """One top-level statement's nodes (depth first, in source order) by type, and parents."""

    __slots__ = ("by_type", "parents", "statement")

    def __init__(self, statement: ast.stmt) -> None:
        self.statement = statement
        self.by_type: dict[type, list[ast.AST]] = {}
        self.parents: dict[int, ast.AST] = {}
        by_type = self.by_type
        parents = self.parents
        # The fields by hand, not ast.walk + iter_child_nodes: a third of the time.
        stack: list[ast.AST] = [statement]
        while stack:
            node = stack.pop()
            by_type.setdefault(type(node), []).append(node)
            children: list[ast.AST] = []
            for field in node._fields:
                value = getattr(node, field, None)
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, ast.AST) and not isinstance(item, ast.expr_context):
                            parents[id(item)] = node
                            children.append(item)
                elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
                    parents[id(value)] = node
                    children.append(value)
            stack.extend(reversed(children))


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
        self._parents: dict[int, ast.AST] | None = None

    def of_type(self, *types: type[ast.AST]) -> Iterator[ast.AST]:
        """The nodes of exactly these types (not subclasses): statement by statement in
        source order; within one statement, type by type in the order given, each depth first."""
        for part in self._parts:
            by_type = part.by_type
            for kind in types:
                yield from by_type.get(kind, ())

    def parent_of(self, node: ast.AST) -> ast.AST | None:
        if self._parents is None:
            parents: dict[int, ast.AST] = {}
            for part in self._parts:
                parents.update(part.parents)
                parents[id(part.statement)] = self.tree
            self._parents = parents
        return self._parents.get(id(node))


def node_index(document: Document) -> NodeIndex | None:
    """The document's index (None when it does not parse), built on first use."""
    index = document.__dict__.get("_node_index")
    if index is None:
        tree = document.tree
        if tree is None:
            return None
        previous = document.__dict__.pop("_previous_node_index", None)
        index = NodeIndex(tree, previous if isinstance(previous, NodeIndex) else None)
        document.__dict__["_node_index"] = index
    return index
