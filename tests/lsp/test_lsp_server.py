"""End-to-end: the real `python -m torchmode.lsp` over stdio, driven by pytest-lsp."""

from __future__ import annotations

import ast
import asyncio

import pytest
from lsp_helpers import (
    REPO,
    SEED_URI,
    RecordingClient,
    apply_lsp_edits,
    change_range,
    change_whole,
    initialize,
    open_document,
    seed_text,
    server_config,
    train_forward_line,
    wait_for_publish,
    wait_until,
)
from lsprotocol import types
from pytest_lsp import client_capabilities

from support.checkout import PACKAGE_INIT


def _insert(line: int, character: int, text: str) -> types.TextEdit:
    position = types.Position(line=line, character=character)
    return types.TextEdit(range=types.Range(start=position, end=position), new_text=text)


def tm101(params: types.PublishDiagnosticsParams) -> list[types.Diagnostic]:
    return [d for d in params.diagnostics if d.code == "TM101"]


def code_action_params(
    at: types.Range | int,
    only: list[str | types.CodeActionKind] | None = None,
    uri: str = SEED_URI,
    diagnostics: list[types.Diagnostic] | None = None,
) -> types.CodeActionParams:
    """A code action request like an editor's: a range (or a cursor at the start of a line)."""
    if isinstance(at, int):
        cursor = types.Position(line=at, character=0)
        at = types.Range(start=cursor, end=cursor)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=at,
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


async def test_the_started_server_is_this_checkout(client: RecordingClient) -> None:
    """The server process imports this checkout's package, not another install in the venv."""
    await initialize(client)
    ready = await wait_until(
        lambda: next((m.message for m in client.log_messages if " ready " in m.message), None),
        "the server's ready message",
    )
    assert f"package {PACKAGE_INIT.parent}" in ready, ready


async def test_initialize_advertises_features(client: RecordingClient) -> None:
    result = await initialize(client)
    capabilities = result.capabilities
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close
    assert capabilities.hover_provider
    options = capabilities.code_action_provider
    assert isinstance(options, types.CodeActionOptions)
    assert options.code_action_kinds is not None
    kinds = {str(getattr(kind, "value", kind)) for kind in options.code_action_kinds}
    assert {"quickfix", "source.fixAll", "source.fixAll.torchmode"} <= kinds
    assert result.server_info is not None and result.server_info.name == "torchmode"


async def test_seed_example_reports_tm101_with_related_information(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    published = await wait_for_publish(client, version=1)

    findings = tm101(published)
    assert len(findings) == 1, published.diagnostics
    diagnostic = findings[0]
    line = train_forward_line(text)
    assert diagnostic.range.start.line == line
    assert diagnostic.range.end.line == line
    # The range covers the forward call `model(data)` on that line.
    source_line = text.splitlines()[line]
    start = source_line.index("model(data)")
    assert diagnostic.range.start.character == start
    assert diagnostic.range.end.character == start + len("model(data)")
    assert diagnostic.source == "torchmode"
    assert diagnostic.severity == types.DiagnosticSeverity.Warning
    assert diagnostic.code_description is not None and diagnostic.code_description.href

    related = diagnostic.related_information or []
    lines = text.splitlines()
    related_sources = []
    for info in related:
        assert info.location.uri == SEED_URI
        span_line = lines[info.location.range.start.line]
        related_sources.append(
            span_line[info.location.range.start.character : info.location.range.end.character]
        )
    assert "test(model, validation_loader)" in related_sources
    assert "model.train()" in related_sources


async def test_quick_fix_moves_train_into_loop(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    published = await wait_for_publish(client, version=1)
    found = tm101(published)[0]

    result = await client.text_document_code_action_async(code_action_params(found.range))
    assert result is not None
    quick_fixes = [
        action
        for action in result
        if isinstance(action, types.CodeAction) and action.kind == types.CodeActionKind.QuickFix
    ]
    assert quick_fixes, result
    preferred = [action for action in quick_fixes if action.is_preferred]
    assert len(preferred) == 1
    action = preferred[0]
    assert "model.train()" in action.title and "loop" in action.title
    assert action.diagnostics and action.diagnostics[0].code == "TM101"
    assert action.diagnostics[0].range == tm101(published)[0].range
    assert action.edit is not None and action.edit.changes is not None

    fixed = apply_lsp_edits(text, list(action.edit.changes[SEED_URI]))
    ast.parse(fixed)
    assert fixed != text
    change_whole(client, fixed, version=2)
    after = await wait_for_publish(client, version=2)
    assert tm101(after) == []


async def test_disable_for_this_line_suppresses_the_finding(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    found = tm101(await wait_for_publish(client, version=1))[0]

    result = await client.text_document_code_action_async(code_action_params(found.range))
    assert result is not None
    titles = [a.title for a in result]
    disable = [
        a for a in result if isinstance(a, types.CodeAction) and a.title == "Disable TM101 for this line"
    ]
    assert len(disable) == 1, titles
    quick_fix_titles = [
        a.title for a in result if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix
    ]
    assert quick_fix_titles[-1] == disable[0].title  # after the real fixes
    assert not disable[0].is_preferred
    assert disable[0].edit is not None and disable[0].edit.changes is not None
    suppressed = apply_lsp_edits(text, list(disable[0].edit.changes[SEED_URI]))
    assert suppressed.splitlines()[found.range.start.line].endswith("model(data)  # torchmode: ignore[TM101]")
    ast.parse(suppressed)

    change_whole(client, suppressed, version=2)
    assert tm101(await wait_for_publish(client, version=2)) == []


async def test_cursor_elsewhere_on_the_line_uses_context_diagnostics(client: RecordingClient) -> None:
    await initialize(client)
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    found = tm101(published)[0]
    line = found.range.start.line

    # The cursor at the start of the line does not touch the finding's range...
    result = await client.text_document_code_action_async(code_action_params(line, only=["quickfix"]))
    assert result is not None and list(result) == []
    # ...but Neovim sends the line's diagnostics as context, and those count.
    result = await client.text_document_code_action_async(
        code_action_params(line, only=["quickfix"], diagnostics=[found])
    )
    assert result and all(isinstance(a, types.CodeAction) for a in result)


async def test_only_fix_all_returns_only_the_fix_all_action(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    published = await wait_for_publish(client, version=1)
    found = tm101(published)[0]
    line = found.range.start.line

    result = await client.text_document_code_action_async(
        code_action_params(found.range, only=["source.fixAll"])
    )
    assert result is not None and len(result) == 1, result
    action = result[0]
    assert isinstance(action, types.CodeAction)
    assert action.kind == "source.fixAll.torchmode"
    assert action.edit is not None and action.edit.changes is not None
    fixed = apply_lsp_edits(text, list(action.edit.changes[SEED_URI]))
    ast.parse(fixed)

    change_whole(client, fixed, version=2)
    after = await wait_for_publish(client, version=2)
    assert tm101(after) == []

    # Quick fixes only: no source action.
    result = await client.text_document_code_action_async(code_action_params(found.range, only=["quickfix"]))
    assert result is not None
    assert all(isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix for a in result)

    # A kind we do not provide: nothing.
    result = await client.text_document_code_action_async(code_action_params(line, only=["refactor"]))
    assert result is not None and list(result) == []


async def test_hover_on_model_eval_explains_dropout_and_batch_norm(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("def test("))
    line = next(index for index in range(start, len(lines)) if "model.eval()" in lines[index])
    character = lines[line].index("model.eval") + len("model.e")

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=SEED_URI),
            position=types.Position(line=line, character=character),
        )
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    value = hover.contents.value.lower()
    assert "dropout" in value
    assert "batchnorm" in value or "batch norm" in value or "batch-norm" in value
    assert hover.range is not None
    assert hover.range.start.line == line
    assert hover.range.start.character <= character <= hover.range.end.character


def _inlay_params(line_count: int) -> types.InlayHintParams:
    return types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=SEED_URI),
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=line_count, character=0)
        ),
    )


async def test_inlay_hints_are_off_by_default(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    hints = await client.text_document_inlay_hint_async(_inlay_params(len(text.splitlines())))
    assert not hints


async def test_inlay_hints_show_the_mode_at_forward_calls(client: RecordingClient) -> None:
    await initialize(client, options={"debounceMs": 0, "settings": {"inlayHints": True}})
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    line = train_forward_line(text)
    hints = await client.text_document_inlay_hint_async(_inlay_params(len(text.splitlines())))
    assert hints
    at_step = [hint for hint in hints if hint.position.line == line]
    assert len(at_step) == 1, hints
    label = at_step[0].label
    assert isinstance(label, str) and "train" in label and "eval" in label
    # Right after `model(data)`.
    assert at_step[0].position.character == text.splitlines()[line].index("model(data)") + len("model(data)")

    # Only the requested lines.
    only_line = types.InlayHintParams(
        text_document=types.TextDocumentIdentifier(uri=SEED_URI),
        range=types.Range(
            start=types.Position(line=line, character=0), end=types.Position(line=line, character=99)
        ),
    )
    hints = await client.text_document_inlay_hint_async(only_line)
    assert hints is not None and [hint.position.line for hint in hints] == [line]


async def test_unparsable_text_then_valid_again(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)

    # Mid-typing: delete the closing paren of `model(data)`.
    line = train_forward_line(text)
    column = text.splitlines()[line].index("model(data)") + len("model(data")
    change_range(client, version=2, start=(line, column), end=(line, column + 1), text="")
    broken = await wait_for_publish(client, version=2)
    assert list(broken.diagnostics) == []

    # Hovers and code actions on broken text must not fail the request either.
    await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=SEED_URI),
            position=types.Position(line=line, character=column),
        )
    )
    actions = await client.text_document_code_action_async(code_action_params(line))
    assert list(actions or []) == []

    change_range(client, version=3, start=(line, column), end=(line, column), text=")")
    repaired = await wait_for_publish(client, version=3)
    assert [d.range.start.line for d in tm101(repaired)] == [line]


async def test_incremental_edits_with_non_ascii_before_the_finding(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    line = train_forward_line(text)
    column = text.splitlines()[line].index("output")

    # A form-feed line near the top: pygls' own line splitting would count it as two
    # lines and misplace every later range edit.
    change_range(client, version=2, start=(0, 0), end=(0, 0), text="\x0c\n")
    await wait_for_publish(client, version=2)
    line += 1

    # Non-BMP and accented characters before the finding, on its line: 😀 is two UTF-16 units.
    prefix = '"é😀"; '
    change_range(client, version=3, start=(line, column), end=(line, column), text=prefix)
    published = await wait_for_publish(client, version=3)
    findings = tm101(published)
    assert len(findings) == 1, published.diagnostics
    diagnostic = findings[0]
    assert diagnostic.range.start.line == line
    utf16_prefix = len(prefix.encode("utf-16-le")) // 2
    expected = column + utf16_prefix + len("output = ")
    assert diagnostic.range.start.character == expected
    assert diagnostic.range.end.character == expected + len("model(data)")

    # The quick fix's edits, applied with UTF-16 columns, still give valid Python.
    current = apply_lsp_edits(text, [_insert(0, 0, "\x0c\n")])
    current = apply_lsp_edits(current, [_insert(line, column, prefix)])
    result = await client.text_document_code_action_async(code_action_params(diagnostic.range))
    assert result
    action = next(a for a in result if isinstance(a, types.CodeAction) and a.is_preferred)
    assert action.edit is not None and action.edit.changes is not None
    fixed = apply_lsp_edits(current, list(action.edit.changes[SEED_URI]))
    ast.parse(fixed)
    assert '"é😀"; output = model(data)' in fixed


async def test_close_publishes_empty_diagnostics(client: RecordingClient) -> None:
    await initialize(client)
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert published.diagnostics

    count = len(client.published)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=SEED_URI))
    )
    await wait_until(lambda: len(client.published) > count, "a publish after close")
    assert client.published[-1].uri == SEED_URI
    assert list(client.published[-1].diagnostics) == []


async def test_rapid_changes_publish_only_the_latest_version(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)

    line = train_forward_line(text)
    lines = text.splitlines(keepends=True)
    broken = (
        "".join(lines[:line]) + lines[line].replace("model(data)", "model(data") + "".join(lines[line + 1 :])
    )
    final_version = 12
    for version in range(2, final_version + 1):
        # Alternate broken and valid texts so a stale result would be visible.
        change_whole(client, broken if version % 2 else text, version=version)
    last = await wait_for_publish(client, version=final_version)
    assert [d.range.start.line for d in tm101(last)] == [line]

    # Give stragglers a chance to arrive, then check none of them is older.
    await asyncio.sleep(0.5)
    versions = [p.version or 0 for p in client.published if p.uri == SEED_URI]
    assert versions == sorted(versions), versions
    assert versions[-1] == final_version


async def test_reopening_at_the_same_version_never_shows_the_old_text(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    line = train_forward_line(text)
    # Editors restart versions at 1 on reopen; only the text tells the two apart.
    for _ in range(5):
        open_document(client, text)
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=SEED_URI))
        )
    open_document(client, "\n" + text)
    await wait_until(
        lambda: [p for p in client.published if p.uri == SEED_URI and p.version == 1 and tm101(p)],
        "a TM101 publish",
    )
    await asyncio.sleep(0.3)
    last = [p for p in client.published if p.uri == SEED_URI][-1]
    assert [d.range.start.line for d in tm101(last)] == [line + 1]


async def test_default_debounce_coalesces_a_burst(client: RecordingClient) -> None:
    # A window far longer than sending five notifications takes, so the test does not race.
    await initialize(client, options={"debounceMs": 1000})
    text = seed_text()
    open_document(client, text)
    await wait_for_publish(client, version=1)
    for version in range(2, 7):
        change_whole(client, text + "\n" * version, version=version)
    await wait_for_publish(client, version=6)
    await asyncio.sleep(0.3)
    versions = [p.version for p in client.published if p.uri == SEED_URI]
    assert versions[-1] == 6
    # Five changes well inside one debounce window: intermediate versions are never checked.
    assert len(versions) < 6, versions


async def test_chinese_locale_from_initialize(client: RecordingClient) -> None:
    await initialize(client, locale="zh-CN")
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    message = tm101(published)[0].message
    assert not message.isascii()


async def test_settings_locale_overrides_client_locale(client: RecordingClient) -> None:
    await initialize(client, locale="zh-CN", options={"debounceMs": 0, "settings": {"locale": "en"}})
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published)[0].message.isascii()


async def test_ignore_setting_drops_the_rule(client: RecordingClient) -> None:
    await initialize(client, options={"debounceMs": 0, "settings": {"ignore": ["TM101"]}})
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published) == []


async def test_bad_settings_warn_and_fall_back_to_defaults(client: RecordingClient) -> None:
    await initialize(
        client,
        options={"debounceMs": "soon", "settings": {"select": "TM1", "ignore": [3], "locale": "klingon"}},
    )
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published)  # defaults still work
    warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
    assert any("debounceMs" in m for m in warnings), warnings
    assert any("select" in m for m in warnings), warnings
    assert any("ignore" in m for m in warnings), warnings
    assert any("locale" in m for m in warnings), warnings
    logged = [m.message for m in client.log_messages if m.type == types.MessageType.Warning]
    assert len(logged) >= 4


async def test_show_notifications_off_keeps_warnings_in_the_log(client: RecordingClient) -> None:
    await initialize(
        client, options={"debounceMs": 0, "settings": {"showNotifications": "off", "select": "TM1"}}
    )
    open_document(client, seed_text())
    assert tm101(await wait_for_publish(client, version=1))
    assert any("select" in m.message for m in client.log_messages if m.type == types.MessageType.Warning)
    assert client.messages == []


async def test_non_object_initialization_options_do_not_crash(client: RecordingClient) -> None:
    await initialize(client, options=[1, 2, 3])
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published)
    assert any("initializationOptions" in m.message for m in client.messages)


async def test_did_change_configuration_republishes(client: RecordingClient) -> None:
    await initialize(client)
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published)[0].message.isascii()

    count = len(client.published)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"torchmode": {"locale": "zh-cn"}})
    )
    await wait_until(lambda: len(client.published) > count, "a publish after the settings change")
    assert not tm101(client.published[-1])[0].message.isascii()
    assert client.published[-1].version == 1

    # The pull model: an empty notification makes the server ask workspace/configuration.
    client.set_configuration({"locale": "en", "ignore": ["TM101"]}, section="torchmode")
    count = len(client.published)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: len(client.published) > count, "a publish after the pulled settings")
    assert tm101(client.published[-1]) == []


async def test_requests_for_unknown_documents_do_not_crash(client: RecordingClient) -> None:
    await initialize(client)
    unknown = (REPO / "does_not_exist.py").as_uri()
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=unknown),
            position=types.Position(line=3, character=4),
        )
    )
    assert hover is None
    actions = await client.text_document_code_action_async(code_action_params(3, uri=unknown))
    assert not actions
    change_whole(client, "x = 1\n", version=2, uri=unknown)
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=unknown))
    )

    # Still alive and serving.
    open_document(client, seed_text())
    published = await wait_for_publish(client, version=1)
    assert tm101(published)
    # The server ignores the didChange of a document it never saw (pygls keeps no copy of
    # the texts: ``lsp/protocol.py``): logged, not shown as an error pop-up.
    assert any("which is not open; ignored" in m.message for m in client.log_messages)
    assert not [m for m in client.messages if m.type == types.MessageType.Error]


async def test_empty_and_weird_documents(client: RecordingClient) -> None:
    await initialize(client)
    cases = {
        "empty.py": "",
        "nul.py": "x = 1\x00\n",
        "crlf.py": "import torch\r\nmodel = torch.nn.Linear(2, 2)\r\nmodel.eval\r\n",
        "surrogate.py": "s = '\ud800'\n",
        "deep.py": "x = " + "(" * 500 + "1" + ")" * 500 + "\n",
    }
    for name, text in cases.items():
        uri = (REPO / "tests" / "lsp" / name).as_uri()
        open_document(client, text, uri=uri)
        await wait_for_publish(client, version=1, uri=uri)
    # TM301: `model.eval` without the call, in a CRLF file: the column is right.
    crlf_uri = (REPO / "tests" / "lsp" / "crlf.py").as_uri()
    crlf = [p for p in client.published if p.uri == crlf_uri][-1]
    tm301 = [d for d in crlf.diagnostics if d.code == "TM301"]
    if tm301:  # the rule may be configured away by the engine; positions must be right when present
        assert tm301[0].range.start == types.Position(line=2, character=0)


async def test_utf8_position_encoding_is_honoured() -> None:
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16]
    )
    client = await server_config().start()
    assert isinstance(client, RecordingClient)
    try:
        result = await initialize(client, capabilities=capabilities)
        assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
        text = seed_text()
        line = train_forward_line(text)
        lines = text.splitlines(keepends=True)
        column = lines[line].index("output")
        lines[line] = lines[line][:column] + '"é😀"; ' + lines[line][column:]
        open_document(client, "".join(lines))
        published = await wait_for_publish(client, version=1)
        diagnostic = tm101(published)[0]
        prefix = lines[line][: lines[line].index("model(data)")]
        assert diagnostic.range.start.character == len(prefix.encode("utf-8"))
    finally:
        await client.shutdown_session()
        await client.stop()


@pytest.mark.parametrize("command", [["-m", "torchmode", "lsp"]])
async def test_cli_entry_point_starts_the_server(command: list[str]) -> None:
    client = await server_config(*command).start()
    assert isinstance(client, RecordingClient)
    try:
        await initialize(client)
        open_document(client, seed_text())
        published = await wait_for_publish(client, version=1)
        assert tm101(published)
    finally:
        await client.shutdown_session()
        await client.stop()


# The engine is replaced inside the real server process: any text containing
# BOOM makes check_document and hover_at raise, as a bug in a rule would.
FAILING_ENGINE = """
import torchmode.engine as engine
real_check, real_hover = engine.check_document, engine.hover_at
def check_document(document, settings=engine.Settings(), workspace=None, cells=None):
    if "BOOM" in document.text:
        raise RuntimeError("boom from a rule")
    return real_check(document, settings, workspace, cells)
def hover_at(document, position, settings=engine.Settings(), workspace=None, cells=None):
    if "BOOM" in document.text:
        raise RuntimeError("boom from hover")
    return real_hover(document, position, settings, workspace, cells)
engine.check_document, engine.hover_at = check_document, hover_at
from torchmode.lsp.server import start_stdio
start_stdio()
"""


async def test_engine_exceptions_are_logged_and_never_kill_the_server() -> None:
    client = await server_config("-c", FAILING_ENGINE).start()
    assert isinstance(client, RecordingClient)
    try:
        await initialize(client)
        text = seed_text()
        # Version 1 is good, version 2 makes the engine fail.
        open_document(client, text)
        assert tm101(await wait_for_publish(client, version=1))
        change_whole(client, text + "# BOOM\n", version=2)
        failed = await wait_for_publish(client, version=2)
        # Old diagnostics would now be unverified; none is shown for the failing version.
        assert list(failed.diagnostics) == []
        errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
        assert any("boom from a rule" in m for m in errors), errors

        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=SEED_URI),
                position=types.Position(line=0, character=0),
            )
        )
        assert hover is None
        assert any("boom from hover" in m.message for m in client.log_messages)
        # Two failures, one pop-up: a broken rule must not nag on every keystroke.
        shown = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(shown) == 1, shown
        actions = await client.text_document_code_action_async(code_action_params(0))
        assert list(actions or []) == []

        change_whole(client, text, version=3)
        assert tm101(await wait_for_publish(client, version=3))
    finally:
        await client.shutdown_session()
        await client.stop()


LAYER_LOOP = """\
import torch
from torch import nn


def test(model, loader):
    model.eval()
    return [model(x) for x in loader]


def train(model, optimizer, loader, val_loader):
    model.train()
    for x, y in loader:
        loss = (model(x) - y).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        test(model, val_loader)


model = {constructor}
train(model, torch.optim.SGD(model.parameters(), lr=0.1), [], [])
"""


@pytest.mark.parametrize(
    ("constructor", "severity"),
    [
        ("nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))", types.DiagnosticSeverity.Hint),
        (
            "nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))",
            types.DiagnosticSeverity.Warning,
        ),
    ],
    ids=["linear-only-hint", "batch-norm-warning"],
)
async def test_a_harmless_mode_finding_reaches_the_editor_as_a_hint(
    client: RecordingClient, constructor: str, severity: types.DiagnosticSeverity
) -> None:
    """Layer-aware severity through the server: the editor gets a Hint (greyed out, not in
    the Problems panel's warnings) for a model no mode can change, a Warning otherwise."""
    await initialize(client)
    uri = (REPO / "tests" / "lsp" / "layers.py").as_uri()
    open_document(client, LAYER_LOOP.format(constructor=constructor), uri=uri)
    published = await wait_for_publish(client, version=1, uri=uri)
    (found,) = tm101(published)
    assert found.severity == severity
    assert ("Harmless for `nn.Sequential` today" in found.message) == (
        severity == types.DiagnosticSeverity.Hint
    )
