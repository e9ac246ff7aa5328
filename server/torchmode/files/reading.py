"""Reading a checked file as Python reads it: the encoding from a BOM or a coding declaration
(UTF-8 otherwise), line endings left exactly as they are, and a notebook's code cells joined
into one program (``torchmode.syntax.notebook``)."""

from __future__ import annotations

import io
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path

from torchmode.syntax.notebook import Notebook, NotebookError, is_notebook_path


@dataclass(frozen=True)
class SourceText:
    """A file's decoded text, the encoding it was read with, and for a ``.ipynb`` its notebook."""

    text: str
    # "utf-8-sig" when it starts with a BOM, so that writing it back keeps the BOM.
    encoding: str
    notebook: Notebook | None = None

    @property
    def program_text(self) -> str:
        """The Python text the engine checks: the file, or a notebook's cells joined."""
        return self.text if self.notebook is None else self.notebook.program.text


def read_source_text(path: Path) -> SourceText | str:
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
        return SourceText(text, encoding, notebook)
    return SourceText(text, encoding)
