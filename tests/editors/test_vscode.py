"""The .vsix in real VS Code (code-server + headless chromium), driven through the UI.

Every session runs offline: the package index is unreachable for code-server and all it
starts (``editor_tools.offline_env``). The user's Python is a fresh virtual environment
with neither torchmode nor pip, set as ``torchmode.interpreter``: the extension must run
the server and libraries the .vsix carries with it, as it is, then show TM101 on the
classic train/eval loop bug. The driver (vscode/driver.mjs) then hovers, applies the quick
fix with Ctrl+. and saves, and this test checks what it saw and the file on disk, and,
from what that Python's processes recorded (process_recorder.py), that nothing but the
probe and the bundled server ran: no pip, no virtual environment, no connection.

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
from code_server import CodeServer, running_code_server
from editor_tools import WORKSPACE_FILE, expected_fixed_text, read_process_log

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


# What the extension may run with the user's Python: its probe (python.ts, PROBE) and the
# bundled server (server.ts, bundledCommand); with ``fromEnvironment``, also the environment's.
# vscode-languageclient appends --stdio to a server's arguments (TransportKind.stdio).
PROBE_MARK = "TORCHMODE_PROBE"
ENVIRONMENT_SERVER = ["-m", "torchmode", "lsp", "--stdio"]
# Read by the bundled server, every one from the .vsix's bundled/libs (exceptiongroup and tomli
# only on Python 3.10).
BUNDLED_MODULES = {"torchmode", "pygls", "lsprotocol", "cattrs", "attrs", "typing_extensions"}


def _argv(event: dict[str, object]) -> list[str]:
    return cast(list[str], event["argv"])


def _is_probe(event: dict[str, object]) -> bool:
    return _argv(event)[1:2] == ["-c"] and PROBE_MARK in _argv(event)[2]


# The workspace check's own process, which the server starts with its own interpreter, flags
# and sys.path (server/torchmode/lsp/workspace_worker.py).
WORKER_MARK = "torchmode.lsp.workspace_worker"


def _is_worker(event: dict[str, object]) -> bool:
    argv = _argv(event)
    return "-c" in argv and WORKER_MARK in argv[-1]


def assert_started_offline(
    process_log: Path, server: CodeServer, *, environment_server_allowed: bool = False
) -> list[dict[str, object]]:
    """No pip, no virtual environment, no connection; the server ran the .vsix's libraries.

    Checks the records of every process of the user's Python (process_recorder.py) and the
    profile on disk. Returns the bundled servers' start records.
    """
    extension = server.installed_extension()
    command = [*editor_tools.bundled_server_command(Path("python"), extension)[1:], "--stdio"]
    libs = extension / "bundled" / "libs"
    events = read_process_log(process_log)
    starts = [event for event in events if event["event"] == "start"]
    servers = [event for event in starts if _argv(event)[1:] == command]
    allowed = [ENVIRONMENT_SERVER] if environment_server_allowed else []
    workers = [event for event in starts if _is_worker(event)]
    others = [
        event
        for event in starts
        if event not in servers
        and event not in workers
        and not _is_probe(event)
        and _argv(event)[1:] not in allowed
    ]
    assert servers, f"the bundled server never ran ({command}); processes: {starts}"
    # Nothing else ran: no `-m venv`, no `-m pip`, no ensurepip, nothing of the extension's own;
    # the servers' one subprocess is the workspace check's worker, with the server's own flags.
    assert others == [], others
    modules = {"pip", "venv", "ensurepip"}
    assert not any(modules & set(_argv(event)) for event in starts), starts
    server_pids = {event["pid"] for event in servers}
    spawns = [event for event in events if event["event"] == "spawn"]
    assert all(event["pid"] in server_pids and WORKER_MARK in str(event["args"]) for event in spawns), spawns
    assert [event for event in events if event["event"] == "network"] == [], events
    for event in servers:
        # The index was unreachable in the server's own environment, as the test means it.
        assert event["pip"] == editor_tools.OFFLINE_PIP_ENV, event
    # The workers read the same bundled libraries as their servers.
    server_pids |= {event["pid"] for event in workers}
    loaded = [
        (str(event["name"]), Path(str(event["path"])))
        for event in events
        if event["event"] == "module" and event["pid"] in server_pids
    ]
    assert {name for name, _ in loaded} >= BUNDLED_MODULES, loaded
    outside = [(name, path) for name, path in loaded if not path.is_relative_to(libs)]
    assert outside == [], f"imported from outside {libs}: {outside}"
    # No virtual environment anywhere in the profile (the extension's storage included).
    assert list(server.home.rglob("pyvenv.cfg")) == []
    assert not (server.global_storage() / "envs").exists()
    return servers


def test_vsix_in_vscode_offline_shows_tm101_hover_and_applies_the_quick_fix(
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
    process_log = tmp_path / "processes.jsonl"
    env = {"TORCHMODE_TEST_PROCESS_LOG": str(process_log)}

    with running_code_server(tmp_path / "code-server", workspace, [vsix], settings, env) as server:
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

    context = f"driver stderr:\n{driver.stderr[-3000:]}\nextension logs:\n{logs}"
    assert driver.stdout.strip(), f"the driver printed nothing (exit {driver.returncode})\n{context}"
    result = json.loads(driver.stdout.strip().splitlines()[-1])
    assert "error" not in result, f"{result['error']}\nsteps: {result['steps']}\n{context}"

    # Started offline: only the probe and the bundled server ran, on the .vsix's libraries, and
    # the server's workspace check in a process of its own.
    servers = assert_started_offline(process_log, server)
    assert len(servers) == 1, servers  # one start, no restarts
    workers = [
        event for event in read_process_log(process_log) if event["event"] == "start" and _is_worker(event)
    ]
    assert len(workers) == 1 and _argv(workers[0])[1:2] == ["-I"], workers
    assert "starting bundled torchmode" in logs, logs
    # The server's own word for where it runs from (lsp/server.py logs its package folder).
    assert f"(package {server.installed_extension() / 'bundled' / 'libs' / 'torchmode'}," in logs, logs

    # Workspace diagnostics: listed before the file was opened (no editor was open yet).
    assert "TM101" in result["problemBeforeOpen"], result["problemBeforeOpen"]
    assert "may be in eval mode here" in result["problemBeforeOpen"], result["problemBeforeOpen"]
    assert result["editorsBeforeOpen"] == 0
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
    is a fresh venv without torchmode (the Python extension is not installed). Offline, like
    every session here; every start of the bundled server (the self-test restarts it several
    times) runs the .vsix's libraries and nothing installs anything.
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
    process_log = tmp_path / "processes.jsonl"
    env = {
        "TORCHMODE_SELFTEST_OUT": str(out),
        "TORCHMODE_TEST_PROCESS_LOG": str(process_log),
        "PATH": python_on_path(tmp_path, python_without_torchmode),
        # Otherwise VS Code gives extensions the PATH of a login shell, not this one.
        "VSCODE_CLI": "1",
    }
    with running_code_server(
        tmp_path / "code-server", workspace, [vsix, selftest_vsix], settings, env
    ) as server:
        wait_for_selftest(server.url, workspace, tmp_path, out)
        logs = server.extension_logs()
        # The self-test switches to fromEnvironment once (the broken torchmode in the folder).
        servers = assert_started_offline(process_log, server, environment_server_allowed=True)

    assert out.exists(), f"the self-test wrote nothing\n{logs}"
    result = json.loads(out.read_text())
    assert result.get("ok") is True, f"{result.get('error')}\nsteps: {result['steps']}\n{logs}"
    assert "Python: python3 (from PATH)" in logs, logs
    version = ".".join(str(part) for part in sys.version_info[:3])
    assert f"(Python {version} at {python_without_torchmode})" in logs, logs
    # Started at activation, again after the settings, interpreter and strategy changes, on restart.
    assert len(servers) >= 3, servers
    # Found by the workspace check before train.py was opened, and the command re-ran it.
    assert result["unopened"] == {"codes": ["TM101"], "open": False}, result["unopened"]
    check = result["checkWorkspace"]
    assert check["checked"] is True and check["filesWithFindings"] >= 1 and check["findings"] >= 1, check
    assert "files of the workspace" in check["message"], check
    assert "diagnostics workspace, pulled" in logs, (
        logs
    )  # VS Code pulls (textDocument/ and workspace/diagnostic)
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
    # The server's own word for where it runs from (lsp/server.py logs its package folder).
    assert f"(package {server.installed_extension() / 'bundled' / 'libs' / 'torchmode'}," in logs, logs
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
