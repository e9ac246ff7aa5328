"""The JSON-RPC protocol of the server: pygls's, less its own copy of every open text, and
less a leak that a long session adds up.

pygls keeps the text of each open document in its workspace and applies every change to it
before the server's handler runs. torchmode keeps its own (``documents.OpenDocuments``: the
versions its checks and publish guard need) and never reads pygls's, so on a file of
thousands of lines every keystroke applied the same change twice on the event loop, the
thread that answers the editor. The open, change and close notifications of text documents
go straight to torchmode's handlers; everything else (notebooks, workspace folders, the
position encoding) stays pygls's.

pygls (2.1) files the future of every handler it runs that is not a plain function (a
coroutine, a thread, a generator: its handlers of ``didOpen``, ``didChange``, ``didSave``...,
these here too, are generators, and each ``yield``\\ s to ours under a made-up id) in
``_request_futures`` under the message's id, and takes it out again only when the message
was a client's request. A notification's future, and that of every handler a generator
yielded to, stayed there for good: one ``Future`` (with its lock and condition) per
keystroke, 1,221 after 1,200 edits, never freed. Every handler's future is taken out once it
is done (a request's after pygls has answered it: its own callback comes first). A future
still running stays, so that ``$/cancelRequest`` still finds it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from lsprotocol import types
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method

# What a pygls built-in handler yields: the user's handler and its arguments (pygls runs it).
UserHandlerCall = tuple[Callable[..., Any], tuple[Any, ...], None]


class TorchmodeProtocol(LanguageServerProtocol):
    def _user_handler(self, method: str, params: Any) -> Iterator[UserHandlerCall]:
        handler = self.fm.features.get(method)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Iterator[UserHandlerCall]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Iterator[UserHandlerCall]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Iterator[UserHandlerCall]:
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            # Called at once when the handler has finished already.
            future.add_done_callback(functools.partial(self._forget_future, msg_id))

    def _forget_future(self, msg_id: Any, future: Any) -> None:
        # Only this future: the id may be a client's, reused by a later request.
        if self._request_futures.get(msg_id) is future:
            self._request_futures.pop(msg_id, None)
