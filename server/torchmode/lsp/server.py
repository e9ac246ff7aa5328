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
``workspace_scan`` (the background check of the workspace's unopened files), ``pull``
(pull diagnostics, and which diagnostics a client pulls rather than gets pushed),
``observed`` (what a ``torchmode run`` report observed), ``notebook_sync`` (notebook
document sync), ``code_actions``, ``client`` (the client's capabilities), and the
presentation helpers ``diagnostics``, ``actions``, ``hints``, ``notebook_cells`` and
``coordinates``.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.lsp.server import LanguageServer
from pygls.progress import Progress

import torchmode
from torchmode import __version__, engine, gc_tuning
from torchmode.config import PYPROJECT, ConfigLoader, ResolvedConfig
from torchmode.docs import text as catalogue_text
from torchmode.engine import CheckResult, Settings
from torchmode.lsp import client, code_actions, notebook_cells, pull
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
from torchmode.lsp.held_diagnostics import HeldDiagnostics
from torchmode.lsp.hints import inlay_hints
from torchmode.lsp.notebook_cells import cell_diagnostics
from torchmode.lsp.notebook_sync import NotebookSync, RequestTarget
from torchmode.lsp.observed import ObservedFindings, file_key, is_report_uri, report_path
from torchmode.lsp.protocol import TorchmodeProtocol
from torchmode.lsp.pull import Delivery, PullState
from torchmode.lsp.scheduler import CheckScheduler
from torchmode.lsp.workspace_scan import WorkspaceScan
from torchmode.syntax import Document, Position, Span

# The command "torchmode: Check Workspace" sends (the client's own command,
# ``torchmode.checkWorkspace``, has another name: vscode-languageclient registers a command
# for each command the server declares).
CHECK_WORKSPACE_COMMAND = "torchmode.server.checkWorkspace"
# A document pull waits for the check of the version open now; it looks again this often in
# case nothing wakes it (a check that failed before publishing).
PULL_RECHECK_SECONDS = 1.0
# A workspace pull with nothing new for the client waits this long for news before it
# answers (the client asks again at once, VS Code after two seconds).
WORKSPACE_PULL_WAIT_SECONDS = 30.0

if TYPE_CHECKING:
    from pygls.server import ServerErrors


class TorchmodeServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "torchmode",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebook_cells.SYNC_OPTIONS,
            protocol_cls=TorchmodeProtocol,
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
        self.pull = PullState(
            send_refresh=lambda: self.workspace_diagnostic_refresh_async(None), log=self.log
        )
        self.observed = ObservedFindings()
        # The last diagnostics of a version that parsed, shown while the text does not.
        self.held = HeldDiagnostics()
        # Each open file's resolved path, found when it opens: resolving it again on every
        # keystroke asks the file system once per folder of the path.
        self._real_paths: dict[str, Path] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.workspace_scan = WorkspaceScan(
            self.documents,
            self.scheduler,
            settings_for=self.settings_for_path,
            reports=lambda: self.observed.reports,
            changed=self._workspace_file_changed,
            encoding=lambda: self.encoding,
            support=lambda: self.unopened_diagnostic_support,
            progress=self._client_progress,
            progress_after=lambda: self.scheduler.progress_after_seconds,
            locale=self._locale,
            log=self.log,
            report_engine_error=self.report_engine_error,
        )

    # --- client facts ------------------------------------------------------------------

    @property
    def encoding(self) -> Encoding:
        return encoding_name(self.workspace.position_encoding)

    @property
    def diagnostic_support(self) -> DiagnosticSupport:
        """What the client takes in the diagnostics of open documents (pushed or pulled)."""
        if self.pull.delivery.pull_documents:
            return DiagnosticSupport.of_pull(self.client_capabilities)
        return DiagnosticSupport.of(self.client_capabilities)

    @property
    def unopened_diagnostic_support(self) -> DiagnosticSupport:
        """What the client takes in the diagnostics of files that are not open."""
        if self.pull.delivery.pull_workspace:
            return DiagnosticSupport.of_pull(self.client_capabilities)
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
        self.pull.delivery = Delivery.of(params.capabilities)
        options = parse_initialization_options(params.initialization_options)
        self.user_settings = options.settings
        self.scheduler.debounce_seconds = options.debounce_seconds
        self.scheduler.progress_after_seconds = options.progress_after_seconds
        # Shown once the client is ready for notifications (after `initialized`).
        self._startup_warnings = options.warnings

    def on_did_change_workspace_folders(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for folder in params.event.added:
            self.documents.add_root(folder.uri)
        if params.event.added:
            self.workspace_scan.roots_changed()
            self._load_runtime_reports()

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
        """``path`` has a new text: re-check the open documents whose analysis read it, and the
        workspace's other files that did."""
        open_uris, others = self.documents.file_changed(path, text)
        for uri in open_uris:
            self.scheduler.schedule(uri)
        self.workspace_scan.enqueue(others)
        # The workspace check's own process follows it too, and re-checks its files that read it.
        self.workspace_scan.text_changed(path, text)

    def on_initialized(self, params: types.InitializedParams) -> None:
        asyncio.get_running_loop().create_task(self._watch_python_files())
        for warning in self._startup_warnings:
            self.warn(warning)
        self._startup_warnings = ()
        self._load_runtime_reports()
        self.workspace_scan.configure(self.user_settings.checks_workspace, self.user_settings.exclude)
        locale = self._locale()
        # The package folder: which install the client started (a test checks it is the checkout's).
        package = Path(torchmode.__file__).resolve().parent
        self.log(
            f"torchmode {__version__} ready (package {package}, locale {locale}, "
            f"position encoding {self.encoding}, debounce {int(self.scheduler.debounce_seconds * 1000)} ms, "
            f"configuration {self.user_settings.configuration_preference}, "
            f"diagnostics {self.user_settings.diagnostic_mode}, {self._delivery_name()})"
        )

    def _delivery_name(self) -> str:
        delivery = self.pull.delivery
        if delivery.pull_workspace:
            return "pulled"
        if delivery.pull_documents:
            return "pulled for open files, pushed for the others"
        return "pushed"

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

    def settings_for_path(self, path: Path) -> Settings:
        """The settings of a file that is not open (the workspace check's): its pyproject.toml's
        and the editor's, as for an open one, without remembering them per URI."""
        folder = None if self.user_settings.configuration_preference == "editorOnly" else path.parent
        resolved = self.user_settings.resolve(self.config_loader, folder, self.client_locale)
        self._report_config_problems(resolved)
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
        """Changes on disk the client reports (the watchers of ``client.WATCHED_FILES``).

        A pyproject.toml gets open documents re-checked at once (without a watcher, the mtime
        check before every check picks it up at the next edit) and the workspace's other files
        too; a Python file re-checks what read it and itself; a ``.gitignore`` has the
        workspace's files discovered again; a runtime report is read again."""
        if any(change.uri.endswith(f"/{PYPROJECT}") for change in params.changes):
            self.refresh_settings()
            self.workspace_scan.recheck_all()
        reports: set[Path] = set()
        for change in params.changes:
            if not change.uri.startswith("file:"):
                continue
            path = Path(path_of(change.uri)).resolve()
            if is_report_uri(change.uri):
                reports.add(path)
            elif change.uri.endswith("/.gitignore"):
                self.workspace_scan.gitignore_changed(path)
            elif change.uri.endswith((".py", ".ipynb")):
                if path in self.documents.paths:
                    # An open document's text is the editor's; saved, it may no longer be the
                    # file a run observed.
                    if file_key(path) in self.observed.files():
                        self._republish_observed({file_key(path)})
                    continue
                if change.uri.endswith(".py"):
                    self._dependency_changed(path)
                self.workspace_scan.disk_changed(path, deleted=change.type == types.FileChangeType.Deleted)
        for report in sorted(reports):
            self._spawn(self._load_runtime_report(report))

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
        before, self.user_settings = self.user_settings, parsed.settings
        # Settings are part of every cache key, so old results cannot be served.
        self.refresh_settings()
        after = self.user_settings
        self.workspace_scan.configure(after.checks_workspace, after.exclude)
        if (before.rules, before.configuration_preference) != (after.rules, after.configuration_preference):
            self.workspace_scan.recheck_all()
        # Hints may have been switched on or off, or changed language.
        if client.refreshes_inlay_hints(self.client_capabilities):
            try:
                await self.workspace_inlay_hint_refresh_async(None)
            except Exception as error:
                self.log(f"inlay hint refresh failed: {error!r}", types.MessageType.Warning)

    def on_shutdown(self, params: None) -> None:
        self.scheduler.shutdown()
        self.workspace_scan.shutdown()
        self.pull.shutdown()

    # --- document sync -----------------------------------------------------------------

    def on_did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        self.documents.texts[item.uri] = OpenText(item.version, item.text, path_of(item.uri))
        if item.uri.startswith("file:"):
            path = Path(path_of(item.uri)).resolve()
            self._real_paths[item.uri] = path
            self.documents.paths[path] = item.uri
            self._dependency_changed(path, item.text)
            had = self.workspace_scan.opened(path)
            if had is not None and not self.pull.delivery.push_open and self.pull.delivery.push_unopened:
                # Pushed while it was closed; pulled now that it is open (Neovim 0.10).
                self._push(had.uri, [])
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
            path = self._real_paths.get(uri)
            if path is None:
                path = self._real_paths[uri] = Path(current.path).resolve()
            self._dependency_changed(path, text)

    def on_did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.documents.close(uri)
        self.pull.forget(uri)
        self.held.forget(uri)
        self._real_paths.pop(uri, None)
        in_workspace = False
        if uri.startswith("file:"):
            path = Path(path_of(uri)).resolve()
            self.documents.paths.pop(path, None)
            self._dependency_changed(path)  # back to the text on disk
            # A file of the workspace is checked again from disk; its result replaces what
            # the client shows.
            in_workspace = self.workspace_scan.closed(path)
        self.scheduler.cancel(uri)
        if in_workspace:
            return
        # Clients keep diagnostics of closed files unless told otherwise: pushed ones until
        # pushed empty, VS Code the last pulled ones until a workspace pull says otherwise.
        if self.pull.delivery.push_open:
            self._push(uri, [])
        elif self.pull.delivery.pull_workspace:
            self.workspace_scan.hold(uri)

    def on_notebook_did_open(self, params: types.DidOpenNotebookDocumentParams) -> None:
        self.notebook_sync.did_open(params)
        uri = params.notebook_document.uri
        if uri.startswith("file:"):
            had = self.workspace_scan.opened(Path(path_of(uri)).resolve())
            if had is not None and self.pull.delivery.push_unopened:
                # Its diagnostics are on its cells now, not on the file.
                self._push(had.uri, [])

    def on_notebook_did_close(self, params: types.DidCloseNotebookDocumentParams) -> None:
        self.notebook_sync.did_close(params)
        uri = params.notebook_document.uri
        self.pull.forget(uri)
        if uri.startswith("file:"):
            self.workspace_scan.closed(Path(path_of(uri)).resolve())

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
        """A current analysis' diagnostics: pushed (the document's, or a notebook's to its
        cells), or, for a client that pulls, handed to the pulls waiting for them (and a
        refresh asked for when the client holds others)."""
        encoding = self.encoding
        support = self.diagnostic_support
        cells = analysis.snapshot.cells
        if self.pull.delivery.pull_documents:
            if cells is not None:
                per_cell = cell_diagnostics(
                    cells, analysis.findings, analysis.document, uri, encoding, support
                )
                for cell in cells.uris:
                    self.pull.changed(cell, per_cell.get(cell, []))
            else:
                self.pull.changed(uri, self._document_diagnostics(uri, analysis, support))
            self.pull.checked(uri)
            return
        if cells is not None:
            self.notebook_sync.publish(uri, cells, analysis, encoding, support)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                version=analysis.version,
                diagnostics=self._document_diagnostics(uri, analysis, support),
            )
        )

    def _document_diagnostics(
        self, uri: str, analysis: Analysis, support: DiagnosticSupport
    ) -> list[types.Diagnostic]:
        """An open text's diagnostics: its findings, then what a run observed there; for a
        version that does not parse, those of the last version that did (``held_diagnostics``)."""
        result = analysis.result
        text, settings = analysis.snapshot.text, analysis.settings
        if result is not None and result.parse_failure is not None:
            held = self.held.carried_to(uri, text, settings)
            if held is not None:
                return held
        encoding = self.encoding
        diagnostics = [
            to_diagnostic(
                finding, analysis.document, uri, encoding, support, self.workspace_files.document_of
            )
            for finding in analysis.findings
        ]
        if uri.startswith("file:"):
            diagnostics += self._observed_diagnostics(
                Path(analysis.snapshot.path), analysis.document, analysis.settings, encoding, support
            )
        if result is not None and result.parse_failure is None and analysis.error is None:
            self.held.keep(uri, text, settings, diagnostics)
        return diagnostics

    def _observed_diagnostics(
        self,
        path: Path,
        document: Document,
        settings: Settings,
        encoding: Encoding,
        support: DiagnosticSupport,
    ) -> list[types.Diagnostic]:
        return self.observed.diagnostics(
            str(path),
            document,
            settings,
            encoding,
            support,
            lambda other: self.documents.text_of(Path(other)),
        )

    def _push(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )

    def _workspace_file_changed(self, uri: str, diagnostics: Sequence[types.Diagnostic]) -> None:
        """The workspace check has new diagnostics for an unopened file (a workspace pull
        waiting for news answers on its own)."""
        if self.pull.delivery.push_unopened:
            self._push(uri, list(diagnostics))

    # --- pull diagnostics --------------------------------------------------------------

    async def on_document_diagnostic(
        self, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport:
        uri = params.text_document.uri
        with self.pull.answering(uri):
            diagnostics = await self._pulled_diagnostics(uri)
            return self.pull.answer(uri, diagnostics, params.previous_result_id)

    async def _pulled_diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """``uri``'s diagnostics from the check of the text open now (waiting for it, debounce
        included), or from the workspace check when it is not open."""
        while True:
            target = self.notebook_sync.target(uri)
            if target is None:
                result = self.workspace_scan.result_of_uri(uri)
                return list(result.diagnostics) if result is not None else []
            analysis = self.documents.analyses.get(target.uri)
            if analysis is not None and self.documents.is_current(target.uri, analysis):
                return self._target_diagnostics(uri, target, analysis)
            if target.uri not in self.scheduler.pending:
                self.scheduler.schedule(target.uri, at_once=True)
            await self.pull.wait(target.uri, PULL_RECHECK_SECONDS)

    def _target_diagnostics(
        self, uri: str, target: RequestTarget, analysis: Analysis
    ) -> list[types.Diagnostic]:
        support = self.diagnostic_support
        if target.cells is None:
            return self._document_diagnostics(uri, analysis, support)
        per_cell = cell_diagnostics(
            target.cells, analysis.findings, analysis.document, target.uri, self.encoding, support
        )
        return per_cell.get(uri, [])

    async def on_workspace_diagnostic(
        self, params: types.WorkspaceDiagnosticParams
    ) -> types.WorkspaceDiagnosticReport:
        """The unopened files' diagnostics. With nothing new for the client, the answer waits
        (up to ``WORKSPACE_PULL_WAIT_SECONDS``) for the workspace check to find something."""
        previous = {item.uri: item.value for item in params.previous_result_ids}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WORKSPACE_PULL_WAIT_SECONDS
        while True:
            generation = self.workspace_scan.generation
            open_texts = {uri for uri, snapshot in self.documents.texts.items() if snapshot.cells is None}
            items, news = self.workspace_scan.report(previous, open_texts)
            remaining = deadline - loop.time()
            if news or remaining <= 0:
                self.workspace_scan.reported(items)
                return types.WorkspaceDiagnosticReport(items=items)
            await self.workspace_scan.wait_for_change(generation, remaining)

    # --- the workspace check ------------------------------------------------------------

    async def on_check_workspace(self, *arguments: object) -> dict[str, object]:
        """``torchmode.server.checkWorkspace``: discover and check the workspace's files again;
        answers when done, with what was found."""
        locale = self._locale()
        if not self.user_settings.checks_workspace:
            return {"checked": False, "message": catalogue_text("workspace.open_files_only", locale)}
        scan = self.workspace_scan
        scan.rescan()
        await scan.wait_idle()
        counts = [len(result.diagnostics) for result in scan.results.values()]
        for uri, analysis in list(self.documents.analyses.items()):
            if self.documents.is_current(uri, analysis) and analysis.findings:
                counts.append(len(analysis.findings))
        files = len(scan.files | scan.open)
        message = catalogue_text(
            "workspace.checked", locale, files=files, findings=sum(counts), with_findings=len(counts)
        )
        self.log(message)
        return {
            "checked": True,
            "files": files,
            "findings": sum(counts),
            "filesWithFindings": len(counts),
            "message": message,
        }

    # --- runtime reports ---------------------------------------------------------------

    def _load_runtime_reports(self) -> None:
        """Each workspace folder's report, if there is one (read again when the watcher says so)."""
        for root in self.workspace_files.roots:
            self._spawn(self._load_runtime_report(report_path(root)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the event loop, keeping it alive until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load_runtime_report(self, report: Path) -> None:
        """Read ``report`` again; show what changed (open documents at once, unopened files
        through the workspace check)."""
        files, problem = await asyncio.to_thread(self.observed.load, report)
        if problem is not None:
            self.log(problem, types.MessageType.Warning)
        if not files:
            return
        self.workspace_scan.report_changed(report)
        self._republish_observed(files)
        scan = self.workspace_scan
        scan.enqueue(sorted(path for path in scan.files if file_key(path) in files))

    def _republish_observed(self, files: set[str]) -> None:
        """The observed findings of these files (``file_key``) may have changed: publish the
        open ones again from their current analysis (for a pulling client: a refresh)."""
        for uri, snapshot in list(self.documents.texts.items()):
            analysis = self.documents.analyses.get(uri)
            if (
                snapshot.cells is None
                and file_key(snapshot.path) in files
                and analysis is not None
                and self.documents.is_current(uri, analysis)
            ):
                self.publish(uri, analysis)

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
        if self.documents.texts.get(uri) is not snapshot:
            return None
        markdown, span = (hover.markdown, hover.span) if hover is not None else ("", None)
        if target.cells is None:
            confirmed = self._confirmed_here(uri, snapshot, document, position, settings.locale)
            if confirmed is not None:
                note, finding_span = confirmed
                markdown = f"{markdown}\n\n---\n\n{note}" if markdown else note
                span = span or finding_span
        if span is None:
            return None
        hover_range = to_lsp_range(document, span, encoding)
        return types.Hover(
            contents=types.MarkupContent(kind=client.hover_markup(self.client_capabilities), value=markdown),
            range=notebook_cells.to_program_range(-offset, hover_range),
        )

    def _confirmed_here(
        self, uri: str, snapshot: OpenText, document: Document, position: Position, locale: str
    ) -> tuple[str, Span] | None:
        """The note for a static finding under ``position`` that a run's report confirms."""
        analysis = self.documents.analyses.get(uri)
        if not uri.startswith("file:") or analysis is None or analysis.snapshot is not snapshot:
            return None
        for finding in analysis.findings:
            span = finding.span
            if span.contains(position):
                lines = range(span.start.line, span.end.line + 1)
                note = self.observed.confirmation(snapshot.path, document, finding.code, lines, locale)
                if note is not None:
                    return note, span
        return None


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
        (types.NOTEBOOK_DOCUMENT_DID_OPEN, None, server.on_notebook_did_open),
        (types.NOTEBOOK_DOCUMENT_DID_CHANGE, None, notebooks.did_change),
        (types.NOTEBOOK_DOCUMENT_DID_SAVE, None, notebooks.did_save),
        (types.NOTEBOOK_DOCUMENT_DID_CLOSE, None, server.on_notebook_did_close),
        (types.WORKSPACE_DID_CHANGE_CONFIGURATION, None, server.on_did_change_configuration),
        (types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, None, server.on_did_change_workspace_folders),
        (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, None, server.on_did_change_watched_files),
        (types.TEXT_DOCUMENT_CODE_ACTION, code_actions.OPTIONS, server.on_code_action),
        (types.TEXT_DOCUMENT_INLAY_HINT, None, server.on_inlay_hint),
        (types.TEXT_DOCUMENT_HOVER, None, server.on_hover),
        (types.TEXT_DOCUMENT_DIAGNOSTIC, pull.OPTIONS, server.on_document_diagnostic),
        (types.WORKSPACE_DIAGNOSTIC, None, server.on_workspace_diagnostic),
    ]


def create_server() -> TorchmodeServer:
    """A server with every feature registered; each call makes an independent one."""
    server = TorchmodeServer()
    for method, options, handler in _features(server):
        # pygls marks what it registers with attributes, which a bound method cannot carry;
        # a partial can, and pygls still sees through it whether the handler is a coroutine.
        server.feature(method, options)(functools.partial(handler))
    server.command(CHECK_WORKSPACE_COMMAND)(functools.partial(server.on_check_workspace))
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
