"""``--format json``: the findings as a JSON list in ruff's ``--output-format json`` shape."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, TextIO

from torchmode.cli.sources import Source
from torchmode.findings import Finding
from torchmode.syntax import Position, TextEdit


def print_json(entries: Sequence[tuple[Source, Finding]], out: TextIO) -> None:
    json.dump(
        [finding_to_json(source, finding) for source, finding in entries], out, indent=2, sort_keys=True
    )
    out.write("\n")


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
