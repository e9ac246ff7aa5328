"""Helpers for the pytest-lsp tests: a client that records every publish, edits, waits."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from support.checkout import checkout_env
from torchmode.lsp.server import TorchmodeServer, create_server

REPO = Path(__file__).resolve().parents[2]
SEED_PATH = REPO / "examples" / "seed_loop.py"
SEED_URI = SEED_PATH.as_uri()
# The first check imports the whole engine; generous, because CI machines stall.
TIMEOUT = 60.0


class RecordingClient(LanguageClient):
    """pytest-lsp keeps only the latest diagnostics per URI; the tests need every publish, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.registrations: list[types.Registration] = []
        self.refreshes = 0  # workspace/diagnostic/refresh requests from the server


def _record_publish(client: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
    client.published.append(params)
    client.diagnostics[params.uri] = params.diagnostics


def _record_registration(client: RecordingClient, params: types.RegistrationParams) -> None:
    """VS Code's answer to ``client/registerCapability`` (the server asks it to watch files)."""
    client.registrations.extend(params.registrations)


def _record_refresh(client: RecordingClient, params: None) -> None:
    """``workspace/diagnostic/refresh``: a pulling client would pull again."""
    client.refreshes += 1


def make_recording_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_publish
    features[types.CLIENT_REGISTER_CAPABILITY] = _record_registration
    features[types.WORKSPACE_DIAGNOSTIC_REFRESH] = _record_refresh
    register_lsp_features(client, features)
    return client


def server_config(*command: str) -> ClientServerConfig:
    """The real server started from this checkout (see ``support.checkout``); ``command``
    replaces ``-m torchmode.lsp`` after the interpreter."""
    return ClientServerConfig(
        server_command=[sys.executable, *(command or ("-m", "torchmode.lsp"))],
        client_factory=make_recording_client,
        server_env=checkout_env(),
    )


SERVER = server_config()


async def initialize(
    client: LanguageClient,
    *,
    locale: str | None = None,
    options: Any = None,
    capabilities: types.ClientCapabilities | None = None,
    diagnostic_mode: str = "openFilesOnly",
) -> types.InitializeResult:
    """Initialize with this checkout as the workspace folder. The tests of open documents leave
    the rest of the repository unchecked (``diagnostic_mode``; the server's default is
    ``workspace``): its background check would only slow them down."""
    if options is None:
        # No debounce: the tests wait for publishes, they do not time them.
        options = {"debounceMs": 0}
    if isinstance(options, dict):
        settings = options.get("settings")
        if settings is None or isinstance(settings, dict):
            options = {**options, "settings": {"diagnosticMode": diagnostic_mode, **(settings or {})}}
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities("visual-studio-code"),
            root_uri=REPO.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=REPO.as_uri(), name="main")],
            locale=locale,
            initialization_options=options,
        )
    )


def seed_text() -> str:
    return SEED_PATH.read_text(encoding="utf-8")


def open_document(client: LanguageClient, text: str, uri: str = SEED_URI, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )


def change_whole(client: LanguageClient, text: str, version: int, uri: str = SEED_URI) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def change_range(
    client: LanguageClient,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
    uri: str = SEED_URI,
) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )


async def wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def wait_for_publish(
    client: RecordingClient, version: int | None, uri: str = SEED_URI
) -> types.PublishDiagnosticsParams:
    """The first publish for ``uri`` at ``version`` (any version if None)."""

    def found() -> types.PublishDiagnosticsParams | None:
        for params in client.published:
            if params.uri == uri and (version is None or params.version == version):
                return params
        return None

    result: types.PublishDiagnosticsParams = await wait_until(found, f"diagnostics of {uri} v{version}")
    return result


def train_forward_line(text: str) -> int:
    """0-based line of ``output = model(data)`` inside ``train()`` (the seed's TM101 site)."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("def train("))
    return next(index for index in range(start, len(lines)) if "output = model(data)" in lines[index])


def apply_lsp_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 columns) the way an editor does: from the last to the first."""
    # LSP line breaks only: str.splitlines would also split at form feeds.
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[: position.line])
        if position.line >= len(lines):
            return len(text)
        line = lines[position.line].rstrip("\r\n")
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return before + index
            units += 2 if ord(char) > 0xFFFF else 1
        return before + len(line)

    resolved = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True)
    for start, end, new_text in resolved:
        text = text[:start] + new_text + text[end:]
    return text


async def hover_markdown(
    client: LanguageClient, line: int, character: int, uri: str = SEED_URI
) -> str | None:
    """The markdown of a hover at a 0-based position (None when there is none)."""
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
    )
    if hover is None:
        return None
    assert isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


# A training loop whose validation, in another file, leaves the model in eval mode: the
# project of the cross-file and workspace tests.
TRAIN = """\
import torch
from torch import nn
from engine import evaluate


def train(model, loader, val_loader, opt):
    model.train()
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        evaluate(model, val_loader)
"""

ENGINE = """\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        for x in loader:
            model(x)
"""

ENGINE_RESTORING = ENGINE + "    model.train()\n"


def started_server(tmp_path: Path) -> tuple[TorchmodeServer, list[types.PublishDiagnosticsParams]]:
    """A server in this process, initialized with debounce 0; what it publishes is recorded."""
    server = create_server()
    initialize = server.protocol.lsp_initialize(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=tmp_path.as_uri(),
            initialization_options={"debounceMs": 0},
        )
    )
    # pygls' initialize is a generator that yields the user handler to run.
    for handler, arguments, _ in initialize:
        handler(*arguments)
    published: list[types.PublishDiagnosticsParams] = []
    server.text_document_publish_diagnostics = published.append  # type: ignore[method-assign]
    return server, published
