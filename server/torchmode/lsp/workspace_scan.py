"""Workspace diagnostics: every Python file and notebook of the workspace folders, checked in the
background (``torchmode.diagnosticMode``: ``workspace``, the default; ``openFilesOnly`` turns
it off).

* **Which files**: those ``torchmode check`` would check in each workspace folder
  (``torchmode.files.discovery``: default excludes, hidden folders, ``.gitignore`` files, and
  the ``torchmode.exclude`` globs), each with its own settings (its pyproject.toml and the
  editor's), read as the CLI reads them (``torchmode.files.reading``). Open documents are the
  editor's business: the scan skips them and forgets what it had for them.
* **Kept current**: a file created or changed on disk (the editor's file watcher) is checked
  again, and so is every unopened file whose analysis read a file that changed, on disk or in
  the editor (the worker's ``engine.Workspace.changed``). A deleted or newly excluded file loses its
  diagnostics. A changed pyproject.toml re-checks every file, a changed ``.gitignore`` or
  exclude setting discovers them again.
* **It yields to the open documents**: the files are checked in a process of their own
  (``workspace_worker``: an analysis cannot be interrupted, and one file of a large project
  can take seconds), at a lower OS priority, one at a time, and the next one only when no
  check, hover or code action for the editor is waiting or running and the editor has been
  quiet for ``QUIET_SECONDS`` (see bench/workspace_latency.py).
* **Bounded memory**: for an unopened file only its diagnostics are kept, never its tree; its
  parse and analysis are released from the worker's workspace after its check
  (``Workspace.release``), and the workspace's own cache of imported files is bounded. The
  server's process keeps nothing of unopened files but their diagnostics.
* **Progress**: a scan running longer than the progress threshold shows work-done progress
  ("12 of 340 files"), which the user can cancel; the results so far stay.

How the diagnostics reach the client (pushed, or pulled with ``workspace/diagnostic``) is the
server's choice (``pull``); this module calls ``changed(uri, diagnostics)`` for each file whose
diagnostics changed and answers ``report`` for a workspace pull.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.progress import Progress

from torchmode.docs import text as catalogue_text
from torchmode.engine import Settings
from torchmode.files.discovery import DEFAULT_EXCLUDED_DIRS, Discovery, ExcludeGlob, is_checked_file
from torchmode.lsp.coordinates import Encoding
from torchmode.lsp.diagnostics import DiagnosticSupport
from torchmode.lsp.documents import OpenDocuments
from torchmode.lsp.pull import EMPTY_RESULT_ID, result_id
from torchmode.lsp.scheduler import CheckScheduler
from torchmode.lsp.workspace_worker import Checked, WorkerError, WorkerProcess

# The background waits this long after the editor's last edit, check or request.
QUIET_SECONDS = 0.2
# How often a waiting background scan looks again.
POLL_SECONDS = 0.02
# Progress reports at most this often.
PROGRESS_REPORT_SECONDS = 0.25

Report = types.WorkspaceFullDocumentDiagnosticReport | types.WorkspaceUnchangedDocumentDiagnosticReport


@dataclass(frozen=True)
class FileResult:
    """What is kept of an unopened file: its diagnostics, not its tree."""

    uri: str
    diagnostics: tuple[types.Diagnostic, ...]
    result_id: str


@dataclass
class _Run:
    """The files of one scan (a Check Workspace, or the re-checks a change started)."""

    total: int = 0
    done: int = 0
    started: float = 0.0
    token: str | None = None
    last_report: float = 0.0
    cancelled: bool = False


def uri_of(path: Path) -> str:
    return path.as_uri()


class WorkspaceScan:
    """The background check of the workspace's files and what it found (see the module doc)."""

    def __init__(
        self,
        documents: OpenDocuments,
        scheduler: CheckScheduler,
        *,
        settings_for: Callable[[Path], Settings],
        reports: Callable[[], list[Path]],
        changed: Callable[[str, Sequence[types.Diagnostic]], None],
        encoding: Callable[[], Encoding],
        support: Callable[[], DiagnosticSupport],
        progress: Callable[[], Progress | None],
        progress_after: Callable[[], float],
        locale: Callable[[], str],
        log: Callable[[str, types.MessageType], None],
        report_engine_error: Callable[[str], None],
    ) -> None:
        self._documents = documents
        self._scheduler = scheduler
        self._settings_for = settings_for
        self._reports = reports
        self._changed = changed
        self._encoding = encoding
        self._support = support
        self._progress = progress
        self._progress_after = progress_after
        self._locale = locale
        self._log = log
        self._report_engine_error = report_engine_error
        self.enabled = False
        self.excludes: tuple[str, ...] = ()
        # The workspace's files (resolved paths) and what was found in each that has findings.
        self.files: set[Path] = set()
        self.results: dict[Path, FileResult] = {}
        # Files open in the editor (texts and notebooks): the editor checks them.
        self.open: set[Path] = set()
        # URIs whose diagnostics the client may hold although no result stands for them (a
        # file just closed in the editor): told "none" unless a result comes.
        self.held: set[str] = set()
        self._queue: OrderedDict[Path, None] = OrderedDict()
        self._versions: dict[Path, int] = {}
        self._discover = False
        self._task: asyncio.Task[None] | None = None
        self._run = _Run()
        self._idle = asyncio.Event()
        self._idle.set()
        # Bumped on every change of ``results`` or ``held``: a workspace pull waits for it.
        self.generation = 0
        self._generation_waiters: list[asyncio.Future[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # Discovery walks folders on a thread; the engine runs in the worker process.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torchmode-workspace")
        self.worker = WorkerProcess(self._prime_worker, log)
        self.files_checked = 0  # in all, for the log and the tests

    # --- control -----------------------------------------------------------------------------

    def configure(self, enabled: bool, excludes: Sequence[str]) -> None:
        """Apply ``diagnosticMode`` and ``exclude``: start, stop, or discover the files again."""
        excludes = tuple(excludes)
        if not enabled:
            if self.enabled:
                self.disable()
            self.excludes = excludes
            return
        changed = not self.enabled or excludes != self.excludes
        self.enabled = True
        self.excludes = excludes
        if changed:
            self.rescan()

    def rescan(self) -> None:
        """Discover the files again and check every one (Check Workspace, a new folder, a
        changed ``.gitignore`` or exclude setting)."""
        if not self.enabled:
            return
        self._discover = True
        self._start()

    def recheck_all(self) -> None:
        """Check every known file again (a pyproject.toml changed: any file's settings may have)."""
        self.enqueue(sorted(self.files), front=False)

    def disable(self) -> None:
        """``openFilesOnly``: stop, and take back every diagnostic of an unopened file."""
        self.enabled = False
        self._stop_task()
        self.worker.stop()
        self._queue.clear()
        self.files.clear()
        for path in list(self.results):
            self._set_result(path, uri_of(path), ())

    def enqueue(self, paths: Iterable[Path], *, front: bool = True) -> None:
        """Check these files (again), before the others when ``front``; unknown ones are skipped."""
        if not self.enabled:
            return
        added = False
        for path in reversed(list(paths)) if front else paths:
            if path not in self.files or path in self.open:
                continue
            self._versions[path] = self._versions.get(path, 0) + 1
            if path not in self._queue:
                self._run.total += 1
            self._queue[path] = None
            self._queue.move_to_end(path, last=not front)
            added = True
        if added:
            self._start()

    def disk_changed(self, path: Path, deleted: bool) -> None:
        """The editor's file watcher saw ``path`` created, changed or deleted."""
        if not self.enabled or not is_checked_file(path.name):
            return
        if deleted:
            self._forget(path)
            return
        if path not in self.files:
            if not self._included(path):
                return
            self.files.add(path)
        self.enqueue([path])

    def opened(self, path: Path) -> FileResult | None:
        """``path`` is open in the editor now: its checks are the editor's. Returns what the
        scan had for it (without telling the client: the open document's diagnostics replace it)."""
        self.open.add(path)
        self._versions[path] = self._versions.get(path, 0) + 1
        if self._queue.pop(path, "absent") is None:
            self._run.total -= 1
        self.held.discard(uri_of(path))
        result = self.results.pop(path, None)
        if result is not None:
            self._bump()
        return result

    def closed(self, path: Path) -> bool:
        """``path`` was closed in the editor: a workspace file is checked again from disk (the
        client keeps the open document's diagnostics until that result replaces them). False
        when it is not one of the workspace's files."""
        self.open.discard(path)
        if not self.enabled or path not in self.files:
            return False
        self.held.add(uri_of(path))
        self._bump()
        self.enqueue([path])
        return True

    def hold(self, uri: str) -> None:
        """The client may still show diagnostics of ``uri`` that nothing stands for (a document
        closed outside the workspace's files, whose last pulled diagnostics a client keeps):
        the next workspace pull says it has none."""
        self.held.add(uri)
        self._bump()

    def text_changed(self, path: Path, text: str | None) -> None:
        """``path`` has a new text (an open document's; None: back to the disk's, or changed on
        disk): the worker follows it, and its files that read it are checked again."""
        if self.enabled:
            self._spawn(self._text_changed(path, text))

    async def _text_changed(self, path: Path, text: str | None) -> None:
        try:
            stale = await self.worker.request(("text", path, text))
        except WorkerError as error:
            self._log(f"workspace check: {error}", types.MessageType.Warning)
            return
        assert isinstance(stale, list)
        self.enqueue(stale)

    def report_changed(self, report: Path) -> None:
        """A runtime report was read again: so does the worker (the files it names are queued
        by the server)."""
        if self.enabled and self.worker.pid is not None:
            self._spawn(self._request_quietly(("report", report)))

    def roots_changed(self) -> None:
        if self.enabled and self.worker.pid is not None:
            self._spawn(self._request_quietly(("roots", list(self._documents.workspace.roots))))
        self.rescan()

    async def _request_quietly(self, message: tuple[Any, ...]) -> None:
        try:
            await self.worker.request(message)
        except WorkerError as error:
            self._log(f"workspace check: {error}", types.MessageType.Warning)

    def _prime_worker(self) -> list[tuple[Any, ...]]:
        """What a new worker must know: the folders, the open documents' texts, the reports."""
        messages: list[tuple[Any, ...]] = [("roots", list(self._documents.workspace.roots))]
        for path, uri in self._documents.paths.items():
            snapshot = self._documents.texts.get(uri)
            if snapshot is not None and snapshot.cells is None:
                messages.append(("text", path, snapshot.text))
        messages += [("report", report) for report in self._reports()]
        if self.worker.starts > 1:
            # A worker started again after the last one died knows nothing of who imports what:
            # every file is checked again, so later changes reach their importers.
            asyncio.get_running_loop().call_soon(self.recheck_all)
        return messages

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def gitignore_changed(self, path: Path) -> None:
        """A ``.gitignore`` changed: discover the files again, unless it is in a folder the
        walk never enters (``.torchmode/.gitignore``, ``.venv``...)."""
        for root in self._documents.workspace.roots:
            try:
                folders = path.parent.relative_to(root).parts
            except ValueError:
                continue
            if not any(name.startswith(".") or name in DEFAULT_EXCLUDED_DIRS for name in folders):
                self.rescan()
                return

    async def wait_idle(self) -> None:
        await self._idle.wait()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def shutdown(self) -> None:
        self._stop_task()
        self.worker.stop()
        for waiter in self._generation_waiters:
            waiter.cancel()
        self._generation_waiters.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def cancel(self) -> None:
        """The user cancelled the progress report: stop; what was found so far stays."""
        self._run.cancelled = True
        self._discover = False
        self._queue.clear()

    # --- what is known -------------------------------------------------------------------------

    def result_of_uri(self, uri: str) -> FileResult | None:
        for result in self.results.values():
            if result.uri == uri:
                return result
        return None

    def report(self, previous: dict[str, str], open_texts: set[str]) -> tuple[list[Report], bool]:
        """A workspace pull's items: each unopened file with findings (unchanged when the client
        has its result id), and "none" for files the client has diagnostics of that no result
        stands for any more (deleted, excluded, now clean, closed). The flag says whether any
        item is news to the client. Open text documents are the document pulls' business."""
        items: list[Report] = []
        news = False
        reported: set[str] = set()
        for result in self.results.values():
            if result.uri in open_texts:
                continue
            reported.add(result.uri)
            if previous.get(result.uri) == result.result_id:
                items.append(
                    types.WorkspaceUnchangedDocumentDiagnosticReport(
                        uri=result.uri, result_id=result.result_id
                    )
                )
            else:
                news = True
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(
                        uri=result.uri, items=list(result.diagnostics), result_id=result.result_id
                    )
                )
        stale = {uri for uri, value in previous.items() if value != EMPTY_RESULT_ID} | self.held
        for uri in sorted(stale - reported - open_texts):
            news = True
            items.append(
                types.WorkspaceFullDocumentDiagnosticReport(uri=uri, items=[], result_id=EMPTY_RESULT_ID)
            )
        return items, news

    def reported(self, items: Sequence[Report]) -> None:
        """The client got these items: the held URIs among them are settled."""
        self.held.difference_update(item.uri for item in items)

    async def wait_for_change(self, generation: int, timeout: float) -> None:
        """Until ``generation`` is not the current one any more, or ``timeout`` seconds."""
        if self.generation != generation:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._generation_waiters.append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            if future in self._generation_waiters:
                self._generation_waiters.remove(future)

    # --- the background task ----------------------------------------------------------------

    def _start(self) -> None:
        if self.running:
            return
        self._idle.clear()
        self._task = asyncio.get_running_loop().create_task(self._scan())
        self._task.add_done_callback(self._scan_ended)

    def _stop_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._end_progress()
        self._run = _Run()
        self._idle.set()

    def _scan_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            self._log(f"internal error in the workspace check: {error!r}", types.MessageType.Error)
        if self._task is task:
            self._task = None
            self._idle.set()

    async def _scan(self) -> None:
        self._run = _Run(total=len(self._queue), started=time.monotonic())
        try:
            while self._discover or self._queue:
                await self._yield_to_the_editor()
                if self._discover:
                    self._discover = False
                    await self._discover_files()
                    continue
                path, _ = self._queue.popitem(last=False)
                await self._check(path)
                self._run.done += 1
                await self._report_progress()
            if self._run.cancelled:
                self._log(
                    catalogue_text("workspace.cancelled", self._locale(), files=self._run.done),
                    types.MessageType.Info,
                )
        finally:
            self._end_progress()

    async def _yield_to_the_editor(self) -> None:
        """Wait while the editor's own work is waiting or running, and a moment after it."""
        loop = asyncio.get_running_loop()
        while True:
            scheduler = self._scheduler
            quiet_for = time.monotonic() - scheduler.last_activity
            if not scheduler.busy and quiet_for >= QUIET_SECONDS:
                return
            await asyncio.sleep(POLL_SECONDS if scheduler.busy else QUIET_SECONDS - quiet_for)
            if loop.is_closed():
                return

    async def _discover_files(self) -> None:
        roots = list(self._documents.workspace.roots)
        excludes = self.excludes
        found = await asyncio.get_running_loop().run_in_executor(self._executor, self._walk, roots, excludes)
        if not self.enabled:
            return
        for path in self.files - found:
            self._forget(path)
        self.files = found
        self.enqueue(sorted(found), front=False)
        self._log(f"workspace check: {len(found)} files in {len(roots)} folder(s)", types.MessageType.Log)

    def _walk(self, roots: list[Path], excludes: tuple[str, ...]) -> set[Path]:
        found: set[Path] = set()
        for root in roots:
            for path in self._discovery(root, excludes).files([str(root)]):
                found.add(Path(os.path.abspath(path)))
        return found

    def _discovery(self, root: Path, excludes: tuple[str, ...]) -> Discovery:
        log = self._log

        class Problems:
            def error(self, message: str) -> None:
                log(f"workspace check: {message}", types.MessageType.Log)

        return Discovery([ExcludeGlob(glob, root) for glob in excludes], True, Problems())

    def _included(self, path: Path) -> bool:
        return any(
            self._discovery(root, self.excludes).includes(path, root)
            for root in self._documents.workspace.roots
        )

    async def _check(self, path: Path) -> None:
        if path in self.open or path not in self.files:
            return  # opened (the editor checks it) or gone since it was queued
        version = self._versions.get(path, 0)
        settings = self._settings_for(path)
        uri = uri_of(path)
        message = ("check", path, uri, settings, self._encoding(), self._support(), self._locale())
        try:
            checked = await self.worker.request(message)
        except WorkerError as error:
            # The worker failed or died on this file (it is started again for the next one).
            self._log(f"workspace check: {path}: {error}", types.MessageType.Warning)
            return
        assert isinstance(checked, Checked)
        self.files_checked += 1
        if checked.error is not None:
            self._report_engine_error(f"torchmode failed on {path} (workspace check):\n{checked.error}")
        elif checked.problem is not None:
            self._log(f"workspace check: {path}: {checked.problem}", types.MessageType.Log)
        if self._versions.get(path, 0) != version or path not in self.files or path in self.open:
            return  # changed, opened or deleted meanwhile: a newer check (or none) decides
        self._set_result(path, uri, checked.diagnostics)

    # --- results ----------------------------------------------------------------------------

    def _forget(self, path: Path) -> None:
        """Deleted, or no longer one of the workspace's files: its diagnostics go."""
        self.files.discard(path)
        self._versions[path] = self._versions.get(path, 0) + 1
        if self._queue.pop(path, "absent") is None:
            self._run.total -= 1
        if path in self.results or uri_of(path) in self.held:
            self._set_result(path, uri_of(path), ())

    def _set_result(self, path: Path, uri: str, diagnostics: Sequence[types.Diagnostic]) -> None:
        before = self.results.get(path)
        held = uri in self.held
        if diagnostics:
            result = FileResult(uri, tuple(diagnostics), result_id(diagnostics))
            if before is not None and before.result_id == result.result_id and not held:
                return
            self.results[path] = result
        else:
            if before is None and not held:
                return
            self.results.pop(path, None)
        self.held.discard(uri)
        self._bump()
        self._changed(uri, diagnostics)

    def _bump(self) -> None:
        self.generation += 1
        waiters, self._generation_waiters = self._generation_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- progress ---------------------------------------------------------------------------

    async def _report_progress(self) -> None:
        run = self._run
        progress = self._progress()
        if progress is None or run.cancelled:
            return
        now = time.monotonic()
        locale = self._locale()
        total = max(run.total, run.done)
        message = catalogue_text("workspace.progress.message", locale, done=run.done, total=total)
        percentage = int(100 * run.done / total) if total else 100
        if run.token is None:
            if now - run.started < self._progress_after() or not self._queue:
                return
            token = f"torchmode-workspace-{uuid.uuid4()}"
            run.token = token
            try:
                await progress.create_async(token)
            except Exception as error:  # a client that refuses: the scan goes on without it
                self._log(f"could not create a progress report: {error!r}", types.MessageType.Warning)
                return
            if run is not self._run or run.token != token:
                return
            progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title=catalogue_text("workspace.progress.title", locale),
                    message=message,
                    percentage=percentage,
                    cancellable=True,
                ),
            )
            run.last_report = now
            cancelled = progress.tokens.get(token)
            if cancelled is not None:
                cancelled.add_done_callback(lambda future: self.cancel() if future.cancelled() else None)
            return
        if now - run.last_report >= PROGRESS_REPORT_SECONDS:
            run.last_report = now
            progress.report(run.token, types.WorkDoneProgressReport(message=message, percentage=percentage))

    def _end_progress(self) -> None:
        run = self._run
        progress = self._progress()
        if run.token is not None and progress is not None:
            progress.end(run.token, types.WorkDoneProgressEnd())
            progress.tokens.pop(run.token, None)
        run.token = None
