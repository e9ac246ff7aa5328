"""Workspace diagnostics through the real server, pushed to a client that does not pull:
every file of the workspace folders is checked in the background, kept current when files
change on disk or in the editor, cleared when deleted or excluded; progress, cancel, and
the Check Workspace command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from lsp_helpers import (
    ENGINE,
    ENGINE_RESTORING,
    TRAIN,
    RecordingClient,
    change_whole,
    open_document,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import client_capabilities

CLEAN = "def helper(x):\n    return x + 1\n"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def start(
    client: RecordingClient,
    root: Path,
    *,
    settings: dict[str, Any] | None = None,
    locale: str | None = None,
    progress_after_ms: int = 60_000,
) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            locale=locale,
            initialization_options={
                "debounceMs": 0,
                "progressAfterMs": progress_after_ms,
                "settings": settings or {},
            },
        )
    )


def latest(client: RecordingClient, uri: str) -> list[types.Diagnostic] | None:
    """The diagnostics of the latest publish for ``uri`` (None: never published)."""
    for params in reversed(client.published):
        if params.uri == uri:
            return list(params.diagnostics)
    return None


def codes(client: RecordingClient, uri: str) -> list[str] | None:
    diagnostics = latest(client, uri)
    return None if diagnostics is None else [str(diagnostic.code) for diagnostic in diagnostics]


async def wait_for_codes(client: RecordingClient, uri: str, expected: list[str]) -> None:
    await wait_until(lambda: codes(client, uri) == expected, f"{expected} on {uri}")


def disk_event(client: RecordingClient, path: Path, kind: types.FileChangeType) -> None:
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=kind)])
    )


def log_text(client: RecordingClient) -> str:
    return "\n".join(message.message for message in client.log_messages)


async def check_workspace(client: RecordingClient) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="torchmode.server.checkWorkspace")
    )


async def test_an_unopened_buggy_file_is_reported_in_workspace_mode(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    write(tmp_path, "util.py", CLEAN)
    await start(client, tmp_path)
    # Never opened: found by the background check, through the import of engine.py.
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    (diagnostic,) = latest(client, train.as_uri()) or []
    assert diagnostic.source == "torchmode"
    assert diagnostic.range.start.line == 10  # model(x) inside the loss
    assert "may be in eval mode" in diagnostic.message
    related = diagnostic.related_information or []
    assert [item.location.uri for item in related if item.location.uri != train.as_uri()] == [
        (tmp_path / "engine.py").as_uri()
    ]
    # A clean file never had anything to say: nothing is published for it.
    result = await check_workspace(client)
    assert result["checked"] is True and result["files"] == 3
    assert (result["findings"], result["filesWithFindings"]) == (1, 1)
    assert "3 files" in result["message"]
    assert latest(client, (tmp_path / "util.py").as_uri()) is None


async def test_open_files_only_reports_nothing_for_unopened_files(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    other = write(tmp_path, "other.py", CLEAN)
    await start(client, tmp_path, settings={"diagnosticMode": "openFilesOnly"})
    # An opened file is checked as always; its publish proves the server is running.
    open_document(client, CLEAN, uri=other.as_uri())
    await wait_for_codes(client, other.as_uri(), [])
    result = await check_workspace(client)
    assert result["checked"] is False and "openFilesOnly" in result["message"]
    assert latest(client, train.as_uri()) is None
    assert {params.uri for params in client.published} == {other.as_uri()}

    # Switched to workspace mode at run time: the unopened file is checked; back: cleared.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"torchmode": {"diagnosticMode": "workspace"}})
    )
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"torchmode": {"diagnosticMode": "openFilesOnly"}})
    )
    await wait_for_codes(client, train.as_uri(), [])


async def test_editing_an_imported_file_on_disk_updates_an_unopened_importer(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    engine = write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    await wait_for_codes(client, train.as_uri(), ["TM101"])

    engine.write_text(ENGINE_RESTORING, encoding="utf-8")
    disk_event(client, engine, types.FileChangeType.Changed)
    await wait_for_codes(client, train.as_uri(), [])

    engine.write_text(ENGINE, encoding="utf-8")
    disk_event(client, engine, types.FileChangeType.Changed)
    await wait_for_codes(client, train.as_uri(), ["TM101"])


async def test_editing_an_imported_file_in_the_editor_updates_an_unopened_importer(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    engine = write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    # Typed, not saved: train.py (never opened) follows the editor's text of engine.py.
    open_document(client, ENGINE, uri=engine.as_uri())
    change_whole(client, ENGINE_RESTORING, version=2, uri=engine.as_uri())
    await wait_for_codes(client, train.as_uri(), [])
    # Closed without saving: back to the disk's text.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=engine.as_uri()))
    )
    await wait_for_codes(client, train.as_uri(), ["TM101"])


async def test_a_deleted_file_loses_its_diagnostics_and_a_created_one_is_checked(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    await wait_for_codes(client, train.as_uri(), ["TM101"])

    train.unlink()
    disk_event(client, train, types.FileChangeType.Deleted)
    await wait_for_codes(client, train.as_uri(), [])

    copy = write(tmp_path, "pkg/train_copy.py", TRAIN)
    write(tmp_path, "pkg/engine.py", ENGINE)
    disk_event(client, copy, types.FileChangeType.Created)
    await wait_for_codes(client, copy.as_uri(), ["TM101"])


async def test_excluded_and_gitignored_files_are_not_checked(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path, "engine.py", ENGINE)
    kept = write(tmp_path, "train.py", TRAIN)
    ignored = write(tmp_path, "generated/train.py", TRAIN.replace("from engine", "from ..engine"))
    excluded = write(tmp_path, "scratch/train.py", TRAIN.replace("from engine", "from ..engine"))
    hidden = write(tmp_path, ".cache/train.py", TRAIN)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n", encoding="utf-8")
    await start(client, tmp_path, settings={"exclude": ["scratch/"]})
    await wait_for_codes(client, kept.as_uri(), ["TM101"])
    result = await check_workspace(client)
    assert result["files"] == 2  # engine.py and train.py
    for path in (ignored, excluded, hidden):
        assert latest(client, path.as_uri()) is None, path

    # Excluded later: its diagnostics go.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"torchmode": {"exclude": ["train.py"]}})
    )
    await wait_for_codes(client, kept.as_uri(), [])


async def test_a_closed_file_keeps_the_diagnostics_of_its_text_on_disk(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    open_document(client, TRAIN, uri=train.as_uri())
    fixed = TRAIN.replace(
        "        evaluate(model, val_loader)\n",
        "        evaluate(model, val_loader)\n        model.train()\n",
    )
    change_whole(client, fixed, version=2, uri=train.as_uri())
    await wait_until(
        lambda: any(
            p.uri == train.as_uri() and p.version == 2 and not p.diagnostics for p in client.published
        ),
        "the open document's clean publish",
    )
    # Closed without saving: the file on disk still has the bug, and says so again.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=train.as_uri()))
    )
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    # Closed files of the workspace are never cleared on close (no empty publish in between).
    after_close = [p for p in client.published if p.uri == train.as_uri()][-1]
    assert after_close.version is None and after_close.diagnostics


def notebook_json(cells: list[tuple[str, str]]) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
                | ({"execution_count": None, "outputs": []} if kind == "code" else {})
                for kind, source in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


async def test_an_unopened_notebook_is_reported_on_its_file_with_the_cell(
    client: RecordingClient, tmp_path: Path
) -> None:
    write(tmp_path, "engine.py", ENGINE)
    notebook = write(
        tmp_path,
        "train.ipynb",
        notebook_json(
            [
                ("markdown", "# Training\n"),
                ("code", "import torch\nfrom torch import nn\nfrom engine import evaluate"),
                ("code", TRAIN.split("\n\n\n", 1)[1] + "\ntrain(model, loader, val_loader, opt)\n"),
            ]
        ),
    )
    await start(client, tmp_path, locale="zh-CN")
    await wait_for_codes(client, notebook.as_uri(), ["TM101"])
    (diagnostic,) = latest(client, notebook.as_uri()) or []
    # Cell 3 as the notebook shows it (the markdown cell counts), line 6 of that cell.
    assert diagnostic.message.startswith("第 3 个单元格第 6 行:"), diagnostic.message
    assert diagnostic.range.start == types.Position(line=0, character=0)


async def test_progress_in_the_client_language_and_cancel(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path, "engine.py", ENGINE)
    for number in range(150):
        write(tmp_path, f"pkg/train_{number:03}.py", TRAIN.replace("from engine", "from ..engine") * 3)
    write(tmp_path, "pkg/__init__.py", "")
    await start(client, tmp_path, locale="zh-CN", progress_after_ms=0)
    reports = await wait_until(
        lambda: [found for found in client.progress_reports.values() if found and found[0].kind == "begin"],
        "workspace check progress",
    )
    begin = reports[0][0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "torchmode:正在检查工作区"
    assert begin.cancellable is True
    assert begin.message is not None and begin.message.startswith("已检查 ")
    token = next(token for token, found in client.progress_reports.items() if found and found[0] is begin)
    client.protocol.notify(
        types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
    )
    await wait_until(lambda: client.progress_reports[token][-1].kind == "end", "the end of the progress")
    await wait_until(lambda: "工作区检查在检查了" in log_text(client), "the cancellation in the log")
    done = re.search(r"工作区检查在检查了 (\d+) 个文件后被取消", log_text(client))
    assert done is not None and 0 < int(done.group(1)) < 152
    assert len({params.uri for params in client.published}) < 150

    # Check Workspace runs it again, to the end.
    result = await check_workspace(client)
    assert result["files"] == 152 and result["filesWithFindings"] == 150


async def test_a_bad_mode_setting_warns_and_checks_the_workspace(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path, settings={"diagnosticMode": "everything"})
    await wait_for_codes(client, train.as_uri(), ["TM101"])
    await wait_until(
        lambda: any(
            "diagnosticMode: expected one of workspace, openFilesOnly" in m.message for m in client.messages
        ),
        "the warning",
    )
