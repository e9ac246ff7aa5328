"""Other files: where an imported name is defined, and one analysis per file and content.

``from engine import evaluate`` in ``train.py``: the analysis of ``train.py`` needs the
summary of ``evaluate``, so it asks the project for the file ``engine.py`` would be
imported from, and for that file's analyzer. Resolution follows Python's import rules
statically (absolute imports against search roots, relative imports against the
importing file's package, ``__init__.py`` re-exports, aliases, star imports) and never
imports or runs anything.

Why not jedi, which the design names: measured here, jedi's first ``goto`` with
``follow_imports`` in a process costs 0.54 s and each later one about 3 ms, and a
jedi inference cannot be interrupted; resolving the few names a mode analysis needs
(functions and classes that get a model, a trainer's base class) is a file lookup and
the ``ast`` parse the analysis needs anyway. Import resolution is all jedi would be
used for.

Each file's analyzer is kept while its text is unchanged. Analyzers record the files
they looked into, so a change to ``engine.py`` drops the analyzers that used it and
tells the server which open files to check again.
"""

from __future__ import annotations

import ast
import logging
import os
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from torchmode.analysis.api_names import BUILTIN_CLASSES, ClassKind, library_class_kind, module_classes
from torchmode.analysis.dataflow import ModuleAnalyzer, real_path
from torchmode.analysis.facts import FileAnalysis, Function
from torchmode.analysis.layers import LayerSensitivity
from torchmode.analysis.names import ImportMap, access_path
from torchmode.syntax import Document
from torchmode.syntax.node_index import node_index

_log = logging.getLogger(__name__)

# Packages whose mode and grad APIs the rules know by name: never worth parsing.
_KNOWN_LIBRARIES = frozenset(
    {
        "torch",
        "torchvision",
        "torchaudio",
        "torchtext",
        "numpy",
        "os",
        "sys",
        "math",
        "typing",
        "collections",
        "functools",
        "itertools",
        "logging",
        "json",
        "re",
        "time",
        "random",
        "pathlib",
        "dataclasses",
        "abc",
        "contextlib",
        "copy",
        "warnings",
        "argparse",
        "tqdm",
        "pandas",
        "matplotlib",
        "sklearn",
        "scipy",
        "PIL",
        "cv2",
        "wandb",
        "tensorboard",
        "yaml",
        "__future__",
    }
)

# Bounds that keep a check fast on any tree: files one project parses for resolution,
# their size, and how many re-exports one name may pass through.
MAX_FILES_PER_CHECK = 200  # new files read while checking one document
MAX_CACHED_FILES = 256  # parsed files kept, least recently used dropped first
MAX_FILE_BYTES = 2_000_000
MAX_REEXPORT_HOPS = 12

Reader = Callable[[Path], "str | None"]


def read_disk(path: Path) -> str | None:
    """A regular file's text, or None when it cannot be read as UTF-8 (it is then not followed)."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Definition:
    """A function or class that a name resolves to, in a file of the project."""

    project: Project
    path: Path
    kind: Literal["function", "class"]
    name: str  # "evaluate", "Trainer"

    @property
    def analyzer(self) -> ModuleAnalyzer | None:
        """The analyzer of the definition's file, built on first use. None when the file has
        left the cache since and this check's budget of new files is spent: unknown."""
        return self.project.analyzer_for(self.path)

    def function_and_analyzer(self) -> tuple[Function, ModuleAnalyzer] | None:
        if self.kind != "function":
            return None
        analyzer = self.analyzer
        function = analyzer.module.nested.get(self.name) if analyzer is not None else None
        if analyzer is None or function is None:
            return None
        return function, analyzer


@dataclass(frozen=True)
class _SearchRoots:
    """Where one folder's absolute imports are looked for, in order (``Project.search_roots``).

    ``all[:own]`` are the folder's own (itself, the folder above its package); the rest
    are the shared roots, those of an importer in no folder, less ``skipped`` (a root
    that is the folder itself has its ``src`` skipped). When the rest is not that,
    ``own`` is ``len(all)``: the folder's roots are searched one by one.
    """

    all: tuple[Path, ...]
    own: int
    skipped: frozenset[Path]


@dataclass
class _Entry:
    """One file as last read: what name lookups need, and its analyzer once one is needed.

    Lookups (``from x import y``, is ``y`` an nn.Module class) never build an analyzer:
    building one looks up the file's own imports, and doing that eagerly would walk
    the whole import graph recursively.
    """

    document: Document
    imports: ImportMap
    functions: frozenset[str]  # top-level defs
    class_bases: dict[str, list[str]]  # top-level classes -> base access paths
    module_classes: frozenset[str]  # classes known here to derive from nn.Module
    analyzer: ModuleAnalyzer | None = None
    building: bool = False


class Project:
    """Search roots, a reader (open editor texts first), and the analyzers of other files.

    Thread-safe: the language server checks two documents at a time, and both may
    resolve into the same file. One re-entrant lock guards the cache and every
    cross-file summary, so an analyzer's caches are only ever filled by one thread.
    """

    def __init__(
        self,
        roots: Iterable[Path] = (),
        reader: Reader = read_disk,
        library_paths: Sequence[Path] = (),
    ) -> None:
        self.roots: list[Path] = []
        self.library_paths = [path.resolve() for path in library_paths]
        self.reader = reader
        self.lock = threading.RLock()
        # Bumped whenever an answer about other files may have changed (a file they read
        # changed, files were created or deleted, the per-check budget cut a lookup short):
        # an analysis that read the project is reused only within one generation.
        self.generation = 0
        self._entries: OrderedDict[Path, _Entry | None] = OrderedDict()
        self._module_class_answers: dict[tuple[Path, str], bool] = {}
        self._class_kinds: dict[tuple[Path, str], ClassKind | None] = {}
        self._sensitivities: dict[tuple[Path, str], bool | None] = {}
        # What exists on disk, looked up once per run (a CLI check asks the same questions
        # from every file of a folder and every folder of a project): each importer
        # folder's search roots and the file a dotted module (leading dots for relative)
        # imports from there; the file a module is in under one folder, and whether a name
        # there is a folder; the first shared root that has a module. Only a file created
        # or deleted can change them: ``changed`` without a text clears them. Nested dicts
        # keyed by str: a tuple key per lookup made hundreds of thousands of objects for
        # the garbage collector to walk on every full collection.
        self._module_files: dict[tuple[Path | None, bool], dict[str, Path | None]] = {}
        self._files_in: dict[Path, dict[str, Path | None]] = {}
        self._folders: dict[Path, dict[str, bool]] = {}
        self._search_roots: dict[tuple[Path | None, bool], _SearchRoots] = {}
        self._shared_files: dict[bool, dict[str, tuple[Path, Path] | None]] = {}
        # Each folder's entries, listed once (``_may_exist``): a lookup in the shared roots
        # asks every root of the CLI (one per checked folder, hundreds on a big tree) for the
        # same names, and almost every answer is "not there".
        self._listings: dict[Path, frozenset[str] | None] = {}
        # Per ``library``: listed name (less ``.py``) -> positions of the shared roots with it,
        # and the positions of the roots that could not be listed.
        self._root_index: dict[bool, tuple[dict[str, list[int]], list[int]]] = {}
        for root in roots:
            self.add_root(root)
        # file -> the files whose analysis used it (their cached analyzers depend on it)
        self._dependents: dict[Path, set[Path]] = {}
        # and the other way: file -> the files its analysis used (``files_read_by``)
        self._uses: dict[Path, set[Path]] = {}
        self.files_parsed = 0  # in all, for tests and statistics
        self._parsed_this_check = 0
        self._budget_logged = False

    # -- roots ----------------------------------------------------------------------------------

    def add_root(self, root: Path) -> None:
        resolved = root.resolve()
        if resolved not in self.roots:
            self.roots.append(resolved)
            self._forget_files()

    def _forget_files(self) -> None:
        """Files were created or deleted, or a root added: what exists is asked again."""
        self.generation += 1
        self._module_files.clear()
        self._files_in.clear()
        self._folders.clear()
        self._search_roots.clear()
        self._shared_files.clear()
        self._listings.clear()
        self._root_index.clear()

    def forget_listings(self) -> None:
        """Folders are listed again when next asked: a file created since is found under a
        module name not looked up before (what was already looked up stays until ``changed``
        names a created or deleted file)."""
        with self.lock:
            self._listings.clear()
            self._root_index.clear()

    def search_roots(self, importer: Path | None, library: bool = False) -> tuple[Path, ...]:
        """Where an absolute import from ``importer`` may be found, first match wins.

        The importer's own folder (as for a script run directly), the folder above its
        top-level package (``src/pkg/train.py`` importing ``pkg.engine``), then the
        project roots and the library paths. Worked out once per folder: every file of
        it has the same ones.
        """
        return self._roots_of(importer.parent if importer is not None else None, library).all

    def _roots_of(self, folder: Path | None, library: bool) -> _SearchRoots:
        key = (folder, library)
        roots = self._search_roots.get(key)
        if roots is None:
            roots = self._search_roots[key] = self._find_search_roots(folder, library)
        return roots

    def _find_search_roots(self, folder: Path | None, library: bool) -> _SearchRoots:
        found: list[Path] = []
        if folder is not None:
            found.append(folder)
            top = folder
            while self._is_package(top) and top.parent != top:
                top = top.parent
            if top != folder:
                found.append(top)
        own = len(found)
        seen = set(found)  # a set: the CLI has a root per checked folder, often a hundred
        for root in self.roots:
            if root not in seen:
                found.append(root)
                seen.add(root)
                src = root / "src"
                if self._is_folder(root, "src"):
                    found.append(src)
                    seen.add(src)
        for path in self.library_paths if library else ():
            if path not in seen:
                found.append(path)
                seen.add(path)
        if folder is None:
            return _SearchRoots(tuple(found), 0, frozenset())
        # The roots after the importer's own ones are the shared ones (those of no importer)
        # less some: when they are, one lookup in the shared roots serves every folder.
        shared = self._roots_of(None, library).all
        rest = found[own:]
        skipped = frozenset(root for root in shared if root not in seen)
        if rest != [root for root in shared if root not in skipped and root not in found[:own]]:
            return _SearchRoots(tuple(found), len(found), frozenset())
        return _SearchRoots(tuple(found), own, skipped)

    # -- modules to files -----------------------------------------------------------------------

    def module_file(
        self, module: str, importer: Path | None, level: int = 0, library: bool = False
    ) -> Path | None:
        """The file ``import module`` (with ``level`` leading dots) reads, or None."""
        if not module and level == 0:
            return None
        if level == 0 and module.split(".", 1)[0] in _KNOWN_LIBRARIES:
            return None
        folder = importer.parent if importer is not None else None
        known = self._module_files.get((folder, library))
        if known is None:
            known = self._module_files[(folder, library)] = {}
        dotted = f"{'.' * level}{module}" if level else module
        if dotted in known:
            return known[dotted]
        found: Path | None = None
        if level > 0:
            if importer is not None:
                base = importer.parent
                for _ in range(level - 1):
                    base = base.parent
                found = self._file_in(base, module)
        else:
            roots = self._roots_of(folder, library)
            for root in roots.all[: roots.own]:
                found = self._file_in(root, module)
                if found is not None:
                    break
            else:
                shared = self._shared_module_file(module, library)
                if shared is not None and shared[0] not in roots.skipped:
                    found = shared[1]
                elif shared is not None:
                    # Found only where this importer does not look: look where it does.
                    for root in roots.all[roots.own :]:
                        found = self._file_in(root, module)
                        if found is not None:
                            break
        known[dotted] = found
        return found

    def _shared_module_file(self, module: str, library: bool) -> tuple[Path, Path] | None:
        """The first of the shared search roots (the project roots, their ``src`` folders and
        with ``library`` the library paths) that has ``module``, and its file."""
        known = self._shared_files.setdefault(library, {})
        if module in known:
            return known[module]
        found: tuple[Path, Path] | None = None
        roots = self._roots_of(None, library).all
        top = module.partition(".")[0]
        for position in self._roots_with(library, top):
            root = roots[position]
            file = self._file_in(root, module)
            if file is not None:
                found = (root, file)
                break
        known[module] = found
        return found

    def _roots_with(self, library: bool, top: str) -> list[int]:
        """The positions of the shared roots where a module whose first part is ``top`` may be:
        those with an entry ``top`` or ``top.py``, and those that cannot be listed, in order.
        The others cannot have it, and with a root per checked folder they are most."""
        index = self._root_index.get(library)
        if index is None:
            index = self._root_index[library] = ({}, [])
            names, unlisted = index
            for position, root in enumerate(self._roots_of(None, library).all):
                entries = self._listing(root)
                if entries is None:
                    unlisted.append(position)
                    continue
                for entry in entries:
                    positions = names.setdefault(entry[:-3] if entry.endswith(".py") else entry, [])
                    if not positions or positions[-1] != position:  # ``x`` and ``x.py``: once
                        positions.append(position)
        names, unlisted = index
        found = names.get(_name_key(top), [])
        if not unlisted:
            return found
        return sorted({*found, *unlisted})

    def _file_in(self, base: Path, module: str) -> Path | None:
        """``_file_in`` asked once per run: the roots are the same for most importers, and
        most names looked up (``utils.foo``, ``np.bar``) are under no project folder."""
        known = self._files_in.get(base)
        if known is None:
            known = self._files_in[base] = {}
        if module in known:
            return known[module]
        top, dot, _ = module.partition(".")
        found: Path | None = None
        # ``a.b.c`` can only be a file under ``base/a``: one probe of that folder answers
        # every module under it that is not there.
        if not dot or self._is_folder(base, top):
            found = self._find_file(base, module)
        known[module] = found
        return found

    def _is_folder(self, base: Path, name: str) -> bool:
        known = self._folders.get(base)
        if known is None:
            known = self._folders[base] = {}
        answer = known.get(name)
        if answer is None:
            answer = known[name] = self._may_exist(base, name) and (base / name).is_dir()
        return answer

    def _is_package(self, folder: Path) -> bool:
        return self._may_exist(folder, "__init__.py") and (folder / "__init__.py").exists()

    def _find_file(self, base: Path, module: str) -> Path | None:
        """``_file_in`` (the module-level one, which stats) with each probe first looked up in
        its folder's listing: the same answers, without a ``stat`` for what is not there."""
        parts = module.split(".") if module else []
        folder = base
        for part in parts[:-1]:
            if not self._may_exist(folder, part):
                return None
            folder = folder / part
        if parts:
            name = parts[-1]
            if self._may_exist(folder, name + ".py"):
                candidate = folder / (name + ".py")
                if candidate.is_file():
                    return candidate
            if not self._may_exist(folder, name):
                return None
            folder = folder / name
        if self._may_exist(folder, "__init__.py"):
            package = folder / "__init__.py"
            if package.is_file():
                return package
        return None

    def _may_exist(self, folder: Path, name: str) -> bool:
        """False when ``folder`` has no entry ``name``: then no path through it exists. True
        when it may (the caller checks the file system), also when the folder cannot be listed.

        Names compare case- and normalization-blind, so that on a file system that ignores
        case (or Unicode normalization) every name that a ``stat`` would find still passes.
        """
        entries = self._listing(folder)
        return entries is None or _name_key(name) in entries

    def _listing(self, folder: Path) -> frozenset[str] | None:
        """The names in ``folder`` (``_name_key``), listed once; None if it cannot be listed."""
        if folder not in self._listings:
            try:
                entries: frozenset[str] | None = frozenset(map(_name_key, os.listdir(folder)))
            except (FileNotFoundError, NotADirectoryError):
                entries = frozenset()  # nothing below a folder that is not there
            except (OSError, ValueError):
                entries = None  # unreadable: ask the file system about each name
            self._listings[folder] = entries
        return self._listings[folder]

    # -- analyzers ------------------------------------------------------------------------------

    def analyzer_for(self, path: Path, dependent: Path | None = None) -> ModuleAnalyzer | None:
        """The analyzer of ``path`` as the reader gives it now, built once per content."""

        with self.lock:
            entry = self._entry(path if path.is_absolute() else path.resolve(), dependent)
            if entry is None:
                return None
            return self._analyzer_of(entry)

    def star_aliases(self, importer: Path, imports: ImportMap, depth: int = 0) -> dict[str, str]:
        """The import aliases the ``from x import *`` of a file bring in (through further star
        imports too, bounded): ``torch`` when a helpers module does ``import torch``."""
        with self.lock:
            return self._star_aliases(importer, imports, depth, {})

    def _star_aliases(
        self, importer: Path, imports: ImportMap, depth: int, known: dict[tuple[Path, int], dict[str, str]]
    ) -> dict[str, str]:
        # ``known``: the answer for each (file, depth) met during one question. Packages whose
        # modules star-import each other (fastai's) reach the same files along many paths; asked
        # again each time, one question took tens of thousands of calls. Nothing the answer
        # reads changes while it is computed, so a repeat is the same answer.
        found: dict[str, str] = {}
        if depth > MAX_REEXPORT_HOPS:
            return found
        for level, module in imports.star_imports:
            file = self.module_file(module, importer, level)
            entry = self._entry(file, dependent=importer) if file is not None else None
            if entry is None or file is None:
                continue
            for name, target in entry.imports.aliases.items():
                found.setdefault(name, target)
            below = known.get((file, depth + 1))
            if below is None:
                below = known[(file, depth + 1)] = self._star_aliases(file, entry.imports, depth + 1, known)
            for name, target in below.items():
                found.setdefault(name, target)
        return found

    def _analyzer_of(self, entry: _Entry) -> ModuleAnalyzer | None:
        """The entry's analyzer, built on first use from the parse and index it has. None while
        it is being built: building one file's analyzer may ask about another's, which may ask
        about the first (a cycle of imports), and then the answer is unknown."""
        if entry.analyzer is None:
            if entry.building:
                return None
            tree = entry.document.tree
            assert tree is not None
            entry.building = True
            try:
                entry.analyzer = ModuleAnalyzer(
                    entry.document,
                    tree,
                    project=self,
                    imports=entry.imports,
                    module_classes=entry.module_classes,
                )
            finally:
                entry.building = False
        return entry.analyzer

    def _entry(self, path: Path, dependent: Path | None = None) -> _Entry | None:
        """The parsed file, read once per content; None if unreadable, unparsable or over budget.

        Paths are absolute and under resolved roots already (``resolve()`` on every
        lookup was a tenth of a whole check).
        """
        with self.lock:
            if dependent is not None and dependent != path:
                self._dependents.setdefault(path, set()).add(dependent)
                self._uses.setdefault(dependent, set()).add(path)
            if path in self._entries:
                self._entries.move_to_end(path)
                return self._entries[path]
            if self._parsed_this_check >= MAX_FILES_PER_CHECK:
                self.generation += 1  # an answer cut short now may be found on the next check
                if not self._budget_logged:
                    self._budget_logged = True
                    _log.info(
                        "cross-file budget of %d files per check reached; further imports are unknown",
                        MAX_FILES_PER_CHECK,
                    )
                return None
            text = self.reader(path)
            if text is None:
                return None
            self.files_parsed += 1
            self._parsed_this_check += 1
            document = Document(text, str(path))
            tree = document.tree
            entry = None if tree is None else _summarize_file(document, tree)
            self._entries[path] = entry
            while len(self._entries) > MAX_CACHED_FILES:
                self._entries.popitem(last=False)
            return entry

    def begin_check(self) -> None:
        """A new document is being checked: its budget of new files starts again."""
        with self.lock:
            self._parsed_this_check = 0

    def is_module_class(self, path: Path, class_name: str, depth: int = 0) -> bool:
        """Does class ``class_name`` of file ``path`` derive from nn.Module, through bases in
        this file or imported from others (any number of levels, bounded)?"""
        with self.lock:
            key = (path, class_name)
            known = self._module_class_answers.get(key)
            if known is not None:
                return known
            entry = self._entry(path)
            if entry is None or depth > MAX_REEXPORT_HOPS:
                return False
            self._module_class_answers[key] = False  # a cycle of bases ends here
            found = class_name in entry.module_classes
            for base in entry.class_bases.get(class_name, []) if not found else []:
                if base in entry.class_bases:
                    found = self.is_module_class(path, base, depth + 1)
                else:
                    definition = self._resolve_in(entry, path, base)
                    found = (
                        definition is not None
                        and definition.kind == "class"
                        and self.is_module_class(definition.path, definition.name, depth + 1)
                    )
                if found:
                    break
            self._module_class_answers[key] = found
            return found

    def class_kind(self, path: Path, class_name: str, depth: int = 0) -> ClassKind | None:
        """What class ``class_name`` of file ``path`` is: an nn.Module subclass, a class known
        not to be one (every base is known and none is a module), or unknown (None)."""
        with self.lock:
            if self.is_module_class(path, class_name):
                return "module"
            key = (path, class_name)
            if key in self._class_kinds:
                return self._class_kinds[key]
            entry = self._entry(path)
            if entry is None or depth > MAX_REEXPORT_HOPS or class_name not in entry.class_bases:
                return None
            self._class_kinds[key] = None  # a cycle of bases: unknown
            kinds = [self._base_kind(entry, path, base, depth) for base in entry.class_bases[class_name]]
            kind: ClassKind | None = "other" if all(found == "other" for found in kinds) else None
            self._class_kinds[key] = kind
            return kind

    def _base_kind(self, entry: _Entry, path: Path, base: str, depth: int) -> ClassKind | None:
        if base in entry.class_bases:
            return self.class_kind(path, base, depth + 1)
        if base in BUILTIN_CLASSES:
            return "other"
        target = entry.imports.import_target(base)
        if target is not None and target[0] == 0:
            known = library_class_kind(target[1])
            if known is not None:
                return known
        definition = self._resolve_in(entry, path, base)
        if definition is None or definition.kind != "class":
            return None
        return self.class_kind(definition.path, definition.name, depth + 1)

    def changed(self, path: Path, text: str | None = None) -> set[Path]:
        """Forget ``path`` if its text differs from what was analyzed; returns every file whose
        analysis used it, directly or through others (their results may be stale now)."""
        path = path.resolve()
        with self.lock:
            if text is None:
                # Created, deleted, or closed in the editor (back to the disk): a new file may
                # now shadow another, or a deleted one stop resolving. Before the early return
                # below: a new file was never read, yet lookups may have cached its absence.
                # A new text of an existing file changes nothing of which files exist, and
                # the language server says so on every keystroke: the lookups are kept.
                self._forget_files()
            entry = self._entries.get(path)
            # Compared as strings, not hashed: lengths differ after almost every keystroke.
            if entry is not None and text is not None and entry.document.text == text:
                return set()
            if path not in self._entries and path not in self._dependents:
                return set()  # never read: nothing can be stale
            stale: set[Path] = set()
            pending = [path]
            while pending:
                current = pending.pop()
                if current in stale:
                    continue
                stale.add(current)
                pending.extend(self._dependents.get(current, ()))
            for file in stale:
                self._entries.pop(file, None)
            self._module_class_answers.clear()
            self._class_kinds.clear()
            self._sensitivities.clear()
            stale.discard(path)
            if stale:
                self.generation += 1
            return stale

    def files_read_by(self, path: Path) -> set[Path]:
        """Every other file the analysis of ``path`` used, directly or through the analyses of
        the files it used (what a result computed for ``path`` depends on besides its text).
        Files looked for and not readable are among them: their reading may change."""
        path = path.resolve()
        with self.lock:
            found: set[Path] = set()
            pending = list(self._uses.get(path, ()))
            while pending:
                current = pending.pop()
                if current in found:
                    continue
                found.add(current)
                pending.extend(self._uses.get(current, ()))
            found.discard(path)
            return found

    def release(self, path: Path) -> None:
        """Drop ``path``'s parse and analysis to save memory; its text did not change, so
        nothing that read it is stale (a later lookup reads and parses it again)."""
        with self.lock:
            self._entries.pop(path.resolve(), None)

    def analyzer_for_document(self, path: Path, document: Document) -> ModuleAnalyzer | None:
        """The analyzer of a document being checked, kept as the project's entry for ``path``
        (its cached one when the text is the same)."""

        with self.lock:
            entry = self._entries.get(path)
            if entry is None or entry.document.text != document.text:
                tree = document.tree
                if tree is None:
                    return None
                entry = _summarize_file(document, tree)
                self._entries[path] = entry
                while len(self._entries) > MAX_CACHED_FILES:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(path)
            return self._analyzer_of(entry)

    def shared_document(self, document: Document) -> Document:
        """The project's parsed copy of ``document`` if it has one with the same text (an
        earlier check imported from it): one parse serves both."""
        path = Path(document.path) if document.path and not document.path.startswith("<") else None
        if path is None or not path.is_absolute():
            return document
        with self.lock:
            entry = self._entries.get(path)
            if entry is not None and entry.document.text == document.text:
                return entry.document
        return document

    def class_sensitivity(
        self, importer: Path, imports: ImportMap, local_name: str, depth: int = 0
    ) -> bool | None:
        """Can a wrong mode change what an imported model class computes? (see ``layers``)"""
        with self.lock:
            target = imports.import_target(local_name)
            if target is None or depth > MAX_REEXPORT_HOPS:
                return None
            level, dotted = target
            definition = self._resolve_dotted(dotted, level, importer, hops=0)
            if definition is None or definition.kind != "class":
                return None
            key = (definition.path, definition.name)
            if key in self._sensitivities:
                return self._sensitivities[key]
            self._sensitivities[key] = None  # a cycle of imports: unknown, not a loop
            entry = self._entry(definition.path)
            if entry is None or entry.document.tree is None:
                return None
            path = definition.path
            sensitivity = LayerSensitivity(
                entry.document.tree,
                entry.imports,
                frozenset(entry.class_bases),
                lambda name: self.class_sensitivity(path, entry.imports, name, depth + 1),
            ).of_class(definition.name)
            self._sensitivities[key] = sensitivity
            return sensitivity

    def document_of(self, path: str) -> Document | None:
        """The text of another file as it was analysed (for ranges of places in it)."""
        with self.lock:
            entry = self._entries.get(Path(path))
            return entry.document if entry is not None else None

    # -- names to definitions -------------------------------------------------------------------

    def resolve(
        self, importer: Path, imports: ImportMap, local_name: str, library: bool = False
    ) -> Definition | None:
        """The function or class a name imported into the file ``importer`` refers to.

        ``local_name`` is a dotted access path: ``evaluate`` (``from engine import
        evaluate``), ``engine.evaluate`` (``import engine``), ``E.Trainer``.
        """
        target = imports.import_target(local_name)
        if target is None:
            return None
        level, dotted = target
        with self.lock:
            return self._resolve_dotted(dotted, level, importer, hops=0, library=library)

    def _resolve_in(self, entry: _Entry, path: Path, local_name: str) -> Definition | None:
        target = entry.imports.import_target(local_name)
        if target is None:
            return None
        level, dotted = target
        return self._resolve_dotted(dotted, level, path, hops=0)

    def _resolve_dotted(
        self, dotted: str, level: int, importer: Path, hops: int, library: bool = False
    ) -> Definition | None:
        if hops > MAX_REEXPORT_HOPS:
            return None
        parts = dotted.split(".") if dotted else []
        # The longest prefix that is a module; the rest are names inside it.
        for split in range(len(parts), -1, -1):
            module = ".".join(parts[:split])
            if split == 0 and level == 0:
                return None
            file = self.module_file(module, importer, level, library)
            if file is None:
                continue
            rest = parts[split:]
            if not rest:
                return None  # a module itself, not a function or class
            return self._lookup(file, rest, importer, hops, library)
        return None

    def _lookup(
        self, file: Path, names: list[str], importer: Path, hops: int, library: bool = False
    ) -> Definition | None:
        if hops > MAX_REEXPORT_HOPS:
            return None  # a cycle of re-exports (``from pkg import *`` both ways)
        entry = self._entry(file, dependent=importer)
        if entry is None:
            return None
        first, rest = names[0], names[1:]
        if first in entry.functions and not rest:
            return Definition(self, file, "function", first)
        if first in entry.class_bases:
            if not rest:
                return Definition(self, file, "class", first)
            return None  # a method through the class (``Trainer.fit``) is not a plain call
        # Re-exported: ``from .core import evaluate`` in a package's ``__init__.py``.
        target = entry.imports.import_target(first)
        if target is not None:
            level, dotted = target
            dotted = ".".join([dotted, *rest]) if dotted else ".".join(rest)
            return self._resolve_dotted(dotted, level, file, hops + 1, library)
        # A submodule of a package: ``import pkg`` then ``pkg.engine.evaluate``.
        if file.name == "__init__.py" and rest:
            sub = self._file_in(file.parent, first)
            if sub is not None:
                return self._lookup(sub, rest, importer, hops + 1, library)
        for level, module in entry.imports.star_imports:
            star_file = self.module_file(module, file, level, library)
            if star_file is not None and star_file != file:
                found = self._lookup(star_file, names, importer, hops + 1, library)
                if found is not None:
                    return found
        return None


def _summarize_file(document: Document, tree: ast.Module) -> _Entry:
    # The imports and classes from the node index, in source order: no walk of the tree.
    index = node_index(document)
    if index is not None and index.tree is tree:
        imports = ImportMap(tree, index.statements_of_type(ast.Import, ast.ImportFrom))
        classes: list[ast.stmt] | None = index.statements_of_type(ast.ClassDef)
    else:
        imports, classes = ImportMap(tree), None
    functions: set[str] = set()
    class_bases: dict[str, list[str]] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.add(statement.name)
        elif isinstance(statement, ast.ClassDef):
            class_bases[statement.name] = [
                base for base in map(access_path, statement.bases) if base is not None
            ]
    return _Entry(
        document, imports, frozenset(functions), class_bases, module_classes(tree, imports, classes)
    )


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _file_in(base: Path, module: str) -> Path | None:
    """``base/a/b.py`` or ``base/a/b/__init__.py`` for module ``a.b`` (``base/__init__.py`` for "")."""
    folder = base.joinpath(*module.split(".")) if module else base
    if module:
        candidate = folder.with_name(folder.name + ".py")
        if candidate.is_file():
            return candidate
    package = folder / "__init__.py"
    if package.is_file():
        return package
    return None


def project_for_paths(
    paths: Iterable[Path], library_paths: Sequence[Path] = (), reader: Reader = read_disk
) -> Project:
    """The CLI's project: each checked path's own project root (pyproject.toml, setup.py or
    .git above it), else the path's folder; installed packages under ``library_paths``."""
    roots: dict[Path, None] = {}  # in order, each once
    found: dict[Path, Path] = {}  # folder -> its root: files of one folder share it
    markers: dict[Path, Path | None] = {}  # folder -> find_project_root of it, for its subfolders
    for path in paths:
        start = path if path.is_dir() else path.parent
        root = found.get(start)
        if root is None:
            root = found[start] = find_project_root(start, markers) or start
        roots[root] = None
    return Project(roots, reader, library_paths)


def interpreter_library_paths() -> list[Path]:
    """This interpreter's site-packages: where the checked project's dependencies are installed
    when the CLI runs in its environment (CI, pre-commit with ``language: system``)."""
    import sysconfig

    found: list[Path] = []
    for key in ("purelib", "platlib"):
        folder = Path(sysconfig.get_paths()[key])
        if folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def find_project_root(start: Path, known: dict[Path, Path | None] | None = None) -> Path | None:
    """The first folder at or above ``start`` with a pyproject.toml, setup.py, setup.cfg or .git.
    ``known``: answers for folders already asked about (the folders of a tree share parents)."""
    current = start.resolve()
    walked: list[Path] = []
    found: Path | None = None
    for folder in (current, *current.parents):
        if known is not None and folder in known:
            found = known[folder]
            break
        walked.append(folder)
        if any((folder / marker).exists() for marker in ("pyproject.toml", "setup.py", "setup.cfg", ".git")):
            found = folder
            break
    if known is not None:
        known.update((folder, found) for folder in walked)
    return found


def analyze(document: Document, project: Project | None = None) -> FileAnalysis | None:
    """All facts of one document, or None when it does not parse.

    With a project, calls and classes imported from its other files are followed.
    """
    if project is not None:
        project.begin_check()
        path = real_path(document.path)
        if path is not None and path.suffix == ".py":
            # The project keeps this file's analyzer: a later file importing from it reuses
            # its parse and fixpoints, and if an earlier one did, this check reuses theirs.
            # Under the project lock, as every shared analyzer.
            with project.lock:
                analyzer = project.analyzer_for_document(path, document)
                if analyzer is not None:
                    return analyzer.run()
    tree = document.tree
    if tree is None:
        return None
    return ModuleAnalyzer(document, tree, project).run()
