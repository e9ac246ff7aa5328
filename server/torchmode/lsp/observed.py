"""What a run observed (``torchmode run``'s report), shown in the editor.

The server reads the runtime report of each workspace folder, ``.torchmode/runtime.json``
(where ``torchmode run`` writes it for a project at that folder; any other report inside a
folder counts once the editor's file watcher reports it), and again whenever it changes.
Each observed finding becomes a diagnostic at its line, in the document's language
(``runtime.observations.render_message``), with related information at the ``train()`` or
``eval()`` that caused it; a static finding the run confirmed says so in its hover.

An observation is about the file as it was when the program ran. It is dropped when that is
no longer the file: its line's text in the editor (or on disk) differs from the one the report
recorded (``line_text``), or the file on disk is not the one the run read (its mtime differs
from ``source_mtime``: saved or replaced since).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from torchmode.docs import text as catalogue_text
from torchmode.engine import Settings, is_selected, rule_catalogue
from torchmode.findings import Severity
from torchmode.lsp.coordinates import Encoding, to_lsp_range
from torchmode.lsp.diagnostics import DiagnosticSupport, lsp_severity
from torchmode.runtime.observations import (
    Observation,
    SourceSpan,
    frequency_text,
    render_message,
    render_related,
)
from torchmode.runtime.report import REPORT_FOLDER, REPORT_NAME, load_report
from torchmode.syntax import Document, Span

# Diagnostics of observed findings carry this source: they come from a run, not from reading the code.
SOURCE = "torchmode run"
REPORT_SUFFIX = f"/{REPORT_FOLDER}/{REPORT_NAME}"
# File systems keep mtimes to the nanosecond or to the second; the report keeps a float.
MTIME_TOLERANCE_SECONDS = 1e-3

TextOf = Callable[[str], "str | None"]


def report_path(root: Path) -> Path:
    """Where ``torchmode run`` writes the report of a project whose root is ``root``."""
    return root / REPORT_FOLDER / REPORT_NAME


def is_report_uri(uri: str) -> bool:
    return uri.endswith(REPORT_SUFFIX)


def file_key(path: str | os.PathLike[str]) -> str:
    """One spelling per file: the report's paths and the editor's may differ by symlinks or case."""
    return os.path.normcase(os.path.realpath(path))


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


@dataclass(frozen=True)
class _Facts:
    """A rule's default severity and documentation link (from the engine's catalogue)."""

    severity: Severity
    url: str


class ObservedFindings:
    """The observed findings of every report read, by file."""

    def __init__(self) -> None:
        self._reports: dict[Path, tuple[Observation, ...]] = {}
        self._by_file: dict[str, tuple[Observation, ...]] = {}
        self._facts: dict[str, _Facts] | None = None

    @property
    def reports(self) -> list[Path]:
        return list(self._reports)

    def load(self, report: Path) -> tuple[set[str], str | None]:
        """Read ``report`` (again); a missing or broken one has no findings. Returns the files
        whose observed findings may have changed (as ``file_key``) and a problem to log."""
        problem = None
        try:
            findings: tuple[Observation, ...] = tuple(load_report(report).findings)
        except FileNotFoundError:
            findings = ()
        except (OSError, ValueError, KeyError, TypeError) as error:
            findings = ()
            problem = f"could not read the runtime report {report}: {error}"
        before = {file_key(item.span.path) for item in self._reports.get(report, ())}
        if findings:
            self._reports[report] = findings
        else:
            self._reports.pop(report, None)
        self._index()
        return before | {file_key(item.span.path) for item in findings}, problem

    def _index(self) -> None:
        by_file: dict[str, list[Observation]] = {}
        for findings in self._reports.values():
            for item in findings:
                by_file.setdefault(file_key(item.span.path), []).append(item)
        # Replaced whole, never mutated: the background check reads it from its thread.
        self._by_file = {key: tuple(items) for key, items in by_file.items()}

    def files(self) -> set[str]:
        return set(self._by_file)

    def current(self, path: str, document: Document) -> list[Observation]:
        """The observations of ``path`` that still hold for ``document`` (its text now)."""
        observations = self._by_file.get(file_key(path), ())
        if not observations:
            return []
        mtime = _mtime(path)
        return [item for item in observations if _still_holds(item, document, mtime)]

    # --- diagnostics -----------------------------------------------------------------------

    def diagnostics(
        self,
        path: str,
        document: Document,
        settings: Settings,
        encoding: Encoding,
        support: DiagnosticSupport,
        text_of: TextOf,
    ) -> list[types.Diagnostic]:
        """The diagnostics of ``path``'s observed findings that still hold for ``document``.

        ``text_of(path)`` reads another file (the editor's text if open, else the disk's), for
        the range of a switch made there.
        """
        return [
            self._diagnostic(item, document, settings, encoding, support, text_of)
            for item in self.current(path, document)
            if is_selected(item.code, settings)
        ]

    def _diagnostic(
        self,
        item: Observation,
        document: Document,
        settings: Settings,
        encoding: Encoding,
        support: DiagnosticSupport,
        text_of: TextOf,
    ) -> types.Diagnostic:
        facts = self._rule_facts().get(item.code, _Facts(Severity.WARNING, ""))
        locale = settings.locale
        related: list[types.DiagnosticRelatedInformation] | None = None
        switch = item.switch
        if support.related_information and switch is not None:
            location = self._location(
                switch.span.path, _span(switch.span), document, item.span.path, encoding, text_of
            )
            if location is not None:
                related = [
                    types.DiagnosticRelatedInformation(
                        location=location, message=render_related(item, locale) or ""
                    )
                ]
        return types.Diagnostic(
            range=to_lsp_range(document, _span(item.span), encoding),
            message=render_message(item, locale),
            severity=lsp_severity(settings.severity_for(item.code, facts.severity)),
            code=item.code,
            code_description=types.CodeDescription(href=facts.url)
            if support.code_description and facts.url
            else None,
            source=SOURCE,
            related_information=related,
        )

    @staticmethod
    def _location(
        path: str, span: Span, document: Document, own_path: str, encoding: Encoding, text_of: TextOf
    ) -> types.Location | None:
        if file_key(path) == file_key(own_path):
            other: Document | None = document
        else:
            text = text_of(path)
            other = Document(text, path) if text is not None else None
        if other is None:
            return None  # no longer there: better no link than a wrong one
        return types.Location(uri=Path(path).as_uri(), range=to_lsp_range(other, span, encoding))

    def _rule_facts(self) -> dict[str, _Facts]:
        if self._facts is None:
            self._facts = {info.code: _Facts(info.default_severity, info.url()) for info in rule_catalogue()}
        return self._facts

    # --- hover -----------------------------------------------------------------------------

    def confirmation(
        self, path: str, document: Document, code: str, lines: Iterable[int], locale: str
    ) -> str | None:
        """The hover's note on a static finding of ``code`` over ``lines`` that the run confirmed."""
        wanted = set(lines)
        for item in self.current(path, document):
            if item.code == code and item.span.line in wanted:
                return catalogue_text(
                    "observed.confirmed", locale, code=code, frequency=frequency_text(item, locale)
                )
        return None


def _span(span: SourceSpan) -> Span:
    return Span.of(span.line, span.column, span.end_line, span.end_column)


def _still_holds(item: Observation, document: Document, mtime: float | None) -> bool:
    """The file is still the one the run read: same line text, and (when the report knows it)
    the same file on disk."""
    if item.source_mtime is not None and (
        mtime is None or abs(mtime - item.source_mtime) > MTIME_TOLERANCE_SECONDS
    ):
        return False
    if item.span.line < 1 or item.span.line > len(document.line_offsets):
        return False
    return not item.line_text or document.line_text(item.span.line) == item.line_text
