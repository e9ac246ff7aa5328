"""When checks run, and which of their results reach the editor.

* Checks are debounced per URI: a new request restarts the URI's timer and drops the
  check the previous timer would have started.
* The engine never runs on the event loop. Checks run in a small thread pool of
  our own (pygls' pool also reads stdin, which a long check must not starve).
* One check per version and settings: a code action that needs the check a keystroke
  started waits for that check instead of starting another.
* A check still running after ``progress_after_seconds`` shows progress in the editor.
* The publish guard: a result is published only if it is still current, that is, of the
  version that is open now, checked with the settings the document has now. A later
  version always wins, whatever order the checks finish in.

The scheduler knows nothing of the server: what to check, what is current, where results
are kept and how they are published are callbacks it is given. It does not need a URI to
be open either: ``analysis`` checks whatever text it is handed, and what counts as current
(or as superseded before it ran) is for the callbacks to say.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.progress import Progress

from torchmode.docs.i18n import text as catalogue_text
from torchmode.engine import Settings
from torchmode.lsp.config import DEFAULT_DEBOUNCE_SECONDS, DEFAULT_PROGRESS_AFTER_SECONDS
from torchmode.lsp.documents import Analysis, OpenText, path_of

# The engine is pure Python and holds the GIL; more threads would not make it
# faster, but two let a small file's check overtake a large file's.
ANALYSIS_WORKERS = 2

# (uri, id of the OpenText, settings); the OpenText stays alive while its check runs.
AnalysisKey = tuple[str, int, Settings]

T = TypeVar("T")


class CheckScheduler:
    """Debounce, in-flight de-duplication, the check pool, progress and the publish guard."""

    def __init__(
        self,
        *,
        prepare: Callable[[str], tuple[OpenText, Settings] | None],
        check: Callable[[str, OpenText, Settings], Analysis],
        cached: Callable[[str, OpenText, Settings], Analysis | None],
        keep: Callable[[str, Analysis], None],
        is_current: Callable[[str, Analysis], bool],
        publish: Callable[[str, Analysis], None],
        report_engine_error: Callable[[str], None],
        progress: Callable[[], Progress | None],
        locale: Callable[[], str],
        log: Callable[[str, types.MessageType], None],
    ) -> None:
        """The callbacks, all called on the event loop but ``check``:

        * ``prepare(uri)``: the text to check when the URI's timer ends, and the settings to
          check it with; None when there is nothing to check (the document was closed).
        * ``check(uri, text, settings)``: runs the engine, in the pool; an exception in the
          engine is an analysis with an ``error``, reported through ``report_engine_error``.
        * ``cached(uri, text, settings)``: a kept analysis of exactly this, if any.
        * ``keep(uri, analysis)``: keep a current analysis (for the requests that follow).
        * ``is_current(uri, analysis)``: the publish guard's question.
        * ``publish(uri, analysis)``: send a current analysis' diagnostics.
        * ``report_engine_error(message)``: the engine failed on a document.
        * ``progress()``: the client's progress reports, None if it shows none.
        * ``locale()``: the language of the progress report.
        * ``log(message, kind)``: a line in the server's log.
        """
        self._prepare = prepare
        self._check = check
        self._cached = cached
        self._keep = keep
        self._is_current = is_current
        self._publish = publish
        self._report_engine_error = report_engine_error
        self._progress = progress
        self._locale = locale
        self._log = log
        self.debounce_seconds = DEFAULT_DEBOUNCE_SECONDS
        self.progress_after_seconds = DEFAULT_PROGRESS_AFTER_SECONDS
        # The debounce task of each URI: waits, checks, publishes.
        self.pending: dict[str, asyncio.Task[None]] = {}
        self._in_flight: dict[AnalysisKey, asyncio.Future[Analysis]] = {}
        # Other engine work for the editor under way (hover, inlay hints, fix-all).
        self._requests_in_pool = 0
        # When the editor last asked for work or got a result (``time.monotonic``): background
        # work waits for a quiet moment after it (``busy``, ``last_activity``).
        self.last_activity = 0.0
        self._executor = ThreadPoolExecutor(
            max_workers=ANALYSIS_WORKERS, thread_name_prefix="torchmode-check"
        )

    # --- debounce ----------------------------------------------------------------------

    def schedule(self, uri: str, *, at_once: bool = False) -> None:
        """(Re)start the debounce timer of ``uri``; the previous timer's check is dropped.

        ``at_once`` skips the wait (nobody is typing: a document just opened, a setting changed).
        """
        self.cancel(uri)
        self.last_activity = time.monotonic()
        delay = 0.0 if at_once else self.debounce_seconds
        task = asyncio.get_running_loop().create_task(self._check_and_publish(uri, delay))
        self.pending[uri] = task
        task.add_done_callback(functools.partial(self._forget_task, uri))

    def cancel(self, uri: str) -> None:
        """Drop the pending check of ``uri``, if any (a check already running ends unpublished)."""
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()

    @property
    def busy(self) -> bool:
        """Work for the open documents is waiting or running: background work must wait."""
        return bool(self.pending or self._in_flight or self._requests_in_pool)

    def shutdown(self) -> None:
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _forget_task(self, uri: str, task: asyncio.Task[None]) -> None:
        if self.pending.get(uri) is task:
            del self.pending[uri]
        if not task.cancelled() and (error := task.exception()) is not None:
            self._log(f"internal error while checking {uri}: {error!r}", types.MessageType.Error)

    async def _check_and_publish(self, uri: str, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        prepared = self._prepare(uri)
        if prepared is None:
            return
        snapshot, settings = prepared
        # Shielded: a newer keystroke cancels this task, but a code action may share the check.
        analysis = await self._with_progress(uri, asyncio.shield(self.analysis(uri, snapshot, settings)))
        if not self._is_current(uri, analysis):
            return  # the newer version's own task publishes
        self._publish(uri, analysis)

    # --- checks ------------------------------------------------------------------------

    def analysis(self, uri: str, snapshot: OpenText, settings: Settings) -> asyncio.Future[Analysis]:
        """The check of this exact version under these settings: kept, already running, or started now.

        Whoever awaits it must ask ``is_current`` before using the result for the editor.
        """
        loop = asyncio.get_running_loop()
        cached = self._cached(uri, snapshot, settings)
        if cached is not None:
            done: asyncio.Future[Analysis] = loop.create_future()
            done.set_result(cached)
            return done
        key = (uri, id(snapshot), settings)
        running = self._in_flight.get(key)
        if running is not None:
            return running
        future = loop.run_in_executor(self._executor, self._check, uri, snapshot, settings)
        self._in_flight[key] = future
        future.add_done_callback(functools.partial(self._check_finished, key))
        return future

    async def in_pool(self, work: Callable[[], T]) -> T:
        """Run other engine work (hover, inlay hints, fixes) in the check pool, off the event loop."""
        self._requests_in_pool += 1
        self.last_activity = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self._requests_in_pool -= 1
            self.last_activity = time.monotonic()

    def _check_finished(self, key: AnalysisKey, future: asyncio.Future[Analysis]) -> None:
        """Runs on the event loop when a check ends: log failures, keep current results."""
        self._in_flight.pop(key, None)
        self.last_activity = time.monotonic()
        if future.cancelled():
            return
        if (error := future.exception()) is not None:
            self._log(f"internal error while checking {key[0]}: {error!r}", types.MessageType.Error)
            return
        analysis = future.result()
        uri = key[0]
        if analysis.error is not None:
            self._report_engine_error(
                f"torchmode failed on {uri} (version {analysis.version}); showing no diagnostics for it:\n"
                f"{analysis.error}"
            )
        if self._is_current(uri, analysis):
            # Failures are kept too, so code actions do not re-run a failing check.
            self._keep(uri, analysis)

    # --- progress ----------------------------------------------------------------------

    async def _with_progress(self, uri: str, check: asyncio.Future[Analysis]) -> Analysis:
        """The check's result; a check still running after ``progress_after_seconds`` (a first
        check that reads many imported files) shows progress in the editor until it ends."""
        done, _ = await asyncio.wait({check}, timeout=self.progress_after_seconds)
        progress = self._progress()
        if done or progress is None:
            return await check
        token = f"torchmode-check-{uuid.uuid4()}"
        try:
            await progress.create_async(token)
        except Exception as error:  # a client that refuses: the check goes on without it
            self._log(f"could not create a progress report: {error!r}", types.MessageType.Warning)
            return await check
        locale = self._locale()
        progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=catalogue_text("progress.title", locale),
                message=catalogue_text("progress.checking", locale, name=Path(path_of(uri)).name),
            ),
        )
        try:
            return await check
        finally:
            progress.end(token, types.WorkDoneProgressEnd())
