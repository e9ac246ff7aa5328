"""Pull diagnostics through the real server: ``textDocument/diagnostic`` and
``workspace/diagnostic`` with result ids for a client that declares pull support (nothing is
pushed to it), refreshes when the server re-checked on its own, and the mixed case of a
client that pulls its open documents only (Neovim 0.10): the other files are pushed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsp_helpers import RecordingClient, change_whole, open_document, wait_until
from lsprotocol import types
from pytest_lsp import client_capabilities
from test_lsp_workspace import ENGINE, ENGINE_RESTORING, TRAIN, codes, disk_event, write

# A bug that needs no other file: training in eval mode.
STANDALONE = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
model.eval()
for x in range(3):
    opt.zero_grad()
    model(torch.ones(4)).sum().backward()
    opt.step()
"""

Report = types.WorkspaceFullDocumentDiagnosticReport | types.WorkspaceUnchangedDocumentDiagnosticReport


def pulling(workspace: bool = True) -> types.ClientCapabilities:
    """VS Code's capabilities with pull diagnostics (VS Code 1.65's predate them); without
    ``workspace``, what Neovim 0.10 declares: document pulls only."""
    capabilities = client_capabilities("visual-studio-code")
    assert capabilities.text_document is not None and capabilities.workspace is not None
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(
        related_information=True, code_description_support=True
    )
    if workspace:
        capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return capabilities


async def start(client: RecordingClient, root: Path, *, workspace: bool = True) -> types.InitializeResult:
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=pulling(workspace),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options={"debounceMs": 0},
        )
    )


async def pull_document(
    client: RecordingClient, uri: str, previous: str | None = None
) -> types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport:
    report: Any = await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            identifier="torchmode",
            previous_result_id=previous,
        )
    )
    return report  # type: ignore[no-any-return]


async def pull_workspace(client: RecordingClient, previous: dict[str, str]) -> dict[str, Report]:
    report = await asyncio.wait_for(
        client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(
                identifier="torchmode",
                previous_result_ids=[
                    types.PreviousResultId(uri=uri, value=value) for uri, value in previous.items()
                ],
            )
        ),
        timeout=60,
    )
    return {item.uri: item for item in report.items}


async def pull_until(
    client: RecordingClient, previous: dict[str, str], uri: str, codes: list[str]
) -> dict[str, Report]:
    """Workspace pulls (each waits for news) until ``uri`` is reported in full with ``codes``;
    ``previous`` is kept up to date as a client keeps its result ids."""
    for _ in range(20):
        items = await pull_workspace(client, previous)
        previous.update({item_uri: item.result_id for item_uri, item in items.items() if item.result_id})
        item = items.get(uri)
        if (
            isinstance(item, types.WorkspaceFullDocumentDiagnosticReport)
            and [str(d.code) for d in item.items] == codes
        ):
            return items
    raise AssertionError(f"{uri} never reported with {codes}")


def codes_of(report: Any) -> list[str]:
    return [str(diagnostic.code) for diagnostic in report.items]


async def test_a_pulling_client_gets_result_ids_and_unchanged_reports(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    engine = write(tmp_path, "engine.py", ENGINE)
    other = write(tmp_path, "other.py", STANDALONE)
    result = await start(client, tmp_path)
    provider = result.capabilities.diagnostic_provider
    assert isinstance(provider, types.DiagnosticOptions)
    assert provider.workspace_diagnostics and provider.inter_file_dependencies

    # The unopened files, by workspace pull: each reported once in full with its result id.
    previous: dict[str, str] = {}
    await pull_until(client, previous, train.as_uri(), ["TM101"])
    if other.as_uri() not in previous:
        await pull_until(client, previous, other.as_uri(), ["TM101"])
    assert set(previous) == {train.as_uri(), other.as_uri()}

    # engine.py changes on disk: train.py's finding goes ("none" in full), other.py is unchanged.
    engine.write_text(ENGINE_RESTORING, encoding="utf-8")
    disk_event(client, engine, types.FileChangeType.Changed)
    items = await pull_workspace(client, previous)
    cleared = items[train.as_uri()]
    assert isinstance(cleared, types.WorkspaceFullDocumentDiagnosticReport) and not cleared.items
    unchanged = items[other.as_uri()]
    assert isinstance(unchanged, types.WorkspaceUnchangedDocumentDiagnosticReport)
    assert unchanged.result_id == previous[other.as_uri()]

    # A document pull of an open file: full, then unchanged for the same result id, full after an edit.
    open_document(client, STANDALONE, uri=other.as_uri())
    first = await pull_document(client, other.as_uri())
    assert isinstance(first, types.RelatedFullDocumentDiagnosticReport) and codes_of(first) == ["TM101"]
    # The same diagnostics as the workspace pull gave, so the same id.
    assert first.result_id == previous[other.as_uri()]
    again = await pull_document(client, other.as_uri(), first.result_id)
    assert (
        isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
        and again.result_id == first.result_id
    )
    change_whole(
        client, STANDALONE.replace("model.eval()\n", "model.eval()\nmodel.train()\n"), 2, other.as_uri()
    )
    edited = await pull_document(client, other.as_uri(), first.result_id)
    assert isinstance(edited, types.RelatedFullDocumentDiagnosticReport) and codes_of(edited) == []
    assert edited.result_id != first.result_id

    # Nothing was ever pushed to a client that pulls.
    assert client.published == []


async def test_a_deleted_file_is_reported_empty_by_the_workspace_pull(
    client: RecordingClient, tmp_path: Path
) -> None:
    other = write(tmp_path, "other.py", STANDALONE)
    await start(client, tmp_path)
    previous: dict[str, str] = {}
    await pull_until(client, previous, other.as_uri(), ["TM101"])
    other.unlink()
    disk_event(client, other, types.FileChangeType.Deleted)
    items = await pull_workspace(client, previous)
    gone = items[other.as_uri()]
    assert isinstance(gone, types.WorkspaceFullDocumentDiagnosticReport) and not gone.items


async def test_a_recheck_the_client_did_not_ask_for_sends_a_refresh(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    engine = write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path)
    open_document(client, TRAIN, uri=train.as_uri())
    first = await pull_document(client, train.as_uri())
    assert isinstance(first, types.RelatedFullDocumentDiagnosticReport) and codes_of(first) == ["TM101"]
    assert client.refreshes == 0

    # engine.py changes on disk: train.py is re-checked by the server, which asks the client to pull.
    engine.write_text(ENGINE_RESTORING, encoding="utf-8")
    disk_event(client, engine, types.FileChangeType.Changed)
    await wait_until(lambda: client.refreshes > 0, "workspace/diagnostic/refresh")
    second = await pull_document(client, train.as_uri(), first.result_id)
    assert isinstance(second, types.RelatedFullDocumentDiagnosticReport) and codes_of(second) == []


async def test_a_closed_file_outside_the_workspace_is_cleared_by_the_workspace_pull(
    client: RecordingClient, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    outside = write(tmp_path, "elsewhere/script.py", STANDALONE)
    await start(client, root)
    open_document(client, STANDALONE, uri=outside.as_uri())
    report = await pull_document(client, outside.as_uri())
    assert codes_of(report) == ["TM101"]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=outside.as_uri()))
    )
    # VS Code keeps the last pulled diagnostics of a closed document until a workspace pull says otherwise.
    items = await pull_workspace(client, {})
    cleared = items[outside.as_uri()]
    assert isinstance(cleared, types.WorkspaceFullDocumentDiagnosticReport) and not cleared.items


async def test_a_client_that_pulls_open_documents_only_gets_the_others_pushed(
    client: RecordingClient, tmp_path: Path
) -> None:
    train = write(tmp_path, "train.py", TRAIN)
    write(tmp_path, "engine.py", ENGINE)
    await start(client, tmp_path, workspace=False)
    await wait_until(lambda: codes(client, train.as_uri()) == ["TM101"], "train.py pushed while unopened")
    open_document(client, TRAIN, uri=train.as_uri())
    # Opened: pulled from now on, and its pushed diagnostics are taken back.
    await wait_until(lambda: codes(client, train.as_uri()) == [], "the pushed diagnostics cleared")
    report = await pull_document(client, train.as_uri())
    assert codes_of(report) == ["TM101"]


async def test_notebook_cells_are_pulled_from_the_notebook_program(
    client: RecordingClient, tmp_path: Path
) -> None:
    await start(client, tmp_path)
    notebook = (tmp_path / "nb.ipynb").as_uri()
    cells = {
        "setup": "import torch\nfrom torch import nn\n"
        "model = nn.Sequential(nn.Linear(4, 2), nn.Dropout(0.5))\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel.train()",
        "eval": "def evaluate(model, loader):\n    model.eval()\n    for x in loader:\n        model(x)",
        "train": "for epoch in range(3):\n    for x in train_loader:\n        opt.zero_grad()\n"
        "        loss = model(x).sum()\n        loss.backward()\n        opt.step()\n"
        "    evaluate(model, val_loader)",
    }
    uris = {name: f"vscode-notebook-cell:{tmp_path}/nb.ipynb#{name}" for name in cells}
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(kind=types.NotebookCellKind.Code, document=uris[name])
                    for name in cells
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=uris[name], language_id="python", version=1, text=text)
                for name, text in cells.items()
            ],
        )
    )
    train = await pull_document(client, uris["train"])
    assert codes_of(train) == ["TM101"]
    assert train.items[0].range.start == types.Position(line=3, character=15)  # in the cell
    setup = await pull_document(client, uris["setup"])
    assert codes_of(setup) == []
    assert client.published == []
