"""Control-flow graphs over ``ast`` statements, one per function body and one for module level.

A node is one unit the dataflow steps over: a simple statement, the test of an
``if``/``while``, the "next item" of a ``for``, entering or leaving a ``with``.
Edges may carry a branch condition (``if``/``while`` tests) so the dataflow can
keep apart the paths that test the same condition, and the number of ``with``
blocks a jump leaves so their exits are still applied on ``break``/``return``.
Nested function and class bodies are not part of their parent's graph.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from enum import Enum
from typing import cast

# ``except*`` (Python 3.11+) is a separate node type with the same shape as ``try``.
_TRY_STATEMENTS: tuple[type[ast.stmt], ...] = (
    ast.Try,
    *([ast.TryStar] if hasattr(ast, "TryStar") else []),
)


class NodeKind(Enum):
    ENTRY = "entry"
    EXIT = "exit"  # normal return or falling off the end
    RAISE_EXIT = "raise-exit"  # leaving by an exception; not part of a function's summary
    STATEMENT = "statement"
    TEST = "test"  # if/while/match test; successors carry conditions
    FOR_ITER = "for-iter"  # evaluates the iterable once
    FOR_NEXT = "for-next"  # loop head: binds the target for the next item
    WITH_ENTER = "with-enter"
    WITH_EXIT = "with-exit"
    JOIN = "join"  # an empty node where paths meet (e.g. after try/finally)


@dataclass(frozen=True)
class Loop:
    """A ``for`` or ``while`` statement, identified by its head node."""

    statement: ast.For | ast.AsyncFor | ast.While
    head: int

    @property
    def body(self) -> list[ast.stmt]:
        return self.statement.body


@dataclass(frozen=True)
class Edge:
    target: int
    condition: ast.expr | None = None  # the test that must have this truth value
    truth: bool = True
    pops: int = 0  # how many ``with`` blocks this jump leaves early
    back: bool = False  # returns to a loop head


@dataclass
class Node:
    index: int
    kind: NodeKind
    statement: ast.AST | None = None  # the statement, or the with item / test expression's owner
    expression: ast.expr | None = None  # the test for TEST, the iterable for FOR_ITER
    loops: tuple[Loop, ...] = ()  # enclosing loops, outermost first
    successors: list[Edge] = field(default_factory=list)
    predecessors: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Dangling:
    """An edge whose source is built and whose target is not known yet."""

    source: int
    condition: ast.expr | None = None
    truth: bool = True
    pops: int = 0


@dataclass
class _FinallyContext:
    """A ``try`` with a ``finally`` that jumps out of its body must run through."""

    loop_depth: int  # loops open when the try started: break/continue inside deeper loops skip it
    with_depth: int
    pending: list[tuple[_Dangling, str]] = field(default_factory=list)


@dataclass
class _JumpContext:
    loop: Loop
    break_exits: list[_Dangling]
    with_depth: int


class ControlFlowGraph:
    def __init__(self, body: list[ast.stmt]) -> None:
        self.nodes: list[Node] = []
        self.loops: list[Loop] = []
        self.entry = self._new(NodeKind.ENTRY).index
        self.exit = self._new(NodeKind.EXIT).index
        self.raise_exit = self._new(NodeKind.RAISE_EXIT).index
        self._loop_stack: list[_JumpContext] = []
        self._with_depth = 0
        self._handler_targets: list[list[int]] = []  # try handlers that catch a raise here
        self._finally_stack: list[_FinallyContext] = []
        for end in self._block(body, [_Dangling(self.entry)]):
            self._link(end.source, self.exit, end.condition, end.truth, end.pops)
        for node in self.nodes:
            for edge in node.successors:
                self.nodes[edge.target].predecessors.append(node.index)

    # -- construction -------------------------------------------------------------------

    def _new(
        self,
        kind: NodeKind,
        statement: ast.AST | None = None,
        expression: ast.expr | None = None,
    ) -> Node:
        loops = tuple(context.loop for context in getattr(self, "_loop_stack", []))
        node = Node(len(self.nodes), kind, statement, expression, loops)
        self.nodes.append(node)
        return node

    def _link(
        self,
        source: int,
        target: int,
        condition: ast.expr | None = None,
        truth: bool = True,
        pops: int = 0,
        back: bool = False,
    ) -> None:
        self.nodes[source].successors.append(Edge(target, condition, truth, pops, back))

    def _enter(self, node: Node, preds: list[_Dangling]) -> None:
        for dangling in preds:
            self._link(dangling.source, node.index, dangling.condition, dangling.truth, dangling.pops)

    def _may_raise_from(self, node: int) -> None:
        """Exceptions inside a ``try`` body may reach each handler from any statement."""
        if self._handler_targets:
            for handler in self._handler_targets[-1]:
                self._link(node, handler)

    def _block(self, body: list[ast.stmt], preds: list[_Dangling]) -> list[_Dangling]:
        for statement in body:
            if not preds:
                break  # unreachable code after return/raise/break/continue
            preds = self._statement(statement, preds)
        return preds

    def _statement(self, statement: ast.stmt, preds: list[_Dangling]) -> list[_Dangling]:
        if isinstance(statement, ast.If):
            test = self._new(NodeKind.TEST, statement, statement.test)
            self._enter(test, preds)
            self._may_raise_from(test.index)
            body_ends = self._block(statement.body, [_Dangling(test.index, statement.test, True)])
            else_ends = self._block(statement.orelse, [_Dangling(test.index, statement.test, False)])
            return body_ends + else_ends
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            iterate = self._new(NodeKind.FOR_ITER, statement, statement.iter)
            self._enter(iterate, preds)
            self._may_raise_from(iterate.index)
            head = self._new(NodeKind.FOR_NEXT, statement)
            self._link(iterate.index, head.index)
            return self._loop(statement, head, [_Dangling(head.index)], [_Dangling(head.index)])
        if isinstance(statement, ast.While):
            head = self._new(NodeKind.TEST, statement, statement.test)
            self._enter(head, preds)
            self._may_raise_from(head.index)
            return self._loop(
                statement,
                head,
                [_Dangling(head.index, statement.test, True)],
                [_Dangling(head.index, statement.test, False)],
            )
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                enter = self._new(NodeKind.WITH_ENTER, item, item.context_expr)
                self._enter(enter, preds)
                self._may_raise_from(enter.index)
                preds = [_Dangling(enter.index)]
                self._with_depth += 1
            ends = self._block(statement.body, preds)
            for item in reversed(statement.items):
                self._with_depth -= 1
                leave = self._new(NodeKind.WITH_EXIT, item)
                self._enter(leave, ends)
                ends = [_Dangling(leave.index)]
            return ends
        if isinstance(statement, _TRY_STATEMENTS):
            # ``try``/``except*`` have the same fields as ``try``/``except``.
            return self._try(cast(ast.Try, statement), preds)
        if isinstance(statement, ast.Match):
            subject = self._new(NodeKind.STATEMENT, statement, statement.subject)
            self._enter(subject, preds)
            match_ends: list[_Dangling] = [_Dangling(subject.index)]
            for case in statement.cases:
                match_ends += self._block(case.body, [_Dangling(subject.index)])
            return match_ends
        node = self._new(NodeKind.STATEMENT, statement)
        self._enter(node, preds)
        self._may_raise_from(node.index)
        if isinstance(statement, ast.Return):
            self._jump(node.index, "return")
            return []
        if isinstance(statement, ast.Raise):
            if not self._handler_targets:
                self._link(node.index, self.raise_exit, pops=self._with_depth)
            return []
        if isinstance(statement, (ast.Break, ast.Continue)) and self._loop_stack:
            self._jump(node.index, "break" if isinstance(statement, ast.Break) else "continue")
            return []
        return [_Dangling(node.index)]

    def _jump(self, source: int, kind: str) -> None:
        """return/break/continue: through the innermost ``finally`` it leaves, else to its target."""
        if self._finally_stack:
            context = self._finally_stack[-1]
            if kind == "return" or context.loop_depth >= len(self._loop_stack):
                context.pending.append((_Dangling(source, pops=self._with_depth - context.with_depth), kind))
                return
        if kind == "return":
            self._link(source, self.exit, pops=self._with_depth)
            return
        loop_context = self._loop_stack[-1]
        pops = self._with_depth - loop_context.with_depth
        if kind == "break":
            loop_context.break_exits.append(_Dangling(source, pops=pops))
        else:
            self._link(source, loop_context.loop.head, pops=pops, back=True)

    def _loop(
        self,
        statement: ast.For | ast.AsyncFor | ast.While,
        head: Node,
        body_preds: list[_Dangling],
        exit_preds: list[_Dangling],
    ) -> list[_Dangling]:
        loop = Loop(statement, head.index)
        self.loops.append(loop)
        context = _JumpContext(loop, [], self._with_depth)
        self._loop_stack.append(context)
        head.loops = (*head.loops, loop)
        body_ends = self._block(statement.body, body_preds)
        for end in body_ends:
            self._link(end.source, head.index, end.condition, end.truth, end.pops, back=True)
        self._loop_stack.pop()
        return self._block(statement.orelse, exit_preds) + context.break_exits

    def _try(self, statement: ast.Try, preds: list[_Dangling]) -> list[_Dangling]:
        start = self._new(NodeKind.JOIN, statement)
        self._enter(start, preds)
        handler_entries = [self._new(NodeKind.JOIN, handler) for handler in statement.handlers]
        if statement.finalbody and not statement.handlers:
            # try/finally without except: an exception runs the finally block, then propagates.
            handler_entries = [self._new(NodeKind.JOIN, statement)]
        for entry in handler_entries:
            self._link(start.index, entry.index)
        finally_context: _FinallyContext | None = None
        if statement.finalbody:
            finally_context = _FinallyContext(len(self._loop_stack), self._with_depth)
            self._finally_stack.append(finally_context)
        self._handler_targets.append([entry.index for entry in handler_entries])
        body_ends = self._block(statement.body, [_Dangling(start.index)])
        self._handler_targets.pop()
        ends = self._block(statement.orelse, body_ends)
        if statement.handlers:
            for handler, entry in zip(statement.handlers, handler_entries, strict=True):
                ends += self._block(handler.body, [_Dangling(entry.index)])
        if finally_context is None:
            return ends
        self._finally_stack.pop()
        if not statement.handlers:
            # The exceptional path runs its own copy of the finally block, then re-raises.
            for end in self._block(statement.finalbody, [_Dangling(handler_entries[0].index)]):
                if self._handler_targets:
                    for outer_handler in self._handler_targets[-1]:
                        self._link(end.source, outer_handler)
                else:
                    self._link(end.source, self.raise_exit, pops=self._with_depth)
        # Each kind of early exit runs a copy of the finally block, then goes on to its target.
        for kind in ("return", "break", "continue"):
            jumps = [dangling for dangling, jump_kind in finally_context.pending if jump_kind == kind]
            if jumps:
                for end in self._block(statement.finalbody, jumps):
                    self._jump(end.source, kind)
        return self._block(statement.finalbody, ends)

    # -- queries --------------------------------------------------------------------------

    def reverse_postorder(self) -> list[int]:
        order: list[int] = []
        seen: set[int] = set()
        stack: list[tuple[int, int]] = [(self.entry, 0)]
        seen.add(self.entry)
        while stack:
            node, child = stack.pop()
            successors = self.nodes[node].successors
            if child < len(successors):
                stack.append((node, child + 1))
                target = successors[child].target
                if target not in seen:
                    seen.add(target)
                    stack.append((target, 0))
            else:
                order.append(node)
        order.reverse()
        return order
