"""Text-edit builders shared by rules: insert a statement line, move one, delete one.

Edits are computed from exact ``ast`` positions and the document's own lines, so
indentation, comments and line endings outside the edited lines stay as they were.
"""

from torchmode.fixes.lines import (
    delete_statement_lines,
    insert_line_after,
    insert_line_before,
    is_alone_on_its_lines,
    parses_after,
)

__all__ = [
    "delete_statement_lines",
    "insert_line_after",
    "insert_line_before",
    "is_alone_on_its_lines",
    "parses_after",
]
