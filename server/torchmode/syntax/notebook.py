"""Jupyter notebooks as one program: the code cells in document order, concatenated.

A notebook's bugs span cells (``model.train()`` in one, the loop in the next),
so the engine sees one text. This module builds that text, maps positions
between it and (cell, line, column), turns the engine's edits on it back into
edits of single cells, and writes a changed notebook back touching only the
``source`` of the changed cells.

IPython syntax is not Python: line magics (``%time``), shell escapes (``!pip``),
help (``obj?``) and cell magics (``%%bash``) are replaced by neutral text of the
same length, so every position in the program is the same position in the cell.
Fixes never edit a neutralised line (it is not what the user wrote).

The order of execution is taken to be the document order: a notebook run out of
order is not what the analysis sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from torchmode.syntax import Position, Span, TextEdit, apply_edits

NOTEBOOK_SUFFIX = ".ipynb"

# A line IPython rewrites before Python sees it: a magic, a shell escape, a help
# request, or an assignment from one (``files = !ls``).
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!?]|[\w.]+\s*=\s*[%!])|^[^#'\"]*\?\s*$")


# Cell magics whose body IPython runs as Python in the same namespace, as ruff lists them.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "debug", "prun", "python", "python3", "pypy"})


class NotebookError(Exception):
    """The file is not a notebook this module can read (the message says why)."""


class CellEditError(ValueError):
    """An edit of the program that cannot be expressed as an edit of one cell."""


def is_notebook_path(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


@dataclass(frozen=True)
class CellPosition:
    """A position in one cell: ``cell`` is the 0-based index among all cells
    (markdown included, as notebook UIs and ruff count them); ``line`` is 1-based,
    ``column`` counts code points from 0."""

    cell: int
    line: int
    column: int


@dataclass(frozen=True)
class CellEdit:
    cell: int
    span: Span  # lines and columns relative to the cell
    new_text: str


@dataclass(frozen=True)
class CodeCell:
    """One code cell's text as the user wrote it, and the lines that were neutralised."""

    index: int
    source: str
    neutralised: frozenset[int]  # 1-based lines of the cell
    # Of those, the lines that continue the one above (``!pip install a \`` then ``b``).
    continuations: frozenset[int] = frozenset()

    @staticmethod
    def of(index: int, source: str) -> CodeCell:
        lines = source.split("\n")
        starts = set(_ipython_lines(lines))
        neutralised = set(starts)
        continuations: set[int] = set()
        for number in sorted(starts):
            # IPython joins a magic or shell line ending in a backslash with the next line,
            # and so on: all of it is shell (or magic) text, none of it Python.
            while lines[number - 1].rstrip("\r").endswith("\\") and number < len(lines):
                number += 1
                if number not in starts:
                    continuations.add(number)
                neutralised.add(number)
        return CodeCell(index, source, frozenset(neutralised), frozenset(continuations))

    def python_text(self) -> str:
        """The cell with IPython syntax replaced by same-length neutral text."""
        if not self.neutralised:
            return self.source
        lines = self.source.split("\n")
        for number in self.neutralised:
            lines[number - 1] = _neutral(lines[number - 1], number in self.continuations)
        return "\n".join(lines)


def _ipython_lines(lines: list[str]) -> Iterable[int]:
    first = lines[0].lstrip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            # The cell goes to something else (bash, HTML, ...): none of it is Python.
            return range(1, len(lines) + 1)
        # The body is Python that IPython runs as usual (timed, captured...).
        return (number for number, line in enumerate(lines, 1) if number == 1 or _IPYTHON_LINE.match(line))
    return (number for number, line in enumerate(lines, 1) if _IPYTHON_LINE.match(line))


def _neutral(line: str, continuation: bool = False) -> str:
    """``pass`` plus a comment, same length, so that an indented magic still fills its block;
    a continuation line becomes a comment only (its indentation means nothing to Python)."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    if not body:
        return line
    if len(body) >= 5 and not continuation:
        return indent + "pass#" + "_" * (len(body) - 5)
    return indent + "#" + "_" * (len(body) - 1)


@dataclass(frozen=True)
class NotebookProgram:
    """The code cells of a notebook joined into one program, with the position maps."""

    cells: tuple[CodeCell, ...]
    text: str
    # For each code cell, in order: the 1-based program line where it starts and its line count.
    starts: tuple[int, ...]
    line_counts: tuple[int, ...]

    @staticmethod
    def build(cells: Iterable[CodeCell]) -> NotebookProgram:
        cells = tuple(cells)
        pieces: list[str] = []
        starts: list[int] = []
        counts: list[int] = []
        line = 1
        for cell in cells:
            text = cell.python_text()
            # Each cell ends with a newline in the program so that the next one
            # starts on a line of its own; a cell's own final newline is kept.
            if not text.endswith("\n"):
                text += "\n"
            count = text.count("\n")
            starts.append(line)
            counts.append(count)
            line += count
            pieces.append(text)
        return NotebookProgram(cells, "".join(pieces), tuple(starts), tuple(counts))

    # --- positions -------------------------------------------------------------------

    def slot_of_line(self, line: int) -> int:
        """The position in ``cells`` of the cell holding program ``line`` (clamped)."""
        slot = 0
        for candidate, start in enumerate(self.starts):
            if start <= line:
                slot = candidate
        return slot

    def to_cell(self, position: Position) -> CellPosition:
        if not self.cells:
            return CellPosition(0, position.line, position.column)
        slot = self.slot_of_line(position.line)
        return CellPosition(self.cells[slot].index, position.line - self.starts[slot] + 1, position.column)

    def to_program(self, position: CellPosition) -> Position:
        for slot, cell in enumerate(self.cells):
            if cell.index == position.cell:
                return Position(self.starts[slot] + position.line - 1, position.column)
        raise KeyError(position.cell)

    def cell_line(self, line: int) -> tuple[int, int] | None:
        """(cell number as the notebook shows it, 1-based; line in that cell) of a program
        line: how messages name a line in a notebook (``docs.i18n.CellLines``)."""
        if not self.cells or not 1 <= line < self.starts[-1] + self.line_counts[-1]:
            return None
        position = self.to_cell(Position(line, 0))
        return position.cell + 1, position.line

    def slot_of_cell(self, cell_index: int) -> int:
        for slot, cell in enumerate(self.cells):
            if cell.index == cell_index:
                return slot
        raise KeyError(cell_index)

    # --- edits -----------------------------------------------------------------------

    def to_cell_edit(self, edit: TextEdit) -> CellEdit:
        """The edit as an edit of one cell; ``CellEditError`` when it spans cells.

        An edit that starts on a cell's first line belongs to that cell, so an
        insertion at a boundary goes with the statement that follows it. An end
        at column 0 of the next cell's first line is the end of this cell's text.
        """
        start, end = edit.span.start, edit.span.end
        slot = self.slot_of_line(start.line)
        first = self.starts[slot]
        last_line = first + self.line_counts[slot]  # the line after the cell
        if end.line > last_line or (end.line == last_line and end.column > 0):
            raise CellEditError("the edit spans more than one cell")
        cell = self.cells[slot]
        start_line, end_line = start.line - first + 1, end.line - first + 1
        if start == end:
            # An insertion changes a neutralised line only when it lands inside one.
            touched = range(start_line, start_line + 1) if start.column > 0 else range(0)
        else:
            touched = range(start_line, end_line + (1 if end.column > 0 else 0))
        if any(line in cell.neutralised for line in touched):
            raise CellEditError("the edit touches a line of IPython syntax")
        span = Span.of(start_line, start.column, end_line, end.column)
        return CellEdit(cell.index, span, edit.new_text)

    def cell_edits(self, edits: Sequence[TextEdit]) -> dict[int, list[CellEdit]]:
        """Edits grouped by cell index; raises ``CellEditError`` if any cannot be mapped."""
        grouped: dict[int, list[CellEdit]] = {}
        for edit in edits:
            mapped = self.to_cell_edit(edit)
            grouped.setdefault(mapped.cell, []).append(mapped)
        return grouped

    def apply(self, edits: Sequence[TextEdit]) -> NotebookProgram:
        """The program after ``edits``, with the changes made in the cells' own sources."""
        grouped = self.cell_edits(edits)
        cells = list(self.cells)
        for cell_index, cell_edits in grouped.items():
            slot = self.slot_of_cell(cell_index)
            cells[slot] = CodeCell.of(cell_index, apply_cell_edits(cells[slot].source, cell_edits))
        return NotebookProgram.build(cells)


def apply_cell_edits(source: str, edits: Sequence[CellEdit]) -> str:
    """Apply edits made against the cell as it appears in the program (with a final newline)."""
    added_newline = not source.endswith("\n")
    text = source + "\n" if added_newline else source
    text = apply_edits(text, [TextEdit(edit.span, edit.new_text) for edit in edits])
    if added_newline and text.endswith("\n"):
        text = text[:-1]
    return text


# --- the JSON file -------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonStyle:
    """How the file was written, so that writing it back changes only what was fixed."""

    indent: int | None
    ensure_ascii: bool
    trailing_newline: bool


def _detect_style(raw: str) -> JsonStyle:
    match = re.match(r"\s*\{\r?\n( *)\"", raw)
    indent = len(match.group(1)) if match else None
    has_non_ascii = any(ord(char) > 127 for char in raw)
    escapes_non_ascii = re.search(r"\\u(?:00[89a-fA-F]|0[1-9a-fA-F]|[1-9a-fA-F])", raw) is not None
    return JsonStyle(indent, escapes_non_ascii and not has_non_ascii, raw.endswith("\n"))


@dataclass
class Notebook:
    """An nbformat-4 notebook read from JSON; everything but the changed sources is kept as read."""

    data: dict[str, Any]
    style: JsonStyle
    program: NotebookProgram

    @staticmethod
    def parse(raw: str) -> Notebook:
        """The notebook in ``raw``; ``NotebookError`` saying what is wrong otherwise."""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as error:
            raise NotebookError(
                f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            ) from None
        except RecursionError:
            raise NotebookError("not valid JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise NotebookError("not a notebook: the JSON document is not an object")
        major = data.get("nbformat")
        if not isinstance(major, int) or isinstance(major, bool):
            raise NotebookError("not a notebook: no integer 'nbformat' field")
        if major != 4:
            raise NotebookError(f"unsupported nbformat {major}: only version 4 notebooks can be checked")
        cells = data.get("cells")
        if not isinstance(cells, list):
            raise NotebookError("not a notebook: 'cells' is missing or not a list")
        code: list[CodeCell] = []
        for index, cell in enumerate(cells):
            if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
                raise NotebookError(f"cell {index + 1} is not an object with a 'cell_type'")
            if cell["cell_type"] != "code":
                continue
            code.append(CodeCell.of(index, source_text(cell.get("source"), index)))
        return Notebook(data, _detect_style(raw), NotebookProgram.build(code))

    def with_program(self, program: NotebookProgram) -> Notebook:
        return Notebook(self.data, self.style, program)

    def changed_cells(self) -> list[int]:
        """Indices of the code cells whose source differs from the file's."""
        cells = self.data["cells"]
        return [
            cell.index
            for cell in self.program.cells
            if source_text(cells[cell.index].get("source"), cell.index) != cell.source
        ]

    def dumps(self) -> str:
        """The JSON text with the program's cell sources; other cells are the same objects."""
        cells = list(self.data["cells"])
        for index in self.changed_cells():
            cell = dict(cells[index])  # same key order; the original dict is not mutated
            cell["source"] = source_value(
                self.program.cells[self.program.slot_of_cell(index)].source, cell.get("source")
            )
            cells[index] = cell
        data = dict(self.data)
        data["cells"] = cells
        text = json.dumps(data, indent=self.style.indent, ensure_ascii=self.style.ensure_ascii)
        return text + "\n" if self.style.trailing_newline else text


def source_text(value: object, index: int) -> str:
    """A cell's ``source``: a string, or a list of strings (lines with their newlines)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "".join(value)
    raise NotebookError(f"cell {index + 1}: 'source' is neither a string nor a list of strings")


def source_value(text: str, original: object) -> str | list[str]:
    """``text`` in the shape the cell used: nbformat writes a list of lines."""
    if isinstance(original, str):
        return text
    return text.splitlines(keepends=True)
