"""``torchmode check`` and ``torchmode fix``: the route from paths on the command line to printed
findings. Discovery finds the files, the settings resolver gives each its settings, the checker
runs the engine (in several processes with ``--jobs``), ``--fix`` writes fixed files back, and a
format prints what is left."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from torchmode import engine, gc_tuning
from torchmode.cli.checker import (
    Checker,
    FileReport,
    check_in_processes,
    jobs_for,
    read_and_check,
    workspace_for,
)
from torchmode.cli.common import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Problems
from torchmode.cli.formats import print_diff, print_findings
from torchmode.cli.settings import SettingsResolver, show_settings
from torchmode.cli.sources import write_source
from torchmode.engine import RuleInfo
from torchmode.files.discovery import Discovery, ExcludeGlob


def run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Check (or fix, or diff) the files under ``args.paths``; the exit code."""
    with gc_tuning.tuned():
        return _run_check(args, out, err)


def _run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = engine.rule_catalogue()
    known_codes = [rule.code for rule in rules]
    problems = Problems(err)
    resolver = SettingsResolver(args, known_codes, problems)
    discovery = Discovery(
        [ExcludeGlob(glob) for glob in args.exclude or ()], args.respect_gitignore, problems
    )
    paths = discovery.files(args.paths or ["."])
    if args.show_settings:
        return show_settings(resolver, paths, args.paths or ["."], out)
    if not paths and problems.count == 0:
        problems.warning("No Python files found under the given path(s)")

    fixing = args.fix or args.diff
    jobs = jobs_for(args.jobs, len(paths))
    if jobs > 1 and not fixing:
        parallel_reports = check_in_processes(args, known_codes, paths, jobs, problems)
        return _print_findings(parallel_reports, args, out, problems, rules)

    project = workspace_for(args)
    checker = Checker(problems, project)
    reports: list[FileReport] = []
    for path in paths:
        report = read_and_check(path, checker, resolver, problems, fixing, args.unsafe_fixes)
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
        return print_diff(reports, out, err, problems, quiet=args.quiet)
    return _print_findings(reports, args, out, problems, rules)


def _print_findings(
    reports: list[FileReport],
    args: argparse.Namespace,
    out: TextIO,
    problems: Problems,
    rules: Sequence[RuleInfo],
) -> int:
    """Print in the chosen format; the exit code: 2 if a file could not be checked, 1 if findings
    remain (unless ``--exit-zero``), else 0."""
    print_findings(
        reports,
        args.format,
        out,
        problems,
        rules,
        locale=args.locale,
        fixing=args.fix,
        unsafe_fixes=args.unsafe_fixes,
        quiet=args.quiet,
    )
    if problems.count:
        return EXIT_ERROR
    remaining = sum(len(report.findings) for report in reports)
    return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN
