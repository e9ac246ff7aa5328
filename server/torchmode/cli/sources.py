"""Reading and writing the checked files as Python reads them: the encoding from a BOM or a
coding declaration (UTF-8 otherwise), line endings left exactly as they are, and a notebook's
code cells joined into one program (``torchmode.syntax.notebook``). ``--fix`` writes a file back
atomically in the encoding it was read with."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

from torchmode.cli.common import display_path
from torchmode.syntax import Position
from torchmode.syntax.notebook import Notebook, NotebookError, is_notebook_path


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
