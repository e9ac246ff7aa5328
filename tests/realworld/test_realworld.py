"""The CLI over real PyTorch projects from PyPI, against the hand-reviewed list of its findings.

Fails on a crash (exit 2, a traceback or an internal error on stderr), on a finding
not in ``expected.toml``, on an entry there that is no longer reported, and on any
entry still marked ``unreviewed``. ``TORCHMODE_UPDATE_CORPUS=1`` rewrites the list
first (see ``corpus_run.py``).
"""

from __future__ import annotations

import pytest
from corpus import PROJECT_NAMES as PROJECTS
from corpus import Project
from corpus_run import UNREVIEWED, VERDICTS, CliRun, Expected, compare


def test_the_corpus_is_real_sized(corpus: list[Project]) -> None:
    frameworks = [project for project in corpus if project.corpus == "frameworks"]
    research = [project for project in corpus if project.corpus == "research"]
    assert len(frameworks) >= 8 and len(research) >= 10
    assert sum(project.lines for project in frameworks) >= 60_000
    # The second corpus, research-style code, is at least 150,000 lines of its own.
    assert sum(project.lines for project in research) >= 150_000
    for project in corpus:
        assert project.files, project.name
        assert all(path.is_relative_to(project.root) for path in project.files)


@pytest.mark.parametrize("name", PROJECTS)
def test_the_cli_does_not_crash(corpus_runs: dict[str, CliRun], name: str) -> None:
    run = corpus_runs[name]
    crash = run.crash()
    assert crash is None, f"{' '.join(run.command)}: {crash}\n{run.stderr[-4000:]}"


@pytest.mark.parametrize("name", PROJECTS)
def test_findings_are_the_reviewed_ones(
    corpus_runs: dict[str, CliRun], expected: list[Expected], name: str
) -> None:
    run = corpus_runs[name]
    new, gone = compare(run.findings, [entry for entry in expected if entry.project == name])
    message = []
    if new:
        message.append(
            "findings missing from tests/realworld/expected.toml (review them, then run with "
            "TORCHMODE_UPDATE_CORPUS=1):\n  " + "\n  ".join(new)
        )
    if gone:
        message.append("reviewed findings no longer reported:\n  " + "\n  ".join(gone))
    assert not message, "\n".join(message)


def test_every_finding_is_reviewed(expected: list[Expected]) -> None:
    unreviewed = [
        f"{e.project}: {e.file}:{e.line} {e.rule} `{e.source}`" for e in expected if e.verdict == UNREVIEWED
    ]
    assert not unreviewed, f"{len(unreviewed)} findings need a verdict:\n  " + "\n  ".join(unreviewed)
    for entry in expected:
        assert entry.verdict in VERDICTS, (entry.key, entry.verdict)
        assert entry.reason.strip(), (entry.key, "a verdict needs a reason")
