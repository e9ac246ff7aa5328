"""Checking and fixing files: each file's text goes to ``engine.check_document`` (or through
``engine.fix_until_stable``, the one fix loop, for ``--fix`` and ``--diff``) and comes back as a
``FileReport``; ``--jobs N`` checks the files in N processes."""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torchmode import engine, gc_tuning
from torchmode.cli.common import Problems, display_path
from torchmode.cli.settings import SettingsResolver
from torchmode.cli.sources import Source, read_source
from torchmode.engine import CheckResult, Editable, PlainText, Workspace
from torchmode.findings import Finding, Fix
from torchmode.settings import Settings
from torchmode.syntax import Document
from torchmode.syntax.notebook import NotebookProgram


def applicable_fix(finding: Finding, unsafe: bool) -> Fix | None:
    """The fix ``--fix`` would apply: the first safe one, or the first of any kind with unsafe fixes on."""
    for fix in finding.fixes:
        if fix.applicability == "safe" or unsafe:
            return fix
    return None


@dataclass
class FileReport:
    """What checking (or fixing) one file gave: the findings left, and what ``--fix`` would write."""

    source: Source
    findings: tuple[Finding, ...]
    fixed_text: str | None = None  # set by --fix/--diff when some fix applied
    fixed_count: int = 0
    # Why a fix was refused (e.g. it would not parse). The finding stays reported.
    fix_problems: list[str] = field(default_factory=list)


class Checker:
    """Hands sources to the engine; a file that cannot be checked becomes a problem, not an exception."""

    def __init__(self, problems: Problems, workspace: Workspace | None = None) -> None:
        self.problems = problems
        # The checked files' projects: calls into their other files are followed.
        self.workspace = workspace

    def check(self, source: Source, settings: Settings, text: str | None = None) -> CheckResult | None:
        """Run the engine; report a parse failure or an engine crash as a file error."""
        # The absolute path lets the engine resolve imports of neighbouring files.
        document = Document(source.program_text if text is None else text, os.path.abspath(source.path))
        try:
            cells = source.notebook.program if source.notebook is not None else None
            result = engine.check_document(document, settings, self.workspace, cells)
        except Exception as error:  # an engine bug must not hide the other files' results
            self.problems.error(
                f"{source.display}: internal error while checking: {type(error).__name__}: {error}"
            )
            return None
        if result.parse_failure is not None:
            failure = result.parse_failure
            self.problems.error(f"Failed to parse {source.where(failure.position)}: {failure.message}")
            return None
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


def workspace_for(args: argparse.Namespace) -> Workspace | None:
    """The checked files' projects, whose other files calls are followed into; None with
    ``--no-follow-imports``."""
    if args.no_follow_imports:
        return None
    return Workspace.for_paths(Path(path) for path in args.paths or ["."])


# Below this many files per process, starting processes costs more than it saves.
_FILES_PER_JOB = 8


def jobs_for(requested: int | None, files: int) -> int:
    """Processes to check ``files`` files in: ``--jobs`` (default: the cores), never more than
    the files can keep busy."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = requested if requested is not None else cores
    return max(1, min(wanted, files // _FILES_PER_JOB))


def _check_chunk(
    args: argparse.Namespace, known_codes: Sequence[str], paths: list[Path]
) -> tuple[list[FileReport], list[tuple[str, str]]]:
    """A worker process: check some files with its own project; problems are returned, not printed."""
    problems = Problems(io.StringIO())
    resolver = SettingsResolver(args, known_codes, problems)
    checker = Checker(problems, workspace_for(args))
    reports: list[FileReport] = []
    with gc_tuning.tuned():  # a spawned worker does not inherit the parent's
        for path in paths:
            report = read_and_check(path, checker, resolver, problems)
            if report is not None:
                reports.append(report)
    return reports, problems.messages


def read_and_check(
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


def check_in_processes(
    args: argparse.Namespace, known_codes: Sequence[str], paths: list[Path], jobs: int, problems: Problems
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
        for chunk_reports, messages in pool.map(
            _check_chunk, [args] * len(chunks), [known_codes] * len(chunks), chunks
        ):
            reports.extend(chunk_reports)
            for level, message in messages:
                if level == "warning" and (level, message) in seen:
                    continue  # a bad pyproject.toml read by several workers: said once
                seen.add((level, message))
                (problems.error if level == "error" else problems.warning)(message)
    return reports
