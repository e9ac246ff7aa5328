"""What makes a fix safe, checked the same way on case files and on the registry corpus.

``fix_problems`` applies one fix and says what is wrong with the result (nothing, for
a good fix): it must parse, the finding it was offered for must be gone, no finding
may appear that was not there before, and the text may change only on the lines the
fix's edits name. ``fix_one_by_one`` applies safe fixes one at a time with a re-check
after each, the way ``--fix`` and the editor's fix-all are documented to.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections import Counter
from collections.abc import Callable, Sequence

from torchmode.findings import Finding, Fix
from torchmode.syntax import apply_edits

# Re-analysis of a (fixed) text of the same file.
Recheck = Callable[[str], Sequence[Finding]]


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


def identity(finding: Finding) -> tuple[str, str]:
    return finding.code, without_numbers(finding.message)


def edited_lines(fix: Fix) -> set[int]:
    """The lines a fix names, and the line after each (an insert at a line's end shows there)."""
    lines: set[int] = set()
    for edit in fix.edits:
        lines.update(range(edit.span.start.line, edit.span.end.line + 1))
    return lines | {line + 1 for line in lines}


def fix_problems(
    text: str, findings: Sequence[Finding], finding: Finding, fix: Fix, recheck: Recheck
) -> tuple[str | None, list[str]]:
    """Apply ``fix`` (offered for ``finding``) to ``text``; the fixed text and what is wrong with it."""
    label = f"{finding.code} line {finding.span.start.line} fix {fix.title!r}"
    try:
        fixed = apply_edits(text, fix.edits)
    except (ValueError, IndexError) as error:
        return None, [f"{label}: its edits do not apply: {error}"]
    try:
        ast.parse(fixed)
    except (SyntaxError, ValueError) as error:
        return fixed, [f"{label}: the result does not parse: {error}"]
    problems = []
    before = Counter(identity(item) for item in findings)
    after = Counter(identity(item) for item in recheck(fixed))
    if after[identity(finding)] >= before[identity(finding)]:
        problems.append(f"{label}: the finding is still reported")
    appeared = after - before
    if appeared:
        problems.append(f"{label}: new findings {sorted(appeared)}")
    outside = changed_lines(text, fixed) - edited_lines(fix)
    if outside:
        problems.append(f"{label}: changed lines {sorted(outside)} that its edits do not name")
    return fixed, problems


def applicable_safe_fix(findings: Sequence[Finding], text: str, seen: set[str]) -> str | None:
    """The text after the first safe fix that applies, parses and leads somewhere new."""
    for finding in findings:
        for fix in finding.fixes:
            if fix.applicability != "safe":
                continue
            try:
                fixed = apply_edits(text, fix.edits)
                ast.parse(fixed)
            except (ValueError, IndexError, SyntaxError):
                continue
            if fixed not in seen:
                return fixed
    return None


def fix_one_by_one(text: str, recheck: Recheck, limit: int = 100) -> tuple[str, int]:
    """Apply safe fixes one at a time, re-checking after each; the final text and how many applied."""
    seen = {text}
    applied = 0
    findings = recheck(text)
    while applied < limit:
        fixed = applicable_safe_fix(findings, text, seen)
        if fixed is None:
            break
        seen.add(fixed)
        text = fixed
        applied += 1
        findings = recheck(text)
    return text, applied
