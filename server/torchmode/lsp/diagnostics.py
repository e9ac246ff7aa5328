"""Findings -> LSP diagnostics. The same function serves publishing and code actions,
so the diagnostics attached to a quick fix equal the published ones."""

from __future__ import annotations

from dataclasses import dataclass

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
        text_document = capabilities.text_document
        publish = text_document.publish_diagnostics if text_document else None
        if publish is None:
            return DiagnosticSupport(related_information=False, code_description=False)
        return DiagnosticSupport(
            related_information=bool(publish.related_information),
            code_description=bool(publish.code_description_support),
        )


def to_diagnostic(
    finding: Finding,
    document: Document,
    uri: str,
    encoding: Encoding,
    support: DiagnosticSupport = DiagnosticSupport(),
) -> types.Diagnostic:
    related: list[types.DiagnosticRelatedInformation] | None = None
    if support.related_information and finding.related:
        # Related spans are in the same document: the analysis is per file.
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=to_lsp_range(document, item.span, encoding)),
                message=item.message,
            )
            for item in finding.related
        ]
    description = (
        types.CodeDescription(href=finding.url) if support.code_description and finding.url else None
    )
    return types.Diagnostic(
        range=to_lsp_range(document, finding.span, encoding),
        message=finding.message,
        severity=_SEVERITIES.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=description,
        source=SOURCE,
        related_information=related,
    )
