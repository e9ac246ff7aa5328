"""Without torch: the package imports, and `torchmode run` runs the program unwatched with one warning.

Runs on every Python of `make test-pythons`, where torch is not installed; on the main one,
torch is hidden from the code under test.
"""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from support.checkout import checkout_env
from torchmode.runtime.command import run_main

HIDE_TORCH = "import sys; sys.modules['torch'] = None; "


def test_the_package_imports_without_torch() -> None:
    probe = (
        HIDE_TORCH + "import torchmode.cli, torchmode.runtime, torchmode.runtime.command, "
        "torchmode.runtime.report, torchmode.runtime.pytest_plugin; import torchmode.runtime as tmr; "
        "print(tmr.findings(), tmr.report())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=checkout_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_run_without_torch_runs_the_program_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "plain.py"
    script.write_text("import sys\nprint('hello', sys.argv[1:])\nsys.exit(4)\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = run_main(["--locale", "en", "--report", str(tmp_path / "r.json"), str(script), "x"])
    assert status == 4
    assert out.getvalue() == "hello ['x']\n"
    assert err.getvalue().startswith("torchmode: warning: PyTorch is not installed")
    assert not (tmp_path / "r.json").exists()
