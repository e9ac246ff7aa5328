"""``pytest --torchmode-guard``: the plugin found through its entry point, in a real pytest process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.checkout import checkout_env

TESTS = """\
import torch
import torch.nn.functional as F
from torch import nn


def test_fine_tuning_after_validation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.eval()
    for _ in range(2):
        loss = F.cross_entropy(model(torch.randn(4, 4)), torch.zeros(4, dtype=torch.long))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_plain():
    assert nn.Dropout(0.1).training
"""


def test_plugin_reports_what_the_test_run_observed(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "test_model.py").write_text(TESTS, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--torchmode-guard",
        "test_model.py",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, env=checkout_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "torchmode runtime guard" in result.stdout
    assert "test_model.py:12:32: TM101 " in result.stdout
    report = json.loads((tmp_path / ".torchmode" / "runtime.json").read_text(encoding="utf-8"))
    assert [(item["code"], item["location"]["row"], item["count"]) for item in report["findings"]] == [
        ("TM101", 12, 2)
    ]

    quiet = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_model.py"],
        cwd=tmp_path,
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert quiet.returncode == 0 and "torchmode" not in quiet.stdout


def test_plugin_imports_nothing_heavy_without_the_option() -> None:
    probe = "import sys, torchmode.runtime.pytest_plugin; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=checkout_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "False"
