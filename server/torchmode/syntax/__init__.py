"""Source text, its syntax tree and position conversions. Nothing here knows about rules or LSP."""

from torchmode.syntax.document import Document, ParseFailure
from torchmode.syntax.positions import Position, Span, TextEdit, apply_edits

__all__ = ["Document", "ParseFailure", "Position", "Span", "TextEdit", "apply_edits"]
