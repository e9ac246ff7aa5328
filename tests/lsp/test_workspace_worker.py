"""The workspace check's worker, in this process (its protocol's handler) and as the server's
subprocess (killed, it is started again and catches up)."""

from __future__ import annotations

import io
import os
import re
import signal
from pathlib import Path

from lsp_helpers import RecordingClient, wait_until
from lsprotocol import types
from test_lsp_workspace import ENGINE, ENGINE_RESTORING, TRAIN, codes, disk_event, log_text, start, write

from torchmode.engine import Settings
from torchmode.lsp.diagnostics import DiagnosticSupport
from torchmode.lsp.workspace_worker import Checked, Worker, read_frame, write_frame


def check(worker: Worker, path: Path) -> Checked:
    result = worker.handle(("check", path, path.as_uri(), Settings(), "utf-16", DiagnosticSupport(), "en"))
    assert isinstance(result, Checked)
    return result


def test_the_worker_keeps_diagnostics_not_trees_and_follows_the_editor(tmp_path: Path) -> None:
    train = write(tmp_path, "train.py", TRAIN).resolve()
    engine = write(tmp_path, "engine.py", ENGINE).resolve()
    worker = Worker()
    worker.handle(("roots", [tmp_path.resolve()]))
    first = check(worker, train)
    assert [str(d.code) for d in first.diagnostics] == ["TM101"] and first.findings == 1
    # The checked file's tree is released; the file it imported stays cached for the next check.
    assert worker.workspace.document_of(str(train)) is None
    assert worker.workspace.document_of(str(engine)) is not None
    # engine.py typed into in the editor: train.py read it, so it is stale, and follows the text.
    assert worker.handle(("text", engine, ENGINE_RESTORING)) == [train]
    assert check(worker, train).diagnostics == ()
    # Closed without saving: back to the disk's text.
    assert worker.handle(("text", engine, None)) == [train]
    assert [str(d.code) for d in check(worker, train).diagnostics] == ["TM101"]
    # An unreadable file is a problem, not an exception.
    assert check(worker, tmp_path / "missing.py").problem is not None


def test_frames_round_trip() -> None:
    stream = io.BytesIO()
    write_frame(stream, (1, ("text", Path("/x.py"), "ü" * 100_000)))
    write_frame(stream, (2, ("exit",)))
    stream.seek(0)
    assert read_frame(stream) == (1, ("text", Path("/x.py"), "ü" * 100_000))
    assert read_frame(stream) == (2, ("exit",))


async def test_a_killed_worker_is_started_again_and_catches_up(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    engine = write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    await wait_until(lambda: codes(client, train.as_uri()) == ["TM101"], "TM101 on the unopened train.py")
    found = re.search(r"worker process (\d+) started", log_text(client))
    assert found is not None
    os.kill(int(found.group(1)), signal.SIGKILL)
    await wait_until(lambda: "exited (-9)" in log_text(client), "the worker's death in the log")

    engine.write_text(ENGINE_RESTORING, encoding="utf-8")
    disk_event(client, engine, types.FileChangeType.Changed)
    # A new worker knows nothing of who imports what: every file is checked again, so the
    # change still reaches the unopened importer.
    await wait_until(lambda: codes(client, train.as_uri()) == [], "train.py checked again by a new worker")
    assert len(re.findall(r"worker process \d+ started", log_text(client))) == 2
