"""Fixtures of the real-editor tests: installed tools, the built .vsix, Pythons without torchmode.

Nothing here is skipped on a machine without the tools: the fixtures install them
(Debian packages with apt-get, Node 24, code-server and playwright-core from the
npm registry) into a cache outside the repository, as ``editor_tools`` explains.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import editor_tools
import pytest

ARTIFACTS = Path(os.environ.get("TORCHMODE_EDITOR_ARTIFACTS") or editor_tools.CACHE / "artifacts")


@pytest.fixture(scope="session")
def vsix() -> Path:
    """The extension package a user installs, built by ``npm run package`` (with the bundled server)."""
    editor_tools.ensure_node()
    return editor_tools.build_vsix()


@pytest.fixture(scope="session")
def extension_dir(vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .vsix unpacked as VS Code installs it: its ``extension/`` folder (package.json,
    dist/extension.js, bundled/tool/launch.py, bundled/libs/...)."""
    folder = tmp_path_factory.mktemp("vsix")
    with zipfile.ZipFile(vsix) as archive:
        archive.extractall(folder, [name for name in archive.namelist() if name.startswith("extension/")])
    return folder / "extension"


@pytest.fixture(scope="session")
def python_without_torchmode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's Python: a fresh venv with no torchmode and no pip, whose processes are recorded
    in ``$TORCHMODE_TEST_PROCESS_LOG`` when that is set (see process_recorder.py)."""
    return editor_tools.make_venv(tmp_path_factory.mktemp("user-python") / "venv")


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS
