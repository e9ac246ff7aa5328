"""The torchmode server from the .vsix driven by Neovim 0.7's built-in LSP client, headless.

The server runs as the extension runs it: the .vsix's bundled/libs, started by a Python
with nothing installed (``python -I bundled/tool/launch.py lsp``) and the package index
unreachable. neovim/init.lua does the editor's part and writes what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import editor_tools
from editor_tools import WORKSPACE_FILE, expected_fixed_text

INIT_LUA = Path(__file__).resolve().parent / "neovim" / "init.lua"


def test_neovim_shows_tm101_hover_and_applies_the_quick_fix(
    python_without_torchmode: Path, extension_dir: Path, tmp_path: Path
) -> None:
    editor_tools.ensure_apt(["neovim"])
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    target = workspace / "train.py"
    shutil.copy(WORKSPACE_FILE, target)
    result_path = tmp_path / "result.json"
    command = editor_tools.bundled_server_command(python_without_torchmode, extension_dir)
    env = {
        **editor_tools.offline_env(os.environ),
        "TORCHMODE_SERVER_CMD": json.dumps(command),
        "TORCHMODE_RESULT": str(result_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    nvim = editor_tools.run_in_group(
        ["nvim", "--headless", "-n", "-i", "NONE", "-u", str(INIT_LUA), "train.py"],
        cwd=workspace,
        env=env,
        timeout=180,
    )
    output = f"exit {nvim.returncode}\n{nvim.stdout}\n{nvim.stderr}"

    assert result_path.exists(), f"nvim wrote no result: {output}"
    result = json.loads(result_path.read_text())
    assert result.get("ok") is True and nvim.returncode == 0, f"{result}\n{output}"

    diagnostic = result["diagnostic"]
    assert diagnostic["code"] == "TM101"
    assert diagnostic["source"] == "torchmode"
    assert (diagnostic["lnum"], diagnostic["col"]) == (29, 17)  # `model(data)` in the loop, 0-based
    assert "may be in eval mode here" in diagnostic["message"]
    assert "train | eval" in result["hover"]
    assert any("into the loop" in title for title in result["actions"]), result["actions"]
    assert target.read_text() == expected_fixed_text()
