"""The cache of results of ``torchmode check`` (``torchmode.cli.cache``).

Whether a run analysed a file is read from the engine itself (``analysed``: every call of
``engine.check_document``, in this process), never from timings. Every cached run's output is
compared with a run that does not use the cache (``--no-cache``), byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import SEED, Run

from support.checkout import checkout_env
from torchmode import engine
from torchmode.cli import cache as cache_module
from torchmode.cli.cache import finding_from_json, finding_to_json
from torchmode.findings import Finding, Fix, Related, Severity
from torchmode.syntax import Document, Span, TextEdit

RunCli = Callable[..., Run]

EVALUATE = """\
def evaluate(model, loader):
    model.eval()
    for x in loader:
        model(x)
"""
# TM101 through the import: ``evaluate`` (another file) leaves the model in eval mode.
TRAIN = """\
from helpers import evaluate


def train(model, loader, val_loader, optimizer):
    model.train()
    for epoch in range(10):
        for x, y in loader:
            optimizer.zero_grad()
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
        evaluate(model, val_loader)
"""
QUIET = "def add(a, b):\n    return a + b\n"


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture(autouse=True)
def cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCHMODE_NO_CACHE", raising=False)
    monkeypatch.delenv("TORCHMODE_CACHE_DIR", raising=False)


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the engine analysed, in order; a cache hit is a file not here."""
    names: list[str] = []
    real = engine.check_document

    def counting(document: Document, *args: Any, **kwargs: Any) -> engine.CheckResult:
        names.append(Path(document.path).name)
        return real(document, *args, **kwargs)

    monkeypatch.setattr(engine, "check_document", counting)
    return names


@pytest.fixture
def project(in_tmp_path: Path) -> Path:
    """Files with findings (one through an import, one in a notebook) and without."""
    (in_tmp_path / "helpers.py").write_text(EVALUATE, encoding="utf-8")
    (in_tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    (in_tmp_path / "seed.py").write_bytes(SEED.read_bytes())
    (in_tmp_path / "quiet.py").write_text(QUIET, encoding="utf-8")
    (in_tmp_path / "seed.ipynb").write_text(notebook(SEED.read_text(encoding="utf-8")), encoding="utf-8")
    return in_tmp_path


def uncached(run: RunCli, *argv: str) -> Run:
    return run("check", "--no-cache", *argv)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.json"))


# --- hits -------------------------------------------------------------------------------------


def test_a_second_run_analyses_nothing_and_prints_the_same(
    run: RunCli, analysed: list[str], project: Path
) -> None:
    first = run("check", ".")
    assert sorted(analysed) == ["helpers.py", "quiet.py", "seed.ipynb", "seed.py", "train.py"]
    assert first.code == 1 and "train.py:9:20: TM101" in first.out and "seed.ipynb:cell 1" in first.out
    for options in (
        (),
        ("--format", "json"),
        ("--format", "sarif"),
        ("--format", "github"),
        ("--quiet",),
        ("--exit-zero",),
        ("--unsafe-fixes",),
    ):
        expected = uncached(run, *options, ".")
        analysed.clear()
        assert run("check", *options, ".") == expected, options
        assert analysed == [], options


def test_the_cache_folder_is_ignored_by_git_and_tagged(run: RunCli, project: Path) -> None:
    run("check", ".")
    folder = project / ".torchmode_cache"
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert (
        (folder / "CACHEDIR.TAG")
        .read_text(encoding="utf-8")
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert len(entries(folder)) == 5
    # A folder that names the cache is skipped when checking ``.`` (it starts with a dot), and
    # an explicit check of it finds no Python file in it.
    assert "No Python files" in run("check", "--no-cache", str(folder)).err


# --- misses -----------------------------------------------------------------------------------


def test_a_changed_file_is_checked_again(run: RunCli, analysed: list[str], project: Path) -> None:
    run("check", ".")
    seed = project / "seed.py"
    seed.write_text("# moved down a line\n" + seed.read_text(encoding="utf-8"), encoding="utf-8")
    analysed.clear()
    result = run("check", ".")
    assert analysed == ["seed.py"]
    assert "seed.py:44:18: TM101" in result.out
    assert result == uncached(run, ".")


def test_a_changed_import_checks_its_importers_again(run: RunCli, analysed: list[str], project: Path) -> None:
    assert "train.py:9:20: TM101" in run("check", ".").out
    helpers = project / "helpers.py"
    # ``evaluate`` now puts the model back in train mode: the finding in train.py goes.
    helpers.write_text(EVALUATE + "    model.train()\n", encoding="utf-8")
    analysed.clear()
    result = run("check", ".")
    assert sorted(analysed) == ["helpers.py", "train.py"]
    assert "train.py" not in result.out
    assert result == uncached(run, ".")
    # Deleted: the importer is checked again (the import no longer resolves).
    helpers.unlink()
    analysed.clear()
    result = run("check", ".")
    assert analysed == ["train.py"]
    assert result == uncached(run, ".")


def test_changed_settings_check_again_and_each_settings_keep_their_results(
    run: RunCli, analysed: list[str], project: Path
) -> None:
    every = ["helpers.py", "quiet.py", "seed.ipynb", "seed.py", "train.py"]
    default = run("check", ".")
    (project / "pyproject.toml").write_text('[tool.torchmode]\nignore = ["TM101"]\n', encoding="utf-8")
    analysed.clear()
    ignoring = run("check", ".")
    assert sorted(analysed) == every and ignoring.code == 0
    assert ignoring == uncached(run, ".")
    analysed.clear()
    selected = run("check", "--select", "TM101", ".")  # the command line is part of the settings
    assert sorted(analysed) == every and selected.code == 1
    assert selected == uncached(run, "--select", "TM101", ".")
    # Back to the first settings: their results are still there.
    (project / "pyproject.toml").unlink()
    analysed.clear()
    assert run("check", ".") == default
    assert analysed == []


def test_following_imports_or_not_are_kept_apart(run: RunCli, analysed: list[str], project: Path) -> None:
    run("check", ".")
    analysed.clear()
    alone = run("check", "--no-follow-imports", ".")
    assert "train.py" not in alone.out  # the imported evaluate is not followed
    assert len(analysed) == 5
    assert alone == uncached(run, "--no-follow-imports", ".")


# --- a cache that cannot be read or written ---------------------------------------------------


def test_unreadable_entries_are_one_warning_and_checked_again(
    run: RunCli, analysed: list[str], project: Path
) -> None:
    run("check", ".")
    expected = uncached(run, ".")
    broken = entries(project / ".torchmode_cache")[:3]
    broken[0].write_text("{not json", encoding="utf-8")
    broken[1].write_bytes(broken[1].read_bytes()[:40])  # cut short
    broken[2].write_text(json.dumps({"format": 1, "path": 3}), encoding="utf-8")  # not an entry
    analysed.clear()
    result = run("check", ".")
    assert len(analysed) == 3
    assert result.code == expected.code and result.out == expected.out
    warnings = result.err.splitlines()
    assert len(warnings) == 1 and "cannot be read" in warnings[0], result.err
    # Checked again, the entries are whole again.
    analysed.clear()
    assert run("check", ".") == expected
    assert analysed == []


def test_a_folder_that_cannot_be_written_is_one_warning(run: RunCli, project: Path) -> None:
    blocker = project / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    expected = uncached(run, ".")
    result = run("check", "--cache-dir", "not-a-folder/cache", ".")
    assert (result.code, result.out) == (expected.code, expected.out)
    warnings = result.err.splitlines()
    assert len(warnings) == 1 and "cannot write the cache" in warnings[0], result.err


def test_two_runs_sharing_the_cache(project: Path) -> None:
    """Two processes fill the same cold cache at once: both print what a run without the cache
    prints, and the cache they leave serves a third run whole."""
    for number in range(12):  # enough files that the two runs overlap
        (project / f"copy_{number}.py").write_bytes(SEED.read_bytes())
    command = [sys.executable, "-m", "torchmode", "check", "--format", "json", "--jobs", "1", "."]
    env = checkout_env()
    expected = subprocess.run(
        [*command, "--no-cache"], cwd=project, capture_output=True, text=True, env=env, check=False
    )
    processes = [
        subprocess.Popen(
            command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    for (out, err), process in zip(outputs, processes, strict=True):
        assert (process.returncode, out, err) == (expected.returncode, expected.stdout, expected.stderr)
    assert not list((project / ".torchmode_cache").glob("*/.torchmode-tmp-*"))  # no temporary file left
    again = subprocess.run(
        [*command, "--jobs", "2"], cwd=project, capture_output=True, text=True, env=env, check=False
    )
    assert (again.returncode, again.stdout, again.stderr) == (
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )


def test_a_cache_filled_by_several_processes_serves_one(
    run: RunCli, analysed: list[str], project: Path
) -> None:
    for number in range(16):  # --jobs starts a process per 8 files at most
        (project / f"copy_{number}.py").write_bytes(SEED.read_bytes())
    filled = subprocess.run(
        [sys.executable, "-m", "torchmode", "check", "--jobs", "2", "."],
        cwd=project,
        capture_output=True,
        text=True,
        env=checkout_env(),
        check=False,
    )
    analysed.clear()
    result = run("check", "--jobs", "1", ".")
    assert analysed == []
    assert (result.code, result.out, result.err) == (filled.returncode, filled.stdout, filled.stderr)
    assert result == uncached(run, "--jobs", "1", ".")


# --- fixing -----------------------------------------------------------------------------------


def test_fix_and_diff_do_not_use_the_cache(run: RunCli, analysed: list[str], project: Path) -> None:
    run("check", ".")
    analysed.clear()
    diff = run("check", "--diff", ".")
    assert "seed.py" in diff.out and analysed  # computed, not read
    analysed.clear()
    fixed = run("check", "--fix", ".")
    assert fixed.code == 0 and analysed
    assert "Found" in fixed.out or "fixed" in fixed.out
    analysed.clear()
    after = run("check", ".")  # the fixed files are new texts: checked again
    assert "seed.py" in analysed and after.code == 0
    assert after == uncached(run, ".")


# --- turning it off, and where it is ----------------------------------------------------------


def test_no_cache_neither_reads_nor_writes(
    run: RunCli, analysed: list[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("check", "--no-cache", ".")
    assert not (project / ".torchmode_cache").exists()
    run("check", ".")
    analysed.clear()
    run("check", "--no-cache", ".")
    assert len(analysed) == 5
    monkeypatch.setenv("TORCHMODE_NO_CACHE", "1")
    analysed.clear()
    run("check", ".")
    assert len(analysed) == 5
    monkeypatch.setenv("TORCHMODE_NO_CACHE", "0")
    analysed.clear()
    run("check", ".")
    assert analysed == []


def test_cache_dir_setting_is_relative_to_its_pyproject(
    run: RunCli, analysed: list[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.torchmode]\ncache-dir = "build/results"\n', encoding="utf-8"
    )
    sub = project / "sub"
    sub.mkdir()
    (sub / "more.py").write_bytes(SEED.read_bytes())
    monkeypatch.chdir(sub)  # the configuration in effect here is the project's
    run("check", ".")
    assert len(entries(project / "build" / "results")) == 1
    assert not (sub / ".torchmode_cache").exists() and not (project / ".torchmode_cache").exists()
    analysed.clear()
    run("check", ".")
    assert analysed == []


def test_cache_dir_option_and_variable_win_over_the_setting(
    run: RunCli, analysed: list[str], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.torchmode]\ncache-dir = "from-setting"\n', encoding="utf-8"
    )
    monkeypatch.setenv("TORCHMODE_CACHE_DIR", "from-variable")
    run("check", ".")
    assert len(entries(project / "from-variable")) == 5
    run("check", "--cache-dir", "from-option", ".")
    assert len(entries(project / "from-option")) == 5
    assert not (project / "from-setting").exists()
    monkeypatch.delenv("TORCHMODE_CACHE_DIR")
    run("check", ".")
    assert len(entries(project / "from-setting")) == 5
    # --isolated ignores pyproject.toml, its cache-dir too: the default beside the current folder.
    run("check", "--isolated", ".")
    assert (project / ".torchmode_cache").is_dir()


def test_default_folder_is_beside_the_configuration(
    run: RunCli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text("[tool.torchmode]\n", encoding="utf-8")
    sub = project / "sub"
    sub.mkdir()
    (sub / "more.py").write_bytes(SEED.read_bytes())
    monkeypatch.chdir(sub)
    run("check", ".")
    assert len(entries(project / ".torchmode_cache")) == 1
    config = project / "elsewhere.toml"
    config.write_text('[tool.torchmode]\ncache-dir = "../explicit"\n', encoding="utf-8")
    run("check", "--config", str(config), ".")
    assert len(entries(project.parent / "explicit")) == 1


def test_a_bad_cache_dir_setting_is_a_warning_and_the_default(run: RunCli, project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.torchmode]\ncache-dir = 3\n", encoding="utf-8")
    result = run("check", ".")
    assert "cache-dir: expected a folder" in result.err
    assert (project / ".torchmode_cache").is_dir()


# --- the key and the entries ------------------------------------------------------------------


def test_an_edit_of_torchmode_itself_is_a_new_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editable install's code changes between runs: its results are not served after."""
    package = tmp_path / "fake" / "torchmode"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "engine.py").write_text("A = 1\n", encoding="utf-8")
    monkeypatch.setattr(cache_module.torchmode, "__file__", str(package / "__init__.py"))
    before = cache_module.context_key()
    assert cache_module.context_key() == before
    (package / "engine.py").write_text("A = 22\n", encoding="utf-8")
    assert cache_module.context_key() != before
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    assert cache_module.context_key() != before


def test_findings_survive_the_round_trip() -> None:
    span = Span.of(3, 4, 5, 6)
    finding = Finding(
        "TM201",
        "eval-without-no-grad",
        "`modèle` 在评估中 — “quoted”\n\ttab",
        span,
        Severity.INFORMATION,
        (Related(Span.of(1, 0, 1, 9), "here", ""), Related(Span.of(7, 2, 7, 3), "there", "/x/other.py")),
        (
            Fix(
                "Wrap",
                (TextEdit(span, "with torch.no_grad():\n    x\n"), TextEdit(Span.of(1, 0, 1, 0), "")),
                "safe",
            ),
            Fix("Decorate", (TextEdit(Span.of(2, 0, 2, 0), "@torch.no_grad()\n"),), "unsafe"),
        ),
        "https://example.org/tm201",
        "model.backbone",
    )
    encoded = json.loads(json.dumps(finding_to_json(finding)))
    assert finding_from_json(encoded) == finding


def test_an_entry_for_another_file_is_not_used(run: RunCli, analysed: list[str], project: Path) -> None:
    """Entries are named by a hash of the path; each also says whose it is, and that is checked."""
    run("check", ".")
    folder = project / ".torchmode_cache"
    quiet, seed = (
        next(
            entry
            for entry in entries(folder)
            if json.loads(entry.read_text(encoding="utf-8"))["path"].endswith(name)
        )
        for name in (os.sep + "quiet.py", os.sep + "seed.py")
    )
    quiet.write_bytes(seed.read_bytes())  # seed.py's findings under quiet.py's name
    analysed.clear()
    result = run("check", ".")
    assert analysed == ["quiet.py"] and result.out == uncached(run, ".").out
