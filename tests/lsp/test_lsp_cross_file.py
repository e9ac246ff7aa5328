"""Workspaces of several files through the real server: a finding caused by another file,
and re-checks when that file changes in the editor or on disk."""

from __future__ import annotations

from pathlib import Path

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


async def start(client: RecordingClient, root: Path) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options={"debounceMs": 0},
        )
    )


def codes_of(client: RecordingClient, uri: str) -> list[str] | None:
    """The codes of the latest publish for ``uri`` (None if nothing was published yet)."""
    for params in reversed(client.published):
        if params.uri == uri:
            return [str(diagnostic.code) for diagnostic in params.diagnostics]
    return None


async def wait_for_codes(client: RecordingClient, uri: str, expected: list[str]) -> None:
    await wait_until(lambda: codes_of(client, uri) == expected, f"{expected} on {uri}")


async def test_finding_caused_by_an_imported_file_and_cleared_by_editing_it(
    client: RecordingClient, tmp_path: Path
) -> None:
    (tmp_path / "engine.py").write_text(ENGINE, encoding="utf-8")
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    await start(client, tmp_path)
    # The server asks the editor to watch Python files on disk.
    watched = types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    await wait_until(
        lambda: any(registration.method == watched for registration in client.registrations),
        "file watcher registration",
    )
    train_uri = (tmp_path / "train.py").as_uri()
    engine_uri = (tmp_path / "engine.py").as_uri()
    open_document(client, TRAIN, uri=train_uri)
    await wait_for_codes(client, train_uri, ["TM101"])
    (diagnostic,) = client.diagnostics[train_uri]
    related = diagnostic.related_information or []
    inside_engine = [item for item in related if item.location.uri == engine_uri]
    assert len(inside_engine) == 1
    # ``model.eval()`` on line 5 of engine.py (0-based 4), columns in UTF-16.
    assert inside_engine[0].location.range.start == types.Position(line=4, character=4)

    # Editing engine.py (open, not saved) re-checks train.py without touching it.
    published_before = len(client.published)
    open_document(client, ENGINE, uri=engine_uri)
    change_whole(client, ENGINE_RESTORING, version=2, uri=engine_uri)
    await wait_for_codes(client, train_uri, [])
    assert len(client.published) > published_before

    # Undoing the edit in the editor brings the finding back.
    change_whole(client, ENGINE, version=3, uri=engine_uri)
    await wait_for_codes(client, train_uri, ["TM101"])


async def test_a_change_on_disk_reported_by_the_watcher_rechecks_dependents(
    client: RecordingClient, tmp_path: Path
) -> None:
    (tmp_path / "engine.py").write_text(ENGINE, encoding="utf-8")
    await start(client, tmp_path)
    train_uri = (tmp_path / "train.py").as_uri()
    open_document(client, TRAIN, uri=train_uri)
    await wait_for_codes(client, train_uri, ["TM101"])

    (tmp_path / "engine.py").write_text(ENGINE_RESTORING, encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=(tmp_path / "engine.py").as_uri(), type=types.FileChangeType.Changed)
            ]
        )
    )
    await wait_for_codes(client, train_uri, [])


async def test_files_outside_the_workspace_are_not_read(client: RecordingClient, tmp_path: Path) -> None:
    # The editor opened a sub-package as its folder; the package above it is outside.
    package = tmp_path / "pkg"
    workspace = package / "sub"
    workspace.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (workspace / "__init__.py").write_text("", encoding="utf-8")
    (package / "engine.py").write_text(ENGINE, encoding="utf-8")
    await start(client, workspace)
    text = TRAIN.replace("from engine import evaluate", "from pkg.engine import evaluate")
    train_uri = (workspace / "train.py").as_uri()
    open_document(client, text, uri=train_uri)
    await wait_for_codes(client, train_uri, [])
    # The same module inside the workspace is followed.
    (workspace / "engine.py").write_text(ENGINE, encoding="utf-8")
    change_whole(client, text.replace("pkg.engine", "pkg.sub.engine"), version=2, uri=train_uri)
    await wait_for_codes(client, train_uri, ["TM101"])
