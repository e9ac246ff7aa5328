"""Only the version that was checked is published: the guard between a finished check and a publish.

The server runs in this process (no transport): its publish is recorded, and the engine
is held on an event so that the open document can be replaced, or the analysis marked
superseded, while a check is in flight. Each stale case has a control run that does
publish, so the assertions cannot pass because nothing is ever published.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import started_server
from lsprotocol import types

from torchmode import engine as engine_module
from torchmode.engine import CheckResult, Settings
from torchmode.lsp.documents import Analysis, OpenText
from torchmode.lsp.server import TorchmodeServer
from torchmode.syntax import Document

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py"


class HeldEngine:
    """``engine.check_document`` that waits for ``release`` before checking (in the pool thread)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.real = engine_module.check_document

    def __call__(
        self, document: Document, settings: Settings, project: Any = None, cells: Any = None
    ) -> CheckResult:
        self.started.set()
        assert self.release.wait(30), "the test never released the engine"
        return self.real(document, settings, project, cells)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldEngine]:
    engine = HeldEngine()
    monkeypatch.setattr(engine_module, "check_document", engine)
    yield engine
    engine.release.set()


def open_seed(server: TorchmodeServer, uri: str) -> None:
    server.on_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=SEED.read_text(encoding="utf-8")
            )
        )
    )


async def wait_started(engine: HeldEngine) -> None:
    assert await asyncio.get_running_loop().run_in_executor(None, engine.started.wait, 30)


async def finish(server: TorchmodeServer, uri: str, engine: HeldEngine) -> None:
    task = server.scheduler.pending.get(uri)
    engine.release.set()
    if task is not None:
        await asyncio.wait_for(task, 30)


async def test_a_check_of_the_open_version_is_published(held: HeldEngine, tmp_path: Path) -> None:
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    open_seed(server, uri)
    await wait_started(held)
    await finish(server, uri, held)
    assert [(p.uri, p.version) for p in published] == [(uri, 1)]
    assert any(d.code == "TM101" for d in published[0].diagnostics)


async def test_a_document_replaced_while_its_check_runs_gets_nothing_stale(
    held: HeldEngine, tmp_path: Path
) -> None:
    """The text changed under a running check and no new check was scheduled (as when a
    dependency's change replaces the snapshot): the old result must not be published."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    open_seed(server, uri)
    await wait_started(held)
    current = server.documents.texts[uri]
    server.documents.texts[uri] = OpenText(2, current.text + "\n# edited\n", current.path)
    await finish(server, uri, held)
    assert published == []
    assert uri not in server.documents.analyses  # nor cached for the new version's code actions


async def test_a_superseded_analysis_is_never_published(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A check that never ran (its document changed while it was queued) has no findings;
    publishing it would clear the diagnostics of a version nobody checked."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    real_worker = server._check_in_worker

    def superseded_worker(uri: str, snapshot: OpenText, settings: Settings) -> Analysis:
        analysis = real_worker(uri, snapshot, settings)
        return replace(analysis, result=None, superseded=True)

    # The check the scheduler was given (the server's ``_check_in_worker``).
    monkeypatch.setattr(server.scheduler, "_check", superseded_worker)
    open_seed(server, uri)
    await asyncio.wait_for(server.scheduler.pending[uri], 30)
    assert published == []


async def test_a_result_for_other_settings_is_never_published(held: HeldEngine, tmp_path: Path) -> None:
    """The settings changed while the check ran (a pyproject.toml edit): its result is stale."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    open_seed(server, uri)
    await wait_started(held)
    settings = server.documents.settings[uri]
    server.documents.settings[uri] = replace(settings, ignore=("TM203",))
    await finish(server, uri, held)
    assert published == []
