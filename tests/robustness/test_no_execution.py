"""torchmode only reads the code it checks: it never imports or runs it.

A workspace whose every file would leave a marker file if it ran: modules with a
top-level ``open(marker, "w")``, a ``conftest.py``, a ``setup.py``, a
``sitecustomize.py``/``usercustomize.py``, a package ``__init__.py``, and the checked
``train.py`` itself. ``train.py``'s training loop calls ``evaluate``, imported from the
workspace's ``engine.py``, which switches the model to eval mode: a cross-file TM101 whose
explanation points into ``engine.py``. So the analysis must read ``engine.py`` (and the
package) to find it, and still run none of it.

Both entry points are checked: the CLI (as a user runs it, from inside the project) and the
language server (over stdio, with the workspace as its folder). Each must report the
cross-file TM101 (proof that it analysed the imports) and leave no marker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsp_helpers import RecordingClient, wait_for_publish
from lsprotocol import types
from pytest_lsp import client_capabilities

from support.checkout import checkout_env

TIMEOUT = 120.0


def _marker_line(markers: Path, name: str) -> str:
    return f"open({str(markers / name)!r}, 'w').close()  # would run if anything imported this file\n"


ENGINE = """\
import torch


def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for data, target in loader:
            total += float((model(data) - target).abs().sum())
    return total
"""

TRAIN = """\
import torch
import torch.nn.functional as F

import helpers
from engine import evaluate


def train(model, optimizer, train_loader, val_loader, epochs=3):
    model.train()
    for epoch in range(epochs):
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            output = model(data)
            loss = F.mse_loss(output, target)
            loss.backward()
            optimizer.step()
            if batch_idx % 100 == 0:
                evaluate(model, val_loader)
    return helpers.VERSION
"""

# name -> text (after the marker line)
SIDE_EFFECT_FILES = {
    "engine.py": ENGINE,
    "train.py": TRAIN,
    "helpers/__init__.py": "VERSION = 1\n",
    "conftest.py": "import pytest\n",
    "setup.py": "from setuptools import setup\n\nsetup(name='victim')\n",
    "sitecustomize.py": "",
    "usercustomize.py": "",
    "torchmode_plugin.py": "",
    "__main__.py": "",
}


def _workspace(root: Path) -> tuple[Path, Path]:
    """(workspace, markers): the markers folder is outside the workspace, so no file of the
    workspace is ever created by the test itself after this."""
    workspace, markers = root / "workspace", root / "markers"
    markers.mkdir()
    for name, text in SIDE_EFFECT_FILES.items():
        path = workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        marker = name.replace("/", "_").replace(".", "_")
        path.write_text(_marker_line(markers, marker) + text, encoding="utf-8")
    # A pth file and a pyproject.toml next to them: data, never code.
    (workspace / "victim.pth").write_text(f"import os; {_marker_line(markers, 'pth')}", encoding="utf-8")
    (workspace / "pyproject.toml").write_text("[tool.torchmode]\n", encoding="utf-8")
    return workspace, markers


def _ran(markers: Path) -> list[str]:
    """The markers left, and any bytecode cache in the workspace (an import writes one)."""
    workspace = markers.parent / "workspace"
    caches = [str(path.relative_to(workspace)) for path in workspace.rglob("__pycache__")]
    return sorted(path.name for path in markers.iterdir()) + caches


def _train_line() -> int:
    """0-based line of ``output = model(data)`` in train.py as written (after the marker line)."""
    lines = (_marker_line(Path("/"), "x") + TRAIN).splitlines()
    return next(index for index, line in enumerate(lines) if "output = model(data)" in line)


def _cli_commands(workspace: Path) -> list[tuple[list[str], Path]]:
    """(command, cwd): the console script from inside the project, as a user runs it, and
    ``python -m torchmode`` from outside it (``-m`` would put its cwd on sys.path)."""
    commands: list[tuple[list[str], Path]] = []
    script = Path(sys.executable).with_name("torchmode")
    if script.exists():
        commands.append(([str(script), "check", "--format", "sarif", "."], workspace))
    commands.append(
        ([sys.executable, "-m", "torchmode", "check", "--format", "sarif", str(workspace)], workspace.parent)
    )
    return commands


def test_the_cli_analyses_across_files_and_runs_nothing(tmp_path: Path) -> None:
    workspace, markers = _workspace(tmp_path)
    env = checkout_env(NO_COLOR="1")
    env.pop("PYTHONSTARTUP", None)
    for command, cwd in _cli_commands(workspace):
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        assert _ran(markers) == [], f"{command} ran workspace code"
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        (run,) = json.loads(done.stdout)["runs"]
        tm101 = [
            result
            for result in run["results"]
            if result["ruleId"] == "TM101"
            and result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("train.py")
        ]
        assert len(tm101) == 1, (
            f"{command}: expected one TM101 in train.py\n{json.dumps(run['results'], indent=1)}"
        )
        region = tm101[0]["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] == _train_line() + 1, region
        # The explanation names where the eval switch is: engine.py's evaluate().
        assert "engine.py" in json.dumps(tm101[0]), json.dumps(tm101[0], indent=1)
    assert _ran(markers) == []


async def test_the_language_server_analyses_across_files_and_runs_nothing(
    client: RecordingClient, tmp_path: Path
) -> None:
    workspace, markers = _workspace(tmp_path)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="workspace")],
            initialization_options={"debounceMs": 0},
        )
    )
    train = workspace / "train.py"
    uri = train.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=train.read_text(encoding="utf-8")
            )
        )
    )
    published = await wait_for_publish(client, version=1, uri=uri)
    assert _ran(markers) == []

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=_train_line(), character=22),
        )
    )
    del hover  # answered (None or a hover): the server is alive
    assert _ran(markers) == []

    tm101 = [d for d in published.diagnostics if d.code == "TM101"]
    assert len(tm101) == 1, published.diagnostics
    (diagnostic,) = tm101
    assert diagnostic.range.start.line == _train_line()
    engine_uri = (workspace / "engine.py").as_uri()
    related_uris = [related.location.uri for related in diagnostic.related_information or ()]
    assert engine_uri in related_uris or "engine.py" in diagnostic.message, (
        f"the TM101 does not point into engine.py: {diagnostic.message!r}, related {related_uris}"
    )
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert errors == []


@pytest.mark.parametrize("name", sorted(SIDE_EFFECT_FILES))
def test_every_side_effect_file_really_would_leave_its_marker(tmp_path: Path, name: str) -> None:
    """The markers are real: running a file's first line as Python creates its marker."""
    workspace, markers = _workspace(tmp_path)
    first_line = (workspace / name).read_text(encoding="utf-8").splitlines()[0]
    subprocess.run([sys.executable, "-c", first_line], check=True, timeout=TIMEOUT)
    assert _ran(markers) == [name.replace("/", "_").replace(".", "_")]
