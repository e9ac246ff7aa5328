"""The workspace check's own process: the engine's work on unopened files, off the server's back.

One file of a large project can take the engine seconds to analyse, and an analysis cannot
be interrupted. In the server's process it would hold the interpreter (and the workspace's
lock) while the user types, and the open document's check would wait for it. So the unopened
files are checked in a second process of the same Python, started by the server, at a lower
OS priority (``nice``); the server's own process only ever checks the open documents.

The worker keeps its own ``engine.Workspace`` (the files it read, who read what, released
after each check) and its own copy of the open documents' texts (an unopened file that
imports an open one follows the editor's text); the server tells it what changed and it
answers which of its files are stale. Messages are pickled tuples, one per frame (a 4-byte
length, then the pickle), over the worker's stdin and stdout; every request gets one reply,
in order:

* ``("roots", [Path])`` -> ``None``: the workspace folders (files outside them are not read);
* ``("text", Path, str | None)`` -> ``[Path]``: a file's text changed (an open document's new
  text, or None: back to the disk's, changed, created or deleted on disk); the files whose
  analysis read it;
* ``("check", Path, uri, Settings, Encoding, DiagnosticSupport, locale)`` -> ``Checked``;
* ``("report", Path)`` -> ``str | None``: read a runtime report (again); a problem to log;
* ``("exit",)``: ends the worker.

The worker is started with the server's interpreter, its flags (``-I``...) and its
``sys.path`` (``WorkerProcess``), so it runs the same torchmode and libraries.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import attrs
from lsprotocol import types

from torchmode import engine, gc_tuning
from torchmode.docs import text as catalogue_text
from torchmode.engine import Settings, Workspace, read_disk
from torchmode.files.reading import read_source_text
from torchmode.lsp.actions import findings_of
from torchmode.lsp.coordinates import Encoding
from torchmode.lsp.diagnostics import DiagnosticSupport, to_diagnostic
from torchmode.lsp.observed import ObservedFindings
from torchmode.syntax import Document
from torchmode.syntax.notebook import NotebookProgram

# The worker's share of the CPU when both processes want it: the editor's comes first.
NICENESS = 10
# A worker that keeps dying (it cannot import, a file crashes the interpreter) is started this
# many times in all; after that the workspace check reports the failure and stops.
MAX_STARTS = 5
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Checked:
    """What checking one file gave: its diagnostics, or why it has none."""

    diagnostics: tuple[types.Diagnostic, ...] = ()
    problem: str | None = None  # unreadable, undecodable, or does not parse
    error: str | None = None  # an engine failure (a traceback)
    findings: int = 0


# --- frames --------------------------------------------------------------------------------


def write_frame(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next message; raises EOFError at the end of the stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


# --- the worker's side ---------------------------------------------------------------------


class Worker:
    """The state of the worker process, and its answer to each request."""

    def __init__(self) -> None:
        self.texts: dict[Path, str] = {}  # open documents' editor texts, by resolved path
        self.workspace = Workspace(reader=self._read)
        self.observed = ObservedFindings()

    def _read(self, path: Path) -> str | None:
        """A file an analysis imports from: the editor's text if open, else the disk's, and only
        inside the workspace folders."""
        text = self.texts.get(path)
        if text is not None:
            return text
        if not any(path.is_relative_to(root) for root in self.workspace.roots):
            return None
        return read_disk(path)

    def text_of(self, path: str) -> str | None:
        resolved = Path(path).resolve()
        text = self.texts.get(resolved)
        return text if text is not None else read_disk(resolved)

    def handle(self, message: tuple[Any, ...]) -> object:
        kind = message[0]
        if kind == "roots":
            for root in message[1]:
                self.workspace.add_root(root)
            return None
        if kind == "text":
            path, text = message[1], message[2]
            if text is None:
                self.texts.pop(path, None)
            else:
                self.texts[path] = text
            return sorted(self.workspace.changed(path, text))
        if kind == "check":
            return check_file(self.workspace, self.observed, self.text_of, *message[1:])
        if kind == "report":
            _, problem = self.observed.load(message[1])
            return problem
        raise ValueError(f"unknown request {kind!r}")


def check_file(
    workspace: Workspace,
    observed: ObservedFindings,
    text_of: Callable[[str], str | None],
    path: Path,
    uri: str,
    settings: Settings,
    encoding: Encoding,
    support: DiagnosticSupport,
    locale: str,
) -> Checked:
    """Read, check, make diagnostics (and those of what a run observed), release the tree."""
    read = read_source_text(path)
    if isinstance(read, str):
        return Checked(problem=read)
    document = Document(read.program_text, str(path))
    try:
        # A notebook's messages name its cells' lines.
        cells = read.notebook.program if read.notebook is not None else None
        result = engine.check_document(document, settings, workspace, cells)
        findings = findings_of(result)
        checked = result.document
        diagnostics = [
            to_diagnostic(finding, checked, uri, encoding, support, workspace.document_of)
            for finding in findings
        ]
        if read.notebook is None:
            diagnostics += observed.diagnostics(str(path), checked, settings, encoding, support, text_of)
        else:
            diagnostics = notebook_file_diagnostics(diagnostics, read.notebook.program, locale)
    except Exception:
        return Checked(error=traceback.format_exc())
    finally:
        workspace.release(path)  # keep its diagnostics, not its tree
    problem = result.parse_failure.message if result.parse_failure is not None else None
    return Checked(tuple(diagnostics), problem, findings=len(findings))


def notebook_file_diagnostics(
    diagnostics: Sequence[types.Diagnostic], program: NotebookProgram, locale: str
) -> list[types.Diagnostic]:
    """The diagnostics of a notebook that is not open, on its file: the editor shows a cell's
    diagnostics on the cell, which exists only once the notebook is open, so each one says in
    its message which cell and line it is about, as ``torchmode check`` prints it."""
    result = []
    for diagnostic in diagnostics:
        # "cell 3, line 6: ", as the notebook numbers its cells (the engine's line labels).
        prefix = catalogue_text(
            "workspace.notebook.where", locale, lines=program, line=diagnostic.range.start.line + 1
        )
        related = [
            item
            for item in diagnostic.related_information or ()
            if not item.location.uri.endswith(".ipynb")  # program positions: meaningless in the file
        ]
        top = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
        result.append(
            attrs.evolve(
                diagnostic,
                range=top,
                message=prefix + diagnostic.message,
                related_information=related or None,
            )
        )
    return result


def main() -> None:
    """The worker process: requests from stdin, replies to stdout, until ``exit`` or EOF."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print() must not corrupt the frames
    # Not on every platform: then the same priority, and still one file at a time.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICENESS)
    gc_tuning.tune_process()
    worker = Worker()
    while True:
        try:
            request_id, message = read_frame(requests)
        except EOFError:
            return
        if message[0] == "exit":
            return
        try:
            reply: object = ("ok", worker.handle(message))
        except Exception:
            reply = ("error", traceback.format_exc())
        write_frame(replies, (request_id, reply))


# --- the server's side ---------------------------------------------------------------------


class WorkerError(Exception):
    """The worker failed a request, or is gone."""


class WorkerProcess:
    """The worker, seen from the server: ``await request(message)``; started on first use, and
    again after it died (``prime`` gives the messages that bring a new one up to date)."""

    def __init__(
        self,
        prime: Callable[[], list[tuple[Any, ...]]],
        log: Callable[[str, types.MessageType], None],
    ) -> None:
        self._prime = prime
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._outbox: queue.Queue[tuple[int, tuple[Any, ...]] | None] = queue.Queue()
        self._pending: dict[int, asyncio.Future[object]] = {}
        self._next_id = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        """This interpreter with its flags and ``sys.path``: the same torchmode and libraries."""
        flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
        bootstrap = (
            f"import sys; sys.path[:] = {[entry for entry in sys.path if entry]!r}; "
            "from torchmode.lsp.workspace_worker import main; main()"
        )
        return [sys.executable, *flags, "-c", bootstrap]

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.starts += 1
        process = subprocess.Popen(
            self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, close_fds=True
        )
        self._process = process
        self._outbox = queue.Queue()
        threading.Thread(
            target=self._write, args=(process, self._outbox), daemon=True, name="torchmode-worker-out"
        ).start()
        threading.Thread(target=self._read, args=(process,), daemon=True, name="torchmode-worker-in").start()
        self._log(f"workspace check: worker process {process.pid} started", types.MessageType.Log)
        for message in self._prime():
            self._send(message)

    def _send(self, message: tuple[Any, ...]) -> asyncio.Future[object]:
        assert self._loop is not None
        self._next_id += 1
        future: asyncio.Future[object] = self._loop.create_future()
        self._pending[self._next_id] = future
        self._outbox.put((self._next_id, message))
        return future

    async def request(self, message: tuple[Any, ...]) -> object:
        """The worker's answer to ``message``; ``WorkerError`` if it failed or died."""
        if self._process is None or self._process.poll() is not None:
            if self.starts >= MAX_STARTS:
                raise WorkerError(f"the worker process was started {self.starts} times; not again")
            self._start()
        reply = await self._send(message)
        return reply

    def _write(
        self, process: subprocess.Popen[bytes], outbox: queue.Queue[tuple[int, tuple[Any, ...]] | None]
    ) -> None:
        """A thread of its own: a large text must never block the event loop on a full pipe."""
        stream = process.stdin
        assert stream is not None
        while (item := outbox.get()) is not None:
            try:
                write_frame(stream, item)
            except (OSError, ValueError):
                return

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        stream = process.stdout
        assert stream is not None and self._loop is not None
        loop = self._loop
        while True:
            try:
                request_id, reply = read_frame(stream)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                break
            loop.call_soon_threadsafe(self._resolve, request_id, reply)
        loop.call_soon_threadsafe(self._died, process)

    def _resolve(self, request_id: int, reply: tuple[str, object]) -> None:
        future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return
        status, value = reply
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(WorkerError(str(value)))

    def _died(self, process: subprocess.Popen[bytes]) -> None:
        if process is not self._process:
            return
        code = process.poll()
        if code is None:
            process.kill()
            code = process.wait()
        self._process = None
        if code != 0:
            self._log(
                f"workspace check: worker process {process.pid} exited ({code})", types.MessageType.Warning
            )
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerError(f"the worker process exited ({code})"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        self._outbox.put((0, ("exit",)))
        self._outbox.put(None)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()
