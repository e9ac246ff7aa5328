"""``torchmode check|fix|rules|explain|lsp``: the command-line face of the engine.

The CLI only presents: it finds files, reads them, hands each text to
``engine.check_document`` and prints or applies what comes back. It never
analyses code itself. Its behaviour follows ruff's ``check`` command (output
shapes, ``--fix``/``--diff``, exit codes, configuration in the nearest
``pyproject.toml`` of each file with command-line options on top) so that CI
setups written for ruff carry over. Output formats: text, json (ruff's shape),
github (workflow commands) and sarif (SARIF 2.1.0 for code scanning).

Exit codes: 0 nothing found, 1 findings remain (or ``--diff`` has a diff),
2 usage error or a file that could not be read, decoded, parsed or written.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import importlib
import io
import json
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from torchmode import __version__, engine, gc_tuning
from torchmode.cli.common import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    Problems,
    UsageError,
    display_path,
    locale_from_environment,
)
from torchmode.cli.common import locale_option as _locale_option
from torchmode.cli.common import plural as _plural
from torchmode.cli.discovery import Discovery, ExcludeGlob
from torchmode.cli.settings import SettingsResolver
from torchmode.cli.settings import show_settings as _show_settings
from torchmode.cli.sources import Source, read_source, write_source
from torchmode.engine import CheckResult, Editable, PlainText, RuleInfo, Settings, Workspace
from torchmode.findings import Finding, Fix, Severity
from torchmode.syntax import Document, Position, Span, TextEdit
from torchmode.syntax.notebook import Notebook, NotebookProgram

# --- checking and fixing ----------------------------------------------------------------


def _sort_key(finding: Finding) -> tuple[int, int, str]:
    return (finding.span.start.line, finding.span.start.column, finding.code)


def applicable_fix(finding: Finding, unsafe: bool) -> Fix | None:
    """The fix ``--fix`` would apply: the first safe one, or the first of any kind with unsafe fixes on."""
    for fix in finding.fixes:
        if fix.applicability == "safe" or unsafe:
            return fix
    return None


@dataclass
class FileReport:
    source: Source
    findings: tuple[Finding, ...]
    fixed_text: str | None = None  # set by --fix/--diff when some fix applied
    fixed_count: int = 0
    # Why a fix was refused (e.g. it would not parse). The finding stays reported.
    fix_problems: list[str] = field(default_factory=list)


class Checker:
    def __init__(self, problems: Problems, workspace: Workspace | None = None) -> None:
        self.problems = problems
        # The checked files' projects: calls into their other files are followed.
        self.workspace = workspace

    def check(self, source: Source, settings: Settings, text: str | None = None) -> CheckResult | None:
        """Run the engine; report a parse failure or an engine crash as a file error."""
        # The absolute path lets the engine resolve imports of neighbouring files.
        document = Document(source.program_text if text is None else text, os.path.abspath(source.path))
        try:
            result = engine.check_document(document, settings, self.workspace)
        except Exception as error:  # an engine bug must not hide the other files' results
            self.problems.error(
                f"{source.display}: internal error while checking: {type(error).__name__}: {error}"
            )
            return None
        if result.parse_failure is not None:
            failure = result.parse_failure
            self.problems.error(f"Failed to parse {source.where(failure.position)}: {failure.message}")
            return None
        if source.notebook is not None:
            program = source.notebook.program
            result = dataclasses.replace(
                result,
                findings=tuple(
                    dataclasses.replace(
                        finding,
                        message=program.relabel_lines(finding.message),
                        related=tuple(
                            dataclasses.replace(item, message=program.relabel_lines(item.message))
                            for item in finding.related
                        ),
                    )
                    for finding in result.findings
                ),
            )
        return result

    def fix(self, source: Source, settings: Settings, unsafe: bool) -> FileReport | None:
        """Apply fixes one at a time, re-checking after each, until none applies
        (``engine.fix_until_stable``, the loop the editor's fix-all runs too)."""
        result = self.check(source, settings)
        if result is None:
            return None
        program: Editable = source.notebook.program if source.notebook is not None else PlainText(source.text)

        def check(fixed: Editable) -> CheckResult | None:
            return self.check(source, settings, fixed.text)

        outcome = engine.fix_until_stable(result, program, check, unsafe)
        if outcome.result is None:
            return None
        report = FileReport(source, outcome.result.findings, fixed_count=outcome.applied)
        for refusal in outcome.refusals:
            finding, fix = refusal.finding, refusal.fix
            why = refusal.detail if refusal.reason == "edit" else "it would produce invalid syntax"
            report.fix_problems.append(
                f"{source.where(finding.span.start)}: {finding.code} fix {fix.title!r} not applied: {why}"
            )
        if not outcome.converged:
            report.fix_problems.append(
                f"{source.display}: fixes did not converge after {engine.MAX_FIX_PASSES} passes; "
                "the remaining findings are left as they are"
            )
        if source.notebook is not None and isinstance(outcome.program, NotebookProgram):
            # Positions of the remaining findings are in the fixed program.
            report.source = dataclasses.replace(
                source, notebook=source.notebook.with_program(outcome.program)
            )
            if outcome.program.text != source.program_text:
                report.fixed_text = report.source.notebook.dumps() if report.source.notebook else None
        elif outcome.program.text != source.text:
            report.fixed_text = outcome.program.text
        return report


# --- output formats ---------------------------------------------------------------------


def _location(line: int, column: int) -> dict[str, int]:
    return {"row": line, "column": column + 1}


def _relative_location(source: Source, position: Position) -> dict[str, int]:
    """Row and column within the file, or within the position's cell in a notebook."""
    _, line, column = source.locate(position)
    return _location(line, column)


def _json_edit(source: Source, edit: TextEdit) -> dict[str, Any]:
    return {
        "content": edit.new_text,
        "location": _relative_location(source, edit.span.start),
        "end_location": _relative_location(source, edit.span.end),
    }


def finding_to_json(source: Source, finding: Finding) -> dict[str, Any]:
    """One finding in ruff's ``--output-format json`` shape (1-based columns).

    In a notebook, ``cell`` is the 1-based cell number (markdown cells count) and
    rows are relative to that cell, as in ruff; for a .py file it is null.
    """
    fix = finding.preferred_fix
    cell, _, _ = source.locate(finding.span.start)
    return {
        "cell": cell,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity.value,
        "filename": os.path.abspath(source.path),
        "location": _relative_location(source, finding.span.start),
        "end_location": _relative_location(source, finding.span.end),
        "fix": None
        if fix is None
        else {
            "message": fix.title,
            "applicability": fix.applicability,
            "edits": [_json_edit(source, edit) for edit in fix.edits],
        },
        "url": finding.url or None,
        "noqa_row": source.locate(finding.span.start)[1],
    }


def _github_escape(value: str, in_property: bool) -> str:
    # GitHub workflow-command escaping (the runner's own rules): "%" first, so that the
    # escapes it introduces are not escaped again; properties also escape ":" and ",",
    # which separate a command's properties from each other and from the message.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if in_property:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def _text_line(source: Source, finding: Finding, fixable: bool) -> str:
    marker = "[*] " if fixable else ""
    return f"{source.where(finding.span.start)}: {finding.code} {marker}{finding.message}"


def _github_line(source: Source, finding: Finding) -> str:
    """``::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`` (1-based columns).

    The file is absolute, as in ruff: the runner turns paths inside the workspace
    into repository paths, whatever folder torchmode ran in. The message repeats
    the location so that the raw log line is useful on its own.
    """
    # In a notebook the annotation points at the cell's line; the text names the cell.
    _, start_line, start_column = source.locate(finding.span.start)
    _, end_line, end_column = source.locate(finding.span.end)
    properties = ",".join(
        f"{key}={_github_escape(str(value), True)}"
        for key, value in (
            ("title", f"{finding.code} {finding.name}" if finding.name else finding.code),
            ("file", os.path.abspath(source.path)),
            ("line", start_line),
            ("col", start_column + 1),
            ("endLine", end_line),
            ("endColumn", end_column + 1),
        )
    )
    text = f"{source.where(finding.span.start)}: {finding.code} {finding.message}"
    return f"::{_GITHUB_LEVEL[finding.severity]} {properties}::{_github_escape(text, False)}"


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


def _sarif_rule(rule: RuleEntry, locale: str) -> dict[str, Any]:
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
    entries: Sequence[tuple[Source, Finding]], rules: Sequence[RuleEntry], problems: Problems, locale: str
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


# --- commands ---------------------------------------------------------------------------


def _project(args: argparse.Namespace) -> Workspace | None:
    if args.no_follow_imports:
        return None
    return Workspace.for_paths(Path(path) for path in args.paths or ["."])


# Below this many files per process, starting processes costs more than it saves.
_FILES_PER_JOB = 8


def _jobs(requested: int | None, files: int) -> int:
    """Processes to check ``files`` files in: ``--jobs`` (default: the cores), never more than
    the files can keep busy."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = requested if requested is not None else cores
    return max(1, min(wanted, files // _FILES_PER_JOB))


def _check_chunk(
    args: argparse.Namespace, paths: list[Path]
) -> tuple[list[FileReport], list[tuple[str, str]]]:
    """A worker process: check some files with its own project; problems are returned, not printed."""
    rules = _rules()
    known_codes = None if rules is None else [rule.code for rule in rules]
    problems = Problems(io.StringIO())
    resolver = SettingsResolver(args, known_codes, problems)
    checker = Checker(problems, _project(args))
    reports: list[FileReport] = []
    with gc_tuning.tuned():  # a spawned worker does not inherit the parent's
        for path in paths:
            report = _read_and_check(path, checker, resolver, problems)
            if report is not None:
                reports.append(report)
    return reports, problems.messages


def _read_and_check(
    path: Path,
    checker: Checker,
    resolver: SettingsResolver,
    problems: Problems,
    fixing: bool = False,
    unsafe: bool = False,
) -> FileReport | None:
    """One file: read, its settings, checked (or fixed); None if it could not be."""
    source = read_source(path)
    if isinstance(source, str):
        problems.error(f"{display_path(path)}: {source}")
        return None
    settings = resolver.resolve(path).settings
    if fixing:
        return checker.fix(source, settings, unsafe)
    result = checker.check(source, settings)
    return None if result is None else FileReport(source, result.findings)


def _check_in_processes(
    args: argparse.Namespace, paths: list[Path], jobs: int, problems: Problems
) -> list[FileReport]:
    """``--jobs N``: the files in contiguous chunks (a package's files share one worker's cache
    of imported files), results and problems in the order of the files."""
    import concurrent.futures
    import multiprocessing

    chunk_count = jobs * 4
    size = -(-len(paths) // chunk_count)
    chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    reports: list[FileReport] = []
    seen: set[tuple[str, str]] = set()
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        for chunk_reports, messages in pool.map(_check_chunk, [args] * len(chunks), chunks):
            reports.extend(chunk_reports)
            for level, message in messages:
                if level == "warning" and (level, message) in seen:
                    continue  # a bad pyproject.toml read by several workers: said once
                seen.add((level, message))
                (problems.error if level == "error" else problems.warning)(message)
    return reports


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def _run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = _rules()
    known_codes = None if rules is None else [rule.code for rule in rules]
    problems = Problems(err)
    resolver = SettingsResolver(args, known_codes, problems)
    discovery = Discovery(
        [ExcludeGlob(glob) for glob in args.exclude or ()], args.respect_gitignore, problems
    )
    paths = discovery.files(args.paths or ["."])
    if args.show_settings:
        return _show_settings(resolver, paths, args.paths or ["."], out)
    if not paths and problems.count == 0:
        problems.warning("No Python files found under the given path(s)")

    fixing = args.fix or args.diff
    jobs = _jobs(args.jobs, len(paths))
    if jobs > 1 and not fixing:
        parallel_reports = _check_in_processes(args, paths, jobs, problems)
        _print_findings(parallel_reports, args, out, problems, rules or [])
        if problems.count:
            return EXIT_ERROR
        remaining = sum(len(report.findings) for report in parallel_reports)
        return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN

    project = _project(args)
    checker = Checker(problems, project)
    reports: list[FileReport] = []
    for path in paths:
        report = _read_and_check(path, checker, resolver, problems, fixing, args.unsafe_fixes)
        if report is None:
            continue
        source = report.source
        for message in report.fix_problems:
            problems.warning(message)
        if args.fix and not args.diff and report.fixed_text is not None:
            failure = write_source(source, report.fixed_text)
            if failure is not None:
                problems.error(f"{source.display}: {failure}")
                report.fixed_text = None
                continue
            if project is not None:
                project.changed(Path(os.path.abspath(source.path)))  # later files see the fixed text
        reports.append(report)

    if args.diff:
        return _print_diff(reports, out, err, problems, quiet=args.quiet)
    _print_findings(reports, args, out, problems, rules or [])
    if problems.count:
        return EXIT_ERROR
    remaining = sum(len(report.findings) for report in reports)
    return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN


def _source_lines(text: str) -> list[str]:
    """Lines with their terminators. Unlike ``str.splitlines`` only ``\\n``, ``\\r\\n`` and ``\\r``
    end a line, as in Python's tokenizer; a form feed inside a line must not split it."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _diff_pieces(report: FileReport) -> list[tuple[str, str, str]]:
    """(before, after, name) to diff: the file, or each changed cell (``nb.ipynb:cell 3``, as ruff)."""
    assert report.fixed_text is not None
    notebook = report.source.notebook
    if notebook is None:
        return [(report.source.text, report.fixed_text, report.source.display)]
    original = Notebook.parse(report.source.text).program
    pieces: list[tuple[str, str, str]] = []
    for cell in notebook.program.cells:
        before = original.cells[original.slot_of_cell(cell.index)].source
        if before != cell.source:
            pieces.append((before, cell.source, f"{report.source.display}:cell {cell.index + 1}"))
    return pieces


def _print_diff(reports: list[FileReport], out: TextIO, err: TextIO, problems: Problems, quiet: bool) -> int:
    fixed = 0
    for report in reports:
        if report.fixed_text is None:
            continue
        fixed += report.fixed_count
        for before, after, name in _diff_pieces(report):
            lines = difflib.unified_diff(
                _source_lines(before), _source_lines(after), fromfile=name, tofile=name
            )
            for line in lines:
                out.write(line)
                if not line.endswith(("\n", "\r")):
                    out.write("\n\\ No newline at end of file\n")
            out.write("\n")
    if not quiet:
        print(f"Would fix {_plural(fixed, 'error')}." if fixed else "No errors would be fixed.", file=err)
    if problems.count:
        return EXIT_ERROR
    return EXIT_FINDINGS if fixed else EXIT_CLEAN


def _print_findings(
    reports: list[FileReport],
    args: argparse.Namespace,
    out: TextIO,
    problems: Problems,
    rules: list[RuleEntry],
) -> None:
    unchecked = problems.count
    entries = [
        (report.source, finding) for report in reports for finding in sorted(report.findings, key=_sort_key)
    ]
    if args.format == "sarif":
        json.dump(sarif_log(entries, rules, problems, args.locale or "en"), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if args.format == "json":
        json.dump(
            [finding_to_json(source, finding) for source, finding in entries], out, indent=2, sort_keys=True
        )
        out.write("\n")
        return
    if args.format == "github":
        for source, finding in entries:
            print(_github_line(source, finding), file=out)
        return

    fix_mode = args.fix
    for source, finding in entries:
        marked = not fix_mode and applicable_fix(finding, args.unsafe_fixes) is not None
        print(_text_line(source, finding, marked), file=out)
    if args.quiet:
        return
    fixed = sum(report.fixed_count for report in reports)
    remaining = len(entries)
    if fix_mode and fixed:
        print(
            f"Found {_plural(fixed + remaining, 'error')} ({fixed} fixed, {remaining} remaining).", file=out
        )
    elif remaining:
        print(f"Found {_plural(remaining, 'error')}.", file=out)
    elif not unchecked:
        print("All checks passed!", file=out)
    if unchecked:
        # Without this line a run whose only file failed to parse would look clean.
        print(f"{_plural(unchecked, 'file')} could not be checked (reasons on stderr).", file=out)
    if fix_mode or not remaining:
        return
    fixable = sum(1 for _, finding in entries if applicable_fix(finding, args.unsafe_fixes) is not None)
    hidden = sum(1 for _, finding in entries if applicable_fix(finding, True) is not None) - fixable
    hidden_note = (
        f"{_plural(hidden, 'hidden fix')} can be enabled with the `--unsafe-fixes` option" if hidden else ""
    )
    if fixable:
        print(
            f"[*] {fixable} fixable with `--fix`" + (f" ({hidden_note})." if hidden_note else "."), file=out
        )
    elif hidden_note:
        print(f"No fixes available ({hidden_note}).", file=out)


# --- the rule registry ------------------------------------------------------------------


# What the CLI lists and explains of a rule (``engine.rule_catalogue``).
RuleEntry = RuleInfo


def _rules() -> list[RuleEntry] | None:
    """The rule registry, or None when it cannot be imported."""
    return list(engine.rule_catalogue())


def _require_rules() -> list[RuleEntry]:
    rules = _rules()
    if rules is None:
        raise UsageError("the rule registry (torchmode.rules.ALL_RULES) is not available")
    return rules


def _run_rules(args: argparse.Namespace, out: TextIO) -> int:
    rules = _require_rules()
    if args.format == "json":
        records = [
            {
                "code": rule.code,
                "name": rule.name,
                "default_severity": rule.default_severity.value,
                "fix": rule.fix_label() != "no",
                "fix_applicability": list(rule.fix_applicabilities),
                "summary": rule.summary(args.locale),
                "url": rule.url() or None,
            }
            for rule in rules
        ]
        json.dump(records, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_CLEAN
    headers = ("code", "name", "severity", "fix", "summary")
    rows = [
        (rule.code, rule.name, rule.default_severity.value, rule.fix_label(), rule.summary(args.locale))
        for rule in rules
    ]
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(4)]
    for row in [headers, *rows]:
        cells = [f"{cell:<{width}}" for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip(), file=out)
    return EXIT_CLEAN


def _run_explain(args: argparse.Namespace, out: TextIO) -> int:
    wanted = args.rule.strip()
    for rule in _require_rules():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            docs = rule.docs(args.locale)
            if docs is None:
                docs = f"# {rule.code} {rule.name}\n\n{rule.summary(args.locale)}\n"
            out.write(docs if docs.endswith("\n") else docs + "\n")
            return EXIT_CLEAN
    raise UsageError(f"unknown rule {wanted!r}; `torchmode rules` lists them")


def _run_lsp(args: argparse.Namespace, err: TextIO) -> int:
    # Imported here so that `torchmode check` never pays for pygls.
    try:
        server = importlib.import_module("torchmode.lsp.server")
    except ImportError as error:
        print(f"torchmode: error: the language server cannot start: {error}", file=err)
        return EXIT_ERROR
    start: Callable[[], object] = server.start_stdio
    start()
    return EXIT_CLEAN


# --- the command line -------------------------------------------------------------------


def _add_check_options(parser: argparse.ArgumentParser, fix_default: bool) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="output format: text (path:line:col: CODE message), json (ruff's shape), "
        "github (workflow annotations), sarif (SARIF 2.1.0, for code scanning)",
    )
    parser.add_argument("--fix", action="store_true", default=fix_default, help="apply safe fixes in place")
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes marked unsafe (with --fix or --diff)"
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff of what --fix would change; write nothing"
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report (replaces select, extend-select and ignore "
        "of the configuration)",
    )
    parser.add_argument(
        "--extend-select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report in addition to the selected ones",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to skip (added to the configuration's ignore)",
    )
    parser.add_argument(
        "--exclude", action="append", metavar="GLOB", help="skip files and folders matching GLOB"
    )
    parser.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        help="also check files that .gitignore files exclude",
    )
    parser.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of messages (default: the configuration's, or en)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="use this pyproject.toml's [tool.torchmode] for every file instead of each file's nearest one",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore every pyproject.toml: defaults and command-line options only",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="check files in N processes (default: the number of cores; --fix and --diff use one)",
    )
    parser.add_argument(
        "--no-follow-imports",
        action="store_true",
        help="analyse each file alone: do not follow calls into the other project files it imports",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the effective settings of the first file and the pyproject.toml they come from; exit",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchmode",
        description="Find PyTorch train/eval and grad mode mistakes.",
        epilog="Exit codes: 0 no findings, 1 findings, 2 usage error or a file that cannot be read or parsed",
    )
    parser.add_argument("--version", action="version", version=f"torchmode {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="check files and folders")
    _add_check_options(check, fix_default=False)
    fix = commands.add_parser("fix", help="same as `check --fix`")
    _add_check_options(fix, fix_default=True)

    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of the summaries (default: from LANG, else en)",
    )

    explain = commands.add_parser("explain", help="print a rule's documentation (Markdown)")
    explain.add_argument("rule", metavar="CODE", help="a rule code such as TM101, or its name")
    explain.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of the page (default: from LANG, else en)",
    )

    lsp = commands.add_parser("lsp", help="run the language server over stdio")
    # Editors' clients commonly pass --stdio; it is the only transport, so accept it.
    lsp.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)
    return parser


def _make_output_safe(stream: TextIO) -> None:
    # Messages can be Chinese or quote non-ASCII code; a C locale must not turn that
    # into a UnicodeEncodeError traceback.
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's own exits are turned into it)."""
    out, err = sys.stdout, sys.stderr
    _make_output_safe(out)
    _make_output_safe(err)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        code = exit_request.code
        return code if isinstance(code, int) else (EXIT_CLEAN if code is None else EXIT_ERROR)
    try:
        if args.command in ("check", "fix"):
            with gc_tuning.tuned():
                return _run_check(args, out, err)
        if args.command in ("rules", "explain") and args.locale is None:
            args.locale = locale_from_environment(os.environ)
        if args.command == "rules":
            return _run_rules(args, out)
        if args.command == "explain":
            return _run_explain(args, out)
        if args.command == "lsp":
            return _run_lsp(args, err)
    except UsageError as error:
        print(f"torchmode: error: {error}", file=err)
        return EXIT_ERROR
    except BrokenPipeError:
        # `torchmode check | head`: the reader left. Point stdout at devnull so the
        # interpreter's final flush does not print a second BrokenPipeError.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return EXIT_FINDINGS
    return EXIT_ERROR  # unreachable: argparse accepts only the commands above
