"""Control-flow graph shapes: branches, loops, jumps, try/finally and with blocks."""

from __future__ import annotations

import ast
import textwrap

from torchmode.analysis.cfg import ControlFlowGraph, NodeKind


def graph(code: str) -> ControlFlowGraph:
    return ControlFlowGraph(ast.parse(textwrap.dedent(code)).body)


def node_on_line(cfg: ControlFlowGraph, line: int, kind: NodeKind = NodeKind.STATEMENT) -> int:
    for node in cfg.nodes:
        if (
            node.kind is kind
            and node.statement is not None
            and getattr(node.statement, "lineno", None) == line
        ):
            return node.index
    raise AssertionError(f"no {kind} node on line {line}")


def reachable(cfg: ControlFlowGraph, start: int) -> set[int]:
    seen, stack = {start}, [start]
    while stack:
        for edge in cfg.nodes[stack.pop()].successors:
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def test_if_else_edges_carry_the_test_and_its_truth() -> None:
    cfg = graph("if ready:\n    a()\nelse:\n    b()\nc()\n")
    test = node_on_line(cfg, 1, NodeKind.TEST)
    truths = sorted(
        (edge.truth, cfg.nodes[edge.target].statement.lineno) for edge in cfg.nodes[test].successors
    )
    assert truths == [(False, 4), (True, 2)]
    assert all(edge.condition is not None for edge in cfg.nodes[test].successors)


def test_for_loop_has_a_back_edge_and_records_its_loop() -> None:
    cfg = graph("for x in xs:\n    a()\n    b()\nc()\n")
    head = node_on_line(cfg, 1, NodeKind.FOR_NEXT)
    last = node_on_line(cfg, 3)
    assert any(edge.target == head and edge.back for edge in cfg.nodes[last].successors)
    assert [loop.statement.lineno for loop in cfg.nodes[last].loops] == [1]
    after = node_on_line(cfg, 4)
    assert cfg.nodes[after].loops == ()


def test_break_skips_while_else_and_continue_returns_to_head() -> None:
    cfg = graph(
        """
        while cond():
            if done():
                break
            if skip():
                continue
            work()
        else:
            no_break()
        after()
        """
    )
    brk = node_on_line(cfg, 4)
    cont = node_on_line(cfg, 6)
    head = node_on_line(cfg, 2, NodeKind.TEST)
    no_break = node_on_line(cfg, 9)
    after = node_on_line(cfg, 10)
    assert [edge.target for edge in cfg.nodes[brk].successors] == [after]
    assert any(edge.target == head and edge.back for edge in cfg.nodes[cont].successors)
    assert no_break not in {edge.target for edge in cfg.nodes[brk].successors}
    assert after in reachable(cfg, no_break)


def test_return_inside_try_runs_the_finally_block() -> None:
    cfg = graph(
        """
        def f():
            pass
        try:
            result = compute()
            return result
        finally:
            cleanup()
        """
    )
    ret = node_on_line(cfg, 6)
    exit_reached_through = [
        node
        for node in cfg.nodes
        if node.kind is NodeKind.STATEMENT and getattr(node.statement, "lineno", 0) == 8
    ]
    # One copy of the finally block for the return, one for exceptions; normal flow never
    # reaches the end of the body, so it gets none.
    assert len(exit_reached_through) == 2
    assert cfg.exit in reachable(cfg, ret)
    assert all(edge.target != cfg.exit for edge in cfg.nodes[ret].successors)


def test_exceptions_in_a_try_body_reach_the_handler() -> None:
    cfg = graph("try:\n    a()\n    b()\nexcept ValueError:\n    handle()\n")
    handler = next(node.index for node in cfg.nodes if isinstance(node.statement, ast.ExceptHandler))
    for line in (2, 3):
        assert handler in {edge.target for edge in cfg.nodes[node_on_line(cfg, line)].successors}


def test_break_out_of_a_with_block_pops_it() -> None:
    cfg = graph("for x in xs:\n    with ctx():\n        if x:\n            break\n")
    brk = node_on_line(cfg, 4)
    assert [edge.pops for edge in cfg.nodes[brk].successors] == [1]


def test_code_after_return_is_unreachable() -> None:
    cfg = graph("def f():\n    pass\nreturn 1\ndead()\n")
    assert all(getattr(node.statement, "lineno", 0) != 4 for node in cfg.nodes)
