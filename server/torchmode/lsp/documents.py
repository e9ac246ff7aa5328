"""The server's open documents: the client's text of each, the latest check of each, and what stays in memory.

Every open URI (a text document, or a notebook as one program) has:

* its ``OpenText``: the client's text at the latest version, replaced (never mutated) on
  every change, so that whoever holds one holds exactly one version;
* a chain of ``Document``\\ s: each version is parsed from the previous one by
  ``syntax.incremental.reparse`` (only the edited top-level statement is parsed again, and
  the analysis reuses what it knew of the others);
* its ``Analysis``: the engine's verdict on the last version that was still current when
  its check ended, kept for code actions, hover and inlay hints;
* its settings, as last resolved.

The workspace's other files are read for the analysis through an ``engine.Workspace``: an
open file's text is the editor's, any other file's the disk's.

Only the documents checked last keep their trees and analyses (``KEPT_ANALYSES``); the
others are slimmed to their text, findings and fixes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from pygls.uris import to_fs_path

from torchmode.engine import CheckResult, Settings, Workspace, read_disk
from torchmode.findings import Finding
from torchmode.lsp.actions import findings_of
from torchmode.lsp.notebook_cells import NotebookCells
from torchmode.syntax import Document
from torchmode.syntax.incremental import reparse
from torchmode.syntax.notebook import NotebookProgram

_log = logging.getLogger(__name__)

# Documents whose parse and analysis stay in memory (the most recently checked ones).
KEPT_ANALYSES = 16


@dataclass(frozen=True)
class OpenText:
    """The client's text of one open document, at one version."""

    version: int
    text: str
    path: str
    # For a notebook (keyed by the notebook's URI): its cells; ``text`` is their program.
    cells: NotebookCells | None = None


@dataclass(frozen=True)
class Analysis:
    """The engine's verdict on one version of a document under one set of settings."""

    # Compared by identity, not by version: a document closed and reopened
    # starts again at version 1 with another text.
    snapshot: OpenText
    settings: Settings
    document: Document
    result: CheckResult | None
    error: str | None = None
    # True when the document changed before the check started, so it never ran.
    superseded: bool = False

    @property
    def version(self) -> int:
        return self.snapshot.version

    @property
    def findings(self) -> tuple[Finding, ...]:
        return findings_of(self.result) if self.result is not None else ()


@dataclass(frozen=True)
class FixedVersion:
    """What fix-all made of one version under one set of settings."""

    snapshot: OpenText
    settings: Settings
    fixed: str | NotebookProgram


def path_of(uri: str) -> str:
    """The file path the engine reports and resolves imports from; the URI itself if not a file."""
    try:
        path = to_fs_path(uri)
    except Exception:
        path = None
    return path or uri


class OpenDocuments:
    """The open documents by URI: texts, settings, the Document chain and the analyses kept;
    and the workspace that reads the other files."""

    def __init__(self) -> None:
        self.texts: dict[str, OpenText] = {}
        # Each document's settings: its pyproject.toml's [tool.torchmode] merged with the
        # editor's. Recomputed before every check (a pyproject edit is seen on the next
        # keystroke) and on watched-file and configuration changes.
        self.settings: dict[str, Settings] = {}
        self.analyses: dict[str, Analysis] = {}
        self.paths: dict[Path, str] = {}  # resolved path -> uri of an open text document
        # The workspace's other files, for calls into them: open documents are read from
        # the editor's text, the rest from disk (only inside the workspace folders).
        self.workspace = Workspace(reader=self._read_for_workspace, live=True)
        # The latest Document built for each open URI: the next version is parsed from it
        # (``next_document``, under the lock: checks run in two threads).
        self._latest_documents: dict[str, Document] = {}
        self._chain_lock = threading.Lock()
        # URIs in the order of their last finished check (see ``_keep_in_memory``).
        self._recently_checked: dict[str, None] = {}
        # Fix-all's result, for the version and settings it was computed for (see ``code_actions``).
        self._fixed: dict[str, FixedVersion] = {}

    def add_root(self, uri: str) -> None:
        """A workspace folder: files inside it may be read for the analysis of open documents."""
        if uri.startswith("file:"):
            self.workspace.add_root(Path(path_of(uri)))

    def _read_for_workspace(self, path: Path) -> str | None:
        """A file the analysis of an open document imports from: the editor's text if it is
        open, else the disk's, and only inside the workspace folders (or beside an open
        document when there are none)."""
        uri = self.paths.get(path)
        snapshot = self.texts.get(uri) if uri is not None else None
        if snapshot is not None:
            return snapshot.text
        allowed = self.workspace.roots or [opened.parent for opened in self.paths]
        if not any(path.is_relative_to(root) for root in allowed):
            return None
        return read_disk(path)

    def file_changed(self, path: Path, text: str | None = None) -> tuple[list[str], list[Path]]:
        """``path`` has a new text (None: back to the disk's): the open documents whose
        analysis read it, each given a new snapshot, to check again; and the other files
        whose analysis read it (the workspace check's, to check again)."""
        stale_uris: list[str] = []
        stale_files: list[Path] = []
        for stale in self.workspace.changed(path, text):
            uri = self.paths.get(stale)
            snapshot = self.texts.get(uri) if uri is not None else None
            if uri is None or snapshot is None:
                stale_files.append(stale)
                continue
            # A new snapshot of the same text: a check already running (or cached) for
            # the old one used the old dependency and will not be published.
            self.texts[uri] = replace(snapshot)
            stale_uris.append(uri)
        return stale_uris, sorted(stale_files)

    def text_of(self, path: Path) -> str | None:
        """Any file's text: the editor's if it is open, else the disk's."""
        uri = self.paths.get(path.resolve())
        snapshot = self.texts.get(uri) if uri is not None else None
        return snapshot.text if snapshot is not None else read_disk(path)

    def close(self, uri: str) -> None:
        """Forget everything about ``uri`` but its path (the caller knows what a closed file's
        path means to the workspace)."""
        self.texts.pop(uri, None)
        self.analyses.pop(uri, None)
        self._recently_checked.pop(uri, None)
        self._latest_documents.pop(uri, None)
        self.settings.pop(uri, None)
        self._fixed.pop(uri, None)

    def is_current(self, uri: str, analysis: Analysis) -> bool:
        """The analysis is of the text open now, under the settings the document has now, and it ran."""
        return (
            not analysis.superseded
            and self.texts.get(uri) is analysis.snapshot
            and analysis.settings == self.settings.get(uri)
        )

    def cached(self, uri: str, snapshot: OpenText, settings: Settings) -> Analysis | None:
        """The kept analysis of exactly this version under these settings, if there is one."""
        cached = self.analyses.get(uri)
        if cached is not None and cached.snapshot is snapshot and cached.settings == settings:
            return cached
        return None

    def document_for(self, uri: str, snapshot: OpenText) -> Document:
        """The checked Document of this version if there is one: it carries the parse already."""
        cached = self.analyses.get(uri)
        if cached is not None and cached.snapshot is snapshot:
            return cached.document
        return Document(snapshot.text, snapshot.path)

    def next_document(self, uri: str, snapshot: OpenText) -> Document | None:
        """This version's Document, parsed from the previous version's where the edit allows
        (only the edited top-level statement is parsed again, and the analysis reuses what
        it knew of the others); None when ``snapshot`` is no longer the open text (a check
        queued behind others while the user kept typing: not worth running).

        Runs in the check pool, where two checks of one document can run at once: a re-check
        because a file it imports changed, and the check of the edit typed next. A version
        parsed from another moves the nodes they share in place (``syntax.incremental``), so
        two versions parsed from the same one, or an older one parsed from the newer, left
        the newer's tree with the other's lines (found in 221 of 400 such pairs). So versions
        join the chain one at a time, and only while they are the open text: the chain only
        ever moves forward.
        """
        with self._chain_lock:
            if self.texts.get(uri) is not snapshot:
                return None
            previous = self._latest_documents.get(uri)
            document = None
            if previous is not None and previous.path == snapshot.path:
                try:
                    document = reparse(previous, snapshot.text)
                except Exception:
                    # A bug of the incremental path must not cost the version its check (nor
                    # its publish): it starts a new chain, parsed in full.
                    _log.exception("incremental parse of %s failed; parsing it in full", uri)
            if document is None:
                # The head of a chain of versions: later ones share its nodes and move them.
                document = Document(snapshot.text, snapshot.path, incremental=True)
            self._latest_documents[uri] = document
            return document

    def keep(self, uri: str, analysis: Analysis) -> None:
        """Keep the analysis of a current version (for code actions, hover and inlay hints)."""
        self.analyses[uri] = analysis
        self._keep_in_memory(uri)

    def _keep_in_memory(self, uri: str) -> None:
        """Keep the trees and analyses of the documents checked last; slim the others.

        A slimmed document keeps its text, findings and fixes (diagnostics and quick fixes
        need nothing else); a hover or an edit there parses and analyses it again, once.
        With a hundred open files this is what keeps the server's memory flat.
        """
        self._recently_checked.pop(uri, None)
        self._recently_checked[uri] = None
        while len(self._recently_checked) > KEPT_ANALYSES:
            oldest = next(iter(self._recently_checked))
            del self._recently_checked[oldest]
            analysis = self.analyses.get(oldest)
            if analysis is not None:
                text = Document(analysis.document.text, analysis.document.path)
                result = replace(analysis.result, document=text) if analysis.result is not None else None
                self.analyses[oldest] = replace(analysis, document=text, result=result)
            self._latest_documents.pop(oldest, None)
            if oldest.startswith("file:"):
                self.workspace.release(Path(path_of(oldest)))

    def fixed(self, uri: str, analysis: Analysis) -> str | NotebookProgram | None:
        """Fix-all's result for the analysed version, if it was computed already."""
        cached = self._fixed.get(uri)
        if (
            cached is not None
            and cached.snapshot is analysis.snapshot
            and cached.settings == analysis.settings
        ):
            return cached.fixed
        return None

    def keep_fixed(self, uri: str, analysis: Analysis, fixed: str | NotebookProgram) -> None:
        self._fixed[uri] = FixedVersion(analysis.snapshot, analysis.settings, fixed)
