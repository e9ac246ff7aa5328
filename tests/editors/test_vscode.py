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
from typing import cast

import editor_tools
from code_server import running_code_server
from editor_tools import WORKSPACE_FILE, expected_fixed_text

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "vscode" / "driver.mjs"
SELFTEST = HERE / "vscode" / "selftest"
DOCS_SCREENSHOT = editor_tools.ROOT / "docs" / "vscode-screenshot.png"


def build_selftest_vsix(tmp_path: Path) -> Path:
    """The test-only extension (vscode/selftest) packaged, to install beside torchmode."""
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
    return selftest_vsix


def wait_for_selftest(server_url: str, workspace: Path, tmp_path: Path, out: Path) -> None:
    """Open the workspace in headless chromium (the extension host runs only while a window is
    connected) until the self-test has written ``out``, or 420 s."""
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
            f"{server_url}/?folder={workspace}",
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


def python_on_path(tmp_path: Path, python: Path) -> str:
    """A PATH whose only ``python3`` is ``python``."""
    path_dir = tmp_path / "bin"
    path_dir.mkdir()
    # A script, not a symlink: Python finds its venv from the path it was started by.
    (path_dir / "python3").write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    (path_dir / "python3").chmod(0o755)
    return f"{path_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"


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
    selftest_vsix = build_selftest_vsix(tmp_path)
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
    settings: dict[str, object] = {}
    env = {
        "TORCHMODE_SELFTEST_OUT": str(out),
        "PATH": python_on_path(tmp_path, python_without_torchmode),
        # Otherwise VS Code gives extensions the PATH of a login shell, not this one.
        "VSCODE_CLI": "1",
    }
    with running_code_server(
        tmp_path / "code-server", workspace, [vsix, selftest_vsix], settings, env
    ) as server:
        wait_for_selftest(server.url, workspace, tmp_path, out)
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


def test_untrusted_workspace_ignores_its_interpreter_and_import_strategy(
    vsix: Path, python_without_torchmode: Path, tmp_path: Path
) -> None:
    """Workspace trust on, workspace not trusted: its own settings must run nothing.

    The workspace's .vscode/settings.json sets ``torchmode.interpreter`` to a script that
    leaves a marker (outside the workspace, so only VS Code's restriction of the workspace's
    settings, declared in package.json ``capabilities.untrustedWorkspaces``, keeps it from
    running) and ``importStrategy`` to ``fromEnvironment`` next to a ``torchmode`` package in
    the workspace whose import leaves another marker. The extension must still check
    train.py, with the bundled server made from the default Python (``python3`` on PATH).
    An unrestricted setting in the same file (``severity``) does apply: the file was read.
    """
    editor_tools.ensure_all()
    selftest_vsix = build_selftest_vsix(tmp_path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copy(WORKSPACE_FILE, workspace / "train.py")
    markers = tmp_path / "markers"
    markers.mkdir()
    interpreter = tmp_path / "not-trusted" / "python3"
    interpreter.parent.mkdir()
    interpreter.write_text(
        f'#!/bin/sh\necho "$@" > "{markers / "interpreter-ran"}"\nexec "{python_without_torchmode}" "$@"\n'
    )
    interpreter.chmod(0o755)
    package = workspace / "torchmode"
    (package / "lsp").mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"open({str(markers / 'workspace-torchmode-imported')!r}, 'w').close()\n__version__ = '0.0.0'\n"
    )
    (package / "lsp" / "__init__.py").write_text("")
    (package / "lsp" / "server.py").write_text("")
    (package / "__main__.py").write_text(f"open({str(markers / 'workspace-torchmode-ran')!r}, 'w').close()\n")
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "settings.json").write_text(
        json.dumps(
            {
                "torchmode.interpreter": str(interpreter),
                "torchmode.importStrategy": "fromEnvironment",
                # Not restricted, so it applies: proof that VS Code read this file.
                "torchmode.severity": {"TM101": "information"},
            }
        )
    )
    out = tmp_path / "selftest.json"
    env = {
        "TORCHMODE_SELFTEST_OUT": str(out),
        "TORCHMODE_SELFTEST_CASE": "untrusted",
        "PATH": python_on_path(tmp_path, python_without_torchmode),
        "VSCODE_CLI": "1",
    }
    with running_code_server(
        tmp_path / "code-server", workspace, [vsix, selftest_vsix], {}, env, workspace_trust=True
    ) as server:
        wait_for_selftest(server.url, workspace, tmp_path, out)
        logs = server.extension_logs()

    assert out.exists(), f"the self-test wrote nothing\n{logs}"
    result = json.loads(out.read_text())
    assert result.get("ok") is True, f"{result.get('error')}\nsteps: {result['steps']}\n{logs}"
    # Really untrusted, from start to end, and torchmode still ran there.
    assert result["isTrusted"] is False and result["isTrustedAtEnd"] is False, result
    assert result["extensionActive"] is True, result
    # VS Code hands the extension the defaults, not the workspace's values.
    assert result["interpreter"]["effective"] == "", result
    assert result["importStrategy"]["effective"] == "useBundled", result
    # ... while its unrestricted settings do apply (the file was read).
    assert result["severity"]["workspaceValue"] == {"TM101": "information"}, result
    # Nothing of the workspace's ran: not its interpreter, not its torchmode package.
    assert sorted(path.name for path in markers.iterdir()) == [], logs
    # The default Python made the bundled server, and it checked the file.
    assert "Python: python3 (from PATH)" in logs, logs
    assert "starting bundled torchmode" in logs, logs
    # vscode.DiagnosticSeverity.Information: the workspace's severity setting reached the server.
    assert {"code": "TM101", "line": 29, "character": 17, "severity": 2} in result["diagnostics"], result


# The notebook case: the evaluation cell comes before the training cell, and the training
# cell runs the evaluation inside its loop after a single model.train() in the setup cell.
NOTEBOOK_CELLS = [
    ("markdown", "# Training in a notebook\n"),
    (
        "code",
        "import torch\nfrom torch import nn\n\n"
        "model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "model.train()",
    ),
    (
        "code",
        "@torch.no_grad()\ndef evaluate(model, loader):\n    model.eval()\n"
        "    return sum(model(x).sum().item() for x in loader)",
    ),
    (
        "code",
        "for epoch in range(3):\n    for x in train_loader:\n        optimizer.zero_grad()\n"
        "        loss = model(x).sum()\n        loss.backward()\n        optimizer.step()\n"
        "    print(evaluate(model, val_loader))",
    ),
]


def _notebook_json() -> dict[str, object]:
    cells: list[dict[str, object]] = []
    for index, (kind, source) in enumerate(NOTEBOOK_CELLS):
        cell: dict[str, object] = {"cell_type": kind, "id": f"cell-{index}", "metadata": {}}
        if kind == "code":
            cell["execution_count"] = index
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [f"ran cell {index}\n"]}]
        cell["source"] = source.splitlines(keepends=True)
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_vsix_notebook_diagnostic_and_multi_cell_fix(
    vsix: Path, python_without_torchmode: Path, tmp_path: Path
) -> None:
    """An .ipynb in VS Code: TM101 on the training cell, the fix edits two cells, the file is saved."""
    editor_tools.ensure_all()
    selftest_vsix = build_selftest_vsix(tmp_path)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    notebook_path = workspace / "train.ipynb"
    notebook_path.write_text(json.dumps(_notebook_json(), indent=1) + "\n")
    out = tmp_path / "selftest.json"
    settings = {"torchmode.interpreter": str(python_without_torchmode)}
    env = {"TORCHMODE_SELFTEST_OUT": str(out), "TORCHMODE_SELFTEST_CASE": "notebook"}
    with running_code_server(
        tmp_path / "code-server", workspace, [vsix, selftest_vsix], settings, env
    ) as server:
        wait_for_selftest(server.url, workspace, tmp_path, out)
        logs = server.extension_logs()

    assert out.exists(), f"the self-test wrote nothing\n{logs}"
    result = json.loads(out.read_text())
    assert result.get("ok") is True, f"{result.get('error')}\nsteps: {result['steps']}\n{logs}"
    # On the training cell (index 3), at `model(x)` of `loss = model(x).sum()`.
    assert {"cell": 3, "code": "TM101", "line": 3, "character": 15} in result["diagnostics"], result
    assert any("into the loop" in title for title in result["quickFixes"]), result["quickFixes"]
    assert sorted(result["editedCells"]) == [1, 3]

    saved = json.loads(notebook_path.read_text())
    sources = ["".join(cell["source"]) for cell in saved["cells"]]
    assert sources[0] == NOTEBOOK_CELLS[0][1]
    assert not sources[1].rstrip().endswith("model.train()")
    assert "    for x in train_loader:\n        model.train()\n        optimizer.zero_grad()" in sources[3]
    assert sources[2] == NOTEBOOK_CELLS[2][1]
    # Outputs survive the edit and the save.
    original_cells = cast(list[dict[str, object]], _notebook_json()["cells"])
    assert [cell.get("outputs") for cell in saved["cells"]] == [
        cell.get("outputs") for cell in original_cells
    ]
