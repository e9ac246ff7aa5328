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
from editor_tools import ROOT, bundled_server_command

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
        # Workspace diagnostics: started in a Python workspace before any file is opened.
        "workspaceContains:**/*.py",
        "workspaceContains:**/*.ipynb",
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
        "diagnosticMode",
        "exclude",
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
    assert commands == {
        "torchmode.restart",
        "torchmode.showLogs",
        "torchmode.fixAll",
        "torchmode.checkWorkspace",
    }
    extension = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    for command in commands:
        assert f"`${{SECTION}}.{command.split('.')[1]}`" in extension


def test_vsix_leaves_sources_out() -> None:
    ignore = [line for line in (ROOT / ".vscodeignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignore[0] == "**"  # everything out, then only what the extension runs back in
    assert {"!dist/extension.js", "!bundled/tool/launch.py", "!bundled/libs/**/!(*.pyc)"} <= set(ignore)
    assert MANIFEST["main"] == "./dist/extension.js"
    # Generated at build time, never committed.
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert {"bundled/libs/", "dist/", "node_modules/", "*.vsix"} <= set(gitignore)


def test_bundled_server_command_is_the_one_the_tests_run() -> None:
    """server.ts runs the launcher as the editor tests do (editor_tools.bundled_server_command)."""
    server = (ROOT / "client" / "src" / "common" / "server.ts").read_text()
    constants = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    assert 'args: ["-I", launcher, "lsp"]' in server
    assert "path.join(this.context.extensionPath, BUNDLED_LAUNCHER)" in server
    assert 'BUNDLED_LAUNCHER = "bundled/tool/launch.py"' in constants
    command = bundled_server_command(Path("python"), Path("ext"))
    assert command == ["python", "-I", "ext/bundled/tool/launch.py", "lsp"]


def test_nothing_is_left_of_the_private_environment() -> None:
    """The bundled libraries replaced the venv and pip install of the first start."""
    sources = "\n".join(path.read_text() for path in (ROOT / "client" / "src").rglob("*.ts"))
    manifest = json.dumps(MANIFEST)
    for word in ("venv", "ensurepip", "pip install", "globalStorage/torchmode.torchmode/envs", "dist/wheels"):
        assert word not in sources, word
    for word in ("virtual environment", "private environment", "dist/wheels"):
        assert word not in manifest, word
    assert not (ROOT / "client" / "src" / "common" / "environment.ts").exists()


# --- what the Marketplace and Open VSX show -------------------------------------------------

# The Marketplace's categories (vsce rejects others).
MARKETPLACE_CATEGORIES = {
    "AI",
    "Azure",
    "Chat",
    "Data Science",
    "Debuggers",
    "Education",
    "Extension Packs",
    "Formatters",
    "Keymaps",
    "Language Packs",
    "Linters",
    "Machine Learning",
    "Notebooks",
    "Other",
    "Programming Languages",
    "SCM Providers",
    "Snippets",
    "Testing",
    "Themes",
    "Visualization",
}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_marketplace_fields() -> None:
    assert MANIFEST["displayName"] and MANIFEST["description"] and MANIFEST["publisher"]
    assert set(MANIFEST["categories"]) <= MARKETPLACE_CATEGORIES
    assert {"Linters", "Machine Learning"} <= set(MANIFEST["categories"])
    assert {"pytorch", "python", "linter"} <= set(MANIFEST["keywords"])
    assert len(MANIFEST["keywords"]) <= 30
    assert MANIFEST["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+\.git", MANIFEST["repository"]["url"])
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", MANIFEST["galleryBanner"]["color"])
    assert MANIFEST["galleryBanner"]["theme"] in ("dark", "light")
    # The icon: a real PNG of at least 128x128 (the Marketplace shows 128x128; vsce refuses SVG).
    width, height = png_size(ROOT / MANIFEST["icon"])
    assert width == height >= 128
    # Packaged without the escape hatches: a license file and a repository are there.
    package = MANIFEST["scripts"]["package"]
    assert "--skip-license" not in package and "--allow-missing-repository" not in package
    assert "--readme-path client/README.md" in package and "--changelog-path client/CHANGELOG.md" in package


def test_changelog_has_the_current_version() -> None:
    changelog = (ROOT / "client" / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(MANIFEST['version'])}\b", changelog, re.MULTILINE), changelog[:300]


def settings_table(readme: Path) -> dict[str, tuple[str, str]]:
    """setting -> (default cell, description cell) of the readme's `| setting | default | ...` table."""
    lines = readme.read_text().splitlines()
    start = lines.index("| setting | default | what it does |")
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert len(cells) == 3, line
        rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def rendered_default(setting: dict[str, Any]) -> str:
    """How the tables write a default: `true`, `300`, `{}`, `""`, `useBundled`; "not set" for none."""
    if "default" not in setting:
        return "not set"
    default = setting["default"]
    return f"`{default}`" if isinstance(default, str) and default else f"`{json.dumps(default)}`"


@pytest.mark.parametrize("readme", ["client/README.md", "README.md"])
def test_settings_table_matches_the_manifest(readme: str) -> None:
    """Every setting of package.json is in the readme's table, with its default and its choices."""
    table = settings_table(ROOT / readme)
    assert list(table) == list(SETTINGS), f"{readme}: the table's settings differ from package.json's"
    for key, setting in SETTINGS.items():
        default, description = table[key]
        assert default == rendered_default(setting), (readme, key, default)
        for choice in setting.get("enum", []):
            assert f"`{choice}`" in default + description, (readme, key, choice)


def test_diagnostic_mode_and_exclude_are_the_servers() -> None:
    from torchmode.lsp.config import DIAGNOSTIC_MODES, UserSettings

    assert tuple(SETTINGS["torchmode.diagnosticMode"]["enum"]) == DIAGNOSTIC_MODES
    assert SETTINGS["torchmode.diagnosticMode"]["default"] == UserSettings().diagnostic_mode == "workspace"
    assert SETTINGS["torchmode.exclude"]["default"] == list(UserSettings().exclude) == []
    settings = (ROOT / "client" / "src" / "common" / "settings.ts").read_text()
    # Sent to the server in its section (serverSettings), not only read.
    assert "diagnosticMode: settings.diagnosticMode" in settings and "exclude: settings.exclude" in settings


def test_check_workspace_asks_the_server_under_another_name() -> None:
    """vscode-languageclient registers a VS Code command for each command the server declares:
    the client's own command must have another id, or registering it would fail."""
    from torchmode.lsp.server import CHECK_WORKSPACE_COMMAND

    constants = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    assert f"SERVER_CHECK_WORKSPACE = `${{SECTION}}.{CHECK_WORKSPACE_COMMAND.split('.', 1)[1]}`" in constants
    assert CHECK_WORKSPACE_COMMAND != "torchmode.checkWorkspace"


def test_fix_all_kind_is_the_servers() -> None:
    constants = (ROOT / "client" / "src" / "common" / "constants.ts").read_text()
    actions = (ROOT / "server" / "torchmode" / "lsp" / "actions.py").read_text()
    kind = re.search(r'FIX_ALL_KIND = "([^"]+)"', constants)
    assert kind is not None and f'FIX_ALL_KIND = "{kind.group(1)}"' in actions


def test_workspace_example_exists() -> None:
    assert Path(ROOT / "tests" / "editors" / "workspace" / "train.py").exists()
