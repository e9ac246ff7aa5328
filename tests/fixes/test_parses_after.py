"""``parses_after`` re-parses only the top-level statements a fix touches: it must answer
exactly as parsing the whole edited file would."""

from __future__ import annotations

import ast
import random
import warnings
from pathlib import Path

import pytest

from torchmode.fixes.lines import parses_after
from torchmode.syntax import Document, Position, Span, TextEdit, apply_edits

CASES = sorted((Path(__file__).resolve().parents[1] / "cases").glob("tm*/*.py"))
ROUNDS = 40
SNIPPETS = [
    "",
    "pass",
    "    pass\n",
    "x = (",
    ")",
    "\n",
    "  y = 1\n",
    "def f():\n",
    "'''",
    "#",
    "\\",
    "else:\n",
]


def whole_file_parses(document: Document, edits: list[TextEdit]) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes the random edits create
            ast.parse(apply_edits(document.text, edits))
    except (SyntaxError, ValueError):
        return False
    return True


def random_edit(document: Document, rng: random.Random) -> TextEdit:
    line_count = len(document.line_offsets)
    start_line = rng.randint(1, line_count)
    end_line = min(line_count, start_line + rng.choice([0, 0, 0, 1, 3]))
    start = Position(start_line, rng.randint(0, len(document.line_text(start_line))))
    end_column = rng.randint(0, len(document.line_text(end_line)))
    end = Position(end_line, end_column) if (end_line, end_column) >= (start.line, start.column) else start
    return TextEdit(Span(start, end), rng.choice(SNIPPETS))


@pytest.mark.parametrize("path", CASES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_parsing_the_touched_statements_agrees_with_parsing_the_file(path: Path) -> None:
    document = Document(path.read_text(encoding="utf-8"), str(path))
    rng = random.Random(path.name)
    for _ in range(ROUNDS):
        edits = [random_edit(document, rng)]
        if rng.random() < 0.3:
            second = random_edit(document, rng)
            if second.span.start > edits[0].span.end or second.span.end < edits[0].span.start:
                edits.append(second)
        assert parses_after(document, edits) == whole_file_parses(document, edits), edits
