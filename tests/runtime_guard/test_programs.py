"""Real programs under real torch: the guard catches dynamic mode switches at the right lines,
stays silent on correct patterns, and never changes what the program prints."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from guard_helpers import PROGRAMS, expected, run_guarded, run_plain

from torchmode.runtime.report import display_path

PROGRAM_FILES = sorted(path for path in PROGRAMS.glob("*.py") if path.name != "common.py")
BUGGY = [path for path in PROGRAM_FILES if expected(path).observed]
CORRECT = [path for path in PROGRAM_FILES if not expected(path).observed]


def test_there_are_programs_of_both_kinds() -> None:
    assert len(BUGGY) >= 7 and len(CORRECT) >= 5


@pytest.mark.parametrize("program", PROGRAM_FILES, ids=lambda path: path.stem)
def test_observed_at_the_marked_lines_and_output_unchanged(program: Path, tmp_path: Path) -> None:
    wanted = expected(program)
    plain = run_plain(program)
    run = run_guarded(program, tmp_path / "report.json", "--select", wanted.select)

    assert run.status == 0, run.stderr
    assert run.stdout == plain  # the program's output is its own, to the last digit
    assert plain  # (and there is output to compare)
    found = {(item["code"], item["location"]["row"]) for item in run.findings}
    assert found == wanted.observed, run.stderr
    for item in run.findings:
        assert item["observed"] is True and item["count"] >= 1
        assert item["filename"] == str(program)
        switch_lines = {related["location"]["row"] for related in item["related"]}
        assert switch_lines == wanted.switches.get(item["code"], set()), item["message"]
        # Printed once, when first seen, in the CLI's text format.
        where = f"{display_path(str(program))}:{item['location']['row']}:{item['location']['column']}"
        line = f"{where}: {item['code']} "
        assert sum(printed.startswith(line) for printed in run.stderr.splitlines()) == 1, run.stderr
    assert "torchmode: warning" not in run.stderr


def test_the_readme_shows_a_real_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README quotes `torchmode run` on getattr_switch.py; it must stay what a run prints."""
    root = PROGRAMS.parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = "$ torchmode run tests/runtime_guard/programs/getattr_switch.py\n"
    quoted = readme.split(command, 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    printed = io.StringIO()
    run = run_guarded(PROGRAMS / "getattr_switch.py", tmp_path / "runtime.json", terminal=printed)
    assert run.status == 0
    shown = printed.getvalue().replace(
        display_path(str(tmp_path / "runtime.json")), ".torchmode/runtime.json"
    )
    assert shown == quoted
