"""The output formats of ``torchmode check``, one module each, as ruff keeps one emitter per format:
``text`` (the default), ``json`` (ruff's shape), ``github`` (workflow annotations), ``sarif``
(SARIF 2.1.0, for code scanning), and ``diff`` for ``--diff``.

A new format is a module here, a name in ``FORMATS`` and a line in ``print_findings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from torchmode.cli.checker import FileReport
from torchmode.cli.common import Problems
from torchmode.cli.formats.diff import print_diff
from torchmode.cli.formats.github import print_github
from torchmode.cli.formats.json import print_json
from torchmode.cli.formats.sarif import print_sarif
from torchmode.cli.formats.text import print_text
from torchmode.engine import RuleInfo
from torchmode.findings import Finding

__all__ = ["FORMATS", "print_diff", "print_findings"]

# The values of ``--format``.
FORMATS = ("text", "json", "github", "sarif")


def _sort_key(finding: Finding) -> tuple[int, int, str]:
    return (finding.span.start.line, finding.span.start.column, finding.code)


def print_findings(
    reports: Sequence[FileReport],
    output_format: str,
    out: TextIO,
    problems: Problems,
    rules: Sequence[RuleInfo],
    *,
    locale: str | None,
    fixing: bool,
    unsafe_fixes: bool,
    quiet: bool,
) -> None:
    """The findings of every file, in the order of the files and by position within each."""
    entries = [
        (report.source, finding) for report in reports for finding in sorted(report.findings, key=_sort_key)
    ]
    if output_format == "sarif":
        print_sarif(entries, rules, problems, locale or "en", out)
    elif output_format == "json":
        print_json(entries, out)
    elif output_format == "github":
        print_github(entries, out)
    else:
        print_text(reports, entries, out, problems, fixing=fixing, unsafe_fixes=unsafe_fixes, quiet=quiet)
