"""While a version does not parse, the diagnostics of the last one that did stay on screen:
moved with the lines added or removed above them, dropped on the lines that changed."""

from __future__ import annotations

from lsp_helpers import (
    SEED_URI,
    RecordingClient,
    change_range,
    initialize,
    open_document,
    seed_text,
    train_forward_line,
    wait_for_publish,
)
from lsprotocol import types

from torchmode.engine import Settings
from torchmode.lsp.held_diagnostics import HeldDiagnostics, changed_lines


def _span(start_line: int, end_line: int) -> types.Range:
    return types.Range(
        start=types.Position(line=start_line, character=4), end=types.Position(line=end_line, character=9)
    )


def _diagnostic(line: int, related_line: int | None = None, uri: str = "file:///a.py") -> types.Diagnostic:
    related = None
    if related_line is not None:
        related = [
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=_span(related_line, related_line)), message="here"
            )
        ]
    return types.Diagnostic(range=_span(line, line), message=f"on {line}", related_information=related)


TEXT = "".join(f"line_{number} = {number}\n" for number in range(10))


def test_changed_lines_of_an_insertion_a_deletion_and_an_edit_within_a_line() -> None:
    assert changed_lines(TEXT, TEXT) is None
    inserted = TEXT.replace("line_3 = 3\n", "line_3 = 3\nwith torch.no\n")
    change = changed_lines(TEXT, inserted)
    assert change is not None
    assert (change.first, change.delta) == (4, 1)
    deleted = TEXT.replace("line_3 = 3\nline_4 = 4\n", "")
    change = changed_lines(TEXT, deleted)
    assert change is not None
    assert change.delta == -2 and change.first == 3
    typed = TEXT.replace("line_5 = 5", "line_5 = (5")
    change = changed_lines(TEXT, typed)
    assert change is not None
    assert (change.first, change.old_last, change.delta) == (5, 5, 0)


def test_held_diagnostics_move_below_the_change_stay_above_and_go_on_it() -> None:
    held = HeldDiagnostics()
    settings = Settings()
    uri = "file:///a.py"
    diagnostics = [_diagnostic(1), _diagnostic(5, related_line=8), _diagnostic(8, related_line=5)]
    held.keep(uri, TEXT, settings, diagnostics)
    broken = TEXT.replace("line_5 = 5\n", "line_5 = 5\nwith torch.no\n")  # a line inserted after line 5
    carried = held.carried_to(uri, broken, settings)
    assert carried is not None
    assert [(d.message, d.range.start.line, d.range.end.line) for d in carried] == [
        ("on 1", 1, 1),
        ("on 5", 5, 5),
        ("on 8", 9, 9),
    ]
    assert carried[1].related_information is not None
    assert [info.location.range.start.line for info in carried[1].related_information] == [9]
    # The text on the edited line changed: a diagnostic there is dropped.
    typed = TEXT.replace("line_5 = 5", "line_5 = (5")
    carried = held.carried_to(uri, typed, settings)
    assert carried is not None
    assert [d.message for d in carried] == ["on 1", "on 8"]
    # Its related place on the changed line goes; the diagnostic stays.
    assert carried[1].related_information == []


def test_nothing_is_held_for_other_settings_or_a_closed_document() -> None:
    held = HeldDiagnostics()
    uri = "file:///a.py"
    held.keep(uri, TEXT, Settings(), [_diagnostic(1)])
    assert held.carried_to(uri, TEXT + "(", Settings(ignore=("TM101",))) is None
    held.forget(uri)
    assert held.carried_to(uri, TEXT + "(", Settings()) is None


async def test_a_version_that_does_not_parse_keeps_the_findings_below_it(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    first = await wait_for_publish(client, version=1)
    assert first.diagnostics, "the seed example has findings"
    before = [(d.code, d.message, d.range.start.line) for d in first.diagnostics]
    # A statement typed halfway at the top of the file: nothing parses; every finding is below.
    change_range(client, version=2, start=(0, 0), end=(0, 0), text="with torch.no\n")
    broken = await wait_for_publish(client, version=2)
    assert [(d.code, d.message, d.range.start.line - 1) for d in broken.diagnostics] == before
    # The statement removed again: checked as usual.
    change_range(client, version=3, start=(0, 0), end=(1, 0), text="")
    again = await wait_for_publish(client, version=3)
    assert [(d.code, d.message, d.range.start.line) for d in again.diagnostics] == before


async def test_a_finding_on_the_line_being_typed_is_not_held(client: RecordingClient) -> None:
    await initialize(client)
    text = seed_text()
    open_document(client, text)
    first = await wait_for_publish(client, version=1)
    line = train_forward_line(text)
    on_line = [d for d in first.diagnostics if d.range.start.line <= line <= d.range.end.line]
    assert on_line, "a finding on the training forward line"
    column = text.splitlines()[line].index("model(data)") + len("model(data")
    change_range(client, version=2, start=(line, column), end=(line, column + 1), text="")
    broken = await wait_for_publish(client, version=2)
    assert not [d for d in broken.diagnostics if d.range.start.line <= line <= d.range.end.line]
    assert broken.uri == SEED_URI
