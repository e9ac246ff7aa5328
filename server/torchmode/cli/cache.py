"""The result cache of ``torchmode check``: a second run over an unchanged tree reads each file's
findings back instead of analysing it again, as ruff's cache does.

What a cached result is valid for (its key):

* the checked file's text;
* its settings (``Settings``, the file's nearest ``[tool.torchmode]`` with the command line on
  top) and what the run looks into besides the file: imports followed or not, the project
  roots and library paths other files are resolved in;
* this torchmode: its version and its own files (path, size, modification time), so an
  edited editable install never serves results of the code before the edit; and the Python
  that parses (its ``ast`` is part of the analysis);
* every other file the file's analysis read (``Workspace.files_read_by``: imported modules,
  the modules those imported, star imports, base classes...), by content. A changed import
  re-checks its importers; a deleted one too.

Not in the key: a *new* file that would change where an import resolves (one that shadows
the module an import found before, or makes an unresolved import resolve) is seen only
once the importer or a file it read changes; ``--no-cache`` (or ``torchmode check`` after
deleting the folder) checks everything again.

Layout: ``<cache-dir>/<context>/<entry>.json``. ``context`` names torchmode and the Python
(a new torchmode gets a folder of its own; folders unused for a week are removed when a new
one is made); ``entry`` hashes the file's absolute path, its settings and the run's search
paths, so runs with other settings keep their own entries. An entry holds the digests it is
valid for and the findings, in JSON (never pickle: a cache folder may come from anywhere,
and reading it must not run code). The folder holds a ``.gitignore`` of ``*`` and a
``CACHEDIR.TAG``.

Two runs may share the folder: an entry is written to a temporary file and moved into place
(``os.replace``), so a reader sees a whole entry or none. An entry that cannot be read (cut
short, edited, from another format) is a miss; one warning per run says so. A folder that
cannot be written is one warning too; the run goes on without caching.

``--fix`` and ``--diff`` never use the cache: they need the fixes computed on the text they
rewrite, one pass after another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torchmode
from torchmode import __version__
from torchmode.engine import Workspace
from torchmode.files.writing import write_atomically
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.settings import Settings
from torchmode.syntax import Position, Span, TextEdit

# Bumped when the layout of an entry changes: older entries are then simply not found.
FORMAT = 1
DEFAULT_FOLDER = ".torchmode_cache"
NO_CACHE_ENVIRONMENT = "TORCHMODE_NO_CACHE"
FOLDER_ENVIRONMENT = "TORCHMODE_CACHE_DIR"
# Context folders (other torchmode versions or sources) not written for this long are removed
# when a new one is made: an editable install makes one per edit of its code.
STALE_CONTEXT_SECONDS = 7 * 24 * 3600

_GITIGNORE = "# Automatically created by torchmode.\n*\n"
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by torchmode.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)

Reader = Callable[[Path], "str | None"]


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _hash(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def source_stamp() -> str:
    """torchmode's version and its own files (path, size, modification time): an edit of an
    editable install makes a new stamp. A ``stat`` per file, a few milliseconds."""
    package = Path(torchmode.__file__).resolve().parent
    stamps: list[str] = []
    for folder, folders, files in os.walk(package):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            try:
                status = os.stat(path)
            except OSError:
                continue
            stamps.append(f"{os.path.relpath(path, package)}:{status.st_size}:{status.st_mtime_ns}")
    return _hash(__version__, *stamps)


def context_key() -> str:
    """What every entry of this torchmode on this Python shares: the name of its folder."""
    return _hash(str(FORMAT), source_stamp(), sys.implementation.cache_tag or "", sys.version)


# --- findings to JSON and back ------------------------------------------------------------


def _span(span: Span) -> list[int]:
    return [span.start.line, span.start.column, span.end.line, span.end.column]


def _read_span(value: Any) -> Span:
    line, column, end_line, end_column = value
    return Span(Position(int(line), int(column)), Position(int(end_line), int(end_column)))


def finding_to_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "span": _span(finding.span),
        "severity": finding.severity.value,
        "related": [[_span(item.span), item.message, item.path] for item in finding.related],
        "fixes": [
            [fix.title, [[_span(edit.span), edit.new_text] for edit in fix.edits], fix.applicability]
            for fix in finding.fixes
        ],
        "url": finding.url,
        "subject": finding.subject,
    }


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def finding_from_json(value: Mapping[str, Any]) -> Finding:
    """The finding ``finding_to_json`` wrote; ``ValueError``/``KeyError``/``TypeError`` if it is not one."""
    fixes: list[Fix] = []
    for title, edits, applicability in value["fixes"]:
        if applicability not in ("safe", "unsafe"):
            raise ValueError(f"unknown applicability {applicability!r}")
        fixes.append(
            Fix(
                _string(title),
                tuple(TextEdit(_read_span(span), _string(text)) for span, text in edits),
                applicability,
            )
        )
    return Finding(
        code=_string(value["code"]),
        name=_string(value["name"]),
        message=_string(value["message"]),
        span=_read_span(value["span"]),
        severity=Severity(value["severity"]),
        related=tuple(
            Related(_read_span(span), _string(message), _string(path))
            for span, message, path in value["related"]
        ),
        fixes=tuple(fixes),
        url=_string(value["url"]),
        subject=_string(value["subject"]),
    )


# --- the cache ------------------------------------------------------------------------------


class DigestReader:
    """A reader of other files that remembers the digest of each text it handed out: what the
    analysis saw of the files it read, for the entries of the files that read them."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.digests: dict[Path, str | None] = {}

    def __call__(self, path: Path) -> str | None:
        text = self.reader(path)
        self.digests[path] = None if text is None else text_digest(text)
        return text

    def digest(self, path: Path) -> str | None:
        """The digest of ``path`` as last read (read now if it never was)."""
        if path not in self.digests:
            self(path)
        return self.digests[path]


class ResultCache:
    """One run's view of the cache folder: ``lookup`` before checking a file, ``store`` after.

    Never raises on a bad folder or entry: problems are reported once through ``warn`` and the
    run goes on as without a cache.
    """

    def __init__(
        self,
        folder: Path,
        context: str,
        search_paths: Sequence[Path],
        follow_imports: bool,
        reader: DigestReader,
        warn: Callable[[str], None],
    ) -> None:
        self.root = folder
        self.folder = folder / context
        # The project's reader: the digests of what the analyses read, and of the files entries
        # name, each read once per run however many entries name it.
        self.reader = reader
        self._search_key = _hash(str(follow_imports), *map(str, search_paths))
        self._warn = warn
        self._read_warned = False
        self._writable: bool | None = None  # None: not tried yet
        self._by_name: dict[str, str | None] = {}
        self.hits = 0
        self.misses = 0
        self.stored = 0

    # -- reading -----------------------------------------------------------------------------

    def _entry_path(self, path: Path, settings: Settings) -> Path:
        return self.folder / f"{_hash(str(path), repr(settings), self._search_key)}.json"

    def lookup(self, path: Path, text: str, settings: Settings) -> tuple[Finding, ...] | None:
        """The cached findings of ``path`` with this text and settings, if every file its
        analysis read is as it was; None otherwise (then check it and ``store``)."""
        path = Path(os.path.abspath(path))
        entry_path = self._entry_path(path, settings)
        try:
            raw = entry_path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # not there (yet)
            self.misses += 1
            return None
        except OSError as error:
            self._unreadable(entry_path, error.strerror or str(error))
            return None
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict) or entry.get("format") != FORMAT:
                raise ValueError("not an entry of this torchmode")
            if entry["path"] != str(path) or entry["settings"] != repr(settings):
                raise ValueError("the entry is for another file or settings")
            valid = entry["text"] == text_digest(text) and all(
                self._digest_of(other) == digest for other, digest in entry["reads"]
            )
            findings = tuple(finding_from_json(item) for item in entry["findings"]) if valid else None
        except (ValueError, KeyError, TypeError) as error:
            self._unreadable(entry_path, str(error) or type(error).__name__)
            return None
        if findings is None:
            self.misses += 1
            return None
        self.hits += 1
        return findings

    def _digest_of(self, name: object) -> str | None:
        """The current digest of the file an entry names; by name, as entries write it (most
        files are named by many entries: no ``Path`` made for each)."""
        name = _string(name)
        if name not in self._by_name:
            self._by_name[name] = self.reader.digest(Path(name))
        return self._by_name[name]

    def _unreadable(self, entry: Path, why: str) -> None:
        self.misses += 1
        if not self._read_warned:
            self._read_warned = True
            # The same words from every ``--jobs`` worker, so that the run says it once.
            self._warn(
                f"the cache in {self.root} has entries that cannot be read (first: {entry.name}); "
                "they are ignored and their files checked"
            )

    # -- writing -----------------------------------------------------------------------------

    def store(
        self,
        path: Path,
        text: str,
        settings: Settings,
        findings: Iterable[Finding],
        workspace: Workspace | None,
    ) -> None:
        """Keep the findings of ``path`` checked with this text and settings, valid while the
        other files its analysis read (in ``workspace``) keep the texts it saw."""
        if not self._ready():
            return
        path = Path(os.path.abspath(path))
        reads: dict[Path, str | None] = {}
        if workspace is not None:
            reads = {other: self.reader.digest(other) for other in workspace.files_read_by(path)}
        entry = {
            "format": FORMAT,
            "path": str(path),
            "settings": repr(settings),
            "text": text_digest(text),
            "reads": sorted([str(dependency), digest] for dependency, digest in reads.items()),
            "findings": [finding_to_json(finding) for finding in findings],
        }
        data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            write_atomically(self._entry_path(path, settings), data)
        except OSError as error:
            self._not_writable(error)
            return
        self.stored += 1

    def _ready(self) -> bool:
        """The folder exists with its ``.gitignore`` and tag (made on the first write)."""
        if self._writable is None:
            try:
                self._make_folder()
                self._writable = True
            except OSError as error:
                self._not_writable(error)
        return bool(self._writable)

    def _not_writable(self, error: OSError) -> None:
        self._writable = False
        why = error.strerror or str(error)
        self._warn(f"cannot write the cache in {self.root} ({why}); results are not cached")

    def _make_folder(self) -> None:
        new_context = not self.folder.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        for name, content in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
            # Made by whichever run comes first; a run that finds one leaves it as it is.
            target = self.root / name
            with contextlib.suppress(FileExistsError), open(target, "x", encoding="utf-8") as handle:
                handle.write(content)
        self.folder.mkdir(exist_ok=True)
        if new_context:
            self._remove_stale_contexts()

    def _remove_stale_contexts(self) -> None:
        """Other contexts' folders (another torchmode, an edit of an editable one) not written
        for a week: no run of this torchmode reads them again."""
        limit = time.time() - STALE_CONTEXT_SECONDS
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.root):
                if (
                    entry.is_dir(follow_symlinks=False)
                    and entry.name != self.folder.name
                    and _is_context_name(entry.name)
                    and entry.stat(follow_symlinks=False).st_mtime < limit
                ):
                    shutil.rmtree(entry.path, ignore_errors=True)


def _is_context_name(name: str) -> bool:
    """Only folders named as this module names them are ever removed."""
    return len(name) == 32 and all(char in "0123456789abcdef" for char in name)


@dataclass(frozen=True)
class CacheSpec:
    """Which cache a run uses: its folder and context, worked out once and handed to each
    ``--jobs`` worker, which opens its own ``ResultCache`` on its own workspace."""

    folder: Path
    context: str

    def open(
        self, workspace: Workspace | None, reader: DigestReader, warn: Callable[[str], None]
    ) -> ResultCache:
        search_paths = [*workspace.roots, *workspace.library_paths] if workspace is not None else []
        return ResultCache(self.folder, self.context, search_paths, workspace is not None, reader, warn)


# --- where the folder is ------------------------------------------------------------------


def cache_enabled(no_cache_option: bool, environment: Mapping[str, str]) -> bool:
    """``--no-cache`` or ``TORCHMODE_NO_CACHE`` (any value but empty, 0, false, no) turn it off."""
    if no_cache_option:
        return False
    value = environment.get(NO_CACHE_ENVIRONMENT, "").strip().lower()
    return value in ("", "0", "false", "no")


def cache_folder(
    option: str | None,
    environment: Mapping[str, str],
    configured: tuple[str | None, Path] | None,
    current: Path,
) -> Path:
    """Where the cache is: ``--cache-dir``, else ``TORCHMODE_CACHE_DIR``, else the configuration's
    ``cache-dir`` (relative to the folder of its pyproject.toml), else ``.torchmode_cache`` in the
    folder of that pyproject.toml, else in the current folder (``configured``: the value and
    the pyproject.toml of the configuration in effect in the current folder)."""
    if option:
        return Path(os.path.abspath(current / os.path.expanduser(option)))
    variable = environment.get(FOLDER_ENVIRONMENT, "")
    if variable:
        return Path(os.path.abspath(current / os.path.expanduser(variable)))
    if configured is not None:
        value, pyproject = configured
        base = pyproject.parent
        return Path(os.path.abspath(base / os.path.expanduser(value or DEFAULT_FOLDER)))
    return Path(os.path.abspath(current / DEFAULT_FOLDER))
