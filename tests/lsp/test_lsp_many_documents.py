"""Many open documents: only the most recently checked keep their trees and analyses in
memory (``KEPT_ANALYSES``); the others keep text, diagnostics and fixes. A slimmed
document must answer hovers and code actions exactly as before, and its next edit is
checked as any other."""

from __future__ import annotations

from pathlib import Path

from lsp_helpers import (
    RecordingClient,
    change_range,
    hover_markdown,
    open_document,
    seed_text,
    train_forward_line,
    wait_for_publish,
)
from lsprotocol import types
from pytest_lsp import client_capabilities

from torchmode.lsp.documents import KEPT_ANALYSES


async def _actions(client: RecordingClient, uri: str, diagnostic: types.Diagnostic) -> list[str]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    return [action.title for action in result or [] if isinstance(action, types.CodeAction)]


async def test_a_document_slimmed_out_of_memory_still_answers_the_same(
    client: RecordingClient, tmp_path: Path
) -> None:
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")],
            initialization_options={"debounceMs": 0},
        )
    )
    text = seed_text()
    forward = train_forward_line(text)
    column = text.splitlines()[forward].index("model(data)")
    first = (tmp_path / "first.py").as_uri()
    open_document(client, text, uri=first)
    published = await wait_for_publish(client, 1, uri=first)
    diagnostic = next(item for item in published.diagnostics if item.code == "TM101")
    hover_before = await hover_markdown(client, forward, column, uri=first)
    actions_before = await _actions(client, first, diagnostic)
    assert hover_before and "eval" in hover_before
    assert actions_before

    # Enough other documents that the first one is no longer among those kept whole.
    for number in range(KEPT_ANALYSES + 2):
        uri = (tmp_path / f"other_{number}.py").as_uri()
        open_document(client, text, uri=uri)
        await wait_for_publish(client, 1, uri=uri)

    assert await hover_markdown(client, forward, column, uri=first) == hover_before
    assert await _actions(client, first, diagnostic) == actions_before
    # An edit of the slimmed document is parsed in full and checked as usual.
    line = text.splitlines()[forward]
    change_range(client, 2, (forward, len(line)), (forward, len(line)), "  # edited", uri=first)
    again = await wait_for_publish(client, 2, uri=first)
    assert [item.code for item in again.diagnostics] == [item.code for item in published.diagnostics]
