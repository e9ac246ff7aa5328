"""The real server over stdio with notebook documents: cells checked as one program,
diagnostics on cell URIs, fixes that edit several cells, hover in a cell."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_lsp
from lsp_helpers import SERVER, RecordingClient, apply_lsp_edits, initialize, wait_until
from lsprotocol import types
from notebook_helpers import EVALUATE, SETUP, TRAIN

NOTEBOOK_URI = "file:///tmp/torchmode-notebook-test/nb.ipynb"


def cell_uri(name: str) -> str:
    # VS Code's shape: the notebook's path with a fragment per cell.
    return f"vscode-notebook-cell:/tmp/torchmode-notebook-test/nb.ipynb#{name}"


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: RecordingClient) -> AsyncIterator[RecordingClient]:
    # No debounce (the tests wait for states, they do not time them); hints on for the hint test.
    await initialize(lsp_client, options={"debounceMs": 0, "settings": {"inlayHints": True}})
    yield lsp_client
    await lsp_client.shutdown_session()


class Notebook:
    """The client's side of one open notebook: cells in order, their texts and versions."""

    def __init__(self, client: RecordingClient, cells: list[tuple[str, str, bool]]) -> None:
        self.client = client
        self.version = 1
        self.order = [name for name, _, _ in cells]
        self.texts = {name: text for name, text, _ in cells}
        self.code = {name: is_code for name, _, is_code in cells}
        client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=NOTEBOOK_URI,
                    notebook_type="jupyter-notebook",
                    version=1,
                    cells=[self._cell(name) for name in self.order],
                ),
                cell_text_documents=[self._item(name) for name in self.order],
            )
        )

    def _cell(self, name: str) -> types.NotebookCell:
        kind = types.NotebookCellKind.Code if self.code[name] else types.NotebookCellKind.Markup
        return types.NotebookCell(kind=kind, document=cell_uri(name))

    def _item(self, name: str) -> types.TextDocumentItem:
        language = "python" if self.code[name] else "markdown"
        return types.TextDocumentItem(
            uri=cell_uri(name), language_id=language, version=1, text=self.texts[name]
        )

    def _send(self, cells: types.NotebookDocumentCellChanges) -> int:
        self.version += 1
        mark = len(self.client.published)
        self.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(
                    uri=NOTEBOOK_URI, version=self.version
                ),
                change=types.NotebookDocumentChangeEvent(cells=cells),
            )
        )
        return mark

    def edit(self, name: str, edits: list[types.TextEdit]) -> int:
        """Apply edits to a cell and send them as whole-text content changes (as an editor may)."""
        self.texts[name] = apply_lsp_edits(self.texts[name], edits)
        return self._send(
            types.NotebookDocumentCellChanges(
                text_content=[
                    types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(
                            uri=cell_uri(name), version=self.version
                        ),
                        changes=[types.TextDocumentContentChangeWholeDocument(text=self.texts[name])],
                    )
                ]
            )
        )

    def insert(self, index: int, name: str, text: str) -> int:
        self.order.insert(index, name)
        self.texts[name], self.code[name] = text, True
        return self._send(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(
                        start=index, delete_count=0, cells=[self._cell(name)]
                    ),
                    did_open=[self._item(name)],
                )
            )
        )

    def delete(self, name: str) -> int:
        index = self.order.index(name)
        self.order.pop(index)
        return self._send(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=index, delete_count=1),
                    did_close=[types.TextDocumentIdentifier(uri=cell_uri(name))],
                )
            )
        )

    def move(self, name: str, to: int) -> int:
        """VS Code sends a move as a delete and an insert of the same cell, with no close or open."""
        index = self.order.index(name)
        self.order.pop(index)
        self.order.insert(to, name)
        self._send(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=index, delete_count=1)
                )
            )
        )
        return self._send(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=to, delete_count=0, cells=[self._cell(name)])
                )
            )
        )

    def close(self) -> int:
        mark = len(self.client.published)
        self.client.notebook_document_did_close(
            types.DidCloseNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=NOTEBOOK_URI),
                cell_text_documents=[types.TextDocumentIdentifier(uri=cell_uri(name)) for name in self.order],
            )
        )
        return mark

    def latest(self, mark: int) -> dict[str, list[str]]:
        """The codes last published after ``mark`` for each cell, by cell name."""
        names = {cell_uri(name): name for name in self.texts}
        found: dict[str, list[str]] = {}
        for params in self.client.published[mark:]:
            if params.uri in names:
                found[names[params.uri]] = [str(d.code) for d in params.diagnostics]
        return found

    async def expect(self, expected: dict[str, list[str]], mark: int = 0) -> None:
        """Wait until the latest publishes after ``mark`` give the named cells these codes.

        Waiting for a state rather than for the next publish: with no debounce, an
        intermediate version may publish just after the mark.
        """

        def reached() -> bool:
            latest = self.latest(mark)
            return all(latest.get(name) == codes for name, codes in expected.items())

        try:
            await wait_until(reached, f"diagnostics {expected}", timeout=20.0)
        except AssertionError:
            raise AssertionError(f"expected {expected}, last published {self.latest(mark)}") from None


def classic(client: RecordingClient) -> Notebook:
    return Notebook(
        client,
        [
            ("md", "# Training\n", False),
            ("setup", SETUP, True),
            ("eval", EVALUATE, True),
            ("train", TRAIN, True),
        ],
    )


async def test_open_publishes_on_each_cell_uri(client: RecordingClient) -> None:
    notebook = classic(client)
    await notebook.expect({"setup": [], "eval": ["TM201"], "train": ["TM101"]})
    assert all(params.uri != cell_uri("md") and params.uri != NOTEBOOK_URI for params in client.published)
    train = client.diagnostics[cell_uri("train")][0]
    # `loss = model(x).sum()` is line 4 of the training cell.
    assert train.range.start == types.Position(line=3, character=15)
    related = {
        (item.location.uri, item.location.range.start.line) for item in train.related_information or []
    }
    # Where the mode came from: the eval call in this cell, model.train() in the setup cell.
    assert (cell_uri("setup"), 5) in related
    # The third cell's finding sits on its own lines too: `model(x)` is line 4 of `evaluate`.
    evaluation = client.diagnostics[cell_uri("eval")][0]
    assert evaluation.range.start == types.Position(line=3, character=16)


async def test_multi_cell_fix_moves_train_into_the_loop(client: RecordingClient) -> None:
    notebook = classic(client)
    await notebook.expect({"train": ["TM101"]})
    diagnostic = client.diagnostics[cell_uri("train")][0]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uri("train")),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    assert actions is not None
    move = next(a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Move"))
    assert move.edit is not None and move.edit.changes is not None
    assert set(move.edit.changes) == {cell_uri("setup"), cell_uri("train")}
    notebook.edit("setup", move.edit.changes[cell_uri("setup")])
    # Publishes after the second edit are of the notebook with both cells changed.
    mark = notebook.edit("train", move.edit.changes[cell_uri("train")])
    assert not notebook.texts["setup"].rstrip().endswith("model.train()")
    assert "    for x in train_loader:\n        model.train()\n" in notebook.texts["train"]
    await notebook.expect({"setup": [], "eval": ["TM201"], "train": []}, mark)

    # Fix-all from a cell fixes the rest of the notebook, on the cells that need it.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uri("eval")),
            range=types.Range(
                start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
            ),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll]),
        )
    )
    assert actions is not None and len(actions) == 1
    fix_all = actions[0]
    assert isinstance(fix_all, types.CodeAction) and fix_all.edit and fix_all.edit.changes
    assert set(fix_all.edit.changes) == {cell_uri("eval")}


async def test_cell_edits_add_delete_and_move(client: RecordingClient) -> None:
    setup = SETUP.replace("%matplotlib inline\n", "").removesuffix("\nmodel.train()")
    loop = "\n".join(
        [
            "for x in train_loader:",
            "    opt.zero_grad()",
            "    loss = model(x).sum()",
            "    loss.backward()",
            "    opt.step()",
        ]
    )
    notebook = Notebook(
        client,
        [
            ("setup", setup, True),
            ("train-mode", "model.train()", True),
            ("eval-mode", "model.eval()", True),
            ("loop", loop, True),
        ],
    )
    await notebook.expect({"setup": [], "train-mode": [], "eval-mode": [], "loop": ["TM101"]})

    # Move: model.eval() before model.train(); the loop now trains in train mode.
    mark = notebook.move("eval-mode", 1)
    await notebook.expect({"loop": []}, mark)

    # Add: a cell after the loop with a mode method that is never called.
    mark = notebook.insert(4, "added", "model.eval")
    await notebook.expect({"added": ["TM301"], "loop": []}, mark)

    # Change: fix the added cell by typing the call.
    mark = notebook.edit(
        "added",
        [
            types.TextEdit(
                range=types.Range(
                    start=types.Position(line=0, character=10), end=types.Position(line=0, character=10)
                ),
                new_text="()",
            )
        ],
    )
    await notebook.expect({"added": []}, mark)

    # Delete a cell that has a diagnostic: its diagnostics are cleared.
    mark = notebook.insert(5, "bad", "model.train")
    await notebook.expect({"bad": ["TM301"]}, mark)
    mark = notebook.delete("bad")
    await notebook.expect({"bad": []}, mark)

    # Delete: without model.train() the loop trains in eval mode after `model.eval()`.
    mark = notebook.delete("train-mode")
    await notebook.expect({"loop": ["TM101"]}, mark)
    # Positions after the structure changed: `loss = model(x).sum()` is line 3 of the loop
    # cell (third of four now), and the eval() it points to is the only line of the second.
    leak = client.diagnostics[cell_uri("loop")][0]
    assert leak.range.start == types.Position(line=2, character=11)
    related = {(item.location.uri, item.location.range.start.line) for item in leak.related_information or []}
    assert (cell_uri("eval-mode"), 0) in related

    # Close: every cell is cleared.
    mark = notebook.close()
    await notebook.expect({"setup": [], "eval-mode": [], "loop": [], "added": []}, mark)


async def test_hover_in_a_cell(client: RecordingClient) -> None:
    notebook = classic(client)
    await notebook.expect({"train": ["TM101"]})
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uri("train")),
            position=types.Position(line=3, character=16),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "eval" in hover.contents.value
    assert hover.range is not None and hover.range.start.line == 3


async def test_inlay_hints_in_a_cell(client: RecordingClient) -> None:
    # The evaluation cell after the training cell: a request running past its end must not see it.
    notebook = Notebook(
        client,
        [
            ("md", "# Training\n", False),
            ("setup", SETUP, True),
            ("train", TRAIN, True),
            ("eval", EVALUATE, True),
        ],
    )
    await notebook.expect({"eval": ["TM201"]})
    whole = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=50, character=0))
    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=cell_uri("train")), range=whole)
    )
    assert hints is not None
    # Only the training cell's forward call, on its line in the cell (`loss = model(x).sum()`),
    # not the one of the evaluation cell.
    assert [(hint.position.line, hint.position.character) for hint in hints] == [(3, 23)]
    label = hints[0].label
    assert isinstance(label, str) and "train" in label and "eval" in label
    markdown = await client.text_document_inlay_hint_async(
        types.InlayHintParams(text_document=types.TextDocumentIdentifier(uri=cell_uri("md")), range=whole)
    )
    assert not markdown
