"""The Python the .vsix carries: the server and its pinned pure-Python dependencies in bundled/libs.

The extension starts offline because it runs these with the user's Python as it is; these
tests check what makes that work on every supported Python and platform:

* client/bundled-requirements.txt pins every run-time dependency of pyproject.toml, one
  hashed ``py3-none-any`` wheel each;
* the built .vsix's bundled/libs holds exactly those and torchmode, a closed set (every
  requirement of every bundled package, on every supported Python, is bundled in a version
  it accepts; nothing is there that nothing needs), all pure Python, with their licenses;
* the server in it answers ``initialize`` on each of Python 3.10-3.13 with only the
  standard library and bundled/libs on ``sys.path`` (``-S``: no site-packages at all).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path

import editor_tools
import pytest
from editor_tools import ROOT
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LOCK = ROOT / "client" / "bundled-requirements.txt"
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
PURE_TAG = "py3-none-any"
# A pin: the wheel's file name as a comment, then `name==version` and its one hash.
PIN = re.compile(
    r"^# (?P<file>\S+\.whl)\n"
    r"(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+) \\\n"
    r"    --hash=sha256:(?P<sha>[0-9a-f]{64})$",
    re.MULTILINE,
)


def locked() -> dict[str, tuple[Version, str]]:
    """canonical name -> (version, wheel file name) of the lock file."""
    text = LOCK.read_text()
    pins = {canonicalize_name(m["name"]): (Version(m["version"]), m["file"]) for m in PIN.finditer(text)}
    # Every requirement line belongs to a pin of that exact shape: nothing unhashed slips in.
    requirement_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(requirement_lines) == len(pins), requirement_lines
    return pins


def holds_on_some_supported_python(marker: Marker | None) -> bool:
    return marker is None or any(
        marker.evaluate({"python_version": version, "python_full_version": f"{version}.0", "extra": ""})
        for version in SUPPORTED
    )


def find_interpreter() -> Callable[[str], Path | None]:
    """.ci/test_pythons.py's search for python3.X (PATH, then pyenv): the one `make test-pythons` uses."""
    spec = importlib.util.spec_from_file_location("test_pythons", ROOT / ".ci" / "test_pythons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    finder: Callable[[str], Path | None] = module.find_interpreter
    return finder


# --- the lock file (no build needed) ----------------------------------------------------


def test_lock_pins_every_runtime_dependency_as_one_hashed_pure_wheel() -> None:
    pins = locked()
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for line in dependencies:
        requirement = Requirement(line)
        if not holds_on_some_supported_python(requirement.marker):
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{line} is not pinned in {LOCK.name}"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (line, pins[name])
    for name, (version, wheel) in pins.items():
        # The file the hash belongs to: this package, this version, pure Python.
        parts = wheel.removesuffix(".whl").split("-")
        assert canonicalize_name(parts[0]) == name and Version(parts[1]) == version, wheel
        assert "-".join(parts[2:]) == PURE_TAG, wheel


def test_lock_is_what_the_build_installs_with_hashes_required() -> None:
    script = (ROOT / "client" / "scripts" / "bundle-python.mjs").read_text()
    assert '"--require-hashes"' in script and "bundled-requirements.txt" in script
    # Only wheels that are pure Python for any platform are admitted.
    for option in ('"--only-binary=:all:"', '"--platform",\n    "any"', '"--abi",\n    "none"'):
        assert option in script, option


# --- bundled/libs in the built .vsix ----------------------------------------------------


def bundled_distributions(extension_dir: Path) -> dict[str, tuple[Version, Path]]:
    """canonical name -> (version, .dist-info folder) in the .vsix's bundled/libs."""
    found = {}
    for info in (extension_dir / "bundled" / "libs").glob("*.dist-info"):
        metadata = Parser().parsestr((info / "METADATA").read_text())
        found[canonicalize_name(metadata["Name"])] = (Version(metadata["Version"]), info)
    return found


def test_bundle_is_exactly_the_lock_and_torchmode(extension_dir: Path) -> None:
    bundled = bundled_distributions(extension_dir)
    expected = {name: version for name, (version, _) in locked().items()}
    expected["torchmode"] = Version(editor_tools.extension_version())
    assert {name: version for name, (version, _) in bundled.items()} == expected


def test_bundle_is_a_closed_set_on_every_supported_python(extension_dir: Path) -> None:
    bundled = bundled_distributions(extension_dir)
    needed = {"torchmode"}
    for name, (_, info) in bundled.items():
        metadata = Parser().parsestr((info / "METADATA").read_text())
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            # Extras are never asked for (pygls[ws], cattrs[orjson]...): their markers say `extra == ...`.
            if not holds_on_some_supported_python(requirement.marker):
                continue
            wanted = canonicalize_name(requirement.name)
            assert wanted in bundled, f"{name} needs {line}, which is not bundled"
            assert requirement.specifier.contains(bundled[wanted][0], prereleases=True), (name, line)
            needed.add(wanted)
    assert set(bundled) == needed, f"bundled but needed by nothing: {set(bundled) - needed}"


def test_every_bundled_distribution_is_pure_python_and_carries_its_license(
    vsix: Path, extension_dir: Path
) -> None:
    for name, (_, info) in bundled_distributions(extension_dir).items():
        wheel = Parser().parsestr((info / "WHEEL").read_text())
        assert wheel.get_all("Tag") == [PURE_TAG], (name, wheel.get_all("Tag"))
        assert wheel["Root-Is-Purelib"] == "true", name
        licenses = [path for path in info.rglob("*") if path.is_file() and "licen" in path.name.lower()]
        if name != "torchmode":  # its license is the extension's own (LICENSE.txt in the .vsix)
            assert licenses, f"{name} ships without its license text"
    with zipfile.ZipFile(vsix) as archive:
        names = archive.namelist()
    compiled = [name for name in names if re.search(r"\.(so|pyd|dylib|dll|pyc|exe)$", name, re.IGNORECASE)]
    assert compiled == []
    assert not any("__pycache__" in name for name in names)
    # Nothing of the build machine: no console script for its Python, no path of its temp folder.
    assert not any(name.startswith("extension/bundled/libs/bin/") for name in names)
    assert not any(name.endswith("/direct_url.json") for name in names)
    assert "extension/LICENSE.txt" in names


def initialize_round_trip(command: list[str], cwd: Path) -> dict[str, object]:
    """Start the server, send ``initialize`` / ``shutdown`` / ``exit`` over stdio; the
    ``initialize`` result. The server must exit on its own afterwards."""

    def frame(message: dict[str, object]) -> bytes:
        body = json.dumps(message).encode()
        return f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    done = subprocess.run(
        command,
        input=b"".join(frame(message) for message in messages),
        capture_output=True,
        cwd=cwd,
        env=editor_tools.offline_env(os.environ),
        timeout=120,
        check=False,
    )
    replies = []
    rest = done.stdout
    while rest:
        header, _, rest = rest.partition(b"\r\n\r\n")
        match = re.search(rb"Content-Length: (\d+)", header)
        assert match is not None, done.stdout
        length = int(match[1])
        replies.append(json.loads(rest[:length]))
        rest = rest[length:]
    initialize = [reply for reply in replies if reply.get("id") == 1]
    assert initialize and "result" in initialize[0], f"exit {done.returncode}\n{done.stderr.decode()[-3000:]}"
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result: dict[str, object] = initialize[0]["result"]
    return result


@pytest.mark.parametrize("version", SUPPORTED)
def test_bundled_server_starts_on_every_supported_python(
    version: str, extension_dir: Path, tmp_path: Path
) -> None:
    """The extension's command, with ``-S`` added: site-packages off, so the bundle alone must do."""
    python = find_interpreter()(version)
    assert python is not None, f"no Python {version} here (python{version} on PATH or a pyenv install)"
    command = editor_tools.bundled_server_command(python, extension_dir)
    command.insert(command.index("-I") + 1, "-S")
    result = initialize_round_trip(command, tmp_path)
    assert result["serverInfo"] == {"name": "torchmode", "version": editor_tools.extension_version()}


def test_bundle_wins_over_the_environment_and_the_workspace(extension_dir: Path, tmp_path: Path) -> None:
    """A user's Python whose site-packages has its own torchmode, pygls, lsprotocol, cattrs,
    attrs and typing_extensions, and a workspace (the server's cwd) with a ``torchmode``
    folder: each of them exits the process if imported. The extension's command still
    serves, because the launcher puts bundled/libs first and ``-I`` keeps the cwd out."""
    python = editor_tools.make_venv(tmp_path / "venv")
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    trap = "raise SystemExit('imported {} from {}')\n"
    for name in ("torchmode", "pygls", "lsprotocol", "cattrs", "attrs"):
        (site_packages / name).mkdir()
        (site_packages / name / "__init__.py").write_text(trap.format(name, "site-packages"))
    (site_packages / "typing_extensions.py").write_text(trap.format("typing_extensions", "site-packages"))
    workspace = tmp_path / "workspace"
    (workspace / "torchmode").mkdir(parents=True)
    (workspace / "torchmode" / "__init__.py").write_text(trap.format("torchmode", "the workspace"))
    # The traps work: without the launcher, the environment's torchmode is what imports.
    trapped = subprocess.run(
        [python, "-I", "-c", "import torchmode"], capture_output=True, text=True, check=False
    )
    assert "imported torchmode from site-packages" in trapped.stderr, trapped

    result = initialize_round_trip(editor_tools.bundled_server_command(python, extension_dir), workspace)
    assert result["serverInfo"] == {"name": "torchmode", "version": editor_tools.extension_version()}
