"""Session fixtures of the registry-corpus tests: the corpus, one CLI run over it, the summary.

The CLI runs once per session over the projects the selected tests name (all of them
normally; ``-k poutyne`` runs only poutyne's), ``jobs()`` processes at a time.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from corpus import PINS, CorpusError, Project, ensure_corpus
from corpus import PROJECT_NAMES as PROJECTS
from corpus_run import (
    SUMMARY,
    UPDATE_ENV,
    CliRun,
    Expected,
    add_summary,
    dump_expected,
    jobs,
    load_expected,
    merge,
    run_all,
)


@pytest.fixture(scope="session")
def corpus() -> list[Project]:
    started = time.perf_counter()
    try:
        projects = ensure_corpus()
    except CorpusError as error:
        # Not a skip: without the corpus this suite has proved nothing.
        pytest.fail(f"the real-world corpus is not available: {error}", pytrace=False)
    lines = [f"{'project':<20} {'version':<9} {'files':>6} {'lines':>8}"]
    for project in projects:
        lines.append(f"{project.name:<20} {project.version:<9} {len(project.files):>6} {project.lines:>8}")
    total_files = sum(len(project.files) for project in projects)
    total_lines = sum(project.lines for project in projects)
    lines.append(f"{'total':<30} {total_files:>6} {total_lines:>8}")
    lines.append(f"(corpus ready in {time.perf_counter() - started:.1f} s)")
    add_summary("corpus", lines)
    return projects


def _selected_projects(session: pytest.Session) -> set[str]:
    """Projects named by the collected tests; every project when a test covers the whole corpus."""
    names: set[str] = set()
    for item in session.items:
        if "corpus_runs" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "name" in callspec.params:
            names.add(callspec.params["name"])
        else:
            return set(PROJECTS)
    return names if os.environ.get(UPDATE_ENV) != "1" else set(PROJECTS)


@pytest.fixture(scope="session")
def corpus_runs(corpus: list[Project], request: pytest.FixtureRequest) -> dict[str, CliRun]:
    selected = _selected_projects(request.session)
    started = time.perf_counter()
    runs = run_all([project for project in corpus if project.name in selected])
    wall = time.perf_counter() - started
    lines = [
        f"{run.project.name:<20} {run.seconds:7.1f} s  exit {run.returncode}  findings {len(run.findings)}"
        for run in runs
    ]
    lines.append(
        f"sum of per-project CLI times {sum(run.seconds for run in runs):.1f} s; "
        f"wall {wall:.1f} s with {jobs()} processes at a time"
    )
    add_summary("CLI (torchmode check --format json, one process per project)", lines)
    return {run.project.name: run for run in runs}


@pytest.fixture(scope="session")
def expected(corpus_runs: dict[str, CliRun]) -> list[Expected]:
    """The reviewed list; in update mode first rewritten from this session's run."""
    entries = load_expected()
    if os.environ.get(UPDATE_ENV) == "1":
        observed = [finding for run in corpus_runs.values() for finding in run.findings]
        kept = [entry for entry in entries if entry.project not in corpus_runs]
        entries = kept + merge(observed, [entry for entry in entries if entry.project in corpus_runs])
        dump_expected(entries)
    corpus_of = {pin.name: pin.corpus for pin in PINS}
    lines: list[str] = []
    for corpus_name in sorted(set(corpus_of.values())):
        in_corpus = [entry for entry in entries if corpus_of.get(entry.project) == corpus_name]
        per_rule: dict[str, Counter[str]] = {}
        for entry in in_corpus:
            per_rule.setdefault(entry.rule, Counter())[entry.verdict] += 1
        lines.append(f"{corpus_name} corpus:")
        for rule, counts in sorted(per_rule.items()):
            true, false = counts["true-bug"], counts["false-alarm-known"]
            precision = f"{true / (true + false):.2f}" if true + false else "n/a"
            lines.append(
                f"  {rule}: {sum(counts.values())}  ("
                + ", ".join(f"{verdict} {count}" for verdict, count in sorted(counts.items()))
                + f"; precision {precision})"
            )
        lines.append(f"  total: {len(in_corpus)}")
    add_summary("findings per rule (reviewed list; precision = true / (true + false))", lines)
    return entries


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUMMARY:
        return
    terminalreporter.section("real-world corpus")
    for title, lines in SUMMARY.items():
        terminalreporter.write_line(f"{title}:")
        for line in lines:
            terminalreporter.write_line(f"  {line}")
