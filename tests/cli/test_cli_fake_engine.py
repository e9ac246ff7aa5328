"""The CLI's own logic, on a stand-in engine with known findings (see conftest.py)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from cli_helpers import RunCli

from torchmode import __version__, engine
from torchmode.engine import RuleInfo

pytestmark = pytest.mark.usefixtures("fake_engine")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_text_output_columns_are_one_based_and_fixable_ones_are_marked(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "x = 1\ny = leak()\nz = nofix()\n")
    result = run("check", "a.py")
    assert result.code == 1
    assert result.out.splitlines() == [
        "a.py:2:5: TM101 [*] `leak()` found",
        "a.py:3:5: TM201 `nofix()` found",
        "Found 2 errors.",
        "[*] 1 fixable with `--fix`.",
    ]
    assert target.read_text() == "x = 1\ny = leak()\nz = nofix()\n"  # check alone never writes


def test_clean_file_says_all_checks_passed(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "ok.py", "x = 1\n")
    result = run("check", tmp_path / "ok.py")
    assert (result.code, result.out) == (0, "All checks passed!\n")


def test_quiet_prints_findings_only(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "a.py", "leak()\n")
    assert run("check", "--quiet", "a.py").out == "a.py:1:1: TM101 [*] `leak()` found\n"
    assert run("check", "-q", tmp_path / "a.py").code == 1


def test_exit_zero_keeps_output_but_exits_zero(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "a.py", "leak()\n")
    result = run("check", "--exit-zero", tmp_path / "a.py")
    assert result.code == 0
    assert "TM101" in result.out


def test_json_has_ruffs_shape(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "y = leak()\nnofix()\n")
    result = run("check", "--format", "json", target)
    assert result.code == 1
    records = json.loads(result.out)
    assert records[0] == {
        "cell": None,
        "code": "TM101",
        "name": "fake-tm101",
        "message": "`leak()` found",
        "severity": "warning",
        "filename": str(target.resolve()),
        "location": {"row": 1, "column": 5},
        "end_location": {"row": 1, "column": 11},
        "fix": {
            "message": "Replace `leak()` by `fixed()`",
            "applicability": "safe",
            "edits": [
                {
                    "content": "fixed()",
                    "location": {"row": 1, "column": 5},
                    "end_location": {"row": 1, "column": 11},
                }
            ],
        },
        "url": "https://x/y",
        "noqa_row": 1,
    }
    assert records[1]["fix"] is None
    assert records[1]["code"] == "TM201"


def test_json_of_a_clean_file_is_an_empty_list(run: RunCli, tmp_path: Path) -> None:
    result = run("check", "--format", "json", write(tmp_path / "ok.py", "x = 1\n"))
    assert (result.code, json.loads(result.out)) == (0, [])


def test_github_format_escapes_and_annotates(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "a,b.py", "leak()\n")
    result = run("check", "--format", "github", "a,b.py")
    assert result.code == 1
    (line,) = result.out.splitlines()
    assert line.startswith("::warning title=TM101 fake-tm101,file=")
    assert f"file={tmp_path}/a%2Cb.py," in line  # the ',' in a property is escaped
    assert ",line=1,col=1,endLine=1,endColumn=7::a,b.py:1:1: TM101 `leak()` found" in line


def test_select_and_ignore_take_comma_separated_prefixes(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "leak()\nrisky()\nnofix()\n")

    def codes(*options: str) -> list[str]:
        records = json.loads(run("check", "--format", "json", *options, target).out)
        return [record["code"] for record in records]

    assert codes() == ["TM101", "TM102", "TM201"]
    assert codes("--select", "TM1") == ["TM101", "TM102"]
    assert codes("--select", "TM101,TM201") == ["TM101", "TM201"]
    assert codes("--select", "TM101", "--select", "TM102") == ["TM101", "TM102"]
    assert codes("--ignore", "TM10") == ["TM201"]
    assert codes("--select", "TM1", "--ignore", "tm102") == ["TM101"]


@pytest.mark.parametrize("selector", ["TM999", "E501", "TM-1", "tm 1"])
def test_unknown_selector_is_a_usage_error(run: RunCli, tmp_path: Path, selector: str) -> None:
    result = run("check", "--select", selector, write(tmp_path / "a.py", "leak()\n"))
    assert result.code == 2
    assert "--select" in result.err
    assert result.out == ""


def test_locale_reaches_the_engine(run: RunCli, tmp_path: Path) -> None:
    result = run("check", "--locale", "zh-cn", write(tmp_path / "a.py", "leak()\n"))
    assert "`leak()` found (zh)" in result.out
    assert run("check", "--locale", "fr", tmp_path / "a.py").code == 2


def test_fix_applies_safe_fixes_and_reports_counts(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "a = leak()\nb = risky()\nc = leak()\n")
    result = run("check", "--fix", "a.py")
    assert target.read_text() == "a = fixed()\nb = risky()\nc = fixed()\n"
    assert result.code == 1  # the unsafe one remains
    assert result.out.splitlines() == [
        "a.py:2:5: TM102 `risky()` found",
        "Found 3 errors (2 fixed, 1 remaining).",
    ]


def test_fix_all_fixed_exits_zero(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "a = leak()\n")
    result = run("check", "--fix", target)
    assert result.code == 0
    assert result.out == "Found 1 error (1 fixed, 0 remaining).\n"
    second = run("check", "--fix", target)
    assert (second.code, second.out) == (0, "All checks passed!\n")


def test_fix_subcommand_is_check_fix(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "a = leak()\n")
    assert run("fix", target).code == 0
    assert target.read_text() == "a = fixed()\n"


def test_unsafe_fixes_only_on_request(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "b = risky()\n")
    result = run("check", target)
    assert "No fixes available (1 hidden fix can be enabled with the `--unsafe-fixes` option)." in result.out
    run("check", "--fix", target)
    assert target.read_text() == "b = risky()\n"
    assert run("check", "--fix", "--unsafe-fixes", target).code == 0
    assert target.read_text() == "b = checked()\n"


def test_fix_reapplies_until_nothing_is_left(run: RunCli, tmp_path: Path) -> None:
    # chain() -> leak() -> fixed(): the second fix exists only after re-checking.
    target = write(tmp_path / "a.py", "chain()\n")
    result = run("check", "--fix", target)
    assert target.read_text() == "fixed()\n"
    assert result.out == "Found 2 errors (2 fixed, 0 remaining).\n"


def test_fix_that_would_not_parse_is_refused_and_reported(run: RunCli, tmp_path: Path) -> None:
    original = "a = broken()\nb = leak()\n"
    target = write(tmp_path / "a.py", original)
    result = run("check", "--fix", target)
    assert target.read_text() == "a = broken()\nb = fixed()\n"  # the good fix still applies
    ast.parse(target.read_text())
    assert "TM103" in result.err and "invalid syntax" in result.err
    assert result.code == 1
    assert "TM103 `broken()` found" in result.out


def test_a_fix_that_never_converges_is_bounded(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "spin()\n")
    result = run("check", "--fix", target)
    assert "did not converge" in result.err
    ast.parse(target.read_text())
    assert result.code == 1


def test_diff_prints_and_changes_nothing(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "a = leak()\nb = 2\n")
    result = run("check", "--diff", "a.py")
    assert result.code == 1
    assert target.read_text() == "a = leak()\nb = 2\n"
    assert result.out == "--- a.py\n+++ a.py\n@@ -1,2 +1,2 @@\n-a = leak()\n+a = fixed()\n b = 2\n\n"
    assert "Would fix 1 error." in result.err


def test_diff_without_fixes_exits_zero(run: RunCli, tmp_path: Path) -> None:
    result = run("check", "--diff", write(tmp_path / "a.py", "nofix()\n"))
    assert (result.code, result.out) == (0, "")


def test_diff_marks_a_missing_final_newline(run: RunCli, tmp_path: Path) -> None:
    result = run("check", "--diff", write(tmp_path / "a.py", "x = 1\nleak()"))
    assert "+fixed()\n\\ No newline at end of file\n" in result.out


def test_fix_keeps_crlf_bom_and_lone_form_feeds(run: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "a.py"
    target.write_bytes(b"\xef\xbb\xbfx = 1\r\n\x0c\r\ny = leak()\r\nz = 2\r\n")
    assert run("check", "--fix", target).code == 0
    assert target.read_bytes() == b"\xef\xbb\xbfx = 1\r\n\x0c\r\ny = fixed()\r\nz = 2\r\n"


def test_fix_keeps_a_declared_legacy_encoding(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "# -*- coding: latin-1 -*-\nname = 'café'\nleak()\n", "latin-1")
    assert run("check", "--fix", target).code == 0
    assert target.read_bytes() == "# -*- coding: latin-1 -*-\nname = 'café'\nfixed()\n".encode("latin-1")


def test_fix_keeps_file_permissions(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "a.py", "leak()\n")
    target.chmod(0o751)
    run("check", "--fix", target)
    assert target.stat().st_mode & 0o777 == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]  # no temporary file left behind


def test_fix_writes_through_a_symlink(run: RunCli, tmp_path: Path) -> None:
    real = write(tmp_path / "real.py", "leak()\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    run("check", "--fix", link)
    assert link.is_symlink()
    assert real.read_text() == "fixed()\n"


def test_non_utf8_file_is_named_and_others_still_checked(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "bad.py", "name = 'caf\xe9'\n", "latin-1")
    write(tmp_path / "good.py", "leak()\n")
    result = run("check", ".")
    assert result.code == 2
    assert "bad.py: cannot decode file as UTF-8" in result.err
    assert "line 1" in result.err
    assert "good.py:1:1: TM101" in result.out
    assert "1 file could not be checked" in result.out


def test_unparsable_file_is_named_with_position(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "bad.py", "def f(:\n    pass\n")
    result = run("check", "bad.py")
    assert result.code == 2
    assert "Failed to parse bad.py:1:" in result.err
    assert "All checks passed!" not in result.out


def test_fix_does_not_touch_an_unparsable_file(run: RunCli, tmp_path: Path) -> None:
    target = write(tmp_path / "bad.py", "leak()\ndef f(:\n")
    assert run("check", "--fix", target).code == 2
    assert target.read_text() == "leak()\ndef f(:\n"


def test_engine_crash_is_reported_without_traceback(
    run: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "check_document", crash)
    result = run("check", write(tmp_path / "a.py", "x = 1\n"))
    assert result.code == 2
    assert "internal error while checking: RuntimeError: boom" in result.err
    assert "Traceback" not in result.err


def test_unreadable_file(run: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 does not stop root (CI runs as root), so the read itself is made to fail.
    target = write(tmp_path / "a.py", "x = 1\n")
    write(tmp_path / "b.py", "leak()\n")
    real_read_bytes = Path.read_bytes

    def read_bytes(path: Path) -> bytes:
        if path.name == "a.py":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = run("check", target, "b.py")
    assert result.code == 2
    assert "a.py: cannot read file: Permission denied" in result.err
    assert "b.py:1:1: TM101" in result.out


def test_no_subcommand_and_bad_options_are_usage_errors(run: RunCli) -> None:
    assert run().code == 2
    assert run("check", "--format", "xml").code == 2
    assert run("frobnicate").code == 2


def test_version(run: RunCli) -> None:
    result = run("--version")
    assert (result.code, result.out.strip()) == (0, f"torchmode {__version__}")


def test_rules_fix_column_comes_from_what_the_examples_produce() -> None:
    from torchmode.rules import Invalid, Rule

    def entry(code: str, example: str) -> RuleInfo:
        rule = type(f"Fake{code}", (Rule,), {"code": code, "name": "fake", "INVALID": (Invalid(example, 1),)})
        return RuleInfo(code, "fake", rule)

    assert entry("TM101", "leak()\n").fix_label() == "yes"
    assert entry("TM102", "risky()\n").fix_label() == "unsafe"
    assert entry("TM201", "nofix()\n").fix_label() == "no"
    # Another rule's finding in the example does not count.
    assert entry("TM103", "leak()\n").fix_label() == "no"
