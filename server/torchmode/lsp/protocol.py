"""pygls' language server protocol, less one leak that a long session adds up.

pygls (2.1) files the future of every handler it runs that is not a plain function (a
coroutine, a thread, a generator: all its own handlers of ``didOpen``, ``didChange``,
``didSave``... are generators, and each ``yield``\\ s to ours under a made-up id) in
``_request_futures`` under the message's id, and takes it out again only when the message
was a client's request. A notification's future, and that of every handler a generator
yielded to, stays there for good: one ``Future`` (with its lock and condition) per
keystroke, about 1,200 after 1,200 edits, never freed. This protocol takes every handler's
future out once it is done (a request's after pygls has answered it: its own callback
comes first). A future still running stays, so that ``$/cancelRequest`` still finds it.
"""

from __future__ import annotations

import functools
from typing import Any

from pygls.protocol import LanguageServerProtocol


class TorchmodeProtocol(LanguageServerProtocol):
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
