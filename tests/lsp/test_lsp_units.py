"""Unit tests of the LSP layer's pure parts: coordinates, settings, code-action helpers."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
from lsprotocol import types

from torchmode.engine import MAX_FIX_PASSES, CheckResult, Settings, check_document, forward_call_states
from torchmode.findings import Finding, Fix
from torchmode.lsp import actions, config
from torchmode.lsp.coordinates import (
    Encoding,
    apply_content_change,
    column_from_client,
    column_to_client,
    encoding_name,
    from_lsp_position,
    minimal_edit,
    offset_at,
    ranges_overlap,
    to_lsp_position,
)
from torchmode.lsp.diagnostics import DiagnosticSupport, to_diagnostic
from torchmode.lsp.hints import inlay_hints, mode_label
from torchmode.syntax import Document, Position, Span, TextEdit
from torchmode.syntax.positions import line_start_offsets

LINE = 'x = "é😀"; y'  # é: 1 UTF-16 unit / 2 UTF-8 bytes; 😀: 2 units / 4 bytes


def lsp_range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(
        start=types.Position(line=start[0], character=start[1]),
        end=types.Position(line=end[0], character=end[1]),
    )


# --- coordinates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-16", [0, 5, 6, 8, 9, 11]), ("utf-8", [0, 5, 7, 11, 12, 14]), ("utf-32", [0, 5, 6, 7, 8, 10])],
)
def test_columns_round_trip_in_every_encoding(encoding: Encoding, expected: list[int]) -> None:
    columns = [0, 5, 6, 7, 8, 10]  # before x, é, 😀, the quote, ";" and "y"
    assert [column_to_client(LINE, column, encoding) for column in columns] == expected
    assert [column_from_client(LINE, units, encoding) for units in expected] == columns


def test_client_column_inside_a_character_rounds_up_and_clamps() -> None:
    # UTF-16 unit 7 is the second half of 😀.
    assert column_from_client(LINE, 7, "utf-16") == 7
    assert column_from_client(LINE, 999, "utf-16") == len(LINE)
    assert column_to_client(LINE, 999, "utf-16") == len(LINE.encode("utf-16-le")) // 2
    assert column_from_client("abc", -3, "utf-16") == 0


def test_lone_surrogates_do_not_crash_conversions() -> None:
    line = "s = '\ud800'"
    assert column_to_client(line, len(line), "utf-16") == len(line)
    assert column_to_client(line, len(line), "utf-8") == len(line) + 2


def test_encoding_names() -> None:
    assert encoding_name(types.PositionEncodingKind.Utf8) == "utf-8"
    assert encoding_name("utf-32") == "utf-32"
    assert encoding_name(None) == "utf-16"


def test_document_positions_are_converted_both_ways() -> None:
    document = Document(f"import torch\n{LINE}\n")
    lsp = to_lsp_position(document, Position(2, 10), "utf-16")
    assert lsp == types.Position(line=1, character=11)
    assert from_lsp_position(document, lsp, "utf-16") == Position(2, 10)


@pytest.mark.parametrize(
    ("text", "change_range", "new_text", "expected"),
    [
        # A form feed is not a line break for the LSP: line 2 is "y = 2".
        ("x = 1\n\x0c\ny = 2\n", ((2, 0), (2, 1)), "z", "x = 1\n\x0c\nz = 2\n"),
        # Neither is U+2028.
        ('s = "\u2028"\nx = 1\n', ((1, 0), (1, 1)), "z", 's = "\u2028"\nz = 1\n'),
        # CRLF and lone CR are.
        ("a\r\nb\rc\n", ((2, 0), (2, 1)), "Z", "a\r\nb\rZ\n"),
        # A column past the end of a line stops before its terminator.
        ("ab\r\ncd\n", ((0, 99), (0, 99)), "!", "ab!\r\ncd\n"),
        # Lines past the end append.
        ("ab", ((5, 0), (5, 0)), "!", "ab!"),
        # UTF-16 columns after a non-BMP character.
        (f"{LINE}\n", ((0, 11), (0, 12)), "z", 'x = "é😀"; z\n'),
    ],
)
def test_incremental_changes_follow_lsp_line_breaks(
    text: str, change_range: tuple[tuple[int, int], tuple[int, int]], new_text: str, expected: str
) -> None:
    change = types.TextDocumentContentChangePartial(range=lsp_range(*change_range), text=new_text)
    assert apply_content_change(text, change, "utf-16") == expected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_a_change_to_a_text_of_newlines_lands_where_the_line_offsets_put_it(encoding: Encoding) -> None:
    """Texts whose lines all end with ``\\n`` find the changed line without every line's
    offset; every position (inside lines, past their ends, past the last line, non-ASCII
    columns) lands where the general path puts it."""
    rng = random.Random(16)
    text = "".join(
        rng.choice(["x = 1\n", "\n", f"{LINE}\n", "    y = model(x)\n", "é😀\n"]) for _ in range(60)
    )
    text += "tail without newline"
    offsets = line_start_offsets(text)
    for _ in range(400):
        start = types.Position(line=rng.randrange(0, 65), character=rng.randrange(0, 30))
        end = types.Position(line=rng.randrange(0, 65), character=rng.randrange(0, 30))
        change = types.TextDocumentContentChangePartial(range=types.Range(start=start, end=end), text="Z")
        first, last = sorted(
            (offset_at(text, offsets, start, encoding), offset_at(text, offsets, end, encoding))
        )
        assert apply_content_change(text, change, encoding) == text[:first] + "Z" + text[last:]


def test_whole_document_change_replaces_the_text() -> None:
    change = types.TextDocumentContentChangeWholeDocument(text="new")
    assert apply_content_change("old", change, "utf-16") == "new"


def _apply(text: str, edit: types.TextEdit) -> str:
    offsets = line_start_offsets(text)
    start = offset_at(text, offsets, edit.range.start, "utf-16")
    end = offset_at(text, offsets, edit.range.end, "utf-16")
    return text[:start] + edit.new_text + text[end:]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\nc\n", "a\nB\nc\n"),
        ("a\nb\nc\n", "a\nc\n"),
        ("a\nc\n", "a\nb\nc\n"),
        ("a\nb", "a\nb\n"),
        ("", "x\n"),
        ("x\n", ""),
        ("a\r\nb\r\n", "a\r\nb\r\nc\r\n"),
        ("é😀\nx\n", "é😀\ny\n"),
        ("same\nsame\n", "same\nsame\nsame\n"),
    ],
)
def test_minimal_edit_turns_old_into_new(old: str, new: str) -> None:
    edit = minimal_edit(old, new, "utf-16")
    assert edit is not None
    assert _apply(old, edit) == new


def test_minimal_edit_touches_only_changed_lines() -> None:
    edit = minimal_edit("a\nb\nc\nd\n", "a\nb\nX\nd\n", "utf-16")
    assert edit is not None
    assert edit.range == lsp_range((2, 0), (3, 0))
    assert edit.new_text == "X\n"
    assert minimal_edit("same", "same", "utf-16") is None


def test_ranges_overlap_inclusively() -> None:
    finding = lsp_range((3, 5), (3, 9))
    assert ranges_overlap(finding, lsp_range((3, 9), (3, 9)))
    assert ranges_overlap(finding, lsp_range((0, 0), (10, 0)))
    assert not ranges_overlap(finding, lsp_range((3, 0), (3, 4)))
    assert not ranges_overlap(finding, lsp_range((4, 0), (4, 0)))


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_locale", "expected"),
    [
        ("zh", "zh-cn"),
        ("zh-cn", "zh-cn"),
        ("zh-CN", "zh-cn"),
        ("zh_Hans", "zh-cn"),
        ("en-US", "en"),
        (None, "en"),
    ],
)
def test_client_locale(client_locale: str | None, expected: str) -> None:
    assert config.locale_from_client(client_locale) == expected


def test_initialization_options_are_parsed() -> None:
    options = config.parse_initialization_options(
        {
            "debounceMs": 0,
            "settings": {"locale": "zh-CN", "select": ["tm1"], "ignore": ["TM203"], "interpreter": []},
        }
    )
    assert options.warnings == ()
    assert options.debounce_seconds == 0.0
    settings = options.settings.to_engine("en")
    assert settings == Settings(select=("TM1",), ignore=("TM203",), locale="zh-cn")


def test_missing_settings_use_the_client_locale_and_defaults() -> None:
    options = config.parse_initialization_options(None)
    assert options.debounce_seconds == config.DEFAULT_DEBOUNCE_SECONDS
    assert options.settings.to_engine("zh-cn") == Settings(locale="zh-cn")


@pytest.mark.parametrize(
    "raw",
    [
        {"debounceMs": -1},
        {"debounceMs": True},
        {"debounceMs": float("nan")},
        {"debounceMs": "300"},
        {"settings": []},
        {"settings": {"select": "TM1"}},
        {"settings": {"ignore": [None]}},
        {"settings": {"select": ["TM-1"]}},
        {"settings": {"locale": "fr"}},
        {"settings": {"locale": 3}},
        {"settings": {"inlayHints": "yes"}},
        {"settings": {"showNotifications": "loud"}},
        {"settings": {"diagnosticMode": "everything"}},
        {"settings": {"exclude": "build"}},
        {"settings": {"exclude": [3]}},
        "not an object",
    ],
)
def test_bad_settings_become_warnings(raw: object) -> None:
    options = config.parse_initialization_options(raw)
    assert options.warnings
    # Whatever was wrong, the result is usable.
    options.settings.to_engine("en")
    assert options.debounce_seconds >= 0


def test_diagnostic_mode_and_exclude() -> None:
    assert config.parse_settings(None).settings.checks_workspace  # the default
    parsed = config.parse_settings({"diagnosticMode": "openFilesOnly", "exclude": ["build", " ", "gen/*.py"]})
    assert parsed.warnings == ()
    assert not parsed.settings.checks_workspace
    assert parsed.settings.exclude == ("build", "gen/*.py")  # blank globs dropped
    fallback = config.parse_settings({"diagnosticMode": "everything", "exclude": "build"})
    assert fallback.settings.checks_workspace and fallback.settings.exclude == ()
    assert config.section_from_notification({"diagnosticMode": "workspace"})[0]


def test_configuration_notifications_are_found_in_every_shape() -> None:
    assert config.section_from_notification({"torchmode": {"locale": "en"}}) == (True, {"locale": "en"})
    assert config.section_from_notification({"settings": {"locale": "en"}}) == (True, {"locale": "en"})
    assert config.section_from_notification({"select": ["TM1"]}) == (True, {"select": ["TM1"]})
    assert config.section_from_notification({"inlayHints": True}) == (True, {"inlayHints": True})
    assert config.section_from_notification(None) == (False, None)
    assert config.section_from_notification({"python": {}}) == (False, None)


# --- code actions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("only", "quickfix", "fix_all"),
    [
        (None, True, True),
        (["quickfix"], True, False),
        (["source"], False, True),
        (["source.fixAll"], False, True),
        (["source.fixAll.torchmode"], False, True),
        (["source.fixAllX"], False, False),
        (["refactor"], False, False),
    ],
)
def test_kind_filtering_follows_the_spec(only: list[str] | None, quickfix: bool, fix_all: bool) -> None:
    assert actions.kind_requested("quickfix", only) is quickfix
    assert actions.kind_requested(actions.FIX_ALL_KIND, only) is fix_all


def _fake_result(document: Document, fixes: tuple[Fix, ...]) -> CheckResult:
    finding = Finding(code="TM999", name="fake", message="fake", span=Span.of(1, 0, 1, 1), fixes=fixes)
    return CheckResult(document=document, findings=(finding,), parse_failure=None)


def test_fix_all_stops_on_a_fix_that_never_removes_its_finding() -> None:
    calls = 0

    def check(document: Document, settings: Settings) -> CheckResult:
        nonlocal calls
        calls += 1
        # Always "fixable" by appending a line: the text never repeats, so only the round limit stops it.
        end = len(document.lines)
        return _fake_result(document, (Fix("append", (TextEdit(Span.of(end, 0, end, 0), "pass\n"),)),))

    start = Document("x = 1\n")
    text = actions.fix_all_text(check(start, Settings()), Settings(), check)
    assert calls == MAX_FIX_PASSES + 1
    ast.parse(text)


def test_fix_all_stops_on_a_fix_that_cycles() -> None:
    def check(document: Document, settings: Settings) -> CheckResult:
        other = "b = 1\n" if document.text == "a = 1\n" else "a = 1\n"
        return _fake_result(document, (Fix("swap", (TextEdit(Span.of(1, 0, 2, 0), other),)),))

    text = actions.fix_all_text(check(Document("a = 1\n"), Settings()), Settings(), check)
    assert text == "b = 1\n"


def test_fix_all_skips_unsafe_overlapping_and_unparsable_fixes() -> None:
    document = Document("x = 1\n")
    unsafe = Fix("unsafe", (TextEdit(Span.of(1, 0, 1, 1), "y"),), applicability="unsafe")
    overlapping = Fix("overlap", (TextEdit(Span.of(1, 0, 1, 3), "a"), TextEdit(Span.of(1, 1, 1, 2), "b")))
    broken = Fix("broken", (TextEdit(Span.of(1, 0, 1, 0), "("),))
    result = _fake_result(document, (unsafe, overlapping, broken))
    assert not actions.has_safe_fix(_fake_result(document, (unsafe,)))
    assert actions.fix_all_text(result, Settings(), lambda d, s: _fake_result(d, ())) == "x = 1\n"


def test_seed_fix_all_removes_tm101_and_parses() -> None:
    text = (Path(__file__).resolve().parents[2] / "examples" / "seed_loop.py").read_text(encoding="utf-8")
    first = check_document(Document(text, "seed_loop.py"), Settings())
    fixed = actions.fix_all_text(first, Settings(), check_document)
    ast.parse(fixed)
    assert "TM101" not in {f.code for f in check_document(Document(fixed), Settings()).findings}
    action = actions.fix_all_action("file:///seed_loop.py", text, fixed, "utf-16")
    assert action is not None and action.kind == actions.FIX_ALL_KIND


def test_diagnostics_respect_client_support() -> None:
    document = Document("model.eval\n")
    finding = Finding(
        code="TM301",
        name="mode-method-not-called",
        message="m",
        span=Span.of(1, 0, 1, 10),
        url="https://example.invalid/TM301",
    )
    full = to_diagnostic(finding, document, "file:///a.py", "utf-16")
    assert full.code_description is not None
    bare = to_diagnostic(finding, document, "file:///a.py", "utf-16", DiagnosticSupport(False, False))
    assert bare.code_description is None and bare.related_information is None
    assert DiagnosticSupport.of(types.ClientCapabilities()) == DiagnosticSupport(False, False)


@pytest.mark.parametrize(
    ("text", "suppressible"),
    [
        ("y = model(x)\n", True),
        ("y = model(x)   \n", True),
        ("y = model(x)  # a comment\n", True),
        ("y = model(x) + \\\n    1\n", False),  # a comment after a backslash breaks the line
        ('y = model(x); s = """\nabc"""\n', False),  # the line ends inside a string
    ],
)
def test_disable_for_this_line_never_changes_meaning(text: str, suppressible: bool) -> None:
    document = Document(text)
    finding = Finding(code="TM102", name="eval-in-train-mode", message="m", span=Span.of(1, 4, 1, 12))
    result = CheckResult(document=document, findings=(finding,), parse_failure=None)
    found = actions.quick_fixes(
        result, "file:///a.py", lsp_range((0, 5), (0, 5)), "utf-16", DiagnosticSupport()
    )
    assert [a.title for a in found] == (["Disable TM102 for this line"] if suppressible else [])
    if suppressible:
        edit = found[0].edit
        assert edit is not None and edit.changes is not None
        new_text = _apply(text, edit.changes["file:///a.py"][0])
        assert new_text.splitlines()[0].endswith("  # torchmode: ignore[TM102]")
        assert ast.dump(ast.parse(new_text)) == ast.dump(ast.parse(text))


@pytest.mark.parametrize(
    ("modes", "label"),
    [
        ({"train"}, "train"),
        ({"eval"}, "eval"),
        ({"train", "eval"}, "train|eval"),
        ({"eval", "unknown"}, "eval?"),
        ({"unknown"}, None),
    ],
)
def test_mode_labels(modes: set[str], label: str | None) -> None:
    assert mode_label(frozenset(modes)) == label


def test_inlay_hint_marks_no_grad_and_speaks_chinese() -> None:
    text = "import torch\n\ndef f(model, x):\n    model.eval()\n    with torch.no_grad():\n        model(x)\n"
    document = Document(text)
    whole = lsp_range((0, 0), (6, 0))
    english = inlay_hints(forward_call_states(document), document, whole, "utf-16", "en")
    chinese = inlay_hints(forward_call_states(document), document, whole, "utf-16", "zh-cn")
    assert [hint.label for hint in english] == ["mode: eval · no-grad"]
    assert [hint.label for hint in chinese] == ["模式: eval · 无梯度"]
