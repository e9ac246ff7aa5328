"""pytest-lsp fixture: the real server over stdio, driven by a client that records every publish."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_lsp
from lsp_helpers import SERVER, RecordingClient


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: RecordingClient) -> AsyncIterator[RecordingClient]:
    """A started, *uninitialised* server: each test chooses its own initialize params."""
    yield lsp_client
    await lsp_client.shutdown_session()
