"""``--format sarif``: one SARIF 2.1.0 log (every rule's metadata, the findings with their
related places and fixes, the files that could not be checked), for code scanning."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from torchmode import __version__
from torchmode.cli.common import Problems
from torchmode.cli.sources import Source
from torchmode.engine import RuleInfo
from torchmode.findings import Finding, Fix, Severity
from torchmode.syntax import Span


def print_sarif(
    entries: Sequence[tuple[Source, Finding]],
    rules: Sequence[RuleInfo],
    problems: Problems,
    locale: str,
    out: TextIO,
) -> None:
    json.dump(sarif_log(entries, rules, problems, locale), out, indent=2, ensure_ascii=False)
    out.write("\n")


# SARIF levels: "note" is the closest to LSP's information and hint.
_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Relative artifact URIs are resolved against this base, which is the folder torchmode ran in.
SRCROOT = "%SRCROOT%"


def _sarif_uri(path: Path) -> tuple[str, str | None]:
    """(uri, uriBaseId): relative to the current folder when below it, else an absolute file URI.

    Code scanning matches relative paths against the repository, so a run from the
    checkout's root gives paths it can show; absolute ones only work on that machine.
    """
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        inside = os.path.commonpath([absolute, cwd]) == cwd
    except ValueError:  # different drives on Windows
        inside = False
    if inside:
        relative = Path(os.path.relpath(absolute, cwd)).as_posix()
        return urllib.parse.quote(relative), SRCROOT
    return Path(absolute).as_uri(), None


def _sarif_region(span: Span) -> dict[str, int]:
    # SARIF lines and columns are 1-based; the run declares columns as code points,
    # which is what Span columns count.
    return {
        "startLine": span.start.line,
        "startColumn": span.start.column + 1,
        "endLine": span.end.line,
        "endColumn": span.end.column + 1,
    }


def _sarif_artifact(path: Path) -> dict[str, Any]:
    uri, base = _sarif_uri(path)
    return {"uri": uri, "uriBaseId": base} if base else {"uri": uri}


def _sarif_physical(path: Path, span: Span) -> dict[str, Any]:
    return {"artifactLocation": _sarif_artifact(path), "region": _sarif_region(span)}


def _first_section_paragraph(docs: str) -> str | None:
    """The first paragraph under the page's first ``##`` heading ("What it does"), as one line."""
    lines: list[str] = []
    in_section = False
    for line in docs.splitlines():
        if line.startswith("## "):
            if lines:
                break
            in_section = True
        elif in_section and line.strip():
            lines.append(line.strip())
        elif lines:
            break
    return " ".join(lines) or None


def _sarif_rule(rule: RuleInfo, locale: str) -> dict[str, Any]:
    summary = rule.summary(locale) or rule.name
    docs = rule.docs(locale)
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": (_first_section_paragraph(docs) if docs else None) or summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.default_severity]},
        "properties": {"tags": ["pytorch", "correctness"]},
    }
    if docs is not None:
        # Code scanning shows `help.markdown` as the rule's help; `text` is required next to it.
        descriptor["help"] = {"text": docs, "markdown": docs}
    url = rule.url()
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _sarif_fix(source: Source, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": fix.title},
        "artifactChanges": [
            {
                "artifactLocation": _sarif_artifact(source.path),
                "replacements": [
                    {"deletedRegion": _sarif_region(edit.span), "insertedContent": {"text": edit.new_text}}
                    for edit in fix.edits
                ],
            }
        ],
        # Not a SARIF notion; kept so that consumers can tell what `--fix` would apply.
        "properties": {"applicability": fix.applicability},
    }


def _sarif_result(source: Source, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": _sarif_physical(source.path, finding.span)}],
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": index,
                "physicalLocation": _sarif_physical(Path(item.path) if item.path else source.path, item.span),
                "message": {"text": item.message},
            }
            for index, item in enumerate(finding.related)
        ]
    if finding.fixes:
        result["fixes"] = [_sarif_fix(source, fix) for fix in finding.fixes]
    return result


def sarif_log(
    entries: Sequence[tuple[Source, Finding]], rules: Sequence[RuleInfo], problems: Problems, locale: str
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: every rule's metadata, the findings, and unchecked files."""
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    notifications = [{"level": level, "message": {"text": message}} for level, message in problems.messages]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "torchmode",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(rule, locale) for rule in rules],
            }
        },
        "invocations": [
            {"executionSuccessful": problems.count == 0, "toolExecutionNotifications": notifications}
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(source, finding, rule_index) for source, finding in entries],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
