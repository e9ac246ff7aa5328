"""Bounded work: huge files and deep nesting finish, and the tests prove the bound by counting.

No wall-clock assertions (timings live in bench/ and docs/robustness.md): the analysis counts
its fixpoint steps (``AnalysisWork``), and the bound is a small multiple of the control-flow
graph's size. Deep call chains hit the summary-depth budget and degrade to "no effect".
"""

from __future__ import annotations

import generated
import pytest

from torchmode.analysis.cfg import ControlFlowGraph
from torchmode.analysis.dataflow import MAX_SUMMARY_DEPTH, AnalysisWork, ModuleAnalyzer
from torchmode.engine import check_document, hover_at
from torchmode.syntax import Document, Position


def analysed(text: str) -> tuple[Document, AnalysisWork, int]:
    document = Document(text, "generated.py")
    tree = document.tree
    assert tree is not None, document.parse_failure
    analyzer = ModuleAnalyzer(document, tree)
    analyzer.run()
    nodes = sum(len(ControlFlowGraph(function.body).nodes) for function in analyzer.functions)
    return document, analyzer.work, nodes


def test_a_50000_line_file_takes_linear_fixpoint_work() -> None:
    text = generated.huge_file(50_000)
    assert text.count("\n") >= 50_000
    _, work, nodes = analysed(text)
    assert work.budgets_hit == []
    assert work.fixpoint_steps <= 2 * nodes


def test_a_10000_statement_loop_body_takes_linear_fixpoint_work() -> None:
    document, work, nodes = analysed(generated.huge_function(10_000))
    assert work.budgets_hit == []
    assert work.fixpoint_steps <= 2 * nodes
    assert [finding.code for finding in check_document(document).findings] == ["TM101"]


def test_90_nested_blocks_converge_with_work_quadratic_in_the_depth() -> None:
    """Each nested loop may revisit what it encloses once more per level: doubling the depth
    (and the size) may quadruple the work, no more. Measured: 624 steps at 45 levels, 2,208
    at 90 (x3.5); an analysis that revisited the whole nest per level would be cubic (x8)."""
    _, half_work, _ = analysed(generated.nested_blocks(45))
    document, work, _ = analysed(generated.nested_blocks(90))
    assert work.budgets_hit == [] and half_work.budgets_hit == []
    assert work.fixpoint_steps <= 4 * half_work.fixpoint_steps
    check_document(document)
    hover_at(document, Position(len(document.lines) - 1, 8))


def test_a_3000_deep_call_chain_degrades_instead_of_recursing() -> None:
    document, work, nodes = analysed(generated.call_chain(3_000))
    assert work.budgets_hit == ["summary depth"]
    assert work.fixpoint_steps <= 2 * nodes
    # Deeper than MAX_SUMMARY_DEPTH: the chain's eval() is unknown, so nothing is reported.
    assert check_document(document).findings == ()


def test_a_call_chain_within_the_depth_budget_is_followed() -> None:
    document, work, _ = analysed(generated.call_chain(MAX_SUMMARY_DEPTH - 5))
    assert work.budgets_hit == []
    assert [finding.code for finding in check_document(document).findings] == ["TM101"]


@pytest.mark.parametrize("depth", [3_000])
def test_a_3000_deep_expression_never_crashes(depth: int) -> None:
    # CPython 3.11 and 3.12 refuse to parse it (a parse failure); 3.10 and 3.13 parse it,
    # and the analysis must then walk it without recursing once per level.
    result = check_document(Document(generated.deep_expression(depth), "deep.py"))
    assert result.findings == ()


def test_a_1500_term_expression_is_analysed() -> None:
    terms = " + ".join(["model(x)"] * 1_500)
    source = f"def validate(model, x):\n    model.eval()\n    return {terms}\n"
    result = check_document(Document(source, "wide.py"))
    assert result.parse_failure is None
    # The forward calls are seen: evaluation without no_grad.
    assert {finding.code for finding in result.findings} == {"TM201"}


def test_recursion_beyond_the_stack_degrades_to_no_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchmode.engine as engine_module

    def too_deep(*_: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(engine_module, "analyze", too_deep)
    result = engine_module.check_document(Document("import torch\nmodel.eval()\n", "deep.py"))
    assert result.findings == ()
    assert result.parse_failure is None
