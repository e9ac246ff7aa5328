"""Pull diagnostics: ``textDocument/diagnostic`` and ``workspace/diagnostic``, with result ids.

How diagnostics reach a client is decided once, from what it declared at ``initialize``
(``Delivery``):

* a client that declares ``textDocument.diagnostic`` (VS Code, Neovim >= 0.10) pulls the
  diagnostics of its open documents and notebook cells; they are never pushed to it;
* one that also declares ``workspace.diagnostics`` (VS Code) pulls those of the workspace's
  other files with ``workspace/diagnostic``; to any other client they are pushed;
* a client that declares neither gets every diagnostic pushed, as before pull existed.

A result id is a digest of the diagnostics themselves: the same diagnostics have the same id
whoever computed them and whenever, so answering "unchanged" needs no bookkeeping of
versions, and a re-check that finds what the last one found costs the client nothing.

A document pull is answered when the check of the version open now has run (the debounce
still applies: the pull waits for it). The server re-checks documents on its own too (a file
they import changed, a setting, a runtime report): when such a check changes what a client
was last answered for a URI and no pull is waiting for it, the server asks the client to
pull again (``workspace/diagnostic/refresh``, coalesced).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from lsprotocol import types
from lsprotocol.converters import get_converter

# The server's identifier of its pull diagnostics (``DiagnosticOptions.identifier``).
IDENTIFIER = "torchmode"
OPTIONS = types.DiagnosticOptions(
    identifier=IDENTIFIER,
    # A file's diagnostics depend on the files it imports: a client re-pulls its other
    # open documents after an edit.
    inter_file_dependencies=True,
    workspace_diagnostics=True,
)
# A refresh asked for within this long after another is sent once.
REFRESH_DELAY_SECONDS = 0.05

_converter = get_converter()


def result_id(diagnostics: Sequence[types.Diagnostic]) -> str:
    """The digest of ``diagnostics``: equal diagnostics, equal ids."""
    data = _converter.unstructure(list(diagnostics), list[types.Diagnostic])
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:24]


EMPTY_RESULT_ID = result_id(())


@dataclass(frozen=True)
class Delivery:
    """Which diagnostics the client pulls; the rest are pushed (``textDocument/publishDiagnostics``)."""

    pull_documents: bool = False
    pull_workspace: bool = False
    # The client takes ``workspace/diagnostic/refresh``.
    refresh: bool = False

    @staticmethod
    def of(capabilities: types.ClientCapabilities) -> Delivery:
        text_document = capabilities.text_document
        documents = text_document is not None and text_document.diagnostic is not None
        workspace = capabilities.workspace
        workspace_diagnostics = workspace.diagnostics if workspace is not None else None
        return Delivery(
            pull_documents=documents,
            # The workspace capability (its refresh support) is what a client that knows
            # workspace pulls declares; one that pulls documents only (Neovim 0.10) does not.
            pull_workspace=documents and workspace_diagnostics is not None,
            refresh=documents
            and workspace_diagnostics is not None
            and bool(workspace_diagnostics.refresh_support),
        )

    @property
    def push_open(self) -> bool:
        """Open documents' diagnostics are pushed."""
        return not self.pull_documents

    @property
    def push_unopened(self) -> bool:
        """The workspace's other files' diagnostics are pushed."""
        return not self.pull_workspace


def document_report(
    diagnostics: Sequence[types.Diagnostic], previous_result_id: str | None
) -> types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport:
    identifier = result_id(diagnostics)
    if previous_result_id == identifier:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=identifier)
    return types.RelatedFullDocumentDiagnosticReport(items=list(diagnostics), result_id=identifier)


class PullState:
    """What each pulled URI was last answered, the pulls waiting for a check, and refreshes.

    Waiters are keyed by the URI that is checked (a notebook's, for a pull on one of its
    cells); answers by the URI that was pulled.
    """

    def __init__(
        self,
        send_refresh: Callable[[], Awaitable[None]],
        log: Callable[[str, types.MessageType], None],
    ) -> None:
        self._send_refresh = send_refresh
        self._log = log
        self.delivery = Delivery()
        self.answered: dict[str, str] = {}
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._answering: Counter[str] = Counter()
        self._refresh: asyncio.TimerHandle | None = None
        self.refreshes_sent = 0

    # --- pulls waiting for a check -------------------------------------------------------

    async def wait(self, uri: str, timeout: float) -> None:
        """Until the next ``checked(uri)``, or ``timeout`` seconds."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(uri, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            waiting = self._waiting.get(uri, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiting.pop(uri, None)

    def checked(self, uri: str) -> None:
        """A current check of ``uri`` was kept: the pulls waiting for it may answer."""
        for future in self._waiting.pop(uri, []):
            if not future.done():
                future.set_result(None)

    @contextmanager
    def answering(self, uri: str) -> Iterator[None]:
        """A pull for ``uri`` is being answered: a change of its diagnostics meanwhile needs no refresh."""
        self._answering[uri] += 1
        try:
            yield
        finally:
            self._answering[uri] -= 1
            if self._answering[uri] <= 0:
                del self._answering[uri]

    def answer(
        self, uri: str, diagnostics: Sequence[types.Diagnostic], previous_result_id: str | None
    ) -> types.RelatedFullDocumentDiagnosticReport | types.RelatedUnchangedDocumentDiagnosticReport:
        report = document_report(diagnostics, previous_result_id)
        if report.result_id is not None:
            self.answered[uri] = report.result_id
        return report

    def forget(self, uri: str) -> None:
        """The client no longer pulls ``uri`` (closed)."""
        self.answered.pop(uri, None)

    # --- changes the client did not ask for ------------------------------------------------

    def changed(self, uri: str, diagnostics: Sequence[types.Diagnostic]) -> None:
        """``uri`` has new diagnostics: ask the client to pull again if it holds others and no
        pull for it is under way."""
        previous = self.answered.get(uri)
        if previous is None or uri in self._answering or previous == result_id(diagnostics):
            return
        self.request_refresh()

    def request_refresh(self) -> None:
        if not self.delivery.refresh or self._refresh is not None:
            return
        loop = asyncio.get_running_loop()
        self._refresh = loop.call_later(REFRESH_DELAY_SECONDS, self._start_refresh)

    def _start_refresh(self) -> None:
        self._refresh = None
        asyncio.get_running_loop().create_task(self._refresh_now())

    async def _refresh_now(self) -> None:
        self.refreshes_sent += 1
        try:
            await self._send_refresh()
        except Exception as error:  # a client that refuses: it pulls on its next edit
            self._log(f"diagnostic refresh failed: {error!r}", types.MessageType.Warning)

    def shutdown(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None
        for waiting in self._waiting.values():
            for future in waiting:
                future.cancel()
        self._waiting.clear()
