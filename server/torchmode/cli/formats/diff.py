"""``--diff``: what ``--fix`` would change, as a unified diff per file, or per changed cell of a
notebook (``nb.ipynb:cell 3``, as ruff names them); nothing is written."""

from __future__ import annotations

import difflib
import re
from typing import TextIO

from torchmode.cli.checker import FileReport
from torchmode.cli.common import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Problems, plural
from torchmode.syntax.notebook import Notebook


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


def print_diff(reports: list[FileReport], out: TextIO, err: TextIO, problems: Problems, quiet: bool) -> int:
    """The diffs on ``out``, the count on ``err``; the exit code of ``--diff`` (1: there is a diff)."""
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
        print(f"Would fix {plural(fixed, 'error')}." if fixed else "No errors would be fixed.", file=err)
    if problems.count:
        return EXIT_ERROR
    return EXIT_FINDINGS if fixed else EXIT_CLEAN
