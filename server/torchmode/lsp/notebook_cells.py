"""Notebook documents in the language server: the cells of an open notebook as one program.

The client sends a notebook's cells as separate text documents (one URI per
cell) through ``notebookDocument/*`` notifications. The server joins the Python
code cells in document order (``torchmode.syntax.notebook``) and checks the result like
any open text; this module keeps each notebook's cells up to date and translates
between the program and the cells: diagnostics go to the URI of the cell they
are in, and a fix that touches several cells (moving ``model.train()`` from the
setup cell into the training loop's cell) becomes edits on each cell's URI.

Only LSP lines differ between a cell and the program: a cell's lines are the
program's lines, same text, so character offsets (in any position encoding)
carry over unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lsprotocol import types

from torchmode.engine import CheckResult, Settings, fix_until_stable
from torchmode.findings import Finding
from torchmode.lsp.actions import findings_of
from torchmode.lsp.coordinates import (
    Encoding,
    apply_content_change,
    column_to_client,
    minimal_edit,
    ranges_overlap,
)
from torchmode.lsp.diagnostics import DiagnosticSupport, to_diagnostic
from torchmode.syntax import Document
from torchmode.syntax.notebook import CellEditError, CodeCell, NotebookProgram

NOTEBOOK_TYPE = "jupyter-notebook"
CELL_LANGUAGE = "python"

SYNC_OPTIONS = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithCells(
            notebook=NOTEBOOK_TYPE, cells=[types.NotebookCellLanguage(language=CELL_LANGUAGE)]
        )
    ],
    save=True,
)


@dataclass(frozen=True)
class NotebookCells:
    """One version of an open notebook's program and the cell URI of each code cell in it."""

    program: NotebookProgram
    uris: tuple[str, ...]  # aligned with program.cells

    def uri_of_line(self, line: int) -> tuple[str, int]:
        """(cell URI, 0-based LSP line of the cell's first line in the program) of a 0-based program line."""
        slot = self.program.slot_of_line(line + 1)
        return self.uris[slot], self.program.starts[slot] - 1

    def offset_of(self, uri: str) -> int | None:
        """The 0-based program line where the cell starts, None if it is not a checked cell."""
        for slot, cell_uri in enumerate(self.uris):
            if cell_uri == uri:
                return self.program.starts[slot] - 1
        return None

    def text_of(self, uri: str) -> str:
        return self.program.cells[self.uris.index(uri)].source


@dataclass
class NotebookState:
    """The server's copy of an open notebook: every cell in order, and the texts of its cells."""

    version: int
    order: list[str] = field(default_factory=list)  # every cell URI, markdown included
    code: dict[str, bool] = field(default_factory=dict)  # URI -> a code cell
    texts: dict[str, str] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def opened(params: types.DidOpenNotebookDocumentParams) -> NotebookState:
        state = NotebookState(params.notebook_document.version)
        state._insert(0, 0, params.notebook_document.cells)
        state._open(params.cell_text_documents)
        return state

    def _insert(self, start: int, delete_count: int, cells: Sequence[types.NotebookCell] | None) -> None:
        for uri in self.order[start : start + delete_count]:
            self.code.pop(uri, None)
        self.order[start : start + delete_count] = [cell.document for cell in cells or ()]
        for cell in cells or ():
            self.code[cell.document] = cell.kind == types.NotebookCellKind.Code

    def _open(self, items: Sequence[types.TextDocumentItem] | None) -> None:
        for item in items or ():
            self.texts[item.uri] = item.text
            self.languages[item.uri] = item.language_id

    def change(self, params: types.DidChangeNotebookDocumentParams, encoding: Encoding) -> None:
        self.version = params.notebook_document.version
        cells = params.change.cells
        if cells is None:
            return  # metadata only
        if cells.structure is not None:
            array = cells.structure.array
            self._insert(array.start, array.delete_count, array.cells)
            for closed in cells.structure.did_close or ():
                self.texts.pop(closed.uri, None)
                self.languages.pop(closed.uri, None)
            self._open(cells.structure.did_open)
        for cell in cells.data or ():
            self.code[cell.document] = cell.kind == types.NotebookCellKind.Code
        for content in cells.text_content or ():
            text = self.texts.get(content.document.uri)
            if text is None:
                continue
            for change in content.changes:
                text = apply_content_change(text, change, encoding)
            self.texts[content.document.uri] = text

    def cells(self) -> NotebookCells:
        """The program of this version: Python code cells in document order."""
        code: list[CodeCell] = []
        uris: list[str] = []
        for index, uri in enumerate(self.order):
            if self.code.get(uri) and self.languages.get(uri, CELL_LANGUAGE) == CELL_LANGUAGE:
                code.append(CodeCell.of(index, self.texts.get(uri, "")))
                uris.append(uri)
        return NotebookCells(NotebookProgram.build(code), tuple(uris))


# --- program <-> cells -------------------------------------------------------------------


def _shift(position: types.Position, lines: int) -> types.Position:
    return types.Position(line=position.line + lines, character=position.character)


def to_cell_range(
    cells: NotebookCells, program_range: types.Range, encoding: Encoding
) -> tuple[str, types.Range]:
    uri, offset = cells.uri_of_line(program_range.start.line)
    end = program_range.end
    # A range that runs to the start of the next cell ends at this cell's end.
    if end.line - offset >= cells.program.line_counts[cells.uris.index(uri)]:
        last = cells.text_of(uri).split("\n")
        end = types.Position(
            line=offset + len(last) - 1, character=column_to_client(last[-1], len(last[-1]), encoding)
        )
    return uri, types.Range(start=_shift(program_range.start, -offset), end=_shift(end, -offset))


def to_program_range(offset: int, cell_range: types.Range) -> types.Range:
    return types.Range(start=_shift(cell_range.start, offset), end=_shift(cell_range.end, offset))


def cell_diagnostics(
    cells: NotebookCells,
    findings: Sequence[Finding],
    document: Document,
    notebook_uri: str,
    encoding: Encoding,
    support: DiagnosticSupport,
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics per cell URI; every code cell has an entry, empty when it has none."""
    per_cell: dict[str, list[types.Diagnostic]] = {uri: [] for uri in cells.uris}
    for finding in findings:
        diagnostic = to_diagnostic(finding, document, notebook_uri, encoding, support)
        uri, diagnostic.range = to_cell_range(cells, diagnostic.range, encoding)
        for related in diagnostic.related_information or ():
            # The statement that set the mode is often in another cell.
            related.location.uri, related.location.range = to_cell_range(
                cells, related.location.range, encoding
            )
        per_cell[uri].append(diagnostic)
    return per_cell


def workspace_edit(
    cells: NotebookCells, program: NotebookProgram, encoding: Encoding
) -> types.WorkspaceEdit | None:
    """Edits on each cell whose source differs between ``cells`` and ``program``."""
    changes: dict[str, list[types.TextEdit]] = {}
    for slot, uri in enumerate(cells.uris):
        old = cells.program.cells[slot].source
        new = program.cells[slot].source
        edit = minimal_edit(old, new, encoding)
        if edit is not None:
            changes[uri] = [edit]
    return types.WorkspaceEdit(changes=changes) if changes else None


def quick_fixes(
    cells: NotebookCells,
    result: CheckResult,
    notebook_uri: str,
    cell_uri: str,
    requested: types.Range,
    encoding: Encoding,
    support: DiagnosticSupport,
) -> list[types.CodeAction]:
    """A quick fix per fix of each finding in the requested cell range; a fix that cannot
    be split into edits of single cells is not offered."""
    offset = cells.offset_of(cell_uri)
    if offset is None:
        return []
    program_range = to_program_range(offset, requested)
    found: list[types.CodeAction] = []
    for finding in findings_of(result):
        diagnostic = to_diagnostic(finding, result.document, notebook_uri, encoding, support)
        if not ranges_overlap(diagnostic.range, program_range):
            continue
        for index, fix in enumerate(finding.fixes):
            try:
                fixed = cells.program.apply(fix.edits)
            except (CellEditError, ValueError):
                continue
            edit = workspace_edit(cells, fixed, encoding)
            if edit is None:
                continue
            shown = cell_diagnostics(cells, [finding], result.document, notebook_uri, encoding, support)
            found.append(
                types.CodeAction(
                    title=fix.title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[d for ds in shown.values() for d in ds],
                    is_preferred=index == 0 and fix.applicability == "safe",
                    edit=edit,
                )
            )
    return found


def fix_all(
    cells: NotebookCells,
    first: CheckResult,
    settings: Settings,
    check: Callable[[Document, Settings], CheckResult],
) -> NotebookProgram:
    """Safe fixes one at a time, re-checking after each (the loop fix-all runs on a text),
    with each fix's edits made in the cells' own sources."""
    path = first.document.path
    outcome = fix_until_stable(
        first, cells.program, lambda program: check(Document(program.text, path), settings)
    )
    return outcome.program
