"""Small complete training programs: what the checker reports must be what a real run shows.

Here, for each program in ``cases/``, the static findings are exactly the ``# expect: CODE``
markers of the file (every rule). ``test_programs_under_torch.py`` runs each program under real
PyTorch and holds the markers to what the run shows; this half needs no torch, so it runs on
every supported Python (the analysis reads each version's own ``ast``).

The programs are written the way training code is written, one capability each, with the
silent twin of each bug (``ok_*``): a checker that cries wolf fails here as surely as one
that misses a bug.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from torchmode.engine import Settings, check_source
from torchmode.findings import Finding

CASES = sorted((Path(__file__).resolve().parent / "cases").glob("*.py"))
EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>[A-Z0-9, ]+)")


def markers(text: str) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


def findings_of(case: Path) -> list[Finding]:
    text = case.read_text(encoding="utf-8")
    return list(check_source(text, str(case), Settings(select=("ALL",))).findings)


def describe(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.span.start.line}: {f.code} {f.message[:160]}" for f in findings) or "  (none)"


@pytest.mark.parametrize("case", CASES, ids=lambda path: path.stem)
def test_findings_are_the_marked_ones(case: Path) -> None:
    found = findings_of(case)
    reported = {(finding.span.start.line, finding.code) for finding in found}
    expected = markers(case.read_text(encoding="utf-8"))
    assert reported == expected, f"{case.name}: findings\n{describe(found)}\nmarkers {sorted(expected)}"


def test_there_are_bugs_and_silent_twins() -> None:
    """The set keeps both kinds: programs with findings and programs that must stay silent."""
    with_findings = [case for case in CASES if markers(case.read_text(encoding="utf-8"))]
    silent = [case for case in CASES if not markers(case.read_text(encoding="utf-8"))]
    assert len(with_findings) >= 20 and len(silent) >= 20, (len(with_findings), len(silent))
