"""The code actions of a current analysis: quick fixes and ``source.fixAll.torchmode``, in a text or a cell.

The server's ``on_code_action`` finds the document a request is about, waits for the check
of the version the client shows and makes sure it is still current; this module builds the
actions from that analysis, off the event loop. The edits come from ``actions`` (a text) and
``notebook_cells`` (a notebook's cells).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import partial

from lsprotocol import types

from torchmode.lsp import actions, notebook_cells
from torchmode.lsp.coordinates import Encoding
from torchmode.lsp.diagnostics import DiagnosticSupport
from torchmode.lsp.documents import Analysis, OpenDocuments
from torchmode.lsp.notebook_cells import NotebookCells
from torchmode.lsp.scheduler import CheckScheduler
from torchmode.syntax import Document
from torchmode.syntax.notebook import NotebookProgram

# What the server advertises: quick fixes, and fix-all as ``source.fixAll`` and our own kind.
OPTIONS = types.CodeActionOptions(code_action_kinds=actions.ADVERTISED_KINDS)


@dataclass(frozen=True)
class Wanted:
    """Which actions a request asks for (its ``context.only``)."""

    quick_fixes: bool
    fix_all: bool

    @staticmethod
    def of(only: Sequence[types.CodeActionKind | str] | None) -> Wanted:
        names = None if only is None else [_kind_name(kind) for kind in only]
        return Wanted(
            actions.kind_requested(types.CodeActionKind.QuickFix.value, names),
            actions.kind_requested(actions.FIX_ALL_KIND, names),
        )


def _kind_name(kind: types.CodeActionKind | str) -> str:
    return kind.value if isinstance(kind, Enum) else str(kind)


class CodeActionBuilder:
    """Builds the actions of a current analysis; fix-all's result is kept per version."""

    def __init__(
        self,
        *,
        documents: OpenDocuments,
        scheduler: CheckScheduler,
        check: actions.Checker,
        other_document: Callable[[str], Document | None],
        report_engine_error: Callable[[str], None],
    ) -> None:
        """``check`` is the check fix-all repeats after each fix; ``other_document`` the text of
        another file a finding points into."""
        self._documents = documents
        self._scheduler = scheduler
        self._check = check
        self._other_document = other_document
        self._report_engine_error = report_engine_error

    async def for_text(
        self,
        params: types.CodeActionParams,
        analysis: Analysis,
        wanted: Wanted,
        encoding: Encoding,
        support: DiagnosticSupport,
    ) -> list[types.CodeAction]:
        uri = params.text_document.uri
        assert analysis.result is not None
        result: list[types.CodeAction] = []
        if wanted.quick_fixes:
            # In the pool: the "disable for this line" check parses the file again.
            work = partial(
                actions.quick_fixes,
                analysis.result,
                uri,
                params.range,
                encoding,
                support,
                params.context.diagnostics,
                analysis.settings.locale,
                self._other_document,
            )
            try:
                result.extend(await self._scheduler.in_pool(work))
            except Exception:
                self._report_engine_error(f"quick fixes failed on {uri}:\n{traceback.format_exc()}")
        if wanted.fix_all and actions.has_safe_fix(analysis.result):
            fixed = await self._fix_all_text(uri, analysis)
            if fixed is not None and self._documents.is_current(uri, analysis):
                action = actions.fix_all_action(
                    uri, analysis.snapshot.text, fixed, encoding, analysis.settings.locale
                )
                if action is not None:
                    result.append(action)
        return result

    async def _fix_all_text(self, uri: str, analysis: Analysis) -> str | None:
        # Editors ask for code actions on every cursor move; fix-all re-checks the
        # text once per fix, so its result is kept for the version.
        cached = self._documents.fixed(uri, analysis)
        if isinstance(cached, str):
            return cached
        assert analysis.result is not None
        work = partial(actions.fix_all_text, analysis.result, analysis.settings, self._check)
        try:
            fixed = await self._scheduler.in_pool(work)
        except Exception:
            self._report_engine_error(f"fix-all failed on {uri}:\n{traceback.format_exc()}")
            return None
        if self._documents.is_current(uri, analysis):
            self._documents.keep_fixed(uri, analysis, fixed)
        return fixed

    async def for_cell(
        self,
        params: types.CodeActionParams,
        notebook_uri: str,
        cells: NotebookCells,
        analysis: Analysis,
        wanted: Wanted,
        encoding: Encoding,
        support: DiagnosticSupport,
    ) -> list[types.CodeAction]:
        """Quick fixes and fix-all in a cell: checked as the whole notebook, edits on each cell's URI."""
        uri = notebook_uri
        result = analysis.result
        assert result is not None
        found_actions: list[types.CodeAction] = []
        try:
            if wanted.quick_fixes:
                work = partial(
                    notebook_cells.quick_fixes,
                    cells,
                    result,
                    uri,
                    params.text_document.uri,
                    params.range,
                    encoding,
                    support,
                )
                found_actions.extend(await self._scheduler.in_pool(work))
            if wanted.fix_all and actions.has_safe_fix(result):
                fixed = self._documents.fixed(uri, analysis)
                if not isinstance(fixed, NotebookProgram):
                    fix_all = partial(notebook_cells.fix_all, cells, result, analysis.settings, self._check)
                    fixed = await self._scheduler.in_pool(fix_all)
                    self._documents.keep_fixed(uri, analysis, fixed)
                edit = notebook_cells.workspace_edit(cells, fixed, encoding)
                if edit is not None and self._documents.is_current(uri, analysis):
                    # Any two different texts give the text fix-all's action; only its title is used.
                    title = actions.fix_all_action(uri, "a", "b", encoding, analysis.settings.locale)
                    found_actions.append(
                        types.CodeAction(
                            title=title.title if title is not None else actions.FIX_ALL_KIND,
                            kind=actions.FIX_ALL_KIND,
                            edit=edit,
                        )
                    )
        except Exception:
            self._report_engine_error(f"code actions failed on {uri}:\n{traceback.format_exc()}")
        return found_actions
