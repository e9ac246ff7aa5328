"""The CLI with the real engine on the classic bug: `examples/seed_loop.py`."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from cli_helpers import SEED, RunCli


def training_forward_line(text: str) -> tuple[int, int]:
    """(line, 1-based column) of `model(data)` in `train()`: where TM101 is anchored."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("def train("))
    for index in range(start, len(lines)):
        if "output = model(data)" in lines[index]:
            return index + 1, lines[index].index("model(data)") + 1
    raise AssertionError("no training forward call in the seed example")


def expected_fix(text: str, newline: str = "\n") -> str:
    """The seed file with `model.train()` moved from before the loop to the top of its body."""
    lines = text.split(newline)
    train_call = lines.index("    model.train()")
    assert lines[train_call + 1].startswith("    for batch_idx")
    lines[train_call : train_call + 2] = [lines[train_call + 1], "        model.train()"]
    return newline.join(lines)


def test_text_output_reports_tm101_on_the_training_forward(run: RunCli, seed_copy: Path) -> None:
    line, column = training_forward_line(seed_copy.read_text())
    result = run("check", "seed_loop.py")
    assert result.code == 1
    finding, found, fixable = result.out.splitlines()
    assert finding.startswith(f"seed_loop.py:{line}:{column}: TM101 [*] `model` may be in eval mode here")
    assert "test(model, validation_loader)" in finding
    assert (found, fixable) == ("Found 1 error.", "[*] 1 fixable with `--fix`.")


def test_json_output(run: RunCli, seed_copy: Path) -> None:
    line, column = training_forward_line(seed_copy.read_text())
    result = run("check", "--format", "json", seed_copy)
    assert result.code == 1
    (record,) = json.loads(result.out)
    assert record["code"] == "TM101"
    assert record["name"] == "train-step-in-eval-mode"
    assert record["filename"] == str(seed_copy.resolve())
    assert record["location"] == {"row": line, "column": column}
    assert record["end_location"]["row"] == line
    assert record["noqa_row"] == line
    assert record["cell"] is None
    assert record["url"]
    assert record["fix"]["applicability"] == "safe"
    assert record["fix"]["message"] == "Move `model.train()` into the loop"
    assert {edit["content"].strip() for edit in record["fix"]["edits"]} == {"", "model.train()"}


def test_diff_moves_train_into_the_loop_and_writes_nothing(run: RunCli, seed_copy: Path) -> None:
    before = seed_copy.read_bytes()
    result = run("check", "--diff", "seed_loop.py")
    assert result.code == 1
    assert seed_copy.read_bytes() == before
    lines = result.out.splitlines()
    assert lines[:2] == ["--- seed_loop.py", "+++ seed_loop.py"]
    removed = lines.index("-    model.train()")
    loop = next(
        i for i, text in enumerate(lines) if text.startswith("     for batch_idx")
    )  # context: " " + line
    added = lines.index("+        model.train()")
    assert removed < loop < added
    assert "Would fix 1 error." in result.err


def test_fix_then_recheck_is_clean_and_changes_nothing_else(run: RunCli, seed_copy: Path) -> None:
    original = seed_copy.read_text()
    result = run("check", "--fix", seed_copy)
    assert (result.code, result.out) == (0, "Found 1 error (1 fixed, 0 remaining).\n")
    fixed = seed_copy.read_text()
    assert fixed == expected_fix(original)
    ast.parse(fixed)
    again = run("check", seed_copy)
    assert (again.code, again.out) == (0, "All checks passed!\n")


def test_fix_twice_changes_nothing_the_second_time(run: RunCli, seed_copy: Path) -> None:
    run("check", "--fix", seed_copy)
    once = seed_copy.read_bytes()
    second = run("check", "--fix", seed_copy)
    assert second.code == 0
    assert seed_copy.read_bytes() == once
    assert run("check", "--diff", seed_copy).out == ""


def test_fix_keeps_crlf_line_endings(run: RunCli, tmp_path: Path) -> None:
    original = SEED.read_text().replace("\n", "\r\n")
    target = tmp_path / "crlf.py"
    target.write_bytes(original.encode())
    assert run("check", "--fix", target).code == 0
    data = target.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")  # no bare LF crept in
    assert data.decode() == expected_fix(original, "\r\n")


def test_select_and_ignore_with_the_real_rules(run: RunCli, seed_copy: Path) -> None:
    assert run("check", "--select", "TM101", seed_copy).code == 1
    assert run("check", "--select", "TM1", seed_copy).code == 1
    ignored = run("check", "--ignore", "TM101", seed_copy)
    assert (ignored.code, ignored.out) == (0, "All checks passed!\n")
    assert run("check", "--select", "TM1", "--ignore", "TM10", seed_copy).code == 0


def test_chinese_messages(run: RunCli, seed_copy: Path) -> None:
    result = run("check", "--locale", "zh-cn", seed_copy)
    assert result.code == 1
    assert "可能处于 eval 模式" in result.out


def test_good_file_reported_next_to_unparsable_one(run: RunCli, seed_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    result = run("check", ".")
    assert result.code == 2
    assert "Failed to parse broken.py:1:" in result.err
    assert "seed_loop.py:" in result.out and "TM101" in result.out
