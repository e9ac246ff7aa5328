"""Running the real CLI over the registry corpus, and the reviewed list of what it finds.

``expected.toml`` beside this file holds one ``[[finding]]`` table per finding the CLI
reports on the corpus: project, file (relative to the project root), line, rule, the
stripped source line, a verdict and a one-line reason. ``TORCHMODE_UPDATE_CORPUS=1``
rewrites it from a run: entries that still match keep their verdict and reason, new
findings come in as ``unreviewed`` (which fails the test until someone reads the code
and writes a verdict), vanished ones are dropped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from corpus import Project

from support.checkout import checkout_env, torchmode_command

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected.toml"
UPDATE_ENV = "TORCHMODE_UPDATE_CORPUS"
JOBS_ENV = "TORCHMODE_CORPUS_JOBS"
VERDICTS = ("true-bug", "acceptable", "false-alarm-known")
UNREVIEWED = "unreviewed"

CRASH_MARKERS = ("Traceback (most recent call last)", "internal error", "RecursionError")


@dataclass(frozen=True)
class Observed:
    """One finding of a run, named the way ``expected.toml`` names it."""

    project: str
    file: str
    line: int
    rule: str
    source: str
    message: str = field(default="", compare=False)
    fixes: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (applicability, title)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.project, self.file, self.line, self.rule)


@dataclass
class Expected:
    project: str
    file: str
    line: int
    rule: str
    source: str
    verdict: str
    reason: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.project, self.file, self.line, self.rule)


@dataclass
class CliRun:
    project: Project
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    findings: list[Observed] = field(default_factory=list)
    output_error: str | None = None

    def crash(self) -> str | None:
        """Why this run counts as a crash, or None."""
        if self.returncode not in (0, 1):
            return f"exit code {self.returncode}"
        for marker in CRASH_MARKERS:
            if marker in self.stderr:
                return f"{marker!r} on stderr"
        if self.output_error is not None:
            return self.output_error
        return None


def source_line(path: Path, line: int) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def run_cli(project: Project, extra: Sequence[str] = ()) -> CliRun:
    """``torchmode check --format json ROOT`` in a process of its own."""
    command = [*torchmode_command(), "check", "--format", "json", *extra, str(project.root)]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=1800, env=checkout_env()
    )
    run = CliRun(project, command, done.returncode, done.stdout, done.stderr, time.perf_counter() - started)
    try:
        items = json.loads(done.stdout) if done.stdout.strip() else []
    except json.JSONDecodeError as error:
        run.output_error = f"stdout is not JSON: {error}"
        return run
    for item in items:
        path = Path(item["filename"])
        try:
            relative = path.resolve().relative_to(project.root.resolve()).as_posix()
        except ValueError:
            run.output_error = f"a finding outside the project: {path}"
            continue
        fix = item.get("fix")
        run.findings.append(
            Observed(
                project.name,
                relative,
                int(item["location"]["row"]),
                item["code"],
                source_line(path, int(item["location"]["row"])),
                item["message"],
                ((fix["applicability"], fix["message"]),) if fix else (),
            )
        )
    run.findings.sort(key=lambda finding: finding.key)
    return run


def jobs() -> int:
    return int(os.environ.get(JOBS_ENV) or min(2, os.cpu_count() or 1))


def run_all(projects: Sequence[Project], extra: Sequence[str] = ()) -> list[CliRun]:
    """One CLI process per project, ``jobs()`` at a time, biggest projects first; in corpus order."""
    order = sorted(projects, key=lambda project: -project.lines)
    with ThreadPoolExecutor(max_workers=jobs()) as pool:
        runs = {run.project.name: run for run in pool.map(lambda project: run_cli(project, extra), order)}
    return [runs[project.name] for project in projects]


# --- the reviewed list ------------------------------------------------------------------------


def load_expected(path: Path = EXPECTED) -> list[Expected]:
    if not path.exists():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Expected(
            item["project"],
            item["file"],
            int(item["line"]),
            item["rule"],
            item.get("source", ""),
            item.get("verdict", UNREVIEWED),
            item.get("reason", ""),
        )
        for item in data.get("finding", [])
    ]


def _toml_string(value: str) -> str:
    # A JSON string without ASCII escaping is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


HEADER = """\
# Every finding `torchmode check` reports on the registry corpus (tests/realworld/corpus.py),
# reviewed by reading the code around it. tests/realworld/test_realworld.py fails on a finding
# missing here, on an entry no longer reported, and on any entry whose verdict is "unreviewed".
#
# verdict: "true-bug"          the code really has the mode/grad problem the rule describes
#          "acceptable"        the finding is right about the code, but the code is fine as it is
#                              (e.g. an API whose caller owns the mode, a test that does it on purpose)
#          "false-alarm-known" wrong, and not fixed yet in the analysis (the reason says why)
#
# Regenerate with `TORCHMODE_UPDATE_CORPUS=1 make realworld`: reviewed entries that still
# match keep their verdict and reason; new ones come in as "unreviewed".
"""


def dump_expected(entries: Iterable[Expected], path: Path = EXPECTED) -> None:
    parts = [HEADER]
    for entry in sorted(entries, key=lambda entry: entry.key):
        parts.append(
            "\n[[finding]]\n"
            f"project = {_toml_string(entry.project)}\n"
            f"file = {_toml_string(entry.file)}\n"
            f"line = {entry.line}\n"
            f"rule = {_toml_string(entry.rule)}\n"
            f"source = {_toml_string(entry.source)}\n"
            f"verdict = {_toml_string(entry.verdict)}\n"
            f"reason = {_toml_string(entry.reason)}\n"
        )
    path.write_text("".join(parts), encoding="utf-8")


def merge(observed: Sequence[Observed], previous: Sequence[Expected]) -> list[Expected]:
    """The new list: each observed finding with the review of the entry it matches, if any.

    An entry matches by (project, file, line, rule); failing that, by (project, file,
    rule, source) so that a finding the analysis now anchors one line off keeps its review.
    """
    by_key: dict[tuple[str, str, int, str], list[Expected]] = {}
    by_source: dict[tuple[str, str, str, str], list[Expected]] = {}
    for entry in previous:
        by_key.setdefault(entry.key, []).append(entry)
        by_source.setdefault((entry.project, entry.file, entry.rule, entry.source), []).append(entry)
    used: set[int] = set()

    def take(candidates: list[Expected]) -> Expected | None:
        for candidate in candidates:
            if id(candidate) not in used:
                used.add(id(candidate))
                return candidate
        return None

    merged: list[tuple[Observed, Expected | None]] = []
    pending = []
    for finding in observed:
        match = take(by_key.get(finding.key, []))
        if match is None:
            pending.append(finding)
        else:
            merged.append((finding, match))
    for finding in pending:
        match = take(by_source.get((finding.project, finding.file, finding.rule, finding.source), []))
        merged.append((finding, match))
    return [
        Expected(
            finding.project,
            finding.file,
            finding.line,
            finding.rule,
            finding.source,
            match.verdict if match else UNREVIEWED,
            match.reason if match else "",
        )
        for finding, match in merged
    ]


def compare(observed: Sequence[Observed], expected: Sequence[Expected]) -> tuple[list[str], list[str]]:
    """(new findings, vanished entries), each as readable lines; multiplicities count."""
    seen = Counter(finding.key for finding in observed)
    wanted = Counter(entry.key for entry in expected)
    new = [
        f"{f.project}: {f.file}:{f.line} {f.rule} `{f.source}` -- {f.message}"
        for f in observed
        if seen[f.key] > wanted[f.key]
    ]
    gone = [
        f"{e.project}: {e.file}:{e.line} {e.rule} `{e.source}` ({e.verdict}: {e.reason})"
        for e in expected
        if wanted[e.key] > seen[e.key]
    ]
    return new, gone


# --- the summary printed at the end of the session --------------------------------------------

SUMMARY: dict[str, list[str]] = {}


def add_summary(section: str, lines: Iterable[str]) -> None:
    SUMMARY[section] = list(lines)
