"""Engine fuzz: random edit sequences on real files never crash the engine or break a fix.

Deterministic (``derandomize``) and bounded, so it runs in ``make test``; ``make fuzz`` runs
the long server fuzz (bench/fuzz_server.py).
"""

from __future__ import annotations

import ast
import difflib
import random

from edits import CORPUS, REPO, corpus_texts, random_edit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchmode.engine import check_document
from torchmode.engine import hover_at as engine_hover_at
from torchmode.findings import Finding, Fix
from torchmode.syntax import Document, Position, apply_edits

TEXTS = corpus_texts()
FUZZ = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def end_position(document: Document) -> Position:
    return Position(len(document.lines), len(document.lines[-1]))


def assert_spans_inside(document: Document, findings: tuple[Finding, ...]) -> None:
    last = end_position(document)
    previous = Position(1, 0)
    for finding in findings:
        span = finding.span
        assert Position(1, 0) <= span.start <= span.end <= last, (finding.code, span, last)
        assert span.end.column <= len(document.line_text(span.end.line)), (finding.code, span)
        assert span.start.column <= len(document.line_text(span.start.line)), (finding.code, span)
        assert previous <= span.start, "findings out of order"
        previous = span.start
        for related in finding.related:
            assert Position(1, 0) <= related.span.start <= related.span.end <= last


def named_lines(fix: Fix) -> set[int]:
    lines: set[int] = set()
    for edit in fix.edits:
        lines.update(range(edit.span.start.line, edit.span.end.line + 1))
    return lines


def changed_lines(before: str, after: str) -> set[int]:
    """1-based lines of ``before`` that a line diff touches; an insertion touches its neighbours.

    Lines as Python and the checker count them: ``str.splitlines`` also breaks at form feeds
    and other separators inside a line, and would put every later line one further down."""
    old, new = Document(before, "before.py").lines, Document(after, "after.py").lines
    touched: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # pure insertion between lines i1 and i1 + 1: either neighbour may be named
            touched.add(-(i1 + 1))
        touched.update(range(i1 + 1, i2 + 1))
    return touched


def assert_fix_is_safe(document: Document, finding: Finding, fix: Fix, findings: tuple[Finding, ...]) -> None:
    fixed = apply_edits(document.text, fix.edits)
    ast.parse(fixed)  # raises if the fix broke the syntax
    after = check_document(Document(fixed, document.path)).findings
    same_code_before = sum(1 for other in findings if other.code == finding.code)
    same_code_after = sum(1 for other in after if other.code == finding.code)
    assert same_code_after < same_code_before, (finding.code, fix.title)
    allowed = named_lines(fix)
    for line in changed_lines(document.text, fixed):
        if line < 0:
            assert {-line - 1, -line} & (allowed | {0}) or not allowed, (fix.title, line, allowed)
        else:
            assert line in allowed, (fix.title, line, sorted(allowed))


def check_invariants(text: str, rng: random.Random) -> int:
    document = Document(text, "fuzz.py")
    findings = check_document(document).findings
    assert_spans_inside(document, findings)
    last = end_position(document)
    for _ in range(5):
        line = rng.randint(1, last.line)
        engine_hover_at(document, Position(line, rng.randint(0, len(document.line_text(line)) + 2)))
    applied = 0
    for finding in findings:
        for fix in finding.fixes:
            assert_fix_is_safe(document, finding, fix, findings)
            applied += 1
    return applied


@FUZZ
@given(
    file_index=st.integers(0, len(TEXTS) - 1), rng=st.randoms(use_true_random=False), edits=st.integers(1, 12)
)
def test_random_edit_sequences_keep_engine_invariants(
    file_index: int, rng: random.Random, edits: int
) -> None:
    text = TEXTS[file_index]
    for _ in range(edits):
        text = random_edit(text, rng, TEXTS).apply(text)
        check_invariants(text, rng)


def test_every_fix_of_every_unedited_file_is_safe() -> None:
    applied = sum(
        check_invariants(text, random.Random(path.name)) for path, text in zip(CORPUS, TEXTS, strict=True)
    )
    assert applied > 0


def test_compiler_warnings_about_user_code_are_not_parse_failures_or_output() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under ``python -W error``: a leaked warning would raise
        document = Document("path = '\\d+'\nassert (1, 'x')\n", "warns.py")
        assert document.tree is not None
        assert document.parse_failure is None


def test_moving_a_flagged_train_call_into_the_loop_removes_tm101() -> None:
    path = REPO / "tests" / "cases" / "tm202" / "ok_epoch_runner_plain_flag.py"
    # A flag the later branches do not test (``is_train`` renamed in one place only).
    text = path.read_text(encoding="utf-8").replace("model.train(is_train)", "model.train(ais_train)", 1)
    document = Document(text, str(path))
    (finding,) = check_document(document).findings
    (fix,) = finding.fixes
    fixed = check_document(Document(apply_edits(text, fix.edits), str(path))).findings
    assert [other.code for other in fixed] == []


def test_lines_changed_by_a_fix_are_counted_as_python_counts_them() -> None:
    # A form feed starts the file (the fuzz typed one): still one line, not two.
    before = '\f"""Doc."""\n\n\ndef f(teacher):\n    teacher.eval\n'
    after = before.replace("teacher.eval\n", "teacher.eval()\n")
    assert changed_lines(before, after) == {5}
