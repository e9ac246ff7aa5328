"""torchmode's language server: push diagnostics, quick fixes, fix-all and hover over stdio.

Three rules keep the editor responsive and the diagnostics honest:

* The engine never runs on the event loop. Checks run in a small thread pool of
  our own (pygls' pool also reads stdin, which a long check must not starve).
* Checks are debounced per document, and a result is published only if the
  document still has the version that was checked. A later version always wins,
  whatever order the checks finish in.
* Nothing the engine does can kill the server: exceptions become a log message
  and an empty diagnostic list for that version (old diagnostics would sit on
  the wrong lines).

The server keeps its own copy of each open text instead of using pygls'
workspace: pygls splits lines with ``str.splitlines``, which also breaks at form
feeds and ``\\u2028``, so an incremental edit below such a line would be
applied to the wrong line. See ``coordinates.apply_content_change``.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

import torchmode
from torchmode import __version__, engine, gc_tuning
from torchmode.config import PYPROJECT, ConfigLoader, ResolvedConfig
from torchmode.docs.i18n import text as catalogue_text
from torchmode.engine import CheckResult, Settings, Workspace, read_disk
from torchmode.findings import Finding
from torchmode.lsp import actions, notebook_cells
from torchmode.lsp.config import (
    DEFAULT_DEBOUNCE_SECONDS,
    DEFAULT_PROGRESS_AFTER_SECONDS,
    SECTION,
    UserSettings,
    locale_from_client,
    parse_initialization_options,
    parse_settings,
    section_from_notification,
)
from torchmode.lsp.coordinates import (
    Encoding,
    apply_content_change,
    encoding_name,
    from_lsp_position,
    to_lsp_range,
)
from torchmode.lsp.diagnostics import DiagnosticSupport, to_diagnostic
from torchmode.lsp.hints import inlay_hints
from torchmode.lsp.notebook_cells import NotebookCells, NotebookState
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse
from torchmode.syntax.notebook import NotebookProgram

if TYPE_CHECKING:
    from pygls.server import ServerErrors

# The engine is pure Python and holds the GIL; more threads would not make it
# faster, but two let a small file's check overtake a large file's.
ANALYSIS_WORKERS = 2
# Documents whose parse and analysis stay in memory (the most recently checked ones).
KEPT_ANALYSES = 16


@dataclass(frozen=True)
class OpenText:
    """The client's text of one open document, at one version."""

    version: int
    text: str
    path: str
    # For a notebook (keyed by the notebook's URI): its cells; ``text`` is their program.
    cells: NotebookCells | None = None


@dataclass(frozen=True)
class Analysis:
    """The engine's verdict on one version of a document under one set of settings."""

    # Compared by identity, not by version: a document closed and reopened
    # starts again at version 1 with another text.
    snapshot: OpenText
    settings: Settings
    document: Document
    result: CheckResult | None
    error: str | None = None
    # True when the document changed before the check started, so it never ran.
    superseded: bool = False

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def findings(self) -> tuple[Finding, ...]:
        return actions.findings_of(self.result) if self.result is not None else ()


# (uri, id of the OpenText, settings); the OpenText stays alive while its check runs.
AnalysisKey = tuple[str, int, Settings]


class TorchmodeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "torchmode",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebook_cells.SYNC_OPTIONS,
        )
        self.open_texts: dict[str, OpenText] = {}
        # Open notebooks, by notebook URI: the server's own copy of the cells (as for
        # texts, pygls' copy splits lines differently), and which notebook a cell is in.
        self.notebooks: dict[str, NotebookState] = {}
        self.cell_notebook: dict[str, str] = {}
        # The cell URIs last given diagnostics, per notebook: a deleted cell's are cleared.
        self._published_cells: dict[str, frozenset[str]] = {}
        self._notebook_fix_all: dict[str, tuple[OpenText, Settings, NotebookProgram]] = {}
        self.client_locale = "en"
        self.user_settings = UserSettings()
        # Each document's settings: its pyproject.toml's [tool.torchmode] merged with the
        # editor's. Recomputed before every check (a pyproject edit is seen on the next
        # keystroke) and on watched-file and configuration changes.
        self.document_settings: dict[str, Settings] = {}
        self.config_loader = ConfigLoader(engine.rule_codes())
        # Configuration problems already shown, per pyproject.toml: each is shown once
        # until it is fixed, not on every keystroke.
        self._shown_config_problems: dict[str, frozenset[str]] = {}
        self.debounce_seconds = DEFAULT_DEBOUNCE_SECONDS
        self.progress_after_seconds = DEFAULT_PROGRESS_AFTER_SECONDS
        self.analyses: dict[str, Analysis] = {}
        self._in_flight: dict[AnalysisKey, asyncio.Future[Analysis]] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._fix_all_texts: dict[str, tuple[OpenText, Settings, str]] = {}
        self._startup_warnings: tuple[str, ...] = ()
        self._engine_error_shown = False
        self._executor = ThreadPoolExecutor(
            max_workers=ANALYSIS_WORKERS, thread_name_prefix="torchmode-check"
        )
        # The workspace's other files, for calls into them: open documents are read from
        # the editor's text, the rest from disk (only inside the workspace folders).
        self.workspace_files = Workspace(reader=self._read_for_project)
        self._open_paths: dict[Path, str] = {}  # resolved path -> uri of an open text document
        # The latest Document built for each open URI: the next version is parsed from it.
        self._latest_documents: dict[str, Document] = {}
        # URIs in the order of their last finished check (see ``_keep_in_memory``).
        self._recently_checked: dict[str, None] = {}

    # --- client facts ------------------------------------------------------------------

    @property
    def encoding(self) -> Encoding:
        return encoding_name(self.workspace.position_encoding)

    @property
    def diagnostic_support(self) -> DiagnosticSupport:
        return DiagnosticSupport.of(self.client_capabilities)

    def _client_pulls_configuration(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    def _client_refreshes_inlay_hints(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support)

    def _hover_markup(self) -> types.MarkupKind:
        text_document = self.client_capabilities.text_document
        hover = text_document.hover if text_document else None
        formats = (hover.content_format if hover else None) or []
        if formats and types.MarkupKind.Markdown not in formats:
            return types.MarkupKind.PlainText
        return types.MarkupKind.Markdown

    # --- messages to the user ----------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        """pygls' default shows every failed notification as an error pop-up; a log line is enough.

        Such failures come from pygls itself (e.g. a ``didChange`` for a document
        that was never opened) or from our handlers, and none of them stops the server.
        """
        if source is FeatureRequestError:
            return  # the failed request's error response already carries it
        self.log(
            f"internal error ({getattr(source, '__name__', source)}): {error!r}", types.MessageType.Error
        )

    def warn(self, message: str) -> None:
        """A setting the user must fix: in the log and, unless turned off, as a notification."""
        self.log(message, types.MessageType.Warning)
        if self.user_settings.show_notifications in ("onWarning", "always"):
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    def report_engine_error(self, message: str) -> None:
        """An exception in the engine: always logged; shown once per session at most.

        A broken rule fails on every keystroke; one pop-up says where to look,
        more would make the editor unusable.
        """
        self.log(message, types.MessageType.Error)
        if self._engine_error_shown or self.user_settings.show_notifications == "off":
            return
        self._engine_error_shown = True
        self.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Error,
                message="torchmode hit an internal error; details are in its output log. "
                "Diagnostics for the affected file are hidden until it is fixed.",
            )
        )

    # --- lifecycle and settings ----------------------------------------------------------

    def on_initialize(self, params: types.InitializeParams) -> None:
        for folder in params.workspace_folders or ():
            self._add_project_root(folder.uri)
        if not params.workspace_folders and params.root_uri:
            self._add_project_root(params.root_uri)
        self.client_locale = locale_from_client(params.locale)
        options = parse_initialization_options(params.initialization_options)
        self.user_settings = options.settings
        self.debounce_seconds = options.debounce_seconds
        self.progress_after_seconds = options.progress_after_seconds
        # Shown once the client is ready for notifications (after `initialized`).
        self._startup_warnings = options.warnings

    def _add_project_root(self, uri: str) -> None:
        if uri.startswith("file:"):
            self.workspace_files.add_root(Path(_path_of(uri)))

    def on_did_change_workspace_folders(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.added:
            self._add_project_root(folder.uri)

    def _read_for_project(self, path: Path) -> str | None:
        """A file the analysis of an open document imports from: the editor's text if it is
        open, else the disk's, and only inside the workspace folders (or beside an open
        document when there are none)."""
        uri = self._open_paths.get(path)
        snapshot = self.open_texts.get(uri) if uri is not None else None
        if snapshot is not None:
            return snapshot.text
        allowed = self.workspace_files.roots or [opened.parent for opened in self._open_paths]
        if not any(path.is_relative_to(root) for root in allowed):
            return None
        return read_disk(path)

    async def _watch_python_files(self) -> None:
        """Ask the client to report changes to Python files and pyproject.toml on disk, so a
        change to an imported module re-checks the open files that use it."""
        capabilities = self.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities is not None else None
        if watched is None or not watched.dynamic_registration:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[
                types.FileSystemWatcher(glob_pattern="**/*.py"),
                types.FileSystemWatcher(glob_pattern=f"**/{PYPROJECT}"),
            ]
        )
        registration = types.Registration(
            id="torchmode-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        try:
            await self.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception as error:
            self.log(f"could not register file watchers: {error!r}", types.MessageType.Warning)

    def _check_function(self) -> Callable[[Document, Settings], CheckResult]:
        """The check fix-all repeats after each fix, following imports like every check."""
        return functools.partial(engine.check_document, workspace=self.workspace_files)

    def _dependency_changed(self, path: Path, text: str | None = None) -> None:
        """``path`` has a new text: re-check the open documents whose analysis read it."""
        for stale in self.workspace_files.changed(path, text):
            uri = self._open_paths.get(stale)
            snapshot = self.open_texts.get(uri) if uri is not None else None
            if uri is None or snapshot is None:
                continue
            # A new snapshot of the same text: a check already running (or cached) for
            # the old one used the old dependency and will not be published.
            self.open_texts[uri] = replace(snapshot)
            self.schedule(uri, delay=self.debounce_seconds)

    def on_initialized(self) -> None:
        asyncio.get_running_loop().create_task(self._watch_python_files())
        for warning in self._startup_warnings:
            self.warn(warning)
        self._startup_warnings = ()
        locale = self.user_settings.to_engine(self.client_locale).locale
        # The package folder: which install the client started (a test checks it is the checkout's).
        package = Path(torchmode.__file__).resolve().parent
        self.log(
            f"torchmode {__version__} ready (package {package}, locale {locale}, "
            f"position encoding {self.encoding}, debounce {int(self.debounce_seconds * 1000)} ms, "
            f"configuration {self.user_settings.configuration_preference})"
        )

    # --- per-document settings ---------------------------------------------------------

    def _config_folder(self, uri: str) -> Path | None:
        """Where the search for pyproject.toml starts: the file's folder; for an unsaved
        document, the workspace root."""
        snapshot = self.open_texts.get(uri)
        path = snapshot.path if snapshot is not None else _path_of(uri)
        if uri.startswith("file:"):
            return Path(path).parent
        root = self.workspace.root_path
        return Path(root) if root else None

    def resolve_settings(self, uri: str) -> Settings:
        """Re-read the document's configuration (cheap when unchanged) and remember the result."""
        resolved = self.user_settings.resolve(
            self.config_loader, self._config_folder(uri), self.client_locale
        )
        self._report_config_problems(resolved)
        previous = self.document_settings.get(uri)
        self.document_settings[uri] = resolved.settings
        if previous is not None and previous != resolved.settings:
            source = resolved.config_path or "the editor settings and defaults"
            self.log(f"settings of {uri} changed (from {source})")
        return resolved.settings

    def settings_of(self, uri: str) -> Settings:
        """The settings the document was last checked with (resolved now if never)."""
        settings = self.document_settings.get(uri)
        return settings if settings is not None else self.resolve_settings(uri)

    def _report_config_problems(self, resolved: ResolvedConfig) -> None:
        key = str(resolved.config_path or "")
        current = frozenset(str(problem) for problem in resolved.problems)
        shown = self._shown_config_problems.get(key, frozenset())
        for problem in resolved.problems:
            if str(problem) not in shown:
                self.warn(f"torchmode: {problem}")
        self._shown_config_problems[key] = current

    def refresh_settings(self) -> None:
        """Re-resolve every open document's settings; re-check those whose settings changed."""
        for uri in list(self.open_texts):
            before = self.document_settings.get(uri)
            if self.resolve_settings(uri) != before:
                self.schedule(uri, delay=0.0)

    def on_did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        """A client that watches pyproject.toml files (the VS Code client's ``fileEvents``)
        gets open documents re-checked at once; without it, the mtime check before every
        check picks up the change at the next edit."""
        if any(change.uri.endswith(f"/{PYPROJECT}") for change in params.changes):
            self.refresh_settings()
        for change in params.changes:
            if change.uri.startswith("file:") and change.uri.endswith(".py"):
                path = Path(_path_of(change.uri)).resolve()
                if path not in self._open_paths:  # an open document's text is the editor's
                    self._dependency_changed(path)

    async def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        found, section = section_from_notification(params.settings)
        if not found:
            if not self._client_pulls_configuration():
                return
            try:
                values = await self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                )
            except Exception as error:
                self.log(f"could not read the {SECTION} settings: {error}", types.MessageType.Warning)
                return
            section = values[0] if values else None
            if section is None:
                # The client has no torchmode section: keep what initializationOptions said.
                return
        parsed = parse_settings(section)
        for warning in parsed.warnings:
            self.warn(warning)
        self.user_settings = parsed.settings
        # Settings are part of every cache key, so old results cannot be served.
        self.refresh_settings()
        # Hints may have been switched on or off, or changed language.
        if self._client_refreshes_inlay_hints():
            try:
                await self.workspace_inlay_hint_refresh_async(None)
            except Exception as error:
                self.log(f"inlay hint refresh failed: {error!r}", types.MessageType.Warning)

    def on_shutdown(self) -> None:
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- document sync -----------------------------------------------------------------

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        self.open_texts[item.uri] = OpenText(item.version, item.text, _path_of(item.uri))
        if item.uri.startswith("file:"):
            path = Path(_path_of(item.uri)).resolve()
            self._open_paths[path] = item.uri
            self._dependency_changed(path, item.text)
        # Nobody is typing yet: check at once.
        self.schedule(item.uri, delay=0.0)

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        current = self.open_texts.get(uri)
        if current is None:
            self.log(f"didChange for {uri}, which is not open; ignored", types.MessageType.Warning)
            return
        text = current.text
        encoding = self.encoding
        for change in params.content_changes:
            text = apply_content_change(text, change, encoding)
        self.open_texts[uri] = OpenText(params.text_document.version, text, current.path)
        self.schedule(uri, delay=self.debounce_seconds)
        if uri.startswith("file:"):
            self._dependency_changed(Path(current.path).resolve(), text)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.open_texts.pop(uri, None)
        self.analyses.pop(uri, None)
        self._recently_checked.pop(uri, None)
        self._latest_documents.pop(uri, None)
        if uri.startswith("file:"):
            path = Path(_path_of(uri)).resolve()
            self._open_paths.pop(path, None)
            self._dependency_changed(path)  # back to the text on disk
        self.document_settings.pop(uri, None)
        self._fix_all_texts.pop(uri, None)
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        # Clients keep pushed diagnostics of closed files unless told otherwise.
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # --- notebook sync -----------------------------------------------------------------

    def on_notebook_did_open(self, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = NotebookState.opened(params)
        self.notebooks[uri] = state
        self._store_notebook(uri, state)
        self.schedule(uri, delay=0.0)

    def on_notebook_did_change(self, params: types.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = self.notebooks.get(uri)
        if state is None:
            self.log(f"notebook didChange for {uri}, which is not open; ignored", types.MessageType.Warning)
            return
        state.change(params, self.encoding)
        self._store_notebook(uri, state)
        self.schedule(uri, delay=self.debounce_seconds)

    def on_notebook_did_save(self, params: types.DidSaveNotebookDocumentParams) -> None:
        # The pyproject.toml next to a new notebook may only now apply.
        if params.notebook_document.uri in self.notebooks:
            self.schedule(params.notebook_document.uri, delay=0.0)

    def on_notebook_did_close(self, params: types.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = self.notebooks.pop(uri, None)
        for cell in state.order if state is not None else ():
            self.cell_notebook.pop(cell, None)
        self._notebook_fix_all.pop(uri, None)
        # As for a closed text, but nothing is published for the notebook's own URI: only cells had any.
        self.open_texts.pop(uri, None)
        self.analyses.pop(uri, None)
        self._recently_checked.pop(uri, None)
        self._latest_documents.pop(uri, None)
        self.document_settings.pop(uri, None)
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        for cell in self._published_cells.pop(uri, frozenset()):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell, diagnostics=[]))

    def _store_notebook(self, uri: str, state: NotebookState) -> None:
        """A new snapshot of the notebook's program; it replaces the previous one as a text would."""
        cells = state.cells()
        current = set(state.order)
        for cell, owner in list(self.cell_notebook.items()):
            if owner == uri and cell not in current:
                del self.cell_notebook[cell]  # deleted: requests on it get nothing
        for cell in state.order:
            self.cell_notebook[cell] = uri
        self.open_texts[uri] = OpenText(state.version, cells.program.text, _path_of(uri), cells)

    def _publish_cells(self, uri: str, cells: NotebookCells, analysis: Analysis) -> None:
        per_cell = notebook_cells.cell_diagnostics(
            cells, analysis.findings, analysis.document, uri, self.encoding, self.diagnostic_support
        )
        # Cells deleted or turned into markdown since the last publish keep nothing.
        for stale in self._published_cells.get(uri, frozenset()) - per_cell.keys():
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        self._published_cells[uri] = frozenset(per_cell)
        for cell_uri, diagnostics in per_cell.items():
            # No version: a cell's version is not the notebook's.
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=diagnostics)
            )

    def _notebook_of_cell(self, cell_uri: str) -> tuple[str, OpenText, NotebookCells] | None:
        notebook_uri = self.cell_notebook.get(cell_uri)
        snapshot = self.open_texts.get(notebook_uri) if notebook_uri is not None else None
        if notebook_uri is None or snapshot is None or snapshot.cells is None:
            return None
        return notebook_uri, snapshot, snapshot.cells

    # --- checking ----------------------------------------------------------------------

    def schedule(self, uri: str, delay: float) -> None:
        """(Re)start the debounce timer of ``uri``; the previous timer's check is dropped."""
        previous = self._pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        task = asyncio.get_running_loop().create_task(self._check_and_publish(uri, delay))
        self._pending[uri] = task
        task.add_done_callback(functools.partial(self._forget_task, uri))

    def _forget_task(self, uri: str, task: asyncio.Task[None]) -> None:
        if self._pending.get(uri) is task:
            del self._pending[uri]
        if not task.cancelled() and (error := task.exception()) is not None:
            self.log(f"internal error while checking {uri}: {error!r}", types.MessageType.Error)

    async def _check_and_publish(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        snapshot = self.open_texts.get(uri)
        if snapshot is None:
            return
        # The mtime check of the document's pyproject.toml: an edit there applies from now on.
        self.resolve_settings(uri)
        # Shielded: a newer keystroke cancels this task, but a code action may share the check.
        analysis = await self._with_progress(uri, asyncio.shield(self._analysis_future(uri, snapshot)))
        if not self._is_current(uri, analysis):
            return  # the newer version's own task publishes
        if snapshot.cells is not None:
            self._publish_cells(uri, snapshot.cells, analysis)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=analysis.version,
                diagnostics=self._diagnostics(uri, analysis),
            )
        )

    async def _with_progress(self, uri: str, check: asyncio.Future[Analysis]) -> Analysis:
        """The check's result; a check still running after ``progress_after_seconds`` (a first
        check that reads many imported files) shows progress in the editor until it ends."""
        done, _ = await asyncio.wait({check}, timeout=self.progress_after_seconds)
        window = self.client_capabilities.window
        if done or not (window and window.work_done_progress):
            return await check
        token = f"torchmode-check-{uuid.uuid4()}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception as error:  # a client that refuses: the check goes on without it
            self.log(f"could not create a progress report: {error!r}", types.MessageType.Warning)
            return await check
        locale = self.user_settings.to_engine(self.client_locale).locale
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=catalogue_text("progress.title", locale),
                message=catalogue_text("progress.checking", locale, name=Path(_path_of(uri)).name),
            ),
        )
        try:
            return await check
        finally:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd())

    def _diagnostics(self, uri: str, analysis: Analysis) -> list[types.Diagnostic]:
        encoding = self.encoding
        support = self.diagnostic_support
        return [
            to_diagnostic(
                finding, analysis.document, uri, encoding, support, self.workspace_files.document_of
            )
            for finding in analysis.findings
        ]

    def _is_current(self, uri: str, analysis: Analysis) -> bool:
        return (
            not analysis.superseded
            and self.open_texts.get(uri) is analysis.snapshot
            and analysis.settings == self.document_settings.get(uri)
        )

    def _analysis_future(self, uri: str, snapshot: OpenText) -> asyncio.Future[Analysis]:
        """The check of this exact version: cached, already running, or started now."""
        loop = asyncio.get_running_loop()
        settings = self.settings_of(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached.snapshot is snapshot and cached.settings == settings:
            done: asyncio.Future[Analysis] = loop.create_future()
            done.set_result(cached)
            return done
        key = (uri, id(snapshot), settings)
        running = self._in_flight.get(key)
        if running is not None:
            return running
        future = loop.run_in_executor(self._executor, self._check_in_worker, uri, snapshot, settings)
        self._in_flight[key] = future
        future.add_done_callback(functools.partial(self._check_finished, key))
        return future

    def _check_in_worker(self, uri: str, snapshot: OpenText, settings: Settings) -> Analysis:
        """Runs in the pool. Reading ``open_texts`` here is safe: entries are replaced, never mutated."""
        document = self._next_document(uri, snapshot)
        if self.open_texts.get(uri) is not snapshot:
            # Queued behind other checks while the user kept typing: not worth running.
            return Analysis(snapshot, settings, document, None, superseded=True)
        try:
            result = engine.check_document(document, settings, self.workspace_files)
        except Exception:
            return Analysis(snapshot, settings, document, None, error=traceback.format_exc())
        return Analysis(snapshot, settings, document, result)

    def _next_document(self, uri: str, snapshot: OpenText) -> Document:
        """This version's Document, parsed from the previous version's where the edit allows
        (only the edited top-level statement is parsed again, and the analysis reuses what
        it knew of the others)."""
        previous = self._latest_documents.get(uri)
        if previous is not None and previous.path == snapshot.path:
            document = reparse(previous, snapshot.text)
        else:
            document = Document(snapshot.text, snapshot.path)
        self._latest_documents[uri] = document
        return document

    def _check_finished(self, key: AnalysisKey, future: asyncio.Future[Analysis]) -> None:
        """Runs on the event loop when a check ends: log failures, cache current results."""
        self._in_flight.pop(key, None)
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            self.log(f"internal error while checking {key[0]}: {error!r}", types.MessageType.Error)
            return
        analysis = future.result()
        uri = key[0]
        if analysis.error is not None:
            self.report_engine_error(
                f"torchmode failed on {uri} (version {analysis.version}); showing no diagnostics for it:\n"
                f"{analysis.error}"
            )
        if self._is_current(uri, analysis):
            # Failures are cached too, so code actions do not re-run a failing check.
            self.analyses[uri] = analysis
            self._keep_in_memory(uri)

    def _keep_in_memory(self, uri: str) -> None:
        """Keep the trees and analyses of the documents checked last; slim the others.

        A slimmed document keeps its text, findings and fixes (diagnostics and quick fixes
        need nothing else); a hover or an edit there parses and analyses it again, once.
        With a hundred open files this is what keeps the server's memory flat.
        """
        self._recently_checked.pop(uri, None)
        self._recently_checked[uri] = None
        while len(self._recently_checked) > KEPT_ANALYSES:
            oldest = next(iter(self._recently_checked))
            del self._recently_checked[oldest]
            analysis = self.analyses.get(oldest)
            if analysis is not None:
                text = Document(analysis.document.text, analysis.document.path)
                result = replace(analysis.result, document=text) if analysis.result is not None else None
                self.analyses[oldest] = replace(analysis, document=text, result=result)
            self._latest_documents.pop(oldest, None)
            if oldest.startswith("file:"):
                self.workspace_files.release(Path(_path_of(oldest)))

    # --- code actions ------------------------------------------------------------------

    async def on_code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        if uri in self.cell_notebook:
            return await self._notebook_code_action(params)
        snapshot = self.open_texts.get(uri)
        if snapshot is None:
            return None
        only = None if params.context.only is None else [_kind_name(kind) for kind in params.context.only]
        want_quick_fixes = actions.kind_requested(types.CodeActionKind.QuickFix.value, only)
        want_fix_all = actions.kind_requested(actions.FIX_ALL_KIND, only)
        if not (want_quick_fixes or want_fix_all):
            return []
        analysis = await asyncio.shield(self._analysis_future(uri, snapshot))
        # Edits computed for any other version would corrupt the client's text.
        if not self._is_current(uri, analysis) or analysis.result is None:
            return []
        encoding = self.encoding
        result: list[types.CodeAction] = []
        if want_quick_fixes:
            # In the pool: the "disable for this line" check parses the file again.
            work = functools.partial(
                actions.quick_fixes,
                analysis.result,
                uri,
                params.range,
                encoding,
                self.diagnostic_support,
                params.context.diagnostics,
                analysis.settings.locale,
                self.workspace_files.document_of,
            )
            try:
                result.extend(await asyncio.get_running_loop().run_in_executor(self._executor, work))
            except Exception:
                self.report_engine_error(f"quick fixes failed on {uri}:\n{traceback.format_exc()}")
        if want_fix_all and actions.has_safe_fix(analysis.result):
            fixed = await self._fix_all_text(uri, analysis)
            if fixed is not None and self._is_current(uri, analysis):
                action = actions.fix_all_action(uri, snapshot.text, fixed, encoding, analysis.settings.locale)
                if action is not None:
                    result.append(action)
        return result

    async def _notebook_code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        """Quick fixes and fix-all in a cell: checked as the whole notebook, edits on each cell's URI."""
        found = self._notebook_of_cell(params.text_document.uri)
        if found is None:
            return None
        uri, snapshot, cells = found
        only = None if params.context.only is None else [_kind_name(kind) for kind in params.context.only]
        want_quick_fixes = actions.kind_requested(types.CodeActionKind.QuickFix.value, only)
        want_fix_all = actions.kind_requested(actions.FIX_ALL_KIND, only)
        if not (want_quick_fixes or want_fix_all):
            return []
        analysis = await asyncio.shield(self._analysis_future(uri, snapshot))
        if not self._is_current(uri, analysis) or analysis.result is None:
            return []
        result = analysis.result
        encoding = self.encoding
        loop = asyncio.get_running_loop()
        found_actions: list[types.CodeAction] = []
        try:
            if want_quick_fixes:
                work = functools.partial(
                    notebook_cells.quick_fixes,
                    cells,
                    result,
                    uri,
                    params.text_document.uri,
                    params.range,
                    encoding,
                    self.diagnostic_support,
                )
                found_actions.extend(await loop.run_in_executor(self._executor, work))
            if want_fix_all and actions.has_safe_fix(result):
                cached = self._notebook_fix_all.get(uri)
                if cached is not None and cached[0] is snapshot and cached[1] == analysis.settings:
                    fixed = cached[2]
                else:
                    fix_all = functools.partial(
                        notebook_cells.fix_all, cells, result, analysis.settings, self._check_function()
                    )
                    fixed = await loop.run_in_executor(self._executor, fix_all)
                    self._notebook_fix_all[uri] = (snapshot, analysis.settings, fixed)
                edit = notebook_cells.workspace_edit(cells, fixed, encoding)
                if edit is not None and self._is_current(uri, analysis):
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
            self.report_engine_error(f"code actions failed on {uri}:\n{traceback.format_exc()}")
        return found_actions

    async def _fix_all_text(self, uri: str, analysis: Analysis) -> str | None:
        # Editors ask for code actions on every cursor move; fix-all re-checks the
        # text once per fix, so its result is kept for the version.
        cached = self._fix_all_texts.get(uri)
        if cached is not None and cached[0] is analysis.snapshot and cached[1] == analysis.settings:
            return cached[2]
        assert analysis.result is not None
        work = functools.partial(
            actions.fix_all_text, analysis.result, analysis.settings, self._check_function()
        )
        try:
            fixed = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except Exception:
            self.report_engine_error(f"fix-all failed on {uri}:\n{traceback.format_exc()}")
            return None
        if self._is_current(uri, analysis):
            self._fix_all_texts[uri] = (analysis.snapshot, analysis.settings, fixed)
        return fixed

    # --- inlay hints -------------------------------------------------------------------

    async def on_inlay_hint(self, params: types.InlayHintParams) -> list[types.InlayHint] | None:
        uri = params.text_document.uri
        # In a cell: the hints of the whole program, on the cell's lines, moved to the cell.
        cell_offset = 0
        cell_lines: int | None = None
        if (found := self._notebook_of_cell(uri)) is not None:
            uri, _, cells = found
            offset = cells.offset_of(params.text_document.uri)
            if offset is None:
                return []
            cell_offset = offset
            cell_lines = cells.program.line_counts[cells.uris.index(params.text_document.uri)]
            params = types.InlayHintParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=notebook_cells.to_program_range(offset, params.range),
            )
        snapshot = self.open_texts.get(uri)
        if snapshot is None:
            return None
        if not self.user_settings.inlay_hints:
            return []
        document = self._document_for(uri, snapshot)
        try:
            states = await asyncio.get_running_loop().run_in_executor(
                self._executor, engine.forward_call_states, document, self.workspace_files
            )
        except Exception:
            self.report_engine_error(f"inlay hints failed on {uri}:\n{traceback.format_exc()}")
            return []
        current = self.open_texts.get(uri)
        if current is not snapshot:
            return []
        hints = inlay_hints(states, document, params.range, self.encoding, self.settings_of(uri).locale)
        if cell_lines is not None:
            # The requested range may run past the cell into the next ones.
            hints = [hint for hint in hints if cell_offset <= hint.position.line < cell_offset + cell_lines]
        for hint in hints:
            hint.position = types.Position(
                line=hint.position.line - cell_offset, character=hint.position.character
            )
        return hints

    def _document_for(self, uri: str, snapshot: OpenText) -> Document:
        """The checked Document of this version if there is one: it carries the parse already."""
        cached = self.analyses.get(uri)
        if cached is not None and cached.snapshot is snapshot:
            return cached.document
        return Document(snapshot.text, snapshot.path)

    # --- hover -------------------------------------------------------------------------

    async def on_hover(self, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        lsp_position = params.position
        # In a cell: hover in the whole program, at the cell's line there.
        cell_offset = 0
        if (found := self._notebook_of_cell(uri)) is not None:
            uri, _, cells = found
            offset = cells.offset_of(params.text_document.uri)
            if offset is None:
                return None
            cell_offset = offset
            lsp_position = types.Position(line=lsp_position.line + offset, character=lsp_position.character)
        snapshot = self.open_texts.get(uri)
        if snapshot is None:
            return None
        document = self._document_for(uri, snapshot)
        encoding = self.encoding
        position = from_lsp_position(document, lsp_position, encoding)
        settings = self.settings_of(uri)
        work = functools.partial(engine.hover_at, document, position, settings, self.workspace_files)
        try:
            hover = await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except Exception:
            self.report_engine_error(f"hover failed on {uri}:\n{traceback.format_exc()}")
            return None
        current = self.open_texts.get(uri)
        if hover is None or current is not snapshot:
            return None
        hover_range = to_lsp_range(document, hover.span, encoding)
        if cell_offset:
            hover_range = notebook_cells.to_program_range(-cell_offset, hover_range)
        return types.Hover(
            contents=types.MarkupContent(kind=self._hover_markup(), value=hover.markdown),
            range=hover_range,
        )


def _kind_name(kind: types.CodeActionKind | str) -> str:
    return kind.value if isinstance(kind, Enum) else str(kind)


def _path_of(uri: str) -> str:
    """The file path the engine reports and resolves imports from; the URI itself if not a file."""
    try:
        path = to_fs_path(uri)
    except Exception:
        path = None
    return path or uri


def create_server() -> TorchmodeServer:
    """A server with every feature registered; each call makes an independent one."""
    server = TorchmodeServer()

    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.on_initialize(params)

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        server.on_initialized()

    @server.feature(types.SHUTDOWN)
    def shutdown(params: None) -> None:
        server.on_shutdown()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.on_did_open(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.on_did_change(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.on_did_close(params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(params: types.DidOpenNotebookDocumentParams) -> None:
        server.on_notebook_did_open(params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(params: types.DidChangeNotebookDocumentParams) -> None:
        server.on_notebook_did_change(params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(params: types.DidSaveNotebookDocumentParams) -> None:
        server.on_notebook_did_save(params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(params: types.DidCloseNotebookDocumentParams) -> None:
        server.on_notebook_did_close(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        await server.on_did_change_configuration(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        server.on_did_change_workspace_folders(params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        server.on_did_change_watched_files(params)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=actions.ADVERTISED_KINDS),
    )
    async def code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return await server.on_code_action(params)

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    async def inlay_hint(params: types.InlayHintParams) -> list[types.InlayHint] | None:
        return await server.on_inlay_hint(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(params: types.HoverParams) -> types.Hover | None:
        return await server.on_hover(params)

    return server


def start_stdio() -> None:
    """Serve one client over stdin/stdout until it exits (``torchmode lsp``)."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # A stray print() from anything the engine loads would corrupt the JSON-RPC
    # stream; from here on it goes to stderr, which clients show as a log.
    sys.stdout = sys.stderr
    server = create_server()
    gc_tuning.tune_process()
    server.start_io(stdin, stdout)


__all__ = ["TorchmodeServer", "create_server", "start_stdio"]
