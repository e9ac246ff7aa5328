"""Fixtures of the real-editor tests: installed tools, the built .vsix, Pythons without torchmode.

Nothing here is skipped on a machine without the tools: the fixtures install them
(Debian packages with apt-get, Node 24, code-server and playwright-core from the
npm registry) into a cache outside the repository, as ``editor_tools`` explains.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import editor_tools
import pytest

ARTIFACTS = Path(os.environ.get("TORCHMODE_EDITOR_ARTIFACTS") or editor_tools.CACHE / "artifacts")


@pytest.fixture(scope="session")
def vsix() -> Path:
    """The extension package a user installs, built by ``npm run package`` (with the server wheel)."""
    editor_tools.ensure_node()
    return editor_tools.build_vsix()


@pytest.fixture(scope="session")
def bundled_wheel(vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server wheel inside the .vsix, the one the extension installs."""
    folder = tmp_path_factory.mktemp("wheel")
    with zipfile.ZipFile(vsix) as archive:
        names = [name for name in archive.namelist() if name.startswith("extension/dist/wheels/")]
        assert len(names) == 1 and names[0].endswith(".whl"), names
        target = folder / Path(names[0]).name
        target.write_bytes(archive.read(names[0]))
    return target


def make_venv(folder: Path) -> Path:
    """A fresh virtual environment of the Python running the tests, without pip; its python.

    Without pip it is made in a second instead of ten; packages go in with this
    Python's pip (``pip --python``). The extension itself makes its environment with pip.
    """
    # The base interpreter, not this venv's: the project's site-packages (and its torchmode)
    # must stay out.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    probe = subprocess.run([python, "-c", "import torchmode"], capture_output=True, check=False)
    assert probe.returncode != 0, f"{python} should not have torchmode"
    return python


@pytest.fixture(scope="session")
def python_without_torchmode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's Python: a fresh venv with no torchmode, so the extension installs its bundled server."""
    return make_venv(tmp_path_factory.mktemp("user-python") / "venv")


@pytest.fixture(scope="session")
def server_python(bundled_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the .vsix's wheel installed by pip, dependencies from the index, as the extension does."""
    python = make_venv(tmp_path_factory.mktemp("server-env") / "venv")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--no-input", "--progress-bar", "off", "--quiet", str(bundled_wheel)],
        check=True,
        timeout=600,
    )
    return python


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS
