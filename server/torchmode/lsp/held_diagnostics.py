"""Diagnostics held over the versions that do not parse.

Typing a statement passes through texts that are not Python (``with torch.no`` ...). A check
of such a text finds nothing it can place, and publishing nothing would make every squiggle
of the file vanish at the first keystroke and come back at the last. Instead the diagnostics
of the last version that parsed are published again: those above the lines that changed
since as they were, those below moved by the lines added or removed, those on the changed
lines dropped (their text is no longer what was checked). The next version that parses is
checked and published as usual, replacing them.
"""

from __future__ import annotations

from dataclasses import dataclass

import attrs
from lsprotocol import types

from torchmode.engine import Settings
from torchmode.syntax.positions import common_prefix_length, common_suffix_length


@dataclass(frozen=True)
class ChangedLines:
    """The lines that differ between two texts: ``first`` to ``old_last`` of the old text
    became ``first`` to ``old_last + delta`` of the new one; the lines after them are the
    same text, ``delta`` lines further down."""

    first: int
    old_last: int
    delta: int

    def move(self, span: types.Range) -> types.Range | None:
        """Where a range of the old text is in the new one; None when it is on a changed line."""
        if span.end.line < self.first:
            return span
        if span.start.line > self.old_last:
            return types.Range(
                start=types.Position(line=span.start.line + self.delta, character=span.start.character),
                end=types.Position(line=span.end.line + self.delta, character=span.end.character),
            )
        return None


def changed_lines(old: str, new: str) -> ChangedLines | None:
    """The one stretch of lines that differs between ``old`` and ``new``; None if they are equal."""
    if old == new:
        return None
    prefix = common_prefix_length(old, new)
    suffix = common_suffix_length(old, new, min(len(old), len(new)) - prefix)
    first = old.count("\n", 0, prefix)
    old_last = old.count("\n", 0, len(old) - suffix)
    new_last = new.count("\n", 0, len(new) - suffix)
    return ChangedLines(first, old_last, new_last - old_last)


@dataclass(frozen=True)
class _Held:
    text: str
    settings: Settings
    diagnostics: tuple[types.Diagnostic, ...]


class HeldDiagnostics:
    """The diagnostics last published for a version of each open document that parsed."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def keep(self, uri: str, text: str, settings: Settings, diagnostics: list[types.Diagnostic]) -> None:
        self._held[uri] = _Held(text, settings, tuple(diagnostics))

    def forget(self, uri: str) -> None:
        self._held.pop(uri, None)

    def carried_to(self, uri: str, text: str, settings: Settings) -> list[types.Diagnostic] | None:
        """The held diagnostics moved onto ``text`` (a version that does not parse); None when
        none are held for these settings (a rule turned off while the text does not parse
        must not stay on screen)."""
        held = self._held.get(uri)
        if held is None or held.settings != settings:
            return None
        change = changed_lines(held.text, text)
        if change is None:
            return list(held.diagnostics)
        carried: list[types.Diagnostic] = []
        for diagnostic in held.diagnostics:
            moved = change.move(diagnostic.range)
            if moved is None:
                continue
            related = diagnostic.related_information
            if related is not None:
                related = [
                    _moved_related(information, uri, change)
                    for information in related
                    if information.location.uri != uri or change.move(information.location.range) is not None
                ]
            carried.append(attrs.evolve(diagnostic, range=moved, related_information=related))
        return carried


def _moved_related(
    information: types.DiagnosticRelatedInformation, uri: str, change: ChangedLines
) -> types.DiagnosticRelatedInformation:
    if information.location.uri != uri:
        return information  # another file: its lines did not change with this one
    moved = change.move(information.location.range)
    assert moved is not None
    return attrs.evolve(information, location=attrs.evolve(information.location, range=moved))
