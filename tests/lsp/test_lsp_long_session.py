"""A long editing session: nothing piles up in the server.

``bench/long_session.py`` types thousands of edits into documents that import each other.
Pinned here in process (the server has no transport; its publishes are recorded):

* pygls kept a finished future per notification, for ever.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from torchmode.lsp.server import TorchmodeServer, create_server

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py"


def started_server(tmp_path: Path) -> tuple[TorchmodeServer, list[types.PublishDiagnosticsParams]]:
    server = create_server()
    initialize = server.protocol.lsp_initialize(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=tmp_path.as_uri(),
            initialization_options={"debounceMs": 0},
        )
    )
    for handler, arguments, _ in initialize:  # pygls' initialize yields the user handler
        handler(*arguments)
    published: list[types.PublishDiagnosticsParams] = []
    server.text_document_publish_diagnostics = published.append  # type: ignore[method-assign]
    return server, published


def receive(server: TorchmodeServer, method: str, params: object) -> None:
    """A notification as it comes from the client: through pygls' protocol."""
    message = {"jsonrpc": "2.0", "method": method, "params": server.protocol._converter.unstructure(params)}
    server.protocol.handle_message(server.protocol.structure_message(message))


async def settle(server: TorchmodeServer, uri: str) -> None:
    while (task := server.scheduler.pending.get(uri)) is not None:
        await asyncio.wait_for(task, 30)


def opened(uri: str, text: str) -> types.DidOpenTextDocumentParams:
    return types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    )


def typed(uri: str, version: int, line: int) -> types.DidChangeTextDocumentParams:
    """A comment typed at the start of ``line`` (0-based)."""
    start = types.Position(line=line, character=0)
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(range=types.Range(start=start, end=start), text="#\n")
        ],
    )


async def test_notifications_leave_no_futures_behind(tmp_path: Path) -> None:
    """pygls files the future of every notification's handler (a generator, yielding to ours)
    and never takes it out: one more object graph per keystroke for the whole session."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    receive(server, types.TEXT_DOCUMENT_DID_OPEN, opened(uri, SEED.read_text(encoding="utf-8")))
    for version in range(2, 32):
        receive(server, types.TEXT_DOCUMENT_DID_CHANGE, typed(uri, version, 0))
        await settle(server, uri)
    assert server.documents.texts[uri].version == 31
    assert published and published[-1].version == 31
    assert server.protocol._request_futures == {}
