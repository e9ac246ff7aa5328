"""Findings -> LSP diagnostics. The same function serves publishing and code actions,
so the diagnostics attached to a quick fix equal the published ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from torchmode.findings import Finding, Severity
from torchmode.lsp.coordinates import Encoding, to_lsp_range
from torchmode.syntax import Document

SOURCE = "torchmode"

_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


def lsp_severity(severity: Severity) -> types.DiagnosticSeverity:
    return _SEVERITIES.get(severity, types.DiagnosticSeverity.Warning)


@dataclass(frozen=True)
class DiagnosticSupport:
    """Optional diagnostic fields the client declared it understands.

    Sending fields a client did not declare is legal but wasteful, and
    pytest-lsp flags it; the message text stands on its own without them.
    """

    related_information: bool = True
    code_description: bool = True

    @staticmethod
    def of(capabilities: types.ClientCapabilities) -> DiagnosticSupport:
        """What the client takes in pushed diagnostics (``publishDiagnostics``)."""
        text_document = capabilities.text_document
        return DiagnosticSupport._declared(text_document.publish_diagnostics if text_document else None)

    @staticmethod
    def of_pull(capabilities: types.ClientCapabilities) -> DiagnosticSupport:
        """What the client takes in pulled diagnostics (``textDocument/diagnostic``)."""
        text_document = capabilities.text_document
        return DiagnosticSupport._declared(text_document.diagnostic if text_document else None)

    @staticmethod
    def _declared(
        declared: types.PublishDiagnosticsClientCapabilities | types.DiagnosticClientCapabilities | None,
    ) -> DiagnosticSupport:
        # Both capability objects name the two features alike; nothing declared is neither.
        if declared is None:
            return DiagnosticSupport(related_information=False, code_description=False)
        return DiagnosticSupport(
            related_information=bool(declared.related_information),
            code_description=bool(declared.code_description_support),
        )


def to_diagnostic(
    finding: Finding,
    document: Document,
    uri: str,
    encoding: Encoding,
    support: DiagnosticSupport = DiagnosticSupport(),
    other_document: Callable[[str], Document | None] | None = None,
) -> types.Diagnostic:
    """``other_document`` gives the text of another file a related place is in (a function
    imported from it set the mode): its ranges are counted in that file's UTF-16 units."""
    related: list[types.DiagnosticRelatedInformation] | None = None
    if support.related_information and finding.related:
        related = []
        for item in finding.related:
            if not item.path:
                location = types.Location(uri=uri, range=to_lsp_range(document, item.span, encoding))
            else:
                other = other_document(item.path) if other_document is not None else None
                if other is None:
                    continue  # no longer known: better no link than a wrong one
                location = types.Location(
                    uri=Path(item.path).as_uri(), range=to_lsp_range(other, item.span, encoding)
                )
            related.append(types.DiagnosticRelatedInformation(location=location, message=item.message))
    description = (
        types.CodeDescription(href=finding.url) if support.code_description and finding.url else None
    )
    return types.Diagnostic(
        range=to_lsp_range(document, finding.span, encoding),
        message=finding.message,
        severity=lsp_severity(finding.severity),
        code=finding.code,
        code_description=description,
        source=SOURCE,
        related_information=related,
    )
