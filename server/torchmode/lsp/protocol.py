"""The JSON-RPC protocol of the server: pygls's, less its own copy of every open text.

pygls keeps the text of each open document in its workspace and applies every change to it
before the server's handler runs. torchmode keeps its own (``documents.OpenDocuments``: the
versions its checks and publish guard need) and never reads pygls's, so on a file of
thousands of lines every keystroke applied the same change twice on the event loop, the
thread that answers the editor. The open, change and close notifications of text documents
go straight to torchmode's handlers; everything else (notebooks, workspace folders, the
position encoding) stays pygls's.
"""

from __future__ import annotations

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
