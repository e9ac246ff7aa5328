"""The language server with ``[tool.torchmode]``: each document's nearest pyproject.toml, merged
with the editor's settings in the documented order, re-read when it changes, and bad settings
shown once as a message, never a crash."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from lsp_helpers import (
    RecordingClient,
    apply_lsp_edits,
    change_whole,
    initialize,
    open_document,
    seed_text,
    wait_for_publish,
    wait_until,
)
from lsprotocol import types


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def rewrite(path: Path, text: str) -> None:
    """Change a file so that an mtime check cannot miss it, however fast the test runs."""
    before = path.stat().st_mtime_ns
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def tm101(params: types.PublishDiagnosticsParams) -> list[types.Diagnostic]:
    return [diagnostic for diagnostic in params.diagnostics if diagnostic.code == "TM101"]


def seed_in(folder: Path) -> str:
    """The URI of the seed example placed (as far as the server knows) in ``folder``."""
    return (folder / "train.py").as_uri()


def settings_options(**settings: object) -> dict[str, object]:
    return {"debounceMs": 0, "settings": settings}


async def test_the_nearest_table_applies(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nseverity = { TM101 = "error" }\n')
    write(tmp_path / "quiet" / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"]\n')
    await initialize(client)
    loud, quiet = seed_in(tmp_path / "src"), seed_in(tmp_path / "quiet" / "src")
    open_document(client, seed_text(), uri=loud)
    open_document(client, seed_text(), uri=quiet)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=loud))
    assert found.severity == types.DiagnosticSeverity.Error
    assert tm101(await wait_for_publish(client, version=1, uri=quiet)) == []
    assert not client.messages  # nothing wrong, nothing shown


async def test_the_files_locale_applies(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nlocale = "zh-cn"\n')
    await initialize(client)
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))
    assert not found.message.isascii()


async def test_editor_settings_override_the_file_by_default(client: RecordingClient, tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml", '[tool.torchmode]\nseverity = { TM101 = "error" }\nignore = ["TM102"]\n'
    )
    await initialize(client, options=settings_options(severity={"TM101": "hint"}))
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))
    assert found.severity == types.DiagnosticSeverity.Hint


async def test_filesystem_first_lets_the_file_win(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nseverity = { TM101 = "error" }\n')
    options = settings_options(severity={"TM101": "hint"}, configurationPreference="filesystemFirst")
    await initialize(client, options=options)
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))
    assert found.severity == types.DiagnosticSeverity.Error


async def test_editor_only_reads_no_file(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"]\n')
    await initialize(client, options=settings_options(configurationPreference="editorOnly"))
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    assert tm101(await wait_for_publish(client, version=1, uri=uri))


async def test_an_edited_pyproject_applies_at_the_next_check(client: RecordingClient, tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", "[tool.torchmode]\n")
    await initialize(client)
    uri = seed_in(tmp_path)
    text = seed_text()
    open_document(client, text, uri=uri)
    assert tm101(await wait_for_publish(client, version=1, uri=uri))

    rewrite(pyproject, '[tool.torchmode]\nignore = ["TM101"]\n')
    # No file watcher here: the next edit of the document re-reads the table (mtime check).
    change_whole(client, text + "\n", version=2, uri=uri)
    assert tm101(await wait_for_publish(client, version=2, uri=uri)) == []


async def test_a_watched_file_change_rechecks_open_documents(client: RecordingClient, tmp_path: Path) -> None:
    pyproject = write(tmp_path / "pyproject.toml", "[tool.torchmode]\n")
    await initialize(client)
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    assert tm101(await wait_for_publish(client, version=1, uri=uri))
    count = len(client.published)

    rewrite(pyproject, '[tool.torchmode]\nignore = ["TM101"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=pyproject.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await wait_until(lambda: len(client.published) > count, "a publish after the pyproject.toml change")
    latest = [params for params in client.published if params.uri == uri][-1]
    assert latest.version == 1 and tm101(latest) == []


async def test_a_bad_setting_is_shown_once_and_the_rest_applies(
    client: RecordingClient, tmp_path: Path
) -> None:
    pyproject = write(
        tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = "TM101"\nseverity = { TM101 = "error" }\n'
    )
    await initialize(client)
    uri = seed_in(tmp_path)
    text = seed_text()
    open_document(client, text, uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))
    assert found.severity == types.DiagnosticSeverity.Error  # the good key still applies
    for version in (2, 3):  # more checks of the same file: no new pop-up
        change_whole(client, text + "\n" * version, version=version, uri=uri)
        await wait_for_publish(client, version=version, uri=uri)

    (shown,) = client.messages
    assert shown.type == types.MessageType.Warning
    assert str(pyproject) in shown.message and ":2:" in shown.message
    assert "[tool.torchmode] ignore: expected a list of rule codes" in shown.message
    assert any(shown.message in log.message for log in client.log_messages)

    # Fixed, then broken again: worth saying again.
    rewrite(pyproject, "[tool.torchmode]\n")
    change_whole(client, text, version=4, uri=uri)
    await wait_for_publish(client, version=4, uri=uri)
    rewrite(pyproject, '[tool.torchmode]\nignore = "TM101"\n')
    change_whole(client, text + "\n", version=5, uri=uri)
    await wait_for_publish(client, version=5, uri=uri)
    assert len(client.messages) == 2


async def test_invalid_toml_is_shown_and_the_server_keeps_working(
    client: RecordingClient, tmp_path: Path
) -> None:
    pyproject = write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"\n')
    await initialize(client)
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    assert tm101(await wait_for_publish(client, version=1, uri=uri))  # defaults
    (shown,) = client.messages
    assert f"{pyproject}:2: invalid TOML" in shown.message


async def test_a_bad_editor_setting_is_shown(client: RecordingClient, tmp_path: Path) -> None:
    await initialize(
        client, options=settings_options(severity={"TM101": "loud"}, configurationPreference="x")
    )
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))
    assert found.severity == types.DiagnosticSeverity.Warning
    messages = sorted(message.message for message in client.messages)
    assert len(messages) == 2
    assert "severity.TM101: expected one of error, warning, information, hint" in messages[1]
    assert "configurationPreference: expected one of editorFirst, filesystemFirst, editorOnly" in messages[0]


async def test_fix_safe_false_keeps_the_fix_out_of_fix_all(client: RecordingClient, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM101"]\nfix-safe = { TM101 = false }\n')
    await initialize(client)
    uri = seed_in(tmp_path)
    text = seed_text()
    open_document(client, text, uri=uri)
    (found,) = tm101(await wait_for_publish(client, version=1, uri=uri))

    def request(only: list[str | types.CodeActionKind]) -> types.CodeActionParams:
        return types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=found.range,
            context=types.CodeActionContext(diagnostics=[found], only=only),
        )

    fix_all = await client.text_document_code_action_async(request(["source.fixAll.torchmode"]))
    assert fix_all is not None and list(fix_all) == []
    quick = await client.text_document_code_action_async(request(["quickfix"]))
    assert quick is not None
    fixes = [
        action for action in quick if isinstance(action, types.CodeAction) and "model.train()" in action.title
    ]
    # Still offered one by one, but none is preferred ("auto fix" must not pick an unsafe one).
    assert fixes and not any(action.is_preferred for action in fixes)
    assert fixes[0].edit is not None and fixes[0].edit.changes is not None
    assert apply_lsp_edits(text, list(fixes[0].edit.changes[uri])) != text


async def test_configuration_change_re_resolves_with_the_file(
    client: RecordingClient, tmp_path: Path
) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"]\n')
    await initialize(client)
    uri = seed_in(tmp_path)
    open_document(client, seed_text(), uri=uri)
    assert tm101(await wait_for_publish(client, version=1, uri=uri)) == []
    count = len(client.published)
    # The editor now selects TM101: a select replaces the file's selection and its ignore.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"torchmode": {"select": ["TM101"]}})
    )
    await wait_until(lambda: len(client.published) > count, "a publish after the settings change")
    assert tm101(client.published[-1])
