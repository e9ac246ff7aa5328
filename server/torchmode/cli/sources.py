"""Reading and writing the checked files: read as Python reads them (``torchmode.files.reading``,
shared with the language server), shown as ruff shows them, and written back by ``--fix``
atomically in the encoding they were read with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torchmode.cli.common import display_path
from torchmode.files.reading import read_source_text
from torchmode.files.writing import write_atomically
from torchmode.syntax import Position
from torchmode.syntax.notebook import Notebook


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
    read = read_source_text(path)
    if isinstance(read, str):
        return read
    return Source(path, display_path(path), read.text, read.encoding, read.notebook)


def write_source(source: Source, text: str) -> str | None:
    """Replace the file's content atomically; the reason on failure, else None."""
    try:
        data = text.encode(source.encoding)
    except UnicodeEncodeError as error:
        return f"the fixed text cannot be encoded as {source.encoding}: {error.reason}"
    target = Path(os.path.realpath(source.path))  # write through symlinks, keep the link
    try:
        write_atomically(target, data, keep_mode_of=target)
    except OSError as error:
        return f"cannot write file: {error.strerror or error}"
    return None
