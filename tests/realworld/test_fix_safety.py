"""Fix safety over the registry corpus (issue 9): every offered fix of every finding.

For each finding the CLI reports on a corpus file, each of its fixes (safe or not) is
applied in memory: the result parses, that finding is gone, nothing new appears, and
only the lines the fix's edits name change (``fixcheck.fix_problems``). Per file, the
safe fixes applied one at a time (``fixcheck.fix_one_by_one``), the editor's fix-all
(``lsp.actions.fix_all_text``) and ``torchmode check --fix`` give the same text; when
the safe fixes of a file touch disjoint lines, applying them all at once gives it too.
``--fix`` run a second time on the fixed copy changes nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from corpus import PROJECT_NAMES as PROJECTS
from corpus import Project
from corpus_run import CliRun, add_summary
from fixcheck import changed_lines, edited_lines, fix_one_by_one, fix_problems

from support.checkout import checkout_env, torchmode_command
from torchmode import engine
from torchmode.analysis.project import project_for_paths
from torchmode.findings import Finding
from torchmode.lsp.actions import fix_all_text
from torchmode.settings import Settings
from torchmode.syntax import Document, apply_edits

SETTINGS = Settings()


def _checker(root: Path) -> Callable[[Document, Settings], engine.CheckResult]:
    """What the CLI runs on each file of ``root``: the engine with the project's other files."""
    project = project_for_paths([root])

    def check(document: Document, settings: Settings) -> engine.CheckResult:
        return engine.check_document(document, settings, project)

    return check


@dataclass
class FileOutcome:
    path: Path
    relative: str
    findings: int = 0
    fixes: int = 0
    safe_fixes: int = 0
    problems: list[str] = field(default_factory=list)
    one_by_one: str = ""
    applied: int = 0
    all_at_once: str | None = None  # None: the safe fixes' lines overlap, not comparable


@dataclass
class ProjectOutcome:
    project: Project
    files: list[FileOutcome]


def _check_file(
    project: Project, relative: str, check: Callable[[Document, Settings], engine.CheckResult]
) -> FileOutcome:
    path = project.root / relative
    text = path.read_text(encoding="utf-8")
    absolute = str(path.resolve())

    def recheck(candidate: str) -> tuple[Finding, ...]:
        return check(Document(candidate, absolute), SETTINGS).findings

    first = check(Document(text, absolute), SETTINGS)
    outcome = FileOutcome(path, relative, findings=len(first.findings))
    for finding in first.findings:
        for fix in finding.fixes:
            outcome.fixes += 1
            outcome.safe_fixes += fix.applicability == "safe"
            _, problems = fix_problems(text, first.findings, finding, fix, recheck)
            outcome.problems.extend(f"{relative}: {problem}" for problem in problems)
    outcome.one_by_one, outcome.applied = fix_one_by_one(text, recheck)
    editor = fix_all_text(first, SETTINGS, check)
    if editor != outcome.one_by_one:
        outcome.problems.append(f"{relative}: the editor's fix-all differs from the fixes applied one by one")
    # All at once: the first safe fix of each finding, when no two of them touch the same lines.
    chosen = [next((fix for fix in f.fixes if fix.applicability == "safe"), None) for f in first.findings]
    safe = [fix for fix in chosen if fix is not None]
    lines = [edited_lines(fix) for fix in safe]
    if safe and all(not (a & b) for i, a in enumerate(lines) for b in lines[i + 1 :]):
        outcome.all_at_once = apply_edits(text, [edit for fix in safe for edit in fix.edits])
        if outcome.all_at_once != outcome.one_by_one:
            outcome.problems.append(f"{relative}: applying the safe fixes at once differs from one by one")
    return outcome


_OUTCOMES: dict[str, ProjectOutcome] = {}
_FIX_TWICE: dict[str, int] = {}  # project -> problems of its --fix runs


def _outcome(run: CliRun) -> ProjectOutcome:
    """The in-memory fix checks of one project's files with findings, done once per session."""
    outcome = _OUTCOMES.get(run.project.name)
    if outcome is None:
        files = sorted({finding.file for finding in run.findings})
        check = _checker(run.project.root) if files else None
        outcome = ProjectOutcome(
            run.project, [_check_file(run.project, name, check) for name in files if check is not None]
        )
        _OUTCOMES[run.project.name] = outcome
        _summarize()
    return outcome


def _summarize() -> None:
    items = [item for outcome in _OUTCOMES.values() for item in outcome.files]
    problems = sum(len(item.problems) for item in items)
    fixes = sum(item.fixes for item in items)
    lines = [
        f"{len(_OUTCOMES)} projects: {fixes} fixes offered ({sum(item.safe_fixes for item in items)} safe) "
        f"for {sum(item.findings for item in items)} findings in {len(items)} files; each applied and "
        f"checked: {problems} problems",
        f"fix-all: {sum(item.applied for item in items)} safe fixes applied one by one, compared with the "
        f"editor's fix-all and --fix; {sum(item.all_at_once is not None for item in items)} files "
        "with disjoint safe fixes also applied at once",
    ]
    if _FIX_TWICE:
        lines.append(
            f"--fix twice on a copy of {len(_FIX_TWICE)} projects with safe fixes: "
            f"{sum(_FIX_TWICE.values())} problems"
        )
    add_summary("fix safety", lines)


@pytest.mark.parametrize("name", PROJECTS)
def test_the_engine_finds_what_the_cli_finds(corpus_runs: dict[str, CliRun], name: str) -> None:
    """The in-memory checks below see the findings the CLI reported (same engine, same project)."""
    run = corpus_runs[name]
    assert run.crash() is None, "the CLI crashed on this project (see test_realworld)"
    counted: dict[str, int] = {}
    for finding in run.findings:
        counted[finding.file] = counted.get(finding.file, 0) + 1
    assert {item.relative: item.findings for item in _outcome(run).files} == counted


@pytest.mark.parametrize("name", PROJECTS)
def test_every_fix_is_safe(corpus_runs: dict[str, CliRun], name: str) -> None:
    problems = [problem for item in _outcome(corpus_runs[name]).files for problem in item.problems]
    assert not problems, "\n".join(problems)


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.py"))
    }


def _fix(root: Path) -> subprocess.CompletedProcess[str]:
    command = [*torchmode_command(), "check", "--fix", "--quiet", str(root)]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=1800, env=checkout_env()
    )


@pytest.mark.parametrize("name", PROJECTS)
def test_cli_fix_matches_and_a_second_fix_changes_nothing(
    corpus_runs: dict[str, CliRun], tmp_path: Path, name: str
) -> None:
    """``--fix`` on a copy of the project writes the text of the fixes applied one by one, and a
    second ``--fix`` leaves every file as it is. (A project with no safe fix has nothing to write.)"""
    outcome = _outcome(corpus_runs[name])
    if not any(item.applied for item in outcome.files):
        return
    copy = tmp_path / outcome.project.root.name
    shutil.copytree(outcome.project.root, copy)
    problems = []
    first = _fix(copy)
    if first.returncode not in (0, 1) or "internal error" in first.stderr:
        problems.append(f"--fix exited {first.returncode}: {first.stderr[-2000:]}")
    for item in outcome.files:
        fixed = (copy / item.relative).read_text(encoding="utf-8")
        if fixed != item.one_by_one:
            problems.append(
                f"{item.relative}: --fix wrote other text than the fixes applied one by one "
                f"(lines {sorted(changed_lines(item.one_by_one, fixed))})"
            )
    before = _digests(copy)
    second = _fix(copy)
    changed = sorted(path for path, digest in _digests(copy).items() if before.get(path) != digest)
    if changed or second.returncode not in (0, 1):
        tail = second.stderr[-2000:]
        problems.append(f"a second --fix changed {changed} (exit {second.returncode}): {tail}")
    _FIX_TWICE[name] = len(problems)
    _summarize()
    assert not problems, "\n".join(problems)
