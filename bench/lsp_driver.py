"""A small raw JSON-RPC client for the language server over stdio, for timing.

No pygls or pytest-lsp on the client side: a reader thread parses the
``Content-Length`` frames as they arrive and stamps each message with
``time.perf_counter()`` on receipt, so a latency is the server's work plus one
pipe hop, not the client library's. Requests the server makes of the client
(``workspace/configuration``, ``client/registerCapability``,
``window/workDoneProgress/create``...) are answered at once with ``null``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchlib import ROOT, server_environment

SERVER_COMMAND = (sys.executable, "-m", "torchmode.lsp")

CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "publishDiagnostics": {
            "relatedInformation": True,
            "versionSupport": True,
            "codeDescriptionSupport": True,
            "dataSupport": True,
            "tagSupport": {"valueSet": [1, 2]},
        },
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["", "quickfix", "source", "source.fixAll"]}
            },
            "isPreferredSupport": True,
            "dataSupport": True,
        },
    },
    "workspace": {"configuration": False, "workspaceFolders": True},
    "window": {"workDoneProgress": False},
}


DEFAULT_OPTIONS: dict[str, Any] = {"debounceMs": 0, "settings": {"diagnosticMode": "openFilesOnly"}}


@dataclass
class Message:
    received: float
    body: dict[str, Any]


@dataclass
class LspSession:
    """One server (a process, or a thread of this process) and the messages it sent, in order."""

    to_server: IO[bytes]
    from_server: IO[bytes]
    started: float
    process: subprocess.Popen[bytes] | None = None
    thread: threading.Thread | None = None
    inbox: queue.Queue[Message] = field(default_factory=queue.Queue)
    _next_id: int = 0
    _write_lock: threading.Lock = field(default_factory=threading.Lock)
    _responses: dict[int, Message] = field(default_factory=dict)
    _response_ready: threading.Condition = field(default_factory=threading.Condition)
    # Every notification from the server, with its arrival time (the reader appends).
    notifications: list[Message] = field(default_factory=list)
    _notified: threading.Condition = field(default_factory=threading.Condition)
    stderr_lines: list[str] = field(default_factory=list)

    # --- process ----------------------------------------------------------------------

    @classmethod
    def start(cls, command: tuple[str, ...] = SERVER_COMMAND, cwd: Path = ROOT) -> LspSession:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=server_environment(),
        )
        assert process.stdin is not None and process.stdout is not None
        session = cls(process.stdin, process.stdout, started, process=process)
        threading.Thread(target=session._read, daemon=True, name="lsp-reader").start()
        threading.Thread(target=session._drain_stderr, daemon=True, name="lsp-stderr").start()
        return session

    @classmethod
    def in_process(cls) -> LspSession:
        """The server in a thread of this process, over pipes: for profiling it with in-process
        tools (tracemalloc). The thread ends when the server exits."""
        from torchmode.lsp.server import create_server

        started = time.perf_counter()
        client_read, server_write = os.pipe()
        server_read, client_write = os.pipe()
        server_in, server_out = os.fdopen(server_read, "rb"), os.fdopen(server_write, "wb")
        server = create_server()
        thread = threading.Thread(
            target=server.start_io, args=(server_in, server_out), daemon=True, name="lsp-server"
        )
        thread.start()
        session = cls(os.fdopen(client_write, "wb"), os.fdopen(client_read, "rb"), started, thread=thread)
        threading.Thread(target=session._read, daemon=True, name="lsp-reader").start()
        return session

    @property
    def pid(self) -> int:
        return self.process.pid if self.process is not None else os.getpid()

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.thread is not None and self.thread.is_alive()

    def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for raw in self.process.stderr:
            self.stderr_lines.append(raw.decode("utf-8", errors="replace").rstrip())

    def _read(self) -> None:
        stream = self.from_server
        while True:
            body = _read_frame(stream)
            if body is None:
                break
            message = Message(time.perf_counter(), body)
            if "method" in body and "id" in body:
                self._answer_server_request(body)
            elif "method" in body:
                with self._notified:
                    self.notifications.append(message)
                    self._notified.notify_all()
            else:
                with self._response_ready:
                    self._responses[int(body["id"])] = message
                    self._response_ready.notify_all()
        with self._notified:
            self._notified.notify_all()
        with self._response_ready:
            self._response_ready.notify_all()

    def _answer_server_request(self, body: dict[str, Any]) -> None:
        self._send({"jsonrpc": "2.0", "id": body["id"], "result": None})

    def _send(self, payload: dict[str, Any]) -> float:
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        with self._write_lock:
            sent = time.perf_counter()
            self.to_server.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
            self.to_server.flush()
        return sent

    # --- protocol ---------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> float:
        """Send a notification; returns the time it was written."""
        return self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 120.0) -> tuple[Any, float]:
        """Send a request and wait for its response: (result, seconds from send to receipt)."""
        self._next_id += 1
        request_id = self._next_id
        sent = self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        deadline = sent + timeout
        with self._response_ready:
            while request_id not in self._responses:
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not self.alive():
                    raise TimeoutError(f"no response to {method} within {timeout} s{self._stderr_tail()}")
                self._response_ready.wait(remaining)
            message = self._responses.pop(request_id)
        if "error" in message.body:
            raise RuntimeError(f"{method} failed: {message.body['error']}")
        return message.body.get("result"), message.received - sent

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], after: int = 0, timeout: float = 120.0
    ) -> tuple[Message, int]:
        """The first notification at index >= ``after`` that satisfies ``predicate``, and its index."""
        deadline = time.perf_counter() + timeout
        index = after
        with self._notified:
            while True:
                while index < len(self.notifications):
                    message = self.notifications[index]
                    index += 1
                    if predicate(message.body):
                        return message, index
                remaining = deadline - time.perf_counter()
                if remaining <= 0 or not self.alive():
                    raise TimeoutError(f"no matching notification within {timeout} s{self._stderr_tail()}")
                self._notified.wait(remaining)

    def wait_for_diagnostics(
        self, uri: str, version: int | None, after: int = 0, timeout: float = 120.0
    ) -> tuple[Message, int]:
        """The publishDiagnostics of ``uri`` for ``version`` (any version if None)."""

        def matches(body: dict[str, Any]) -> bool:
            if body.get("method") != "textDocument/publishDiagnostics":
                return False
            params = body.get("params") or {}
            return bool(params.get("uri") == uri and (version is None or params.get("version") == version))

        return self.wait_for(matches, after, timeout)

    def _stderr_tail(self) -> str:
        tail = "\n".join(self.stderr_lines[-20:])
        return f"; server stderr:\n{tail}" if tail else ""

    def initialize(
        self,
        options: dict[str, Any] | None = None,
        root: Path = ROOT,
        capabilities: dict[str, Any] | None = None,
    ) -> float:
        """initialize + initialized; returns the seconds the initialize request took.

        The default options measure the open documents alone: no debounce, and no background
        check of the workspace (this checkout); ``workspace_latency.py`` measures that one."""
        params = {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": CAPABILITIES if capabilities is None else capabilities,
            "initializationOptions": DEFAULT_OPTIONS if options is None else options,
            "locale": "en",
        }
        _, elapsed = self.request("initialize", params)
        self.notify("initialized", {})
        return elapsed

    def did_open(self, uri: str, text: str, version: int = 1) -> float:
        document = {"uri": uri, "languageId": "python", "version": version, "text": text}
        return self.notify("textDocument/didOpen", {"textDocument": document})

    def did_change(self, uri: str, version: int, changes: list[dict[str, Any]]) -> float:
        return self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes},
        )

    def did_close(self, uri: str) -> float:
        return self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def close(self, timeout: float = 10.0) -> None:
        """shutdown + exit; kills the process if it does not end in time."""
        try:
            if self.alive():
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
                if self.process is not None:
                    self.process.wait(timeout=timeout)
                elif self.thread is not None:
                    self.to_server.close()
                    self.thread.join(timeout)
        except (TimeoutError, RuntimeError, OSError, subprocess.TimeoutExpired):
            if self.process is not None:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LspSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii", errors="replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    data = stream.read(length)
    if len(data) < length:
        return None
    body: dict[str, Any] = json.loads(data)
    return body


def position_of(text: str, offset: int) -> dict[str, int]:
    """The LSP position (UTF-16 columns) of a code-point offset in ``text``."""
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    column = len(text[start:offset].encode("utf-16-le")) // 2
    return {"line": line, "character": column}


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB, from /proc/<pid>/status."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found
