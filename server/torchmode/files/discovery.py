"""Which files to check: the paths named (on the command line, or the editor's workspace
folders), and the ``*.py`` and ``*.ipynb`` files in the folders among them, less the default
excludes, ``exclude`` globs and what ``.gitignore`` files exclude (a small engine of git's own
matching rules).

Shared by the fronts: ``torchmode check`` walks the paths it is given, the language server
its workspace folders (and asks ``includes`` about one file when the editor says it changed),
so both check the same files of a project."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# Folders that hold other people's code or build output. Checked only when named
# on the command line, like ruff's default excludes.
DEFAULT_EXCLUDED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"})


def _glob_to_regex(pattern: str) -> str:
    """Translate a gitignore-style glob: ``*`` and ``?`` stay within one path segment, ``**`` crosses."""
    out: list[str] = []
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            if pattern.startswith("**", index):
                after = index + 2
                at_segment_start = index == 0 or pattern[index - 1] == "/"
                if at_segment_start and after < length and pattern[after] == "/":
                    out.append("(?:.*/)?")
                    index = after + 1
                    continue
                if at_segment_start and after == length:
                    out.append(".*")
                    index = after
                    continue
                out.append("[^/]*")
                index = after
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find(
                "]", index + 2 if pattern[index + 1 : index + 2] in ("!", "^") else index + 1
            )
            if close == -1:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : close]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = close
        elif char == "\\" and index + 1 < length:
            out.append(re.escape(pattern[index + 1]))
            index += 1
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


@dataclass(frozen=True)
class IgnorePattern:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool
    # Anchored patterns (with a "/" before their end) match the path relative to the
    # folder of the file that declares them; the others match a name at any depth.
    anchored: bool

    @staticmethod
    def parse(line: str) -> IgnorePattern | None:
        """One line of a ``.gitignore``; ``None`` for blanks and comments."""
        line = line.rstrip("\n\r")
        # Trailing spaces are ignored unless escaped with a backslash.
        stripped = line.rstrip(" ")
        if stripped.endswith("\\") and len(stripped) < len(line):
            stripped += " "
        line = stripped
        if not line or line.startswith("#"):
            return None
        negated = line.startswith("!")
        if negated or line.startswith(("\\!", "\\#")):  # a leading backslash escapes "!" or "#"
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            return None
        anchored = "/" in line
        line = line.lstrip("/")
        return IgnorePattern(re.compile(_glob_to_regex(line)), negated, directory_only, anchored)

    def matches(self, relative: str, name: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        return self.regex.fullmatch(relative if self.anchored else name) is not None


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one ``.gitignore``, which apply below the folder it sits in."""

    base: Path
    patterns: tuple[IgnorePattern, ...]

    @staticmethod
    def load(folder: Path) -> IgnoreFile | None:
        try:
            text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        patterns = tuple(p for p in map(IgnorePattern.parse, text.splitlines()) if p is not None)
        return IgnoreFile(folder, patterns) if patterns else None

    def decide(self, path: Path, is_dir: bool) -> bool | None:
        """True: ignored; False: re-included by a ``!`` pattern; None: no pattern matched."""
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return None
        decision: bool | None = None
        for pattern in self.patterns:  # the last matching pattern wins, as in git
            if pattern.matches(relative, path.name, is_dir):
                decision = not pattern.negated
        return decision


def _ancestor_ignore_files(folder: Path) -> list[IgnoreFile]:
    """``.gitignore`` files of the folders above ``folder`` up to its git work tree root.

    Outside a git work tree no ancestor counts: a stray ``.gitignore`` in a home or
    temp folder must not hide files of an unrelated project.
    """
    ancestors: list[Path] = []
    for parent in folder.parents:
        ancestors.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return []
    loaded = (IgnoreFile.load(parent) for parent in reversed(ancestors))
    return [ignore for ignore in loaded if ignore is not None]


class Problems(Protocol):
    """Where a folder that cannot be listed is reported (the CLI's stderr, the server's log)."""

    def error(self, message: str) -> None: ...


def is_checked_file(name: str) -> bool:
    """A file name discovery picks up in a folder: Python files and notebooks."""
    return name.endswith((".py", ".ipynb"))


class ExcludeGlob:
    """An ``--exclude`` glob. Without a ``/`` it matches a file or folder name at any depth;
    with one it matches the path relative to ``base`` (default: the current folder), or the
    absolute path."""

    def __init__(self, pattern: str, base: Path | None = None) -> None:
        self.pattern = pattern
        self.base = base
        self.directory_only = pattern.endswith("/") and len(pattern) > 1
        body = pattern.rstrip("/") or pattern
        self.absolute = body.startswith("/")
        self.by_name = "/" not in body
        self.regex = re.compile(_glob_to_regex(body.lstrip("./") if body.startswith("./") else body))

    def matches(self, path: Path, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        if self.by_name:
            return self.regex.fullmatch(path.name) is not None
        absolute = Path(os.path.abspath(path))
        if self.absolute:
            return self.regex.fullmatch(absolute.as_posix()) is not None
        relative = os.path.relpath(absolute, self.base if self.base is not None else Path.cwd())
        return self.regex.fullmatch(Path(relative).as_posix()) is not None


@dataclass
class Discovery:
    excludes: Sequence[ExcludeGlob]
    respect_gitignore: bool
    problems: Problems

    def files(self, paths: Sequence[str]) -> list[Path]:
        """The files to check, each once, in a stable order (the order of ``paths``, then sorted)."""
        found: list[Path] = []
        seen: set[str] = set()
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                candidates: Iterable[Path] = self._walk(path)
            elif path.exists() or path.is_symlink():
                # A file named explicitly is checked whatever its name or the excludes
                # say, as ruff does without --force-exclude.
                candidates = [path]
            else:
                self.problems.error(f"{raw}: No such file or directory")
                continue
            for candidate in candidates:
                key = os.path.normcase(os.path.abspath(candidate))
                if key not in seen:
                    seen.add(key)
                    found.append(candidate)
        return found

    def _walk(self, root: Path) -> Iterator[Path]:
        ignores = _ancestor_ignore_files(Path(os.path.abspath(root))) if self.respect_gitignore else []
        yield from self._walk_folder(root, ignores)

    def _walk_folder(self, folder: Path, ignores: list[IgnoreFile]) -> Iterator[Path]:
        ignores = self._with_own_ignore(folder, ignores)
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as error:
            self.problems.error(f"{folder}: cannot list folder: {error.strerror or error}")
            return
        for entry in entries:
            path = folder / entry.name
            try:
                # Symlinked folders are not followed: they can loop or leave the project.
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir:
                if entry.name in DEFAULT_EXCLUDED_DIRS or entry.name.startswith("."):
                    continue
                if self._excluded(path, True, ignores):
                    continue
                yield from self._walk_folder(path, ignores)
            elif is_file and is_checked_file(entry.name) and not self._excluded(path, False, ignores):
                yield path

    def includes(self, path: Path, root: Path) -> bool:
        """Would walking ``root`` find the file ``path``? (A created or changed file the editor
        reports: is it one of the workspace's.) The same rules as ``files``, without the walk."""
        try:
            relative = path.relative_to(root)
        except ValueError:
            return False
        if not relative.parts or not is_checked_file(path.name):
            return False
        ignores = _ancestor_ignore_files(Path(os.path.abspath(root))) if self.respect_gitignore else []
        folder = root
        for name in relative.parts[:-1]:
            ignores = self._with_own_ignore(folder, ignores)
            folder = folder / name
            if name in DEFAULT_EXCLUDED_DIRS or name.startswith(".") or self._excluded(folder, True, ignores):
                return False
        return not self._excluded(path, False, self._with_own_ignore(folder, ignores))

    def _with_own_ignore(self, folder: Path, ignores: list[IgnoreFile]) -> list[IgnoreFile]:
        if not self.respect_gitignore:
            return ignores
        own = IgnoreFile.load(Path(os.path.abspath(folder)))
        return [*ignores, own] if own is not None else ignores

    def _excluded(self, path: Path, is_dir: bool, ignores: list[IgnoreFile]) -> bool:
        if any(glob.matches(path, is_dir) for glob in self.excludes):
            return True
        absolute = Path(os.path.abspath(path))
        # Deeper .gitignore files override shallower ones.
        for ignore in reversed(ignores):
            decision = ignore.decide(absolute, is_dir)
            if decision is not None:
                return decision
        return False
