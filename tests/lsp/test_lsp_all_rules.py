"""Every rule reaches the editor: for each rule of ``ALL_RULES``, its first INVALID example is opened
in the real server over stdio, and the diagnostic, each quick fix, "Disable … for this line" and
``source.fixAll.torchmode`` are exercised through the protocol. A new rule is covered by adding it.
"""

from __future__ import annotations

import ast

import pytest
from lsp_helpers import (
    REPO,
    RecordingClient,
    apply_lsp_edits,
    change_whole,
    initialize,
    open_document,
    wait_for_publish,
)
from lsprotocol import types
from pygls.uris import to_fs_path

from torchmode.engine import Settings
from torchmode.engine import check_document as check_with_policy
from torchmode.findings import Finding, Severity
from torchmode.lsp import actions
from torchmode.rules import ALL_RULES, Rule
from torchmode.syntax import Document

_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


def uri_for(rule: type[Rule]) -> str:
    # Not on disk: the server works on the client's text. The folder has no
    # [tool.torchmode] (the repository's pyproject.toml has none), so defaults apply.
    return (REPO / "tests" / "lsp" / f"example_{rule.code.lower()}.py").as_uri()


def rule_diagnostics(params: types.PublishDiagnosticsParams, rule: type[Rule]) -> list[types.Diagnostic]:
    return [diagnostic for diagnostic in params.diagnostics if diagnostic.code == rule.code]


def first_finding(rule: type[Rule], text: str, uri: str) -> Finding:
    """What the engine itself says, in process, with the server's (default) settings."""
    result = check_with_policy(Document(text, to_fs_path(uri) or uri), Settings())
    return next(finding for finding in result.findings if finding.code == rule.code)


def request(
    uri: str, at: types.Range, diagnostics: list[types.Diagnostic], only: list[str | types.CodeActionKind]
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=at,
        context=types.CodeActionContext(diagnostics=diagnostics, only=only),
    )


def edited(text: str, action: types.CodeAction, uri: str) -> str:
    assert action.edit is not None and action.edit.changes is not None, action
    assert set(action.edit.changes) == {uri}
    return apply_lsp_edits(text, list(action.edit.changes[uri]))


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.code)
async def test_rule_reaches_the_editor_with_fixes_and_suppression(
    client: RecordingClient, rule: type[Rule]
) -> None:
    await initialize(client)
    example = rule.INVALID[0]
    text = example.code
    uri = uri_for(rule)
    finding = first_finding(rule, text, uri)

    # --- the diagnostic --------------------------------------------------------------------
    open_document(client, text, uri=uri)
    published = await wait_for_publish(client, version=1, uri=uri)
    ours = rule_diagnostics(published, rule)
    assert ours, f"{rule.code}: no diagnostic for its first INVALID example: {published.diagnostics}"
    diagnostic = next(d for d in ours if d.range.start.line == finding.span.start.line - 1)
    assert diagnostic.range.start.line == example.line - 1
    assert diagnostic.source == "torchmode"
    assert diagnostic.message == finding.message
    assert diagnostic.severity == _SEVERITIES[finding.severity]
    assert diagnostic.code_description is not None
    assert diagnostic.code_description.href == rule.url()

    # --- quick fixes: every fix the engine offers, then the suppression --------------------
    offered = await client.text_document_code_action_async(
        request(uri, diagnostic.range, [diagnostic], ["quickfix"])
    )
    assert offered is not None
    quick_fixes = [
        action
        for action in offered
        if isinstance(action, types.CodeAction) and action.diagnostics and action.diagnostics[0] == diagnostic
    ]
    titles = [action.title for action in quick_fixes]
    disable_title = f"Disable {rule.code} for this line"
    assert titles == [fix.title for fix in finding.fixes] + [disable_title], titles
    for action in quick_fixes:
        assert action.kind == types.CodeActionKind.QuickFix

    version = 1
    for action in quick_fixes:
        new_text = edited(text, action, uri)
        ast.parse(new_text)
        version += 1
        change_whole(client, new_text, version=version, uri=uri)
        after = await wait_for_publish(client, version=version, uri=uri)
        # The finding is gone: fewer of this rule's diagnostics (a fix may settle several).
        assert len(rule_diagnostics(after, rule)) < len(ours), (action.title, after.diagnostics)
        if action.title == disable_title:
            line = new_text.splitlines()[finding.span.start.line - 1]
            assert line.endswith(f"# torchmode: ignore[{rule.code}]")
        # Back to the example for the next action.
        version += 1
        change_whole(client, text, version=version, uri=uri)
        assert rule_diagnostics(await wait_for_publish(client, version=version, uri=uri), rule) == ours

    # --- fix-all: only the fixes marked safe ------------------------------------------------
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(text.splitlines()), character=0),
    )
    fix_all = await client.text_document_code_action_async(request(uri, whole, [], [actions.FIX_ALL_KIND]))
    assert fix_all is not None
    document = Document(text, to_fs_path(uri) or uri)
    first_result = check_with_policy(document, Settings())
    expected = actions.fix_all_text(first_result, Settings(), check_with_policy)
    if not actions.has_safe_fix(first_result):
        assert list(fix_all) == []
        return
    (action,) = fix_all
    assert isinstance(action, types.CodeAction) and action.kind == actions.FIX_ALL_KIND
    fixed = edited(text, action, uri)
    assert fixed == expected
    if all(fix.applicability == "unsafe" for fix in finding.fixes):
        # An unsafe fix is never applied by fix-all: the finding stays.
        remaining = check_with_policy(Document(fixed, document.path), Settings()).findings
        assert any(item.code == rule.code for item in remaining)
    version += 1
    change_whole(client, fixed, version=version, uri=uri)
    after_fix_all = await wait_for_publish(client, version=version, uri=uri)
    if any(fix.applicability == "safe" for fix in finding.fixes):
        assert len(rule_diagnostics(after_fix_all, rule)) < len(ours)
