"""The .vsix in real VS Code (code-server + headless chromium), driven through the UI.

The user's Python is a fresh virtual environment without torchmode, set as
``torchmode.interpreter``: the extension must find it, make its private
environment from it and install the server wheel it carries (dependencies from
the package index), then show TM101 on the classic train/eval loop bug. The
driver (vscode/driver.mjs) then hovers, applies the quick fix with Ctrl+. and
saves, and this test checks what it saw and the file on disk.

The screenshot goes to the artifacts folder (``~/.cache/torchmode-editor-tests/
artifacts``); with ``TORCHMODE_UPDATE_SCREENSHOT=1`` also to docs/vscode-screenshot.png.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import editor_tools
from code_server import running_code_server
from editor_tools import WORKSPACE_FILE, expected_fixed_text

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "vscode" / "driver.mjs"
SELFTEST = HERE / "vscode" / "selftest"
DOCS_SCREENSHOT = editor_tools.ROOT / "docs" / "vscode-screenshot.png"


def test_vsix_in_vscode_shows_tm101_hover_and_applies_the_quick_fix(
    vsix: Path, python_without_torchmode: Path, tmp_path: Path, artifacts: Path
) -> None:
    editor_tools.ensure_all()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copy(WORKSPACE_FILE, workspace / "train.py")
    original = WORKSPACE_FILE.read_text()
    screenshot = artifacts / "vscode-screenshot.png"
    screenshot.unlink(missing_ok=True)
    settings = {"torchmode.interpreter": str(python_without_torchmode)}

    with running_code_server(tmp_path / "code-server", workspace, [vsix], settings) as server:
        config = {
            "url": f"{server.url}/?folder={workspace}",
            "file": str(workspace / "train.py"),
            "fileName": "train.py",
            "originalText": original,
            "screenshot": str(screenshot),
            "playwrightModules": str(editor_tools.ensure_driver()),
            "chromium": editor_tools.CHROMIUM,
            "timeoutMs": 90_000,
            "squiggleTimeoutMs": 240_000,
        }
        config_path = tmp_path / "driver.json"
        config_path.write_text(json.dumps(config))
        driver = editor_tools.run_in_group(
            [editor_tools.ensure_node() / "bin" / "node", DRIVER, config_path], timeout=600
        )
        logs = server.extension_logs()
        storage = server.global_storage()
        markers = list(storage.glob("envs/*/torchmode-env.json"))

    context = f"driver stderr:\n{driver.stderr[-3000:]}\nextension logs:\n{logs}"
    assert driver.stdout.strip(), f"the driver printed nothing (exit {driver.returncode})\n{context}"
    result = json.loads(driver.stdout.strip().splitlines()[-1])
    assert "error" not in result, f"{result['error']}\nsteps: {result['steps']}\n{context}"

    # The bundled server was installed into the extension's private environment.
    assert len(markers) == 1, f"no private environment under {storage}\n{context}"
    marker = json.loads(markers[0].read_text())
    assert marker["wheel"] == f"torchmode-{editor_tools.extension_version()}-py3-none-any.whl"

    assert result["squiggle"] is True
    assert "TM101" in result["problemText"], result["problemText"]
    assert "may be in eval mode here" in result["problemText"], result["problemText"]
    assert "torchmode" in result["problemText"], result["problemText"]
    assert "train | eval" in result["hoverText"], result["hoverText"]
    assert "model.eval()" in result["hoverText"], result["hoverText"]
    assert any("into the loop" in title for title in result["quickFixTitles"]), result["quickFixTitles"]
    assert result["squiggleGone"] is True
    assert "        model.train()" in result["editorText"]
    assert (workspace / "train.py").read_text() == expected_fixed_text()
    assert result["externalRequests"] == [], result["externalRequests"]
    assert screenshot.exists() and screenshot.stat().st_size > 10_000

    if os.environ.get("TORCHMODE_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(screenshot, DOCS_SCREENSHOT)


def test_vsix_client_behaviour_through_the_vscode_api(
    vsix: Path, python_without_torchmode: Path, tmp_path: Path
) -> None:
    """The self-test extension (vscode/selftest) checks settings, fix-all, a bad interpreter, restart.

    Zero configuration: no torchmode setting at all; the only Python on PATH as ``python3``
    is a fresh venv without torchmode (the Python extension is not installed).
    """
    editor_tools.ensure_all()
    selftest_vsix = tmp_path / "selftest.vsix"
    subprocess.run(
        [
            str(editor_tools.ROOT / "node_modules" / ".bin" / "vsce"),
            "package",
            "--no-dependencies",
            "--skip-license",
            "--allow-missing-repository",
            "-o",
            str(selftest_vsix),
        ],
        cwd=SELFTEST,
        env=editor_tools.node_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copy(WORKSPACE_FILE, workspace / "train.py")
    # A broken torchmode that `python -m torchmode` finds in the folder (importStrategy
    # fromEnvironment runs there): it imports, then exits at once.
    broken = workspace / "torchmode"
    (broken / "lsp").mkdir(parents=True)
    (broken / "__init__.py").write_text('__version__ = "0.0.0"\n')
    (broken / "lsp" / "__init__.py").write_text("")
    (broken / "lsp" / "server.py").write_text("")
    (broken / "__main__.py").write_text('import sys\n\nsys.exit("broken torchmode for the test")\n')
    out = tmp_path / "selftest.json"
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    # A script, not a symlink: Python finds its venv from the path it was started by.
    (path_dir / "python3").write_text(f'#!/bin/sh\nexec "{python_without_torchmode}" "$@"\n')
    (path_dir / "python3").chmod(0o755)
    settings: dict[str, object] = {}
    env = {
        "TORCHMODE_SELFTEST_OUT": str(out),
        "PATH": f"{path_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        # Otherwise VS Code gives extensions the PATH of a login shell, not this one.
        "VSCODE_CLI": "1",
    }
    with running_code_server(
        tmp_path / "code-server", workspace, [vsix, selftest_vsix], settings, env
    ) as server:
        # The extension host runs only while a browser window is connected.
        browser = subprocess.Popen(
            [
                editor_tools.CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'chromium'}",
                "--remote-debugging-port=0",
                f"{server.url}/?folder={workspace}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 420
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(0.5)  # the file is written in one call; let it land
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()
        logs = server.extension_logs()

    assert out.exists(), f"the self-test wrote nothing\n{logs}"
    result = json.loads(out.read_text())
    assert result.get("ok") is True, f"{result.get('error')}\nsteps: {result['steps']}\n{logs}"
    assert "Python: python3 (from PATH)" in logs, logs
    assert (
        f"from Python 3.{sys.version_info[1]}.{sys.version_info[2]} at {python_without_torchmode}" in logs
    ), logs
    assert result["diagnostic"]["code"] == "TM101"
    assert (result["diagnostic"]["line"], result["diagnostic"]["character"]) == (29, 17)
    assert "train | eval" in result["hover"]
    assert any("into the loop" in title for title in result["quickFixes"]), result["quickFixes"]
    assert result["textAfterFixAll"] == expected_fixed_text()
    assert result["findingsWithBadInterpreter"] == 0
    # The bad interpreter was reported once, and nothing tried to restart it in a loop.
    assert logs.count("Cannot run the Python interpreter /nonexistent/bin/python3") == 1, logs
    # The server that exits at start: its stderr is in the log, reported once, not restarted.
    assert result["findingsWithBrokenServer"] == 0
    assert "broken torchmode for the test" in logs, logs
    assert logs.count("exited or failed while starting") == 1, logs
