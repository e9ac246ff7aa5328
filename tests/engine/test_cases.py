"""Case files: ``# expect: TM101`` marks each line that must be reported; nothing else may be.

Every finding's every fix is applied too: the result must parse, lose that
finding, gain no new one, and differ from the original only where the fix's
edits are.
"""

from __future__ import annotations

import ast
import difflib
import re
from pathlib import Path

import pytest

from torchmode.engine import check_source
from torchmode.syntax import apply_edits

CASES = sorted((Path(__file__).resolve().parent.parent / "cases").rglob("*.py"))
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9, ]+)")


def expected_findings(text: str) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            expected.update((number, code.strip()) for code in match.group("codes").split(","))
    return expected


@pytest.mark.parametrize("case", CASES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_case_file_findings(case: Path) -> None:
    """The folder's rule, and every rule a marker in the file names, report exactly the markers.

    Other rules may report on a case file written for one rule (an evaluation
    without ``no_grad`` in a TM101 case is a fair TM201); a case that cares says
    so with a marker.
    """
    text = case.read_text(encoding="utf-8")
    result = check_source(text, str(case))
    assert result.parse_failure is None
    expected = expected_findings(text)
    checked = {case.parent.name.upper()} | {code for _, code in expected}
    reported = {
        (finding.span.start.line, finding.code) for finding in result.findings if finding.code in checked
    }
    assert reported == expected


def test_cases_cover_both_outcomes() -> None:
    firing = [case for case in CASES if expected_findings(case.read_text(encoding="utf-8"))]
    silent = [case for case in CASES if not expected_findings(case.read_text(encoding="utf-8"))]
    assert len(firing) >= 5 and len(silent) >= 5


def changed_lines(before: str, after: str) -> set[int]:
    """1-based lines of ``before`` that the change touches (inserts count at their anchor)."""
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    for tag, start, end, _, _ in matcher.get_opcodes():
        if tag != "equal":
            touched.update(range(start + 1, max(end, start + 1) + 1))
    return touched


def without_numbers(text: str) -> str:
    """Messages name lines; a fix that inserts a line shifts them, nothing else may change."""
    return re.sub(r"[0-9]+", "N", text)


@pytest.mark.parametrize("case", CASES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_fix_is_safe(case: Path) -> None:
    text = case.read_text(encoding="utf-8")
    findings = check_source(text, str(case)).findings
    for finding in findings:
        for fix in finding.fixes:
            fixed = apply_edits(text, fix.edits)
            ast.parse(fixed)
            after = check_source(fixed, str(case)).findings
            # The finding is gone and nothing new appeared (a fix may also settle other
            # findings with the same cause).
            assert len(after) < len(findings), (fix.title, [f.message for f in after])
            before_keys = [(f.code, without_numbers(f.message)) for f in findings]
            for remaining in after:
                assert (remaining.code, without_numbers(remaining.message)) in before_keys, (
                    fix.title,
                    remaining.message,
                )
            edited = set()
            for edit in fix.edits:
                edited.update(range(edit.span.start.line, edit.span.end.line + 1))
            assert changed_lines(text, fixed) <= edited | {line + 1 for line in edited}, fix.title


def test_every_tm101_case_finding_offers_a_fix() -> None:
    for case in CASES:
        if case.parent.name != "tm101":
            continue
        for finding in check_source(case.read_text(encoding="utf-8"), str(case)).findings:
            assert finding.fixes, f"{case.name}:{finding.span.start.line} offers no fix"
