"""``--jobs N``: the same output as one process, in the same order, problems included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.checkout import checkout_env

CASES = Path(__file__).resolve().parents[1] / "cases"


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "torchmode", "check", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=checkout_env(),
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jobs")
    for folder in sorted(CASES.iterdir()):
        shutil.copytree(folder, root / folder.name)
    (root / "tm101" / "zz_broken.py").write_text("def broken(:\n", encoding="utf-8")
    (root / "tm101" / "zz_latin1.py").write_bytes(b"x = '\xe9'\n")
    return root


@pytest.mark.parametrize("output", ["text", "json"])
def test_several_processes_print_what_one_does(workspace: Path, output: str) -> None:
    one = run("--jobs", "1", "--format", output, ".", cwd=workspace)
    two = run("--jobs", "2", "--format", output, ".", cwd=workspace)
    assert len(list(workspace.rglob("*.py"))) >= 2 * 8  # enough files for two processes
    assert one.returncode == two.returncode == 2  # findings and two unreadable files
    assert one.stdout == two.stdout
    assert one.stderr == two.stderr
    assert "zz_broken.py" in one.stderr and "zz_latin1.py" in one.stderr


def test_jobs_must_be_a_positive_number(workspace: Path) -> None:
    for bad in ("0", "-3", "many"):
        result = run("--jobs", bad, ".", cwd=workspace)
        assert result.returncode == 2
        assert "--jobs" in result.stderr
