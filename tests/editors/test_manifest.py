"""The extension manifest (package.json) against the issue's contract and the server it ships.

Fast checks without an editor: they catch drift between package.json, the client
sources, pyproject.toml and the packaging files before the slow editor tests do.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from editor_tools import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

MANIFEST: dict[str, Any] = json.loads((ROOT / "package.json").read_text())
SETTINGS: dict[str, Any] = MANIFEST["contributes"]["configuration"]["properties"]


def test_version_is_the_server_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert MANIFEST["version"] == pyproject["project"]["version"]


def test_types_vscode_is_pinned_to_the_engines_minimum() -> None:
    engine = MANIFEST["engines"]["vscode"]
    assert engine.startswith("^")
    assert MANIFEST["devDependencies"]["@types/vscode"] == engine[1:]
    major, minor, _ = (int(part) for part in engine[1:].split("."))
    assert (major, minor) >= (1, 91)  # vscode-languageclient 11 needs it


def test_languageclient_is_at_least_9() -> None:
    version = MANIFEST["dependencies"]["vscode-languageclient"]
    assert int(re.sub(r"^\D*", "", version).split(".")[0]) >= 9


def test_lock_file_matches_the_manifest() -> None:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    root = lock["packages"][""]
    assert root["version"] == MANIFEST["version"]
    assert root["dependencies"] == MANIFEST["dependencies"]
    assert root["devDependencies"] == MANIFEST["devDependencies"]


def test_activation_and_workspace_capabilities() -> None:
    assert set(MANIFEST["activationEvents"]) >= {
        "onLanguage:python",
        "onNotebook:jupyter-notebook",
        "onNotebook:interactive",
    }
    assert MANIFEST["capabilities"]["virtualWorkspaces"]["supported"] is False
    untrusted = MANIFEST["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    assert set(untrusted["restrictedConfigurations"]) == {"torchmode.interpreter", "torchmode.importStrategy"}
    assert "extensionDependencies" not in MANIFEST  # the Python extension is optional


@pytest.mark.parametrize(
    "key",
    [
        "enable",
        "interpreter",
        "importStrategy",
        "select",
        "ignore",
        "severity",
        "inlayHints.enable",
        "locale",
        "showNotifications",
        "debounceMs",
        "trace.server",
    ],
)
def test_setting_is_contributed_and_read_by_the_client(key: str) -> None:
    assert f"torchmode.{key}" in SETTINGS
    sources = "\n".join(path.read_text() for path in (ROOT / "client" / "src").rglob("*.ts"))
    if key != "trace.server":  # vscode-languageclient reads <id>.trace.server itself
        assert f'"{key}"' in sources, f"the client never reads torchmode.{key}"


def test_debounce_default_is_the_servers() -> None:
    from torchmode.lsp.config import DEFAULT_DEBOUNCE_SECONDS

    setting = SETTINGS["torchmode.debounceMs"]
    assert setting["default"] == int(DEFAULT_DEBOUNCE_SECONDS * 1000)
    assert 150 <= setting["default"] <= 300  # the range for a per-document debounce
    sources = (ROOT / "client" / "src" / "common" / "server.ts").read_text()
    assert "debounceMs: settings.debounceMs" in sources  # sent as the server's initialization option


def test_interpreter_setting_says_it_is_a_python_executable() -> None:
    description = SETTINGS["torchmode.interpreter"]["markdownDescription"]
    assert "Python executable" in description
    assert SETTINGS["torchmode.importStrategy"]["enum"] == ["useBundled", "fromEnvironment"]


def test_commands() -> None:
    commands = {command["command"] for command in MANIFEST["contributes"]["commands"]}
    assert commands == {"torchmode.restart", "torchmode.showLogs", "torchmode.fixAll"}
    extension = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    for command in commands:
        assert f"`${{SECTION}}.{command.split('.')[1]}`" in extension


def test_vsix_leaves_sources_out() -> None:
    ignore = (ROOT / ".vscodeignore").read_text().split()
    assert "**" in ignore  # everything out, then only what the extension runs back in
    assert {"!dist/extension.js", "!dist/wheels/*.whl"} <= set(ignore)
    assert MANIFEST["main"] == "./dist/extension.js"


def test_fix_all_kind_is_the_servers() -> None:
    constants = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    actions = (ROOT / "server" / "torchmode" / "lsp" / "actions.py").read_text()
    kind = re.search(r'FIX_ALL_KIND = "([^"]+)"', constants)
    assert kind is not None and f'FIX_ALL_KIND = "{kind.group(1)}"' in actions


def test_workspace_example_exists() -> None:
    assert Path(ROOT / "tests" / "editors" / "workspace" / "train.py").exists()
