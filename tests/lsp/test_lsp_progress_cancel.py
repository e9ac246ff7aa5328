"""Editor hygiene: a long check shows progress (``window/workDoneProgress``), in the
client's language; a cancelled request (``$/cancelRequest``) is answered as cancelled
and leaves the server working."""

from __future__ import annotations

import asyncio

import pytest
from lsp_helpers import (
    SEED_URI,
    RecordingClient,
    initialize,
    open_document,
    seed_text,
    train_forward_line,
    wait_for_publish,
    wait_until,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled


@pytest.mark.parametrize(
    ("locale", "message"),
    [("en", "Checking seed_loop.py and the project files it imports"), ("zh-cn", "正在检查 seed_loop.py")],
)
async def test_a_check_running_longer_than_the_threshold_reports_progress(
    client: RecordingClient, locale: str, message: str
) -> None:
    # A threshold of 0 ms: every check counts as long, so the test does not depend on speed.
    await initialize(client, locale=locale, options={"debounceMs": 0, "progressAfterMs": 0})
    open_document(client, seed_text())
    await wait_for_publish(client, 1)
    reports = await wait_until(
        lambda: [found for found in client.progress_reports.values() if found and found[-1].kind == "end"],
        "a finished progress report",
    )
    begin, *_, end = reports[0]
    assert isinstance(begin, types.WorkDoneProgressBegin)
    assert begin.title == "torchmode"
    assert begin.message is not None and begin.message.startswith(message)
    assert isinstance(end, types.WorkDoneProgressEnd)


async def test_no_progress_for_a_check_under_the_threshold(client: RecordingClient) -> None:
    await initialize(client, options={"debounceMs": 0, "progressAfterMs": 60_000})
    open_document(client, seed_text())
    await wait_for_publish(client, 1)
    assert client.progress_reports == {}


async def test_a_cancelled_hover_is_answered_as_cancelled(client: RecordingClient) -> None:
    await initialize(client)
    # Long enough that the hover's analysis is still queued when the cancel arrives.
    text = seed_text()
    big = text + "".join(
        text.replace("def train(", f"def train_{number}(").replace("def test(", f"def test_{number}(")
        for number in range(40)
    )
    open_document(client, big)
    line = train_forward_line(text)
    params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=SEED_URI),
        position=types.Position(line=line, character=text.splitlines()[line].index("model(")),
    )
    message_id = "hover-to-cancel"
    pending = client.protocol.send_request(types.TEXT_DOCUMENT_HOVER, params, msg_id=message_id)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=message_id))
    with pytest.raises(JsonRpcRequestCancelled):
        await asyncio.wait_for(asyncio.wrap_future(pending), timeout=30)
    # The server goes on: the check is published and a new hover is answered.
    await wait_for_publish(client, 1)
    hover = await client.text_document_hover_async(params)
    assert hover is not None
