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

This module holds the server's state and its handlers, registered from one table
(``create_server``). Their helpers have modules of their own: ``documents`` (the open
texts, the Document chain, the analyses kept in memory, the workspace's other files),
``scheduler`` (when checks run and which results are published: the first two rules),
``notebook_sync`` (notebook document sync), ``code_actions``, ``client`` (the client's
capabilities), and the presentation helpers ``diagnostics``, ``actions``, ``hints``,
``notebook_cells`` and ``coordinates``.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer
from pygls.progress import Progress

import torchmode
from torchmode import __version__, engine, gc_tuning
from torchmode.config import PYPROJECT, ConfigLoader, ResolvedConfig
from torchmode.engine import CheckResult, Settings
from torchmode.lsp import client, code_actions, notebook_cells
from torchmode.lsp.code_actions import CodeActionBuilder, Wanted
from torchmode.lsp.config import (
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
from torchmode.lsp.documents import Analysis, OpenDocuments, OpenText, path_of
from torchmode.lsp.hints import inlay_hints
from torchmode.lsp.notebook_sync import NotebookSync
from torchmode.lsp.scheduler import CheckScheduler
from torchmode.syntax import Document

if TYPE_CHECKING:
    from pygls.server import ServerErrors


class TorchmodeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "torchmode",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebook_cells.SYNC_OPTIONS,
        )
        self.client_locale = "en"
        self.user_settings = UserSettings()
        self.config_loader = ConfigLoader(engine.rule_codes())
        # Configuration problems already shown, per pyproject.toml: each is shown once
        # until it is fixed, not on every keystroke.
        self._shown_config_problems: dict[str, frozenset[str]] = {}
        self._startup_warnings: tuple[str, ...] = ()
        self._engine_error_shown = False
        self.documents = OpenDocuments()
        # The workspace's other files, for calls into them (see ``OpenDocuments``).
        self.workspace_files = self.documents.workspace
        self.scheduler = CheckScheduler(
            prepare=self._prepare_check,
            check=self._check_in_worker,
            cached=self.documents.cached,
            keep=self.documents.keep,
            is_current=self.documents.is_current,
            publish=self.publish,
            report_engine_error=self.report_engine_error,
            progress=self._client_progress,
            locale=self._locale,
            log=self.log,
        )
        self.code_action_builder = CodeActionBuilder(
            documents=self.documents,
            scheduler=self.scheduler,
            check=self._check_with_imports,
            other_document=self.workspace_files.document_of,
            report_engine_error=self.report_engine_error,
        )
        self.notebook_sync = NotebookSync(
            self.documents,
            self.scheduler,
            send=lambda params: self.text_document_publish_diagnostics(params),
            encoding=lambda: self.encoding,
            log=self.log,
        )

    # --- client facts ------------------------------------------------------------------

    @property
    def encoding(self) -> Encoding:
        return encoding_name(self.workspace.position_encoding)

    @property
    def diagnostic_support(self) -> DiagnosticSupport:
        return DiagnosticSupport.of(self.client_capabilities)

    def _client_progress(self) -> Progress | None:
        return self.work_done_progress if client.shows_progress(self.client_capabilities) else None

    def _locale(self) -> str:
        """The language of what the server itself says (the findings' is per document)."""
        return self.user_settings.to_engine(self.client_locale).locale

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
            self.documents.add_root(folder.uri)
        if not params.workspace_folders and params.root_uri:
            self.documents.add_root(params.root_uri)
        self.client_locale = locale_from_client(params.locale)
        options = parse_initialization_options(params.initialization_options)
        self.user_settings = options.settings
        self.scheduler.debounce_seconds = options.debounce_seconds
        self.scheduler.progress_after_seconds = options.progress_after_seconds
        # Shown once the client is ready for notifications (after `initialized`).
        self._startup_warnings = options.warnings

    def on_did_change_workspace_folders(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.added:
            self.documents.add_root(folder.uri)

    async def _watch_python_files(self) -> None:
        """Ask the client to report changes to Python files and pyproject.toml on disk, so a
        change to an imported module re-checks the open files that use it."""
        if not client.watches_files(self.client_capabilities):
            return
        try:
            await self.client_register_capability_async(
                types.RegistrationParams(registrations=[client.WATCHED_FILES])
            )
        except Exception as error:
            self.log(f"could not register file watchers: {error!r}", types.MessageType.Warning)

    def _check_with_imports(self, document: Document, settings: Settings) -> CheckResult:
        """The check fix-all repeats after each fix, following imports like every check."""
        return engine.check_document(document, settings, self.workspace_files)

    def _dependency_changed(self, path: Path, text: str | None = None) -> None:
        """``path`` has a new text: re-check the open documents whose analysis read it."""
        for uri in self.documents.file_changed(path, text):
            self.scheduler.schedule(uri)

    def on_initialized(self, params: types.InitializedParams) -> None:
        asyncio.get_running_loop().create_task(self._watch_python_files())
        for warning in self._startup_warnings:
            self.warn(warning)
        self._startup_warnings = ()
        locale = self._locale()
        # The package folder: which install the client started (a test checks it is the checkout's).
        package = Path(torchmode.__file__).resolve().parent
        self.log(
            f"torchmode {__version__} ready (package {package}, locale {locale}, "
            f"position encoding {self.encoding}, debounce {int(self.scheduler.debounce_seconds * 1000)} ms, "
            f"configuration {self.user_settings.configuration_preference})"
        )

    # --- per-document settings ---------------------------------------------------------

    def _config_folder(self, uri: str) -> Path | None:
        """Where the search for pyproject.toml starts: the file's folder; for an unsaved
        document, the workspace root."""
        snapshot = self.documents.texts.get(uri)
        path = snapshot.path if snapshot is not None else path_of(uri)
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
        previous = self.documents.settings.get(uri)
        self.documents.settings[uri] = resolved.settings
        if previous is not None and previous != resolved.settings:
            source = resolved.config_path or "the editor settings and defaults"
            self.log(f"settings of {uri} changed (from {source})")
        return resolved.settings

    def settings_of(self, uri: str) -> Settings:
        """The settings the document was last checked with (resolved now if never)."""
        settings = self.documents.settings.get(uri)
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
        for uri in list(self.documents.texts):
            before = self.documents.settings.get(uri)
            if self.resolve_settings(uri) != before:
                self.scheduler.schedule(uri, at_once=True)

    def on_did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        """A client that watches pyproject.toml files (the VS Code client's ``fileEvents``)
        gets open documents re-checked at once; without it, the mtime check before every
        check picks up the change at the next edit."""
        if any(change.uri.endswith(f"/{PYPROJECT}") for change in params.changes):
            self.refresh_settings()
        for change in params.changes:
            if change.uri.startswith("file:") and change.uri.endswith(".py"):
                path = Path(path_of(change.uri)).resolve()
                if path not in self.documents.paths:  # an open document's text is the editor's
                    self._dependency_changed(path)

    async def on_did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        found, section = section_from_notification(params.settings)
        if not found:
            if not client.pulls_configuration(self.client_capabilities):
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
        if client.refreshes_inlay_hints(self.client_capabilities):
            try:
                await self.workspace_inlay_hint_refresh_async(None)
            except Exception as error:
                self.log(f"inlay hint refresh failed: {error!r}", types.MessageType.Warning)

    def on_shutdown(self, params: None) -> None:
        self.scheduler.shutdown()

    # --- document sync -----------------------------------------------------------------

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        self.documents.texts[item.uri] = OpenText(item.version, item.text, path_of(item.uri))
        if item.uri.startswith("file:"):
            path = Path(path_of(item.uri)).resolve()
            self.documents.paths[path] = item.uri
            self._dependency_changed(path, item.text)
        # Nobody is typing yet: check at once.
        self.scheduler.schedule(item.uri, at_once=True)

    def on_did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        current = self.documents.texts.get(uri)
        if current is None:
            self.log(f"didChange for {uri}, which is not open; ignored", types.MessageType.Warning)
            return
        text = current.text
        encoding = self.encoding
        for change in params.content_changes:
            text = apply_content_change(text, change, encoding)
        self.documents.texts[uri] = OpenText(params.text_document.version, text, current.path)
        self.scheduler.schedule(uri)
        if uri.startswith("file:"):
            self._dependency_changed(Path(current.path).resolve(), text)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.documents.close(uri)
        if uri.startswith("file:"):
            path = Path(path_of(uri)).resolve()
            self.documents.paths.pop(path, None)
            self._dependency_changed(path)  # back to the text on disk
        self.scheduler.cancel(uri)
        # Clients keep pushed diagnostics of closed files unless told otherwise.
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # --- checking and publishing -------------------------------------------------------

    def _prepare_check(self, uri: str) -> tuple[OpenText, Settings] | None:
        """The open text to check when its debounce timer ends, and the settings to check it with."""
        snapshot = self.documents.texts.get(uri)
        if snapshot is None:
            return None
        # The mtime check of the document's pyproject.toml: an edit there applies from now on.
        return snapshot, self.resolve_settings(uri)

    def _check_in_worker(self, uri: str, snapshot: OpenText, settings: Settings) -> Analysis:
        """Runs in the pool. Reading the open texts here is safe: entries are replaced, never mutated."""
        document = self.documents.next_document(uri, snapshot)
        if self.documents.texts.get(uri) is not snapshot:
            # Queued behind other checks while the user kept typing: not worth running.
            return Analysis(snapshot, settings, document, None, superseded=True)
        try:
            # A notebook's messages name its cells' lines.
            cells = snapshot.cells.program if snapshot.cells is not None else None
            result = engine.check_document(document, settings, self.workspace_files, cells)
        except Exception:
            return Analysis(snapshot, settings, document, None, error=traceback.format_exc())
        return Analysis(snapshot, settings, document, result)

    def publish(self, uri: str, analysis: Analysis) -> None:
        """Send a current analysis' diagnostics: the document's, or a notebook's to its cells."""
        encoding = self.encoding
        support = self.diagnostic_support
        if analysis.snapshot.cells is not None:
            self.notebook_sync.publish(uri, analysis.snapshot.cells, analysis, encoding, support)
            return
        diagnostics = [
            to_diagnostic(
                finding, analysis.document, uri, encoding, support, self.workspace_files.document_of
            )
            for finding in analysis.findings
        ]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=analysis.version, diagnostics=diagnostics)
        )

    # --- code actions, inlay hints, hover --------------------------------------------

    async def on_code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        target = self.notebook_sync.target(params.text_document.uri)
        if target is None:
            return None
        wanted = Wanted.of(params.context.only)
        if not (wanted.quick_fixes or wanted.fix_all):
            return []
        uri = target.uri
        analysis = await asyncio.shield(self.scheduler.analysis(uri, target.snapshot, self.settings_of(uri)))
        # Edits computed for any other version would corrupt the client's text.
        if not self.documents.is_current(uri, analysis) or analysis.result is None:
            return []
        encoding, support = self.encoding, self.diagnostic_support
        if target.cells is None:
            return await self.code_action_builder.for_text(params, analysis, wanted, encoding, support)
        return await self.code_action_builder.for_cell(
            params, uri, target.cells, analysis, wanted, encoding, support
        )

    async def on_inlay_hint(self, params: types.InlayHintParams) -> list[types.InlayHint] | None:
        target = self.notebook_sync.target(params.text_document.uri)
        if target is None:
            return None
        if target.cells is not None and target.cell_offset is None:
            return []
        # In a cell: the hints of the whole program, on the cell's lines, moved to the cell.
        uri, snapshot, offset = target.uri, target.snapshot, target.cell_offset or 0
        if not self.user_settings.inlay_hints:
            return []
        document = self.documents.document_for(uri, snapshot)
        work = functools.partial(engine.forward_call_states, document, self.workspace_files)
        try:
            states = await self.scheduler.in_pool(work)
        except Exception:
            self.report_engine_error(f"inlay hints failed on {uri}:\n{traceback.format_exc()}")
            return []
        if self.documents.texts.get(uri) is not snapshot:
            return []
        requested = notebook_cells.to_program_range(offset, params.range)
        hints = inlay_hints(states, document, requested, self.encoding, self.settings_of(uri).locale)
        if target.cells is not None:
            # The requested range may run past the cell into the next ones.
            hints = [hint for hint in hints if offset <= hint.position.line < offset + target.cell_lines]
        for hint in hints:
            hint.position = types.Position(
                line=hint.position.line - offset, character=hint.position.character
            )
        return hints

    async def on_hover(self, params: types.HoverParams) -> types.Hover | None:
        target = self.notebook_sync.target(params.text_document.uri)
        if target is None or (target.cells is not None and target.cell_offset is None):
            return None
        # In a cell: hover in the whole program, at the cell's line there.
        uri, snapshot, offset = target.uri, target.snapshot, target.cell_offset or 0
        document = self.documents.document_for(uri, snapshot)
        encoding = self.encoding
        lsp_position = types.Position(line=params.position.line + offset, character=params.position.character)
        position = from_lsp_position(document, lsp_position, encoding)
        settings = self.settings_of(uri)
        cells = target.cells.program if target.cells is not None else None
        work = functools.partial(engine.hover_at, document, position, settings, self.workspace_files, cells)
        try:
            hover = await self.scheduler.in_pool(work)
        except Exception:
            self.report_engine_error(f"hover failed on {uri}:\n{traceback.format_exc()}")
            return None
        if hover is None or self.documents.texts.get(uri) is not snapshot:
            return None
        hover_range = to_lsp_range(document, hover.span, encoding)
        return types.Hover(
            contents=types.MarkupContent(
                kind=client.hover_markup(self.client_capabilities), value=hover.markdown
            ),
            range=notebook_cells.to_program_range(-offset, hover_range),
        )


def _features(server: TorchmodeServer) -> list[tuple[str, object | None, Callable[..., Any]]]:
    """Every LSP method the server handles: (method, its options, the handler)."""
    notebooks = server.notebook_sync
    return [
        (types.INITIALIZE, None, server.on_initialize),
        (types.INITIALIZED, None, server.on_initialized),
        (types.SHUTDOWN, None, server.on_shutdown),
        (types.TEXT_DOCUMENT_DID_OPEN, None, server.on_did_open),
        (types.TEXT_DOCUMENT_DID_CHANGE, None, server.on_did_change),
        (types.TEXT_DOCUMENT_DID_CLOSE, None, server.on_did_close),
        (types.NOTEBOOK_DOCUMENT_DID_OPEN, None, notebooks.did_open),
        (types.NOTEBOOK_DOCUMENT_DID_CHANGE, None, notebooks.did_change),
        (types.NOTEBOOK_DOCUMENT_DID_SAVE, None, notebooks.did_save),
        (types.NOTEBOOK_DOCUMENT_DID_CLOSE, None, notebooks.did_close),
        (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, server.on_did_change_configuration),
        (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, None, server.on_did_change_workspace_folders),
        (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, None, server.on_did_change_watched_files),
        (types.TEXT_DOCUMENT_CODE_ACTION, code_actions.OPTIONS, server.on_code_action),
        (types.TEXT_DOCUMENT_INLAY_HINT, None, server.on_inlay_hint),
        (types.TEXT_DOCUMENT_HOVER, None, server.on_hover),
    ]


def create_server() -> TorchmodeServer:
    """A server with every feature registered; each call makes an independent one."""
    server = TorchmodeServer()
    for method, options, handler in _features(server):
        # pygls marks what it registers with attributes, which a bound method cannot carry;
        # a partial can, and pygls still sees through it whether the handler is a coroutine.
        server.feature(method, options)(functools.partial(handler))
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
