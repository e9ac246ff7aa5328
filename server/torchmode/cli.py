"""``torchmode check|fix|rules|explain|lsp``: the command-line face of the engine.

The CLI only presents: it finds files, reads them, hands each text to
``engine.check_document`` and prints or applies what comes back. It never
analyses code itself. Its behaviour follows ruff's ``check`` command (output
shapes, ``--fix``/``--diff``, exit codes, configuration in the nearest
``pyproject.toml`` of each file with command-line options on top) so that CI
setups written for ruff carry over. Output formats: text, json (ruff's shape),
github (workflow commands) and sarif (SARIF 2.1.0 for code scanning).

Exit codes: 0 nothing found, 1 findings remain (or ``--diff`` has a diff),
2 usage error or a file that could not be read, decoded, parsed or written.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import difflib
import importlib
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import tokenize
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from torchmode import __version__, engine, gc_tuning
from torchmode.analysis.project import Project, interpreter_library_paths, project_for_paths
from torchmode.config import (
    ConfigLayer,
    ConfigLoader,
    ConfigProblem,
    ResolvedConfig,
    apply_fix_safety,
    parse_locale,
)
from torchmode.engine import CheckResult, Settings
from torchmode.findings import Finding, Fix, Severity
from torchmode.notebooks import CellEditError, Notebook, NotebookError, is_notebook_path
from torchmode.syntax import Document, Position, Span, TextEdit, apply_edits

if TYPE_CHECKING:
    from torchmode.rules.base import Rule

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

LOCALES = ("en", "zh-cn")

# Folders that hold other people's code or build output. Checked only when named
# on the command line, like ruff's default excludes.
DEFAULT_EXCLUDED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"})

# Fixes can interact (one moves a statement another one anchors on), so --fix
# applies one fix per pass and re-checks. A fix that keeps producing new text
# would loop forever; this bounds it, like ruff's 100-iteration limit.
MAX_FIX_PASSES = 100

_SELECTOR = re.compile(r"[A-Z]+[0-9]*")


class UsageError(Exception):
    """A bad command line or option value; reported like argparse's own errors (exit 2)."""


# --- reporting problems -----------------------------------------------------------------


class Problems:
    """Collects the files that could not be checked; each is printed on stderr as it happens.

    They are also kept, in order, for formats that carry them (SARIF's tool notifications).
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0
        self.messages: list[tuple[str, str]] = []  # (level "error"|"warning", message)

    def error(self, message: str) -> None:
        self.count += 1
        self.messages.append(("error", message))
        print(f"torchmode: error: {message}", file=self.stream)

    def warning(self, message: str) -> None:
        self.messages.append(("warning", message))
        print(f"torchmode: warning: {message}", file=self.stream)


# --- finding files ----------------------------------------------------------------------


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


class ExcludeGlob:
    """An ``--exclude`` glob. Without a ``/`` it matches a file or folder name at any depth;
    with one it matches the path relative to the current folder (or the absolute path)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
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
        relative = os.path.relpath(absolute, Path.cwd())
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
        if self.respect_gitignore:
            own = IgnoreFile.load(Path(os.path.abspath(folder)))
            if own is not None:
                ignores = [*ignores, own]
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
            elif (
                is_file
                and entry.name.endswith((".py", ".ipynb"))
                and not self._excluded(path, False, ignores)
            ):
                yield path

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


# --- reading and writing sources -------------------------------------------------------


@dataclass(frozen=True)
class Source:
    path: Path
    display: str  # relative to the current folder when below it, as ruff prints
    text: str
    # The encoding it was read with; "utf-8-sig" when it starts with a BOM, so that
    # writing it back keeps the BOM.
    encoding: str
    # For a .ipynb file: the notebook, whose code cells form the checked program.
    notebook: Notebook | None = None

    @property
    def program_text(self) -> str:
        """The Python text the engine checks: the file, or a notebook's cells joined."""
        return self.text if self.notebook is None else self.notebook.program.text

    def where(self, position: Position) -> str:
        """``path:line:col`` (1-based column), or ``path:cell N:line:col`` in a notebook, as ruff prints."""
        cell, line, column = self.locate(position)
        prefix = self.display if cell is None else f"{self.display}:cell {cell}"
        return f"{prefix}:{line}:{column + 1}"

    def locate(self, position: Position) -> tuple[int | None, int, int]:
        """(1-based cell number or None, line, 0-based column) of a program position."""
        if self.notebook is None:
            return None, position.line, position.column
        located = self.notebook.program.to_cell(position)
        return located.cell + 1, located.line, located.column


def display_path(path: Path) -> str:
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        if os.path.commonpath([absolute, cwd]) == cwd:
            return Path(os.path.relpath(absolute, cwd)).as_posix()
    except ValueError:  # different drives on Windows
        pass
    return str(path)


def read_source(path: Path) -> Source | str:
    """The decoded text of a file, or why it cannot be read (a one-line reason)."""
    try:
        # A FIFO or a device would block the read (or never end): only regular files.
        if path.exists() and not path.is_dir() and not stat.S_ISREG(path.stat().st_mode):
            return "not a regular file"
        data = path.read_bytes()
    except IsADirectoryError:
        return "is a directory"
    except OSError as error:
        return f"cannot read file: {error.strerror or error}"
    try:
        # Python's own rule: UTF-8 unless a PEP 263 coding cookie says otherwise;
        # a BOM gives "utf-8-sig". Newlines are left exactly as they are.
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # Raised for non-UTF-8 bytes in the first two lines as well as for a bad
        # cookie; decoding as UTF-8 tells which, and names the offending byte.
        encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            return f"cannot decode file: {error}"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        name = "UTF-8" if encoding.startswith("utf-8") else encoding
        return f"cannot decode file as {name}: {error.reason} (byte 0x{data[error.start]:02x} on line {line})"
    except LookupError:
        return f"cannot decode file: unknown encoding {encoding!r}"
    if is_notebook_path(path.name):
        try:
            notebook = Notebook.parse(text)
        except NotebookError as error:
            return f"invalid notebook: {error}"
        return Source(path, display_path(path), text, encoding, notebook)
    return Source(path, display_path(path), text, encoding)


def write_source(source: Source, text: str) -> str | None:
    """Replace the file's content atomically; the reason on failure, else None."""
    try:
        data = text.encode(source.encoding)
    except UnicodeEncodeError as error:
        return f"the fixed text cannot be encoded as {source.encoding}: {error.reason}"
    target = Path(os.path.realpath(source.path))  # write through symlinks, keep the link
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".torchmode-", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            shutil.copymode(target, temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        return f"cannot write file: {error.strerror or error}"
    return None


# --- checking and fixing ----------------------------------------------------------------


def _sort_key(finding: Finding) -> tuple[int, int, str]:
    return (finding.span.start.line, finding.span.start.column, finding.code)


def applicable_fix(finding: Finding, unsafe: bool) -> Fix | None:
    """The fix ``--fix`` would apply: the first safe one, or the first of any kind with unsafe fixes on."""
    for fix in finding.fixes:
        if fix.applicability == "safe" or unsafe:
            return fix
    return None


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


@dataclass
class FileReport:
    source: Source
    findings: tuple[Finding, ...]
    fixed_text: str | None = None  # set by --fix/--diff when some fix applied
    fixed_count: int = 0
    # Why a fix was refused (e.g. it would not parse). The finding stays reported.
    fix_problems: list[str] = field(default_factory=list)


class Checker:
    def __init__(self, problems: Problems, project: Project | None = None) -> None:
        self.problems = problems
        # The checked files' projects: calls into their other files are followed.
        self.project = project

    def check(self, source: Source, settings: Settings, text: str | None = None) -> CheckResult | None:
        """Run the engine; report a parse failure or an engine crash as a file error."""
        # The absolute path lets the engine resolve imports of neighbouring files.
        document = Document(source.program_text if text is None else text, os.path.abspath(source.path))
        try:
            result = apply_fix_safety(engine.check_document(document, settings, self.project), settings)
        except Exception as error:  # an engine bug must not hide the other files' results
            self.problems.error(
                f"{source.display}: internal error while checking: {type(error).__name__}: {error}"
            )
            return None
        if result.parse_failure is not None:
            failure = result.parse_failure
            self.problems.error(f"Failed to parse {source.where(failure.position)}: {failure.message}")
            return None
        if source.notebook is not None:
            program = source.notebook.program
            result = dataclasses.replace(
                result,
                findings=tuple(
                    dataclasses.replace(
                        finding,
                        message=program.relabel_lines(finding.message),
                        related=tuple(
                            dataclasses.replace(item, message=program.relabel_lines(item.message))
                            for item in finding.related
                        ),
                    )
                    for finding in result.findings
                ),
            )
        return result

    def fix(self, source: Source, settings: Settings, unsafe: bool) -> FileReport | None:
        """Apply fixes one at a time, re-checking after each, until none applies."""
        result = self.check(source, settings)
        if result is None:
            return None
        text = source.program_text
        program = source.notebook.program if source.notebook is not None else None
        report = FileReport(source, result.findings)
        refused: set[tuple[str, Span, str]] = set()
        seen_texts = {text}
        # Each refusal adds a key and findings are finite, so only applied fixes need a bound.
        while True:
            chosen = self._next_fix(result.findings, unsafe, refused)
            if chosen is None:
                break
            if report.fixed_count >= MAX_FIX_PASSES:
                report.fix_problems.append(
                    f"{source.display}: fixes did not converge after {MAX_FIX_PASSES} passes; "
                    "the remaining findings are left as they are"
                )
                break
            finding, fix = chosen
            key = (finding.code, finding.span, fix.title)
            where = source.where(finding.span.start)
            new_program = None
            try:
                if program is not None:
                    # Edited in the cells' own sources: the notebook keeps its magics.
                    new_program = program.apply(fix.edits)
                    new_text = new_program.text
                else:
                    new_text = apply_edits(text, fix.edits)
            except (ValueError, IndexError, CellEditError) as error:
                refused.add(key)
                report.fix_problems.append(f"{where}: {finding.code} fix {fix.title!r} not applied: {error}")
                continue
            if not _parses(new_text):
                # Never write code that does not parse; keep the finding for the user.
                refused.add(key)
                report.fix_problems.append(
                    f"{where}: {finding.code} fix {fix.title!r} not applied: it would produce invalid syntax"
                )
                continue
            if new_text in seen_texts:
                refused.add(key)  # a no-op or a cycle between fixes
                continue
            new_result = self.check(source, settings, new_text)
            if new_result is None:
                return None
            text, result, program = new_text, new_result, new_program
            seen_texts.add(text)
            report.fixed_count += 1
        report.findings = result.findings
        if source.notebook is not None and program is not None:
            # Positions of the remaining findings are in the fixed program.
            report.source = dataclasses.replace(source, notebook=source.notebook.with_program(program))
            if text != source.program_text:
                report.fixed_text = report.source.notebook.dumps() if report.source.notebook else None
        elif text != source.text:
            report.fixed_text = text
        return report

    @staticmethod
    def _next_fix(
        findings: Iterable[Finding], unsafe: bool, refused: set[tuple[str, Span, str]]
    ) -> tuple[Finding, Fix] | None:
        for finding in sorted(findings, key=_sort_key):
            fix = applicable_fix(finding, unsafe)
            if fix is not None and (finding.code, finding.span, fix.title) not in refused:
                return finding, fix
        return None


# --- output formats ---------------------------------------------------------------------


def _location(line: int, column: int) -> dict[str, int]:
    return {"row": line, "column": column + 1}


def _relative_location(source: Source, position: Position) -> dict[str, int]:
    """Row and column within the file, or within the position's cell in a notebook."""
    _, line, column = source.locate(position)
    return _location(line, column)


def _json_edit(source: Source, edit: TextEdit) -> dict[str, Any]:
    return {
        "content": edit.new_text,
        "location": _relative_location(source, edit.span.start),
        "end_location": _relative_location(source, edit.span.end),
    }


def finding_to_json(source: Source, finding: Finding) -> dict[str, Any]:
    """One finding in ruff's ``--output-format json`` shape (1-based columns).

    In a notebook, ``cell`` is the 1-based cell number (markdown cells count) and
    rows are relative to that cell, as in ruff; for a .py file it is null.
    """
    fix = finding.preferred_fix
    cell, _, _ = source.locate(finding.span.start)
    return {
        "cell": cell,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity.value,
        "filename": os.path.abspath(source.path),
        "location": _relative_location(source, finding.span.start),
        "end_location": _relative_location(source, finding.span.end),
        "fix": None
        if fix is None
        else {
            "message": fix.title,
            "applicability": fix.applicability,
            "edits": [_json_edit(source, edit) for edit in fix.edits],
        },
        "url": finding.url or None,
        "noqa_row": source.locate(finding.span.start)[1],
    }


def _github_escape(value: str, in_property: bool) -> str:
    # GitHub workflow-command escaping (the runner's own rules): "%" first, so that the
    # escapes it introduces are not escaped again; properties also escape ":" and ",",
    # which separate a command's properties from each other and from the message.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if in_property:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def _text_line(source: Source, finding: Finding, fixable: bool) -> str:
    marker = "[*] " if fixable else ""
    return f"{source.where(finding.span.start)}: {finding.code} {marker}{finding.message}"


def _github_line(source: Source, finding: Finding) -> str:
    """``::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`` (1-based columns).

    The file is absolute, as in ruff: the runner turns paths inside the workspace
    into repository paths, whatever folder torchmode ran in. The message repeats
    the location so that the raw log line is useful on its own.
    """
    # In a notebook the annotation points at the cell's line; the text names the cell.
    _, start_line, start_column = source.locate(finding.span.start)
    _, end_line, end_column = source.locate(finding.span.end)
    properties = ",".join(
        f"{key}={_github_escape(str(value), True)}"
        for key, value in (
            ("title", f"{finding.code} {finding.name}" if finding.name else finding.code),
            ("file", os.path.abspath(source.path)),
            ("line", start_line),
            ("col", start_column + 1),
            ("endLine", end_line),
            ("endColumn", end_column + 1),
        )
    )
    text = f"{source.where(finding.span.start)}: {finding.code} {finding.message}"
    return f"::{_GITHUB_LEVEL[finding.severity]} {properties}::{_github_escape(text, False)}"


# SARIF levels: "note" is the closest to LSP's information and hint.
_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# Relative artifact URIs are resolved against this base, which is the folder torchmode ran in.
SRCROOT = "%SRCROOT%"


def _sarif_uri(path: Path) -> tuple[str, str | None]:
    """(uri, uriBaseId): relative to the current folder when below it, else an absolute file URI.

    Code scanning matches relative paths against the repository, so a run from the
    checkout's root gives paths it can show; absolute ones only work on that machine.
    """
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    try:
        inside = os.path.commonpath([absolute, cwd]) == cwd
    except ValueError:  # different drives on Windows
        inside = False
    if inside:
        relative = Path(os.path.relpath(absolute, cwd)).as_posix()
        return urllib.parse.quote(relative), SRCROOT
    return Path(absolute).as_uri(), None


def _sarif_region(span: Span) -> dict[str, int]:
    # SARIF lines and columns are 1-based; the run declares columns as code points,
    # which is what Span columns count.
    return {
        "startLine": span.start.line,
        "startColumn": span.start.column + 1,
        "endLine": span.end.line,
        "endColumn": span.end.column + 1,
    }


def _sarif_artifact(path: Path) -> dict[str, Any]:
    uri, base = _sarif_uri(path)
    return {"uri": uri, "uriBaseId": base} if base else {"uri": uri}


def _sarif_physical(path: Path, span: Span) -> dict[str, Any]:
    return {"artifactLocation": _sarif_artifact(path), "region": _sarif_region(span)}


def _first_section_paragraph(docs: str) -> str | None:
    """The first paragraph under the page's first ``##`` heading ("What it does"), as one line."""
    lines: list[str] = []
    in_section = False
    for line in docs.splitlines():
        if line.startswith("## "):
            if lines:
                break
            in_section = True
        elif in_section and line.strip():
            lines.append(line.strip())
        elif lines:
            break
    return " ".join(lines) or None


def _sarif_rule(rule: RuleEntry, locale: str) -> dict[str, Any]:
    summary = rule.summary(locale) or rule.name
    docs = rule.docs(locale)
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": (_first_section_paragraph(docs) if docs else None) or summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.default_severity]},
        "properties": {"tags": ["pytorch", "correctness"]},
    }
    if docs is not None:
        # Code scanning shows `help.markdown` as the rule's help; `text` is required next to it.
        descriptor["help"] = {"text": docs, "markdown": docs}
    url = rule.url()
    if url:
        descriptor["helpUri"] = url
    return descriptor


def _sarif_fix(source: Source, fix: Fix) -> dict[str, Any]:
    return {
        "description": {"text": fix.title},
        "artifactChanges": [
            {
                "artifactLocation": _sarif_artifact(source.path),
                "replacements": [
                    {"deletedRegion": _sarif_region(edit.span), "insertedContent": {"text": edit.new_text}}
                    for edit in fix.edits
                ],
            }
        ],
        # Not a SARIF notion; kept so that consumers can tell what `--fix` would apply.
        "properties": {"applicability": fix.applicability},
    }


def _sarif_result(source: Source, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": _sarif_physical(source.path, finding.span)}],
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": index,
                "physicalLocation": _sarif_physical(Path(item.path) if item.path else source.path, item.span),
                "message": {"text": item.message},
            }
            for index, item in enumerate(finding.related)
        ]
    if finding.fixes:
        result["fixes"] = [_sarif_fix(source, fix) for fix in finding.fixes]
    return result


def sarif_log(
    entries: Sequence[tuple[Source, Finding]], rules: Sequence[RuleEntry], problems: Problems, locale: str
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: every rule's metadata, the findings, and unchecked files."""
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    notifications = [{"level": level, "message": {"text": message}} for level, message in problems.messages]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "torchmode",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(rule, locale) for rule in rules],
            }
        },
        "invocations": [
            {"executionSuccessful": problems.count == 0, "toolExecutionNotifications": notifications}
        ],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(source, finding, rule_index) for source, finding in entries],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- commands ---------------------------------------------------------------------------


def _selectors(raw: Sequence[str] | None, option: str, known_codes: Sequence[str] | None) -> tuple[str, ...]:
    """Comma-separated code prefixes, checked against the rule registry when it is available."""
    selectors: list[str] = []
    for chunk in raw or ():
        for item in chunk.split(","):
            code = item.strip().upper()
            if not code:
                continue
            if code == "ALL":
                code = "TM"
            if not _SELECTOR.fullmatch(code):
                raise UsageError(
                    f"invalid value {item.strip()!r} for {option}: expected a rule code or prefix"
                )
            if known_codes is not None and not any(known.startswith(code) for known in known_codes):
                raise UsageError(f"invalid value {item.strip()!r} for {option}: no rule code starts with it")
            selectors.append(code)
    return tuple(selectors)


class SettingsResolver:
    """The settings of each checked file: its nearest ``[tool.torchmode]``, then the command line.

    Each configuration problem is printed once (as a warning, like any file that
    could not be checked), however many files share the bad pyproject.toml.
    """

    def __init__(
        self, args: argparse.Namespace, known_codes: Sequence[str] | None, problems: Problems
    ) -> None:
        self.problems = problems
        self.loader = ConfigLoader(known_codes or ())
        self.command_line = ConfigLayer(
            select=_selectors(args.select, "--select", known_codes) or None,
            extend_select=_selectors(args.extend_select, "--extend-select", known_codes),
            ignore=_selectors(args.ignore, "--ignore", known_codes),
            locale=args.locale,
        )
        self.isolated = args.isolated
        self.fixed_config: ResolvedConfig | None = None
        self._reported: set[str] = set()
        if args.config is not None:
            self.fixed_config = self._explicit(Path(args.config))

    def _explicit(self, path: Path) -> ResolvedConfig:
        """``--config FILE``: one pyproject.toml for every file, wherever they are."""
        if not path.is_file():
            raise UsageError(f"--config {path}: no such file")
        loaded = self.loader.config_file(Path(os.path.abspath(path)))
        if not loaded.owned:
            raise UsageError(f"--config {path}: the file has no [tool.torchmode] table")
        self._report(loaded.problems)
        return self.loader.resolve(None, (loaded.layer, self.command_line))

    def resolve(self, path: Path) -> ResolvedConfig:
        if self.fixed_config is not None:
            return self.fixed_config
        if self.isolated:
            return self.loader.resolve(None, (self.command_line,))
        resolved = self.loader.resolve_path(path, (self.command_line,))
        self._report(resolved.problems)
        return resolved

    def _report(self, problems: Iterable[ConfigProblem]) -> None:
        for problem in problems:
            # Relative to the current folder, like the checked files' paths.
            text = str(dataclasses.replace(problem, source=display_path(Path(problem.source))))
            if text not in self._reported:
                self._reported.add(text)
                self.problems.warning(text)


def _project(args: argparse.Namespace) -> Project | None:
    if args.no_follow_imports:
        return None
    return project_for_paths((Path(path) for path in args.paths or ["."]), interpreter_library_paths())


# Below this many files per process, starting processes costs more than it saves.
_FILES_PER_JOB = 8


def _jobs(requested: int | None, files: int) -> int:
    """Processes to check ``files`` files in: ``--jobs`` (default: the cores), never more than
    the files can keep busy."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = requested if requested is not None else cores
    return max(1, min(wanted, files // _FILES_PER_JOB))


def _check_chunk(
    args: argparse.Namespace, paths: list[Path]
) -> tuple[list[FileReport], list[tuple[str, str]]]:
    """A worker process: check some files with its own project; problems are returned, not printed."""
    rules = _rules()
    known_codes = None if rules is None else [rule.code for rule in rules]
    problems = Problems(io.StringIO())
    resolver = SettingsResolver(args, known_codes, problems)
    checker = Checker(problems, _project(args))
    reports: list[FileReport] = []
    with gc_tuning.tuned():  # a spawned worker does not inherit the parent's
        for path in paths:
            report = _read_and_check(path, checker, resolver, problems)
            if report is not None:
                reports.append(report)
    return reports, problems.messages


def _read_and_check(
    path: Path,
    checker: Checker,
    resolver: SettingsResolver,
    problems: Problems,
    fixing: bool = False,
    unsafe: bool = False,
) -> FileReport | None:
    """One file: read, its settings, checked (or fixed); None if it could not be."""
    source = read_source(path)
    if isinstance(source, str):
        problems.error(f"{display_path(path)}: {source}")
        return None
    settings = resolver.resolve(path).settings
    if fixing:
        return checker.fix(source, settings, unsafe)
    result = checker.check(source, settings)
    return None if result is None else FileReport(source, result.findings)


def _check_in_processes(
    args: argparse.Namespace, paths: list[Path], jobs: int, problems: Problems
) -> list[FileReport]:
    """``--jobs N``: the files in contiguous chunks (a package's files share one worker's cache
    of imported files), results and problems in the order of the files."""
    import concurrent.futures
    import multiprocessing

    chunk_count = jobs * 4
    size = -(-len(paths) // chunk_count)
    chunks = [paths[start : start + size] for start in range(0, len(paths), size)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    reports: list[FileReport] = []
    seen: set[tuple[str, str]] = set()
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        for chunk_reports, messages in pool.map(_check_chunk, [args] * len(chunks), chunks):
            reports.extend(chunk_reports)
            for level, message in messages:
                if level == "warning" and (level, message) in seen:
                    continue  # a bad pyproject.toml read by several workers: said once
                seen.add((level, message))
                (problems.error if level == "error" else problems.warning)(message)
    return reports


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def _run_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = _rules()
    known_codes = None if rules is None else [rule.code for rule in rules]
    problems = Problems(err)
    resolver = SettingsResolver(args, known_codes, problems)
    discovery = Discovery(
        [ExcludeGlob(glob) for glob in args.exclude or ()], args.respect_gitignore, problems
    )
    paths = discovery.files(args.paths or ["."])
    if args.show_settings:
        return _show_settings(resolver, paths, args.paths or ["."], out)
    if not paths and problems.count == 0:
        problems.warning("No Python files found under the given path(s)")

    fixing = args.fix or args.diff
    jobs = _jobs(args.jobs, len(paths))
    if jobs > 1 and not fixing:
        parallel_reports = _check_in_processes(args, paths, jobs, problems)
        _print_findings(parallel_reports, args, out, problems, rules or [])
        if problems.count:
            return EXIT_ERROR
        remaining = sum(len(report.findings) for report in parallel_reports)
        return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN

    project = _project(args)
    checker = Checker(problems, project)
    reports: list[FileReport] = []
    for path in paths:
        report = _read_and_check(path, checker, resolver, problems, fixing, args.unsafe_fixes)
        if report is None:
            continue
        source = report.source
        for message in report.fix_problems:
            problems.warning(message)
        if args.fix and not args.diff and report.fixed_text is not None:
            failure = write_source(source, report.fixed_text)
            if failure is not None:
                problems.error(f"{source.display}: {failure}")
                report.fixed_text = None
                continue
            if project is not None:
                project.changed(Path(os.path.abspath(source.path)))  # later files see the fixed text
        reports.append(report)

    if args.diff:
        return _print_diff(reports, out, err, problems, quiet=args.quiet)
    _print_findings(reports, args, out, problems, rules or [])
    if problems.count:
        return EXIT_ERROR
    remaining = sum(len(report.findings) for report in reports)
    return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN


def _source_lines(text: str) -> list[str]:
    """Lines with their terminators. Unlike ``str.splitlines`` only ``\\n``, ``\\r\\n`` and ``\\r``
    end a line, as in Python's tokenizer; a form feed inside a line must not split it."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def _diff_pieces(report: FileReport) -> list[tuple[str, str, str]]:
    """(before, after, name) to diff: the file, or each changed cell (``nb.ipynb:cell 3``, as ruff)."""
    assert report.fixed_text is not None
    notebook = report.source.notebook
    if notebook is None:
        return [(report.source.text, report.fixed_text, report.source.display)]
    original = Notebook.parse(report.source.text).program
    pieces: list[tuple[str, str, str]] = []
    for cell in notebook.program.cells:
        before = original.cells[original.slot_of_cell(cell.index)].source
        if before != cell.source:
            pieces.append((before, cell.source, f"{report.source.display}:cell {cell.index + 1}"))
    return pieces


def _print_diff(reports: list[FileReport], out: TextIO, err: TextIO, problems: Problems, quiet: bool) -> int:
    fixed = 0
    for report in reports:
        if report.fixed_text is None:
            continue
        fixed += report.fixed_count
        for before, after, name in _diff_pieces(report):
            lines = difflib.unified_diff(
                _source_lines(before), _source_lines(after), fromfile=name, tofile=name
            )
            for line in lines:
                out.write(line)
                if not line.endswith(("\n", "\r")):
                    out.write("\n\\ No newline at end of file\n")
            out.write("\n")
    if not quiet:
        print(f"Would fix {_plural(fixed, 'error')}." if fixed else "No errors would be fixed.", file=err)
    if problems.count:
        return EXIT_ERROR
    return EXIT_FINDINGS if fixed else EXIT_CLEAN


def _show_settings(
    resolver: SettingsResolver, paths: Sequence[Path], given: Sequence[str], out: TextIO
) -> int:
    """``--show-settings``: the effective settings of the first file (or folder), like ruff's."""
    target = paths[0] if paths else Path(given[0])
    resolved = resolver.resolve(target / "__init__.py" if target.is_dir() else target)
    print(f"Resolved settings for: {display_path(target)}", file=out)
    print(
        f"Settings path: {resolved.config_path or 'none (no pyproject.toml with [tool.torchmode])'}", file=out
    )
    print(file=out)
    for line in settings_lines(resolved.settings):
        print(line, file=out)
    return EXIT_CLEAN


def settings_lines(settings: Settings) -> list[str]:
    """``Settings`` as ``[tool.torchmode]`` lines (TOML), with the pyproject key names."""

    def toml(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(toml(item) for item in value) + "]"
        if isinstance(value, dict):
            return (
                "{ " + ", ".join(f"{key} = {toml(item)}" for key, item in value.items()) + " }"
                if value
                else "{}"
            )
        return str(value)

    values: list[tuple[str, object]] = [
        ("select", settings.select),
        ("ignore", settings.ignore),
        ("severity", {code: level.value for code, level in settings.severity}),
        ("fix-safe", dict(settings.fix_safety)),
        ("eval-names", settings.eval_names),
        ("eval-loader-names", settings.eval_loader_names),
        ("locale", settings.locale),
    ]
    return [f"{key} = {toml(value)}" for key, value in values]


def _print_findings(
    reports: list[FileReport],
    args: argparse.Namespace,
    out: TextIO,
    problems: Problems,
    rules: list[RuleEntry],
) -> None:
    unchecked = problems.count
    entries = [
        (report.source, finding) for report in reports for finding in sorted(report.findings, key=_sort_key)
    ]
    if args.format == "sarif":
        json.dump(sarif_log(entries, rules, problems, args.locale or "en"), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if args.format == "json":
        json.dump(
            [finding_to_json(source, finding) for source, finding in entries], out, indent=2, sort_keys=True
        )
        out.write("\n")
        return
    if args.format == "github":
        for source, finding in entries:
            print(_github_line(source, finding), file=out)
        return

    fix_mode = args.fix
    for source, finding in entries:
        marked = not fix_mode and applicable_fix(finding, args.unsafe_fixes) is not None
        print(_text_line(source, finding, marked), file=out)
    if args.quiet:
        return
    fixed = sum(report.fixed_count for report in reports)
    remaining = len(entries)
    if fix_mode and fixed:
        print(
            f"Found {_plural(fixed + remaining, 'error')} ({fixed} fixed, {remaining} remaining).", file=out
        )
    elif remaining:
        print(f"Found {_plural(remaining, 'error')}.", file=out)
    elif not unchecked:
        print("All checks passed!", file=out)
    if unchecked:
        # Without this line a run whose only file failed to parse would look clean.
        print(f"{_plural(unchecked, 'file')} could not be checked (reasons on stderr).", file=out)
    if fix_mode or not remaining:
        return
    fixable = sum(1 for _, finding in entries if applicable_fix(finding, args.unsafe_fixes) is not None)
    hidden = sum(1 for _, finding in entries if applicable_fix(finding, True) is not None) - fixable
    hidden_note = (
        f"{_plural(hidden, 'hidden fix')} can be enabled with the `--unsafe-fixes` option" if hidden else ""
    )
    if fixable:
        print(
            f"[*] {fixable} fixable with `--fix`" + (f" ({hidden_note})." if hidden_note else "."), file=out
        )
    elif hidden_note:
        print(f"No fixes available ({hidden_note}).", file=out)


# --- the rule registry ------------------------------------------------------------------


@dataclass(frozen=True)
class RuleEntry:
    """What the CLI shows of a rule class from ``torchmode.rules.ALL_RULES``."""

    code: str
    name: str
    rule: type[Rule] | None = None  # None for entries made up by tests

    def summary(self, locale: str) -> str:
        return self.rule.summary(locale) if self.rule is not None else ""

    @property
    def default_severity(self) -> Severity:
        return self.rule.default_severity if self.rule is not None else Severity.WARNING

    def url(self) -> str:
        return self.rule.url() if self.rule is not None else ""

    @cached_property
    def fix_applicabilities(self) -> tuple[str, ...]:
        """The kinds of fix ("safe", "unsafe") the rule offers on its own INVALID examples.

        Read from what the rule does rather than declared next to it, so the
        listing cannot claim a fix the rule does not make.
        """
        if self.rule is None:
            return ()
        found: set[str] = set()
        settings = Settings(select=(self.code,))
        for example in self.rule.INVALID:
            try:
                result = engine.check_document(Document(example.code, "<example>"), settings)
            except Exception:  # a listing must not fail on a rule bug; the rule's own tests catch it
                continue
            for finding in result.findings:
                if finding.code == self.code:
                    found.update(fix.applicability for fix in finding.fixes)
        return tuple(kind for kind in ("safe", "unsafe") if kind in found)

    def fix_label(self) -> str:
        """``yes`` with a safe fix, ``unsafe`` when every fix needs --unsafe-fixes, else ``no``."""
        kinds = self.fix_applicabilities
        return "yes" if "safe" in kinds else "unsafe" if kinds else "no"

    def docs(self, locale: str) -> str | None:
        """The rule's Markdown docs, or None when it ships none."""
        if self.rule is None:
            return None
        try:
            docs = self.rule.explanation(locale)
        except OSError:  # the docs file is missing from the installed package
            return None
        return docs if docs.strip() else None


def _rules() -> list[RuleEntry] | None:
    """The rule registry, or None when it cannot be imported."""
    try:
        # Imported lazily: `--version` and `lsp` should not pay for the analysis modules.
        from torchmode.rules import ALL_RULES
    except ImportError:
        return None
    return sorted((RuleEntry(rule.code, rule.name, rule) for rule in ALL_RULES), key=lambda entry: entry.code)


def _require_rules() -> list[RuleEntry]:
    rules = _rules()
    if rules is None:
        raise UsageError("the rule registry (torchmode.rules.ALL_RULES) is not available")
    return rules


def _run_rules(args: argparse.Namespace, out: TextIO) -> int:
    rules = _require_rules()
    if args.format == "json":
        records = [
            {
                "code": rule.code,
                "name": rule.name,
                "default_severity": rule.default_severity.value,
                "fix": rule.fix_label() != "no",
                "fix_applicability": list(rule.fix_applicabilities),
                "summary": rule.summary(args.locale),
                "url": rule.url() or None,
            }
            for rule in rules
        ]
        json.dump(records, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_CLEAN
    headers = ("code", "name", "severity", "fix", "summary")
    rows = [
        (rule.code, rule.name, rule.default_severity.value, rule.fix_label(), rule.summary(args.locale))
        for rule in rules
    ]
    widths = [max(len(row[index]) for row in [headers, *rows]) for index in range(4)]
    for row in [headers, *rows]:
        cells = [f"{cell:<{width}}" for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip(), file=out)
    return EXIT_CLEAN


def _run_explain(args: argparse.Namespace, out: TextIO) -> int:
    wanted = args.rule.strip()
    for rule in _require_rules():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            docs = rule.docs(args.locale)
            if docs is None:
                docs = f"# {rule.code} {rule.name}\n\n{rule.summary(args.locale)}\n"
            out.write(docs if docs.endswith("\n") else docs + "\n")
            return EXIT_CLEAN
    raise UsageError(f"unknown rule {wanted!r}; `torchmode rules` lists them")


def _run_lsp(args: argparse.Namespace, err: TextIO) -> int:
    # Imported here so that `torchmode check` never pays for pygls.
    try:
        server = importlib.import_module("torchmode.lsp.server")
    except ImportError as error:
        print(f"torchmode: error: the language server cannot start: {error}", file=err)
        return EXIT_ERROR
    start: Callable[[], object] = server.start_stdio
    start()
    return EXIT_CLEAN


# --- the command line -------------------------------------------------------------------


def _add_check_options(parser: argparse.ArgumentParser, fix_default: bool) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to check (default: .)")
    parser.add_argument(
        "--format",
        choices=("text", "json", "github", "sarif"),
        default="text",
        help="output format: text (path:line:col: CODE message), json (ruff's shape), "
        "github (workflow annotations), sarif (SARIF 2.1.0, for code scanning)",
    )
    parser.add_argument("--fix", action="store_true", default=fix_default, help="apply safe fixes in place")
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply fixes marked unsafe (with --fix or --diff)"
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff of what --fix would change; write nothing"
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report (replaces select, extend-select and ignore "
        "of the configuration)",
    )
    parser.add_argument(
        "--extend-select",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to report in addition to the selected ones",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="comma-separated code prefixes to skip (added to the configuration's ignore)",
    )
    parser.add_argument(
        "--exclude", action="append", metavar="GLOB", help="skip files and folders matching GLOB"
    )
    parser.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        help="also check files that .gitignore files exclude",
    )
    parser.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of messages (default: the configuration's, or en)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="use this pyproject.toml's [tool.torchmode] for every file instead of each file's nearest one",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="ignore every pyproject.toml: defaults and command-line options only",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="check files in N processes (default: the number of cores; --fix and --diff use one)",
    )
    parser.add_argument(
        "--no-follow-imports",
        action="store_true",
        help="analyse each file alone: do not follow calls into the other project files it imports",
    )
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the effective settings of the first file and the pyproject.toml they come from; exit",
    )
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")


def _locale_option(value: str) -> str:
    """``en``, ``zh-CN``, ``zh_CN``, ``zh`` -> a supported locale, else a usage error."""
    locale = parse_locale(value)
    if locale is None:
        raise argparse.ArgumentTypeError(f"unknown language {value!r}: use en or zh-CN")
    return locale


def locale_from_environment(environment: Mapping[str, str]) -> str:
    """The language of the user's terminal: LC_ALL, then LC_MESSAGES, then LANG (POSIX order)."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environment.get(variable, "")
        if value and value not in ("C", "POSIX"):
            return parse_locale(value.split(".")[0]) or "en"
    return "en"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="torchmode",
        description="Find PyTorch train/eval and grad mode mistakes.",
        epilog="Exit codes: 0 no findings, 1 findings, 2 usage error or a file that cannot be read or parsed",
    )
    parser.add_argument("--version", action="version", version=f"torchmode {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    check = commands.add_parser("check", help="check files and folders")
    _add_check_options(check, fix_default=False)
    fix = commands.add_parser("fix", help="same as `check --fix`")
    _add_check_options(fix, fix_default=True)

    rules = commands.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("text", "json"), default="text")
    rules.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of the summaries (default: from LANG, else en)",
    )

    explain = commands.add_parser("explain", help="print a rule's documentation (Markdown)")
    explain.add_argument("rule", metavar="CODE", help="a rule code such as TM101, or its name")
    explain.add_argument(
        "--lang",
        "--locale",
        dest="locale",
        type=_locale_option,
        default=None,
        metavar="{en,zh-CN}",
        help="language of the page (default: from LANG, else en)",
    )

    # `torchmode run` is dispatched in main() before parsing (its arguments are the program's);
    # listed here for --help only.
    commands.add_parser("run", help="run a program with the runtime guard (see `torchmode run --help`)")
    lsp = commands.add_parser("lsp", help="run the language server over stdio")
    # Editors' clients commonly pass --stdio; it is the only transport, so accept it.
    lsp.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)
    return parser


def _make_output_safe(stream: TextIO) -> None:
    # Messages can be Chinese or quote non-ASCII code; a C locale must not turn that
    # into a UnicodeEncodeError traceback.
    if isinstance(stream, io.TextIOWrapper):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's own exits are turned into it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"]:
        # Before anything touches stdout: the program's output must be its own, byte for byte.
        from torchmode.runtime.command import run_main

        return run_main(arguments[1:])
    out, err = sys.stdout, sys.stderr
    _make_output_safe(out)
    _make_output_safe(err)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        code = exit_request.code
        return code if isinstance(code, int) else (EXIT_CLEAN if code is None else EXIT_ERROR)
    try:
        if args.command in ("check", "fix"):
            with gc_tuning.tuned():
                return _run_check(args, out, err)
        if args.command in ("rules", "explain") and args.locale is None:
            args.locale = locale_from_environment(os.environ)
        if args.command == "rules":
            return _run_rules(args, out)
        if args.command == "explain":
            return _run_explain(args, out)
        if args.command == "lsp":
            return _run_lsp(args, err)
    except UsageError as error:
        print(f"torchmode: error: {error}", file=err)
        return EXIT_ERROR
    except BrokenPipeError:
        # `torchmode check | head`: the reader left. Point stdout at devnull so the
        # interpreter's final flush does not print a second BrokenPipeError.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return EXIT_FINDINGS
    return EXIT_ERROR  # unreachable: argparse accepts only the commands above
