"""Notebook document sync: the server's copy of each open notebook, checked as one program.

The ``notebookDocument/*`` handlers keep each notebook's cells (``NotebookState``) and store
their program as the notebook URI's open text, which is then checked like any other;
diagnostics go back to the cells (``notebook_cells`` translates between the two). A request
on a cell (hover, inlay hints, code actions) is answered from the notebook's program:
``target`` says which open document answers a request, and where the cell sits in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types

from torchmode.lsp.coordinates import Encoding
from torchmode.lsp.diagnostics import DiagnosticSupport
from torchmode.lsp.documents import Analysis, OpenDocuments, OpenText, path_of
from torchmode.lsp.notebook_cells import NotebookCells, NotebookState, cell_diagnostics
from torchmode.lsp.scheduler import CheckScheduler


@dataclass(frozen=True)
class RequestTarget:
    """The open document a request is answered from, and where a cell sits in it."""

    uri: str  # the text's own URI, or the notebook's for a cell
    snapshot: OpenText
    # For a cell: the notebook's cells, the 0-based program line where the cell starts
    # (None for a cell that is not checked, e.g. markdown) and its number of lines.
    cells: NotebookCells | None = None
    cell_offset: int | None = None
    cell_lines: int = 0


class NotebookSync:
    """Open notebooks and their cells; the handlers of notebook document sync."""

    def __init__(
        self,
        documents: OpenDocuments,
        scheduler: CheckScheduler,
        send: Callable[[types.PublishDiagnosticsParams], None],
        encoding: Callable[[], Encoding],
        log: Callable[[str, types.MessageType], None],
    ) -> None:
        self._documents = documents
        self._scheduler = scheduler
        self._send = send
        self._encoding = encoding
        self._log = log
        # Open notebooks, by notebook URI: the server's own copy of the cells (as for
        # texts, pygls' copy splits lines differently), and which notebook a cell is in.
        self.notebooks: dict[str, NotebookState] = {}
        self.cell_notebook: dict[str, str] = {}
        # The cell URIs last given diagnostics, per notebook: a deleted cell's are cleared.
        self._published_cells: dict[str, frozenset[str]] = {}

    def did_open(self, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = NotebookState.opened(params)
        self.notebooks[uri] = state
        self._store(uri, state)
        self._scheduler.schedule(uri, at_once=True)

    def did_change(self, params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = self.notebooks.get(uri)
        if state is None:
            self._log(f"notebook didChange for {uri}, which is not open; ignored", types.MessageType.Warning)
            return
        state.change(params, self._encoding())
        self._store(uri, state)
        self._scheduler.schedule(uri)

    def did_save(self, params: types.DidSaveNotebookDocumentParams) -> None:
        # The pyproject.toml next to a new notebook may only now apply.
        if params.notebook_document.uri in self.notebooks:
            self._scheduler.schedule(params.notebook_document.uri, at_once=True)

    def did_close(self, params: types.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = self.notebooks.pop(uri, None)
        for cell in state.order if state is not None else ():
            self.cell_notebook.pop(cell, None)
        # As for a closed text, but nothing is published for the notebook's own URI: only cells had any.
        self._documents.close(uri)
        self._scheduler.cancel(uri)
        for cell in self._published_cells.pop(uri, frozenset()):
            self._send(types.PublishDiagnosticsParams(uri=cell, diagnostics=[]))

    def _store(self, uri: str, state: NotebookState) -> None:
        """A new snapshot of the notebook's program; it replaces the previous one as a text would."""
        cells = state.cells()
        current = set(state.order)
        for cell, owner in list(self.cell_notebook.items()):
            if owner == uri and cell not in current:
                del self.cell_notebook[cell]  # deleted: requests on it get nothing
        for cell in state.order:
            self.cell_notebook[cell] = uri
        self._documents.texts[uri] = OpenText(state.version, cells.program.text, path_of(uri), cells)

    def publish(
        self,
        uri: str,
        cells: NotebookCells,
        analysis: Analysis,
        encoding: Encoding,
        support: DiagnosticSupport,
    ) -> None:
        """A current analysis of the notebook's program, as diagnostics on each cell."""
        per_cell = cell_diagnostics(cells, analysis.findings, analysis.document, uri, encoding, support)
        # Cells deleted or turned into markdown since the last publish keep nothing.
        for stale in self._published_cells.get(uri, frozenset()) - per_cell.keys():
            self._send(types.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        self._published_cells[uri] = frozenset(per_cell)
        for cell_uri, diagnostics in per_cell.items():
            # No version: a cell's version is not the notebook's.
            self._send(types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=diagnostics))

    def target(self, uri: str) -> RequestTarget | None:
        """The open document that answers a request on ``uri``: a cell's notebook, else the URI's own text."""
        notebook_uri = self.cell_notebook.get(uri)
        notebook = self._documents.texts.get(notebook_uri) if notebook_uri is not None else None
        if notebook_uri is not None and notebook is not None and notebook.cells is not None:
            cells = notebook.cells
            offset = cells.offset_of(uri)
            lines = cells.program.line_counts[cells.uris.index(uri)] if offset is not None else 0
            return RequestTarget(notebook_uri, notebook, cells, offset, lines)
        snapshot = self._documents.texts.get(uri)
        return RequestTarget(uri, snapshot) if snapshot is not None else None
