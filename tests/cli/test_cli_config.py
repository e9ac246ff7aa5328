"""The CLI with ``[tool.torchmode]``: each file's nearest table, command-line options on top."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cli_helpers import SEED, RunCli


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def codes_by_file(run: RunCli, *argv: str | Path) -> dict[str, list[str]]:
    result = run("check", "--format", "json", *argv)
    assert result.code in (0, 1), result.err
    found: dict[str, list[str]] = {}
    for record in json.loads(result.out):
        found.setdefault(Path(record["filename"]).name, []).append(record["code"])
    return found


# --- with the stand-in engine (known codes TM101, TM102, TM103, TM201) ----------------------


@pytest.mark.usefixtures("fake_engine")
class TestLayering:
    def test_each_file_gets_its_nearest_table(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"]\n')
        write(tmp_path / "sub" / "pyproject.toml", '[tool.torchmode]\nselect = ["TM1"]\n')
        write(tmp_path / "a.py", "leak()\nnofix()\n")
        write(tmp_path / "sub" / "b.py", "leak()\nnofix()\n")
        assert codes_by_file(run, ".") == {"a.py": ["TM201"], "b.py": ["TM101"]}

    def test_a_folder_without_a_table_uses_the_one_above(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"]\n')
        write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "sub"\n')
        write(tmp_path / "sub" / "b.py", "leak()\nnofix()\n")
        assert codes_by_file(run, "sub") == {"b.py": ["TM201"]}

    def test_command_line_select_replaces_the_files_select_and_ignore(
        self, run: RunCli, tmp_path: Path
    ) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM2"]\nignore = ["TM101"]\n')
        write(tmp_path / "a.py", "leak()\nrisky()\nnofix()\n")
        assert codes_by_file(run, "a.py") == {"a.py": ["TM201"]}
        assert codes_by_file(run, "--select", "TM101", "a.py") == {"a.py": ["TM101"]}

    def test_command_line_ignore_and_extend_select_add(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM10"]\nignore = ["TM101"]\n')
        write(tmp_path / "a.py", "leak()\nrisky()\nnofix()\n")
        assert codes_by_file(run, "a.py") == {"a.py": ["TM102"]}
        assert codes_by_file(run, "--ignore", "TM102", "a.py") == {}
        assert codes_by_file(run, "--extend-select", "TM201", "a.py") == {"a.py": ["TM102", "TM201"]}
        # An extend-select on the command line undoes the file's ignore of the same code.
        assert codes_by_file(run, "--extend-select", "TM101", "a.py") == {"a.py": ["TM101", "TM102"]}

    def test_locale_from_the_file_and_from_the_command_line(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nlocale = "zh-cn"\n')
        write(tmp_path / "a.py", "leak()\n")
        assert "`leak()` found (zh)" in run("check", "a.py").out
        assert "(zh)" not in run("check", "--locale", "en", "a.py").out

    def test_isolated_ignores_every_file(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM1"]\n')
        write(tmp_path / "a.py", "leak()\nnofix()\n")
        assert codes_by_file(run, "--isolated", "a.py") == {"a.py": ["TM101", "TM201"]}

    def test_config_option_applies_one_file_to_all(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM1"]\n')
        shared = write(tmp_path / "shared" / "ci.toml", '[tool.torchmode]\nignore = ["TM2"]\n')
        write(tmp_path / "a.py", "leak()\nnofix()\n")
        assert codes_by_file(run, "--config", shared, "a.py") == {"a.py": ["TM101"]}

    def test_config_option_errors(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "a.py", "leak()\n")
        missing = run("check", "--config", "nope.toml", "a.py")
        assert missing.code == 2 and "--config nope.toml: no such file" in missing.err
        write(tmp_path / "other.toml", "[tool.ruff]\n")
        foreign = run("check", "--config", "other.toml", "a.py")
        assert foreign.code == 2 and "has no [tool.torchmode] table" in foreign.err

    def test_a_bad_setting_is_one_warning_and_the_default(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = "TM101"\nlocale = "fr"\n')
        write(tmp_path / "a.py", "leak()\n")
        write(tmp_path / "b.py", "leak()\n")
        result = run("check", ".")
        assert result.code == 1  # findings; a bad setting alone does not fail the run
        assert result.err.splitlines() == [
            "torchmode: warning: pyproject.toml:2: [tool.torchmode] ignore: expected a list of rule codes "
            'or prefixes like ["TM1", "TM201"], got a string \'TM101\'; using the default',
            "torchmode: warning: pyproject.toml:3: [tool.torchmode] locale: expected one of en, zh-cn, "
            "got a string 'fr'; using the default",
        ]
        assert result.out.count("TM101") == 2

    def test_invalid_toml_is_a_warning_with_its_line(self, run: RunCli, tmp_path: Path) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nignore = ["TM101"\n')
        write(tmp_path / "a.py", "leak()\n")
        result = run("check", "a.py")
        assert result.code == 1 and "TM101" in result.out
        (warning,) = result.err.splitlines()
        assert warning.startswith(
            "torchmode: warning: pyproject.toml:2: invalid TOML: Unclosed array (at the end"
        )

    def test_unknown_codes_in_the_file_are_checked_against_the_registry(
        self, run: RunCli, tmp_path: Path
    ) -> None:
        write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM999"]\n')
        write(tmp_path / "a.py", "leak()\n")
        result = run("check", "a.py")
        assert "no rule code starts with 'TM999' (known: TM101, TM102, TM103, TM201)" in result.err

    def test_show_settings(self, run: RunCli, tmp_path: Path) -> None:
        pyproject = write(
            tmp_path / "pyproject.toml",
            '[tool.torchmode]\nignore = ["TM2"]\nseverity = { TM101 = "error" }\nfix-safe = ["TM102"]\n',
        )
        write(tmp_path / "src" / "a.py", "leak()\n")
        result = run("check", "--show-settings", "--extend-select", "TM103", "src")
        assert result.code == 0
        lines = result.out.splitlines()
        assert lines[:3] == ["Resolved settings for: src/a.py", f"Settings path: {pyproject}", ""]
        assert 'select = ["TM", "TM103"]' in lines
        assert 'ignore = ["TM2"]' in lines
        assert 'severity = { TM101 = "error" }' in lines
        assert "fix-safe = { TM102 = true }" in lines
        assert 'locale = "en"' in lines
        isolated = run("check", "--show-settings", "--isolated", "src").out
        assert "Settings path: none" in isolated


# --- with the real engine -----------------------------------------------------------------------


def test_severity_from_the_file_reaches_the_output(run: RunCli, tmp_path: Path) -> None:
    # Only TM101: the other rules are not what this test is about.
    write(
        tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM101"]\nseverity = { TM101 = "error" }\n'
    )
    (tmp_path / "seed.py").write_bytes(SEED.read_bytes())
    records = json.loads(run("check", "--format", "json", "seed.py").out)
    assert [(record["code"], record["severity"]) for record in records] == [("TM101", "error")]
    github = run("check", "--format", "github", "seed.py").out
    assert github.startswith("::error ")


def test_fix_safe_false_keeps_fix_from_applying(run: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM101"]\nfix-safe = { TM101 = false }\n')
    seed = tmp_path / "seed.py"
    seed.write_bytes(SEED.read_bytes())
    result = run("check", "seed.py")
    assert "[*]" not in result.out.splitlines()[0]
    assert "hidden fix" in result.out and "--unsafe-fixes" in result.out
    assert run("check", "--fix", "seed.py").code == 1
    assert seed.read_bytes() == SEED.read_bytes()
    assert run("check", "--fix", "--unsafe-fixes", "seed.py").code == 0
    assert seed.read_bytes() != SEED.read_bytes()


def test_config_in_a_real_process(run_process: RunCli, tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.torchmode]\nselect = ["TM1"]\nignore = ["TM101"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "seed.py").write_bytes(SEED.read_bytes())
    # Run from inside pkg/: the table above the working folder still applies.
    result = run_process("check", "seed.py", cwd=tmp_path / "pkg")
    assert (result.code, result.out.strip()) == (0, "All checks passed!"), result.err
