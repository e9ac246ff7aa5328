"""A long editing session: every version gets its publish, and nothing piles up in the server.

``bench/long_session.py`` types thousands of edits into documents that import each other.
Two checks of one document then often run at once in the check pool (a re-check because an
imported file changed, and the check of the edit typed next). What went wrong there, each
pinned here in process (the server has no transport; its publishes are recorded):

* a check that had been overtaken still parsed its version from the chain's latest one, and
  moved that one's nodes back to its own lines: the current version was checked on a tree
  of another text;
* two parses at once failed (``SystemError``, CPython's ``ast`` module: see
  ``syntax.document._PARSE_LOCK``), and when that happened in the incremental parse the
  exception left the check with no analysis: the version was never published;
* pygls kept a finished future per notification, for ever.
"""

from __future__ import annotations

import ast
import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from lsp_helpers import started_server
from lsprotocol import types

import torchmode.lsp.documents as documents_module
from torchmode.lsp.documents import OpenDocuments, OpenText
from torchmode.lsp.server import TorchmodeServer
from torchmode.syntax import Document

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py"


def _tree(text: str) -> str:
    return ast.dump(ast.parse(text), include_attributes=True)


def _with_a_line_break(text: str) -> str:
    """Enter at the end of the first line inside a function: everything below moves down."""
    at = text.index(":\n", text.index("\ndef ")) + 1
    return text[:at] + "\n" + text[at:]


def test_a_check_overtaken_by_the_next_version_leaves_its_tree_alone(tmp_path: Path) -> None:
    """The next version was parsed (moving the nodes below the edit in place) before the
    re-check of the old one started: the re-check must not parse the old text from the new
    version, which would move those nodes back and leave the new version's tree with the
    old version's lines."""
    documents = OpenDocuments()
    uri, path = (tmp_path / "train.py").as_uri(), str(tmp_path / "train.py")
    old_text = SEED.read_text(encoding="utf-8")
    old = documents.texts[uri] = OpenText(1, old_text, path)
    first = documents.next_document(uri, old)
    assert first is not None and first.tree is not None
    # A file it imports changed (a new snapshot of the same text, re-checked), then an edit.
    recheck = documents.texts[uri] = replace(old)
    new = documents.texts[uri] = OpenText(2, _with_a_line_break(old_text), path)
    current = documents.next_document(uri, new)
    assert current is not None and current.tree is not None
    assert _tree(new.text) == ast.dump(current.tree, include_attributes=True)
    # The overtaken checks start only now.
    assert documents.next_document(uri, recheck) is None
    assert documents.next_document(uri, old) is None
    assert ast.dump(current.tree, include_attributes=True) == _tree(new.text)
    # And the chain goes on from the current version.
    newer = documents.texts[uri] = OpenText(3, old_text, path)
    following = documents.next_document(uri, newer)
    assert following is not None and following.tree is not None
    assert ast.dump(following.tree, include_attributes=True) == _tree(old_text)


def receive(server: TorchmodeServer, method: str, params: object) -> None:
    """A notification as it comes from the client: through pygls' protocol."""
    message = {"jsonrpc": "2.0", "method": method, "params": server.protocol._converter.unstructure(params)}
    server.protocol.handle_message(server.protocol.structure_message(message))


async def settle(server: TorchmodeServer, uri: str) -> None:
    while (task := server.scheduler.pending.get(uri)) is not None:
        await asyncio.wait_for(task, 30)


def opened(uri: str, text: str) -> types.DidOpenTextDocumentParams:
    return types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    )


def typed(uri: str, version: int, line: int) -> types.DidChangeTextDocumentParams:
    """A comment typed at the start of ``line`` (0-based)."""
    start = types.Position(line=line, character=0)
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(range=types.Range(start=start, end=start), text="#\n")
        ],
    )


async def test_a_version_whose_incremental_parse_fails_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The incremental parse raised (as two parses at once did: ``SystemError``): the version
    is parsed in full and checked, and its diagnostics published, as any other's."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    receive(server, types.TEXT_DOCUMENT_DID_OPEN, opened(uri, SEED.read_text(encoding="utf-8")))
    await settle(server, uri)
    real = documents_module.reparse
    failures = []

    def failing(previous: Document, text: str) -> Document:
        if not failures:
            failures.append(text)
            raise SystemError("AST constructor recursion depth mismatch (before=42, after=32)")
        return real(previous, text)

    monkeypatch.setattr(documents_module, "reparse", failing)
    receive(server, types.TEXT_DOCUMENT_DID_CHANGE, typed(uri, 2, 0))
    await settle(server, uri)
    receive(server, types.TEXT_DOCUMENT_DID_CHANGE, typed(uri, 3, 0))
    await settle(server, uri)
    assert failures, "the incremental parse never ran"
    assert [(item.uri, item.version) for item in published] == [(uri, 1), (uri, 2), (uri, 3)]
    codes = [{diagnostic.code for diagnostic in item.diagnostics} for item in published]
    assert codes[0] == codes[1] == codes[2] and "TM101" in codes[0]


async def test_notifications_leave_no_futures_behind(tmp_path: Path) -> None:
    """pygls files the future of every notification's handler (a generator, yielding to ours)
    and never takes it out: one more object graph per keystroke for the whole session."""
    server, published = started_server(tmp_path)
    uri = (tmp_path / "train.py").as_uri()
    receive(server, types.TEXT_DOCUMENT_DID_OPEN, opened(uri, SEED.read_text(encoding="utf-8")))
    for version in range(2, 32):
        receive(server, types.TEXT_DOCUMENT_DID_CHANGE, typed(uri, version, 0))
        await settle(server, uri)
    assert server.documents.texts[uri].version == 31
    assert published and published[-1].version == 31
    assert server.protocol._request_futures == {}
