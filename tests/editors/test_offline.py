"""The instruments of the offline VS Code tests, checked to see what those tests must not see.

test_vscode.py concludes "no pip, no virtual environment, no connection" from an absence:
no such record in the process log, pip unable to reach an index. These tests show that the
absence means something: in the same offline environment pip cannot get a package, and the
recorder does record a ``-m venv``, a ``-m pip``, a subprocess, a connection and where a
module was imported from, when they happen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import editor_tools
from editor_tools import read_process_log


def test_pip_cannot_get_a_package_in_the_offline_environment(tmp_path: Path) -> None:
    env = editor_tools.offline_env(os.environ)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path), "pygls==2.1.1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0, done.stdout
    assert list(tmp_path.iterdir()) == []
    # The machine's own pip settings (find-links, extra index URLs) are gone, not just shadowed.
    assert {key for key in env if key.startswith("PIP_")} == set(editor_tools.OFFLINE_PIP_ENV)


def test_recorder_records_what_the_offline_test_forbids(
    python_without_torchmode: Path, extension_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "processes.jsonl"
    env = {**editor_tools.offline_env(os.environ), "TORCHMODE_TEST_PROCESS_LOG": str(log)}

    def run(*args: str) -> None:
        command = [str(python_without_torchmode), *args]
        subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)

    run("-m", "venv", "--without-pip", str(tmp_path / "made-venv"))
    run("-I", "-m", "pip", "--version")  # no pip in this venv: it fails, but it was started
    run("-c", "import subprocess; subprocess.run(['true'])")
    run("-c", "import socket; socket.socket().connect_ex(('127.0.0.1', 9))")
    run("-I", str(extension_dir / "bundled" / "tool" / "launch.py"), "--version")
    events = read_process_log(log)

    starts = [event["argv"] for event in events if event["event"] == "start"]
    assert len(starts) == 5, starts
    assert "venv" in starts[0] and "pip" in starts[1]
    assert any(event["event"] == "spawn" and event["kind"] == "subprocess.Popen" for event in events), events
    assert any(event["event"] == "network" and event["kind"] == "socket.connect" for event in events), events
    modules = {event["name"]: Path(str(event["path"])) for event in events if event["event"] == "module"}
    assert modules["torchmode"].is_relative_to(extension_dir / "bundled" / "libs"), modules
    starts_with_env = [event for event in events if event["event"] == "start"]
    assert all(event["pip"] == editor_tools.OFFLINE_PIP_ENV for event in starts_with_env)
