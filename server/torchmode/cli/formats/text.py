"""``--format text`` (the default): ``path:line:col: CODE [*] message`` per finding, as ruff
prints it, then a summary of what was found, fixed and could be fixed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from torchmode.cli.checker import FileReport, applicable_fix
from torchmode.cli.common import Problems, plural
from torchmode.cli.sources import Source
from torchmode.findings import Finding


def text_line(source: Source, finding: Finding, fixable: bool) -> str:
    marker = "[*] " if fixable else ""
    return f"{source.where(finding.span.start)}: {finding.code} {marker}{finding.message}"


def print_text(
    reports: Sequence[FileReport],
    entries: Sequence[tuple[Source, Finding]],
    out: TextIO,
    problems: Problems,
    *,
    fixing: bool,
    unsafe_fixes: bool,
    quiet: bool,
) -> None:
    """The findings, marked ``[*]`` where ``--fix`` would fix them, and (unless quiet) the summary."""
    unchecked = problems.count
    for source, finding in entries:
        marked = not fixing and applicable_fix(finding, unsafe_fixes) is not None
        print(text_line(source, finding, marked), file=out)
    if quiet:
        return
    fixed = sum(report.fixed_count for report in reports)
    remaining = len(entries)
    if fixing and fixed:
        print(f"Found {plural(fixed + remaining, 'error')} ({fixed} fixed, {remaining} remaining).", file=out)
    elif remaining:
        print(f"Found {plural(remaining, 'error')}.", file=out)
    elif not unchecked:
        print("All checks passed!", file=out)
    if unchecked:
        # Without this line a run whose only file failed to parse would look clean.
        print(f"{plural(unchecked, 'file')} could not be checked (reasons on stderr).", file=out)
    if fixing or not remaining:
        return
    fixable = sum(1 for _, finding in entries if applicable_fix(finding, unsafe_fixes) is not None)
    hidden = sum(1 for _, finding in entries if applicable_fix(finding, True) is not None) - fixable
    hidden_note = (
        f"{plural(hidden, 'hidden fix')} can be enabled with the `--unsafe-fixes` option" if hidden else ""
    )
    if fixable:
        print(
            f"[*] {fixable} fixable with `--fix`" + (f" ({hidden_note})." if hidden_note else "."), file=out
        )
    elif hidden_note:
        print(f"No fixes available ({hidden_note}).", file=out)
