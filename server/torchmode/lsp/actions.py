"""Code actions: a quick fix per fix of each torchmode finding, and ``source.fixAll.torchmode``."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

from lsprotocol import types

from torchmode.docs import text
from torchmode.engine import CheckResult, PlainText, Settings, fix_until_stable
from torchmode.findings import Finding
from torchmode.lsp.coordinates import Encoding, minimal_edit, ranges_overlap, to_lsp_range
from torchmode.lsp.diagnostics import SOURCE, DiagnosticSupport, to_diagnostic
from torchmode.syntax import Document, Span, TextEdit, apply_edits

FIX_ALL_KIND = "source.fixAll.torchmode"
ADVERTISED_KINDS: list[str | types.CodeActionKind] = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.SourceFixAll,
    FIX_ALL_KIND,
]
Checker = Callable[[Document, Settings], CheckResult]


def kind_requested(kind: str, only: Sequence[str] | None) -> bool:
    """LSP ``context.only`` filtering: ``source.fixAll`` asks for ``source.fixAll.torchmode`` too."""
    if only is None:
        return True
    return any(wanted in ("", kind) or kind.startswith(wanted + ".") for wanted in only)


def findings_of(result: CheckResult) -> tuple[Finding, ...]:
    """Findings worth showing: none for a text that does not parse (positions would be wrong)."""
    return () if result.parse_failure is not None else result.findings


def quick_fixes(
    result: CheckResult,
    uri: str,
    requested: types.Range,
    encoding: Encoding,
    support: DiagnosticSupport,
    context_diagnostics: Sequence[types.Diagnostic] = (),
    locale: str = "en",
    other_document: Callable[[str], Document | None] | None = None,
) -> list[types.CodeAction]:
    """Fixes for findings overlapping ``requested`` or listed in the request's context,
    then a "disable for this line" action per finding.

    The context matters for Neovim: ``vim.lsp.buf.code_action()`` sends the
    cursor as the range and the diagnostics of the cursor's line as context.
    """
    document = result.document
    listed = {_identity(diagnostic) for diagnostic in context_diagnostics if diagnostic.source == SOURCE}
    actions: list[types.CodeAction] = []
    suppressions: list[types.CodeAction] = []
    for finding in findings_of(result):
        diagnostic = to_diagnostic(finding, document, uri, encoding, support, other_document)
        if not ranges_overlap(diagnostic.range, requested) and _identity(diagnostic) not in listed:
            continue
        for index, fix in enumerate(finding.fixes):
            edits = [
                types.TextEdit(range=to_lsp_range(document, edit.span, encoding), new_text=edit.new_text)
                for edit in fix.edits
            ]
            actions.append(
                types.CodeAction(
                    title=fix.title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    # Preferred fixes get applied by "auto fix" without a menu; an unsafe one must be chosen.
                    is_preferred=index == 0 and fix.applicability == "safe",
                    edit=types.WorkspaceEdit(changes={uri: edits}),
                )
            )
        suppression = _suppression(finding, document, uri, encoding, diagnostic, locale)
        if suppression is not None:
            suppressions.append(suppression)
    # Real fixes first: editors list actions in the order given.
    return actions + suppressions


def _suppression(
    finding: Finding,
    document: Document,
    uri: str,
    encoding: Encoding,
    diagnostic: types.Diagnostic,
    locale: str,
) -> types.CodeAction | None:
    """Append ``# torchmode: ignore[CODE]`` to the line where the finding starts.

    Not ``# noqa: CODE``, which the engine also honours: ruff's RUF100 reports
    a noqa with a code it does not know, so the fix would create a new warning.
    """
    if document.tree is None:
        return None
    line = finding.span.start.line
    line_text = document.line_text(line)
    code_end = len(line_text.rstrip())
    comment = f"# torchmode: ignore[{finding.code}]"
    edit = TextEdit(Span.of(line, code_end, line, len(line_text)), f"  {comment}" if code_end else comment)
    changed = Document(apply_edits(document.text, (edit,)), document.path)
    # A line ending inside a string or after a backslash would not take a comment:
    # the new text must mean exactly what the old one did.
    if changed.tree is None or ast.dump(changed.tree) != ast.dump(document.tree):
        return None
    return types.CodeAction(
        title=text("action.suppress", locale, code=finding.code),
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        edit=types.WorkspaceEdit(
            changes={
                uri: [
                    types.TextEdit(range=to_lsp_range(document, edit.span, encoding), new_text=edit.new_text)
                ]
            }
        ),
    )


def _identity(diagnostic: types.Diagnostic) -> tuple[object, ...]:
    start, end = diagnostic.range.start, diagnostic.range.end
    return (diagnostic.code, start.line, start.character, end.line, end.character)


def has_safe_fix(result: CheckResult) -> bool:
    return any(fix.applicability == "safe" for finding in findings_of(result) for fix in finding.fixes)


def fix_all_text(first: CheckResult, settings: Settings, check: Checker) -> str:
    """The text after every safe fix, applied one at a time with a check after each
    (``engine.fix_until_stable``, the loop ``check --fix`` runs too)."""
    path = first.document.path
    outcome = fix_until_stable(
        first, PlainText(first.document.text), lambda program: check(Document(program.text, path), settings)
    )
    return outcome.program.text


def fix_all_action(
    uri: str, old_text: str, new_text: str, encoding: Encoding, locale: str = "en"
) -> types.CodeAction | None:
    edit = minimal_edit(old_text, new_text, encoding)
    if edit is None:
        return None
    return types.CodeAction(
        title=text("action.fix_all", locale),
        kind=FIX_ALL_KIND,
        edit=types.WorkspaceEdit(changes={uri: [edit]}),
    )
