"""What the .vsix holds, as ``vsce ls`` lists it and as the built package has it.

Only what the extension runs or the Marketplace shows may ship: the bundled client
(dist/extension.js), the bundled server and its libraries (bundled/), the icon, the
extension's README and CHANGELOG, the license and package.json. Not the TypeScript
sources, not node_modules (esbuild inlines vscode-languageclient), not the tests, the
Python sources, a .venv, source maps or .pyc files a local run left in bundled/libs.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import editor_tools
from editor_tools import ROOT

MANIFEST = json.loads((ROOT / "package.json").read_text())
# vsce renames these inside the package.
RENAMED = {"client/README.md": "readme.md", "client/CHANGELOG.md": "changelog.md", "LICENSE": "LICENSE.txt"}


def vsce_ls() -> list[str]:
    """``npm run ls`` (vsce ls, with the options `npm run package` uses) in the repository."""
    with editor_tools.cache_lock(".build.lock"):  # bundled/libs and dist/ as the last build left them
        done = subprocess.run(
            ["npm", "run", "--silent", "ls"],
            cwd=ROOT,
            env=editor_tools.node_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_vsce_ls_lists_only_what_ships(vsix: Path) -> None:
    listed = vsce_ls()
    assert {
        "package.json",
        "client/README.md",
        "client/CHANGELOG.md",
        "LICENSE",
        "client/images/icon.png",
        "dist/extension.js",
        "bundled/tool/launch.py",
        "bundled/libs/torchmode/__init__.py",
        "bundled/libs/torchmode/lsp/server.py",
        "bundled/libs/torchmode/docs/rules/TM101.en.md",  # package data, not only .py files
        "bundled/libs/pygls/__init__.py",
        "bundled/libs/lsprotocol/types.py",
        "bundled/libs/typing_extensions.py",
    } <= set(listed), listed
    single_files = {*RENAMED, "package.json", "client/images/icon.png", "dist/extension.js"}
    outside = [name for name in listed if name not in single_files and not name.startswith("bundled/")]
    assert outside == [], outside
    assert [name for name in listed if name.startswith("bundled/tool/")] == ["bundled/tool/launch.py"]
    forbidden = re.compile(r"(^|/)(node_modules|tests?|\.venv|__pycache__|src|server)/|\.(ts|map|pyc|vsix)$")
    assert [name for name in listed if forbidden.search(name)] == []
    # The package built by `npm run package` holds the same files.
    with zipfile.ZipFile(vsix) as archive:
        names = archive.namelist()
    packaged = {name.removeprefix("extension/") for name in names if name.startswith("extension/")}
    assert packaged == {RENAMED.get(name, name) for name in listed}


def test_packaged_readme_shows_the_screenshot_from_the_repository(vsix: Path) -> None:
    """vsce turns the README's root-relative image into a repository URL (the Marketplace shows
    only https images); the file must exist at that path here, as the editor test wrote it."""
    with zipfile.ZipFile(vsix) as archive:
        readme = archive.read("extension/readme.md").decode()
        changelog = archive.read("extension/changelog.md").decode()
    assert changelog == (ROOT / "client" / "CHANGELOG.md").read_text()
    repository = MANIFEST["repository"]["url"].removesuffix(".git")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert images, readme[:500]
    for url in images:
        assert url.startswith(f"{repository}/raw/HEAD/"), url
        image = ROOT / url.removeprefix(f"{repository}/raw/HEAD/")
        assert image.suffix == ".png" and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
