"""The server fuzz reuses the pytest-lsp recording client of tests/lsp."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lsp"))

import pytest_lsp
from lsp_helpers import SERVER, RecordingClient


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: RecordingClient) -> AsyncIterator[RecordingClient]:
    """A started, uninitialised server."""
    yield lsp_client
    await lsp_client.shutdown_session()
