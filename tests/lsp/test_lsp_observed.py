"""What a run observed, in the editor: the server reads the workspace's runtime report
(``.torchmode/runtime.json``, written here by the test with the report module, no torch) and
shows each observed finding at its line, drops it when the line or the file changed, reads
the report again when it changes, and says in the hover of a static finding that the run
confirmed it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from lsp_helpers import RecordingClient, change_whole, hover_markdown, open_document, wait_until
from lsprotocol import types
from pytest_lsp import client_capabilities

from torchmode.runtime.observations import Observation, Part, SourceSpan, Switch
from torchmode.runtime.report import RunReport, write_report

TRAIN = """\
import torch
import torch.nn.functional as F

MODE_OF_PHASE = {"train": "train", "val": "eval", "finetune": "eval"}


def run_phases(model, optimizer, batches):
    for phase in ("train", "val", "finetune"):
        getattr(model, MODE_OF_PHASE[phase])()
        for data, target in batches:
            loss = F.cross_entropy(model(data), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def test(model, loader):
    model.eval()
    with torch.no_grad():
        for data, target in loader:
            model(data)


def train(model, optimizer, loader, val_loader):
    model.train()
    for data, target in loader:
        output = model(data)
        loss = F.cross_entropy(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        test(model, val_loader)
"""
LINES = TRAIN.splitlines()
DYNAMIC_LINE = 11  # 1-based: the forward after the getattr switch (the checker cannot follow the table)
STATIC_LINE = 27  # 1-based: `output = model(data)`, also a static TM101


def span_of(path: Path, line: int, text: str) -> SourceSpan:
    column = LINES[line - 1].index(text)
    return SourceSpan(str(path), line, column, line, column + len(text))


def observation(path: Path, line: int, switch_line: int, switch_call: str, count: int) -> Observation:
    return Observation(
        code="TM101",
        span=span_of(path, line, "model(data)"),
        module="Net",
        parts=(Part("dropout", "Dropout"),),
        parts_total=1,
        switch=Switch(span_of(path, switch_line, switch_call), switch_call, False),
        count=count,
        first_seen_step=301,
        last_seen_step=1504,
        line_text=LINES[line - 1],
        source_mtime=os.stat(path).st_mtime,
    )


def write_run_report(root: Path, train: Path, count: int = 1204) -> Path:
    report = RunReport(
        findings=[
            observation(train, DYNAMIC_LINE, 9, "getattr(model, MODE_OF_PHASE[phase])()", count),
            observation(train, STATIC_LINE, 18, "model.eval()", count),
        ],
        steps=1504,
    )
    return write_report(report, root / ".torchmode" / "runtime.json")


async def start(
    client: RecordingClient, root: Path, *, locale: str | None = None, mode: str = "openFilesOnly"
) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            locale=locale,
            initialization_options={"debounceMs": 0, "settings": {"diagnosticMode": mode}},
        )
    )


def observed(client: RecordingClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.source == "torchmode run"]


def observed_lines(client: RecordingClient, uri: str) -> list[int]:
    return sorted(d.range.start.line + 1 for d in observed(client, uri))


def report_changed(client: RecordingClient, path: Path) -> None:
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=path.as_uri(), type=types.FileChangeType.Changed)]
        )
    )


async def test_observed_findings_are_shown_at_their_lines_with_the_switch(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    write_run_report(tmp_path, train)
    await start(client, tmp_path)
    open_document(client, TRAIN, uri=train.as_uri())
    await wait_until(
        lambda: observed_lines(client, train.as_uri()) == [DYNAMIC_LINE, STATIC_LINE], "both observed"
    )

    dynamic = next(d for d in observed(client, train.as_uri()) if d.range.start.line + 1 == DYNAMIC_LINE)
    assert dynamic.code == "TM101"
    assert dynamic.severity == types.DiagnosticSeverity.Warning  # the rule's default severity
    assert "observed at run time 1,204 times, in optimizer steps 301 to 1,504" in dynamic.message
    # At `model(data)` on that line, columns in UTF-16 as the editor counts.
    assert dynamic.range.start.character == LINES[DYNAMIC_LINE - 1].index("model(data)")
    (related,) = dynamic.related_information or []
    assert related.location.uri == train.as_uri() and related.location.range.start.line == 8
    assert "switched `Net` to eval mode here" in related.message
    # The static check finds the other one too: both are listed, each with its source.
    static = [d for d in client.diagnostics[train.as_uri()] if d.source == "torchmode"]
    assert [d.range.start.line + 1 for d in static] == [STATIC_LINE]


async def test_observed_messages_follow_the_client_language(client: RecordingClient, tmp_path: Path) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    write_run_report(tmp_path, train)
    await start(client, tmp_path, locale="zh-CN")
    open_document(client, TRAIN, uri=train.as_uri())
    await wait_until(lambda: len(observed(client, train.as_uri())) == 2, "the observed findings")
    messages = [d.message for d in observed(client, train.as_uri())]
    assert all("运行时观察到 1,204 次" in message for message in messages), messages


async def test_a_changed_line_or_file_drops_the_observation(client: RecordingClient, tmp_path: Path) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    write_run_report(tmp_path, train)
    await start(client, tmp_path)
    uri = train.as_uri()
    open_document(client, TRAIN, uri=uri)
    await wait_until(lambda: observed_lines(client, uri) == [DYNAMIC_LINE, STATIC_LINE], "both observed")

    # The dynamic line edited in the editor: its observation is about another text now.
    edited = TRAIN.replace(
        "loss = F.cross_entropy(model(data), target)", "loss = F.nll_loss(model(data), target)"
    )
    change_whole(client, edited, 2, uri)
    await wait_until(lambda: observed_lines(client, uri) == [STATIC_LINE], "only the unchanged line's")
    # An edit elsewhere that moves nothing keeps it; undoing brings the other back.
    change_whole(client, TRAIN, 3, uri)
    await wait_until(lambda: observed_lines(client, uri) == [DYNAMIC_LINE, STATIC_LINE], "both again")

    # Saved (or changed on disk) since the run: the report is older than the file.
    later = time.time() + 5
    os.utime(train, (later, later))
    report_changed(client, train)
    await wait_until(lambda: observed_lines(client, uri) == [], "none: the file is newer than the report")


async def test_the_report_is_read_again_when_it_changes(client: RecordingClient, tmp_path: Path) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    await start(client, tmp_path)
    uri = train.as_uri()
    open_document(client, TRAIN, uri=uri)
    await wait_until(lambda: client.diagnostics.get(uri) is not None, "the first publish")
    assert observed(client, uri) == []  # no report yet

    report = write_run_report(tmp_path, train, count=5)
    report_changed(client, report)
    await wait_until(lambda: len(observed(client, uri)) == 2, "the new report's findings")
    assert all("observed at run time 5 times" in d.message for d in observed(client, uri))

    report.unlink()
    report_changed(client, report)
    await wait_until(lambda: observed(client, uri) == [], "nothing once the report is gone")


async def test_the_hover_of_a_confirmed_static_finding_says_so(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    write_run_report(tmp_path, train)
    await start(client, tmp_path)
    uri = train.as_uri()
    open_document(client, TRAIN, uri=uri)
    await wait_until(lambda: len(observed(client, uri)) == 2, "the observed findings")
    line = STATIC_LINE - 1
    markdown = await hover_markdown(client, line, LINES[line].index("model(data)") + 2, uri=uri)
    assert markdown is not None
    assert "Confirmed at run time" in markdown and "1,204 times, in optimizer steps 301 to 1,504" in markdown
    # The checker's own hover is still there (the model's mode at that line).
    assert "train | eval" in markdown
    # A line the run did not confirm has no such note.
    other = await hover_markdown(client, 20, LINES[20].index("model(data)") + 2, uri=uri)
    assert other is None or "Confirmed at run time" not in other


async def test_an_unopened_file_shows_what_the_run_observed(client: RecordingClient, tmp_path: Path) -> None:
    train = tmp_path / "train.py"
    train.write_text(TRAIN, encoding="utf-8")
    write_run_report(tmp_path, train)
    await start(client, tmp_path, mode="workspace")
    await wait_until(
        lambda: len(observed(client, train.as_uri())) == 2, "observed findings of an unopened file"
    )
    sources: Any = sorted(str(d.source) for d in client.diagnostics[train.as_uri()])
    assert sources == ["torchmode", "torchmode run", "torchmode run"]
