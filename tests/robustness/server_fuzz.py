"""The server fuzz: random incremental ``didChange`` edits to the real server over stdio.

Shared by tests/robustness/test_server_fuzz.py (bounded, in ``make test``) and
bench/fuzz_server.py (the long run, ``make fuzz``). Positions are computed here, independently
of the server's own conversions: LSP lines end at "\\n", "\\r\\n" or "\\r", columns count UTF-16
code units.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from edits import Replacement, random_edit
from lsp_helpers import RecordingClient, wait_until
from lsprotocol import types

from torchmode.engine import check_document
from torchmode.syntax import Document

REQUEST_TIMEOUT = 60.0
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lsp_lines(text: str) -> list[str]:
    """The document's lines as the LSP counts them, without terminators."""
    return _LINE_BREAK.split(text)


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def lsp_position(text: str, offset: int) -> types.Position:
    """str index -> LSP position (0-based line, UTF-16 column)."""
    line = 0
    line_start = 0
    for match in _LINE_BREAK.finditer(text, 0, offset):
        if match.end() > offset:  # never inside "\r\n": edits.random_edit snaps offsets
            break
        line += 1
        line_start = match.end()
    return types.Position(line=line, character=utf16_length(text[line_start:offset]))


def range_inside(text: str, lines: list[str], span: types.Range) -> bool:
    del text
    for position in (span.start, span.end):
        if not 0 <= position.line < len(lines):
            return False
        if not 0 <= position.character <= utf16_length(lines[position.line]):
            return False
    return (span.start.line, span.start.character) <= (span.end.line, span.end.character)


def expected_diagnostics(text: str, path: str) -> list[tuple[str, str, tuple[int, int, int, int]]]:
    """A from-scratch check of ``text``, in the shape the server publishes (UTF-16 ranges)."""
    document = Document(text, path)
    lines = lsp_lines(text)
    result = []
    for finding in check_document(document).findings:
        start, end = finding.span.start, finding.span.end
        result.append(
            (
                finding.code,
                finding.message,
                (
                    start.line - 1,
                    utf16_length(lines[start.line - 1][: start.column]),
                    end.line - 1,
                    utf16_length(lines[end.line - 1][: end.column]),
                ),
            )
        )
    return sorted(result)


def published_diagnostics(params: types.PublishDiagnosticsParams) -> list[tuple[str, str, tuple[int, ...]]]:
    return sorted(
        (
            str(diagnostic.code),
            diagnostic.message,
            (
                diagnostic.range.start.line,
                diagnostic.range.start.character,
                diagnostic.range.end.line,
                diagnostic.range.end.character,
            ),
        )
        for diagnostic in params.diagnostics
    )


@dataclass
class FuzzFigures:
    files: int = 0
    edits: int = 0
    requests: int = 0
    publishes: int = 0
    violations: list[str] = field(default_factory=list)


async def fuzz_file(
    client: RecordingClient,
    path: Path,
    corpus: list[str],
    rng: random.Random,
    edits: int,
    batch: int,
    figures: FuzzFigures,
) -> None:
    """Open ``path`` (in memory), apply ``edits`` random edits in batches, check every invariant."""
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8")
    texts = {1: text}
    version = 1
    first_publish = len(client.published)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    figures.files += 1
    done = 0
    while done < edits:
        for _ in range(min(batch, edits - done)):
            edit: Replacement = random_edit(text, rng, corpus)
            change = types.TextDocumentContentChangePartial(
                range=types.Range(start=lsp_position(text, edit.start), end=lsp_position(text, edit.end)),
                text=edit.text,
            )
            text = edit.apply(text)
            version += 1
            texts[version] = text
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[change],
                )
            )
            done += 1
        # The server must answer requests between batches, whatever the text looks like now.
        lines = lsp_lines(text)
        line = rng.randrange(len(lines))
        cursor = types.Position(line=line, character=rng.randint(0, utf16_length(lines[line])))
        identifier = types.TextDocumentIdentifier(uri=uri)
        await asyncio.wait_for(
            client.text_document_hover_async(types.HoverParams(text_document=identifier, position=cursor)),
            REQUEST_TIMEOUT,
        )
        await asyncio.wait_for(
            client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=identifier,
                    range=types.Range(start=cursor, end=cursor),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            ),
            REQUEST_TIMEOUT,
        )
        figures.requests += 2
    final = version

    def final_publish() -> types.PublishDiagnosticsParams | None:
        for params in client.published[first_publish:]:
            if params.uri == uri and params.version == final:
                return params
        return None

    published: types.PublishDiagnosticsParams = await wait_until(
        final_publish, f"diagnostics of {uri} v{final}", REQUEST_TIMEOUT
    )
    ours = [params for params in client.published[first_publish:] if params.uri == uri]
    figures.publishes += len(ours)
    last_version = 0
    for params in ours:
        if params.version is None or params.version not in texts:
            figures.violations.append(f"{path.name}: publish for unknown version {params.version}")
            continue
        if params.version < last_version:
            figures.violations.append(f"{path.name}: v{params.version} published after v{last_version}")
        last_version = params.version
        at_version = texts[params.version]
        lines = lsp_lines(at_version)
        for diagnostic in params.diagnostics:
            spans = [diagnostic.range]
            spans += [info.location.range for info in diagnostic.related_information or ()]
            for span in spans:
                if not range_inside(at_version, lines, span):
                    figures.violations.append(
                        f"{path.name} v{params.version}: {diagnostic.code} range {span} outside the document"
                    )
    expected = expected_diagnostics(text, str(path))
    if published_diagnostics(published) != expected:
        figures.violations.append(
            f"{path.name} v{final}: final publish {published_diagnostics(published)} "
            f"!= from-scratch check {expected}"
        )
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    figures.edits += done


def error_logs(client: RecordingClient) -> list[str]:
    """Server log lines of type Error: an exception that reached the log."""
    return [
        message.message
        for message in client.log_messages
        if message.type in (types.MessageType.Error, types.MessageType.Error.value)
    ]
