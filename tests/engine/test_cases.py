"""Case files: ``# expect: TM101`` marks each line that must be reported; nothing else may be.

Every finding's every fix is applied too: the result must parse, lose that
finding, gain no new one, and differ from the original only where the fix's
edits are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realworld.fixcheck import fix_problems
from torchmode.engine import check_source
from torchmode.findings import Finding

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


@pytest.mark.parametrize("case", CASES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_fix_is_safe(case: Path) -> None:
    """Parses, loses its finding, gains none, changes only its lines (the corpus runs the same check)."""
    text = case.read_text(encoding="utf-8")
    findings = check_source(text, str(case)).findings

    def recheck(fixed: str) -> tuple[Finding, ...]:
        return check_source(fixed, str(case)).findings

    for finding in findings:
        for fix in finding.fixes:
            _, problems = fix_problems(text, findings, finding, fix, recheck)
            assert not problems, problems


def test_every_tm101_case_finding_offers_a_fix() -> None:
    for case in CASES:
        if case.parent.name != "tm101":
            continue
        for finding in check_source(case.read_text(encoding="utf-8"), str(case)).findings:
            assert finding.fixes, f"{case.name}:{finding.span.start.line} offers no fix"
