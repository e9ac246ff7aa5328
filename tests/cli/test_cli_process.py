"""Real `python -m torchmode` processes: exit codes and streams as a shell or CI sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import ROOT, Run, RunCli

from support.checkout import PACKAGE_INIT, checkout_env
from torchmode import __version__
from torchmode.rules import ALL_RULES

RunProcess = Callable[..., Run]


def test_processes_import_this_checkout(tmp_path: Path) -> None:
    """Every CLI process a test starts gets ``checkout_env()``: it imports this checkout's
    package even when the virtualenv has another torchmode installed."""
    done = subprocess.run(
        [sys.executable, "-c", "import torchmode; print(torchmode.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=checkout_env(),
    )
    assert Path(done.stdout.strip()) == PACKAGE_INIT


def test_exit_0_on_a_clean_file(run_process: RunProcess, tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import torch\n\nmodel = torch.nn.Linear(2, 2)\nmodel.eval()\n")
    result = run_process("check", "clean.py", cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, "All checks passed!\n", "")


def test_exit_1_on_findings(run_process: RunProcess, seed_copy: Path) -> None:
    result = run_process("check", seed_copy.name, cwd=seed_copy.parent)
    assert result.code == 1
    assert "TM101" in result.out
    assert result.err == ""


def test_exit_zero_option(run_process: RunProcess, seed_copy: Path) -> None:
    assert run_process("check", "--exit-zero", seed_copy.name, cwd=seed_copy.parent).code == 0


def test_exit_2_on_unparsable_file_while_the_good_one_is_still_reported(
    run_process: RunProcess, seed_copy: Path
) -> None:
    (seed_copy.parent / "broken.py").write_text("for x in:\n    pass\n")
    result = run_process("check", "broken.py", "seed_loop.py", cwd=seed_copy.parent)
    assert result.code == 2
    assert "broken.py" in result.err and "Failed to parse" in result.err
    assert "seed_loop.py:" in result.out and "TM101" in result.out
    assert "Traceback" not in result.err


def test_exit_2_on_a_missing_path(run_process: RunProcess, tmp_path: Path) -> None:
    result = run_process("check", "no_such_file.py", cwd=tmp_path)
    assert result.code == 2
    assert "no_such_file.py: No such file or directory" in result.err
    assert "Traceback" not in result.err


def test_exit_2_on_a_non_utf8_file(run_process: RunProcess, tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"# caf\xe9\nx = 1\n")
    result = run_process("check", "latin.py", cwd=tmp_path)
    assert result.code == 2
    assert "latin.py: cannot decode file as UTF-8" in result.err
    assert "Traceback" not in result.err


def test_exit_2_on_a_usage_error(run_process: RunProcess, tmp_path: Path) -> None:
    result = run_process("check", "--format", "xml", cwd=tmp_path)
    assert result.code == 2
    assert "usage:" in result.err


def test_diff_exit_codes(run_process: RunProcess, seed_copy: Path) -> None:
    assert run_process("check", "--diff", seed_copy.name, cwd=seed_copy.parent).code == 1
    run_process("check", "--fix", seed_copy.name, cwd=seed_copy.parent)
    result = run_process("check", "--diff", seed_copy.name, cwd=seed_copy.parent)
    assert (result.code, result.out) == (0, "")


def test_version(run_process: RunProcess, tmp_path: Path) -> None:
    result = run_process("--version", cwd=tmp_path)
    assert (result.code, result.out) == (0, f"torchmode {__version__}\n")


def test_rules_listing(run: RunCli) -> None:
    result = run("rules")
    assert result.code == 0
    header, *rows = result.out.splitlines()
    assert header.split() == ["code", "name", "severity", "fix", "summary"]
    tm101 = next(row for row in rows if row.startswith("TM101 "))
    assert tm101.split()[:4] == ["TM101", "train-step-in-eval-mode", "warning", "yes"]
    assert len(rows) == len(ALL_RULES)


def test_rules_json(run: RunCli) -> None:
    result = run("rules", "--format", "json")
    records = json.loads(result.out)
    expected = {
        "code": "TM101",
        "name": "train-step-in-eval-mode",
        "default_severity": "warning",
        "fix": True,
        "fix_applicability": ["safe"],
    }
    assert expected.items() <= records[0].items()
    assert records[0]["summary"]
    assert records[0]["url"].startswith("file://") and records[0]["url"].endswith("TM101.en.md")
    assert [record["code"] for record in records] == sorted(rule.code for rule in ALL_RULES)


def test_explain_prints_the_rule_docs(run: RunCli) -> None:
    result = run("explain", "TM101")
    assert result.code == 0
    assert result.out.startswith("# TM101")
    assert run("explain", "tm101").out == result.out
    assert run("explain", "train-step-in-eval-mode").out == result.out
    chinese = run("explain", "TM101", "--locale", "zh-cn")
    assert chinese.code == 0 and chinese.out != result.out


def test_explain_unknown_rule(run: RunCli) -> None:
    result = run("explain", "TM999")
    assert result.code == 2
    assert "unknown rule 'TM999'" in result.err


def test_lsp_starts_the_server_module(run: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    stand_in = types.ModuleType("torchmode.lsp.server")
    stand_in.start_stdio = lambda: calls.append("started")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchmode.lsp.server", stand_in)
    assert run("lsp").code == 0
    assert run("lsp", "--stdio").code == 0
    assert calls == ["started", "started"]


def test_readme_shows_what_make_demo_prints(run_process: RunProcess) -> None:
    """The README quotes the demo's output; it must stay true when the example or messages change."""
    readme = (ROOT / "README.md").read_text()
    quoted = readme.split("`make demo` prints:\n\n```\n", 1)[1].split("```\n", 1)[0]
    check = run_process("check", "examples/seed_loop.py", cwd=ROOT)
    diff = run_process("check", "--diff", "examples/seed_loop.py", cwd=ROOT)
    shown = (
        "$ torchmode check examples/seed_loop.py\n"
        + check.out
        + "\n$ torchmode check --diff examples/seed_loop.py\n"
        + diff.out
        + diff.err
    )
    assert quoted == shown
