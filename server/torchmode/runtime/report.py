"""The runtime report: JSON on disk, written atomically, merged across ranks, read back by the editor.

Free of torch. The file is one JSON object::

    {"tool": "torchmode", "kind": "runtime-report", "version": 1,
     "timestamp": <time.time() when written>, "started": ..., "finished": ...,
     "command": [...], "cwd": "...", "torch_version": "...", "torchmode_version": "...",
     "steps": <optimizer steps>, "forwards": <outermost forward passes watched>,
     "ranks": [0, 1], "world_size": 2, "run_id": "...", "notes": ["..."],
     "findings": [<item>, ...]}

Each item has the shape of one entry of ``torchmode check --format json`` (``code``,
``name``, ``message``, ``severity``, ``filename``, ``location``/``end_location`` with
1-based columns, ``fix``, ``url``, ``noqa_row``, ``cell``) plus what only a run knows:
``observed: true``, ``count``, ``first_seen_step``, ``last_seen_step``, ``first_seen``/
``last_seen`` (times), ``messages`` (``en`` and ``zh-cn``), ``related`` (the switch that
caused it: ``filename``, ``location``, ``end_location``, ``message``, ``messages``),
``line_text`` and ``source_mtime`` (the line and the file's mtime when observed, so an
editor can drop a finding whose line changed), and the structured fields its message
is rendered from (``module``, ``parts``, ``parts_total``, ``switch``, ``context``), so
that a reader can render it in another language (``observation_from_json`` then
``render_message``).

Under distributed training every rank writes ``<stem>.rank-<N>.json`` beside the
report and then merges every rank file of the same run into the report, under a lock:
the last rank to finish leaves the merged report of all of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchmode.docs import SUPPORTED_LOCALES
from torchmode.files.writing import write_atomically
from torchmode.runtime.observations import (
    Observation,
    Part,
    SourceSpan,
    Switch,
    render_message,
    render_related,
)

REPORT_KIND = "runtime-report"
REPORT_VERSION = 1
REPORT_FOLDER = ".torchmode"
REPORT_NAME = "runtime.json"
PROJECT_MARKERS = ("pyproject.toml", "setup.py", ".git")


@dataclass
class RunReport:
    """One report: the run's facts and its findings."""

    findings: list[Observation] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    command: list[str] = field(default_factory=list)
    cwd: str = ""
    steps: int = 0
    forwards: int = 0
    notes: list[str] = field(default_factory=list)
    torch_version: str = ""
    rank: int | None = None  # set in a rank's own file
    ranks: tuple[int, ...] = ()
    world_size: int | None = None
    run_id: str | None = None

    def merge(self, other: RunReport) -> None:
        """Fold in another rank's report: findings by key, counts summed, steps the most any rank made."""
        by_key = {finding.key(): finding for finding in self.findings}
        for finding in other.findings:
            mine = by_key.get(finding.key())
            if mine is None:
                copy = observation_from_json(observation_to_json(finding, "en"))
                self.findings.append(copy)
                by_key[copy.key()] = copy
            else:
                mine.merge(finding)
        self.started = min(self.started, other.started) if self.started else other.started
        self.finished = max(self.finished, other.finished)
        self.steps = max(self.steps, other.steps)
        self.forwards += other.forwards
        self.notes += [note for note in other.notes if note not in self.notes]
        self.ranks = tuple(sorted(set(self.ranks) | set(other.ranks)))
        self.findings.sort(key=_finding_order)


def _finding_order(finding: Observation) -> tuple[str, int, int, str]:
    return (finding.span.path, finding.span.line, finding.span.column, finding.code)


# --- JSON -------------------------------------------------------------------------------------


def _location(line: int, column: int) -> dict[str, int]:
    # As in `torchmode check --format json` (ruff's shape): 1-based columns.
    return {"row": line, "column": column + 1}


def _span_json(span: SourceSpan) -> dict[str, Any]:
    return {
        "filename": span.path,
        "location": _location(span.line, span.column),
        "end_location": _location(span.end_line, span.end_column),
    }


def _span_from_json(data: dict[str, Any]) -> SourceSpan:
    start, end = data["location"], data["end_location"]
    return SourceSpan(
        str(data["filename"]),
        int(start["row"]),
        int(start["column"]) - 1,
        int(end["row"]),
        int(end["column"]) - 1,
    )


def _rule_facts(code: str) -> tuple[str, str, str]:
    """(name, default severity, url) of a rule, from the engine's rule catalogue (imported on
    first use: the guard's start-up must not pay for the analysis)."""
    from torchmode.engine import rule_catalogue

    rule = next((info for info in rule_catalogue() if info.code == code), None)
    if rule is None:
        return ("", "warning", "")
    return (rule.name, rule.default_severity.value, rule.url())


def observation_to_json(observation: Observation, locale: str = "en") -> dict[str, Any]:
    name, severity, url = _rule_facts(observation.code)
    span = observation.span
    messages = {language: render_message(observation, language) for language in SUPPORTED_LOCALES}
    related: list[dict[str, Any]] = []
    switch = observation.switch
    if switch is not None:
        related_messages = {
            language: render_related(observation, language) or "" for language in SUPPORTED_LOCALES
        }
        related.append(
            {
                **_span_json(switch.span),
                "message": related_messages.get(locale, related_messages["en"]),
                "messages": related_messages,
            }
        )
    return {
        "cell": None,
        "code": observation.code,
        "name": name,
        "message": messages.get(locale, messages["en"]),
        "severity": severity,
        **_span_json(span),
        "fix": None,
        "url": url or None,
        "noqa_row": span.line,
        "observed": True,
        "count": observation.count,
        "first_seen_step": observation.first_seen_step,
        "last_seen_step": observation.last_seen_step,
        "first_seen": observation.first_seen,
        "last_seen": observation.last_seen,
        "messages": messages,
        "related": related,
        "line_text": observation.line_text,
        "source_mtime": observation.source_mtime,
        "module": observation.module,
        "parts": [{"name": part.name, "kind": part.kind} for part in observation.parts],
        "parts_total": observation.parts_total,
        "switch": None
        if switch is None
        else {**_span_json(switch.span), "call": switch.call, "training": switch.training},
        "context": observation.context,
        "ranks": list(observation.ranks),
    }


def observation_from_json(item: dict[str, Any]) -> Observation:
    """The observation an item was written from (``ValueError``/``KeyError`` on a malformed one)."""
    switch_data = item.get("switch")
    switch = (
        None
        if switch_data is None
        else Switch(
            _span_from_json(switch_data), str(switch_data.get("call", "")), bool(switch_data["training"])
        )
    )
    source_mtime = item.get("source_mtime")
    return Observation(
        code=str(item["code"]),
        span=_span_from_json(item),
        module=str(item.get("module", "")),
        parts=tuple(Part(str(part["name"]), str(part["kind"])) for part in item.get("parts", ())),
        parts_total=int(item.get("parts_total", 0)),
        switch=switch,
        context=str(item.get("context", "")),
        count=int(item["count"]),
        first_seen_step=int(item["first_seen_step"]),
        last_seen_step=int(item["last_seen_step"]),
        first_seen=float(item.get("first_seen", 0.0)),
        last_seen=float(item.get("last_seen", 0.0)),
        line_text=str(item.get("line_text", "")),
        source_mtime=None if source_mtime is None else float(source_mtime),
        ranks=tuple(int(rank) for rank in item.get("ranks", ())),
    )


def report_to_json(report: RunReport, locale: str = "en") -> dict[str, Any]:
    from torchmode import __version__

    data: dict[str, Any] = {
        "tool": "torchmode",
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "torchmode_version": __version__,
        "torch_version": report.torch_version,
        "timestamp": time.time(),
        "started": report.started,
        "finished": report.finished,
        "command": report.command,
        "cwd": report.cwd,
        "steps": report.steps,
        "forwards": report.forwards,
        "ranks": list(report.ranks),
        "world_size": report.world_size,
        "run_id": report.run_id,
        "notes": report.notes,
        "findings": [observation_to_json(finding, locale) for finding in report.findings],
    }
    if report.rank is not None:
        data["rank"] = report.rank
    return data


def report_from_json(data: dict[str, Any]) -> RunReport:
    if data.get("kind") != REPORT_KIND:
        raise ValueError("not a torchmode runtime report")
    world_size = data.get("world_size")
    rank = data.get("rank")
    return RunReport(
        findings=[observation_from_json(item) for item in data.get("findings", ())],
        started=float(data.get("started", 0.0)),
        finished=float(data.get("finished", 0.0)),
        command=[str(part) for part in data.get("command", ())],
        cwd=str(data.get("cwd", "")),
        steps=int(data.get("steps", 0)),
        forwards=int(data.get("forwards", 0)),
        notes=[str(note) for note in data.get("notes", ())],
        torch_version=str(data.get("torch_version", "")),
        rank=None if rank is None else int(rank),
        ranks=tuple(int(value) for value in data.get("ranks", ())),
        world_size=None if world_size is None else int(world_size),
        run_id=data.get("run_id"),
    )


def load_report(path: str | os.PathLike[str]) -> RunReport:
    """Read a report (``OSError``, ``ValueError`` when it is missing or not a report)."""
    with open(path, encoding="utf-8") as stream:
        data = json.load(stream)
    if not isinstance(data, dict):
        raise ValueError("not a torchmode runtime report")
    return report_from_json(data)


# --- where and how it is written ---------------------------------------------------------------


def display_path(path: str) -> str:
    """A path as ``torchmode check`` shows it: relative to the current folder when inside it."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        if os.path.commonpath([absolute, cwd]) == cwd:
            return Path(os.path.relpath(absolute, cwd)).as_posix()
    except ValueError:  # different drives on Windows
        pass
    return path


def project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with pyproject.toml, setup.py or .git; else ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return start


def default_report_path(start: Path) -> Path:
    return project_root(start) / REPORT_FOLDER / REPORT_NAME


def _prepare_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if folder.name == REPORT_FOLDER:
        ignore = folder / ".gitignore"
        if not ignore.exists():
            # Run output, not source: keep the whole folder out of version control.
            _atomic_write(ignore, "*\n")


def _atomic_write(path: Path, content: str) -> None:
    write_atomically(path, content.encode("utf-8"))


def _dumps(report: RunReport, locale: str) -> str:
    return json.dumps(report_to_json(report, locale), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def rank_file(path: Path, rank: int) -> Path:
    return path.with_name(f"{path.stem}.rank-{rank}{path.suffix}")


def _rank_files(path: Path) -> Iterator[Path]:
    yield from sorted(path.parent.glob(f"{path.stem}.rank-*{path.suffix}"))


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder/.lock`` where the platform has one (POSIX); else no lock."""
    try:
        import fcntl
    except ImportError:  # Windows: the last writer wins, which is still a whole file
        yield
        return
    with open(folder / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


# Ranks of one run start within this many seconds of each other (torchrun starts them together).
SAME_RUN_START_WINDOW = 300.0


def same_run(mine: RunReport, other: RunReport) -> bool:
    """Whether another rank's file belongs to this run: same run id and world size, started at
    about the same time. A file from an earlier run is replaced when its rank finishes this run;
    until then it is left out of the merge."""
    return (
        other.run_id == mine.run_id
        and other.world_size == mine.world_size
        and abs(other.started - mine.started) <= SAME_RUN_START_WINDOW
    )


def merge_rank_reports(mine: RunReport, others: Iterable[RunReport]) -> RunReport:
    merged = RunReport(
        started=mine.started,
        finished=mine.finished,
        command=list(mine.command),
        cwd=mine.cwd,
        torch_version=mine.torch_version,
        world_size=mine.world_size,
        run_id=mine.run_id,
    )
    merged.merge(mine)
    for other in sorted(others, key=lambda report: report.rank if report.rank is not None else -1):
        if other.rank != mine.rank and same_run(mine, other):
            merged.merge(other)
    return merged


def write_report(report: RunReport, path: Path, locale: str = "en") -> Path:
    """Write ``report`` to ``path`` atomically (a rank writes its own file, then the merge)."""
    _prepare_folder(path.parent)
    if report.rank is None:
        _atomic_write(path, _dumps(report, locale))
        return path
    _atomic_write(rank_file(path, report.rank), _dumps(report, locale))
    with _locked(path.parent):
        others: list[RunReport] = []
        for candidate in _rank_files(path):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                others.append(load_report(candidate))
        merged = merge_rank_reports(report, others)
        _atomic_write(path, _dumps(merged, locale))
    return path
