"""Documents whose URI is not a ``file:`` URI: unsaved buffers (``untitled:``), notebook cells
sent as plain text documents (``vscode-notebook-cell:``, as clients without notebook sync do),
the HEAD side of a diff (``git:``), and a few other schemes editors use. Each is analysed in
memory from the text the editor sent (the finding and its related locations stay on that URI),
requests on it are answered, closing it clears it, and the server keeps serving files.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from lsp_helpers import (
    REPO,
    SEED_PATH,
    SEED_URI,
    RecordingClient,
    change_whole,
    initialize,
    open_document,
    seed_text,
    train_forward_line,
    wait_for_publish,
    wait_until,
)
from lsprotocol import types

_GIT_QUERY = quote(json.dumps({"path": str(SEED_PATH), "ref": "HEAD"}), safe="")
URIS = {
    "untitled": "untitled:Untitled-1",
    "untitled-with-path": "untitled:" + quote(str(REPO / "examples" / "not_saved_yet.py")),
    "notebook-cell": "vscode-notebook-cell:" + quote(str(REPO / "nb.ipynb")) + "#W0sZmlsZQ%3D%3D",
    "git": f"git:{quote(str(SEED_PATH))}?{_GIT_QUERY}",
    "vscode-vfs": "vscode-vfs://github/owner/repo/train.py",
    "in-memory": "inmemory://model/1",
}


def _position(line: int, character: int = 0) -> types.Position:
    return types.Position(line=line, character=character)


def _errors(client: RecordingClient) -> list[str]:
    logged = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    shown = [m.message for m in client.messages if m.type == types.MessageType.Error]
    return logged + shown


@pytest.mark.parametrize("uri", URIS.values(), ids=URIS.keys())
async def test_odd_scheme_is_analysed_in_memory_and_never_crashes(client: RecordingClient, uri: str) -> None:
    await initialize(client)
    text = seed_text()
    line = train_forward_line(text)
    open_document(client, text, uri=uri)
    published = await wait_for_publish(client, version=1, uri=uri)

    # Analysed from the text the editor sent: the seed's TM101, on the training step.
    (finding,) = [d for d in published.diagnostics if d.code == "TM101"]
    assert finding.range.start.line == line
    for related in finding.related_information or ():
        # The eval switch and the train() call are in this same document, not in a file.
        assert related.location.uri == uri

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=_position(line, 17))
    )
    assert hover is None or hover.contents
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=finding.range,
            context=types.CodeActionContext(diagnostics=[finding]),
        )
    )
    # The quick fix edits this document, by its own URI.
    assert actions
    for action in actions:
        if isinstance(action, types.CodeAction) and action.edit and action.edit.changes:
            assert set(action.edit.changes) == {uri}

    # Edits are re-analysed; closing clears the document's diagnostics.
    change_whole(client, "x = 1\n", version=2, uri=uri)
    assert not (await wait_for_publish(client, version=2, uri=uri)).diagnostics
    change_whole(client, text, version=3, uri=uri)
    assert (await wait_for_publish(client, version=3, uri=uri)).diagnostics
    before_close = len(client.published)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    cleared = await wait_until(
        lambda: [p for p in client.published[before_close:] if p.uri == uri],
        "the publish that clears on close",
    )
    assert not cleared[-1].diagnostics

    # The server still serves ordinary files.
    open_document(client, text)
    assert [d for d in (await wait_for_publish(client, version=1)).diagnostics if d.code == "TM101"]
    assert _errors(client) == []


async def test_all_schemes_open_at_once_then_a_file(client: RecordingClient) -> None:
    """Several odd documents side by side (as in a diff view next to a notebook) do not mix."""
    await initialize(client)
    text = seed_text()
    for index, uri in enumerate(URIS.values()):
        # Each document gets a different text: only the seed copies have a finding.
        open_document(client, text if index % 2 == 0 else "import torch\n", uri=uri)
    for index, uri in enumerate(URIS.values()):
        published = await wait_for_publish(client, version=1, uri=uri)
        codes = [d.code for d in published.diagnostics]
        assert ("TM101" in codes) == (index % 2 == 0), (uri, codes)
    open_document(client, text, uri=SEED_URI)
    assert (await wait_for_publish(client, version=1)).diagnostics
    assert _errors(client) == []
